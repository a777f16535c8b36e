//! The client state machine (RFC 5321 sections 3 and 4, RFC 3207, RFC 4954,
//! RFC 2920, RFC 3030, RFC 2033, RFC 8314), plus the submission connection
//! plan (RFC 8314 5.1, RFC 6186) and a wrong-port check.
//!
//! Every rule that changes the machine's state lives in one file,
//! `client/state.rs`: its states are explicit enums (the connection's
//! security, and the phase: greeting, hello, STARTTLS, TLS handshake, AUTH,
//! open session with its transaction, quitting, closed) and one transition
//! function takes every input (bytes, replies, EOF, timeout, the TLS
//! handshake, each decision). This module only turns calls into inputs.
//! The configuration is in `config.rs`, the events in `event.rs`, the
//! message checks and encoding in `envelope.rs`, the connection plan in
//! `plan.rs`.
//!
//! # Flow
//!
//! ```text
//! Greeting --220--> EHLO (LHLO) --500/502, policy allows--> HELO
//!    EHLO 250 --STARTTLS offered, policy Required/Opportunistic--> STARTTLS
//!       STARTTLS 220 --(ClientEvent::StartTls, tls_established())--> EHLO again
//!    --credentials--> AUTH (first preferred mechanism the server offers)
//!    --> Ready  (decision: send_mail / quit)
//! Ready --send_mail--> [RSET] MAIL, RCPT..., DATA + content | BDAT n LAST + chunk
//!    (one group with PIPELINING, RFC 2920; otherwise one command per reply,
//!     with a proceed/abort decision when only some recipients were accepted)
//!    --> Delivered | LmtpResult per recipient | TransactionFailed --> Ready
//! Ready --start_mail--> [RSET] MAIL, RCPT..., DATA | (nothing yet)
//!    --BodyWanted--> send_body(piece)... (dot-stuffed after the 354, or
//!       `BDAT n` chunks of ClientConfig::chunk_size) --end_body--> `.` | `BDAT n LAST`
//!    --> Delivered | LmtpResult per recipient | TransactionFailed --> Ready
//! Ready --noop | rset | vrfy | expn | help | etrn--> NOOP | RSET | VRFY | EXPN | HELP | ETRN
//!    --QueryReply--> Ready (ETRN only where offered)
//! Ready --quit--> QUIT --221--> Closed
//! ```
//!
//! # Streaming a body
//!
//! [`Client::send_mail`] takes the whole message. [`Client::start_mail`]
//! takes only the envelope and what is known of the body ([`BodyInfo`]:
//! its size, for `SIZE=`, and whether it is 8-bit); the body then comes in
//! pieces, and the machine never holds more than about
//! [`ClientConfig::chunk_size`] octets of it:
//!
//! ```
//! use smtp_sansio::client::{BodyInfo, Client, ClientConfig, ClientEvent, Envelope};
//! use smtp_sansio::PortMode;
//!
//! let mut cfg = ClientConfig::new(PortMode::Relay, "client.example.org");
//! cfg.chunk_size = 8;
//! let mut client = Client::new(cfg).unwrap();
//! client.receive(b"220 mx.example.net\r\n");
//! while client.next_event().is_some() {}
//! client.receive(b"250-mx.example.net\r\n250-PIPELINING\r\n250 CHUNKING\r\n");
//! while let Some(ev) = client.next_event() {
//!     if ev == ClientEvent::Ready {
//!         let env = Envelope::new("alice@example.org", ["bob@example.net"]);
//!         client.start_mail(env, BodyInfo::default()).unwrap();
//!     }
//! }
//! let mut out = Vec::new();
//! client.transmit(&mut out); // the driver writes `out` to the socket
//! // While MAIL and RCPT are unanswered, one chunk at most is in flight
//! // (a refused envelope costs the server one refused chunk).
//! client.receive(b"250 2.1.0 ok\r\n250 2.1.5 ok\r\n");
//! while client.next_event().is_some() {}
//! let mut body: &[u8] = b"Subject: hi\r\n\r\nhello, world\r\n";
//! while !body.is_empty() {
//!     let n = client.send_body(body).unwrap();
//!     assert!(n > 0, "room for the body");
//!     body = &body[n..];
//!     client.transmit(&mut out);
//! }
//! client.end_body().unwrap();
//! client.transmit(&mut out);
//! assert!(out.starts_with(b"EHLO client.example.org\r\nMAIL FROM:<alice@example.org>\r\n"));
//! assert!(out.ends_with(b"BDAT 8\r\nello, woBDAT 5 LAST\r\nrld\r\n"));
//! ```
//!
//! # Driving it
//!
//! ```text
//! loop {
//!     read bytes from the socket    -> client.receive(&bytes)   (or receive_eof())
//!     while let Some(ev) = client.next_event() {
//!         Ready            -> client.send_mail(envelope, body) or client.quit()
//!         RecipientsPartial-> client.proceed() or client.abort()
//!         StartTls         -> after transmit: TLS handshake, then client.tls_established()
//!         Error / Closed   -> log; once is_closed(), transmit the rest and close
//!     }
//!     client.transmit(&mut out); write out to the socket
//!     arm a timer with client.timeout(); on expiry call client.handle_timeout()
//! }
//! ```
//!
//! Events are owned values; the machine never blocks on an unread event.
//! Replies are parsed lazily in [`Client::next_event`]; [`Client::receive`]
//! only buffers (and [`Client::receive_eof`] takes effect once the buffered
//! replies are read).
//!
//! # Security rules enforced here
//!
//! * Downgrade (RFC 3207 4.1, RFC 8314 3): under [`TlsPolicy::Required`],
//!   no AUTH, MAIL or credential byte is ever sent before TLS is up; a
//!   missing STARTTLS or a refused one is a fatal
//!   [`ClientError::TlsUnavailable`] / [`ClientError::TlsRefused`].
//! * Response injection (RFC 3207 5, CVE-2011-0411 class): bytes that follow
//!   the 220 reply to STARTTLS, in the same input or before
//!   [`Client::tls_established`], are never read as replies: fatal
//!   [`ClientError::ResponseInjection`], nothing more is sent.
//! * Plaintext SASL mechanisms (PLAIN, LOGIN, XOAUTH2, OAUTHBEARER) are used
//!   only under TLS unless [`ClientConfig::plaintext_auth_without_tls`]
//!   (RFC 4954 4).
//! * Addresses and parameters are validated by the grammar before any
//!   byte of a transaction is written; every command line is encoded by
//!   [`crate::command::Command::write_to`], which refuses anything that would not parse
//!   back the same (no CR/LF injection).
//! * Message content never holds a line a strict server would read
//!   differently: bare CR and LF are normalized to CRLF (or refused), DATA
//!   content is dot-stuffed (RFC 5321 4.5.2).

