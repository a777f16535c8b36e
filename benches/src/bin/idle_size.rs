//! Memory of an idle session machine (issue 13): `size_of` of `Server`
//! and `Client` plus the heap bytes each one holds, counted by a global
//! allocator that tracks live bytes. Prints a markdown table.
//!
//! `cargo run --release -p smtp-sansio-benches --bin idle_size`
//!
//! Heap per machine = live bytes after building N machines (kept in a
//! vector reserved beforehand) minus before, divided by N. The server's
//! configuration is one `Arc<ServerConfig>` shared by every session (made
//! before counting); a client owns its `ClientConfig` (counted).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use smtp_sansio::client::{Client, ClientConfig};
use smtp_sansio::{PortMode, Server, ServerConfig};

struct Counting;

static LIVE: AtomicI64 = AtomicI64::new(0);

// SAFETY: forwards to the system allocator, only counting bytes.
// (Measurement code, like `allocs`: the crate itself forbids unsafe;
// implementing `GlobalAlloc` requires it.)
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as i64 - layout.size() as i64, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const N: usize = 1000;

/// Heap bytes per machine built by `make`, the machines kept alive.
fn heap_per<T>(mut make: impl FnMut() -> T) -> f64 {
    let mut keep = Vec::with_capacity(N);
    let before = LIVE.load(Ordering::Relaxed);
    for _ in 0..N {
        keep.push(make());
    }
    let after = LIVE.load(Ordering::Relaxed);
    drop(keep);
    (after - before) as f64 / N as f64
}

/// Answers every pending decision with the default.
fn drain(s: &mut Server, out: &mut Vec<u8>) {
    while s.next_event().is_some() {
        let _ = s.accept();
    }
    s.transmit(out);
    out.clear();
}

fn main() {
    let cfg = Arc::new(ServerConfig::new(PortMode::Relay, "mx.example.net"));
    let mut out = Vec::with_capacity(4096);
    let server_new = heap_per(|| Server::new(cfg.clone()));
    let server_greeted = heap_per(|| {
        let mut s = Server::new(cfg.clone());
        drain(&mut s, &mut out);
        s
    });
    let server_ehlo = heap_per(|| {
        let mut s = Server::new(cfg.clone());
        drain(&mut s, &mut out);
        s.receive(b"EHLO client.example.org\r\n");
        drain(&mut s, &mut out);
        s
    });
    let ccfg = ClientConfig::new(PortMode::Relay, "client.example.org");
    let client_new = heap_per(|| Client::new(ccfg.clone()).ok());
    let client_ready = heap_per(|| {
        let mut c = Client::new(ccfg.clone()).ok()?;
        c.receive(b"220 mx.example.net ESMTP\r\n");
        while c.next_event().is_some() {}
        c.transmit(&mut out);
        c.receive(b"250-mx.example.net\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 CHUNKING\r\n");
        while c.next_event().is_some() {}
        c.transmit(&mut out);
        out.clear();
        Some(c)
    });
    let (ss, cs) = (size_of::<Server>(), size_of::<Client>());
    println!("| idle machine | size_of (B) | heap (B) | total (B) | goal <= 1024 |");
    println!("| --- | ---: | ---: | ---: | --- |");
    for (name, size, heap) in [
        ("Server, new (config shared)", ss, server_new),
        ("Server, greeting sent", ss, server_greeted),
        ("Server, after EHLO", ss, server_ehlo),
        ("Client, new (owns its config)", cs, client_new),
        ("Client, ready after EHLO", cs, client_ready),
    ] {
        let total = size as f64 + heap;
        let met = if total <= 1024.0 { "met" } else { "NOT met" };
        println!("| {name} | {size} | {heap:.0} | {total:.0} | {met} |");
    }
}
