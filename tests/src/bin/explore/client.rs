//! The client model: the explorer plays the server (every reply class per
//! step, multi-line and malformed replies, bytes after the 220 to
//! STARTTLS, TLS, EOF, timeout) and the application (send a message,
//! quit, proceed or abort after a partial recipient refusal).

use std::collections::VecDeque;
use std::fmt::Write as _;

use smtp_sansio::MutantSlot;
use smtp_sansio::PortMode;
use smtp_sansio::client::{
    BodyInfo, Client, ClientConfig, ClientCredentials, ClientEvent, Envelope, TlsPolicy,
};

use crate::mode_name;
use crate::search::{Broken, Log, Model, hash128};
use crate::transcript::escape;

/// What the explorer feeds as the server.
struct ReplyInput {
    name: &'static str,
    bytes: &'static [u8],
}

const fn r(name: &'static str, bytes: &'static [u8]) -> ReplyInput {
    ReplyInput { name, bytes }
}

static REPLIES: &[ReplyInput] = &[
    r("220", b"220 mx.example.net ready\r\n"),
    r("250", b"250 2.0.0 ok\r\n"),
    r("250 (no enhanced)", b"250 ok\r\n"),
    r(
        "EHLO full",
        b"250-mx.example.net\r\n250-PIPELINING\r\n250-CHUNKING\r\n250-STARTTLS\r\n250 AUTH PLAIN LOGIN\r\n",
    ),
    r("EHLO auth, no TLS", b"250-mx.example.net\r\n250 AUTH PLAIN LOGIN\r\n"),
    r("EHLO STARTTLS only", b"250-mx.example.net\r\n250 STARTTLS\r\n"),
    r("354", b"354 go ahead\r\n"),
    r("334", b"334 \r\n"),
    r("235", b"235 2.7.0 ok\r\n"),
    r("421", b"421 4.3.0 closing\r\n"),
    r("450", b"450 4.2.0 busy\r\n"),
    r("550", b"550 5.1.1 no\r\n"),
    r("221", b"221 2.0.0 bye\r\n"),
    r("malformed", b"25x what\r\n"),
    r("250 x2", b"250 2.0.0 ok\r\n250 2.0.0 ok\r\n"),
    r("220+injected", b"220 go ahead\r\n250 2.0.0 injected\r\n"),
    // RFC 9422: one recipient per transaction; RCPTDOMAINMAX=0 and a
    // MAILMAX beyond 64 bits are no usable limits (ignored).
    r(
        "EHLO LIMITS",
        b"250-mx.example.net\r\n250-PIPELINING\r\n250 LIMITS RCPTMAX=1 RCPTDOMAINMAX=0 MAILMAX=18446744073709551616\r\n",
    ),
    // RFC 5321 4.5.3.1.10.
    r("452 too many", b"452 4.5.3 too many recipients\r\n"),
];

/// The index of "EHLO LIMITS" and its RCPTMAX.
const LIMITS: usize = 16;
const LIMITS_RCPTMAX: usize = 1;
/// The index of "452 too many".
const TOO_MANY: usize = 17;

const INJECTION: usize = 15;
/// The explored `chunk_size`.
const CHUNK_SIZE: usize = 4;
const TWO: usize = 14;

/// One abstract input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum In {
    Reply(usize),
    Tls,
    Eof,
    Timeout,
    SendMail,
    Quit,
    Proceed,
    Abort,
    /// `start_mail`: the body streamed.
    StartMail,
    /// `send_body` with a piece that holds a dot line, a CRLF split at its
    /// end, and more than one chunk.
    Piece,
    /// `send_body` with a NUL (refused: the body is given up).
    BadPiece,
    /// `end_body`.
    EndBody,
    /// `noop`.
    Noop,
    /// `rset`.
    Rset,
}

/// The piece `In::Piece` hands: a dot at a line start (stuffed inside
/// DATA) and a CR at its end (its LF comes with the next piece).
const PIECE: &[u8] = b"a\n.b\r\n..\r\nc\r";

/// A command line the client sent and still waits a reply for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Verb {
    Greeting,
    Hello,
    StartTls,
    Auth,
    Mail,
    Rcpt,
    Data,
    Bdat,
    /// A `BDAT n` chunk without LAST: one reply, also in LMTP.
    BdatChunk,
    Rset,
    Noop,
    Quit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Decision {
    Ready,
    Partial,
    /// A streamed body is wanted (`BodyWanted`); replies may still come.
    Body,
}

