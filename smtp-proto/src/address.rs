//! Mailboxes, domains, address literals and paths (RFC 5321 4.1.2, 4.1.3;
//! RFC 6531 3.3 for SMTPUTF8).
//!
//! Every type borrows the bytes of the line it was parsed from and keeps
//! them exactly as sent; decoded and canonical forms are computed on demand.

use alloc::borrow::Cow;
use alloc::vec::Vec;
use core::net::{Ipv4Addr, Ipv6Addr};

use crate::error::ParseError;
use crate::limits::Limits;

/// A domain or an address literal, exactly as sent (RFC 5321 4.1.2
/// `Domain / address-literal`). Validated when parsed; for SMTPUTF8 sessions
/// a domain may hold UTF-8 U-labels (RFC 6531 3.3).
///
/// Equality is ASCII case-insensitive (RFC 5321 2.4).
#[derive(Clone, Copy)]
pub struct Domain<'a>(pub(crate) &'a [u8]);

/// A parsed address literal (RFC 5321 4.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressLiteral<'a> {
    /// `[IPv4]`; leading zeros in an octet are accepted.
    Ipv4(core::net::Ipv4Addr),
    /// `[IPv6:...]` in any of the four forms of RFC 5321 4.1.3.
    Ipv6(core::net::Ipv6Addr),
    /// `[tag:content]` (General-address-literal).
    General {
        /// Standardized-tag, as sent.
        tag: &'a [u8],
        /// dcontent, as sent.
        content: &'a [u8],
    },
}

/// The local part of a mailbox as sent: a Dot-string or a Quoted-string
/// with its quotes (RFC 5321 4.1.2).
///
/// Equality compares the canonical form (minimal quoting, RFC 5321 4.1.2:
/// "all quoted forms MUST be treated as equivalent"); local parts are case
/// sensitive.
#[derive(Clone, Copy)]
pub struct LocalPart<'a>(pub(crate) &'a [u8]);

/// `Local-part "@" ( Domain / address-literal )` (RFC 5321 4.1.2).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Mailbox<'a> {
    /// The local part, as sent.
    pub local: LocalPart<'a>,
    /// The domain or address literal, as sent.
    pub domain: Domain<'a>,
}

/// The argument of MAIL FROM (RFC 5321 4.1.1.2 `Reverse-path`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReversePath<'a> {
    /// `<>`: the null reverse path (bounces, RFC 5321 4.5.5).
    Null,
    /// A mailbox; any source route was dropped (RFC 5321 Appendix C).
    Mailbox(Mailbox<'a>),
}

/// The argument of RCPT TO (RFC 5321 4.1.1.3 `Forward-path`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForwardPath<'a> {
    /// `<Postmaster>` in any case, without a domain (RFC 5321 4.1.1.3).
    Postmaster,
    /// A mailbox; any source route was dropped (RFC 5321 Appendix C).
    Mailbox(Mailbox<'a>),
}

/// Writes bytes for `Debug`: printable ASCII as is, the rest escaped.
pub(crate) fn debug_bytes(f: &mut core::fmt::Formatter<'_>, b: &[u8]) -> core::fmt::Result {
    use core::fmt::Write;
    f.write_char('"')?;
    for chunk in b.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' | '\\' => write!(f, "\\{c}")?,
                c if c.is_control() => write!(f, "{}", c.escape_default())?,
                c => f.write_char(c)?,
            }
        }
        for byte in chunk.invalid() {
            write!(f, "\\x{byte:02X}")?;
        }
    }
    f.write_char('"')
}

impl<'a> Domain<'a> {
    /// The domain or address literal exactly as sent.
    #[inline]
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// Whether this is an address literal (`[...]`, RFC 5321 4.1.3).
    #[inline]
    pub fn is_literal(&self) -> bool {
        self.0.first() == Some(&b'[')
    }
}

impl PartialEq for Domain<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(other.0)
    }
}
impl Eq for Domain<'_> {}

