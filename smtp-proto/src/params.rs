//! MAIL and RCPT parameters (RFC 5321 4.1.2 `Mail-parameters`,
//! `Rcpt-parameters`) and xtext (RFC 3461 4).

/// An xtext value as sent (RFC 3461 4): `+HH` escapes are decoded on demand.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct XText<'a>(pub(crate) &'a [u8]);

/// `BODY=` (RFC 6152 3, RFC 3030 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Body {
    /// `7BIT`.
    SevenBit,
    /// `8BITMIME` (RFC 6152).
    EightBitMime,
    /// `BINARYMIME` (RFC 3030): content must go with BDAT.
    BinaryMime,
}

/// `RET=` (RFC 3461 4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ret {
    /// `FULL`.
    Full,
    /// `HDRS`.
    Hdrs,
}

/// The `AUTH=` MAIL parameter (RFC 4954 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailAuth<'a> {
    /// `AUTH=<>`: the submitter is not known or not trusted.
    Unknown,
    /// An xtext-encoded mailbox.
    Mailbox(XText<'a>),
}

/// `HOLDFOR=` / `HOLDUNTIL=` (RFC 4865 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold<'a> {
    /// `HOLDFOR=` seconds.
    For(u64),
    /// `HOLDUNTIL=` an RFC 3339 date-time, as sent.
    Until(&'a [u8]),
}

/// `BY=` (RFC 2852 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliverBy {
    /// by-time in seconds; zero or negative only in N mode (RFC 2852 4:
    /// "a <= zero value is not allowed with a by-mode of R"). The
    /// grammar allows at most 9 digits, so `i32` holds every value (and
    /// keeps [`crate::Command`] small).
    pub time: i32,
    /// `N` (notify) or `R` (return).
    pub mode: ByMode,
    /// `T`: trace requested.
    pub trace: bool,
}

/// The by-mode of `BY=` (RFC 2852 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ByMode {
    /// `N`: notify if the deadline passes.
    Notify,
    /// `R`: return the message if the deadline passes.
    Return,
}

/// `NOTIFY=` (RFC 3461 4.1): a set of conditions, or NEVER alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Notify(pub(crate) u8);

/// `ORCPT=` (RFC 3461 4.2; RFC 6533 for `utf-8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Orcpt<'a> {
    /// addr-type as sent (`rfc822`, `utf-8`, ...).
    pub addr_type: &'a [u8],
    /// The address, xtext (or utf-8-addr-xtext / unitext) encoded as sent.
    pub addr: XText<'a>,
}

/// `RRVS=` (RFC 7293 3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rrvs<'a> {
    /// The date-time, as sent.
    pub time: &'a [u8],
    /// `;C` or `;R` if given.
    pub mode: Option<u8>,
}

/// One parameter, raw (RFC 5321 4.1.2 `esmtp-param`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param<'a> {
    /// esmtp-keyword as sent.
    pub keyword: &'a [u8],
    /// esmtp-value as sent, if `=` was present.
    pub value: Option<&'a [u8]>,
}

/// The parameters of a MAIL command (RFC 5321 4.1.1.2 and the extension RFCs).
///
/// The common parameters are fields, read once at parse time: `SIZE=`,
/// `BODY=`, `SMTPUTF8` and `REQUIRETLS`. The rare ones (`RET=`, `ENVID=`,
/// `AUTH=`, `MT-PRIORITY=`, `HOLDFOR=`/`HOLDUNTIL=`, `BY=`) are checked at
/// parse time as well, then kept in the validated parameter text and read
/// on demand by their accessor methods ([`MailParams::ret`], ...). So a
/// parsed command stays small and is never allocated.
#[derive(Clone, Copy, Default)]
pub struct MailParams<'a> {
    /// `SIZE=` (RFC 1870).
    pub size: Option<u64>,
    /// `BODY=` (RFC 6152, RFC 3030).
    pub body: Option<Body>,
    /// `SMTPUTF8` (RFC 6531 3.4).
    pub smtputf8: bool,
    /// `REQUIRETLS` (RFC 8689 2).
    pub requiretls: bool,
    /// The whole parameter text as sent (after the path), validated: the
    /// rare parameters are read from it, and every parameter in wire
    /// order, unknown ones included, is iterated over it.
    pub(crate) raw: &'a [u8],
}

/// The parameters of a RCPT command (RFC 5321 4.1.1.3 and the extension RFCs).
///
/// `NOTIFY=` is a field; `ORCPT=` and `RRVS=` are checked at parse time and
/// read on demand from the validated parameter text ([`RcptParams::orcpt`],
/// [`RcptParams::rrvs`]).
#[derive(Clone, Copy, Default)]
pub struct RcptParams<'a> {
    /// `NOTIFY=` (RFC 3461 4.1).
    pub notify: Option<Notify>,
    /// The whole parameter text as sent, validated.
    pub(crate) raw: &'a [u8],
}

impl<'a> XText<'a> {
    /// The value exactly as sent.
    #[inline]
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.0
    }
}

impl core::fmt::Debug for XText<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        crate::address::debug_bytes(f, self.0)
    }
}

// ---------------------------------------------------------------------------
// Parsing.

use alloc::borrow::Cow;
use alloc::vec::Vec;

use crate::address::{C_ALNUM, C_DIGIT, C_LDH, C_VALUE, C_XCHAR, is, utf8_non_ascii};
use crate::error::ParseError;
use crate::ext::Extensions;

/// Packs an esmtp-keyword into an integer, each byte masked with `0xDF`
/// (ASCII upper case for letters; digits and `-` map to distinct values).
/// Keywords longer than 16 octets pack to 0 (never a known keyword).
pub(crate) const fn pack(s: &[u8]) -> u128 {
    if s.len() > 16 {
        return 0;
    }
    let mut v = 0u128;
    let mut i = 0;
    while i < s.len() {
        v = (v << 8) | (s[i] & 0xDF) as u128;
        i += 1;
    }
    v
}

