//! `ehlo`: raw bytes to the EHLO reply parser ([`EhloReply::parse`]).
//! A parsed reply's summary agrees with its capability lines, and the
//! reply rendered again through the owned [`Capabilities`] builder parses
//! back to the same domain, greeting and capabilities.
//!
//! Known refusals of the builder (each documented in
//! `smtp_sansio::capability`), checked to be the only ones:
//! - a legacy `AUTH=mech` line (read as [`Capability::Other`] with an `=`
//!   in its keyword) is not rendered: it is not an `ehlo-keyword`;
//! - a first line whose text starts like an enhanced status code (a domain
//!   such as `2.0.0` followed by SP) would read back differently through the
//!   generic reply parser, so [`smtp_sansio::OwnedReply`] refuses it;
//! - non-UTF-8 domain or greeting text cannot be put in the builder's
//!   `str` fields.
//!
//! Parameters received with several SPs between them are compared as
//! SP-separated tokens and rendered with one SP (the builder writes the
//! strict `ehlo-line` form).

use std::borrow::Cow;

use smtp_sansio::EhloParams;
use smtp_sansio::{AuthMechanisms, Capabilities, Capability, EhloReply, Extensions, Limits};

/// `s` with runs of SP collapsed (the parser already trims both ends).
fn single_spaced(s: &[u8]) -> Vec<u8> {
    EhloParams::new(s).collect::<Vec<_>>().join(&b' ')
}

/// Whether `text` starts with `d.d+.d+ SP` with class 2 (what the
/// generic reply parser reads as an enhanced status code of a 250).
fn looks_enhanced(text: &[u8]) -> bool {
    let Some((&c, rest)) = text.split_first() else {
        return false;
    };
    // Only a code of the reply's own class (2 for a 250) reads back as one;
    // another class reads back as plain text (RFC 5321 4.2), so the encoder
    // writes it.
    if c != b'2' {
        return false;
    }
    let mut parts = rest.splitn(2, |&b| b == b' ');
    let (Some(code), Some(_)) = (parts.next(), parts.next()) else {
        return false;
    };
    // code = ".subject.detail", then the SP.
    let fields: Vec<&[u8]> = code.split(|&b| b == b'.').collect();
    fields.len() == 3
        && fields[0].is_empty()
        && fields[1..]
            .iter()
            .all(|f| (1..=3).contains(&f.len()) && f.iter().all(u8::is_ascii_digit))
}

/// Capabilities compared with parameters as token lists.
fn same(a: &Capability<'_>, b: &Capability<'_>) -> bool {
    let toks = |p: &[u8]| EhloParams::new(p).map(<[u8]>::to_vec).collect::<Vec<_>>();
    match (a, b) {
        (Capability::Auth(x), Capability::Auth(y)) => toks(x.as_bytes()) == toks(y.as_bytes()),
        (Capability::MtPriority(x), Capability::MtPriority(y))
        | (Capability::Burl(x), Capability::Burl(y)) => {
            x.map(toks).unwrap_or_default() == y.map(toks).unwrap_or_default()
        }
        (
            Capability::Other {
                keyword: k1,
                params: p1,
            },
            Capability::Other {
                keyword: k2,
                params: p2,
            },
        ) => k1 == k2 && toks(p1) == toks(p2),
        _ => a == b,
    }
}

/// The body.
pub fn ehlo(data: &[u8]) {
    for limits in [
        Limits::RFC,
        Limits {
            reply_lines: 4,
            ..Limits::RFC
        },
    ] {
        let Ok((reply, n)) = EhloReply::parse(data, &limits) else {
            continue;
        };
        assert_eq!(reply.as_bytes(), &data[..n]);
        assert_eq!(reply.reply().code().get(), 250);
        assert!(!reply.domain().is_empty());
        let caps: Vec<Capability<'_>> = reply.capabilities().collect();
        // Blank capability lines (smtp-sink's final `250 `) advertise nothing.
        let blank = reply
            .reply()
            .lines()
            .skip(1)
            .filter(|l| l.iter().all(|&b| b == b' '))
            .count();
        assert_eq!(caps.len() + 1 + blank, reply.line_count());
        // The summary is the union of the typed lines; SIZE and AUTH come
        // from the first line of their kind.
        let mut ext = Extensions::NONE;
        for c in &caps {
            if let Some(e) = c.extension() {
                ext.insert(e);
            }
        }
        assert_eq!(reply.extensions(), ext);
        let first_size = caps.iter().find_map(|c| match c {
            Capability::Size(s) => Some(*s),
            _ => None,
        });
        assert_eq!(reply.size(), first_size.flatten());
        let first_auth = caps.iter().find_map(|c| match c {
            Capability::Auth(a) => Some(*a),
            _ => None,
        });
        assert_eq!(
            reply.auth_mechanisms(),
            first_auth.unwrap_or(AuthMechanisms::new(b""))
        );

        // Render again through the owned builder.
        let (Ok(domain), Ok(greet)) = (
            std::str::from_utf8(reply.domain()),
            std::str::from_utf8(reply.greet()),
        ) else {
            continue;
        };
        // Parameters single-spaced, kept alive for the borrowed capabilities.
        let spaced: Vec<Vec<u8>> = reply
            .raw_capabilities()
            .map(|r| single_spaced(r.params))
            .collect();
        let legacy = caps
            .iter()
            .any(|c| matches!(c, Capability::Other { keyword, .. } if keyword.contains(&b'=')));
        let list: Vec<Capability<'_>> = caps
            .iter()
            .zip(&spaced)
            .map(|(c, p)| match *c {
                Capability::Auth(_) => Capability::Auth(AuthMechanisms::new(p)),
                Capability::MtPriority(Some(_)) => Capability::MtPriority(Some(p)),
                Capability::Burl(Some(_)) => Capability::Burl(Some(p)),
                Capability::Other { keyword, .. } => Capability::Other { keyword, params: p },
                c => c,
            })
            .collect();
        let builder = Capabilities {
            domain: Cow::Borrowed(domain),
            greet: Cow::Borrowed(greet),
            list,
        };
        let mut first = domain.as_bytes().to_vec();
        if !greet.is_empty() {
            first.push(b' ');
            first.extend_from_slice(greet.as_bytes());
        }
        let refused = legacy || looks_enhanced(&first);
        let mut enc = Vec::new();
        match builder.write_to(&mut enc) {
            Err(e) => {
                assert!(refused, "EHLO reply does not render: {e:?} {builder:?}");
                continue;
            }
            Ok(()) => assert!(!refused, "renders what it should refuse: {builder:?}"),
        }
        let (back, m) = EhloReply::parse(&enc, &Limits::RFC)
            .unwrap_or_else(|e| panic!("rendered EHLO reply does not parse: {e:?} {enc:?}"));
        assert_eq!(m, enc.len());
        assert_eq!(back.domain(), reply.domain());
        assert_eq!(back.greet(), reply.greet());
        assert_eq!(back.extensions(), reply.extensions());
        assert_eq!(back.size(), reply.size());
        let back_caps: Vec<Capability<'_>> = back.capabilities().collect();
        assert_eq!(back_caps.len(), caps.len());
        for (a, b) in caps.iter().zip(&back_caps) {
            assert!(same(a, b), "capability changed: {a:?} -> {b:?}");
        }
    }
}
