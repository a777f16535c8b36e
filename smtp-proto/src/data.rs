//! Message content: the DATA decoder (server) and dot-stuffing encoder
//! (client), BDAT chunks (RFC 3030), and a content inspector.
//!
//! # DATA (RFC 5321 4.1.1.4, 4.5.2)
//!
//! [`DataDecoder`] is fed the bytes that follow the 354 reply, in chunks of
//! any size. It removes the transparency dot of every line (the first line
//! included) and ends **only** at `CRLF . CRLF` exactly as received, the 354
//! reply counting as the CRLF before a dot on the first line (so `.\r\n`
//! right away is the empty message). The delivered content includes the
//! CRLF before the terminating dot. Bytes after the terminator are left
//! unconsumed: they are pipelined commands.
//!
//! No bare LF or bare CR ever ends the message, whatever the policy: none of
//! `\n.\n`, `\n.\r\n`, `\r\n.\n`, `\r.\r`, `\r\n.\r`, `\r.\r\n` is a
//! terminator (the SMTP smuggling class, CVE-2023-51764/51765/51766).
//! Under [`LineEndingPolicy::Reject`] (the default) the first bare LF or bare
//! CR stops delivery; the decoder reads on to the real terminator and ends
//! with [`DataOutcome::BareLineEnding`]. Under
//! [`LineEndingPolicy::Normalize`] each bare LF and each bare CR is
//! delivered as CRLF; the line it ends is a line for dot removal, but a
//! lone dot after it is content (`.` followed by a line ending is removed
//! only as part of the real terminator).
//!
//! A NUL octet is content like any other octet: it never affects framing
//! (`\r\n\0.\r\n` and `\r\n.\0\r\n` are content). Whether a message with NUL
//! is acceptable (RFC 5322 forbids it; RFC 3030 BINARYMIME allows it) is the
//! application's decision, helped by [`inspect`].
//!
//! # Zero copy
//!
//! Plain content is handed out as [`Piece::Input`] ranges of the caller's
//! input, found with `memchr2`, many lines per piece; only octets the wire
//! form does not hold (a CR held back across chunks, CRLF for a normalized
//! bare line ending, a dot line) are [`Piece::Static`]. The concatenated
//! pieces, the outcome and the consumed count are the same for every
//! chunking of the input.

use alloc::vec::Vec;
use core::fmt;
use core::ops::Range;

use crate::limits::Limits;
use crate::options::LineEndingPolicy;

const CR: u8 = b'\r';
const LF: u8 = b'\n';
const DOT: u8 = b'.';

/// One piece of decoded content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Nothing this time.
    None,
    /// Content octets: this range of the `input` slice passed to the call
    /// that returned it.
    Input(Range<usize>),
    /// Content octets the input slice does not hold as such: a CR held back
    /// from an earlier chunk, CRLF for a normalized bare line ending, or a
    /// dot line.
    Static(&'static [u8]),
}

impl Piece {
    /// The content octets of this piece, given the input of its call.
    #[inline]
    pub fn bytes<'a>(&self, input: &'a [u8]) -> &'a [u8] {
        match self {
            Piece::None => &[],
            Piece::Input(r) => input.get(r.clone()).unwrap_or(&[]),
            Piece::Static(s) => s,
        }
    }

    /// Number of content octets.
    #[inline]
    pub fn len(&self) -> usize {
        match self {
            Piece::None => 0,
            Piece::Input(r) => r.len(),
            Piece::Static(s) => s.len(),
        }
    }

    /// Whether the piece holds no octet.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What one decode call did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataStep {
    /// Input octets consumed by this call (the caller drops them).
    pub consumed: usize,
    /// At most one piece of content.
    pub piece: Piece,
    /// The content (DATA) or the chunk (BDAT) is complete; see the
    /// decoder's `outcome`. Never set together with a piece.
    pub done: bool,
}

impl DataStep {
    const fn need_more(consumed: usize) -> Self {
        DataStep {
            consumed,
            piece: Piece::None,
            done: false,
        }
    }
}

/// How received content ended. A server answers (RFC 5321 4.2.2, RFC 3463):
/// see [`DataOutcome::reply_code`].
///
/// When more than one failure applies, the outcome is the one that occurs
/// first in the content stream (the content as delivered without limits, a
/// bare line ending standing for the CRLF it would be normalized to): the
/// size limit at octet `message_size`, the text-line limit at the first
/// octet of a line past it, a bare line ending where it occurs. On a tie:
/// `BareLineEnding`, then `LineTooLong`, then `TooBig`. Delivery stops at
/// that point, so the outcome, like the delivered content, is the same for
/// every chunking of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DataOutcome {
    /// All content was delivered (250).
    Complete,
    /// A bare LF or bare CR under [`LineEndingPolicy::Reject`] (RFC 5321
    /// 2.3.8); nothing after it was delivered.
    BareLineEnding,
    /// More than `Limits::message_size` octets (RFC 1870 6.3, RFC 5321
    /// 4.5.3.1.10); exactly `message_size` octets were delivered.
    TooBig,
    /// A text line longer than `Limits::text_line` while
    /// `Limits::enforce_text_line` is set (RFC 5321 4.5.3.1.6); delivery
    /// stopped after the octets of that line within the limit.
    LineTooLong,
}

