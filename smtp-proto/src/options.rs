//! Parser policies: line-ending handling and named lenient options.
//!
//! Every lenient behaviour is off by default and must be switched on by
//! name; the defaults follow RFC 5321 strictly.

use crate::ext::Extensions;
use crate::limits::Limits;

/// What to do with a bare LF or bare CR (RFC 5321 2.3.8: "lines consist of
/// zero or more data characters terminated by the sequence ASCII character
/// CR followed immediately by ASCII character LF").
///
/// The same policy applies to command lines and message content, so that a
/// line ending can never mean one thing in one place and another elsewhere
/// (the SMTP smuggling class: CVE-2023-51764/51765/51766).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LineEndingPolicy {
    /// A bare LF or bare CR is an error (the default).
    #[default]
    Reject,
    /// A bare LF, and a bare CR, is read as CRLF. It still never ends DATA
    /// content on its own: only `CRLF . CRLF` as received does.
    Normalize,
}

/// Named lenient options for command lines seen in the wild. All are off by
/// default (RFC 5321 4.1.2 grammar).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Lenient {
    /// Accept `MAIL FROM: <a@b>` (space after the colon).
    pub space_after_colon: bool,
    /// Accept `MAIL FROM:a@b` (path without angle brackets).
    pub missing_brackets: bool,
    /// Accept trailing spaces or tabs before the CRLF.
    pub trailing_whitespace: bool,
}

/// The context a command line is parsed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandOptions {
    /// Limits (line, local part, domain, path, AUTH line).
    pub limits: Limits,
    /// Extensions in effect: their parameters are accepted and their
    /// line-length increments apply. Others' parameters give
    /// [`crate::ParseError::UnsupportedParameter`].
    pub extensions: Extensions,
    /// Bare LF / bare CR policy.
    pub line_ending: LineEndingPolicy,
    /// Lenient options.
    pub lenient: Lenient,
    /// The transaction's MAIL carried SMTPUTF8 (RFC 6531 3.4): UTF-8 is then
    /// allowed in RCPT, VRFY and EXPN arguments. MAIL itself allows UTF-8
    /// when it carries the SMTPUTF8 parameter and the extension is in effect.
    pub utf8_transaction: bool,
}

impl CommandOptions {
    /// Strict RFC 5321 parsing with every known extension in effect.
    pub const fn new() -> Self {
        CommandOptions {
            limits: Limits::RFC,
            extensions: Extensions::ALL,
            line_ending: LineEndingPolicy::Reject,
            lenient: Lenient {
                space_after_colon: false,
                missing_brackets: false,
                trailing_whitespace: false,
            },
            utf8_transaction: false,
        }
    }
}

impl Default for CommandOptions {
    fn default() -> Self {
        CommandOptions::new()
    }
}
