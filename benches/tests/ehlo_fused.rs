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

/// Every known keyword (and near misses: one octet changed, cut short, one
/// more octet), in mixed case, with and without parameters, alone and
/// after others: the packed-integer keyword classifier of the one-pass
/// reader must agree with the two-step reading (case-insensitive compare).
#[test]
fn keywords_packed_classifier() {
    const KEYWORDS: &[&str] = &[
        "SIZE",
        "8BITMIME",
        "BINARYMIME",
        "CHUNKING",
        "PIPELINING",
        "SMTPUTF8",
        "DSN",
        "ENHANCEDSTATUSCODES",
        "STARTTLS",
        "AUTH",
        "REQUIRETLS",
        "MT-PRIORITY",
        "DELIVERBY",
        "FUTURERELEASE",
        "ETRN",
        "BURL",
        "RRVS",
        "VRFY",
        "EXPN",
        "HELP",
        "LIMITS",
    ];
    const PARAMS: &[&str] = &[
        "",
        " 1000",
        " PLAIN LOGIN",
        " 1000 2026-12-01T00:00:00Z",
        " x y ",
        " 99999999999999999999999",
    ];
    let mut rng = Rng(0x1234_5678_9ABC_DEF1);
    let mut seen = 0u32;
    for kw in KEYWORDS {
        let mut variants = vec![kw.to_string(), kw.to_lowercase()];
        // Mixed case.
        variants.push(
            kw.chars()
                .map(|c| {
                    if rng.next() % 2 == 0 {
                        c.to_ascii_lowercase()
                    } else {
                        c
                    }
                })
                .collect(),
        );
        // Near misses.
        let mut changed = kw.as_bytes().to_vec();
        let at = (rng.next() as usize) % changed.len();
        changed[at] = if changed[at] == b'X' { b'Y' } else { b'X' };
        variants.push(String::from_utf8(changed).unwrap());
        variants.push(kw[..kw.len() - 1].to_string());
        variants.push(format!("{kw}S"));
        variants.push(format!("{kw}-"));
        for v in &variants {
            for p in PARAMS {
                for first in [true, false] {
                    let input = if first {
                        format!("250-mx.example.com\r\n250 {v}{p}\r\n")
                    } else {
                        format!("250-mx.example.com\r\n250-{v}{p}\r\n250-SIZE 5\r\n250 AUTH X\r\n")
                    };
                    let ours = EhloReply::parse(input.as_bytes(), &Limits::RFC);
                    assert_eq!(ours, two_step(input.as_bytes(), &Limits::RFC), "{input:?}");
                    if let Ok((e, _)) = ours {
                        seen |= e.extensions().bits();
                    }
                }
            }
        }
    }
    // Every keyword was recognized at least once.
    assert_eq!(seen.count_ones(), KEYWORDS.len() as u32);
}

/// The captured EHLO replies of `corpus/captured/ehlo` read the same both
/// ways, and each advertises what its file says.
#[test]
fn captured_ehlo_replies() {
    let all = smtp_sansio_benches::captured_ehlo();
    assert!(!all.is_empty(), "corpus/captured/ehlo is missing");
    let mut rest = &all[..];
    let mut n = 0;
    while !rest.is_empty() {
        let one = EhloReply::parse(rest, &Limits::RFC);
        assert_eq!(one, two_step(rest, &Limits::RFC));
        let (e, used) = one.unwrap();
        assert!(e.extensions().bits() != 0);
        rest = &rest[used..];
        n += 1;
    }
    assert_eq!(n, 3);
}
