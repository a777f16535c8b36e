//! The server's own replies (RFC 5321 4.2, RFC 3463 enhanced codes): the
//! [`ReplyKind`] table with each default, and the one writer every reply
//! of the machine goes through.

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::ParseError;
use crate::ext::Extensions;
use crate::reply::OwnedReply;

use super::state::Machine;
use crate::session::HelloKind;

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

/// Every reply the server machine writes by itself, each with a default
/// (code, enhanced status code per RFC 3463, text) that
/// [`ServerConfig::replies`](super::ServerConfig::replies) can override. An override changes what goes
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
    /// RFC 4954 4 for AUTH exchange lines only, [`ReplyKind::AuthLineTooLong`](super::ReplyKind::AuthLineTooLong)).
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
    /// [`Violation::BdatUnframable`](super::Violation::BdatUnframable)). `554` rather than `421` because the
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
    /// ([`ReplyKind::default_reply`](super::ReplyKind::default_reply) gives its fixed part).
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
    /// that configure or check every [`ServerConfig::replies`](super::ServerConfig::replies) override).
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

    /// The position in [`ReplyKind::ALL`](super::ReplyKind::ALL). Exhaustive: a new variant does
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

impl Machine {
    pub(super) fn reply_fmt(
        &mut self,
        code: u16,
        enh: Option<[u16; 3]>,
        text: core::fmt::Arguments<'_>,
    ) {
        push_fmt(&mut self.out, format_args!("{code} "));
        if let Some([a, b, c]) = enh {
            push_fmt(&mut self.out, format_args!("{a}.{b}.{c} "));
        }
        push_fmt(&mut self.out, text);
        self.out.extend_from_slice(b"\r\n");
    }

    pub(super) fn write_owned(&mut self, reply: &OwnedReply) {
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
    pub(super) fn say(&mut self, kind: ReplyKind) {
        if let Some(i) = self.cfg.replies.iter().position(|(k, _)| *k == kind) {
            let r = self.cfg.replies[i].1.clone();
            self.write_owned(&r);
            return;
        }
        let (code, enh, text) = kind.default_reply();
        self.reply_fmt(code, enh, format_args!("{text}"));
    }

    /// The reply to a non-LAST BDAT chunk (RFC 3030 2): the
    /// [`ReplyKind::ChunkReceived`](super::ReplyKind::ChunkReceived) override, or `250 2.0.0 <size> octets
    /// received`.
    pub(super) fn reply_chunk_received(&mut self, size: u64) {
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

    /// The table from command parse errors to replies (RFC 5321 4.2.4,
    /// 4.5.3.1).
    pub(super) fn parse_error(&mut self, e: ParseError) {
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

    pub(super) fn write_hello_reply(&mut self, kind: HelloKind) {
        // The configuration is shared (`Arc`): a second handle, not a copy.
        let cfg = alloc::sync::Arc::clone(&self.cfg);
        let host = &cfg.hostname;
        if kind == HelloKind::Helo {
            self.reply_fmt(250, None, format_args!("{host}"));
            return;
        }
        let mut lines: Vec<String> = Vec::new();
        for e in self.extensions_in_effect().iter() {
            match e {
                Extensions::SIZE => lines.push(alloc::format!("SIZE {}", cfg.limits.message_size)),
                Extensions::AUTH => {
                    let mut l = String::from("AUTH");
                    for &m in &cfg.mechanisms {
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