impl core::fmt::Debug for Domain<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        debug_bytes(f, self.0)
    }
}

impl<'a> LocalPart<'a> {
    /// The local part exactly as sent (quotes included for a Quoted-string).
    #[inline]
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// Whether the local part was sent as a Quoted-string.
    #[inline]
    pub fn is_quoted(&self) -> bool {
        self.0.first() == Some(&b'"')
    }

    /// The decoded local part: quotes removed and quoted-pairs resolved
    /// (RFC 5321 4.1.2 `Quoted-string`, `quoted-pairSMTP`). Borrows when
    /// nothing needs decoding.
    pub fn decoded(&self) -> Cow<'a, [u8]> {
        if !self.is_quoted() {
            return Cow::Borrowed(self.0);
        }
        // Strip the DQUOTEs; a parsed local part always has both.
        let inner = match self.0.len() {
            0 | 1 => &self.0[..0],
            n => self.0.get(1..n - 1).unwrap_or(&[]),
        };
        if !inner.contains(&b'\\') {
            return Cow::Borrowed(inner);
        }
        let mut out = alloc::vec::Vec::with_capacity(inner.len());
        let mut escaped = false;
        for &b in inner {
            if escaped || b != b'\\' {
                out.push(b);
                escaped = false;
            } else {
                escaped = true;
            }
        }
        Cow::Owned(out)
    }

    /// The canonical form (RFC 5321 4.1.2: "the form that uses the minimum
    /// quoting possible"): the decoded local part unquoted if it is a valid
    /// Dot-string (RFC 5322 atext, plus UTF-8 non-ASCII per RFC 6531 3.3),
    /// otherwise quoted with `\` and `"` escaped.
    pub fn canonical(&self) -> Cow<'a, [u8]> {
        let decoded = self.decoded();
        if is_dot_string(&decoded) {
            return decoded;
        }
        let mut out = alloc::vec::Vec::with_capacity(decoded.len() + 4);
        quote_into(&decoded, &mut out);
        Cow::Owned(out)
    }

    /// Parses a local part (RFC 5321 4.1.2):
    ///
    /// ```text
    /// Local-part = Dot-string / Quoted-string
    /// Dot-string = Atom *("."  Atom)
    /// Quoted-string = DQUOTE *QcontentSMTP DQUOTE
    /// ```
    ///
    /// `smtputf8` allows UTF-8 non-ASCII (RFC 6531 3.3). No length limit is
    /// applied here.
    pub fn parse(input: &'a [u8], smtputf8: bool) -> Result<LocalPart<'a>, ParseError> {
        let mut seen = false;
        let end = scan_local(input, 0, smtputf8, &mut seen)?;
        if end != input.len() {
            return Err(ParseError::Syntax);
        }
        Ok(LocalPart(input))
    }
}

/// Writes `"` + `s` with `\` -> `\\` and `"` -> `\"` + `"`.
fn quote_into(s: &[u8], out: &mut alloc::vec::Vec<u8>) {
    out.push(b'"');
    for &b in s {
        if b == b'"' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// Whether `s` is a Dot-string (RFC 5321 4.1.2) with RFC 5322 atext and
/// UTF-8 non-ASCII (RFC 6531 3.3).
pub(crate) fn is_dot_string(s: &[u8]) -> bool {
    let mut seen = false;
    !s.is_empty() && scan_dot_string(s, 0, true, &mut seen) == Ok(s.len())
}

impl PartialEq for LocalPart<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.decoded() == other.decoded()
    }
}
impl Eq for LocalPart<'_> {}

impl core::fmt::Debug for LocalPart<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        debug_bytes(f, self.0)
    }
}

impl core::fmt::Debug for Mailbox<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Mailbox({:?}@{:?})", self.local, self.domain)
    }
}

// ---------------------------------------------------------------------------
// Character classes: one table lookup per byte on the hot path.

