//! The server's input buffer and its incremental line framer.
//!
//! A server keeps every received byte in one [`InputBuffer`] and pulls
//! command lines ([`InputBuffer::next_line`]), DATA content and BDAT chunks
//! (through [`InputBuffer::peek`] and [`InputBuffer::consume`]) from it.
//!
//! # Line endings (RFC 5321 2.3.8)
//!
//! Under [`LineEndingPolicy::Reject`] only CRLF ends a line. A line that
//! contains a bare LF or a bare CR is reported as
//! [`LineStatus::BareLineEnding`] once its CRLF arrives: a bare LF does not
//! end it, so a command hidden behind one (`NOOP\nMAIL FROM:...\r\n`) is
//! never executed on its own (the SMTP smuggling class).
//!
//! Under [`LineEndingPolicy::Normalize`] a bare LF and a bare CR each count
//! as CRLF: both end the line, and neither is part of the returned content.
//! This is the same reading the DATA decoder ([`crate::data::DataDecoder`])
//! gives them, so a line ending never means one thing in a command and
//! another in content. A CR that is the last buffered byte is held until
//! the next byte shows whether it is half of a CRLF.
//!
//! # Length (RFC 5321 4.5.3.1)
//!
//! A line's length is its content plus two: its ending counts as a CRLF
//! whatever was received. A line longer than the `limit` passed to
//! [`InputBuffer::next_line`] is reported once as [`LineStatus::TooLong`] as
//! soon as that is known, even before its end arrives. Its buffered part is
//! dropped and the rest of it, up to its line ending, is discarded by
//! [`InputBuffer::receive`] without being stored (DESIGN 3: bounded memory).
//!
//! # Cost
//!
//! Every byte is scanned once (with `memchr2`): feeding one byte at a time
//! costs the same order as one large buffer. Consumed space is reclaimed by
//! [`InputBuffer::receive`] when that is amortized O(1) per byte.

use alloc::vec::Vec;
use core::cell::Cell;
use core::ops::Range;

use crate::options::LineEndingPolicy;

const CR: u8 = b'\r';
const LF: u8 = b'\n';

/// What [`InputBuffer::next_line`] found (RFC 5321 2.3.8, 4.5.3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineStatus {
    /// One complete line. The range (for [`InputBuffer::get`]) is the line
    /// content without its line ending; the line and its ending are consumed.
    Line(Range<usize>),
    /// No complete line yet: feed more input.
    Pending,
    /// The current line is longer than the limit (line ending included,
    /// counted as two octets; RFC 5321 4.5.3.1). Reported once; the line is
    /// dropped and its rest skipped without being stored. A server answers
    /// `500 5.5.2` for a command line (RFC 5321 4.5.3.1.4 "500 Line too
    /// long"; RFC 3463 3.6.2 X.5.2 syntax error) and `500 5.5.6` only for a
    /// SASL response line (RFC 4954 4, which registers X.5.6 for an
    /// authentication exchange line that is too long).
    TooLong,
    /// [`LineEndingPolicy::Reject`]: a line containing a bare LF or a bare CR
    /// (RFC 5321 2.3.8). The line is consumed up to and including
    /// its CRLF; the range is its content, for diagnostics.
    BareLineEnding(Range<usize>),
}

/// How the rest of an overlong line is being discarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Skip {
    /// Not skipping.
    No,
    /// Drop bytes up to and including the next CRLF (`Reject`); `true`
    /// when the last dropped byte was a CR.
    ToCrLf(bool),
    /// Drop bytes up to the next CR or LF (`Normalize`): LF ends it, CR moves to `AfterCr`.
    ToLineEnd,
    /// `Normalize`: a CR ended the skipped line; drop one LF if it comes next.
    AfterCr,
}

/// All received, not yet consumed bytes of a connection, with an
/// incremental CRLF framer (RFC 5321 2.3.8, 4.5.3.1).
///
/// Ranges returned by [`InputBuffer::next_line`] index the buffer and stay
/// valid until the next [`InputBuffer::receive`] or [`InputBuffer::clear`].
#[derive(Debug, Clone)]
pub struct InputBuffer {
    buf: Vec<u8>,
    /// Start of the unconsumed bytes (also the start of the current line).
    start: Cell<usize>,
    /// Bytes before this offset (and at or after `start`) have been scanned
    /// for line endings and hold none, except possibly a bare CR (Reject).
    scanned: Cell<usize>,
    /// Reject: a bare CR or bare LF was seen in the current line.
    bare_cr: Cell<bool>,
    skip: Cell<Skip>,
}

impl Default for InputBuffer {
    fn default() -> Self {
        InputBuffer::new()
    }
}

impl InputBuffer {
    /// An empty buffer.
    pub const fn new() -> Self {
        InputBuffer {
            buf: Vec::new(),
            start: Cell::new(0),
            scanned: Cell::new(0),
            bare_cr: Cell::new(false),
            skip: Cell::new(Skip::No),
        }
    }

