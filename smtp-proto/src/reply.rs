//! Server replies: parse and encode (RFC 5321 4.2, RFC 3463, RFC 2034).

use alloc::borrow::Cow;
use alloc::vec::Vec;

/// A three-digit reply code (RFC 5321 4.2: first digit 2-5, second 0-5,
/// third 0-9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReplyCode(pub(crate) u16);

/// An enhanced mail system status code `class.subject.detail`
/// (RFC 3463 2: class 2, 4 or 5; subject and detail 0-999).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EnhancedCode {
    /// 2, 4 or 5.
    pub class: u8,
    /// 0-999.
    pub subject: u16,
    /// 0-999.
    pub detail: u16,
}

/// A parsed reply, single- or multi-line, borrowing the input
/// (RFC 5321 4.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply<'a> {
    pub(crate) code: ReplyCode,
    pub(crate) enhanced: Option<EnhancedCode>,
    /// Number of lines.
    pub(crate) lines: usize,
    /// The whole reply, every line with its code and CRLF.
    pub(crate) raw: &'a [u8],
}

/// An owned reply to send (RFC 5321 4.2). Lines hold text without the code
/// and without the enhanced status code, which the encoder writes on every
/// line (RFC 2034 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedReply {
    /// The reply code.
    pub code: ReplyCode,
    /// The enhanced status code written at the start of every line.
    pub enhanced: Option<EnhancedCode>,
    /// One entry per line; must not hold CR or LF. At least one line
    /// (an empty text gives a code-only line).
    pub lines: Vec<Cow<'static, str>>,
}
