//! `server_session`: the server machine driven by an `arbitrary` script:
//! input chunks (plausible SMTP lines from a dictionary mixed with raw
//! bytes), decisions, TLS handshakes completing at random times, EOF,
//! timeouts and transmits, in every [`PortMode`] and a few configuration
//! variants. Invariants checked after every step:
//!
//! - no panic; the output is always a sequence of complete, well-formed
//!   replies ([`Reply::parse`]);
//! - bounded memory: when the machine waits for input, `buffered()` is
//!   below the longest line it accepts; at any time it is at most that
//!   plus what was fed since it last waited for input;
//! - no MAIL event before an accepted AUTH where `require_auth` is set,
//!   and none of MAIL, RCPT, content, VRFY/EXPN, ETRN before TLS where
//!   `require_tls` is set; no AUTH event for a plaintext mechanism without
//!   TLS unless configured; STARTTLS only where it is offered;
//! - after the STARTTLS event and until `tls_established()` succeeds, only
//!   `Violation` and `Closed`; bytes that followed STARTTLS are never
//!   executed: they end the session as `StartTlsInjection` (DESIGN 3), and
//!   nothing is buffered once TLS is established;
//! - after `Closed`: no event and no output, whatever the driver calls;
//! - a decision event never comes while another decision is pending;
//!   content events only between `MessageStart` and its end, and the
//!   completed size is the sum of the content pieces.

use arbitrary::{Arbitrary, Unstructured};
use smtp_sansio::reply::Reply;
use smtp_sansio::sasl::Mechanism;
use smtp_sansio::server::{AuthRequest, Server, ServerEvent, Violation};
use smtp_sansio::{EnhancedCode, Extensions, Limits, LineEndingPolicy, OwnedReply, ReplyCode};
use smtp_sansio::{PortMode, ServerConfig};

/// Plausible client input, picked by index.
const DICT: &[&[u8]] = &[
    b"EHLO client.example\r\n",
    b"HELO client.example\r\n",
    b"LHLO client.example\r\n",
    b"MAIL FROM:<alice@example.org>\r\n",
    b"MAIL FROM:<> BODY=BINARYMIME\r\n",
    b"MAIL FROM:<a@b.example> SIZE=100 SMTPUTF8 REQUIRETLS\r\n",
    b"RCPT TO:<bob@example.net>\r\n",
    b"RCPT TO:<Postmaster>\r\n",
    b"DATA\r\n",
    b"Subject: hi\r\n\r\nhello\r\n.\r\n",
    b"..dot\r\n",
    b"\r\n.\r\n",
    b".\r\n",
    b"BDAT 5\r\n",
    b"BDAT 0 LAST\r\n",
    b"BDAT 3 LAST\r\n",
    b"hello",
    b"STARTTLS\r\n",
    b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n",
    b"AUTH PLAIN\r\n",
    b"AGFsaWNlAHNlY3JldA==\r\n",
    b"AUTH LOGIN\r\n",
    b"YWxpY2U=\r\n",
    b"c2VjcmV0\r\n",
    b"AUTH CRAM-MD5\r\n",
    b"AUTH XOAUTH2 dXNlcj1hAWF1dGg9QmVhcmVyIHQBAQ==\r\n",
    b"*\r\n",
    b"RSET\r\n",
    b"NOOP\r\n",
    b"QUIT\r\n",
    b"VRFY bob\r\n",
    b"EXPN list\r\n",
    b"HELP\r\n",
    b"ETRN example.org\r\n",
    b"BURL imap://x LAST\r\n",
    b"\r\n",
    b"\n",
    b"\r",
    b"\0",
    b"MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n",
    b"STARTTLS\r\nEHLO evil\r\n",
];

#[derive(Debug, Arbitrary)]
enum Piece {
    Dict(u8),
    Raw(Vec<u8>),
    /// A long line (`n * 64` octets) to hit the line limits.
    Long(u8),
}

#[derive(Debug, Clone, Copy, Arbitrary)]
enum Decision {
    Accept,
    Reject550,
    Reject421,
    Reject554,
    Respond250,
    Challenge,
    RespondEach(u8),
    /// Leave the decision pending (a later `Op::Decide` may make it).
    Defer,
}

#[derive(Debug, Arbitrary)]
enum Op {
    Input(Vec<Piece>),
    Transmit,
    TlsEstablished,
    Eof,
    Timeout,
    Decide(Decision),
}

