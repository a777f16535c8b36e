//! Typed parse errors shared by every parser of the crate.

use core::fmt;

/// Why a command line, reply, capability or content could not be parsed.
///
/// Each variant has a short, stable identifier ([`ParseError::kind`]) that
/// tools such as the `dissect` example print. A server maps each to a reply
/// with [`ParseError::reply_code`] (RFC 5321 4.2.2 and 4.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseError {
    /// The input ends before the item is complete (not an error for an
    /// incremental caller: feed more bytes).
    Incomplete,
    /// The line does not match the grammar (RFC 5321 4.1; 501 on a server).
    Syntax,
    /// The verb is not a command this crate knows (500 on a server). The
    /// verb itself is available from [`crate::command::CommandError::verb`].
    UnknownCommand,
    /// A line is longer than the configured limit (RFC 5321 4.5.3.1; a
    /// server answers 500 5.5.2, RFC 3463 3.6.2; 5.5.6 is RFC 4954's code
    /// for an AUTH exchange line only).
    LineTooLong,
    /// A bare LF or bare CR where only CRLF may appear (RFC 5321 2.3.8).
    BareLineEnding,
    /// A NUL octet (RFC 5321 4.1.1 / RFC 5322 forbids it in commands and text).
    Nul,
    /// Invalid UTF-8 where SMTPUTF8 allows UTF-8 (RFC 6531 3.3).
    InvalidUtf8,
    /// Non-ASCII without SMTPUTF8 in effect (RFC 6531 3.4).
    Utf8NotAllowed,
    /// A local part longer than the configured limit (RFC 5321 4.5.3.1.1).
    LocalPartTooLong,
    /// A domain longer than the configured limit (RFC 5321 4.5.3.1.2).
    DomainTooLong,
    /// A path longer than the configured limit (RFC 5321 4.5.3.1.3).
    PathTooLong,
    /// A number that does not fit (SIZE, BDAT chunk size, ...): never wraps.
    NumberOverflow,
    /// A parameter given twice where its RFC forbids it.
    DuplicateParameter,
    /// A parameter this command does not take, or of an extension not in effect
    /// (RFC 5321 4.1.1.11: 555).
    UnsupportedParameter,
    /// A parameter value that does not match its RFC's grammar (501).
    InvalidParameter,
    /// Bytes remain after the complete item.
    TrailingData,
    /// A multi-line reply whose lines carry different codes (RFC 5321 4.2.1).
    CodeMismatch,
    /// An enhanced status code whose class disagrees with the reply code
    /// (RFC 3463 2, RFC 2034 3). No longer returned by the reply parser:
    /// such a prefix is read as plain text (RFC 5321 4.2: any text MUST be
    /// acceptable); kept so that matches on it still compile.
    EnhancedCodeMismatch,
    /// More reply lines than the configured limit.
    TooManyLines,
    /// A well-formed reply whose code this parser does not take: an EHLO
    /// reply that is not 250 (RFC 5321 4.1.1.1), a greeting that is neither
    /// 220 nor 554 (RFC 5321 4.2, 3.1). Parse it as a generic
    /// [`crate::Reply`] instead.
    UnexpectedCode,
}

impl ParseError {
    /// Short stable identifier, e.g. `syntax`, `unknown_command`.
    pub const fn kind(self) -> &'static str {
        match self {
            ParseError::Incomplete => "incomplete",
            ParseError::Syntax => "syntax",
            ParseError::UnknownCommand => "unknown_command",
            ParseError::LineTooLong => "line_too_long",
            ParseError::BareLineEnding => "bare_line_ending",
            ParseError::Nul => "nul",
            ParseError::InvalidUtf8 => "invalid_utf8",
            ParseError::Utf8NotAllowed => "utf8_not_allowed",
            ParseError::LocalPartTooLong => "local_part_too_long",
            ParseError::DomainTooLong => "domain_too_long",
            ParseError::PathTooLong => "path_too_long",
            ParseError::NumberOverflow => "number_overflow",
            ParseError::DuplicateParameter => "duplicate_parameter",
            ParseError::UnsupportedParameter => "unsupported_parameter",
            ParseError::InvalidParameter => "invalid_parameter",
            ParseError::TrailingData => "trailing_data",
            ParseError::CodeMismatch => "code_mismatch",
            ParseError::EnhancedCodeMismatch => "enhanced_code_mismatch",
            ParseError::TooManyLines => "too_many_lines",
            ParseError::UnexpectedCode => "unexpected_code",
        }
    }

    /// The reply code and enhanced status code a server answers this error
    /// with (RFC 5321 4.2.2/4.2.4, RFC 3463 3.6, RFC 6531 3.7.4.1).
    pub const fn reply_code(self) -> (u16, [u16; 3]) {
        match self {
            ParseError::UnknownCommand => (500, [5, 5, 1]),
            ParseError::LineTooLong => (500, [5, 5, 6]),
            ParseError::LocalPartTooLong | ParseError::DomainTooLong | ParseError::PathTooLong => {
                (501, [5, 1, 3])
            }
            ParseError::UnsupportedParameter => (555, [5, 5, 4]),
            ParseError::InvalidParameter
            | ParseError::DuplicateParameter
            | ParseError::NumberOverflow => (501, [5, 5, 4]),
            ParseError::Utf8NotAllowed | ParseError::InvalidUtf8 => (553, [5, 6, 7]),
            _ => (501, [5, 5, 2]),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind())
    }
}

impl core::error::Error for ParseError {}

/// An encoder refused a value that would not be read back the same way
/// (CR or LF inside reply text, a parameter value outside its grammar, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EncodeError {
    /// CR or LF inside a field (RFC 5321 4.1.1: commands are single lines).
    LineBreak,
    /// A byte the grammar does not allow in this field.
    InvalidByte,
    /// The encoded line would exceed the limit.
    TooLong,
    /// A value that does not fit its field (reply code out of range, ...).
    OutOfRange,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EncodeError::LineBreak => "line break in field",
            EncodeError::InvalidByte => "invalid byte in field",
            EncodeError::TooLong => "encoded line too long",
            EncodeError::OutOfRange => "value out of range",
        })
    }
}

impl core::error::Error for EncodeError {}