impl DataOutcome {
    /// Short stable identifier, e.g. `bare_line_ending`.
    pub const fn kind(self) -> &'static str {
        match self {
            DataOutcome::Complete => "complete",
            DataOutcome::BareLineEnding => "bare_line_ending",
            DataOutcome::TooBig => "too_big",
            DataOutcome::LineTooLong => "line_too_long",
        }
    }

    /// Reply code and enhanced status code a server answers with
    /// (RFC 5321 4.2.2/4.3.2, RFC 3463 3.3, 3.4, 3.6).
    pub const fn reply_code(self) -> (u16, [u16; 3]) {
        match self {
            DataOutcome::Complete => (250, [2, 0, 0]),
            DataOutcome::BareLineEnding => (550, [5, 6, 0]),
            DataOutcome::TooBig => (552, [5, 3, 4]),
            DataOutcome::LineTooLong => (550, [5, 6, 0]),
        }
    }
}

impl fmt::Display for DataOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind())
    }
}

/// Decoder position between calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum St {
    /// At the start of a line; `real` when the previous line ended with a
    /// CRLF as received (or at the very start: the 354 counts as one).
    LineStart { real: bool },
    /// A dot at the start of a line was consumed and is held back.
    Dot { real: bool },
    /// A dot and a CR at the start of a line were consumed.
    DotCr { real: bool },
    /// Inside a line.
    Mid,
    /// Inside a line, a CR was consumed and is held back.
    Cr,
    /// The terminator was consumed.
    Done,
}

/// Streaming DATA content decoder for a server (RFC 5321 4.1.1.4, 4.5.2).
/// See the module documentation.
#[derive(Debug, Clone)]
pub struct DataDecoder {
    st: St,
    policy: LineEndingPolicy,
    /// First violation in the content stream (see [`DataOutcome`]): pieces
    /// stop from then on. The detectors meet violations in stream order,
    /// save the one case `admit` handles.
    failed: Option<DataOutcome>,
    max_size: u64,
    size: u64,
    /// Longest line content (text_line minus CRLF) when enforced.
    max_line: Option<u64>,
    /// Content octets of the current line delivered or scanned so far.
    line_len: u64,
    /// Finds `CRLF .` (a dot line or the terminator) at memory speed.
    finder: memchr::memmem::Finder<'static>,
    /// Octets left to scan line by line after the fast path met a bare CR
    /// or LF (keeps mixed content linear).
    slow_left: usize,
}

impl DataDecoder {
    /// A decoder for one message: `limits.message_size` (RFC 1870) and, when
    /// `limits.enforce_text_line` is set, `limits.text_line` (RFC 5321
    /// 4.5.3.1.6) apply.
    pub fn new(policy: LineEndingPolicy, limits: &Limits) -> Self {
        DataDecoder {
            st: St::LineStart { real: true },
            policy,
            failed: None,
            max_size: limits.message_size,
            size: 0,
            max_line: limits
                .enforce_text_line
                .then(|| limits.text_line.saturating_sub(2) as u64),
            line_len: 0,
            finder: memchr::memmem::Finder::new(b"\r\n."),
            slow_left: 0,
        }
    }

    /// Decodes from `input`, the unconsumed received bytes. Returns how many
    /// of them were consumed and at most one piece of content. Call again
    /// with the rest until it returns `consumed: 0` with no piece and
    /// `done: false` (feed more input) or `done: true` (see
    /// [`DataDecoder::outcome`]; the bytes after the terminator are not
    /// consumed).
    pub fn decode(&mut self, input: &[u8]) -> DataStep {
        let mut i = 0;
        loop {
            if self.st == St::Done {
                return DataStep {
                    consumed: i,
                    piece: Piece::None,
                    done: true,
                };
            }
            if i >= input.len() {
                return DataStep::need_more(i);
            }
            let was_ok = self.failed.is_none();
            let (next, piece) = self.step(input, i);
            i = next;
            if was_ok {
                if let Some(piece) = piece.and_then(|p| self.admit(p)) {
                    return DataStep {
                        consumed: i,
                        piece,
                        done: false,
                    };
                }
            }
        }
    }

    /// `Some` once the terminator was consumed.
    pub fn outcome(&self) -> Option<DataOutcome> {
        (self.st == St::Done).then(|| self.failed.unwrap_or(DataOutcome::Complete))
    }

