//! EHLO replies and their service extensions (RFC 5321 4.1.1.1, 2.2.2,
//! and each extension's RFC).
//!
//! # Grammar (RFC 5321 4.1.1.1)
//!
//! ```text
//! ehlo-ok-rsp  = ( "250 " Domain [ SP ehlo-greet ] CRLF )
//!              / ( "250-" Domain [ SP ehlo-greet ] CRLF
//!                  *( "250-" ehlo-line CRLF )
//!                  "250 " ehlo-line CRLF )
//! ehlo-greet   = 1*(%d0-9 / %d11-12 / %d14-127)
//! ehlo-line    = ehlo-keyword *( SP ehlo-param )
//! ehlo-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
//! ehlo-param   = 1*(%d33-126)
//! ```
//!
//! Decisions taken here:
//!
//! - The reply is first framed and checked as a generic reply
//!   ([`Reply::parse_plain`]: CRLF only, no NUL, same code on every line,
//!   line and line-count limits), then each line as above. The errors of
//!   the generic layer win, so a whole buffer and a [`ReplyReader`](crate::reply::ReplyReader) fed in
//!   pieces give the same verdict.
//! - A well-formed reply that is not 250 is [`ParseError::UnexpectedCode`]:
//!   the client handles it as a generic [`Reply`].
//! - The domain is the first SP-delimited token of the first line, checked
//!   loosely (not empty, no control octet); `greet` is the rest of the line
//!   after that SP. The greet follows `textstring` rather than `ehlo-greet`
//!   (no NUL or other control octet but HT; UTF-8 allowed).
//! - Lenient on receipt: several SPs between parameters and trailing SPs
//!   are accepted (the parameters are then read as SP-separated tokens);
//!   the legacy `AUTH=mech ...` line (sent before RFC 2554 was final, still
//!   offered by Postfix and Exim for old clients) is read as
//!   [`Capability::Other`] with the keyword `AUTH=mech`; `_` is accepted in
//!   keywords (Exim 4.92 advertises `X_PIPE_CONNECT`).
//! - Keywords are matched ASCII case-insensitively. The parameters of the
//!   numeric extensions are strict: a SIZE or DELIVERBY value that is not
//!   digits is [`ParseError::InvalidParameter`], one that does not fit a
//!   `u64` is [`ParseError::NumberOverflow`]; FUTURERELEASE needs both of
//!   its parameters. Parameters after a keyword that takes none are
//!   ignored. LIMITS (RFC 9422) values that are not plain numbers are
//!   ignored, as are unknown limits.
//! - The summary ([`EhloReply::extensions`], [`EhloReply::size`],
//!   [`EhloReply::auth_mechanisms`]) is computed in the same pass; when a
//!   keyword appears twice, the first line counts.
//!
//! # Example
//!
//! ```
//! use smtp_sansio::{Capabilities, Capability, EhloReply, Extensions, Limits};
//!
//! let input = b"250-mx.example.com hi\r\n250-SIZE 1000\r\n250-AUTH PLAIN LOGIN\r\n250 STARTTLS\r\n";
//! let (ehlo, _) = EhloReply::parse(input, &Limits::RFC)?;
//! assert_eq!(ehlo.domain(), b"mx.example.com");
//! assert_eq!(ehlo.size(), Some(1000));
//! assert!(ehlo.supports(Extensions::STARTTLS | Extensions::AUTH));
//! assert!(ehlo.auth_mechanisms().contains(b"login"));
//! assert_eq!(ehlo.capabilities().next(), Some(Capability::Size(Some(1000))));
//!
//! // Server side.
//! let caps = Capabilities::new("mx.example.com", "hi")
//!     .with(Capability::Size(Some(1000)))
//!     .with(Capability::StartTls);
//! let mut out = Vec::new();
//! caps.write_to(&mut out).unwrap();
//! assert_eq!(out, b"250-mx.example.com hi\r\n250-SIZE 1000\r\n250 STARTTLS\r\n");
//! # Ok::<(), smtp_sansio::ParseError>(())
//! ```

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

use crate::address::{C_ALNUM, C_LDH, is};
use crate::error::{EncodeError, ParseError};
use crate::ext::Extensions;
use crate::limits::Limits;
use crate::reply::{
    Assembler, Frame, LineInfo, OwnedReply, Reply, ReplyCode, check_line_with, first_token,
    frame_line, is_printable, printable_prefix,
};

