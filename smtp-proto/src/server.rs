//! The server state machine (RFC 5321 sections 3 and 4, RFC 3207, RFC 4954,
//! RFC 2920, RFC 3030, RFC 2033).
//!
//! Every rule that changes the machine's state lives in this file (the
//! transition table is `Machine::on_command`, with the content and AUTH
//! steps beside it).
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

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use crate::address::{Domain, ForwardPath, ReversePath};
use crate::command::Command;
use crate::data::{BdatDecoder, DataDecoder, DataOutcome, DataStep, Piece};
use crate::error::ParseError;
use crate::ext::Extensions;
use crate::line::{InputBuffer, LineStatus};
use crate::mode::{PortMode, ServerConfig};
use crate::mutants::Mutant;
use crate::options::{CommandOptions, LineEndingPolicy};
use crate::params::{Body, MailParams, RcptParams};
use crate::reply::OwnedReply;
use crate::sasl::{self, Credentials, Mechanism, Secret};
pub use crate::session::{HelloKind, Misuse};

/// Appends formatted text to a byte buffer.
fn push_fmt(out: &mut Vec<u8>, args: core::fmt::Arguments<'_>) {
    struct W<'a>(&'a mut Vec<u8>);
    impl core::fmt::Write for W<'_> {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            self.0.extend_from_slice(s.as_bytes());
            Ok(())
        }
    }
    let _ = core::fmt::Write::write_fmt(&mut W(out), args);
}

/// How a message's content arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContentKind {
    /// `DATA` with dot-stuffing (RFC 5321 4.1.1.4).
    Data,
    /// `BDAT` chunks (RFC 3030).
    Bdat,
}

/// A protocol violation the server detected. It is reported as
/// [`ServerEvent::Violation`]; those marked "closes" end the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Violation {
    /// Bytes followed STARTTLS in the same input, or arrived before TLS was
    /// established (CVE-2011-0411 class). Closes.
    StartTlsInjection,
    /// A command arrived behind a group-ending command before its reply
    /// went out (RFC 2920 3.1). Closes.
    PipeliningSync,
    /// Input arrived before the greeting (early talker). Closes.
    EarlyTalker,
    /// Too many errors. Closes with 421.
    TooManyErrors,
    /// Too many failed AUTH attempts. Closes with 421.
    TooManyAuthFailures,
    /// A line longer than its limit (skipped without being stored).
    LineTooLong,
    /// A bare LF or bare CR under the `Reject` policy.
    BareLineEnding,
    /// A line whose verb is BDAT was refused before its chunk size was
    /// known (malformed, overflowing or missing size, bad spacing, trailing
    /// junk, overlong line, bare line ending, NUL). RFC 3030 2 requires the
    /// chunk's octets to be read whatever the verdict; with no size the
    /// next command cannot be found, so the machine answers
    /// [`ReplyKind::BdatUnframable`] and closes. Closes.
    BdatUnframable,
}

impl Violation {
    /// Whether the violation ends the connection.
    pub const fn closes(self) -> bool {
        !matches!(self, Violation::LineTooLong | Violation::BareLineEnding)
    }
}

/// Why a message was not delivered after its content started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AbortReason {
    /// Bare LF / bare CR under the `Reject` policy (answered 550 5.6.0).
    BareLineEnding,
    /// The message exceeded the size limit (answered 552 5.3.4).
    TooBig,
    /// A content line exceeded the text-line limit (answered 550 5.6.0).
    LineTooLong,
    /// A NUL octet in the content under the `Reject` policy (answered
    /// 550 5.6.0).
    Nul,
    /// The client reset the transaction (RSET, EHLO, HELO or LHLO) between
    /// BDAT chunks.
    Reset,
    /// The connection ended before the message was complete.
    Closed,
}

/// An AUTH exchange step the application decides on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthRequest {
    /// Credentials of a mechanism the machine decodes itself (PLAIN, LOGIN,
    /// XOAUTH2, OAUTHBEARER): [`Server::accept`] (235) or
    /// [`Server::reject`] (535 5.7.8 is the usual answer).
    Credentials {
        /// The mechanism used.
        mechanism: Mechanism,
        /// The decoded credentials.
        credentials: Credentials,
    },
    /// A step of a mechanism the application runs (CRAM-MD5, SCRAM,
    /// EXTERNAL): answer with [`Server::auth_challenge`], or end it with
    /// accept or reject. `response` is `None` at the start of a
    /// server-first exchange.
    Step {
        /// The mechanism used.
        mechanism: Mechanism,
        /// The client's decoded response.
        response: Option<Secret<Vec<u8>>>,
    },
}

/// What the server machine reports to its driver.
///
/// Events marked "decision" stop the machine until the driver calls
/// [`Server::accept`], [`Server::respond`] or [`Server::reject`] (or
/// [`Server::auth_challenge`] for AUTH steps).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerEvent<'a> {
    /// A connection is ready for its greeting (decision: accept sends 220,
    /// reject with a 554 makes the server answer 503 to everything but
    /// QUIT, RFC 5321 3.1).
    Connected,
    /// EHLO, HELO or LHLO (decision, RFC 5321 4.1.1.1). Accepting sends the
    /// EHLO reply with the extensions in effect.
    Hello {
        /// The command.
        kind: HelloKind,
        /// Its argument.
        domain: Domain<'a>,
    },
    /// MAIL FROM (decision; accept sends 250 2.1.0, RFC 5321 4.1.1.2).
    Mail {
        /// The reverse path.
        from: ReversePath<'a>,
        /// Its parameters.
        params: MailParams<'a>,
    },
    /// RCPT TO (decision; accept sends 250 2.1.5, RFC 5321 4.1.1.3).
    Rcpt {
        /// The forward path.
        to: ForwardPath<'a>,
        /// Its parameters.
        params: RcptParams<'a>,
    },
    /// Message content begins (after the 354, or with the first BDAT chunk).
    MessageStart {
        /// DATA or BDAT.
        kind: ContentKind,
    },
    /// A piece of message content, unstuffed, in order (line endings as
    /// received or normalized per policy). Pieces borrow the input buffer.
    MessageData(&'a [u8]),
    /// The whole message arrived (decision: accept sends 250 2.0.0; in LMTP
    /// one reply per accepted recipient, see [`Server::respond_each`]).
    MessageComplete {
        /// Content size in octets.
        size: u64,
        /// Accepted recipients.
        recipients: usize,
    },
    /// The message in progress was not delivered; the machine has replied.
    /// Drop what was received of it.
    MessageAborted(AbortReason),
    /// An AUTH step (decision).
    Auth(AuthRequest),
    /// VRFY or EXPN (decision: accept sends 252 2.5.0, RFC 5321 3.5.3).
    Verify {
        /// The argument as sent.
        arg: &'a [u8],
        /// `true` for EXPN.
        expand: bool,
    },
    /// ETRN (decision, RFC 1985).
    Etrn {
        /// The argument as sent.
        node: &'a [u8],
    },
    /// The transaction was cleared (RSET, EHLO, STARTTLS, RFC 5321 4.1.1.5).
    Reset,
    /// STARTTLS was accepted: transmit the pending 220, run the TLS
    /// handshake, then call [`Server::tls_established`] (RFC 3207 4).
    StartTls,
    /// A protocol violation (informative; the machine has acted).
    Violation(Violation),
    /// The connection is over: transmit what is pending, then close.
    Closed,
}