/// [`pack`] of `raw[start..end]`, reading eight octets at a time when the
/// text has them (the octets after `end` are masked off).
#[inline(always)]
fn pack_fast(raw: &[u8], start: usize, end: usize) -> u128 {
    let len = end - start;
    if (1..=8).contains(&len) {
        if let Some(w) = raw.get(start..).and_then(|t| t.first_chunk::<8>()) {
            let v = u64::from_be_bytes(*w) & 0xDFDF_DFDF_DFDF_DFDF;
            return u128::from(v >> (8 * (8 - len)));
        }
    }
    raw.get(start..end).map_or(0, pack)
}

const K_SIZE: u128 = pack(b"SIZE");
const K_BODY: u128 = pack(b"BODY");
const K_SMTPUTF8: u128 = pack(b"SMTPUTF8");
const K_RET: u128 = pack(b"RET");
const K_ENVID: u128 = pack(b"ENVID");
const K_AUTH: u128 = pack(b"AUTH");
const K_REQUIRETLS: u128 = pack(b"REQUIRETLS");
const K_MT_PRIORITY: u128 = pack(b"MT-PRIORITY");
const K_HOLDFOR: u128 = pack(b"HOLDFOR");
const K_HOLDUNTIL: u128 = pack(b"HOLDUNTIL");
const K_BY: u128 = pack(b"BY");
const K_NOTIFY: u128 = pack(b"NOTIFY");
const K_ORCPT: u128 = pack(b"ORCPT");
const K_RRVS: u128 = pack(b"RRVS");

const MAIL_KEYWORDS: [u128; 11] = [
    K_SIZE,
    K_BODY,
    K_SMTPUTF8,
    K_RET,
    K_ENVID,
    K_AUTH,
    K_REQUIRETLS,
    K_MT_PRIORITY,
    K_HOLDFOR,
    K_HOLDUNTIL,
    K_BY,
];
const RCPT_KEYWORDS: [u128; 3] = [K_NOTIFY, K_ORCPT, K_RRVS];

/// One scanned esmtp-param.
struct Scanned<'a> {
    packed: u128,
    value: Option<&'a [u8]>,
}

/// Scans `esmtp-param *(SP esmtp-param)` (RFC 5321 4.1.2):
///
/// ```text
/// esmtp-param    = esmtp-keyword ["=" esmtp-value]
/// esmtp-keyword  = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
/// esmtp-value    = 1*(%d33-60 / %d62-126)   ; RFC 6531 3.3: / UTF8-non-ascii
/// ```
///
/// Calls `f` for each parameter in wire order.
fn scan_params<'a>(
    raw: &'a [u8],
    utf8: bool,
    seen: &mut bool,
    mut f: impl FnMut(Scanned<'a>) -> Result<(), ParseError>,
) -> Result<(), ParseError> {
    let mut i = 0usize;
    loop {
        let start = i;
        match raw.get(i) {
            Some(&b) if is(b, C_ALNUM) => {}
            _ => return Err(ParseError::Syntax),
        }
        while let Some(&b) = raw.get(i) {
            if !is(b, C_LDH) {
                break;
            }
            i += 1;
        }
        let packed = pack_fast(raw, start, i);
        let mut value = None;
        if raw.get(i) == Some(&b'=') {
            i += 1;
            let vstart = i;
            // Fast run over ASCII value octets; the loop below handles
            // UTF-8 and ends the value exactly as before.
            while let Some(&b) = raw.get(i) {
                if !is(b, C_VALUE) {
                    break;
                }
                i += 1;
            }
            while let Some(&b) = raw.get(i) {
                if b >= 0x80 {
                    i += utf8_non_ascii(raw, i, utf8)?;
                    *seen = true;
                } else if is(b, C_VALUE) {
                    i += 1;
                } else {
                    break;
                }
            }
            if i == vstart {
                return Err(ParseError::Syntax);
            }
            value = raw.get(vstart..i);
        }
        f(Scanned { packed, value })?;
        match raw.get(i) {
            None => return Ok(()),
            Some(b' ') => i += 1,
            Some(_) => return Err(ParseError::Syntax),
        }
    }
}

/// `1*N DIGIT` as a u64: overflow is [`ParseError::NumberOverflow`] (never
/// wraps), more than `max_digits` digits or a non-digit is `invalid`.
pub(crate) fn parse_decimal(
    s: &[u8],
    max_digits: usize,
    invalid: ParseError,
) -> Result<u64, ParseError> {
    if s.is_empty() {
        return Err(invalid);
    }
    let mut v = 0u64;
    for &d in s {
        if !is(d, C_DIGIT) {
            return Err(invalid);
        }
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(d - b'0')))
            .ok_or(ParseError::NumberOverflow)?;
    }
    if s.len() > max_digits {
        return Err(invalid);
    }
    Ok(v)
}

/// `xtext = *( xchar / hexchar )`, `xchar` = %d33-42 / %d44-60 / %d62-126,
/// `hexchar = "+" 2(%x30-39 / %x41-46)` (RFC 3461 4).
pub(crate) fn is_xtext(s: &[u8]) -> bool {
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        if b == b'+' {
            let ok = |h: Option<&u8>| matches!(h, Some(b'0'..=b'9' | b'A'..=b'F'));
            if !ok(s.get(i + 1)) || !ok(s.get(i + 2)) {
                return false;
            }
            i += 3;
        } else if is(b, C_XCHAR) {
            i += 1;
        } else {
            return false;
        }
    }
    true
}

fn hex_val(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'A'..=b'F' => b - b'A' + 10,
        b'a'..=b'f' => b - b'a' + 10,
        _ => 0,
    }
}

