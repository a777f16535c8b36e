//! The client state machine (RFC 5321 sections 3 and 4, RFC 3207, RFC 4954,
//! RFC 2920, RFC 3030, RFC 2033, RFC 8314), plus the submission connection
//! plan (RFC 8314 5.1, RFC 6186) and a wrong-port check.
//!
//! Every rule that changes the machine's state lives in this file: the
//! transition table is `Machine::on_reply` (one arm per reply the machine
//! waits for) together with the decision methods of [`Client`].
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
//! Ready --quit--> QUIT --221--> Closed
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
//!   [`Command::write_to`], which refuses anything that would not parse
//!   back the same (no CR/LF injection).
//! * Message content never holds a line a strict server would read
//!   differently: bare CR and LF are normalized to CRLF (or refused), DATA
//!   content is dot-stuffed (RFC 5321 4.5.2).

use alloc::borrow::Cow;
use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;

use crate::address::{Domain, ForwardPath, Mailbox, ReversePath};
use crate::capability::EhloReply;
use crate::command::Command;
use crate::data::{self, DataEncoder};
use crate::error::ParseError;
use crate::ext::Extensions;
use crate::limits::Limits;
use crate::mode::PortMode;
use crate::options::LineEndingPolicy;
use crate::params::{Body, MailParams, Notify, Orcpt, RcptParams, Ret, XText};
use crate::reply::{OwnedReply, Reply, ReplyCode, ReplyReader};
use crate::sasl::{self, Mechanism, Secret};
pub use crate::session::{HelloKind, Misuse};

// ---------------------------------------------------------------------------
// Configuration

/// The client's STARTTLS policy (RFC 3207, RFC 8314, RFC 7672 2.2 for
/// opportunistic relay).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TlsPolicy {
    /// No AUTH, MAIL or credentials without TLS: STARTTLS must be offered
    /// and must succeed, otherwise the session ends with a typed error
    /// before anything else is sent (RFC 3207 4.1, RFC 8314 3). The default
    /// for submission and implicit TLS.
    Required,
    /// STARTTLS when offered; a missing or refused STARTTLS leaves the
    /// session in plaintext (RFC 3207 4.1, RFC 7435). Allowed only for
    /// relay (port 25); the default there.
    Opportunistic,
    /// Never STARTTLS. Only when chosen explicitly; the default in LMTP.
    None,
}

/// Credentials for AUTH (RFC 4954). The secret is a password (PLAIN,
/// LOGIN) or a bearer token (XOAUTH2, OAUTHBEARER, RFC 7628).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCredentials {
    /// The authentication identity (user name).
    pub user: String,
    /// Password or token; `Debug` does not print it.
    pub secret: Secret<String>,
    /// Authorization identity to act as (RFC 4616 2), if any.
    pub authzid: Option<String>,
}

impl ClientCredentials {
    /// Credentials for `user` with `secret` and no authorization identity.
    pub fn new(user: impl Into<String>, secret: impl Into<String>) -> Self {
        ClientCredentials {
            user: user.into(),
            secret: Secret::new(secret.into()),
            authzid: None,
        }
    }
}

/// Client configuration; [`ClientConfig::new`] gives the defaults of a
/// [`PortMode`]. [`Client::new`] checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// The port mode (relay 25, submission 587, implicit TLS 465, LMTP).
    pub mode: PortMode,
    /// STARTTLS policy; see [`TlsPolicy`] for the modes each is allowed in.
    /// Ignored in [`PortMode::ImplicitTls`] (TLS is up from the start).
    pub tls: TlsPolicy,
    /// The name sent in EHLO/HELO/LHLO (RFC 5321 4.1.1.1: the client's
    /// fully-qualified domain name or an address literal).
    pub helo: String,
    /// Credentials; with them the client authenticates and a server that
    /// offers no usable mechanism is a fatal error.
    pub credentials: Option<ClientCredentials>,
    /// SASL mechanisms in order of preference; the first one the server
    /// offers is used (RFC 4954 4). Supported: PLAIN, LOGIN, XOAUTH2,
    /// OAUTHBEARER. Default: PLAIN, LOGIN.
    pub mechanisms: Vec<Mechanism>,
    /// Use mechanisms that carry a password or token in the clear without
    /// TLS (RFC 4954 4: SHOULD NOT). Off by default.
    pub plaintext_auth_without_tls: bool,
    /// Pipeline MAIL, RCPT and DATA/BDAT when the server offers PIPELINING
    /// (RFC 2920). On by default.
    pub pipelining: bool,
    /// Send content with `BDAT n LAST` when the server offers CHUNKING
    /// (RFC 3030). On by default.
    pub chunking: bool,
    /// Limits: reply lines and line count (RFC 5321 4.5.3.1.5).
    pub limits: Limits,
    /// Bare LF / bare CR in message bodies: normalized to CRLF (the
    /// default: the client never emits a line a strict server would read
    /// differently, RFC 5321 2.3.8) or refused
    /// ([`MessageError::BareLineEnding`]).
    pub line_ending: LineEndingPolicy,
    /// The explorer's self-test only (feature `mutants`): a rule to run
    /// without. Empty and zero-sized otherwise.
    #[doc(hidden)]
    pub mutant: crate::mutants::MutantSlot,
}

impl ClientConfig {
    /// The defaults for `mode`: TLS policy Required for submission and
    /// implicit TLS, Opportunistic for relay, None for LMTP; no
    /// credentials; PLAIN, LOGIN; pipelining and chunking on; RFC limits;
    /// bare line endings normalized.
    pub fn new(mode: PortMode, helo: impl Into<String>) -> Self {
        ClientConfig {
            mode,
            tls: match mode {
                PortMode::Relay => TlsPolicy::Opportunistic,
                PortMode::Submission | PortMode::ImplicitTls => TlsPolicy::Required,
                PortMode::Lmtp => TlsPolicy::None,
            },
            helo: helo.into(),
            credentials: None,
            mechanisms: vec![Mechanism::Plain, Mechanism::Login],
            plaintext_auth_without_tls: false,
            pipelining: true,
            chunking: true,
            limits: Limits::RFC,
            line_ending: LineEndingPolicy::Normalize,
            mutant: crate::mutants::MutantSlot::NONE,
        }
    }

    /// Sets the TLS policy; [`TlsPolicy::Opportunistic`] is refused outside
    /// relay (RFC 8314 3: submission never falls back to plaintext).
    pub fn with_tls_policy(mut self, policy: TlsPolicy) -> Result<Self, ConfigError> {
        self.tls = policy;
        self.check_tls()?;
        Ok(self)
    }

    /// Sets the credentials.
    #[must_use]
    pub fn with_credentials(mut self, credentials: ClientCredentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    fn check_tls(&self) -> Result<(), ConfigError> {
        if self.tls == TlsPolicy::Opportunistic && self.mode != PortMode::Relay {
            return Err(ConfigError::OpportunisticTlsNotAllowed);
        }
        Ok(())
    }

    fn check(&self) -> Result<(), ConfigError> {
        self.check_tls()?;
        let helo = self.helo.as_bytes();
        if Domain::parse(helo, false).is_err() {
            return Err(ConfigError::InvalidHelo);
        }
        if let Some(c) = &self.credentials {
            let nul = |s: &str| s.as_bytes().contains(&0);
            if c.user.is_empty()
                || nul(&c.user)
                || nul(c.secret.expose())
                || c.authzid.as_deref().is_some_and(nul)
            {
                return Err(ConfigError::InvalidCredentials);
            }
        }
        if let Some(m) = self.mechanisms.iter().find(|m| !client_supports(**m)) {
            return Err(ConfigError::UnsupportedMechanism(*m));
        }
        Ok(())
    }
}

/// A configuration [`Client::new`] refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfigError {
    /// [`TlsPolicy::Opportunistic`] outside relay (RFC 8314 3).
    OpportunisticTlsNotAllowed,
    /// The HELO name is not a domain or address literal (RFC 5321 4.1.1.1).
    InvalidHelo,
    /// Empty user name, or a NUL in a credential (RFC 4616 2).
    InvalidCredentials,
    /// A preferred mechanism this client cannot run.
    UnsupportedMechanism(Mechanism),
}

