// Shared helpers for the data_* tests (included with `mod`).
#![allow(dead_code)]

use smtp_sansio::InputBuffer;
use smtp_sansio::{DataDecoder, DataOutcome};
use smtp_sansio::{Limits, LineEndingPolicy};

/// What a decode run gave: `None` if no terminator, else the content or
/// the failure, the consumed count, and the octets delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub outcome: Option<DataOutcome>,
    pub consumed: usize,
    pub delivered: Vec<u8>,
}

/// Feeds `input` to a server-like loop (InputBuffer + DataDecoder), cut at
/// the given increasing offsets.
pub fn run_cuts(input: &[u8], cuts: &[usize], policy: LineEndingPolicy, limits: &Limits) -> Run {
    let mut dec = DataDecoder::new(policy, limits);
    let mut buf = InputBuffer::new();
    let mut delivered = Vec::new();
    let mut consumed = 0;
    let mut bounds: Vec<usize> = cuts.iter().copied().filter(|&c| c <= input.len()).collect();
    bounds.push(input.len());
    let mut prev = 0;
    let mut iter = bounds.into_iter();
    loop {
        loop {
            let s = dec.decode(buf.peek());
            delivered.extend_from_slice(s.piece.bytes(buf.peek()));
            assert!(!s.done || s.piece.is_empty());
            buf.consume(s.consumed);
            consumed += s.consumed;
            if s.done {
                assert!(dec.outcome().is_some());
                assert_eq!(dec.size(), delivered.len() as u64);
                return Run {
                    outcome: dec.outcome(),
                    consumed,
                    delivered,
                };
            }
            if s.consumed == 0 && s.piece.is_empty() {
                break;
            }
        }
        match iter.next() {
            Some(end) => {
                let end = end.max(prev);
                buf.receive(&input[prev..end]);
                prev = end;
            }
            None => {
                return Run {
                    outcome: None,
                    consumed,
                    delivered,
                };
            }
        }
    }
}

pub fn run_whole(input: &[u8], policy: LineEndingPolicy, limits: &Limits) -> Run {
    run_cuts(input, &[], policy, limits)
}

pub fn run_chunks(input: &[u8], n: usize, policy: LineEndingPolicy, limits: &Limits) -> Run {
    let cuts: Vec<usize> = (1..)
        .map(|k| k * n)
        .take_while(|&c| c < input.len())
        .collect();
    run_cuts(input, &cuts, policy, limits)
}

pub fn big() -> Limits {
    Limits {
        message_size: u64::MAX,
        ..Limits::RFC
    }
}

/// Reference model written independently of the decoder: the terminator is
/// the first `CRLF . CRLF` in CRLF + input; the content before it is split
/// into lines and unstuffed.
pub fn reference(
    input: &[u8],
    policy: LineEndingPolicy,
) -> Option<(Result<Vec<u8>, DataOutcome>, usize)> {
    let mut hay = b"\r\n".to_vec();
    hay.extend_from_slice(input);
    let pos = hay.windows(5).position(|w| w == b"\r\n.\r\n")?;
    let consumed = pos + 5 - 2;
    // Content region of the input: up to and including the CRLF before the dot.
    let region = &input[..pos];
    let mut lines: Vec<(&[u8], bool)> = Vec::new(); // (line, bare ending)
    let mut start = 0;
    let mut i = 0;
    while i < region.len() {
        match region[i] {
            b'\r' if region.get(i + 1) == Some(&b'\n') => {
                lines.push((&region[start..i], false));
                i += 2;
                start = i;
            }
            b'\r' | b'\n' => {
                lines.push((&region[start..i], true));
                i += 1;
                start = i;
            }
            _ => i += 1,
        }
    }
    assert_eq!(start, region.len());
    if policy == LineEndingPolicy::Reject && lines.iter().any(|l| l.1) {
        return Some((Err(DataOutcome::BareLineEnding), consumed));
    }
    let mut out = Vec::new();
    for (line, _) in lines {
        let line = if line.len() > 1 && line[0] == b'.' {
            &line[1..]
        } else {
            line
        };
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    Some((Ok(out), consumed))
}

/// What decode_all-like results look like for a run.
pub fn summary(r: &Run) -> Option<(Result<Vec<u8>, DataOutcome>, usize)> {
    let o = r.outcome?;
    Some((
        if o == DataOutcome::Complete {
            Ok(r.delivered.clone())
        } else {
            Err(o)
        },
        r.consumed,
    ))
}

/// Every bare CR, bare LF becomes CRLF; a final CRLF is added to a
/// non-empty body that does not end with a line ending.
pub fn normalize(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'\r' if body.get(i + 1) == Some(&b'\n') => {
                out.extend_from_slice(b"\r\n");
                i += 2;
            }
            b'\r' | b'\n' => {
                out.extend_from_slice(b"\r\n");
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}
