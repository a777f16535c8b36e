//! BDAT (RFC 3030): exact chunk counting, line endings across chunks,
//! size limit, `BDAT 0 LAST`, and the client-side chunker.
use proptest::prelude::*;
use smtp_sansio::InputBuffer;
use smtp_sansio::data::{BdatDecoder, BdatHeader, DataOutcome, bdat_chunks, write_bdat};
use smtp_sansio::{Limits, LineEndingPolicy};

/// Server-like loop: the wire holds `BDAT`-less chunks back to back
/// followed by `tail`; `sizes` are the chunk sizes; input arrives in pieces
/// of `n`. Returns the delivered content, the outcome and what is left.
fn run(
    wire: &[u8],
    sizes: &[u64],
    n: usize,
    policy: Option<LineEndingPolicy>,
    limits: &Limits,
) -> (Vec<u8>, Option<DataOutcome>, Vec<u8>) {
    let mut dec = BdatDecoder::new(policy, limits);
    let mut buf = InputBuffer::new();
    let mut feed = wire.chunks(n.max(1));
    let mut out = Vec::new();
    for (k, &size) in sizes.iter().enumerate() {
        dec.start_chunk(size, k + 1 == sizes.len());
        loop {
            let s = dec.decode(buf.peek());
            out.extend_from_slice(s.piece.bytes(buf.peek()));
            buf.consume(s.consumed);
            if s.done {
                break;
            }
            if s.consumed == 0 && s.piece.is_empty() {
                match feed.next() {
                    Some(c) => buf.receive(c),
                    None => return (out, None, Vec::new()),
                }
            }
        }
    }
    let mut rest = buf.peek().to_vec();
    for c in feed {
        rest.extend_from_slice(c);
    }
    (out, dec.outcome(), rest)
}

#[test]
fn zero_last() {
    let (out, outcome, rest) = run(
        b"QUIT\r\n",
        &[0],
        3,
        Some(LineEndingPolicy::Reject),
        &Limits::RFC,
    );
    assert_eq!(out, b"");
    assert_eq!(outcome, Some(DataOutcome::Complete));
    assert_eq!(rest, b"QUIT\r\n");
}

#[test]
fn line_endings_across_chunks() {
    // CR at the end of one chunk, LF at the start of the next: a CRLF.
    let wire = b"ab\r\ncd\r\nQUIT\r\n";
    for n in 1..8 {
        let (out, outcome, rest) = run(
            wire,
            &[3, 5],
            n,
            Some(LineEndingPolicy::Reject),
            &Limits::RFC,
        );
        assert_eq!(outcome, Some(DataOutcome::Complete));
        assert_eq!(out, b"ab\r\ncd\r\n");
        assert_eq!(rest, b"QUIT\r\n");
    }
    // A CR ending the last chunk is bare.
    let (_, outcome, _) = run(
        b"ab\r",
        &[3],
        1,
        Some(LineEndingPolicy::Reject),
        &Limits::RFC,
    );
    assert_eq!(outcome, Some(DataOutcome::BareLineEnding));
    let (out, outcome, _) = run(
        b"ab\rc\nd",
        &[3, 3],
        2,
        Some(LineEndingPolicy::Normalize),
        &Limits::RFC,
    );
    assert_eq!(outcome, Some(DataOutcome::Complete));
    assert_eq!(out, b"ab\r\nc\r\nd");
    // BINARYMIME: untouched.
    let (out, outcome, _) = run(b"a\rb\n\0", &[5], 1, None, &Limits::RFC);
    assert_eq!(
        (out.as_slice(), outcome),
        (&b"a\rb\n\0"[..], Some(DataOutcome::Complete))
    );
}

#[test]
fn size_limit_across_chunks() {
    let limits = Limits {
        message_size: 5,
        ..Limits::RFC
    };
    let (out, outcome, rest) = run(b"abcdefghNOOP\r\n", &[4, 4], 3, None, &limits);
    assert_eq!(out, b"abcde");
    assert_eq!(outcome, Some(DataOutcome::TooBig));
    assert_eq!(rest, b"NOOP\r\n");
}

