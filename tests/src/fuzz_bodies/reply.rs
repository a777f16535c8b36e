//! `reply`: raw bytes to the reply parser. Every reply that parses must
//! encode again ([`Reply::to_owned_reply`] then [`OwnedReply::write_to`](smtp_sansio::OwnedReply::write_to))
//! and parse back to the same code, enhanced code, line count and text;
//! an incremental [`ReplyReader`] fed the same bytes in several chunkings
//! must return the same replies and the same first error as
//! [`Reply::parse`] on the whole input; after an error the reader's later
//! replies must be well-formed replies.

use smtp_sansio::{EhloReply, EncodeError, Greeting, Limits, ParseError};
use smtp_sansio::{Reply, ReplyReader};

fn limit_sets() -> [Limits; 2] {
    let small = Limits {
        reply_line: 40,
        reply_lines: 3,
        ..Limits::RFC
    };
    [Limits::RFC, small]
}

/// What a reply is, for comparing two parses.
#[derive(Debug, PartialEq, Eq)]
struct Shape<'a> {
    raw: &'a [u8],
    code: u16,
    enhanced: Option<smtp_sansio::EnhancedCode>,
    lines: usize,
}

fn shape<'a>(r: &Reply<'a>) -> Shape<'a> {
    Shape {
        raw: r.as_bytes(),
        code: r.code().get(),
        enhanced: r.enhanced(),
        lines: r.line_count(),
    }
}

/// Replies of the whole input, then the error (`Incomplete` at the end).
fn whole<'a>(data: &'a [u8], limits: &Limits, plain: bool) -> (Vec<Shape<'a>>, ParseError) {
    let mut out = Vec::new();
    let mut at = 0;
    loop {
        let rest = &data[at..];
        let r = if plain {
            Reply::parse_plain(rest, limits)
        } else {
            Reply::parse(rest, limits)
        };
        match r {
            Ok((reply, n)) => {
                assert!(n > 0 && n <= rest.len());
                assert_eq!(reply.as_bytes(), &rest[..n]);
                check_reply(&reply, plain);
                out.push(shape(&reply));
                at += n;
            }
            Err(e) => return (out, e),
        }
    }
}

/// One parsed reply: its accessors agree, and it encodes and reads back.
fn check_reply(reply: &Reply<'_>, plain: bool) {
    let digits = reply.code().digits();
    let lines: Vec<&[u8]> = reply.lines().collect();
    assert_eq!(lines.len(), reply.line_count());
    assert!(reply.line_count() >= 1);
    for l in reply
        .as_bytes()
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
    {
        assert!(l.starts_with(&digits) && l.ends_with(b"\r"));
    }
    if let Some(e) = reply.enhanced() {
        assert!(!plain);
        assert!(e.fits(reply.code()));
    }
    let owned = reply.to_owned_reply();
    let mut enc = Vec::new();
    match owned.write_to(&mut enc) {
        Ok(()) => {}
        // Writing the enhanced code on every line may lengthen a line past
        // 512 octets (RFC 5321 4.5.3.1.5): the encoder refuses it.
        // So may the lossy UTF-8 conversion of the owned reply (U+FFFD is
        // three octets).
        Err(EncodeError::TooLong)
            if reply.enhanced().is_some()
                || reply.lines().any(|l| std::str::from_utf8(l).is_err()) =>
        {
            return;
        }
        // Read without enhanced codes, text that starts like one cannot be
        // written without one: the generic reader would take it as a code
        // (or refuse its class). Exactly those replies are refused.
        Err(EncodeError::InvalidByte)
            if plain
                && Reply::parse(reply.as_bytes(), &Limits::RFC)
                    .map_or(true, |(r, _)| r.enhanced().is_some()) =>
        {
            return;
        }
        Err(e) => panic!("parsed reply does not encode: {e:?} {reply:?}"),
    }
    let limits = Limits {
        reply_lines: usize::MAX,
        ..Limits::RFC
    };
    let (back, n) = if plain {
        Reply::parse_plain(&enc, &limits)
    } else {
        Reply::parse(&enc, &limits)
    }
    .unwrap_or_else(|e| panic!("encoding does not parse back: {e:?} {enc:?}"));
    assert_eq!(n, enc.len());
    assert_eq!(back.code(), reply.code());
    assert_eq!(back.enhanced(), reply.enhanced());
    assert_eq!(back.line_count(), reply.line_count());
    // Text compares where it was UTF-8 (the owned reply converts lossily).
    // With an enhanced code, the owned reply keeps one code for every line
    // (the first line's, written on each line, RFC 2034 3); a line that
    // carried another one keeps it as text. The owned forms compare below.
    for (a, b) in reply.lines().zip(back.lines()) {
        match reply.enhanced() {
            None if std::str::from_utf8(a).is_ok() => assert_eq!(a, b, "line text changed"),
            None => {}
            Some(e) => assert_eq!(back.line_enhanced(b), Some(e)),
        }
    }
    assert_eq!(back.to_owned_reply(), owned);
}

