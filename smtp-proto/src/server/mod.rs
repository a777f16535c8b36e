//! The server state machine (RFC 5321 sections 3 and 4, RFC 3207, RFC 4954,
//! RFC 2920, RFC 3030, RFC 2033).
//!
//! Every rule that changes the machine's state lives in the private `state` module;
//! this module is the public API.
//!
//! # Driving it
//!
//! ```text
//! loop {
//!     read bytes from the socket      -> server.receive(&bytes)   (or receive_eof())
//!     while let Some(ev) = server.next_event() {
//!         handle ev; for events that need a decision call
//!         accept() / respond(reply) / reject(reply) / auth_challenge(..)
//!     }
//!     server.transmit(&mut out); write out to the socket
//!     if ev was StartTls: run the TLS handshake, then server.tls_established()
//!     if server.is_closed(): close the socket
//! }
//! ```
//!
//! An event that needs a decision ([`ServerEvent::needs_decision`]) stops
//! the machine: `next_event` returns `None` until the decision is made.
//!
//! # Security rules enforced here
//!
//! * STARTTLS injection (CVE-2011-0411 class): bytes that follow STARTTLS in
//!   the same input, or that arrive before [`Server::tls_established`], are
//!   never executed: the server reports a [`Violation`], answers
//!   `554 5.5.0` where it can and closes.
//! * Pipelining synchronization (RFC 2920 3.1): a command received behind a
//!   group-ending command before that command's reply went out is refused
//!   with `554 5.5.0` and the connection is closed.
//! * Smuggling: content ends only at `CRLF . CRLF`; bare LF and bare CR
//!   follow [`crate::options::LineEndingPolicy`] in commands and content alike.
//! * Bounded memory: every line has a limit and overlong lines are skipped
//!   without being stored.
//! * AUTH mechanisms that carry passwords are offered only under TLS unless
//!   [`ServerConfig::plaintext_auth_without_tls`] says otherwise.

mod config;
mod event;
mod reply;
mod state;

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::time::Duration;

use crate::command::Command;
use crate::line::{InputBuffer, LineStatus};
use crate::mutants::Mutant;
use crate::options::LineEndingPolicy;
use crate::reply::OwnedReply;
use crate::sasl;

use crate::data::DataDecoder;
use alloc::collections::VecDeque;
pub use config::ServerConfig;
pub use event::{AbortReason, AuthRequest, ContentKind, HelloKind, Misuse, ServerEvent, Violation};
pub use reply::ReplyKind;
use state::{
    AuthStage, ContentStep, Machine, Pending, Reading, Transaction, ends_group, is_bdat_verb,
};

/// The SMTP/LMTP server state machine.
///
/// See the [module documentation](self) for the driving loop.
#[derive(Debug, Clone)]
pub struct Server {
    input: InputBuffer,
    m: Machine,
}

