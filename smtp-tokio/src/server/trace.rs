//! Session transcripts in the project's transcript format (`side: server`)
//! and the pairing of replies with the commands they answer, for the
//! `refused VERB: reply` log events (RFC 5321 4.2: one reply per command).

use std::io::{self, Write as _};
use std::path::Path;

use smtp_sansio::PortMode;

use super::handler::Peer;
use super::names::{escape, mode_name};

/// One session streamed to its file as the transcript format: one `C:`
/// line per read, one `S:` pattern per reply (code, enhanced code, and for
/// an EHLO reply whether STARTTLS, AUTH and PIPELINING were offered).
/// Writes through a small buffer, so a trace's memory does not grow with
/// the session; a write error stops the trace, never the session.
pub(crate) struct Trace {
    w: Option<io::BufWriter<std::fs::File>>,
}

impl Trace {
    /// A trace file in `dir`; `proxied`: the listener expects a PROXY
    /// header (`# set: proxy=yes`, the header's reads are the first `C:`
    /// lines).
    pub(crate) fn create(dir: &Path, mode: PortMode, peer: &Peer, proxied: bool) -> Option<Trace> {
        let port = match peer {
            Peer::Tcp(a) => a.port(),
            Peer::Unix => 0,
        };
        let name = format!("{}-{port}.txt", super::names::unique_id());
        let f = std::fs::File::create(dir.join(name)).ok()?;
        let mut t = Trace {
            w: Some(io::BufWriter::with_capacity(8 * 1024, f)),
        };
        let head = format!(
            "# side: server\n# mode: {}\n{}# title: captured from {peer} by smtp-sansio-tokio\n\n",
            mode_name(mode),
            if proxied { "# set: proxy=yes\n" } else { "" }
        );
        t.put(head.as_bytes());
        Some(t)
    }

    fn put(&mut self, bytes: &[u8]) {
        if let Some(w) = &mut self.w {
            if w.write_all(bytes).is_err() {
                self.w = None;
            }
        }
    }

    pub(crate) fn step(&mut self, s: &str) {
        self.put(s.as_bytes());
        self.put(b"\n");
    }

    pub(crate) fn client(&mut self, bytes: &[u8]) {
        let mut line = Vec::with_capacity(bytes.len() + 8);
        line.extend_from_slice(b"C: ");
        for &b in bytes {
            match b {
                b'\r' => line.extend_from_slice(b"\\r"),
                b'\n' => line.extend_from_slice(b"\\n"),
                b'\t' => line.extend_from_slice(b"\\t"),
                b'\\' => line.extend_from_slice(b"\\\\"),
                0x20..=0x7e => line.push(b),
                _ => line.extend_from_slice(format!("\\x{b:02X}").as_bytes()),
            }
        }
        line.push(b'\n');
        self.put(&line);
    }

    pub(crate) fn server(&mut self, bytes: &[u8]) {
        let mut lines: Vec<&[u8]> = Vec::new();
        for line in bytes.split_inclusive(|&b| b == b'\n') {
            lines.push(line);
            if line.get(3) != Some(&b'-') {
                let p = reply_pattern(&lines);
                self.put(format!("S: {p}\n").as_bytes());
                lines.clear();
            }
        }
    }

    pub(crate) fn finish(mut self) {
        self.step("CLOSE");
        if let Some(w) = &mut self.w {
            let _ = w.flush();
        }
    }
}

fn reply_pattern(lines: &[&[u8]]) -> String {
    let Some(last) = lines.last() else {
        return String::new();
    };
    let mut p = String::from_utf8_lossy(&last[..last.len().min(3)]).into_owned();
    let text = last.get(4..).unwrap_or_default();
    let word = text
        .split(|&b| b == b' ' || b == b'\r')
        .next()
        .unwrap_or_default();
    let enh = std::str::from_utf8(word).unwrap_or("");
    let parts: Vec<&str> = enh.split('.').collect();
    if parts.len() == 3
        && parts
            .iter()
            .all(|x| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit()))
    {
        p.push(' ');
        p.push_str(enh);
    }
    if lines.len() > 1 && p.starts_with("250") {
        for kw in ["STARTTLS", "AUTH", "PIPELINING"] {
            let has = lines[1..].iter().any(|l| {
                l.get(4..4 + kw.len())
                    .is_some_and(|t| t.eq_ignore_ascii_case(kw.as_bytes()))
            });
            p.push_str(if has { " +" } else { " -" });
            p.push_str(kw);
        }
    }
    p
}

/// Which command each reply answers: the verbs of the complete command
/// lines the client sent, in order, paired with the replies as they go
/// out. Only known verbs are kept (never an AUTH response line, which may
/// hold a password); content is not scanned (tracking pauses at DATA,
/// BDAT and STARTTLS until their reply, or the message's, went out).
#[derive(Default)]
pub(crate) struct Verbs {
    queue: std::collections::VecDeque<&'static str>,
    partial: Vec<u8>,
    paused: bool,
}

impl Verbs {
    const KNOWN: [&'static str; 17] = [
        "EHLO", "HELO", "LHLO", "MAIL", "RCPT", "DATA", "BDAT", "RSET", "NOOP", "QUIT", "VRFY",
        "EXPN", "HELP", "AUTH", "STARTTLS", "ETRN", "?",
    ];

    pub(crate) fn client(&mut self, mut bytes: &[u8]) {
        while !self.paused && !bytes.is_empty() {
            let (line, rest, complete) = match bytes.iter().position(|&b| b == b'\n') {
                Some(i) => (&bytes[..i], &bytes[i + 1..], true),
                None => (bytes, &[][..], false),
            };
            bytes = rest;
            let room = 8usize.saturating_sub(self.partial.len());
            self.partial
                .extend_from_slice(&line[..line.len().min(room)]);
            if !complete {
                return;
            }
            let word: Vec<u8> = self
                .partial
                .iter()
                .take_while(|b| b.is_ascii_alphabetic())
                .map(u8::to_ascii_uppercase)
                .collect();
            self.partial.clear();
            let verb = Self::KNOWN
                .iter()
                .find(|v| v.as_bytes() == word.as_slice())
                .copied()
                .unwrap_or("?");
            self.queue.push_back(verb);
            if matches!(verb, "DATA" | "BDAT" | "STARTTLS") {
                self.paused = true;
            }
        }
    }

    /// Pairs the final reply lines of `out` with their commands and calls
    /// `refused` for each 4xx/5xx one.
    pub(crate) fn replies(&mut self, out: &[u8], mut refused: impl FnMut(&str, &str)) {
        for line in out.split_inclusive(|&b| b == b'\n') {
            if line.len() < 3 || line.get(3) == Some(&b'-') {
                continue;
            }
            let code = &line[..3];
            let verb = self.queue.pop_front();
            if matches!(verb, Some("DATA" | "BDAT" | "STARTTLS")) && code != b"354" {
                self.resume();
            }
            if matches!(code[0], b'4' | b'5') {
                let text = line.strip_suffix(b"\r\n").unwrap_or(line);
                refused(verb.unwrap_or("-"), &escape(text));
            }
        }
    }

    /// The greeting is still to go out while commands were read (sent
    /// behind a PROXY header): the first reply is the greeting's.
    pub(crate) fn greeting_first(&mut self) {
        self.queue.push_front("-");
    }

    /// A message is over (its reply went out): scan commands again.
    pub(crate) fn resume(&mut self) {
        self.paused = false;
        self.partial.clear();
    }

    /// TLS started: nothing before counts (RFC 3207 4.2).
    pub(crate) fn clear(&mut self) {
        *self = Verbs::default();
    }
}
