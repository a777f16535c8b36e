//! Each client mutant (one security rule disabled, feature `mutants`)
//! changes the machine's behaviour on one session; the same session
//! without the mutant keeps the rule. A rule whose removal changes nothing
//! would prove nothing in `explore --self-test`.
//!
//! `cargo test -p smtp-sansio --features mutants --test client_mutants`
#![cfg(feature = "mutants")]

use smtp_sansio::PortMode;
use smtp_sansio::{Client, ClientConfig, ClientError, ClientEvent, Envelope};
use smtp_sansio::{Mutant, MutantSlot};

fn step(c: &mut Client, input: &[u8]) -> (String, Vec<ClientEvent>) {
    c.receive(input);
    let mut evs = Vec::new();
    while let Some(e) = c.next_event() {
        evs.push(e);
    }
    let mut out = Vec::new();
    c.transmit(&mut out);
    (String::from_utf8_lossy(&out).into_owned(), evs)
}

fn submission(mutant: Option<Mutant>) -> Client {
    let mut cfg = ClientConfig::new(PortMode::Submission, "client.example.org");
    if let Some(m) = mutant {
        cfg.mutant = MutantSlot::with(m);
    }
    Client::new(cfg).unwrap()
}

/// RFC 3207 4.1, RFC 8314 3: a server that does not offer STARTTLS on
/// submission. The rule: TlsUnavailable and QUIT. The mutant: Ready in
/// plaintext, and MAIL goes out without TLS.
#[test]
fn client_tls_required() {
    let session = |c: &mut Client| {
        let _ = step(c, b"220 mx ESMTP\r\n");
        step(c, b"250-mx\r\n250 PIPELINING\r\n")
    };

    let mut c = submission(None);
    let (out, evs) = session(&mut c);
    assert_eq!(out, "QUIT\r\n");
    assert!(evs.contains(&ClientEvent::Error(ClientError::TlsUnavailable)));
    assert!(!c.is_ready());

    let mut c = submission(Some(Mutant::ClientTlsRequired));
    let (out, evs) = session(&mut c);
    assert_eq!(out, "");
    assert_eq!(evs.last(), Some(&ClientEvent::Ready));
    assert!(!c.is_tls());
    c.send_mail(
        Envelope::new("a@example.org", ["b@example.org"]),
        b"Hi\r\n".to_vec(),
    )
    .unwrap();
    let mut out = Vec::new();
    c.transmit(&mut out);
    assert!(out.starts_with(b"MAIL FROM:<a@example.org>"), "{out:?}");
}

/// RFC 3207 4.1 with a refused STARTTLS: the rule is TlsRefused; the
/// mutant carries on in plaintext.
#[test]
fn client_tls_required_refused_starttls() {
    let session = |c: &mut Client| {
        let _ = step(c, b"220 mx ESMTP\r\n");
        let (out, _) = step(c, b"250-mx\r\n250 STARTTLS\r\n");
        assert_eq!(out, "STARTTLS\r\n");
        step(c, b"454 4.7.0 TLS not available\r\n")
    };
    let mut c = submission(None);
    let (out, evs) = session(&mut c);
    assert_eq!(out, "QUIT\r\n");
    assert!(matches!(
        evs.first(),
        Some(ClientEvent::Error(ClientError::TlsRefused(_)))
    ));

    let mut c = submission(Some(Mutant::ClientTlsRequired));
    let (out, evs) = session(&mut c);
    assert_eq!(out, "");
    assert_eq!(evs.last(), Some(&ClientEvent::Ready));
    assert!(!c.is_tls());
}

