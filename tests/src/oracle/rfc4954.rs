//! RFC 4954 (AUTH) 4 and 5.

use nom::Parser;
use nom::branch::alt;
use nom::bytes::complete::{tag, take_while_m_n};
use nom::combinator::{recognize, verify};
use nom::multi::many1;

use super::abnf::R;
use super::rfc3461::xtext;

/// ```text
/// sasl-mech = 1*20mech-char            ; RFC 4422 3.1
/// mech-char = UPPER-ALPHA / DIGIT / HYPHEN / UNDERSCORE
/// ```
/// (Upper case only, as the rule says; the core also reads lower case:
/// `auth-mechanism-case` in [`super::DISAGREEMENTS`].)
pub fn sasl_mech(i: &[u8]) -> R<'_, Vec<u8>> {
    take_while_m_n(1, 20, |c: u8| {
        c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'-' || c == b'_'
    })
    .map(<[u8]>::to_vec)
    .parse(i)
}

/// `base64-char = ALPHA / DIGIT / "+" / "/"`.
fn is_b64(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'+' || c == b'/'
}

/// ```text
/// base64          = base64-terminal /
///                   ( 1*(4base64-char) [base64-terminal] )
/// base64-terminal = (2base64-char "==") / (3base64-char "=")
/// ```
pub fn base64(i: &[u8]) -> R<'_, &[u8]> {
    let quad = take_while_m_n(4, 4, is_b64);
    let terminal = || {
        alt((
            recognize((take_while_m_n(2, 2, is_b64), tag(&b"=="[..]))),
            recognize((take_while_m_n(3, 3, is_b64), tag(&b"="[..]))),
        ))
    };
    alt((
        recognize((many1(quad), nom::combinator::opt(terminal()))),
        terminal(),
    ))
    .parse(i)
}

/// `initial-response = base64 / "="` (kept as sent).
pub fn initial_response(i: &[u8]) -> R<'_, &[u8]> {
    alt((base64, tag(&b"="[..]))).parse(i)
}

/// `auth-param = "AUTH=" xtext` (5: "the xtext MUST be `<>`" when the
/// identity is unknown, else an addr-spec); decoded. The addr-spec check is
/// not part of the grammar; the decoded text is compared.
pub fn auth_param_value(i: &[u8]) -> R<'_, Vec<u8>> {
    verify(xtext, |v: &Vec<u8>| !v.is_empty()).parse(i)
}