/// The state: the machine and the bookkeeping of the observable trace.
#[derive(Clone, Debug)]
pub struct St {
    cl: Client,
    /// Commands sent and not answered yet, in order.
    owed: VecDeque<Verb>,
    /// The client sends message content (after a 354) up to the dot.
    content: bool,
    /// Chunk octets still to skip after a BDAT line.
    chunk: u64,
    /// The next line is an AUTH response (after a 334).
    auth_response: bool,
    tls: bool,
    pending: Option<Decision>,
    closed: bool,
    /// The Closed event was reported.
    closed_event: bool,
    carry: Vec<u8>,
    /// LMTP: RCPTs accepted in the transaction; the content gets one
    /// reply per accepted recipient (RFC 2033 4.2).
    rcpt_ok: usize,
    /// LMTP: the content's replies still due.
    lmtp_left: usize,
    /// A 354 was fed for the DATA in flight.
    data_started: bool,
    /// The MAIL of the transaction got a 2xx.
    mail_ok: bool,
    /// Which configuration.
    variant: usize,
    /// The RCPTMAX of the last hello reply (RFC 9422 4.2).
    rcpt_max: Option<usize>,
    /// RCPT commands since the last MAIL.
    rcpts: usize,
    /// A RCPT was answered since the last MAIL (the first one's reply
    /// has come).
    rcpt_answered: bool,
    /// The first RCPT of a transaction got "too many recipients": no
    /// further MAIL may follow before the application's next message
    /// (RFC 5321 4.5.3.1.10: no loop).
    full_at_first: bool,
}

/// The client side in one port mode, in one or two configurations: the
/// mode's defaults (with credentials in submission and implicit TLS), and
/// where it differs a TLS-required one without credentials, so that MAIL
/// (not only AUTH) is the first thing TLS must precede.
pub struct ClientModel {
    mode: PortMode,
    /// The configurations the invariants hold the machine to.
    cfgs: Vec<ClientConfig>,
    /// The configurations the machine runs with (the same, except in the
    /// explorer's own tests).
    machines: Vec<ClientConfig>,
}

impl ClientModel {
    pub fn new(mode: PortMode, slot: MutantSlot) -> ClientModel {
        let mut base = ClientConfig::new(mode, "client.example.org");
        base.mutant = slot;
        // Small chunks, so that a streamed piece makes several.
        base.chunk_size = CHUNK_SIZE;
        let mut cfgs = Vec::new();
        match mode {
            PortMode::Submission | PortMode::ImplicitTls => {
                cfgs.push(
                    base.clone()
                        .with_credentials(ClientCredentials::new("alice", "secret")),
                );
                if mode == PortMode::Submission {
                    cfgs.push(base);
                }
            }
            PortMode::Relay => {
                cfgs.push(base.clone());
                cfgs.push(
                    base.with_tls_policy(TlsPolicy::Required)
                        .expect("required is allowed"),
                );
            }
            PortMode::Lmtp => cfgs.push(base),
        }
        ClientModel {
            mode,
            machines: cfgs.clone(),
            cfgs,
        }
    }

    fn cfg(&self, s: &St) -> &ClientConfig {
        &self.cfgs[s.variant]
    }

    fn tls_required(&self, s: &St) -> bool {
        self.cfg(s).tls == TlsPolicy::Required && self.mode != PortMode::ImplicitTls
    }

