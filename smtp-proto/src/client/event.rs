//! What the client reports: events, fatal errors, and the queries the
//! application may send (RFC 5321 4.1.1, 4.2, 3.8; RFC 4954; RFC 2033 4.2).

use alloc::boxed::Box;
use alloc::vec::Vec;

use crate::error::{EncodeError, ParseError};
use crate::reply::OwnedReply;
use crate::sasl::Mechanism;

use super::caps::ServerCapabilities;
use super::envelope::MessageError;
use super::plan::WrongPort;
#[allow(unused_imports)]
use super::{Client, Envelope};

/// A command the application sends outside a transaction (RFC 5321
/// 4.1.1.5 RSET, 4.1.1.6 VRFY, 4.1.1.7 EXPN, 4.1.1.8 HELP, 4.1.1.9 NOOP;
/// RFC 1985 ETRN).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Query {
    /// NOOP (RFC 5321 4.1.1.9): checks that the connection still works.
    Noop,
    /// RSET (RFC 5321 4.1.1.5): clears any transaction state on the
    /// server.
    Reset,
    /// VRFY (RFC 5321 4.1.1.6, 3.5.3): is this a user or mailbox? 250 or
    /// 251 verified (the mailbox in the text), 252 cannot verify but will
    /// accept, 550 no such user, 553 ambiguous (possibly multi-line, one
    /// candidate a line), 502 not implemented.
    Verify,
    /// EXPN (RFC 5321 4.1.1.7, 3.5.2): the members of a mailing list, a
    /// multi-line 250 reply with one member a line; 252, 550, 502 as for
    /// VRFY.
    Expand,
    /// HELP (RFC 5321 4.1.1.8): 211 or 214 with text for a human,
    /// possibly multi-line.
    Help,
    /// ETRN (RFC 1985 3): start delivering the queue for a node; 250
    /// started, 251 no messages waiting, 252 pending messages started,
    /// 253 this many messages started, 458 cannot queue, 459 not allowed.
    /// Sent only when the server offered ETRN.
    Etrn,
}

impl Query {
    /// The command's verb (RFC 5321 4.1.1, RFC 1985 3).
    pub fn verb(self) -> &'static str {
        match self {
            Query::Noop => "NOOP",
            Query::Reset => "RSET",
            Query::Verify => "VRFY",
            Query::Expand => "EXPN",
            Query::Help => "HELP",
            Query::Etrn => "ETRN",
        }
    }
}

/// Why [`super::Client::vrfy`], [`super::Client::expn`],
/// [`super::Client::help`] or [`super::Client::etrn`] sent nothing; the
/// machine is unchanged (RFC 5321 4.1.1.6 to 4.1.1.8, RFC 1985 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum QueryError {
    /// The machine is not Ready (no decision of this kind is pending; RFC
    /// 5321 4.1.4).
    Misuse,
    /// ETRN, but the server did not offer ETRN in its EHLO reply (RFC
    /// 1985 3).
    NotOffered,
    /// The argument does not fit the command's grammar (RFC 5321 4.1.2
    /// `String`, a `Mailbox` for VRFY/EXPN, RFC 1985 3 `node-name` for
    /// ETRN): CR or LF ([`EncodeError::LineBreak`], no command injection),
    /// a space outside a quoted string, an empty argument, a control
    /// octet.
    Invalid(EncodeError),
    /// A non-ASCII argument: VRFY and EXPN take one only when the server
    /// offered SMTPUTF8 (then with the `SMTPUTF8` parameter, RFC 6531
    /// 3.7.4.2); HELP and ETRN never.
    Utf8NotAllowed,
    /// The command line would be longer than
    /// [`crate::Limits::command_line`] (RFC 5321 4.5.3.1.4).
    TooLong,
}

