//! `data_decode`: bytes plus split points to the DATA decoder
//! ([`DataDecoder`]). The content, outcome and consumed count are the same
//! for every chunking; the content ends exactly where a simple reference
//! scanner finds the first `CRLF . CRLF` (the start of the content counting
//! as preceded by CRLF: the 354 reply ended a line, RFC 5321 4.1.1.4); under
//! the strict policy with no size limit hit, the content is the reference
//! unstuffing of the lines before it, or refused for a bare CR or LF.

use smtp_sansio::Limits;
use smtp_sansio::LineEndingPolicy;
use smtp_sansio::{DataDecoder, DataOutcome};

use super::{chunkings, split_points};

/// Feeds the chunks like a server does (unconsumed bytes stay buffered).
/// Returns (content, outcome if done, octets consumed).
fn decode(
    chunks: &[&[u8]],
    policy: LineEndingPolicy,
    limits: &Limits,
) -> (Vec<u8>, Option<DataOutcome>, usize) {
    let mut dec = DataDecoder::new(policy, limits);
    let mut buf: Vec<u8> = Vec::new();
    let mut content = Vec::new();
    let mut consumed = 0;
    for c in chunks {
        buf.extend_from_slice(c);
        loop {
            let step = dec.decode(&buf);
            assert!(step.consumed <= buf.len());
            assert!(!step.done || step.piece.is_empty());
            content.extend_from_slice(step.piece.bytes(&buf));
            buf.drain(..step.consumed);
            consumed += step.consumed;
            if step.done {
                assert!(dec.outcome().is_some());
                assert_eq!(dec.size() as usize, content.len());
                return (content, dec.outcome(), consumed);
            }
            if step.consumed == 0 && step.piece.is_empty() {
                break;
            }
        }
        // Everything received is consumed except a few held octets.
        assert!(buf.len() <= 4, "decoder holds {} octets", buf.len());
    }
    assert!(dec.outcome().is_none());
    assert_eq!(dec.size() as usize, content.len());
    (content, None, consumed)
}

/// Offset just past the first `CRLF . CRLF` in `payload`, the start counting
/// as preceded by CRLF.
fn reference_end(payload: &[u8]) -> Option<usize> {
    let mut s = b"\r\n".to_vec();
    s.extend_from_slice(payload);
    s.windows(5).position(|w| w == b"\r\n.\r\n").map(|i| i + 3)
}

/// Strict-policy reference: the content before the terminator, unstuffed,
/// or `None` when it holds a bare CR or LF.
fn reference_content(body: &[u8]) -> Option<Vec<u8>> {
    // `body` ends with CRLF (the one before the terminating dot) or is empty.
    let mut out = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let i = rest.windows(2).position(|w| w == b"\r\n")?;
        let line = &rest[..i];
        if line.contains(&b'\r') || line.contains(&b'\n') {
            return None;
        }
        out.extend_from_slice(line.strip_prefix(b".").unwrap_or(line));
        out.extend_from_slice(b"\r\n");
        rest = &rest[i + 2..];
    }
    Some(out)
}

/// The body. Input: `[options byte] [split header] payload`. Options: bit 0
/// normalize, bit 1 a small message size (64), bit 2 enforce a small text
/// line limit (20).
pub fn data_decode(data: &[u8]) {
    let Some((&o, rest)) = data.split_first() else {
        return;
    };
    let policy = if o & 1 != 0 {
        LineEndingPolicy::Normalize
    } else {
        LineEndingPolicy::Reject
    };
    let mut limits = Limits::RFC;
    if o & 2 != 0 {
        limits.message_size = 64;
    }
    if o & 4 != 0 {
        limits.enforce_text_line = true;
        limits.text_line = 20;
    }
    let (payload, chunks) = split_points(rest);
    let all = chunkings(payload, &chunks, 4096);
    let reference = decode(&all[0], policy, &limits);
    for c in &all[1..] {
        assert_eq!(
            decode(c, policy, &limits),
            reference,
            "chunking changes the result"
        );
    }
    let (content, outcome, consumed) = reference;
    assert!(content.len() as u64 <= limits.message_size);
    match reference_end(payload) {
        Some(end) => {
            assert!(outcome.is_some(), "terminator at {end} not found");
            assert_eq!(consumed, end, "content ends at the wrong place");
        }
        None => assert!(outcome.is_none(), "ended without a CRLF . CRLF"),
    }
    if let (Some(end), Some(outcome)) = (reference_end(payload), outcome) {
        // Without limits in play, the strict policy has an exact reference.
        if policy == LineEndingPolicy::Reject && o & 6 == 0 {
            let body = &payload[..end.saturating_sub(3)];
            match reference_content(body) {
                Some(expected) => {
                    assert_eq!(outcome, DataOutcome::Complete);
                    assert_eq!(content, expected, "content differs from the reference");
                }
                None => assert_eq!(outcome, DataOutcome::BareLineEnding),
            }
        }
        if outcome == DataOutcome::Complete {
            assert!(content.is_empty() || content.ends_with(b"\r\n"));
        }
    }
}
