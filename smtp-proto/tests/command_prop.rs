//! Property tests: `parse(encode(x)) == x` for valid commands built by
//! strategies, and `parse` never panics on arbitrary bytes.
#![allow(clippy::field_reassign_with_default)]
use proptest::prelude::*;
use smtp_sansio::{
    Body, ByMode, DeliverBy, Hold, MailAuth, MailParams, Notify, RcptParams, Ret, XText,
};
use smtp_sansio::{Command, CommandOptions, Domain, Extensions, Mailbox};
use smtp_sansio::{ForwardPath, ReversePath};

fn leak(s: String) -> &'static [u8] {
    Box::leak(s.into_bytes().into_boxed_slice())
}

fn domain() -> impl Strategy<Value = &'static [u8]> {
    prop_oneof![
        "[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?){0,3}"
            .prop_map(leak),
        (any::<[u8; 4]>()).prop_map(|o| leak(format!("[{}.{}.{}.{}]", o[0], o[1], o[2], o[3]))),
        (any::<[u16; 8]>()).prop_map(|g| leak(format!("[IPv6:{}]", std::net::Ipv6Addr::from(g)))),
        "[a-z][a-z0-9-]{0,5}[a-z0-9]:[!-Z^-~]{1,10}".prop_map(|s| leak(format!("[{s}]"))),
    ]
}

fn local() -> impl Strategy<Value = &'static [u8]> {
    prop_oneof![
        "[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]{1,10}(\\.[a-zA-Z0-9_-]{1,8}){0,2}".prop_map(leak),
        "\"([ !#-\\[\\]-~]|\\\\[ -~]){0,12}\"".prop_map(leak),
    ]
}

fn mailbox() -> impl Strategy<Value = Mailbox<'static>> {
    (local(), domain()).prop_map(|(l, d)| {
        let s = leak(format!(
            "{}@{}",
            String::from_utf8_lossy(l),
            String::from_utf8_lossy(d)
        ));
        Mailbox::parse(s, false).expect("valid mailbox")
    })
}

fn xtext() -> impl Strategy<Value = XText<'static>> {
    "([!-*,-<>-~]|\\+[0-9A-F]{2}){1,20}".prop_map(|s| XText::new(leak(s)).expect("xtext"))
}

fn mail_params() -> impl Strategy<Value = MailParams<'static>> {
    (
        proptest::option::of(any::<u64>()),
        proptest::option::of(prop_oneof![
            Just(Body::SevenBit),
            Just(Body::EightBitMime),
            Just(Body::BinaryMime)
        ]),
        any::<bool>(),
        proptest::option::of(prop_oneof![Just(Ret::Full), Just(Ret::Hdrs)]),
        proptest::option::of(xtext()),
        proptest::option::of(prop_oneof![
            Just(MailAuth::Unknown),
            xtext().prop_map(MailAuth::Mailbox)
        ]),
        any::<bool>(),
        proptest::option::of(-9i8..=9),
        proptest::option::of(prop_oneof![
            (0u64..=999_999_999).prop_map(Hold::For),
            Just(Hold::Until(&b"2030-01-02T03:04:05Z"[..])),
        ]),
        proptest::option::of(
            (-999_999_999i32..=999_999_999, any::<bool>(), any::<bool>()).prop_map(
                |(time, r, trace)| DeliverBy {
                    // RFC 2852 4: R mode needs a positive by-time.
                    time: if r { time.abs().max(1) } else { time },
                    mode: if r { ByMode::Return } else { ByMode::Notify },
                    trace,
                },
            ),
        ),
    )
        .prop_map(
            |(size, body, smtputf8, ret, envid, auth, requiretls, mt_priority, hold, by)| {
                // The rare parameters are parameter text (read on demand);
                // the common ones are fields.
                let mut rare: Vec<String> = Vec::new();
                if let Some(r) = ret {
                    rare.push(format!(
                        "RET={}",
                        if r == Ret::Full { "FULL" } else { "HDRS" }
                    ));
                }
                if let Some(e) = envid {
                    rare.push(format!("ENVID={}", String::from_utf8_lossy(e.as_bytes())));
                }
                match auth {
                    Some(MailAuth::Unknown) => rare.push("AUTH=<>".into()),
                    Some(MailAuth::Mailbox(x)) => {
                        rare.push(format!("AUTH={}", String::from_utf8_lossy(x.as_bytes())));
                    }
                    None => {}
                }
                if let Some(n) = mt_priority {
                    rare.push(format!("MT-PRIORITY={n}"));
                }
                match hold {
                    Some(Hold::For(n)) => rare.push(format!("HOLDFOR={n}")),
                    Some(Hold::Until(t)) => {
                        rare.push(format!("HOLDUNTIL={}", String::from_utf8_lossy(t)));
                    }
                    None => {}
                }
                if let Some(b) = by {
                    let m = if b.mode == ByMode::Return { "R" } else { "N" };
                    let t = if b.trace { "T" } else { "" };
                    rare.push(format!("BY={};{m}{t}", b.time));
                }
                let text = leak(rare.join(" "));
                let mut p = MailParams::parse(text, Extensions::ALL, false).expect("rare params");
                assert_eq!((p.ret(), p.envid(), p.auth()), (ret, envid, auth));
                assert_eq!((p.mt_priority(), p.hold(), p.by()), (mt_priority, hold, by));
                p.size = size;
                p.body = body;
                p.smtputf8 = smtputf8;
                p.requiretls = requiretls;
                p
            },
        )
}

