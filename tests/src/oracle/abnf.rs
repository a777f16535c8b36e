//! RFC 5234 B.1 core rules and RFC 3629 4 UTF-8, the building blocks every
//! other module of the oracle uses.

use nom::bytes::complete::{tag, take_while_m_n};
use nom::combinator::{recognize, verify};
use nom::number::complete::u8 as octet;
use nom::{IResult, Parser};

/// The oracle's parser result over bytes.
pub type R<'a, T> = IResult<&'a [u8], T>;

/// `ALPHA = %x41-5A / %x61-7A` (RFC 5234 B.1).
pub fn is_alpha(c: u8) -> bool {
    c.is_ascii_alphabetic()
}

/// `DIGIT = %x30-39` (RFC 5234 B.1).
pub fn is_digit(c: u8) -> bool {
    c.is_ascii_digit()
}

/// `HEXDIG = DIGIT / "A" / "B" / "C" / "D" / "E" / "F"` (RFC 5234 B.1;
/// quoted strings are case-insensitive there, so a-f too).
pub fn is_hexdig(c: u8) -> bool {
    c.is_ascii_hexdigit()
}

/// `SP = %x20` (RFC 5234 B.1).
pub fn sp(i: &[u8]) -> R<'_, &[u8]> {
    tag(&b" "[..]).parse(i)
}

/// `CRLF = CR LF` (RFC 5234 B.1).
pub fn crlf(i: &[u8]) -> R<'_, &[u8]> {
    tag(&b"\r\n"[..]).parse(i)
}

/// One octet in `lo..=hi`.
fn oct(lo: u8, hi: u8) -> impl FnMut(&[u8]) -> R<'_, u8> {
    move |i| verify(octet, |c: &u8| (lo..=hi).contains(c)).parse(i)
}

/// `UTF8-tail = %x80-BF` (RFC 3629 4).
fn tail(i: &[u8]) -> R<'_, u8> {
    oct(0x80, 0xBF)(i)
}

/// ```text
/// UTF8-2 = %xC2-DF UTF8-tail
/// UTF8-3 = %xE0 %xA0-BF UTF8-tail / %xE1-EC 2( UTF8-tail ) /
///          %xED %x80-9F UTF8-tail / %xEE-EF 2( UTF8-tail )
/// UTF8-4 = %xF0 %x90-BF 2( UTF8-tail ) / %xF1-F3 3( UTF8-tail ) /
///          %xF4 %x80-8F 2( UTF8-tail )
/// UTF8-non-ascii = UTF8-2 / UTF8-3 / UTF8-4   ; RFC 6532 3.1
/// ```
pub fn utf8_non_ascii(i: &[u8]) -> R<'_, &[u8]> {
    use nom::branch::alt;
    recognize(alt((
        (oct(0xC2, 0xDF), tail).map(|_| ()),
        (oct(0xE0, 0xE0), oct(0xA0, 0xBF), tail).map(|_| ()),
        (oct(0xE1, 0xEC), tail, tail).map(|_| ()),
        (oct(0xED, 0xED), oct(0x80, 0x9F), tail).map(|_| ()),
        (oct(0xEE, 0xEF), tail, tail).map(|_| ()),
        (oct(0xF0, 0xF0), oct(0x90, 0xBF), tail, tail).map(|_| ()),
        (oct(0xF1, 0xF3), tail, tail, tail).map(|_| ()),
        (oct(0xF4, 0xF4), oct(0x80, 0x8F), tail, tail).map(|_| ()),
    )))
    .parse(i)
}

/// `1*n DIGIT` style runs: between `m` and `n` octets satisfying `f`.
pub fn run(m: usize, n: usize, f: fn(u8) -> bool) -> impl FnMut(&[u8]) -> R<'_, &[u8]> {
    move |i| take_while_m_n(m, n, f).parse(i)
}