/// `date-time = full-date "T" full-time` (RFC 3339 5.6), as used by
/// HOLDUNTIL (RFC 4865 errata 2040) and RRVS (RFC 7293 3.1).
pub(crate) fn is_date_time(s: &[u8]) -> bool {
    let d = |i: usize| s.get(i).is_some_and(u8::is_ascii_digit);
    let c = |i: usize, ch: u8| s.get(i).is_some_and(|b| b.eq_ignore_ascii_case(&ch));
    // YYYY-MM-DDTHH:MM:SS
    let head = d(0)
        && d(1)
        && d(2)
        && d(3)
        && c(4, b'-')
        && d(5)
        && d(6)
        && c(7, b'-')
        && d(8)
        && d(9)
        && c(10, b'T')
        && d(11)
        && d(12)
        && c(13, b':')
        && d(14)
        && d(15)
        && c(16, b':')
        && d(17)
        && d(18);
    if !head {
        return false;
    }
    // RFC 3339 5.7: month 01-12, day within its month (leap years by the
    // Gregorian rule), hour 00-23, minute 00-59, second 00-60 (leap second).
    let n2 = |i: usize| u32::from(s[i] - b'0') * 10 + u32::from(s[i + 1] - b'0');
    let year = n2(0) * 100 + n2(2);
    let (month, day) = (n2(5), n2(8));
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    if day == 0 || day > month_days || n2(11) > 23 || n2(14) > 59 || n2(17) > 60 {
        return false;
    }
    let mut i = 19;
    if c(i, b'.') {
        i += 1;
        let st = i;
        while d(i) {
            i += 1;
        }
        if i == st {
            return false;
        }
    }
    if c(i, b'Z') {
        return i + 1 == s.len();
    }
    (c(i, b'+') || c(i, b'-'))
        && d(i + 1)
        && d(i + 2)
        && c(i + 3, b':')
        && d(i + 4)
        && d(i + 5)
        && i + 6 == s.len()
        && n2(i + 1) <= 23
        && n2(i + 4) <= 59
}

/// The bits of [`Notify`].
const N_SUCCESS: u8 = 1;
const N_FAILURE: u8 = 2;
const N_DELAY: u8 = 4;
const N_NEVER: u8 = 8;

impl Notify {
    /// `NOTIFY=NEVER`.
    pub const NEVER: Notify = Notify(N_NEVER);

    /// A set of conditions; `None` when all are false (RFC 3461 4.1: the
    /// list has at least one element).
    pub const fn on(success: bool, failure: bool, delay: bool) -> Option<Notify> {
        let bits =
            (success as u8) * N_SUCCESS + (failure as u8) * N_FAILURE + (delay as u8) * N_DELAY;
        if bits == 0 { None } else { Some(Notify(bits)) }
    }

    /// `NEVER` was given.
    pub const fn is_never(self) -> bool {
        self.0 & N_NEVER != 0
    }
    /// `SUCCESS` is in the list.
    pub const fn success(self) -> bool {
        self.0 & N_SUCCESS != 0
    }
    /// `FAILURE` is in the list.
    pub const fn failure(self) -> bool {
        self.0 & N_FAILURE != 0
    }
    /// `DELAY` is in the list.
    pub const fn delay(self) -> bool {
        self.0 & N_DELAY != 0
    }

    /// `notify-esmtp-value = "NEVER" / 1#notify-list-element`,
    /// `notify-list-element = "SUCCESS" / "FAILURE" / "DELAY"`
    /// (RFC 3461 4.1; case-insensitive, no duplicates).
    pub fn parse(v: &[u8]) -> Result<Notify, ParseError> {
        if v.eq_ignore_ascii_case(b"NEVER") {
            return Ok(Notify::NEVER);
        }
        let mut bits = 0u8;
        for el in v.split(|&b| b == b',') {
            let bit = match pack(el) {
                x if x == pack(b"SUCCESS") => N_SUCCESS,
                x if x == pack(b"FAILURE") => N_FAILURE,
                x if x == pack(b"DELAY") => N_DELAY,
                _ => return Err(ParseError::InvalidParameter),
            };
            if bits & bit != 0 {
                return Err(ParseError::InvalidParameter);
            }
            bits |= bit;
        }
        Ok(Notify(bits))
    }

    fn write(self, out: &mut Vec<u8>) {
        if self.is_never() {
            out.extend_from_slice(b"NEVER");
            return;
        }
        let mut first = true;
        for (bit, name) in [
            (N_SUCCESS, "SUCCESS"),
            (N_FAILURE, "FAILURE"),
            (N_DELAY, "DELAY"),
        ] {
            if self.0 & bit != 0 {
                if !first {
                    out.push(b',');
                }
                out.extend_from_slice(name.as_bytes());
                first = false;
            }
        }
    }
}

impl<'a> XText<'a> {
    /// Validates `xtext` (RFC 3461 4).
    pub fn new(value: &'a [u8]) -> Result<XText<'a>, ParseError> {
        if is_xtext(value) {
            Ok(XText(value))
        } else {
            Err(ParseError::InvalidParameter)
        }
    }

    /// The decoded value: every `+HH` becomes the octet HH (RFC 3461 4).
    /// Borrows when there is nothing to decode.
    pub fn decode(&self) -> Cow<'a, [u8]> {
        if !self.0.contains(&b'+') {
            return Cow::Borrowed(self.0);
        }
        let mut out = Vec::with_capacity(self.0.len());
        let mut i = 0;
        while let Some(&b) = self.0.get(i) {
            if b == b'+' {
                let h = self.0.get(i + 1).copied().unwrap_or(b'0');
                let l = self.0.get(i + 2).copied().unwrap_or(b'0');
                out.push(hex_val(h) << 4 | hex_val(l));
                i += 3;
            } else {
                out.push(b);
                i += 1;
            }
        }
        Cow::Owned(out)
    }