impl core::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ConfigError::OpportunisticTlsNotAllowed => {
                f.write_str("opportunistic TLS is allowed only for relay")
            }
            ConfigError::InvalidHelo => f.write_str("invalid HELO name"),
            ConfigError::InvalidCredentials => f.write_str("invalid credentials"),
            ConfigError::UnsupportedMechanism(m) => {
                write!(f, "unsupported SASL mechanism {}", m.name())
            }
        }
    }
}

impl core::error::Error for ConfigError {}

fn client_supports(m: Mechanism) -> bool {
    matches!(
        m,
        Mechanism::Plain | Mechanism::Login | Mechanism::XOAuth2 | Mechanism::OAuthBearer
    )
}

// ---------------------------------------------------------------------------
// Messages

/// Delivery status notification requests (RFC 3461).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dsn {
    /// `RET=FULL` or `RET=HDRS` (RFC 3461 4.3).
    pub ret: Option<Ret>,
    /// `ENVID=` (RFC 3461 4.4), xtext-encoded by the client.
    pub envid: Option<String>,
    /// `NOTIFY=` on every RCPT (RFC 3461 4.1).
    pub notify: Option<Notify>,
    /// `ORCPT=` on every RCPT with the recipient's address (RFC 3461 4.2;
    /// addr-type `rfc822`, or `utf-8` for a non-ASCII address, RFC 6533).
    pub orcpt: bool,
}

/// The envelope of one message (RFC 5321 2.3.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Envelope {
    /// The reverse path; empty for the null path `<>` (RFC 5321 4.5.5).
    pub from: String,
    /// The forward paths; `Postmaster` (any case) is the bare postmaster
    /// path (RFC 5321 4.1.1.3).
    pub to: Vec<String>,
    /// DSN parameters, if any (RFC 3461; an error if DSN is not offered).
    pub dsn: Option<Dsn>,
    /// `REQUIRETLS` (RFC 8689 4; an error if not offered under TLS).
    pub requiretls: bool,
}

impl Envelope {
    /// An envelope from `from` to `to`, without DSN or REQUIRETLS.
    pub fn new<S: Into<String>>(from: impl Into<String>, to: impl IntoIterator<Item = S>) -> Self {
        Envelope {
            from: from.into(),
            to: to.into_iter().map(Into::into).collect(),
            dsn: None,
            requiretls: false,
        }
    }
}

/// Why a message cannot be sent as configured to this server. It is given
/// up before MAIL; the machine stays [`ClientEvent::Ready`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MessageError {
    /// The reverse path is not a valid mailbox (RFC 5321 4.1.2).
    InvalidSender,
    /// This recipient (index into `to`) is not a valid mailbox.
    InvalidRecipient(usize),
    /// No recipient.
    NoRecipients,
    /// An address holds non-ASCII and the server does not offer SMTPUTF8
    /// (RFC 6531 3.4).
    Utf8Unsupported,
    /// The body is 8-bit and the server does not offer 8BITMIME (RFC 6152
    /// 3; RFC 5321 2.4 forbids 8-bit content otherwise).
    EightBitUnsupported,
    /// DSN parameters were asked for and the server does not offer DSN
    /// (RFC 3461 4), or a DSN value is invalid.
    DsnUnsupported,
    /// REQUIRETLS was asked for and the server does not offer it, or TLS
    /// is not active (RFC 8689 4).
    RequireTlsUnsupported,
    /// The message is larger than the server's SIZE (RFC 1870 4).
    TooBig {
        /// The message size in octets.
        size: u64,
        /// The server's limit.
        limit: u64,
    },
    /// A bare CR or LF in the body under [`LineEndingPolicy::Reject`].
    BareLineEnding,
    /// A NUL octet in the body: not allowed in message text (RFC 5321
    /// 2.3.8, RFC 5322 2.3), refused by strict servers.
    Nul,
}

impl core::fmt::Display for MessageError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            MessageError::InvalidSender => f.write_str("invalid sender address"),
            MessageError::InvalidRecipient(i) => write!(f, "invalid recipient address #{i}"),
            MessageError::NoRecipients => f.write_str("no recipients"),
            MessageError::Utf8Unsupported => f.write_str("server does not offer SMTPUTF8"),
            MessageError::EightBitUnsupported => f.write_str("server does not offer 8BITMIME"),
            MessageError::DsnUnsupported => f.write_str("server does not offer DSN"),
            MessageError::RequireTlsUnsupported => {
                f.write_str("server does not offer REQUIRETLS under TLS")
            }
            MessageError::TooBig { size, limit } => {
                write!(
                    f,
                    "message of {size} octets exceeds the server's SIZE {limit}"
                )
            }
            MessageError::BareLineEnding => f.write_str("bare CR or LF in the body"),
            MessageError::Nul => f.write_str("NUL octet in the body"),
        }
    }
}

impl core::error::Error for MessageError {}

/// [`Client::send_mail`] refused the message; the envelope and body are
/// handed back (boxed, to keep the `Result` small).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// The machine is not [`ClientEvent::Ready`].
    Misuse(Misuse<Box<(Envelope, Vec<u8>)>>),
    /// The message cannot be sent as configured; the machine stays Ready.
    Invalid {
        /// Why.
        error: MessageError,
        /// The envelope and body.
        message: Box<(Envelope, Vec<u8>)>,
    },
}

impl core::fmt::Display for SendError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SendError::Misuse(m) => m.fmt(f),
            SendError::Invalid { error, .. } => error.fmt(f),
        }
    }
}

impl core::error::Error for SendError {}

// ---------------------------------------------------------------------------
// Events and errors

/// What the server offered in its EHLO/LHLO reply (RFC 5321 4.1.1.1), or
/// nothing after HELO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerCapabilities {
    /// The greeting command that was answered.
    pub hello: HelloKind,
    /// The server's name as sent (lossy UTF-8).
    pub domain: String,
    /// The known extensions offered.
    pub extensions: Extensions,
    /// The SIZE value (RFC 1870 4; `Some(0)` means no fixed limit).
    pub size: Option<u64>,
    /// The SASL mechanisms of the AUTH line this crate knows, in the
    /// server's order (RFC 4954 3).
    pub mechanisms: Vec<Mechanism>,
}

impl ServerCapabilities {
    fn from_ehlo(hello: HelloKind, e: &EhloReply<'_>) -> Self {
        ServerCapabilities {
            hello,
            domain: String::from_utf8_lossy(e.domain()).into_owned(),
            extensions: e.extensions(),
            size: e.size(),
            mechanisms: e
                .auth_mechanisms()
                .iter()
                .filter_map(Mechanism::from_name)
                .collect(),
        }
    }

    fn helo(reply: &OwnedReply) -> Self {
        let domain = reply
            .lines
            .first()
            .and_then(|l| l.split(' ').next())
            .unwrap_or("")
            .into();
        ServerCapabilities {
            hello: HelloKind::Helo,
            domain,
            extensions: Extensions::NONE,
            size: None,
            mechanisms: Vec::new(),
        }
    }

    /// Whether every extension of `ext` is offered.
    pub fn supports(&self, ext: Extensions) -> bool {
        self.extensions.contains(ext)
    }
}

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
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// The 220 greeting arrived (RFC 5321 3.1).
    Greeting(OwnedReply),
    /// The EHLO/LHLO (or HELO) reply: what the server offers. Reported
    /// again after TLS (RFC 3207 4.2: earlier knowledge is forgotten).
    Capabilities(ServerCapabilities),
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
            ClientEvent::Ready | ClientEvent::RecipientsPartial { .. }
        )
    }
}

// ---------------------------------------------------------------------------
// Timeouts (RFC 5321 4.5.3.2)