impl ServerEvent<'_> {
    /// Whether the machine waits for a decision on this event.
    pub fn needs_decision(&self) -> bool {
        matches!(
            self,
            ServerEvent::Connected
                | ServerEvent::Hello { .. }
                | ServerEvent::Mail { .. }
                | ServerEvent::Rcpt { .. }
                | ServerEvent::MessageComplete { .. }
                | ServerEvent::Auth(_)
                | ServerEvent::Verify { .. }
                | ServerEvent::Etrn { .. }
        )
    }
}

/// Every reply the server machine writes by itself, each with a default
/// (code, enhanced status code per RFC 3463, text) that
/// [`ServerConfig::replies`] can override. An override changes what goes
/// on the wire, not the machine's state: keep the code's class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReplyKind {
    /// Input arrived before the greeting (early talker). Default: `554 5.5.0 Protocol violation: input before greeting`.
    EarlyTalker,
    /// The RFC 5321 4.5.3.2 timeout passed. Default: `421 4.4.2 Timeout, closing connection`.
    Timeout,
    /// A SASL response line over `Limits::auth_line` (RFC 4954 4). Default: `500 5.5.6 Authentication exchange line is too long`.
    AuthLineTooLong,
    /// A bare CR or LF in a SASL response line. Default: `501 5.5.2 Bare CR or LF in authentication exchange`.
    AuthBareLineEnding,
    /// A command line over its limit (RFC 5321 4.5.3.1.4: "500 Line too
    /// long"; X.5.2 syntax error, RFC 3463 3.6.2: X.5.6 is registered by
    /// RFC 4954 4 for AUTH exchange lines only, [`ReplyKind::AuthLineTooLong`]).
    /// Default: `500 5.5.2 Line too long`.
    LineTooLong,
    /// A bare CR or LF in a command line (RFC 5321 2.3.8). Default: `500 5.5.2 Bare CR or LF in command line`.
    BareLineEnding,
    /// Bytes followed STARTTLS in the same input (CVE-2011-0411 class). Default: `554 5.5.0 Protocol violation: data after STARTTLS`.
    StartTlsInjection,
    /// A command other than QUIT after a refused greeting (RFC 5321 3.1). Default: `503 5.5.1 Bad sequence of commands`.
    BadSequence,
    /// `ServerConfig::max_errors` was reached. Default: `421 4.7.0 Too many errors, closing connection`.
    TooManyErrors,
    /// An unknown verb (RFC 5321 4.2.4). Default: `500 5.5.1 Command unrecognized`.
    UnknownCommand,
    /// A NUL octet in a command line. Default: `500 5.5.2 NUL in command line`.
    NulInCommand,
    /// A parameter not recognized or of an extension not in effect (RFC 5321 4.1.1.11). Default: `555 5.5.4 Parameter not recognized or not implemented`.
    UnsupportedParameter,
    /// A malformed, duplicated or overflowing parameter value. Default: `501 5.5.4 Invalid parameter`.
    InvalidParameter,
    /// A local part, domain or path over its limit (RFC 5321 4.5.3.1). Default: `501 5.1.3 Address too long`.
    AddressTooLong,
    /// Non-ASCII without SMTPUTF8 (RFC 6531 3.7.4.1). Default: `553 5.6.7 Non-ASCII address not permitted`.
    NonAsciiAddress,
    /// A command that does not match its grammar (RFC 5321 4.2.4). Default: `501 5.5.2 Syntax error`.
    SyntaxError,
    /// A command behind a group-ending command before its reply went out (RFC 2920 3.1). Default: `554 5.5.0 Protocol violation: pipelining synchronization`.
    PipeliningSync,
    /// MAIL accepted. Default: `250 2.1.0 Sender OK`.
    SenderOk,
    /// RCPT accepted. Default: `250 2.1.5 Recipient OK`.
    RecipientOk,
    /// The message was accepted (once per recipient in LMTP). Default: `250 2.0.0 Message accepted`.
    MessageAccepted,
    /// AUTH succeeded (RFC 4954 6). Default: `235 2.7.0 Authentication successful`.
    AuthSucceeded,
    /// AUTH failed (RFC 4954 6). Default: `535 5.7.8 Authentication credentials invalid`.
    AuthFailed,
    /// The default answer to VRFY and EXPN (RFC 5321 3.5.3). Default: `252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery`.
    CannotVerify,
    /// ETRN accepted (RFC 1985). Default: `250 2.0.0 Queuing started`.
    EtrnStarted,
    /// `ServerConfig::max_auth_failures` was reached. Default: `421 4.7.0 Too many authentication failures`.
    TooManyAuthFailures,
    /// SIZE or the content over `Limits::message_size` (RFC 1870 6). Default: `552 5.3.4 Message size exceeds fixed maximum message size`.
    MessageTooBig,
    /// A content line over `Limits::text_line` when enforced. Default: `550 5.6.0 Line too long in message content`.
    ContentLineTooLong,
    /// Bare CR or LF in content under the `Reject` policy (SMTP smuggling). Default: `550 5.6.0 Message content refused: bare CR or LF`.
    ContentBareLineEnding,
    /// A NUL octet in content under the `Reject` policy. Default: `550 5.6.0 Message content refused: NUL octet`.
    ContentNul,
    /// A BDAT line refused before its chunk size was known (RFC 3030 2:
    /// the chunk cannot be skipped, so the session ends; see
    /// [`Violation::BdatUnframable`]). `554` rather than `421` because the
    /// command itself is at fault and a retry would fail the same way;
    /// rather than `521` because RFC 7504 3 reserves 521 for hosts that
    /// never accept mail and names 554 for other refusals; `5.5.4` is
    /// RFC 3463 3.6.4 (invalid command arguments: the size). Default:
    /// `554 5.5.4 BDAT chunk size unknown, closing connection`.
    BdatUnframable,
    /// Further BDAT chunks of a message already refused. Default: `554 5.5.0 Message already refused`.
    MessageAlreadyRefused,
    /// The client sent `*` (RFC 4954 4). Default: `501 5.7.0 Authentication cancelled`.
    AuthCancelled,
    /// A SASL payload that is not base64 (RFC 4954 4). Default: `501 5.5.2 Invalid base64 data`.
    InvalidBase64,
    /// A LOGIN user name or password that is not UTF-8. Default: `501 5.5.2 Malformed authentication data`.
    AuthMalformed,
    /// A command refused until TLS (RFC 3207 4). Default: `530 5.7.0 Must issue a STARTTLS command first`.
    TlsRequired,
    /// AUTH when no mechanism is offered. Default: `503 5.5.1 AUTH not available`.
    AuthNotAvailable,
    /// MAIL or AUTH before EHLO/HELO. Default: `503 5.5.1 Send EHLO or HELO first`.
    HelloFirst,
    /// A second AUTH (RFC 4954 4). Default: `503 5.5.1 Already authenticated`.
    AlreadyAuthenticated,
    /// AUTH after MAIL (RFC 4954 4). Default: `503 5.5.1 AUTH not permitted during a mail transaction`.
    AuthInTransaction,
    /// A mechanism not offered (RFC 4954 4). Default: `504 5.5.4 Unrecognized authentication type`.
    UnknownMechanism,
    /// An initial response to a server-first mechanism (RFC 4954 4). Default: `501 5.5.2 Initial response not allowed for this mechanism`.
    InitialResponseNotAllowed,
    /// QUIT (RFC 5321 4.1.1.10). Default: `221 2.0.0 Bye`.
    Bye,
    /// EHLO or HELO on an LMTP server. Default: `500 5.5.1 Use LHLO (RFC 2033)`.
    UseLhlo,
    /// MAIL inside a transaction. Default: `503 5.5.1 Nested MAIL command`.
    NestedMail,
    /// MAIL before AUTH where required (RFC 4954 6). Default: `530 5.7.0 Authentication required`.
    AuthRequired,
    /// MAIL with REQUIRETLS without TLS (RFC 8689 4). Default: `530 5.7.10 REQUIRETLS needs TLS`.
    RequireTlsNeedsTls,
    /// RCPT, DATA or BDAT before MAIL. Default: `503 5.5.1 Need MAIL command`.
    NeedMail,
    /// More RCPTs than `Limits::recipients` (RFC 5321 4.5.3.1.10). Default: `452 4.5.3 Too many recipients`.
    TooManyRecipients,
    /// DATA or BDAT without an accepted RCPT (RFC 5321 3.3). Default: `554 5.5.1 No valid recipients`.
    NoValidRecipients,
    /// LMTP: DATA or BDAT without an accepted RCPT (RFC 2033 4.2: it MUST
    /// fail with 503). Default: `503 5.5.1 No valid recipients`.
    LmtpNoValidRecipients,
    /// DATA after BODY=BINARYMIME (RFC 3030 3). Default: `503 5.5.1 BINARYMIME requires BDAT`.
    BinaryMimeNeedsBdat,
    /// DATA in a BDAT transaction (RFC 3030 2). Default: `503 5.5.1 DATA not permitted after BDAT`.
    DataAfterBdat,
    /// BDAT in a DATA transaction (RFC 3030 2). Default: `503 5.5.1 BDAT not permitted after DATA`.
    BdatAfterData,
    /// A non-LAST BDAT chunk was read (RFC 3030 2). The default names the
    /// message's size so far: `250 2.0.0 <size> octets received`
    /// ([`ReplyKind::default_reply`] gives its fixed part).
    ChunkReceived,
    /// DATA accepted (RFC 5321 4.1.1.4). Default: `354 End data with <CR><LF>.<CR><LF>`.
    StartData,
    /// RSET (RFC 5321 4.1.1.5). Default: `250 2.0.0 Reset OK`.
    ResetOk,
    /// NOOP (RFC 5321 4.1.1.9). Default: `250 2.0.0 OK`.
    NoopOk,
    /// HELP (RFC 5321 4.1.1.8). Default: `214 2.0.0 See RFC 5321`.
    Help,
    /// STARTTLS under TLS (RFC 3207 4.2). Default: `503 5.5.1 TLS already active`.
    TlsAlreadyActive,
    /// STARTTLS, ETRN, BURL or BDAT where not offered. Default: `502 5.5.1 Command not implemented`.
    NotImplemented,
    /// STARTTLS after MAIL. Default: `503 5.5.1 STARTTLS not permitted during a mail transaction`.
    StartTlsInTransaction,
    /// STARTTLS accepted (RFC 3207 4). Default: `220 2.0.0 Ready to start TLS`.
    ReadyToStartTls,
}

