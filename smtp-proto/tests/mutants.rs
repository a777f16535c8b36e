//! Each server self-test mutant (feature `mutants`) disables exactly its
//! rule: one hand-written session per mutant answers securely without it
//! and differently with it. Run with
//! `cargo test -p smtp-sansio --features mutants --test mutants`.
#![cfg(feature = "mutants")]

use smtp_sansio::Mechanism;
use smtp_sansio::Server;
use smtp_sansio::{Mutant, MutantSlot};
use smtp_sansio::{PortMode, ServerConfig};

/// One step of a session.
enum Step {
    /// Bytes from the client; events are handled (every decision
    /// accepted) and the output is transmitted.
    In(&'static [u8]),
    /// Bytes from the client with events handled but nothing transmitted
    /// yet (a client that does not wait for the reply).
    Early(&'static [u8]),
    /// The TLS handshake completes (if the server asked for it).
    Tls,
}

/// Runs `steps`; returns everything the server wrote and whether it ended
/// closed.
fn session(cfg: ServerConfig, steps: &[Step]) -> (String, bool) {
    let mut s = Server::new(cfg);
    let mut out = Vec::new();
    let pump = |s: &mut Server| {
        while let Some(ev) = s.next_event() {
            if ev.needs_decision() {
                s.accept().unwrap();
            }
        }
    };
    pump(&mut s);
    s.transmit(&mut out);
    for step in steps {
        match step {
            Step::In(b) => {
                s.receive(b);
                pump(&mut s);
                s.transmit(&mut out);
            }
            Step::Early(b) => {
                s.receive(b);
                pump(&mut s);
            }
            Step::Tls => {
                s.tls_established();
                pump(&mut s);
                s.transmit(&mut out);
            }
        }
    }
    pump(&mut s);
    s.transmit(&mut out);
    (String::from_utf8_lossy(&out).into_owned(), s.is_closed())
}

fn codes(out: &str) -> Vec<&str> {
    out.split("\r\n")
        .filter(|l| l.len() >= 4 && l.as_bytes()[3] == b' ')
        .map(|l| &l[..3])
        .collect()
}

/// The session that shows `m`, its configuration, and the reply codes the
/// intact machine must give.
fn case(m: Mutant) -> (ServerConfig, Vec<Step>, Vec<&'static str>) {
    use Step::*;
    let relay = ServerConfig::new(PortMode::Relay, "mx.example.net").with_tls();
    let mut sub = ServerConfig::new(PortMode::Submission, "mx.example.net").with_tls();
    sub.mechanisms = vec![Mechanism::Plain, Mechanism::Login];
    const PLAIN: &[u8] = b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n";
    match m {
        Mutant::StartTlsInjection => (
            relay,
            vec![
                In(b"EHLO c.example.org\r\n"),
                In(b"STARTTLS\r\n"),
                // Arrives before the handshake: never executed.
                In(b"NOOP\r\n"),
                Tls,
            ],
            vec!["220", "250", "220"],
        ),
        Mutant::AuthBeforeMail => {
            let mut cfg = ServerConfig::new(PortMode::ImplicitTls, "mx.example.net");
            cfg.mechanisms = vec![Mechanism::Plain];
            (
                cfg,
                vec![In(b"EHLO c\r\n"), In(b"MAIL FROM:<a@example.org>\r\n")],
                vec!["220", "250", "530"],
            )
        }
        Mutant::TlsBeforeAuth => (
            sub,
            vec![In(b"EHLO c\r\n"), In(PLAIN)],
            vec!["220", "250", "530"],
        ),
        Mutant::AuthNotOffered => {
            let mut cfg = sub;
            cfg.require_tls = false;
            (
                cfg,
                vec![In(b"EHLO c\r\n"), In(PLAIN)],
                vec!["220", "250", "530"],
            )
        }
        Mutant::BdatChunkSkip => (
            relay,
            vec![In(b"EHLO c\r\n"), In(b"BDAT 6 LAST\r\nHELP\r\n")],
            vec!["220", "250", "503"],
        ),
        Mutant::BdatUnframable => (
            relay,
            vec![
                In(b"EHLO c\r\n"),
                In(b"MAIL FROM:<a@example.org>\r\n"),
                In(b"RCPT TO:<b@example.net>\r\n"),
                In(b"BDAT 8 LAST X\r\nRSET\r\n"),
            ],
            vec!["220", "250", "250", "250", "554"],
        ),
        Mutant::PipeliningSync => (
            relay,
            vec![Early(b"EHLO c\r\n"), In(b"MAIL FROM:<a@example.org>\r\n")],
            vec!["220", "250", "554"],
        ),
        Mutant::ProxyHeader => {
            let mut proxied = relay;
            proxied.proxy = Some(smtp_sansio::ProxyConfig::DEFAULT);
            (
                proxied,
                vec![
                    In(b"PROXY TCP4 192.0.2.1 198.51.100.2 40000 25\r\n"),
                    In(b"EHLO c\r\n"),
                ],
                vec!["220", "250"],
            )
        }
        Mutant::ProxyMalformed => {
            let mut proxied = relay;
            proxied.proxy = Some(smtp_sansio::ProxyConfig::DEFAULT);
            (
                proxied,
                vec![
                    // A leading zero in an address: malformed (section 2.1).
                    In(b"PROXY TCP4 192.0.2.01 198.51.100.2 40000 25\r\n"),
                    In(b"EHLO c\r\n"),
                ],
                // Closed without a greeting.
                vec![],
            )
        }
        _ => unreachable!("client mutant"),
    }
}

#[test]
fn each_server_mutant_changes_behaviour() {
    for m in Mutant::ALL.into_iter().filter(|m| m.is_server()) {
        let (cfg, steps, want) = case(m);
        let (good, _) = session(cfg.clone(), &steps);
        assert_eq!(codes(&good), want, "{m:?} intact: {good}");
        let mut bad_cfg = cfg;
        bad_cfg.mutant = MutantSlot::with(m);
        let (bad, _) = session(bad_cfg, &steps);
        assert_ne!(codes(&bad), want, "{m:?} mutant changed nothing: {bad}");
    }
}

/// A mutant disables only its own rule: under every other mutant the
/// session of a rule still gives the intact answer. One overlap is
/// inherent: a plaintext mechanism before TLS is exactly what
/// `TlsBeforeAuth` offers, so it also lets the `AuthNotOffered` session
/// through. Likewise `ProxyHeader` (no header read at all) greets after
/// the malformed header of the `ProxyMalformed` session.
#[test]
fn mutants_are_independent() {
    for m in Mutant::ALL.into_iter().filter(|m| m.is_server()) {
        let (cfg, steps, want) = case(m);
        for other in Mutant::ALL {
            if other == m
                || (m, other) == (Mutant::AuthNotOffered, Mutant::TlsBeforeAuth)
                || (m, other) == (Mutant::ProxyMalformed, Mutant::ProxyHeader)
            {
                continue;
            }
            let mut c = cfg.clone();
            c.mutant = MutantSlot::with(other);
            let (out, _) = session(c, &steps);
            assert_eq!(codes(&out), want, "{m:?} session under {other:?}: {out}");
        }
    }
}