    /// Content octets delivered so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    fn fail(&mut self, why: DataOutcome) {
        if self.failed.is_none() {
            self.failed = Some(why);
        }
    }

    /// Applies the size limit to a piece about to be delivered, found by a
    /// step that began with no failure.
    fn admit(&mut self, piece: Piece) -> Option<Piece> {
        // When the size limit trips inside this piece, the only failure
        // this same step can have found is the text-line limit at the
        // piece's end (`over_line` cuts there), which lies later: the size
        // limit comes first (see `DataOutcome`).
        let (piece, tripped) = admit_size(piece, &mut self.size, self.max_size);
        if tripped {
            self.failed = Some(DataOutcome::TooBig);
        }
        piece
    }

    /// A bare CR or LF was met (at a line end). Returns the piece for it.
    fn bare(&mut self, dot: bool) -> Option<Piece> {
        self.st = St::LineStart { real: false };
        self.line_len = 0;
        match self.policy {
            LineEndingPolicy::Reject => {
                self.fail(DataOutcome::BareLineEnding);
                None
            }
            LineEndingPolicy::Normalize => {
                if dot {
                    self.dot_line()
                } else {
                    Some(Piece::Static(b"\r\n"))
                }
            }
        }
    }

    /// A line holding a single dot is delivered (not a terminator). Returns
    /// its piece; none when the dot is over the text-line limit (delivery
    /// stops before it, as for any line).
    fn dot_line(&mut self) -> Option<Piece> {
        self.line_len = 0;
        if self.max_line.is_some_and(|m| m < 1) {
            self.fail(DataOutcome::LineTooLong);
            return None;
        }
        Some(Piece::Static(b".\r\n"))
    }

    /// One step from `input[i]` (`i < input.len()`): the new position and
    /// the piece found, if any.
    fn step(&mut self, input: &[u8], i: usize) -> (usize, Option<Piece>) {
        let Some(&b) = input.get(i) else {
            return (i, None);
        };
        match self.st {
            St::Done => (i, None),
            St::LineStart { real } => {
                if b == DOT {
                    self.st = St::Dot { real };
                    (i + 1, None)
                } else {
                    self.st = St::Mid;
                    (i, None)
                }
            }
            St::Dot { real } => match b {
                CR => {
                    self.st = St::DotCr { real };
                    (i + 1, None)
                }
                LF => (i + 1, self.bare(true)),
                _ => {
                    // Transparency: the first dot is removed (RFC 5321 4.5.2).
                    self.st = St::Mid;
                    (i, None)
                }
            },
            St::DotCr { real } => {
                if b == LF {
                    if real {
                        self.st = St::Done;
                        (i + 1, None)
                    } else {
                        self.st = St::LineStart { real: true };
                        (i + 1, self.dot_line())
                    }
                } else {
                    // `.` then a bare CR: never a terminator.
                    (i, self.bare(true))
                }
            }
            St::Cr => {
                if b == LF {
                    self.st = St::LineStart { real: true };
                    self.line_len = 0;
                    (i + 1, Some(Piece::Static(b"\r\n")))
                } else {
                    (i, self.bare(false))
                }
            }
            St::Mid => self.scan(input, i),
        }
    }

    /// Scans plain content from `start` in state `Mid`.
    fn scan(&mut self, input: &[u8], start: usize) -> (usize, Option<Piece>) {
        if self.max_line.is_none() {
            if self.slow_left == 0 {
                if let Some(found) = self.fast(input, start) {
                    return found;
                }
                self.slow_left = FAST_WINDOW;
            }
            let (next, piece) = self.scan_lines(input, start);
            self.slow_left = self.slow_left.saturating_sub(next - start);
            return (next, piece);
        }
        self.scan_lines(input, start)
    }

    /// The fast path. With AVX2, first one pass over a window classifies
    /// every octet pair at once ([`clean_len`]: no bare CR or LF, no
    /// `LF .`); the clean blocks are delivered as they are. Without AVX2,
    /// or when the first block is not clean, finds the next `CRLF .` with `memmem` within a short window
    /// and checks the octets before it for bare CR and LF in bulk. `None`
    /// when that window holds a bare one (the caller then goes line by
    /// line). Gives the same result as [`DataDecoder::scan_lines`].
    fn fast(&mut self, input: &[u8], start: usize) -> Option<(usize, Option<Piece>)> {
        let len = input.len();
        let mut e = len.min(start.saturating_add(FAST_WINDOW));
        let hay = input.get(start..len.min(e + 1))?;
        if let Some(j) = clean_len(hay) {
            if j == hay.len() {
                // No bare CR or LF and no `LF .` in the window nor across
                // its end: what the search below finds without a match.
                let (end, next, st) = window_end(input.get(start..e)?, e, len);
                self.st = st;
                return Some((next, Some(Piece::Input(start..end))));
            }
            if j > 1 {
                // `hay[..j]` holds whole clean blocks; the successor of its
                // last octet was not looked at, so a CR there is held.
                let mut end = start + j;
                self.st = match input.get(end - 1) {
                    Some(&CR) => {
                        end -= 1;
                        St::Mid
                    }
                    // That LF follows a CR: the pair before it is clean.
                    Some(&LF) => St::LineStart { real: true },
                    _ => St::Mid,
                };
                return Some((end, Some(Piece::Input(start..end))));
            }
            // The first block holds a dot line or a bare ending (or an
            // octet pair that only looks like one): find it exactly
            // within a short window.
            e = len.min(start.saturating_add(2 * BLOCK));
        }
        let hay = input.get(start..len.min(e + 1))?;
        if let Some(h) = self.finder.find(hay) {
            let end = start + h + 2;
            if !bare_free(input.get(start..end)?) {
                return None;
            }
            self.st = St::Dot { real: true };
            return Some((end + 1, Some(Piece::Input(start..end))));
        }
        let (end, next, st) = window_end(input.get(start..e)?, e, len);
        if !bare_free(input.get(start..end)?) {
            return None;
        }
        self.st = st;
        Some((next, Some(Piece::Input(start..end))))
    }

    /// Scans plain content from `start` in state `Mid`, line by line.
    fn scan_lines(&mut self, input: &[u8], start: usize) -> (usize, Option<Piece>) {
        let len = input.len();
        let mut pos = start;
        // Start of the current line's octets within this call.
        let mut seg = start;
        loop {
            let hay = input.get(pos..).unwrap_or(&[]);
            let Some(k) = memchr::memchr2(CR, LF, hay) else {
                self.line_len += (len - seg) as u64;
                if let Some(cut) = self.over_line(seg, len) {
                    return (cut, Some(Piece::Input(start..cut)));
                }
                return (len, Some(Piece::Input(start..len)));
            };
            let p = pos + k;
            let b = input.get(p).copied().unwrap_or(LF);
            if b == CR {
                match input.get(p + 1) {
                    None => {
                        // Hold the CR until the next byte shows what it is.
                        self.line_len += (p - seg) as u64;
                        if let Some(cut) = self.over_line(seg, p) {
                            return (cut, Some(Piece::Input(start..cut)));
                        }
                        self.st = St::Cr;
                        return (len, Some(Piece::Input(start..p)));
                    }
                    Some(&LF) => {
                        self.line_len += (p - seg) as u64;
                        if let Some(cut) = self.over_line(seg, p) {
                            return (cut, Some(Piece::Input(start..cut)));
                        }
                        self.line_len = 0;
                        let q = p + 2;
                        match input.get(q) {
                            None => {
                                self.st = St::LineStart { real: true };
                                return (q, Some(Piece::Input(start..q)));
                            }
                            Some(&DOT) => {
                                self.st = St::Dot { real: true };
                                return (q + 1, Some(Piece::Input(start..q)));
                            }
                            Some(_) => {
                                pos = q;
                                seg = q;
                            }
                        }
                    }
                    Some(_) => return self.bare_at(start, seg, p),
                }
            } else {
                return self.bare_at(start, seg, p);
            }
        }
    }

    /// A bare CR or LF at `p` while scanning from `start`.
    fn bare_at(&mut self, start: usize, seg: usize, p: usize) -> (usize, Option<Piece>) {
        self.line_len += (p - seg) as u64;
        if let Some(cut) = self.over_line(seg, p) {
            return (cut, Some(Piece::Input(start..cut)));
        }
        if p > start {
            // Deliver what precedes it; the next call handles it at `p`.
            (p, Some(Piece::Input(start..p)))
        } else {
            (p + 1, self.bare(false))
        }
    }

    /// The current line holds `line_len` octets, the last ones being
    /// `input[seg..end]`. If that is over the text-line limit: fails and
    /// returns where delivery stops (after exactly the limit's octets).
    fn over_line(&mut self, seg: usize, end: usize) -> Option<usize> {
        let max = self.max_line?;
        if self.line_len <= max || self.failed.is_some() {
            return None;
        }
        let part = (end - seg) as u64;
        let before = self.line_len.saturating_sub(part);
        self.fail(DataOutcome::LineTooLong);
        // `max - before < part`, so the cut lies within `seg..end`.
        Some(seg + max.saturating_sub(before).min(part) as usize)
    }
}

