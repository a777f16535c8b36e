//! RFC 5321 4.1.2 (command argument syntax) and 4.1.3 (address literals),
//! with the RFC 6531 3.3 additions for UTF-8 where `utf8` is set.

use nom::branch::alt;
use nom::bytes::complete::{tag, tag_no_case, take_while, take_while1};
use nom::combinator::{opt, recognize, verify};
use nom::multi::{many0, separated_list1};
use nom::sequence::{delimited, preceded};
use nom::{IResult, Parser};

use super::abnf::{R, is_alpha, is_digit, is_hexdig, run, utf8_non_ascii};

/// `Let-dig = ALPHA / DIGIT`.
fn is_let_dig(c: u8) -> bool {
    is_alpha(c) || is_digit(c)
}

/// `Ldh-str = *( ALPHA / DIGIT / "-" ) Let-dig`.
pub fn ldh_str(i: &[u8]) -> R<'_, &[u8]> {
    verify(take_while1(|c| is_let_dig(c) || c == b'-'), |s: &[u8]| {
        s.last().is_some_and(|&c| is_let_dig(c))
    })
    .parse(i)
}

/// `sub-domain = Let-dig [Ldh-str]`, and with SMTPUTF8 `sub-domain =/
/// U-label` (RFC 6531 3.3; the IDNA2008 validity of a U-label is beyond a
/// grammar: here any run of letters, digits, hyphens and UTF-8 with at
/// least one non-ASCII character, not starting or ending with a hyphen).
pub fn sub_domain(utf8: bool) -> impl FnMut(&[u8]) -> R<'_, &[u8]> {
    move |i| {
        let mut ascii = recognize((
            verify(nom::number::complete::u8, |c: &u8| is_let_dig(*c)),
            opt(ldh_str),
        ));
        if !utf8 {
            return ascii.parse(i);
        }
        let ulabel = verify(
            recognize(many1_unit(alt((
                take_while1(|c: u8| is_let_dig(c) || c == b'-'),
                utf8_non_ascii,
            )))),
            |s: &[u8]| !s.is_ascii() && s[0] != b'-' && s[s.len() - 1] != b'-',
        );
        alt((ulabel, ascii)).parse(i)
    }
}

/// `1*` of a parser, recognized (helper).
fn many1_unit<'a, P>(
    p: P,
) -> impl Parser<&'a [u8], Output = (), Error = nom::error::Error<&'a [u8]>>
where
    P: Parser<&'a [u8], Output = &'a [u8], Error = nom::error::Error<&'a [u8]>>,
{
    nom::multi::many1(p).map(|_| ())
}

/// `Domain = sub-domain *("." sub-domain)`.
pub fn domain(utf8: bool) -> impl FnMut(&[u8]) -> R<'_, &[u8]> {
    move |i| recognize(separated_list1(tag(&b"."[..]), sub_domain(utf8))).parse(i)
}

/// `Snum = 1*3DIGIT` ; representing a decimal integer value in the range 0
/// through 255.
fn snum(i: &[u8]) -> R<'_, &[u8]> {
    verify(run(1, 3, is_digit), |s: &[u8]| {
        s.iter().fold(0u32, |a, &c| a * 10 + u32::from(c - b'0')) <= 255
    })
    .parse(i)
}

/// `IPv4-address-literal = Snum 3("." Snum)`.
pub fn ipv4_address_literal(i: &[u8]) -> R<'_, &[u8]> {
    recognize((snum, nom::multi::count(preceded(tag(&b"."[..]), snum), 3))).parse(i)
}

/// `IPv6-hex = 1*4HEXDIG`.
fn ipv6_hex(i: &[u8]) -> R<'_, &[u8]> {
    run(1, 4, is_hexdig)(i)
}

/// `n` to `m` IPv6-hex groups separated by ":", not followed by more
/// (the `[IPv6-hex *k(":" IPv6-hex)]` halves of the compressed forms).
fn hex_groups(max: usize) -> impl FnMut(&[u8]) -> R<'_, usize> {
    move |i| {
        let (mut rest, first) = opt(ipv6_hex).parse(i)?;
        if first.is_none() {
            return Ok((i, 0));
        }
        let mut n = 1;
        while n < max {
            match preceded(tag(&b":"[..]), ipv6_hex).parse(rest) {
                // a group directly followed by "." is the start of an IPv4 tail
                Ok((r, _)) if !r.starts_with(b".") => {
                    rest = r;
                    n += 1;
                }
                _ => break,
            }
        }
        Ok((rest, n))
    }
}