/// Feeds `chunks` to a reader, collecting replies until the first error.
fn incremental<'a>(
    chunks: &[&[u8]],
    limits: &Limits,
    plain: bool,
    data: &'a [u8],
) -> (Vec<Shape<'a>>, Option<ParseError>) {
    let mut reader = ReplyReader::new(*limits);
    reader.set_enhanced_codes(!plain);
    let mut out = Vec::new();
    let mut at = 0; // offset in `data` of the next reply
    let mut first_err = None;
    for chunk in chunks {
        reader.receive(chunk);
        while let Some(r) = reader.next_reply() {
            match r {
                Ok(reply) if first_err.is_none() => {
                    let n = reply.as_bytes().len();
                    assert_eq!(reply.as_bytes(), &data[at..at + n]);
                    let s = shape(&reply);
                    out.push(Shape {
                        raw: &data[at..at + n],
                        ..s
                    });
                    at += n;
                }
                Ok(reply) => {
                    // After an error: whatever comes out is a valid reply.
                    let raw = reply.as_bytes().to_vec();
                    let again = if plain {
                        Reply::parse_plain(&raw, &Limits::RFC)
                    } else {
                        Reply::parse(&raw, &Limits::RFC)
                    };
                    let (again, n) = again.expect("reply after resync parses");
                    assert_eq!(n, raw.len());
                    assert_eq!(again.code(), reply.code());
                }
                Err(e) => {
                    assert_ne!(e, ParseError::Incomplete);
                    first_err.get_or_insert(e);
                }
            }
        }
    }
    if first_err.is_none() {
        assert_eq!(reader.buffered(), &data[at..], "buffered bytes");
    }
    (out, first_err)
}

/// The body.
pub fn reply(data: &[u8]) {
    // Fixed chunkings (the input is a raw reply, no split bytes in front).
    let step = 1 + data.len() % 7;
    let mut chunkings: Vec<Vec<&[u8]>> = vec![vec![data], data.chunks(step).collect()];
    if data.len() <= 1024 {
        chunkings.push(data.chunks(1).collect());
    }
    for limits in limit_sets() {
        for plain in [false, true] {
            let (replies, err) = whole(data, &limits, plain);
            for chunks in &chunkings {
                let (got, got_err) = incremental(chunks, &limits, plain, data);
                if err == ParseError::Incomplete {
                    assert_eq!(got, replies, "reader replies differ");
                    assert_eq!(got_err, None);
                } else {
                    // The reader may stop before the whole input's error only
                    // if it returned that same error.
                    assert_eq!(got, replies, "reader replies differ");
                    assert_eq!(got_err, Some(err), "reader error differs");
                }
            }
        }
        if let Ok((g, _)) = Greeting::parse(data, &limits) {
            assert!(matches!(g.code().get(), 220 | 554));
            assert!(!g.domain().is_empty());
        }
        if let Ok((e, n)) = EhloReply::parse(data, &limits) {
            assert_eq!(e.reply().code().get(), 250);
            assert_eq!(e.as_bytes(), &data[..n]);
        }
    }
}