/// Initial 220 message: 5 minutes (RFC 5321 4.5.3.2.1).
pub const GREETING_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// MAIL command: 5 minutes (RFC 5321 4.5.3.2.2).
pub const MAIL_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// RCPT command: 5 minutes (RFC 5321 4.5.3.2.3).
pub const RCPT_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// DATA initiation (waiting for 354): 2 minutes (RFC 5321 4.5.3.2.4).
pub const DATA_INIT_TIMEOUT: Duration = Duration::from_secs(2 * 60);
/// Data block: 3 minutes per TCP send of content (RFC 5321 4.5.3.2.5); the
/// driver applies it to its writes.
pub const DATA_BLOCK_TIMEOUT: Duration = Duration::from_secs(3 * 60);
/// DATA termination (waiting for the reply to the final dot, or to `BDAT
/// LAST`): 10 minutes (RFC 5321 4.5.3.2.6).
pub const DATA_END_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// Other commands (EHLO, STARTTLS, AUTH, RSET, QUIT): 5 minutes, as for
/// MAIL (RFC 5321 4.5.3.2 leaves them open).
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(5 * 60);

// ---------------------------------------------------------------------------
// Connection plan (RFC 8314, RFC 6186) and the wrong-port check

/// Which attempts [`connection_plan`] may list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PlanOptions {
    /// Implicit TLS on port 465 (RFC 8314 3). Default true.
    pub implicit_tls: bool,
    /// STARTTLS on port 587 (RFC 6409, RFC 3207), TLS required. Default
    /// true.
    pub starttls: bool,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            implicit_tls: true,
            starttls: true,
        }
    }
}

/// One connection attempt for message submission.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Attempt {
    /// The mode to configure the client with.
    pub mode: PortMode,
    /// The port to use when the SRV lookup gives nothing (RFC 8314 7.3).
    pub port: u16,
    /// The RFC 6186 SRV name to look up first (`_submissions._tcp.<domain>`
    /// or `_submission._tcp.<domain>`).
    pub srv_name: String,
    /// The TLS policy: always [`TlsPolicy::Required`] (RFC 8314 3, 5.1:
    /// never plaintext submission).
    pub tls: TlsPolicy,
}

/// The ordered attempts RFC 8314 5.1 recommends for submission to
/// `domain`: implicit TLS on 465 first, then STARTTLS (required) on 587;
/// never plaintext. Each carries its RFC 6186 SRV name (RFC 8314 5.1 adds
/// `_submissions._tcp`). Pure logic: the driver does the DNS. An invalid
/// domain gives an empty plan; a trailing dot is dropped.
pub fn connection_plan(domain: &str, allow: PlanOptions) -> Vec<Attempt> {
    let d = domain.strip_suffix('.').unwrap_or(domain);
    if d.is_empty() || Domain::parse(d.as_bytes(), true).is_err() || d.starts_with('[') {
        return Vec::new();
    }
    let mut plan = Vec::new();
    if allow.implicit_tls {
        plan.push(Attempt {
            mode: PortMode::ImplicitTls,
            port: PortMode::ImplicitTls.default_port(),
            srv_name: format!("_submissions._tcp.{d}"),
            tls: TlsPolicy::Required,
        });
    }
    if allow.starttls {
        plan.push(Attempt {
            mode: PortMode::Submission,
            port: PortMode::Submission.default_port(),
            srv_name: format!("_submission._tcp.{d}"),
            tls: TlsPolicy::Required,
        });
    }
    plan
}

/// The peer speaks the other protocol layer than the port mode expects
/// (RFC 8314 3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WrongPort {
    /// A TLS record (handshake or alert) arrived where a plaintext SMTP
    /// greeting was expected.
    TlsWherePlaintextExpected,
    /// A plaintext SMTP greeting (`220 `, `220-`, `554 `, `421 `) arrived
    /// where a TLS handshake was expected (implicit TLS).
    PlaintextWhereTlsExpected,
}

