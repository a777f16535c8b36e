//! Known-answer tables for replies, greetings and EHLO replies
//! (RFC 5321 4.2, 4.3, Appendix D; RFC 2034; RFC 3463; RFC 9422; real
//! servers).

use smtp_sansio::{
    Capability, EhloReply, EnhancedCode, Extensions, Greeting, Limits, OwnedReply, ParseError,
    Reply, ReplyCode, ReplyReader, ServerLimits,
};

/// (input, code, lines, enhanced, texts)
type Accept = (
    &'static [u8],
    u16,
    usize,
    Option<(u8, u16, u16)>,
    &'static [&'static [u8]],
);

const ACCEPTED: &[Accept] = &[
    // RFC 5321 Appendix D.1
    (
        b"220 foo.com Simple Mail Transfer Service Ready\r\n",
        220,
        1,
        None,
        &[b"foo.com Simple Mail Transfer Service Ready"],
    ),
    (b"250 OK\r\n", 250, 1, None, &[b"OK"]),
    (b"550 No such user here\r\n", 550, 1, None, &[b"No such user here"]),
    (
        b"354 Start mail input; end with <CRLF>.<CRLF>\r\n",
        354,
        1,
        None,
        &[b"Start mail input; end with <CRLF>.<CRLF>"],
    ),
    (
        b"221 foo.com Service closing transmission channel\r\n",
        221,
        1,
        None,
        &[b"foo.com Service closing transmission channel"],
    ),
    // RFC 5321 3.5.2 / 4.2.1 multi-line
    (
        b"553-Ambiguous;  Possibilities are\r\n553-Joe Smith <jsmith@foo.com>\r\n553 Melvin Smith <dweep@foo.com>\r\n",
        553,
        3,
        None,
        &[b"Ambiguous;  Possibilities are", b"Joe Smith <jsmith@foo.com>", b"Melvin Smith <dweep@foo.com>"],
    ),
    // Code-only lines (RFC 5321 4.2).
    (b"250\r\n", 250, 1, None, &[b""]),
    (b"250 \r\n", 250, 1, None, &[b""]),
    (b"250-\r\n250\r\n", 250, 2, None, &[b"", b""]),
    // HT and trailing spaces are text.
    (b"250 a\tb  \r\n", 250, 1, None, &[b"a\tb  "]),
    // UTF-8 text is accepted as octets.
    (b"550 bo\xc3\xaete\r\n", 550, 1, None, &[b"bo\xc3\xaete"]),
    // RFC 2034 examples.
    (
        b"250 2.1.0 Originator <ned@ymir.claremont.edu> ok\r\n",
        250,
        1,
        Some((2, 1, 0)),
        &[b"2.1.0 Originator <ned@ymir.claremont.edu> ok"],
    ),
    (
        b"550 5.1.1 Mailbox \"nosuchuser\" does not exist\r\n",
        550,
        1,
        Some((5, 1, 1)),
        &[b"5.1.1 Mailbox \"nosuchuser\" does not exist"],
    ),
    (
        b"551-5.7.1 Forwarding to remote hosts disabled\r\n551 5.7.1 Select another host to act as your forwarder\r\n",
        551,
        2,
        Some((5, 7, 1)),
        &[b"5.7.1 Forwarding to remote hosts disabled", b"5.7.1 Select another host to act as your forwarder"],
    ),
    (
        b"354 Send message, ending in CRLF.CRLF.\r\n",
        354,
        1,
        None,
        &[b"Send message, ending in CRLF.CRLF."],
    ),
    (b"250 2.6.0 Message accepted\r\n", 250, 1, Some((2, 6, 0)), &[b"2.6.0 Message accepted"]),
    // RFC 3463: three-digit subject and detail.
    (b"452 4.123.999 x\r\n", 452, 1, Some((4, 123, 999)), &[b"4.123.999 x"]),
    // Not an enhanced code: no SP after, too many digits, wrong class digit.
    (b"250 2.1.0\r\n", 250, 1, None, &[b"2.1.0"]),
    (b"250 2.1.0000 x\r\n", 250, 1, None, &[b"2.1.0000 x"]),
    (b"250 1.2.3 x\r\n", 250, 1, None, &[b"1.2.3 x"]),
    (b"220 1.2.3.4 ESMTP\r\n", 220, 1, None, &[b"1.2.3.4 ESMTP"]),
    // 3yz never carries one (RFC 2034 4), even of another class.
    (b"354 5.0.0 go\r\n", 354, 1, None, &[b"5.0.0 go"]),
    // Lines may disagree on the enhanced code: the first counts.
    (b"250-2.0.0 a\r\n250 b\r\n", 250, 2, Some((2, 0, 0)), &[b"2.0.0 a", b"b"]),
    (b"250-a\r\n250 2.0.0 b\r\n", 250, 2, None, &[b"a", b"2.0.0 b"]),
    // A class that disagrees with the reply code is text, not an enhanced
    // code; the reply is accepted (RFC 5321 4.2: any text MUST be acceptable).
    (b"250 5.1.1 x\r\n", 250, 1, None, &[b"5.1.1 x"]),
    (b"550 2.0.0 x\r\n", 550, 1, None, &[b"2.0.0 x"]),
    (b"550-5.1.1 x\r\n550 4.1.1 y\r\n", 550, 2, Some((5, 1, 1)), &[b"5.1.1 x", b"4.1.1 y"]),
];

