//! SMTP smuggling (CVE-2023-51764/51765/51766) and RFC 5321 4.5.2
//! transparency: only `CRLF . CRLF` as received ends DATA, at every split.
mod data_common;
use data_common::*;
use smtp_sansio::data::{DataOutcome, decode_all};
use smtp_sansio::{Limits, LineEndingPolicy};

const POLICIES: [LineEndingPolicy; 2] = [LineEndingPolicy::Reject, LineEndingPolicy::Normalize];

const FAKE: [&[u8]; 6] = [
    b"\n.\n", b"\n.\r\n", b"\r\n.\n", b"\r.\r", b"\r\n.\r", b"\r.\r\n",
];

/// Each fake terminator, plain and with NUL next to the dot.
fn variants() -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    for f in FAKE {
        v.push(f.to_vec());
        let dot = f.iter().position(|&b| b == b'.').unwrap();
        let mut a = f.to_vec();
        a.insert(dot, 0);
        v.push(a);
        let mut b = f.to_vec();
        b.insert(dot + 1, 0);
        v.push(b);
    }
    // CRLF-only ones with NUL: content, not terminators.
    v.push(b"\r\n\0.\r\n".to_vec());
    v.push(b"\r\n.\0\r\n".to_vec());
    v
}

fn every_split(input: &[u8], policy: LineEndingPolicy, check: impl Fn(&Run)) {
    let whole = run_whole(input, policy, &big());
    check(&whole);
    for k in 0..=input.len() {
        let r = run_cuts(input, &[k], policy, &big());
        assert_eq!(r, whole, "split at {k}");
    }
    for n in 1..=8 {
        assert_eq!(run_chunks(input, n, policy, &big()), whole, "chunks of {n}");
    }
}

#[test]
fn fake_terminators_never_end_the_message() {
    for v in variants() {
        let mut input = b"From: a\r\n\r\nHello".to_vec();
        input.extend_from_slice(&v);
        input.extend_from_slice(b"MAIL FROM:<evil@x>\r\nRCPT TO:<victim@y>\r\nDATA\r\n");
        let end = input.len() + 5;
        input.extend_from_slice(b"\r\n.\r\nQUIT\r\n");
        for policy in POLICIES {
            every_split(&input, policy, |r| {
                assert_eq!(r.consumed, end, "{v:?} {policy:?}");
                assert_eq!(summary(r), reference(&input, policy), "{v:?} {policy:?}");
            });
        }
    }
}

#[test]
fn bare_fakes_fail_under_reject() {
    for f in FAKE {
        let mut input = b"x".to_vec();
        input.extend_from_slice(f);
        input.extend_from_slice(b"y\r\n.\r\n");
        let (res, consumed) = decode_all(&input, LineEndingPolicy::Reject, &Limits::RFC).unwrap();
        assert_eq!(res, Err(DataOutcome::BareLineEnding), "{f:?}");
        assert_eq!(consumed, input.len());
        let (res, _) = decode_all(&input, LineEndingPolicy::Normalize, &Limits::RFC).unwrap();
        assert!(res.is_ok(), "{f:?}");
    }
}

#[test]
fn real_terminator_at_every_split() {
    let cases: [(&[u8], &[u8]); 7] = [
        (b".\r\n", b""),
        (b".\r\nQUIT\r\n", b""),
        (b"..\r\n.\r\n", b".\r\n"),
        (b".hidden\r\n.\r\n", b"hidden\r\n"),
        (b"a\r\n..b\r\n...\r\n.\r\nRSET\r\n", b"a\r\n.b\r\n..\r\n"),
        (b"x\r\n.x\r\n\r\n.\r\n", b"x\r\nx\r\n\r\n"),
        (b"\r\n\r\n.\r\nQUIT\r\n", b"\r\n\r\n"),
    ];
    for (input, content) in cases {
        for policy in POLICIES {
            every_split(input, policy, |r| {
                assert_eq!(r.outcome, Some(DataOutcome::Complete), "{input:?}");
                assert_eq!(r.delivered, content, "{input:?}");
                assert_eq!(summary(r), reference(input, policy));
            });
        }
    }
}

#[test]
fn pipelined_bytes_stay_unconsumed() {
    let input = b"Subject: t\r\n\r\nbody\r\n.\r\nQUIT\r\n";
    let (res, consumed) = decode_all(input, LineEndingPolicy::Reject, &Limits::RFC).unwrap();
    assert_eq!(res.unwrap(), b"Subject: t\r\n\r\nbody\r\n");
    assert_eq!(&input[consumed..], b"QUIT\r\n");
}

#[test]
fn incomplete() {
    for input in [
        &b""[..],
        b"abc",
        b"abc\r\n",
        b"abc\r\n.",
        b"abc\r\n.\r",
        b"abc\n.\n",
        b"\r.\r",
    ] {
        for policy in POLICIES {
            assert_eq!(decode_all(input, policy, &Limits::RFC), None, "{input:?}");
            for n in 1..4 {
                assert_eq!(run_chunks(input, n, policy, &big()).outcome, None);
            }
        }
    }
}

#[test]
fn normalize_output() {
    let input = b"a\nb\rc\r\r\n.\n..d\n.\r\nx\r\n.\r\n";
    let (res, _) = decode_all(input, LineEndingPolicy::Normalize, &Limits::RFC).unwrap();
    assert_eq!(
        res.unwrap(),
        b"a\r\nb\r\nc\r\n\r\n.\r\n.d\r\n.\r\nx\r\n".to_vec()
    );
    let input = b"a\n.\nb\n..c\r\n.\r\n";
    let (res, _) = decode_all(input, LineEndingPolicy::Normalize, &Limits::RFC).unwrap();
    assert_eq!(res.unwrap(), b"a\r\n.\r\nb\r\n.c\r\n".to_vec());
}

