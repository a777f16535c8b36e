//! RFC 1870 (SIZE) 3.

use nom::Parser;

use super::abnf::{R, is_digit, run};

/// ```text
/// size-param ::= "SIZE=" size-value
/// size-value ::= 1*20DIGIT
/// ```
/// Decoded as the decimal value without leading zeros (an arbitrary
/// precision string: 20 digits can exceed 64 bits).
pub fn size_value(i: &[u8]) -> R<'_, Vec<u8>> {
    run(1, 20, is_digit).map(canonical_decimal).parse(i)
}

/// A digit string without its leading zeros (`0` stays `0`).
pub fn canonical_decimal(s: &[u8]) -> Vec<u8> {
    let t: Vec<u8> = s.iter().copied().skip_while(|&c| c == b'0').collect();
    if t.is_empty() { b"0".to_vec() } else { t }
}