impl Server {
    /// A server for one connection. In [`crate::PortMode::ImplicitTls`] TLS is
    /// taken as established before the first byte (RFC 8314 3.3).
    ///
    /// `cfg` is a [`ServerConfig`] or an `Arc<ServerConfig>`: pass the
    /// same `Arc` to every session of a listener to share one copy.
    pub fn new(cfg: impl Into<Arc<ServerConfig>>) -> Server {
        let cfg = cfg.into();
        let tls = cfg.mode.implicit_tls();
        Server {
            input: InputBuffer::new(),
            m: Machine {
                cfg,
                out: Vec::new(),
                reading: Reading::Greeting,
                pending: None,
                tls,
                hello: None,
                client_name: Vec::new(),
                authenticated: false,
                login_user: None,
                txn: Transaction::default(),
                data: DataDecoder::new(LineEndingPolicy::Reject, &crate::limits::Limits::RFC),
                bdat: None,
                errors: 0,
                auth_failures: 0,
                group_end_unsent: false,
                deferred_consume: 0,
                discard_input: false,
                info: VecDeque::new(),
                closed_reported: false,
            },
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.m.cfg
    }

    /// Whether TLS is active.
    pub fn is_tls(&self) -> bool {
        self.m.tls
    }

    /// Whether AUTH succeeded in this session.
    pub fn is_authenticated(&self) -> bool {
        self.m.authenticated
    }

    /// Whether the machine has closed (or asked its driver to close).
    pub fn is_closed(&self) -> bool {
        matches!(self.m.reading, Reading::Closed)
    }

    /// Whether the machine waits for [`Server::tls_established`].
    pub fn wants_tls(&self) -> bool {
        matches!(self.m.reading, Reading::AwaitTls)
    }

    /// The EHLO/HELO/LHLO argument of this session, if accepted (forgotten
    /// when TLS starts, RFC 3207 4.2).
    pub fn client_name(&self) -> Option<&[u8]> {
        self.m.hello.map(|_| self.m.client_name.as_slice())
    }

    /// Bytes waiting in the input buffer.
    pub fn buffered(&self) -> usize {
        self.input.len().saturating_sub(self.m.deferred_consume)
    }

    fn sync_input(&mut self) {
        if self.m.deferred_consume > 0 {
            self.input.consume(self.m.deferred_consume);
            self.m.deferred_consume = 0;
        }
        if self.m.discard_input {
            self.input.clear();
            self.m.discard_input = false;
        }
    }

    /// Feeds bytes received from the client. Only buffers; parsing happens
    /// in [`Server::next_event`].
    pub fn receive(&mut self, bytes: &[u8]) {
        self.sync_input();
        if bytes.is_empty() {
            return;
        }
        let m = &mut self.m;
        match m.reading {
            Reading::Closed => {}
            Reading::AwaitTls if m.cfg.mutant.is(Mutant::StartTlsInjection) => {
                self.input.receive(bytes);
            }
            Reading::AwaitTls => {
                // Plaintext after the 220 to STARTTLS and before the
                // handshake: never executed (CVE-2011-0411 class).
                m.violation(Violation::StartTlsInjection, true);
            }
            Reading::Greeting if m.cfg.early_talker => {
                m.say(ReplyKind::EarlyTalker);
                m.violation(Violation::EarlyTalker, true);
            }
            _ => {
                if m.group_end_unsent
                    && m.cfg.pipelining_sync
                    && !m.cfg.mutant.is(Mutant::PipeliningSync)
                {
                    // Bytes behind a group-ending command whose reply has
                    // not gone out yet (RFC 2920 3.1).
                    m.sync_violation();
                } else {
                    self.input.receive(bytes);
                }
            }
        }
        self.sync_input();
    }

    /// The client closed its sending side. Any message in progress is
    /// dropped; the machine closes without a reply.
    pub fn receive_eof(&mut self) {
        self.sync_input();
        if self.is_closed() {
            return;
        }
        if self.m.txn.content.is_some() {
            self.m
                .info
                .push_back(ServerEvent::MessageAborted(AbortReason::Closed));
        }
        self.m.close();
        self.sync_input();
    }

    /// The TLS handshake that [`ServerEvent::StartTls`] asked for is done.
    /// Everything learned before is forgotten and a new EHLO is required
    /// (RFC 3207 4.2). Returns `false`, and does nothing, if TLS was not
    /// requested.
    pub fn tls_established(&mut self) -> bool {
        if !self.wants_tls() {
            return false;
        }
        self.m.tls = true;
        if !self.m.cfg.mutant.is(Mutant::StartTlsInjection) {
            self.input.clear();
        }
        self.m.reading = Reading::Commands;
        true
    }

    /// The RFC 5321 4.5.3.2 server timeout for the current state: 5
    /// minutes while reading commands or content, none while a decision or
    /// a handshake is pending. The driver owns the clock and calls
    /// [`Server::handle_timeout`] when it passes.
    pub fn timeout(&self) -> Option<Duration> {
        match self.m.reading {
            Reading::Closed | Reading::AwaitTls => None,
            _ if self.m.pending.is_some() => None,
            _ => Some(Duration::from_secs(5 * 60)),
        }
    }

    /// The timeout passed: answers 421 4.4.2 and closes (RFC 5321 4.5.3.2).
    pub fn handle_timeout(&mut self) {
        if self.is_closed() {
            return;
        }
        self.m.say(ReplyKind::Timeout);
        if self.m.txn.content.is_some() {
            self.m
                .info
                .push_back(ServerEvent::MessageAborted(AbortReason::Closed));
        }
        self.m.close();
        self.sync_input();
    }

    /// Appends every pending output byte to `out`.
    pub fn transmit(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.m.out);
        self.m.out.clear();
        self.m.group_end_unsent = false;
    }

    /// Whether output is waiting for [`Server::transmit`].
    pub fn has_output(&self) -> bool {
        !self.m.out.is_empty()
    }

