//! The InputBuffer framer: split invariance against a reference model,
//! bounded memory, no panics.
use proptest::prelude::*;
use smtp_sansio::LineEndingPolicy;
use smtp_sansio::{InputBuffer, LineStatus};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    Line(Vec<u8>),
    TooLong,
    Bare(Vec<u8>),
}

fn frame(input: &[u8], cuts: &[usize], limit: usize, p: LineEndingPolicy) -> (Vec<Ev>, Vec<u8>) {
    let mut b = InputBuffer::new();
    let mut out = Vec::new();
    let mut prev = 0;
    for c in cuts.iter().copied().chain([input.len()]) {
        let c = c.clamp(prev, input.len());
        b.receive(&input[prev..c]);
        prev = c;
        loop {
            match b.next_line(limit, p) {
                LineStatus::Line(r) => out.push(Ev::Line(b.get(r).to_vec())),
                LineStatus::Pending => break,
                LineStatus::TooLong => out.push(Ev::TooLong),
                LineStatus::BareLineEnding(r) => out.push(Ev::Bare(b.get(r).to_vec())),
            }
            // Bounded: an unterminated line never holds more than the limit.
            assert!(b.len() <= input.len());
        }
        if !b.peek().contains(&b'\n') {
            assert!(b.len() <= limit.max(1), "{} > {limit}", b.len());
        }
    }
    (out, b.peek().to_vec())
}

/// Reference: split complete lines, then judge each.
fn reference(input: &[u8], limit: usize, p: LineEndingPolicy) -> Vec<Ev> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bare_cr = false;
    let mut i = 0;
    while i < input.len() {
        let (end, next, bare) = match input[i] {
            b'\r' if i + 1 == input.len() => break,
            b'\r' if input[i + 1] == b'\n' => (i, i + 2, false),
            b'\r' if p == LineEndingPolicy::Reject => {
                bare_cr = true;
                i += 1;
                continue;
            }
            b'\r' => (i, i + 1, false),
            b'\n' if p == LineEndingPolicy::Reject => {
                bare_cr = true;
                i += 1;
                continue;
            }
            b'\n' => (i, i + 1, false),
            _ => {
                i += 1;
                continue;
            }
        };
        let line = input[start..end].to_vec();
        out.push(if line.len() + 2 > limit {
            Ev::TooLong
        } else if bare || bare_cr {
            Ev::Bare(line)
        } else {
            Ev::Line(line)
        });
        bare_cr = false;
        start = next;
        i = next;
    }
    // An unterminated rest that cannot fit is reported too.
    let n = input.len() - start;
    let trailing_cr = input.last() == Some(&b'\r') && n > 0;
    let min = if trailing_cr { n + 1 } else { n + 2 };
    if min > limit && n > 0 {
        out.push(Ev::TooLong);
    }
    out
}

fn wire() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![3 => Just(b'\r'), 3 => Just(b'\n'), 6 => Just(b'a'), 1 => any::<u8>()];
    prop::collection::vec(byte, 0..80)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn framer_matches_reference_for_every_split(
        input in wire(),
        mut cuts in prop::collection::vec(0usize..80, 0..8),
        limit in 0usize..16,
        normalize in any::<bool>(),
    ) {
        cuts.sort();
        let p = if normalize { LineEndingPolicy::Normalize } else { LineEndingPolicy::Reject };
        let (whole, _) = frame(&input, &[], limit, p);
        prop_assert_eq!(&whole, &reference(&input, limit, p));
        prop_assert_eq!(&frame(&input, &cuts, limit, p).0, &whole);
        let ones: Vec<usize> = (1..input.len()).collect();
        prop_assert_eq!(&frame(&input, &ones, limit, p).0, &whole);
    }
}

#[test]
fn overlong_line_is_skipped_without_storing() {
    let mut b = InputBuffer::new();
    b.receive(b"HELO ");
    assert_eq!(
        b.next_line(10, LineEndingPolicy::Reject),
        LineStatus::Pending
    );
    b.receive(&[b'x'; 100]);
    assert_eq!(
        b.next_line(10, LineEndingPolicy::Reject),
        LineStatus::TooLong
    );
    assert!(b.is_empty() && b.is_skipping());
    for _ in 0..1000 {
        b.receive(&[b'y'; 100]);
        assert!(b.is_empty());
        assert_eq!(
            b.next_line(10, LineEndingPolicy::Reject),
            LineStatus::Pending
        );
    }
    b.receive(b"yy\r\nQUIT\r\n");
    assert_eq!(
        b.next_line(10, LineEndingPolicy::Reject),
        LineStatus::Line(0..4)
    );
    assert_eq!(
        b.next_line(10, LineEndingPolicy::Reject),
        LineStatus::Pending
    );
}

#[test]
fn consume_and_clear() {
    let mut b = InputBuffer::new();
    b.receive(b"DATA\r\nhello\r\n.\r\nQUIT\r\n");
    let LineStatus::Line(r) = b.next_line(512, LineEndingPolicy::Reject) else {
        panic!()
    };
    assert_eq!(b.get(r), b"DATA");
    b.consume(b"hello\r\n.\r\n".len());
    assert_eq!(b.peek(), b"QUIT\r\n");
    let LineStatus::Line(r) = b.next_line(512, LineEndingPolicy::Reject) else {
        panic!()
    };
    assert_eq!(b.get(r), b"QUIT");
    b.receive(b"NOOP");
    b.clear();
    assert!(b.is_empty());
    assert_eq!(b.get(100..200), b"");
}

/// Feeding one byte at a time scans each byte once (a coarse guard).
#[test]
fn byte_at_a_time_is_linear() {
    let mut b = InputBuffer::new();
    let line = [b'a'; 400];
    let mut lines = 0;
    for _ in 0..200 {
        for &c in line.iter().chain(b"\r\n") {
            b.receive(&[c]);
            if let LineStatus::Line(_) = b.next_line(512, LineEndingPolicy::Reject) {
                lines += 1;
            }
        }
    }
    assert_eq!(lines, 200);
}
