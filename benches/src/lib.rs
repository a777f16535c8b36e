//! Benchmark inputs and the two parsers' drivers, shared by the criterion
//! benches (`benches/*.rs`), the allocation counter (`src/bin/allocs.rs`)
//! and the report (`src/bin/report.rs`).
//!
//! Every input is fixed or generated deterministically, so runs compare.
//! Each driver parses a whole input the way an application would and
//! returns a checksum (so the work cannot be optimized away) or panics on a
//! parse error, which the benches check once before measuring.

use std::slice::Iter;

use smtp_proto_peer as peer;
use smtp_sansio::data::{DataDecoder, DataEncoder};
use smtp_sansio::line::{InputBuffer, LineStatus};
use smtp_sansio::{Command, CommandOptions, EhloReply, Limits, LineEndingPolicy, Reply};

// ---------------------------------------------------------------------------
// Commands.

/// A realistic mix of client commands (one submission session with a
/// second transaction, every verb of issue 8), CRLF-terminated. If
/// `corpus/commands/*.txt` exists its lines are used instead (see
/// [`command_mix`]).
pub const COMMAND_MIX: &[&str] = &[
    "EHLO client.example.org\r\n",
    "STARTTLS\r\n",
    "EHLO client.example.org\r\n",
    "AUTH PLAIN AGpvaG4uZG9lQGV4YW1wbGUuY29tAGNvcnJlY3QgaG9yc2UgYmF0dGVyeQ==\r\n",
    "MAIL FROM:<john.doe@example.com> SIZE=48213 BODY=8BITMIME\r\n",
    "RCPT TO:<alice@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;alice@example.org\r\n",
    "RCPT TO:<bob.smith@mail.example.net> NOTIFY=FAILURE,DELAY ORCPT=rfc822;bob.smith@mail.example.net\r\n",
    "RCPT TO:<carol@example.org>\r\n",
    "DATA\r\n",
    "RSET\r\n",
    "NOOP\r\n",
    "MAIL FROM:<bounces+list-1234-alice=example.org@lists.example.com> SIZE=1024 BODY=7BIT\r\n",
    "RCPT TO:<dave@sub.example.org> NOTIFY=NEVER\r\n",
    "RCPT TO:<Postmaster>\r\n",
    "BDAT 1024 LAST\r\n",
    "VRFY postmaster\r\n",
    "MAIL FROM:<> BODY=7BIT\r\n",
    "RCPT TO:<eve@example.org> ORCPT=rfc822;eve@example.org\r\n",
    "BDAT 86016\r\n",
    "QUIT\r\n",
];

/// The command lines to measure: `corpus/commands/*.txt` (one command per
/// line, `#` comments and blank lines skipped) when that directory exists
/// and holds lines, otherwise [`COMMAND_MIX`]. Each returned line ends with
/// CRLF.
pub fn command_mix() -> Vec<Vec<u8>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../corpus/commands");
    let mut lines = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        let mut paths: Vec<_> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths {
            if p.extension().is_some_and(|e| e == "txt") {
                let text = std::fs::read(&p).unwrap_or_default();
                for l in text.split(|&b| b == b'\n') {
                    let l = l.strip_suffix(b"\r").unwrap_or(l);
                    if l.is_empty() || l.starts_with(b"#") {
                        continue;
                    }
                    let mut v = l.to_vec();
                    v.extend_from_slice(b"\r\n");
                    lines.push(v);
                }
            }
        }
    }
    // The comparison is only fair on lines both parsers accept: captured
    // lines that one of them refuses (smtplib's duplicate `size=24 SIZE=24`,
    // which we refuse; whatever the peer refuses) stay out of the mix.
    let opts = command_options();
    lines.retain(|l| {
        let ours = Command::parse(l, &opts).is_ok();
        let mut it = l.iter();
        let peer = peer::Request::parse(&mut it).is_ok() && it.as_slice().is_empty();
        ours && peer
    });
    if lines.is_empty() {
        lines = COMMAND_MIX.iter().map(|l| l.as_bytes().to_vec()).collect();
    }
    lines
}

