//! XCLIENT and XFORWARD (Postfix XCLIENT_README, XFORWARD_README): the
//! READMEs' example commands as known answers, the refusals, the opt-in
//! gate (an unknown command unless the extension is in effect), and
//! property tests: `parse(encode(x)) == x` and no panic on arbitrary
//! attribute text.
use proptest::prelude::*;
use smtp_sansio::{
    Capability, Command, CommandOptions, EhloReply, Extensions, Limits, ParseError, XAttrName,
    XAttrValue, XAttrs,
};

fn opts() -> CommandOptions {
    let mut o = CommandOptions::new();
    o.extensions |= Extensions::XCLIENT | Extensions::XFORWARD;
    o
}

fn parse(line: &[u8]) -> Result<Command<'_>, ParseError> {
    Command::parse(line, &opts()).map_err(|e| e.error)
}

fn decoded(attrs: &XAttrs<'_>, name: XAttrName) -> Option<Vec<u8>> {
    attrs.get(name)?.decode().map(|c| c.into_owned())
}

#[test]
fn xclient_readme_example() {
    // XCLIENT_README, "XCLIENT Example".
    let line = b"XCLIENT NAME=spike.porcupine.org ADDR=168.100.189.2\r\n";
    let Ok(Command::Xclient { attrs }) = parse(line) else {
        panic!("{:?}", parse(line))
    };
    let names: Vec<XAttrName> = attrs.iter().map(|a| a.name).collect();
    assert_eq!(names, [XAttrName::Name, XAttrName::Addr]);
    assert_eq!(
        decoded(&attrs, XAttrName::Name).as_deref(),
        Some(&b"spike.porcupine.org"[..])
    );
    assert_eq!(
        attrs.get(XAttrName::Addr).and_then(|v| v.ip()),
        Some("168.100.189.2".parse().unwrap())
    );
    let mut out = Vec::new();
    Command::Xclient { attrs }.write_to(&mut out).unwrap();
    assert_eq!(out, line);
}

#[test]
fn xforward_readme_example() {
    // XFORWARD_README, "XFORWARD Example": two commands.
    let line = b"XFORWARD NAME=spike.porcupine.org ADDR=168.100.189.2 PROTO=ESMTP\r\n";
    let Ok(Command::Xforward { attrs }) = parse(line) else {
        panic!("{:?}", parse(line))
    };
    assert_eq!(
        decoded(&attrs, XAttrName::Proto).as_deref(),
        Some(&b"ESMTP"[..])
    );
    let line = b"XFORWARD HELO=spike.porcupine.org\r\n";
    let Ok(Command::Xforward { attrs }) = parse(line) else {
        panic!()
    };
    assert_eq!(
        decoded(&attrs, XAttrName::Helo).as_deref(),
        Some(&b"spike.porcupine.org"[..])
    );
}

#[test]
fn ehlo_keywords_list_attribute_names() {
    // The READMEs' EHLO replies: the keyword, then the supported names.
    let reply = b"250-server.example.com\r\n250-PIPELINING\r\n250-XCLIENT NAME ADDR PROTO HELO\r\n250 XFORWARD NAME ADDR PROTO HELO\r\n";
    let (ehlo, _) = EhloReply::parse(reply, &Limits::RFC).unwrap();
    let lists: Vec<(Vec<u8>, Vec<XAttrName>)> = ehlo
        .raw_capabilities()
        .filter(|c| c.keyword.starts_with(b"X"))
        .map(|c| {
            (
                c.keyword.to_vec(),
                c.params().filter_map(XAttrName::from_name).collect(),
            )
        })
        .collect();
    let want = vec![
        XAttrName::Name,
        XAttrName::Addr,
        XAttrName::Proto,
        XAttrName::Helo,
    ];
    assert_eq!(
        lists,
        vec![
            (b"XCLIENT".to_vec(), want.clone()),
            (b"XFORWARD".to_vec(), want)
        ]
    );
    assert!(
        ehlo.capabilities()
            .any(|c| matches!(c, Capability::Other { keyword, .. } if keyword == b"XCLIENT"))
    );
}

