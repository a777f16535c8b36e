//! Parsing a command allocates nothing (DESIGN.md 4: zero-copy, no heap
//! allocation per command on the hot path).
use smtp_sansio::{Command, CommandOptions};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Allocations made by this thread only: the test harness's other
    /// threads may allocate while the measurement runs.
    static MINE: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

// SAFETY: forwards to the system allocator, only counting calls. (Test
// code: the crate itself forbids unsafe.)
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        let _ = MINE.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn parsing_allocates_nothing() {
    let lines: [&[u8]; 12] = [
        b"EHLO client.example.org\r\n",
        b"MAIL FROM:<@a,@b:\"quoted\\\"x\"@example.com> SIZE=12345 BODY=8BITMIME RET=HDRS ENVID=QQ+2B1 AUTH=<> MT-PRIORITY=-3 BY=60;RT X-FOO=bar\r\n",
        b"RCPT TO:<user@[IPv6:2001:db8::1]> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;user+40example.com\r\n",
        b"RCPT TO:<Postmaster>\r\n",
        "RCPT TO:<用户@例子.广告> ORCPT=utf-8;\\x{7528}@x\r\n".as_bytes(),
        b"DATA\r\n",
        b"BDAT 1000 LAST\r\n",
        b"AUTH PLAIN dGVzdAB0ZXN0ADEyMzQ=\r\n",
        b"VRFY \"John Doe\" SMTPUTF8\r\n",
        b"NOOP\r\n",
        b"XYZZY unknown\r\n",
        b"MAIL FROM:<a@b> SIZE=99999999999999999999999\r\n",
    ];
    let mut opts = CommandOptions::new();
    opts.utf8_transaction = true;
    // Warm up anything lazily initialised by the test harness.
    let _ = Command::parse(lines[0], &opts);
    let before = MINE.with(|c| c.get());
    let mut ok = 0usize;
    for _ in 0..100 {
        for line in lines {
            if std::hint::black_box(Command::parse(line, &opts)).is_ok() {
                ok += 1;
            }
        }
    }
    let after = MINE.with(|c| c.get());
    assert_eq!(after - before, 0, "allocations while parsing");
    assert_eq!(ok, 100 * 10);
}
