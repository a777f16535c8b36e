//! Server replies: parse and encode (RFC 5321 4.2, RFC 3463, RFC 2034).
//!
//! # Grammar (RFC 5321 4.2)
//!
//! ```text
//! Reply-line     = *( Reply-code "-" [ textstring ] CRLF )
//!                  Reply-code [ SP textstring ] CRLF
//! Reply-code     = %x32-35 %x30-35 %x30-39
//! textstring     = 1*(%d09 / %d32-126) ; HT, SP, Printable US-ASCII
//! ```
//!
//! Decisions taken here, where the RFCs leave room:
//!
//! - **Line endings.** Only CRLF ends a line. A bare LF, or a CR not
//!   followed by LF, is [`ParseError::BareLineEnding`]; a NUL anywhere is
//!   [`ParseError::Nul`]; any other control octet except HT (and DEL) is
//!   [`ParseError::Syntax`].
//! - **UTF-8.** Octets >= 0x80 are accepted in the text and are not
//!   validated: RFC 6531 3.7.4 keeps reply text ASCII, but servers that
//!   speak SMTPUTF8 do send UTF-8 text, and a client only shows the text.
//!   Text is handed out as `&[u8]`; [`Reply::to_owned_reply`] converts it
//!   lossily.
//! - **Code-only lines.** `250`, `250 ` and `250-` are valid; their text is
//!   empty. The encoder writes `250\r\n` (and `250-\r\n` for a
//!   continuation), the strict ABNF form.
//! - **Codes.** Every line must carry the same code, otherwise
//!   [`ParseError::CodeMismatch`]; lines are never merged across codes.
//! - **Enhanced status codes** (RFC 3463 2, RFC 2034 3): a line's text
//!   carries one when it starts with `class "." subject "." detail SP`,
//!   class one of `2`, `4`, `5`, subject and detail 1 to 3 digits. When the
//!   class is one of those but differs from the reply code's first digit,
//!   that prefix is not an enhanced code, only text: the reply is accepted
//!   (RFC 5321 4.2: any text MUST be acceptable; clients act on the reply
//!   code), and [`Reply::enhanced`] is `None` for it. 3yz replies never carry one (RFC 2034 4): their text is not
//!   examined. [`Reply::enhanced`] is the first line's code. RFC 2034 3
//!   asks for the same code on every line; a later line that carries a
//!   different code of the right class, or none, is accepted (the code of
//!   each line is available through [`Reply::line_enhanced`]), because
//!   the first line's code is what a client acts on.
//!
//! # Example
//!
//! ```
//! use smtp_sansio::{EnhancedCode, Limits, OwnedReply, Reply, ReplyCode, ReplyReader};
//!
//! let input = b"550-5.1.1 No such user\r\n550 5.1.1 here\r\n";
//! let (reply, used) = Reply::parse(input, &Limits::RFC)?;
//! assert_eq!(used, input.len());
//! assert_eq!(reply.code(), ReplyCode::MAILBOX_UNAVAILABLE);
//! assert_eq!(reply.enhanced(), EnhancedCode::new(5, 1, 1));
//! let texts: Vec<&[u8]> = reply.lines().map(|l| reply.text_without_enhanced(l)).collect();
//! assert_eq!(texts, [&b"No such user"[..], b"here"]);
//!
//! // Incremental: any chunking gives the same replies.
//! let mut reader = ReplyReader::new(Limits::RFC);
//! for chunk in input.chunks(3) {
//!     reader.receive(chunk);
//! }
//! assert_eq!(reader.next_reply().unwrap()?.as_bytes(), input);
//!
//! // Encoding: the enhanced code goes on every line (RFC 2034 3).
//! let out = OwnedReply::new(ReplyCode::OK, EnhancedCode::new(2, 1, 0), "Sender ok")
//!     .with_line("Really")
//!     .to_bytes()
//!     .unwrap();
//! assert_eq!(out, b"250-2.1.0 Sender ok\r\n250 2.1.0 Really\r\n");
//! # Ok::<(), smtp_sansio::ParseError>(())
//! ```

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::error::{EncodeError, ParseError};
use crate::limits::Limits;
use crate::line::{Endings, Framed, LineFramer};

/// A three-digit reply code (RFC 5321 4.2: first digit 2-5, second 0-5,
/// third 0-9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReplyCode(pub(crate) u16);

/// The first digit of a reply code (RFC 5321 4.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ReplyClass {
    /// 2yz: positive completion.
    PositiveCompletion = 2,
    /// 3yz: positive intermediate.
    PositiveIntermediate = 3,
    /// 4yz: transient negative completion.
    TransientNegative = 4,
    /// 5yz: permanent negative completion.
    PermanentNegative = 5,
}