/// One service extension advertised in an EHLO reply (RFC 5321 4.1.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Capability<'a> {
    /// SIZE, with the maximum message size if given (RFC 1870 4; 0 means
    /// no fixed maximum).
    Size(Option<u64>),
    /// 8BITMIME (RFC 6152).
    EightBitMime,
    /// BINARYMIME (RFC 3030).
    BinaryMime,
    /// CHUNKING (RFC 3030).
    Chunking,
    /// PIPELINING (RFC 2920).
    Pipelining,
    /// SMTPUTF8 (RFC 6531).
    SmtpUtf8,
    /// DSN (RFC 3461).
    Dsn,
    /// ENHANCEDSTATUSCODES (RFC 2034).
    EnhancedStatusCodes,
    /// STARTTLS (RFC 3207).
    StartTls,
    /// AUTH and its SASL mechanisms (RFC 4954 3).
    Auth(AuthMechanisms<'a>),
    /// REQUIRETLS (RFC 8689).
    RequireTls,
    /// MT-PRIORITY with its priority profile if given (RFC 6710 3).
    MtPriority(Option<&'a [u8]>),
    /// DELIVERBY with the minimum by-time if given (RFC 2852 4).
    DeliverBy(Option<u64>),
    /// FUTURERELEASE (RFC 4865 3).
    FutureRelease {
        /// Longest HOLDFOR interval, in seconds.
        max_interval: u64,
        /// Latest HOLDUNTIL date-time (RFC 3339), as sent.
        max_datetime: &'a [u8],
    },
    /// ETRN (RFC 1985).
    Etrn,
    /// BURL, with its parameters (e.g. `imap`) if given (RFC 4468 3).
    Burl(Option<&'a [u8]>),
    /// RRVS (RFC 7293).
    Rrvs,
    /// VRFY (RFC 5321 3.5.2).
    Vrfy,
    /// EXPN (RFC 5321 3.5.2).
    Expn,
    /// HELP (RFC 5321 4.1.1.8).
    Help,
    /// LIMITS (RFC 9422).
    Limits(ServerLimits),
    /// Any other keyword, with its parameters as sent (SP-separated,
    /// without leading or trailing SP; may be empty).
    Other {
        /// The keyword as sent.
        keyword: &'a [u8],
        /// The parameters as sent.
        params: &'a [u8],
    },
}

/// The limits of RFC 9422 this crate reads (section 4); others are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ServerLimits {
    /// MAILMAX: transactions per session (RFC 9422 4.1).
    pub mail_max: Option<u64>,
    /// RCPTMAX: recipients per transaction (RFC 9422 4.2).
    pub rcpt_max: Option<u64>,
    /// RCPTDOMAINMAX: recipient domains per transaction (RFC 9422 4.3).
    pub rcpt_domain_max: Option<u64>,
}

impl ServerLimits {
    /// Reads `limit *(SP limit)`, `limit = name "=" value` (RFC 9422 3).
    fn parse(params: &[u8]) -> ServerLimits {
        let mut l = ServerLimits::default();
        for p in Params::new(params) {
            let Some(eq) = memchr::memchr(b'=', p) else {
                continue;
            };
            let (name, value) = (&p[..eq], &p[eq + 1..]);
            let Ok(Some(v)) = parse_u64(value) else {
                continue;
            };
            let slot = if name.eq_ignore_ascii_case(b"MAILMAX") {
                &mut l.mail_max
            } else if name.eq_ignore_ascii_case(b"RCPTMAX") {
                &mut l.rcpt_max
            } else if name.eq_ignore_ascii_case(b"RCPTDOMAINMAX") {
                &mut l.rcpt_domain_max
            } else {
                continue;
            };
            if slot.is_none() {
                *slot = Some(v);
            }
        }
        l
    }
}

/// The SASL mechanisms of an AUTH line (RFC 4954 3), as sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AuthMechanisms<'a>(&'a [u8]);

impl<'a> AuthMechanisms<'a> {
    /// Mechanisms from their SP-separated list, e.g. `b"PLAIN LOGIN"`.
    pub const fn new(raw: &'a [u8]) -> Self {
        AuthMechanisms(raw)
    }

    /// The list as sent.
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// Each mechanism name, as sent.
    pub fn iter(&self) -> Params<'a> {
        Params::new(self.0)
    }

    /// Whether `name` is offered (ASCII case-insensitive, RFC 4422 3.1).
    pub fn contains(&self, name: &[u8]) -> bool {
        self.iter().any(|m| m.eq_ignore_ascii_case(name))
    }

    /// Whether there is no mechanism.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
}

impl<'a> IntoIterator for AuthMechanisms<'a> {
    type Item = &'a [u8];
    type IntoIter = Params<'a>;
    fn into_iter(self) -> Params<'a> {
        self.iter()
    }
}

/// Iterator over SP-separated tokens (ehlo-params, mechanism names).
#[derive(Debug, Clone)]
pub struct Params<'a> {
    rest: &'a [u8],
}

impl<'a> Params<'a> {
    /// Tokens of `raw`, skipping empty ones.
    pub fn new(raw: &'a [u8]) -> Self {
        Params { rest: raw }
    }
}

impl<'a> Iterator for Params<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            let end = memchr::memchr(b' ', self.rest).unwrap_or(self.rest.len());
            let tok = &self.rest[..end];
            self.rest = self.rest.get(end + 1..).unwrap_or(&[]);
            if !tok.is_empty() {
                return Some(tok);
            }
        }
    }
}

/// Reads `1*DIGIT` as a `u64`; `Ok(None)` for no digits at all or a
/// non-digit, `Err` on overflow.
fn parse_u64(v: &[u8]) -> Result<Option<u64>, ParseError> {
    if v.is_empty() {
        return Ok(None);
    }
    let mut n: u64 = 0;
    for &b in v {
        if !b.is_ascii_digit() {
            return Ok(None);
        }
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add((b - b'0') as u64))
            .ok_or(ParseError::NumberOverflow)?;
    }
    Ok(Some(n))
}

/// An optional single numeric parameter (SIZE, DELIVERBY).
fn numeric_param(params: &[u8]) -> Result<Option<u64>, ParseError> {
    // Common case: one run of digits (`params` has no leading or trailing
    // SP), read without splitting into tokens; same result as below.
    // Up to 19 digits cannot overflow a u64, so no checked arithmetic.
    if !params.is_empty() && params.len() <= 19 {
        let mut n: u64 = 0;
        let mut digits = true;
        for &b in params {
            let d = b.wrapping_sub(b'0');
            digits &= d <= 9;
            n = n.wrapping_mul(10).wrapping_add(u64::from(d));
        }
        if digits {
            return Ok(Some(n));
        }
    }
    let mut it = Params::new(params);
    let Some(first) = it.next() else {
        return Ok(None);
    };
    if it.next().is_some() {
        return Err(ParseError::InvalidParameter);
    }
    match parse_u64(first)? {
        Some(n) => Ok(Some(n)),
        None => Err(ParseError::InvalidParameter),
    }
}

