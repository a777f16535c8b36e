//! The server model: alphabet, driver, bookkeeping and invariants.
//!
//! Markers: chunk octets, DATA content, the bytes behind an unframable
//! BDAT line and bytes behind STARTTLS are `VRFY c`, `VRFY d`, `VRFY u` and
//! `VRFY inj` lines, so that if they were ever read
//! as commands the machine would report a `Verify` event carrying the
//! marker (or write one reply too many): both are checked.

use std::fmt::Write as _;

use smtp_sansio::Mechanism;
use smtp_sansio::MutantSlot;
use smtp_sansio::{AbortReason, AuthRequest, HelloKind, Server, ServerEvent};
use smtp_sansio::{EnhancedCode, OwnedReply, ReplyCode};
use smtp_sansio::{PortMode, ProxyConfig, ServerConfig};

use crate::mode_name;
use crate::search::{Broken, Log, Model, hash128};
use crate::transcript::{escape, split_replies};

/// The message size limit of the explored configuration (small, so that
/// "too big" content stays a few bytes).
pub const MESSAGE_SIZE: u64 = 64;

/// Where the machine is, as the peer can tell from what it saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Phase {
    Commands,
    Content,
    AuthResponse,
    AwaitTls,
    Closed,
}

/// A decision the machine waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Decision {
    Greeting,
    Hello,
    Mail,
    Rcpt,
    Message { recipients: usize },
    Auth,
    Verify,
    Etrn,
}

/// One abstract input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum In {
    /// Bytes in one `receive` call (index into [`BYTES`]).
    Bytes(usize),
    /// EHLO and NOOP in two receives with no transmit between (a command
    /// behind EHLO before its reply went out).
    EhloThenNoop,
    Accept,
    Reject,
    Tls,
    Eof,
    Timeout,
}

/// What a byte input is, for the bookkeeping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `n` command lines, each owed one final reply.
    Commands(u32),
    /// Commands whose last is group-ending with more bytes behind it in
    /// the same receive: a pipelining-sync violation (554, close).
    SyncViolation,
    /// A BDAT whose size cannot be known: the session must end.
    Unframable,
    /// Message content after a 354, with the terminating dot.
    Content,
    /// An AUTH response line after a 334.
    AuthResponse,
    /// Plaintext between the 220 to STARTTLS and the handshake.
    BeforeHandshake,
    /// A whole valid PROXY header (before the greeting, when expected),
    /// followed by `n` command lines in the same read.
    ProxyValid(u32),
    /// A malformed (or missing) PROXY header: the session must end with
    /// no output.
    ProxyMalformed,
    /// The first part of valid PROXY header number `n`.
    ProxyFirstPart(u8),
    /// The rest of the header [`Kind::ProxyFirstPart`] `n` started.
    ProxyRest(u8),
    /// A PROXY v1 header where none is expected (no PROXY configured, or
    /// after the header): an unknown command, refused with a 5xx and
    /// never reported as [`ServerEvent::Proxy`].
    ProxyUnexpected,
}

/// Where the PROXY header expected before the greeting is (the proxy
/// variant of relay only; PROXY protocol section 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum ProxyPhase {
    /// No header expected, or a valid one was read.
    Done,
    /// Nothing of the header yet.
    Waiting,
    /// The first part of valid header `n` was sent.
    Split(u8),
    /// A malformed header was sent: nothing may come out.
    Malformed,
}

/// A valid version 2 header: PROXY, TCP over IPv4, 192.0.2.1:40000 to
/// 198.51.100.2:25 (section 2.2).
const PROXY_V2: &[u8] =
    b"\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c\xc0\x00\x02\x01\xc6\x33\x64\x02\x9c\x40\x00\x19";

/// A valid version 1 header: TCP over IPv4, 192.0.2.1:40000 to
/// 198.51.100.2:25 (section 2.1).
const PROXY_V1: &[u8] = b"PROXY TCP4 192.0.2.1 198.51.100.2 40000 25\r\n";

struct ByteInput {
    name: &'static str,
    bytes: &'static [u8],
    kind: Kind,
}

const fn b(name: &'static str, bytes: &'static [u8], kind: Kind) -> ByteInput {
    ByteInput { name, bytes, kind }
}

const C1: Kind = Kind::Commands(1);