    /// Handles events up to a decision, then transmits and checks the
    /// output.
    fn drain(&self, s: &mut St, log: &mut Log, must_close: Option<&str>) -> Result<(), Broken> {
        let mut error = false;
        while let Some(ev) = s.cl.next_event() {
            log.push(|| format!("# event: {}", short(&ev)));
            if s.closed_event {
                return Err(Broken::new(
                    "f: nothing after close",
                    format!("event {} after Closed", short(&ev)),
                ));
            }
            match ev {
                ClientEvent::Ready => {
                    s.pending = Some(Decision::Ready);
                }
                ClientEvent::RecipientsPartial { .. } => {
                    s.pending = Some(Decision::Partial);
                }
                ClientEvent::BodyWanted => {
                    s.pending = Some(Decision::Body);
                }
                ClientEvent::StartTls if must_close.is_some() => {
                    return Err(Broken::new(
                        "f: response injection",
                        "bytes after the 220 to STARTTLS were read, and TLS goes on",
                    ));
                }
                ClientEvent::Error(_) => error = true,
                ClientEvent::Closed => s.closed_event = true,
                _ => {}
            }
            // A body decision does not stop the reading: the events
            // behind it are informative (or end the body).
            if matches!(s.pending, Some(Decision::Ready | Decision::Partial)) {
                break;
            }
        }
        let _ = error;
        let mut out = Vec::new();
        s.cl.transmit(&mut out);
        if !out.is_empty() {
            if s.closed {
                return Err(Broken::new(
                    "f: nothing after close",
                    format!("{} written after close", escape(&out)),
                ));
            }
            if let Some(why) = must_close {
                return Err(Broken::new(
                    "f: response injection",
                    format!(
                        "{why}: the client must close at once, but wrote {}",
                        escape(&out)
                    ),
                ));
            }
        }
        self.commands(s, &out, log)?;
        if s.cl.is_closed() {
            s.closed = true;
        }
        if let Some(why) = must_close {
            if !s.closed {
                return Err(Broken::new(
                    "f: response injection",
                    format!("{why}: the client must close at once"),
                ));
            }
        }
        Ok(())
    }

    /// Splits output into command lines (content and chunks skipped) and
    /// checks each.
    fn commands(&self, s: &mut St, out: &[u8], log: &mut Log) -> Result<(), Broken> {
        s.carry.extend_from_slice(out);
        loop {
            if s.chunk > 0 {
                let n = (s.chunk as usize).min(s.carry.len());
                s.carry.drain(..n);
                s.chunk -= n as u64;
                if s.chunk > 0 {
                    return Ok(());
                }
                continue;
            }
            let Some(p) = s.carry.windows(2).position(|w| w == b"\r\n") else {
                return Ok(());
            };
            let line: Vec<u8> = s.carry.drain(..p + 2).collect();
            let body = &line[..p];
            if s.content {
                if body == b"." {
                    s.content = false;
                    log.push(|| "C: .".into());
                }
                continue;
            }
            if s.auth_response {
                s.auth_response = false;
                log.push(|| "C: (auth response)".into());
                continue;
            }
            let upper = body.to_ascii_uppercase();
            let word: &[u8] = upper.split(|b| *b == b' ').next().unwrap_or(b"");
            let verb = match word {
                b"EHLO" | b"HELO" | b"LHLO" => Verb::Hello,
                b"STARTTLS" => Verb::StartTls,
                b"AUTH" => Verb::Auth,
                b"MAIL" => Verb::Mail,
                b"RCPT" => Verb::Rcpt,
                b"DATA" => Verb::Data,
                b"BDAT" if upper.ends_with(b" LAST") => Verb::Bdat,
                b"BDAT" => Verb::BdatChunk,
                b"RSET" => Verb::Rset,
                b"NOOP" => Verb::Noop,
                b"QUIT" => Verb::Quit,
                _ => {
                    return Err(Broken::new(
                        "f: not a command",
                        format!(
                            "the client wrote `{}` where a command was due",
                            escape(body)
                        ),
                    ));
                }
            };
            log.push(|| {
                let shown: Vec<u8> = if verb == Verb::Auth {
                    body.iter().take(10).copied().collect()
                } else {
                    body.to_vec()
                };
                format!("C: {}", escape(&shown))
            });
            if !s.tls
                && self.tls_required(s)
                && matches!(
                    verb,
                    Verb::Auth
                        | Verb::Mail
                        | Verb::Rcpt
                        | Verb::Data
                        | Verb::Bdat
                        | Verb::BdatChunk
                )
            {
                return Err(Broken::new(
                    "f: TLS required",
                    format!("`{}` sent without TLS where TLS is required", escape(word)),
                ));
            }
            if !s.tls && verb == Verb::Auth && !self.cfg(s).plaintext_auth_without_tls {
                return Err(Broken::new(
                    "f: credentials in plaintext",
                    "AUTH sent without TLS",
                ));
            }
            if verb == Verb::Mail {
                if s.full_at_first {
                    return Err(Broken::new(
                        "f: no 452 loop",
                        "MAIL again after a 452 too many recipients to the first RCPT of a transaction",
                    ));
                }
                s.rcpts = 0;
                s.rcpt_answered = false;
            }
            if verb == Verb::Rcpt {
                s.rcpts += 1;
                if s.rcpt_max.is_some_and(|m| s.rcpts > m) {
                    return Err(Broken::new(
                        "f: RCPTMAX",
                        format!(
                            "{} RCPTs in one transaction, the server's RCPTMAX is {:?}",
                            s.rcpts, s.rcpt_max
                        ),
                    ));
                }
            }
            if matches!(verb, Verb::Bdat | Verb::BdatChunk) {
                let n = upper
                    .split(|b| *b == b' ')
                    .nth(1)
                    .and_then(|n| std::str::from_utf8(n).ok())
                    .and_then(|n| n.parse::<u64>().ok());
                match n {
                    Some(n) => s.chunk = n,
                    None => return Err(Broken::new("f: not a command", "BDAT without a size")),
                }
            }
            s.owed.push_back(verb);
        }
    }
}

