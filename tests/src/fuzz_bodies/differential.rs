//! `differential`: one command line through three parsers.
//!
//! 1. The nom reference parser ([`crate::oracle`], the RFC ABNF rule by
//!    rule): it and this crate must agree on accept/reject and on the
//!    decoded meaning ([`crate::oracle::check`]; its known disagreements are
//!    `oracle::DISAGREEMENTS`).
//! 2. The `smtp-proto` crate (0.2.5, the peer of the benches): lines both
//!    accept must agree on the verb, the paths and every parameter both
//!    understand, compared both ways (a value one side has and the other
//!    lacks is a difference), with decoded values (quoted strings, xtext,
//!    RFC 3339 times as Unix seconds). A line only one of the two accepts
//!    must fall under a divergence of [`DIVERGENCES`], where each carries
//!    its RFC reason; anything else fails.
//!
//! [`DIVERGENCES`] is the one place that documents the divergences; the
//! comparison code tolerates a difference only through `tolerated`, which
//! refuses ids not in the table.

use std::borrow::Cow;

use smtp_proto_peer as peer;
use smtp_sansio::Command;
use smtp_sansio::{Body, ByMode, Hold, MailAuth, Ret};
use smtp_sansio::{CommandOptions, ForwardPath, ParseError, ReversePath};

use crate::oracle::{self, Verdict};

/// Known divergences between the two parsers, with the reason each is
/// accepted. `id` is what the comparison code names.
pub const DIVERGENCES: &[(&str, &str)] = &[
    (
        "quotes-in-etrn",
        "an ETRN argument holding a DQUOTE: we keep it as sent (any %x21-7E for \
     a queue name, RFC 1985 5: not a Quoted-string), the peer reads every \
     DQUOTE as quoting and returns the text without them",
    ),
    (
        "xtext-octets-as-latin1",
        "ENVID, AUTH= and ORCPT values: a +HH escape above 7F is the octet HH \
     for us (RFC 3461 4: xtext encodes octets), the peer decodes into a \
     String and stores the code point U+00HH (UTF-8 C2/C3 xx); compared \
     after mapping our octets the same way",
    ),
    (
        "peer-accepts-outside-abnf",
        "only the peer accepts, and the nom reference parser (the RFC ABNF: \
     RFC 5321 4.1.1-4.1.3, 1870, 3461, 6531, 4954, 3030) refuses the line \
     too: the peer is lenient beyond the grammar (bare LF as end of line, \
     RFC 5321 2.3.8; spaces around the colon, missing brackets, 4.1.2; \
     unescaped or unbalanced quotes; values outside their extension's \
     ABNF)",
    ),
    (
        "peer-refuses-abnf-valid",
        "only we accept, and the nom reference parser accepts too with the \
     same meaning: the line is valid RFC ABNF the peer does not take \
     (IPv6 and general address literals, RFC 5321 4.1.3; quoted local \
     parts with specials, 4.1.2; SASL mechanisms outside its list, RFC 4954 \
     4 / RFC 4422 3.1; source routes, Appendix C; SMTPUTF8 rules, RFC 6531)",
    ),
    (
        "bare-line-ending",
        "a CR or LF before the line's CRLF: RFC 5321 2.3.8 (only CRLF ends a \
     line; a bare one MUST NOT be read as one): we refuse the line, the \
     peer ends the line at any LF and skips CRs",
    ),
    (
        "nul-or-control",
        "a NUL or other control octet in the line: RFC 5321 4.1.2 admits none \
     in any command argument (and 4.1.1: commands are US-ASCII text); we \
     refuse, the peer reads them as text",
    ),
    (
        "unknown-parameter",
        "a MAIL/RCPT parameter of no extension we know (or of the other \
     command): we parse it and the server machine answers 555 (RFC 5321 \
     4.1.1.11); the peer refuses the line itself",
    ),
    (
        "over-limits",
        "a local part over 64, a domain over 255, a path over 256 or a line \
     over 512 octets (plus extension increments): RFC 5321 4.5.3.1 \
     minimum limits we enforce by default (configurable); the peer has \
     none",
    ),
    (
        "unmodelled-extension-value",
        "a value of ETRN (RFC 1985), BURL (RFC 4468), REQUIRETLS (RFC 8689), \
     MT-PRIORITY (RFC 6710), FUTURERELEASE (RFC 4865), DELIVERBY (RFC \
     2852), RRVS (RFC 7293) or an RFC 6533 utf-8 ORCPT, which the \
     reference parser does not transliterate: the two disagree on a \
     value's grammar (e.g. the peer's sign and range handling of numbers, \
     its timestamp forms); checked against the RFC ABNF case by case in \
     the conformance suite instead",
    ),
];