/// The byte alphabet.
static BYTES: &[ByteInput] = &[
    b("EHLO", b"EHLO c.example\r\n", C1),
    b("HELO", b"HELO c.example\r\n", C1),
    b("LHLO", b"LHLO c.example\r\n", C1),
    b("EHLO (no domain)", b"EHLO\r\n", C1),
    b("MAIL", b"MAIL FROM:<a@example.org>\r\n", C1),
    b("MAIL (bad)", b"MAIL FROM:a@\r\n", C1),
    b("RCPT", b"RCPT TO:<b@example.net>\r\n", C1),
    b("RCPT (bad)", b"RCPT TO:\r\n", C1),
    b("DATA", b"DATA\r\n", C1),
    b("BDAT LAST", b"BDAT 8 LAST\r\nVRFY c\r\n", C1),
    b("BDAT", b"BDAT 8\r\nVRFY c\r\n", C1),
    b("BDAT (huge)", b"BDAT 99999999999999999999999 LAST\r\nVRFY u\r\n", Kind::Unframable),
    b("BDAT (x)", b"BDAT x LAST\r\nVRFY u\r\n", Kind::Unframable),
    b(
        "BDAT (overlong)",
        b"BDAT 8 LAST xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\nVRFY u\r\n",
        Kind::Unframable,
    ),
    b("RSET", b"RSET\r\n", C1),
    b("NOOP", b"NOOP\r\n", C1),
    b("QUIT", b"QUIT\r\n", C1),
    b("VRFY", b"VRFY postmaster\r\n", C1),
    b("EXPN", b"EXPN list\r\n", C1),
    b("HELP", b"HELP\r\n", C1),
    b("STARTTLS", b"STARTTLS\r\n", C1),
    b("STARTTLS+bytes", b"STARTTLS\r\nVRFY inj\r\n", Kind::SyncViolation),
    b("AUTH PLAIN ir", b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n", C1),
    b("AUTH PLAIN", b"AUTH PLAIN\r\n", C1),
    b("AUTH CRAM-MD5", b"AUTH CRAM-MD5\r\n", C1),
    b("unknown verb", b"FOO bar\r\n", C1),
    b(
        "MAIL+RCPT+DATA",
        b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n",
        Kind::Commands(3),
    ),
    b("EHLO+NOOP", b"EHLO c.example\r\nNOOP\r\n", Kind::SyncViolation),
    // Content (after a 354): every line a marker.
    b("content", b"VRFY d\r\n.\r\n", Kind::Content),
    b("content (bare LF)", b"VRFY d\nVRFY d\r\n.\r\n", Kind::Content),
    b(
        "content (too big)",
        b"VRFY d\r\nVRFY d xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n.\r\n",
        Kind::Content,
    ),
    // AUTH responses (after a 334).
    b("auth response", b"AGFsaWNlAHNlY3JldA==\r\n", Kind::AuthResponse),
    b("auth cancel", b"*\r\n", Kind::AuthResponse),
    b("auth (bad base64)", b"!!!\r\n", Kind::AuthResponse),
    // Plaintext before the handshake.
    b("bytes before TLS", b"VRFY inj\r\n", Kind::BeforeHandshake),
    // The PROXY header expected before the greeting (relay, proxy variant).
    b("PROXY v1", PROXY_V1, Kind::ProxyValid(0)),
    b("PROXY v2", PROXY_V2, Kind::ProxyValid(0)),
    // LOCAL (v2, section 2.2) and UNKNOWN (v1, section 2.1): the proxy's
    // own connection, the real peer is the client.
    b(
        "PROXY v2 LOCAL",
        b"\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00",
        Kind::ProxyValid(0),
    ),
    b("PROXY v1 UNKNOWN", b"PROXY UNKNOWN\r\n", Kind::ProxyValid(0)),
    b(
        "PROXY v1+NOOP",
        b"PROXY TCP4 192.0.2.1 198.51.100.2 40000 25\r\nNOOP\r\n",
        Kind::ProxyValid(1),
    ),
    b(
        "PROXY (malformed)",
        b"PROXY TCP4 192.0.2.01 198.51.100.2 40000 25\r\nNOOP\r\n",
        Kind::ProxyMalformed,
    ),
    b("PROXY (missing)", b"EHLO c.example\r\n", Kind::ProxyMalformed),
    b(
        "PROXY v2 (bad version)",
        b"\r\n\r\n\0\r\nQUIT\n\x31\x11\x00\x0c\xc0\x00\x02\x01\xc6\x33\x64\x02\x9c\x40\x00\x19",
        Kind::ProxyMalformed,
    ),
    // Split across reads: inside the v2 signature and inside the v1 line.
    b("PROXY v2 (part 1)", PROXY_V2.split_at(7).0, Kind::ProxyFirstPart(2)),
    b("PROXY v2 (part 2)", PROXY_V2.split_at(7).1, Kind::ProxyRest(2)),
    b("PROXY v1 (part 1)", PROXY_V1.split_at(20).0, Kind::ProxyFirstPart(1)),
    b("PROXY v1 (part 2)", PROXY_V1.split_at(20).1, Kind::ProxyRest(1)),
    // A header where none is expected: a command like any other.
    b("PROXY (not expected)", PROXY_V1, Kind::ProxyUnexpected),
];

/// The explored state: the machine plus the bookkeeping the invariants
/// need, all derived from the observable trace.
#[derive(Clone, Debug)]
pub struct St {
    srv: Server,
    phase: Phase,
    pending: Option<Decision>,
    /// TLS is up (implicit, or `tls_established` returned true).
    tls: bool,
    /// An AUTH decision was accepted and its 2xx went out (since TLS).
    authed: bool,
    /// A HELO/EHLO/LHLO was accepted (since TLS).
    hello: bool,
    /// A MAIL was accepted and no reset since.
    mail: bool,
    /// RCPTs accepted in the transaction.
    rcpts: usize,
    /// Final replies owed: commands sent minus final replies seen.
    owed: i64,
    /// A Closed event or a closed machine was seen.
    closed: bool,
    /// The session must end before the next input (sync violation,
    /// unframable BDAT, bytes before the handshake).
    must_close: Option<(&'static str, &'static str)>,
    /// The application refused the session at the greeting (554).
    refused: bool,
    /// The PROXY header before the greeting.
    proxy: ProxyPhase,
    /// A valid header was read and its `ServerEvent::Proxy` is owed.
    proxy_event: bool,
    /// A PROXY line was sent where none is expected: the next reply is
    /// its own and must refuse it.
    unexpected_header: bool,
}

/// The server side in one port mode. Relay has two variants: without
/// and with a PROXY header expected before the greeting
/// (`ServerConfig::proxy`, both versions).
pub struct ServerModel {
    mode: PortMode,
    /// The configuration the invariants hold the machine to.
    cfg: ServerConfig,
    /// The configuration the machine runs with (the same, except in the
    /// explorer's own tests, which make them differ to see a check fail).
    machine: ServerConfig,
}

impl ServerModel {
    pub fn new(mode: PortMode, slot: MutantSlot) -> ServerModel {
        // The explored driver runs TLS when asked (STARTTLS offered).
        let mut cfg = ServerConfig::new(mode, "mx.example.net").with_tls();
        cfg.limits.message_size = MESSAGE_SIZE;
        if mode == PortMode::Relay {
            // AUTH configured on port 25 but offered only under TLS (and
            // not required): the case where "configured" and "offered"
            // differ before TLS (RFC 4954 4).
            cfg.mechanisms = vec![Mechanism::Plain, Mechanism::Login];
        }
        cfg.mutant = slot;
        ServerModel {
            mode,
            machine: cfg.clone(),
            cfg,
        }
    }

    fn implicit(&self) -> bool {
        matches!(self.mode, PortMode::ImplicitTls)
    }

    /// Whether `variant` expects a PROXY header.
    fn proxied(&self, variant: usize) -> bool {
        self.mode == PortMode::Relay && variant == 1
    }
}

fn reply(code: u16, e: (u8, u16, u16), text: &'static str) -> OwnedReply {
    OwnedReply {
        code: ReplyCode::new(code).expect("valid code"),
        enhanced: EnhancedCode::new(e.0, e.1, e.2),
        lines: vec![text.into()],
    }
}

/// An event, owned (events borrow the machine). Fields are read through
/// `Debug` in the transcript log.
#[derive(Debug, PartialEq)]
#[allow(dead_code)]
enum Ev {
    Connected,
    Hello(HelloKind),
    Mail,
    Rcpt,
    MessageStart,
    MessageData,
    Complete(usize),
    Aborted(AbortReason),
    Auth(Mechanism),
    Verify(Vec<u8>),
    Etrn,
    Reset,
    StartTls,
    Violation(String),
    Closed,
    Proxy,
    Other(String),
}

fn own(ev: &ServerEvent<'_>) -> Ev {
    match ev {
        ServerEvent::Connected => Ev::Connected,
        ServerEvent::Hello { kind, .. } => Ev::Hello(*kind),
        ServerEvent::Mail { .. } => Ev::Mail,
        ServerEvent::Rcpt { .. } => Ev::Rcpt,
        ServerEvent::MessageStart { .. } => Ev::MessageStart,
        ServerEvent::MessageData(_) => Ev::MessageData,
        ServerEvent::MessageComplete { recipients, .. } => Ev::Complete(*recipients),
        ServerEvent::MessageAborted(r) => Ev::Aborted(*r),
        ServerEvent::Auth(AuthRequest::Credentials { mechanism, .. })
        | ServerEvent::Auth(AuthRequest::Step { mechanism, .. }) => Ev::Auth(*mechanism),
        ServerEvent::Verify { arg, .. } => Ev::Verify(arg.to_vec()),
        ServerEvent::Etrn { .. } => Ev::Etrn,
        ServerEvent::Reset => Ev::Reset,
        ServerEvent::StartTls => Ev::StartTls,
        ServerEvent::Violation(v) => Ev::Violation(format!("{v:?}")),
        ServerEvent::Closed => Ev::Closed,
        ServerEvent::Proxy(_) => Ev::Proxy,
        other => Ev::Other(format!("{other:?}")),
    }
}

impl ServerModel {
    /// Handles every event up to a decision, then transmits; checks the
    /// event and reply invariants.
    fn drain(&self, s: &mut St, log: &mut Log, after_tls: bool) -> Result<(), Broken> {
        let cfg = &self.cfg;
        while let Some(ev) = s.srv.next_event().map(|e| own(&e)) {
            log.push(|| format!("# event: {ev:?}"));
            if s.closed {
                return Err(Broken::new(
                    "d: nothing after close",
                    format!("event {ev:?} after Closed"),
                ));
            }
            if after_tls {
                return Err(Broken::new(
                    "a: STARTTLS injection",
                    format!("event {ev:?} from bytes received before TLS"),
                ));
            }
            if s.proxy != ProxyPhase::Done && !matches!(ev, Ev::Violation(_) | Ev::Closed) {
                return Err(Broken::new(
                    "p: event before a complete PROXY header",
                    format!("event {ev:?} before a complete valid PROXY header (PROXY protocol 2)"),
                ));
            }
            if ev == Ev::Proxy {
                if !s.proxy_event {
                    return Err(Broken::new(
                        "p: PROXY header acted on where none is expected",
                        "ServerEvent::Proxy without a configured PROXY header before the greeting (PROXY protocol 2)",
                    ));
                }
                s.proxy_event = false;
            } else if s.proxy_event && !matches!(ev, Ev::Violation(_) | Ev::Closed) {
                return Err(Broken::new(
                    "p: PROXY header not reported first",
                    format!("event {ev:?} before ServerEvent::Proxy"),
                ));
            }
            let decision = match &ev {
                Ev::Connected => Some(Decision::Greeting),
                Ev::Hello(_) => Some(Decision::Hello),
                Ev::Mail => {
                    if cfg.require_auth && !s.authed {
                        return Err(Broken::new(
                            "b: MAIL before AUTH",
                            "MAIL reached the application before AUTH where AUTH is required",
                        ));
                    }
                    if cfg.require_tls && !s.tls {
                        return Err(Broken::new(
                            "b: MAIL before TLS",
                            "MAIL reached the application before TLS where TLS is required",
                        ));
                    }
                    if !s.hello {
                        return Err(Broken::new(
                            "e: MAIL before hello",
                            "MAIL reached the application with no accepted EHLO/HELO (since TLS)",
                        ));
                    }
                    if s.mail {
                        return Err(Broken::new(
                            "e: nested MAIL",
                            "MAIL reached the application inside a transaction",
                        ));
                    }
                    Some(Decision::Mail)
                }
                Ev::Rcpt => {
                    if !s.mail {
                        return Err(Broken::new(
                            "e: RCPT without MAIL",
                            "RCPT reached the application with no MAIL accepted since the last reset",
                        ));
                    }
                    Some(Decision::Rcpt)
                }
                Ev::MessageStart => {
                    if s.rcpts == 0 {
                        return Err(Broken::new(
                            "e: content without recipients",
                            "message content started with no accepted RCPT",
                        ));
                    }
                    None
                }
                Ev::Complete(n) => Some(Decision::Message { recipients: *n }),
                Ev::Aborted(reason) => {
                    // LMTP: one reply per accepted recipient for content
                    // refused at its end too (RFC 2033 4.2); not for RSET
                    // or a close.
                    let content = !matches!(reason, AbortReason::Reset | AbortReason::Closed);
                    if self.mode == PortMode::Lmtp && content && s.rcpts > 1 {
                        s.owed += s.rcpts as i64 - 1;
                    }
                    s.mail = false;
                    s.rcpts = 0;
                    None
                }
                Ev::Auth(mech) => {
                    if !s.tls && !cfg.plaintext_auth_without_tls {
                        return Err(Broken::new(
                            "b: AUTH in plaintext",
                            format!("AUTH {mech:?} reached the application without TLS"),
                        ));
                    }
                    if !cfg.mechanisms.contains(mech) {
                        return Err(Broken::new(
                            "b: AUTH not offered",
                            format!(
                                "AUTH {mech:?} reached the application; offered {:?}",
                                cfg.mechanisms
                            ),
                        ));
                    }
                    Some(Decision::Auth)
                }
                Ev::Verify(arg) => {
                    let marker = match arg.as_slice() {
                        b"c" => Some(("c: chunk run as command", "a BDAT chunk")),
                        b"d" => Some(("c: DATA content run as command", "DATA content")),
                        b"u" => Some((
                            "c: bytes behind an unframable BDAT run as command",
                            "the bytes behind a BDAT line whose size cannot be known",
                        )),
                        _ => None,
                    };
                    if let Some((kind, what)) = marker {
                        let b = Broken::new(
                            kind,
                            format!("`VRFY {}` of {what} was run as a command", escape(arg)),
                        );
                        return Err(match arg.as_slice() {
                            b"u" => b.expecting(&["S: 5xx", "CLOSE"]),
                            b"c" => b.expecting(&["S: 2xx | 4xx | 5xx"]),
                            _ => b,
                        });
                    }
                    if arg.as_slice() == b"inj" {
                        return Err(Broken::new(
                            "a: STARTTLS injection",
                            "bytes behind STARTTLS (or before the handshake) were run as a command",
                        ));
                    }
                    Some(Decision::Verify)
                }
                Ev::Etrn => Some(Decision::Etrn),
                Ev::Reset => {
                    s.mail = false;
                    s.rcpts = 0;
                    None
                }
                Ev::Closed => {
                    s.closed = true;
                    None
                }
                Ev::MessageData | Ev::StartTls | Ev::Violation(_) | Ev::Proxy | Ev::Other(_) => {
                    None
                }
            };
            if let Some(d) = decision {
                s.pending = Some(d);
                break;
            }
        }
        self.flush(s, log, after_tls)
    }

    fn flush(&self, s: &mut St, log: &mut Log, after_tls: bool) -> Result<(), Broken> {
        let mut out = Vec::new();
        s.srv.transmit(&mut out);
        let was_closed = s.phase == Phase::Closed;
        for u in split_replies(&out) {
            log.push(|| format!("S: {}", u.pattern()));
            if was_closed {
                return Err(Broken::new(
                    "d: nothing after close",
                    format!("reply {} written after close", u.pattern()),
                ));
            }
            if after_tls {
                return Err(Broken::new(
                    "a: STARTTLS injection",
                    format!("reply {} to bytes received before TLS", u.pattern()),
                ));
            }
            if s.proxy != ProxyPhase::Done {
                return Err(Broken::new(
                    if s.proxy == ProxyPhase::Malformed {
                        "p: output after a malformed PROXY header"
                    } else {
                        "p: reply before a complete PROXY header"
                    },
                    format!(
                        "reply {} before a complete valid PROXY header (PROXY protocol 2)",
                        u.pattern()
                    ),
                )
                .expecting(&["CLOSE"]));
            }
            if u.code == 0 {
                return Err(Broken::new("d: malformed reply", escape(&out)));
            }
            if s.unexpected_header && !matches!(u.code, 334 | 354) {
                s.unexpected_header = false;
                if u.code < 500 {
                    return Err(Broken::new(
                        "p: PROXY header accepted where none is expected",
                        format!("reply {} to a PROXY line sent as a command", u.pattern()),
                    )
                    .expecting(&["S: 5xx"]));
                }
            }
            match u.code {
                354 => s.phase = Phase::Content,
                334 => s.phase = Phase::AuthResponse,
                _ => {
                    s.phase = Phase::Commands;
                    s.owed -= 1;
                }
            }
            if u.code == 250
                && u.has_keyword("AUTH")
                && !s.tls
                && !self.cfg.plaintext_auth_without_tls
            {
                return Err(Broken::new(
                    "b: AUTH offered in plaintext",
                    "the EHLO reply offers AUTH without TLS",
                ));
            }
        }
        if s.srv.wants_tls() {
            s.phase = Phase::AwaitTls;
        }
        if s.srv.is_closed() {
            s.phase = Phase::Closed;
        }
        Ok(())
    }

    /// The checks once the machine waits for input (no decision pending).
    fn settle(&self, s: &mut St) -> Result<(), Broken> {
        if s.pending.is_some() {
            return Ok(());
        }
        if let Some((kind, why)) = s.must_close {
            if s.phase != Phase::Closed {
                return Err(
                    Broken::new(kind, format!("{why}, but the machine did not close"))
                        .expecting(&["S: 4xx | 5xx", "CLOSE"]),
                );
            }
        }
        if s.phase == Phase::Closed {
            // A close may add one reply of its own (421, 554).
            if s.owed < -1 {
                return Err(Broken::new(
                    "d: one reply per command",
                    format!("{} replies more than commands at close", -s.owed),
                ));
            }
            return Ok(());
        }
        // After a 354 or 334 the command waits for its content/response.
        let waiting = i64::from(matches!(s.phase, Phase::Content | Phase::AuthResponse));
        if s.owed != waiting {
            return Err(Broken::new(
                "d: one reply per command",
                if s.owed > waiting {
                    format!(
                        "{} command(s) without a reply while the machine waits for input",
                        s.owed - waiting
                    )
                } else {
                    format!("{} reply(ies) more than commands", waiting - s.owed)
                },
            ));
        }
        Ok(())
    }
}

impl Model for ServerModel {
    type State = St;
    type Input = In;

    fn variants(&self) -> usize {
        if self.mode == PortMode::Relay { 2 } else { 1 }
    }

    fn header(&self, variant: usize) -> String {
        let mut h = format!(
            "# side: server\n# mode: {}\n# set: max-message-size={}\n",
            mode_name(self.mode),
            MESSAGE_SIZE
        );
        if self.proxied(variant) {
            h.push_str("# set: proxy=yes\n");
        }
        if self.mode == PortMode::Relay {
            h.push_str("# note: the explorer's relay server has AUTH PLAIN LOGIN configured (offered under TLS only)\n");
        }
        h.push_str("# note: `# app:` lines are the explorer's decisions; a reject is not the replay's permissive application\n");
        h
    }

    fn initial(&self, variant: usize, log: &mut Log) -> Result<St, Broken> {
        let proxied = self.proxied(variant);
        let mut machine = self.machine.clone();
        if proxied {
            machine.proxy = Some(ProxyConfig::DEFAULT);
        }
        let mut s = St {
            srv: Server::new(machine),
            phase: Phase::Commands,
            pending: None,
            tls: self.implicit(),
            authed: false,
            hello: false,
            mail: false,
            rcpts: 0,
            // The greeting (owed once the PROXY header is read).
            owed: i64::from(!proxied),
            closed: false,
            must_close: None,
            refused: false,
            proxy: if proxied {
                ProxyPhase::Waiting
            } else {
                ProxyPhase::Done
            },
            proxy_event: false,
            unexpected_header: false,
        };
        self.drain(&mut s, log, false)?;
        Ok(s)
    }

    fn inputs(&self, s: &St) -> Vec<In> {
        if s.pending.is_some() {
            return vec![In::Accept, In::Reject];
        }
        let pick = |k: fn(Kind) -> bool| {
            BYTES
                .iter()
                .enumerate()
                .filter(move |(_, x)| k(x.kind))
                .map(|(i, _)| In::Bytes(i))
        };
        let mut v: Vec<In> = match (s.phase, s.proxy) {
            (Phase::Closed, _) => return Vec::new(),
            (_, ProxyPhase::Waiting) => pick(|k| {
                matches!(
                    k,
                    Kind::ProxyValid(_) | Kind::ProxyMalformed | Kind::ProxyFirstPart(_)
                )
            })
            .collect(),
            (_, ProxyPhase::Split(n)) => BYTES
                .iter()
                .enumerate()
                .filter(|(_, x)| x.kind == Kind::ProxyRest(n))
                .map(|(i, _)| In::Bytes(i))
                .collect(),
            (_, ProxyPhase::Malformed) => Vec::new(),
            (phase, ProxyPhase::Done) => match phase {
                Phase::Closed => return Vec::new(),
                Phase::AwaitTls => {
                    let mut v = vec![In::Tls];
                    v.extend(pick(|k| k == Kind::BeforeHandshake));
                    v
                }
                Phase::Content => pick(|k| k == Kind::Content).collect(),
                Phase::AuthResponse => pick(|k| k == Kind::AuthResponse).collect(),
                Phase::Commands => {
                    let mut v: Vec<In> = pick(|k| {
                        matches!(
                            k,
                            Kind::Commands(_)
                                | Kind::SyncViolation
                                | Kind::Unframable
                                | Kind::ProxyUnexpected
                        )
                    })
                    .collect();
                    v.push(In::EhloThenNoop);
                    v
                }
            },
        };
        v.push(In::Eof);
        if s.srv.timeout().is_some() {
            v.push(In::Timeout);
        }
        v
    }

    fn step(&self, s: &mut St, i: In, log: &mut Log) -> Result<(), Broken> {
        let mut after_tls = false;
        match i {
            In::Accept | In::Reject => {
                let d = s.pending.take().expect("decision inputs only when pending");
                let accept = i == In::Accept;
                log.push(|| format!("# app: {} {d:?}", if accept { "accept" } else { "reject" }));
                let r = if accept {
                    s.srv.accept().map_err(|_| ())
                } else {
                    let r = match d {
                        Decision::Greeting => reply(554, (5, 3, 2), "No service"),
                        Decision::Message { .. } => reply(554, (5, 6, 0), "Refused"),
                        Decision::Auth => reply(535, (5, 7, 8), "Bad credentials"),
                        _ => reply(550, (5, 7, 1), "Refused"),
                    };
                    s.srv.reject(r).map_err(|_| ())
                };
                if r.is_err() {
                    return Err(Broken::new(
                        "api: decision refused",
                        format!("{d:?} pending but the decision was refused as misuse"),
                    ));
                }
                if let Decision::Message { recipients } = d {
                    // LMTP: one reply per accepted recipient, whether the
                    // message is accepted or refused (RFC 2033 4.2).
                    if self.mode == PortMode::Lmtp {
                        s.owed += recipients as i64 - 1;
                    }
                }
                if accept {
                    match d {
                        Decision::Hello => {
                            s.hello = true;
                            s.mail = false;
                            s.rcpts = 0;
                        }
                        Decision::Mail => s.mail = true,
                        Decision::Rcpt => s.rcpts += 1,
                        Decision::Auth => s.authed = true,
                        _ => {}
                    }
                }
                if !accept && d == Decision::Greeting {
                    s.refused = true;
                }
                if let Decision::Message { .. } = d {
                    s.mail = false;
                    s.rcpts = 0;
                }
            }
            In::Bytes(n) => {
                let x = &BYTES[n];
                log.push(|| format!("C: {}", escape(x.bytes)));
                match x.kind {
                    Kind::Commands(k) => s.owed += i64::from(k),
                    Kind::SyncViolation => {
                        s.owed += 2;
                        if self.cfg.pipelining_sync {
                            s.must_close = Some((
                                "d: pipelining sync must close",
                                "bytes behind a group-ending command (RFC 2920 3.1)",
                            ));
                        }
                    }
                    Kind::Unframable => {
                        s.owed += 1;
                        s.must_close = Some((
                            "c: unframable BDAT must close",
                            "a BDAT whose chunk cannot be framed (RFC 3030 2)",
                        ));
                    }
                    Kind::BeforeHandshake => {
                        s.owed += 1;
                        s.must_close = Some((
                            "a: plaintext before the handshake must close",
                            "plaintext before the TLS handshake (RFC 3207 4)",
                        ));
                    }
                    Kind::Content | Kind::AuthResponse => {}
                    Kind::ProxyValid(n) => {
                        // The greeting and the commands behind the header.
                        s.proxy = ProxyPhase::Done;
                        s.proxy_event = true;
                        s.owed += 1 + i64::from(n);
                    }
                    Kind::ProxyFirstPart(n) => s.proxy = ProxyPhase::Split(n),
                    Kind::ProxyRest(_) => {
                        s.proxy = ProxyPhase::Done;
                        s.proxy_event = true;
                        s.owed += 1;
                    }
                    Kind::ProxyUnexpected => {
                        s.owed += 1;
                        s.unexpected_header = true;
                    }
                    Kind::ProxyMalformed => {
                        s.proxy = ProxyPhase::Malformed;
                        s.must_close = Some((
                            "p: malformed PROXY header must close",
                            "a malformed PROXY header (PROXY protocol 2.1)",
                        ));
                    }
                }
                s.srv.receive(x.bytes);
            }
            In::EhloThenNoop => {
                log.push(|| "C: EHLO c.example\\r\\n".into());
                log.push(|| "# (the EHLO reply is not transmitted before the next bytes)".into());
                log.push(|| "C: NOOP\\r\\n".into());
                s.owed += 2;
                s.srv.receive(b"EHLO c.example\r\n");
                s.srv.receive(b"NOOP\r\n");
                if self.cfg.pipelining_sync {
                    s.must_close = Some((
                        "d: pipelining sync must close",
                        "NOOP received before the EHLO reply went out (RFC 2920 3.1)",
                    ));
                }
            }
            In::Tls => {
                log.push(|| "TLS".into());
                if !s.srv.tls_established() {
                    return Err(Broken::new(
                        "api: TLS",
                        "wants_tls but tls_established refused",
                    ));
                }
                s.tls = true;
                s.hello = false;
                s.authed = false;
                s.mail = false;
                s.rcpts = 0;
                s.phase = Phase::Commands;
                after_tls = true;
            }
            In::Eof => {
                log.push(|| "EOF".into());
                s.srv.receive_eof();
                s.must_close = Some(("d: EOF must close", "the client closed its side"));
            }
            In::Timeout => {
                log.push(|| "# timeout (handle_timeout)".into());
                s.srv.handle_timeout();
                s.must_close = Some(("d: timeout must close", "a timeout"));
            }
        }
        self.drain(s, log, after_tls)?;
        if s.pending.is_none() && s.must_close.is_some() && s.phase == Phase::Closed {
            log.push(|| "CLOSE".into());
        }
        self.settle(s)?;
        if s.pending.is_none() && s.phase != Phase::Closed {
            s.must_close = None;
        }
        Ok(())
    }

    fn key(&self, s: &St) -> u128 {
        let mut text = String::with_capacity(2048);
        let _ = write!(text, "{s:?}");
        hash128(&text)
    }

    fn label(&self, s: &St) -> String {
        let phase = match (s.pending, s.phase) {
            (Some(d), _) => format!("decide {}", decision_name(d)),
            (None, Phase::Commands) if !s.srv.is_tls() && s.srv.wants_tls() => "await TLS".into(),
            (None, p) => format!("{p:?}").to_lowercase(),
        };
        let txn = if s.rcpts > 0 {
            "rcpt"
        } else if s.mail {
            "mail"
        } else {
            "-"
        };
        if s.phase == Phase::Closed && s.pending.is_none() {
            return "closed".into();
        }
        format!(
            "{phase}{}\n{} {} {} txn:{txn}",
            if s.refused { " (greeting refused)" } else { "" },
            if s.tls { "tls" } else { "plain" },
            if s.hello { "hello" } else { "no-hello" },
            if s.authed { "auth" } else { "no-auth" },
        )
    }

    fn input_name(&self, i: In) -> &'static str {
        match i {
            In::Bytes(n) => BYTES[n].name,
            In::EhloThenNoop => "EHLO|NOOP",
            In::Accept => "accept",
            In::Reject => "reject",
            In::Tls => "TLS",
            In::Eof => "EOF",
            In::Timeout => "timeout",
        }
    }
}