#[test]
fn accepted() {
    for (input, code, lines, enh, texts) in ACCEPTED {
        let (r, n) = Reply::parse(input, &Limits::RFC)
            .unwrap_or_else(|e| panic!("{:?}: {e}", String::from_utf8_lossy(input)));
        assert_eq!(n, input.len());
        assert_eq!(r.code().get(), *code);
        assert_eq!(r.line_count(), *lines);
        assert_eq!(
            r.enhanced(),
            enh.map(|(a, b, c)| EnhancedCode::new(a, b, c).unwrap())
        );
        let got: Vec<&[u8]> = r.lines().collect();
        assert_eq!(&got[..], *texts, "{:?}", String::from_utf8_lossy(input));
        assert_eq!(r.as_bytes(), *input);
    }
}

const REJECTED: &[(&[u8], ParseError)] = &[
    (b"250 ok\n", ParseError::BareLineEnding),
    (b"250 ok\rx\r\n", ParseError::BareLineEnding),
    (b"250 o\x00k\r\n", ParseError::Nul),
    (b"250 o\x01k\r\n", ParseError::Syntax),
    (b"250 o\x7fk\r\n", ParseError::Syntax),
    (b"25 ok\r\n", ParseError::Syntax),
    (b"\r\n", ParseError::Syntax),
    (b"160 ok\r\n", ParseError::Syntax),
    (b"260 ok\r\n", ParseError::Syntax),
    (b"25a ok\r\n", ParseError::Syntax),
    (b"250_ok\r\n", ParseError::Syntax),
    (b"250-a\r\n251 b\r\n", ParseError::CodeMismatch),
    (b"250-a\r\n550 b\r\n", ParseError::CodeMismatch),
    (b"250-a\r\n", ParseError::Incomplete),
    (b"250 a", ParseError::Incomplete),
    (b"250 a\r", ParseError::Incomplete),
    (b"", ParseError::Incomplete),
];

