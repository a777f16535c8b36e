//! Helpers for the observable trace: escaping bytes as in the transcript
//! format (`corpus/sessions`), and splitting server output into replies.

/// Escapes bytes for a `C:`/`S:` transcript line.
pub fn escape(bytes: &[u8]) -> String {
    let mut s = String::new();
    for &b in bytes {
        match b {
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02X}")),
        }
    }
    s
}

/// One reply as the peer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyUnit {
    /// The three-digit code (0 if the first line has none).
    pub code: u16,
    /// The lines, without their CRLF.
    pub lines: Vec<Vec<u8>>,
}

impl ReplyUnit {
    /// The enhanced status code of the last line, if any (`x.y.z`).
    pub fn enhanced(&self) -> Option<String> {
        let last = self.lines.last()?;
        let text = last.get(4..)?;
        let word: Vec<u8> = text.iter().take_while(|b| **b != b' ').copied().collect();
        let s = String::from_utf8(word).ok()?;
        let parts: Vec<&str> = s.split('.').collect();
        (parts.len() == 3
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit())))
        .then_some(s)
    }

    /// Whether a line of the reply (after the code) starts with `keyword`.
    pub fn has_keyword(&self, keyword: &str) -> bool {
        self.lines.iter().any(|l| {
            l.get(4..).is_some_and(|t| {
                t.len() >= keyword.len()
                    && t[..keyword.len()].eq_ignore_ascii_case(keyword.as_bytes())
                    && t.get(keyword.len()).is_none_or(|b| *b == b' ')
            })
        })
    }

    /// The `S:` pattern that matches this reply.
    pub fn pattern(&self) -> String {
        let mut p = format!("{:03}", self.code);
        if let Some(e) = self.enhanced() {
            p.push(' ');
            p.push_str(&e);
        }
        p
    }
}

/// Splits server output into replies (a multi-line reply is one unit).
/// A trailing incomplete line is returned as a unit of code 0.
pub fn split_replies(out: &[u8]) -> Vec<ReplyUnit> {
    let mut units = Vec::new();
    let mut cur: Vec<Vec<u8>> = Vec::new();
    let mut rest = out;
    while !rest.is_empty() {
        let (line, next) = match rest.windows(2).position(|w| w == b"\r\n") {
            Some(p) => (&rest[..p], &rest[p + 2..]),
            None => (rest, &rest[rest.len()..]),
        };
        rest = next;
        let more = line.get(3) == Some(&b'-');
        cur.push(line.to_vec());
        if !more {
            units.push(unit(std::mem::take(&mut cur)));
        }
    }
    if !cur.is_empty() {
        units.push(unit(cur));
    }
    units
}

fn unit(lines: Vec<Vec<u8>>) -> ReplyUnit {
    let code = lines
        .first()
        .and_then(|l| l.get(..3))
        .and_then(|c| std::str::from_utf8(c).ok())
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    ReplyUnit { code, lines }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_multiline_and_reads_enhanced() {
        let u = split_replies(b"250-mx\r\n250-AUTH PLAIN\r\n250 SIZE 64\r\n530 5.7.0 Auth\r\n");
        assert_eq!(u.len(), 2);
        assert_eq!(u[0].code, 250);
        assert!(u[0].has_keyword("AUTH"));
        assert!(!u[0].has_keyword("AUT"));
        assert_eq!(u[1].pattern(), "530 5.7.0");
        assert_eq!(escape(b"A\r\n\x01\\"), "A\\r\\n\\x01\\\\");
    }
}