impl ReplyCode {
    /// 211 System status (RFC 5321 4.2.3).
    pub const SYSTEM_STATUS: ReplyCode = ReplyCode(211);
    /// 214 Help message (RFC 5321 4.2.3).
    pub const HELP: ReplyCode = ReplyCode(214);
    /// 220 Service ready (RFC 5321 4.2.3).
    pub const READY: ReplyCode = ReplyCode(220);
    /// 221 Service closing transmission channel (RFC 5321 4.2.3).
    pub const CLOSING: ReplyCode = ReplyCode(221);
    /// 235 Authentication succeeded (RFC 4954 6).
    pub const AUTH_SUCCEEDED: ReplyCode = ReplyCode(235);
    /// 250 Requested mail action okay, completed (RFC 5321 4.2.3).
    pub const OK: ReplyCode = ReplyCode(250);
    /// 251 User not local; will forward (RFC 5321 4.2.3).
    pub const WILL_FORWARD: ReplyCode = ReplyCode(251);
    /// 252 Cannot VRFY user, but will accept message (RFC 5321 4.2.3).
    pub const CANNOT_VERIFY: ReplyCode = ReplyCode(252);
    /// 334 Server challenge (RFC 4954 4).
    pub const AUTH_CHALLENGE: ReplyCode = ReplyCode(334);
    /// 354 Start mail input (RFC 5321 4.2.3).
    pub const START_MAIL_INPUT: ReplyCode = ReplyCode(354);
    /// 421 Service not available, closing channel (RFC 5321 4.2.3).
    pub const SERVICE_NOT_AVAILABLE: ReplyCode = ReplyCode(421);
    /// 450 Mailbox unavailable (busy) (RFC 5321 4.2.3).
    pub const MAILBOX_BUSY: ReplyCode = ReplyCode(450);
    /// 451 Local error in processing (RFC 5321 4.2.3).
    pub const LOCAL_ERROR: ReplyCode = ReplyCode(451);
    /// 452 Insufficient system storage (RFC 5321 4.2.3).
    pub const INSUFFICIENT_STORAGE: ReplyCode = ReplyCode(452);
    /// 454 TLS not available / temporary authentication failure (RFC 3207 4, RFC 4954 6).
    pub const TEMPORARY_FAILURE: ReplyCode = ReplyCode(454);
    /// 455 Server unable to accommodate parameters (RFC 5321 4.2.3).
    pub const PARAMETERS_NOT_ACCOMMODATED: ReplyCode = ReplyCode(455);
    /// 500 Syntax error, command unrecognized (RFC 5321 4.2.3).
    pub const SYNTAX_ERROR: ReplyCode = ReplyCode(500);
    /// 501 Syntax error in parameters or arguments (RFC 5321 4.2.3).
    pub const PARAMETER_SYNTAX_ERROR: ReplyCode = ReplyCode(501);
    /// 502 Command not implemented (RFC 5321 4.2.3).
    pub const NOT_IMPLEMENTED: ReplyCode = ReplyCode(502);
    /// 503 Bad sequence of commands (RFC 5321 4.2.3).
    pub const BAD_SEQUENCE: ReplyCode = ReplyCode(503);
    /// 504 Command parameter not implemented (RFC 5321 4.2.3).
    pub const PARAMETER_NOT_IMPLEMENTED: ReplyCode = ReplyCode(504);
    /// 530 Authentication required (RFC 4954 6).
    pub const AUTH_REQUIRED: ReplyCode = ReplyCode(530);
    /// 535 Authentication credentials invalid (RFC 4954 6).
    pub const AUTH_INVALID: ReplyCode = ReplyCode(535);
    /// 550 Mailbox unavailable (RFC 5321 4.2.3).
    pub const MAILBOX_UNAVAILABLE: ReplyCode = ReplyCode(550);
    /// 551 User not local (RFC 5321 4.2.3).
    pub const USER_NOT_LOCAL: ReplyCode = ReplyCode(551);
    /// 552 Exceeded storage allocation (RFC 5321 4.2.3).
    pub const EXCEEDED_STORAGE: ReplyCode = ReplyCode(552);
    /// 553 Mailbox name not allowed (RFC 5321 4.2.3).
    pub const MAILBOX_NAME_NOT_ALLOWED: ReplyCode = ReplyCode(553);
    /// 554 Transaction failed / no SMTP service here (RFC 5321 4.2.3, 3.1).
    pub const TRANSACTION_FAILED: ReplyCode = ReplyCode(554);
    /// 555 MAIL/RCPT parameters not recognized (RFC 5321 4.2.3).
    pub const PARAMETERS_NOT_RECOGNIZED: ReplyCode = ReplyCode(555);

    /// The code, if it is a valid reply code (RFC 5321 4.2: first digit
    /// 2-5, second 0-5, third 0-9).
    pub const fn new(code: u16) -> Option<ReplyCode> {
        if code >= 200 && code <= 559 && (code / 10) % 10 <= 5 {
            Some(ReplyCode(code))
        } else {
            None
        }
    }

    /// Reads three ASCII digits (RFC 5321 4.2 `Reply-code`).
    #[inline]
    pub const fn from_digits(d: [u8; 3]) -> Option<ReplyCode> {
        if d[0] >= b'2' && d[0] <= b'5' && d[1] >= b'0' && d[1] <= b'5' && d[2].is_ascii_digit() {
            Some(ReplyCode(
                (d[0] - b'0') as u16 * 100 + (d[1] - b'0') as u16 * 10 + (d[2] - b'0') as u16,
            ))
        } else {
            None
        }
    }

    /// The numeric value, 200-559.
    #[inline]
    pub const fn get(self) -> u16 {
        self.0
    }

    /// The first digit, 2-5 (RFC 5321 4.2.1).
    #[inline]
    pub const fn first_digit(self) -> u8 {
        (self.0 / 100) as u8
    }

    /// The class of the reply (RFC 5321 4.2.1).
    pub const fn class(self) -> ReplyClass {
        match self.first_digit() {
            2 => ReplyClass::PositiveCompletion,
            3 => ReplyClass::PositiveIntermediate,
            4 => ReplyClass::TransientNegative,
            _ => ReplyClass::PermanentNegative,
        }
    }

    /// 2yz (RFC 5321 4.2.1).
    #[inline]
    pub const fn is_positive_completion(self) -> bool {
        self.first_digit() == 2
    }

    /// 3yz (RFC 5321 4.2.1).
    #[inline]
    pub const fn is_positive_intermediate(self) -> bool {
        self.first_digit() == 3
    }

    /// 4yz (RFC 5321 4.2.1).
    #[inline]
    pub const fn is_transient_negative(self) -> bool {
        self.first_digit() == 4
    }

    /// 5yz (RFC 5321 4.2.1).
    #[inline]
    pub const fn is_permanent_negative(self) -> bool {
        self.first_digit() == 5
    }

    /// 4yz or 5yz (RFC 5321 4.2.1).
    #[inline]
    pub const fn is_negative(self) -> bool {
        self.first_digit() >= 4
    }

    /// The three ASCII digits.
    pub const fn digits(self) -> [u8; 3] {
        [
            b'0' + (self.0 / 100) as u8,
            b'0' + ((self.0 / 10) % 10) as u8,
            b'0' + (self.0 % 10) as u8,
        ]
    }
}

impl fmt::Display for ReplyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

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

impl EnhancedCode {
    /// The code, if valid (RFC 3463 2: class 2, 4 or 5; subject and detail
    /// 0-999).
    pub const fn new(class: u8, subject: u16, detail: u16) -> Option<EnhancedCode> {
        if (class == 2 || class == 4 || class == 5) && subject <= 999 && detail <= 999 {
            Some(EnhancedCode {
                class,
                subject,
                detail,
            })
        } else {
            None
        }
    }

    /// Parses exactly `class "." subject "." detail` (RFC 3463 2: class
    /// one of 2/4/5, subject and detail 1 to 3 digits), nothing before or
    /// after.
    pub fn parse(input: &[u8]) -> Option<EnhancedCode> {
        match scan_enhanced(input) {
            Some((code, n)) if n == input.len() => Some(code),
            _ => None,
        }
    }

    /// Whether `self` can go with `code` (RFC 3463 2, RFC 2034 3: same
    /// class as the reply code's first digit; never on a 3yz reply).
    pub const fn fits(self, code: ReplyCode) -> bool {
        self.class == code.first_digit()
    }