/// RFC 5322 `atext`.
pub(crate) const C_ATEXT: u8 = 1;
/// `ALPHA / DIGIT / "-"` (RFC 5321 `Ldh-str` characters).
pub(crate) const C_LDH: u8 = 2;
/// RFC 5321 `qtextSMTP`: %d32-33 / %d35-91 / %d93-126.
pub(crate) const C_QTEXT: u8 = 4;
/// RFC 3461 `xchar`: %d33-42 / %d44-60 / %d62-126.
pub(crate) const C_XCHAR: u8 = 8;
/// RFC 5321 `esmtp-value` ASCII characters: %d33-60 / %d62-126.
pub(crate) const C_VALUE: u8 = 16;
/// RFC 5321 `dcontent`: %d33-90 / %d94-126.
pub(crate) const C_DCONTENT: u8 = 32;
/// `ALPHA / DIGIT` (RFC 5321 `Let-dig`).
pub(crate) const C_ALNUM: u8 = 64;
/// `DIGIT`.
pub(crate) const C_DIGIT: u8 = 128;

const fn build_classes() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0usize;
    while i < 256 {
        let b = i as u8;
        let mut c = 0u8;
        let alpha = b.is_ascii_alphabetic();
        let digit = b.is_ascii_digit();
        if alpha || digit {
            c |= C_ALNUM | C_LDH | C_ATEXT;
        }
        if digit {
            c |= C_DIGIT;
        }
        if b == b'-' {
            c |= C_LDH;
        }
        if matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'/'
                | b'='
                | b'?'
                | b'^'
                | b'_'
                | b'`'
                | b'{'
                | b'|'
                | b'}'
                | b'~'
        ) {
            c |= C_ATEXT;
        }
        if matches!(b, 32..=33 | 35..=91 | 93..=126) {
            c |= C_QTEXT;
        }
        if matches!(b, 33..=42 | 44..=60 | 62..=126) {
            c |= C_XCHAR;
        }
        if matches!(b, 33..=60 | 62..=126) {
            c |= C_VALUE;
        }
        if matches!(b, 33..=90 | 94..=126) {
            c |= C_DCONTENT;
        }
        t[i] = c;
        i += 1;
    }
    t
}

/// Byte classes for the scanners.
pub(crate) static CLASS: [u8; 256] = build_classes();

#[inline(always)]
pub(crate) fn is(b: u8, class: u8) -> bool {
    CLASS[b as usize] & class != 0
}

/// Validates one UTF-8 non-ASCII character at `s[i..]` (RFC 6531 3.3
/// `UTF8-non-ascii`, RFC 3629 4) and returns its length.
#[inline]
pub(crate) fn utf8_non_ascii(s: &[u8], i: usize, allowed: bool) -> Result<usize, ParseError> {
    if !allowed {
        return Err(ParseError::Utf8NotAllowed);
    }
    let lead = *s.get(i).ok_or(ParseError::InvalidUtf8)?;
    let n = match lead {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return Err(ParseError::InvalidUtf8),
    };
    let chunk = s.get(i..i + n).ok_or(ParseError::InvalidUtf8)?;
    match core::str::from_utf8(chunk) {
        Ok(_) => Ok(n),
        Err(_) => Err(ParseError::InvalidUtf8),
    }
}

/// `Dot-string = Atom *("." Atom)`, `Atom = 1*atext` (RFC 5321 4.1.2;
/// RFC 6531 3.3 adds `atext =/ UTF8-non-ascii`). Returns the end offset.
pub(crate) fn scan_dot_string(
    s: &[u8],
    mut i: usize,
    utf8: bool,
    seen: &mut bool,
) -> Result<usize, ParseError> {
    let mut atom_len = 0usize;
    loop {
        match s.get(i) {
            Some(&b) if b < 0x80 && is(b, C_ATEXT) => {
                i += 1;
                atom_len += 1;
            }
            Some(&b) if b >= 0x80 => {
                i += utf8_non_ascii(s, i, utf8)?;
                *seen = true;
                atom_len += 1;
            }
            Some(b'.') if atom_len > 0 => {
                i += 1;
                atom_len = 0;
            }
            _ => break,
        }
    }
    if atom_len == 0 {
        return Err(ParseError::Syntax);
    }
    Ok(i)
}