/// A bare line ending and the size limit close together: the earlier in
/// the content wins, the bare line ending on a tie, for every chunking.
#[test]
fn bare_line_ending_vs_size_limit() {
    let body = b"abc\r\nde\rf\ngh";
    // The bare CR stands at content octet 7.
    for max in 0..12u64 {
        let limits = Limits {
            message_size: max,
            ..Limits::RFC
        };
        let (want, delivered) = if max < 7 {
            (DataOutcome::TooBig, &body[..max as usize])
        } else {
            (DataOutcome::BareLineEnding, &body[..7])
        };
        let mut wire = body.to_vec();
        wire.extend_from_slice(b"QUIT\r\n");
        for chunk in 1..=body.len() {
            let sizes: Vec<u64> = bdat_chunks(body, chunk)
                .map(|(_, c)| c.len() as u64)
                .collect();
            for n in 1..=wire.len() {
                let p = Some(LineEndingPolicy::Reject);
                let (out, outcome, rest) = run(&wire, &sizes, n, p, &limits);
                assert_eq!(outcome, Some(want), "{max} {chunk} {n}");
                assert_eq!(out, delivered, "{max} {chunk} {n}");
                assert_eq!(rest, b"QUIT\r\n");
            }
        }
    }
}

#[test]
fn huge_sizes_do_not_overflow() {
    let mut dec = BdatDecoder::new(None, &Limits::RFC);
    dec.start_chunk(u64::MAX, false);
    let s = dec.decode(b"abc");
    assert_eq!(s.consumed, 3);
    assert_eq!(dec.remaining(), u64::MAX - 3);
}

#[test]
fn headers() {
    assert_eq!(BdatHeader::new(0, true).as_bytes(), b"BDAT 0 LAST\r\n");
    assert_eq!(BdatHeader::new(1000, false).as_bytes(), b"BDAT 1000\r\n");
    assert_eq!(
        BdatHeader::new(u64::MAX, true).as_bytes(),
        b"BDAT 18446744073709551615 LAST\r\n"
    );
    let v: Vec<_> = bdat_chunks(b"", 10).collect();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].0.as_bytes(), b"BDAT 0 LAST\r\n");
    let v: Vec<_> = bdat_chunks(b"0123456789abc", 5)
        .map(|(h, c)| (h.as_bytes().to_vec(), c))
        .collect();
    assert_eq!(
        v,
        vec![
            (b"BDAT 5\r\n".to_vec(), &b"01234"[..]),
            (b"BDAT 5\r\n".to_vec(), &b"56789"[..]),
            (b"BDAT 3 LAST\r\n".to_vec(), &b"abc"[..]),
        ]
    );
    let mut out = Vec::new();
    write_bdat(&mut out, b"xy", true);
    assert_eq!(out, b"BDAT 2 LAST\r\nxy");
}

proptest! {
    #[test]
    fn chunking_invariant(
        body in prop::collection::vec(prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'a')], 0..40),
        chunk in 1usize..9,
        n in 1usize..9,
        p in prop_oneof![Just(None), Just(Some(LineEndingPolicy::Reject)), Just(Some(LineEndingPolicy::Normalize))],
        max in 0u64..50,
    ) {
        let limits = Limits { message_size: max, ..Limits::RFC };
        let sizes: Vec<u64> = bdat_chunks(&body, chunk).map(|(_, c)| c.len() as u64).collect();
        let mut wire = body.clone();
        wire.extend_from_slice(b"QUIT\r\n");
        let one = run(&wire, &[body.len() as u64], wire.len(), p, &limits);
        let many = run(&wire, &sizes, n, p, &limits);
        prop_assert_eq!(&one, &many);
        prop_assert_eq!(&many.2, b"QUIT\r\n");
        prop_assert!(many.0.len() as u64 <= max);
    }
}
