//! The server's states and transitions (RFC 5321 3 and 4.1.4, RFC 3207 4,
//! RFC 4954 4, RFC 2920 3.1, RFC 3030 2, RFC 2033 4).
//!
//! Every (state, input) -> (next state, replies, events) of the server is a
//! method of [`Machine`] in this file; `mod.rs` only forwards its public
//! calls here. The state is:
//!
//! * [`Reading`]: what the next input bytes are. `ProxyHeader` (a PROXY
//!   protocol header expected before the greeting), `Connecting` (before the
//!   `Connected` event), `Commands`, `Refused` (after a 554 greeting:
//!   only QUIT, RFC 5321 3.1), `Data` / `DataEnd`, `Bdat` / `BdatEnd`,
//!   `SkipBdat` (a refused chunk read and discarded, RFC 3030 2),
//!   `AuthResponse(AuthStage)` (a SASL line, RFC 4954 4), `AwaitTls` (after
//!   the 220 to STARTTLS: input is never executed, RFC 3207 4), `Closed`.
//! * [`Pending`]: the decision the application owes, if any.
//! * [`Session`]: `Fresh` or `Greeted { kind, name, txn }`; a
//!   [`Transaction`] exists only inside `Greeted`, from the accepted MAIL to
//!   its end, and its [`Content`] is `None`, `Data` or `Bdat { dec, failed }`.
//! * [`Security`]: plaintext or TLS, authenticated or not, as one value
//!   (RFC 3207 4.2 and RFC 4954 4; STARTTLS forgets AUTH).
//! * [`Sync`]: whether a group-ending command's reply is still unsent
//!   (RFC 2920 3.1).
//!
//! Every check on a command line is one ordered table, [`Machine::guard`];
//! the command's transition ([`Machine::on_command`]) runs only if no
//! guard stops it.
//!
//! Inputs: [`Machine::on_receive`] (bytes), [`Machine::step`] (the event
//! loop over buffered input: [`Machine::on_command`] for a command line,
//! [`Machine::on_auth_line`], the content decoders), [`Machine::on_eof`],
//! [`Machine::on_tls_established`], [`Machine::on_timeout`] and the
//! decisions ([`Machine::decide`] -> [`Machine::apply_decision`],
//! [`Machine::decide_each`], [`Machine::decide_challenge`]).

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::command::Command;
use crate::data::{BdatDecoder, DataDecoder, DataOutcome, DataStep, Piece};
use crate::ext::Extensions;
use crate::mode::PortMode;
use crate::mutants::Mutant;
use crate::options::{CommandOptions, LineEndingPolicy};
use crate::params::Body;
use crate::reply::OwnedReply;
use crate::sasl::{self, Credentials, Mechanism, Secret};

use super::config::ServerConfig;
use super::event::{AbortReason, AuthRequest, ContentKind, ProxyOrigin, ServerEvent, Violation};
use super::reply::{self as writer, ReplyKind};
use crate::line::{InputBuffer, LineStatus};
use crate::proxy::ProxyStatus;
use crate::session::{HelloKind, Misuse};

/// See `Machine::content_step`.
pub(super) enum ContentStep<'b> {
    Deliver(&'b [u8]),
    NeedInput,
    Continue,
}

/// The decision the machine waits for (the only representation of "a
/// decision is owed": [`Machine::awaits_decision`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Pending {
    /// The greeting (RFC 5321 3.1): 220, 554 (only QUIT then) or 421.
    Greeting,
    Hello(HelloKind, Vec<u8>),
    Mail {
        body: Option<Body>,
        smtputf8: bool,
    },
    Rcpt,
    Message,
    Auth(Mechanism),
    AuthStep(Mechanism),
    Verify,
    Etrn,
}

/// What the machine is reading.
#[derive(Debug, Clone)]
pub(super) enum Reading {
    /// Before the greeting, when [`ServerConfig::proxy`] is set: the
    /// PROXY protocol header (HAProxy's specification, section 2). The
    /// decoder sees every unconsumed byte; a complete header is consumed
    /// exactly, reported as [`ServerEvent::Proxy`], and the machine moves
    /// to [`Reading::Connecting`]. Anything else closes without output.
    ProxyHeader(crate::proxy::ProxyDecoder),
    /// A new connection: the next step reports [`ServerEvent::Connected`]
    /// and waits for [`Pending::Greeting`] (reading [`Reading::Commands`]
    /// meanwhile: bytes are buffered, or refused as an early talker).
    Connecting,
    /// Command lines.
    Commands,
    /// After a 554 greeting: only QUIT (RFC 5321 3.1).
    Refused,
    /// DATA content (decoded by `Machine::data`).
    Data,
    /// A BDAT chunk.
    Bdat { last: bool },
    /// A BDAT chunk that was refused and is read and discarded (RFC 3030 2);
    /// `refused`: go back to [`Reading::Refused`] afterwards.
    SkipBdat { remaining: u64, refused: bool },
    /// A SASL response line (RFC 4954 4).
    AuthResponse(AuthStage),
    /// After the 220 to STARTTLS, until `tls_established`.
    AwaitTls,
    /// DATA content ended; the outcome is handled on the next step.
    DataEnd(Option<DataOutcome>, u64),
    /// A BDAT chunk was read; its reply is written on the next step.
    BdatEnd { last: bool },
    /// Closed: nothing more is read; `reported`: [`ServerEvent::Closed`]
    /// went out.
    Closed { reported: bool },
}

/// The first octets of a TLS handshake record (content type 22, major
/// version 3; RFC 8446 5.1, RFC 5246 6.2.1): never the start of a command.
const TLS_HANDSHAKE: [u8; 2] = [0x16, 0x03];

/// Where a SASL exchange is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum AuthStage {
    /// PLAIN / XOAUTH2 / OAUTHBEARER without an initial response.
    Initial(Mechanism),
    /// LOGIN, waiting for the user name.
    LoginUser,
    /// LOGIN, waiting for the password of the user name it read.
    LoginPassword {
        /// The decoded user name.
        user: String,
    },
    /// An application-run mechanism.
    Step(Mechanism),
}

/// The connection's security (RFC 3207 4.2, RFC 8314 3.3, RFC 4954 4, 6):
/// one value, so that no combination the rules forbid can be written.
///
/// * A connection starts in [`Security::Plain`], or in [`Security::Tls`] in
///   implicit TLS mode ([`Security::start`]).
/// * AUTH success moves to the authenticated state of the same transport
///   ([`Security::authenticate`]). [`Security::PlainAuthenticated`] is
///   reachable only through a mechanism offered in plaintext: a mechanism
///   that carries no password, or any under
///   [`ServerConfig::plaintext_auth_without_tls`] (the AUTH guard of
///   [`Machine::guard`] refuses every other one).
/// * The 220 to STARTTLS forgets AUTH ([`Security::Plain`] until the
///   handshake) and the handshake moves to [`Security::Tls`], never to an
///   authenticated state (RFC 3207 4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Security {
    /// Plaintext, not authenticated.
    Plain,
    /// Plaintext, AUTH succeeded with this mechanism (offered in plaintext).
    PlainAuthenticated(Mechanism),
    /// TLS is up (STARTTLS then the handshake, or implicit TLS), not
    /// authenticated.
    Tls,
    /// TLS is up and AUTH succeeded with this mechanism.
    TlsAuthenticated(Mechanism),
}

impl Security {
    /// The state of a new connection: TLS before the first byte in
    /// implicit TLS mode (RFC 8314 3.3), else plaintext.
    pub(super) fn start(mode: PortMode) -> Security {
        if mode.implicit_tls() {
            Security::Tls
        } else {
            Security::Plain
        }
    }

    /// Whether TLS is up.
    pub(super) fn tls(self) -> bool {
        matches!(self, Security::Tls | Security::TlsAuthenticated(_))
    }

    /// Whether AUTH succeeded.
    pub(super) fn authenticated(self) -> bool {
        matches!(
            self,
            Security::PlainAuthenticated(_) | Security::TlsAuthenticated(_)
        )
    }

