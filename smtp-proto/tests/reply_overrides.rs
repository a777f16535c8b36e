//! Issue 11 item 7: every reply the server machine writes by itself goes
//! through the one reply writer, so a `ServerConfig::replies` override of
//! any `ReplyKind` is what goes on the wire.

use smtp_sansio::ext::Extensions;
use smtp_sansio::reply::{EnhancedCode, OwnedReply, ReplyCode};
use smtp_sansio::sasl::Mechanism;
use smtp_sansio::server::{ReplyKind, Server};
use smtp_sansio::{PortMode, ServerConfig};

/// Kinds no input can reach today, with the reason. They are overridable
/// like the others but cannot be seen on the wire.
const UNREACHABLE: [(ReplyKind, &str); 2] = [
    // REQUIRETLS is not in effect without TLS (RFC 8689 4), so the
    // parser refuses the parameter (555) before this check runs.
    (
        ReplyKind::RequireTlsNeedsTls,
        "REQUIRETLS is refused by the parser before TLS",
    ),
    // Reading DATA content ends the transaction, so no BDAT can follow a
    // DATA of the same transaction.
    (
        ReplyKind::BdatAfterData,
        "DATA content always ends its transaction",
    ),
];

fn marker(kind: ReplyKind) -> String {
    format!("OVR-{kind:?}")
}

/// A configuration overriding every kind with its default code and
/// enhanced code and a text naming the kind.
fn overridden(mut cfg: ServerConfig) -> ServerConfig {
    for kind in ReplyKind::ALL {
        let (code, enh, _) = kind.default_reply();
        cfg.replies.push((
            kind,
            OwnedReply {
                code: ReplyCode::new(code).unwrap(),
                enhanced: enh.and_then(|[a, b, c]| EnhancedCode::new(a as u8, b, c)),
                lines: vec![marker(kind).into()],
            },
        ));
    }
    cfg
}

enum Step {
    In(Vec<u8>),
    Tls,
    Timeout,
}

fn inp(b: &[u8]) -> Step {
    Step::In(b.to_vec())
}

