//! A streamed 50 MiB body in 64 KiB BDAT chunks to a private Postfix
//! `smtpd` (see `peers/mod.rs`) arrives byte-exact (length, FNV-1a hash and
//! a full comparison), and the client's heap high-water mark stays under
//! 1 MiB: a counting global allocator in this test binary (one test, so
//! nothing else allocates meanwhile) records the live heap's peak above the
//! level at the start of the measurement. The body comes from a generator
//! implementing `AsyncRead` that computes each line when asked, never a
//! 50 MiB buffer. Run with `--nocapture` to see the figures.

mod peers;

use std::alloc::{GlobalAlloc, Layout, System};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use peers::Postfix;
use smtp_sansio::client::{ClientConfig, Envelope, TlsPolicy};
use smtp_sansio::{Extensions, PortMode};
use smtp_sansio_tokio::client::{Outcome, SmtpClient, TlsTrust};
use tokio::io::{AsyncRead, ReadBuf};

// ----- the counting allocator -------------------------------------------------

struct Counting;

/// Live heap octets, and their high-water mark since the last reset.
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(n: usize) {
    let now = LIVE.fetch_add(n, Ordering::Relaxed) + n;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: forwards every call to the system allocator, only counting the
// octets. (Test code: the core crate itself forbids unsafe.)
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Starts a measurement: the peak is reset to the live heap now, which is
/// returned as the baseline.
fn reset_peak() -> usize {
    let now = LIVE.load(Ordering::Relaxed);
    PEAK.store(now, Ordering::Relaxed);
    now
}

fn peak_above(base: usize) -> usize {
    PEAK.load(Ordering::Relaxed).saturating_sub(base)
}

// ----- the body generator -------------------------------------------------------

/// Octets per line (CRLF included).
const LINE: usize = 64;
/// The body's size: 50 MiB, a header line, an empty line, then numbered
/// lines, all of [`LINE`] octets (the header and the empty line together).
const TOTAL: u64 = 50 * 1024 * 1024;

/// Writes line `i` of the body (exactly [`LINE`] octets) into `out`.
fn line(i: u64, out: &mut [u8; LINE]) {
    if i == 0 {
        // "Subject: ..." padded to 62 octets, CRLF, then the empty line
        // ending the header: 64 octets.
        let subject = b"Subject: streamed 50 MiB body in 64 KiB BDAT chunks";
        out.fill(b' ');
        out[..subject.len()].copy_from_slice(subject);
        out[60..].copy_from_slice(b"\r\n\r\n");
        return;
    }
    // "0000000042 " then letters rotating with the line number; every
    // 7th line starts with a dot (dot-stuffing would show under DATA).
    let mut n = i;
    for d in (0..10).rev() {
        out[d] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    if i % 7 == 0 {
        out[0] = b'.';
    }
    out[10] = b' ';
    for (k, b) in out[11..LINE - 2].iter_mut().enumerate() {
        *b = b'a' + ((i as usize + k) % 26) as u8;
    }
    out[LINE - 2..].copy_from_slice(b"\r\n");
}

/// The body as an `AsyncRead`: each line computed when read, nothing
/// buffered but the current line.
struct Generated {
    pos: u64,
    cur: [u8; LINE],
}

impl Generated {
    fn new() -> Self {
        Generated {
            pos: 0,
            cur: [0; LINE],
        }
    }

    /// Fills `buf` from the current position; returns the octets written.
    fn fill(&mut self, buf: &mut [u8]) -> usize {
        let mut n = 0;
        while n < buf.len() && self.pos < TOTAL {
            let li = self.pos / LINE as u64;
            let off = (self.pos % LINE as u64) as usize;
            if off == 0 {
                line(li, &mut self.cur);
            }
            let take = (LINE - off).min(buf.len() - n);
            buf[n..n + take].copy_from_slice(&self.cur[off..off + take]);
            n += take;
            self.pos += take as u64;
        }
        n
    }
}

impl AsyncRead for Generated {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let n = self.fill(buf.initialize_unfilled());
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

/// FNV-1a, 64 bits: a hash for the report (the test also compares every
/// octet).
fn fnv1a(h: &mut u64, bytes: &[u8]) {
    for &b in bytes {
        *h ^= u64::from(b);
        *h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
}
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

#[test]
fn streamed_50_mib_to_postfix_in_64_kib_bdat_chunks_under_1_mib() {
    let pf = Postfix::start("");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let chunk = 64 * 1024;
    let (session_peak, send_peak, report, extensions) = rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(120), async {
            let mut cfg = ClientConfig::new(PortMode::Relay, "client.example.org")
                .with_tls_policy(TlsPolicy::Opportunistic)
                .expect("policy");
            cfg.chunk_size = chunk;
            let session_base = reset_peak();
            let mut c = SmtpClient::connect(pf.addr, "localhost", cfg, TlsTrust::DangerAcceptAny)
                .await
                .expect("connect");
            assert!(c.machine().is_tls(), "STARTTLS offered, must be used");
            let extensions = c
                .machine()
                .capabilities()
                .map(|caps| caps.extensions)
                .unwrap_or_default();
            let env = Envelope::new("alice@example.org", ["bob@example.net"]);
            let send_base = reset_peak();
            let report = c.send(env, Generated::new()).await.expect("send");
            let send_peak = peak_above(send_base);
            c.quit().await.expect("quit");
            (peak_above(session_base), send_peak, report, extensions)
        })
        .await
        .expect("the 50 MiB send took over 120 s")
    });
    assert!(extensions.contains(Extensions::CHUNKING));
    assert!(
        matches!(report.outcome, Outcome::Delivered(_)),
        "{report:?}"
    );

    // Byte-exact: length, hash and every octet.
    let files = pf.held(1);
    let got = pf.message(&files[0]);
    let mut want = vec![0u8; TOTAL as usize];
    assert_eq!(Generated::new().fill(&mut want), TOTAL as usize);
    let (mut h_got, mut h_want) = (FNV_OFFSET, FNV_OFFSET);
    fnv1a(&mut h_got, &got);
    fnv1a(&mut h_want, &want);
    eprintln!(
        "50 MiB via BDAT {chunk}: sent {} octets (fnv1a {h_want:016x}), postfix holds {} (fnv1a {h_got:016x}); \
         client heap peak above baseline: {session_peak} octets for the session (connect, STARTTLS, send, QUIT), \
         {send_peak} octets during send",
        want.len(),
        got.len()
    );
    assert_eq!(got.len(), want.len(), "length differs");
    assert_eq!(h_got, h_want, "hash differs");
    if let Some(at) = got.iter().zip(&want).position(|(a, b)| a != b) {
        panic!("first difference at octet {at}");
    }
    // Postfix's log: one BDAT per full 64 KiB chunk, then the LAST one
    // (here `BDAT 0 LAST`: 50 MiB is a whole number of chunks, and the end
    // of the body is known only when the reader returns 0; RFC 3030 2).
    let line = pf.session_line();
    let chunks = TOTAL as usize / chunk + 1;
    assert!(line.contains(&format!("bdat={chunks} ")), "{line}");

    assert!(
        send_peak < 1024 * 1024,
        "client heap peak during send {send_peak} octets, over 1 MiB"
    );
    assert!(
        session_peak < 1024 * 1024,
        "client heap peak over the session {session_peak} octets, over 1 MiB"
    );
}