    /// AUTH succeeded with `m` (RFC 4954 4, 235).
    fn authenticate(self, m: Mechanism) -> Security {
        if self.tls() {
            Security::TlsAuthenticated(m)
        } else {
            Security::PlainAuthenticated(m)
        }
    }
}

/// Whether more input may be buffered (RFC 2920 3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Sync {
    /// Input is buffered as it arrives.
    Open,
    /// A group-ending command was read and its reply has not been taken
    /// by `transmit`: bytes arriving now were sent without waiting for it,
    /// a synchronization violation when `pipelining_sync` is on.
    GroupEndUnsent,
}

/// What a guard of [`Machine::guard`] does with a command it stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    /// An error reply, counted towards `max_errors`.
    Fail(ReplyKind),
    /// A reply that is not an error of the client's (RFC 5321 4.5.3.1.10).
    Say(ReplyKind),
    /// A reply, then the violation is reported and the session closed.
    Close(ReplyKind, Violation),
}

/// What the session has established (RFC 5321 4.1.4, RFC 3207 4.2): a
/// mail transaction exists only inside an accepted greeting command, and
/// only once MAIL was accepted.
#[derive(Debug, Clone)]
pub(super) enum Session {
    /// No EHLO/HELO/LHLO accepted yet, or forgotten (STARTTLS, a refused
    /// or pending greeting command).
    Fresh,
    /// An EHLO/HELO/LHLO was accepted.
    Greeted {
        /// Which one.
        kind: HelloKind,
        /// Its argument (RFC 3207 4.2 forgets it with TLS).
        name: Vec<u8>,
        /// The mail transaction, from the accepted MAIL to its end
        /// (RFC 5321 3.3).
        txn: Option<Transaction>,
    },
}

/// A mail transaction: MAIL was accepted (RFC 5321 3.3).
#[derive(Debug, Clone)]
pub(super) struct Transaction {
    pub(super) body: Option<Body>,
    smtputf8: bool,
    pub(super) recipients: usize,
    /// How the content arrives, once it started.
    pub(super) content: Content,
    /// A NUL octet arrived in the content under the `Reject` policy: the
    /// rest is read but not delivered, and the message is refused.
    pub(super) nul: bool,
}

/// The content of a transaction (RFC 3030 2: DATA or BDAT, never both).
#[derive(Debug, Clone)]
pub(super) enum Content {
    /// Not started.
    None,
    /// DATA (its decoder is `Machine::data`, reused between messages).
    Data,
    /// BDAT chunks.
    Bdat {
        /// The chunk decoder, across the message's chunks.
        dec: BdatDecoder,
        /// A message that failed stays failed until LAST (RFC 3030 2).
        failed: Option<AbortReason>,
    },
}

/// Everything but the input buffer, so that events can borrow the buffer
/// while the machine's state changes.
#[derive(Debug, Clone)]
pub(super) struct Machine {
    /// Shared between sessions (issue 13): one copy per listener.
    pub(super) cfg: Arc<ServerConfig>,
    pub(super) out: Vec<u8>,
    pub(super) reading: Reading,
    pub(super) pending: Option<Pending>,
    /// TLS and AUTH.
    pub(super) security: Security,
    /// Greeting command and transaction.
    pub(super) session: Session,
    /// The DATA decoder of the message in progress (kept out of `Reading`,
    /// whose other states are small).
    pub(super) data: DataDecoder,
    pub(super) errors: usize,
    pub(super) auth_failures: usize,
    /// RFC 2920 3.1 synchronization.
    pub(super) sync: Sync,
    /// Input bytes handed out in the last event, consumed on the next call.
    pub(super) deferred_consume: usize,
    pub(super) info: VecDeque<ServerEvent<'static>>,
}

/// The commands RFC 3207 4 allows before TLS when TLS is required.
pub(super) fn allowed_before_tls(cmd: &Command<'_>) -> bool {
    matches!(
        cmd,
        Command::Ehlo { .. }
            | Command::Helo { .. }
            | Command::Lhlo { .. }
            | Command::StartTls
            | Command::Noop { .. }
            | Command::Rset
            | Command::Quit
            | Command::Help { .. }
    )
}

/// RFC 2920 3.1 (EHLO, DATA, VRFY, EXPN, TURN, QUIT, NOOP), HELO/LHLO,
/// STARTTLS (RFC 3207 4) and AUTH unless it carries an initial response
/// for a one-step mechanism (RFC 4954 4) end a pipelined group.
pub(super) fn ends_group(cmd: &Command<'_>) -> bool {
    match cmd {
        Command::Ehlo { .. }
        | Command::Helo { .. }
        | Command::Lhlo { .. }
        | Command::Data
        | Command::Vrfy { .. }
        | Command::Expn { .. }
        | Command::Quit
        | Command::Noop { .. }
        | Command::StartTls => true,
        Command::Auth {
            mechanism,
            initial_response,
        } => {
            !(initial_response.is_some()
                && Mechanism::from_name(mechanism).is_some_and(Mechanism::one_step))
        }
        _ => false,
    }
}

/// Whether a command line (or the start of one) has the verb BDAT
/// (RFC 3030 4), compared case-insensitively: `BDAT` followed by the end
/// of the line or by any octet that cannot continue a verb (SP, HTAB, CR,
/// LF, NUL, ...). Used to end the session when such a line cannot be
/// framed or parsed: its chunk size is unknown (RFC 3030 2).
pub(super) fn is_bdat_verb(line: &[u8]) -> bool {
    match line.get(..4) {
        Some(v) if v.eq_ignore_ascii_case(b"BDAT") => {
            !matches!(line.get(4), Some(b) if b.is_ascii_alphanumeric() || *b == b'-')
        }
        _ => false,
    }
}

impl Machine {
    // ---- replies: every one goes through the writer in `reply.rs` ----

    pub(super) fn reply_fmt(
        &mut self,
        code: u16,
        enh: Option<[u16; 3]>,
        text: core::fmt::Arguments<'_>,
    ) {
        writer::write_fmt(&mut self.out, code, enh, text);
    }

    pub(super) fn write_owned(&mut self, reply: &OwnedReply) {
        writer::write_owned(&mut self.out, reply);
    }

    /// One of the machine's own replies: the configured override, or the
    /// default.
    pub(super) fn say(&mut self, kind: ReplyKind) {
        writer::write_kind(&mut self.out, &self.cfg.replies, kind);
    }

    /// The reply to a non-LAST BDAT chunk (RFC 3030 2).
    pub(super) fn reply_chunk_received(&mut self, size: u64) {
        writer::write_chunk_received(&mut self.out, &self.cfg.replies, size);
    }

    /// A refused command line: its reply from the error table, counted as
    /// an error.
    pub(super) fn parse_error(&mut self, e: crate::error::ParseError) {
        self.fail(writer::parse_error_kind(e));
    }

    /// The HELO/EHLO/LHLO reply, with the extensions in effect now
    /// (RFC 5321 4.1.1.1, RFC 3207 4.2, RFC 4954 4).
    pub(super) fn write_hello_reply(&mut self, kind: HelloKind) {
        let mut lines: Vec<String> = Vec::new();
        if kind != HelloKind::Helo {
            for e in self.extensions_in_effect().iter() {
                match e {
                    Extensions::SIZE => {
                        lines.push(alloc::format!("SIZE {}", self.cfg.limits.message_size));
                    }
                    Extensions::AUTH => {
                        let mut l = String::from("AUTH");
                        for &m in &self.cfg.mechanisms {
                            if self.mechanism_offered(m) {
                                l.push(' ');
                                l.push_str(m.name());
                            }
                        }
                        lines.push(l);
                    }
                    e => {
                        if let Some(k) = e.keyword() {
                            lines.push(String::from(k));
                        }
                    }
                }
            }
        }
        writer::write_hello(&mut self.out, kind, &self.cfg.hostname, &lines);
    }

