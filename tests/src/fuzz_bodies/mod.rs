//! Fuzz target bodies.
//!
//! Each body is a `pub fn NAME(data: &[u8])` that panics on any invariant
//! violation and returns normally otherwise (uninteresting input included).
//! The cargo-fuzz crate in `fuzz/` has one target per body that only calls
//! it, and `tests/tests/fuzz_corpus.rs` replays every file of
//! `corpus/fuzz/<NAME>/` (and its `regressions/`) through it on stable.
//!
//! Several bodies split their input into a stream and chunk boundaries
//! with [`split_points`], so that one fuzz input checks "same result for
//! every chunking" at a few fuzzer-chosen boundaries as well as whole and
//! byte by byte.

pub mod client_session;
pub mod command;
pub mod data_decode;
pub mod data_roundtrip;
pub mod differential;
pub mod ehlo;
pub mod framing;
pub mod pair;
pub mod proxy_header;
pub mod reply;
pub mod server_session;
pub mod structured_roundtrip;

/// A fuzz target body.
pub type Body = fn(&[u8]);

/// Every target, by name: the names of the `fuzz/fuzz_targets/*.rs` files
/// and of the `corpus/fuzz/*` folders.
pub const TARGETS: &[(&str, Body)] = &[
    ("command", command::command),
    ("reply", reply::reply),
    ("ehlo", ehlo::ehlo),
    ("framing", framing::framing),
    ("data_decode", data_decode::data_decode),
    ("data_roundtrip", data_roundtrip::data_roundtrip),
    (
        "structured_roundtrip",
        structured_roundtrip::structured_roundtrip,
    ),
    ("server_session", server_session::server_session),
    ("differential", differential::differential),
    ("client_session", client_session::client_session),
    ("pair", pair::pair),
    ("proxy_header", proxy_header::proxy_header),
];

/// Splits a fuzz input into chunk lengths and a payload: the first byte
/// `n` gives the number of chunk lengths (`n % 8`), the next `n` bytes are
/// the lengths (0 is allowed: an empty chunk), the rest is the payload.
/// Returns the payload cut at those lengths (the last chunk takes what is
/// left), so the chunks always concatenate to the payload.
pub fn split_points(data: &[u8]) -> (&[u8], Vec<&[u8]>) {
    let Some((&n, rest)) = data.split_first() else {
        return (&[], vec![&[][..]]);
    };
    let n = usize::from(n % 8).min(rest.len());
    let (lens, payload) = rest.split_at(n);
    let mut chunks = Vec::with_capacity(n + 1);
    let mut at = 0;
    for &l in lens {
        let end = (at + usize::from(l)).min(payload.len());
        chunks.push(&payload[at..end]);
        at = end;
    }
    chunks.push(&payload[at..]);
    (payload, chunks)
}

/// The chunkings every split-invariance body compares: the payload whole,
/// the fuzzer-chosen chunks, and one byte at a time (payloads up to
/// `max_bytewise` octets, to keep a run fast).
pub fn chunkings<'a>(
    payload: &'a [u8],
    chunks: &[&'a [u8]],
    max_bytewise: usize,
) -> Vec<Vec<&'a [u8]>> {
    let mut all = vec![vec![payload], chunks.to_vec()];
    if payload.len() <= max_bytewise {
        all.push(payload.chunks(1).collect());
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_points_concatenate() {
        let data = b"\x03\x02\x00\x05hello world";
        let (payload, chunks) = split_points(data);
        assert_eq!(payload, b"hello world");
        assert_eq!(chunks, vec![&b"he"[..], b"", b"llo w", b"orld"]);
        assert_eq!(split_points(b"").1.concat(), b"");
        assert_eq!(split_points(b"\x07\x01").0, b"");
    }
}