/// Octets the fast path examines per call.
const FAST_WINDOW: usize = 16 * 1024;

/// Octets per block of [`clean_len`] and [`bare_free`]: the OR-reduction to
/// one flag and its branch run once per block (64-octet blocks spent ~0.1
/// instruction per octet on them).
const BLOCK: usize = 512;

/// How the fast path's window `region = input[start..e]` (no `CRLF .` in
/// it nor across its end, `len` the input's length) ends: the end of the
/// piece, the next position and the state there.
fn window_end(region: &[u8], e: usize, len: usize) -> (usize, usize, St) {
    if region.last() == Some(&CR) {
        if e == len {
            (e - 1, e, St::Cr)
        } else {
            (e - 1, e - 1, St::Mid)
        }
    } else if e == len && region.ends_with(b"\r\n") {
        (e, e, St::LineStart { real: true })
    } else {
        // A CRLF at `e` (window end) is not followed by a dot: `Mid` is
        // equivalent to the line start there.
        (e, e, St::Mid)
    }
}

/// Whether the octet pair `p`, `n` (in this order) needs a closer look:
/// an LF not after a CR, a CR not before an LF, or a dot right after an
/// LF. Also true for the few pairs of a control octet and another octet
/// whose sum is that of LF and dot (TAB `/`, NUL `8`, ...), which the
/// exact path then reads as content. Branch-free, in operations that
/// vectorize (compares, a saturating add).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn flagged(p: u8, n: u8) -> bool {
    ((n == LF) ^ (p == CR)) | (p.saturating_add(n) == LF + DOT)
}

/// One pass over `r`, read in state `Mid` (the octet before it is not a
/// pending CR, `r` does not start a line with a dot), when the CPU has AVX2
/// (chosen at run time): the length `j` of its prefix that starts with no
/// LF and in which no octet pair is [`flagged`], counted in whole blocks
/// (`1 + k * BLOCK`), or `r.len()` when there is none; `Some(0)` when `r`
/// starts with an LF. The octet after `r[..j]` was not looked at.
///
/// `None` without AVX2: in 16-octet steps this pass ran 14% more
/// instructions than `memmem` plus [`bare_free`] (benches/README.md), so
/// the caller goes that way.
#[cfg(target_arch = "x86_64")]
fn clean_len(r: &[u8]) -> Option<usize> {
    let simd = pulp::x86::V3::try_new()?;
    let (Some((&first, next)), Some((_, prev))) = (r.split_first(), r.split_last()) else {
        return Some(r.len());
    };
    if first == LF {
        return Some(0);
    }
    Some(simd.vectorize(
        #[inline(always)]
        || clean_pairs(next, prev),
    ))
}