#[test]
fn markers_case_and_all_attributes() {
    let line = b"xclient name=[tempunavail] addr=ipv6:2001:db8::1 port=25 proto=esmtp helo=[unavailable] login=+5BUNAVAILABLE+5D destaddr=192.0.2.1 destport=587\r\n";
    let Ok(Command::Xclient { attrs }) = parse(line) else {
        panic!("{:?}", parse(line))
    };
    assert_eq!(attrs.get(XAttrName::Name), Some(XAttrValue::TempUnavail));
    assert_eq!(attrs.get(XAttrName::Helo), Some(XAttrValue::Unavailable));
    // Markers are compared after xtext decoding.
    assert_eq!(attrs.get(XAttrName::Login), Some(XAttrValue::Unavailable));
    assert_eq!(
        attrs.get(XAttrName::Addr).and_then(|v| v.ip()),
        Some("2001:db8::1".parse().unwrap())
    );
    assert_eq!(attrs.get(XAttrName::Port).and_then(|v| v.port()), Some(25));
    assert_eq!(
        attrs.get(XAttrName::DestPort).and_then(|v| v.port()),
        Some(587)
    );
    assert_eq!(attrs.iter().count(), 8);
    let line = b"XFORWARD IDENT=1234ABCD SOURCE=local PROTO=QMQP NAME=[UNAVAILABLE]\r\n";
    let Ok(Command::Xforward { attrs }) = parse(line) else {
        panic!("{:?}", parse(line))
    };
    assert_eq!(
        decoded(&attrs, XAttrName::Source).as_deref(),
        Some(&b"local"[..])
    );
    // The last of a repeated attribute counts.
    let Ok(Command::Xclient { attrs }) = parse(b"XCLIENT NAME=a NAME=b\r\n") else {
        panic!()
    };
    assert_eq!(decoded(&attrs, XAttrName::Name).as_deref(), Some(&b"b"[..]));
}

#[test]
fn refusals() {
    let long = format!("XCLIENT NAME={}\r\n", "a".repeat(256));
    let cases: &[(&[u8], ParseError)] = &[
        (b"XCLIENT\r\n", ParseError::Syntax),
        (b"XCLIENT \r\n", ParseError::Syntax),
        (b"XCLIENT NAME=a  ADDR=1.2.3.4\r\n", ParseError::Syntax),
        (b"XCLIENT NAME\r\n", ParseError::Syntax),
        (b"XCLIENT FOO=bar\r\n", ParseError::InvalidParameter),
        (b"XCLIENT IDENT=x\r\n", ParseError::InvalidParameter),
        (b"XFORWARD LOGIN=x\r\n", ParseError::InvalidParameter),
        (
            b"XFORWARD NAME=[TEMPUNAVAIL]\r\n",
            ParseError::InvalidParameter,
        ),
        (
            b"XCLIENT ADDR=[TEMPUNAVAIL]\r\n",
            ParseError::InvalidParameter,
        ),
        (b"XCLIENT NAME=a+2\r\n", ParseError::InvalidParameter),
        (b"XCLIENT NAME=a+2f\r\n", ParseError::InvalidParameter),
        (b"XCLIENT NAME=\r\n", ParseError::InvalidParameter),
        (b"XCLIENT NAME=a+0Ab\r\n", ParseError::InvalidParameter),
        (b"XCLIENT ADDR=[1.2.3.4]\r\n", ParseError::InvalidParameter),
        (
            b"XCLIENT ADDR=2001:db8::1\r\n",
            ParseError::InvalidParameter,
        ),
        (b"XCLIENT PORT=65536\r\n", ParseError::InvalidParameter),
        (b"XCLIENT PROTO=QMQP\r\n", ParseError::InvalidParameter),
        (
            b"XFORWARD SOURCE=elsewhere\r\n",
            ParseError::InvalidParameter,
        ),
        (long.as_bytes(), ParseError::InvalidParameter),
        (b"XCLIENTX NAME=a\r\n", ParseError::UnknownCommand),
    ];
    for (line, want) in cases {
        assert_eq!(parse(line), Err(*want), "{}", String::from_utf8_lossy(line));
    }
    let over = format!("XCLIENT LOGIN=a{}\r\n", " LOGIN=a".repeat(70));
    assert_eq!(parse(over.as_bytes()), Err(ParseError::LineTooLong));
    // The value bound is the configured domain limit.
    let mut o = opts();
    o.limits.domain = 300;
    assert!(Command::parse(long.as_bytes(), &o).is_ok());
}

#[test]
fn opt_in_gate() {
    // Without the extension bits (the default options, and a server that
    // does not set them) both verbs stay unknown commands, as before.
    let d = CommandOptions::new();
    assert!(!d.extensions.contains(Extensions::XCLIENT));
    for line in [
        &b"XCLIENT NAME=a\r\n"[..],
        b"XFORWARD NAME=a\r\n",
        b"XCLIENT\r\n",
    ] {
        assert_eq!(
            Command::parse(line, &d).map_err(|e| e.error),
            Err(ParseError::UnknownCommand)
        );
    }
    let mut only = CommandOptions::new();
    only.extensions |= Extensions::XFORWARD;
    assert_eq!(
        Command::parse(b"XCLIENT NAME=a\r\n", &only).map_err(|e| e.error),
        Err(ParseError::UnknownCommand)
    );
    assert!(Command::parse(b"XFORWARD NAME=a\r\n", &only).is_ok());
    // Not in ALL, not listed as keywords.
    assert!(!Extensions::ALL.contains(Extensions::XCLIENT));
    assert_eq!(Extensions::XCLIENT.keyword(), None);
}