    /// Accepts the pending decision with the default positive reply.
    pub fn accept(&mut self) -> Result<(), Misuse<()>> {
        self.sync_input();
        let Some(p) = self.m.pending.take() else {
            return Err(Misuse(()));
        };
        self.m.apply_decision(p, None);
        Ok(())
    }

    /// Answers the pending decision with `reply`: a 2xx reply accepts (with
    /// that text), a 4xx or 5xx reply refuses. For a greeting, a 554
    /// refuses the session (RFC 5321 3.1).
    pub fn respond(&mut self, reply: OwnedReply) -> Result<(), Misuse<OwnedReply>> {
        self.sync_input();
        let Some(p) = self.m.pending else {
            return Err(Misuse(reply));
        };
        if !matches!(reply.code.get() / 100, 2 | 4 | 5) {
            return Err(Misuse(reply));
        }
        self.m.pending = None;
        self.m.apply_decision(p, Some(reply));
        Ok(())
    }

    /// Refuses the pending decision with `reply`, which must be 4xx or 5xx.
    pub fn reject(&mut self, reply: OwnedReply) -> Result<(), Misuse<OwnedReply>> {
        if !matches!(reply.code.get() / 100, 4 | 5) {
            return Err(Misuse(reply));
        }
        self.respond(reply)
    }

    /// LMTP (RFC 2033 4.2): answers a [`ServerEvent::MessageComplete`] with
    /// one reply per accepted recipient, in RCPT order. `replies` must hold
    /// exactly that many.
    pub fn respond_each(
        &mut self,
        replies: Vec<OwnedReply>,
    ) -> Result<(), Misuse<Vec<OwnedReply>>> {
        let m = &mut self.m;
        if m.pending != Some(Pending::Message) || replies.len() != m.txn.recipients {
            return Err(Misuse(replies));
        }
        m.pending = None;
        for r in &replies {
            m.write_owned(r);
        }
        m.finish_message();
        Ok(())
    }

    /// Sends a SASL challenge (`334` + base64) for an application-run
    /// mechanism ([`AuthRequest::Step`], RFC 4954 4).
    pub fn auth_challenge(&mut self, challenge: &[u8]) -> Result<(), Misuse<()>> {
        let m = &mut self.m;
        let Some(Pending::AuthStep(mech)) = m.pending else {
            return Err(Misuse(()));
        };
        m.pending = None;
        let enc = sasl::encode_base64(challenge);
        m.reply_fmt(334, None, format_args!("{enc}"));
        m.reading = Reading::AuthResponse(AuthStage::Step(mech));
        Ok(())
    }