    /// Encodes arbitrary octets as xtext (RFC 3461 4): `+`, `=`, and octets
    /// outside %d33-126 become `+HH`.
    pub fn encode(value: &[u8], out: &mut Vec<u8>) {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        for &b in value {
            if is(b, C_XCHAR) {
                out.push(b);
            } else {
                out.extend_from_slice(&[b'+', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
            }
        }
    }
}

/// One RFC 6533 `EmbeddedUnicodeChar` HEXPOINT, returning the code point:
///
/// ```text
/// EmbeddedUnicodeChar = %x5C.78 "{" HEXPOINT "}"
/// HEXPOINT = ( ( "0"/"1" ) %x31-39 ) / "10" / "20" / "2B" / "3D" / "7F" /
///            "5C" / (HEXDIGIT8 HEXDIG) / ( NZHEXDIG 2(HEXDIG) ) /
///            ( NZDHEXDIG 3(HEXDIG) ) / ( "D" %x30-37 2(HEXDIG) ) /
///            ( NZHEXDIG 4(HEXDIG) ) / ( "10" 4*HEXDIG )
/// ```
fn hexpoint(h: &[u8]) -> Option<u32> {
    if h.is_empty() || h.len() > 6 || !h.iter().all(|b| matches!(b, b'0'..=b'9' | b'A'..=b'F')) {
        return None;
    }
    let v = h.iter().fold(0u32, |v, &b| v << 4 | u32::from(hex_val(b)));
    let first = h.first().copied().unwrap_or(b'0');
    let ok = match h.len() {
        2 => matches!(v, 0x01..=0x09 | 0x10..=0x19 | 0x20 | 0x2B | 0x3D | 0x7F | 0x5C) || v >= 0x80,
        3 | 5 => first != b'0',
        4 => first != b'0' && !(0xD800..=0xDFFF).contains(&v),
        6 => h.starts_with(b"10"),
        _ => false,
    };
    ok.then_some(v)
}

/// `utf-8-addr-xtext = 1*(QCHAR / EmbeddedUnicodeChar)`,
/// `utf-8-addr-unitext = 1*(QUCHAR / EmbeddedUnicodeChar)` (RFC 6533 3):
/// QCHAR = %x21-2a / %x2c-3c / %x3e-5b / %x5d-7e, QUCHAR adds UTF-8 non-ASCII.
/// Calls `f` with each decoded character's UTF-8 bytes.
fn scan_utf8_addr(s: &[u8], unitext: bool, mut f: impl FnMut(&[u8])) -> bool {
    if s.is_empty() {
        return false;
    }
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        if b == b'\\' {
            if s.get(i + 1) != Some(&b'x') || s.get(i + 2) != Some(&b'{') {
                return false;
            }
            let Some(close) = s
                .get(i + 3..)
                .and_then(|r| r.iter().position(|&c| c == b'}'))
            else {
                return false;
            };
            let Some(cp) = s.get(i + 3..i + 3 + close).and_then(hexpoint) else {
                return false;
            };
            let Some(ch) = char::from_u32(cp) else {
                return false;
            };
            let mut buf = [0u8; 4];
            f(ch.encode_utf8(&mut buf).as_bytes());
            i += 4 + close;
        } else if b >= 0x80 {
            match utf8_non_ascii(s, i, unitext) {
                Ok(n) => {
                    f(s.get(i..i + n).unwrap_or(&[]));
                    i += n;
                }
                Err(_) => return false,
            }
        } else if matches!(b, 0x21..=0x2a | 0x2c..=0x3c | 0x3e..=0x5b | 0x5d..=0x7e) {
            f(core::slice::from_ref(&b));
            i += 1;
        } else {
            return false;
        }
    }
    true
}

impl<'a> Orcpt<'a> {
    /// Whether the addr-type is `utf-8` (RFC 6533 3).
    pub fn is_utf8_type(&self) -> bool {
        self.addr_type.eq_ignore_ascii_case(b"utf-8")
    }

    /// The decoded address: xtext-decoded (RFC 3461 4), or for addr-type
    /// `utf-8` with every `\x{HHHH}` resolved to UTF-8 (RFC 6533 3).
    pub fn decoded(&self) -> Cow<'a, [u8]> {
        if self.is_utf8_type() {
            if !self.addr.0.contains(&b'\\') {
                return Cow::Borrowed(self.addr.0);
            }
            let mut out = Vec::with_capacity(self.addr.0.len());
            scan_utf8_addr(self.addr.0, true, |c| out.extend_from_slice(c));
            Cow::Owned(out)
        } else {
            self.addr.decode()
        }
    }

