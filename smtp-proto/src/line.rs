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

/// How a [`LineFramer`] reads a bare CR or a bare LF (RFC 5321 2.3.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endings {
    /// [`LineEndingPolicy::Reject`]: only CRLF ends a line; a line holding
    /// a bare CR or LF is reported whole ([`Framed::Bare`]) once its CRLF
    /// arrives.
    Reject,
    /// [`LineEndingPolicy::Normalize`]: a bare CR and a bare LF each end a
    /// line, like CRLF.
    Normalize,
    /// Replies (RFC 5321 4.2, 2.3.8): the first bare CR or LF is reported
    /// at once ([`Framed::Bare`] at that octet); the line is not consumed.
    Strict,
}

impl From<LineEndingPolicy> for Endings {
    #[inline]
    fn from(p: LineEndingPolicy) -> Endings {
        match p {
            LineEndingPolicy::Reject => Endings::Reject,
            LineEndingPolicy::Normalize => Endings::Normalize,
        }
    }
}

/// What [`LineFramer::frame`] found (offsets index the framed buffer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framed {
    /// A complete line: content `start..end`, the next line at `next`.
    Line {
        /// End of the content (its line ending starts here).
        end: usize,
        /// Start of the next line.
        next: usize,
    },
    /// [`Endings::Reject`]: a complete line holding a bare CR or LF (content
    /// `start..end`, next line at `next`). [`Endings::Strict`]: a bare CR or
    /// LF at `end`.
    Bare {
        /// End of the content, or (Strict) the offending octet.
        end: usize,
        /// Start of the next line (Reject).
        next: usize,
    },
    /// The line's content is longer than allowed (RFC 5321 4.5.3.1); no
    /// line ending was found before `resume`, where the unread rest of the
    /// line starts. The framer has not consumed anything: the owner decides
    /// how to skip the rest.
    TooLong {
        /// First octet of the line not yet looked at.
        resume: usize,
    },
    /// No complete line yet.
    Pending,
}

/// The one incremental line framer of the crate (RFC 5321 2.3.8,
/// 4.5.3.1): the server's command lines ([`InputBuffer`]) and the client's
/// reply lines ([`crate::ReplyReader`], [`crate::Reply::parse`]) are
/// framed by it, so one piece of code decides where a line ends and what a
/// bare CR, a bare LF or an overlong line means.
///
/// It is a cursor: it remembers how far the current line was scanned, so
/// each octet is looked at once however the input is split; it never
/// scans more than `max_content + 1` octets of a line (plus the one after
/// a CR), so an overlong line is known as soon as the limit is passed.
/// Buffering (what is kept, what is skipped) stays with its owner.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LineFramer {
    /// Octets before this offset (and at or after the line start) hold no
    /// line ending, except bare ones passed over under `Reject`.
    scanned: usize,
    /// `Reject`: a bare CR or LF was passed over in the current line.
    bare: bool,
}

impl LineFramer {
    /// A framer whose next line starts at `at`.
    #[inline]
    pub(crate) const fn at(at: usize) -> LineFramer {
        LineFramer {
            scanned: at,
            bare: false,
        }
    }

    /// The buffer lost its first `n` octets (its offsets move down).
    #[inline]
    pub(crate) fn shift(&mut self, n: usize) {
        self.scanned = self.scanned.saturating_sub(n);
    }