impl core::fmt::Display for QueryError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            QueryError::Misuse => f.write_str("the client is not ready for a command"),
            QueryError::NotOffered => f.write_str("the server did not offer ETRN"),
            QueryError::Invalid(e) => write!(f, "argument refused: {e}"),
            QueryError::Utf8NotAllowed => {
                f.write_str("non-ASCII argument without SMTPUTF8 offered")
            }
            QueryError::TooLong => f.write_str("command line too long"),
        }
    }
}

impl core::error::Error for QueryError {}

/// Where a transaction failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransactionStage {
    /// MAIL was refused (RFC 5321 4.1.1.2).
    Mail,
    /// Every RCPT was refused (RFC 5321 4.1.1.3).
    Recipients,
    /// DATA (or the BDAT command) was refused before content.
    Data,
    /// The content was refused after the final dot or `BDAT LAST`.
    Content,
    /// The application aborted after a partial recipient refusal (RSET).
    Aborted,
}

/// A fatal error: the session ends. Those for which
/// [`ClientError::closes_at_once`] holds close with nothing more sent;
/// the others send QUIT, read its reply and close (RFC 5321 4.1.1.10).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientError {
    /// The greeting was 554 (or another refusal) (RFC 5321 3.1, 4.3.1).
    GreetingRefused(OwnedReply),
    /// A 421 reply: the server is closing (RFC 5321 3.8). Closes at once.
    ServiceClosing(OwnedReply),
    /// EHLO/LHLO refused and HELO not allowed (it would lose STARTTLS or
    /// AUTH), or HELO refused too (RFC 5321 4.1.4, RFC 3207 4.1).
    HelloRefused(OwnedReply),
    /// TLS is required and STARTTLS is not offered (RFC 3207 4.1:
    /// downgrade).
    TlsUnavailable,
    /// TLS is required and STARTTLS was refused (RFC 3207 4: 454).
    TlsRefused(OwnedReply),
    /// Bytes followed the 220 reply to STARTTLS before TLS was established
    /// (RFC 3207 5, CVE-2011-0411 class). Closes at once.
    ResponseInjection,
    /// Credentials are set and the server offers no mechanism this client
    /// may use (none offered, none in the preference list, or only
    /// plaintext mechanisms without TLS; RFC 4954 4).
    AuthUnavailable,
    /// AUTH failed: 535 or another refusal (RFC 4954 6).
    AuthFailed(OwnedReply),
    /// RSET was refused (RFC 5321 4.1.1.5).
    ResetRefused(OwnedReply),
    /// A reply that does not parse: bad code, mismatched codes in a
    /// multi-line reply, an overlong line, ... (RFC 5321 4.2).
    MalformedReply(ParseError),
    /// A reply no pending command expects, or a code that makes no sense
    /// for the command (a 354 to MAIL, ...).
    UnexpectedReply(OwnedReply),
    /// The server closed the connection. Closes at once.
    ConnectionClosed,
    /// The RFC 5321 4.5.3.2 timeout passed. Closes at once.
    Timeout,
    /// The first bytes look like a TLS record where a plaintext greeting
    /// was expected (RFC 8314 3.3: wrong port). Closes at once.
    WrongPort(WrongPort),
    /// The application gave up a streamed body inside DATA
    /// ([`Client::abort`]); DATA cannot be cancelled (RFC 5321 4.1.1.4),
    /// so the connection closes at once and no partial message is
    /// delivered.
    ContentAborted,
    /// A piece of a streamed body inside DATA cannot be sent (see
    /// [`MessageError`]); closes at once, as [`ClientError::ContentAborted`].
    ContentRefused(MessageError),
}

impl ClientError {
    /// Whether the session closes with nothing more sent (no QUIT).
    pub fn closes_at_once(&self) -> bool {
        matches!(
            self,
            ClientError::ServiceClosing(_)
                | ClientError::ResponseInjection
                | ClientError::ConnectionClosed
                | ClientError::Timeout
                | ClientError::WrongPort(_)
                | ClientError::ContentAborted
                | ClientError::ContentRefused(_)
        )
    }