fn opt(params: &[u8]) -> Option<&[u8]> {
    if params.is_empty() {
        None
    } else {
        Some(params)
    }
}

/// Known keywords, by kind.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kw {
    Size,
    EightBitMime,
    BinaryMime,
    Chunking,
    Pipelining,
    SmtpUtf8,
    Dsn,
    EnhancedStatusCodes,
    StartTls,
    Auth,
    RequireTls,
    MtPriority,
    DeliverBy,
    FutureRelease,
    Etrn,
    Burl,
    Rrvs,
    Vrfy,
    Expn,
    Help,
    Limits,
}

impl Kw {
    /// Dispatch on length, then a case-insensitive compare.
    #[inline]
    fn classify(k: &[u8]) -> Option<Kw> {
        let is = |s: &[u8]| k.eq_ignore_ascii_case(s);
        let kw = match k.len() {
            3 if is(b"DSN") => Kw::Dsn,
            4 => match k[0] | 0x20 {
                b's' if is(b"SIZE") => Kw::Size,
                b'a' if is(b"AUTH") => Kw::Auth,
                b'e' if is(b"ETRN") => Kw::Etrn,
                b'e' if is(b"EXPN") => Kw::Expn,
                b'b' if is(b"BURL") => Kw::Burl,
                b'r' if is(b"RRVS") => Kw::Rrvs,
                b'v' if is(b"VRFY") => Kw::Vrfy,
                b'h' if is(b"HELP") => Kw::Help,
                _ => return None,
            },
            6 if is(b"LIMITS") => Kw::Limits,
            8 => match k[0] | 0x20 {
                b'8' if is(b"8BITMIME") => Kw::EightBitMime,
                b'c' if is(b"CHUNKING") => Kw::Chunking,
                b's' if is(b"SMTPUTF8") => Kw::SmtpUtf8,
                b's' if is(b"STARTTLS") => Kw::StartTls,
                _ => return None,
            },
            9 if is(b"DELIVERBY") => Kw::DeliverBy,
            10 => match k[0] | 0x20 {
                b'p' if is(b"PIPELINING") => Kw::Pipelining,
                b'b' if is(b"BINARYMIME") => Kw::BinaryMime,
                b'r' if is(b"REQUIRETLS") => Kw::RequireTls,
                _ => return None,
            },
            11 if is(b"MT-PRIORITY") => Kw::MtPriority,
            13 if is(b"FUTURERELEASE") => Kw::FutureRelease,
            19 if is(b"ENHANCEDSTATUSCODES") => Kw::EnhancedStatusCodes,
            _ => return None,
        };
        Some(kw)
    }

    fn extension(self) -> Extensions {
        match self {
            Kw::Size => Extensions::SIZE,
            Kw::EightBitMime => Extensions::EIGHT_BIT_MIME,
            Kw::BinaryMime => Extensions::BINARY_MIME,
            Kw::Chunking => Extensions::CHUNKING,
            Kw::Pipelining => Extensions::PIPELINING,
            Kw::SmtpUtf8 => Extensions::SMTPUTF8,
            Kw::Dsn => Extensions::DSN,
            Kw::EnhancedStatusCodes => Extensions::ENHANCED_STATUS_CODES,
            Kw::StartTls => Extensions::STARTTLS,
            Kw::Auth => Extensions::AUTH,
            Kw::RequireTls => Extensions::REQUIRETLS,
            Kw::MtPriority => Extensions::MT_PRIORITY,
            Kw::DeliverBy => Extensions::DELIVERBY,
            Kw::FutureRelease => Extensions::FUTURERELEASE,
            Kw::Etrn => Extensions::ETRN,
            Kw::Burl => Extensions::BURL,
            Kw::Rrvs => Extensions::RRVS,
            Kw::Vrfy => Extensions::VRFY,
            Kw::Expn => Extensions::EXPN,
            Kw::Help => Extensions::HELP,
            Kw::Limits => Extensions::LIMITS,
        }
    }
}

/// Eight keyword octets packed little-endian into a `u64`, upper-cased by
/// clearing bit 5 of each octet. On the keyword alphabet (ALPHA, DIGIT,
/// `-`, RFC 5321 4.1.1.1 `ehlo-keyword`) this is exact: letters land on
/// 0x41-0x5A, digits on 0x10-0x19 and `-` on 0x0D, so two keywords pack
/// alike only if they match ASCII case-insensitively.
const fn pack(s: &[u8], from: usize) -> u64 {
    let mut w = 0u64;
    let mut i = 0;
    while i < 8 && from + i < s.len() {
        w |= ((s[from + i] & 0xDF) as u64) << (8 * i);
        i += 1;
    }
    w
}

/// The packed form of a keyword's octets `from..from + 8` (see [`pack`]).
macro_rules! kw {
    ($s:literal) => {
        const { pack($s, 0) }
    };
    ($s:literal, $from:literal) => {
        const { pack($s, $from) }
    };
}

