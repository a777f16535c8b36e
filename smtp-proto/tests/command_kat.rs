//! Known-answer tables for the command grammar (RFC 5321 4.1 and the
//! extension RFCs): every line is `(input, expected)`.
use smtp_sansio::{AddressLiteral, ForwardPath, ReversePath};
use smtp_sansio::{Body, ByMode, Hold, MailAuth, Ret};
use smtp_sansio::{Command, CommandOptions, Extensions, LineEndingPolicy, ParseError};
use std::net::{Ipv4Addr, Ipv6Addr};

fn opts() -> CommandOptions {
    let mut o = CommandOptions::new();
    o.utf8_transaction = true;
    o
}

fn parse(line: &[u8]) -> Result<Command<'_>, ParseError> {
    Command::parse(line, &opts()).map_err(|e| e.error)
}

use ParseError::*;

/// Accepted (`Ok(verb)`) or rejected (`Err(kind)`) with the default context
/// of dissect.md (all extensions, SMTPUTF8 transaction).
const TABLE: &[(&[u8], Result<&str, ParseError>)] = &[
    // RFC 5321 Appendix D.1 scenario.
    (b"EHLO bar.com\r\n", Ok("EHLO")),
    (b"MAIL FROM:<Smith@bar.com>\r\n", Ok("MAIL")),
    (b"RCPT TO:<Jones@foo.com>\r\n", Ok("RCPT")),
    (b"DATA\r\n", Ok("DATA")),
    (b"QUIT\r\n", Ok("QUIT")),
    // D.3 / D.4
    (b"VRFY Crispin\r\n", Ok("VRFY")),
    (b"MAIL FROM:<JQP@bar.com>\r\n", Ok("MAIL")),
    (b"RCPT TO:<@HOSTX.COM:JOE@HOSTY.COM>\r\n", Ok("RCPT")),
    (
        b"RCPT TO:<@a.example,@b.example:u@c.example>\r\n",
        Ok("RCPT"),
    ),
    // Verbs
    (b"helo x\r\n", Ok("HELO")),
    (b"HELO [1.2.3.4]\r\n", Ok("HELO")),
    (b"LHLO x.y\r\n", Ok("LHLO")),
    (b"EHLO\r\n", Err(Syntax)),
    (b"EHLO a b\r\n", Err(Syntax)),
    (b"EHLO  a\r\n", Err(Syntax)),
    (b"EHLO -a\r\n", Err(Syntax)),
    (b"EHLO a-\r\n", Err(Syntax)),
    (b"EHLO a..b\r\n", Err(Syntax)),
    (b"EHLO a.\r\n", Err(Syntax)),
    (b"RsEt\r\n", Ok("RSET")),
    (b"RSET x\r\n", Err(Syntax)),
    (b"DATA \r\n", Err(Syntax)),
    (b"STARTTLS\r\n", Ok("STARTTLS")),
    (b"starttls\r\n", Ok("STARTTLS")),
    (b"STARTTLS x\r\n", Err(Syntax)),
    (b"STARTTLSX\r\n", Err(UnknownCommand)),
    (b"STAR\r\n", Err(UnknownCommand)),
    (b"NOOP\r\n", Ok("NOOP")),
    (b"NOOP hello\r\n", Ok("NOOP")),
    (b"NOOP \"a b\"\r\n", Ok("NOOP")),
    (b"NOOP a b\r\n", Err(Syntax)),
    (b"HELP\r\n", Ok("HELP")),
    (b"HELP MAIL\r\n", Ok("HELP")),
    (b"VRFY\r\n", Err(Syntax)),
    (b"VRFY user@example.com\r\n", Ok("VRFY")),
    (b"VRFY a.b\r\n", Err(Syntax)),
    (b"EXPN staff SMTPUTF8\r\n", Ok("EXPN")),
    (b"EXPN staff FOO\r\n", Err(Syntax)),
    (b"BDAT 0 LAST\r\n", Ok("BDAT")),
    (b"BDAT 100 last\r\n", Ok("BDAT")),
    (b"BDAT 18446744073709551615\r\n", Ok("BDAT")),
    (b"BDAT 18446744073709551616\r\n", Err(NumberOverflow)),
    (b"BDAT\r\n", Err(Syntax)),
    (b"BDAT x\r\n", Err(Syntax)),
    (b"BDAT 1 FIRST\r\n", Err(Syntax)),
    (b"AUTH PLAIN\r\n", Ok("AUTH")),
    (b"AUTH plain dGVzdAB0ZXN0ADEyMzQ=\r\n", Ok("AUTH")),
    (b"AUTH PLAIN =\r\n", Ok("AUTH")),
    (b"AUTH SCRAM-SHA-256 biwsbj11c2VyLHI9\r\n", Ok("AUTH")),
    (b"AUTH PLAIN abc\r\n", Err(Syntax)),
    (b"AUTH PLAIN a===\r\n", Err(Syntax)),
    (b"AUTH PLAIN ab=c\r\n", Err(Syntax)),
    (b"AUTH ABCDEFGHIJKLMNOPQRSTU\r\n", Err(Syntax)),
    (b"AUTH\r\n", Err(Syntax)),
    (b"ETRN example.com\r\n", Ok("ETRN")),
    (b"ETRN @example.com\r\n", Ok("ETRN")),
    (b"ETRN #queue1\r\n", Ok("ETRN")),
    (b"ETRN #\r\n", Err(Syntax)),
    (
        b"BURL imap://u@h/INBOX;UIDVALIDITY=1/;UID=2;urlauth=x LAST\r\n",
        Ok("BURL"),
    ),
    (b"BURL imap://h/x\r\n", Ok("BURL")),
    (b"BURL nourl\r\n", Err(Syntax)),
    (b"XYZZ\r\n", Err(UnknownCommand)),
    (b"MAI\r\n", Err(UnknownCommand)),
    (b"MAILFROM:<a@b>\r\n", Err(UnknownCommand)),
    (b"\r\n", Err(UnknownCommand)),
    // Framing
    (b"NOOP", Err(Incomplete)),
    (b"NOOP\r", Err(Incomplete)),
    (b"NOOP\n", Err(BareLineEnding)),
    (b"NO\rOP\r\n", Err(BareLineEnding)),
    (b"NOOP\r\nQUIT\r\n", Err(TrailingData)),
    (b"NO\0OP\r\n", Err(Nul)),
    // MAIL paths
    (b"MAIL FROM:<>\r\n", Ok("MAIL")),
    (b"mail from:<a@b>\r\n", Ok("MAIL")),
    (b"MAIL FROM: <a@b>\r\n", Err(Syntax)),
    (b"MAIL FROM:a@b\r\n", Err(Syntax)),
    (b"MAIL FROM:<a@b> \r\n", Err(Syntax)),
    (b"MAIL FROM:<a@b>  SIZE=1\r\n", Err(Syntax)),
    (b"MAIL FROM:<a@b\r\n", Err(Syntax)),
    (b"MAIL FROM:<@a:b@c>\r\n", Ok("MAIL")),
    (b"MAIL FROM:<@a,b:c@d>\r\n", Err(Syntax)),
    (b"MAIL FROM:<\"a b\"@c>\r\n", Ok("MAIL")),
    (b"MAIL FROM:<\"a\\\"b\\\\c\"@x>\r\n", Ok("MAIL")),
    (b"MAIL FROM:<\"a\\\x01\"@x>\r\n", Err(Syntax)),
    (b"MAIL FROM:<a..b@x>\r\n", Err(Syntax)),
    (b"MAIL FROM:<.a@x>\r\n", Err(Syntax)),
    (b"MAIL FROM:<a.@x>\r\n", Err(Syntax)),
    (b"MAIL FROM:<a@[1.2.3.4]>\r\n", Ok("MAIL")),
    (b"MAIL FROM:<a@[001.002.003.004]>\r\n", Ok("MAIL")),
    (b"MAIL FROM:<a@[256.1.1.1]>\r\n", Err(Syntax)),
    (b"MAIL FROM:<a@[1.2.3]>\r\n", Err(Syntax)),
    (b"MAIL FROM:<a@[IPv6:1:2:3:4:5:6:7:8]>\r\n", Ok("MAIL")),
    (b"MAIL FROM:<a@[IPv6:1:2:3:4:5:6:7]>\r\n", Err(Syntax)),
    (b"MAIL FROM:<a@[IPv6:1::8]>\r\n", Ok("MAIL")),
    (b"MAIL FROM:<a@[IPv6:::]>\r\n", Ok("MAIL")),
    (b"MAIL FROM:<a@[IPv6:1:2:3:4:5:6::]>\r\n", Ok("MAIL")),
    (b"MAIL FROM:<a@[IPv6:1:2:3:4:5:6:7::]>\r\n", Err(Syntax)),
    (b"MAIL FROM:<a@[IPv6:1::2::3]>\r\n", Err(Syntax)),
    (b"MAIL FROM:<a@[IPv6:1:::2]>\r\n", Err(Syntax)),
    (b"MAIL FROM:<a@[IPv6:12345::]>\r\n", Err(Syntax)),
    (b"MAIL FROM:<a@[IPv6:1:2:3:4:5:6:1.2.3.4]>\r\n", Ok("MAIL")),
    (b"MAIL FROM:<a@[IPv6:::ffff:1.2.3.4]>\r\n", Ok("MAIL")),
    (b"MAIL FROM:<a@[IPv6:1:2:3:4::1.2.3.4]>\r\n", Ok("MAIL")),
    (b"MAIL FROM:<a@[IPv6:1:2:3:4:5::1.2.3.4]>\r\n", Err(Syntax)),
    (b"MAIL FROM:<a@[x-tag:some:content]>\r\n", Ok("MAIL")),
    (b"MAIL FROM:<a@[x-tag:]>\r\n", Err(Syntax)),
    (b"MAIL FROM:<a@[x-tag:a[b]>\r\n", Err(Syntax)),
    // SMTPUTF8 (RFC 6531 3.3)
    (
        "MAIL FROM:<用户@例子.广告> SMTPUTF8\r\n".as_bytes(),
        Ok("MAIL"),
    ),
    (
        "MAIL FROM:<用户@例子.广告>\r\n".as_bytes(),
        Err(Utf8NotAllowed),
    ),
    (b"MAIL FROM:<\xff@x> SMTPUTF8\r\n", Err(InvalidUtf8)),
    (b"MAIL FROM:<\xc3@x> SMTPUTF8\r\n", Err(InvalidUtf8)),
    (
        "RCPT TO:<δοκιμή@παράδειγμα.δοκιμή>\r\n".as_bytes(),
        Ok("RCPT"),
    ),
    // RCPT
    (b"RCPT TO:<>\r\n", Err(Syntax)),
    (b"RCPT TO:<Postmaster>\r\n", Ok("RCPT")),
    (b"RCPT TO:<POSTMASTER>\r\n", Ok("RCPT")),
    (b"RCPT TO:<postmaster@x>\r\n", Ok("RCPT")),
    (b"RCPT TO:<@a:Postmaster>\r\n", Err(Syntax)),
    (b"rcpt to:<a@b>\r\n", Ok("RCPT")),
    // MAIL parameters (RFC 1870, 6152, 3030, 3461, 4954, 8689, 6710, 4865, 2852)
    (b"MAIL FROM:<a@b> SIZE=500000\r\n", Ok("MAIL")),
    (b"MAIL FROM:<a@b> SIZE=18446744073709551615\r\n", Ok("MAIL")),
    (
        b"MAIL FROM:<a@b> SIZE=18446744073709551616\r\n",
        Err(NumberOverflow),
    ),
    (
        b"MAIL FROM:<a@b> SIZE=99999999999999999999999\r\n",
        Err(NumberOverflow),
    ),
    (
        b"MAIL FROM:<a@b> SIZE=000000000000000000001\r\n",
        Err(InvalidParameter),
    ),
    (b"MAIL FROM:<a@b> SIZE=-1\r\n", Err(InvalidParameter)),
    (b"MAIL FROM:<a@b> SIZE\r\n", Err(InvalidParameter)),
    (b"MAIL FROM:<a@b> SIZE=\r\n", Err(Syntax)),
    (
        b"MAIL FROM:<a@b> SIZE=1 size=2\r\n",
        Err(DuplicateParameter),
    ),
    // Issue 11 item 6: Python's smtplib sends this; the same value repeated
    // is one parameter (keyword case-insensitive, value by its own rules).
    (
        b"MAIL FROM:<a@example.org> size=281 SIZE=281 BODY=8BITMIME\r\n",
        Ok("MAIL"),
    ),
    (b"MAIL FROM:<a@b> SIZE=281 SIZE=0281\r\n", Ok("MAIL")),
    (
        b"MAIL FROM:<a@b> BODY=8BITMIME body=8bitmime\r\n",
        Ok("MAIL"),
    ),
    (
        b"MAIL FROM:<a@b> SIZE=100 SIZE=200\r\n",
        Err(DuplicateParameter),
    ),
    (
        b"MAIL FROM:<a@b> BODY=7BIT BODY=8BITMIME\r\n",
        Err(DuplicateParameter),
    ),
    (
        b"MAIL FROM:<a@b> RET=FULL RET=HDRS\r\n",
        Err(DuplicateParameter),
    ),
    (b"MAIL FROM:<a@b> HOLDFOR=10 HOLDFOR=10\r\n", Ok("MAIL")),
    (
        b"MAIL FROM:<a@b> HOLDFOR=10 HOLDFOR=20\r\n",
        Err(DuplicateParameter),
    ),
    // A bad value in the repeat is refused as bad, not as a duplicate.
    (b"MAIL FROM:<a@b> SIZE=1 SIZE=x\r\n", Err(InvalidParameter)),
    (b"MAIL FROM:<a@b> BODY=8bitmime\r\n", Ok("MAIL")),
    (b"MAIL FROM:<a@b> BODY=BINARYMIME\r\n", Ok("MAIL")),
    (b"MAIL FROM:<a@b> BODY=7BIT\r\n", Ok("MAIL")),
    (b"MAIL FROM:<a@b> BODY=9BIT\r\n", Err(InvalidParameter)),
    (b"MAIL FROM:<a@b> SMTPUTF8=yes\r\n", Err(InvalidParameter)),
    (b"MAIL FROM:<a@b> RET=hdrs ENVID=QQ314159\r\n", Ok("MAIL")),
    (b"MAIL FROM:<a@b> RET=ALL\r\n", Err(InvalidParameter)),
    (b"MAIL FROM:<a@b> ENVID=a+2\r\n", Err(InvalidParameter)),
    (b"MAIL FROM:<a@b> ENVID=a+2b\r\n", Err(InvalidParameter)),
    (b"MAIL FROM:<a@b> AUTH=<>\r\n", Ok("MAIL")),
    (b"MAIL FROM:<a@b> AUTH=e+3Dmc2@example.com\r\n", Ok("MAIL")),
    (b"MAIL FROM:<a@b> REQUIRETLS\r\n", Ok("MAIL")),
    (b"MAIL FROM:<a@b> MT-PRIORITY=-9\r\n", Ok("MAIL")),
    // RFC 6710 7: priority-value = (["-"] NZDIGIT) / "0" (issue 11 item 5).
    (b"MAIL FROM:<a@b> MT-PRIORITY=0\r\n", Ok("MAIL")),
    (b"MAIL FROM:<a@b> MT-PRIORITY=9\r\n", Ok("MAIL")),
    (b"MAIL FROM:<a@b> MT-PRIORITY=+5\r\n", Err(InvalidParameter)),
    (b"MAIL FROM:<a@b> MT-PRIORITY=-0\r\n", Err(InvalidParameter)),
    (b"MAIL FROM:<a@b> MT-PRIORITY=05\r\n", Err(InvalidParameter)),
    (b"MAIL FROM:<a@b> MT-PRIORITY=10\r\n", Err(InvalidParameter)),
    (b"MAIL FROM:<a@b> HOLDFOR=3600\r\n", Ok("MAIL")),
    (
        b"MAIL FROM:<a@b> HOLDUNTIL=2007-05-23T15:30:00Z\r\n",
        Ok("MAIL"),
    ),
    (
        b"MAIL FROM:<a@b> HOLDUNTIL=2007-05-23T15:30:00.5+02:00\r\n",
        Ok("MAIL"),
    ),
    (
        b"MAIL FROM:<a@b> HOLDUNTIL=2007-05-23\r\n",
        Err(InvalidParameter),
    ),
    (
        b"MAIL FROM:<a@b> HOLDFOR=1 HOLDUNTIL=2007-05-23T15:30:00Z\r\n",
        Err(DuplicateParameter),
    ),
    (b"MAIL FROM:<a@b> BY=120;R\r\n", Ok("MAIL")),
    (b"MAIL FROM:<a@b> BY=-10;nt\r\n", Ok("MAIL")),
    (
        b"MAIL FROM:<a@b> BY=1234567890;R\r\n",
        Err(InvalidParameter),
    ),
    (b"MAIL FROM:<a@b> BY=1;X\r\n", Err(InvalidParameter)),
    // RFC 2852 4: by-time <= 0 is not allowed with by-mode R (fine with N).
    (b"MAIL FROM:<a@b> BY=0;R\r\n", Err(InvalidParameter)),
    (b"MAIL FROM:<a@b> BY=-5;RT\r\n", Err(InvalidParameter)),
    (b"MAIL FROM:<a@b> BY=-0;r\r\n", Err(InvalidParameter)),
    (b"MAIL FROM:<a@b> BY=0;N\r\n", Ok("MAIL")),
    (b"MAIL FROM:<a@b> BY=+1;R\r\n", Ok("MAIL")),
    (b"MAIL FROM:<a@b> X-UNKNOWN=v1 FOO\r\n", Ok("MAIL")),
    (b"MAIL FROM:<a@b> -X=1\r\n", Err(Syntax)),
    (b"MAIL FROM:<a@b> X=a=b\r\n", Err(Syntax)),
    (
        b"MAIL FROM:<a@b> NOTIFY=NEVER\r\n",
        Err(UnsupportedParameter),
    ),
    // RCPT parameters (RFC 3461, 6533, 7293)
    (b"RCPT TO:<a@b> NOTIFY=SUCCESS,FAILURE\r\n", Ok("RCPT")),
    (b"RCPT TO:<a@b> NOTIFY=never\r\n", Ok("RCPT")),
    (
        b"RCPT TO:<a@b> NOTIFY=NEVER,SUCCESS\r\n",
        Err(InvalidParameter),
    ),
    (
        b"RCPT TO:<a@b> NOTIFY=DELAY,DELAY\r\n",
        Err(InvalidParameter),
    ),
    (b"RCPT TO:<a@b> NOTIFY=\r\n", Err(Syntax)),
    (
        b"RCPT TO:<a@b> ORCPT=rfc822;Bob@Example.COM\r\n",
        Ok("RCPT"),
    ),
    (b"RCPT TO:<a@b> ORCPT=rfc822;a+2Bb@x\r\n", Ok("RCPT")),
    (b"RCPT TO:<a@b> ORCPT=rfc822\r\n", Err(InvalidParameter)),
    (b"RCPT TO:<a@b> ORCPT=utf-8;\\x{4E8C}@x\r\n", Ok("RCPT")),
    (
        b"RCPT TO:<a@b> ORCPT=utf-8;\\x{0041}@x\r\n",
        Err(InvalidParameter),
    ),
    (
        b"RCPT TO:<a@b> ORCPT=utf-8;\\x{D800}@x\r\n",
        Err(InvalidParameter),
    ),
    (b"RCPT TO:<a@b> RRVS=2014-04-03T23:01:00Z;C\r\n", Ok("RCPT")),
    (
        b"RCPT TO:<a@b> RRVS=2014-04-03T23:01:00Z;X\r\n",
        Err(InvalidParameter),
    ),
    // RFC 3339 5.7: each field within its range, the day within its month
    // (found by the differential fuzz target: day 51 was accepted).
    (
        b"RCPT TO:<a@b> RRVS=2024-01-51T00:00:00Z;C\r\n",
        Err(InvalidParameter),
    ),
    (
        b"RCPT TO:<a@b> RRVS=2023-02-29T00:00:00Z\r\n",
        Err(InvalidParameter),
    ),
    (b"RCPT TO:<a@b> RRVS=2024-02-29T00:00:00Z\r\n", Ok("RCPT")),
    (
        b"RCPT TO:<a@b> RRVS=1900-02-29T00:00:00Z\r\n",
        Err(InvalidParameter),
    ),
    (b"RCPT TO:<a@b> RRVS=2000-02-29T23:59:60Z\r\n", Ok("RCPT")),
    (
        b"RCPT TO:<a@b> RRVS=2014-13-03T23:01:00Z\r\n",
        Err(InvalidParameter),
    ),
    (
        b"RCPT TO:<a@b> RRVS=2014-04-00T23:01:00Z\r\n",
        Err(InvalidParameter),
    ),
    (
        b"RCPT TO:<a@b> RRVS=2014-04-31T23:01:00Z\r\n",
        Err(InvalidParameter),
    ),
    (
        b"RCPT TO:<a@b> RRVS=2014-04-03T24:01:00Z\r\n",
        Err(InvalidParameter),
    ),
    (
        b"RCPT TO:<a@b> RRVS=2014-04-03T23:60:00Z\r\n",
        Err(InvalidParameter),
    ),
    (
        b"RCPT TO:<a@b> RRVS=2014-04-03T23:01:61Z\r\n",
        Err(InvalidParameter),
    ),
    (
        b"RCPT TO:<a@b> RRVS=2014-04-03T23:01:00+24:00\r\n",
        Err(InvalidParameter),
    ),
    (
        b"RCPT TO:<a@b> RRVS=2014-04-03T23:01:00-05:60\r\n",
        Err(InvalidParameter),
    ),
    (
        b"RCPT TO:<a@b> RRVS=2014-04-03T23:01:00-05:30\r\n",
        Ok("RCPT"),
    ),
    (
        b"MAIL FROM:<a@b> HOLDUNTIL=2007-05-32T15:30:00Z\r\n",
        Err(InvalidParameter),
    ),
    // Issue 11 item 6: a repeat with the same value is one parameter
    // (NOTIFY compared as a set); conflicting values are refused
    // (RFC 3461 4.5).
    (b"RCPT TO:<a@b> NOTIFY=NEVER NOTIFY=never\r\n", Ok("RCPT")),
    (
        b"RCPT TO:<a@b> NOTIFY=SUCCESS,FAILURE notify=FAILURE,SUCCESS\r\n",
        Ok("RCPT"),
    ),
    (
        b"RCPT TO:<a@b> NOTIFY=NEVER NOTIFY=SUCCESS\r\n",
        Err(DuplicateParameter),
    ),
    (
        b"RCPT TO:<a@b> ORCPT=rfc822;a@b ORCPT=rfc822;c@d\r\n",
        Err(DuplicateParameter),
    ),
    (b"RCPT TO:<a@b> SIZE=1\r\n", Err(UnsupportedParameter)),
];