/// Files of `corpus/captured/<sub>/*.txt`, sorted by name (empty when the
/// directory is missing).
fn captured_files(sub: &str) -> Vec<Vec<u8>> {
    let dir = format!("{}/../corpus/captured/{sub}", env!("CARGO_MANIFEST_DIR"));
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<_> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    paths
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .filter_map(|p| std::fs::read(p).ok())
        .collect()
}

/// Real traffic: every command line of `corpus/captured/commands/` (whole
/// loopback sessions of swaks, curl, smtplib and aiosmtplib against
/// Postfix, smtp-sink and aiosmtpd, in the order sent), kept only when both
/// parsers accept it (as in [`command_mix`]). Each line ends with CRLF.
pub fn captured_commands() -> Vec<Vec<u8>> {
    let opts = command_options();
    let mut lines = Vec::new();
    for f in captured_files("commands") {
        for l in f.split_inclusive(|&b| b == b'\n') {
            let ours = Command::parse(l, &opts).is_ok();
            let mut it = l.iter();
            let peer = peer::Request::parse(&mut it).is_ok() && it.as_slice().is_empty();
            if ours && peer {
                lines.push(l.to_vec());
            }
        }
    }
    lines
}

/// [`captured_commands`] as one pipelined stream.
pub fn captured_command_stream() -> Vec<u8> {
    captured_commands().concat()
}

/// Real traffic: every reply of `corpus/captured/replies/` (each file is
/// one server's side of one session, greeting first) as one stream.
/// EHLO replies are in it too, as a client reads them.
pub fn captured_replies() -> Vec<u8> {
    captured_files("replies").concat()
}

/// Real traffic: the EHLO replies of `corpus/captured/ehlo/` (Postfix
/// smtpd, smtp-sink, aiosmtpd) as one stream.
pub fn captured_ehlo() -> Vec<u8> {
    captured_files("ehlo").concat()
}

/// The mix as one pipelined stream.
pub fn command_stream() -> Vec<u8> {
    command_mix().concat()
}

/// Options for our parser in the benches: every extension on, RFC limits,
/// an SMTPUTF8 transaction.
pub fn command_options() -> CommandOptions {
    let mut o = CommandOptions::new();
    // RCPT, VRFY and EXPN as in a transaction whose MAIL carried SMTPUTF8
    // (the captured mix holds UTF-8 recipients).
    o.utf8_transaction = true;
    o
}

/// Ours: frames each line of `stream` (up to its LF) and parses it with
/// [`Command::parse`]. Returns (commands, checksum).
#[inline]
pub fn ours_commands(stream: &[u8], opts: &CommandOptions) -> (usize, usize) {
    let mut n = 0;
    let mut sum = 0;
    let mut rest = stream;
    while let Some(i) = memchr::memchr(b'\n', rest) {
        let (line, tail) = rest.split_at(i + 1);
        rest = tail;
        match Command::parse(line, opts) {
            Ok(c) => {
                n += 1;
                sum += checksum_ours(&c);
            }
            Err(e) => panic!("ours rejects {:?}: {e:?}", String::from_utf8_lossy(line)),
        }
    }
    (n, sum)
}

fn checksum_ours(c: &Command<'_>) -> usize {
    match c {
        Command::Mail {
            from: smtp_sansio::ReversePath::Mailbox(m),
            ..
        }
        | Command::Rcpt {
            to: smtp_sansio::ForwardPath::Mailbox(m),
            ..
        } => m.local.as_bytes().len() + m.domain.as_bytes().len() + 1,
        Command::Ehlo { domain } => domain.as_bytes().len(),
        Command::Bdat { size, .. } => *size as usize,
        _ => c.verb().len(),
    }
}

/// The peer: `Request::parse` over an iterator of the whole stream, one
/// command per call. Returns (commands, checksum).
#[inline]
pub fn peer_commands(stream: &[u8]) -> (usize, usize) {
    let mut n = 0;
    let mut sum = 0;
    let mut it: Iter<'_, u8> = stream.iter();
    while !it.as_slice().is_empty() {
        let before = it.as_slice();
        match peer::Request::parse(&mut it) {
            Ok(r) => {
                n += 1;
                sum += checksum_peer(&r);
            }
            Err(e) => {
                let line = &before[..before.len() - it.as_slice().len()];
                panic!("peer rejects {:?}: {e:?}", String::from_utf8_lossy(line))
            }
        }
    }
    (n, sum)
}