#[derive(Debug, Arbitrary)]
struct Script {
    mode: u8,
    config: u8,
    decisions: Vec<Decision>,
    ops: Vec<Op>,
}

fn reply(code: u16, enh: [u16; 3], text: &'static str) -> OwnedReply {
    OwnedReply::new(
        ReplyCode::new(code).expect("code"),
        EnhancedCode::new(enh[0] as u8, enh[1], enh[2]),
        text,
    )
}

/// What the harness knows, from the events and its own calls.
struct Track {
    cfg: ServerConfig,
    tls: bool,
    authed: bool,
    awaiting_tls: bool,
    injection_expected: bool,
    saw_injection: bool,
    closed: bool,
    pending: bool,
    pending_auth: bool,
    in_message: bool,
    message_bytes: u64,
    wire: Vec<u8>,
    /// Longest line the machine may buffer while waiting for input.
    line_bound: usize,
    fed_since_idle: usize,
    /// Output was taken after `Closed`: nothing more may come.
    flushed: bool,
}

impl Track {
    fn transmit(&mut self, s: &mut Server) {
        let before = self.wire.len();
        s.transmit(&mut self.wire);
        if self.closed_and_flushed() {
            assert_eq!(self.wire.len(), before, "output after Closed");
        }
        // Complete, well-formed replies only.
        let limits = Limits {
            reply_lines: usize::MAX,
            ..Limits::RFC
        };
        let mut at = 0;
        while at < self.wire.len() {
            match Reply::parse_plain(&self.wire[at..], &limits) {
                Ok((_, n)) => at += n,
                Err(e) => panic!(
                    "server output is not a reply sequence: {e:?} {:?}",
                    String::from_utf8_lossy(&self.wire[at..])
                ),
            }
        }
        if self.closed {
            self.flushed = true;
        }
    }
    fn closed_and_flushed(&self) -> bool {
        self.closed && self.flushed
    }
}

/// The body.
pub fn server_session(data: &[u8]) {
    let Ok(script) = Script::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    if std::env::var_os("SMTP_FUZZ_DEBUG").is_some() {
        eprintln!("{script:#?}");
    }
    run(&script);
}

fn config(script: &Script) -> ServerConfig {
    let mode = [
        PortMode::Relay,
        PortMode::Submission,
        PortMode::ImplicitTls,
        PortMode::Lmtp,
    ][usize::from(script.mode % 4)];
    let mut cfg = ServerConfig::new(mode, "mx.example.org").with_tls();
    let c = script.config;
    if c & 1 != 0 {
        cfg.pipelining_sync = false;
    }
    if c & 2 != 0 {
        cfg.line_ending = LineEndingPolicy::Normalize;
    }
    if c & 4 != 0 {
        cfg.early_talker = true;
    }
    if c & 8 != 0 {
        cfg.limits.message_size = 40;
    }
    if c & 16 != 0 {
        cfg.mechanisms.push(Mechanism::CramMd5);
        cfg.mechanisms.push(Mechanism::XOAuth2);
        if cfg.mechanisms.len() == 2 {
            cfg.require_auth = true;
        }
    }
    if c & 32 != 0 {
        cfg.plaintext_auth_without_tls = true;
    }
    if c & 64 != 0 {
        cfg.extensions.insert(Extensions::ETRN);
    }
    cfg
}