    /// Frames the line starting at `start` in `buf`. `window` is how many
    /// octets of the line may hold the first octet of its line ending: the
    /// longest content allowed plus one (RFC 5321 4.5.3.1: a `limit` that
    /// counts the CRLF gives `limit - 1`); 0 when not even an empty line
    /// fits. On
    /// [`Framed::Line`] and [`Framed::Bare`] (Reject) the framer moves to
    /// the next line; otherwise the owner repositions it with
    /// [`LineFramer::at`] once it has consumed or skipped what it wants.
    #[inline(always)]
    pub(crate) fn frame(
        &mut self,
        buf: &[u8],
        start: usize,
        window: usize,
        endings: Endings,
    ) -> Framed {
        let end = buf.len();
        // Past this offset a line ending comes too late.
        let window_end = start.saturating_add(window);
        let mut pos = self.scanned.max(start);
        loop {
            let hay = buf.get(pos..end).unwrap_or(&[]);
            // A few new octets (input arriving in small pieces): a plain
            // loop costs less than setting up the vector search (and looks
            // at most 15 octets past the window).
            let found = if hay.len() < 16 {
                hay.iter()
                    .position(|&b| b == CR || b == LF)
                    .filter(|&k| pos + k < window_end)
            } else {
                let room = window_end.saturating_sub(pos).min(hay.len());
                memchr::memchr2(CR, LF, hay.get(..room).unwrap_or(hay))
            };
            let k = match found {
                Some(k) => k,
                None => {
                    if end > start && end >= window_end {
                        self.bare = false;
                        return Framed::TooLong { resume: window_end };
                    }
                    self.scanned = end;
                    return Framed::Pending;
                }
            };
            let p = pos + k;
            let (next, bare) = if buf.get(p) == Some(&LF) {
                (p + 1, true)
            } else {
                match buf.get(p + 1) {
                    // A CR as the last octet: wait for the next one.
                    None => {
                        self.scanned = p;
                        return Framed::Pending;
                    }
                    Some(&LF) => (p + 2, false),
                    Some(_) => (p + 1, true),
                }
            };
            if bare {
                match endings {
                    Endings::Reject => {
                        // Not a line ending (RFC 5321 2.3.8): the line goes
                        // on to its CRLF and is refused as a whole.
                        self.bare = true;
                        pos = p + 1;
                        continue;
                    }
                    Endings::Strict => {
                        self.scanned = p;
                        return Framed::Bare { end: p, next };
                    }
                    Endings::Normalize => {}
                }
            }
            self.scanned = next;
            return if core::mem::take(&mut self.bare) {
                Framed::Bare { end: p, next }
            } else {
                Framed::Line { end: p, next }
            };
        }
    }
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
    /// The framer's cursor in the current line.
    framer: Cell<LineFramer>,
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
            framer: Cell::new(LineFramer::at(0)),
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
        let bytes = if self.skip.get() == Skip::No {
            bytes
        } else {
            bytes.get(self.skip_prefix(bytes)..).unwrap_or(&[])
        };
        if bytes.is_empty() {
            return;
        }
        let start = self.start.get();
        if start > 0 {
            let unconsumed = self.buf.len() - start;
            if start >= unconsumed || self.buf.len() + bytes.len() > self.buf.capacity() {
                self.buf.drain(..start);
                let mut f = self.framer.get();
                f.shift(start);
                self.framer.set(f);
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
        let start = self.start.get();
        let mut framer = self.framer.get();
        let framed = framer.frame(&self.buf, start, limit.saturating_sub(1), policy.into());
        self.framer.set(framer);
        match framed {
            Framed::Line { end, next } => {
                self.start.set(next);
                LineStatus::Line(start..end)
            }
            Framed::Bare { end, next } => {
                self.start.set(next);
                LineStatus::BareLineEnding(start..end)
            }
            Framed::Pending => LineStatus::Pending,
            Framed::TooLong { resume } => self.too_long(resume, policy),
        }
    }

    /// Drops what was buffered of an overlong line and skips its rest, in
    /// the buffer now and in later input (DESIGN 3).
    #[cold]
    #[inline(never)]
    fn too_long(&self, resume: usize, policy: LineEndingPolicy) -> LineStatus {
        self.skip.set(match policy {
            LineEndingPolicy::Reject => Skip::ToCrLf(false),
            LineEndingPolicy::Normalize => Skip::ToLineEnd,
        });
        let rest = self.buf.get(resume..).unwrap_or(&[]);
        let at = resume + self.skip_prefix(rest);
        self.start.set(at);
        self.framer.set(LineFramer::at(at));
        LineStatus::TooLong
    }

    /// Skips the start of `bytes` that belongs to an overlong line being
    /// discarded (up to and including its line ending); returns how many
    /// octets that is and updates the skip state.
    #[inline(never)]
    fn skip_prefix(&self, bytes: &[u8]) -> usize {
        let mut i = 0;
        loop {
            let rest = bytes.get(i..).unwrap_or(&[]);
            match self.skip.get() {
                Skip::No => return i,
                Skip::ToCrLf(after_cr) => {
                    if after_cr && rest.first() == Some(&LF) {
                        i += 1;
                        self.skip.set(Skip::No);
                        continue;
                    }
                    match memchr::memmem::find(rest, b"\r\n") {
                        Some(k) => {
                            i += k + 2;
                            self.skip.set(Skip::No);
                        }
                        None => {
                            if !rest.is_empty() {
                                self.skip.set(Skip::ToCrLf(rest.last() == Some(&CR)));
                            }
                            return bytes.len();
                        }
                    }
                }
                Skip::ToLineEnd => match memchr::memchr2(CR, LF, rest) {
                    Some(k) => {
                        self.skip.set(if rest.get(k) == Some(&CR) {
                            Skip::AfterCr
                        } else {
                            Skip::No
                        });
                        i += k + 1;
                    }
                    None => return bytes.len(),
                },
                Skip::AfterCr => match rest.first() {
                    None => return bytes.len(),
                    Some(&b) => {
                        if b == LF {
                            i += 1;
                        }
                        self.skip.set(Skip::No);
                    }
                },
            }
        }
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
            self.framer.set(LineFramer::at(self.start.get()));
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
        self.framer.set(LineFramer::at(self.buf.len()));
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

#[cfg(test)]
mod framer_tests {
    use super::*;

    fn once(input: &[u8], window: usize, endings: Endings) -> Framed {
        LineFramer::at(0).frame(input, 0, window, endings)
    }

    #[test]
    fn strict_reports_the_first_bare_ending_at_once() {
        assert_eq!(
            once(b"250 a\nb\r\n", 10, Endings::Strict),
            Framed::Bare { end: 5, next: 6 }
        );
        assert_eq!(
            once(b"250 a\rb\r\n", 10, Endings::Strict),
            Framed::Bare { end: 5, next: 6 }
        );
        // Reject passes over both and reports the whole line at its CRLF.
        assert_eq!(
            once(b"250 a\rb\nc\r\nX", 20, Endings::Reject),
            Framed::Bare { end: 9, next: 11 }
        );
        assert_eq!(
            once(b"250 a\nb\r\n", 10, Endings::Normalize),
            Framed::Line { end: 5, next: 6 }
        );
    }

    #[test]
    fn the_window_decides_before_a_late_ending() {
        // Content of 4 fits a window of 5; content of 5 does not, whatever
        // ending (CRLF, bare LF, bare CR) comes after it.
        assert_eq!(
            once(b"abcd\r\n", 5, Endings::Strict),
            Framed::Line { end: 4, next: 6 }
        );
        for input in [
            &b"abcde\r\n"[..],
            b"abcde\n",
            b"abcde\rx",
            b"abcdefghijklmnopqrstuvwxyz\n",
        ] {
            for endings in [Endings::Strict, Endings::Reject, Endings::Normalize] {
                assert_eq!(
                    once(input, 5, endings),
                    Framed::TooLong { resume: 5 },
                    "{input:?} {endings:?}"
                );
            }
        }
        // A CR as the last octet waits; nothing fits a window of 0.
        assert_eq!(once(b"abcd\r", 5, Endings::Strict), Framed::Pending);
        assert_eq!(once(b"", 0, Endings::Reject), Framed::Pending);
        assert_eq!(
            once(b"\r\n", 0, Endings::Reject),
            Framed::TooLong { resume: 0 }
        );
    }

    #[test]
    fn split_input_gives_the_same_frames() {
        let input: &[u8] = b"250-a\r\n250 b\r\nxyz\rq\r\n";
        for endings in [Endings::Strict, Endings::Reject, Endings::Normalize] {
            let mut whole = LineFramer::at(0);
            let want = whole.frame(input, 0, 64, endings);
            for cut in 1..input.len() {
                let mut f = LineFramer::at(0);
                let mut got = Framed::Pending;
                for n in cut..=input.len() {
                    got = f.frame(&input[..n], 0, 64, endings);
                    if got != Framed::Pending {
                        break;
                    }
                }
                assert_eq!(got, want, "cut {cut} {endings:?}");
            }
        }
    }
}