/// Checks the first bytes read from a fresh connection (before any TLS
/// layer) against `mode`: TLS record bytes (`0x16 0x03`, or an alert `0x15
/// 0x03`) where a plaintext greeting is expected, or a plaintext greeting
/// where the implicit-TLS handshake is expected. `None` when the bytes fit
/// the mode or are too few to tell.
pub fn detect_wrong_port(first_bytes: &[u8], mode: PortMode) -> Option<WrongPort> {
    if mode.implicit_tls() {
        let greeting = match first_bytes.get(..4) {
            Some([a, b, c, sep]) => {
                matches!(sep, b' ' | b'-')
                    && matches!(
                        (a, b, c),
                        (b'2', b'2', b'0') | (b'5', b'5', b'4') | (b'4', b'2', b'1')
                    )
            }
            _ => false,
        };
        greeting.then_some(WrongPort::PlaintextWhereTlsExpected)
    } else {
        match first_bytes {
            [0x16 | 0x15, 0x03, ..] => Some(WrongPort::TlsWherePlaintextExpected),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------
// The machine

/// A reply the machine waits for, in order of the commands sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Greeting,
    Hello(HelloKind),
    StartTls,
    Auth,
    /// The reply to a `*` that cancelled an AUTH exchange (drained).
    AuthCancel,
    Rset(AfterRset),
    Mail,
    Rcpt(usize),
    Data,
    /// The reply to the final dot (SMTP).
    DataEnd,
    /// The reply to `BDAT n LAST` (SMTP, or the first LMTP one).
    Bdat,
    /// LMTP: the reply for this recipient after the content.
    Lmtp(usize),
    Quit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AfterRset {
    /// Part of a pipelined group: nothing to send.
    Group,
    /// Send MAIL next (no pipelining).
    Mail,
    /// The application aborted: report and become Ready.
    Abort,
}

/// What the machine is doing, for the decision methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Greeting, EHLO, STARTTLS, AUTH.
    Opening,
    /// Waiting for `tls_established`.
    AwaitTls,
    /// Waiting for `send_mail` / `quit`.
    Ready,
    /// A transaction is in flight.
    Transaction,
    /// Waiting for `proceed` / `abort`.
    Decide,
    /// QUIT sent (by the application or after a fatal error); replies to
    /// earlier commands are drained.
    Quitting,
    Closed,
}

#[derive(Debug, Clone)]
struct AuthState {
    mechanism: Mechanism,
    /// 334 challenges answered so far.
    step: u8,
    /// The initial response, when it did not fit the AUTH line.
    deferred: Option<Secret<String>>,
}

#[derive(Debug, Clone, Default)]
struct Txn {
    rcpt_lines: Vec<Vec<u8>>,
    next_rcpt: usize,
    /// DATA: dot-stuffed content with its terminator. BDAT: the `BDAT n
    /// LAST` line and the chunk.
    content: Vec<u8>,
    bdat: bool,
    pipelined: bool,
    mail_ok: bool,
    accepted: Vec<usize>,
    refused: usize,
    last_refusal: Option<OwnedReply>,
    failure: Option<(TransactionStage, OwnedReply)>,
    /// The 354 came for a transaction that already failed: only the dot
    /// was sent and its reply is drained.
    discard: bool,
}

/// The SMTP/LMTP client state machine.
///
/// See the [module documentation](self) for the flow and the driving loop.
#[derive(Debug, Clone)]
pub struct Client {
    m: Machine,
}

#[derive(Debug, Clone)]
struct Machine {
    cfg: ClientConfig,
    reader: ReplyReader,
    out: Vec<u8>,
    expects: VecDeque<Expect>,
    phase: Phase,
    tls: bool,
    caps: Option<ServerCapabilities>,
    starttls_refused: bool,
    authenticated: bool,
    auth: Option<AuthState>,
    txn: Option<Txn>,
    /// A transaction whose MAIL was accepted ended without completing:
    /// RSET before the next MAIL (RFC 5321 4.1.1.5).
    needs_rset: bool,
    eof: bool,
    events: VecDeque<ClientEvent>,
    closed_reported: bool,
}

impl Client {
    /// A client for one connection. In [`PortMode::ImplicitTls`] TLS is
    /// taken as established before the first byte (RFC 8314 3.3).
    pub fn new(cfg: ClientConfig) -> Result<Client, ConfigError> {
        cfg.check()?;
        let tls = cfg.mode.implicit_tls();
        let reader = ReplyReader::new(cfg.limits);
        Ok(Client {
            m: Machine {
                cfg,
                reader,
                out: Vec::new(),
                expects: VecDeque::from([Expect::Greeting]),
                phase: Phase::Opening,
                tls,
                caps: None,
                starttls_refused: false,
                authenticated: false,
                auth: None,
                txn: None,
                needs_rset: false,
                eof: false,
                events: VecDeque::new(),
                closed_reported: false,
            },
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.m.cfg
    }

    /// Whether TLS is active.
    pub fn is_tls(&self) -> bool {
        self.m.tls
    }

    /// Whether AUTH succeeded.
    pub fn is_authenticated(&self) -> bool {
        self.m.authenticated
    }

    /// Whether the machine has closed (or asked its driver to close).
    pub fn is_closed(&self) -> bool {
        self.m.phase == Phase::Closed
    }

    /// Whether the machine waits for [`Client::tls_established`].
    pub fn wants_tls(&self) -> bool {
        self.m.phase == Phase::AwaitTls
    }

    /// Whether the machine waits for [`Client::send_mail`] or
    /// [`Client::quit`].
    pub fn is_ready(&self) -> bool {
        self.m.phase == Phase::Ready
    }

    /// What the server offered in its last EHLO/LHLO/HELO reply (forgotten
    /// when TLS starts, RFC 3207 4.2).
    pub fn capabilities(&self) -> Option<&ServerCapabilities> {
        self.m.caps.as_ref()
    }

    /// Feeds bytes received from the server. Only buffers; replies are read
    /// in [`Client::next_event`]. Bytes received while the machine waits
    /// for [`Client::tls_established`] are a fatal
    /// [`ClientError::ResponseInjection`] (RFC 3207 5).
    pub fn receive(&mut self, bytes: &[u8]) {
        let m = &mut self.m;
        if bytes.is_empty() || m.eof {
            return;
        }
        match m.phase {
            Phase::Closed => {}
            Phase::AwaitTls => m.fatal(ClientError::ResponseInjection),
            _ => m.reader.receive(bytes),
        }
    }

    /// The server closed its sending side. Takes effect once the replies
    /// already buffered are read: then the machine closes, reporting
    /// [`ClientError::ConnectionClosed`] unless it was quitting.
    pub fn receive_eof(&mut self) {
        if self.m.phase == Phase::AwaitTls {
            self.m
                .events
                .push_back(ClientEvent::Error(ClientError::ConnectionClosed));
            self.m.close_now();
        }
        self.m.eof = true;
    }

    /// The TLS handshake that [`ClientEvent::StartTls`] asked for is done:
    /// everything learned before is forgotten and EHLO (LHLO) is sent again
    /// (RFC 3207 4.2). Returns `false`, and does nothing, if TLS was not
    /// requested.
    pub fn tls_established(&mut self) -> bool {
        let m = &mut self.m;
        if m.phase != Phase::AwaitTls {
            return false;
        }
        m.tls = true;
        m.reader.clear();
        m.caps = None;
        m.phase = Phase::Opening;
        let kind = m.ehlo_kind();
        m.send_hello(kind);
        true
    }

    /// The RFC 5321 4.5.3.2 timeout for the reply being waited for (see the
    /// `*_TIMEOUT` constants); `None` while the machine waits for the
    /// application, the TLS handshake, or is closed. The driver owns the
    /// clock and calls [`Client::handle_timeout`] when it passes.
    pub fn timeout(&self) -> Option<Duration> {
        if matches!(self.m.phase, Phase::Closed | Phase::AwaitTls) {
            return None;
        }
        Some(match self.m.expects.front()? {
            Expect::Greeting => GREETING_TIMEOUT,
            Expect::Mail => MAIL_TIMEOUT,
            Expect::Rcpt(_) => RCPT_TIMEOUT,
            Expect::Data => DATA_INIT_TIMEOUT,
            Expect::DataEnd | Expect::Bdat | Expect::Lmtp(_) => DATA_END_TIMEOUT,
            Expect::Hello(_)
            | Expect::StartTls
            | Expect::Auth
            | Expect::AuthCancel
            | Expect::Rset(_)
            | Expect::Quit => COMMAND_TIMEOUT,
        })
    }

    /// The timeout passed: a fatal [`ClientError::Timeout`]; the machine
    /// closes at once (the server is not answering, RFC 5321 4.5.3.2).
    pub fn handle_timeout(&mut self) {
        if self.is_closed() {
            return;
        }
        self.m
            .events
            .push_back(ClientEvent::Error(ClientError::Timeout));
        self.m.close_now();
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
    pub fn send_mail(&mut self, envelope: Envelope, body: Vec<u8>) -> Result<(), SendError> {
        let m = &mut self.m;
        if m.phase != Phase::Ready || !m.expects.is_empty() {
            return Err(SendError::Misuse(Misuse(Box::new((envelope, body)))));
        }
        match m.prepare(&envelope, &body) {
            Ok((mail, txn)) => {
                m.start_transaction(mail, txn);
                Ok(())
            }
            Err(error) => Err(SendError::Invalid {
                error,
                message: Box::new((envelope, body)),
            }),
        }
    }

    /// Ends the session: QUIT, then close on its reply (RFC 5321
    /// 4.1.1.10). Legal on [`ClientEvent::Ready`] and
    /// [`ClientEvent::RecipientsPartial`].
    pub fn quit(&mut self) -> Result<(), Misuse<()>> {
        let m = &mut self.m;
        if !matches!(m.phase, Phase::Ready | Phase::Decide) {
            return Err(Misuse(()));
        }
        m.txn = None;
        m.send_quit();
        Ok(())
    }

    /// Sends the content to the accepted recipients (decision on
    /// [`ClientEvent::RecipientsPartial`]).
    pub fn proceed(&mut self) -> Result<(), Misuse<()>> {
        let m = &mut self.m;
        if m.phase != Phase::Decide {
            return Err(Misuse(()));
        }
        m.phase = Phase::Transaction;
        m.send_content_command();
        Ok(())
    }

    /// Gives the message up (decision on [`ClientEvent::RecipientsPartial`]):
    /// RSET, then [`ClientEvent::TransactionFailed`] with
    /// [`TransactionStage::Aborted`] and Ready (RFC 5321 4.1.1.5).
    pub fn abort(&mut self) -> Result<(), Misuse<()>> {
        let m = &mut self.m;
        if m.phase != Phase::Decide {
            return Err(Misuse(()));
        }
        m.phase = Phase::Transaction;
        m.out.extend_from_slice(b"RSET\r\n");
        m.expects.push_back(Expect::Rset(AfterRset::Abort));
        Ok(())
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
                Phase::Closed => {
                    if m.closed_reported {
                        return None;
                    }
                    m.closed_reported = true;
                    return Some(ClientEvent::Closed);
                }
                Phase::AwaitTls => return None,
                _ => {}
            }
            let front = m.expects.front().copied();
            if front == Some(Expect::Greeting)
                && detect_wrong_port(m.reader.buffered(), m.cfg.mode)
                    == Some(WrongPort::TlsWherePlaintextExpected)
            {
                m.fatal(ClientError::WrongPort(WrongPort::TlsWherePlaintextExpected));
                continue;
            }
            // The greeting and EHLO replies carry no enhanced status code
            // (RFC 2034 3); others are read with them.
            let plain = matches!(
                front,
                Some(Expect::Greeting | Expect::Hello(HelloKind::Ehlo | HelloKind::Lhlo))
            );
            m.reader.set_enhanced_codes(!plain);
            let incoming = match m.reader.next_reply() {
                None => {
                    if m.eof {
                        m.on_eof();
                        continue;
                    }
                    return None;
                }
                Some(Err(e)) => Err(e),
                Some(Ok(reply)) => Ok(Incoming::read(&reply, front)),
            };
            match incoming {
                Err(e) => {
                    // The malformed reply answered the command in front.
                    m.expects.pop_front();
                    m.fatal(ClientError::MalformedReply(e));
                }
                Ok(inc) => m.dispatch(inc),
            }
        }
    }
}

/// A reply taken out of the reader (owned, so the machine can change).
struct Incoming {
    reply: OwnedReply,
    /// The parsed EHLO/LHLO reply when one was expected and the code is
    /// 250.
    caps: Option<Result<ServerCapabilities, ParseError>>,
}

impl Incoming {
    fn read(reply: &Reply<'_>, front: Option<Expect>) -> Incoming {
        let caps = match front {
            Some(Expect::Hello(kind @ (HelloKind::Ehlo | HelloKind::Lhlo)))
                if reply.code() == ReplyCode::OK =>
            {
                Some(EhloReply::from_reply(*reply).map(|e| ServerCapabilities::from_ehlo(kind, &e)))
            }
            _ => None,
        };
        Incoming {
            reply: owned_reply(reply),
            caps,
        }
    }
}

/// An owned copy keeping the full text and the enhanced status code, also
/// for replies read without enhanced-code detection (RFC 3463, RFC 2034).
fn owned_reply(reply: &Reply<'_>) -> OwnedReply {
    let mut o = reply.to_owned_reply();
    if o.enhanced.is_none() {
        let first = reply.lines().next().unwrap_or(&[]);
        if let Some(e) = reply.line_enhanced(first) {
            o.enhanced = Some(e);
            o.lines = reply
                .lines()
                .map(|l| {
                    let t = if reply.line_enhanced(l) == Some(e) {
                        reply.text_without_enhanced(l)
                    } else {
                        l
                    };
                    Cow::Owned(String::from_utf8_lossy(t).into_owned())
                })
                .collect();
        }
    }
    o
}

fn class(reply: &OwnedReply) -> u8 {
    reply.code.first_digit()
}

/// Normalizes bare CR and bare LF to CRLF (RFC 5321 2.3.8), as
/// [`DataEncoder`] does under [`LineEndingPolicy::Normalize`].
fn normalize_line_endings(body: &[u8]) -> Cow<'_, [u8]> {
    if !data::inspect(body).bare_line_ending {
        return Cow::Borrowed(body);
    }
    let mut out = Vec::with_capacity(body.len() + 16);
    let mut i = 0;
    while let Some(&b) = body.get(i) {
        match b {
            b'\r' => {
                out.extend_from_slice(b"\r\n");
                i += if body.get(i + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
            }
            b'\n' => {
                out.extend_from_slice(b"\r\n");
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    Cow::Owned(out)
}

/// RFC 6533 3 `utf-8-addr-xtext`: QCHAR as is, anything else as
/// `\x{HEX}`.
fn utf8_addr_xtext(addr: &str, out: &mut Vec<u8>) {
    use core::fmt::Write as _;
    let mut s = String::new();
    for c in addr.chars() {
        if matches!(c, '\x21'..='\x2a' | '\x2c'..='\x3c' | '\x3e'..='\x5b' | '\x5d'..='\x7e') {
            s.push(c);
        } else {
            let _ = write!(s, "\\x{{{:X}}}", u32::from(c));
        }
    }
    out.extend_from_slice(s.as_bytes());
}

impl Machine {
    fn ehlo_kind(&self) -> HelloKind {
        if self.cfg.mode == PortMode::Lmtp {
            HelloKind::Lhlo
        } else {
            HelloKind::Ehlo
        }
    }

    // ----- output ---------------------------------------------------------

    fn send_hello(&mut self, kind: HelloKind) {
        // The name was checked by `ClientConfig::check`.
        let Ok(domain) = Domain::parse(self.cfg.helo.as_bytes(), false) else {
            self.events
                .push_back(ClientEvent::Error(ClientError::ConnectionClosed));
            self.close_now();
            return;
        };
        let cmd = match kind {
            HelloKind::Ehlo => Command::Ehlo { domain },
            HelloKind::Helo => Command::Helo { domain },
            HelloKind::Lhlo => Command::Lhlo { domain },
        };
        if cmd.write_to(&mut self.out).is_err() {
            self.events
                .push_back(ClientEvent::Error(ClientError::ConnectionClosed));
            self.close_now();
            return;
        }
        self.expects.push_back(Expect::Hello(kind));
    }

    fn send_quit(&mut self) {
        // A DATA whose 354 may still come would turn QUIT into content.
        if self.expects.contains(&Expect::Data) {
            self.close_now();
            return;
        }
        self.out.extend_from_slice(b"QUIT\r\n");
        self.expects.push_back(Expect::Quit);
        self.phase = Phase::Quitting;
        self.txn = None;
        self.auth = None;
    }

    /// Closes with nothing more sent; unsent output is dropped.
    fn close_now(&mut self) {
        self.phase = Phase::Closed;
        self.expects.clear();
        self.out.clear();
        self.reader.clear();
        self.txn = None;
        self.auth = None;
    }

    /// The reply to QUIT arrived (RFC 5321 4.1.1.10): closed; pending
    /// output (the QUIT itself, if not yet taken) is kept.
    fn close_after_quit(&mut self) {
        self.phase = Phase::Closed;
        self.expects.clear();
        self.reader.clear();
    }

    /// A fatal error: reported, then QUIT (or close at once).
    fn fatal(&mut self, err: ClientError) {
        let at_once = err.closes_at_once();
        self.events.push_back(ClientEvent::Error(err));
        if at_once || matches!(self.phase, Phase::Quitting | Phase::Closed) {
            self.close_now();
        } else {
            self.send_quit();
        }
    }

    fn on_eof(&mut self) {
        self.eof = false;
        match self.phase {
            Phase::Closed => {}
            Phase::Quitting => self.close_now(),
            _ => {
                self.events
                    .push_back(ClientEvent::Error(ClientError::ConnectionClosed));
                self.close_now();
            }
        }
        // No byte is read after EOF.
        self.eof = true;
    }

    fn become_ready(&mut self) {
        self.phase = Phase::Ready;
        self.txn = None;
        self.events.push_back(ClientEvent::Ready);
    }

    // ----- the transition table -----------------------------------------

    fn dispatch(&mut self, inc: Incoming) {
        // RFC 5321 3.8: a 421, at any point, means the server is closing.
        let front = self.expects.front().copied();
        if inc.reply.code == ReplyCode::SERVICE_NOT_AVAILABLE && front != Some(Expect::Quit) {
            self.fatal(ClientError::ServiceClosing(inc.reply));
            return;
        }
        let Some(expect) = self.expects.pop_front() else {
            self.fatal(ClientError::UnexpectedReply(inc.reply));
            return;
        };
        if self.phase == Phase::Quitting {
            match expect {
                Expect::Quit => self.close_after_quit(),
                _ if inc.reply.code == ReplyCode::START_MAIL_INPUT => self.close_now(),
                _ => {}
            }
            return;
        }
        self.on_reply(expect, inc);
    }

    /// One arm per reply the machine waits for.
    fn on_reply(&mut self, expect: Expect, inc: Incoming) {
        let reply = inc.reply;
        match expect {
            // RFC 5321 3.1, 4.3.1: 220 ready, 554 refused (421 handled above).
            Expect::Greeting => match class(&reply) {
                2 if reply.code == ReplyCode::READY => {
                    self.events.push_back(ClientEvent::Greeting(reply));
                    let kind = self.ehlo_kind();
                    self.send_hello(kind);
                }
                5 => self.fatal(ClientError::GreetingRefused(reply)),
                _ => self.fatal(ClientError::UnexpectedReply(reply)),
            },

            // RFC 5321 4.1.1.1, 4.1.4 (HELO fallback), RFC 2033 4.1.
            Expect::Hello(kind) => match (class(&reply), kind) {
                (2, HelloKind::Helo) => {
                    let caps = ServerCapabilities::helo(&reply);
                    self.caps = Some(caps.clone());
                    self.events.push_back(ClientEvent::Capabilities(caps));
                    self.after_hello();
                }
                (2, _) => match inc.caps {
                    Some(Ok(caps)) => {
                        self.caps = Some(caps.clone());
                        self.events.push_back(ClientEvent::Capabilities(caps));
                        self.after_hello();
                    }
                    Some(Err(e)) => self.fatal(ClientError::MalformedReply(e)),
                    None => self.fatal(ClientError::UnexpectedReply(reply)),
                },
                (4 | 5, HelloKind::Ehlo)
                    if matches!(reply.code.get(), 500 | 502) && self.helo_allowed() =>
                {
                    self.send_hello(HelloKind::Helo);
                }
                (4 | 5, _) => self.fatal(ClientError::HelloRefused(reply)),
                _ => self.fatal(ClientError::UnexpectedReply(reply)),
            },

            // RFC 3207 4, 5.
            Expect::StartTls => match class(&reply) {
                2 if reply.code == ReplyCode::READY => {
                    // Bytes behind the 220, or a 220 read before STARTTLS
                    // was even transmitted (it can only have been sent
                    // ahead by someone else), are never trusted.
                    if !self.reader.buffered().is_empty() || !self.out.is_empty() {
                        self.fatal(ClientError::ResponseInjection);
                    } else {
                        self.phase = Phase::AwaitTls;
                        self.events.push_back(ClientEvent::StartTls);
                    }
                }
                4 | 5 => {
                    if self.cfg.tls == TlsPolicy::Required {
                        self.fatal(ClientError::TlsRefused(reply));
                    } else {
                        self.starttls_refused = true;
                        self.after_hello();
                    }
                }
                _ => self.fatal(ClientError::UnexpectedReply(reply)),
            },

            // RFC 4954 4, 6.
            Expect::Auth => self.on_auth_reply(reply),
            Expect::AuthCancel => self.fatal(ClientError::UnexpectedReply(reply)),

            // RFC 5321 4.1.1.5.
            Expect::Rset(after) => {
                if class(&reply) != 2 {
                    self.fatal(ClientError::ResetRefused(reply));
                    return;
                }
                self.needs_rset = false;
                match after {
                    AfterRset::Group => {}
                    AfterRset::Mail => self.send_mail_line(),
                    AfterRset::Abort => {
                        self.events.push_back(ClientEvent::TransactionFailed {
                            stage: TransactionStage::Aborted,
                            reply: None,
                        });
                        self.become_ready();
                    }
                }
            }

            // RFC 5321 4.1.1.2.
            Expect::Mail => {
                let Some(txn) = self.txn.as_mut() else {
                    self.fatal(ClientError::UnexpectedReply(reply));
                    return;
                };
                match class(&reply) {
                    2 => {
                        txn.mail_ok = true;
                        if !txn.pipelined {
                            self.send_next_rcpt();
                        }
                    }
                    4 | 5 => {
                        if txn.pipelined {
                            txn.failure.get_or_insert((TransactionStage::Mail, reply));
                        } else {
                            self.fail_transaction(TransactionStage::Mail, Some(reply));
                        }
                    }
                    _ => self.fatal(ClientError::UnexpectedReply(reply)),
                }
            }

            // RFC 5321 4.1.1.3.
            Expect::Rcpt(index) => {
                let Some(txn) = self.txn.as_mut() else {
                    self.fatal(ClientError::UnexpectedReply(reply));
                    return;
                };
                let accepted = match class(&reply) {
                    2 => true,
                    4 | 5 => false,
                    _ => {
                        self.fatal(ClientError::UnexpectedReply(reply));
                        return;
                    }
                };
                if accepted {
                    txn.accepted.push(index);
                } else {
                    txn.refused += 1;
                    txn.last_refusal = Some(reply.clone());
                }
                let pipelined = txn.pipelined;
                self.events.push_back(ClientEvent::Recipient {
                    index,
                    accepted,
                    reply,
                });
                if !pipelined {
                    self.after_rcpt();
                }
            }

            // RFC 5321 4.1.1.4; RFC 2920 3.1 for the group's outcome.
            Expect::Data => {
                let Some(txn) = self.txn.as_mut() else {
                    self.fatal(ClientError::UnexpectedReply(reply));
                    return;
                };
                match class(&reply) {
                    3 if reply.code == ReplyCode::START_MAIL_INPUT => {
                        if txn.failure.is_none() && txn.mail_ok && !txn.accepted.is_empty() {
                            let content = core::mem::take(&mut txn.content);
                            self.out.extend_from_slice(&content);
                            self.expect_content_replies();
                        } else if self.cfg.mode == PortMode::Lmtp {
                            // RFC 2033 4.2: DATA must fail without a
                            // successful RCPT; the number of replies to the
                            // dot would be zero. The server is in content
                            // mode, so QUIT cannot be sent.
                            self.events
                                .push_back(ClientEvent::Error(ClientError::UnexpectedReply(reply)));
                            self.close_now();
                        } else {
                            // RFC 2920 3.1: the group failed but DATA was
                            // accepted: end the content at once.
                            txn.discard = true;
                            self.out.extend_from_slice(b".\r\n");
                            self.expects.push_front(Expect::DataEnd);
                        }
                    }
                    4 | 5 => {
                        let stage = self.group_failure(TransactionStage::Data, reply);
                        self.fail_transaction(stage.0, Some(stage.1));
                    }
                    _ => self.fatal(ClientError::UnexpectedReply(reply)),
                }
            }

            // RFC 5321 4.1.1.4 (final dot), RFC 3030 2 (BDAT LAST).
            Expect::DataEnd | Expect::Bdat => {
                let Some(txn) = self.txn.as_mut() else {
                    self.fatal(ClientError::UnexpectedReply(reply));
                    return;
                };
                if !matches!(class(&reply), 2 | 4 | 5) {
                    self.fatal(ClientError::UnexpectedReply(reply));
                    return;
                }
                if txn.discard || txn.failure.is_some() || !txn.mail_ok || txn.accepted.is_empty() {
                    let (stage, r) = self.group_failure(TransactionStage::Content, reply);
                    self.fail_transaction(stage, Some(r));
                    return;
                }
                if self.cfg.mode == PortMode::Lmtp {
                    // RFC 2033 4.2 with RFC 3030: one reply per accepted
                    // recipient; this is the first one.
                    let first = txn.accepted.first().copied().unwrap_or(0);
                    let rest: Vec<usize> = txn.accepted.iter().skip(1).copied().collect();
                    for i in rest.into_iter().rev() {
                        self.expects.push_front(Expect::Lmtp(i));
                    }
                    self.on_lmtp_reply(first, reply);
                    return;
                }
                if class(&reply) == 2 {
                    self.events.push_back(ClientEvent::Delivered(reply));
                    self.become_ready();
                } else {
                    self.fail_transaction(TransactionStage::Content, Some(reply));
                }
            }

            // RFC 2033 4.2.
            Expect::Lmtp(index) => {
                if !matches!(class(&reply), 2 | 4 | 5) {
                    self.fatal(ClientError::UnexpectedReply(reply));
                    return;
                }
                self.on_lmtp_reply(index, reply);
            }

            // Handled in `dispatch` (the machine is quitting).
            Expect::Quit => self.close_after_quit(),
        }
    }

    fn on_lmtp_reply(&mut self, index: usize, reply: OwnedReply) {
        self.events.push_back(ClientEvent::LmtpResult {
            index,
            delivered: class(&reply) == 2,
            reply,
        });
        if !matches!(self.expects.front(), Some(Expect::Lmtp(_))) {
            self.become_ready();
        }
    }

    /// The first failure of a pipelined group, else `(stage, reply)`.
    fn group_failure(
        &mut self,
        stage: TransactionStage,
        reply: OwnedReply,
    ) -> (TransactionStage, OwnedReply) {
        let Some(txn) = self.txn.as_mut() else {
            return (stage, reply);
        };
        if let Some(f) = txn.failure.take() {
            return f;
        }
        if txn.mail_ok && txn.accepted.is_empty() {
            if let Some(r) = txn.last_refusal.take() {
                return (TransactionStage::Recipients, r);
            }
        }
        (stage, reply)
    }

    fn fail_transaction(&mut self, stage: TransactionStage, reply: Option<OwnedReply>) {
        let (mail_ok, bdat) = self
            .txn
            .as_ref()
            .map_or((false, false), |t| (t.mail_ok, t.bdat));
        // RFC 5321 4.1.1.5: a transaction that was opened and not
        // completed is reset before the next MAIL. A refusal after the
        // final dot ends the transaction; after BDAT LAST a reset is
        // harmless and makes sure (RFC 3030 2).
        self.needs_rset = mail_ok && (stage != TransactionStage::Content || bdat);
        self.events
            .push_back(ClientEvent::TransactionFailed { stage, reply });
        self.become_ready();
    }

    // ----- hello, STARTTLS, AUTH -------------------------------------------

    /// HELO would lose STARTTLS and AUTH (RFC 3207 4.1, RFC 4954 3): only
    /// without credentials, and without a TLS requirement still unmet.
    fn helo_allowed(&self) -> bool {
        self.cfg.credentials.is_none() && (self.tls || self.cfg.tls != TlsPolicy::Required)
    }

    fn after_hello(&mut self) {
        let ext = self
            .caps
            .as_ref()
            .map_or(Extensions::NONE, |c| c.extensions);
        if !self.tls {
            let offered = ext.contains(Extensions::STARTTLS);
            match self.cfg.tls {
                TlsPolicy::Required => {
                    if offered && !self.starttls_refused {
                        self.send_starttls();
                    } else {
                        self.fatal(ClientError::TlsUnavailable);
                    }
                    return;
                }
                TlsPolicy::Opportunistic if offered && !self.starttls_refused => {
                    self.send_starttls();
                    return;
                }
                _ => {}
            }
        }
        if self.cfg.credentials.is_some() && !self.authenticated {
            match self.choose_mechanism() {
                Some(m) => self.start_auth(m),
                None => self.fatal(ClientError::AuthUnavailable),
            }
            return;
        }
        self.become_ready();
    }

    fn send_starttls(&mut self) {
        self.out.extend_from_slice(b"STARTTLS\r\n");
        self.expects.push_back(Expect::StartTls);
    }

    fn choose_mechanism(&self) -> Option<Mechanism> {
        let offered = self.caps.as_ref()?;
        if !offered.supports(Extensions::AUTH) {
            return None;
        }
        self.cfg.mechanisms.iter().copied().find(|m| {
            client_supports(*m)
                && offered.mechanisms.contains(m)
                && (self.tls || !m.is_plaintext() || self.cfg.plaintext_auth_without_tls)
        })
    }

    fn start_auth(&mut self, mechanism: Mechanism) {
        let Some(c) = self.cfg.credentials.as_ref() else {
            self.fatal(ClientError::AuthUnavailable);
            return;
        };
        let secret = c.secret.expose().as_str();
        let message = match mechanism {
            Mechanism::Plain => Some(sasl::plain_message(
                c.authzid.as_deref().unwrap_or(""),
                &c.user,
                secret,
            )),
            Mechanism::XOAuth2 => Some(sasl::xoauth2_message(&c.user, secret)),
            Mechanism::OAuthBearer => Some(sasl::oauthbearer_message(&c.user, secret)),
            _ => None,
        };
        let name = mechanism.name();
        let mut deferred = None;
        self.out.extend_from_slice(b"AUTH ");
        self.out.extend_from_slice(name.as_bytes());
        if let Some(msg) = message {
            let ir = Secret::new(sasl::encode_base64(msg.expose()));
            // RFC 4954 4: an initial response that would make the line
            // longer than 512 octets is sent after an empty challenge.
            if 5 + name.len() + 1 + ir.expose().len() + 2 <= 512 {
                self.out.push(b' ');
                self.out.extend_from_slice(ir.expose().as_bytes());
            } else {
                deferred = Some(ir);
            }
        }
        self.out.extend_from_slice(b"\r\n");
        self.expects.push_back(Expect::Auth);
        self.auth = Some(AuthState {
            mechanism,
            step: 0,
            deferred,
        });
    }

    fn on_auth_reply(&mut self, reply: OwnedReply) {
        let Some(state) = self.auth.as_mut() else {
            self.fatal(ClientError::UnexpectedReply(reply));
            return;
        };
        match class(&reply) {
            2 if reply.code == ReplyCode::AUTH_SUCCEEDED => {
                let m = state.mechanism;
                self.auth = None;
                self.authenticated = true;
                self.events.push_back(ClientEvent::Authenticated(m));
                self.become_ready();
            }
            3 if reply.code == ReplyCode::AUTH_CHALLENGE => {
                let step = state.step;
                state.step = state.step.saturating_add(1);
                let response: Option<Secret<String>> = match (state.mechanism, step) {
                    (_, 0) if state.deferred.is_some() => state.deferred.take(),
                    (Mechanism::Login, 0) | (Mechanism::Login, 1) => {
                        self.cfg.credentials.as_ref().map(|c| {
                            let v = if step == 0 {
                                c.user.as_bytes()
                            } else {
                                c.secret.expose().as_bytes()
                            };
                            Secret::new(sasl::encode_base64(v))
                        })
                    }
                    // XOAUTH2: an error challenge is answered with an
                    // empty response; OAUTHBEARER (RFC 7628 3.2.3) with
                    // %x01. The final 535 follows.
                    (Mechanism::XOAuth2, 0) => Some(Secret::new(String::new())),
                    (Mechanism::OAuthBearer, 0) => Some(Secret::new(String::from("AQ=="))),
                    _ => None,
                };
                match response {
                    Some(r) => {
                        self.out.extend_from_slice(r.expose().as_bytes());
                        self.out.extend_from_slice(b"\r\n");
                        self.expects.push_back(Expect::Auth);
                    }
                    None => {
                        // RFC 4954 4: cancel the exchange with "*".
                        self.out.extend_from_slice(b"*\r\n");
                        self.expects.push_back(Expect::AuthCancel);
                        self.auth = None;
                        self.fatal(ClientError::UnexpectedReply(reply));
                    }
                }
            }
            4 | 5 => {
                self.auth = None;
                self.fatal(ClientError::AuthFailed(reply));
            }
            _ => {
                self.auth = None;
                self.fatal(ClientError::UnexpectedReply(reply));
            }
        }
    }

    // ----- transactions --------------------------------------------------

    /// Checks a message and builds its MAIL line and transaction.
    fn prepare(&self, env: &Envelope, body: &[u8]) -> Result<(Vec<u8>, Txn), MessageError> {
        let ext = self
            .caps
            .as_ref()
            .map_or(Extensions::NONE, |c| c.extensions);
        let from = if env.from.is_empty() {
            ReversePath::Null
        } else {
            ReversePath::Mailbox(
                Mailbox::parse(env.from.as_bytes(), true)
                    .map_err(|_| MessageError::InvalidSender)?,
            )
        };
        if env.to.is_empty() {
            return Err(MessageError::NoRecipients);
        }
        let mut utf8 = matches!(from, ReversePath::Mailbox(m) if m.is_utf8());
        let mut to = Vec::with_capacity(env.to.len());
        for (i, r) in env.to.iter().enumerate() {
            let path = if r.eq_ignore_ascii_case("postmaster") {
                ForwardPath::Postmaster
            } else {
                let m = Mailbox::parse(r.as_bytes(), true)
                    .map_err(|_| MessageError::InvalidRecipient(i))?;
                utf8 |= m.is_utf8();
                ForwardPath::Mailbox(m)
            };
            to.push(path);
        }
        if utf8 && !ext.contains(Extensions::SMTPUTF8) {
            return Err(MessageError::Utf8Unsupported);
        }
        let info = data::inspect(body);
        if info.bare_line_ending && self.cfg.line_ending == LineEndingPolicy::Reject {
            return Err(MessageError::BareLineEnding);
        }
        if info.nul {
            // Not allowed in text (RFC 5321 2.3.8, RFC 5322 2.3); a strict
            // server refuses the message (this crate's server does).
            return Err(MessageError::Nul);
        }
        if info.eight_bit && !ext.contains(Extensions::EIGHT_BIT_MIME) {
            return Err(MessageError::EightBitUnsupported);
        }
        if env.dsn.is_some() && !ext.contains(Extensions::DSN) {
            return Err(MessageError::DsnUnsupported);
        }
        if env.requiretls && (!self.tls || !ext.contains(Extensions::REQUIRETLS)) {
            return Err(MessageError::RequireTlsUnsupported);
        }

        // Content.
        let normalized = normalize_line_endings(body);
        let bdat = self.cfg.chunking && ext.contains(Extensions::CHUNKING);
        let mut content = Vec::new();
        let size = if bdat {
            data::write_bdat(&mut content, &normalized, true);
            normalized.len() as u64
        } else {
            let mut enc = DataEncoder::new(LineEndingPolicy::Normalize);
            let ok =
                enc.encode(&normalized, &mut content).is_ok() && enc.finish(&mut content).is_ok();
            if !ok {
                return Err(MessageError::BareLineEnding);
            }
            let missing_crlf = !normalized.is_empty() && !normalized.ends_with(b"\r\n");
            normalized.len() as u64 + if missing_crlf { 2 } else { 0 }
        };
        let mut size_param = None;
        if ext.contains(Extensions::SIZE) {
            if let Some(limit) = self.caps.as_ref().and_then(|c| c.size) {
                if limit > 0 && size > limit {
                    return Err(MessageError::TooBig { size, limit });
                }
            }
            size_param = Some(size);
        }

        // MAIL.
        let mut envid = Vec::new();
        if let Some(id) = env.dsn.as_ref().and_then(|d| d.envid.as_ref()) {
            XText::encode(id.as_bytes(), &mut envid);
        }
        let params = MailParams {
            size: size_param,
            body: info.eight_bit.then_some(Body::EightBitMime),
            smtputf8: utf8,
            ret: env.dsn.as_ref().and_then(|d| d.ret),
            envid: if envid.is_empty() {
                None
            } else {
                Some(XText::new(&envid).map_err(|_| MessageError::DsnUnsupported)?)
            },
            requiretls: env.requiretls,
            ..MailParams::default()
        };
        let mut mail = Vec::new();
        Command::Mail { from, params }
            .write_to(&mut mail)
            .map_err(|_| MessageError::InvalidSender)?;

        // RCPT.
        let mut rcpt_lines = Vec::with_capacity(to.len());
        for (i, path) in to.into_iter().enumerate() {
            let mut orcpt = Vec::new();
            let dsn = env.dsn.as_ref();
            if dsn.is_some_and(|d| d.orcpt) {
                let addr = env.to.get(i).map(String::as_str).unwrap_or("");
                if addr.is_ascii() {
                    XText::encode(addr.as_bytes(), &mut orcpt);
                } else {
                    utf8_addr_xtext(addr, &mut orcpt);
                }
            }
            let params = RcptParams {
                notify: dsn.and_then(|d| d.notify),
                orcpt: (!orcpt.is_empty()).then(|| Orcpt {
                    addr_type: if env.to.get(i).is_some_and(|a| a.is_ascii()) {
                        &b"rfc822"[..]
                    } else {
                        &b"utf-8"[..]
                    },
                    addr: XText(&orcpt),
                }),
                ..RcptParams::default()
            };
            let mut line = Vec::new();
            Command::Rcpt { to: path, params }
                .write_to(&mut line)
                .map_err(|_| MessageError::InvalidRecipient(i))?;
            rcpt_lines.push(line);
        }

        let pipelined = self.cfg.pipelining && ext.contains(Extensions::PIPELINING);
        Ok((
            mail,
            Txn {
                rcpt_lines,
                content,
                bdat,
                pipelined,
                ..Txn::default()
            },
        ))
    }

    fn start_transaction(&mut self, mail: Vec<u8>, mut txn: Txn) {
        self.phase = Phase::Transaction;
        if txn.pipelined {
            // RFC 2920 3.1: [RSET] MAIL RCPT... DATA | BDAT as one group.
            if self.needs_rset {
                self.out.extend_from_slice(b"RSET\r\n");
                self.expects.push_back(Expect::Rset(AfterRset::Group));
            }
            self.out.extend_from_slice(&mail);
            self.expects.push_back(Expect::Mail);
            for (i, line) in txn.rcpt_lines.iter().enumerate() {
                self.out.extend_from_slice(line);
                self.expects.push_back(Expect::Rcpt(i));
            }
            txn.next_rcpt = txn.rcpt_lines.len();
            if txn.bdat {
                let content = core::mem::take(&mut txn.content);
                self.out.extend_from_slice(&content);
                self.expects.push_back(Expect::Bdat);
            } else {
                self.out.extend_from_slice(b"DATA\r\n");
                self.expects.push_back(Expect::Data);
            }
            self.txn = Some(txn);
        } else {
            txn.rcpt_lines.insert(0, mail);
            self.txn = Some(txn);
            if self.needs_rset {
                self.out.extend_from_slice(b"RSET\r\n");
                self.expects.push_back(Expect::Rset(AfterRset::Mail));
            } else {
                self.send_mail_line();
            }
        }
    }

    /// Without pipelining the MAIL line waits at the front of
    /// `rcpt_lines` until sent.
    fn send_mail_line(&mut self) {
        let Some(txn) = self.txn.as_mut() else {
            return;
        };
        if txn.rcpt_lines.is_empty() {
            return;
        }
        let mail = txn.rcpt_lines.remove(0);
        self.out.extend_from_slice(&mail);
        self.expects.push_back(Expect::Mail);
    }

    fn send_next_rcpt(&mut self) {
        let Some(txn) = self.txn.as_mut() else {
            return;
        };
        let i = txn.next_rcpt;
        if let Some(line) = txn.rcpt_lines.get(i) {
            self.out.extend_from_slice(line);
            self.expects.push_back(Expect::Rcpt(i));
            txn.next_rcpt += 1;
        }
    }

    fn after_rcpt(&mut self) {
        let Some(txn) = self.txn.as_ref() else {
            return;
        };
        if txn.next_rcpt < txn.rcpt_lines.len() {
            self.send_next_rcpt();
        } else if txn.accepted.is_empty() {
            let r = self.txn.as_mut().and_then(|t| t.last_refusal.take());
            self.fail_transaction(TransactionStage::Recipients, r);
        } else if txn.refused > 0 {
            let (accepted, refused) = (txn.accepted.len(), txn.refused);
            self.phase = Phase::Decide;
            self.events
                .push_back(ClientEvent::RecipientsPartial { accepted, refused });
        } else {
            self.send_content_command();
        }
    }

    fn send_content_command(&mut self) {
        let Some(txn) = self.txn.as_mut() else {
            return;
        };
        if txn.bdat {
            let content = core::mem::take(&mut txn.content);
            self.out.extend_from_slice(&content);
            self.expects.push_back(Expect::Bdat);
        } else {
            self.out.extend_from_slice(b"DATA\r\n");
            self.expects.push_back(Expect::Data);
        }
    }

    /// After the DATA content: one reply (SMTP) or one per accepted
    /// recipient (LMTP, RFC 2033 4.2), before any later reply.
    fn expect_content_replies(&mut self) {
        if self.cfg.mode == PortMode::Lmtp {
            let accepted = self
                .txn
                .as_ref()
                .map(|t| t.accepted.clone())
                .unwrap_or_default();
            for i in accepted.into_iter().rev() {
                self.expects.push_front(Expect::Lmtp(i));
            }
        } else {
            self.expects.push_front(Expect::DataEnd);
        }
    }
}
