//! `data_roundtrip`: an arbitrary body through the client's dot-stuffing
//! [`DataEncoder`] (in fuzzer-chosen chunks), then the server's
//! [`DataDecoder`], comes back with bare CR and bare LF normalized to CRLF
//! and a final CRLF added when missing; the encoder output is the same for
//! every chunking, and the decoder consumes exactly the encoded stream.
//! Under the strict policy the encoder refuses exactly the bodies that
//! hold a bare CR or LF. The same body through BDAT chunks
//! ([`bdat_chunks`], parsed back with [`Command::parse`]) and the
//! [`BdatDecoder`] comes back unchanged (BINARYMIME) or normalized.

use smtp_sansio::Command;
use smtp_sansio::Limits;
use smtp_sansio::data::{BdatDecoder, DataDecoder, DataEncoder, DataOutcome, bdat_chunks};
use smtp_sansio::{CommandOptions, LineEndingPolicy};

use super::{chunkings, split_points};

/// Every bare CR and bare LF as CRLF.
fn normalize(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 8);
    let mut i = 0;
    while i < body.len() {
        match (body[i], body.get(i + 1)) {
            (b'\r', Some(b'\n')) => {
                out.extend_from_slice(b"\r\n");
                i += 2;
            }
            (b'\r' | b'\n', _) => {
                out.extend_from_slice(b"\r\n");
                i += 1;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

fn has_bare(body: &[u8]) -> bool {
    normalize(body).len() != body.len()
}

fn encode(chunks: &[&[u8]], policy: LineEndingPolicy) -> Option<Vec<u8>> {
    let mut enc = DataEncoder::new(policy);
    let mut out = Vec::new();
    for c in chunks {
        enc.encode(c, &mut out).ok()?;
    }
    enc.finish(&mut out).ok()?;
    Some(out)
}

fn decode_data(wire: &[u8], policy: LineEndingPolicy) -> Vec<u8> {
    let limits = Limits {
        message_size: u64::MAX,
        ..Limits::RFC
    };
    let mut dec = DataDecoder::new(policy, &limits);
    let mut content = Vec::new();
    let mut at = 0;
    loop {
        let step = dec.decode(&wire[at..]);
        content.extend_from_slice(step.piece.bytes(&wire[at..]));
        at += step.consumed;
        if step.done {
            break;
        }
        assert!(
            step.consumed > 0 || !step.piece.is_empty(),
            "decoder stalled"
        );
    }
    assert_eq!(at, wire.len(), "terminator found early");
    assert_eq!(dec.outcome(), Some(DataOutcome::Complete));
    content
}

fn bdat_roundtrip(body: &[u8], chunk_size: usize, policy: Option<LineEndingPolicy>) -> Vec<u8> {
    let mut wire = Vec::new();
    for (header, chunk) in bdat_chunks(body, chunk_size) {
        wire.extend_from_slice(header.as_bytes());
        wire.extend_from_slice(chunk);
    }
    let limits = Limits {
        message_size: u64::MAX,
        ..Limits::RFC
    };
    let mut dec = BdatDecoder::new(policy, &limits);
    let opts = CommandOptions::new();
    let mut out = Vec::new();
    let mut at = 0;
    loop {
        let end = at
            + wire[at..]
                .windows(2)
                .position(|w| w == b"\r\n")
                .expect("BDAT line")
            + 2;
        let Ok(Command::Bdat { size, last }) = Command::parse(&wire[at..end], &opts) else {
            panic!("not a BDAT command: {:?}", &wire[at..end]);
        };
        at = end;
        dec.start_chunk(size, last);
        loop {
            let step = dec.decode(&wire[at..]);
            out.extend_from_slice(step.piece.bytes(&wire[at..]));
            at += step.consumed;
            if step.done {
                break;
            }
            assert!(
                step.consumed > 0 || !step.piece.is_empty(),
                "BDAT decoder stalled"
            );
        }
        if last {
            break;
        }
    }
    assert_eq!(at, wire.len());
    assert_eq!(dec.outcome(), Some(DataOutcome::Complete));
    out
}

/// The body. Input: `[split header] body` (see [`split_points`]).
pub fn data_roundtrip(data: &[u8]) {
    let (body, chunks) = split_points(data);
    let mut expected = normalize(body);
    if !expected.is_empty() && !expected.ends_with(b"\r\n") {
        expected.extend_from_slice(b"\r\n");
    }
    let all = chunkings(body, &chunks, 2048);
    for policy in [LineEndingPolicy::Normalize, LineEndingPolicy::Reject] {
        let first = encode(&all[0], policy);
        for c in &all[1..] {
            assert_eq!(
                encode(c, policy),
                first,
                "encoder output depends on chunking"
            );
        }
        let Some(wire) = first else {
            assert!(policy == LineEndingPolicy::Reject && has_bare(body));
            continue;
        };
        assert!(policy == LineEndingPolicy::Normalize || !has_bare(body));
        assert_eq!(
            decode_data(&wire, policy),
            expected,
            "DATA round trip ({policy:?})"
        );
    }
    let size = chunks.first().map_or(0, |c| c.len());
    assert_eq!(bdat_roundtrip(body, size, None), body, "BDAT round trip");
    assert_eq!(
        bdat_roundtrip(body, size, Some(LineEndingPolicy::Normalize)),
        normalize(body),
        "BDAT round trip (normalized)"
    );
}