/// Runs a session (every decision accepted, output transmitted after each
/// step; `refuse_greeting` answers the greeting with 554), returns the
/// output.
fn session(
    cfg: ServerConfig,
    refuse_greeting: bool,
    early: Option<&[u8]>,
    steps: Vec<Step>,
) -> String {
    let mut s = Server::new(overridden(cfg));
    let mut out = Vec::new();
    if let Some(b) = early {
        s.receive(b);
    }
    let pump = |s: &mut Server, refuse: &mut bool| {
        while let Some(ev) = s.next_event() {
            if ev.needs_decision() {
                if std::mem::take(refuse) {
                    s.reject(OwnedReply {
                        code: ReplyCode::new(554).unwrap(),
                        enhanced: None,
                        lines: vec!["no".into()],
                    })
                    .unwrap();
                } else {
                    s.accept().unwrap();
                }
            }
        }
    };
    let mut refuse = refuse_greeting;
    pump(&mut s, &mut refuse);
    s.transmit(&mut out);
    for step in steps {
        match step {
            Step::In(b) => s.receive(&b),
            Step::Tls => {
                assert!(s.tls_established());
            }
            Step::Timeout => s.handle_timeout(),
        }
        pump(&mut s, &mut refuse);
        s.transmit(&mut out);
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn relay() -> ServerConfig {
    let mut cfg = ServerConfig::new(PortMode::Relay, "mx.example.net").with_tls();
    cfg.max_errors = 1000;
    cfg.max_auth_failures = 1000;
    cfg
}

#[test]
fn every_reply_kind_override_reaches_the_wire() {
    let mut wire = String::new();
    const PLAIN: &[u8] = b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n";
    let txn: &[u8] = b"MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n";

    // The bulk: a relay with AUTH in plaintext, ETRN, BINARYMIME, small limits.
    let mut cfg = relay();
    cfg.starttls = false;
    cfg.mechanisms = vec![Mechanism::Plain, Mechanism::Login];
    cfg.plaintext_auth_without_tls = true;
    cfg.extensions
        .insert(Extensions::ETRN | Extensions::BINARY_MIME);
    cfg.limits.recipients = 1;
    cfg.limits.message_size = 1000;
    cfg.limits.enforce_text_line = true;
    let long = |head: &str| {
        let mut v = head.as_bytes().to_vec();
        v.extend(std::iter::repeat_n(b'A', 20_000));
        v.extend_from_slice(b"\r\n");
        Step::In(v)
    };
    wire += &session(
        cfg,
        false,
        None,
        vec![
            inp(b"MAIL FROM:<a@b.example>\r\n"),
            inp(b"EHLO c.example.org\r\n"),
            inp(b"AUTH PLAIN\r\n"),
            long(""),
            inp(b"AUTH PLAIN\r\n"),
            inp(b"a\nb\r\n"),
            inp(b"AUTH PLAIN\r\n"),
            inp(b"*\r\n"),
            inp(b"AUTH PLAIN !!!\r\n"),
            inp(b"AUTH PLAIN\r\n"),
            inp(b"!!!\r\n"),
            inp(b"AUTH LOGIN\r\n"),
            inp(b"/w==\r\n"),
            inp(b"AUTH PLAIN bm9udWw=\r\n"),
            inp(b"AUTH LOGIN dXNlcg==\r\n"),
            inp(b"AUTH FOO\r\n"),
            long("NOOP "),
            inp(b"NOOP\nX\r\n"),
            inp(b"FOO\r\n"),
            inp(b"NOOP \x00\r\n"),
            inp(b"MAIL FROM:<a@b.example> XFOO=1\r\n"),
            inp(b"MAIL FROM:<a@b.example> SIZE=x\r\n"),
            Step::In(format!("MAIL FROM:<{}@b.example>\r\n", "a".repeat(70)).into_bytes()),
            inp("MAIL FROM:<\u{e9}@b.example>\r\n".as_bytes()),
            inp(b"MAIL FROM:a@b\r\n"),
            inp(b"HELP\r\n"),
            inp(b"NOOP\r\n"),
            inp(b"RSET\r\n"),
            inp(b"VRFY x\r\n"),
            inp(b"ETRN example.org\r\n"),
            inp(b"RCPT TO:<c@d.example>\r\n"),
            inp(b"STARTTLS\r\n"),
            inp(b"MAIL FROM:<a@b.example> SIZE=5000\r\n"),
            inp(b"MAIL FROM:<a@b.example>\r\n"),
            inp(b"MAIL FROM:<a@b.example>\r\n"),
            inp(PLAIN),
            inp(b"DATA\r\n"),
            inp(b"RCPT TO:<c@d.example>\r\n"),
            inp(b"RCPT TO:<e@d.example>\r\n"),
            inp(b"DATA\r\n"),
            inp(b"a\nb\r\n.\r\n"),
            inp(txn),
            inp(b"DATA\r\n"),
            inp(b"a\x00b\r\n.\r\n"),
            inp(txn),
            inp(b"DATA\r\n"),
            Step::In(format!("{}\r\n.\r\n", "x".repeat(1200)).into_bytes()),
            inp(txn),
            inp(b"DATA\r\n"),
            Step::In(format!("{}\r\n.\r\n", "x".repeat(999)).into_bytes()),
            inp(txn),
            inp(b"DATA\r\n"),
            inp(b"hello\r\n.\r\n"),
            inp(txn),
            inp(b"BDAT 3\r\nabc"),
            inp(b"DATA\r\n"),
            inp(b"BDAT 2\r\na\n"),
            inp(b"BDAT 1 LAST\r\nx"),
            inp(b"MAIL FROM:<a@b.example> BODY=BINARYMIME\r\nRCPT TO:<c@d.example>\r\n"),
            inp(b"DATA\r\n"),
            inp(b"RSET\r\n"),
            inp(PLAIN),
            inp(PLAIN),
            inp(b"NOOP\r\nNOOP\r\n"),
        ],
    );
    // STARTTLS replies.
    wire += &session(
        relay(),
        false,
        None,
        vec![
            inp(b"EHLO c\r\n"),
            inp(b"MAIL FROM:<a@b.example>\r\n"),
            inp(b"STARTTLS\r\n"),
            inp(b"RSET\r\n"),
            inp(b"STARTTLS\r\n"),
            Step::Tls,
            inp(b"EHLO c\r\n"),
            inp(b"STARTTLS\r\n"),
            inp(b"QUIT\r\n"),
        ],
    );
    wire += &session(
        relay(),
        false,
        None,
        vec![inp(b"EHLO c\r\n"), inp(b"STARTTLS\r\nNOOP\r\n")],
    );
    // Early talker, timeout, refused greeting.
    let mut cfg = relay();
    cfg.early_talker = true;
    wire += &session(cfg, false, Some(b"EHLO c\r\n"), vec![]);
    wire += &session(relay(), false, None, vec![Step::Timeout]);
    wire += &session(relay(), true, None, vec![inp(b"NOOP\r\n")]);
    // Error limits.
    let mut cfg = relay();
    cfg.max_errors = 1;
    wire += &session(cfg, false, None, vec![inp(b"FOO\r\n")]);
    let mut cfg = relay();
    cfg.max_auth_failures = 1;
    cfg.mechanisms = vec![Mechanism::Plain];
    cfg.plaintext_auth_without_tls = true;
    wire += &session(
        cfg,
        false,
        None,
        vec![inp(b"EHLO c\r\n"), inp(b"AUTH PLAIN bm9udWw=\r\n")],
    );
    // LMTP.
    wire += &session(
        ServerConfig::new(PortMode::Lmtp, "mx"),
        false,
        None,
        vec![
            inp(b"EHLO c\r\n"),
            inp(b"LHLO c\r\n"),
            inp(b"MAIL FROM:<a@b.example>\r\n"),
            inp(b"DATA\r\n"),
        ],
    );
    // TLS and AUTH requirements.
    wire += &session(
        ServerConfig::new(PortMode::Submission, "mx").with_tls(),
        false,
        None,
        vec![inp(b"EHLO c\r\n"), inp(b"MAIL FROM:<a@b.example>\r\n")],
    );
    wire += &session(relay(), false, None, vec![inp(b"EHLO c\r\n"), inp(PLAIN)]);
    let mut cfg = relay();
    cfg.require_auth = true;
    wire += &session(
        cfg,
        false,
        None,
        vec![inp(b"EHLO c\r\n"), inp(b"MAIL FROM:<a@b.example>\r\n")],
    );
    // An unframable BDAT.
    wire += &session(
        relay(),
        false,
        None,
        vec![inp(b"EHLO c\r\n"), inp(b"BDAT x\r\n")],
    );

    let mut missing = Vec::new();
    for kind in ReplyKind::ALL {
        if UNREACHABLE.iter().any(|(k, _)| *k == kind) {
            continue;
        }
        let (code, _, default_text) = kind.default_reply();
        let want = format!("{code} ");
        let seen = wire
            .split("\r\n")
            .any(|l| l.starts_with(&want) && l.ends_with(&marker(kind)));
        if !seen {
            missing.push(kind);
        }
        // The default text never appears once overridden.
        assert!(
            !wire.contains(default_text) || default_text.len() < 4,
            "{kind:?}: default text {default_text:?} on the wire"
        );
    }
    assert!(
        missing.is_empty(),
        "overrides not seen: {missing:?}\n{wire}"
    );
}