#[test]
fn rejected() {
    for (input, err) in REJECTED {
        assert_eq!(
            Reply::parse(input, &Limits::RFC).err(),
            Some(*err),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn line_limit() {
    // 512 octets with CRLF is fine, 513 is not (RFC 5321 4.5.3.1.5).
    let mut ok = b"250 ".to_vec();
    ok.resize(510, b'x');
    ok.extend_from_slice(b"\r\n");
    assert!(Reply::parse(&ok, &Limits::RFC).is_ok());
    let mut long = b"250 ".to_vec();
    long.resize(511, b'x');
    long.extend_from_slice(b"\r\n");
    assert_eq!(
        Reply::parse(&long, &Limits::RFC).err(),
        Some(ParseError::LineTooLong)
    );
    // Detected before the line ends.
    assert_eq!(
        Reply::parse(&long[..600.min(long.len() - 2)], &Limits::RFC).err(),
        Some(ParseError::LineTooLong)
    );
}

#[test]
fn line_count_limit() {
    let limits = Limits {
        reply_lines: 3,
        ..Limits::RFC
    };
    assert!(Reply::parse(b"250-a\r\n250-b\r\n250 c\r\n", &limits).is_ok());
    assert_eq!(
        Reply::parse(b"250-a\r\n250-b\r\n250-c\r\n", &limits).err(),
        Some(ParseError::TooManyLines)
    );
}

#[test]
fn codes() {
    assert_eq!(ReplyCode::new(250), Some(ReplyCode::OK));
    assert_eq!(ReplyCode::new(220), Some(ReplyCode::READY));
    for bad in [0, 199, 260, 560, 600, 999, 1250] {
        assert_eq!(ReplyCode::new(bad), None, "{bad}");
    }
    assert!(ReplyCode::OK.is_positive_completion());
    assert!(ReplyCode::START_MAIL_INPUT.is_positive_intermediate());
    assert!(ReplyCode::MAILBOX_BUSY.is_transient_negative());
    assert!(ReplyCode::MAILBOX_UNAVAILABLE.is_permanent_negative());
    assert_eq!(ReplyCode::OK.to_string(), "250");
    assert_eq!(EnhancedCode::new(2, 0, 0).unwrap().to_string(), "2.0.0");
    assert_eq!(EnhancedCode::new(3, 0, 0), None);
    assert_eq!(EnhancedCode::new(5, 1000, 0), None);
    assert_eq!(
        "5.7.1".parse::<EnhancedCode>(),
        Ok(EnhancedCode::new(5, 7, 1).unwrap())
    );
    assert!("5.7.1 ".parse::<EnhancedCode>().is_err());
    assert!("5.7".parse::<EnhancedCode>().is_err());
    assert!("5.7.1234".parse::<EnhancedCode>().is_err());
}

#[test]
fn text_helpers_and_owned() {
    let (r, _) = Reply::parse(
        b"551-5.7.1 Forwarding disabled\r\n551 5.7.1 Select another host\r\n",
        &Limits::RFC,
    )
    .unwrap();
    let stripped: Vec<&[u8]> = r.lines().map(|l| r.text_without_enhanced(l)).collect();
    assert_eq!(
        stripped,
        [&b"Forwarding disabled"[..], b"Select another host"]
    );
    let owned = r.to_owned_reply();
    assert_eq!(
        owned,
        OwnedReply::new(
            ReplyCode::new(551).unwrap(),
            EnhancedCode::new(5, 7, 1),
            "Forwarding disabled"
        )
        .with_line("Select another host")
    );
    assert_eq!(owned.to_bytes().unwrap(), r.as_bytes());
}

#[test]
fn encode() {
    let e = |r: OwnedReply| r.to_bytes();
    assert_eq!(
        e(OwnedReply::new(ReplyCode::OK, None, "")).unwrap(),
        b"250\r\n"
    );
    assert_eq!(
        e(OwnedReply::new(ReplyCode::OK, None, "").with_line("x")).unwrap(),
        b"250-\r\n250 x\r\n"
    );
    assert_eq!(
        e(OwnedReply::new(
            ReplyCode::OK,
            EnhancedCode::new(2, 0, 0),
            ""
        ))
        .unwrap(),
        b"250 2.0.0 \r\n"
    );
    let bad = |r: OwnedReply, err| assert_eq!(r.to_bytes(), Err(err));
    use smtp_sansio::EncodeError::*;
    bad(OwnedReply::new(ReplyCode::OK, None, "a\r\nb"), LineBreak);
    bad(OwnedReply::new(ReplyCode::OK, None, "a\nb"), LineBreak);
    bad(OwnedReply::new(ReplyCode::OK, None, "a\x00b"), InvalidByte);
    bad(
        OwnedReply::new(ReplyCode::OK, None, "2.0.0 ambiguous"),
        InvalidByte,
    );
    bad(
        OwnedReply::new(ReplyCode::OK, EnhancedCode::new(5, 0, 0), "x"),
        OutOfRange,
    );
    bad(
        OwnedReply::new(ReplyCode::START_MAIL_INPUT, EnhancedCode::new(2, 0, 0), "x"),
        OutOfRange,
    );
    bad(
        OwnedReply::new(ReplyCode::OK, None, "x".repeat(507)),
        TooLong,
    );
    assert!(
        OwnedReply::new(ReplyCode::OK, None, "x".repeat(506))
            .to_bytes()
            .is_ok()
    );
    let empty = OwnedReply {
        code: ReplyCode::OK,
        enhanced: None,
        lines: Vec::new(),
    };
    bad(empty, OutOfRange);
}

#[test]
fn greeting() {
    let (g, n) = Greeting::parse(b"220 mx.example.com ESMTP Postfix\r\n", &Limits::RFC).unwrap();
    assert_eq!(n, 34);
    assert_eq!(g.domain(), b"mx.example.com");
    assert_eq!(g.text(), b"ESMTP Postfix");
    assert!(g.is_ready());
    let (g, _) = Greeting::parse(b"220-[192.0.2.1] hi\r\n220 more\r\n", &Limits::RFC).unwrap();
    assert_eq!(g.domain(), b"[192.0.2.1]");
    assert_eq!(g.lines().count(), 2);
    let (g, _) = Greeting::parse(b"554 mx.example.com no service\r\n", &Limits::RFC).unwrap();
    assert!(!g.is_ready());
    let (g, _) = Greeting::parse(b"220 foo.com\r\n", &Limits::RFC).unwrap();
    assert_eq!((g.domain(), g.text()), (&b"foo.com"[..], &b""[..]));
    // No enhanced code is read on a greeting.
    assert!(Greeting::parse(b"220 5.0.0 x\r\n", &Limits::RFC).is_ok());
    for (input, err) in [
        (&b"250 mx\r\n"[..], ParseError::UnexpectedCode),
        (b"421 mx busy\r\n", ParseError::UnexpectedCode),
        (b"220\r\n", ParseError::Syntax),
        (b"220 \r\n", ParseError::Syntax),
        (b"220  mx\r\n", ParseError::Syntax),
        (b"220 mx", ParseError::Incomplete),
    ] {
        assert_eq!(Greeting::parse(input, &Limits::RFC).err(), Some(err));
    }
}

const GMAIL: &[u8] = b"250-mx.google.com at your service, [192.0.2.7]\r\n250-SIZE 157286400\r\n250-8BITMIME\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 SMTPUTF8\r\n";
const POSTFIX: &[u8] = b"250-mail.example.com\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250-AUTH=PLAIN LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n";
const EXIM: &[u8] = b"250-mail.example.org Hello client.example.net [192.0.2.1]\r\n250-SIZE 52428800\r\n250-8BITMIME\r\n250-PIPELINING\r\n250-X_PIPE_CONNECT\r\n250-AUTH CRAM-MD5 PLAIN\r\n250-CHUNKING\r\n250-STARTTLS\r\n250-PRDR\r\n250 HELP\r\n";
const OUTLOOK: &[u8] = b"250-BN8PR12CA0001.outlook.office365.com Hello [192.0.2.9]\r\n250-SIZE 157286400\r\n250-PIPELINING\r\n250-DSN\r\n250-ENHANCEDSTATUSCODES\r\n250-STARTTLS\r\n250-8BITMIME\r\n250-BINARYMIME\r\n250-CHUNKING\r\n250 SMTPUTF8\r\n";
const RFC5321_D: &[u8] =
    b"250-foo.com greets bar.com\r\n250-8BITMIME\r\n250-SIZE\r\n250-DSN\r\n250 HELP\r\n";
const MANY: &[u8] = b"250-mx.example [192.0.2.1] hi\r\n250-size 0\r\n250-DELIVERBY 240\r\n250-FUTURERELEASE 604800 2026-12-31T23:59:59Z\r\n250-MT-PRIORITY MIXER\r\n250-BURL imap\r\n250-REQUIRETLS\r\n250-RRVS\r\n250-EXPN\r\n250-LIMITS RCPTMAX=50 MAILMAX=1000 RCPTDOMAINMAX=10 FOO=bar\r\n250-XCLIENT NAME ADDR  \r\n250 BINARYMIME\r\n";

pub fn samples() -> Vec<&'static [u8]> {
    vec![GMAIL, POSTFIX, EXIM, OUTLOOK, RFC5321_D, MANY]
}

#[test]
fn ehlo_real() {
    let (e, n) = EhloReply::parse(GMAIL, &Limits::RFC).unwrap();
    assert_eq!(n, GMAIL.len());
    assert_eq!(e.domain(), b"mx.google.com");
    assert_eq!(e.greet(), b"at your service, [192.0.2.7]");
    assert_eq!(e.size(), Some(157286400));
    assert_eq!(
        e.extensions(),
        Extensions::SIZE
            | Extensions::EIGHT_BIT_MIME
            | Extensions::STARTTLS
            | Extensions::ENHANCED_STATUS_CODES
            | Extensions::PIPELINING
            | Extensions::CHUNKING
            | Extensions::SMTPUTF8
    );
    assert!(e.auth_mechanisms().is_empty());

    let (e, _) = EhloReply::parse(POSTFIX, &Limits::RFC).unwrap();
    assert_eq!(e.greet(), b"");
    let mechs: Vec<&[u8]> = e.auth_mechanisms().iter().collect();
    assert_eq!(mechs, [&b"PLAIN"[..], b"LOGIN"]);
    assert!(e.auth_mechanisms().contains(b"plain"));
    assert!(e.supports(Extensions::AUTH | Extensions::VRFY | Extensions::ETRN));
    let caps: Vec<Capability<'_>> = e.capabilities().collect();
    assert_eq!(caps.len(), 12);
    assert_eq!(
        caps[6],
        Capability::Other {
            keyword: b"AUTH=PLAIN",
            params: b"LOGIN"
        }
    );

    let (e, _) = EhloReply::parse(EXIM, &Limits::RFC).unwrap();
    assert!(e.supports(Extensions::HELP | Extensions::AUTH));
    assert!(e.capabilities().any(|c| c
        == Capability::Other {
            keyword: b"PRDR",
            params: b""
        }));

    let (e, _) = EhloReply::parse(OUTLOOK, &Limits::RFC).unwrap();
    assert!(e.supports(Extensions::BINARY_MIME | Extensions::DSN));

    let (e, _) = EhloReply::parse(RFC5321_D, &Limits::RFC).unwrap();
    assert_eq!(e.size(), None);
    assert!(e.supports(Extensions::SIZE));
    assert_eq!(e.capabilities().next(), Some(Capability::EightBitMime));

    let (e, _) = EhloReply::parse(MANY, &Limits::RFC).unwrap();
    let caps: Vec<Capability<'_>> = e.capabilities().collect();
    assert_eq!(
        caps,
        [
            Capability::Size(Some(0)),
            Capability::DeliverBy(Some(240)),
            Capability::FutureRelease {
                max_interval: 604800,
                max_datetime: b"2026-12-31T23:59:59Z"
            },
            Capability::MtPriority(Some(b"MIXER")),
            Capability::Burl(Some(b"imap")),
            Capability::RequireTls,
            Capability::Rrvs,
            Capability::Expn,
            Capability::Limits(ServerLimits {
                mail_max: Some(1000),
                rcpt_max: Some(50),
                rcpt_domain_max: Some(10)
            }),
            Capability::Other {
                keyword: b"XCLIENT",
                params: b"NAME ADDR"
            },
            Capability::BinaryMime,
        ]
    );
    assert_eq!(e.size(), Some(0));
}

#[test]
fn ehlo_single_line_and_limits_examples() {
    let (e, _) = EhloReply::parse(b"250 mx.example.com\r\n", &Limits::RFC).unwrap();
    assert_eq!(e.capabilities().count(), 0);
    assert!(e.extensions().is_empty());
    // RFC 9422 section 6 style examples.
    for (line, want) in [
        (
            &b"LIMITS RCPTMAX=20"[..],
            ServerLimits {
                rcpt_max: Some(20),
                ..Default::default()
            },
        ),
        (
            b"LIMITS MAILMAX=5 RCPTMAX=20",
            ServerLimits {
                rcpt_max: Some(20),
                mail_max: Some(5),
                ..Default::default()
            },
        ),
        (b"LIMITS", ServerLimits::default()),
        (b"limits rcptmax=x", ServerLimits::default()),
    ] {
        let mut input = b"250-mx\r\n250 ".to_vec();
        input.extend_from_slice(line);
        input.extend_from_slice(b"\r\n");
        let (e, _) = EhloReply::parse(&input, &Limits::RFC).unwrap();
        assert_eq!(e.capabilities().next(), Some(Capability::Limits(want)));
    }
}

#[test]
fn ehlo_rejected() {
    for (input, err) in [
        (&b"550 no\r\n"[..], ParseError::UnexpectedCode),
        (b"500-x\r\n500 y\r\n", ParseError::UnexpectedCode),
        (b"250-mx\r\n251 X\r\n", ParseError::CodeMismatch),
        (b"250\r\n", ParseError::Syntax),
        (b"250 \r\n", ParseError::Syntax),
        (b"250-mx\r\n250 -X\r\n", ParseError::Syntax),
        (b"250-mx\r\n250 X\x01\r\n", ParseError::Syntax),
        (b"250-mx\r\n250 X \xc3\xa9\r\n", ParseError::Syntax),
        (b"250-mx\r\n250 X\x00\r\n", ParseError::Nul),
        (
            b"250-mx\r\n250 SIZE 18446744073709551616\r\n",
            ParseError::NumberOverflow,
        ),
        (b"250-mx\r\n250 SIZE 10M\r\n", ParseError::InvalidParameter),
        (b"250-mx\r\n250 SIZE 1 2\r\n", ParseError::InvalidParameter),
        (
            b"250-mx\r\n250 FUTURERELEASE 10\r\n",
            ParseError::InvalidParameter,
        ),
        (
            b"250-mx\r\n250 DELIVERBY x\r\n",
            ParseError::InvalidParameter,
        ),
        (b"250-mx\r\n250-X\r\n", ParseError::Incomplete),
        // A generic error on a later line wins over an EHLO error earlier.
        (b"250-mx\r\n250-SIZE x\r\n250 Y\x00\r\n", ParseError::Nul),
    ] {
        assert_eq!(
            EhloReply::parse(input, &Limits::RFC).err(),
            Some(err),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
    // An empty last ehlo-line (Postfix's smtp-sink sends `250 `) is
    // tolerated on receipt and advertises nothing.
    let (e, _) = EhloReply::parse(b"250-mx\r\n250-PIPELINING\r\n250 \r\n", &Limits::RFC).unwrap();
    assert_eq!(e.capabilities().count(), 1);
    // SIZE at u64::MAX is fine.
    let (e, _) =
        EhloReply::parse(b"250-mx\r\n250 SIZE 18446744073709551615\r\n", &Limits::RFC).unwrap();
    assert_eq!(e.size(), Some(u64::MAX));
}

#[test]
fn reader_pipelined_and_buffered() {
    let mut r = ReplyReader::new(Limits::RFC);
    r.receive(b"250 ok\r\n354 go\r\n220 x\r\nINJECTED");
    assert_eq!(r.next_reply().unwrap().unwrap().code(), ReplyCode::OK);
    assert_eq!(
        r.next_reply().unwrap().unwrap().code(),
        ReplyCode::START_MAIL_INPUT
    );
    assert_eq!(r.next_reply().unwrap().unwrap().code(), ReplyCode::READY);
    assert!(r.next_reply().is_none());
    assert_eq!(r.buffered(), b"INJECTED");
    r.clear();
    assert!(r.buffered().is_empty());
    r.receive(b"221 bye\r\n");
    assert_eq!(r.next_reply().unwrap().unwrap().code(), ReplyCode::CLOSING);
}

#[test]
fn reader_recovers_after_errors() {
    let mut r = ReplyReader::new(Limits::RFC);
    r.receive(b"250-a\r\n251-b\r\n251 c\r\n250 next\r\n");
    assert_eq!(
        r.next_reply().unwrap().err(),
        Some(ParseError::CodeMismatch)
    );
    let ok = r.next_reply().unwrap().unwrap();
    assert_eq!(ok.lines().next(), Some(&b"next"[..]));

    // An overlong line is skipped without being stored.
    let mut r = ReplyReader::new(Limits::RFC);
    r.receive(b"250-");
    for _ in 0..100 {
        r.receive(&[b'x'; 1000]);
        let _ = r.next_reply();
        assert!(r.buffered().len() <= 1024);
    }
    r.receive(b"\r\n250 end of bad\r\n250 good\r\n");
    let mut got = Vec::new();
    while let Some(x) = r.next_reply() {
        got.push(x.map(|r| r.as_bytes().to_vec()));
    }
    assert_eq!(got, [Ok(b"250 good\r\n".to_vec())]);
}

/// Text starting like an enhanced code of another class reads as plain
/// text (RFC 5321 4.2), so the encoder writes it and it reads back the
/// same; one of the reply's own class on the first line would read back as
/// a code and is refused (found by the `reply` fuzz target).
#[test]
fn foreign_class_prefix_round_trips() {
    let (r, _) = Reply::parse(b"450 5.1.1 <x>: busy\r\n", &Limits::RFC).unwrap();
    assert_eq!(r.enhanced(), None);
    let mut out = Vec::new();
    r.to_owned_reply().write_to(&mut out).unwrap();
    assert_eq!(out, b"450 5.1.1 <x>: busy\r\n");
    let own = OwnedReply::new(
        ReplyCode::new(450).unwrap(),
        None,
        "4.1.1 looks like a code",
    );
    assert_eq!(
        own.write_to(&mut Vec::new()),
        Err(smtp_sansio::EncodeError::InvalidByte)
    );
}

/// Issue 13: the reply text is checked eight octets at a time. Every
/// octet value at every position of a line (first and later lines, near
/// and across the eight-octet steps) is accepted exactly when RFC 5321 4.2
/// `textstring` (plus HT and octets >= 0x80, see the module docs) allows
/// it, with the same error as before otherwise.
#[test]
fn text_octets_at_every_position() {
    use smtp_sansio::{Limits, ParseError, Reply};
    for len in [1usize, 7, 8, 9, 15, 16, 17, 30] {
        for at in 0..len {
            for b in 0u8..=255 {
                if b == b'\r' || b == b'\n' {
                    continue;
                }
                let mut text = vec![b'x'; len];
                text[at] = b;
                for multi in [false, true] {
                    let mut wire = Vec::new();
                    if multi {
                        wire.extend_from_slice(b"250-2.0.0 first\r\n");
                    }
                    wire.extend_from_slice(b"250 ");
                    wire.extend_from_slice(&text);
                    wire.extend_from_slice(b"\r\n");
                    let ok = b == b'\t' || (b >= 0x20 && b != 0x7f);
                    let got = Reply::parse(&wire, &Limits::RFC);
                    match got {
                        Ok((r, used)) => {
                            assert!(ok, "{b:#x} at {at} of {len} accepted");
                            assert_eq!(used, wire.len());
                            assert_eq!(r.lines().last(), Some(&text[..]));
                        }
                        Err(e) => {
                            assert!(!ok, "{b:#x} at {at} of {len} refused: {e:?}");
                            let want = if b == 0 {
                                ParseError::Nul
                            } else {
                                ParseError::Syntax
                            };
                            assert_eq!(e, want, "{b:#x} at {at} of {len}");
                        }
                    }
                }
            }
        }
    }
}

/// Only the first line's enhanced status code counts (RFC 2034 3): later
/// lines are not scanned for one, and what they start with changes nothing.
#[test]
fn enhanced_code_from_the_first_line_only() {
    use smtp_sansio::{EnhancedCode, Limits, Reply};
    let (r, _) = Reply::parse(b"250-2.1.0 a\r\n250 2.1.5 b\r\n", &Limits::RFC).unwrap();
    assert_eq!(r.enhanced(), EnhancedCode::new(2, 1, 0));
    let (r, _) = Reply::parse(b"250-a\r\n250 2.1.5 b\r\n", &Limits::RFC).unwrap();
    assert_eq!(r.enhanced(), None);
    assert_eq!(r.line_enhanced(b"2.1.5 b"), EnhancedCode::new(2, 1, 5));
}

/// The one-digit enhanced code form is read at once; longer subjects and
/// details, and codes at the very end of the text, give the same values as
/// the general reading (RFC 3463 2: 1*3digit each).
#[test]
fn enhanced_code_forms() {
    use smtp_sansio::{EnhancedCode, Limits, Reply};
    type Case = (&'static [u8], Option<(u8, u16, u16)>);
    let cases: [Case; 9] = [
        (b"250 2.0.0 Ok\r\n", Some((2, 0, 0))),
        (b"550 5.7.1 no\r\n", Some((5, 7, 1))),
        (b"250 2.0.10 Ok\r\n", Some((2, 0, 10))),
        (b"250 2.10.0 Ok\r\n", Some((2, 10, 0))),
        (b"250 2.1.234 Ok\r\n", Some((2, 1, 234))),
        (b"250 2.0.0\r\n", None),
        (b"250 2.0.0x\r\n", None),
        (b"250 4.0.0 class differs\r\n", None),
        (b"450 4.2.0\tx\r\n", None),
    ];
    for (wire, want) in cases {
        let (r, _) = Reply::parse(wire, &Limits::RFC).unwrap();
        let want = want.and_then(|(c, s, d)| EnhancedCode::new(c, s, d));
        assert_eq!(r.enhanced(), want, "{:?}", String::from_utf8_lossy(wire));
    }
}