/// `k`'s octets `from..` (at most 8) packed as [`pack`] does, reading the
/// eight octets of `line` at `at + from` in one load when `line` holds
/// them (the keyword is followed by at least its line's CRLF).
#[inline(always)]
fn pack_at(line: &[u8], at: usize, len: usize, from: usize) -> u64 {
    let n = len.saturating_sub(from).min(8);
    // `first_chunk` keeps this one bounds check and one load (a ranged
    // `get` plus `try_from` compiled to an out-of-line slice index call).
    let w = match line.get(at + from..).and_then(<[u8]>::first_chunk::<8>) {
        Some(w) => u64::from_le_bytes(*w),
        None => return pack(line.get(at..at + len).unwrap_or(&[]), from),
    };
    let keep = if n >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * n)) - 1
    };
    w & keep & 0xDFDF_DFDF_DFDF_DFDF
}

/// The extension of a known keyword `line[at..at + len]` (octets of the
/// keyword alphabet only), or [`Extensions::NONE`]: one length dispatch,
/// then packed-integer compares (no per-octet case folding, no second
/// dispatch on a keyword enum).
#[inline(always)]
fn classify_packed(line: &[u8], at: usize, len: usize) -> Extensions {
    let w = pack_at(line, at, len, 0);
    match len {
        3 if w == kw!(b"DSN") => Extensions::DSN,
        4 => match w {
            x if x == kw!(b"SIZE") => Extensions::SIZE,
            x if x == kw!(b"AUTH") => Extensions::AUTH,
            x if x == kw!(b"ETRN") => Extensions::ETRN,
            x if x == kw!(b"EXPN") => Extensions::EXPN,
            x if x == kw!(b"VRFY") => Extensions::VRFY,
            x if x == kw!(b"HELP") => Extensions::HELP,
            x if x == kw!(b"BURL") => Extensions::BURL,
            x if x == kw!(b"RRVS") => Extensions::RRVS,
            _ => Extensions::NONE,
        },
        6 if w == kw!(b"LIMITS") => Extensions::LIMITS,
        8 => match w {
            x if x == kw!(b"8BITMIME") => Extensions::EIGHT_BIT_MIME,
            x if x == kw!(b"CHUNKING") => Extensions::CHUNKING,
            x if x == kw!(b"SMTPUTF8") => Extensions::SMTPUTF8,
            x if x == kw!(b"STARTTLS") => Extensions::STARTTLS,
            _ => Extensions::NONE,
        },
        9 if w == kw!(b"DELIVERBY") && pack_at(line, at, len, 8) == kw!(b"DELIVERBY", 8) => {
            Extensions::DELIVERBY
        }
        10 => {
            let v = pack_at(line, at, len, 8);
            match (w, v) {
                (x, y) if x == kw!(b"PIPELINING") && y == kw!(b"PIPELINING", 8) => {
                    Extensions::PIPELINING
                }
                (x, y) if x == kw!(b"BINARYMIME") && y == kw!(b"BINARYMIME", 8) => {
                    Extensions::BINARY_MIME
                }
                (x, y) if x == kw!(b"REQUIRETLS") && y == kw!(b"REQUIRETLS", 8) => {
                    Extensions::REQUIRETLS
                }
                _ => Extensions::NONE,
            }
        }
        11 if w == kw!(b"MT-PRIORITY") && pack_at(line, at, len, 8) == kw!(b"MT-PRIORITY", 8) => {
            Extensions::MT_PRIORITY
        }
        13 if w == kw!(b"FUTURERELEASE")
            && pack_at(line, at, len, 8) == kw!(b"FUTURERELEASE", 8) =>
        {
            Extensions::FUTURERELEASE
        }
        19 if w == kw!(b"ENHANCEDSTATUSCODES")
            && pack_at(line, at, len, 8) == kw!(b"ENHANCEDSTATUSCODES", 8)
            && pack_at(line, at, len, 16) == kw!(b"ENHANCEDSTATUSCODES", 16) =>
        {
            Extensions::ENHANCED_STATUS_CODES
        }
        _ => Extensions::NONE,
    }
}

/// One capability line split into keyword and parameters, as sent
/// (RFC 5321 4.1.1.1 `ehlo-line`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawCapability<'a> {
    /// The ehlo-keyword as sent.
    pub keyword: &'a [u8],
    /// The ehlo-params as sent, without leading or trailing SP.
    pub params: &'a [u8],
}

impl<'a> RawCapability<'a> {
    /// Splits and checks one `ehlo-line` (the text after `250-`/`250 `).
    pub fn split(line: &'a [u8]) -> Result<RawCapability<'a>, ParseError> {
        Self::split_with(line, false)
    }

    /// [`RawCapability::split`]; `printable`: every octet of `line` is
    /// known to be printable ASCII or SP.
    #[inline]
    fn split_with(line: &'a [u8], printable: bool) -> Result<RawCapability<'a>, ParseError> {
        // Fast path: an `ehlo-keyword` (a run of ALPHA / DIGIT / "-" that
        // starts with ALPHA / DIGIT) ended by SP or the line end, and
        // parameters of printable ASCII and SP. The general code below
        // gives the same result for such a line; it handles the rest.
        let mut k = 0;
        while let Some(&b) = line.get(k) {
            if !is(b, C_LDH) {
                break;
            }
            k += 1;
        }
        if line.first().is_some_and(|&b| is(b, C_ALNUM)) && matches!(line.get(k), None | Some(b' '))
        {
            let mut params = line.get(k + 1..).unwrap_or(&[]);
            if printable || is_printable(params) {
                while let [b' ', rest @ ..] = params {
                    params = rest;
                }
                while let [rest @ .., b' '] = params {
                    params = rest;
                }
                return Ok(RawCapability {
                    keyword: &line[..k],
                    params,
                });
            }
        }
        let kw_end = memchr::memchr(b' ', line).unwrap_or(line.len());
        let keyword = &line[..kw_end];
        check_keyword(keyword)?;
        let mut params = line.get(kw_end + 1..).unwrap_or(&[]);
        while let [b' ', rest @ ..] = params {
            params = rest;
        }
        while let [rest @ .., b' '] = params {
            params = rest;
        }
        for &b in params {
            if !(0x21..=0x7e).contains(&b) && b != b' ' {
                return Err(if b == 0 {
                    ParseError::Nul
                } else {
                    ParseError::Syntax
                });
            }
        }
        Ok(RawCapability { keyword, params })
    }

    /// The parameters, one by one.
    pub fn params(&self) -> Params<'a> {
        Params::new(self.params)
    }

    /// The typed capability (keyword matched case-insensitively).
    pub fn parse(&self) -> Result<Capability<'a>, ParseError> {
        Ok(self.parse_kw()?.0)
    }