/// Our decoded xtext as the peer stores it: each octet as the code point
/// of the same value, UTF-8 encoded (see `xtext-octets-as-latin1`).
fn as_peer_xtext(decoded: Vec<u8>) -> Vec<u8> {
    if decoded.is_ascii() || !tolerated("xtext-octets-as-latin1") {
        return decoded;
    }
    decoded
        .iter()
        .map(|&b| char::from(b))
        .collect::<String>()
        .into_bytes()
}

/// Whether divergence `id` is documented in [`DIVERGENCES`]; panics if the
/// comparison names one that is not (so the table stays the one place).
fn tolerated(id: &str) -> bool {
    assert!(
        DIVERGENCES.iter().any(|(d, _)| *d == id),
        "divergence {id:?} is not documented in DIVERGENCES"
    );
    true
}

type PeerRequest<'a> = peer::Request<Cow<'a, str>>;

/// Our mailbox as the peer reports it: the decoded local part (quotes
/// removed, quoted pairs resolved), `@`, the domain as sent.
fn mailbox_text(m: &smtp_sansio::Mailbox<'_>) -> Vec<u8> {
    let mut v = m.local.decoded().into_owned();
    v.push(b'@');
    v.extend_from_slice(m.domain.as_bytes());
    v
}

fn compare(ours: &Command<'_>, theirs: &PeerRequest<'_>, line: &[u8]) {
    let ctx = || String::from_utf8_lossy(line).into_owned();
    assert_eq!(ours.verb(), theirs.name(), "verb differs: {}", ctx());
    match (ours, theirs) {
        (Command::Ehlo { domain }, peer::Request::Ehlo { host })
        | (Command::Helo { domain }, peer::Request::Helo { host })
        | (Command::Lhlo { domain }, peer::Request::Lhlo { host }) => {
            assert_eq!(domain.as_bytes(), host.as_bytes(), "domain: {}", ctx());
        }
        (Command::Mail { from, params }, peer::Request::Mail { from: f }) => {
            let path = match from {
                ReversePath::Null => Vec::new(),
                ReversePath::Mailbox(m) => mailbox_text(m),
            };
            assert_eq!(path, f.address.as_bytes(), "reverse path: {}", ctx());
            // both ways: the peer's 0 is "absent" (SIZE=0 means the same)
            assert_eq!(params.size.unwrap_or(0) as usize, f.size, "SIZE: {}", ctx());
            let flag = |bit: u64| f.flags & bit != 0;
            assert_eq!(
                params.body == Some(Body::SevenBit),
                flag(peer::MAIL_BODY_7BIT)
            );
            assert_eq!(
                params.body == Some(Body::EightBitMime),
                flag(peer::MAIL_BODY_8BITMIME)
            );
            assert_eq!(
                params.body == Some(Body::BinaryMime),
                flag(peer::MAIL_BODY_BINARYMIME)
            );
            assert_eq!(params.ret() == Some(Ret::Full), flag(peer::MAIL_RET_FULL));
            assert_eq!(params.ret() == Some(Ret::Hdrs), flag(peer::MAIL_RET_HDRS));
            assert_eq!(
                params.smtputf8,
                flag(peer::MAIL_SMTPUTF8),
                "SMTPUTF8: {}",
                ctx()
            );
            assert_eq!(
                params.requiretls,
                flag(peer::MAIL_REQUIRETLS),
                "REQUIRETLS: {}",
                ctx()
            );
            let envid = params
                .envid()
                .map(|x| as_peer_xtext(x.decode().into_owned()));
            assert_eq!(
                envid.as_deref(),
                f.env_id.as_ref().map(|s| s.as_bytes()),
                "ENVID: {}",
                ctx()
            );
            match (params.auth(), &f.auth) {
                (None, None) => {}
                (Some(MailAuth::Unknown), Some(a)) => assert_eq!(a, "<>", "AUTH=: {}", ctx()),
                (Some(MailAuth::Mailbox(x)), Some(a)) => {
                    assert_eq!(
                        &as_peer_xtext(x.decode().into_owned())[..],
                        a.as_bytes(),
                        "AUTH=: {}",
                        ctx()
                    )
                }
                (a, b) => panic!("AUTH= differs: {a:?} vs {b:?}: {}", ctx()),
            }
            // both ways; the peer's 0 stands for "absent"
            assert_eq!(
                params.mt_priority().map_or(0, i64::from),
                f.mt_priority,
                "MT-PRIORITY: {}",
                ctx()
            );
            let hold_for = match params.hold() {
                Some(Hold::For(n)) => n,
                _ => 0,
            };
            assert_eq!(hold_for, f.hold_for, "HOLDFOR: {}", ctx());
            let hold_until = match params.hold() {
                Some(Hold::Until(t)) => rfc3339_seconds(t).expect("our HOLDUNTIL is RFC 3339"),
                _ => 0,
            };
            assert_eq!(hold_until, f.hold_until as i64, "HOLDUNTIL: {}", ctx());
            let by = params.by();
            assert_eq!(
                by.map_or(0, |b| i64::from(b.time)),
                f.by,
                "BY time: {}",
                ctx()
            );
            assert_eq!(
                by.is_some_and(|b| b.mode == ByMode::Notify),
                flag(peer::MAIL_BY_NOTIFY),
                "BY mode: {}",
                ctx()
            );
            assert_eq!(
                by.is_some_and(|b| b.mode == ByMode::Return),
                flag(peer::MAIL_BY_RETURN),
                "BY mode: {}",
                ctx()
            );
            assert_eq!(
                by.is_some_and(|b| b.trace),
                flag(peer::MAIL_BY_TRACE),
                "BY T: {}",
                ctx()
            );
        }
        (Command::Rcpt { to, params }, peer::Request::Rcpt { to: r }) => {
            let path = match to {
                ForwardPath::Postmaster => Vec::new(),
                ForwardPath::Mailbox(m) => mailbox_text(m),
            };
            assert_eq!(path, r.address.as_bytes(), "forward path: {}", ctx());
            let flag = |bit: u64| r.flags & bit != 0;
            let n = params.notify;
            assert_eq!(
                n.is_some_and(|n| n.is_never()),
                flag(peer::RCPT_NOTIFY_NEVER)
            );
            assert_eq!(
                n.is_some_and(|n| n.success()),
                flag(peer::RCPT_NOTIFY_SUCCESS)
            );
            assert_eq!(
                n.is_some_and(|n| n.failure()),
                flag(peer::RCPT_NOTIFY_FAILURE)
            );
            assert_eq!(n.is_some_and(|n| n.delay()), flag(peer::RCPT_NOTIFY_DELAY));
            let orcpt = params
                .orcpt()
                .map(|o| as_peer_xtext(o.decoded().into_owned()));
            assert_eq!(
                orcpt.as_deref(),
                r.orcpt.as_ref().map(|s| s.as_bytes()),
                "ORCPT: {}",
                ctx()
            );
            // RRVS (RFC 7293): time as Unix seconds, mode R (the default) or C
            match params.rrvs() {
                None => {
                    assert_eq!(r.rrvs, 0, "RRVS: {}", ctx());
                    assert!(!flag(peer::RCPT_RRVS_REJECT) && !flag(peer::RCPT_RRVS_CONTINUE));
                }
                Some(v) => {
                    let t = rfc3339_seconds(v.time).expect("our RRVS time is RFC 3339");
                    assert_eq!(t, r.rrvs, "RRVS time: {}", ctx());
                    let cont = v.mode.is_some_and(|m| m.eq_ignore_ascii_case(&b'C'));
                    assert_eq!(cont, flag(peer::RCPT_RRVS_CONTINUE), "RRVS mode: {}", ctx());
                    assert_eq!(!cont, flag(peer::RCPT_RRVS_REJECT), "RRVS mode: {}", ctx());
                }
            }
        }
        (
            Command::Bdat { size, last },
            peer::Request::Bdat {
                chunk_size,
                is_last,
            },
        ) => {
            assert_eq!(*size as usize, *chunk_size, "BDAT size: {}", ctx());
            assert_eq!(last, is_last, "BDAT LAST: {}", ctx());
        }
        (
            Command::Auth {
                initial_response,
                mechanism,
            },
            peer::Request::Auth {
                initial_response: ir,
                mechanism: m,
            },
        ) => {
            if let Some(bit) = peer_mechanism(mechanism) {
                assert_eq!(bit, *m, "AUTH mechanism: {}", ctx());
            }
            assert_eq!(
                initial_response.map_or(&b""[..], |r| *r.expose()),
                ir.as_bytes(),
                "AUTH response: {}",
                ctx()
            );
        }
        (Command::Etrn { node }, peer::Request::Etrn { name })
            if !(node.contains(&b'"') && tolerated("quotes-in-etrn")) =>
        {
            assert_eq!(*node, name.as_bytes(), "ETRN: {}", ctx());
        }
        (Command::Burl { url, last }, peer::Request::Burl { uri, is_last }) => {
            assert_eq!(*url, uri.as_bytes(), "BURL url: {}", ctx());
            assert_eq!(last, is_last, "BURL LAST: {}", ctx());
        }
        (Command::Vrfy { arg, .. }, peer::Request::Vrfy { value })
        | (Command::Expn { arg, .. }, peer::Request::Expn { value }) => {
            assert_eq!(
                decoded_string(arg),
                value.as_bytes(),
                "VRFY/EXPN: {}",
                ctx()
            );
        }
        (Command::Noop { arg }, peer::Request::Noop { value })
        | (Command::Help { arg }, peer::Request::Help { value }) => {
            assert_eq!(
                decoded_string(arg.unwrap_or(b"")),
                value.as_bytes(),
                "NOOP/HELP: {}",
                ctx()
            );
        }
        _ => {}
    }
}