/// `Quoted-string = DQUOTE *QcontentSMTP DQUOTE`,
/// `QcontentSMTP = qtextSMTP / quoted-pairSMTP`,
/// `quoted-pairSMTP = %d92 %d32-126` (RFC 5321 4.1.2; RFC 6531 3.3 adds
/// `qtextSMTP =/ UTF8-non-ascii`). `s[i]` is the opening DQUOTE.
pub(crate) fn scan_quoted(
    s: &[u8],
    mut i: usize,
    utf8: bool,
    seen: &mut bool,
) -> Result<usize, ParseError> {
    i += 1;
    loop {
        let b = *s.get(i).ok_or(ParseError::Syntax)?;
        if b == b'"' {
            return Ok(i + 1);
        } else if b == b'\\' {
            match s.get(i + 1) {
                Some(32..=126) => i += 2,
                _ => return Err(ParseError::Syntax),
            }
        } else if b >= 0x80 {
            i += utf8_non_ascii(s, i, utf8)?;
            *seen = true;
        } else if is(b, C_QTEXT) {
            i += 1;
        } else {
            return Err(ParseError::Syntax);
        }
    }
}

/// `Local-part = Dot-string / Quoted-string` (RFC 5321 4.1.2).
pub(crate) fn scan_local(
    s: &[u8],
    i: usize,
    utf8: bool,
    seen: &mut bool,
) -> Result<usize, ParseError> {
    if s.get(i) == Some(&b'"') {
        scan_quoted(s, i, utf8, seen)
    } else {
        scan_dot_string(s, i, utf8, seen)
    }
}

/// `Domain = sub-domain *("." sub-domain)`,
/// `sub-domain = Let-dig [Ldh-str]`, `Ldh-str = *( ALPHA / DIGIT / "-" ) Let-dig`
/// (RFC 5321 4.1.2; RFC 6531 3.3 adds `sub-domain =/ U-label`, read here as
/// labels that may hold UTF-8 non-ASCII), or
/// `address-literal = "[" ( IPv4-address-literal / IPv6-address-literal /
/// General-address-literal ) "]"` (RFC 5321 4.1.3).
pub(crate) fn scan_domain(
    s: &[u8],
    mut i: usize,
    utf8: bool,
    seen: &mut bool,
) -> Result<usize, ParseError> {
    if s.get(i) == Some(&b'[') {
        let start = i + 1;
        let mut j = start;
        while let Some(&b) = s.get(j) {
            if b == b']' {
                let inner = s.get(start..j).ok_or(ParseError::Syntax)?;
                return match parse_literal(inner) {
                    Some(_) => Ok(j + 1),
                    None => Err(ParseError::Syntax),
                };
            }
            if !is(b, C_DCONTENT) && b != b':' {
                return Err(ParseError::Syntax);
            }
            j += 1;
        }
        return Err(ParseError::Syntax);
    }
    loop {
        // One sub-domain: Let-dig first, Let-dig last.
        let mut len = 0usize;
        let mut last_hyphen = false;
        // Fast run over ASCII `Ldh-str` octets (one table lookup each); the
        // general loop below takes over at a UTF-8 octet, and then reads
        // exactly what it would have read from the start of the label.
        let run = i;
        while let Some(&b) = s.get(i) {
            if !is(b, C_LDH) {
                break;
            }
            i += 1;
        }
        if i > run {
            if s.get(run) == Some(&b'-') {
                return Err(ParseError::Syntax);
            }
            len = i - run;
            last_hyphen = s.get(i - 1) == Some(&b'-');
        }
        loop {
            match s.get(i) {
                Some(&b) if b < 0x80 && is(b, C_LDH) => {
                    if len == 0 && b == b'-' {
                        return Err(ParseError::Syntax);
                    }
                    last_hyphen = b == b'-';
                    i += 1;
                    len += 1;
                }
                Some(&b) if b >= 0x80 => {
                    i += utf8_non_ascii(s, i, utf8)?;
                    *seen = true;
                    last_hyphen = false;
                    len += 1;
                }
                _ => break,
            }
        }
        if len == 0 || last_hyphen {
            return Err(ParseError::Syntax);
        }
        if s.get(i) == Some(&b'.') {
            i += 1;
        } else {
            return Ok(i);
        }
    }
}