    #[inline]
    fn parse_kw(&self) -> Result<(Capability<'a>, Option<Kw>), ParseError> {
        let Some(kw) = Kw::classify(self.keyword) else {
            return Ok((
                Capability::Other {
                    keyword: self.keyword,
                    params: self.params,
                },
                None,
            ));
        };
        let p = self.params;
        let cap = match kw {
            Kw::Size => Capability::Size(numeric_param(p)?),
            Kw::EightBitMime => Capability::EightBitMime,
            Kw::BinaryMime => Capability::BinaryMime,
            Kw::Chunking => Capability::Chunking,
            Kw::Pipelining => Capability::Pipelining,
            Kw::SmtpUtf8 => Capability::SmtpUtf8,
            Kw::Dsn => Capability::Dsn,
            Kw::EnhancedStatusCodes => Capability::EnhancedStatusCodes,
            Kw::StartTls => Capability::StartTls,
            Kw::Auth => Capability::Auth(AuthMechanisms(p)),
            Kw::RequireTls => Capability::RequireTls,
            Kw::MtPriority => Capability::MtPriority(opt(p)),
            Kw::DeliverBy => Capability::DeliverBy(numeric_param(p)?),
            Kw::FutureRelease => {
                let mut it = Params::new(p);
                let (Some(i), Some(d), None) = (it.next(), it.next(), it.next()) else {
                    return Err(ParseError::InvalidParameter);
                };
                let Some(max_interval) = parse_u64(i)? else {
                    return Err(ParseError::InvalidParameter);
                };
                Capability::FutureRelease {
                    max_interval,
                    max_datetime: d,
                }
            }
            Kw::Etrn => Capability::Etrn,
            Kw::Burl => Capability::Burl(opt(p)),
            Kw::Rrvs => Capability::Rrvs,
            Kw::Vrfy => Capability::Vrfy,
            Kw::Expn => Capability::Expn,
            Kw::Help => Capability::Help,
            Kw::Limits => Capability::Limits(ServerLimits::parse(p)),
        };
        Ok((cap, Some(kw)))
    }
}

/// Whether an EHLO line is empty or only spaces.
fn is_blank(line: &[u8]) -> bool {
    line.iter().all(|&b| b == b' ')
}

/// `ehlo-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")`, plus `_`
/// (Exim's `X_PIPE_CONNECT`), or the legacy `AUTH=` form.
#[inline]
fn check_keyword(k: &[u8]) -> Result<(), ParseError> {
    let err = |b: u8| {
        Err(if b == 0 {
            ParseError::Nul
        } else {
            ParseError::Syntax
        })
    };
    match k.first() {
        None => return Err(ParseError::Syntax),
        Some(&b) if !b.is_ascii_alphanumeric() => return err(b),
        _ => {}
    }
    for (i, &b) in k.iter().enumerate() {
        if !(b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            if b == b'=' && i == 4 && k[..4].eq_ignore_ascii_case(b"AUTH") {
                // Legacy `AUTH=mech`: the rest must be ehlo-param octets.
                return match k[5..].iter().find(|&&c| !(0x21..=0x7e).contains(&c)) {
                    Some(&c) => err(c),
                    None if k.len() > 5 => Ok(()),
                    None => Err(ParseError::Syntax),
                };
            }
            return err(b);
        }
    }
    Ok(())
}

/// What [`EhloReply`] computes from the lines of a 250 reply, line by line.
#[derive(Default)]
struct Summary<'a> {
    domain: &'a [u8],
    greet: &'a [u8],
    extensions: Extensions,
    size: Option<u64>,
    auth: AuthMechanisms<'a>,
    /// The first error in a line's contents.
    error: Option<ParseError>,
}

impl<'a> Summary<'a> {
    /// Reads the text of one line (the first holds the domain and greet).
    #[inline]
    fn line(&mut self, text: &'a [u8], first: bool, printable: bool) -> Result<(), ParseError> {
        if first {
            self.domain = first_token(text)?;
            self.greet = text.get(self.domain.len() + 1..).unwrap_or(&[]);
            return Ok(());
        }
        if is_blank(text) {
            // Tolerated on receipt (smtp-sink); see `EhloReply::from_reply`.
            return Ok(());
        }
        let raw = RawCapability::split_with(text, printable)?;
        let (cap, kw) = raw.parse_kw()?;
        if let Some(kw) = kw {
            let ext = kw.extension();
            if !self.extensions.contains(ext) {
                self.extensions.insert(ext);
                match cap {
                    Capability::Size(s) => self.size = s,
                    Capability::Auth(a) => self.auth = a,
                    _ => {}
                }
            }
        }
        Ok(())
    }
}