mod caps;
mod config;
mod envelope;
mod event;
mod plan;
mod state;

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::time::Duration;

pub use crate::session::{Decided, HelloKind, Misuse};
pub use caps::ServerCapabilities;
pub use config::{
    COMMAND_TIMEOUT, ClientConfig, ClientCredentials, ConfigError, DATA_BLOCK_TIMEOUT,
    DATA_END_TIMEOUT, DATA_INIT_TIMEOUT, DEFAULT_CHUNK_SIZE, GREETING_TIMEOUT, MAIL_TIMEOUT,
    RCPT_TIMEOUT, TlsPolicy,
};
pub use envelope::{
    BodyError, BodyInfo, Dsn, Envelope, MessageError, RecipientDsn, SendError, StartError,
};
pub use event::{ClientError, ClientEvent, Query, QueryError, TransactionStage};
pub use plan::{
    Attempt, PlanOptions, SkippedRecord, SrvAttempt, SrvPlan, SrvPlanError, SrvRecord,
    SrvRecordError, SrvService, WrongPort, connection_plan, detect_wrong_port, srv_plan,
};

use state::{Awaited, Incoming, Input, Machine, Phase, Refused, Txn};

/// The SMTP/LMTP client state machine: one connection's client side.
///
/// See the crate documentation for a complete session, and the
/// [module documentation](self) for the flow.
///
/// # Examples
///
/// ```
/// use smtp_sansio::TlsPolicy;
/// use smtp_sansio::{Client, ClientConfig, ClientEvent, PortMode};
///
/// let cfg = ClientConfig::new(PortMode::Relay, "client.example.org")
///     .with_tls_policy(TlsPolicy::None)
///     .unwrap();
/// let mut client = Client::new(cfg).unwrap();
/// // The client speaks after the greeting.
/// client.receive(b"220 mx.example.net ESMTP\r\n");
/// assert!(matches!(client.next_event(), Some(ClientEvent::Greeting(_))));
/// let mut out = Vec::new();
/// client.transmit(&mut out);
/// assert_eq!(out, b"EHLO client.example.org\r\n");
/// ```
/// `Debug` shows the whole state (and no secret: credentials print
/// redacted); `Clone` copies it.
#[derive(Debug, Clone)]
pub struct Client {
    m: Machine,
}