    /// A machine before the greeting. In implicit TLS mode TLS is up
    /// before the first byte (RFC 8314 3.3).
    pub(super) fn new(cfg: Arc<ServerConfig>) -> Machine {
        let reading = match cfg.proxy {
            Some(p) if !cfg.mutant.is(Mutant::ProxyHeader) => {
                Reading::ProxyHeader(crate::proxy::ProxyDecoder::new(p))
            }
            _ => Reading::Connecting,
        };
        Machine {
            security: Security::start(cfg.mode),
            cfg,
            out: Vec::new(),
            reading,
            pending: None,
            session: Session::Fresh,
            data: DataDecoder::new(LineEndingPolicy::Reject, &crate::limits::Limits::RFC),
            errors: 0,
            auth_failures: 0,
            sync: Sync::Open,
            deferred_consume: 0,
            info: VecDeque::new(),
        }
    }

    // ----- inputs: bytes, end of input, TLS, timeout, decisions ----------

    /// The event loop's step: every transition driven by buffered input
    /// (content, SASL lines, command lines) and the pending-event queue.
    pub(super) fn step<'i>(&mut self, input: &'i InputBuffer) -> Option<ServerEvent<'i>> {
        loop {
            if let Some(ev) = self.info.pop_front() {
                return Some(ev);
            }
            if self.pending.is_some() {
                return None;
            }
            if self.drops_input() {
                input.discard_shared();
            }
            match &mut self.reading {
                Reading::Closed { reported } => {
                    if *reported {
                        return None;
                    }
                    *reported = true;
                    return Some(ServerEvent::Closed);
                }
                Reading::ProxyHeader(dec) => match dec.decode(input.peek()) {
                    Ok(ProxyStatus::Incomplete) => return None,
                    Err(_) if self.cfg.mutant.is(Mutant::ProxyMalformed) => {
                        self.reading = Reading::Connecting;
                    }
                    Err(e) => self.violation(Violation::ProxyHeader(e), true),
                    Ok(ProxyStatus::Complete { header, len }) => {
                        let origin = ProxyOrigin::from_header(&header);
                        input.consume_shared(len);
                        self.reading = Reading::Connecting;
                        if self.cfg.early_talker && !input.is_empty() {
                            // Commands sent behind the header, before the
                            // greeting: the early-talker rule as for any
                            // input before the greeting.
                            self.say(ReplyKind::EarlyTalker);
                            self.violation(Violation::EarlyTalker, true);
                        }
                        return Some(ServerEvent::Proxy(origin));
                    }
                },
                Reading::Connecting => {
                    self.reading = Reading::Commands;
                    self.pending = Some(Pending::Greeting);
                    return Some(ServerEvent::Connected);
                }
                Reading::AwaitTls => return None,
                Reading::Data => {
                    let avail = input.peek();
                    let step = self.data.decode(avail);
                    if step.done {
                        let outcome = self.data.outcome();
                        let size = self.data.size();
                        self.reading = Reading::DataEnd(outcome, size);
                    }
                    match self.content_step(avail, &step) {
                        ContentStep::Deliver(p) => return Some(ServerEvent::MessageData(p)),
                        ContentStep::NeedInput => return None,
                        ContentStep::Continue => input.consume_shared(step.consumed),
                    }
                }
                Reading::DataEnd(outcome, size) => {
                    let (outcome, size) = (*outcome, *size);
                    self.end_content(outcome, size, true);
                }
                Reading::Bdat { last } => {
                    let last = *last;
                    let avail = input.peek();
                    let Some(dec) = self.bdat_decoder() else {
                        self.reading = Reading::Commands;
                        continue;
                    };
                    let step = dec.decode(avail);
                    if step.done {
                        self.reading = Reading::BdatEnd { last };
                    }
                    match self.content_step(avail, &step) {
                        ContentStep::Deliver(p) => return Some(ServerEvent::MessageData(p)),
                        ContentStep::NeedInput => return None,
                        ContentStep::Continue => input.consume_shared(step.consumed),
                    }
                }
                Reading::BdatEnd { last } => {
                    let last = *last;
                    self.end_bdat_chunk(last);
                }
                Reading::SkipBdat { remaining, refused } => {
                    let n = (input.len() as u64).min(*remaining);
                    if n == 0 {
                        return None;
                    }
                    *remaining -= n;
                    input.consume_shared(n as usize);
                    if *remaining == 0 {
                        self.reading = if *refused {
                            Reading::Refused
                        } else {
                            Reading::Commands
                        };
                    }
                }
                Reading::AuthResponse(stage) => {
                    let stage = stage.clone();
                    match input.next_line_shared(self.cfg.limits.auth_line, self.cfg.line_ending) {
                        LineStatus::Pending => return None,
                        LineStatus::TooLong => {
                            self.fail(ReplyKind::AuthLineTooLong);
                            self.reading = Reading::Commands;
                        }
                        LineStatus::BareLineEnding(_) => {
                            self.info
                                .push_back(ServerEvent::Violation(Violation::BareLineEnding));
                            self.fail(ReplyKind::AuthBareLineEnding);
                            self.reading = Reading::Commands;
                        }
                        LineStatus::Line(r) => {
                            let line = input.get(r);
                            if let Some(ev) = self.on_auth_line(stage, line) {
                                return Some(ev);
                            }
                        }
                    }
                }
                Reading::Commands | Reading::Refused => {
                    let limit = self.line_limit();
                    // Known before framing: an overlong line is dropped by
                    // the framer, and a line with a bare line ending is
                    // never parsed.
                    if input.peek().starts_with(&TLS_HANDSHAKE) {
                        // A TLS record where a command line starts: a
                        // client speaking TLS to a plaintext port, or a
                        // driver that did not run TLS (RFC 8314 3.3).
                        self.violation(Violation::TlsHandshakeAsCommand, true);
                        continue;
                    }
                    let bdat_verb = is_bdat_verb(input.peek());
                    match input.next_line_shared(limit, self.cfg.line_ending) {
                        LineStatus::Pending => return None,
                        LineStatus::TooLong => {
                            self.info
                                .push_back(ServerEvent::Violation(Violation::LineTooLong));
                            if bdat_verb && self.bdat_unframable() {
                                continue;
                            }
                            self.fail(ReplyKind::LineTooLong);
                        }
                        LineStatus::BareLineEnding(_) => {
                            self.info
                                .push_back(ServerEvent::Violation(Violation::BareLineEnding));
                            if bdat_verb && self.bdat_unframable() {
                                continue;
                            }
                            self.fail(ReplyKind::BareLineEnding);
                        }
                        LineStatus::Line(r) => {
                            let more = !input.is_empty();
                            let opts = self.command_options();
                            let line = input.get(r);
                            match Command::parse_line(line, &opts) {
                                Ok(cmd) => {
                                    let chunk = match cmd {
                                        Command::Bdat { size, .. } => Some(size),
                                        _ => None,
                                    };
                                    let ev = self.on_command_line(cmd, more);
                                    if let Some(size) = chunk {
                                        self.skip_refused_chunk(size);
                                    }
                                    if let Some(ev) = ev {
                                        return Some(ev);
                                    }
                                }
                                Err(_) if is_bdat_verb(line) && self.bdat_unframable() => {}
                                Err(e) => {
                                    if matches!(self.reading, Reading::Refused) {
                                        self.fail(ReplyKind::BadSequence);
                                    } else {
                                        self.parse_error(e.error);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Bytes arrived (RFC 3207 4: never executed while awaiting TLS;
    /// RFC 2920 3.1: not behind an unanswered group-ending command).
    pub(super) fn on_receive(&mut self, input: &mut InputBuffer, bytes: &[u8]) {
        match self.reading {
            Reading::Closed { .. } => {}
            // The header and whatever follows it are buffered: the decoder
            // runs in `step`, and the bytes behind a complete header are
            // judged there (early talker) and read as commands.
            Reading::ProxyHeader(_) => input.receive(bytes),
            Reading::AwaitTls if self.cfg.mutant.is(Mutant::StartTlsInjection) => {
                input.receive(bytes);
            }
            Reading::AwaitTls if bytes.first() == Some(&TLS_HANDSHAKE[0]) => {
                // The client's ClientHello reached the machine: the driver
                // did not hand the connection to TLS after the 220.
                self.violation(Violation::TlsNotUpgraded, true);
            }
            Reading::AwaitTls => {
                // Plaintext after the 220 to STARTTLS and before the
                // handshake: never executed (CVE-2011-0411 class).
                self.violation(Violation::StartTlsInjection, true);
            }
            _ if self.cfg.early_talker && self.before_greeting() => {
                self.say(ReplyKind::EarlyTalker);
                self.violation(Violation::EarlyTalker, true);
            }
            _ => {
                if self.sync == Sync::GroupEndUnsent
                    && self.cfg.pipelining_sync
                    && !self.cfg.mutant.is(Mutant::PipeliningSync)
                {
                    // Bytes behind a group-ending command whose reply has
                    // not gone out yet (RFC 2920 3.1).
                    self.sync_violation();
                } else {
                    input.receive(bytes);
                }
            }
        }
    }

    /// The client closed its sending side: any message in progress is
    /// dropped and the machine closes without a reply.
    pub(super) fn on_eof(&mut self) {
        match self.reading {
            Reading::Closed { .. } => return,
            Reading::ProxyHeader(_) => {
                // PROXY protocol section 2: no greeting without the header.
                self.violation(Violation::ProxyHeaderIncomplete, true);
                return;
            }
            _ => {}
        }
        if self.in_content() {
            self.info
                .push_back(ServerEvent::MessageAborted(AbortReason::Closed));
        }
        self.close();
    }

    /// The TLS handshake asked for by STARTTLS is done (RFC 3207 4.2):
    /// nothing received before it is kept. `false` if TLS was not asked for.
    pub(super) fn on_tls_established(&mut self, input: &mut InputBuffer) -> bool {
        if !matches!(self.reading, Reading::AwaitTls) {
            return false;
        }
        // RFC 3207 4.2: TLS, and nothing learned before (AUTH was forgotten
        // at the 220).
        self.security = Security::Tls;
        if !self.cfg.mutant.is(Mutant::StartTlsInjection) {
            input.clear();
        }
        self.reading = Reading::Commands;
        true
    }

    /// The RFC 5321 4.5.3.2 timeout passed: 421 4.4.2 and close.
    pub(super) fn on_timeout(&mut self) {
        match self.reading {
            Reading::Closed { .. } => return,
            Reading::ProxyHeader(_) => {
                // No reply before the header: the peer may be a proxy that
                // has not spoken yet, and nothing may precede the greeting.
                self.violation(Violation::ProxyHeaderTimeout, true);
                return;
            }
            _ => {}
        }
        self.say(ReplyKind::Timeout);
        if self.in_content() {
            self.info
                .push_back(ServerEvent::MessageAborted(AbortReason::Closed));
        }
        self.close();
    }

    /// Whether a decision (accept, respond, reject) is awaited.
    pub(super) fn awaits_decision(&self) -> bool {
        self.pending.is_some()
    }

    /// The application's decision on the pending event: `None` accepts
    /// with the default reply. Does nothing if none is pending.
    pub(super) fn decide(&mut self, reply: Option<OwnedReply>) {
        if let Some(p) = self.pending.take() {
            self.apply_decision(p, reply);
        }
    }

    /// LMTP (RFC 2033 4.2): one reply per accepted recipient.
    pub(super) fn decide_each(
        &mut self,
        replies: Vec<OwnedReply>,
    ) -> Result<(), Misuse<Vec<OwnedReply>>> {
        if self.pending != Some(Pending::Message) || replies.len() != self.recipients() {
            return Err(Misuse(replies));
        }
        self.pending = None;
        for r in &replies {
            self.write_owned(r);
        }
        self.finish_message();
        Ok(())
    }

    /// A SASL challenge for an application-run mechanism (RFC 4954 4).
    pub(super) fn decide_challenge(&mut self, challenge: &[u8]) -> Result<(), Misuse<()>> {
        let Some(Pending::AuthStep(mech)) = self.pending else {
            return Err(Misuse(()));
        };
        self.pending = None;
        let enc = sasl::encode_base64(challenge);
        self.reply_fmt(334, None, format_args!("{enc}"));
        self.reading = Reading::AuthResponse(AuthStage::Step(mech));
        Ok(())
    }

    /// An error reply that counts towards `max_errors`.
    pub(super) fn fail(&mut self, kind: ReplyKind) {
        self.say(kind);
        self.count_error();
    }

    pub(super) fn count_error(&mut self) {
        self.errors += 1;
        if self.errors >= self.cfg.max_errors && !matches!(self.reading, Reading::Closed { .. }) {
            self.say(ReplyKind::TooManyErrors);
            self.violation(Violation::TooManyErrors, true);
        }
    }

    pub(super) fn violation(&mut self, v: Violation, close: bool) {
        self.info.push_back(ServerEvent::Violation(v));
        if close {
            self.close();
        }
    }

    /// A line whose verb is BDAT was refused before its chunk size was
    /// known (RFC 3030 2): the chunk cannot be skipped, so nothing after it
    /// may be parsed. Answers [`ReplyKind::BdatUnframable`] and closes;
    /// returns `false` (and does nothing) when the rule is disabled by a
    /// self-test mutant.
    pub(super) fn bdat_unframable(&mut self) -> bool {
        if self.cfg.mutant.is(Mutant::BdatUnframable) {
            return false;
        }
        if self.in_content() {
            self.info
                .push_back(ServerEvent::MessageAborted(AbortReason::Closed));
        }
        self.say(ReplyKind::BdatUnframable);
        self.violation(Violation::BdatUnframable, true);
        true
    }

    /// After a well-formed `BDAT size` command (RFC 3030 2): if it did not
    /// start reading its chunk (whichever check refused it: 530, 502, 503,
    /// 554, 552, a refused greeting...), its `size` octets are read and
    /// discarded, never parsed as commands.
    pub(super) fn skip_refused_chunk(&mut self, size: u64) {
        if size == 0 || self.cfg.mutant.is(Mutant::BdatChunkSkip) {
            return;
        }
        let refused = match self.reading {
            Reading::Commands => false,
            Reading::Refused => true,
            // Reading the chunk (accepted), or closed.
            _ => return,
        };
        self.reading = Reading::SkipBdat {
            remaining: size,
            refused,
        };
    }

    pub(super) fn sync_violation(&mut self) {
        self.say(ReplyKind::PipeliningSync);
        self.violation(Violation::PipeliningSync, true);
    }

    /// Whether buffered input is dropped unread: once closed, and while
    /// waiting for the TLS handshake (RFC 3207 4: nothing received before
    /// it is acted on).
    pub(super) fn drops_input(&self) -> bool {
        match self.reading {
            Reading::Closed { .. } => true,
            Reading::AwaitTls => !self.cfg.mutant.is(Mutant::StartTlsInjection),
            _ => false,
        }
    }

    /// Whether the greeting has not been answered yet (RFC 5321 3.1).
    pub(super) fn before_greeting(&self) -> bool {
        matches!(self.reading, Reading::Connecting) || self.pending == Some(Pending::Greeting)
    }

    pub(super) fn close(&mut self) {
        if !matches!(self.reading, Reading::Closed { .. }) {
            self.reading = Reading::Closed { reported: false };
        }
        self.pending = None;
        self.deferred_consume = 0;
    }

    pub(super) fn reset_transaction(&mut self) {
        // A BDAT message in progress (not yet refused) ends here, whatever
        // reset it (RSET, EHLO/HELO/LHLO): content events always end with
        // MessageComplete or MessageAborted.
        let Session::Greeted { txn, .. } = &mut self.session else {
            return;
        };
        let Some(t) = txn.take() else {
            return;
        };
        if matches!(t.content, Content::Bdat { failed: None, .. }) {
            self.info
                .push_back(ServerEvent::MessageAborted(AbortReason::Reset));
        }
        self.info.push_back(ServerEvent::Reset);
    }

    /// Ends the transaction without events (message answered or refused).
    pub(super) fn end_transaction(&mut self) {
        if let Session::Greeted { txn, .. } = &mut self.session {
            *txn = None;
        }
    }

    /// The accepted greeting command, if any.
    pub(super) fn hello(&self) -> Option<HelloKind> {
        match self.session {
            Session::Greeted { kind, .. } => Some(kind),
            Session::Fresh => None,
        }
    }

    /// The accepted greeting command's argument, if any.
    pub(super) fn client_name(&self) -> Option<&[u8]> {
        match &self.session {
            Session::Greeted { name, .. } => Some(name),
            Session::Fresh => None,
        }
    }

    /// The mail transaction, if MAIL was accepted.
    pub(super) fn txn(&self) -> Option<&Transaction> {
        match &self.session {
            Session::Greeted { txn, .. } => txn.as_ref(),
            Session::Fresh => None,
        }
    }

    fn txn_mut(&mut self) -> Option<&mut Transaction> {
        match &mut self.session {
            Session::Greeted { txn, .. } => txn.as_mut(),
            Session::Fresh => None,
        }
    }

    /// Accepted recipients of the transaction (0 without one).
    pub(super) fn recipients(&self) -> usize {
        self.txn().map_or(0, |t| t.recipients)
    }

    /// Whether a message's content has started (DATA or BDAT).
    pub(super) fn in_content(&self) -> bool {
        self.txn()
            .is_some_and(|t| !matches!(t.content, Content::None))
    }

    /// The BDAT decoder of the message in progress.
    fn bdat_decoder(&mut self) -> Option<&mut BdatDecoder> {
        match self.txn_mut().map(|t| &mut t.content) {
            Some(Content::Bdat { dec, .. }) => Some(dec),
            _ => None,
        }
    }

    // ----- what is offered ------------------------------------------------

    pub(super) fn starttls_offered(&self) -> bool {
        self.cfg.starttls
            && self.cfg.tls_available
            && !self.security.tls()
            && !self.cfg.mode.implicit_tls()
    }

    pub(super) fn mechanism_offered(&self, m: Mechanism) -> bool {
        self.cfg.mechanisms.contains(&m)
            && (self.security.tls()
                || self.cfg.plaintext_auth_without_tls
                || !m.is_plaintext()
                || self.cfg.mutant.is(Mutant::TlsBeforeAuth))
    }

    /// Whether AUTH with mechanism `m` may run now: offered (RFC 4954 4),
    /// or merely configured under the `AuthNotOffered` self-test mutant.
    pub(super) fn mechanism_usable(&self, m: Mechanism) -> bool {
        self.mechanism_offered(m)
            || (self.cfg.mutant.is(Mutant::AuthNotOffered) && self.cfg.mechanisms.contains(&m))
    }

    pub(super) fn auth_offered(&self) -> bool {
        self.cfg
            .mechanisms
            .iter()
            .any(|&m| self.mechanism_offered(m))
    }

    /// The extensions in effect: what the EHLO reply advertises, or none
    /// after HELO (RFC 5321 4.1.4).
    pub(super) fn extensions_in_effect(&self) -> Extensions {
        if self.hello() == Some(HelloKind::Helo) {
            return Extensions::NONE;
        }
        let mut e = self.cfg.extensions;
        e.remove(Extensions::STARTTLS | Extensions::AUTH);
        if !self.security.tls() {
            // RFC 8689 4: REQUIRETLS is offered only under TLS.
            e.remove(Extensions::REQUIRETLS);
        }
        if self.starttls_offered() {
            e.insert(Extensions::STARTTLS);
        }
        if self.auth_offered() {
            e.insert(Extensions::AUTH);
        }
        e
    }

    pub(super) fn command_options(&self) -> CommandOptions {
        let mut o = CommandOptions::new();
        o.limits = self.cfg.limits;
        o.extensions = self.extensions_in_effect();
        o.line_ending = self.cfg.line_ending;
        o.lenient = self.cfg.lenient;
        o.utf8_transaction = self.txn().is_some_and(|t| t.smtputf8);
        o
    }

    /// The framing limit: the longest line any command may have now.
    pub(super) fn line_limit(&self) -> usize {
        let ext = self.extensions_in_effect();
        let base = self.cfg.limits.command_line;
        let mut n = ext.mail_line_limit(base).max(ext.rcpt_line_limit(base));
        if ext.contains(Extensions::AUTH) {
            n = n.max(self.cfg.limits.auth_line);
        }
        n
    }

    pub(super) fn auth_failed(&mut self) {
        self.reading = Reading::Commands;
        self.auth_failures += 1;
        if self.auth_failures >= self.cfg.max_auth_failures {
            self.say(ReplyKind::TooManyAuthFailures);
            self.violation(Violation::TooManyAuthFailures, true);
        }
    }

    pub(super) fn finish_message(&mut self) {
        self.end_transaction();
        if !matches!(self.reading, Reading::Closed { .. }) {
            self.reading = Reading::Commands;
        }
    }

    // ----- content ----------------------------------------------------------

    /// DATA content ended (RFC 5321 4.1.1.4) with `outcome`.
    pub(super) fn end_content(&mut self, outcome: Option<DataOutcome>, size: u64, _data: bool) {
        self.reading = Reading::Commands;
        match outcome {
            Some(DataOutcome::Complete) | None if self.txn().is_some_and(|t| t.nul) => {
                let reason = self.nul_failure(true);
                self.info.push_back(ServerEvent::MessageAborted(reason));
                self.end_transaction();
            }
            Some(DataOutcome::Complete) | None => {
                self.pending = Some(Pending::Message);
                self.info.push_back(ServerEvent::MessageComplete {
                    size,
                    recipients: self.recipients(),
                });
            }
            Some(other) => {
                let reason = self.content_failure(other, true);
                self.info.push_back(ServerEvent::MessageAborted(reason));
                self.end_transaction();
            }
        }
    }

    /// What one content decoder step (DATA or BDAT) means for the event
    /// loop: a piece to hand out (its input is consumed on the next call),
    /// a need for more input, or a step to consume and go on.
    pub(super) fn content_step<'b>(&mut self, avail: &'b [u8], step: &DataStep) -> ContentStep<'b> {
        let piece: &'b [u8] = match step.piece {
            Piece::Input(ref r) => avail.get(r.clone()).unwrap_or(&[]),
            Piece::Static(s) => s,
            Piece::None if step.consumed == 0 && !step.done => return ContentStep::NeedInput,
            Piece::None => &[],
        };
        if !piece.is_empty() && self.admit_content(piece) {
            self.deferred_consume = step.consumed;
            ContentStep::Deliver(piece)
        } else {
            ContentStep::Continue
        }
    }

    /// Whether a content piece may be delivered: under the `Reject` policy
    /// a NUL octet (RFC 5321 2.3.8 / RFC 5322 2.3: not allowed in text;
    /// BINARYMIME content through BDAT excepted) stops delivery, and the
    /// message is refused once its end has been read.
    pub(super) fn admit_content(&mut self, piece: &[u8]) -> bool {
        let reject = self.cfg.line_ending == LineEndingPolicy::Reject;
        let Some(t) = self.txn_mut() else {
            return true;
        };
        if t.nul {
            return false;
        }
        if reject && t.body != Some(Body::BinaryMime) && memchr::memchr(0, piece).is_some() {
            t.nul = true;
            return false;
        }
        true
    }

    /// Replies to a message refused for a NUL octet (`per_recipient`: one
    /// reply per recipient in LMTP, RFC 2033 4.2).
    pub(super) fn nul_failure(&mut self, per_recipient: bool) -> AbortReason {
        let n = if per_recipient && self.cfg.mode == PortMode::Lmtp {
            self.recipients().max(1)
        } else {
            1
        };
        for _ in 0..n {
            self.say(ReplyKind::ContentNul);
        }
        AbortReason::Nul
    }

    /// Replies to a content failure and names it (`per_recipient`: one
    /// reply per recipient in LMTP, RFC 2033 4.2).
    pub(super) fn content_failure(
        &mut self,
        outcome: DataOutcome,
        per_recipient: bool,
    ) -> AbortReason {
        let n = if per_recipient && self.cfg.mode == PortMode::Lmtp {
            self.recipients().max(1)
        } else {
            1
        };
        let (reason, kind) = match outcome {
            DataOutcome::TooBig => (AbortReason::TooBig, ReplyKind::MessageTooBig),
            DataOutcome::LineTooLong => (AbortReason::LineTooLong, ReplyKind::ContentLineTooLong),
            _ => (
                AbortReason::BareLineEnding,
                ReplyKind::ContentBareLineEnding,
            ),
        };
        for _ in 0..n {
            self.say(kind);
        }
        reason
    }

    /// A BDAT chunk was read completely (RFC 3030 2).
    ///
    /// A failure (bare line ending, NUL, over the size limit) is refused at
    /// the chunk where it becomes known, LAST or not (RFC 3030 2 allows a
    /// 5xx to any BDAT). The transaction then stays open and failed: every
    /// further BDAT of it (the client MUST NOT send any, but pipelined ones
    /// may be on the way) is read, discarded and answered
    /// [`ReplyKind::MessageAlreadyRefused`], until its LAST chunk or a
    /// reset (RSET, EHLO, HELO, LHLO) ends the transaction.
    pub(super) fn end_bdat_chunk(&mut self, last: bool) {
        self.reading = Reading::Commands;
        let Some(Transaction {
            content: Content::Bdat { dec, failed },
            nul,
            ..
        }) = self.txn()
        else {
            return;
        };
        let (size, failure, refused, nul) = (dec.size(), dec.failure(), failed.is_some(), *nul);
        if refused {
            self.say(ReplyKind::MessageAlreadyRefused);
            if last {
                self.finish_message();
            }
            return;
        }
        // In LMTP, one reply per recipient answers only the LAST chunk
        // (RFC 2033 4.2); an earlier chunk gets one reply.
        let reason = if let Some(o) = failure {
            Some(self.content_failure(o, last))
        } else if nul {
            Some(self.nul_failure(last))
        } else {
            None
        };
        if let Some(r) = reason {
            self.info.push_back(ServerEvent::MessageAborted(r));
            if last {
                self.finish_message();
            } else {
                if let Some(Transaction {
                    content: Content::Bdat { failed, .. },
                    ..
                }) = self.txn_mut()
                {
                    *failed = Some(r);
                }
            }
            return;
        }
        if !last {
            self.reply_chunk_received(size);
            return;
        }
        self.pending = Some(Pending::Message);
        self.info.push_back(ServerEvent::MessageComplete {
            size,
            recipients: self.recipients(),
        });
    }

    // ----- AUTH ---------------------------------------------------------------

    pub(super) fn on_auth_line<'a>(
        &mut self,
        stage: AuthStage,
        line: &'a [u8],
    ) -> Option<ServerEvent<'a>> {
        self.reading = Reading::Commands;
        if line == b"*" {
            // RFC 4954 4: the client cancels the exchange.
            self.fail(ReplyKind::AuthCancelled);
            return None;
        }
        let Ok(decoded) = sasl::decode_base64(line) else {
            self.fail(ReplyKind::InvalidBase64);
            return None;
        };
        match stage {
            AuthStage::Initial(m) => self.auth_payload(m, decoded),
            AuthStage::LoginUser => match String::from_utf8(decoded) {
                Ok(u) if !u.is_empty() => {
                    let p = sasl::encode_base64(sasl::LOGIN_PASSWORD_PROMPT);
                    self.reply_fmt(334, None, format_args!("{p}"));
                    self.reading = Reading::AuthResponse(AuthStage::LoginPassword { user: u });
                    None
                }
                _ => {
                    self.fail(ReplyKind::AuthMalformed);
                    None
                }
            },
            AuthStage::LoginPassword { user } => match String::from_utf8(decoded) {
                Ok(p) => {
                    self.pending = Some(Pending::Auth(Mechanism::Login));
                    Some(ServerEvent::Auth(AuthRequest::Credentials {
                        mechanism: Mechanism::Login,
                        credentials: Credentials::Password {
                            authzid: String::new(),
                            username: user,
                            password: Secret::new(p),
                        },
                    }))
                }
                Err(_) => {
                    self.fail(ReplyKind::AuthMalformed);
                    None
                }
            },
            AuthStage::Step(m) => {
                self.pending = Some(Pending::AuthStep(m));
                Some(ServerEvent::Auth(AuthRequest::Step {
                    mechanism: m,
                    response: Some(Secret::new(decoded)),
                }))
            }
        }
    }

    /// A decoded client-first payload of a built-in mechanism.
    pub(super) fn auth_payload<'a>(
        &mut self,
        m: Mechanism,
        payload: Vec<u8>,
    ) -> Option<ServerEvent<'a>> {
        let parsed = match m {
            Mechanism::Plain => sasl::parse_plain(&payload),
            Mechanism::XOAuth2 => sasl::parse_xoauth2(&payload),
            Mechanism::OAuthBearer => sasl::parse_oauthbearer(&payload),
            _ => {
                self.pending = Some(Pending::AuthStep(m));
                return Some(ServerEvent::Auth(AuthRequest::Step {
                    mechanism: m,
                    response: Some(Secret::new(payload)),
                }));
            }
        };
        match parsed {
            Ok(credentials) => {
                self.pending = Some(Pending::Auth(m));
                Some(ServerEvent::Auth(AuthRequest::Credentials {
                    mechanism: m,
                    credentials,
                }))
            }
            Err(_) => {
                self.say(ReplyKind::AuthFailed);
                self.auth_failed();
                None
            }
        }
    }

    /// AUTH that passed the guards (RFC 4954 4): a 334 prompt, an
    /// application-run step, or the decoded initial response.
    pub(super) fn on_auth<'a>(
        &mut self,
        mechanism: &[u8],
        ir: Option<&[u8]>,
    ) -> Option<ServerEvent<'a>> {
        let Some(m) = Mechanism::from_name(mechanism).filter(|&m| self.mechanism_usable(m)) else {
            // Refused by the guard already; kept so that no path runs an
            // unusable mechanism.
            self.fail(ReplyKind::UnknownMechanism);
            return None;
        };
        let Some(ir) = ir else {
            return match m {
                Mechanism::Login => {
                    let p = sasl::encode_base64(sasl::LOGIN_USERNAME_PROMPT);
                    self.reply_fmt(334, None, format_args!("{p}"));
                    self.reading = Reading::AuthResponse(AuthStage::LoginUser);
                    None
                }
                Mechanism::Plain | Mechanism::XOAuth2 | Mechanism::OAuthBearer => {
                    self.reply_fmt(334, None, format_args!(""));
                    self.reading = Reading::AuthResponse(AuthStage::Initial(m));
                    None
                }
                _ => {
                    self.pending = Some(Pending::AuthStep(m));
                    Some(ServerEvent::Auth(AuthRequest::Step {
                        mechanism: m,
                        response: None,
                    }))
                }
            };
        };
        if !m.client_first() {
            // RFC 4954 4: an initial response to a server-first mechanism.
            self.fail(ReplyKind::InitialResponseNotAllowed);
            return None;
        }
        match sasl::decode_base64(ir) {
            Ok(payload) => self.auth_payload(m, payload),
            Err(_) => {
                self.fail(ReplyKind::InvalidBase64);
                None
            }
        }
    }

    // ----- the transition table ---------------------------------------------

    /// The guards, in the order they apply: the first that stops a command
    /// line answers it, and the command has no other effect (RFC 5321
    /// 4.1.4 ordering, 4.3.2 replies). `more`: input follows the line in
    /// the buffer. `None`: the command runs ([`Machine::on_command`]).
    ///
    /// One table for every check on a command, so that the rules can be
    /// read (and audited) in one place: connection-level rules first
    /// (STARTTLS injection, pipelining synchronization, a refused
    /// greeting, TLS required), then each verb's sequence and policy rules.
    pub(super) fn guard(&self, cmd: &Command<'_>, more: bool) -> Option<Refusal> {
        use Refusal::{Close, Fail, Say};
        use ReplyKind as K;
        let cfg = &*self.cfg;
        let mutant = cfg.mutant;
        let lmtp = cfg.mode == PortMode::Lmtp;
        let tls = self.security.tls();
        let exempt_before_tls = |c: &Command<'_>| {
            allowed_before_tls(c)
                || (matches!(c, Command::Auth { .. }) && mutant.is(Mutant::TlsBeforeAuth))
        };
        Some(match cmd {
            // RFC 3207 4, CVE-2011-0411 class: bytes behind STARTTLS in the
            // same input are never executed, whatever the pipelining policy.
            Command::StartTls if more && !mutant.is(Mutant::StartTlsInjection) => {
                Close(K::StartTlsInjection, Violation::StartTlsInjection)
            }
            // RFC 2920 3.1: nothing may follow a group-ending command before
            // its reply.
            c if more
                && cfg.pipelining_sync
                && ends_group(c)
                && !mutant.is(Mutant::PipeliningSync) =>
            {
                Close(K::PipeliningSync, Violation::PipeliningSync)
            }
            // RFC 5321 3.1: after a 554 greeting only QUIT is answered.
            c if matches!(self.reading, Reading::Refused) && *c != Command::Quit => {
                Fail(K::BadSequence)
            }
            // RFC 3207 4: only the commands it lists before TLS where TLS
            // is required.
            c if cfg.require_tls && !tls && !exempt_before_tls(c) => Fail(K::TlsRequired),
            // RFC 2033 4.1: LHLO, and only LHLO, in LMTP.
            Command::Ehlo { .. } | Command::Helo { .. } if lmtp => Fail(K::UseLhlo),
            Command::Lhlo { .. } if !lmtp => Fail(K::UnknownCommand),
            // RFC 5321 4.1.4, 3.3: MAIL after a greeting command, not nested.
            Command::Mail { .. } if self.hello().is_none() => Fail(K::HelloFirst),
            Command::Mail { .. } if self.txn().is_some() => Fail(K::NestedMail),
            // RFC 5321 4.1.1.11: parameters of extensions not offered.
            Command::Mail { params, .. }
                if !cfg.accept_unknown_parameters && params.unknown().next().is_some() =>
            {
                Fail(K::UnsupportedParameter)
            }
            // RFC 4954 6, RFC 6409 4.3: AUTH before MAIL where required.
            Command::Mail { .. }
                if cfg.require_auth
                    && !self.security.authenticated()
                    && !mutant.is(Mutant::AuthBeforeMail) =>
            {
                Fail(K::AuthRequired)
            }
            // RFC 1870 6: a declared size over the limit.
            Command::Mail { params, .. }
                if params.size.is_some_and(|s| s > cfg.limits.message_size) =>
            {
                Fail(K::MessageTooBig)
            }
            // RFC 8689 4: REQUIRETLS only under TLS.
            Command::Mail { params, .. } if params.requiretls && !tls => {
                Fail(K::RequireTlsNeedsTls)
            }
            // RFC 5321 3.3: RCPT inside a transaction.
            Command::Rcpt { .. } if self.txn().is_none() => Fail(K::NeedMail),
            Command::Rcpt { params, .. }
                if !cfg.accept_unknown_parameters && params.unknown().next().is_some() =>
            {
                Fail(K::UnsupportedParameter)
            }
            // RFC 5321 4.5.3.1.10: 452 for too many recipients.
            Command::Rcpt { .. } if self.recipients() >= cfg.limits.recipients => {
                Say(K::TooManyRecipients)
            }
            // RFC 5321 3.3: DATA with an accepted recipient (RFC 2033 4.2:
            // 503 in LMTP).
            Command::Data if self.txn().is_none() => Fail(K::NeedMail),
            Command::Data if self.recipients() == 0 => Fail(self.no_recipients()),
            // RFC 3030 3: BINARYMIME content only through BDAT.
            Command::Data if self.txn().is_some_and(|t| t.body == Some(Body::BinaryMime)) => {
                Fail(K::BinaryMimeNeedsBdat)
            }
            // RFC 3030 2: DATA or BDAT in one transaction, never both.
            Command::Data if self.in_content() => Fail(K::DataAfterBdat),
            // RFC 3030 2: BDAT where CHUNKING is in effect, in a transaction
            // with a recipient. A refused chunk is skipped by the caller.
            Command::Bdat { .. } if !self.extensions_in_effect().contains(Extensions::CHUNKING) => {
                Fail(K::NotImplemented)
            }
            Command::Bdat { .. } if self.txn().is_none() => Fail(K::NeedMail),
            Command::Bdat { .. } if self.recipients() == 0 => Fail(self.no_recipients()),
            Command::Bdat { .. }
                if self
                    .txn()
                    .is_some_and(|t| matches!(t.content, Content::Data)) =>
            {
                Fail(K::BdatAfterData)
            }
            // RFC 3207 4: STARTTLS once, where offered, outside a
            // transaction.
            Command::StartTls if tls => Fail(K::TlsAlreadyActive),
            Command::StartTls if !self.starttls_offered() => Fail(K::NotImplemented),
            Command::StartTls if self.txn().is_some() => Fail(K::StartTlsInTransaction),
            // RFC 4954 4: AUTH where offered (mechanisms that carry
            // passwords only under TLS unless configured), after a greeting
            // command, once, outside a transaction, with an offered
            // mechanism.
            Command::Auth { .. }
                if !(self.auth_offered()
                    || (mutant.is(Mutant::AuthNotOffered) && !cfg.mechanisms.is_empty())) =>
            {
                if !cfg.mechanisms.is_empty() && !tls {
                    Fail(K::TlsRequired)
                } else {
                    Fail(K::AuthNotAvailable)
                }
            }
            Command::Auth { .. } if self.hello().is_none() => Fail(K::HelloFirst),
            Command::Auth { .. } if self.security.authenticated() => Fail(K::AlreadyAuthenticated),
            Command::Auth { .. } if self.txn().is_some() => Fail(K::AuthInTransaction),
            Command::Auth { mechanism, .. }
                if !Mechanism::from_name(mechanism).is_some_and(|m| self.mechanism_usable(m)) =>
            {
                Fail(K::UnknownMechanism)
            }
            // RFC 1985: ETRN where offered, after a greeting command.
            Command::Etrn { .. }
                if !(cfg.extensions.contains(Extensions::ETRN) && self.hello().is_some()) =>
            {
                Fail(K::NotImplemented)
            }
            // RFC 4468: BURL is not implemented.
            Command::Burl { .. } => Fail(K::NotImplemented),
            _ => return None,
        })
    }

    /// One parsed command line: the guards, then the command.
    pub(super) fn on_command_line<'a>(
        &mut self,
        cmd: Command<'a>,
        more: bool,
    ) -> Option<ServerEvent<'a>> {
        let refusal = self.guard(&cmd, more);
        if let Some(Refusal::Close(kind, v)) = refusal {
            self.say(kind);
            self.violation(v, true);
            return None;
        }
        if ends_group(&cmd) {
            self.sync = Sync::GroupEndUnsent;
        }
        match refusal {
            Some(Refusal::Fail(kind)) => self.fail(kind),
            Some(Refusal::Say(kind)) => self.say(kind),
            Some(Refusal::Close(..)) | None => return self.on_command(cmd),
        }
        None
    }

    /// A command the guards let through (RFC 5321 4.1.4 ordering, 4.3.2
    /// replies): its transition, or the event whose decision completes it
    /// ([`Machine::apply_decision`]).
    pub(super) fn on_command<'a>(&mut self, cmd: Command<'a>) -> Option<ServerEvent<'a>> {
        match cmd {
            Command::Ehlo { domain } | Command::Helo { domain } | Command::Lhlo { domain } => {
                let kind = match cmd {
                    Command::Ehlo { .. } => HelloKind::Ehlo,
                    Command::Helo { .. } => HelloKind::Helo,
                    _ => HelloKind::Lhlo,
                };
                // RFC 5321 4.1.4: EHLO/HELO resets the transaction.
                self.reset_transaction();
                // Until the decision the session has no greeting command.
                self.session = Session::Fresh;
                self.pending = Some(Pending::Hello(kind, domain.as_bytes().to_vec()));
                Some(ServerEvent::Hello { kind, domain })
            }
            Command::Mail { from, params } => {
                self.pending = Some(Pending::Mail {
                    body: params.body,
                    smtputf8: params.smtputf8,
                });
                Some(ServerEvent::Mail { from, params })
            }
            Command::Rcpt { to, params } => {
                self.pending = Some(Pending::Rcpt);
                Some(ServerEvent::Rcpt { to, params })
            }
            Command::Data => {
                let t = self.txn_mut()?;
                t.content = Content::Data;
                self.say(ReplyKind::StartData);
                self.data = DataDecoder::new(self.cfg.line_ending, &self.cfg.limits);
                self.reading = Reading::Data;
                Some(ServerEvent::MessageStart {
                    kind: ContentKind::Data,
                })
            }
            Command::Bdat { size, last } => self.on_bdat(size, last),
            Command::Rset => {
                self.reset_transaction();
                self.say(ReplyKind::ResetOk);
                None
            }
            Command::Noop { .. } => {
                self.say(ReplyKind::NoopOk);
                None
            }
            Command::Quit => {
                self.say(ReplyKind::Bye);
                if self.in_content() {
                    self.info
                        .push_back(ServerEvent::MessageAborted(AbortReason::Closed));
                }
                self.close();
                None
            }
            Command::Help { .. } => {
                self.say(ReplyKind::Help);
                None
            }
            Command::Vrfy { arg, .. } | Command::Expn { arg, .. } => {
                let expand = matches!(cmd, Command::Expn { .. });
                self.pending = Some(Pending::Verify);
                Some(ServerEvent::Verify { arg, expand })
            }
            Command::StartTls => {
                self.say(ReplyKind::ReadyToStartTls);
                // RFC 3207 4.2: forget everything learned so far; the
                // buffered input is dropped (`drops_input`).
                self.reset_transaction();
                self.session = Session::Fresh;
                self.security = Security::Plain;
                self.reading = Reading::AwaitTls;
                self.info.push_back(ServerEvent::StartTls);
                None
            }
            Command::Auth {
                mechanism,
                initial_response,
            } => self.on_auth(mechanism, initial_response.map(|r| *r.expose())),
            Command::Etrn { node } => {
                self.pending = Some(Pending::Etrn);
                Some(ServerEvent::Etrn { node })
            }
            Command::Burl { .. } => {
                // Refused by the guard.
                self.fail(ReplyKind::NotImplemented);
                None
            }
            // Parsed only when the application puts their opt-in bits in
            // the configured extensions; the machine does not act on them
            // yet, so they are refused like any unknown verb.
            Command::Xclient { .. } | Command::Xforward { .. } => {
                self.fail(ReplyKind::UnknownCommand);
                None
            }
        }
    }

    /// DATA or BDAT without an accepted recipient: 554 (RFC 5321 3.3), but
    /// 503 in LMTP (RFC 2033 4.2).
    pub(super) fn no_recipients(&self) -> ReplyKind {
        if self.cfg.mode == PortMode::Lmtp {
            ReplyKind::LmtpNoValidRecipients
        } else {
            ReplyKind::NoValidRecipients
        }
    }

    /// A BDAT that passed the guards (RFC 3030 2): its chunk is read.
    pub(super) fn on_bdat<'a>(&mut self, size: u64, last: bool) -> Option<ServerEvent<'a>> {
        let (limits, line_ending) = (self.cfg.limits, self.cfg.line_ending);
        let t = self.txn_mut()?;
        let first = matches!(t.content, Content::None);
        if first {
            let policy = if t.body == Some(Body::BinaryMime) {
                None
            } else {
                Some(line_ending)
            };
            t.content = Content::Bdat {
                dec: BdatDecoder::new(policy, &limits),
                failed: None,
            };
        }
        if let Content::Bdat { dec, .. } = &mut t.content {
            dec.start_chunk(size, last);
        }
        self.reading = Reading::Bdat { last };
        if first {
            Some(ServerEvent::MessageStart {
                kind: ContentKind::Bdat,
            })
        } else {
            None
        }
    }

    // ----- decisions: the second half of Hello, Mail, Rcpt, message, AUTH,
    // VRFY/EXPN and ETRN transitions (the command above, the decision here)

    pub(super) fn apply_decision(&mut self, p: Pending, reply: Option<OwnedReply>) {
        let positive = reply.as_ref().is_none_or(|r| r.code.get() / 100 == 2);
        let custom_positive = positive && reply.is_some();
        if let Some(r) = &reply {
            // A custom positive EHLO reply would lose the capabilities:
            // the machine writes its own.
            if !(positive && matches!(p, Pending::Hello(HelloKind::Ehlo | HelloKind::Lhlo, _))) {
                self.write_owned(r);
            }
        }
        match p {
            Pending::Greeting => {
                if positive {
                    if !custom_positive {
                        let cfg = Arc::clone(&self.cfg);
                        let host = &cfg.hostname;
                        let proto = if self.cfg.mode == PortMode::Lmtp {
                            "LMTP"
                        } else {
                            "ESMTP"
                        };
                        self.reply_fmt(220, None, format_args!("{host} {proto} ready"));
                    }
                    self.reading = Reading::Commands;
                } else if reply.as_ref().is_some_and(|r| r.code.get() == 421) {
                    self.close();
                } else {
                    self.reading = Reading::Refused;
                }
            }
            Pending::Hello(kind, name) => {
                if positive {
                    self.session = Session::Greeted {
                        kind,
                        name,
                        txn: None,
                    };
                    // A custom HELO reply was written above; EHLO and LHLO
                    // always get the machine's, which lists the extensions.
                    if !(custom_positive && kind == HelloKind::Helo) {
                        self.write_hello_reply(kind);
                    }
                } else {
                    self.session = Session::Fresh;
                    self.count_error();
                }
            }
            Pending::Mail { body, smtputf8 } => {
                if positive {
                    if !custom_positive {
                        self.say(ReplyKind::SenderOk);
                    }
                    if let Session::Greeted { txn, .. } = &mut self.session {
                        *txn = Some(Transaction {
                            body,
                            smtputf8,
                            recipients: 0,
                            content: Content::None,
                            nul: false,
                        });
                    }
                }
            }
            Pending::Rcpt => {
                if positive {
                    if !custom_positive {
                        self.say(ReplyKind::RecipientOk);
                    }
                    if let Some(t) = self.txn_mut() {
                        t.recipients += 1;
                    }
                }
            }
            Pending::Message => {
                let n = if self.cfg.mode == PortMode::Lmtp {
                    self.recipients()
                } else {
                    1
                };
                match &reply {
                    None => {
                        for _ in 0..n {
                            self.say(ReplyKind::MessageAccepted);
                        }
                    }
                    Some(r) => {
                        // The same reply for every remaining recipient.
                        for _ in 1..n {
                            self.write_owned(r);
                        }
                    }
                }
                self.finish_message();
            }
            Pending::Auth(m) | Pending::AuthStep(m) => {
                if positive {
                    if !custom_positive {
                        self.say(ReplyKind::AuthSucceeded);
                    }
                    self.security = self.security.authenticate(m);
                    self.reading = Reading::Commands;
                } else {
                    if reply.is_none() {
                        self.say(ReplyKind::AuthFailed);
                    }
                    self.auth_failed();
                }
            }
            Pending::Verify => {
                if reply.is_none() {
                    self.say(ReplyKind::CannotVerify);
                }
            }
            Pending::Etrn => {
                if reply.is_none() {
                    self.say(ReplyKind::EtrnStarted);
                }
            }
        }
    }
}
