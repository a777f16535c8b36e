//! `data`: the bytes a server receives after its 354 reply (dissect.md).
//!
//! The input goes through the server's path: an [`InputBuffer`] that
//! accumulates received bytes and a [`DataDecoder`] fed its unconsumed
//! bytes. The policy is the default ([`LineEndingPolicy::Reject`]); the
//! limits are [`Limits::RFC`] except `message_size`, raised to `u64::MAX`
//! so that real messages of any size are dissected.
use crate::Outcome;
use smtp_sansio::InputBuffer;
use smtp_sansio::{DataDecoder, DataOutcome};
use smtp_sansio::{Limits, LineEndingPolicy};

/// Dissects one input.
pub fn run(input: &[u8], split: Option<usize>) -> Outcome {
    let limits = Limits {
        message_size: u64::MAX,
        ..Limits::RFC
    };
    let mut dec = DataDecoder::new(LineEndingPolicy::Reject, &limits);
    let mut buf = InputBuffer::new();
    let mut content = Vec::new();
    let mut consumed = 0usize;
    let step = split.unwrap_or(input.len()).max(1);
    let mut chunks = input.chunks(step);
    'feed: loop {
        loop {
            let s = dec.decode(buf.peek());
            content.extend_from_slice(s.piece.bytes(buf.peek()));
            buf.consume(s.consumed);
            consumed += s.consumed;
            if s.done {
                break 'feed;
            }
            if s.consumed == 0 && s.piece.is_empty() {
                break;
            }
        }
        match chunks.next() {
            Some(chunk) => buf.receive(chunk),
            None => return Outcome::Err("incomplete", Vec::new()),
        }
    }
    let consumed_field = format!("consumed={consumed}").into_bytes();
    match dec.outcome() {
        Some(DataOutcome::Complete) => {
            let mut field = b"content=".to_vec();
            field.extend_from_slice(&content);
            Outcome::Ok(vec![b"DATA".to_vec(), consumed_field, field])
        }
        Some(why) => Outcome::Err(why.kind(), vec![consumed_field]),
        None => Outcome::Err("incomplete", Vec::new()),
    }
}