    fn is_valid(self) -> bool {
        EnhancedCode::new(self.class, self.subject, self.detail).is_some()
    }
}

impl fmt::Display for EnhancedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

impl core::str::FromStr for EnhancedCode {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        EnhancedCode::parse(s.as_bytes()).ok_or(ParseError::Syntax)
    }
}

/// Reads 1 to 3 digits.
#[inline]
fn digits3(input: &[u8]) -> Option<(u16, usize)> {
    let mut v = 0u16;
    let mut n = 0;
    while n < 3 {
        match input.get(n) {
            Some(&b) if b.is_ascii_digit() => {
                v = v * 10 + (b - b'0') as u16;
                n += 1;
            }
            _ => break,
        }
    }
    if n == 0 { None } else { Some((v, n)) }
}

/// Reads `class "." 1*3DIGIT "." 1*3DIGIT` (class 2/4/5) at the start of
/// `input`, returning the code and its length (RFC 3463 2).
fn scan_enhanced(input: &[u8]) -> Option<(EnhancedCode, usize)> {
    // The common form, one digit each (`2.0.0`, `5.7.1`), read at once; a
    // digit after it (a longer detail) takes the general path below.
    if let Some(&[c @ (b'2' | b'4' | b'5'), b'.', s, b'.', d, next]) = input.first_chunk::<6>() {
        if s.is_ascii_digit() && d.is_ascii_digit() && !next.is_ascii_digit() {
            let code = EnhancedCode {
                class: c - b'0',
                subject: u16::from(s - b'0'),
                detail: u16::from(d - b'0'),
            };
            return Some((code, 5));
        }
    }
    let class = match input.first() {
        Some(&c @ (b'2' | b'4' | b'5')) => c - b'0',
        _ => return None,
    };
    if input.get(1) != Some(&b'.') {
        return None;
    }
    let (subject, n1) = digits3(&input[2..])?;
    let mut pos = 2 + n1;
    if input.get(pos) != Some(&b'.') {
        return None;
    }
    pos += 1;
    let (detail, n2) = digits3(&input[pos..])?;
    pos += n2;
    Some((
        EnhancedCode {
            class,
            subject,
            detail,
        },
        pos,
    ))
}

/// The enhanced status code a line's text starts with, if any, and the
/// length of its prefix including the one SP that follows (RFC 2034 3 (4)).
#[inline]
fn text_enhanced(text: &[u8]) -> Option<(EnhancedCode, usize)> {
    let (code, n) = scan_enhanced(text)?;
    if text.get(n) == Some(&b' ') {
        Some((code, n + 1))
    } else {
        None
    }
}

/// Result of looking for the end of one line.
pub(crate) enum Frame {
    /// A complete line: the length of its content, without the CRLF.
    Line(usize),
    /// No line end yet.
    Incomplete,
    /// The line cannot be framed.
    Error(ParseError),
}

/// The framer window ([`LineFramer::frame`]) for a `reply_line` limit: the
/// longest content, `limit - 2` (RFC 5321 4.5.3.1.5: the limit includes
/// the CRLF), plus one. A limit under 2 still lets an empty line through
/// (for the grammar to judge), as the reply parser always has.
#[inline]
fn reply_window(limit: usize) -> usize {
    limit.max(2) - 1
}

/// Frames one line at the start of `rest` with the crate's line framer
/// ([`LineFramer`], strict endings), reading at most `limit - 1` octets
/// (RFC 5321 4.5.3.1.5: the limit includes the CRLF).
#[inline]
pub(crate) fn frame_line(rest: &[u8], limit: usize) -> Frame {
    match LineFramer::at(0).frame(rest, 0, reply_window(limit), Endings::Strict) {
        Framed::Line { end, .. } => Frame::Line(end),
        Framed::Pending => Frame::Incomplete,
        Framed::TooLong { .. } => Frame::Error(ParseError::LineTooLong),
        Framed::Bare { .. } => Frame::Error(ParseError::BareLineEnding),
    }
}

/// Octets allowed in reply text: HT, SP to `~`, and >= 0x80 (see the
/// module docs).
const fn text_table() -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = i == 0x09 || (i >= 0x20 && i != 0x7f);
        i += 1;
    }
    t
}
static TEXT: [bool; 256] = text_table();

/// The length of the run of [`TEXT`] octets at the start of `s`, eight
/// octets per step (SWAR on a `u64`): an octet below 0x20 or equal to
/// 0x7F is flagged (a borrow only runs above a truly flagged octet, so the
/// lowest flag is exact); a flagged HT is allowed and the scan goes on
/// after it.
#[inline]
fn text_prefix(s: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut i = 0;
    while let Some(w) = s.get(i..).and_then(|t| t.first_chunk::<8>()) {
        let w = u64::from_le_bytes(*w);
        let low = w.wrapping_sub(ONES * 0x20) & !w;
        let x = w ^ (ONES * 0x7f);
        let del = x.wrapping_sub(ONES) & !x;
        let flags = (low | del) & HIGH;
        if flags == 0 {
            i += 8;
            continue;
        }
        let j = i + (flags.trailing_zeros() / 8) as usize;
        if s.get(j) != Some(&b'\t') {
            return j;
        }
        i = j + 1;
    }
    while let Some(&b) = s.get(i) {
        if !TEXT[usize::from(b)] {
            break;
        }
        i += 1;
    }
    i
}

/// One pass over a well-formed line (code, separator, text, CRLF within
/// the limit): frames and checks it at once. `None` for anything else
/// (including incomplete input), which [`frame_line`] and [`check_line`]
/// then judge; where this accepts, they give the same answer.
#[inline]
fn fast_line(
    rest: &[u8],
    limit: usize,
    detect: bool,
) -> Option<Result<(LineInfo, usize), ParseError>> {
    let max_content = limit.saturating_sub(2);
    let code = ReplyCode::from_digits([*rest.first()?, *rest.get(1)?, *rest.get(2)?])?;
    let (last, n) = match *rest.get(3)? {
        b'\r' => (true, 3),
        sep @ (b' ' | b'-') => {
            let window = rest.get(4..rest.len().min(max_content)).unwrap_or(&[]);
            (sep == b' ', 4 + text_prefix(window))
        }
        _ => return None,
    };
    if n > max_content || rest.get(n) != Some(&b'\r') || rest.get(n + 1) != Some(&b'\n') {
        return None;
    }
    let enhanced = if detect {
        match line_enhanced_checked(code, rest.get(4..n).unwrap_or(&[])) {
            Ok(e) => e,
            Err(e) => return Some(Err(e)),
        }
    } else {
        None
    };
    Some(Ok((
        LineInfo {
            code,
            last,
            enhanced,
        },
        n,
    )))
}

