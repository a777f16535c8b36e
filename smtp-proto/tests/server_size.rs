//! The footprint of an idle server session (issue 13): `size_of::<Server>()`
//! and the heap bytes one more idle session costs when the configuration is
//! shared (`Arc<ServerConfig>`). Bytes are counted by a global allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, Ordering};

use smtp_sansio::{PortMode, Server, ServerConfig};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator, only counting live bytes.
// (Measurement code, like tests/command_alloc.rs: the crate itself forbids
// unsafe; implementing `GlobalAlloc` requires it.)
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Issue 13's goal for one idle session: inline size plus its own heap.
const IDLE_BUDGET: usize = 1024;

#[test]
fn idle_server_fits_the_budget_with_a_shared_config() {
    let cfg = Arc::new(ServerConfig::new(PortMode::Submission, "mx.example.net"));
    let before = LIVE.load(Ordering::Relaxed);
    let servers: Vec<Server> = (0..64).map(|_| Server::new(Arc::clone(&cfg))).collect();
    let after = LIVE.load(Ordering::Relaxed);
    let vec_bytes = (servers.capacity() * size_of::<Server>()) as isize;
    let heap_each = ((after - before - vec_bytes) / 64) as usize;
    let inline = size_of::<Server>();
    println!("size_of::<Server>() = {inline} B, heap per idle session = {heap_each} B");
    assert!(
        inline + heap_each <= IDLE_BUDGET,
        "idle session {inline} B inline + {heap_each} B heap > {IDLE_BUDGET} B"
    );
    // The configuration is shared, not copied.
    assert_eq!(Arc::strong_count(&cfg), 65);
    assert!(std::ptr::eq(servers[0].config(), &*cfg));
}