/// `IPv6-full = IPv6-hex 7(":" IPv6-hex)`.
fn ipv6_full(i: &[u8]) -> R<'_, &[u8]> {
    recognize((
        ipv6_hex,
        nom::multi::count(preceded(tag(&b":"[..]), ipv6_hex), 7),
    ))
    .parse(i)
}

/// ```text
/// IPv6-comp = [IPv6-hex *5(":" IPv6-hex)] "::"
///             [IPv6-hex *5(":" IPv6-hex)]
///             ; The "::" represents at least 2 16-bit groups of zeros.
///             ; No more than 6 groups in addition to the "::" may be present.
/// ```
fn ipv6_comp(i: &[u8]) -> R<'_, &[u8]> {
    recognize(verify(
        (hex_groups(6), tag(&b"::"[..]), hex_groups(6)),
        |(a, _, b): &(usize, &[u8], usize)| a + b <= 6,
    ))
    .parse(i)
}

/// `IPv6v4-full = IPv6-hex 5(":" IPv6-hex) ":" IPv4-address-literal`.
fn ipv6v4_full(i: &[u8]) -> R<'_, &[u8]> {
    recognize((
        ipv6_hex,
        nom::multi::count(preceded(tag(&b":"[..]), ipv6_hex), 5),
        tag(&b":"[..]),
        ipv4_address_literal,
    ))
    .parse(i)
}

/// ```text
/// IPv6v4-comp = [IPv6-hex *3(":" IPv6-hex)] "::"
///               [IPv6-hex *3(":" IPv6-hex) ":"] IPv4-address-literal
///               ; No more than 4 groups in addition to the "::" and
///               ; IPv4-address-literal may be present.
/// ```
fn ipv6v4_comp(i: &[u8]) -> R<'_, &[u8]> {
    recognize(verify(
        (
            hex_groups(4),
            tag(&b"::"[..]),
            opt(nom::sequence::terminated(hex_groups(4), tag(&b":"[..]))),
            ipv4_address_literal,
        ),
        |(a, _, b, _): &(usize, &[u8], Option<usize>, &[u8])| a + b.unwrap_or(0) <= 4,
    ))
    .parse(i)
}

/// `IPv6-addr = IPv6-full / IPv6-comp / IPv6v4-full / IPv6v4-comp`
/// (tried longest first: the IPv4 forms before the plain ones, since a
/// plain form can match a prefix of them).
fn ipv6_addr(i: &[u8]) -> R<'_, &[u8]> {
    let end = |p: fn(&[u8]) -> R<'_, &[u8]>| {
        move |i| nom::sequence::terminated(p, nom::combinator::peek(tag(&b"]"[..]))).parse(i)
    };
    alt((
        end(ipv6v4_full),
        end(ipv6v4_comp),
        end(ipv6_full),
        end(ipv6_comp),
    ))
    .parse(i)
}

/// `IPv6-address-literal = "IPv6:" IPv6-addr`.
fn ipv6_address_literal(i: &[u8]) -> R<'_, &[u8]> {
    recognize(preceded(tag_no_case(&b"IPv6:"[..]), ipv6_addr)).parse(i)
}

/// ```text
/// General-address-literal = Standardized-tag ":" 1*dcontent
/// Standardized-tag = Ldh-str
/// dcontent = %d33-90 / %d94-126   ; Printable US-ASCII excl. "[", "\", "]"
/// ```
fn general_address_literal(i: &[u8]) -> R<'_, &[u8]> {
    recognize((
        ldh_str,
        tag(&b":"[..]),
        take_while1(|c| (33..=90).contains(&c) || (94..=126).contains(&c)),
    ))
    .parse(i)
}