    /// `orcpt-parameter = "ORCPT=" original-recipient-address`,
    /// `original-recipient-address = addr-type ";" xtext` (RFC 3461 4.2),
    /// addr-type an atom; for `utf-8`, RFC 6533 3 `utf-8-addr-xtext` or,
    /// with `unitext`, `utf-8-addr-unitext`.
    pub fn parse(v: &'a [u8], unitext: bool) -> Result<Orcpt<'a>, ParseError> {
        let semi = v
            .iter()
            .position(|&b| b == b';')
            .ok_or(ParseError::InvalidParameter)?;
        let (addr_type, addr) = (&v[..semi], v.get(semi + 1..).unwrap_or(&[]));
        let atom_ok = !addr_type.is_empty()
            && addr_type
                .iter()
                .all(|&b| crate::address::is(b, crate::address::C_ATEXT));
        if !atom_ok || addr.is_empty() {
            return Err(ParseError::InvalidParameter);
        }
        let o = Orcpt {
            addr_type,
            addr: XText(addr),
        };
        let ok = if o.is_utf8_type() {
            scan_utf8_addr(addr, unitext, |_| {})
        } else {
            is_xtext(addr)
        };
        if ok {
            Ok(o)
        } else {
            Err(ParseError::InvalidParameter)
        }
    }
}

fn parse_by(v: &[u8]) -> Result<DeliverBy, ParseError> {
    // by-value = by-time ";" by-mode [ by-trace ]; by-time = ["-" / "+"] 1*9digit
    let semi = v
        .iter()
        .position(|&b| b == b';')
        .ok_or(ParseError::InvalidParameter)?;
    let (t, m) = (&v[..semi], v.get(semi + 1..).unwrap_or(&[]));
    let (neg, digits) = match t.first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let n = i32::try_from(parse_decimal(digits, 9, ParseError::InvalidParameter)?)
        .map_err(|_| ParseError::InvalidParameter)?;
    let time = if neg { -n } else { n };
    let mode = match m.first().map(u8::to_ascii_uppercase) {
        Some(b'N') => ByMode::Notify,
        Some(b'R') => ByMode::Return,
        _ => return Err(ParseError::InvalidParameter),
    };
    let trace = match m.get(1..) {
        Some([]) => false,
        Some([t]) if t.eq_ignore_ascii_case(&b'T') => true,
        _ => return Err(ParseError::InvalidParameter),
    };
    // RFC 2852 4: a by-time <= 0 is not allowed with a by-mode of R.
    if mode == ByMode::Return && time <= 0 {
        return Err(ParseError::InvalidParameter);
    }
    Ok(DeliverBy { time, mode, trace })
}

fn require(ext: Extensions, opts_ext: Extensions) -> Result<(), ParseError> {
    if opts_ext.contains(ext) {
        Ok(())
    } else {
        Err(ParseError::UnsupportedParameter)
    }
}

fn no_value(v: Option<&[u8]>) -> Result<(), ParseError> {
    if v.is_some() {
        Err(ParseError::InvalidParameter)
    } else {
        Ok(())
    }
}

fn value(v: Option<&[u8]>) -> Result<&[u8], ParseError> {
    v.ok_or(ParseError::InvalidParameter)
}

/// A known MAIL or RCPT parameter's value as parsed: what the duplicate
/// check compares and what the accessors return.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Known<'a> {
    Size(u64),
    Body(Body),
    SmtpUtf8,
    Ret(Ret),
    Envid(XText<'a>),
    Auth(MailAuth<'a>),
    RequireTls,
    MtPriority(i8),
    Hold(Hold<'a>),
    By(DeliverBy),
    Notify(Notify),
    Orcpt(Orcpt<'a>),
    Rrvs(Rrvs<'a>),
}

/// The value of the first parameter of `raw` (validated parameter text)
/// whose packed keyword is `k` or `k2`, with the packed keyword found.
fn find_param(raw: &[u8], k: u128, k2: u128) -> Option<(u128, Option<&[u8]>)> {
    let all = Params {
        raw,
        known: &[],
        only_unknown: false,
    };
    all.map(|p| (pack(p.keyword), p.value))
        .find(|&(packed, _)| packed == k || packed == k2)
}

/// Parses one known MAIL parameter (see [`MailParams::parse`]); `Ok(None)`
/// for a keyword that is not a MAIL parameter.
fn mail_value<'a>(
    packed: u128,
    v: Option<&'a [u8]>,
    ext: Extensions,
) -> Result<Option<Known<'a>>, ParseError> {
    Ok(Some(match packed {
        K_SIZE => {
            require(Extensions::SIZE, ext)?;
            Known::Size(parse_decimal(value(v)?, 20, ParseError::InvalidParameter)?)
        }
        K_BODY => {
            let v = value(v)?;
            let (b, e) = match pack(v) {
                x if x == pack(b"7BIT") => (Body::SevenBit, Extensions::EIGHT_BIT_MIME),
                x if x == pack(b"8BITMIME") => (Body::EightBitMime, Extensions::EIGHT_BIT_MIME),
                x if x == pack(b"BINARYMIME") => (Body::BinaryMime, Extensions::BINARY_MIME),
                _ => {
                    if !ext.contains(Extensions::EIGHT_BIT_MIME)
                        && !ext.contains(Extensions::BINARY_MIME)
                    {
                        return Err(ParseError::UnsupportedParameter);
                    }
                    return Err(ParseError::InvalidParameter);
                }
            };
            if b == Body::SevenBit && ext.contains(Extensions::BINARY_MIME) {
                // 7BIT is valid under either extension.
            } else {
                require(e, ext)?;
            }
            Known::Body(b)
        }
        K_SMTPUTF8 => {
            require(Extensions::SMTPUTF8, ext)?;
            no_value(v)?;
            Known::SmtpUtf8
        }
        K_RET => {
            require(Extensions::DSN, ext)?;
            Known::Ret(match pack(value(v)?) {
                x if x == pack(b"FULL") => Ret::Full,
                x if x == pack(b"HDRS") => Ret::Hdrs,
                _ => return Err(ParseError::InvalidParameter),
            })
        }
        K_ENVID => {
            require(Extensions::DSN, ext)?;
            let v = value(v)?;
            if v.len() > 100 {
                return Err(ParseError::InvalidParameter);
            }
            Known::Envid(XText::new(v)?)
        }
        K_AUTH => {
            require(Extensions::AUTH, ext)?;
            let v = value(v)?;
            Known::Auth(if v == b"<>" {
                MailAuth::Unknown
            } else {
                MailAuth::Mailbox(XText::new(v)?)
            })
        }
        K_REQUIRETLS => {
            require(Extensions::REQUIRETLS, ext)?;
            no_value(v)?;
            Known::RequireTls
        }
        K_MT_PRIORITY => {
            require(Extensions::MT_PRIORITY, ext)?;
            // RFC 6710 7: priority-value = (["-"] NZDIGIT) / "0":
            // no "+", no "-0", no leading zero.
            Known::MtPriority(match value(v)? {
                [d @ b'0'..=b'9'] => (d - b'0') as i8,
                [b'-', d @ b'1'..=b'9'] => -((d - b'0') as i8),
                _ => return Err(ParseError::InvalidParameter),
            })
        }
        K_HOLDFOR | K_HOLDUNTIL => {
            require(Extensions::FUTURERELEASE, ext)?;
            let v = value(v)?;
            Known::Hold(if packed == K_HOLDFOR {
                Hold::For(parse_decimal(v, 9, ParseError::InvalidParameter)?)
            } else if is_date_time(v) {
                Hold::Until(v)
            } else {
                return Err(ParseError::InvalidParameter);
            })
        }
        K_BY => {
            require(Extensions::DELIVERBY, ext)?;
            Known::By(parse_by(value(v)?)?)
        }
        _ => return Ok(None),
    }))
}

/// Parses one known RCPT parameter (see [`RcptParams::parse`]); `Ok(None)`
/// for a keyword that is not a RCPT parameter.
fn rcpt_value<'a>(
    packed: u128,
    v: Option<&'a [u8]>,
    ext: Extensions,
    utf8: bool,
) -> Result<Option<Known<'a>>, ParseError> {
    Ok(Some(match packed {
        K_NOTIFY => {
            require(Extensions::DSN, ext)?;
            Known::Notify(Notify::parse(value(v)?)?)
        }
        K_ORCPT => {
            require(Extensions::DSN, ext)?;
            Known::Orcpt(Orcpt::parse(value(v)?, utf8)?)
        }
        K_RRVS => {
            require(Extensions::RRVS, ext)?;
            let v = value(v)?;
            let (time, mode) = match v.iter().position(|&b| b == b';') {
                None => (v, None),
                Some(i) => match v.get(i + 1..) {
                    Some([m]) if matches!(m.to_ascii_uppercase(), b'C' | b'R') => {
                        (&v[..i], Some(m.to_ascii_uppercase()))
                    }
                    _ => return Err(ParseError::InvalidParameter),
                },
            };
            if !is_date_time(time) {
                return Err(ParseError::InvalidParameter);
            }
            Known::Rrvs(Rrvs { time, mode })
        }
        _ => return Ok(None),
    }))
}

impl<'a> MailParams<'a> {
    /// Parses `Mail-parameters = esmtp-param *(SP esmtp-param)` (RFC 5321
    /// 4.1.2), the text after `MAIL FROM:<...> SP`, with the known
    /// parameters of the extensions in `ext` (SIZE RFC 1870, BODY RFC
    /// 6152/3030, SMTPUTF8 RFC 6531, RET/ENVID RFC 3461, AUTH RFC 4954,
    /// REQUIRETLS RFC 8689, MT-PRIORITY RFC 6710, HOLDFOR/HOLDUNTIL RFC
    /// 4865, BY RFC 2852); `utf8` permits UTF-8 in values (RFC 6531 3.3).
    /// This is how parameters are built by hand, e.g. by a client:
    /// `MailParams::parse(b"RET=HDRS ENVID=x1", Extensions::ALL, false)`.
    pub fn parse(
        params: &'a [u8],
        ext: Extensions,
        utf8: bool,
    ) -> Result<MailParams<'a>, ParseError> {
        let mut seen = false;
        MailParams::parse_with(params, ext, utf8, &mut seen)
    }