/// A VRFY/EXPN/NOOP/HELP argument decoded (RFC 5321 4.1.2 `String = Atom
/// / Quoted-string`, or a mailbox whose local part is one, 3.5.1): a
/// leading Quoted-string loses its DQUOTEs and the backslashes of its
/// quoted pairs, what follows it (`@domain`) is kept as sent.
fn decoded_string(arg: &[u8]) -> Vec<u8> {
    let Some(inner) = arg.strip_prefix(b"\"") else {
        return arg.to_vec();
    };
    let mut out = Vec::with_capacity(arg.len());
    let mut esc = false;
    for (i, &c) in inner.iter().enumerate() {
        if esc {
            esc = false;
            out.push(c);
        } else if c == b'\\' {
            esc = true;
        } else if c == b'"' {
            out.extend_from_slice(&inner[i + 1..]);
            return out;
        } else {
            out.push(c);
        }
    }
    arg.to_vec()
}

/// The peer's bit for a SASL mechanism name (its IANA list), for the names
/// both know.
fn peer_mechanism(name: &[u8]) -> Option<u64> {
    let n = name.to_ascii_uppercase();
    Some(match &n[..] {
        b"PLAIN" => peer::AUTH_PLAIN,
        b"LOGIN" => peer::AUTH_LOGIN,
        b"CRAM-MD5" => peer::AUTH_CRAM_MD5,
        b"DIGEST-MD5" => peer::AUTH_DIGEST_MD5,
        b"XOAUTH2" => peer::AUTH_XOAUTH2,
        b"OAUTHBEARER" => peer::AUTH_OAUTHBEARER,
        b"EXTERNAL" => peer::AUTH_EXTERNAL,
        b"ANONYMOUS" => peer::AUTH_ANONYMOUS,
        b"GSSAPI" => peer::AUTH_GSSAPI,
        b"NTLM" => peer::AUTH_NTLM,
        b"SCRAM-SHA-1" => peer::AUTH_SCRAM_SHA_1,
        b"SCRAM-SHA-256" => peer::AUTH_SCRAM_SHA_256,
        _ => return None,
    })
}