/// What one reply line says.
#[derive(Clone, Copy)]
pub(crate) struct LineInfo {
    pub(crate) code: ReplyCode,
    /// The last line (`SP` separator or none).
    pub(crate) last: bool,
    pub(crate) enhanced: Option<EnhancedCode>,
}

/// Checks `textstring` (RFC 5321 4.2, plus octets >= 0x80, see the module
/// docs). CR and LF cannot occur: framing stops at them.
#[inline]
pub(crate) fn check_text(text: &[u8]) -> Result<(), ParseError> {
    if is_printable(text) {
        return Ok(());
    }
    for &b in text {
        if (b < 0x20 && b != b'\t') || b == 0x7f {
            return Err(if b == 0 {
                ParseError::Nul
            } else {
                ParseError::Syntax
            });
        }
    }
    Ok(())
}

/// Whether every octet is printable ASCII or SP (%x20-7E): one pass
/// without early exit, which the compiler vectorizes. The common case of
/// [`check_text`] and of the EHLO parameter check.
#[inline]
pub(crate) fn is_printable(s: &[u8]) -> bool {
    s.iter()
        .fold(0u8, |acc, &b| acc | u8::from(b.wrapping_sub(0x20) > 0x5e))
        == 0
}

/// The length of the run of printable ASCII or SP (%x20-7E) at the start
/// of `s`. Eight octets per step (SWAR on a `u64`): a borrow or carry can
/// only flag octets above a truly flagged one, so the lowest flag is exact.
#[inline]
pub(crate) fn printable_prefix(s: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut i = 0;
    while let Some(w) = s.get(i..i + 8).and_then(|w| <[u8; 8]>::try_from(w).ok()) {
        let w = u64::from_le_bytes(w);
        // An octet below 0x20, or at or above 0x7F.
        let low = w.wrapping_sub(ONES * 0x20) & !w;
        let high = w.wrapping_add(ONES) | w;
        let flags = (low | high) & HIGH;
        if flags != 0 {
            return i + (flags.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&b) = s.get(i) {
        if b.wrapping_sub(0x20) > 0x5e {
            break;
        }
        i += 1;
    }
    i
}

/// Parses one framed reply line (without CRLF): code, separator, text.
#[inline]
pub(crate) fn check_line(line: &[u8], detect_enhanced: bool) -> Result<LineInfo, ParseError> {
    check_line_with(line, detect_enhanced, false)
}

/// [`check_line`]; `printable`: the caller has seen that every octet of
/// the line is printable ASCII or SP, so the text check cannot fail.
#[inline]
pub(crate) fn check_line_with(
    line: &[u8],
    detect_enhanced: bool,
    printable: bool,
) -> Result<LineInfo, ParseError> {
    let code = match line {
        [a, b, c, ..] => ReplyCode::from_digits([*a, *b, *c]),
        _ => None,
    };
    let Some(code) = code else {
        return Err(if line.contains(&0) {
            ParseError::Nul
        } else {
            ParseError::Syntax
        });
    };
    let last = match line.get(3) {
        None | Some(b' ') => true,
        Some(b'-') => false,
        Some(0) => return Err(ParseError::Nul),
        Some(_) => return Err(ParseError::Syntax),
    };
    let text = line.get(4..).unwrap_or(&[]);
    if !printable {
        check_text(text)?;
    }
    let enhanced = if detect_enhanced {
        line_enhanced_checked(code, text)?
    } else {
        None
    };
    Ok(LineInfo {
        code,
        last,
        enhanced,
    })
}

/// The enhanced code of a line of a reply with `code`; none on 3yz
/// (RFC 2034 4). A class that disagrees with the reply code (RFC 3463 2
/// binds the sender) is not an enhanced code but plain text: RFC 5321 4.2
/// makes any text acceptable to a client, which acts on the reply code.
#[inline]
fn line_enhanced_checked(code: ReplyCode, text: &[u8]) -> Result<Option<EnhancedCode>, ParseError> {
    if code.first_digit() == 3 {
        return Ok(None);
    }
    Ok(text_enhanced(text).map(|(e, _)| e).filter(|e| e.fits(code)))
}

/// Collects the lines of one reply (RFC 5321 4.2.1).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Assembler {
    code: Option<ReplyCode>,
    pub(crate) enhanced: Option<EnhancedCode>,
    pub(crate) lines: usize,
}

impl Assembler {
    /// Adds a line; `Ok(true)` when it was the last one.
    #[inline]
    pub(crate) fn push(&mut self, info: &LineInfo, max_lines: usize) -> Result<bool, ParseError> {
        match self.code {
            Some(c) if c != info.code => return Err(ParseError::CodeMismatch),
            Some(_) => {}
            None => {
                self.code = Some(info.code);
                self.enhanced = info.enhanced;
            }
        }
        self.lines += 1;
        if !info.last && self.lines >= max_lines.max(1) {
            return Err(ParseError::TooManyLines);
        }
        Ok(info.last)
    }
}

/// A parsed reply, single- or multi-line, borrowing the input
/// (RFC 5321 4.2.1).
///
/// # Examples
///
/// ```
/// use smtp_sansio::{EnhancedCode, Limits, Reply, ReplyCode};
///
/// let input = b"250-2.1.0 Sender ok\r\n250 2.1.0 Really\r\nleft over";
/// let (reply, used) = Reply::parse(input, &Limits::RFC)?;
/// assert_eq!(used, input.len() - b"left over".len());
/// assert_eq!(reply.code(), ReplyCode::OK);
/// assert_eq!(reply.enhanced(), EnhancedCode::new(2, 1, 0));
/// assert_eq!(reply.line_count(), 2);
/// // An owned copy to keep or to send again.
/// assert_eq!(reply.to_owned_reply().to_string(), "250-2.1.0 Sender ok\r\n250 2.1.0 Really");
/// # Ok::<(), smtp_sansio::ParseError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply<'a> {
    pub(crate) code: ReplyCode,
    pub(crate) enhanced: Option<EnhancedCode>,
    /// Number of lines.
    pub(crate) lines: usize,
    /// The whole reply, every line with its code and CRLF.
    pub(crate) raw: &'a [u8],
}