impl ReplyKind {
    /// Every reply kind, in declaration order (for applications and tests
    /// that configure or check every [`ServerConfig::replies`] override).
    pub const ALL: [ReplyKind; 62] = [
        ReplyKind::EarlyTalker,
        ReplyKind::Timeout,
        ReplyKind::AuthLineTooLong,
        ReplyKind::AuthBareLineEnding,
        ReplyKind::LineTooLong,
        ReplyKind::BareLineEnding,
        ReplyKind::StartTlsInjection,
        ReplyKind::BadSequence,
        ReplyKind::TooManyErrors,
        ReplyKind::UnknownCommand,
        ReplyKind::NulInCommand,
        ReplyKind::UnsupportedParameter,
        ReplyKind::InvalidParameter,
        ReplyKind::AddressTooLong,
        ReplyKind::NonAsciiAddress,
        ReplyKind::SyntaxError,
        ReplyKind::PipeliningSync,
        ReplyKind::SenderOk,
        ReplyKind::RecipientOk,
        ReplyKind::MessageAccepted,
        ReplyKind::AuthSucceeded,
        ReplyKind::AuthFailed,
        ReplyKind::CannotVerify,
        ReplyKind::EtrnStarted,
        ReplyKind::TooManyAuthFailures,
        ReplyKind::MessageTooBig,
        ReplyKind::ContentLineTooLong,
        ReplyKind::ContentBareLineEnding,
        ReplyKind::ContentNul,
        ReplyKind::BdatUnframable,
        ReplyKind::MessageAlreadyRefused,
        ReplyKind::AuthCancelled,
        ReplyKind::InvalidBase64,
        ReplyKind::AuthMalformed,
        ReplyKind::TlsRequired,
        ReplyKind::AuthNotAvailable,
        ReplyKind::HelloFirst,
        ReplyKind::AlreadyAuthenticated,
        ReplyKind::AuthInTransaction,
        ReplyKind::UnknownMechanism,
        ReplyKind::InitialResponseNotAllowed,
        ReplyKind::Bye,
        ReplyKind::UseLhlo,
        ReplyKind::NestedMail,
        ReplyKind::AuthRequired,
        ReplyKind::RequireTlsNeedsTls,
        ReplyKind::NeedMail,
        ReplyKind::TooManyRecipients,
        ReplyKind::NoValidRecipients,
        ReplyKind::LmtpNoValidRecipients,
        ReplyKind::BinaryMimeNeedsBdat,
        ReplyKind::DataAfterBdat,
        ReplyKind::BdatAfterData,
        ReplyKind::ChunkReceived,
        ReplyKind::StartData,
        ReplyKind::ResetOk,
        ReplyKind::NoopOk,
        ReplyKind::Help,
        ReplyKind::TlsAlreadyActive,
        ReplyKind::NotImplemented,
        ReplyKind::StartTlsInTransaction,
        ReplyKind::ReadyToStartTls,
    ];