fn value_for(name: XAttrName, xclient: bool) -> BoxedStrategy<Vec<u8>> {
    let marker = prop_oneof![
        Just(b"[UNAVAILABLE]".to_vec()),
        Just(b"[unavailable]".to_vec())
    ];
    let text = proptest::collection::vec(0x20u8..=0xff, 1..40)
        .prop_filter("no DEL", |v| !v.contains(&0x7f));
    match name {
        XAttrName::Addr | XAttrName::DestAddr => prop_oneof![
            any::<[u8; 4]>().prop_map(|o| std::net::Ipv4Addr::from(o).to_string().into_bytes()),
            any::<[u16; 8]>()
                .prop_map(|g| format!("IPv6:{}", std::net::Ipv6Addr::from(g)).into_bytes()),
            marker,
        ]
        .boxed(),
        XAttrName::Port | XAttrName::DestPort => prop_oneof![
            any::<u16>().prop_map(|p| p.to_string().into_bytes()),
            marker
        ]
        .boxed(),
        XAttrName::Proto if xclient => {
            prop_oneof![Just(b"SMTP".to_vec()), Just(b"esmtp".to_vec()), marker].boxed()
        }
        XAttrName::Source => {
            prop_oneof![Just(b"LOCAL".to_vec()), Just(b"remote".to_vec()), marker].boxed()
        }
        XAttrName::Name if xclient => {
            prop_oneof![text, marker, Just(b"[TEMPUNAVAIL]".to_vec())].boxed()
        }
        _ => prop_oneof![text, marker].boxed(),
    }
}

fn attr_list(xclient: bool) -> impl Strategy<Value = Vec<(XAttrName, Vec<u8>)>> {
    let names: Vec<XAttrName> = XAttrName::ALL
        .into_iter()
        .filter(|n| {
            if xclient {
                n.in_xclient()
            } else {
                n.in_xforward()
            }
        })
        .collect();
    proptest::collection::vec(
        proptest::sample::select(names).prop_flat_map(move |n| (Just(n), value_for(n, xclient))),
        1..5,
    )
}

fn check_round_trip(xclient: bool, list: &[(XAttrName, Vec<u8>)]) {
    let mut raw = Vec::new();
    for (n, v) in list {
        XAttrs::push(&mut raw, *n, v);
    }
    let limits = Limits::RFC;
    let attrs = if xclient {
        XAttrs::xclient(&raw, &limits)
    } else {
        XAttrs::xforward(&raw, &limits)
    }
    .expect("built list checks");
    let got: Vec<(XAttrName, Vec<u8>)> = attrs
        .iter()
        .map(|a| {
            let v = match a.value {
                XAttrValue::Unavailable => b"[UNAVAILABLE]".to_vec(),
                XAttrValue::TempUnavail => b"[TEMPUNAVAIL]".to_vec(),
                XAttrValue::Value(x) => x.decode().into_owned(),
            };
            (a.name, v)
        })
        .collect();
    let want: Vec<(XAttrName, Vec<u8>)> = list
        .iter()
        .map(|(n, v)| {
            let v = if v.eq_ignore_ascii_case(b"[UNAVAILABLE]") {
                b"[UNAVAILABLE]".to_vec()
            } else {
                v.clone()
            };
            (*n, v)
        })
        .collect();
    assert_eq!(got, want);
    let cmd = if xclient {
        Command::Xclient { attrs }
    } else {
        Command::Xforward { attrs }
    };
    let mut out = Vec::new();
    cmd.write_to(&mut out).expect("encodes");
    let o = CommandOptions {
        limits: Limits {
            command_line: usize::MAX,
            ..Limits::RFC
        },
        ..opts()
    };
    assert_eq!(Command::parse(&out, &o).map_err(|e| e.error), Ok(cmd));
    assert_eq!(cmd.into_owned().unwrap().command(), cmd);
}

proptest! {
    #[test]
    fn xclient_round_trip(list in attr_list(true)) {
        check_round_trip(true, &list);
    }

    #[test]
    fn xforward_round_trip(list in attr_list(false)) {
        check_round_trip(false, &list);
    }

    #[test]
    fn arbitrary_attribute_text_never_panics(
        verb in prop_oneof![Just("XCLIENT"), Just("xforward"), Just("XClient")],
        arg in proptest::collection::vec(any::<u8>(), 0..120),
    ) {
        let mut line = format!("{verb} ").into_bytes();
        line.extend_from_slice(&arg);
        line.extend_from_slice(b"\r\n");
        if let Ok(c) = parse(&line) {
            // Whatever parses encodes back to itself.
            let mut out = Vec::new();
            c.write_to(&mut out).unwrap();
            prop_assert_eq!(parse(&out), Ok(c));
        }
    }
}