impl<'a> Reply<'a> {
    /// Parses one complete reply at the start of `input` (RFC 5321 4.2.1),
    /// returning it and the number of octets it took.
    /// `Err(ParseError::Incomplete)` means more input is needed.
    /// Enhanced status codes are read (RFC 3463, RFC 2034).
    pub fn parse(input: &'a [u8], limits: &Limits) -> Result<(Reply<'a>, usize), ParseError> {
        Self::parse_with(input, limits, true)
    }

    /// Like [`Reply::parse`], but without looking for enhanced status
    /// codes: for replies that never carry one, the greeting and the EHLO
    /// reply (RFC 2034 3 (4): they come before ENHANCEDSTATUSCODES is in
    /// effect or are its advertisement).
    pub fn parse_plain(input: &'a [u8], limits: &Limits) -> Result<(Reply<'a>, usize), ParseError> {
        Self::parse_with(input, limits, false)
    }

    fn parse_with(
        input: &'a [u8],
        limits: &Limits,
        detect: bool,
    ) -> Result<(Reply<'a>, usize), ParseError> {
        let mut asm = Assembler::default();
        let mut pos = 0;
        loop {
            let rest = &input[pos..];
            // Only the first line's enhanced code is kept (the Assembler),
            // and looking for one never fails: later lines skip it.
            let detect = detect && pos == 0;
            let (info, n) = match fast_line(rest, limits.reply_line, detect) {
                Some(Ok(x)) => x,
                Some(Err(e)) => return Err(e),
                None => {
                    let n = match frame_line(rest, limits.reply_line) {
                        Frame::Line(n) => n,
                        Frame::Incomplete => return Err(ParseError::Incomplete),
                        Frame::Error(e) => return Err(e),
                    };
                    (check_line(&rest[..n], detect)?, n)
                }
            };
            let done = asm.push(&info, limits.reply_lines)?;
            pos += n + 2;
            if done {
                return Ok((
                    Reply {
                        code: info.code,
                        enhanced: asm.enhanced,
                        lines: asm.lines,
                        raw: &input[..pos],
                    },
                    pos,
                ));
            }
        }
    }

    /// The reply code (RFC 5321 4.2).
    #[inline]
    pub fn code(&self) -> ReplyCode {
        self.code
    }

    /// The enhanced status code of the first line, if any (RFC 3463, RFC
    /// 2034 3).
    #[inline]
    pub fn enhanced(&self) -> Option<EnhancedCode> {
        self.enhanced
    }

    /// Number of lines (RFC 5321 4.2.1).
    #[inline]
    pub fn line_count(&self) -> usize {
        self.lines
    }

    /// Whether the reply has more than one line.
    #[inline]
    pub fn is_multiline(&self) -> bool {
        self.lines > 1
    }

    /// The raw reply, every line with code and CRLF.
    #[inline]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.raw
    }

    /// The text of each line: after the code and its separator, before the
    /// CRLF, nothing trimmed; empty for a code-only line. The enhanced
    /// status code, if any, stays in the text.
    #[inline]
    pub fn lines(&self) -> Lines<'a> {
        Lines { rest: self.raw }
    }

    /// The enhanced status code that `line` (one of [`Reply::lines`])
    /// starts with, if it has one (always `None` for 3yz replies, and for
    /// replies read without enhanced code detection).
    pub fn line_enhanced(&self, line: &[u8]) -> Option<EnhancedCode> {
        if self.code.first_digit() == 3 {
            return None;
        }
        text_enhanced(line)
            .map(|(e, _)| e)
            .filter(|e| e.fits(self.code))
    }

    /// `line` (one of [`Reply::lines`]) without its enhanced status code
    /// and the SP that follows it, when it starts with one of the reply's
    /// class (never for 3yz replies).
    pub fn text_without_enhanced<'b>(&self, line: &'b [u8]) -> &'b [u8] {
        if self.code.first_digit() == 3 {
            return line;
        }
        match text_enhanced(line) {
            Some((e, n)) if e.fits(self.code) => &line[n..],
            _ => line,
        }
    }

    /// An owned copy for sending or keeping (RFC 5321 4.2). The enhanced
    /// code is the first line's; it is removed from each line that starts
    /// with that same code (other text stays). Non-UTF-8 text is converted
    /// lossily (U+FFFD).
    pub fn to_owned_reply(&self) -> OwnedReply {
        let lines = self
            .lines()
            .map(|line| {
                let t = match (self.enhanced, text_enhanced(line)) {
                    (Some(e), Some((le, n))) if e == le => &line[n..],
                    _ => line,
                };
                Cow::Owned(String::from_utf8_lossy(t).into_owned())
            })
            .collect();
        OwnedReply {
            code: self.code,
            enhanced: self.enhanced,
            lines,
        }
    }
}

/// Iterator over the text of each line of a [`Reply`].
#[derive(Debug, Clone)]
pub struct Lines<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        let end = memchr::memchr(b'\r', self.rest).unwrap_or(self.rest.len());
        let line = &self.rest[..end];
        self.rest = self.rest.get(end + 2..).unwrap_or(&[]);
        Some(line.get(4..).unwrap_or(&[]))
    }
}

/// Incremental reply reader (RFC 5321 4.2.1), for a client.
///
/// Bytes go in with [`ReplyReader::receive`] in chunks of any size;
/// complete replies come out of [`ReplyReader::next_reply`], borrowing the
/// reader's buffer. Each byte is scanned for the line end once (the reader
/// remembers how far the current line was scanned), so feeding one byte at
/// a time costs the same order as one large buffer.
///
/// **Memory.** A line longer than `limits.reply_line` is reported as
/// [`ParseError::LineTooLong`] as soon as the limit is passed, and its rest
/// is skipped without being stored; a reply may hold at most
/// `limits.reply_lines` lines. So the reader never needs more than
/// `reply_line * reply_lines` octets to make progress; bytes received and
/// not yet taken out (pipelined replies) are buffered.
///
/// **After an error** the reader stays usable: it drops the reply in
/// error, up to the end of the first line (ending at any LF) that is not a
/// continuation line (its fourth octet is not `-`), and reads the next
/// reply after it. A client should still treat a malformed reply as fatal
/// for the session (RFC 5321 4.2: it cannot know what the server meant).
#[derive(Debug, Clone)]
pub struct ReplyReader {
    limits: Limits,
    detect_enhanced: bool,
    buf: Vec<u8>,
    /// Start of the reply being read.
    start: usize,
    /// Start of the line being read.
    line_start: usize,
    /// The framer's cursor in the line being read.
    framer: LineFramer,
    asm: Assembler,
    resync: Option<Resync>,
}

