//! STARTTLS is offered only when the driver can run TLS
//! (`ServerConfig::tls_available`, RFC 3207 4), and a TLS ClientHello that
//! reaches the machine anyway is reported with its real cause.

use smtp_sansio::{PortMode, Server, ServerConfig, ServerEvent, Violation};

/// The start of a TLS 1.2/1.3 ClientHello record (RFC 8446 5.1): content
/// type 22, legacy version 3.1, a length, handshake type 1, and a few
/// bytes of body that hold a CR LF (as real ones can).
const CLIENT_HELLO: &[u8] = b"\x16\x03\x01\x00\xc8\x01\x00\x00\xc4\x03\x03\r\n\x00\x11";

/// Feeds `input`, accepting every decision; returns the output and the
/// violations reported.
fn run(server: &mut Server, input: &[u8]) -> (String, Vec<Violation>) {
    server.receive(input);
    let mut violations = Vec::new();
    while let Some(ev) = server.next_event() {
        if let ServerEvent::Violation(v) = ev {
            violations.push(v);
        } else if ev.needs_decision() {
            server.accept().unwrap();
        }
    }
    let mut out = Vec::new();
    server.transmit(&mut out);
    (String::from_utf8_lossy(&out).into_owned(), violations)
}

fn connected(cfg: ServerConfig) -> Server {
    let mut s = Server::new(cfg);
    let (greeting, _) = run(&mut s, b"");
    assert!(greeting.starts_with("220 "), "{greeting}");
    s
}

#[test]
fn starttls_is_not_offered_by_default() {
    for mode in [PortMode::Relay, PortMode::Submission] {
        let cfg = ServerConfig::new(mode, "mx.example.net");
        assert!(!cfg.tls_available);
        let mut s = connected(cfg);
        let (ehlo, _) = run(&mut s, b"EHLO c.example\r\n");
        assert!(ehlo.starts_with("250-mx.example.net"), "{ehlo}");
        assert!(!ehlo.contains("STARTTLS"), "{mode:?}: {ehlo}");
        // Asked anyway: refused like any command not offered, no 220.
        let (reply, v) = run(&mut s, b"STARTTLS\r\n");
        assert!(reply.starts_with("502 5.5.1 "), "{mode:?}: {reply}");
        assert!(v.is_empty());
        assert!(!s.wants_tls() && !s.is_closed());
    }
}

#[test]
fn starttls_is_offered_with_tls() {
    for mode in [PortMode::Relay, PortMode::Submission] {
        let mut s = connected(ServerConfig::new(mode, "mx.example.net").with_tls());
        let (ehlo, _) = run(&mut s, b"EHLO c.example\r\n");
        assert!(ehlo.contains("250-STARTTLS\r\n") || ehlo.contains("250 STARTTLS\r\n"));
        let (reply, _) = run(&mut s, b"STARTTLS\r\n");
        assert!(reply.starts_with("220 "), "{reply}");
        assert!(s.wants_tls());
    }
    // Implicit TLS and LMTP keep their defaults: never / not offered.
    for mode in [PortMode::ImplicitTls, PortMode::Lmtp] {
        let mut s = connected(ServerConfig::new(mode, "mx.example.net").with_tls());
        let hello: &[u8] = if mode == PortMode::Lmtp {
            b"LHLO c.example\r\n"
        } else {
            b"EHLO c.example\r\n"
        };
        let (ehlo, _) = run(&mut s, hello);
        assert!(!ehlo.contains("STARTTLS"), "{mode:?}: {ehlo}");
    }
}