/// See the `x86_64` version: elsewhere `memmem` and [`bare_free`] do it.
#[cfg(not(target_arch = "x86_64"))]
fn clean_len(_: &[u8]) -> Option<usize> {
    None
}

/// [`clean_len`] of `r` given as its octets after the first (`next`) and
/// before the last (`prev`), in the instruction set it is called in.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn clean_pairs(next: &[u8], prev: &[u8]) -> usize {
    let mut a = next.chunks_exact(BLOCK);
    let mut b = prev.chunks_exact(BLOCK);
    let mut j = 1;
    for (x, y) in (&mut a).zip(&mut b) {
        let mut m = 0u8;
        for (&n, &p) in x.iter().zip(y) {
            m |= flagged(p, n) as u8;
        }
        if m != 0 {
            return j;
        }
        j += BLOCK;
    }
    let mut m = 0u8;
    for (&n, &p) in a.remainder().iter().zip(b.remainder()) {
        m |= flagged(p, n) as u8;
    }
    if m != 0 { j } else { next.len() + 1 }
}

/// Whether `r`, read in state `Mid` (the octet before it is not a pending
/// CR), holds only CRLF line endings: no LF first, no CR last, and every LF
/// right after a CR and every CR right before an LF. Branch-free per octet
/// so that it vectorizes.
fn bare_free(r: &[u8]) -> bool {
    let (Some(&first), Some(&last)) = (r.first(), r.last()) else {
        return true;
    };
    if first == LF || last == CR {
        return false;
    }
    let (_, next) = r.split_first().unwrap_or((&0, &[]));
    let (_, prev) = r.split_last().unwrap_or((&0, &[]));
    #[cfg(target_arch = "x86_64")]
    if let Some(simd) = pulp::x86::V3::try_new() {
        return simd.vectorize(
            #[inline(always)]
            || pairs_clean(next, prev),
        );
    }
    pairs_clean(next, prev)
}

/// Whether no octet pair `prev[i]`, `next[i]` is a bare CR or LF.
#[inline(always)]
fn pairs_clean(next: &[u8], prev: &[u8]) -> bool {
    // Large blocks (see `BLOCK`); a bare ending still stops the scan
    // within a block.
    let mut a = next.chunks_exact(BLOCK);
    let mut b = prev.chunks_exact(BLOCK);
    for (x, y) in (&mut a).zip(&mut b) {
        let mut m = 0u8;
        for (&n, &p) in x.iter().zip(y) {
            m |= ((n == LF) ^ (p == CR)) as u8;
        }
        if m != 0 {
            return false;
        }
    }
    let mut m = 0u8;
    for (&n, &p) in a.remainder().iter().zip(b.remainder()) {
        m |= ((n == LF) ^ (p == CR)) as u8;
    }
    m == 0
}

/// The size limit on one piece about to be delivered (DATA and BDAT):
/// counts what fits into `size`, and returns the part that fits (none if
/// empty) and whether the limit tripped inside the piece.
fn admit_size(piece: Piece, size: &mut u64, max_size: u64) -> (Option<Piece>, bool) {
    let len = piece.len() as u64;
    if len == 0 {
        return (None, false);
    }
    let room = max_size.saturating_sub(*size);
    if len <= room {
        *size += len;
        return (Some(piece), false);
    }
    *size += room;
    // `room < len <= usize::MAX`, so the cast is exact.
    let room = room as usize;
    let cut = match piece {
        _ if room == 0 => None,
        Piece::Input(r) => Some(Piece::Input(r.start..r.start + room)),
        Piece::Static(s) => s.get(..room).map(Piece::Static),
        Piece::None => None,
    };
    (cut, true)
}

/// Decodes DATA content held in one buffer (tests, tools): the content, or
/// the outcome that refused it, and the number of octets up to and
/// including the terminator. `None` when the terminator is missing.
pub fn decode_all(
    input: &[u8],
    policy: LineEndingPolicy,
    limits: &Limits,
) -> Option<(Result<Vec<u8>, DataOutcome>, usize)> {
    let mut dec = DataDecoder::new(policy, limits);
    let mut out = Vec::new();
    let mut at = 0;
    loop {
        let rest = input.get(at..).unwrap_or(&[]);
        let step = dec.decode(rest);
        out.extend_from_slice(step.piece.bytes(rest));
        at += step.consumed;
        if step.done {
            break;
        }
        if step.consumed == 0 && step.piece == Piece::None {
            return None;
        }
    }
    Some(match dec.outcome() {
        Some(DataOutcome::Complete) | None => (Ok(out), at),
        Some(why) => (Err(why), at),
    })
}

/// A client's content could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ContentError {
    /// A bare LF or bare CR under [`LineEndingPolicy::Reject`] (RFC 5321
    /// 2.3.8: a strict server would refuse the message, and a lenient one
    /// might read it differently).
    BareLineEnding,
}

impl fmt::Display for ContentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ContentError::BareLineEnding => "bare CR or LF in message content",
        })
    }
}

impl core::error::Error for ContentError {}