    /// [`MailParams::parse`]; `seen` is set when non-ASCII occurs.
    #[inline]
    pub(crate) fn parse_with(
        raw: &'a [u8],
        ext: Extensions,
        utf8: bool,
        seen: &mut bool,
    ) -> Result<MailParams<'a>, ParseError> {
        let mut p = MailParams {
            raw,
            ..MailParams::default()
        };
        if raw.is_empty() {
            return Ok(p);
        }
        let mut dup = 0u16;
        let mut hold = false;
        scan_params(raw, utf8, seen, |s| {
            let idx = match s.packed {
                K_SIZE => 0,
                K_BODY => 1,
                K_SMTPUTF8 => 2,
                K_REQUIRETLS => 6,
                _ => match MAIL_KEYWORDS.iter().position(|&k| k == s.packed) {
                    Some(idx) => idx,
                    // A RCPT parameter on MAIL is known to be misplaced,
                    // not an unknown extension (RFC 5321 4.1.1.11: 555).
                    None if RCPT_KEYWORDS.contains(&s.packed) => {
                        return Err(ParseError::UnsupportedParameter);
                    }
                    None => return Ok(()),
                },
            };
            let bit = 1u16 << idx;
            let again = dup & bit != 0;
            dup |= bit;
            // A repeat is the same parameter only if its value is the same
            // by that parameter's own rules (issue 11: Python's smtplib
            // repeats SIZE); conflicting values stay refused (RFC 1870 6,
            // RFC 3461 4.5). The common parameters compare with their
            // field, the rare ones with their first occurrence.
            let same = |same: bool| {
                if same {
                    Ok(())
                } else {
                    Err(ParseError::DuplicateParameter)
                }
            };
            match s.packed {
                K_SIZE => {
                    // As in `mail_value`, inline for the common case.
                    require(Extensions::SIZE, ext)?;
                    let n = parse_decimal(value(s.value)?, 20, ParseError::InvalidParameter)?;
                    if again {
                        return same(p.size == Some(n));
                    }
                    p.size = Some(n);
                    Ok(())
                }
                K_BODY | K_SMTPUTF8 | K_REQUIRETLS => match mail_value(s.packed, s.value, ext)? {
                    Some(Known::Size(n)) if again => same(p.size == Some(n)),
                    Some(Known::Size(n)) => {
                        p.size = Some(n);
                        Ok(())
                    }
                    Some(Known::Body(b)) if again => same(p.body == Some(b)),
                    Some(Known::Body(b)) => {
                        p.body = Some(b);
                        Ok(())
                    }
                    Some(Known::SmtpUtf8) => {
                        p.smtputf8 = true;
                        Ok(())
                    }
                    Some(Known::RequireTls) => {
                        p.requiretls = true;
                        Ok(())
                    }
                    _ => Ok(()),
                },
                _ if again => {
                    let value = mail_value(s.packed, s.value, ext)?;
                    let first = find_param(raw, s.packed, s.packed)
                        .and_then(|(k, v)| mail_value(k, v, ext).ok().flatten());
                    same(value == first)
                }
                _ => {
                    if s.packed == K_HOLDFOR || s.packed == K_HOLDUNTIL {
                        require(Extensions::FUTURERELEASE, ext)?;
                        // HOLDFOR and HOLDUNTIL exclude each other (RFC 4865 4).
                        if hold {
                            return Err(ParseError::DuplicateParameter);
                        }
                        hold = true;
                    }
                    mail_value(s.packed, s.value, ext).map(|_| ())
                }
            }
        })?;
        Ok(p)
    }

    /// The first MAIL parameter `k` (or `k2`) of the validated text, parsed.
    fn known(&self, k: u128, k2: u128) -> Option<Known<'a>> {
        let (packed, v) = find_param(self.raw, k, k2)?;
        mail_value(packed, v, Extensions::ALL).ok().flatten()
    }

    /// `RET=` (RFC 3461 4.3), read from the parameter text.
    pub fn ret(&self) -> Option<Ret> {
        match self.known(K_RET, K_RET) {
            Some(Known::Ret(r)) => Some(r),
            _ => None,
        }
    }

    /// `ENVID=` (RFC 3461 4.4), read from the parameter text.
    pub fn envid(&self) -> Option<XText<'a>> {
        match self.known(K_ENVID, K_ENVID) {
            Some(Known::Envid(x)) => Some(x),
            _ => None,
        }
    }

    /// `AUTH=` (RFC 4954 5), read from the parameter text.
    pub fn auth(&self) -> Option<MailAuth<'a>> {
        match self.known(K_AUTH, K_AUTH) {
            Some(Known::Auth(a)) => Some(a),
            _ => None,
        }
    }

    /// `MT-PRIORITY=` (RFC 6710 3), read from the parameter text.
    pub fn mt_priority(&self) -> Option<i8> {
        match self.known(K_MT_PRIORITY, K_MT_PRIORITY) {
            Some(Known::MtPriority(n)) => Some(n),
            _ => None,
        }
    }

    /// `HOLDFOR=` / `HOLDUNTIL=` (RFC 4865 4), read from the parameter text.
    pub fn hold(&self) -> Option<Hold<'a>> {
        match self.known(K_HOLDFOR, K_HOLDUNTIL) {
            Some(Known::Hold(h)) => Some(h),
            _ => None,
        }
    }

    /// `BY=` (RFC 2852 4), read from the parameter text.
    pub fn by(&self) -> Option<DeliverBy> {
        match self.known(K_BY, K_BY) {
            Some(Known::By(b)) => Some(b),
            _ => None,
        }
    }

    /// Every parameter in wire order, known and unknown (RFC 5321 4.1.2
    /// `esmtp-param`). Empty for parameters built by hand.
    pub fn iter(&self) -> Params<'a> {
        Params {
            raw: self.raw,
            known: &[],
            only_unknown: false,
        }
    }

    /// The parameters this crate does not interpret, in wire order
    /// (RFC 5321 4.1.1.11: kept for the application to judge).
    pub fn unknown(&self) -> Params<'a> {
        Params {
            raw: self.raw,
            known: &MAIL_KEYWORDS,
            only_unknown: true,
        }
    }

    /// Writes the parameters, each preceded by SP: the typed ones in a fixed
    /// order, then the unknown ones as sent.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        use core::fmt::Write;
        let mut w = VecWriter(out);
        if let Some(n) = self.size {
            let _ = write!(w, " SIZE={n}");
        }
        if let Some(b) = self.body {
            w.0.extend_from_slice(match b {
                Body::SevenBit => b" BODY=7BIT",
                Body::EightBitMime => b" BODY=8BITMIME",
                Body::BinaryMime => b" BODY=BINARYMIME",
            });
        }
        if self.smtputf8 {
            w.0.extend_from_slice(b" SMTPUTF8");
        }
        if let Some(r) = self.ret() {
            w.0.extend_from_slice(match r {
                Ret::Full => b" RET=FULL",
                Ret::Hdrs => b" RET=HDRS",
            });
        }
        if let Some(e) = self.envid() {
            w.0.extend_from_slice(b" ENVID=");
            w.0.extend_from_slice(e.0);
        }
        match self.auth() {
            Some(MailAuth::Unknown) => w.0.extend_from_slice(b" AUTH=<>"),
            Some(MailAuth::Mailbox(x)) => {
                w.0.extend_from_slice(b" AUTH=");
                w.0.extend_from_slice(x.0);
            }
            None => {}
        }
        if self.requiretls {
            w.0.extend_from_slice(b" REQUIRETLS");
        }
        if let Some(p) = self.mt_priority() {
            let _ = write!(w, " MT-PRIORITY={p}");
        }
        match self.hold() {
            Some(Hold::For(n)) => {
                let _ = write!(w, " HOLDFOR={n}");
            }
            Some(Hold::Until(t)) => {
                w.0.extend_from_slice(b" HOLDUNTIL=");
                w.0.extend_from_slice(t);
            }
            None => {}
        }
        if let Some(by) = self.by() {
            let m = match by.mode {
                ByMode::Notify => 'N',
                ByMode::Return => 'R',
            };
            let t = if by.trace { "T" } else { "" };
            let _ = write!(w, " BY={};{m}{t}", by.time);
        }
        for p in self.unknown() {
            p.write(w.0);
        }
    }
}

