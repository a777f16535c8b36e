//! Properties of the server machine under random sessions (proptest):
//! no panic, nothing emitted after close, no MAIL before AUTH where AUTH is
//! required, nothing received before TLS acted on, and the same output for
//! every split of the input.

use proptest::prelude::*;
use smtp_sansio::reply::{EnhancedCode, OwnedReply, ReplyCode};
use smtp_sansio::sasl::Credentials;
use smtp_sansio::server::{AuthRequest, Server, ServerEvent};
use smtp_sansio::{PortMode, ServerConfig};

const TOKENS: &[&[u8]] = &[
    b"EHLO client.example.org\r\n",
    b"HELO client.example.org\r\n",
    b"LHLO client.example.org\r\n",
    b"MAIL FROM:<alice@example.org>\r\n",
    b"MAIL FROM:<alice@example.org> SIZE=100 BODY=8BITMIME\r\n",
    b"MAIL FROM:<> SIZE=99999999999999999999999\r\n",
    b"RCPT TO:<bob@example.net>\r\n",
    b"RCPT TO:<Postmaster>\r\n",
    b"DATA\r\n",
    b"Subject: x\r\n\r\nhello\r\n.\r\n",
    b"..dot\r\n",
    b"\r\n.\r\n",
    b"\n.\n",
    b"\r.\r\n",
    b"BDAT 5\r\nhello",
    b"BDAT 3 LAST\r\nabc",
    b"BDAT 0 LAST\r\n",
    b"RSET\r\n",
    b"NOOP\r\n",
    b"HELP\r\n",
    b"VRFY bob\r\n",
    b"EXPN list\r\n",
    b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n",
    b"AUTH PLAIN AGFsaWNlAHdyb25n\r\n",
    b"AUTH PLAIN\r\n",
    b"AGFsaWNlAHNlY3JldA==\r\n",
    b"AUTH LOGIN\r\n",
    b"YWxpY2U=\r\n",
    b"c2VjcmV0\r\n",
    b"*\r\n",
    b"AUTH CRAM-MD5\r\n",
    b"STARTTLS\r\n",
    b"QUIT\r\n",
    b"ETRN example.org\r\n",
    b"FROB\r\n",
    b"MAIL FROM:<a@b>\nRCPT TO:<c@d>\r\n",
    b"\r\n",
    b"\n",
    b"\r",
];

#[derive(Debug, Clone)]
enum Op {
    Bytes(Vec<u8>),
    Tls,
    Eof,
}

fn token() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => proptest::sample::select(TOKENS).prop_map(|t| t.to_vec()),
        1 => proptest::collection::vec(any::<u8>(), 0..40),
        1 => (1usize..3000).prop_map(|n| vec![b'A'; n]),
    ]
}

fn ops(with_tls: bool) -> impl Strategy<Value = Vec<Op>> {
    let op = prop_oneof![
        12 => proptest::collection::vec(token(), 1..4).prop_map(|v| Op::Bytes(v.concat())),
        if with_tls { 1 } else { 0 } => Just(Op::Tls),
        1 => Just(Op::Eof),
    ];
    proptest::collection::vec(op, 0..40)
}

fn mode() -> impl Strategy<Value = PortMode> {
    proptest::sample::select(vec![
        PortMode::Relay,
        PortMode::Submission,
        PortMode::ImplicitTls,
        PortMode::Lmtp,
    ])
}

fn reply(code: u16, e: (u8, u16, u16), text: &'static str) -> OwnedReply {
    OwnedReply {
        code: ReplyCode::new(code).unwrap(),
        enhanced: EnhancedCode::new(e.0, e.1, e.2),
        lines: vec![text.into()],
    }
}

/// What a session did, for comparisons and invariants.
#[derive(Debug, Default, PartialEq, Eq, Clone)]
struct Trace {
    out: Vec<u8>,
    events: Vec<String>,
    messages: Vec<Vec<u8>>,
}

struct Driver {
    server: Server,
    trace: Trace,
    current: Vec<u8>,
    closed_seen: bool,
    closed_out: Option<usize>,
    /// StartTls was reported and tls_established not called yet.
    awaiting_tls: bool,
    require_auth: bool,
}

impl Driver {
    fn new(cfg: ServerConfig) -> Self {
        let require_auth = cfg.require_auth;
        Driver {
            server: Server::new(cfg),
            trace: Trace::default(),
            current: Vec::new(),
            closed_seen: false,
            closed_out: None,
            awaiting_tls: false,
            require_auth,
        }
    }