    /// The server's reply behind the error, if any.
    pub fn reply(&self) -> Option<&OwnedReply> {
        match self {
            ClientError::GreetingRefused(r)
            | ClientError::ServiceClosing(r)
            | ClientError::HelloRefused(r)
            | ClientError::TlsRefused(r)
            | ClientError::AuthFailed(r)
            | ClientError::ResetRefused(r)
            | ClientError::UnexpectedReply(r) => Some(r),
            _ => None,
        }
    }
}

impl core::fmt::Display for ClientError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let what = match self {
            ClientError::GreetingRefused(_) => "greeting refused",
            ClientError::ServiceClosing(_) => "server closing (421)",
            ClientError::HelloRefused(_) => "EHLO/HELO refused",
            ClientError::TlsUnavailable => "TLS required but STARTTLS not offered",
            ClientError::TlsRefused(_) => "TLS required but STARTTLS refused",
            ClientError::ResponseInjection => "response injection after STARTTLS",
            ClientError::AuthUnavailable => "no usable AUTH mechanism",
            ClientError::AuthFailed(_) => "authentication failed",
            ClientError::ResetRefused(_) => "RSET refused",
            ClientError::MalformedReply(e) => return write!(f, "malformed reply: {}", e.kind()),
            ClientError::UnexpectedReply(_) => "unexpected reply",
            ClientError::ConnectionClosed => "connection closed by the server",
            ClientError::Timeout => "timeout",
            ClientError::WrongPort(_) => "wrong port (TLS where plaintext was expected)",
            ClientError::ContentAborted => "message content given up inside DATA",
            ClientError::ContentRefused(e) => return write!(f, "message content refused: {e}"),
        };
        f.write_str(what)?;
        if let Some(r) = self.reply() {
            write!(f, ": {}", r.code)?;
        }
        Ok(())
    }
}

impl core::error::Error for ClientError {}