impl<'a> RcptParams<'a> {
    /// Parses `Rcpt-parameters = esmtp-param *(SP esmtp-param)` (RFC 5321
    /// 4.1.2), the text after `RCPT TO:<...> SP`, with NOTIFY and ORCPT
    /// (RFC 3461 4.1, 4.2; RFC 6533 for `utf-8` ORCPT) and RRVS (RFC 7293
    /// 3.1) when `ext` has them; `utf8` permits UTF-8 in values (RFC 6531
    /// 3.3) and `utf-8-addr-unitext` in ORCPT. This is how parameters are
    /// built by hand: `RcptParams::parse(b"ORCPT=rfc822;a@b", Extensions::ALL, false)`.
    pub fn parse(
        params: &'a [u8],
        ext: Extensions,
        utf8: bool,
    ) -> Result<RcptParams<'a>, ParseError> {
        let mut seen = false;
        RcptParams::parse_with(params, ext, utf8, &mut seen)
    }

    /// [`RcptParams::parse`]; `seen` is set when non-ASCII occurs.
    #[inline]
    pub(crate) fn parse_with(
        raw: &'a [u8],
        ext: Extensions,
        utf8: bool,
        seen: &mut bool,
    ) -> Result<RcptParams<'a>, ParseError> {
        let mut p = RcptParams {
            raw,
            ..RcptParams::default()
        };
        if raw.is_empty() {
            return Ok(p);
        }
        let mut dup = 0u8;
        scan_params(raw, utf8, seen, |s| {
            let Some(idx) = RCPT_KEYWORDS.iter().position(|&k| k == s.packed) else {
                // A MAIL parameter on RCPT is misplaced (RFC 5321 4.1.1.11).
                if MAIL_KEYWORDS.contains(&s.packed) {
                    return Err(ParseError::UnsupportedParameter);
                }
                return Ok(());
            };
            let bit = 1u8 << idx;
            if dup & bit != 0 {
                // The same value repeated is one parameter; conflicting
                // values are refused (RFC 3461 4.5).
                let again = rcpt_value(s.packed, s.value, ext, utf8)?;
                let first = find_param(raw, s.packed, s.packed)
                    .and_then(|(k, v)| rcpt_value(k, v, ext, utf8).ok().flatten());
                return if again == first {
                    Ok(())
                } else {
                    Err(ParseError::DuplicateParameter)
                };
            }
            dup |= bit;
            if let Some(Known::Notify(n)) = rcpt_value(s.packed, s.value, ext, utf8)? {
                p.notify = Some(n);
            }
            Ok(())
        })?;
        Ok(p)
    }

    /// The first RCPT parameter `k` of the validated text, parsed.
    fn known(&self, k: u128) -> Option<Known<'a>> {
        let (packed, v) = find_param(self.raw, k, k)?;
        rcpt_value(packed, v, Extensions::ALL, true).ok().flatten()
    }

    /// `ORCPT=` (RFC 3461 4.2), read from the parameter text.
    pub fn orcpt(&self) -> Option<Orcpt<'a>> {
        match self.known(K_ORCPT) {
            Some(Known::Orcpt(o)) => Some(o),
            _ => None,
        }
    }

    /// `RRVS=` (RFC 7293 3.1), read from the parameter text.
    pub fn rrvs(&self) -> Option<Rrvs<'a>> {
        match self.known(K_RRVS) {
            Some(Known::Rrvs(r)) => Some(r),
            _ => None,
        }
    }

    /// Every parameter in wire order, known and unknown (RFC 5321 4.1.2).
    pub fn iter(&self) -> Params<'a> {
        Params {
            raw: self.raw,
            known: &[],
            only_unknown: false,
        }
    }

    /// The parameters this crate does not interpret, in wire order.
    pub fn unknown(&self) -> Params<'a> {
        Params {
            raw: self.raw,
            known: &RCPT_KEYWORDS,
            only_unknown: true,
        }
    }

    /// Writes the parameters, each preceded by SP.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        if let Some(n) = self.notify {
            out.extend_from_slice(b" NOTIFY=");
            n.write(out);
        }
        if let Some(o) = self.orcpt() {
            out.extend_from_slice(b" ORCPT=");
            out.extend_from_slice(o.addr_type);
            out.push(b';');
            out.extend_from_slice(o.addr.0);
        }
        if let Some(r) = self.rrvs() {
            out.extend_from_slice(b" RRVS=");
            out.extend_from_slice(r.time);
            if let Some(m) = r.mode {
                out.push(b';');
                out.push(m);
            }
        }
        for p in self.unknown() {
            p.write(out);
        }
    }
}

