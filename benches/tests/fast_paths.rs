//! Differential checks for the block-scanning fast paths of the DATA
//! decoder and encoder (they only engage on runs of 65+ octets, longer than
//! the crate's own property-test inputs): feeding one octet at a time never
//! reaches them, so it must give exactly what one large buffer gives.

use smtp_sansio::{DataDecoder, DataEncoder, DataOutcome};
use smtp_sansio::{Limits, LineEndingPolicy};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Mostly text lines with CRLF, sprinkled with dots, bare CR/LF, NUL.
fn input(rng: &mut Rng) -> Vec<u8> {
    let len = (rng.next() % 3000) as usize;
    let rare = rng.next() % 4; // how often odd octets appear
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        let r = rng.next() % 1000;
        if r < 30 {
            v.extend_from_slice(b"\r\n");
        } else if r < 40 {
            v.extend_from_slice(b"\r\n.");
        } else if r < 40 + rare * 3 {
            v.push([b'\r', b'\n', b'.', 0][(r % 4) as usize]);
        } else {
            v.push(b'a' + (r % 26) as u8);
        }
    }
    if rng.next() % 2 == 0 {
        v.extend_from_slice(b"\r\n.\r\nMAIL");
    }
    v
}

type Run = (Vec<u8>, Option<DataOutcome>, usize);

fn decode(input: &[u8], chunk: usize, p: LineEndingPolicy, limits: &Limits) -> Run {
    let mut dec = DataDecoder::new(p, limits);
    let mut out = Vec::new();
    let mut consumed = 0;
    let mut avail = 0;
    while consumed < input.len() || avail > consumed {
        avail = (avail + chunk).min(input.len()).max(consumed);
        let window = &input[consumed..avail];
        let step = dec.decode(window);
        out.extend_from_slice(step.piece.bytes(window));
        consumed += step.consumed;
        if step.done {
            break;
        }
        if avail == input.len() && step.consumed == 0 && step.piece.is_empty() {
            break;
        }
    }
    (out, dec.outcome(), consumed)
}

#[test]
fn decoder_whole_equals_bytewise() {
    let mut rng = Rng(0x1234_5678_9ABC_DEF1);
    for case in 0..3000 {
        let inp = input(&mut rng);
        for p in [LineEndingPolicy::Reject, LineEndingPolicy::Normalize] {
            let limits = Limits {
                message_size: if case % 5 == 0 { 700 } else { 1 << 20 },
                ..Limits::RFC
            };
            let whole = decode(&inp, inp.len().max(1), p, &limits);
            assert_eq!(decode(&inp, 1, p, &limits), whole, "case {case} {p:?}");
            assert_eq!(decode(&inp, 97, p, &limits), whole, "case {case} {p:?}");
        }
    }
}

fn encode(body: &[u8], chunk: usize, p: LineEndingPolicy) -> Result<Vec<u8>, ()> {
    let mut enc = DataEncoder::new(p);
    let mut out = Vec::new();
    for c in body.chunks(chunk.max(1)) {
        enc.encode(c, &mut out).map_err(|_| ())?;
    }
    enc.finish(&mut out).map_err(|_| ())?;
    Ok(out)
}

#[test]
fn encoder_whole_equals_bytewise() {
    let mut rng = Rng(0x0F1E_2D3C_4B5A_6978);
    for case in 0..3000 {
        let body = input(&mut rng);
        for p in [LineEndingPolicy::Reject, LineEndingPolicy::Normalize] {
            let whole = encode(&body, body.len(), p);
            assert_eq!(encode(&body, 1, p), whole, "case {case} {p:?}");
            assert_eq!(encode(&body, 97, p), whole, "case {case} {p:?}");
        }
    }
}