fn rcpt_params() -> impl Strategy<Value = RcptParams<'static>> {
    proptest::option::of(prop_oneof![
        Just(Notify::NEVER),
        (any::<bool>(), any::<bool>(), any::<bool>())
            .prop_filter_map("empty", |(s, f, d)| Notify::on(s, f, d)),
    ])
    .prop_map(|notify| {
        let mut p = RcptParams::default();
        p.notify = notify;
        p
    })
}

fn command() -> impl Strategy<Value = Command<'static>> {
    let d = || domain().prop_map(|d| Domain::parse(d, false).expect("domain"));
    let atom = || "[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]{1,10}".prop_map(leak);
    prop_oneof![
        d().prop_map(|domain| Command::Ehlo { domain }),
        d().prop_map(|domain| Command::Helo { domain }),
        d().prop_map(|domain| Command::Lhlo { domain }),
        (proptest::option::of(mailbox()), mail_params()).prop_map(|(m, params)| Command::Mail {
            from: m.map_or(ReversePath::Null, ReversePath::Mailbox),
            params
        }),
        (proptest::option::of(mailbox()), rcpt_params()).prop_map(|(m, params)| Command::Rcpt {
            to: m.map_or(ForwardPath::Postmaster, ForwardPath::Mailbox),
            params
        }),
        Just(Command::Data),
        Just(Command::Rset),
        Just(Command::Quit),
        Just(Command::StartTls),
        (any::<u64>(), any::<bool>()).prop_map(|(size, last)| Command::Bdat { size, last }),
        proptest::option::of(atom()).prop_map(|arg| Command::Noop { arg }),
        proptest::option::of(atom()).prop_map(|arg| Command::Help { arg }),
        (atom(), any::<bool>()).prop_map(|(arg, smtputf8)| Command::Vrfy { arg, smtputf8 }),
        (atom(), any::<bool>()).prop_map(|(arg, smtputf8)| Command::Expn { arg, smtputf8 }),
        (
            "[A-Z0-9_-]{1,20}".prop_map(leak),
            proptest::option::of(prop_oneof![
                Just(&b"="[..]),
                proptest::collection::vec(any::<u8>(), 1..40).prop_map(|v| {
                    use base64::Engine;
                    leak(base64::engine::general_purpose::STANDARD.encode(v))
                }),
            ])
        )
            .prop_map(|(mechanism, initial_response)| Command::Auth {
                mechanism,
                initial_response: initial_response.map(smtp_sansio::Secret::new)
            }),
        domain()
            .prop_filter("no literal", |d| d[0] != b'[')
            .prop_map(|node| Command::Etrn { node }),
        (
            "imap://[a-z]{1,8}/[!-~]{1,20}".prop_map(leak),
            any::<bool>()
        )
            .prop_map(|(url, last)| Command::Burl { url, last }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn roundtrip(cmd in command()) {
        let mut out = Vec::new();
        cmd.write_to(&mut out).expect("valid command encodes");
        let mut opts = CommandOptions::new();
        opts.utf8_transaction = true;
        opts.limits.path = 10_000;
        opts.limits.command_line = 10_000;
        let back = Command::parse(&out, &opts).expect("parses back");
        prop_assert_eq!(back, cmd);
        let owned = cmd.into_owned().expect("owned");
        prop_assert_eq!(owned.command(), cmd);
    }

    #[test]
    fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let opts = CommandOptions::new();
        let _ = Command::parse(&bytes, &opts);
        let _ = Command::parse_line(&bytes, &opts);
    }

    #[test]
    fn never_panics_on_near_valid(
        verb in prop_oneof![Just("MAIL FROM:"), Just("RCPT TO:"), Just("EHLO "), Just("AUTH "), Just("VRFY "), Just("BDAT ")],
        tail in "[<>@\\[\\]:.\"\\\\ a-zA-Z0-9=+;,#\\x80-\\xff-]{0,60}",
    ) {
        let mut opts = CommandOptions::new();
        opts.utf8_transaction = true;
        let line = format!("{verb}{tail}\r\n");
        if let Ok(cmd) = Command::parse(line.as_bytes(), &opts) {
            // Whatever parses encodes and reads back equal.
            let mut out = Vec::new();
            if cmd.write_to(&mut out).is_ok() {
                prop_assert_eq!(Command::parse(&out, &opts).ok(), Some(cmd));
            }
        }
    }
}