fn checksum_peer(r: &peer::Request<std::borrow::Cow<'_, str>>) -> usize {
    match r {
        peer::Request::Mail { from } => from.address.len(),
        peer::Request::Rcpt { to } => to.address.len() + 1,
        peer::Request::Ehlo { host } => host.len(),
        peer::Request::Bdat { chunk_size, .. } => *chunk_size,
        _ => r.name().len(),
    }
}

/// Ours, incremental: the stream fed to one [`InputBuffer`] in chunks of
/// `chunk` bytes; each framed line parsed with [`Command::parse_line`].
#[inline]
pub fn ours_commands_chunked(
    stream: &[u8],
    chunk: usize,
    buf: &mut InputBuffer,
    opts: &CommandOptions,
) -> usize {
    let limit = opts.limits.auth_line;
    let mut n = 0;
    for part in stream.chunks(chunk) {
        buf.receive(part);
        loop {
            match buf.next_line(limit, opts.line_ending) {
                LineStatus::Line(r) => match Command::parse_line(buf.get(r), opts) {
                    Ok(c) => n += checksum_ours(&c) & 1 | 1,
                    Err(e) => panic!("ours rejects a line: {e:?}"),
                },
                LineStatus::Pending => break,
                other => panic!("framer: {other:?}"),
            }
        }
    }
    n
}

/// The peer, incremental: its `RequestReceiver` fed in chunks of `chunk`.
#[inline]
pub fn peer_commands_chunked(stream: &[u8], chunk: usize) -> usize {
    let mut rx = peer::request::receiver::RequestReceiver::default();
    let mut n = 0;
    for part in stream.chunks(chunk) {
        let mut it = part.iter();
        loop {
            match rx.ingest(&mut it) {
                Ok(r) => n += checksum_peer(&r) & 1 | 1,
                Err(peer::Error::NeedsMoreData { .. }) => break,
                Err(e) => panic!("peer rejects a line: {e:?}"),
            }
        }
    }
    n
}

// ---------------------------------------------------------------------------
// Replies.

/// Replies a client reads in a session (Postfix-, Gmail- and Exim-like),
/// including multi-line ones; enhanced status codes where servers send them.
pub const REPLY_MIX: &[&str] = &[
    "220 mx.example.com ESMTP Postfix (Debian/GNU)\r\n",
    "220 2.0.0 Ready to start TLS\r\n",
    "250 2.1.0 Ok\r\n",
    "250 2.1.5 Ok\r\n",
    "250 2.1.5 Ok\r\n",
    "354 End data with <CR><LF>.<CR><LF>\r\n",
    "250 2.0.0 Ok: queued as 4F2B81C0E2A\r\n",
    "235 2.7.0 Authentication successful\r\n",
    "550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown in local recipient table\r\n",
    "451-4.7.1 Greylisted, see https://postgrey.example.com/help/example.org\r\n451-4.7.1 please retry in 300 seconds\r\n451 4.7.1 Service unavailable\r\n",
    "250 2.0.0 OK  1700000000 a1b2c3d4e5f6g7h8.123 - gsmtp\r\n",
    "221 2.0.0 Bye\r\n",
];