/// Skipping the rest of a reply in error, line by line.
#[derive(Debug, Clone, Copy, Default)]
struct Resync {
    /// Octets of the current line seen so far.
    seen: usize,
    /// The current line's fourth octet is `-`.
    continued: bool,
}

impl Resync {
    /// Skips octets of `bytes`; returns how many, and whether the skipping
    /// is over.
    fn skip(&mut self, bytes: &[u8]) -> (usize, bool) {
        let mut i = 0;
        while i < bytes.len() {
            let seg_end = memchr::memchr(b'\n', &bytes[i..]).map(|j| i + j + 1);
            let end = seg_end.unwrap_or(bytes.len());
            if self.seen <= 3 && self.seen + (end - i) > 3 {
                self.continued = bytes[i + 3 - self.seen] == b'-';
            }
            self.seen += end - i;
            i = end;
            if seg_end.is_some() {
                let over = !self.continued;
                *self = Resync::default();
                if over {
                    return (i, true);
                }
            }
        }
        (i, false)
    }
}

impl Default for ReplyReader {
    fn default() -> Self {
        ReplyReader::new(Limits::RFC)
    }
}

impl ReplyReader {
    /// A reader with these limits, reading enhanced status codes.
    pub fn new(limits: Limits) -> ReplyReader {
        ReplyReader {
            limits,
            detect_enhanced: true,
            buf: Vec::new(),
            start: 0,
            line_start: 0,
            framer: LineFramer::at(0),
            asm: Assembler::default(),
            resync: None,
        }
    }

    /// Whether to read enhanced status codes (RFC 2034): on by default.
    /// Switch it off while reading the greeting and the EHLO reply, which
    /// never carry one (see [`Reply::parse_plain`]). Takes effect for the
    /// next line read.
    pub fn set_enhanced_codes(&mut self, on: bool) {
        self.detect_enhanced = on;
    }

    /// Adds received bytes. Only buffers (or, while skipping an overlong
    /// line or a reply in error, drops them).
    pub fn receive(&mut self, mut bytes: &[u8]) {
        if let Some(r) = &mut self.resync {
            if self.start == self.buf.len() {
                let (n, over) = r.skip(bytes);
                bytes = &bytes[n..];
                if over {
                    self.resync = None;
                    self.buf.clear();
                    self.reset_line(0);
                }
            }
        }
        if self.start > 0 && self.start * 2 >= self.buf.len() {
            let s = self.start;
            self.buf.drain(..s);
            self.start = 0;
            self.line_start = self.line_start.saturating_sub(s);
            self.framer.shift(s);
        }
        self.buf.extend_from_slice(bytes);
    }

    fn reset_line(&mut self, at: usize) {
        self.start = at;
        self.line_start = at;
        self.framer = LineFramer::at(at);
        self.asm = Assembler::default();
    }

    /// The next complete reply, `None` when more input is needed.
    pub fn next_reply(&mut self) -> Option<Result<Reply<'_>, ParseError>> {
        if let Some(r) = &mut self.resync {
            let (n, over) = r.skip(&self.buf[self.start..]);
            self.start += n;
            if !over {
                return None;
            }
            self.resync = None;
            self.reset_line(self.start);
        }
        let window = reply_window(self.limits.reply_line);
        loop {
            let start = self.line_start;
            let (p, next) = match self.framer.frame(&self.buf, start, window, Endings::Strict) {
                Framed::Line { end, next } => (end, next),
                Framed::Pending => return None,
                Framed::TooLong { .. } => return Some(Err(self.fail(ParseError::LineTooLong))),
                Framed::Bare { .. } => return Some(Err(self.fail(ParseError::BareLineEnding))),
            };
            let rest = &self.buf[start..];
            let n = p - start;
            let info = match check_line(&rest[..n], self.detect_enhanced) {
                Ok(i) => i,
                Err(e) => return Some(Err(self.fail(e))),
            };
            let done = match self.asm.push(&info, self.limits.reply_lines) {
                Ok(d) => d,
                Err(e) => return Some(Err(self.fail(e))),
            };
            self.line_start = next;
            if done {
                let start = self.start;
                let asm = self.asm;
                self.reset_line(next);
                return Some(Ok(Reply {
                    code: info.code,
                    enhanced: asm.enhanced,
                    lines: asm.lines,
                    raw: &self.buf[start..next],
                }));
            }
        }
    }

    /// Records an error: the reply's earlier lines are dropped, and the
    /// rest is skipped up to the end of its last line.
    fn fail(&mut self, e: ParseError) -> ParseError {
        let at = self.line_start;
        self.reset_line(at);
        self.resync = Some(Resync::default());
        e
    }

    /// Bytes received and not yet returned as a reply (the start of an
    /// incomplete reply, or further replies not yet asked for). A client
    /// checks this is empty after the 220 reply to STARTTLS (RFC 3207 5,
    /// response injection).
    pub fn buffered(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    /// Drops every buffered byte and any partial reply or error recovery
    /// (for instance once TLS starts, RFC 3207 4.2).
    pub fn clear(&mut self) {
        self.buf.clear();
        self.resync = None;
        self.reset_line(0);
    }
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

/// Longest encoded reply line, CRLF included (RFC 5321 4.5.3.1.5).
pub const MAX_REPLY_LINE: usize = 512;

impl OwnedReply {
    /// A one-line reply (RFC 5321 4.2).
    pub fn new(
        code: ReplyCode,
        enhanced: Option<EnhancedCode>,
        text: impl Into<Cow<'static, str>>,
    ) -> OwnedReply {
        OwnedReply {
            code,
            enhanced,
            lines: alloc::vec![text.into()],
        }
    }

    /// Adds a line (the reply becomes multi-line, RFC 5321 4.2.1).
    #[must_use]
    pub fn with_line(mut self, text: impl Into<Cow<'static, str>>) -> OwnedReply {
        self.lines.push(text.into());
        self
    }

    /// Checks that the reply encodes to something that reads back the
    /// same; see [`OwnedReply::write_to`].
    pub fn validate(&self) -> Result<(), EncodeError> {
        if self.lines.is_empty() {
            return Err(EncodeError::OutOfRange);
        }
        let class3 = self.code.first_digit() == 3;
        let mut prefix = 4;
        if let Some(e) = self.enhanced {
            if class3 || !e.fits(self.code) || !e.is_valid() {
                return Err(EncodeError::OutOfRange);
            }
            prefix += enhanced_len(e) + 1;
        }
        for (i, line) in self.lines.iter().enumerate() {
            let t = line.as_bytes();
            for &b in t {
                if b == b'\r' || b == b'\n' {
                    return Err(EncodeError::LineBreak);
                }
                if (b < 0x20 && b != b'\t') || b == 0x7f {
                    return Err(EncodeError::InvalidByte);
                }
            }
            if prefix + t.len() + 2 > MAX_REPLY_LINE {
                return Err(EncodeError::TooLong);
            }
            // Without an enhanced code, a first line whose text reads as
            // one of the reply's class would come back with one. (A prefix
            // of another class reads back as plain text, RFC 5321 4.2.)
            if self.enhanced.is_none() && !class3 && i == 0 {
                if let Some((e, _)) = text_enhanced(t) {
                    if e.fits(self.code) {
                        return Err(EncodeError::InvalidByte);
                    }
                }
            }
        }
        Ok(())
    }

    /// Appends the encoded reply to `out` (RFC 5321 4.2.1): `250-` on every
    /// line but the last, `250 ` on the last, the enhanced status code and
    /// one SP at the start of every line's text (RFC 2034 3), a code-only
    /// line as `250\r\n` (`250-\r\n` if continued).
    ///
    /// Refused, leaving `out` untouched: no line
    /// ([`EncodeError::OutOfRange`]); CR or LF in a text
    /// ([`EncodeError::LineBreak`]); another control octet but HT, or DEL
    /// ([`EncodeError::InvalidByte`]); an encoded line longer than 512
    /// octets with CRLF ([`EncodeError::TooLong`], RFC 5321 4.5.3.1.5); an
    /// enhanced code on a 3yz reply or of another class than the reply code
    /// ([`EncodeError::OutOfRange`]); without an enhanced code, a first
    /// line whose text starts like one of the reply's class
    /// ([`EncodeError::InvalidByte`]: it would read back with one).
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.validate()?;
        self.write_unchecked(out);
        Ok(())
    }

    /// The layout of [`OwnedReply::write_to`] without its checks.
    fn write_unchecked(&self, out: &mut Vec<u8>) {
        let digits = self.code.digits();
        let last = self.lines.len().saturating_sub(1);
        for (i, line) in self.lines.iter().enumerate() {
            out.extend_from_slice(&digits);
            let sep = if i == last { b' ' } else { b'-' };
            match self.enhanced {
                Some(e) => {
                    out.push(sep);
                    write_enhanced(e, out);
                    out.push(b' ');
                    out.extend_from_slice(line.as_bytes());
                }
                None if line.is_empty() => {
                    if sep == b'-' {
                        out.push(sep);
                    }
                }
                None => {
                    out.push(sep);
                    out.extend_from_slice(line.as_bytes());
                }
            }
            out.extend_from_slice(b"\r\n");
        }
    }

    /// The encoded reply, see [`OwnedReply::write_to`].
    pub fn to_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::new();
        self.write_to(&mut out)?;
        Ok(out)
    }
}