#[test]
fn known_answers() {
    let mut failed = Vec::new();
    for (input, expected) in TABLE {
        let got = parse(input).map(|c| c.verb());
        if got != *expected {
            failed.push(format!(
                "{:?}: got {got:?}, expected {expected:?}",
                String::from_utf8_lossy(input)
            ));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

#[test]
fn unknown_command_reports_verb() {
    let e = Command::parse(b"XYZZY foo\r\n", &opts()).unwrap_err();
    assert_eq!(e.error, UnknownCommand);
    assert_eq!(e.verb, b"XYZZY");
    let e = Command::parse_line(b"FOO", &opts()).unwrap_err();
    assert_eq!((e.error, e.verb), (UnknownCommand, &b"FOO"[..]));
}

#[test]
fn values() {
    let Ok(Command::Mail { from: ReversePath::Mailbox(m), params }) = parse(
        b"MAIL FROM:<@r1,@r2:\"al\\ice\"@Example.COM> SIZE=0123 BODY=binarymime RET=FULL ENVID=a+2Bb AUTH=x+40y MT-PRIORITY=4 BY=-5;Nt X-A=1 Y\r\n",
    ) else {
        panic!("mail")
    };
    assert_eq!(m.local.as_bytes(), b"\"al\\ice\"");
    assert_eq!(&*m.local.canonical(), b"alice");
    assert_eq!(m.domain.as_bytes(), b"Example.COM");
    assert_eq!(params.size, Some(123));
    assert_eq!(params.body, Some(Body::BinaryMime));
    assert_eq!(params.ret(), Some(Ret::Full));
    assert_eq!(&*params.envid().unwrap().decode(), b"a+b");
    let Some(MailAuth::Mailbox(a)) = params.auth() else {
        panic!()
    };
    assert_eq!(&*a.decode(), b"x@y");
    assert_eq!(params.mt_priority(), Some(4));
    let by = params.by().unwrap();
    assert_eq!((by.time, by.mode, by.trace), (-5, ByMode::Notify, true));
    let unknown: Vec<_> = params.unknown().map(|p| (p.keyword, p.value)).collect();
    assert_eq!(
        unknown,
        vec![(&b"X-A"[..], Some(&b"1"[..])), (&b"Y"[..], None)]
    );
    assert_eq!(params.iter().count(), 9);

    let Ok(Command::Mail { params, .. }) = parse(b"MAIL FROM:<a@b> HOLDFOR=60\r\n") else {
        panic!()
    };
    assert_eq!(params.hold(), Some(Hold::For(60)));

    let Ok(Command::Rcpt { to, params }) = parse(b"RCPT TO:<pOsTmAsTeR> NOTIFY=delay,success\r\n")
    else {
        panic!()
    };
    assert_eq!(to, ForwardPath::Postmaster);
    let n = params.notify.unwrap();
    assert!(n.success() && n.delay() && !n.failure() && !n.is_never());

    let Ok(Command::Rcpt { params, .. }) = parse(b"RCPT TO:<a@b> ORCPT=utf-8;\\x{4E8C}x@x\r\n")
    else {
        panic!()
    };
    assert_eq!(&*params.orcpt().unwrap().decoded(), "二x@x".as_bytes());

    assert_eq!(
        parse(b"BDAT 007 LAST\r\n"),
        Ok(Command::Bdat {
            size: 7,
            last: true
        })
    );
    assert_eq!(
        parse(b"AUTH plain =\r\n"),
        Ok(Command::Auth {
            mechanism: b"plain",
            initial_response: Some(smtp_sansio::Secret::new(b"="))
        })
    );
}

#[test]
fn canonical_local_parts() {
    for (input, canonical) in [
        (&b"MAIL FROM:<\"alice\"@x>\r\n"[..], &b"alice@x"[..]),
        (b"MAIL FROM:<\"al\\ice\"@x>\r\n", b"alice@x"),
        (b"MAIL FROM:<\"a\\\"b\\\\c\"@x>\r\n", b"\"a\\\"b\\\\c\"@x"),
        (b"MAIL FROM:<\"a..b\"@x>\r\n", b"\"a..b\"@x"),
        (b"MAIL FROM:<\"\"@x>\r\n", b"\"\"@x"),
        (b"MAIL FROM:<\"a b\"@x>\r\n", b"\"a b\"@x"),
        (b"MAIL FROM:<a.b@x>\r\n", b"a.b@x"),
    ] {
        let Ok(Command::Mail {
            from: ReversePath::Mailbox(m),
            ..
        }) = parse(input)
        else {
            panic!()
        };
        let mut out = Vec::new();
        m.write_canonical(&mut out);
        assert_eq!(out, canonical, "{}", String::from_utf8_lossy(input));
    }
    // Equality is canonical equality.
    let a = parse(b"MAIL FROM:<\"alice\"@X>\r\n").unwrap();
    let b = parse(b"MAIL FROM:<alice@x>\r\n").unwrap();
    assert_eq!(a, b);
}

#[test]
fn address_literals() {
    let lit = |s: &'static [u8]| {
        smtp_sansio::Domain::parse(s, false)
            .unwrap()
            .address_literal()
    };
    assert_eq!(
        lit(b"[010.0.0.1]"),
        Some(AddressLiteral::Ipv4(Ipv4Addr::new(10, 0, 0, 1)))
    );
    assert_eq!(
        lit(b"[IPv6:::1]"),
        Some(AddressLiteral::Ipv6(Ipv6Addr::LOCALHOST))
    );
    assert_eq!(
        lit(b"[ipv6:::ffff:1.2.3.4]"),
        Some(AddressLiteral::Ipv6(
            Ipv4Addr::new(1, 2, 3, 4).to_ipv6_mapped()
        ))
    );
    assert_eq!(
        lit(b"[tag:x]"),
        Some(AddressLiteral::General {
            tag: b"tag",
            content: b"x"
        })
    );
    assert_eq!(lit(b"example.com"), None);
}

#[test]
fn limits_at_and_over() {
    let o = opts();
    let local64 = "a".repeat(64);
    let line = format!("RCPT TO:<{local64}@x>\r\n");
    assert!(Command::parse(line.as_bytes(), &o).is_ok());
    let line = format!("RCPT TO:<{local64}a@x>\r\n");
    assert_eq!(
        Command::parse(line.as_bytes(), &o).unwrap_err().error,
        LocalPartTooLong
    );
    // Domain of 255 octets: labels of 63.
    let d255 = format!("{0}.{0}.{0}.{1}", "d".repeat(63), "d".repeat(63));
    assert_eq!(d255.len(), 255);
    let mut wide = o;
    wide.limits.path = 1000;
    let line = format!("RCPT TO:<a@{d255}>\r\n");
    assert!(Command::parse(line.as_bytes(), &wide).is_ok());
    let line = format!("RCPT TO:<a@e{d255}>\r\n");
    assert_eq!(
        Command::parse(line.as_bytes(), &wide).unwrap_err().error,
        DomainTooLong
    );
    // Path of 256 with brackets: local 0..64 + '@' + domain.
    let d = format!("{0}.{0}.{0}.{1}", "d".repeat(63), "d".repeat(59)); // 251
    let path = format!("<abc@{d}>");
    assert_eq!(path.len(), 257);
    let line = format!("RCPT TO:{path}\r\n");
    assert_eq!(
        Command::parse(line.as_bytes(), &o).unwrap_err().error,
        PathTooLong
    );
    let line = format!("RCPT TO:<ab@{d}>\r\n");
    assert!(Command::parse(line.as_bytes(), &o).is_ok());
    // Line lengths include CRLF.
    let mut strict = o;
    strict.extensions = Extensions::NONE;
    let noop = format!("NOOP {}\r\n", "a".repeat(512 - 7));
    assert_eq!(noop.len(), 512);
    assert!(Command::parse(noop.as_bytes(), &strict).is_ok());
    let noop = format!("NOOP {}\r\n", "a".repeat(512 - 6));
    assert_eq!(
        Command::parse(noop.as_bytes(), &strict).unwrap_err().error,
        LineTooLong
    );
    // MAIL gets the SIZE increment (RFC 1870: 26).
    strict.extensions = Extensions::SIZE;
    let pad = "x".repeat(512 + 26 - "MAIL FROM:<> X=\r\n".len());
    let mail = format!("MAIL FROM:<> X={pad}\r\n");
    assert!(Command::parse(mail.as_bytes(), &strict).is_ok());
    let mail = format!("MAIL FROM:<> X={pad}y\r\n");
    assert_eq!(
        Command::parse(mail.as_bytes(), &strict).unwrap_err().error,
        LineTooLong
    );
    // AUTH lines up to 12288.
    let b64 = "QUFB".repeat((12288 - 13) / 4);
    let auth = format!("AUTH PLAIN {b64}\r\n");
    assert!(auth.len() <= 12288);
    assert!(Command::parse(auth.as_bytes(), &o).is_ok());
}

#[test]
fn extensions_gate_parameters() {
    let mut o = opts();
    o.extensions = Extensions::NONE;
    for line in [
        &b"MAIL FROM:<a@b> SIZE=1\r\n"[..],
        b"MAIL FROM:<a@b> BODY=8BITMIME\r\n",
        b"MAIL FROM:<a@b> SMTPUTF8\r\n",
        b"MAIL FROM:<a@b> RET=FULL\r\n",
        b"MAIL FROM:<a@b> AUTH=<>\r\n",
        b"MAIL FROM:<a@b> REQUIRETLS\r\n",
        b"RCPT TO:<a@b> NOTIFY=NEVER\r\n",
        b"RCPT TO:<a@b> RRVS=2014-04-03T23:01:00Z\r\n",
    ] {
        assert_eq!(
            Command::parse(line, &o).unwrap_err().error,
            UnsupportedParameter
        );
    }
    o.extensions = Extensions::EIGHT_BIT_MIME;
    assert_eq!(
        Command::parse(b"MAIL FROM:<a@b> BODY=BINARYMIME\r\n", &o)
            .unwrap_err()
            .error,
        UnsupportedParameter
    );
    // Without a SMTPUTF8 transaction, RCPT refuses non-ASCII.
    let mut o = opts();
    o.utf8_transaction = false;
    assert_eq!(
        Command::parse("RCPT TO:<é@x>\r\n".as_bytes(), &o)
            .unwrap_err()
            .error,
        Utf8NotAllowed
    );
    o.extensions = Extensions::NONE;
    assert_eq!(
        Command::parse("MAIL FROM:<é@x> SMTPUTF8\r\n".as_bytes(), &o)
            .unwrap_err()
            .error,
        Utf8NotAllowed
    );
}

#[test]
fn lenient_options() {
    let mut o = opts();
    o.lenient.space_after_colon = true;
    o.lenient.missing_brackets = true;
    o.lenient.trailing_whitespace = true;
    assert!(Command::parse(b"MAIL FROM: <a@b>\r\n", &o).is_ok());
    assert!(Command::parse(b"MAIL FROM:a@b SIZE=1\r\n", &o).is_ok());
    assert!(Command::parse(b"RCPT TO: a@b\r\n", &o).is_ok());
    assert!(Command::parse(b"QUIT \t\r\n", &o).is_ok());
    o.line_ending = LineEndingPolicy::Normalize;
    assert_eq!(Command::parse(b"QUIT\n", &o), Ok(Command::Quit));
    assert_eq!(Command::parse_line(b"QUIT", &o), Ok(Command::Quit));
}

#[test]
fn command_is_small() {
    let size = core::mem::size_of::<Command<'_>>();
    assert!(size <= 160, "size_of::<Command>() = {size}");
}

#[test]
fn print_size() {
    println!(
        "size_of::<Command>() = {}",
        core::mem::size_of::<Command<'_>>()
    );
}

/// A parameter of the other command is misplaced, not unknown (RFC 5321
/// 4.1.1.11: 555), while a truly unknown one is kept for the application.
#[test]
fn misplaced_parameters_are_refused() {
    let opts = CommandOptions::new();
    for line in [
        &b"RCPT TO:<a@b.example> SIZE=10\r\n"[..],
        b"RCPT TO:<a@b.example> BODY=8BITMIME\r\n",
        b"RCPT TO:<a@b.example> AUTH=<>\r\n",
        b"MAIL FROM:<a@b.example> NOTIFY=NEVER\r\n",
        b"MAIL FROM:<a@b.example> ORCPT=rfc822;a@b.example\r\n",
    ] {
        assert_eq!(
            Command::parse(line, &opts).map_err(|e| e.error),
            Err(ParseError::UnsupportedParameter),
            "{}",
            String::from_utf8_lossy(line)
        );
    }
    assert!(Command::parse(b"RCPT TO:<a@b.example> X-TRACE=1\r\n", &opts).is_ok());
}

/// Issue 13: a parsed command is small (the rare MAIL and RCPT parameters
/// are read on demand from the validated text), so returning one copies a
/// few words instead of calling `memcpy`.
#[test]
fn parsed_command_is_small() {
    use smtp_sansio::{MailParams, RcptParams};
    let sizes = (
        std::mem::size_of::<Command<'_>>(),
        std::mem::size_of::<MailParams<'_>>(),
        std::mem::size_of::<RcptParams<'_>>(),
    );
    eprintln!("Command, MailParams, RcptParams: {sizes:?} bytes");
    assert!(sizes.0 <= 80, "{sizes:?}");
    assert!(sizes.1 <= 40, "{sizes:?}");
    assert!(sizes.2 <= 24, "{sizes:?}");
}

/// The rare MAIL parameters read on demand give the value of their first
/// occurrence, also when an equal repeat was accepted (RFC 3461 4.5), and
/// `None` when absent; hand-built parameters come from `MailParams::parse`.
#[test]
fn rare_params_on_demand() {
    use smtp_sansio::Rrvs;
    use smtp_sansio::{MailParams, RcptParams};
    let Ok(Command::Mail { params, .. }) =
        parse(b"MAIL FROM:<a@b> RET=hdrs X=1 RET=HDRS HOLDUNTIL=2030-01-02T03:04:05Z\r\n")
    else {
        panic!()
    };
    assert_eq!(params.ret(), Some(Ret::Hdrs));
    assert_eq!(params.hold(), Some(Hold::Until(b"2030-01-02T03:04:05Z")));
    assert_eq!(
        (params.envid(), params.auth(), params.by()),
        (None, None, None)
    );
    assert_eq!(params.mt_priority(), None);
    assert_eq!(params.unknown().count(), 1);
    assert_eq!(params.iter().count(), 4);

    let p = MailParams::parse(b"ENVID=q+2B AUTH=<> SIZE=9", Extensions::ALL, false).unwrap();
    assert_eq!((p.size, p.auth()), (Some(9), Some(MailAuth::Unknown)));
    assert_eq!(&*p.envid().unwrap().decode(), b"q+");
    assert_eq!(
        MailParams::parse(b"RET=FULL", Extensions::NONE, false).map(|p| p.ret()),
        Err(ParseError::UnsupportedParameter)
    );
    assert_eq!(
        MailParams::parse(b"RET=FULL RET=HDRS", Extensions::ALL, false).map(|p| p.ret()),
        Err(ParseError::DuplicateParameter)
    );

    let r = RcptParams::parse(b"RRVS=2030-01-02T03:04:05Z;c", Extensions::ALL, false).unwrap();
    assert_eq!(
        r.rrvs(),
        Some(Rrvs {
            time: b"2030-01-02T03:04:05Z",
            mode: Some(b'C')
        })
    );
    assert_eq!(r.orcpt(), None);
}
