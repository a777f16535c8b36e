//! A bare CR or bare LF (RFC 5321 2.3.8, 4.1.1.4) at every position of a
//! long, otherwise clean message is found by `DataDecoder`, whether it lies
//! inside, at the edge of, or across the bulk classifier's blocks, and
//! whether the message arrives whole or in 4 KiB reads.

use smtp_sansio::data::{DataDecoder, DataOutcome, decode_all};
use smtp_sansio::{Limits, LineEndingPolicy};

/// About 3 KiB of 70-octet CRLF lines, then the terminator.
fn clean() -> (Vec<u8>, usize) {
    let mut w = Vec::new();
    while w.len() < 3000 {
        w.extend_from_slice(&[b'a'; 68]);
        w.extend_from_slice(b"\r\n");
    }
    let body = w.len();
    w.extend_from_slice(b".\r\n");
    (w, body)
}

fn outcome_in_reads(wire: &[u8], read: usize) -> Option<DataOutcome> {
    let limits = Limits::RFC;
    let mut dec = DataDecoder::new(LineEndingPolicy::Reject, &limits);
    for part in wire.chunks(read) {
        let mut pos = 0;
        loop {
            let step = dec.decode(&part[pos..]);
            pos += step.consumed;
            if step.done {
                return dec.outcome();
            }
            if step.consumed == 0 && step.piece.is_empty() {
                break;
            }
        }
    }
    None
}

#[test]
fn clean_message_is_complete() {
    let (wire, body) = clean();
    let (got, used) = decode_all(&wire, LineEndingPolicy::Reject, &Limits::RFC).unwrap();
    assert_eq!(got.unwrap(), wire[..body].to_vec());
    assert_eq!(used, wire.len());
    assert_eq!(outcome_in_reads(&wire, 4096), Some(DataOutcome::Complete));
    assert_eq!(outcome_in_reads(&wire, 1000), Some(DataOutcome::Complete));
}

#[test]
fn every_bare_ending_position_is_refused() {
    let (clean, body) = clean();
    for p in 0..body {
        if clean[p] != b'a' {
            continue;
        }
        for bare in [b'\r', b'\n'] {
            let mut wire = clean.clone();
            wire[p] = bare;
            let (got, used) = decode_all(&wire, LineEndingPolicy::Reject, &Limits::RFC)
                .unwrap_or_else(|| panic!("no terminator with {bare:?} at {p}"));
            assert_eq!(got, Err(DataOutcome::BareLineEnding), "{bare:?} at {p}");
            assert_eq!(used, wire.len(), "{bare:?} at {p}");
            for read in [4096, 512, 777] {
                assert_eq!(
                    outcome_in_reads(&wire, read),
                    Some(DataOutcome::BareLineEnding),
                    "{bare:?} at {p}, reads of {read}"
                );
            }
        }
    }
}

/// Content and outcome of `wire` fed in reads of `read` octets.
fn content_in_reads(
    wire: &[u8],
    read: usize,
    policy: LineEndingPolicy,
) -> (Vec<u8>, Option<DataOutcome>) {
    let limits = Limits::RFC;
    let mut dec = DataDecoder::new(policy, &limits);
    let mut out = Vec::new();
    for part in wire.chunks(read) {
        let mut pos = 0;
        loop {
            let rest = &part[pos..];
            let step = dec.decode(rest);
            out.extend_from_slice(step.piece.bytes(rest));
            pos += step.consumed;
            if step.done {
                return (out, dec.outcome());
            }
            if step.consumed == 0 && step.piece.is_empty() {
                break;
            }
        }
    }
    (out, None)
}

/// `wire` decodes to `want` (complete) whole and in reads of several sizes,
/// under both policies.
fn decodes_to(wire: &[u8], want: &[u8], what: &str) {
    for policy in [LineEndingPolicy::Reject, LineEndingPolicy::Normalize] {
        let (got, used) = decode_all(wire, policy, &Limits::RFC)
            .unwrap_or_else(|| panic!("no terminator: {what}"));
        assert_eq!(got.as_deref(), Ok(want), "{what}, {policy:?}");
        assert_eq!(used, wire.len(), "{what}, {policy:?}");
        for read in [4096, 512, 777, 33] {
            let (got, outcome) = content_in_reads(wire, read, policy);
            assert_eq!(
                outcome,
                Some(DataOutcome::Complete),
                "{what}, reads of {read}"
            );
            assert_eq!(got, want, "{what}, {policy:?}, reads of {read}");
        }
    }
}

/// A transparency dot (RFC 5321 4.5.2) at the start of every line of a long
/// message is removed, wherever the line start falls in the bulk
/// classifier's blocks and reads.
#[test]
fn every_dot_line_position_is_unstuffed() {
    let (clean, body) = clean();
    for s in 1..body {
        if clean[s - 1] != b'\n' {
            continue;
        }
        let mut wire = clean.clone();
        wire[s] = b'.';
        let mut want = clean[..body].to_vec();
        want.remove(s);
        decodes_to(&wire, &want, &format!("dot at {s}"));
        // A line of two dots: one dot of content.
        let mut wire = clean.clone();
        wire.splice(s..s + 68, *b"..");
        let body2 = body - 66;
        let mut want = wire[..body2].to_vec();
        want.remove(s);
        decodes_to(&wire, &want, &format!("dot line at {s}"));
    }
}

/// Octet pairs the bulk classifier cannot tell from a dot after an LF by
/// their sum (a control octet before a printable one: TAB `/`, NUL `8`,
/// BS `0`, VT `-`, FF `,`) are content at every position.
#[test]
fn every_lookalike_pair_position_is_content() {
    let (clean, body) = clean();
    for p in 0..body - 1 {
        if clean[p] != b'a' || clean[p + 1] != b'a' {
            continue;
        }
        for pair in [*b"\t/", *b"\x008", *b"\x080", *b"\x0b-", *b"\x0c,"] {
            let mut wire = clean.clone();
            wire[p..p + 2].copy_from_slice(&pair);
            let want = wire[..body].to_vec();
            decodes_to(&wire, &want, &format!("{pair:?} at {p}"));
        }
    }
}