fn short(ev: &ClientEvent) -> String {
    let mut t = format!("{ev:?}");
    t.truncate(100);
    t
}

impl Model for ClientModel {
    type State = St;
    type Input = In;

    fn variants(&self) -> usize {
        self.cfgs.len()
    }

    fn header(&self, variant: usize) -> String {
        let cfg = &self.cfgs[variant];
        let mut h = format!("# side: client\n# mode: {}\n", mode_name(self.mode));
        if cfg.credentials.is_some() {
            h.push_str("# set: auth=alice:secret\n");
        }
        if self.mode != PortMode::ImplicitTls {
            let tls = match cfg.tls {
                TlsPolicy::Required => "required",
                TlsPolicy::Opportunistic => "opportunistic",
                _ => "none",
            };
            h.push_str(&format!("# set: tls={tls}\n"));
        }
        h.push_str("# set: to=bob@example.net\n# set: to=carol@example.net\n");
        h.push_str(&format!("# set: chunk-size={CHUNK_SIZE}\n"));
        h
    }

    fn initial(&self, variant: usize, log: &mut Log) -> Result<St, Broken> {
        let cl = Client::new(self.machines[variant].clone())
            .map_err(|e| Broken::new("api: config", format!("{e}")))?;
        let mut s = St {
            cl,
            owed: VecDeque::from([Verb::Greeting]),
            content: false,
            chunk: 0,
            auth_response: false,
            tls: self.mode == PortMode::ImplicitTls,
            pending: None,
            closed: false,
            closed_event: false,
            carry: Vec::new(),
            rcpt_ok: 0,
            lmtp_left: 0,
            data_started: false,
            mail_ok: false,
            variant,
            rcpt_max: None,
            rcpts: 0,
            rcpt_answered: false,
            full_at_first: false,
        };
        self.drain(&mut s, log, None)?;
        Ok(s)
    }

    fn inputs(&self, s: &St) -> Vec<In> {
        if s.closed {
            return Vec::new();
        }
        let mut v = Vec::new();
        match s.pending {
            Some(Decision::Ready) => {
                return vec![In::SendMail, In::StartMail, In::Noop, In::Rset, In::Quit];
            }
            Some(Decision::Partial) => return vec![In::Proceed, In::Abort, In::Quit],
            // The body's decisions, and the replies that may come
            // meanwhile (chunks in flight, pipelined RCPT replies).
            Some(Decision::Body) => {
                v.extend([In::Piece, In::BadPiece, In::EndBody, In::Abort]);
                if s.owed.is_empty() {
                    return v;
                }
            }
            None => {}
        }
        if s.cl.wants_tls() {
            v.push(In::Tls);
            v.push(In::Reply(1)); // plaintext before the handshake
        } else {
            for i in 0..REPLIES.len() {
                // Two replies in one read only where two commands wait
                // (a reply never precedes its command), the injection
                // only behind STARTTLS.
                if i == TWO && s.owed.len() < 2
                    || i == INJECTION && s.owed.front() != Some(&Verb::StartTls)
                {
                    continue;
                }
                v.push(In::Reply(i));
            }
        }
        v.push(In::Eof);
        if s.cl.timeout().is_some() {
            v.push(In::Timeout);
        }
        v
    }

