//! The fast command parser of `smtp-sansio` checked against the nom
//! reference parser (`smtp_sansio_tests::oracle`), a transliteration of
//! the RFC ABNF: on the corpus, on the conformance cases, and in proptests
//! over generated valid and near-valid lines.

use smtp_sansio_tests::corpus_dir;
use smtp_sansio_tests::oracle::{self, Verdict};

fn corpus_lines() -> Vec<(String, Vec<u8>)> {
    let mut v = Vec::new();
    for dir in ["commands", "conformance/command"] {
        let d = corpus_dir().join(dir);
        let mut files: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "txt"))
            .collect();
        files.sort();
        for f in files {
            v.push((
                f.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&f).unwrap(),
            ));
        }
    }
    v
}

#[test]
fn oracle_and_fast_parser_agree_on_the_corpus() {
    let mut failures = Vec::new();
    for (name, line) in corpus_lines() {
        for utf8 in [false, true] {
            if let Err(e) = oracle::check(&line, utf8) {
                failures.push(format!("{name} (utf8 transaction: {utf8}): {e}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} disagreement(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn oracle_follows_the_conformance_verdicts() {
    let mut failures = Vec::new();
    for (name, line) in corpus_lines() {
        // dissect's context: RCPT, VRFY and EXPN inside an SMTPUTF8 transaction
        let utf8 = !name.starts_with("y_mail") && !line.starts_with(b"MAIL");
        let v = oracle::parse_command(&line, utf8);
        let listed = oracle::known_disagreement(&line, false).is_some();
        let bad = (name.starts_with("y_") && v == Verdict::Reject && !listed)
            || (name.starts_with("n_") && matches!(v, Verdict::Accept(_)));
        if bad {
            failures.push(format!("{name}: {v:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_disagreement_is_documented_once() {
    let ids: Vec<&str> = oracle::DISAGREEMENTS.iter().map(|d| d.0).collect();
    for (i, id) in ids.iter().enumerate() {
        assert!(!ids[..i].contains(id), "{id} twice");
    }
    // each recognizer fires on its own example, and only with its side
    for (line, oracle_accepts, id) in [
        (
            &b"RCPT TO:<@[192.0.2.1]:u@d.example>\r\n"[..],
            false,
            "route-address-literal",
        ),
        (b"AUTH plain\r\n", false, "auth-mechanism-case"),
        (
            b"BDAT 99999999999999999999999999\r\n",
            true,
            "number-beyond-u64",
        ),
        (
            b"MAIL FROM:<> SIZE=18446744073709551616\r\n",
            true,
            "number-beyond-u64",
        ),
        (
            b"RCPT TO:<a@b> NOTIFY=DELAY,SUCCESS,DELAY\r\n",
            true,
            "notify-repeated-element",
        ),
        (
            b"RCPT TO:<a@b> ORCPT=rfc822;\r\n",
            true,
            "orcpt-empty-address",
        ),
        (b"HELO [192.0.2.1]\r\n", false, "helo-address-literal"),
        (b"MAIL FROM:<a@b> XFOO=1\r\n", false, "unknown-parameter"),
        (b"RCPT TO:<a@b> SIZE=1\r\n", false, "unknown-parameter"),
    ] {
        assert_eq!(oracle::known_disagreement(line, oracle_accepts), Some(id));
        assert_eq!(oracle::check(line, false), Ok(()), "{id}");
    }
    assert_eq!(
        oracle::known_disagreement(b"MAIL FROM:<> SIZE=18446744073709551615\r\n", true),
        None
    );
    assert_eq!(
        oracle::known_disagreement(b"RCPT TO:<a@b> NOTIFY=DELAY,SUCCESS\r\n", true),
        None
    );
}

#[test]
fn oracle_decodes_known_answers() {
    let acc = |l: &[u8]| match oracle::parse_command(l, false) {
        Verdict::Accept(d) => d.fields,
        v => panic!("{}: {v:?}", String::from_utf8_lossy(l)),
    };
    let f = |n: &str, v: &[u8]| (n.to_owned(), v.to_vec());
    assert_eq!(
        acc(b"MAIL FROM:<\"a\\\"b\"@[IPv6:::1]> SIZE=007 BODY=8bitmime ENVID=x+2By AUTH=<> SMTPUTF8\r\n"),
        vec![f("path", b"a\"b@[IPv6:::1]"), f("SIZE", b"7"), f("BODY", b"8BITMIME"), f("ENVID", b"x+y"), f("AUTH", b"<>"), f("SMTPUTF8", b"")]
    );
    assert_eq!(
        acc(b"RCPT TO:<@a.example,@b.example:u@d.example> NOTIFY=delay,success ORCPT=rfc822;u+40d\r\n"),
        vec![f("path", b"u@d.example"), f("NOTIFY", b"SUCCESS,DELAY"), f("ORCPT", b"RFC822;u@d")]
    );
    assert_eq!(
        acc(b"rcpt to:<POSTMASTER>\r\n"),
        vec![f("path", b"postmaster")]
    );
    assert_eq!(
        acc(b"AUTH PLAIN dGVzdA==\r\n"),
        vec![f("mechanism", b"PLAIN"), f("initial_response", b"dGVzdA==")]
    );
    assert_eq!(
        acc(b"BDAT 0010 last\r\n"),
        vec![f("size", b"10"), f("last", b"yes")]
    );
    assert_eq!(
        acc(b"VRFY \"Smith, John\"\r\n"),
        vec![f("arg", b"Smith, John")]
    );
    for bad in [
        &b"EHLO [IPv6:1:2:3:4:5:6:7]\r\n"[..],
        b"EHLO [1.2.3.256]\r\n",
        b"MAIL FROM:<a@b> ENVID=a+2b\r\n",
        b"MAIL FROM:<a@b> SIZE=123456789012345678901\r\n",
        b"RCPT TO:<a@b> NOTIFY=NEVER,DELAY\r\n",
        b"AUTH PLAIN abc\r\n",
        b"MAIL FROM:<j\xc3\xb6rg@b>\r\n",
    ] {
        assert_eq!(
            oracle::parse_command(bad, false),
            Verdict::Reject,
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
    assert!(matches!(
        oracle::parse_command(b"MAIL FROM:<j\xc3\xb6rg@b> SMTPUTF8\r\n", false),
        Verdict::Accept(_)
    ));
}

// ---------------------------------------------------------------- proptests

use proptest::prelude::*;

fn xtext_encode(v: &[u8]) -> String {
    v.iter()
        .map(|&c| {
            if (33..=126).contains(&c) && c != b'+' && c != b'=' {
                (c as char).to_string()
            } else {
                format!("+{c:02X}")
            }
        })
        .collect()
}

fn base64(v: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in v.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for k in 0..4 {
            if k <= c.len() {
                out.push(A[((n >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn domain() -> impl Strategy<Value = String> {
    prop::collection::vec("[a-zA-Z0-9]([a-zA-Z0-9-]{0,6}[a-zA-Z0-9])?", 1..4)
        .prop_map(|l| l.join("."))
}

fn address_literal() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|a| format!("[{}.{}.{}.{}]", a[0], a[1], a[2], a[3])),
        (any::<[u16; 8]>(), 0usize..9, 0usize..9).prop_map(|(g, a, b)| {
            let h: Vec<String> = g.iter().map(|x| format!("{x:x}")).collect();
            let (a, b) = (a.min(b), a.max(b));
            if b - a >= 2 {
                format!("[IPv6:{}::{}]", h[..a].join(":"), h[b..].join(":"))
            } else {
                format!("[IPv6:{}]", h.join(":"))
            }
        }),
        (any::<[u16; 4]>(), any::<[u8; 4]>()).prop_map(|(g, v4)| format!(
            "[IPv6:{:x}:{:x}::{:x}:{}.{}.{}.{}]",
            g[0], g[1], g[2], v4[0], v4[1], v4[2], v4[3]
        )),
        "[a-z][a-z0-9-]{0,5}[a-z0-9]:[!-Z^-~]{1,8}".prop_map(|s| format!("[{s}]")),
    ]
}

fn local_part(utf8: bool) -> impl Strategy<Value = String> {
    let atom = if utf8 {
        "([a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]|é|ü|日){1,6}"
    } else {
        "[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]{1,6}"
    };
    prop_oneof![
        prop::collection::vec(atom, 1..4).prop_map(|a| a.join(".")),
        "([ !#-\\[\\]-~]|\\\\[ -~]){0,8}".prop_map(|q| format!("\"{q}\"")),
    ]
}

fn mailbox(utf8: bool) -> impl Strategy<Value = String> {
    (
        local_part(utf8),
        prop_oneof![3 => domain(), 1 => address_literal()],
    )
        .prop_map(|(l, d)| format!("{l}@{d}"))
}

fn mail_line() -> impl Strategy<Value = String> {
    let utf8 = any::<bool>();
    utf8.prop_flat_map(|utf8| {
        (
            prop_oneof![1 => Just("<>".to_owned()), 4 => mailbox(utf8).prop_map(|m| format!("<{m}>"))],
            prop::option::of(any::<u64>()),
            prop::option::of(prop::sample::select(vec!["7BIT", "8bitmime", "BINARYMIME"])),
            prop::option::of(prop::sample::select(vec!["FULL", "hdrs"])),
            prop::option::of(prop::collection::vec(any::<u8>(), 1..12)),
            prop::option::of(prop_oneof![Just("<>".to_owned()), mailbox(false)]),
            Just(utf8),
        )
    })
    .prop_map(|(path, size, body, ret, envid, auth, utf8)| {
        let mut l = format!("MAIL FROM:{path}");
        if let Some(s) = size { l += &format!(" SIZE={s}"); }
        if let Some(b) = body { l += &format!(" BODY={b}"); }
        if let Some(r) = ret { l += &format!(" RET={r}"); }
        if let Some(e) = envid { l += &format!(" ENVID={}", xtext_encode(&e)); }
        if let Some(a) = auth { l += &format!(" AUTH={}", xtext_encode(a.as_bytes())); }
        if utf8 { l += " SMTPUTF8"; }
        l
    })
}

fn rcpt_line(utf8: bool) -> impl Strategy<Value = String> {
    (
        prop_oneof![1 => Just("<Postmaster>".to_owned()), 6 => mailbox(utf8).prop_map(|m| format!("<{m}>")),
            1 => (domain(), mailbox(utf8)).prop_map(|(r, m)| format!("<@{r}:{m}>"))],
        prop::option::of(prop_oneof![Just("NEVER".to_owned()),
            prop::sample::subsequence(vec!["SUCCESS", "FAILURE", "DELAY"], 1..=3).prop_map(|v| v.join(","))]),
        prop::option::of(prop::collection::vec(any::<u8>(), 1..12)),
    )
        .prop_map(|(path, notify, orcpt)| {
            let mut l = format!("RCPT TO:{path}");
            if let Some(n) = notify { l += &format!(" NOTIFY={n}"); }
            if let Some(o) = orcpt { l += &format!(" ORCPT=rfc822;{}", xtext_encode(&o)); }
            l
        })
}

fn valid_line() -> impl Strategy<Value = (String, bool)> {
    prop_oneof![
        prop_oneof![domain(), address_literal()]
            .prop_flat_map(|d| prop::sample::select(vec!["EHLO", "ehlo", "LHLO"])
                .prop_map(move |v| format!("{v} {d}")))
            .prop_map(|l| (l, false)),
        domain().prop_map(|d| (format!("HELO {d}"), false)),
        mail_line().prop_map(|l| (l, false)),
        any::<bool>().prop_flat_map(|u| rcpt_line(u).prop_map(move |l| (l, u))),
        prop::sample::select(vec![
            "DATA", "RSET", "QUIT", "STARTTLS", "NOOP", "HELP", "quit"
        ])
        .prop_map(|v| (v.to_owned(), false)),
        (
            prop::sample::select(vec!["VRFY", "EXPN", "NOOP", "HELP"]),
            local_part(false).prop_filter("String = Atom / Quoted-string", |a| a.starts_with('"')
                || !a.contains('.'))
        )
            .prop_map(|(v, a)| (format!("{v} {a}"), false)),
        (
            "[A-Z0-9_-]{1,20}",
            prop::option::of(prop::collection::vec(any::<u8>(), 0..20))
        )
            .prop_map(|(m, ir)| {
                (
                    match ir {
                        None => format!("AUTH {m}"),
                        Some(ir) if ir.is_empty() => format!("AUTH {m} ="),
                        Some(ir) => format!("AUTH {m} {}", base64(&ir)),
                    },
                    false,
                )
            }),
        (any::<u64>(), any::<bool>()).prop_map(|(n, last)| (
            format!("BDAT {n}{}", if last { " LAST" } else { "" }),
            false
        )),
    ]
}

/// Bytes the mutations insert: grammar punctuation and look-alikes.
const NEAR: &[u8] = b" <>@:.,;=+\"\\[]-_\t\r\n\x00\x7f\x80\xc3\xe9aZ09";

fn mutate(line: &[u8], edits: &[(usize, u8, usize)]) -> Vec<u8> {
    let mut v = line.to_vec();
    for &(pos, op, byte) in edits {
        let p = pos % (v.len() + 1);
        let b = NEAR[byte % NEAR.len()];
        match op % 3 {
            0 if p < v.len() => {
                v.remove(p);
            }
            1 if p < v.len() => v[p] = b,
            _ => v.insert(p, b),
        }
    }
    v.extend_from_slice(b"\r\n");
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Generated valid lines: the oracle accepts them, the fast parser
    /// accepts them and both decode the same meaning.
    #[test]
    fn valid_lines_decode_the_same((line, utf8) in valid_line()) {
        let mut l = line.into_bytes();
        l.extend_from_slice(b"\r\n");
        let v = oracle::parse_command(&l, utf8);
        prop_assert!(matches!(v, Verdict::Accept(_) | Verdict::OutOfScope) || oracle::known_disagreement(&l, false).is_some(),
            "oracle refuses a generated valid line {:?}: {:?}", String::from_utf8_lossy(&l), v);
        prop_assert_eq!(oracle::check(&l, utf8), Ok(()));
    }

    /// Near-valid lines (one to three byte edits of a valid one): the two
    /// parsers agree on accept/reject and on the meaning.
    #[test]
    fn near_valid_lines_agree((line, utf8) in valid_line(), edits in prop::collection::vec((any::<usize>(), any::<u8>(), any::<usize>()), 1..4)) {
        let l = mutate(line.as_bytes(), &edits);
        prop_assert_eq!(oracle::check(&l, utf8), Ok(()));
    }

    /// The `differential` fuzz body (reference parser and the smtp-proto
    /// peer, divergences only as documented) on generated valid and
    /// near-valid lines.
    #[test]
    fn differential_body_on_generated_lines((line, _utf8) in valid_line(), edits in prop::collection::vec((any::<usize>(), any::<u8>(), any::<usize>()), 0..3)) {
        let l = mutate(line.as_bytes(), &edits);
        smtp_sansio_tests::fuzz_bodies::differential::differential(&l);
    }
}