    /// Drains events with a permissive application, checking invariants.
    fn drive(&mut self) {
        let was_awaiting = self.awaiting_tls;
        let mut n = 0;
        while let Some(ev) = self.server.next_event() {
            n += 1;
            assert!(n < 100_000, "event loop does not terminate");
            assert!(!self.closed_seen, "event after Closed: {ev:?}");
            if was_awaiting {
                assert!(
                    matches!(ev, ServerEvent::Violation(_) | ServerEvent::Closed),
                    "acted on input received before TLS: {ev:?}"
                );
            }
            let name = format!("{ev:?}");
            let name = match &ev {
                ServerEvent::MessageData(_) => "data".to_string(),
                _ => name,
            };
            let mut accept = ev.needs_decision();
            let mut refuse = None;
            match ev {
                ServerEvent::MessageData(p) => self.current.extend_from_slice(p),
                ServerEvent::MessageComplete { .. } => {
                    self.trace.messages.push(std::mem::take(&mut self.current))
                }
                ServerEvent::MessageStart { .. } | ServerEvent::MessageAborted(_) => {
                    self.current.clear()
                }
                ServerEvent::Mail { .. } if self.require_auth => {
                    assert!(
                        self.server_authenticated(),
                        "MAIL reported before AUTH where AUTH is required"
                    );
                }
                ServerEvent::Auth(AuthRequest::Credentials {
                    credentials: Credentials::Password { password, .. },
                    ..
                }) if password.expose() != "secret" => {
                    accept = false;
                    refuse = Some(reply(535, (5, 7, 8), "no"));
                }
                ServerEvent::Auth(AuthRequest::Step { .. }) => {
                    accept = false;
                    refuse = Some(reply(535, (5, 7, 8), "no"));
                }
                ServerEvent::StartTls => self.awaiting_tls = true,
                ServerEvent::Closed => self.closed_seen = true,
                _ => {}
            }
            self.trace.events.push(name);
            if let Some(r) = refuse {
                self.server.reject(r).unwrap();
            } else if accept {
                self.server.accept().unwrap();
            }
        }
        let before = self.trace.out.len();
        self.server.transmit(&mut self.trace.out);
        // Output queued together with the close (221, 421, 554) is fine;
        // nothing may follow once it has been taken.
        if let Some(at) = self.closed_out {
            assert_eq!(self.trace.out.len(), at, "output after close");
        } else if self.closed_seen {
            self.closed_out = Some(self.trace.out.len());
        }
        if was_awaiting {
            assert!(
                self.trace.out.len() == before || self.closed_seen,
                "output while waiting for TLS"
            );
        }
    }

    fn server_authenticated(&self) -> bool {
        self.server.is_authenticated()
    }

    fn apply(&mut self, op: &Op) {
        match op {
            Op::Bytes(b) => self.server.receive(b),
            Op::Tls => {
                if self.server.tls_established() {
                    self.awaiting_tls = false;
                }
            }
            Op::Eof => self.server.receive_eof(),
        }
        self.drive();
        let bound = self.server.config().limits.auth_line + 8192;
        if let Op::Bytes(b) = op {
            assert!(
                self.server.buffered() <= bound + b.len(),
                "input buffer grew past its bound"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    /// Random sessions in every mode: no panic, nothing after close, no
    /// MAIL before AUTH where required, nothing acted on before TLS.
    #[test]
    fn random_sessions_keep_invariants(m in mode(), ops in ops(true), sync in any::<bool>()) {
        let mut cfg = ServerConfig::new(m, "mx.example.net").with_tls();
        cfg.pipelining_sync = sync;
        let mut d = Driver::new(cfg);
        d.drive();
        for op in &ops {
            d.apply(op);
        }
    }

    /// Bytes received between the 220 to STARTTLS and `tls_established`
    /// are never executed.
    #[test]
    fn nothing_before_tls_is_executed(junk in proptest::collection::vec(token(), 1..5)) {
        prop_assume!(!junk.concat().is_empty());
        let mut d = Driver::new(ServerConfig::new(PortMode::Submission, "mx.example.net").with_tls());
        d.drive();
        d.apply(&Op::Bytes(b"EHLO c.example\r\n".to_vec()));
        d.apply(&Op::Bytes(b"STARTTLS\r\n".to_vec()));
        prop_assert!(d.server.wants_tls());
        let events_before = d.trace.events.len();
        let out_before = d.trace.out.len();
        d.apply(&Op::Bytes(junk.concat()));
        prop_assert!(d.trace.out.len() == out_before);
        for e in &d.trace.events[events_before..] {
            prop_assert!(e.starts_with("Violation") || e == "Closed", "{}", e);
        }
        prop_assert!(d.server.is_closed());
        prop_assert!(!d.server.tls_established());
    }

    /// Without the pipelining synchronization check (whose verdict depends
    /// by design on what arrives together), the output and the delivered
    /// messages do not depend on how the input is split.
    #[test]
    fn same_output_for_every_split(
        m in mode(),
        toks in proptest::collection::vec(token(), 0..30),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let toks: Vec<Vec<u8>> = toks
            .into_iter()
            .filter(|t| t.as_slice() != b"STARTTLS\r\n")
            .collect();
        let input = toks.concat();
        let mut cfg = ServerConfig::new(m, "mx.example.net").with_tls();
        cfg.pipelining_sync = false;
        let mut whole = Driver::new(cfg.clone());
        whole.drive();
        whole.apply(&Op::Bytes(input.clone()));
        whole.apply(&Op::Eof);

        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(input.len() + 1)).collect();
        points.push(0);
        points.push(input.len());
        points.sort_unstable();
        points.dedup();
        let mut split = Driver::new(cfg);
        split.drive();
        for w in points.windows(2) {
            split.apply(&Op::Bytes(input[w[0]..w[1]].to_vec()));
        }
        split.apply(&Op::Eof);
        prop_assert_eq!(&split.trace.out, &whole.trace.out);
        prop_assert_eq!(&split.trace.messages, &whole.trace.messages);
    }
}