/// An RFC 3339 5.6 `date-time` (as HOLDUNTIL, RFC 4865, and RRVS, RFC
/// 7293, carry it) as Unix seconds; the fraction is dropped.
fn rfc3339_seconds(t: &[u8]) -> Option<i64> {
    let num = |r: core::ops::Range<usize>| -> Option<i64> {
        let d = t.get(r)?;
        d.iter()
            .all(u8::is_ascii_digit)
            .then(|| d.iter().fold(0i64, |a, &c| a * 10 + i64::from(c - b'0')))
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut i = 19;
    if t.get(i) == Some(&b'.') {
        i += 1;
        while t.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    let offset = match t.get(i)? {
        b'Z' | b'z' => 0,
        sign @ (b'+' | b'-') => {
            let o = num(i + 1..i + 3)? * 3600 + num(i + 4..i + 6)? * 60;
            if *sign == b'+' { o } else { -o }
        }
        _ => return None,
    };
    // days from civil (proleptic Gregorian), 1970-01-01 = 0
    let (yy, m) = if mo <= 2 {
        (y - 1, mo + 9)
    } else {
        (y, mo - 3)
    };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let doy = (153 * m + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    Some(days * 86400 + h * 3600 + mi * 60 + s - offset)
}

/// Which documented divergence explains that only one of the two parsers
/// accepts `line` (`ours`: whether we are the one), from the line and the
/// reference parser's verdict; `None` if none does.
fn one_sided(line: &[u8], ours: bool, ours_err: Option<ParseError>) -> Option<&'static str> {
    let body = &line[..line.len() - 2];
    let id = if body.iter().any(|&c| c == b'\r' || c == b'\n') {
        "bare-line-ending"
    } else if body.iter().any(|&c| c < 0x20 || c == 0x7F) {
        "nul-or-control"
    } else {
        match (ours, oracle::parse_command(line, false)) {
            (false, Verdict::Reject) => "peer-accepts-outside-abnf",
            (true, Verdict::Accept(_)) => "peer-refuses-abnf-valid",
            (true, Verdict::Reject)
                if oracle::known_disagreement(line, false) == Some("unknown-parameter") =>
            {
                "unknown-parameter"
            }
            (true, Verdict::Reject) if oracle::known_disagreement(line, false).is_some() => {
                // a listed oracle disagreement where we side with the peer's
                // refusal... not possible: we accept here; the oracle's
                // table documents it (route literal, HELO literal, AUTH case)
                "peer-refuses-abnf-valid"
            }
            (false, Verdict::Accept(_)) if oracle::known_disagreement(line, true).is_some() => {
                "peer-accepts-outside-abnf"
            }
            (_, Verdict::OutOfScope) => {
                if ours_err.is_some_and(|e| {
                    matches!(
                        e,
                        ParseError::LocalPartTooLong
                            | ParseError::DomainTooLong
                            | ParseError::PathTooLong
                            | ParseError::LineTooLong
                    )
                }) {
                    "over-limits"
                } else {
                    "unmodelled-extension-value"
                }
            }
            _ => return None,
        }
    };
    tolerated(id).then_some(id)
}

/// The body: the input is one command line (cut after its first CRLF; a
/// CRLF is added if there is none).
pub fn differential(data: &[u8]) {
    let line = match data.windows(2).position(|w| w == b"\r\n") {
        Some(p) => data[..p + 2].to_vec(),
        None => [data, b"\r\n"].concat(),
    };
    // 1. the RFC ABNF (nom reference parser) against ours
    if let Err(e) = oracle::check(&line, false) {
        panic!("reference parser: {e}");
    }
    // 2. the peer against ours
    let opts = CommandOptions::new();
    let ours = Command::parse(&line, &opts);
    let copy = line.clone();
    let theirs = PeerRequest::parse(&mut copy.iter());
    let show = || String::from_utf8_lossy(&line).escape_debug().to_string();
    match (&ours, &theirs) {
        (Ok(o), Ok(t)) => compare(o, t, &line),
        (Err(_), Err(_)) => {}
        (Ok(o), Err(e)) => {
            assert!(
                one_sided(&line, true, None).is_some(),
                "only we accept {}: {o:?}; peer: {e:?}",
                show()
            );
        }
        (Err(e), Ok(t)) => {
            assert!(
                one_sided(&line, false, Some(e.error)).is_some(),
                "only the peer accepts {}: {t:?}; ours: {e:?}",
                show()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_answers() {
        assert_eq!(rfc3339_seconds(b"1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            rfc3339_seconds(b"2026-08-10T03:00:00Z"),
            Some(1_786_330_800)
        );
        assert_eq!(
            rfc3339_seconds(b"2026-08-10T03:00:00.512z"),
            Some(1_786_330_800)
        );
        assert_eq!(
            rfc3339_seconds(b"1997-11-24t14:22:01-08:00"),
            Some(880_410_121)
        );
        assert_eq!(
            rfc3339_seconds(b"2000-02-29T00:00:00+01:00"),
            Some(951_778_800)
        );
        assert_eq!(rfc3339_seconds(b"2000-02-29T00:00:00"), None);
    }

    #[test]
    fn decoded_string_known_answers() {
        assert_eq!(decoded_string(b"bob"), b"bob");
        assert_eq!(decoded_string(b"\"a b\""), b"a b");
        assert_eq!(decoded_string(b"\"a\\\"b\\\\\""), b"a\"b\\");
        assert_eq!(decoded_string(b"\"a b\"@example.net"), b"a b@example.net");
        assert_eq!(decoded_string(b"\"unterminated"), b"\"unterminated");
    }

    #[test]
    fn one_sided_lines_need_a_documented_reason() {
        // the peer's leniency, refused by the RFC grammar and by us
        differential(b"MAIL FROM: <a@example.org>\r\n");
        differential(b"RCPT TO:<a@example.org>\n");
        // valid ABNF the peer refuses
        differential(b"RCPT TO:<u@[IPv6:2001:db8::1]>\r\n");
        assert_eq!(
            one_sided(b"MAIL FROM: <a@example.org>\r\n", false, None),
            Some("peer-accepts-outside-abnf")
        );
        assert_eq!(
            one_sided(b"RCPT TO:<a@b>\rX\r\n", true, None),
            Some("bare-line-ending")
        );
        // a line the RFC grammar refuses cannot be excused when we accept it
        assert_eq!(one_sided(b"MAIL FROM:<a@b> SIZE=x\r\n", true, None), None);
    }
}
