//! `reply`, `greeting` and `ehlo` kinds (dissect.md "Reply fields").
//!
//! The whole-buffer path uses `Reply::parse` / `Greeting::parse` /
//! `EhloReply::parse`; `--split N` feeds a `ReplyReader` N bytes at a time
//! and reads the first reply it yields the same way.
use smtp_sansio::{EhloReply, Greeting, Limits, ParseError, Reply, ReplyReader};

use crate::Outcome;

type Fields = Vec<Vec<u8>>;

fn field(name: &str, value: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(name.len() + value.len());
    f.extend_from_slice(name.as_bytes());
    f.extend_from_slice(value);
    f
}

fn common(kind: &str, reply: &Reply<'_>) -> Fields {
    vec![
        kind.as_bytes().to_vec(),
        field("code=", reply.code().to_string().as_bytes()),
        field("lines=", reply.line_count().to_string().as_bytes()),
    ]
}

fn text(reply: &Reply<'_>) -> Vec<u8> {
    let mut t = b"text=".to_vec();
    for (i, line) in reply.lines().enumerate() {
        if i > 0 {
            t.push(b'\n');
        }
        t.extend_from_slice(line);
    }
    t
}

fn reply_fields(reply: Reply<'_>) -> Result<Fields, ParseError> {
    let mut f = common("REPLY", &reply);
    let e = reply
        .enhanced()
        .map_or_else(|| "-".to_string(), |e| e.to_string());
    f.push(field("enhanced=", e.as_bytes()));
    f.push(text(&reply));
    Ok(f)
}

fn greeting_fields(reply: Reply<'_>) -> Result<Fields, ParseError> {
    let g = Greeting::from_reply(reply)?;
    let mut f = common("GREETING", &reply);
    f.push(field("domain=", g.domain()));
    f.push(text(&reply));
    Ok(f)
}

fn ehlo_fields(reply: Reply<'_>) -> Result<Fields, ParseError> {
    let e = EhloReply::from_reply(reply)?;
    let mut f = common("EHLO_REPLY", &reply);
    f.push(field("domain=", e.domain()));
    f.push(field("greet=", e.greet()));
    for cap in e.raw_capabilities() {
        let mut c = b"cap=".to_vec();
        c.extend(cap.keyword.iter().map(u8::to_ascii_uppercase));
        for p in cap.params() {
            c.push(b' ');
            c.extend_from_slice(p);
        }
        f.push(c);
    }
    Ok(f)
}

fn outcome(r: Result<Fields, ParseError>) -> Outcome {
    match r {
        Ok(f) => Outcome::Ok(f),
        Err(e) => Outcome::Err(e.kind(), Vec::new()),
    }
}

/// Parses the whole buffer (without enhanced codes if `plain`), then `fields`.
fn whole(
    input: &[u8],
    plain: bool,
    fields: fn(Reply<'_>) -> Result<Fields, ParseError>,
) -> Outcome {
    let parsed = if plain {
        Reply::parse_plain(input, &Limits::RFC)
    } else {
        Reply::parse(input, &Limits::RFC)
    };
    match parsed {
        Ok((reply, n)) => match fields(reply) {
            Ok(_) if n != input.len() => Outcome::Err(ParseError::TrailingData.kind(), Vec::new()),
            r => outcome(r),
        },
        Err(e) => Outcome::Err(e.kind(), Vec::new()),
    }
}

/// Feeds a `ReplyReader` `n` bytes at a time.
fn split(
    input: &[u8],
    n: usize,
    enhanced: bool,
    fields: fn(Reply<'_>) -> Result<Fields, ParseError>,
) -> Outcome {
    let mut reader = ReplyReader::new(Limits::RFC);
    reader.set_enhanced_codes(enhanced);
    let mut first: Option<Result<Fields, ParseError>> = None;
    let mut more = false;
    for chunk in input.chunks(n) {
        reader.receive(chunk);
        while let Some(r) = reader.next_reply() {
            if first.is_some() {
                more = true;
                break;
            }
            let r = r.and_then(fields);
            let failed = r.is_err();
            first = Some(r);
            if failed {
                return outcome(first.unwrap_or(Err(ParseError::Syntax)));
            }
        }
        if more {
            break;
        }
    }
    match first {
        None => Outcome::Err(ParseError::Incomplete.kind(), Vec::new()),
        Some(Ok(_)) if more || !reader.buffered().is_empty() => {
            Outcome::Err(ParseError::TrailingData.kind(), Vec::new())
        }
        Some(r) => outcome(r),
    }
}

/// `reply`: one complete reply.
pub fn reply(input: &[u8], n: Option<usize>) -> Outcome {
    match n {
        None => whole(input, false, reply_fields),
        Some(n) => split(input, n, true, reply_fields),
    }
}

/// `greeting`: one 220/554 greeting.
pub fn greeting(input: &[u8], n: Option<usize>) -> Outcome {
    match n {
        None => whole(input, true, greeting_fields),
        Some(n) => split(input, n, false, greeting_fields),
    }
}

/// `ehlo`: one EHLO reply.
pub fn ehlo(input: &[u8], n: Option<usize>) -> Outcome {
    match n {
        None => whole(input, true, ehlo_fields),
        Some(n) => split(input, n, false, ehlo_fields),
    }
}