/// The inside of an address literal (RFC 5321 4.1.3):
///
/// ```text
/// IPv4-address-literal  = Snum 3("."  Snum)
/// IPv6-address-literal  = "IPv6:" IPv6-addr
/// General-address-literal  = Standardized-tag ":" 1*dcontent
/// Standardized-tag  = Ldh-str
/// ```
pub(crate) fn parse_literal(inner: &[u8]) -> Option<AddressLiteral<'_>> {
    match inner.iter().position(|&b| b == b':') {
        None => parse_ipv4(inner).map(AddressLiteral::Ipv4),
        Some(c) => {
            let (tag, content) = (inner.get(..c)?, inner.get(c + 1..)?);
            if tag.eq_ignore_ascii_case(b"IPv6") {
                return parse_ipv6(content).map(AddressLiteral::Ipv6);
            }
            let tag_ok = !tag.is_empty()
                && tag.iter().all(|&b| is(b, C_LDH))
                && tag.last().is_some_and(|&b| is(b, C_ALNUM));
            let content_ok = !content.is_empty() && content.iter().all(|&b| is(b, C_DCONTENT));
            (tag_ok && content_ok).then_some(AddressLiteral::General { tag, content })
        }
    }
}

/// `IPv4-address-literal = Snum 3("." Snum)`, `Snum = 1*3DIGIT` representing
/// a decimal integer value in the range 0 through 255 (RFC 5321 4.1.3;
/// leading zeros are decimal, not octal).
pub(crate) fn parse_ipv4(s: &[u8]) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = s.split(|&b| b == b'.');
    for o in &mut octets {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 3 {
            return None;
        }
        let mut v = 0u16;
        for &d in p {
            if !d.is_ascii_digit() {
                return None;
            }
            v = v * 10 + u16::from(d - b'0');
        }
        *o = u8::try_from(v).ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(Ipv4Addr::from(octets))
}

/// `IPv6-hex = 1*4HEXDIG`.
fn parse_hex_group(p: &[u8]) -> Option<u16> {
    if p.is_empty() || p.len() > 4 {
        return None;
    }
    let mut v = 0u16;
    for &d in p {
        v = (v << 4) | u16::from(char::from(d).to_digit(16)? as u8);
    }
    Some(v)
}

/// Parses `:`-separated groups; the last one may be an IPv4 address when
/// `v4_last` is set. Returns (groups, count, v4).
fn parse_groups(s: &[u8], v4_last: bool) -> Option<([u16; 8], usize, Option<Ipv4Addr>)> {
    let mut g = [0u16; 8];
    let mut n = 0usize;
    let mut v4 = None;
    if s.is_empty() {
        return Some((g, 0, None));
    }
    let mut parts = s.split(|&b| b == b':').peekable();
    while let Some(p) = parts.next() {
        if parts.peek().is_none() && v4_last && p.contains(&b'.') {
            v4 = Some(parse_ipv4(p)?);
        } else {
            *g.get_mut(n)? = parse_hex_group(p)?;
            n += 1;
        }
    }
    Some((g, n, v4))
}