    /// Appends received bytes.
    ///
    /// Consumed space is reclaimed first when moving the unconsumed bytes
    /// costs no more than what was consumed (or the buffer would otherwise
    /// grow), which keeps the total cost linear. While the rest of an
    /// overlong line is being skipped, the bytes up to and including its line
    /// ending are dropped without being stored. Invalidates earlier ranges.
    pub fn receive(&mut self, bytes: &[u8]) {
        let mut bytes = bytes;
        loop {
            match self.skip.get() {
                Skip::No => break,
                Skip::ToCrLf(after_cr) => {
                    if after_cr && bytes.first() == Some(&LF) {
                        bytes = bytes.get(1..).unwrap_or(&[]);
                        self.skip.set(Skip::No);
                        continue;
                    }
                    match memchr::memmem::find(bytes, b"\r\n") {
                        Some(k) => {
                            bytes = bytes.get(k + 2..).unwrap_or(&[]);
                            self.skip.set(Skip::No);
                        }
                        None => {
                            if !bytes.is_empty() {
                                self.skip.set(Skip::ToCrLf(bytes.last() == Some(&CR)));
                            }
                            return;
                        }
                    }
                }
                Skip::ToLineEnd => match memchr::memchr2(CR, LF, bytes) {
                    Some(k) => {
                        self.skip.set(if bytes.get(k) == Some(&CR) {
                            Skip::AfterCr
                        } else {
                            Skip::No
                        });
                        bytes = bytes.get(k + 1..).unwrap_or(&[]);
                    }
                    None => return,
                },
                Skip::AfterCr => match bytes.first() {
                    None => return,
                    Some(&b) => {
                        if b == LF {
                            bytes = bytes.get(1..).unwrap_or(&[]);
                        }
                        self.skip.set(Skip::No);
                    }
                },
            }
        }
        if bytes.is_empty() {
            return;
        }
        let start = self.start.get();
        if start > 0 {
            let unconsumed = self.buf.len() - start;
            if start >= unconsumed || self.buf.len() + bytes.len() > self.buf.capacity() {
                self.buf.drain(..start);
                self.scanned.set(self.scanned.get() - start);
                self.start.set(0);
            }
        }
        if let [b] = bytes {
            // One octet at a time is common on slow links: no copy call.
            self.buf.push(*b);
        } else {
            self.buf.extend_from_slice(bytes);
        }
    }

    /// Frames the next line (RFC 5321 2.3.8). `limit` is the longest line
    /// accepted, its line ending counted as two octets (RFC 5321 4.5.3.1).
    /// See the module documentation for the line-ending rules.
    pub fn next_line(&mut self, limit: usize, policy: LineEndingPolicy) -> LineStatus {
        self.next_line_shared(limit, policy)
    }

    /// [`InputBuffer::next_line`] through a shared reference: the cursor
    /// lives in cells, so the server machine can frame lines while events
    /// borrow earlier bytes of the buffer (those bytes are not moved until
    /// the next `receive`).
    pub(crate) fn next_line_shared(&self, limit: usize, policy: LineEndingPolicy) -> LineStatus {
        if self.skip.get() != Skip::No {
            return LineStatus::Pending;
        }
        let end = self.buf.len();
        let start = self.start.get();
        let mut pos = self.scanned.get().max(start);
        loop {
            let hay = self.buf.get(pos..end).unwrap_or(&[]);
            // A few new octets (input arriving in small pieces): a plain
            // loop costs less than setting up the vector search.
            let found = if hay.len() < 16 {
                hay.iter().position(|&b| b == CR || b == LF)
            } else {
                memchr::memchr2(CR, LF, hay)
            };
            let Some(k) = found else {
                self.scanned.set(end);
                return self.unterminated(limit, policy, false);
            };
            let p = pos + k;
            let (line_end, next, bare) = if self.buf.get(p) == Some(&LF) {
                if policy == LineEndingPolicy::Reject {
                    // Not a line ending (RFC 5321 2.3.8): the line goes on
                    // to its CRLF and is refused as a whole.
                    self.bare_cr.set(true);
                    pos = p + 1;
                    continue;
                }
                (p, p + 1, true)
            } else {
                match self.buf.get(p + 1) {
                    None => {
                        // A CR as the last byte: wait for the next one.
                        self.scanned.set(p);
                        return self.unterminated(limit, policy, true);
                    }
                    Some(&LF) => (p, p + 2, false),
                    Some(_) => match policy {
                        LineEndingPolicy::Reject => {
                            self.bare_cr.set(true);
                            pos = p + 1;
                            continue;
                        }
                        LineEndingPolicy::Normalize => (p, p + 1, true),
                    },
                }
            };
            let range = start..line_end;
            let bad = self.bare_cr.replace(false) || (bare && policy == LineEndingPolicy::Reject);
            self.start.set(next);
            self.scanned.set(next);
            return if range.len().saturating_add(2) > limit {
                LineStatus::TooLong
            } else if bad {
                LineStatus::BareLineEnding(range)
            } else {
                LineStatus::Line(range)
            };
        }
    }