#[test]
fn submission_without_tls_accepts_no_mail_and_offers_no_password_auth() {
    let mut s = connected(ServerConfig::new(PortMode::Submission, "mx.example.net"));
    let (ehlo, _) = run(&mut s, b"EHLO c.example\r\n");
    assert!(!ehlo.contains("AUTH"), "{ehlo}");
    let (reply, _) = run(&mut s, b"MAIL FROM:<a@example.org>\r\n");
    assert!(reply.starts_with("530 5.7.0 "), "{reply}");
    let (reply, _) = run(&mut s, b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n");
    assert!(reply.starts_with('5'), "{reply}");
    assert!(!s.is_authenticated());
    let (reply, _) = run(&mut s, b"QUIT\r\n");
    assert!(reply.starts_with("221 "), "{reply}");
}

#[test]
fn client_hello_after_220_names_the_missing_upgrade() {
    let mut s = connected(ServerConfig::new(PortMode::Relay, "mx.example.net").with_tls());
    run(&mut s, b"EHLO c.example\r\n");
    let (reply, _) = run(&mut s, b"STARTTLS\r\n");
    assert!(reply.starts_with("220 "));
    // The driver did not hand the socket to TLS: the ClientHello reaches
    // the machine.
    let (out, v) = run(&mut s, CLIENT_HELLO);
    assert_eq!(v, [Violation::TlsNotUpgraded]);
    assert!(out.is_empty(), "{out}");
    assert!(s.is_closed());
    assert!(Violation::TlsNotUpgraded.closes());
    assert_eq!(
        Violation::TlsNotUpgraded.to_string(),
        "TLS ClientHello received as a command after 220 to STARTTLS: the driver did not upgrade"
    );
}

#[test]
fn plaintext_after_220_is_still_an_injection() {
    let mut s = connected(ServerConfig::new(PortMode::Relay, "mx.example.net").with_tls());
    run(&mut s, b"EHLO c.example\r\n");
    run(&mut s, b"STARTTLS\r\n");
    let (_, v) = run(&mut s, b"MAIL FROM:<a@example.org>\r\n");
    assert_eq!(v, [Violation::StartTlsInjection]);
    assert!(s.is_closed());
}

#[test]
fn client_hello_as_a_command_is_named_and_closes() {
    // An implicit-TLS client on a plaintext port, with or without TLS
    // configured, before or after EHLO; and a driver that did not run TLS
    // on an implicit-TLS listener.
    for (mode, tls, ehlo_first) in [
        (PortMode::Relay, false, false),
        (PortMode::Relay, true, true),
        (PortMode::Submission, false, true),
        (PortMode::ImplicitTls, false, false),
    ] {
        let mut cfg = ServerConfig::new(mode, "mx.example.net");
        cfg.tls_available = tls;
        let mut s = connected(cfg);
        if ehlo_first {
            run(&mut s, b"EHLO c.example\r\n");
        }
        let (out, v) = run(&mut s, CLIENT_HELLO);
        assert_eq!(v, [Violation::TlsHandshakeAsCommand], "{mode:?}");
        assert!(
            out.is_empty(),
            "{mode:?}: no reply the peer cannot read: {out}"
        );
        assert!(s.is_closed(), "{mode:?}");
    }
    // Split after the first octet: the same verdict once the second comes.
    let mut s = connected(ServerConfig::new(PortMode::Relay, "mx.example.net"));
    let (_, v) = run(&mut s, &CLIENT_HELLO[..1]);
    assert!(v.is_empty() && !s.is_closed());
    let (_, v) = run(&mut s, &CLIENT_HELLO[1..]);
    assert_eq!(v, [Violation::TlsHandshakeAsCommand]);
}

#[test]
fn handshake_octets_inside_a_message_are_content() {
    let mut s = connected(ServerConfig::new(PortMode::Relay, "mx.example.net"));
    run(&mut s, b"EHLO c.example\r\n");
    let (out, _) = run(
        &mut s,
        b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n",
    );
    assert!(out.contains("\r\n354 "), "{out}");
    s.receive(b"\x16\x03 binary-ish line\r\n.\r\n");
    let mut content = Vec::new();
    let mut violations = Vec::new();
    while let Some(ev) = s.next_event() {
        match ev {
            ServerEvent::MessageData(piece) => content.extend_from_slice(piece),
            ServerEvent::Violation(v) => violations.push(v),
            ev if ev.needs_decision() => s.accept().unwrap(),
            _ => {}
        }
    }
    assert!(violations.is_empty(), "{violations:?}");
    assert_eq!(content, b"\x16\x03 binary-ish line\r\n");
    assert!(!s.is_closed());
}
