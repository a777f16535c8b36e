//! RFC 3461 (DSN) 4: the NOTIFY, ORCPT, RET and ENVID parameters and xtext.

use nom::Parser;
use nom::branch::alt;
use nom::bytes::complete::{tag, tag_no_case, take_while1};
use nom::combinator::{recognize, verify};
use nom::multi::{many0, separated_list1};
use nom::sequence::preceded;

use super::abnf::R;

/// ```text
/// xtext = *( xchar / hexchar )
/// xchar = any ASCII CHAR between "!" (33) and "~" (126) inclusive,
///         except for "+" and "=".
/// hexchar = ASCII "+" immediately followed by two upper case
///           hexadecimal digits
/// ```
/// Decoded: each hexchar is the octet it names.
pub fn xtext(i: &[u8]) -> R<'_, Vec<u8>> {
    let xchar = take_while1(|c: u8| (33..=126).contains(&c) && c != b'+' && c != b'=');
    let upper_hex = |c: u8| c.is_ascii_digit() || (b'A'..=b'F').contains(&c);
    let hexchar = preceded(
        tag(&b"+"[..]),
        verify(nom::bytes::complete::take(2usize), move |h: &[u8]| {
            h.iter().all(|&c| upper_hex(c))
        }),
    )
    .map(|h: &[u8]| {
        let v = |c: u8| {
            if c.is_ascii_digit() {
                c - b'0'
            } else {
                c - b'A' + 10
            }
        };
        vec![v(h[0]) * 16 + v(h[1])]
    });
    many0(alt((xchar.map(<[u8]>::to_vec), hexchar)))
        .map(|parts: Vec<Vec<u8>>| parts.concat())
        .parse(i)
}

/// ```text
/// notify-esmtp-value  = "NEVER" / 1#notify-list-element
/// notify-list-element = "SUCCESS" / "FAILURE" / "DELAY"
/// ```
/// (`1#` is RFC 822's comma list; no empty elements, RFC 3461 4.1 gives the
/// elements without spaces.) Decoded as `NEVER`, or the set of elements in
/// the fixed order SUCCESS, FAILURE, DELAY, comma separated.
pub fn notify_value(i: &[u8]) -> R<'_, Vec<u8>> {
    let element = alt((
        tag_no_case(&b"SUCCESS"[..]).map(|_| 1u8),
        tag_no_case(&b"FAILURE"[..]).map(|_| 2u8),
        tag_no_case(&b"DELAY"[..]).map(|_| 4u8),
    ));
    alt((
        tag_no_case(&b"NEVER"[..]).map(|_| b"NEVER".to_vec()),
        separated_list1(tag(&b","[..]), element).map(|els: Vec<u8>| {
            let set = els.iter().fold(0, |a, b| a | b);
            let names = [(1, "SUCCESS"), (2, "FAILURE"), (4, "DELAY")];
            names
                .iter()
                .filter(|(bit, _)| set & bit != 0)
                .map(|(_, n)| *n)
                .collect::<Vec<_>>()
                .join(",")
                .into_bytes()
        }),
    ))
    .parse(i)
}

/// ```text
/// orcpt-parameter = "ORCPT=" original-recipient-address
/// original-recipient-address = addr-type ";" xtext
/// addr-type = atom   ; RFC 822 atom: any CHAR except specials, SPACE and CTLs
/// ```
/// Decoded as the upper-case addr-type, `;`, the decoded xtext.
pub fn orcpt_value(i: &[u8]) -> R<'_, Vec<u8>> {
    let rfc822_atom = take_while1(|c: u8| c > 32 && c < 127 && !b"()<>@,;:\\\".[]".contains(&c));
    (rfc822_atom, tag(&b";"[..]), xtext)
        .map(|(t, _, x): (&[u8], _, Vec<u8>)| {
            let mut v = t.to_ascii_uppercase();
            v.push(b';');
            v.extend(x);
            v
        })
        .parse(i)
}

/// `ret-value = "FULL" / "HDRS"`; decoded upper case.
pub fn ret_value(i: &[u8]) -> R<'_, Vec<u8>> {
    recognize(alt((tag_no_case(&b"FULL"[..]), tag_no_case(&b"HDRS"[..]))))
        .map(<[u8]>::to_ascii_uppercase)
        .parse(i)
}

/// `envid-parameter = "ENVID=" xtext` (4.4: at most 100 characters as
/// sent); decoded.
pub fn envid_value(i: &[u8]) -> R<'_, Vec<u8>> {
    verify(
        nom::combinator::consumed(xtext),
        |(raw, _): &(&[u8], Vec<u8>)| raw.len() <= 100,
    )
    .map(|(_, v)| v)
    .parse(i)
}
