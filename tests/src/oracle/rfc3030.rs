//! RFC 3030 (CHUNKING, BINARYMIME) 2 and 3, with the RFC 6152 BODY values
//! it extends.

use nom::Parser;
use nom::branch::alt;
use nom::bytes::complete::{tag_no_case, take_while1};
use nom::combinator::{opt, recognize};
use nom::sequence::preceded;

use super::abnf::{R, is_digit, sp};
use super::rfc1870::canonical_decimal;

/// ```text
/// bdat-cmd   ::= "BDAT" SP chunk-size [ SP end-marker ] CR LF
/// chunk-size ::= 1*DIGIT
/// end-marker ::= "LAST"
/// ```
/// (after the verb). Decoded as (canonical decimal size, last).
pub fn bdat_args(i: &[u8]) -> R<'_, (Vec<u8>, bool)> {
    (
        preceded(sp, take_while1(is_digit).map(canonical_decimal)),
        opt(preceded(sp, tag_no_case(&b"LAST"[..]))).map(|l| l.is_some()),
    )
        .parse(i)
}

/// ```text
/// body-value ::= "7BIT" / "8BITMIME" / "BINARYMIME"
/// ```
/// (RFC 6152 3 and RFC 3030 3); decoded upper case.
pub fn body_value(i: &[u8]) -> R<'_, Vec<u8>> {
    recognize(alt((
        tag_no_case(&b"7BIT"[..]),
        tag_no_case(&b"8BITMIME"[..]),
        tag_no_case(&b"BINARYMIME"[..]),
    )))
    .map(<[u8]>::to_ascii_uppercase)
    .parse(i)
}