// ----- Display ------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    /// `Display` is the encoded line without its CRLF and parses back
    /// equal, except an AUTH initial response, which is redacted; the
    /// addresses and domains display as they are encoded and parse back.
    #[test]
    fn display_is_the_encoded_line(cmd in command()) {
        let shown = cmd.to_string();
        let mut out = Vec::new();
        cmd.write_to(&mut out).expect("valid command encodes");
        let mut opts = CommandOptions::new();
        opts.utf8_transaction = true;
        opts.limits.path = 10_000;
        opts.limits.command_line = 10_000;
        match cmd {
            Command::Auth { initial_response: Some(_), .. } => {
                let prefix = shown.strip_suffix(" <redacted>").expect("redacted");
                prop_assert!(out.starts_with(prefix.as_bytes()));
                prop_assert_eq!(out[prefix.len()], b' ');
            }
            _ => {
                let wire = format!("{shown}\r\n");
                prop_assert_eq!(wire.as_bytes(), &out[..]);
                prop_assert_eq!(Command::parse(wire.as_bytes(), &opts).ok(), Some(cmd));
                let owned = cmd.into_owned().expect("owned");
                prop_assert_eq!(owned.to_string(), shown.clone());
            }
        }
        match cmd {
            Command::Ehlo { domain } | Command::Helo { domain } | Command::Lhlo { domain } => {
                let text = domain.to_string();
                prop_assert_eq!(Domain::parse(text.as_bytes(), false).ok(), Some(domain));
            }
            Command::Mail { from, .. } => {
                let head = format!("MAIL FROM:{from}");
                prop_assert!(shown.starts_with(&head));
                if let ReversePath::Mailbox(m) = from {
                    let text = m.to_string();
                    prop_assert_eq!(Mailbox::parse(text.as_bytes(), false).ok(), Some(m));
                }
            }
            Command::Rcpt { to, .. } => {
                let head = format!("RCPT TO:{to}");
                prop_assert!(shown.starts_with(&head));
                if let ForwardPath::Mailbox(m) = to {
                    let text = m.to_string();
                    prop_assert_eq!(Mailbox::parse(text.as_bytes(), false).ok(), Some(m));
                }
            }
            _ => {}
        }
    }
}

#[test]
fn display_kat() {
    let opts = CommandOptions::new();
    for (line, shown) in [
        (&b"ehlo [127.0.0.1]\r\n"[..], "EHLO [127.0.0.1]"),
        (b"MAIL FROM:<>\r\n", "MAIL FROM:<>"),
        (b"rcpt to:<postmaster>\r\n", "RCPT TO:<Postmaster>"),
        (
            b"RCPT TO:<\"a b\"@example.net> NOTIFY=NEVER\r\n",
            "RCPT TO:<\"a b\"@example.net> NOTIFY=NEVER",
        ),
        (b"BDAT 10 last\r\n", "BDAT 10 LAST"),
        (b"AUTH LOGIN\r\n", "AUTH LOGIN"),
        (b"AUTH PLAIN =\r\n", "AUTH PLAIN <redacted>"),
    ] {
        let cmd = Command::parse(line, &opts).unwrap();
        assert_eq!(cmd.to_string(), shown);
    }
    // A hand-built value that does not encode still displays on one line.
    let bad = Command::Noop {
        arg: Some(b"a\r\nQUIT"),
    };
    assert_eq!(bad.to_string(), "NOOP a\\x0D\\x0AQUIT");
}