    /// The next event, or `None` when the machine needs more input, waits
    /// for a decision, or is closed (after reporting [`ServerEvent::Closed`]).
    pub fn next_event(&mut self) -> Option<ServerEvent<'_>> {
        self.sync_input();
        let Server { input, m } = self;
        let input = &*input;
        loop {
            if let Some(ev) = m.info.pop_front() {
                return Some(ev);
            }
            if m.pending.is_some() {
                return None;
            }
            if m.discard_input {
                input.discard_shared();
                m.discard_input = false;
            }
            match &mut m.reading {
                Reading::Closed => {
                    if m.closed_reported {
                        return None;
                    }
                    m.closed_reported = true;
                    return Some(ServerEvent::Closed);
                }
                Reading::Greeting => {
                    m.pending = Some(Pending::Greeting);
                    return Some(ServerEvent::Connected);
                }
                Reading::AwaitTls => return None,
                Reading::Data => {
                    let avail = input.peek();
                    let step = m.data.decode(avail);
                    if step.done {
                        let outcome = m.data.outcome();
                        let size = m.data.size();
                        m.reading = Reading::DataEnd(outcome, size);
                    }
                    match m.content_step(avail, &step) {
                        ContentStep::Deliver(p) => return Some(ServerEvent::MessageData(p)),
                        ContentStep::NeedInput => return None,
                        ContentStep::Continue => input.consume_shared(step.consumed),
                    }
                }
                Reading::DataEnd(outcome, size) => {
                    let (outcome, size) = (*outcome, *size);
                    m.end_content(outcome, size, true);
                }
                Reading::Bdat { last } => {
                    let last = *last;
                    let avail = input.peek();
                    let Some(dec) = m.bdat.as_mut() else {
                        m.reading = Reading::Commands;
                        continue;
                    };
                    let step = dec.decode(avail);
                    if step.done {
                        m.reading = Reading::BdatEnd { last };
                    }
                    match m.content_step(avail, &step) {
                        ContentStep::Deliver(p) => return Some(ServerEvent::MessageData(p)),
                        ContentStep::NeedInput => return None,
                        ContentStep::Continue => input.consume_shared(step.consumed),
                    }
                }
                Reading::BdatEnd { last } => {
                    let last = *last;
                    m.end_bdat_chunk(last);
                }
                Reading::SkipBdat { remaining, refused } => {
                    let n = (input.len() as u64).min(*remaining);
                    if n == 0 {
                        return None;
                    }
                    *remaining -= n;
                    input.consume_shared(n as usize);
                    if *remaining == 0 {
                        m.reading = if *refused {
                            Reading::Refused
                        } else {
                            Reading::Commands
                        };
                    }
                }
                Reading::AuthResponse(stage) => {
                    let stage = *stage;
                    match input.next_line_shared(m.cfg.limits.auth_line, m.cfg.line_ending) {
                        LineStatus::Pending => return None,
                        LineStatus::TooLong => {
                            m.fail(ReplyKind::AuthLineTooLong);
                            m.reading = Reading::Commands;
                        }
                        LineStatus::BareLineEnding(_) => {
                            m.info
                                .push_back(ServerEvent::Violation(Violation::BareLineEnding));
                            m.fail(ReplyKind::AuthBareLineEnding);
                            m.reading = Reading::Commands;
                        }
                        LineStatus::Line(r) => {
                            let line = input.get(r);
                            if let Some(ev) = m.on_auth_line(stage, line) {
                                return Some(ev);
                            }
                        }
                    }
                }
                Reading::Commands | Reading::Refused => {
                    let limit = m.line_limit();
                    // Known before framing: an overlong line is dropped by
                    // the framer, and a line with a bare line ending is
                    // never parsed.
                    let bdat_verb = is_bdat_verb(input.peek());
                    match input.next_line_shared(limit, m.cfg.line_ending) {
                        LineStatus::Pending => return None,
                        LineStatus::TooLong => {
                            m.info
                                .push_back(ServerEvent::Violation(Violation::LineTooLong));
                            if bdat_verb && m.bdat_unframable() {
                                continue;
                            }
                            m.fail(ReplyKind::LineTooLong);
                        }
                        LineStatus::BareLineEnding(_) => {
                            m.info
                                .push_back(ServerEvent::Violation(Violation::BareLineEnding));
                            if bdat_verb && m.bdat_unframable() {
                                continue;
                            }
                            m.fail(ReplyKind::BareLineEnding);
                        }
                        LineStatus::Line(r) => {
                            let more = !input.is_empty();
                            let opts = m.command_options();
                            let line = input.get(r);
                            match Command::parse_line(line, &opts) {
                                Ok(cmd) => {
                                    if more
                                        && cmd == Command::StartTls
                                        && !m.cfg.mutant.is(Mutant::StartTlsInjection)
                                    {
                                        // Bytes behind STARTTLS in the same input are
                                        // never executed, whatever the pipelining
                                        // policy (CVE-2011-0411 class).
                                        m.say(ReplyKind::StartTlsInjection);
                                        m.violation(Violation::StartTlsInjection, true);
                                        continue;
                                    }
                                    if more
                                        && m.cfg.pipelining_sync
                                        && ends_group(&cmd)
                                        && !m.cfg.mutant.is(Mutant::PipeliningSync)
                                    {
                                        m.sync_violation();
                                        continue;
                                    }
                                    if ends_group(&cmd) {
                                        m.group_end_unsent = true;
                                    }
                                    let chunk = match cmd {
                                        Command::Bdat { size, .. } => Some(size),
                                        _ => None,
                                    };
                                    let ev = m.on_command(cmd);
                                    if let Some(size) = chunk {
                                        m.skip_refused_chunk(size);
                                    }
                                    if let Some(ev) = ev {
                                        return Some(ev);
                                    }
                                }
                                Err(_) if is_bdat_verb(line) && m.bdat_unframable() => {}
                                Err(e) => {
                                    if matches!(m.reading, Reading::Refused) {
                                        m.fail(ReplyKind::BadSequence);
                                    } else {
                                        m.parse_error(e.error);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