/// Realistic EHLO replies: Postfix, Gmail, Exim, Microsoft-like.
pub const EHLO_REPLIES: &[&str] = &[
    concat!(
        "250-mx.example.com\r\n",
        "250-PIPELINING\r\n",
        "250-SIZE 10240000\r\n",
        "250-VRFY\r\n",
        "250-ETRN\r\n",
        "250-STARTTLS\r\n",
        "250-AUTH PLAIN LOGIN\r\n",
        "250-AUTH=PLAIN LOGIN\r\n",
        "250-ENHANCEDSTATUSCODES\r\n",
        "250-8BITMIME\r\n",
        "250-DSN\r\n",
        "250-SMTPUTF8\r\n",
        "250 CHUNKING\r\n",
    ),
    concat!(
        "250-smtp.gmail.com at your service, [203.0.113.5]\r\n",
        "250-SIZE 35882577\r\n",
        "250-8BITMIME\r\n",
        "250-AUTH LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER XOAUTH\r\n",
        "250-ENHANCEDSTATUSCODES\r\n",
        "250-PIPELINING\r\n",
        "250-CHUNKING\r\n",
        "250 SMTPUTF8\r\n",
    ),
    concat!(
        "250-mail.example.net Hello client.example.org [198.51.100.7]\r\n",
        "250-SIZE 52428800\r\n",
        "250-8BITMIME\r\n",
        "250-PIPELINING\r\n",
        "250-PIPECONNECT\r\n",
        "250-AUTH PLAIN LOGIN CRAM-MD5\r\n",
        "250-CHUNKING\r\n",
        "250-PRDR\r\n",
        "250 HELP\r\n",
    ),
    concat!(
        "250-AM0PR01CA0001.outlook.office365.com Hello [192.0.2.10]\r\n",
        "250-SIZE 157286400\r\n",
        "250-PIPELINING\r\n",
        "250-DSN\r\n",
        "250-ENHANCEDSTATUSCODES\r\n",
        "250-STARTTLS\r\n",
        "250-8BITMIME\r\n",
        "250-BINARYMIME\r\n",
        "250-CHUNKING\r\n",
        "250 SMTPUTF8\r\n",
    ),
];

/// Ours: [`Reply::parse`] over the stream. Returns (replies, checksum).
#[inline]
pub fn ours_replies(stream: &[u8], limits: &Limits) -> (usize, usize) {
    let mut n = 0;
    let mut sum = 0;
    let mut rest = stream;
    while !rest.is_empty() {
        match Reply::parse(rest, limits) {
            Ok((r, used)) => {
                n += 1;
                sum += r.code().get() as usize + r.line_count();
                rest = &rest[used..];
            }
            Err(e) => panic!("ours rejects a reply: {e:?}"),
        }
    }
    (n, sum)
}

/// The peer: `ResponseReceiver::parse` over an iterator of the stream.
#[inline]
pub fn peer_replies(stream: &[u8]) -> (usize, usize) {
    let mut n = 0;
    let mut sum = 0;
    let mut it = stream.iter();
    let mut rx = peer::response::parser::ResponseReceiver::default();
    while !it.as_slice().is_empty() {
        match rx.parse(&mut it) {
            Ok(r) => {
                n += 1;
                sum += r.code as usize + r.message.len();
                rx.reset();
            }
            Err(e) => panic!("peer rejects a reply: {e:?}"),
        }
    }
    (n, sum)
}

/// Ours: [`EhloReply::parse`] (framing, capabilities, summary).
#[inline]
pub fn ours_ehlo(stream: &[u8], limits: &Limits) -> (usize, usize) {
    let mut n = 0;
    let mut sum = 0;
    let mut rest = stream;
    while !rest.is_empty() {
        match EhloReply::parse(rest, limits) {
            Ok((e, used)) => {
                n += 1;
                sum += e.extensions().bits() as usize + e.size().unwrap_or(0) as usize;
                rest = &rest[used..];
            }
            Err(e) => panic!("ours rejects an EHLO reply: {e:?}"),
        }
    }
    (n, sum)
}

/// The peer: `EhloResponse::parse`.
#[inline]
pub fn peer_ehlo(stream: &[u8]) -> (usize, usize) {
    let mut n = 0;
    let mut sum = 0;
    let mut it = stream.iter();
    while !it.as_slice().is_empty() {
        match peer::EhloResponse::<String>::parse(&mut it) {
            Ok(e) => {
                n += 1;
                sum += e.capabilities as usize + e.size;
            }
            Err(e) => panic!("peer rejects an EHLO reply: {e:?}"),
        }
    }
    (n, sum)
}

// ---------------------------------------------------------------------------
// Message content.

/// A tiny deterministic generator (xorshift), so inputs never change.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const WORDS: &[&str] = &[
    "the",
    "of",
    "and",
    "message",
    "server",
    "delivery",
    "protocol",
    "mail",
    "relay",
    "a",
    "to",
    "is",
    "in",
    "that",
    "for",
    "transfer",
    "simple",
    "example",
    "network",
    "data",
    "line",
    "content",
    "header",
    "body",
    "recipient",
    "sender",
    "queue",
    "report",
    "status",
    "with",
];