/// What the client machine reports to its driver and application.
///
/// [`ClientEvent::Ready`] and [`ClientEvent::RecipientsPartial`] wait for a
/// decision; every other event is informative.
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
/// client.receive(b"220 mx.example.net ESMTP\r\n");
/// client.receive(b"250-mx.example.net\r\n250 PIPELINING\r\n");
/// let mut events = Vec::new();
/// while let Some(event) = client.next_event() {
///     match event {
///         ClientEvent::Greeting(reply) => events.push(format!("greeting {}", reply.code)),
///         ClientEvent::Capabilities(_) => events.push("capabilities".to_string()),
///         ClientEvent::Ready => events.push("ready".to_string()), // decision: send or quit
///         other => events.push(format!("{other:?}")),
///     }
/// }
/// assert_eq!(events, ["greeting 220", "capabilities", "ready"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// The 220 greeting arrived (RFC 5321 3.1).
    Greeting(OwnedReply),
    /// The EHLO/LHLO (or HELO) reply: what the server offers. Reported
    /// again after TLS (RFC 3207 4.2: earlier knowledge is forgotten).
    /// Boxed: the largest payload, so every other event (and the idle
    /// event queue) stays small.
    Capabilities(Box<ServerCapabilities>),
    /// STARTTLS was accepted: transmit what is pending, run the TLS
    /// handshake, then call [`Client::tls_established`] (RFC 3207 4).
    StartTls,
    /// AUTH succeeded with this mechanism (RFC 4954 4, 235).
    Authenticated(Mechanism),
    /// Decision: send a message with [`Client::send_mail`] or end with
    /// [`Client::quit`].
    Ready,
    /// The reply to one RCPT (RFC 5321 4.1.1.3): `index` into the
    /// envelope's recipients.
    Recipient {
        /// Index into [`Envelope::to`].
        index: usize,
        /// Whether the server accepted it (2xx).
        accepted: bool,
        /// The reply, with its text and enhanced code.
        reply: OwnedReply,
    },
    /// Decision (without pipelining): some recipients were accepted, some
    /// refused. [`Client::proceed`] sends the content to the accepted
    /// ones, [`Client::abort`] resets the transaction (RSET).
    RecipientsPartial {
        /// Recipients accepted.
        accepted: usize,
        /// Recipients refused.
        refused: usize,
    },
    /// The message was accepted (RFC 5321 4.1.1.4: 250 after the final
    /// dot, or to `BDAT LAST`, RFC 3030 2).
    Delivered(OwnedReply),
    /// LMTP: the reply for one accepted recipient after the content
    /// (RFC 2033 4.2), in RCPT order.
    LmtpResult {
        /// Index into [`Envelope::to`].
        index: usize,
        /// Whether it was delivered (2xx).
        delivered: bool,
        /// The reply.
        reply: OwnedReply,
    },
    /// The transaction failed; the machine is Ready again (RFC 5321 3.3).
    TransactionFailed {
        /// Where.
        stage: TransactionStage,
        /// The server's refusal (none for [`TransactionStage::Aborted`]).
        reply: Option<OwnedReply>,
    },
    /// Decision (after [`Client::start_mail`]): the streamed body is
    /// wanted. Hand it with [`Client::send_body`] as far as
    /// [`Client::body_room`] allows (transmit and read replies while it is
    /// 0), then [`Client::end_body`]; or give it up with
    /// [`Client::abort`] (RFC 5321 4.1.1.4 after the 354, RFC 3030 2 for
    /// BDAT).
    BodyWanted,
    /// The reply to a command sent outside a transaction
    /// ([`Client::noop`], [`Client::rset`], [`Client::vrfy`],
    /// [`Client::expn`], [`Client::help`], [`Client::etrn`]; RFC 5321
    /// 4.1.1.5 to 4.1.1.9, RFC 1985 3); [`ClientEvent::Ready`] follows.
    QueryReply {
        /// The command.
        query: Query,
        /// The server's reply, every line kept (2xx: done; the members of
        /// an EXPN, the candidates of an ambiguous VRFY, HELP text are one
        /// a line in [`OwnedReply::lines`]).
        reply: OwnedReply,
    },
    /// Recipients of the message that no transaction on this connection
    /// carried (indices into [`Envelope::to`], in order): the message must
    /// be sent to them again, with [`Client::send_mail`] or
    /// [`Client::start_mail`] (or on a new connection). [`ClientEvent::Ready`]
    /// follows. This happens when a message has more recipients than a
    /// transaction takes ([`crate::client::ClientConfig::rcpt_max`], the
    /// server's RCPTMAX or RCPTDOMAINMAX, RFC 9422 4.2, 4.3, or a `452
    /// 4.5.3` "too many recipients", RFC 5321 4.5.3.1.10) and
    ///
    /// * the body was streamed ([`Client::start_mail`]): the machine never
    ///   holds the whole body, so it cannot send it again;
    /// * or the transaction failed for the message itself (MAIL, DATA or
    ///   the content refused, or aborted);
    /// * or the server's MAILMAX (RFC 9422 4.1) allows no further
    ///   transaction on this connection;
    /// * or the application aborted or quit at
    ///   [`ClientEvent::RecipientsPartial`].
    ///
    /// A message sent whole with [`Client::send_mail`] otherwise goes on in
    /// a new transaction with the same body, reporting
    /// [`ClientEvent::Recipient`] and [`ClientEvent::Delivered`] (or
    /// [`ClientEvent::TransactionFailed`], [`ClientEvent::LmtpResult`]) for
    /// each transaction; only the last is followed by Ready.
    RecipientsUnsent {
        /// Indices into [`Envelope::to`].
        recipients: Vec<usize>,
    },
    /// A fatal error; the session ends (see [`ClientError`]).
    Error(ClientError),
    /// The session is over: transmit what is pending, then close.
    Closed,
}

impl ClientEvent {
    /// Whether the machine waits for a decision on this event.
    pub fn needs_decision(&self) -> bool {
        matches!(
            self,
            ClientEvent::Ready | ClientEvent::RecipientsPartial { .. } | ClientEvent::BodyWanted
        )
    }
}