#[test]
fn size_limit() {
    let body = b"0123456789\r\n0123456789\r\n.\r\n";
    for max in 0..30u64 {
        let limits = Limits {
            message_size: max,
            ..Limits::RFC
        };
        let whole = run_whole(body, LineEndingPolicy::Reject, &limits);
        for n in 1..6 {
            assert_eq!(
                run_chunks(body, n, LineEndingPolicy::Reject, &limits),
                whole
            );
        }
        if max >= 24 {
            assert_eq!(whole.outcome, Some(DataOutcome::Complete));
        } else {
            assert_eq!(whole.outcome, Some(DataOutcome::TooBig));
            assert_eq!(whole.delivered, &body[..max as usize]);
        }
        assert_eq!(whole.consumed, body.len());
    }
}

#[test]
fn text_line_limit() {
    let limits = Limits {
        text_line: 7,
        enforce_text_line: true,
        ..big()
    };
    let ok = b"12345\r\n.6789\r\n.\r\n";
    assert_eq!(
        decode_all(ok, LineEndingPolicy::Reject, &limits)
            .unwrap()
            .0
            .unwrap(),
        b"12345\r\n6789\r\n"
    );
    let long = b"12345\r\n123456\r\nabc\r\n.\r\nQUIT\r\n";
    let whole = run_whole(long, LineEndingPolicy::Reject, &limits);
    assert_eq!(whole.outcome, Some(DataOutcome::LineTooLong));
    assert_eq!(whole.delivered, b"12345\r\n12345");
    assert_eq!(whole.consumed, long.len() - 6);
    for k in 0..long.len() {
        assert_eq!(
            run_cuts(long, &[k], LineEndingPolicy::Reject, &limits),
            whole
        );
    }
}

/// Large inputs: events placed around the decoder's internal scan window
/// boundaries (multiples of 16 KiB) give the reference result.
#[test]
fn large_inputs_around_window_boundaries() {
    let events: [&[u8]; 6] = [b"\r\n.x", b"\r\n..", b"\n", b"\r", b"\r\n", b"\r\n.\n"];
    for ev in events {
        for shift in 0..8 {
            let mut input = Vec::new();
            while input.len() < 16384 - 6 + shift {
                input.extend_from_slice(b"abcdefg\r\n");
            }
            input.truncate(16384 - 6 + shift);
            input.extend_from_slice(ev);
            while input.len() < 40000 {
                input.extend_from_slice(b"hijklmn\r\n");
            }
            input.extend_from_slice(b"\r\n.\r\nQUIT\r\n");
            for policy in POLICIES {
                let want = reference(&input, policy);
                assert!(want.is_some());
                assert_eq!(
                    summary(&run_whole(&input, policy, &big())),
                    want,
                    "{ev:?} {shift}"
                );
                for n in [1000, 8191, 16385] {
                    assert_eq!(
                        summary(&run_chunks(&input, n, policy, &big())),
                        want,
                        "{ev:?} {shift} {n}"
                    );
                }
            }
        }
    }
}

/// Two limits tripping near the same place give the same outcome for every
/// chunking: the earliest failure in the delivered content stream wins
/// (here the size limit at octet 1, before the text-line limit at octet 2),
/// ties going to BareLineEnding, then LineTooLong, then TooBig.
#[test]
fn competing_limits_are_chunking_independent() {
    let input: &[u8] = b"....\r\n\na\r\na\r\r\r\n\n\n\r\n.\r\n\nya\r\r.a\n";
    let cases = [
        (
            LineEndingPolicy::Normalize,
            1,
            4,
            DataOutcome::TooBig,
            &b"."[..],
        ),
        (LineEndingPolicy::Reject, 1, 4, DataOutcome::TooBig, b"."),
        // Tie at octet 2: the text line wins.
        (
            LineEndingPolicy::Normalize,
            2,
            4,
            DataOutcome::LineTooLong,
            b"..",
        ),
        (
            LineEndingPolicy::Normalize,
            3,
            4,
            DataOutcome::LineTooLong,
            b"..",
        ),
        // A lone dot line over a zero text-line limit: nothing of it.
        (
            LineEndingPolicy::Normalize,
            0,
            0,
            DataOutcome::LineTooLong,
            b"",
        ),
    ];
    for (p, max, text, outcome, delivered) in cases {
        let limits = Limits {
            message_size: max,
            text_line: text,
            enforce_text_line: true,
            ..Limits::RFC
        };
        let whole = run_whole(input, p, &limits);
        assert_eq!(whole.outcome, Some(outcome), "{p:?} {max} {text}");
        assert_eq!(whole.delivered, delivered, "{p:?} {max} {text}");
        assert_eq!(
            run_chunks(input, 1, p, &limits),
            whole,
            "{p:?} {max} {text}"
        );
        for k in 0..=input.len() {
            assert_eq!(
                run_cuts(input, &[k], p, &limits),
                whole,
                "{p:?} {max} {text} {k}"
            );
        }
    }
    // The dot line alone: removed from delivery, same for every chunking.
    let input: &[u8] = b"a\n.\nb\r\n.\r\n";
    for max in 0..12 {
        let limits = Limits {
            message_size: max,
            text_line: 2,
            enforce_text_line: true,
            ..Limits::RFC
        };
        let whole = run_whole(input, LineEndingPolicy::Normalize, &limits);
        for n in 1..4 {
            assert_eq!(
                run_chunks(input, n, LineEndingPolicy::Normalize, &limits),
                whole
            );
        }
        for k in 0..=input.len() {
            assert_eq!(
                run_cuts(input, &[k], LineEndingPolicy::Normalize, &limits),
                whole
            );
        }
    }
}