fn decision_name(d: Decision) -> &'static str {
    match d {
        Decision::Greeting => "greeting",
        Decision::Hello => "hello",
        Decision::Mail => "MAIL",
        Decision::Rcpt => "RCPT",
        Decision::Message { .. } => "message",
        Decision::Auth => "AUTH",
        Decision::Verify => "VRFY",
        Decision::Etrn => "ETRN",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::explore;

    #[test]
    fn the_unmutated_relay_server_explores_with_merging() {
        let m = ServerModel::new(PortMode::Relay, MutantSlot::NONE);
        let out = explore(&m, 3, false, None);
        // Merging: far fewer states than sequences (about 30 inputs a step).
        assert!(out.states > 10 && (out.states as u64) < out.transitions);
    }

    #[test]
    fn plaintext_auth_offered_is_caught() {
        // The machine offers AUTH in plaintext; the invariants say it may
        // not: the explorer must report it, with a transcript.
        let mut m = ServerModel::new(PortMode::Relay, MutantSlot::NONE);
        m.machine.plaintext_auth_without_tls = true;
        let out = explore(&m, 4, false, None);
        let v = out
            .violations
            .iter()
            .find(|v| v.kind == "b: AUTH offered in plaintext")
            .expect("caught");
        assert_eq!(v.depth, 3, "greeting, EHLO, accept");
        assert!(v.transcript.contains("C: EHLO c.example\\r\\n"));
        assert!(v.transcript.starts_with("# side: server\n# mode: relay\n"));
    }

    #[test]
    fn mail_without_auth_is_caught() {
        let mut m = ServerModel::new(PortMode::Relay, MutantSlot::NONE);
        m.cfg.require_auth = true;
        let out = explore(&m, 5, false, None);
        assert!(
            out.violations
                .iter()
                .any(|v| v.kind == "b: MAIL before AUTH")
        );
    }

    #[test]
    fn pipelining_sync_off_is_caught() {
        let mut m = ServerModel::new(PortMode::Lmtp, MutantSlot::NONE);
        m.machine.pipelining_sync = false;
        let out = explore(&m, 2, false, None);
        let v = out
            .violations
            .iter()
            .find(|v| v.kind == "d: pipelining sync must close")
            .expect("caught");
        assert!(v.transcript.ends_with("S: 4xx | 5xx\nCLOSE\n"));
    }
}
