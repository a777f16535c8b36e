//! Property tests: encode/parse round trips, split invariance of
//! `ReplyReader`, no panic on arbitrary input.

use std::borrow::Cow;

use proptest::prelude::*;
use smtp_sansio::{
    AuthMechanisms, Capabilities, Capability, EhloReply, EnhancedCode, Greeting, Limits,
    OwnedReply, ParseError, Reply, ReplyCode, ReplyReader, ServerLimits,
};

fn code() -> impl Strategy<Value = ReplyCode> {
    (2u16..=5, 0u16..=5, 0u16..=9)
        .prop_map(|(a, b, c)| ReplyCode::new(a * 100 + b * 10 + c).unwrap())
}

fn owned_reply() -> impl Strategy<Value = OwnedReply> {
    (
        code(),
        prop::option::of((0u16..=999, 0u16..=999)),
        prop::collection::vec(
            "[\t -~\u{e9}\u{20ac}]{0,40}|2\\.[0-9]\\.[0-9] [a-z]{0,5}|",
            1..6,
        ),
    )
        .prop_map(|(code, enh, lines)| {
            let c = code.get() / 100;
            let enhanced = match (c, enh) {
                (3, _) | (_, None) => None,
                (c, Some((s, d))) => EnhancedCode::new(c as u8, s, d),
            };
            OwnedReply {
                code,
                enhanced,
                lines: lines.into_iter().map(Cow::Owned).collect(),
            }
        })
}

fn token() -> impl Strategy<Value = String> {
    "[!-~]{1,8}"
}

fn tokens() -> impl Strategy<Value = String> {
    prop::collection::vec(token(), 1..4).prop_map(|v| v.join(" "))
}

fn leak(s: String) -> &'static [u8] {
    Box::leak(s.into_boxed_str()).as_bytes()
}

fn capability() -> impl Strategy<Value = Capability<'static>> {
    prop_oneof![
        prop::option::of(any::<u64>()).prop_map(Capability::Size),
        Just(Capability::EightBitMime),
        Just(Capability::BinaryMime),
        Just(Capability::Chunking),
        Just(Capability::Pipelining),
        Just(Capability::SmtpUtf8),
        Just(Capability::Dsn),
        Just(Capability::EnhancedStatusCodes),
        Just(Capability::StartTls),
        prop::collection::vec("[A-Z0-9_-]{1,12}", 0..4)
            .prop_map(|m| Capability::Auth(AuthMechanisms::new(leak(m.join(" "))))),
        Just(Capability::RequireTls),
        prop::option::of(token()).prop_map(|p| Capability::MtPriority(p.map(leak))),
        prop::option::of(any::<u64>()).prop_map(Capability::DeliverBy),
        (any::<u64>(), token()).prop_map(|(i, d)| Capability::FutureRelease {
            max_interval: i,
            max_datetime: leak(d)
        }),
        Just(Capability::Etrn),
        prop::option::of(tokens()).prop_map(|p| Capability::Burl(p.map(leak))),
        Just(Capability::Rrvs),
        Just(Capability::Vrfy),
        Just(Capability::Expn),
        Just(Capability::Help),
        (
            prop::option::of(any::<u64>()),
            prop::option::of(any::<u64>()),
            prop::option::of(any::<u64>())
        )
            .prop_map(|(a, b, c)| Capability::Limits(ServerLimits {
                mail_max: a,
                rcpt_max: b,
                rcpt_domain_max: c
            })),
        ("[A-Za-z0-9][A-Za-z0-9-]{0,10}", prop::option::of(tokens())).prop_map(|(k, p)| {
            Capability::Other {
                keyword: leak(k),
                params: p.map(leak).unwrap_or(b""),
            }
        }),
    ]
}

