//! Property tests: the DATA decoder against an independent reference model,
//! chunking invariance, encoder round trip, limits, no panics.
mod data_common;
use data_common::*;
use proptest::prelude::*;
use smtp_sansio::data::{DataEncoder, DataOutcome, decode_all, encode_all, inspect};
use smtp_sansio::{Limits, LineEndingPolicy};

fn policy() -> impl Strategy<Value = LineEndingPolicy> {
    prop_oneof![
        Just(LineEndingPolicy::Reject),
        Just(LineEndingPolicy::Normalize)
    ]
}

/// Bytes biased towards the ones that matter.
fn wire() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        4 => Just(b'\r'),
        4 => Just(b'\n'),
        4 => Just(b'.'),
        1 => Just(0u8),
        3 => Just(b'a'),
        1 => any::<u8>(),
    ];
    prop::collection::vec(byte, 0..64)
}

/// Long inputs (up to 600 octets) of plain text with rare CR, LF, dot and
/// NUL: events land anywhere inside and across the decoder's and encoder's
/// 16-octet classification blocks (longer runs: `data_blocks.rs`).
fn long_wire() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        3 => Just(b'\r'),
        3 => Just(b'\n'),
        3 => Just(b'.'),
        1 => Just(0u8),
        90 => Just(b'a'),
    ];
    let line = prop_oneof![
        3 => prop::collection::vec(byte, 0..150),
        // Well-formed CRLF lines, some dot-started.
        2 => (any::<bool>(), 0usize..100).prop_map(|(dot, n)| {
            let mut l = if dot { vec![b'.'] } else { vec![] };
            l.resize(l.len() + n, b'b');
            l.extend_from_slice(b"\r\n");
            l
        }),
    ];
    prop::collection::vec(line, 0..8).prop_map(|v| v.concat())
}