/// `IPv6-addr = IPv6-full / IPv6-comp / IPv6v4-full / IPv6v4-comp`
/// (RFC 5321 4.1.3):
///
/// ```text
/// IPv6-full    = IPv6-hex 7(":" IPv6-hex)
/// IPv6-comp    = [IPv6-hex *5(":" IPv6-hex)] "::" [IPv6-hex *5(":" IPv6-hex)]
///                ; no more than 6 groups in addition to the "::"
/// IPv6v4-full  = IPv6-hex 5(":" IPv6-hex) ":" IPv4-address-literal
/// IPv6v4-comp  = [IPv6-hex *3(":" IPv6-hex)] "::"
///                [IPv6-hex *3(":" IPv6-hex) ":"] IPv4-address-literal
///                ; no more than 4 groups in addition to "::" and the IPv4
/// ```
pub(crate) fn parse_ipv6(s: &[u8]) -> Option<Ipv6Addr> {
    let dc = s.windows(2).position(|w| w == b"::");
    let mut out = [0u16; 8];
    match dc {
        None => {
            let (g, n, v4) = parse_groups(s, true)?;
            match v4 {
                None if n == 8 => out = g,
                Some(v4) if n == 6 => {
                    out[..6].copy_from_slice(&g[..6]);
                    let o = v4.octets();
                    out[6] = u16::from_be_bytes([o[0], o[1]]);
                    out[7] = u16::from_be_bytes([o[2], o[3]]);
                }
                _ => return None,
            }
        }
        Some(p) => {
            let left = s.get(..p)?;
            let right = s.get(p + 2..)?;
            if right.first() == Some(&b':') || right.windows(2).any(|w| w == b"::") {
                return None;
            }
            let (lg, ln, _) = parse_groups(left, false)?;
            let (rg, rn, v4) = parse_groups(right, true)?;
            let max = if v4.is_some() { 4 } else { 6 };
            if ln + rn > max {
                return None;
            }
            out[..ln].copy_from_slice(&lg[..ln]);
            let tail = if v4.is_some() { 6 } else { 8 };
            let start = tail - rn;
            out[start..tail].copy_from_slice(&rg[..rn]);
            if let Some(v4) = v4 {
                let o = v4.octets();
                out[6] = u16::from_be_bytes([o[0], o[1]]);
                out[7] = u16::from_be_bytes([o[2], o[3]]);
            }
        }
    }
    Some(Ipv6Addr::from(out))
}

// ---------------------------------------------------------------------------
// Paths.

/// What a path scan found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathKind<'a> {
    Null,
    Postmaster,
    Mailbox(Mailbox<'a>),
}

/// Scans `Mailbox = Local-part "@" ( Domain / address-literal )`
/// (RFC 5321 4.1.2) at `s[i..]`, applying the local-part and domain limits.
pub(crate) fn scan_mailbox<'a>(
    s: &'a [u8],
    i: usize,
    utf8: bool,
    seen: &mut bool,
    limits: &Limits,
) -> Result<(Mailbox<'a>, usize), ParseError> {
    let lend = scan_local(s, i, utf8, seen)?;
    if lend - i > limits.local_part {
        return Err(ParseError::LocalPartTooLong);
    }
    if s.get(lend) != Some(&b'@') {
        return Err(ParseError::Syntax);
    }
    let dstart = lend + 1;
    let dend = scan_domain(s, dstart, utf8, seen)?;
    if dend - dstart > limits.domain {
        return Err(ParseError::DomainTooLong);
    }
    let local = LocalPart(s.get(i..lend).ok_or(ParseError::Syntax)?);
    let domain = Domain(s.get(dstart..dend).ok_or(ParseError::Syntax)?);
    Ok((Mailbox { local, domain }, dend))
}