/// Short constructors for the replies an application sends most (RFC 5321
/// 4.2.3 codes, RFC 3463 enhanced status codes). The text of `ok`,
/// `temporary_failure` and `permanent_failure` is checked when the reply
/// is encoded ([`OwnedReply::write_to`]).
impl OwnedReply {
    /// A reply from its code, its enhanced status code as text (`""` for
    /// none) and one line of text, checked as [`OwnedReply::validate`]
    /// does: an invalid code ([`EncodeError::OutOfRange`], RFC 5321 4.2:
    /// 200-559), an enhanced code that does not parse or does not fit the
    /// reply code ([`EncodeError::OutOfRange`], RFC 3463 2, RFC 2034 3), or
    /// a text that cannot be sent, is refused.
    ///
    /// ```
    /// use smtp_sansio::OwnedReply;
    ///
    /// let reply = OwnedReply::from_parts(550, "5.1.1", "No such user")?;
    /// assert_eq!(reply.to_string(), "550 5.1.1 No such user");
    /// assert!(OwnedReply::from_parts(250, "5.1.1", "class mismatch").is_err());
    /// assert!(OwnedReply::from_parts(650, "", "no such code").is_err());
    /// # Ok::<(), smtp_sansio::EncodeError>(())
    /// ```
    pub fn from_parts(
        code: u16,
        enhanced: &str,
        text: impl Into<Cow<'static, str>>,
    ) -> Result<OwnedReply, EncodeError> {
        let code = ReplyCode::new(code).ok_or(EncodeError::OutOfRange)?;
        let enhanced = match enhanced {
            "" => None,
            e => Some(EnhancedCode::parse(e.as_bytes()).ok_or(EncodeError::OutOfRange)?),
        };
        let reply = OwnedReply::new(code, enhanced, text);
        reply.validate()?;
        Ok(reply)
    }

    /// `250 2.0.0 text`: the requested action completed (RFC 5321 4.2.3,
    /// RFC 3463 X.0.0). Accepts a MAIL, RCPT or message with that text.
    ///
    /// ```
    /// let reply = smtp_sansio::OwnedReply::ok("Queued as 4F2A");
    /// assert_eq!(reply.to_string(), "250 2.0.0 Queued as 4F2A");
    /// ```
    pub fn ok(text: impl Into<Cow<'static, str>>) -> OwnedReply {
        OwnedReply::new(ReplyCode::OK, Some(EnhancedCode::OK), text)
    }

    /// `451 4.3.0 text`: a transient failure, try again later (RFC 5321
    /// 4.2.3 "local error in processing", valid after MAIL, RCPT and the
    /// message (4.3.2); RFC 3463 X.3.0 "other or undefined mail system
    /// status").
    ///
    /// ```
    /// let reply = smtp_sansio::OwnedReply::temporary_failure("Spool full, later");
    /// assert_eq!(reply.to_string(), "451 4.3.0 Spool full, later");
    /// ```
    pub fn temporary_failure(text: impl Into<Cow<'static, str>>) -> OwnedReply {
        OwnedReply::new(
            ReplyCode::LOCAL_ERROR,
            Some(EnhancedCode::TEMPORARY_FAILURE),
            text,
        )
    }