/// A realistic message body (unstuffed, CRLF line endings) of about
/// `size` bytes: a header block, then text lines of up to 78 characters,
/// with a line starting with a dot every ~200 lines and a blank line every
/// ~12 lines.
pub fn realistic_body(size: usize) -> Vec<u8> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut out = Vec::with_capacity(size + 128);
    for h in [
        "Return-Path: <john.doe@example.com>",
        "Received: from client.example.org (client.example.org [198.51.100.7])",
        "\tby mx.example.com (Postfix) with ESMTPS id 4F2B81C0E2A",
        "\tfor <alice@example.org>; Tue,  1 Dec 2026 10:00:00 +0000 (UTC)",
        "From: John Doe <john.doe@example.com>",
        "To: Alice <alice@example.org>, Bob <bob.smith@mail.example.net>",
        "Subject: Quarterly report and delivery statistics",
        "Date: Tue, 1 Dec 2026 10:00:00 +0000",
        "Message-ID: <20261201100000.4F2B81C0E2A@example.com>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=us-ascii",
        "Content-Transfer-Encoding: 7bit",
        "",
    ] {
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    let mut line_no = 0u64;
    while out.len() < size {
        line_no += 1;
        if line_no % 12 == 0 {
            out.extend_from_slice(b"\r\n");
            continue;
        }
        let start = out.len();
        if rng.below(200) == 0 {
            out.push(b'.');
        }
        let target = 60 + rng.below(19) as usize;
        loop {
            let w = WORDS[rng.below(WORDS.len() as u64) as usize];
            if out.len() - start + w.len() + 1 > target {
                break;
            }
            if out.len() > start {
                out.push(b' ');
            }
            out.extend_from_slice(w.as_bytes());
        }
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Adversarial body: every line starts with a dot (so every line is
/// dot-stuffed on the wire).
pub fn dotted_body(size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(size + 64);
    let mut i = 0u32;
    while out.len() < size {
        i = i.wrapping_add(1);
        out.extend_from_slice(b".");
        out.extend_from_slice(WORDS[i as usize % WORDS.len()].as_bytes());
        out.extend_from_slice(b" dot-line\r\n");
    }
    out
}

/// Adversarial body: very short lines (0 to 2 characters).
pub fn short_lines_body(size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(size + 8);
    let mut i = 0u32;
    while out.len() < size {
        i = i.wrapping_add(1);
        match i % 3 {
            0 => {}
            1 => out.push(b'x'),
            _ => out.extend_from_slice(b"ab"),
        }
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// The wire form of `body` after a 354: dot-stuffed, then `.` CRLF.
pub fn wire_form(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + body.len() / 32 + 8);
    smtp_sansio::data::encode_all(body, LineEndingPolicy::Reject, &mut out)
        .expect("bodies are CRLF-only");
    out
}

/// The message size limit used with DataDecoder in the benches.
pub fn data_limits() -> Limits {
    Limits {
        message_size: 64 * 1024 * 1024,
        ..Limits::RFC
    }
}

/// Ours, zero copy: [`DataDecoder`] (Reject policy: bare LF/CR checked) over
/// the whole wire form; sums the piece lengths. Returns (content bytes,
/// consumed).
#[inline]
pub fn ours_decode(wire: &[u8], limits: &Limits) -> (usize, usize) {
    let mut dec = DataDecoder::new(LineEndingPolicy::Reject, limits);
    let mut pos = 0;
    let mut total = 0;
    loop {
        let step = dec.decode(&wire[pos..]);
        total += step.piece.len();
        pos += step.consumed;
        if step.done {
            break;
        }
        assert!(
            step.consumed > 0 || !step.piece.is_empty(),
            "decoder stalled"
        );
    }
    assert_eq!(
        dec.outcome(),
        Some(smtp_sansio::data::DataOutcome::Complete)
    );
    (total, pos)
}

/// Ours, copying the content into `out` (as the peer does).
#[inline]
pub fn ours_decode_into(wire: &[u8], limits: &Limits, out: &mut Vec<u8>) -> usize {
    let mut dec = DataDecoder::new(LineEndingPolicy::Reject, limits);
    let mut pos = 0;
    loop {
        let input = &wire[pos..];
        let step = dec.decode(input);
        out.extend_from_slice(step.piece.bytes(input));
        pos += step.consumed;
        if step.done {
            return pos;
        }
    }
}

/// Ours, fed in chunks of `chunk` bytes (content copied into `out`).
#[inline]
pub fn ours_decode_chunked(wire: &[u8], chunk: usize, limits: &Limits, out: &mut Vec<u8>) {
    let mut dec = DataDecoder::new(LineEndingPolicy::Reject, limits);
    for part in wire.chunks(chunk) {
        let mut pos = 0;
        loop {
            let input = &part[pos..];
            let step = dec.decode(input);
            out.extend_from_slice(step.piece.bytes(input));
            pos += step.consumed;
            if step.done {
                return;
            }
            if step.consumed == 0 && step.piece.is_empty() {
                break;
            }
        }
    }
    panic!("no terminator");
}

/// The peer's `DataReceiver` into `out`. It starts as if no CRLF had been
/// seen, so it is fed a CRLF first (the end of the DATA command line) and
/// that CRLF is dropped from its output.
#[inline]
pub fn peer_decode_into(wire: &[u8], out: &mut Vec<u8>) -> bool {
    let mut rx = peer::request::receiver::DataReceiver::new();
    rx.ingest(&mut b"\r\n".iter(), out);
    out.clear();
    let mut it = wire.iter();
    let done = rx.ingest(&mut it, out);
    done && it.as_slice().is_empty()
}

/// Socket-sized reads: what a driver hands the decoder (4 KiB).
pub const READ: usize = 4096;

/// The peer's `DataReceiver` fed in chunks.
#[inline]
pub fn peer_decode_chunked(wire: &[u8], chunk: usize, out: &mut Vec<u8>) -> bool {
    let mut rx = peer::request::receiver::DataReceiver::new();
    rx.ingest(&mut b"\r\n".iter(), out);
    out.clear();
    for part in wire.chunks(chunk) {
        let mut it = part.iter();
        if rx.ingest(&mut it, out) {
            return true;
        }
    }
    false
}

/// Baseline: find every `\r\n.` with `memchr::memmem` (what any DATA reader
/// must at least do). Returns the number found.
#[inline]
pub fn memmem_scan(wire: &[u8], finder: &memchr::memmem::Finder<'_>) -> usize {
    finder.find_iter(wire).count()
}

/// Ours: [`DataEncoder`] over a whole body into `out`.
#[inline]
pub fn ours_encode(body: &[u8], out: &mut Vec<u8>) {
    let mut enc = DataEncoder::new(LineEndingPolicy::Reject);
    enc.encode(body, out).expect("CRLF body");
    enc.finish(out).expect("CRLF body");
}

/// Checks that both decoders give the same content for `wire` (whose
/// unstuffed body is `body`). Panics otherwise.
pub fn check_decoders(body: &[u8], wire: &[u8]) {
    let limits = data_limits();
    let mut a = Vec::new();
    let used = ours_decode_into(wire, &limits, &mut a);
    assert_eq!(used, wire.len());
    assert_eq!(a, body, "ours decodes to the body");
    let mut b = Vec::new();
    assert!(peer_decode_into(wire, &mut b), "peer finds the end");
    assert_eq!(b, body, "peer decodes to the body");
    for chunk in [1, 7, 64] {
        let mut c = Vec::new();
        ours_decode_chunked(wire, chunk, &limits, &mut c);
        assert_eq!(c, body, "ours chunked {chunk}");
    }
}

/// 1 MiB.
pub const MIB: usize = 1 << 20;

// ---------------------------------------------------------------------------
// Server transactions.

use smtp_sansio::server::{Server, ServerEvent};
use smtp_sansio::{PortMode, ServerConfig};

/// What a client sends for one session of `txns` transactions, as the
/// groups it writes before waiting for replies (RFC 2920 pipelining): the
/// greeting wait, EHLO, then per transaction MAIL+RCPT+RCPT+DATA and the
/// content, then QUIT.
pub fn session_groups(txns: usize, body: &[u8]) -> Vec<Vec<u8>> {
    let wire = wire_form(body);
    let mut g = vec![b"EHLO client.example.org\r\n".to_vec()];
    for _ in 0..txns {
        g.push(
            format!(
                "MAIL FROM:<john.doe@example.com> SIZE={} BODY=8BITMIME\r\n\
                 RCPT TO:<alice@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;alice@example.org\r\n\
                 RCPT TO:<bob.smith@mail.example.net>\r\n\
                 DATA\r\n",
                body.len()
            )
            .into_bytes(),
        );
        g.push(wire.clone());
    }
    g.push(b"QUIT\r\n".to_vec());
    g
}

/// Runs one session through a fresh [`Server`] in memory, accepting every
/// decision. Returns (content octets delivered, messages, reply octets).
pub fn run_server_session(
    cfg: &ServerConfig,
    groups: &[Vec<u8>],
    out: &mut Vec<u8>,
) -> (u64, usize) {
    let mut server = Server::new(cfg.clone());
    let mut content = 0u64;
    let mut messages = 0;
    drain(&mut server, &mut content, &mut messages);
    server.transmit(out);
    for g in groups {
        server.receive(g);
        drain(&mut server, &mut content, &mut messages);
        server.transmit(out);
    }
    assert!(server.is_closed(), "session did not end");
    (content, messages)
}

fn drain(server: &mut Server, content: &mut u64, messages: &mut usize) {
    loop {
        let decide = match server.next_event() {
            None => return,
            Some(ServerEvent::MessageData(d)) => {
                *content += d.len() as u64;
                false
            }
            Some(ServerEvent::MessageComplete { .. }) => {
                *messages += 1;
                true
            }
            Some(ServerEvent::Violation(v)) => panic!("violation {v:?}"),
            Some(ServerEvent::MessageAborted(r)) => panic!("aborted {r:?}"),
            Some(ev) => ev.needs_decision(),
        };
        if decide {
            server.accept().expect("a decision was pending");
        }
    }
}

/// The relay configuration of the server benches.
pub fn server_config() -> ServerConfig {
    ServerConfig::new(PortMode::Relay, "mx.example.com").with_tls()
}

// ---------------------------------------------------------------------------
// Client + server pair.

use smtp_sansio::client::{Client, ClientConfig, ClientEvent, Envelope};

/// One relay session between our `Client` and our `Server` in memory
/// (EHLO, STARTTLS with the handshake taken as done, EHLO, then `txns`
/// transactions of `body` to two recipients, QUIT), bytes handed over
/// whole in each direction. Returns the messages the server completed.
pub fn run_pair_session(
    ccfg: &ClientConfig,
    scfg: &ServerConfig,
    txns: usize,
    body: &[u8],
) -> usize {
    let mut client = Client::new(ccfg.clone()).expect("client config");
    let mut server = Server::new(scfg.clone());
    let (mut to_server, mut to_client) = (Vec::new(), Vec::new());
    let (mut queued, mut done, mut closed) = (txns, 0usize, false);
    for _ in 0..10_000 {
        if client.wants_tls() && server.wants_tls() && to_client.is_empty() {
            server.tls_established();
            client.tls_established();
        }
        if !to_server.is_empty() {
            server.receive(&to_server);
            to_server.clear();
        }
        let mut content = 0;
        drain(&mut server, &mut content, &mut done);
        server.transmit(&mut to_client);
        if !to_client.is_empty() {
            client.receive(&to_client);
            to_client.clear();
        }
        while let Some(ev) = client.next_event() {
            match ev {
                ClientEvent::Ready if queued > 0 => {
                    queued -= 1;
                    let env = Envelope::new(
                        "john.doe@example.com",
                        ["alice@example.org", "bob.smith@mail.example.net"],
                    );
                    client.send_mail(env, body.to_vec()).expect("send_mail");
                }
                ClientEvent::Ready => client.quit().expect("quit"),
                ClientEvent::RecipientsPartial { .. } => client.proceed().expect("proceed"),
                ClientEvent::Error(e) => panic!("client error {e:?}"),
                ClientEvent::Closed => closed = true,
                _ => {}
            }
        }
        client.transmit(&mut to_server);
        if closed && to_server.is_empty() {
            break;
        }
    }
    assert!(closed, "client did not close");
    done
}

/// The relay configurations of the pair bench.
pub fn pair_configs() -> (ClientConfig, ServerConfig) {
    (
        ClientConfig::new(PortMode::Relay, "client.example.org"),
        server_config(),
    )
}