fn run(script: &Script) {
    let cfg = config(script);
    let ext = Extensions::ALL;
    let base = cfg.limits.command_line;
    let line_bound = ext
        .mail_line_limit(base)
        .max(ext.rcpt_line_limit(base))
        .max(cfg.limits.auth_line);
    let mut s = Server::new(cfg.clone());
    let mut t = Track {
        tls: cfg.mode.implicit_tls(),
        cfg,
        authed: false,
        awaiting_tls: false,
        injection_expected: false,
        saw_injection: false,
        closed: false,
        pending: false,
        pending_auth: false,
        in_message: false,
        message_bytes: 0,
        wire: Vec::new(),
        line_bound,
        fed_since_idle: 0,
        flushed: false,
    };
    let mut decisions = script.decisions.iter().copied().cycle();
    let no_decisions = script.decisions.is_empty();
    let mut next_decision = move || {
        if no_decisions {
            Decision::Accept
        } else {
            decisions.next().unwrap_or(Decision::Accept)
        }
    };
    drain(&mut s, &mut t, &mut next_decision);
    for op in script.ops.iter().take(200) {
        match op {
            Op::Input(pieces) => {
                let mut bytes = Vec::new();
                for p in pieces.iter().take(16) {
                    match p {
                        Piece::Dict(i) => {
                            bytes.extend_from_slice(DICT[usize::from(*i) % DICT.len()])
                        }
                        Piece::Raw(r) => bytes.extend(r.iter().take(256)),
                        Piece::Long(n) => {
                            bytes.extend(std::iter::repeat_n(b'a', usize::from(*n) * 64))
                        }
                    }
                }
                t.fed_since_idle += bytes.len();
                s.receive(&bytes);
            }
            Op::Transmit => t.transmit(&mut s),
            Op::TlsEstablished => {
                let expected = t.awaiting_tls && !t.closed && !s.is_closed();
                let ok = s.tls_established();
                assert_eq!(ok, expected, "tls_established accepted out of turn");
                if ok {
                    t.awaiting_tls = false;
                    t.tls = true;
                    assert!(s.is_tls());
                    assert_eq!(s.buffered(), 0, "bytes from before TLS kept");
                }
            }
            Op::Eof => s.receive_eof(),
            Op::Timeout => s.handle_timeout(),
            Op::Decide(d) => {
                let had_output = s.has_output();
                let ok = decide(&mut s, *d);
                if ok {
                    assert!(t.pending, "a decision was accepted with none pending");
                    t.pending = false;
                    if t.pending_auth && matches!(d, Decision::Accept | Decision::Respond250) {
                        t.authed = true;
                    }
                    t.pending_auth = false;
                } else {
                    assert_eq!(
                        s.has_output(),
                        had_output,
                        "a refused decision wrote output"
                    );
                }
            }
        }
        drain(&mut s, &mut t, &mut next_decision);
        if matches!(op, Op::Eof | Op::Timeout) {
            assert!(t.closed, "EOF or timeout did not close");
        }
        if t.closed {
            assert!(s.is_closed());
        }
        if !t.closed && !t.pending {
            assert_eq!(s.is_authenticated(), t.authed, "authentication state");
        }
        assert!(
            s.buffered() <= t.line_bound + t.fed_since_idle,
            "buffered {} > {} + {}",
            s.buffered(),
            t.line_bound,
            t.fed_since_idle
        );
    }
    t.transmit(&mut s);
}

/// Applies a decision; `true` if the machine took it.
fn decide(s: &mut Server, d: Decision) -> bool {
    match d {
        Decision::Accept => s.accept().is_ok(),
        Decision::Reject550 => s.reject(reply(550, [5, 7, 1], "Rejected")).is_ok(),
        Decision::Reject421 => s.reject(reply(421, [4, 3, 0], "Try later")).is_ok(),
        Decision::Reject554 => s.reject(reply(554, [5, 7, 1], "No service")).is_ok(),
        Decision::Respond250 => s.respond(reply(250, [2, 0, 0], "Fine")).is_ok(),
        Decision::Challenge => s.auth_challenge(b"challenge").is_ok(),
        Decision::RespondEach(n) => s
            .respond_each(
                (0..n % 4)
                    .map(|_| reply(250, [2, 0, 0], "Delivered"))
                    .collect(),
            )
            .is_ok(),
        Decision::Defer => false,
    }
}

/// An event, without its borrow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ev {
    Connected,
    Hello,
    Mail,
    Rcpt,
    MessageStart,
    MessageData(usize),
    MessageComplete(u64),
    MessageAborted,
    Auth(Mechanism),
    Verify,
    Etrn,
    Reset,
    StartTls,
    Violation(Violation),
    Closed,
    Other,
}