    /// The position in [`ReplyKind::ALL`]. Exhaustive: a new variant does
    /// not compile until it has one, and the unit test below fails until
    /// `ALL` lists it.
    #[cfg(test)]
    const fn ordinal(self) -> usize {
        match self {
            ReplyKind::EarlyTalker => 0,
            ReplyKind::Timeout => 1,
            ReplyKind::AuthLineTooLong => 2,
            ReplyKind::AuthBareLineEnding => 3,
            ReplyKind::LineTooLong => 4,
            ReplyKind::BareLineEnding => 5,
            ReplyKind::StartTlsInjection => 6,
            ReplyKind::BadSequence => 7,
            ReplyKind::TooManyErrors => 8,
            ReplyKind::UnknownCommand => 9,
            ReplyKind::NulInCommand => 10,
            ReplyKind::UnsupportedParameter => 11,
            ReplyKind::InvalidParameter => 12,
            ReplyKind::AddressTooLong => 13,
            ReplyKind::NonAsciiAddress => 14,
            ReplyKind::SyntaxError => 15,
            ReplyKind::PipeliningSync => 16,
            ReplyKind::SenderOk => 17,
            ReplyKind::RecipientOk => 18,
            ReplyKind::MessageAccepted => 19,
            ReplyKind::AuthSucceeded => 20,
            ReplyKind::AuthFailed => 21,
            ReplyKind::CannotVerify => 22,
            ReplyKind::EtrnStarted => 23,
            ReplyKind::TooManyAuthFailures => 24,
            ReplyKind::MessageTooBig => 25,
            ReplyKind::ContentLineTooLong => 26,
            ReplyKind::ContentBareLineEnding => 27,
            ReplyKind::ContentNul => 28,
            ReplyKind::BdatUnframable => 29,
            ReplyKind::MessageAlreadyRefused => 30,
            ReplyKind::AuthCancelled => 31,
            ReplyKind::InvalidBase64 => 32,
            ReplyKind::AuthMalformed => 33,
            ReplyKind::TlsRequired => 34,
            ReplyKind::AuthNotAvailable => 35,
            ReplyKind::HelloFirst => 36,
            ReplyKind::AlreadyAuthenticated => 37,
            ReplyKind::AuthInTransaction => 38,
            ReplyKind::UnknownMechanism => 39,
            ReplyKind::InitialResponseNotAllowed => 40,
            ReplyKind::Bye => 41,
            ReplyKind::UseLhlo => 42,
            ReplyKind::NestedMail => 43,
            ReplyKind::AuthRequired => 44,
            ReplyKind::RequireTlsNeedsTls => 45,
            ReplyKind::NeedMail => 46,
            ReplyKind::TooManyRecipients => 47,
            ReplyKind::NoValidRecipients => 48,
            ReplyKind::LmtpNoValidRecipients => 49,
            ReplyKind::BinaryMimeNeedsBdat => 50,
            ReplyKind::DataAfterBdat => 51,
            ReplyKind::BdatAfterData => 52,
            ReplyKind::ChunkReceived => 53,
            ReplyKind::StartData => 54,
            ReplyKind::ResetOk => 55,
            ReplyKind::NoopOk => 56,
            ReplyKind::Help => 57,
            ReplyKind::TlsAlreadyActive => 58,
            ReplyKind::NotImplemented => 59,
            ReplyKind::StartTlsInTransaction => 60,
            ReplyKind::ReadyToStartTls => 61,
        }
    }

    /// The default reply: code, enhanced status code, text.
    pub const fn default_reply(self) -> (u16, Option<[u16; 3]>, &'static str) {
        match self {
            ReplyKind::EarlyTalker => (
                554,
                Some([5, 5, 0]),
                "Protocol violation: input before greeting",
            ),
            ReplyKind::Timeout => (421, Some([4, 4, 2]), "Timeout, closing connection"),
            ReplyKind::AuthLineTooLong => (
                500,
                Some([5, 5, 6]),
                "Authentication exchange line is too long",
            ),
            ReplyKind::AuthBareLineEnding => (
                501,
                Some([5, 5, 2]),
                "Bare CR or LF in authentication exchange",
            ),
            ReplyKind::LineTooLong => (500, Some([5, 5, 2]), "Line too long"),
            ReplyKind::BareLineEnding => (500, Some([5, 5, 2]), "Bare CR or LF in command line"),
            ReplyKind::StartTlsInjection => (
                554,
                Some([5, 5, 0]),
                "Protocol violation: data after STARTTLS",
            ),
            ReplyKind::BadSequence => (503, Some([5, 5, 1]), "Bad sequence of commands"),
            ReplyKind::TooManyErrors => {
                (421, Some([4, 7, 0]), "Too many errors, closing connection")
            }
            ReplyKind::UnknownCommand => (500, Some([5, 5, 1]), "Command unrecognized"),
            ReplyKind::NulInCommand => (500, Some([5, 5, 2]), "NUL in command line"),
            ReplyKind::UnsupportedParameter => (
                555,
                Some([5, 5, 4]),
                "Parameter not recognized or not implemented",
            ),
            ReplyKind::InvalidParameter => (501, Some([5, 5, 4]), "Invalid parameter"),
            ReplyKind::AddressTooLong => (501, Some([5, 1, 3]), "Address too long"),
            ReplyKind::NonAsciiAddress => (553, Some([5, 6, 7]), "Non-ASCII address not permitted"),
            ReplyKind::SyntaxError => (501, Some([5, 5, 2]), "Syntax error"),
            ReplyKind::PipeliningSync => (
                554,
                Some([5, 5, 0]),
                "Protocol violation: pipelining synchronization",
            ),
            ReplyKind::SenderOk => (250, Some([2, 1, 0]), "Sender OK"),
            ReplyKind::RecipientOk => (250, Some([2, 1, 5]), "Recipient OK"),
            ReplyKind::MessageAccepted => (250, Some([2, 0, 0]), "Message accepted"),
            ReplyKind::AuthSucceeded => (235, Some([2, 7, 0]), "Authentication successful"),
            ReplyKind::AuthFailed => (535, Some([5, 7, 8]), "Authentication credentials invalid"),
            ReplyKind::CannotVerify => (
                252,
                Some([2, 5, 0]),
                "Cannot VRFY user, but will accept message and attempt delivery",
            ),
            ReplyKind::EtrnStarted => (250, Some([2, 0, 0]), "Queuing started"),
            ReplyKind::TooManyAuthFailures => {
                (421, Some([4, 7, 0]), "Too many authentication failures")
            }
            ReplyKind::MessageTooBig => (
                552,
                Some([5, 3, 4]),
                "Message size exceeds fixed maximum message size",
            ),
            ReplyKind::ContentLineTooLong => {
                (550, Some([5, 6, 0]), "Line too long in message content")
            }
            ReplyKind::ContentBareLineEnding => (
                550,
                Some([5, 6, 0]),
                "Message content refused: bare CR or LF",
            ),
            ReplyKind::ContentNul => (550, Some([5, 6, 0]), "Message content refused: NUL octet"),
            ReplyKind::MessageAlreadyRefused => (554, Some([5, 5, 0]), "Message already refused"),
            ReplyKind::BdatUnframable => (
                554,
                Some([5, 5, 4]),
                "BDAT chunk size unknown, closing connection",
            ),
            ReplyKind::AuthCancelled => (501, Some([5, 7, 0]), "Authentication cancelled"),
            ReplyKind::InvalidBase64 => (501, Some([5, 5, 2]), "Invalid base64 data"),
            ReplyKind::AuthMalformed => (501, Some([5, 5, 2]), "Malformed authentication data"),
            ReplyKind::TlsRequired => (530, Some([5, 7, 0]), "Must issue a STARTTLS command first"),
            ReplyKind::AuthNotAvailable => (503, Some([5, 5, 1]), "AUTH not available"),
            ReplyKind::HelloFirst => (503, Some([5, 5, 1]), "Send EHLO or HELO first"),
            ReplyKind::AlreadyAuthenticated => (503, Some([5, 5, 1]), "Already authenticated"),
            ReplyKind::AuthInTransaction => (
                503,
                Some([5, 5, 1]),
                "AUTH not permitted during a mail transaction",
            ),
            ReplyKind::UnknownMechanism => {
                (504, Some([5, 5, 4]), "Unrecognized authentication type")
            }
            ReplyKind::InitialResponseNotAllowed => (
                501,
                Some([5, 5, 2]),
                "Initial response not allowed for this mechanism",
            ),
            ReplyKind::Bye => (221, Some([2, 0, 0]), "Bye"),
            ReplyKind::UseLhlo => (500, Some([5, 5, 1]), "Use LHLO (RFC 2033)"),
            ReplyKind::NestedMail => (503, Some([5, 5, 1]), "Nested MAIL command"),
            ReplyKind::AuthRequired => (530, Some([5, 7, 0]), "Authentication required"),
            ReplyKind::RequireTlsNeedsTls => (530, Some([5, 7, 10]), "REQUIRETLS needs TLS"),
            ReplyKind::NeedMail => (503, Some([5, 5, 1]), "Need MAIL command"),
            ReplyKind::TooManyRecipients => (452, Some([4, 5, 3]), "Too many recipients"),
            ReplyKind::NoValidRecipients => (554, Some([5, 5, 1]), "No valid recipients"),
            ReplyKind::LmtpNoValidRecipients => (503, Some([5, 5, 1]), "No valid recipients"),
            ReplyKind::BinaryMimeNeedsBdat => (503, Some([5, 5, 1]), "BINARYMIME requires BDAT"),
            ReplyKind::DataAfterBdat => (503, Some([5, 5, 1]), "DATA not permitted after BDAT"),
            ReplyKind::BdatAfterData => (503, Some([5, 5, 1]), "BDAT not permitted after DATA"),
            ReplyKind::ChunkReceived => (250, Some([2, 0, 0]), "octets received"),
            ReplyKind::StartData => (354, None, "End data with <CR><LF>.<CR><LF>"),
            ReplyKind::ResetOk => (250, Some([2, 0, 0]), "Reset OK"),
            ReplyKind::NoopOk => (250, Some([2, 0, 0]), "OK"),
            ReplyKind::Help => (214, Some([2, 0, 0]), "See RFC 5321"),
            ReplyKind::TlsAlreadyActive => (503, Some([5, 5, 1]), "TLS already active"),
            ReplyKind::NotImplemented => (502, Some([5, 5, 1]), "Command not implemented"),
            ReplyKind::StartTlsInTransaction => (
                503,
                Some([5, 5, 1]),
                "STARTTLS not permitted during a mail transaction",
            ),
            ReplyKind::ReadyToStartTls => (220, Some([2, 0, 0]), "Ready to start TLS"),
        }
    }
}

