//! `framing`: bytes plus split points to the server's line framer
//! ([`InputBuffer`]). For each line-ending policy and a fuzzer-chosen line
//! limit, the sequence of lines, overlong-line reports and bare-line-ending
//! reports is identical for every chunking of the input, whether lines are
//! framed after each chunk or only at the end; a framed line never holds
//! CR or LF and fits the limit; and a pending partial line never reaches
//! the limit (bounded memory).

use smtp_sansio::LineEndingPolicy;
use smtp_sansio::{InputBuffer, LineStatus};

use super::{chunkings, split_points};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Out {
    Line(Vec<u8>),
    TooLong,
    Bare(Vec<u8>),
}

fn drain(b: &mut InputBuffer, limit: usize, policy: LineEndingPolicy, out: &mut Vec<Out>) {
    loop {
        match b.next_line(limit, policy) {
            LineStatus::Line(r) => {
                let line = b.get(r).to_vec();
                assert!(!line.contains(&b'\n'), "LF in a framed line");
                assert!(!line.contains(&b'\r'), "CR in a framed line");
                assert!(line.len() + 2 <= limit, "line over the limit");
                out.push(Out::Line(line));
            }
            LineStatus::Pending => return,
            LineStatus::TooLong => out.push(Out::TooLong),
            LineStatus::BareLineEnding(r) => {
                assert_eq!(policy, LineEndingPolicy::Reject);
                // The whole line up to its CRLF: bare CR and LF included.
                out.push(Out::Bare(b.get(r).to_vec()));
            }
        }
    }
}

fn run(
    chunks: &[&[u8]],
    limit: usize,
    policy: LineEndingPolicy,
    eager: bool,
) -> (Vec<Out>, Vec<u8>) {
    let mut b = InputBuffer::new();
    let mut out = Vec::new();
    for c in chunks {
        b.receive(c);
        if eager {
            drain(&mut b, limit, policy, &mut out);
            // What stays buffered is part of one line shorter than the limit.
            assert!(b.len() < limit, "pending line of {} octets", b.len());
        }
    }
    drain(&mut b, limit, policy, &mut out);
    (out, b.peek().to_vec())
}

/// The body. Input: `[limit byte] [split header] payload` (see
/// [`split_points`]); limit byte 0 means the RFC command line limit, 512.
pub fn framing(data: &[u8]) {
    let Some((&l, rest)) = data.split_first() else {
        return;
    };
    let limit = if l == 0 { 512 } else { 2 + usize::from(l % 64) };
    let (payload, chunks) = split_points(rest);
    for policy in [LineEndingPolicy::Reject, LineEndingPolicy::Normalize] {
        let all = chunkings(payload, &chunks, 4096);
        let reference = run(&all[0], limit, policy, true);
        for c in &all {
            for eager in [true, false] {
                let got = run(c, limit, policy, eager);
                assert_eq!(
                    got, reference,
                    "framing differs (policy {policy:?}, limit {limit}, eager {eager})"
                );
            }
        }
    }
}