/// Streaming dot-stuffing encoder for a client's DATA content (RFC 5321
/// 4.5.2): a line that starts with a dot gets another one, and
/// [`DataEncoder::finish`] ends the content with `CRLF . CRLF`.
///
/// Bare LF and bare CR in the body follow the policy:
/// [`LineEndingPolicy::Normalize`] writes each as CRLF (exactly as
/// [`DataDecoder`] reads them), [`LineEndingPolicy::Reject`] refuses them
/// with [`ContentError::BareLineEnding`]; the error is sticky, and the
/// octets before the offending one may already be written, so check with
/// [`inspect`] first when the body may hold them. The output is the same for
/// every chunking of the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataEncoder {
    policy: LineEndingPolicy,
    /// The last octet written ended a line (initially: the 354 did).
    line_start: bool,
    /// A CR was read and not written yet.
    held_cr: bool,
    failed: bool,
}

impl DataEncoder {
    /// An encoder for one message.
    pub const fn new(policy: LineEndingPolicy) -> Self {
        DataEncoder {
            policy,
            line_start: true,
            held_cr: false,
            failed: false,
        }
    }

    /// Writes the transparent form of the next part of the body to `out`.
    pub fn encode(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), ContentError> {
        if self.failed {
            return Err(ContentError::BareLineEnding);
        }
        let mut i = 0;
        if self.held_cr {
            let Some(&b) = chunk.first() else {
                return Ok(());
            };
            self.held_cr = false;
            if b == LF {
                out.extend_from_slice(b"\r\n");
                i = 1;
            } else {
                self.bare_ending(out)?;
            }
            self.line_start = true;
        }
        let finder = memchr::memmem::Finder::new(b"\r\n.");
        let mut slow_left = 0usize;
        // `copy` is the start of octets to copy verbatim.
        let mut copy = i;
        let mut pos = i;
        loop {
            if self.line_start {
                if chunk.get(pos) == Some(&DOT) {
                    out.extend_from_slice(chunk.get(copy..pos).unwrap_or(&[]));
                    out.push(DOT);
                    copy = pos;
                }
                if pos < chunk.len() {
                    self.line_start = false;
                }
            }
            // Fast path (as in the decoder): up to the next `CRLF .`, or a
            // window, in bulk when it holds no bare CR or LF.
            if slow_left == 0 && pos < chunk.len() {
                let len = chunk.len();
                let e = len.min(pos.saturating_add(FAST_WINDOW));
                let hay = chunk.get(pos..len.min(e + 1)).unwrap_or(&[]);
                let end = match finder.find(hay) {
                    Some(h) => pos + h + 2,
                    None if chunk.get(e - 1) == Some(&CR) => e - 1,
                    None => e,
                };
                let region = chunk.get(pos..end).unwrap_or(&[]);
                if end > pos && bare_free(region) {
                    pos = end;
                    self.line_start = region.last() == Some(&LF);
                    continue;
                }
                slow_left = FAST_WINDOW;
            }
            let before = pos;
            let hay = chunk.get(pos..).unwrap_or(&[]);
            let Some(k) = memchr::memchr2(CR, LF, hay) else {
                out.extend_from_slice(chunk.get(copy..).unwrap_or(&[]));
                return Ok(());
            };
            let p = pos + k;
            match (chunk.get(p), chunk.get(p + 1)) {
                (Some(&CR), Some(&LF)) => {
                    pos = p + 2;
                    self.line_start = true;
                }
                (Some(&CR), None) => {
                    out.extend_from_slice(chunk.get(copy..p).unwrap_or(&[]));
                    self.held_cr = true;
                    return Ok(());
                }
                _ => {
                    // Bare CR or bare LF at p.
                    out.extend_from_slice(chunk.get(copy..p).unwrap_or(&[]));
                    self.bare_ending(out)?;
                    pos = p + 1;
                    copy = pos;
                    self.line_start = true;
                }
            }
            slow_left = slow_left.saturating_sub(pos - before);
            if pos >= chunk.len() {
                out.extend_from_slice(chunk.get(copy..).unwrap_or(&[]));
                return Ok(());
            }
        }
    }

    fn bare_ending(&mut self, out: &mut Vec<u8>) -> Result<(), ContentError> {
        match self.policy {
            LineEndingPolicy::Normalize => {
                out.extend_from_slice(b"\r\n");
                Ok(())
            }
            LineEndingPolicy::Reject => {
                self.failed = true;
                Err(ContentError::BareLineEnding)
            }
        }
    }

    /// Ends the content: a CRLF if the body did not end with one, then
    /// `.` CRLF (RFC 5321 4.1.1.4). An empty body gives just `.` CRLF. The
    /// encoder is then ready for a new message.
    pub fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), ContentError> {
        if self.failed {
            return Err(ContentError::BareLineEnding);
        }
        if self.held_cr {
            self.held_cr = false;
            self.bare_ending(out)?;
            self.line_start = true;
        }
        if !self.line_start {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b".\r\n");
        *self = DataEncoder::new(self.policy);
        Ok(())
    }
}

/// Dot-stuffs a whole body and terminates it (see [`DataEncoder`]).
pub fn encode_all(
    body: &[u8],
    policy: LineEndingPolicy,
    out: &mut Vec<u8>,
) -> Result<(), ContentError> {
    let mut enc = DataEncoder::new(policy);
    enc.encode(body, out)?;
    enc.finish(out)
}