/// ```text
/// address-literal = "[" ( IPv4-address-literal /
///                   IPv6-address-literal /
///                   General-address-literal ) "]"
/// ```
/// (An `IPv6:` tag that fails the IPv6 grammar is not read as a general
/// literal: "IPv6" is the registered tag of 4.1.3.)
pub fn address_literal(i: &[u8]) -> R<'_, &[u8]> {
    recognize(delimited(
        tag(&b"["[..]),
        address_literal_inner,
        tag(&b"]"[..]),
    ))
    .parse(i)
}

/// The three alternatives inside the brackets of `address-literal`.
fn address_literal_inner(i: &[u8]) -> R<'_, &[u8]> {
    if i.len() >= 5 && i[..5].eq_ignore_ascii_case(b"IPv6:") {
        return ipv6_address_literal(i);
    }
    alt((
        nom::sequence::terminated(ipv4_address_literal, nom::combinator::peek(tag(&b"]"[..]))),
        general_address_literal,
    ))
    .parse(i)
}

/// ```text
/// atext = ALPHA / DIGIT / "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" /
///         "-" / "/" / "=" / "?" / "^" / "_" / "`" / "{" / "|" / "}" / "~"
///         ; RFC 5322 3.2.3
/// ```
pub fn is_atext(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&c)
}

/// `Atom = 1*atext`, and `atext =/ UTF8-non-ascii` with SMTPUTF8
/// (RFC 6531 3.3).
pub fn atom(utf8: bool) -> impl FnMut(&[u8]) -> R<'_, &[u8]> {
    move |i| {
        if utf8 {
            recognize(many1_unit(alt((take_while1(is_atext), utf8_non_ascii)))).parse(i)
        } else {
            take_while1(is_atext).parse(i)
        }
    }
}

/// `Dot-string = Atom *("."  Atom)`.
pub fn dot_string(utf8: bool) -> impl FnMut(&[u8]) -> R<'_, &[u8]> {
    move |i| recognize(separated_list1(tag(&b"."[..]), atom(utf8))).parse(i)
}

/// ```text
/// Quoted-string = DQUOTE *QcontentSMTP DQUOTE
/// QcontentSMTP = qtextSMTP / quoted-pairSMTP
/// quoted-pairSMTP = %d92 %d32-126
/// qtextSMTP = %d32-33 / %d35-91 / %d93-126
/// qtextSMTP =/ UTF8-non-ascii   ; RFC 6531 3.3
/// ```
/// Returns the decoded content (quotes removed, quoted pairs resolved).
pub fn quoted_string(utf8: bool) -> impl FnMut(&[u8]) -> R<'_, Vec<u8>> {
    move |i| {
        let qtext = take_while1(|c| {
            c == 32 || c == 33 || (35..=91).contains(&c) || (93..=126).contains(&c)
        });
        let pair = preceded(
            tag(&b"\\"[..]),
            recognize(verify(nom::number::complete::u8, |c: &u8| {
                (32..=126).contains(c)
            })),
        );
        let utf = move |i| {
            if utf8 {
                utf8_non_ascii(i)
            } else {
                nom::combinator::fail().parse(i)
            }
        };
        delimited(
            tag(&b"\""[..]),
            many0(alt((qtext, pair, utf))).map(|parts: Vec<&[u8]>| parts.concat()),
            tag(&b"\""[..]),
        )
        .parse(i)
    }
}

/// `Local-part = Dot-string / Quoted-string`; decoded.
pub fn local_part(utf8: bool) -> impl FnMut(&[u8]) -> R<'_, Vec<u8>> {
    move |i| alt((dot_string(utf8).map(<[u8]>::to_vec), quoted_string(utf8))).parse(i)
}

/// `String = Atom / Quoted-string`; decoded.
pub fn string(utf8: bool) -> impl FnMut(&[u8]) -> R<'_, Vec<u8>> {
    move |i| alt((atom(utf8).map(<[u8]>::to_vec), quoted_string(utf8))).parse(i)
}