/// Whole-buffer reference: replies parsed one after another until an
/// error or the end; returns the replies' raw bytes, the error if any, and
/// the unparsed rest.
fn reference(
    input: &[u8],
    limits: &Limits,
    plain: bool,
) -> (Vec<Vec<u8>>, Option<ParseError>, Vec<u8>) {
    let mut out = Vec::new();
    let mut pos = 0;
    loop {
        let r = if plain {
            Reply::parse_plain(&input[pos..], limits)
        } else {
            Reply::parse(&input[pos..], limits)
        };
        match r {
            Ok((r, n)) => {
                out.push(r.as_bytes().to_vec());
                pos += n;
            }
            Err(ParseError::Incomplete) => return (out, None, input[pos..].to_vec()),
            Err(e) => return (out, Some(e), Vec::new()),
        }
    }
}

/// The reader fed with the given chunk boundaries, up to its first error.
fn via_reader(
    input: &[u8],
    cuts: &[usize],
    limits: &Limits,
    plain: bool,
) -> (Vec<Vec<u8>>, Option<ParseError>, Vec<u8>) {
    let mut r = ReplyReader::new(*limits);
    r.set_enhanced_codes(!plain);
    let mut out = Vec::new();
    let mut prev = 0;
    for &c in cuts.iter().chain(std::iter::once(&input.len())) {
        let c = c.clamp(prev, input.len());
        r.receive(&input[prev..c]);
        prev = c;
        while let Some(x) = r.next_reply() {
            match x {
                Ok(rep) => out.push(rep.as_bytes().to_vec()),
                Err(e) => return (out, Some(e), Vec::new()),
            }
        }
    }
    (out, None, r.buffered().to_vec())
}

fn samples() -> Vec<&'static [u8]> {
    vec![
        b"250-mx.google.com at your service\r\n250-SIZE 157286400\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n",
        b"220 foo.com ready\r\n250 2.1.0 ok\r\n354 go\r\n550-5.1.1 a\r\n550 5.1.1 b\r\n",
        b"250-a\r\n251 b\r\n",
        b"250 ok\n",
        b"250 ok\r\r\n",
        b"250 5.0.0 x\r\n",
        b"250 a\x00\r\n",
        b"250-",
        b"250 a\r\n\r\n",
        b"250 ok\r\n250-more\r\n250",
    ]
}

#[test]
fn split_invariance_every_offset() {
    let limits = Limits::RFC;
    for input in samples() {
        for plain in [false, true] {
            let want = reference(input, &limits, plain);
            for i in 0..=input.len() {
                for j in i..=input.len() {
                    assert_eq!(
                        via_reader(input, &[i, j], &limits, plain),
                        want,
                        "{i} {j} {input:?}"
                    );
                }
            }
            let ones: Vec<usize> = (1..input.len()).collect();
            assert_eq!(via_reader(input, &ones, &limits, plain), want);
        }
    }
}

