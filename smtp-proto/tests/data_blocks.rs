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