impl Client {
    /// A client for one connection. In [`crate::mode::PortMode::ImplicitTls`]
    /// TLS is taken as established before the first byte (RFC 8314 3.3).
    pub fn new(cfg: ClientConfig) -> Result<Client, ConfigError> {
        cfg.check()?;
        Ok(Client {
            m: Machine::new(cfg),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.m.cfg
    }

    /// Whether TLS is active (RFC 3207 4.2, RFC 8314 3.3).
    pub fn is_tls(&self) -> bool {
        self.m.security.tls()
    }

    /// Whether AUTH succeeded (RFC 4954 4).
    pub fn is_authenticated(&self) -> bool {
        self.m.security.authenticated()
    }

    /// Whether the machine has closed (or asked its driver to close).
    pub fn is_closed(&self) -> bool {
        matches!(self.m.phase, Phase::Closed { .. })
    }

    /// Whether the machine waits for [`Client::tls_established`]
    /// (RFC 3207 4).
    pub fn wants_tls(&self) -> bool {
        self.m.phase == Phase::AwaitTls
    }

    /// Whether the machine waits for [`Client::send_mail`] or
    /// [`Client::quit`] (RFC 5321 3.3).
    pub fn is_ready(&self) -> bool {
        matches!(self.m.phase, Phase::Open(Txn::Idle(_)))
    }

    /// What the server offered in its last EHLO/LHLO/HELO reply (forgotten
    /// when TLS starts, RFC 3207 4.2).
    pub fn capabilities(&self) -> Option<&ServerCapabilities> {
        self.m.caps.as_ref()
    }

    /// A short name of the machine's state (its security, phase and the
    /// replies it waits for), for the explorer's state graphs (RFC 5321
    /// 4.1.4 command order, RFC 3207 4). Not a stable format.
    #[doc(hidden)]
    pub fn state_label(&self) -> alloc::string::String {
        self.m.label()
    }

    /// Feeds bytes received from the server. Only buffers; replies are read
    /// in [`Client::next_event`]. Bytes received while the machine waits
    /// for [`Client::tls_established`] are a fatal
    /// [`ClientError::ResponseInjection`] (RFC 3207 5).
    pub fn receive(&mut self, bytes: &[u8]) {
        if bytes.is_empty() || self.m.eof {
            return;
        }
        let _ = self.m.step(Input::Received(bytes));
    }

    /// The server closed its sending side. Takes effect once the replies
    /// already buffered are read: then the machine closes, reporting
    /// [`ClientError::ConnectionClosed`] unless it was quitting.
    pub fn receive_eof(&mut self) {
        if self.m.phase == Phase::AwaitTls {
            let _ = self.m.step(Input::Eof);
        }
        self.m.eof = true;
    }

    /// The TLS handshake that [`ClientEvent::StartTls`] asked for is done:
    /// everything learned before is forgotten and EHLO (LHLO) is sent again
    /// (RFC 3207 4.2). Returns `false`, and does nothing, if TLS was not
    /// requested.
    pub fn tls_established(&mut self) -> bool {
        self.m.step(Input::TlsEstablished).is_ok()
    }

    /// The RFC 5321 4.5.3.2 timeout for the reply being waited for (see the
    /// `*_TIMEOUT` constants); `None` while the machine waits for the
    /// application, the TLS handshake, or is closed. The driver owns the
    /// clock and calls [`Client::handle_timeout`] when it passes.
    pub fn timeout(&self) -> Option<Duration> {
        self.m.timeout()
    }

    /// The timeout passed: a fatal [`ClientError::Timeout`]; the machine
    /// closes at once (the server is not answering, RFC 5321 4.5.3.2).
    pub fn handle_timeout(&mut self) {
        let _ = self.m.step(Input::Timeout);
    }

    /// Appends every pending output byte to `out`.
    pub fn transmit(&mut self, out: &mut Vec<u8>) {
        out.append(&mut self.m.out);
    }

    /// Whether output is waiting for [`Client::transmit`].
    pub fn has_output(&self) -> bool {
        !self.m.out.is_empty()
    }

    /// Sends a message (decision on [`ClientEvent::Ready`]).
    ///
    /// The envelope and body are checked first against the grammar and
    /// what the server offers (see [`MessageError`]); a message that
    /// cannot be sent as configured is handed back and nothing is sent.
    /// Then MAIL (with `SIZE=`, `BODY=8BITMIME`, `SMTPUTF8`, DSN and
    /// `REQUIRETLS` parameters as needed), one RCPT per recipient, and
    /// DATA with the dot-stuffed body (RFC 5321 4.5.2) or `BDAT n LAST`
    /// with the body (RFC 3030) go out: as one group with PIPELINING
    /// (RFC 2920 3.1), otherwise one command per reply. Bare line endings
    /// in `body` are normalized to CRLF (or refused, per
    /// [`ClientConfig::line_ending`]); DATA adds a final CRLF if missing.
    ///
    /// More recipients than a transaction takes ([`ClientConfig::rcpt_max`],
    /// the server's LIMITS RCPTMAX or RCPTDOMAINMAX, RFC 9422 4.2, 4.3, or
    /// a `452 4.5.3` too many recipients, RFC 5321 4.5.3.1.10) go in
    /// further transactions on this connection with the same body; the
    /// machine keeps the encoded body until the last one. See
    /// [`ClientEvent::RecipientsUnsent`] for when it stops.
    pub fn send_mail(&mut self, envelope: Envelope, body: Vec<u8>) -> Result<(), SendError> {
        match self.m.step(Input::SendMail(&envelope, &body)) {
            Ok(()) => Ok(()),
            Err(Refused::Misuse | Refused::Body(_) | Refused::Query(_)) => {
                Err(SendError::Misuse(Misuse(Box::new((envelope, body)))))
            }
            Err(Refused::Invalid(error)) => Err(SendError::Invalid {
                error,
                message: Box::new((envelope, body)),
            }),
        }
    }

    /// Starts a message whose body is streamed (decision on
    /// [`ClientEvent::Ready`]; RFC 5321 3.3, RFC 3030 2).
    ///
    /// The envelope is checked as by [`Client::send_mail`] (see
    /// [`MessageError`]; `info.size` against the server's SIZE, RFC 1870
    /// 6) and handed back when refused. Then MAIL (with `SIZE=` when
    /// `info.size` is known and SIZE offered, `BODY=8BITMIME` when
    /// `info.eight_bit`) and RCPT go out, and DATA unless the body goes by
    /// BDAT. [`ClientEvent::BodyWanted`] tells when to hand the body with
    /// [`Client::send_body`] and [`Client::end_body`]: at once with
    /// CHUNKING and PIPELINING, after the 354 with DATA.
    ///
    /// The body is never held whole, so a message with more recipients
    /// than a transaction takes (see [`Client::send_mail`]) goes to the
    /// first transaction's recipients only; the others come back in
    /// [`ClientEvent::RecipientsUnsent`], to be sent again with the body.
    pub fn start_mail(&mut self, envelope: Envelope, info: BodyInfo) -> Result<(), StartError> {
        match self.m.step(Input::StartMail(&envelope, info)) {
            Ok(()) => Ok(()),
            Err(Refused::Invalid(error)) => Err(StartError::Invalid {
                error,
                envelope: Box::new(envelope),
            }),
            Err(_) => Err(StartError::Misuse(Misuse(Box::new(envelope)))),
        }
    }

    /// How many octets of the streamed body [`Client::send_body`] takes
    /// now. 0 while the body is not wanted, while the output holds
    /// [`ClientConfig::chunk_size`] octets or more (transmit first), or,
    /// without PIPELINING, while a `BDAT` chunk's reply is due (read it
    /// first; RFC 3030 4.2).
    pub fn body_room(&self) -> usize {
        self.m.body_room()
    }

    /// Hands the next piece of the streamed body; returns how many of its
    /// octets were taken (at most [`Client::body_room`]; hand the rest
    /// later). Inside DATA the piece is dot-stuffed (RFC 5321 4.5.2, a dot
    /// or CRLF split across pieces included); with BDAT it goes out in
    /// `BDAT n` chunks of [`ClientConfig::chunk_size`] (RFC 3030 2). Bare
    /// line endings follow [`ClientConfig::line_ending`]. A piece that
    /// cannot be sent gives the message up ([`BodyError::Invalid`]).
    pub fn send_body(&mut self, piece: &[u8]) -> Result<usize, BodyError> {
        let mut taken = 0;
        match self.m.step(Input::Body(piece, &mut taken)) {
            Ok(()) => Ok(taken),
            Err(Refused::Body(e)) => Err(BodyError::Invalid(e)),
            Err(_) => Err(BodyError::NotWanted),
        }
    }

    /// The streamed body is complete: `.` (RFC 5321 4.1.1.4) or `BDAT n
    /// LAST` with the rest (RFC 3030 2; `BDAT 0 LAST` when nothing is
    /// left), then [`ClientEvent::Delivered`], one
    /// [`ClientEvent::LmtpResult`] per accepted recipient, or
    /// [`ClientEvent::TransactionFailed`].
    pub fn end_body(&mut self) -> Result<(), BodyError> {
        match self.m.step(Input::EndBody) {
            Ok(()) => Ok(()),
            Err(Refused::Body(e)) => Err(BodyError::Invalid(e)),
            Err(_) => Err(BodyError::NotWanted),
        }
    }

    /// Whether the streamed body is wanted ([`ClientEvent::BodyWanted`]
    /// was reported and [`Client::end_body`] not yet called; RFC 5321
    /// 4.1.1.4, RFC 3030 2).
    pub fn wants_body(&self) -> bool {
        self.m.wants_body()
    }

    /// Sends NOOP (decision on [`ClientEvent::Ready`], RFC 5321 4.1.1.9):
    /// checks that an idle connection still works. Its reply comes as
    /// [`ClientEvent::QueryReply`], then Ready; a server that closed the
    /// idle connection answers 421 ([`ClientError::ServiceClosing`]) or
    /// EOF ([`ClientError::ConnectionClosed`]).
    pub fn noop(&mut self) -> Decided<()> {
        decided(self.m.step(Input::Query(Query::Noop, None)))
    }

    /// Sends RSET (decision on [`ClientEvent::Ready`], RFC 5321 4.1.1.5):
    /// the server forgets any transaction state. Its reply comes as
    /// [`ClientEvent::QueryReply`], then Ready.
    pub fn rset(&mut self) -> Decided<()> {
        decided(self.m.step(Input::Query(Query::Reset, None)))
    }

    /// Sends `VRFY arg` (decision on [`ClientEvent::Ready`], RFC 5321
    /// 4.1.1.6, 3.5): asks whether `arg` (a user name, or a mailbox
    /// `local@domain`) is a mailbox of the server. The reply, all its
    /// lines kept, comes as [`ClientEvent::QueryReply`] with
    /// [`Query::Verify`], then Ready: 250/251 verified, 252 cannot verify,
    /// 550 unknown, 553 ambiguous (one candidate a line), 502 not
    /// implemented. `arg` is checked against the command grammar before
    /// anything is sent (a name with a space must be a quoted string); a
    /// non-ASCII one goes with `SMTPUTF8` when the server offered it (RFC
    /// 6531 3.7.4.2). On refusal nothing is sent (see [`QueryError`]).
    pub fn vrfy(&mut self, arg: &str) -> Result<(), QueryError> {
        self.query(Query::Verify, Some(arg))
    }

    /// Sends `EXPN arg` (decision on [`ClientEvent::Ready`], RFC 5321
    /// 4.1.1.7, 3.5): asks for the members of the mailing list `arg`. The
    /// reply comes as [`ClientEvent::QueryReply`] with [`Query::Expand`]
    /// (a multi-line 250 lists one member a line), then Ready. Checked as
    /// for [`Client::vrfy`].
    pub fn expn(&mut self, arg: &str) -> Result<(), QueryError> {
        self.query(Query::Expand, Some(arg))
    }

    /// Sends `HELP [topic]` (decision on [`ClientEvent::Ready`], RFC 5321
    /// 4.1.1.8): the reply (211 or 214, usually multi-line text for a
    /// human) comes as [`ClientEvent::QueryReply`] with [`Query::Help`],
    /// then Ready. The topic must be an RFC 5321 4.1.2 `String` (ASCII,
    /// no space outside quotes).
    pub fn help(&mut self, topic: Option<&str>) -> Result<(), QueryError> {
        self.query(Query::Help, topic)
    }

    /// Sends `ETRN node` (decision on [`ClientEvent::Ready`], RFC 1985 3):
    /// asks the server to start delivering its queue for `node` (a domain,
    /// `@domain`, or `#queue`). Only when the server offered ETRN
    /// ([`QueryError::NotOffered`] otherwise, nothing sent). The reply
    /// comes as [`ClientEvent::QueryReply`] with [`Query::Etrn`], then
    /// Ready: 250, 251, 252, 253 started or nothing to do, 458 and 459
    /// refused (RFC 1985 4), 5xx.
    pub fn etrn(&mut self, node: &str) -> Result<(), QueryError> {
        self.query(Query::Etrn, Some(node))
    }

    fn query(&mut self, q: Query, arg: Option<&str>) -> Result<(), QueryError> {
        match self.m.step(Input::Query(q, arg.map(str::as_bytes))) {
            Ok(()) => Ok(()),
            Err(Refused::Query(e)) => Err(e),
            Err(_) => Err(QueryError::Misuse),
        }
    }

    /// Whether the connection can take another message now (RFC 5321
    /// 3.3): the machine is Ready, the server has not closed its side and
    /// nothing unread is buffered (an unsolicited reply such as a 421 sent
    /// to an idle connection, RFC 5321 3.8). A driver that keeps idle
    /// connections feeds what the socket has first, reads the events, and
    /// reconnects when this is false.
    pub fn is_reusable(&self) -> bool {
        self.is_ready() && !self.m.eof && self.m.reader.buffered().is_empty()
    }

    /// Ends the session: QUIT, then close on its reply (RFC 5321
    /// 4.1.1.10). Legal on [`ClientEvent::Ready`] and
    /// [`ClientEvent::RecipientsPartial`].
    pub fn quit(&mut self) -> Decided<()> {
        decided(self.m.step(Input::Quit))
    }

    /// Sends the content to the accepted recipients (decision on
    /// [`ClientEvent::RecipientsPartial`], RFC 5321 3.3).
    pub fn proceed(&mut self) -> Decided<()> {
        decided(self.m.step(Input::Proceed))
    }

    /// Gives the message up (decision on [`ClientEvent::RecipientsPartial`]):
    /// RSET, then [`ClientEvent::TransactionFailed`] with
    /// [`TransactionStage::Aborted`] and Ready (RFC 5321 4.1.1.5).
    ///
    /// Also legal while a streamed body is wanted: with BDAT the same RSET
    /// (RFC 3030 2); inside DATA, which cannot be cancelled, the
    /// connection closes at once ([`ClientError::ContentAborted`]).
    pub fn abort(&mut self) -> Decided<()> {
        decided(self.m.step(Input::Abort))
    }

    /// The next event, or `None` when the machine needs more input, waits
    /// for a decision or the TLS handshake, or is closed (after reporting
    /// [`ClientEvent::Closed`]).
    pub fn next_event(&mut self) -> Option<ClientEvent> {
        let m = &mut self.m;
        loop {
            if let Some(ev) = m.events.pop_front() {
                return Some(ev);
            }
            match m.phase {
                Phase::Closed { .. } => return m.report_closed(),
                Phase::AwaitTls => return None,
                _ => {}
            }
            let awaited = m.awaited();
            if awaited == Awaited::Greeting
                && detect_wrong_port(m.reader.buffered(), m.cfg.mode)
                    == Some(WrongPort::TlsWherePlaintextExpected)
            {
                let _ = m.step(Input::WrongPort);
                continue;
            }
            // The greeting and EHLO replies carry no enhanced status code
            // (RFC 2034 3); others are read with them.
            let plain = matches!(
                awaited,
                Awaited::Greeting | Awaited::Hello(HelloKind::Ehlo | HelloKind::Lhlo)
            );
            m.reader.set_enhanced_codes(!plain);
            let input = match m.reader.next_reply() {
                None => {
                    if !m.eof {
                        return None;
                    }
                    Input::Eof
                }
                Some(Err(e)) => Input::Malformed(e),
                Some(Ok(reply)) => Input::Reply(Incoming::read(&reply, awaited)),
            };
            let _ = m.step(input);
        }
    }
}

/// A decision's outcome: refused inputs are misuse, the machine unchanged.
fn decided<E>(r: Result<(), E>) -> Decided<()> {
    match r {
        Ok(()) => Decided::done(),
        Err(_) => Decided::misuse(()),
    }
}