fn protocolish() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop::sample::select(vec![
            &b"250"[..],
            &b"250-"[..],
            &b"250 "[..],
            &b"550 "[..],
            &b"354 "[..],
            &b"\r\n"[..],
            &b"\r"[..],
            &b"\n"[..],
            &b"\x00"[..],
            &b"2.0.0 "[..],
            &b"5.1.1 "[..],
            &b"SIZE 1"[..],
            &b"AUTH PLAIN"[..],
            &b"mx "[..],
            &b"xxxxxxxxxxxxxxxx"[..],
            &b" "[..],
            &b"-"[..],
        ]),
        0..40,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn owned_reply_round_trip(x in owned_reply()) {
        if let Ok(bytes) = x.to_bytes() {
            let (r, n) = Reply::parse(&bytes, &Limits::RFC).unwrap();
            prop_assert_eq!(n, bytes.len());
            prop_assert_eq!(r.to_owned_reply(), x);
        }
    }

    #[test]
    fn capabilities_round_trip(
        domain in "[a-z0-9][a-z0-9.-]{0,20}",
        greet in "[ -~]{0,30}",
        list in prop::collection::vec(capability(), 0..12),
    ) {
        let caps = Capabilities { domain: domain.into(), greet: greet.into(), list };
        if let Ok(bytes) = caps.to_reply().and_then(|r| r.to_bytes()) {
            let (e, n) = EhloReply::parse(&bytes, &Limits::RFC).unwrap();
            prop_assert_eq!(n, bytes.len());
            prop_assert_eq!(e.domain(), caps.domain.as_bytes());
            prop_assert_eq!(e.greet(), caps.greet.as_bytes());
            let got: Vec<Capability<'_>> = e.capabilities().collect();
            prop_assert_eq!(&got, &caps.list);
            for c in &caps.list {
                if let Some(ext) = c.extension() {
                    prop_assert!(e.supports(ext));
                }
            }
        }
    }

    #[test]
    fn no_panic_and_split_invariance(
        input in prop_oneof![protocolish(), prop::collection::vec(any::<u8>(), 0..200)],
        cuts in prop::collection::vec(0usize..200, 0..6),
        small in any::<bool>(),
    ) {
        let limits = if small {
            Limits { reply_line: 12, reply_lines: 3, ..Limits::RFC }
        } else {
            Limits::RFC
        };
        let mut cuts = cuts;
        cuts.sort();
        for plain in [false, true] {
            let want = reference(&input, &limits, plain);
            prop_assert_eq!(via_reader(&input, &cuts, &limits, plain), want);
        }
        if let Ok((r, _)) = Reply::parse(&input, &limits) {
            let _ = r.to_owned_reply().to_bytes();
            for l in r.lines() {
                let _ = r.text_without_enhanced(l);
            }
        }
        let _ = Greeting::parse(&input, &limits);
        if let Ok((e, _)) = EhloReply::parse(&input, &limits) {
            let _ = e.capabilities().count();
        }
        // The reader keeps working after errors and never panics.
        let mut r = ReplyReader::new(limits);
        for c in input.chunks(7) {
            r.receive(c);
            while r.next_reply().is_some() {}
        }
    }
}

fn ehloish() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop::sample::select(vec![
            &b"250-mx.example.com"[..],
            &b"250 mx"[..],
            &b"250-"[..],
            &b"250 "[..],
            &b"251-"[..],
            &b"\r\n"[..],
            &b"\r\n250-"[..],
            &b"\r\n250 "[..],
            &b"\n"[..],
            &b"\x00"[..],
            &b"\t"[..],
            &b"\xc3\xa9"[..],
            &b" "[..],
            &b"SIZE"[..],
            &b"size 100"[..],
            &b" 18446744073709551616"[..],
            &b"AUTH PLAIN LOGIN"[..],
            &b"AUTH="[..],
            &b"8BITMIME"[..],
            &b"ENHANCEDSTATUSCODES"[..],
            &b"PIPELINING"[..],
            &b"DELIVERBY"[..],
            &b"FUTURERELEASE 10 x"[..],
            &b"LIMITS RCPTMAX=3"[..],
            &b"X_Y"[..],
            &b"-"[..],
            &b"="[..],
            &b"9"[..],
        ]),
        0..30,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    /// The single-pass EHLO parser agrees with framing + `from_reply`.
    #[test]
    fn ehlo_fast_path_agrees(input in ehloish(), small in any::<bool>()) {
        let limits = if small {
            Limits { reply_line: 24, reply_lines: 4, ..Limits::RFC }
        } else {
            Limits::RFC
        };
        let slow = Reply::parse_plain(&input, &limits)
            .and_then(|(r, n)| EhloReply::from_reply(r).map(|e| (e, n)));
        prop_assert_eq!(EhloReply::parse(&input, &limits), slow);
    }
}