/// What a client needs to know about a body before choosing how to send it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ContentInfo {
    /// An octet above 127: needs `BODY=8BITMIME` (RFC 6152) or BINARYMIME.
    pub eight_bit: bool,
    /// A NUL octet: only BINARYMIME (RFC 3030) carries it faithfully.
    pub nul: bool,
    /// A bare CR or bare LF (RFC 5321 2.3.8): normalize it or use BINARYMIME.
    pub bare_line_ending: bool,
    /// The longest line, its ending counted as CRLF (RFC 5321 4.5.3.1.6:
    /// over 1000 needs BINARYMIME to be safe).
    pub longest_line: usize,
}

impl ContentInfo {
    /// Whether the body is plain 7-bit text with short CRLF lines and no
    /// NUL (no BODY parameter needed, RFC 5321 2.4).
    pub fn is_7bit_text(&self) -> bool {
        !self.eight_bit && !self.nul && !self.bare_line_ending && self.longest_line <= 1000
    }
}

/// Inspects a body (see [`ContentInfo`]).
pub fn inspect(body: &[u8]) -> ContentInfo {
    let mut info = ContentInfo {
        eight_bit: !body.is_ascii(),
        nul: memchr::memchr(0, body).is_some(),
        ..ContentInfo::default()
    };
    let mut line = 0;
    let mut pos = 0;
    while let Some(k) = memchr::memchr2(CR, LF, body.get(pos..).unwrap_or(&[])) {
        let p = pos + k;
        let crlf = body.get(p) == Some(&CR) && body.get(p + 1) == Some(&LF);
        if !crlf {
            info.bare_line_ending = true;
        }
        info.longest_line = info.longest_line.max(p - line + 2);
        pos = if crlf { p + 2 } else { p + 1 };
        line = pos;
    }
    if line < body.len() {
        info.longest_line = info.longest_line.max(body.len() - line + 2);
    }
    info
}

/// Is `body` non-ASCII (needs `BODY=8BITMIME`, RFC 6152)?
pub fn is_8bit(body: &[u8]) -> bool {
    !body.is_ascii()
}

/// Streaming BDAT content decoder for a server (RFC 3030 2, 4). One decoder
/// lives for a whole message; each BDAT command starts a chunk with
/// [`BdatDecoder::start_chunk`], and [`BdatDecoder::decode`] hands out
/// exactly that many octets, unchanged (no dot removal), across input
/// chunks of any size.
///
/// With a line-ending policy (a 7bit or 8BITMIME body, RFC 3030 3), a bare
/// LF or bare CR is refused or normalized exactly as by [`DataDecoder`],
/// across chunk boundaries: a CR that ends a chunk is held back until the
/// next chunk shows whether an LF follows (a CR that ends the last chunk is
/// bare). Without one (`None`: BODY=BINARYMIME) octets are not examined.
/// The text-line limit is not applied to BDAT content.
///
/// Octets are counted with `u64`; past `Limits::message_size` they are
/// still counted and consumed but no longer delivered, and the outcome is
/// [`DataOutcome::TooBig`]. With a bare line ending as well, the earlier in
/// the content wins, `BareLineEnding` on a tie (as for [`DataOutcome`]),
/// whatever the chunking.
#[derive(Debug, Clone)]
pub struct BdatDecoder {
    policy: Option<LineEndingPolicy>,
    max_size: u64,
    size: u64,
    received: u64,
    remaining: u64,
    last: bool,
    held_cr: bool,
    failed: Option<DataOutcome>,
    finished: bool,
}

impl BdatDecoder {
    /// A decoder for one message; `policy` is `None` for BINARYMIME.
    pub fn new(policy: Option<LineEndingPolicy>, limits: &Limits) -> Self {
        BdatDecoder {
            policy,
            max_size: limits.message_size,
            size: 0,
            received: 0,
            remaining: 0,
            last: false,
            held_cr: false,
            failed: None,
            finished: false,
        }
    }

    /// Starts the chunk of a `BDAT size [LAST]` command (RFC 3030 4).
    pub fn start_chunk(&mut self, size: u64, last: bool) {
        self.remaining = size;
        self.last = last;
    }

    /// Octets of the current chunk not yet consumed.
    pub fn remaining(&self) -> u64 {
        self.remaining
    }

    /// Hands out the current chunk's octets from `input` (the unconsumed
    /// received bytes). `done` once the chunk is complete: the bytes after it
    /// are not consumed. Call until `done`, or until it returns `consumed: 0`
    /// with no piece (feed more input).
    pub fn decode(&mut self, input: &[u8]) -> DataStep {
        let mut i = 0;
        loop {
            let was_ok = self.failed.is_none();
            let piece = if self.remaining == 0 {
                if !self.last {
                    return DataStep {
                        consumed: i,
                        piece: Piece::None,
                        done: true,
                    };
                }
                if self.held_cr {
                    self.held_cr = false;
                    self.bare()
                } else {
                    self.finished = true;
                    return DataStep {
                        consumed: i,
                        piece: Piece::None,
                        done: true,
                    };
                }
            } else if i >= input.len() {
                return DataStep::need_more(i);
            } else {
                let avail =
                    (input.len() - i).min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
                let window = input.get(i..i + avail).unwrap_or(&[]);
                let (used, piece) = self.scan(window, i);
                i += used;
                self.remaining -= used as u64;
                self.received = self.received.saturating_add(used as u64);
                piece
            };
            if was_ok {
                if let Some(piece) = piece.and_then(|p| self.admit(p)) {
                    return DataStep {
                        consumed: i,
                        piece,
                        done: false,
                    };
                }
            }
        }
    }