impl<'a> Summary<'a> {
    /// The parsed reply of 250 lines `raw` (the first line's code), or the
    /// first error in a line's contents.
    fn finish(self, asm: Assembler, raw: &'a [u8]) -> Result<(EhloReply<'a>, usize), ParseError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let reply = Reply {
            code: ReplyCode::OK,
            enhanced: asm.enhanced,
            lines: asm.lines,
            raw,
        };
        Ok((
            EhloReply {
                reply,
                domain: self.domain,
                greet: self.greet,
                extensions: self.extensions,
                size: self.size,
                auth: self.auth,
            },
            raw.len(),
        ))
    }

    /// One pass over a common capability line at the start of `rest`:
    /// `250-` or `250 `, an `ehlo-keyword` (ALPHA / DIGIT / `-`), then
    /// nothing or SP and printable parameters, then CRLF, within
    /// `max_content` octets before the CRLF. Reads it as [`Summary::line`]
    /// would and returns its length without CRLF and whether it is the
    /// last line; `None` (nothing read) for any other line, which the
    /// general path then frames, checks and reads.
    #[inline]
    fn fast_line(&mut self, rest: &'a [u8], max_content: usize) -> Option<(usize, bool)> {
        let head = rest.get(..4)?;
        let last = match head {
            b"250-" => false,
            b"250 " => true,
            _ => return None,
        };
        // The keyword: ALPHA / DIGIT first, then ALPHA / DIGIT / "-".
        if !is(*rest.get(4)?, C_ALNUM) {
            return None;
        }
        let mut k = 5;
        while let Some(&b) = rest.get(k) {
            if !is(b, C_LDH) {
                break;
            }
            k += 1;
        }
        let (end, params) = match rest.get(k)? {
            b'\r' => (k, &[][..]),
            b' ' => {
                let p = rest.get(k + 1..)?;
                let run = printable_prefix(p);
                if p.get(run) != Some(&b'\r') {
                    return None;
                }
                let mut params = p.get(..run)?;
                while let [b' ', r @ ..] = params {
                    params = r;
                }
                while let [r @ .., b' '] = params {
                    params = r;
                }
                (k + 1 + run, params)
            }
            _ => return None,
        };
        if rest.get(end + 1) != Some(&b'\n') || end > max_content {
            return None;
        }
        let ext = classify_packed(rest, 4, k - 4);
        if ext == Extensions::NONE {
            return Some((end, last));
        }
        // Parameter errors count even on a repeated keyword, as in
        // `Summary::line`.
        let mut size = None;
        let checked = if ext == Extensions::SIZE {
            numeric_param(params).map(|s| size = s)
        } else if ext == Extensions::DELIVERBY {
            numeric_param(params).map(|_| ())
        } else if ext == Extensions::FUTURERELEASE {
            RawCapability {
                keyword: rest.get(4..k)?,
                params,
            }
            .parse_kw()
            .map(|_| ())
        } else {
            Ok(())
        };
        if let Err(e) = checked {
            self.error = Some(e);
        } else if !self.extensions.contains(ext) {
            self.extensions.insert(ext);
            if ext == Extensions::SIZE {
                self.size = size;
            } else if ext == Extensions::AUTH {
                self.auth = AuthMechanisms(params);
            }
        }
        Some((end, last))
    }
}

/// A parsed EHLO reply (RFC 5321 4.1.1.1 `ehlo-ok-rsp`), borrowing the
/// input. Capabilities are read lazily from the raw bytes; the summary
/// (extensions, SIZE, AUTH mechanisms) was computed while parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EhloReply<'a> {
    reply: Reply<'a>,
    domain: &'a [u8],
    greet: &'a [u8],
    extensions: Extensions,
    size: Option<u64>,
    auth: AuthMechanisms<'a>,
}

impl<'a> EhloReply<'a> {
    /// Parses one complete EHLO reply at the start of `input`, returning it
    /// and the octets it took. A well-formed reply other than 250 is
    /// [`ParseError::UnexpectedCode`]; `Incomplete` means more input is
    /// needed.
    pub fn parse(input: &'a [u8], limits: &Limits) -> Result<(EhloReply<'a>, usize), ParseError> {
        // One pass: each line is framed and checked exactly as
        // `Reply::parse_plain` does, and its capability read at once as
        // `from_reply` would. The generic errors still win (they return at
        // once); the first capability error is kept and returned only if
        // the reply is otherwise well formed and a 250, as before.
        let mut asm = Assembler::default();
        let mut pos = 0;
        let mut sum = Summary::default();
        let max_content = limits.reply_line.saturating_sub(2);
        // The first line's code is 250 (the fast path's lines must match).
        let mut ok = false;
        loop {
            let rest = &input[pos..];
            // A common capability line, read in one pass (same result as
            // the general path below).
            if asm.lines > 0 && ok && sum.error.is_none() {
                if let Some((n, last)) = sum.fast_line(rest, max_content) {
                    let info = LineInfo {
                        code: ReplyCode::OK,
                        last,
                        enhanced: None,
                    };
                    let done = asm.push(&info, limits.reply_lines)?;
                    pos += n + 2;
                    if done {
                        return sum.finish(asm, &input[..pos]);
                    }
                    continue;
                }
            }
            // Common case first: a run of printable octets ended by CRLF
            // within the line limit. Then the first CR or LF of the window
            // is that CR (so `frame_line` would frame the same line) and
            // the text check cannot fail.
            let window = &rest[..rest.len().min(max_content + 1)];
            let run = printable_prefix(window);
            let printable = window.get(run) == Some(&b'\r') && rest.get(run + 1) == Some(&b'\n');
            let n = if printable {
                run
            } else {
                match frame_line(rest, limits.reply_line) {
                    Frame::Line(n) => n,
                    Frame::Incomplete => return Err(ParseError::Incomplete),
                    Frame::Error(e) => return Err(e),
                }
            };
            let line = &rest[..n];
            let info = check_line_with(line, false, printable)?;
            let first = asm.lines == 0;
            let done = asm.push(&info, limits.reply_lines)?;
            ok = first && info.code == ReplyCode::OK || ok;
            if info.code == ReplyCode::OK && sum.error.is_none() {
                let text = line.get(4..).unwrap_or(&[]);
                if let Err(e) = sum.line(text, first, printable) {
                    sum.error = Some(e);
                }
            }
            pos += n + 2;
            if done {
                if info.code != ReplyCode::OK {
                    return Err(ParseError::UnexpectedCode);
                }
                return sum.finish(asm, &input[..pos]);
            }
        }
    }