/// RFC 3207 5 (CVE-2011-0411 class): a reply injected behind the 220 to
/// STARTTLS. The rule: ResponseInjection, close, nothing sent. The mutant:
/// the injected bytes are read after the handshake as the reply to the new
/// EHLO.
#[test]
fn client_response_injection() {
    let session = |c: &mut Client| {
        let _ = step(c, b"220 mx ESMTP\r\n");
        let (out, _) = step(c, b"250-mx\r\n250 STARTTLS\r\n");
        assert_eq!(out, "STARTTLS\r\n");
        step(c, b"220 go ahead\r\n250 injected\r\n")
    };

    let mut c = submission(None);
    let (out, evs) = session(&mut c);
    assert_eq!(out, "");
    assert_eq!(
        evs,
        [
            ClientEvent::Error(ClientError::ResponseInjection),
            ClientEvent::Closed
        ]
    );
    assert!(c.is_closed());

    let mut c = submission(Some(Mutant::ClientResponseInjection));
    let (out, evs) = session(&mut c);
    assert_eq!(out, "");
    assert_eq!(evs, [ClientEvent::StartTls]);
    assert!(c.tls_established());
    let (out, evs) = step(&mut c, b"");
    assert_eq!(out, "EHLO client.example.org\r\n");
    assert!(
        evs.iter().any(|e| matches!(
            e,
            ClientEvent::Capabilities(caps) if caps.domain == "injected"
        )),
        "{evs:?}"
    );
}

/// Bytes that arrive while the machine waits for the handshake: the rule
/// closes; the mutant keeps them as replies.
#[test]
fn client_response_injection_while_awaiting_tls() {
    let session = |c: &mut Client| {
        let _ = step(c, b"220 mx ESMTP\r\n");
        let _ = step(c, b"250-mx\r\n250 STARTTLS\r\n");
        let (_, evs) = step(c, b"220 go ahead\r\n");
        assert_eq!(evs, [ClientEvent::StartTls]);
        step(c, b"250 injected\r\n")
    };
    let mut c = submission(None);
    let (_, evs) = session(&mut c);
    assert_eq!(
        evs,
        [
            ClientEvent::Error(ClientError::ResponseInjection),
            ClientEvent::Closed
        ]
    );

    let mut c = submission(Some(Mutant::ClientResponseInjection));
    let (_, evs) = session(&mut c);
    assert!(evs.is_empty(), "{evs:?}");
    assert!(c.wants_tls());
    assert!(c.tls_established());
    let (_, evs) = step(&mut c, b"");
    assert!(
        evs.iter()
            .any(|e| matches!(e, ClientEvent::Capabilities(caps) if caps.domain == "injected")),
        "{evs:?}"
    );
}

/// RFC 5321 4.5.3.1.10: a 452 too many recipients to the first RCPT of a
/// fresh transaction. The rule: a (temporary) refusal, no further MAIL.
/// The mutant: the recipients are deferred to another transaction.
#[test]
fn client_split_loop() {
    let session = |c: &mut Client| {
        let _ = step(c, b"220 mx ESMTP\r\n");
        let _ = step(c, b"250-mx\r\n250 PIPELINING\r\n");
        c.send_mail(
            Envelope::new("a@example.org", ["b@example.org"]),
            b"Hi\r\n".to_vec(),
        )
        .unwrap();
        let _ = step(c, b"");
        step(
            c,
            b"250 2.1.0 ok\r\n452 4.5.3 too many recipients\r\n554 5.5.1 no valid recipients\r\n",
        )
    };
    let relay = |m: Option<Mutant>| {
        let mut cfg = ClientConfig::new(PortMode::Relay, "client.example.org");
        if let Some(m) = m {
            cfg.mutant = MutantSlot::with(m);
        }
        Client::new(cfg).unwrap()
    };
    let mut c = relay(None);
    let (out, evs) = session(&mut c);
    assert_eq!(out, "");
    assert_eq!(evs.last(), Some(&ClientEvent::Ready));
    let mut c = relay(Some(Mutant::ClientSplitLoop));
    let (out, _) = session(&mut c);
    assert!(
        out.starts_with("RSET\r\nMAIL FROM:<a@example.org>"),
        "{out}"
    );
}