    /// Scans `window` (the chunk's octets available, at `base` in the
    /// caller's input): octets used and the piece.
    fn scan(&mut self, window: &[u8], base: usize) -> (usize, Option<Piece>) {
        if self.policy.is_none() {
            return (window.len(), Some(Piece::Input(base..base + window.len())));
        }
        if self.held_cr {
            self.held_cr = false;
            if window.first() == Some(&LF) {
                return (1, Some(Piece::Static(b"\r\n")));
            }
            return (0, self.bare());
        }
        let mut pos = 0;
        loop {
            let Some(k) = memchr::memchr2(CR, LF, window.get(pos..).unwrap_or(&[])) else {
                return (window.len(), Some(Piece::Input(base..base + window.len())));
            };
            let p = pos + k;
            match (window.get(p), window.get(p + 1)) {
                (Some(&CR), Some(&LF)) => pos = p + 2,
                (Some(&CR), None) => {
                    self.held_cr = true;
                    return (p + 1, Some(Piece::Input(base..base + p)));
                }
                _ if p > 0 => return (p, Some(Piece::Input(base..base + p))),
                _ => return (1, self.bare()),
            }
        }
    }

    fn bare(&mut self) -> Option<Piece> {
        match self.policy {
            Some(LineEndingPolicy::Normalize) => Some(Piece::Static(b"\r\n")),
            _ => {
                if self.failed.is_none() {
                    self.failed = Some(DataOutcome::BareLineEnding);
                }
                None
            }
        }
    }

    fn admit(&mut self, piece: Piece) -> Option<Piece> {
        let (piece, tripped) = admit_size(piece, &mut self.size, self.max_size);
        if tripped {
            self.failed = Some(DataOutcome::TooBig);
        }
        piece
    }

    /// The first failure so far, if any (a server may refuse the rest of
    /// the message early, RFC 3030 2).
    pub fn failure(&self) -> Option<DataOutcome> {
        self.failed
    }

    /// `Some` once the LAST chunk is complete.
    pub fn outcome(&self) -> Option<DataOutcome> {
        self.finished
            .then(|| self.failed.unwrap_or(DataOutcome::Complete))
    }

    /// Content octets delivered so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Chunk octets received so far (delivered or not), saturating.
    pub fn received(&self) -> u64 {
        self.received
    }
}

/// The command line that announces a BDAT chunk, `BDAT n[ LAST]` CRLF
/// (RFC 3030 4), without allocation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct BdatHeader {
    buf: [u8; 32],
    len: usize,
}

impl BdatHeader {
    /// The header for a chunk of `size` octets.
    pub fn new(size: u64, last: bool) -> Self {
        let mut buf = [0u8; 32];
        let mut len = 0;
        let mut put = |bytes: &[u8]| {
            for &b in bytes {
                if let Some(slot) = buf.get_mut(len) {
                    *slot = b;
                    len += 1;
                }
            }
        };
        put(b"BDAT ");
        let mut digits = [0u8; 20];
        let mut n = size;
        let mut d = digits.len();
        loop {
            d -= 1;
            if let Some(slot) = digits.get_mut(d) {
                *slot = b'0' + (n % 10) as u8;
            }
            n /= 10;
            if n == 0 || d == 0 {
                break;
            }
        }
        put(digits.get(d..).unwrap_or(&[]));
        if last {
            put(b" LAST");
        }
        put(b"\r\n");
        BdatHeader { buf, len }
    }

    /// The command line, CRLF included.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }
}

impl fmt::Debug for BdatHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("BdatHeader")
            .field(&core::str::from_utf8(self.as_bytes()).unwrap_or(""))
            .finish()
    }
}

/// Splits a body into BDAT chunks of at most `chunk_size` octets (RFC 3030
/// 2; 0 means one chunk). The last carries LAST; an empty body gives one
/// `BDAT 0 LAST`. BDAT content is sent as is: no dot-stuffing.
pub fn bdat_chunks(body: &[u8], chunk_size: usize) -> BdatChunks<'_> {
    BdatChunks {
        rest: body,
        chunk_size: if chunk_size == 0 {
            usize::MAX
        } else {
            chunk_size
        },
        done: false,
    }
}

/// Iterator of [`bdat_chunks`]: `(header, chunk)` pairs.
#[derive(Debug, Clone)]
pub struct BdatChunks<'a> {
    rest: &'a [u8],
    chunk_size: usize,
    done: bool,
}

impl<'a> Iterator for BdatChunks<'a> {
    type Item = (BdatHeader, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let n = self.rest.len().min(self.chunk_size);
        let (chunk, rest) = self.rest.split_at(n);
        self.rest = rest;
        let last = rest.is_empty();
        self.done = last;
        Some((BdatHeader::new(n as u64, last), chunk))
    }
}

/// Writes one BDAT command and its chunk to `out` (RFC 3030 4).
pub fn write_bdat(out: &mut Vec<u8>, chunk: &[u8], last: bool) {
    out.extend_from_slice(BdatHeader::new(chunk.len() as u64, last).as_bytes());
    out.extend_from_slice(chunk);
}