    /// Reads an EHLO reply from a reply framed by [`Reply::parse_plain`] or
    /// a [`ReplyReader`](crate::reply::ReplyReader) with enhanced codes
    /// off.
    pub fn from_reply(reply: Reply<'a>) -> Result<EhloReply<'a>, ParseError> {
        if reply.code() != ReplyCode::OK {
            return Err(ParseError::UnexpectedCode);
        }
        let mut lines = reply.lines();
        let first = lines.next().unwrap_or(&[]);
        let domain = first_token(first)?;
        let greet = first.get(domain.len() + 1..).unwrap_or(&[]);
        let mut extensions = Extensions::NONE;
        let mut size = None;
        let mut auth = AuthMechanisms::default();
        for line in lines {
            if is_blank(line) {
                // An empty ehlo-line (Postfix's smtp-sink ends its reply
                // with `250 `): nothing is advertised by it; tolerated on
                // receipt.
                continue;
            }
            let raw = RawCapability::split(line)?;
            let (cap, kw) = raw.parse_kw()?;
            if let Some(kw) = kw {
                let ext = kw.extension();
                if !extensions.contains(ext) {
                    extensions.insert(ext);
                    match cap {
                        Capability::Size(s) => size = s,
                        Capability::Auth(a) => auth = a,
                        _ => {}
                    }
                }
            }
        }
        Ok(EhloReply {
            reply,
            domain,
            greet,
            extensions,
            size,
            auth,
        })
    }

    /// The server's domain or address literal, as sent.
    pub fn domain(&self) -> &'a [u8] {
        self.domain
    }

    /// The first line's text after the domain and its SP (empty if none).
    pub fn greet(&self) -> &'a [u8] {
        self.greet
    }

    /// Number of lines (the first one is not a capability).
    pub fn line_count(&self) -> usize {
        self.reply.line_count()
    }

    /// The raw reply.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.reply.as_bytes()
    }

    /// The reply underneath.
    pub fn reply(&self) -> Reply<'a> {
        self.reply
    }

    /// Each capability line, keyword and parameters as sent.
    pub fn raw_capabilities(&self) -> impl Iterator<Item = RawCapability<'a>> + 'a {
        self.reply
            .lines()
            .skip(1)
            .filter(|l| !is_blank(l))
            .map(|l| {
                RawCapability::split(l).unwrap_or(RawCapability {
                    keyword: l,
                    params: &[],
                })
            })
    }

    /// Each capability, typed, in the order sent.
    pub fn capabilities(&self) -> impl Iterator<Item = Capability<'a>> + 'a {
        self.raw_capabilities().map(|r| {
            r.parse().unwrap_or(Capability::Other {
                keyword: r.keyword,
                params: r.params,
            })
        })
    }

    /// The known extensions advertised.
    pub fn extensions(&self) -> Extensions {
        self.extensions
    }

    /// Whether every extension of `ext` is advertised.
    pub fn supports(&self, ext: Extensions) -> bool {
        self.extensions.contains(ext)
    }

    /// The SIZE value, if SIZE was advertised with one (RFC 1870 4).
    pub fn size(&self) -> Option<u64> {
        self.size
    }

    /// The mechanisms of the first AUTH line (empty if no AUTH, RFC 4954 3).
    pub fn auth_mechanisms(&self) -> AuthMechanisms<'a> {
        self.auth
    }
}

/// What a server advertises in its EHLO reply: an owned builder that
/// renders a multi-line 250 reply (RFC 5321 4.1.1.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities<'a> {
    /// The server's domain or address literal.
    pub domain: Cow<'a, str>,
    /// Greeting text after the domain (may be empty).
    pub greet: Cow<'a, str>,
    /// The capabilities, one line each, in this order.
    pub list: Vec<Capability<'a>>,
}

impl<'a> Capabilities<'a> {
    /// An EHLO reply with no extension yet.
    pub fn new(domain: impl Into<Cow<'a, str>>, greet: impl Into<Cow<'a, str>>) -> Self {
        Capabilities {
            domain: domain.into(),
            greet: greet.into(),
            list: Vec::new(),
        }
    }

    /// Adds a capability line.
    #[must_use]
    pub fn with(mut self, cap: Capability<'a>) -> Self {
        self.list.push(cap);
        self
    }

    /// Adds a capability line.
    pub fn push(&mut self, cap: Capability<'a>) {
        self.list.push(cap);
    }

