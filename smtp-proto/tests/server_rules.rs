//! Fixed tests of security rules that the mutation check of issue 11
//! found unguarded (items 15 and 16): each fails when its rule is disabled.

use smtp_sansio::Mechanism;
use smtp_sansio::{PortMode, ServerConfig};
use smtp_sansio::{Server, ServerEvent, Violation};

/// Handles every event (accepting each decision) without transmitting;
/// returns the events as text.
fn pump(s: &mut Server) -> Vec<String> {
    let mut evs = Vec::new();
    while let Some(ev) = s.next_event() {
        evs.push(format!("{ev:?}"));
        if ev.needs_decision() {
            s.accept().unwrap();
        }
    }
    evs
}

fn take(s: &mut Server) -> String {
    let mut out = Vec::new();
    s.transmit(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn greeted(cfg: ServerConfig) -> Server {
    let mut s = Server::new(cfg);
    pump(&mut s);
    assert!(take(&mut s).starts_with("220 "));
    s
}

/// Item 15: bytes that arrive in a later input, while the reply to a
/// group-ending command (EHLO) has not been transmitted yet, are a
/// pipelining synchronization violation (RFC 2920 3.1): this is the check
/// in `Server::receive`, not the one on a line with more input behind it.
#[test]
fn bytes_before_the_group_end_reply_went_out_close() {
    let mut s = greeted(ServerConfig::new(PortMode::Relay, "mx.example.net"));
    s.receive(b"EHLO c.example.org\r\n");
    pump(&mut s);
    // The EHLO reply is queued, not transmitted; the client goes on.
    s.receive(b"MAIL FROM:<a@example.org>\r\n");
    let evs = pump(&mut s);
    let out = take(&mut s);
    assert!(out.starts_with("250-mx.example.net"), "{out}");
    assert!(
        out.ends_with("554 5.5.0 Protocol violation: pipelining synchronization\r\n"),
        "{out}"
    );
    assert!(s.is_closed());
    assert!(evs.contains(&format!(
        "{:?}",
        ServerEvent::Violation(Violation::PipeliningSync)
    )));
    assert!(!evs.iter().any(|e| e.starts_with("Mail")), "{evs:?}");
}

/// The same with NOOP as the group end, and a client that does wait: no
/// violation once the reply was transmitted.
#[test]
fn bytes_after_the_reply_went_out_are_fine() {
    let mut s = greeted(ServerConfig::new(PortMode::Relay, "mx.example.net"));
    s.receive(b"NOOP\r\n");
    pump(&mut s);
    s.receive(b"NOOP\r\n");
    pump(&mut s);
    assert!(s.is_closed());
    assert!(take(&mut s).ends_with("554 5.5.0 Protocol violation: pipelining synchronization\r\n"));

    let mut s = greeted(ServerConfig::new(PortMode::Relay, "mx.example.net"));
    s.receive(b"NOOP\r\n");
    pump(&mut s);
    assert_eq!(take(&mut s), "250 2.0.0 OK\r\n");
    s.receive(b"NOOP\r\n");
    pump(&mut s);
    assert_eq!(take(&mut s), "250 2.0.0 OK\r\n");
    assert!(!s.is_closed());
}

/// Item 16: with `require_tls = false` and mechanisms configured, a
/// plaintext mechanism is not offered before TLS (EHLO lists no AUTH), so
/// AUTH with it is refused and never reaches the application (RFC 4954 4).
#[test]
fn auth_with_a_configured_but_not_offered_mechanism_is_refused() {
    for mech in [&b"PLAIN AGFsaWNlAHNlY3JldA=="[..], b"LOGIN", b"PLAIN"] {
        let mut cfg = ServerConfig::new(PortMode::Submission, "mx.example.net");
        cfg.require_tls = false;
        cfg.mechanisms = vec![Mechanism::Plain, Mechanism::Login];
        let mut s = greeted(cfg);
        s.receive(b"EHLO c.example.org\r\n");
        pump(&mut s);
        let ehlo = take(&mut s);
        assert!(!ehlo.contains("AUTH"), "{ehlo}");
        let mut line = b"AUTH ".to_vec();
        line.extend_from_slice(mech);
        line.extend_from_slice(b"\r\n");
        s.receive(&line);
        let evs = pump(&mut s);
        let out = take(&mut s);
        assert!(out.starts_with("530 5.7.0 "), "{out}");
        assert!(!evs.iter().any(|e| e.starts_with("Auth")), "{evs:?}");
        assert!(!s.is_authenticated());
    }
}