/// `Mailbox = Local-part "@" ( Domain / address-literal )`; decoded as
/// `local@domain` (local part decoded, domain as sent), with whether it is
/// over the RFC 5321 4.5.3.1.1-2 minimum limits as sent (local part 64,
/// domain 255 octets), which a server MAY enforce or not.
pub fn mailbox(utf8: bool) -> impl FnMut(&[u8]) -> R<'_, (Vec<u8>, bool)> {
    move |i| {
        (
            nom::combinator::consumed(local_part(utf8)),
            tag(&b"@"[..]),
            alt((domain(utf8), address_literal)),
        )
            .map(|((raw, mut l), _, d)| {
                let over = raw.len() > 64 || d.len() > 255;
                l.push(b'@');
                l.extend_from_slice(d);
                (l, over)
            })
            .parse(i)
    }
}

/// ```text
/// A-d-l = At-domain *( "," At-domain )
/// At-domain = "@" Domain
/// ```
fn a_d_l(utf8: bool) -> impl FnMut(&[u8]) -> R<'_, &[u8]> {
    move |i| {
        recognize(separated_list1(
            tag(&b","[..]),
            preceded(tag(&b"@"[..]), domain(utf8)),
        ))
        .parse(i)
    }
}

/// `Path = "<" [ A-d-l ":" ] Mailbox ">"` (the source route is read and
/// dropped, RFC 5321 Appendix C / 4.1.1.3); with whether it is over the
/// limits (as [`mailbox`], and the 256-octet path of 4.5.3.1.3).
pub fn path(utf8: bool) -> impl FnMut(&[u8]) -> R<'_, (Vec<u8>, bool)> {
    move |i| {
        nom::combinator::consumed(delimited(
            tag(&b"<"[..]),
            preceded(opt((a_d_l(utf8), tag(&b":"[..]))), mailbox(utf8)),
            tag(&b">"[..]),
        ))
        .map(|(raw, (m, over))| (m, over || raw.len() > 256))
        .parse(i)
    }
}

/// `Reverse-path = Path / "<>"` (`<>` decodes to the empty path).
pub fn reverse_path(utf8: bool) -> impl FnMut(&[u8]) -> R<'_, (Vec<u8>, bool)> {
    move |i| alt((path(utf8), tag(&b"<>"[..]).map(|_| (Vec::new(), false)))).parse(i)
}

/// `"<Postmaster@" Domain ">" / "<Postmaster>" / Forward-path` of `rcpt`
/// (4.1.1.3): the bare form decodes to `postmaster`; the other two are
/// ordinary mailboxes.
pub fn rcpt_path(utf8: bool) -> impl FnMut(&[u8]) -> R<'_, (Vec<u8>, bool)> {
    move |i| {
        alt((
            tag_no_case(&b"<Postmaster>"[..]).map(|_| (b"postmaster".to_vec(), false)),
            path(utf8),
        ))
        .parse(i)
    }
}

/// A parameter as sent: keyword and optional value.
pub type RawParam<'a> = (&'a [u8], Option<&'a [u8]>);

/// ```text
/// esmtp-param = esmtp-keyword ["=" esmtp-value]
/// esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
/// esmtp-value = 1*(%d33-60 / %d62-126)
/// esmtp-value =/ UTF8-non-ascii   ; RFC 6531 3.3
/// ```
pub fn esmtp_param(utf8: bool) -> impl FnMut(&[u8]) -> R<'_, RawParam<'_>> {
    move |i| {
        let keyword = recognize((
            verify(nom::number::complete::u8, |c: &u8| is_let_dig(*c)),
            take_while(|c| is_let_dig(c) || c == b'-'),
        ));
        let ascii = take_while1(|c| (33..=60).contains(&c) || (62..=126).contains(&c));
        let utf = move |i| {
            if utf8 {
                utf8_non_ascii(i)
            } else {
                nom::combinator::fail().parse(i)
            }
        };
        let value = recognize(many1_unit(alt((ascii, utf))));
        (keyword, opt(preceded(tag(&b"="[..]), value))).parse(i)
    }
}

/// `Mail-parameters = esmtp-param *(SP esmtp-param)` (and
/// `Rcpt-parameters`, the same rule).
pub fn parameters(utf8: bool) -> impl FnMut(&[u8]) -> IResult<&[u8], Vec<RawParam<'_>>> {
    move |i| separated_list1(tag(&b" "[..]), esmtp_param(utf8)).parse(i)
}