    /// No line ending among the buffered bytes (`trailing_cr`: except a CR
    /// as the very last byte). Reports `TooLong` when the line cannot fit.
    fn unterminated(
        &self,
        limit: usize,
        policy: LineEndingPolicy,
        trailing_cr: bool,
    ) -> LineStatus {
        let n = self.buf.len() - self.start.get();
        // Shortest total the line can still have, ending counted as CRLF.
        let min_total = if trailing_cr {
            n + 1
        } else {
            n.saturating_add(2)
        };
        if n == 0 || min_total <= limit {
            return LineStatus::Pending;
        }
        self.start.set(self.buf.len());
        self.scanned.set(self.buf.len());
        self.bare_cr.set(false);
        self.skip.set(match (policy, trailing_cr) {
            (LineEndingPolicy::Reject, trailing_cr) => Skip::ToCrLf(trailing_cr),
            (LineEndingPolicy::Normalize, false) => Skip::ToLineEnd,
            (LineEndingPolicy::Normalize, true) => Skip::AfterCr,
        });
        LineStatus::TooLong
    }

    /// The bytes of a range returned by [`InputBuffer::next_line`]; empty if
    /// the range is not within the buffer.
    pub fn get(&self, range: Range<usize>) -> &[u8] {
        self.buf.get(range).unwrap_or(&[])
    }

    /// The unconsumed bytes.
    pub fn peek(&self) -> &[u8] {
        self.buf.get(self.start.get()..).unwrap_or(&[])
    }

    /// Marks `n` unconsumed bytes as consumed (at most [`InputBuffer::len`]).
    /// Never moves data. The line framer starts a new line after them.
    pub fn consume(&mut self, n: usize) {
        self.consume_shared(n)
    }

    /// [`InputBuffer::consume`] through a shared reference (see
    /// [`InputBuffer::next_line_shared`]).
    pub(crate) fn consume_shared(&self, n: usize) {
        let n = n.min(self.len());
        if n > 0 {
            self.start.set(self.start.get() + n);
            self.scanned.set(self.start.get());
            self.bare_cr.set(false);
        }
    }

    /// Number of unconsumed bytes.
    pub fn len(&self) -> usize {
        self.buf.len() - self.start.get()
    }

    /// Whether no unconsumed byte is buffered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the rest of an overlong line is being discarded.
    pub fn is_skipping(&self) -> bool {
        self.skip.get() != Skip::No
    }

    /// Drops every unconsumed byte and leaves skip mode (e.g. at STARTTLS,
    /// RFC 3207 4.2: nothing received before the handshake is executed).
    pub fn clear(&mut self) {
        self.buf.clear();
        self.discard_shared();
    }

    /// Drops every unconsumed byte through a shared reference; the storage
    /// is reclaimed by the next `receive`.
    pub(crate) fn discard_shared(&self) {
        self.start.set(self.buf.len());
        self.scanned.set(self.buf.len());
        self.bare_cr.set(false);
        self.skip.set(Skip::No);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn lines(
        input: &[u8],
        split: usize,
        limit: usize,
        policy: LineEndingPolicy,
    ) -> Vec<Result<Vec<u8>, &'static str>> {
        let mut b = InputBuffer::new();
        let mut out = vec![];
        for chunk in input.chunks(split.max(1)) {
            b.receive(chunk);
            loop {
                match b.next_line(limit, policy) {
                    LineStatus::Line(r) => out.push(Ok(b.get(r).to_vec())),
                    LineStatus::Pending => break,
                    LineStatus::TooLong => out.push(Err("long")),
                    LineStatus::BareLineEnding(_) => out.push(Err("bare")),
                }
            }
        }
        out
    }

    #[test]
    fn basic() {
        let r = lines(b"EHLO x\r\nQUIT\r\n", 100, 512, LineEndingPolicy::Reject);
        assert_eq!(r, vec![Ok(b"EHLO x".to_vec()), Ok(b"QUIT".to_vec())]);
    }

    #[test]
    fn split_invariance() {
        let input: &[u8] =
            b"A\r\nB\nC\rD\r\r\nLONGLONGLONGLONG\r\nE\r\nLONGLONGLONG\nF\rLONGLONGLONGX\rG\r\n\r\n";
        for policy in [LineEndingPolicy::Reject, LineEndingPolicy::Normalize] {
            let whole = lines(input, input.len(), 10, policy);
            for s in 1..input.len() {
                assert_eq!(lines(input, s, 10, policy), whole, "split {s} {policy:?}");
            }
        }
    }
}