    /// The reply to send. Refused: an empty domain or one with SP or a
    /// control octet ([`EncodeError::InvalidByte`]); a parameter outside
    /// `ehlo-param` ([`EncodeError::InvalidByte`]); an
    /// [`Capability::Other`] whose keyword is not an `ehlo-keyword` or is a
    /// known one ([`EncodeError::OutOfRange`]: it would read back as the
    /// typed variant); and whatever [`OwnedReply::write_to`] refuses.
    pub fn to_reply(&self) -> Result<OwnedReply, EncodeError> {
        let d = self.domain.as_bytes();
        if d.is_empty() || d.iter().any(|&b| b < 0x21 || b == 0x7f) {
            return Err(EncodeError::InvalidByte);
        }
        let mut first = String::with_capacity(d.len() + 1 + self.greet.len());
        first.push_str(&self.domain);
        if !self.greet.is_empty() {
            first.push(' ');
            first.push_str(&self.greet);
        }
        let mut reply = OwnedReply::new(ReplyCode::OK, None, first);
        let mut buf = Vec::new();
        for cap in &self.list {
            buf.clear();
            cap.write_to(&mut buf)?;
            // write_to only emits ASCII.
            let s = String::from_utf8(buf.clone()).map_err(|_| EncodeError::InvalidByte)?;
            reply.lines.push(Cow::Owned(s));
        }
        reply.validate()?;
        Ok(reply)
    }

    /// Appends the encoded reply to `out`; see [`Capabilities::to_reply`].
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.to_reply()?.write_to(out)
    }
}

fn check_params(p: &[u8]) -> Result<(), EncodeError> {
    // 1*(%d33-126) tokens, single-SP separated.
    if p.first() == Some(&b' ')
        || p.last() == Some(&b' ')
        || memchr::memmem::find(p, b"  ").is_some()
    {
        return Err(EncodeError::InvalidByte);
    }
    if p.iter().any(|&b| !(0x21..=0x7e).contains(&b) && b != b' ') {
        return Err(if p.iter().any(|&b| b == b'\r' || b == b'\n') {
            EncodeError::LineBreak
        } else {
            EncodeError::InvalidByte
        });
    }
    Ok(())
}

fn write_u64(mut n: u64, out: &mut Vec<u8>) {
    let mut d = [0u8; 20];
    let mut i = d.len();
    loop {
        i -= 1;
        d[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&d[i..]);
}

impl Capability<'_> {
    /// The EHLO keyword, upper case (as sent, for [`Capability::Other`]).
    pub fn keyword(&self) -> &[u8] {
        match self {
            Capability::Size(_) => b"SIZE",
            Capability::EightBitMime => b"8BITMIME",
            Capability::BinaryMime => b"BINARYMIME",
            Capability::Chunking => b"CHUNKING",
            Capability::Pipelining => b"PIPELINING",
            Capability::SmtpUtf8 => b"SMTPUTF8",
            Capability::Dsn => b"DSN",
            Capability::EnhancedStatusCodes => b"ENHANCEDSTATUSCODES",
            Capability::StartTls => b"STARTTLS",
            Capability::Auth(_) => b"AUTH",
            Capability::RequireTls => b"REQUIRETLS",
            Capability::MtPriority(_) => b"MT-PRIORITY",
            Capability::DeliverBy(_) => b"DELIVERBY",
            Capability::FutureRelease { .. } => b"FUTURERELEASE",
            Capability::Etrn => b"ETRN",
            Capability::Burl(_) => b"BURL",
            Capability::Rrvs => b"RRVS",
            Capability::Vrfy => b"VRFY",
            Capability::Expn => b"EXPN",
            Capability::Help => b"HELP",
            Capability::Limits(_) => b"LIMITS",
            Capability::Other { keyword, .. } => keyword,
        }
    }

    /// The extension this capability advertises (`None` for
    /// [`Capability::Other`]).
    pub fn extension(&self) -> Option<Extensions> {
        Kw::classify(self.keyword())
            .filter(|_| !matches!(self, Capability::Other { .. }))
            .map(Kw::extension)
    }

    /// Appends the `ehlo-line` (keyword and parameters, without code or
    /// CRLF) to `out` (RFC 5321 4.1.1.1).
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let mut params: Option<&[u8]> = None;
        out.extend_from_slice(self.keyword());
        match *self {
            Capability::Size(Some(n)) | Capability::DeliverBy(Some(n)) => {
                out.push(b' ');
                write_u64(n, out);
            }
            Capability::Auth(m) => params = opt(m.0),
            Capability::MtPriority(p) | Capability::Burl(p) => params = p,
            Capability::FutureRelease {
                max_interval,
                max_datetime,
            } => {
                if max_datetime.is_empty() || max_datetime.contains(&b' ') {
                    return Err(EncodeError::InvalidByte);
                }
                out.push(b' ');
                write_u64(max_interval, out);
                params = Some(max_datetime);
            }
            Capability::Limits(l) => {
                for (name, v) in [
                    (&b"RCPTMAX="[..], l.rcpt_max),
                    (b"MAILMAX=", l.mail_max),
                    (b"RCPTDOMAINMAX=", l.rcpt_domain_max),
                ] {
                    if let Some(v) = v {
                        out.push(b' ');
                        out.extend_from_slice(name);
                        write_u64(v, out);
                    }
                }
            }
            Capability::Other { keyword, params: p } => {
                if check_keyword(keyword).is_err()
                    || keyword.contains(&b'=')
                    || Kw::classify(keyword).is_some()
                {
                    return Err(EncodeError::OutOfRange);
                }
                params = opt(p);
            }
            _ => {}
        }
        if let Some(p) = params {
            check_params(p)?;
            out.push(b' ');
            out.extend_from_slice(p);
        }
        Ok(())
    }
}
