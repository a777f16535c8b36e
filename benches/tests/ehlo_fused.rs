//! `EhloReply::parse` reads the reply in one pass; it must agree exactly
//! with the two-step reading (`Reply::parse_plain`, then
//! `EhloReply::from_reply`) on valid and damaged replies alike.

use smtp_sansio::{EhloReply, Limits, ParseError, Reply};
use smtp_sansio_benches::EHLO_REPLIES;

fn two_step<'a>(input: &'a [u8], limits: &Limits) -> Result<(EhloReply<'a>, usize), ParseError> {
    let (reply, n) = Reply::parse_plain(input, limits)?;
    Ok((EhloReply::from_reply(reply)?, n))
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

const ODD: &[u8] = b"\0\t\r\n =-_.,0123456789aZ\x7f\x80\xc3\xa9";

#[test]
fn one_pass_equals_two_steps() {
    let mut rng = Rng(0xDEAD_BEEF_1234_5678);
    let mut limits_small = Limits::RFC;
    limits_small.reply_line = 24;
    limits_small.reply_lines = 5;
    let mut inputs: Vec<Vec<u8>> = EHLO_REPLIES.iter().map(|r| r.as_bytes().to_vec()).collect();
    inputs.push(b"250 mx.example.com\r\n".to_vec());
    inputs.push(b"550 5.7.1 go away\r\n".to_vec());
    inputs.push(b"250-mx\r\n251 SIZE\r\n".to_vec());
    for case in 0..20000 {
        let base = &inputs[case % inputs.len()];
        let mut v = base.clone();
        for _ in 0..(rng.next() % 4) {
            let at = (rng.next() as usize) % (v.len() + 1);
            let b = ODD[(rng.next() as usize) % ODD.len()];
            match rng.next() % 3 {
                0 if at < v.len() => v[at] = b,
                1 => v.insert(at, b),
                _ => v.truncate(at.max(1)),
            }
        }
        for limits in [&Limits::RFC, &limits_small] {
            assert_eq!(
                EhloReply::parse(&v, limits),
                two_step(&v, limits),
                "input {:?}",
                String::from_utf8_lossy(&v)
            );
        }
    }
}

#[test]
fn printable_run_boundaries() {
    // Every octet value at every offset of a 20-octet printable line: the
    // one-pass reader must still agree with the two-step reading.
    let base = b"250-mx.example.com HELLO\r\n250 SIZE 1000\r\n".to_vec();
    for at in 0..24 {
        for b in 0..=255u8 {
            let mut v = base.clone();
            v[at] = b;
            assert_eq!(
                EhloReply::parse(&v, &Limits::RFC),
                two_step(&v, &Limits::RFC),
                "octet {b:#x} at {at}"
            );
        }
    }
}