    /// `550 5.0.0 text`: a permanent failure, do not retry (RFC 5321 4.2.3
    /// "requested action not taken", valid after MAIL, RCPT and the
    /// message (4.3.2); RFC 3463 X.0.0 "other undefined status"). Use
    /// [`OwnedReply::from_parts`] for a more precise code (`550 5.1.1` for
    /// an unknown user, `550 5.7.1` for a policy refusal...).
    ///
    /// ```
    /// let reply = smtp_sansio::OwnedReply::permanent_failure("Not here");
    /// assert_eq!(reply.to_string(), "550 5.0.0 Not here");
    /// ```
    pub fn permanent_failure(text: impl Into<Cow<'static, str>>) -> OwnedReply {
        OwnedReply::new(
            ReplyCode::MAILBOX_UNAVAILABLE,
            Some(EnhancedCode::PERMANENT_FAILURE),
            text,
        )
    }
}

impl EnhancedCode {
    /// `2.0.0`: success, other or undefined (RFC 3463 3.1).
    pub const OK: EnhancedCode = EnhancedCode {
        class: 2,
        subject: 0,
        detail: 0,
    };
    /// `4.3.0`: transient, other or undefined mail system status (RFC 3463
    /// 3.4).
    pub const TEMPORARY_FAILURE: EnhancedCode = EnhancedCode {
        class: 4,
        subject: 3,
        detail: 0,
    };
    /// `5.0.0`: permanent, other undefined status (RFC 3463 3.1).
    pub const PERMANENT_FAILURE: EnhancedCode = EnhancedCode {
        class: 5,
        subject: 0,
        detail: 0,
    };
}

/// The reply as [`OwnedReply::write_to`] writes it, without the final
/// CRLF (RFC 5321 4.2.1): lines joined by CRLF, so
/// `format!("{reply}\r\n")` is the encoded reply and reads back equal.
/// A reply that does not encode ([`OwnedReply::validate`]) is shown on one
/// line, every CR, LF and other control octet as `\xNN`.
///
/// ```
/// use smtp_sansio::OwnedReply;
///
/// let reply = OwnedReply::ok("First").with_line("Second");
/// assert_eq!(reply.to_string(), "250-2.0.0 First\r\n250 2.0.0 Second");
/// assert_eq!(format!("{reply}\r\n").as_bytes(), reply.to_bytes().unwrap());
/// ```
impl fmt::Display for OwnedReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = Vec::new();
        self.write_unchecked(&mut out);
        let body = out.strip_suffix(b"\r\n").unwrap_or(&out);
        if self.validate().is_ok() {
            // Only the CRLFs between lines: text as encoded.
            for (i, line) in body.split(|&b| b == b'\n').enumerate() {
                if i > 0 {
                    f.write_str("\r\n")?;
                }
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                crate::address::display_bytes(f, line)?;
            }
            Ok(())
        } else {
            crate::address::display_bytes(f, body)
        }
    }
}

fn enhanced_len(e: EnhancedCode) -> usize {
    let d = |v: u16| {
        if v >= 100 {
            3
        } else if v >= 10 {
            2
        } else {
            1
        }
    };
    1 + 1 + d(e.subject) + 1 + d(e.detail)
}

fn write_num(v: u16, out: &mut Vec<u8>) {
    if v >= 100 {
        out.push(b'0' + (v / 100) as u8);
    }
    if v >= 10 {
        out.push(b'0' + ((v / 10) % 10) as u8);
    }
    out.push(b'0' + (v % 10) as u8);
}

fn write_enhanced(e: EnhancedCode, out: &mut Vec<u8>) {
    out.push(b'0' + e.class);
    out.push(b'.');
    write_num(e.subject, out);
    out.push(b'.');
    write_num(e.detail, out);
}

/// A server greeting (RFC 5321 4.2 `Greeting`, 3.1): 220 when the service
/// is ready, 554 when it is not.
///
/// ```text
/// Greeting = ( "220 " (Domain / address-literal) [ SP textstring ] CRLF ) /
///            ( "220-" (Domain / address-literal) [ SP textstring ] CRLF
///              *( "220-" [ textstring ] CRLF )
///              "220" [ SP textstring ] CRLF )
/// ```
///
/// The domain is the first SP-delimited token of the first line's text; it
/// is checked loosely (not empty, no control octet) since the client only
/// shows it. No enhanced status code is read (RFC 2034 3 (4)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Greeting<'a> {
    reply: Reply<'a>,
    domain: &'a [u8],
}

impl<'a> Greeting<'a> {
    /// Parses one complete greeting at the start of `input`. A well-formed
    /// reply with another code than 220 or 554 gives
    /// [`ParseError::UnexpectedCode`]; an empty domain gives
    /// [`ParseError::Syntax`].
    pub fn parse(input: &'a [u8], limits: &Limits) -> Result<(Greeting<'a>, usize), ParseError> {
        let (reply, n) = Reply::parse_plain(input, limits)?;
        Ok((Greeting::from_reply(reply)?, n))
    }

    /// Reads a greeting from a reply framed by [`Reply::parse_plain`] or a
    /// [`ReplyReader`] with enhanced codes off.
    pub fn from_reply(reply: Reply<'a>) -> Result<Greeting<'a>, ParseError> {
        if reply.code != ReplyCode::READY && reply.code != ReplyCode::TRANSACTION_FAILED {
            return Err(ParseError::UnexpectedCode);
        }
        let first = reply.lines().next().unwrap_or(&[]);
        let domain = first_token(first)?;
        Ok(Greeting { reply, domain })
    }

    /// 220 or 554.
    pub fn code(&self) -> ReplyCode {
        self.reply.code
    }

    /// Whether the server is ready (220; 554 means no service, RFC 5321 3.1).
    pub fn is_ready(&self) -> bool {
        self.reply.code == ReplyCode::READY
    }

    /// The domain or address literal, as sent.
    pub fn domain(&self) -> &'a [u8] {
        self.domain
    }

    /// The first line's text after the domain and its SP (empty if none).
    pub fn text(&self) -> &'a [u8] {
        let first = self.reply.lines().next().unwrap_or(&[]);
        first.get(self.domain.len() + 1..).unwrap_or(&[])
    }

    /// The text of each line, as [`Reply::lines`].
    pub fn lines(&self) -> Lines<'a> {
        self.reply.lines()
    }

    /// The reply underneath.
    pub fn reply(&self) -> Reply<'a> {
        self.reply
    }
}

/// The first SP-delimited token of a line's text: not empty, no control
/// octet (loose Domain / address-literal check).
pub(crate) fn first_token(text: &[u8]) -> Result<&[u8], ParseError> {
    let end = memchr::memchr(b' ', text).unwrap_or(text.len());
    let token = &text[..end];
    if token.is_empty() || token.iter().any(|&b| b < 0x21 || b == 0x7f) {
        return Err(ParseError::Syntax);
    }
    Ok(token)
}