/// See `Machine::content_step`.
enum ContentStep<'b> {
    Deliver(&'b [u8]),
    NeedInput,
    Continue,
}

/// The decision the machine waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Greeting,
    Hello(HelloKind),
    Mail { body: Option<Body>, smtputf8: bool },
    Rcpt,
    Message,
    Auth(Mechanism),
    AuthStep(Mechanism),
    Verify,
    Etrn,
}

/// What the machine is reading.
#[derive(Debug, Clone)]
enum Reading {
    /// Waiting for the greeting decision.
    Greeting,
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
    /// Closed: nothing more is read.
    Closed,
}

/// Where a SASL exchange is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AuthStage {
    /// PLAIN / XOAUTH2 / OAUTHBEARER without an initial response.
    Initial(Mechanism),
    /// LOGIN, waiting for the user name.
    LoginUser,
    /// LOGIN, waiting for the password.
    LoginPassword,
    /// An application-run mechanism.
    Step(Mechanism),
}

#[derive(Debug, Clone, Default)]
struct Transaction {
    mail: bool,
    body: Option<Body>,
    smtputf8: bool,
    recipients: usize,
    /// DATA or BDAT was used (RFC 3030 2: never both in one transaction).
    content: Option<ContentKind>,
    /// A BDAT message that failed stays failed until LAST (RFC 3030 2).
    bdat_failed: Option<AbortReason>,
    /// A NUL octet arrived in the content under the `Reject` policy: the
    /// rest is read but not delivered, and the message is refused.
    nul: bool,
}

/// The SMTP/LMTP server state machine.
///
/// See the [module documentation](self) for the driving loop.
#[derive(Debug, Clone)]
pub struct Server {
    input: InputBuffer,
    m: Machine,
}

/// Everything but the input buffer, so that events can borrow the buffer
/// while the machine's state changes.
#[derive(Debug, Clone)]
struct Machine {
    cfg: ServerConfig,
    out: Vec<u8>,
    reading: Reading,
    pending: Option<Pending>,
    tls: bool,
    hello: Option<HelloKind>,
    /// The EHLO argument, kept until TLS starts (RFC 3207 4.2 forgets it).
    client_name: Vec<u8>,
    authenticated: bool,
    /// A user name read by LOGIN, waiting for its password.
    login_user: Option<String>,
    txn: Transaction,
    /// The DATA decoder of the message in progress (kept out of `Reading`,
    /// whose other states are small).
    data: DataDecoder,
    bdat: Option<BdatDecoder>,
    errors: usize,
    auth_failures: usize,
    /// The reply to a group-ending command has been queued but not yet
    /// taken by `transmit`.
    group_end_unsent: bool,
    /// Input bytes handed out in the last event, consumed on the next call.
    deferred_consume: usize,
    /// Drop every buffered input byte at the next opportunity.
    discard_input: bool,
    info: VecDeque<ServerEvent<'static>>,
    closed_reported: bool,
}