/// Scans a path (RFC 5321 4.1.2):
///
/// ```text
/// Reverse-path   = Path / "<>"
/// Forward-path   = Path
/// Path           = "<" [ A-d-l ":" ] Mailbox ">"
/// A-d-l          = At-domain *( "," At-domain )
/// At-domain      = "@" Domain
/// ```
///
/// plus `"<Postmaster>"` (RFC 5321 4.1.1.3) when `postmaster` is set. A
/// source route is accepted and dropped (RFC 5321 Appendix C). With
/// `bare` (lenient `missing_brackets`), a Mailbox without brackets is read.
#[allow(clippy::too_many_arguments)]
pub(crate) fn scan_path<'a>(
    s: &'a [u8],
    i: usize,
    utf8: bool,
    seen: &mut bool,
    limits: &Limits,
    null: bool,
    postmaster: bool,
    bare: bool,
) -> Result<(PathKind<'a>, usize), ParseError> {
    if s.get(i) != Some(&b'<') {
        if bare {
            let (m, end) = scan_mailbox(s, i, utf8, seen, limits)?;
            if end - i > limits.path {
                return Err(ParseError::PathTooLong);
            }
            return Ok((PathKind::Mailbox(m), end));
        }
        return Err(ParseError::Syntax);
    }
    let mut j = i + 1;
    if s.get(j) == Some(&b'>') {
        return if null {
            Ok((PathKind::Null, j + 1))
        } else {
            Err(ParseError::Syntax)
        };
    }
    if s.get(j) == Some(&b'@') {
        loop {
            // At-domain
            j += 1;
            let dstart = j;
            j = scan_domain(s, j, utf8, seen)?;
            if j - dstart > limits.domain {
                return Err(ParseError::DomainTooLong);
            }
            match s.get(j) {
                Some(b',') if s.get(j + 1) == Some(&b'@') => j += 1,
                Some(b':') => {
                    j += 1;
                    break;
                }
                _ => return Err(ParseError::Syntax),
            }
        }
    } else if postmaster
        && s.get(j..j + 10)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"postmaster"))
        && s.get(j + 10) == Some(&b'>')
    {
        return Ok((PathKind::Postmaster, j + 11));
    }
    let (m, end) = scan_mailbox(s, j, utf8, seen, limits)?;
    if s.get(end) != Some(&b'>') {
        return Err(ParseError::Syntax);
    }
    if end + 1 - i > limits.path {
        return Err(ParseError::PathTooLong);
    }
    Ok((PathKind::Mailbox(m), end + 1))
}

impl<'a> Domain<'a> {
    /// Parses a whole `Domain / address-literal` (RFC 5321 4.1.2, 4.1.3);
    /// `smtputf8` allows U-labels (RFC 6531 3.3). The limit of
    /// [`Limits::RFC`] (255 octets) applies.
    pub fn parse(input: &'a [u8], smtputf8: bool) -> Result<Domain<'a>, ParseError> {
        let mut seen = false;
        let end = scan_domain(input, 0, smtputf8, &mut seen)?;
        if end != input.len() {
            return Err(ParseError::Syntax);
        }
        if end > Limits::RFC.domain {
            return Err(ParseError::DomainTooLong);
        }
        Ok(Domain(input))
    }

    /// The parsed address literal, if this is one (RFC 5321 4.1.3).
    pub fn address_literal(&self) -> Option<AddressLiteral<'a>> {
        let inner = self.0.strip_prefix(b"[")?.strip_suffix(b"]")?;
        parse_literal(inner)
    }
}

impl<'a> Mailbox<'a> {
    /// Parses a whole `Mailbox = Local-part "@" ( Domain / address-literal )`
    /// (RFC 5321 4.1.2) with the limits of [`Limits::RFC`]; `smtputf8`
    /// allows UTF-8 (RFC 6531 3.3).
    pub fn parse(input: &'a [u8], smtputf8: bool) -> Result<Mailbox<'a>, ParseError> {
        let mut seen = false;
        let (m, end) = scan_mailbox(input, 0, smtputf8, &mut seen, &Limits::RFC)?;
        if end != input.len() {
            return Err(ParseError::Syntax);
        }
        Ok(m)
    }

    /// Writes the canonical mailbox (RFC 5321 4.1.2 minimal quoting): the
    /// canonical local part, `@`, and the domain exactly as sent.
    pub fn write_canonical(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.local.canonical());
        out.push(b'@');
        out.extend_from_slice(self.domain.0);
    }