fn cuts(len: usize) -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0..=len, 0..6).prop_map(|mut v| {
        v.sort();
        v
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn decoder_matches_reference(input in wire(), p in policy()) {
        let r = run_whole(&input, p, &big());
        prop_assert_eq!(summary(&r), reference(&input, p));
    }

    #[test]
    fn decoder_chunking_invariant(
        (input, cuts) in wire().prop_flat_map(|w| { let n = w.len(); (Just(w), cuts(n)) }),
        p in policy(),
        max in 0u64..80,
        text in 0usize..12,
        enforce in any::<bool>(),
    ) {
        let limits = Limits { message_size: max, text_line: text, enforce_text_line: enforce, ..Limits::RFC };
        let whole = run_whole(&input, p, &limits);
        prop_assert_eq!(run_cuts(&input, &cuts, p, &limits), whole.clone());
        prop_assert_eq!(run_chunks(&input, 1, p, &limits), whole.clone());
        prop_assert!(whole.delivered.len() as u64 <= max);
    }

    #[test]
    fn long_inputs_match_reference_in_any_chunking(
        (input, cuts) in long_wire().prop_flat_map(|w| { let n = w.len(); (Just(w), cuts(n)) }),
        p in policy(),
        terminated in any::<bool>(),
    ) {
        let mut input = input;
        if terminated {
            input.extend_from_slice(b"\r\n.\r\nQUIT\r\n");
        }
        let whole = run_whole(&input, p, &big());
        prop_assert_eq!(summary(&whole), reference(&input, p));
        prop_assert_eq!(run_cuts(&input, &cuts, p, &big()), whole.clone());
        prop_assert_eq!(run_chunks(&input, 7, p, &big()), whole);
    }

    #[test]
    fn long_bodies_round_trip(body in long_wire(), cuts in cuts(600), p in policy()) {
        let mut wire_form = Vec::new();
        let res = encode_all(&body, p, &mut wire_form);
        prop_assert_eq!(res.is_err(), p == LineEndingPolicy::Reject && inspect(&body).bare_line_ending);
        if res.is_ok() {
            let mut enc = DataEncoder::new(p);
            let mut chunked = Vec::new();
            let mut prev = 0;
            for c in cuts.iter().copied().chain([body.len()]) {
                let c = c.clamp(prev, body.len());
                enc.encode(&body[prev..c], &mut chunked).unwrap();
                prev = c;
            }
            enc.finish(&mut chunked).unwrap();
            prop_assert_eq!(&chunked, &wire_form);
            let (content, consumed) = decode_all(&wire_form, LineEndingPolicy::Reject, &big()).unwrap();
            prop_assert_eq!(consumed, wire_form.len());
            prop_assert_eq!(content.unwrap(), normalize(&body));
        }
    }

    #[test]
    fn size_limit_holds(input in wire(), max in 0u64..80) {
        // Normalize: the only failure is the size.
        let p = LineEndingPolicy::Normalize;
        let limits = Limits { message_size: max, ..Limits::RFC };
        let limited = run_whole(&input, p, &limits);
        let free = run_whole(&input, p, &big());
        prop_assert_eq!(limited.consumed, free.consumed);
        if free.outcome.is_some() {
            let too_big = free.delivered.len() as u64 > max;
            prop_assert_eq!(limited.outcome == Some(DataOutcome::TooBig), too_big);
            let n = free.delivered.len().min(max as usize);
            prop_assert_eq!(&limited.delivered[..], &free.delivered[..n]);
        }
    }

    #[test]
    fn round_trip(body in prop_oneof![wire(), any::<Vec<u8>>()], cuts in cuts(64), p in policy()) {
        let mut wire_form = Vec::new();
        let res = encode_all(&body, LineEndingPolicy::Normalize, &mut wire_form);
        prop_assert!(res.is_ok());
        // Chunked encoding gives the same bytes.
        let mut enc = DataEncoder::new(LineEndingPolicy::Normalize);
        let mut chunked = Vec::new();
        let mut prev = 0;
        for c in cuts.iter().copied().chain([body.len()]) {
            let c = c.clamp(prev, body.len());
            enc.encode(&body[prev..c], &mut chunked).unwrap();
            prev = c;
        }
        enc.finish(&mut chunked).unwrap();
        prop_assert_eq!(&chunked, &wire_form);
        // The strict decoder reads it back, terminator at the very end.
        prop_assert!(!inspect(&wire_form[..wire_form.len() - 3]).bare_line_ending);
        let (content, consumed) = decode_all(&wire_form, p, &big()).unwrap();
        prop_assert_eq!(consumed, wire_form.len());
        prop_assert_eq!(content.unwrap(), normalize(&body));
    }

    #[test]
    fn reject_encoder_refuses_exactly_bare_endings(body in wire()) {
        let mut out = Vec::new();
        let res = encode_all(&body, LineEndingPolicy::Reject, &mut out);
        prop_assert_eq!(res.is_err(), inspect(&body).bare_line_ending);
        if res.is_ok() {
            let (content, _) = decode_all(&out, LineEndingPolicy::Reject, &big()).unwrap();
            prop_assert_eq!(content.unwrap(), normalize(&body));
        }
    }

    #[test]
    fn no_panic_on_anything(input in any::<Vec<u8>>(), p in policy(), n in 1usize..9) {
        let _ = run_chunks(&input, n, p, &Limits { enforce_text_line: true, ..Limits::RFC });
    }
}

/// Large bodies with events around the encoder's scan window boundaries.
#[test]
fn encoder_large_bodies() {
    let events: [&[u8]; 6] = [b"\r\n.x", b"\r\n..", b"\n", b"\r", b"\r\n", b"\n.\n"];
    for ev in events {
        for shift in 0..8 {
            let mut body = Vec::new();
            while body.len() < 16384 - 6 + shift {
                body.extend_from_slice(b"abcdefg\r\n");
            }
            body.truncate(16384 - 6 + shift);
            body.extend_from_slice(ev);
            while body.len() < 40000 {
                body.extend_from_slice(b".ijklmn\r\n");
            }
            let mut whole = Vec::new();
            encode_all(&body, LineEndingPolicy::Normalize, &mut whole).unwrap();
            for n in [1000, 8191, 16385] {
                let mut enc = DataEncoder::new(LineEndingPolicy::Normalize);
                let mut out = Vec::new();
                for c in body.chunks(n) {
                    enc.encode(c, &mut out).unwrap();
                }
                enc.finish(&mut out).unwrap();
                assert_eq!(out, whole, "{ev:?} {shift} {n}");
            }
            let (content, consumed) = decode_all(&whole, LineEndingPolicy::Reject, &big()).unwrap();
            assert_eq!(consumed, whole.len());
            assert_eq!(content.unwrap(), normalize(&body), "{ev:?} {shift}");
        }
    }
}