/// The commands RFC 3207 4 allows before TLS when TLS is required.
fn allowed_before_tls(cmd: &Command<'_>) -> bool {
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
fn ends_group(cmd: &Command<'_>) -> bool {
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
fn is_bdat_verb(line: &[u8]) -> bool {
    match line.get(..4) {
        Some(v) if v.eq_ignore_ascii_case(b"BDAT") => {
            !matches!(line.get(4), Some(b) if b.is_ascii_alphanumeric() || *b == b'-')
        }
        _ => false,
    }
}

impl Server {
    /// A server for one connection. In [`PortMode::ImplicitTls`] TLS is
    /// taken as established before the first byte (RFC 8314 3.3).
    pub fn new(cfg: ServerConfig) -> Server {
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

impl Machine {
    // ----- output helpers -------------------------------------------------

    fn reply_fmt(&mut self, code: u16, enh: Option<[u16; 3]>, text: core::fmt::Arguments<'_>) {
        push_fmt(&mut self.out, format_args!("{code} "));
        if let Some([a, b, c]) = enh {
            push_fmt(&mut self.out, format_args!("{a}.{b}.{c} "));
        }
        push_fmt(&mut self.out, text);
        self.out.extend_from_slice(b"\r\n");
    }

    fn write_owned(&mut self, reply: &OwnedReply) {
        let start = self.out.len();
        if reply.write_to(&mut self.out).is_err() {
            // A reply that cannot be encoded safely is never sent half-way.
            self.out.truncate(start);
            let code = reply.code.get();
            self.reply_fmt(code, None, format_args!("Reply refused by encoder"));
        }
    }

    /// Writes one of the machine's own replies: the configured override,
    /// or the default.
    fn say(&mut self, kind: ReplyKind) {
        if let Some(i) = self.cfg.replies.iter().position(|(k, _)| *k == kind) {
            let r = self.cfg.replies[i].1.clone();
            self.write_owned(&r);
            return;
        }
        let (code, enh, text) = kind.default_reply();
        self.reply_fmt(code, enh, format_args!("{text}"));
    }

    /// The reply to a non-LAST BDAT chunk (RFC 3030 2): the
    /// [`ReplyKind::ChunkReceived`] override, or `250 2.0.0 <size> octets
    /// received`.
    fn reply_chunk_received(&mut self, size: u64) {
        if self
            .cfg
            .replies
            .iter()
            .any(|(k, _)| *k == ReplyKind::ChunkReceived)
        {
            self.say(ReplyKind::ChunkReceived);
        } else {
            self.reply_fmt(250, Some([2, 0, 0]), format_args!("{size} octets received"));
        }
    }

    /// An error reply that counts towards `max_errors`.
    fn fail(&mut self, kind: ReplyKind) {
        self.say(kind);
        self.count_error();
    }

    fn count_error(&mut self) {
        self.errors += 1;
        if self.errors >= self.cfg.max_errors && !matches!(self.reading, Reading::Closed) {
            self.say(ReplyKind::TooManyErrors);
            self.violation(Violation::TooManyErrors, true);
        }
    }

    fn parse_error(&mut self, e: ParseError) {
        self.fail(match e {
            ParseError::UnknownCommand => ReplyKind::UnknownCommand,
            ParseError::LineTooLong => ReplyKind::LineTooLong,
            ParseError::BareLineEnding => ReplyKind::BareLineEnding,
            ParseError::Nul => ReplyKind::NulInCommand,
            ParseError::UnsupportedParameter => ReplyKind::UnsupportedParameter,
            ParseError::InvalidParameter
            | ParseError::DuplicateParameter
            | ParseError::NumberOverflow => ReplyKind::InvalidParameter,
            ParseError::LocalPartTooLong | ParseError::DomainTooLong | ParseError::PathTooLong => {
                ReplyKind::AddressTooLong
            }
            ParseError::Utf8NotAllowed | ParseError::InvalidUtf8 => ReplyKind::NonAsciiAddress,
            _ => ReplyKind::SyntaxError,
        });
    }

    fn violation(&mut self, v: Violation, close: bool) {
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
    fn bdat_unframable(&mut self) -> bool {
        if self.cfg.mutant.is(Mutant::BdatUnframable) {
            return false;
        }
        if self.txn.content.is_some() {
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
    fn skip_refused_chunk(&mut self, size: u64) {
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

    fn sync_violation(&mut self) {
        self.say(ReplyKind::PipeliningSync);
        self.violation(Violation::PipeliningSync, true);
    }

    fn close(&mut self) {
        self.reading = Reading::Closed;
        self.pending = None;
        self.discard_input = true;
        self.deferred_consume = 0;
    }

    fn reset_transaction(&mut self) {
        // A BDAT message in progress (not yet refused) ends here, whatever
        // reset it (RSET, EHLO/HELO/LHLO): content events always end with
        // MessageComplete or MessageAborted.
        if self.txn.content == Some(ContentKind::Bdat) && self.txn.bdat_failed.is_none() {
            self.info
                .push_back(ServerEvent::MessageAborted(AbortReason::Reset));
        }
        if self.txn.mail {
            self.info.push_back(ServerEvent::Reset);
        }
        self.txn = Transaction::default();
        self.bdat = None;
    }

    // ----- what is offered ------------------------------------------------

    fn starttls_offered(&self) -> bool {
        self.cfg.starttls && !self.tls && !self.cfg.mode.implicit_tls()
    }

    fn mechanism_offered(&self, m: Mechanism) -> bool {
        self.cfg.mechanisms.contains(&m)
            && (self.tls
                || self.cfg.plaintext_auth_without_tls
                || !m.is_plaintext()
                || self.cfg.mutant.is(Mutant::TlsBeforeAuth))
    }

    /// Whether AUTH with mechanism `m` may run now: offered (RFC 4954 4),
    /// or merely configured under the `AuthNotOffered` self-test mutant.
    fn mechanism_usable(&self, m: Mechanism) -> bool {
        self.mechanism_offered(m)
            || (self.cfg.mutant.is(Mutant::AuthNotOffered) && self.cfg.mechanisms.contains(&m))
    }

    fn auth_offered(&self) -> bool {
        self.cfg
            .mechanisms
            .iter()
            .any(|&m| self.mechanism_offered(m))
    }

    /// The extensions in effect: what the EHLO reply advertises, or none
    /// after HELO (RFC 5321 4.1.4).
    fn extensions_in_effect(&self) -> Extensions {
        if self.hello == Some(HelloKind::Helo) {
            return Extensions::NONE;
        }
        let mut e = self.cfg.extensions;
        e.remove(Extensions::STARTTLS | Extensions::AUTH);
        if !self.tls {
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

    fn command_options(&self) -> CommandOptions {
        let mut o = CommandOptions::new();
        o.limits = self.cfg.limits;
        o.extensions = self.extensions_in_effect();
        o.line_ending = self.cfg.line_ending;
        o.lenient = self.cfg.lenient;
        o.utf8_transaction = self.txn.smtputf8;
        o
    }

    /// The framing limit: the longest line any command may have now.
    fn line_limit(&self) -> usize {
        let ext = self.extensions_in_effect();
        let base = self.cfg.limits.command_line;
        let mut n = ext.mail_line_limit(base).max(ext.rcpt_line_limit(base));
        if ext.contains(Extensions::AUTH) {
            n = n.max(self.cfg.limits.auth_line);
        }
        n
    }

    fn write_hello_reply(&mut self, kind: HelloKind) {
        let host = core::mem::take(&mut self.cfg.hostname);
        if kind == HelloKind::Helo {
            self.reply_fmt(250, None, format_args!("{host}"));
            self.cfg.hostname = host;
            return;
        }
        let mut lines: Vec<String> = Vec::new();
        for e in self.extensions_in_effect().iter() {
            match e {
                Extensions::SIZE => {
                    lines.push(alloc::format!("SIZE {}", self.cfg.limits.message_size))
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
        let sep = if lines.is_empty() { ' ' } else { '-' };
        push_fmt(&mut self.out, format_args!("250{sep}{host}\r\n"));
        let n = lines.len();
        for (i, l) in lines.iter().enumerate() {
            let sep = if i + 1 == n { ' ' } else { '-' };
            push_fmt(&mut self.out, format_args!("250{sep}{l}\r\n"));
        }
        self.cfg.hostname = host;
    }

    // ----- decisions ------------------------------------------------------

    fn apply_decision(&mut self, p: Pending, reply: Option<OwnedReply>) {
        let positive = reply.as_ref().is_none_or(|r| r.code.get() / 100 == 2);
        let custom_positive = positive && reply.is_some();
        if let Some(r) = &reply {
            // A custom positive EHLO reply would lose the capabilities:
            // the machine writes its own.
            if !(positive && matches!(p, Pending::Hello(HelloKind::Ehlo | HelloKind::Lhlo))) {
                self.write_owned(r);
            }
        }
        match p {
            Pending::Greeting => {
                if positive {
                    if !custom_positive {
                        let host = core::mem::take(&mut self.cfg.hostname);
                        let proto = if self.cfg.mode == PortMode::Lmtp {
                            "LMTP"
                        } else {
                            "ESMTP"
                        };
                        self.reply_fmt(220, None, format_args!("{host} {proto} ready"));
                        self.cfg.hostname = host;
                    }
                    self.reading = Reading::Commands;
                } else if reply.as_ref().is_some_and(|r| r.code.get() == 421) {
                    self.close();
                } else {
                    self.reading = Reading::Refused;
                }
            }
            Pending::Hello(kind) => {
                if positive {
                    self.hello = Some(kind);
                    // A custom HELO reply was written above; EHLO and LHLO
                    // always get the machine's, which lists the extensions.
                    if !(custom_positive && kind == HelloKind::Helo) {
                        self.write_hello_reply(kind);
                    }
                } else {
                    self.hello = None;
                    self.client_name.clear();
                    self.count_error();
                }
            }
            Pending::Mail { body, smtputf8 } => {
                if positive {
                    if !custom_positive {
                        self.say(ReplyKind::SenderOk);
                    }
                    self.txn.mail = true;
                    self.txn.body = body;
                    self.txn.smtputf8 = smtputf8;
                }
            }
            Pending::Rcpt => {
                if positive {
                    if !custom_positive {
                        self.say(ReplyKind::RecipientOk);
                    }
                    self.txn.recipients += 1;
                }
            }
            Pending::Message => {
                let n = if self.cfg.mode == PortMode::Lmtp {
                    self.txn.recipients
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
            Pending::Auth(_) | Pending::AuthStep(_) => {
                if positive {
                    if !custom_positive {
                        self.say(ReplyKind::AuthSucceeded);
                    }
                    self.authenticated = true;
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

    fn auth_failed(&mut self) {
        self.reading = Reading::Commands;
        self.auth_failures += 1;
        if self.auth_failures >= self.cfg.max_auth_failures {
            self.say(ReplyKind::TooManyAuthFailures);
            self.violation(Violation::TooManyAuthFailures, true);
        }
    }

    fn finish_message(&mut self) {
        self.txn = Transaction::default();
        self.bdat = None;
        if !matches!(self.reading, Reading::Closed) {
            self.reading = Reading::Commands;
        }
    }

    // ----- content ----------------------------------------------------------

    /// DATA content ended (RFC 5321 4.1.1.4) with `outcome`.
    fn end_content(&mut self, outcome: Option<DataOutcome>, size: u64, _data: bool) {
        self.reading = Reading::Commands;
        match outcome {
            Some(DataOutcome::Complete) | None if self.txn.nul => {
                let reason = self.nul_failure(true);
                self.info.push_back(ServerEvent::MessageAborted(reason));
                self.txn = Transaction::default();
            }
            Some(DataOutcome::Complete) | None => {
                self.pending = Some(Pending::Message);
                self.info.push_back(ServerEvent::MessageComplete {
                    size,
                    recipients: self.txn.recipients,
                });
            }
            Some(other) => {
                let reason = self.content_failure(other, true);
                self.info.push_back(ServerEvent::MessageAborted(reason));
                self.txn = Transaction::default();
            }
        }
    }

    /// What one content decoder step (DATA or BDAT) means for the event
    /// loop: a piece to hand out (its input is consumed on the next call),
    /// a need for more input, or a step to consume and go on.
    fn content_step<'b>(&mut self, avail: &'b [u8], step: &DataStep) -> ContentStep<'b> {
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
    fn admit_content(&mut self, piece: &[u8]) -> bool {
        if self.txn.nul {
            return false;
        }
        if self.cfg.line_ending == LineEndingPolicy::Reject
            && self.txn.body != Some(Body::BinaryMime)
            && memchr::memchr(0, piece).is_some()
        {
            self.txn.nul = true;
            return false;
        }
        true
    }

    /// Replies to a message refused for a NUL octet (`per_recipient`: one
    /// reply per recipient in LMTP, RFC 2033 4.2).
    fn nul_failure(&mut self, per_recipient: bool) -> AbortReason {
        let n = if per_recipient && self.cfg.mode == PortMode::Lmtp {
            self.txn.recipients.max(1)
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
    fn content_failure(&mut self, outcome: DataOutcome, per_recipient: bool) -> AbortReason {
        let n = if per_recipient && self.cfg.mode == PortMode::Lmtp {
            self.txn.recipients.max(1)
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
    fn end_bdat_chunk(&mut self, last: bool) {
        self.reading = Reading::Commands;
        let Some(dec) = self.bdat.as_ref() else {
            return;
        };
        let size = dec.size();
        let failure = dec.failure();
        if self.txn.bdat_failed.is_some() {
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
        } else if self.txn.nul {
            Some(self.nul_failure(last))
        } else {
            None
        };
        if let Some(r) = reason {
            self.info.push_back(ServerEvent::MessageAborted(r));
            if last {
                self.finish_message();
            } else {
                self.txn.bdat_failed = Some(r);
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
            recipients: self.txn.recipients,
        });
    }

    // ----- AUTH ---------------------------------------------------------------

    fn on_auth_line<'a>(&mut self, stage: AuthStage, line: &'a [u8]) -> Option<ServerEvent<'a>> {
        self.reading = Reading::Commands;
        if line == b"*" {
            // RFC 4954 4: the client cancels the exchange.
            self.login_user = None;
            self.fail(ReplyKind::AuthCancelled);
            return None;
        }
        let Ok(decoded) = sasl::decode_base64(line) else {
            self.login_user = None;
            self.fail(ReplyKind::InvalidBase64);
            return None;
        };
        match stage {
            AuthStage::Initial(m) => self.auth_payload(m, decoded),
            AuthStage::LoginUser => match String::from_utf8(decoded) {
                Ok(u) if !u.is_empty() => {
                    self.login_user = Some(u);
                    let p = sasl::encode_base64(sasl::LOGIN_PASSWORD_PROMPT);
                    self.reply_fmt(334, None, format_args!("{p}"));
                    self.reading = Reading::AuthResponse(AuthStage::LoginPassword);
                    None
                }
                _ => {
                    self.fail(ReplyKind::AuthMalformed);
                    None
                }
            },
            AuthStage::LoginPassword => {
                let user = self.login_user.take().unwrap_or_default();
                match String::from_utf8(decoded) {
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
                }
            }
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
    fn auth_payload<'a>(&mut self, m: Mechanism, payload: Vec<u8>) -> Option<ServerEvent<'a>> {
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

    fn on_auth<'a>(&mut self, mechanism: &[u8], ir: Option<&[u8]>) -> Option<ServerEvent<'a>> {
        // Self-test mutant: AUTH runs for any configured mechanism.
        let mutant_any_configured =
            self.cfg.mutant.is(Mutant::AuthNotOffered) && !self.cfg.mechanisms.is_empty();
        if !self.auth_offered() && !mutant_any_configured {
            if !self.cfg.mechanisms.is_empty() && !self.tls {
                self.fail(ReplyKind::TlsRequired);
            } else {
                self.fail(ReplyKind::AuthNotAvailable);
            }
            return None;
        }
        if self.hello.is_none() {
            self.fail(ReplyKind::HelloFirst);
            return None;
        }
        if self.authenticated {
            self.fail(ReplyKind::AlreadyAuthenticated);
            return None;
        }
        if self.txn.mail {
            self.fail(ReplyKind::AuthInTransaction);
            return None;
        }
        let Some(m) = Mechanism::from_name(mechanism).filter(|&m| self.mechanism_usable(m)) else {
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

    /// One parsed command line (RFC 5321 4.1.4 ordering, 4.3.2 replies).
    fn on_command<'a>(&mut self, cmd: Command<'a>) -> Option<ServerEvent<'a>> {
        if matches!(self.reading, Reading::Refused) {
            // RFC 5321 3.1: after a 554 greeting only QUIT is answered.
            if cmd == Command::Quit {
                self.say(ReplyKind::Bye);
                self.close();
            } else {
                self.fail(ReplyKind::BadSequence);
            }
            return None;
        }
        // Self-test mutant: AUTH passes the TLS requirement.
        let mutant_auth_before_tls =
            matches!(cmd, Command::Auth { .. }) && self.cfg.mutant.is(Mutant::TlsBeforeAuth);
        if self.cfg.require_tls && !self.tls && !allowed_before_tls(&cmd) && !mutant_auth_before_tls
        {
            self.fail(ReplyKind::TlsRequired);
            return None;
        }
        let lmtp = self.cfg.mode == PortMode::Lmtp;
        match cmd {
            Command::Ehlo { domain } | Command::Helo { domain } | Command::Lhlo { domain } => {
                let kind = match cmd {
                    Command::Ehlo { .. } => HelloKind::Ehlo,
                    Command::Helo { .. } => HelloKind::Helo,
                    _ => HelloKind::Lhlo,
                };
                if lmtp != (kind == HelloKind::Lhlo) {
                    self.fail(if lmtp {
                        ReplyKind::UseLhlo
                    } else {
                        ReplyKind::UnknownCommand
                    });
                    return None;
                }
                // RFC 5321 4.1.4: EHLO/HELO resets the transaction.
                self.reset_transaction();
                self.client_name.clear();
                self.client_name.extend_from_slice(domain.as_bytes());
                self.pending = Some(Pending::Hello(kind));
                Some(ServerEvent::Hello { kind, domain })
            }
            Command::Mail { from, params } => {
                if self.hello.is_none() {
                    self.fail(ReplyKind::HelloFirst);
                } else if self.txn.mail {
                    self.fail(ReplyKind::NestedMail);
                } else if !self.cfg.accept_unknown_parameters && params.unknown().next().is_some() {
                    self.fail(ReplyKind::UnsupportedParameter);
                } else if self.cfg.require_auth
                    && !self.authenticated
                    && !self.cfg.mutant.is(Mutant::AuthBeforeMail)
                {
                    self.fail(ReplyKind::AuthRequired);
                } else if params
                    .size
                    .is_some_and(|s| s > self.cfg.limits.message_size)
                {
                    self.fail(ReplyKind::MessageTooBig);
                } else if params.requiretls && !self.tls {
                    self.fail(ReplyKind::RequireTlsNeedsTls);
                } else {
                    self.pending = Some(Pending::Mail {
                        body: params.body,
                        smtputf8: params.smtputf8,
                    });
                    return Some(ServerEvent::Mail { from, params });
                }
                None
            }
            Command::Rcpt { to, params } => {
                if !self.txn.mail {
                    self.fail(ReplyKind::NeedMail);
                } else if !self.cfg.accept_unknown_parameters && params.unknown().next().is_some() {
                    self.fail(ReplyKind::UnsupportedParameter);
                } else if self.txn.recipients >= self.cfg.limits.recipients {
                    // RFC 5321 4.5.3.1.10: 452 for too many recipients.
                    self.say(ReplyKind::TooManyRecipients);
                } else {
                    self.pending = Some(Pending::Rcpt);
                    return Some(ServerEvent::Rcpt { to, params });
                }
                None
            }
            Command::Data => {
                if !self.txn.mail {
                    self.fail(ReplyKind::NeedMail);
                } else if self.txn.recipients == 0 {
                    self.fail(self.no_recipients());
                } else if self.txn.body == Some(Body::BinaryMime) {
                    // RFC 3030 3: BINARYMIME content only through BDAT.
                    self.fail(ReplyKind::BinaryMimeNeedsBdat);
                } else if self.txn.content.is_some() {
                    self.fail(ReplyKind::DataAfterBdat);
                } else {
                    self.say(ReplyKind::StartData);
                    self.txn.content = Some(ContentKind::Data);
                    self.data = DataDecoder::new(self.cfg.line_ending, &self.cfg.limits);
                    self.reading = Reading::Data;
                    return Some(ServerEvent::MessageStart {
                        kind: ContentKind::Data,
                    });
                }
                None
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
                if self.txn.content.is_some() {
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
                if self.tls {
                    self.fail(ReplyKind::TlsAlreadyActive);
                } else if !self.starttls_offered() {
                    self.fail(ReplyKind::NotImplemented);
                } else if self.txn.mail {
                    self.fail(ReplyKind::StartTlsInTransaction);
                } else {
                    self.say(ReplyKind::ReadyToStartTls);
                    // RFC 3207 4.2: forget everything learned so far.
                    self.reset_transaction();
                    self.hello = None;
                    self.client_name.clear();
                    self.authenticated = false;
                    self.reading = Reading::AwaitTls;
                    self.discard_input = !self.cfg.mutant.is(Mutant::StartTlsInjection);
                    self.info.push_back(ServerEvent::StartTls);
                }
                None
            }
            Command::Auth {
                mechanism,
                initial_response,
            } => self.on_auth(mechanism, initial_response.map(|r| *r.expose())),
            Command::Etrn { node } => {
                if self.cfg.extensions.contains(Extensions::ETRN) && self.hello.is_some() {
                    self.pending = Some(Pending::Etrn);
                    Some(ServerEvent::Etrn { node })
                } else {
                    self.fail(ReplyKind::NotImplemented);
                    None
                }
            }
            Command::Burl { .. } => {
                self.fail(ReplyKind::NotImplemented);
                None
            }
        }
    }

    /// DATA or BDAT without an accepted recipient: 554 (RFC 5321 3.3), but
    /// 503 in LMTP (RFC 2033 4.2).
    fn no_recipients(&self) -> ReplyKind {
        if self.cfg.mode == PortMode::Lmtp {
            ReplyKind::LmtpNoValidRecipients
        } else {
            ReplyKind::NoValidRecipients
        }
    }

    fn on_bdat<'a>(&mut self, size: u64, last: bool) -> Option<ServerEvent<'a>> {
        let refuse = if !self.extensions_in_effect().contains(Extensions::CHUNKING) {
            Some(ReplyKind::NotImplemented)
        } else if !self.txn.mail {
            Some(ReplyKind::NeedMail)
        } else if self.txn.recipients == 0 {
            Some(self.no_recipients())
        } else if self.txn.content == Some(ContentKind::Data) {
            Some(ReplyKind::BdatAfterData)
        } else {
            None
        };
        if let Some(kind) = refuse {
            // RFC 3030 2: the chunk is read and discarded all the same
            // (`skip_refused_chunk`, for every refusal of a BDAT line).
            self.fail(kind);
            return None;
        }
        let first = self.txn.content.is_none();
        if first {
            self.txn.content = Some(ContentKind::Bdat);
            let policy = if self.txn.body == Some(Body::BinaryMime) {
                None
            } else {
                Some(self.cfg.line_ending)
            };
            self.bdat = Some(BdatDecoder::new(policy, &self.cfg.limits));
        }
        if let Some(dec) = self.bdat.as_mut() {
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
}

#[cfg(test)]
mod tests {
    use super::ReplyKind;

    #[test]
    fn reply_kind_all_lists_every_variant_once() {
        for (i, k) in ReplyKind::ALL.iter().enumerate() {
            assert_eq!(k.ordinal(), i, "{k:?}");
        }
    }
}