/// Every result the reader gives, errors and recovery included.
fn reader_all(
    input: &[u8],
    cuts: &[usize],
    limits: &Limits,
) -> (Vec<Result<Vec<u8>, ParseError>>, Vec<u8>) {
    let mut r = ReplyReader::new(*limits);
    let mut out = Vec::new();
    let mut prev = 0;
    for &c in cuts.iter().chain(std::iter::once(&input.len())) {
        let c = c.clamp(prev, input.len());
        r.receive(&input[prev..c]);
        prev = c;
        while let Some(x) = r.next_reply() {
            out.push(x.map(|rep| rep.as_bytes().to_vec()));
        }
    }
    (out, r.buffered().to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    /// Error recovery does not depend on how the input was cut.
    #[test]
    fn reader_recovery_split_invariant(
        input in protocolish(),
        cuts in prop::collection::vec(0usize..200, 0..8),
        small in any::<bool>(),
    ) {
        let limits = if small {
            Limits { reply_line: 12, reply_lines: 3, ..Limits::RFC }
        } else {
            Limits::RFC
        };
        let mut cuts = cuts;
        cuts.sort();
        let whole = reader_all(&input, &[], &limits);
        let ones: Vec<usize> = (1..input.len()).collect();
        prop_assert_eq!(&reader_all(&input, &cuts, &limits), &whole);
        prop_assert_eq!(&reader_all(&input, &ones, &limits), &whole);
    }
}

// ----- Display and the short constructors -----------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    /// `Display` is the encoded reply without its final CRLF, and reads
    /// back equal; a reply that does not encode still displays, on one line.
    #[test]
    fn display_is_the_encoded_reply(x in owned_reply()) {
        let shown = x.to_string();
        match x.to_bytes() {
            Ok(bytes) => {
                let wire = format!("{shown}\r\n");
                prop_assert_eq!(wire.as_bytes(), &bytes[..]);
                let (r, n) = Reply::parse(wire.as_bytes(), &Limits::RFC).unwrap();
                prop_assert_eq!(n, wire.len());
                prop_assert_eq!(r.to_owned_reply(), x);
            }
            Err(_) => prop_assert!(!shown.contains('\n') && !shown.contains('\r')),
        }
    }

    /// `from_parts` accepts exactly what encodes, and agrees with `new`.
    #[test]
    fn from_parts_agrees_with_new(
        code in 200u16..=599,
        enh in prop::option::of((2u8..=5, 0u16..=999, 0u16..=999)),
        text in "[\t -~]{0,30}",
    ) {
        let enh_text = enh.map_or(String::new(), |(c, s, d)| format!("{c}.{s}.{d}"));
        let built = OwnedReply::from_parts(code, &enh_text, text.clone());
        let expected = ReplyCode::new(code).and_then(|c| {
            let e = match enh {
                None => None,
                Some((a, s, d)) => Some(EnhancedCode::new(a, s, d)?),
            };
            let r = OwnedReply::new(c, e, text.clone());
            r.validate().is_ok().then_some(r)
        });
        prop_assert_eq!(built.ok(), expected);
    }
}

#[test]
fn short_constructors_encode_their_codes() {
    let cases = [
        (OwnedReply::ok("Queued"), &b"250 2.0.0 Queued\r\n"[..]),
        (
            OwnedReply::temporary_failure("Later"),
            &b"451 4.3.0 Later\r\n"[..],
        ),
        (
            OwnedReply::permanent_failure("No"),
            &b"550 5.0.0 No\r\n"[..],
        ),
        (
            OwnedReply::from_parts(550, "5.1.1", "No such user").unwrap(),
            &b"550 5.1.1 No such user\r\n"[..],
        ),
        (
            OwnedReply::from_parts(354, "", "Go ahead").unwrap(),
            &b"354 Go ahead\r\n"[..],
        ),
    ];
    for (reply, wire) in cases {
        assert_eq!(reply.to_bytes().unwrap(), wire);
        assert_eq!(format!("{reply}\r\n").as_bytes(), wire);
    }
    // Refused: enhanced code on a 3yz reply, of another class, malformed,
    // and a text with a line break.
    assert!(OwnedReply::from_parts(354, "2.0.0", "x").is_err());
    assert!(OwnedReply::from_parts(250, "4.0.0", "x").is_err());
    assert!(OwnedReply::from_parts(250, "2.0", "x").is_err());
    assert!(OwnedReply::from_parts(250, "", "a\r\nb").is_err());
    // A bad text still displays on one line, the CR and LF escaped.
    assert_eq!(
        OwnedReply::ok("a\r\nb").to_string(),
        "250 2.0.0 a\\x0D\\x0Ab"
    );
}