    /// Whether the local part or the domain holds non-ASCII (RFC 6531 3.3).
    pub fn is_utf8(&self) -> bool {
        !self.local.0.is_ascii() || !self.domain.0.is_ascii()
    }
}

// ---------------------------------------------------------------------------
// Display: the wire form.

/// Writes bytes for `Display`: UTF-8 text as is; an invalid UTF-8 byte, a
/// control octet other than HT, or DEL as `\xNN`, so the output is one line
/// and never hides a byte. Parsed values hold none of those, so for them
/// this is exactly the bytes.
pub(crate) fn display_bytes(f: &mut core::fmt::Formatter<'_>, b: &[u8]) -> core::fmt::Result {
    for chunk in b.utf8_chunks() {
        let valid = chunk.valid();
        let mut start = 0;
        for (i, c) in valid.char_indices() {
            if (c.is_ascii_control() && c != '\t') || c == '\u{7f}' {
                f.write_str(&valid[start..i])?;
                write!(f, "\\x{:02X}", c as u32)?;
                start = i + 1;
            }
        }
        f.write_str(&valid[start..])?;
        for byte in chunk.invalid() {
            write!(f, "\\x{byte:02X}")?;
        }
    }
    Ok(())
}

/// The domain or address literal exactly as sent (RFC 5321 4.1.2
/// `Domain / address-literal`); parses back equal with [`Domain::parse`].
///
/// ```
/// let d = smtp_sansio::Domain::parse(b"[IPv6:::1]", false).unwrap();
/// assert_eq!(d.to_string(), "[IPv6:::1]");
/// ```
impl core::fmt::Display for Domain<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        display_bytes(f, self.0)
    }
}

/// The local part exactly as sent, quotes included (RFC 5321 4.1.2
/// `Local-part`).
impl core::fmt::Display for LocalPart<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        display_bytes(f, self.0)
    }
}

/// `Local-part "@" ( Domain / address-literal )` exactly as sent and as
/// the command encoder writes it (RFC 5321 4.1.2); parses back equal with
/// [`Mailbox::parse`]. [`Mailbox::write_canonical`] gives the minimally
/// quoted form instead.
///
/// ```
/// let m = smtp_sansio::Mailbox::parse(b"\"a b\"@example.org", false).unwrap();
/// assert_eq!(m.to_string(), "\"a b\"@example.org");
/// ```
impl core::fmt::Display for Mailbox<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        display_bytes(f, self.local.0)?;
        f.write_str("@")?;
        display_bytes(f, self.domain.0)
    }
}

/// The MAIL FROM argument as the encoder writes it (RFC 5321 4.1.1.2
/// `Reverse-path = Path / "<>"`): `<>` or `<mailbox>`.
///
/// ```
/// use smtp_sansio::{Mailbox, ReversePath};
/// assert_eq!(ReversePath::Null.to_string(), "<>");
/// let m = Mailbox::parse(b"alice@example.org", false).unwrap();
/// assert_eq!(ReversePath::Mailbox(m).to_string(), "<alice@example.org>");
/// ```
impl core::fmt::Display for ReversePath<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ReversePath::Null => f.write_str("<>"),
            ReversePath::Mailbox(m) => write!(f, "<{m}>"),
        }
    }
}

/// The RCPT TO argument as the encoder writes it (RFC 5321 4.1.1.3
/// `Forward-path = Path`, or `<Postmaster>`).
///
/// ```
/// use smtp_sansio::{ForwardPath, Mailbox};
/// assert_eq!(ForwardPath::Postmaster.to_string(), "<Postmaster>");
/// let m = Mailbox::parse(b"bob@example.net", false).unwrap();
/// assert_eq!(ForwardPath::Mailbox(m).to_string(), "<bob@example.net>");
/// ```
impl core::fmt::Display for ForwardPath<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ForwardPath::Postmaster => f.write_str("<Postmaster>"),
            ForwardPath::Mailbox(m) => write!(f, "<{m}>"),
        }
    }
}