fn summarize(ev: &ServerEvent<'_>) -> Ev {
    match ev {
        ServerEvent::Connected => Ev::Connected,
        ServerEvent::Hello { .. } => Ev::Hello,
        ServerEvent::Mail { .. } => Ev::Mail,
        ServerEvent::Rcpt { .. } => Ev::Rcpt,
        ServerEvent::MessageStart { .. } => Ev::MessageStart,
        ServerEvent::MessageData(d) => Ev::MessageData(d.len()),
        ServerEvent::MessageComplete { size, .. } => Ev::MessageComplete(*size),
        ServerEvent::MessageAborted(_) => Ev::MessageAborted,
        ServerEvent::Auth(AuthRequest::Credentials { mechanism, .. })
        | ServerEvent::Auth(AuthRequest::Step { mechanism, .. }) => Ev::Auth(*mechanism),
        ServerEvent::Verify { .. } => Ev::Verify,
        ServerEvent::Etrn { .. } => Ev::Etrn,
        ServerEvent::Reset => Ev::Reset,
        ServerEvent::StartTls => Ev::StartTls,
        ServerEvent::Violation(v) => Ev::Violation(*v),
        ServerEvent::Closed => Ev::Closed,
        _ => Ev::Other,
    }
}

fn drain(s: &mut Server, t: &mut Track, next_decision: &mut impl FnMut() -> Decision) {
    for _ in 0..100_000 {
        let Some(ev) = s.next_event() else {
            break;
        };
        let needs = ev.needs_decision();
        let ev = summarize(&ev);
        if std::env::var_os("SMTP_FUZZ_DEBUG").is_some() {
            eprintln!("event {ev:?}");
        }
        assert!(!t.closed, "event {ev:?} after Closed");
        if t.awaiting_tls {
            assert!(
                matches!(ev, Ev::Violation(_) | Ev::Closed),
                "event {ev:?} between STARTTLS and tls_established"
            );
        }
        if needs {
            assert!(!t.pending, "decision event {ev:?} while one is pending");
        }
        if t.cfg.require_tls && !t.tls {
            assert!(
                !matches!(
                    ev,
                    Ev::Mail | Ev::Rcpt | Ev::MessageStart | Ev::Verify | Ev::Etrn
                ),
                "{ev:?} before TLS where TLS is required"
            );
        }
        match ev {
            Ev::Mail if t.cfg.require_auth => {
                assert!(t.authed, "MAIL before AUTH where AUTH is required");
            }
            Ev::Auth(m) => {
                if m.is_plaintext() && !t.cfg.plaintext_auth_without_tls {
                    assert!(t.tls, "plaintext AUTH without TLS");
                }
                assert!(!t.authed);
            }
            Ev::StartTls => {
                assert!(
                    t.cfg.starttls && !t.cfg.mode.implicit_tls() && !t.tls,
                    "STARTTLS where it is not offered"
                );
                t.awaiting_tls = true;
                t.authed = false;
                // Bytes behind STARTTLS must never be executed (DESIGN 3).
                if s.buffered() > 0 {
                    t.injection_expected = true;
                }
            }
            Ev::MessageStart => {
                assert!(!t.in_message);
                t.in_message = true;
                t.message_bytes = 0;
            }
            Ev::MessageData(n) => {
                assert!(t.in_message, "content outside a message");
                assert!(n > 0);
                t.message_bytes += n as u64;
            }
            Ev::MessageComplete(size) => {
                assert!(t.in_message);
                assert_eq!(size, t.message_bytes, "message size");
                t.in_message = false;
            }
            Ev::MessageAborted => t.in_message = false,
            Ev::Violation(Violation::StartTlsInjection | Violation::TlsNotUpgraded) => {
                t.saw_injection = true
            }
            Ev::Closed => {
                t.closed = true;
                t.pending = false;
                t.pending_auth = false;
            }
            _ => {}
        }
        if needs {
            let d = next_decision();
            if decide(s, d) {
                if matches!(ev, Ev::Auth(_)) && matches!(d, Decision::Accept | Decision::Respond250)
                {
                    t.authed = true;
                }
            } else {
                t.pending = true;
                t.pending_auth = matches!(ev, Ev::Auth(_));
            }
        }
    }
    if t.injection_expected {
        assert!(
            t.saw_injection && t.closed,
            "bytes after STARTTLS were not refused"
        );
    }
    if t.closed {
        assert!(s.next_event().is_none(), "event after Closed");
    }
    // Idle: waiting for input, no decision pending.
    if s.timeout().is_some() || s.is_closed() || s.wants_tls() {
        t.fed_since_idle = 0;
        if s.timeout().is_some() {
            assert!(
                s.buffered() < t.line_bound,
                "{} octets buffered while waiting for input",
                s.buffered()
            );
        }
    }
}