impl<'a> Param<'a> {
    /// Whether the keyword is `kw`, ASCII case-insensitively (RFC 5321 2.4).
    pub fn is(&self, kw: &str) -> bool {
        self.keyword.eq_ignore_ascii_case(kw.as_bytes())
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.push(b' ');
        out.extend_from_slice(self.keyword);
        if let Some(v) = self.value {
            out.push(b'=');
            out.extend_from_slice(v);
        }
    }
}

/// Iterator over the parameters of a MAIL or RCPT command, in wire order
/// (RFC 5321 4.1.2 `esmtp-param`).
#[derive(Debug, Clone)]
pub struct Params<'a> {
    raw: &'a [u8],
    known: &'static [u128],
    only_unknown: bool,
}

impl<'a> Iterator for Params<'a> {
    type Item = Param<'a>;

    fn next(&mut self) -> Option<Param<'a>> {
        loop {
            if self.raw.is_empty() {
                return None;
            }
            let end = self
                .raw
                .iter()
                .position(|&b| b == b' ')
                .unwrap_or(self.raw.len());
            let item = &self.raw[..end];
            self.raw = self.raw.get(end + 1..).unwrap_or(&[]);
            let (keyword, value) = match item.iter().position(|&b| b == b'=') {
                Some(e) => (&item[..e], item.get(e + 1..)),
                None => (item, None),
            };
            if self.only_unknown && self.known.contains(&pack(keyword)) {
                continue;
            }
            return Some(Param { keyword, value });
        }
    }
}

/// Adapts a `Vec<u8>` to `core::fmt::Write` for number formatting.
pub(crate) struct VecWriter<'v>(pub(crate) &'v mut Vec<u8>);

impl core::fmt::Write for VecWriter<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// Compares the typed fields (the rare ones as read from the text) and
/// the unknown parameters (wire order of the known ones does not matter:
/// encoding writes them in a fixed order).
impl PartialEq for MailParams<'_> {
    fn eq(&self, o: &Self) -> bool {
        self.size == o.size
            && self.body == o.body
            && self.smtputf8 == o.smtputf8
            && self.requiretls == o.requiretls
            && self.ret() == o.ret()
            && self.envid() == o.envid()
            && self.auth() == o.auth()
            && self.mt_priority() == o.mt_priority()
            && self.hold() == o.hold()
            && self.by() == o.by()
            && self.unknown().eq(o.unknown())
    }
}
impl Eq for MailParams<'_> {}

/// Compares the typed fields and the unknown parameters.
impl PartialEq for RcptParams<'_> {
    fn eq(&self, o: &Self) -> bool {
        self.notify == o.notify
            && self.orcpt() == o.orcpt()
            && self.rrvs() == o.rrvs()
            && self.unknown().eq(o.unknown())
    }
}
impl Eq for RcptParams<'_> {}

/// The unknown parameters, for `Debug`.
struct DebugParams<'a>(Params<'a>);

impl core::fmt::Debug for DebugParams<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.0.clone()).finish()
    }
}

/// Every typed parameter (the rare ones as read from the text), then the
/// unknown ones.
impl core::fmt::Debug for MailParams<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MailParams")
            .field("size", &self.size)
            .field("body", &self.body)
            .field("smtputf8", &self.smtputf8)
            .field("ret", &self.ret())
            .field("envid", &self.envid())
            .field("auth", &self.auth())
            .field("requiretls", &self.requiretls)
            .field("mt_priority", &self.mt_priority())
            .field("hold", &self.hold())
            .field("by", &self.by())
            .field("unknown", &DebugParams(self.unknown()))
            .finish()
    }
}

/// Every typed parameter (the rare ones as read from the text), then the
/// unknown ones.
impl core::fmt::Debug for RcptParams<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RcptParams")
            .field("notify", &self.notify)
            .field("orcpt", &self.orcpt())
            .field("rrvs", &self.rrvs())
            .field("unknown", &DebugParams(self.unknown()))
            .finish()
    }
}
