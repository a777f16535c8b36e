//! The server state machine (RFC 5321 sections 3 and 4, RFC 3207, RFC 4954,
//! RFC 2920, RFC 3030, RFC 2033).
//!
//! Every rule that changes the machine's state lives in the private
//! `state.rs` (the state types and every transition); this module is the
//! public API, `config.rs` the configuration, `event.rs` the events,
//! `reply.rs` the [`ReplyKind`] table and the one reply writer.
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

use crate::line::InputBuffer;
use crate::reply::OwnedReply;

pub use crate::session::{Decided, HelloKind, Misuse};
pub use config::ServerConfig;
pub use event::{AbortReason, AuthRequest, ContentKind, ProxyOrigin, ServerEvent, Violation};
pub use reply::ReplyKind;
use state::{Machine, Reading};

/// The SMTP/LMTP server state machine: one connection's server side.
///
/// See the crate documentation for a complete loop.
///
/// # Examples
///
/// ```
/// use smtp_sansio::{OwnedReply, PortMode, Server, ServerConfig, ServerEvent};
///
/// let mut server = Server::new(ServerConfig::new(PortMode::Relay, "mx.example.net"));
/// // The greeting is a decision: refuse this connection (RFC 5321 3.1).
/// assert_eq!(server.next_event(), Some(ServerEvent::Connected));
/// server.reject(OwnedReply::from_parts(554, "5.7.1", "Not here").unwrap());
/// let mut out = Vec::new();
/// server.transmit(&mut out);
/// assert_eq!(out, b"554 5.7.1 Not here\r\n");
///
/// // Every command but QUIT is now answered 503 (RFC 5321 3.1).
/// server.receive(b"EHLO client.example.org\r\n");
/// while server.next_event().is_some() {}
/// out.clear();
/// server.transmit(&mut out);
/// assert!(out.starts_with(b"503 "));
/// server.receive(b"QUIT\r\n");
/// while server.next_event().is_some() {}
/// assert!(server.is_closed());
/// ```
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
        Server {
            input: InputBuffer::new(),
            m: Machine::new(cfg.into()),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.m.cfg
    }

    /// Whether TLS is active.
    pub fn is_tls(&self) -> bool {
        self.m.security.tls()
    }

    /// Whether AUTH succeeded in this session.
    pub fn is_authenticated(&self) -> bool {
        self.m.security.authenticated()
    }

    /// Whether the machine has closed (or asked its driver to close).
    pub fn is_closed(&self) -> bool {
        matches!(self.m.reading, Reading::Closed { .. })
    }

    /// Whether the machine waits for [`Server::tls_established`].
    pub fn wants_tls(&self) -> bool {
        matches!(self.m.reading, Reading::AwaitTls)
    }

    /// The EHLO/HELO/LHLO argument of this session, if accepted (forgotten
    /// when TLS starts, RFC 3207 4.2).
    pub fn client_name(&self) -> Option<&[u8]> {
        self.m.client_name()
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
        if self.m.drops_input() {
            self.input.clear();
        }
    }

    /// Feeds bytes received from the client. Only buffers; parsing happens
    /// in [`Server::next_event`].
    pub fn receive(&mut self, bytes: &[u8]) {
        self.sync_input();
        if bytes.is_empty() {
            return;
        }
        self.m.on_receive(&mut self.input, bytes);
        self.sync_input();
    }

    /// The client closed its sending side. Any message in progress is
    /// dropped; the machine closes without a reply.
    pub fn receive_eof(&mut self) {
        self.sync_input();
        self.m.on_eof();
        self.sync_input();
    }

    /// The TLS handshake that [`ServerEvent::StartTls`] asked for is done.
    /// Everything learned before is forgotten and a new EHLO is required
    /// (RFC 3207 4.2). Returns `false`, and does nothing, if TLS was not
    /// requested.
    pub fn tls_established(&mut self) -> bool {
        self.m.on_tls_established(&mut self.input)
    }

    /// The RFC 5321 4.5.3.2 server timeout for the current state: 5
    /// minutes while reading commands or content, and while reading the
    /// PROXY protocol header (the initial 220 timeout of RFC 5321
    /// 4.5.3.2.1: the header stands before the greeting), none while a
    /// decision or a handshake is pending. The driver owns the clock and calls
    /// [`Server::handle_timeout`] when it passes.
    pub fn timeout(&self) -> Option<Duration> {
        match self.m.reading {
            Reading::Closed { .. } | Reading::AwaitTls => None,
            _ if self.m.pending.is_some() => None,
            _ => Some(Duration::from_secs(5 * 60)),
        }
    }

    /// The timeout passed: answers 421 4.4.2 and closes (RFC 5321 4.5.3.2).
    /// Before a PROXY protocol header is complete it closes without a
    /// reply ([`Violation::ProxyHeaderTimeout`]).
    pub fn handle_timeout(&mut self) {
        self.m.on_timeout();
        self.sync_input();
    }

    /// Appends every pending output byte to `out`.
    pub fn transmit(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.m.out);
        self.m.out.clear();
        self.m.sync = state::Sync::Open;
    }

    /// Whether output is waiting for [`Server::transmit`].
    pub fn has_output(&self) -> bool {
        !self.m.out.is_empty()
    }

    /// Accepts the pending decision with the default positive reply.
    /// Refused as a [`Misuse`] when no decision is pending; the outcome
    /// ([`Decided`]) is fine to drop.
    pub fn accept(&mut self) -> Decided<()> {
        self.sync_input();
        if !self.m.awaits_decision() {
            return Decided::misuse(());
        }
        self.m.decide(None);
        Decided::done()
    }

    /// Answers the pending decision with `reply`: a 2xx reply accepts (with
    /// that text), a 4xx or 5xx reply refuses. For a greeting, a 554
    /// refuses the session (RFC 5321 3.1). Refused as a [`Misuse`], the
    /// reply handed back, when no decision is pending or the reply is 3yz.
    pub fn respond(&mut self, reply: OwnedReply) -> Decided<OwnedReply> {
        self.sync_input();
        if !self.m.awaits_decision() || !matches!(reply.code.get() / 100, 2 | 4 | 5) {
            return Decided::misuse(reply);
        }
        self.m.decide(Some(reply));
        Decided::done()
    }

    /// Refuses the pending decision with `reply`, which must be 4xx or 5xx
    /// (else refused as a [`Misuse`], the reply handed back).
    pub fn reject(&mut self, reply: OwnedReply) -> Decided<OwnedReply> {
        if !matches!(reply.code.get() / 100, 4 | 5) {
            return Decided::misuse(reply);
        }
        self.respond(reply)
    }

    /// LMTP (RFC 2033 4.2): answers a [`ServerEvent::MessageComplete`] with
    /// one reply per accepted recipient, in RCPT order. `replies` must hold
    /// exactly that many.
    pub fn respond_each(&mut self, replies: Vec<OwnedReply>) -> Decided<Vec<OwnedReply>> {
        match self.m.decide_each(replies) {
            Ok(()) => Decided::done(),
            Err(Misuse(replies)) => Decided::misuse(replies),
        }
    }

    /// Sends a SASL challenge (`334` + base64) for an application-run
    /// mechanism ([`AuthRequest::Step`], RFC 4954 4).
    pub fn auth_challenge(&mut self, challenge: &[u8]) -> Decided<()> {
        match self.m.decide_challenge(challenge) {
            Ok(()) => Decided::done(),
            Err(Misuse(())) => Decided::misuse(()),
        }
    }

    /// The next event, or `None` when the machine needs more input, waits
    /// for a decision, or is closed (after reporting [`ServerEvent::Closed`]).
    pub fn next_event(&mut self) -> Option<ServerEvent<'_>> {
        self.sync_input();
        self.m.step(&self.input)
    }
}