    fn step(&self, s: &mut St, i: In, log: &mut Log) -> Result<(), Broken> {
        let mut must_close = None;
        match i {
            In::Piece | In::BadPiece => {
                log.push(|| format!("# app: {i:?}"));
                let room = s.cl.body_room();
                let piece: &[u8] = if i == In::Piece { PIECE } else { b"a\0b" };
                match s.cl.send_body(piece) {
                    Ok(n) if n <= room && (n > 0 || room == 0) => {}
                    Ok(n) => {
                        return Err(Broken::new(
                            "api: body",
                            format!("send_body took {n} octets with room {room}"),
                        ));
                    }
                    Err(_) if i == In::BadPiece && room > 0 => {}
                    Err(e) if room == 0 && i == In::BadPiece => {
                        return Err(Broken::new(
                            "api: body",
                            format!("send_body refused ({e}) a piece it had no room for"),
                        ));
                    }
                    Err(e) => {
                        return Err(Broken::new(
                            "api: body",
                            format!("send_body refused ({e}) while the body is wanted"),
                        ));
                    }
                }
                if !s.cl.wants_body() {
                    s.pending = None;
                }
            }
            In::SendMail
            | In::StartMail
            | In::Quit
            | In::Proceed
            | In::Abort
            | In::EndBody
            | In::Noop
            | In::Rset => {
                s.pending = None;
                log.push(|| format!("# app: {i:?}"));
                if matches!(i, In::SendMail | In::StartMail) {
                    s.full_at_first = false;
                }
                let ok = match i {
                    In::StartMail => {
                        s.cl.start_mail(
                            Envelope::new(
                                "alice@example.org",
                                ["bob@example.net", "carol@example.net"],
                            ),
                            BodyInfo::new(Some(PIECE.len() as u64), false),
                        )
                        .is_ok()
                    }
                    In::EndBody => s.cl.end_body().is_ok(),
                    In::Noop => s.cl.noop().is_ok(),
                    In::Rset => s.cl.rset().is_ok(),
                    In::SendMail => {
                        s.cl.send_mail(
                            Envelope::new(
                                "alice@example.org",
                                ["bob@example.net", "carol@example.net"],
                            ),
                            b"Subject: test\r\n\r\nhello\r\n".to_vec(),
                        )
                        .is_ok()
                    }
                    In::Quit => s.cl.quit().is_ok(),
                    In::Proceed => s.cl.proceed().is_ok(),
                    _ => s.cl.abort().is_ok(),
                };
                if !ok {
                    return Err(Broken::new(
                        "api: decision refused",
                        format!("{i:?} refused as misuse at a decision point"),
                    ));
                }
            }
            In::Reply(n) => {
                let x = &REPLIES[n];
                log.push(|| format!("S: {}", escape(x.bytes)));
                if s.cl.wants_tls() {
                    must_close = Some("bytes before the TLS handshake");
                } else if n == INJECTION && s.owed.front() == Some(&Verb::StartTls) {
                    must_close = Some("bytes after the 220 to STARTTLS");
                }
                // Reply accounting: each final reply answers the oldest
                // command; 354 and 334 are intermediate.
                let units = if n == TWO || n == INJECTION { 2 } else { 1 };
                let code = &x.bytes[..3];
                let lmtp = self.mode == PortMode::Lmtp;
                for _ in 0..units {
                    match (code, s.owed.front()) {
                        (b"354", Some(Verb::Data)) => {
                            s.content = true;
                            s.data_started = true;
                        }
                        (b"334", Some(Verb::Auth)) => s.auth_response = true,
                        (_, Some(&v)) => {
                            let content_reply =
                                v == Verb::Bdat || v == Verb::Data && s.data_started;
                            if lmtp && content_reply && s.rcpt_ok > 1 {
                                if s.lmtp_left == 0 {
                                    s.lmtp_left = s.rcpt_ok;
                                }
                                s.lmtp_left -= 1;
                                if s.lmtp_left > 0 {
                                    continue;
                                }
                            }
                            match v {
                                Verb::Hello if code[0] == b'2' => {
                                    s.rcpt_max = (n == LIMITS).then_some(LIMITS_RCPTMAX);
                                }
                                Verb::Rcpt => {
                                    if !s.rcpt_answered && n == TOO_MANY {
                                        s.full_at_first = true;
                                    }
                                    s.rcpt_answered = true;
                                }
                                _ => {}
                            }
                            match v {
                                Verb::Mail => {
                                    s.rcpt_ok = 0;
                                    s.mail_ok = code[0] == b'2';
                                }
                                Verb::Rcpt if code[0] == b'2' && s.mail_ok => s.rcpt_ok += 1,
                                Verb::Data => s.data_started = false,
                                _ => {}
                            }
                            s.owed.pop_front();
                        }
                        (_, None) => {}
                    }
                }
                s.cl.receive(x.bytes);
            }
            In::Tls => {
                log.push(|| "TLS".into());
                if !s.cl.tls_established() {
                    return Err(Broken::new(
                        "api: TLS",
                        "wants_tls but tls_established refused",
                    ));
                }
                s.tls = true;
                s.owed.clear();
                s.rcpt_max = None;
            }
            In::Eof => {
                log.push(|| "EOF".into());
                s.cl.receive_eof();
            }
            In::Timeout => {
                log.push(|| "# timeout (handle_timeout)".into());
                s.cl.handle_timeout();
            }
        }
        self.drain(s, log, must_close)?;
        if s.pending == Some(Decision::Body) && !s.cl.wants_body() {
            s.pending = None;
        }
        if s.closed {
            if !s.closed_event && s.cl.next_event().is_none() {
                // Closed without reporting it: allowed only if reported
                // earlier; the machine's contract is to report Closed.
                return Err(Broken::new(
                    "f: Closed not reported",
                    "closed with no Closed event",
                ));
            }
            log.push(|| "CLOSE".into());
        } else if s.pending == Some(Decision::Ready) && !s.owed.is_empty() {
            return Err(Broken::new(
                "f: each reply consumed once",
                format!("Ready while {:?} still wait for replies", s.owed),
            ));
        } else if s.pending.is_none() && !s.cl.wants_tls() && s.owed.is_empty() {
            return Err(Broken::new(
                "f: each reply consumed once",
                "the client waits for a reply with no command outstanding",
            ));
        }
        Ok(())
    }

    fn key(&self, s: &St) -> u128 {
        let mut text = String::with_capacity(2048);
        let _ = write!(text, "{s:?}");
        hash128(&text)
    }

    fn label(&self, s: &St) -> String {
        if s.closed {
            return "closed".into();
        }
        let phase = match s.pending {
            Some(Decision::Ready) => "ready".to_string(),
            Some(Decision::Partial) => "decide partial".to_string(),
            Some(Decision::Body) => "streaming body".to_string(),
            None if s.closed => "closed".to_string(),
            None if s.cl.wants_tls() => "await TLS".to_string(),
            None => match s.owed.front() {
                Some(v) if s.content => format!("sending content ({v:?})"),
                Some(v) => format!("wait {v:?}").to_lowercase(),
                None => "idle".into(),
            },
        };
        format!(
            "{phase}\n{}{} {}",
            if s.variant > 0 { "[variant 2] " } else { "" },
            if s.tls { "tls" } else { "plain" },
            if s.cl.is_authenticated() {
                "auth"
            } else {
                "no-auth"
            }
        )
    }

    fn input_name(&self, i: In) -> &'static str {
        match i {
            In::Reply(n) => REPLIES[n].name,
            In::Tls => "TLS",
            In::Eof => "EOF",
            In::Timeout => "timeout",
            In::SendMail => "send_mail",
            In::Quit => "quit",
            In::Proceed => "proceed",
            In::Abort => "abort",
            In::StartMail => "start_mail",
            In::Piece => "send_body",
            In::BadPiece => "send_body (NUL)",
            In::EndBody => "end_body",
            In::Noop => "noop",
            In::Rset => "rset",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::explore;

    #[test]
    fn the_unmutated_client_has_no_violation_at_depth_6() {
        for mode in crate::MODES {
            let out = explore(&ClientModel::new(mode, MutantSlot::NONE), 6, false, None);
            assert!(out.violations.is_empty(), "{mode:?}: {:?}", out.violations);
            assert!(out.states > 20);
        }
    }

    #[test]
    fn mail_without_tls_is_caught() {
        // The invariants require TLS; the machine is opportunistic.
        let mut m = ClientModel::new(PortMode::Relay, MutantSlot::NONE);
        m.machines[1].tls = TlsPolicy::Opportunistic;
        let out = explore(&m, 6, false, None);
        let v = out
            .violations
            .iter()
            .find(|v| v.kind == "f: TLS required")
            .expect("caught");
        assert!(v.transcript.contains("# set: tls=required"));
    }
}
