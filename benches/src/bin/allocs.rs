//! Heap allocations per parsed item, counted by a global allocator: ours
//! against the peer on the bench inputs. Prints one JSON object (the
//! report reads it) with allocations per item.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

use smtp_sansio::Limits;
use smtp_sansio_benches as b;

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator, only counting calls.
// (Measurement code, like smtp-proto/tests/command_alloc.rs: the crate
// itself forbids unsafe; implementing `GlobalAlloc` requires it.)
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations per item of `f`, run `rounds` times over `items` items.
fn per_item(items: usize, rounds: usize, mut f: impl FnMut()) -> f64 {
    f(); // warm: one-time allocations (lazy statics) are not per item
    let before = ALLOCS.load(Ordering::Relaxed);
    for _ in 0..rounds {
        f();
    }
    let n = ALLOCS.load(Ordering::Relaxed) - before;
    n as f64 / (items * rounds) as f64
}

fn main() {
    let rounds = 100;
    let stream = b::command_stream();
    let lines = b::command_mix().len();
    let opts = b::command_options();
    let limits = Limits::RFC;
    let replies = b::REPLY_MIX.concat().into_bytes();
    let ehlo = b::EHLO_REPLIES.concat().into_bytes();
    let dlimits = b::data_limits();
    let body = b::realistic_body(b::MIB);
    let wire = b::wire_form(&body);
    let mut out = Vec::with_capacity(wire.len());
    let cfg = b::server_config();
    let small = b::realistic_body(4096);
    let groups = b::session_groups(10, &small);
    let mut sout = Vec::with_capacity(1 << 16);

    let mut rows: Vec<(&str, f64)> = vec![
        (
            "commands/ours",
            per_item(lines, rounds, || {
                black_box(b::ours_commands(black_box(&stream), &opts));
            }),
        ),
        (
            "commands/peer",
            per_item(lines, rounds, || {
                black_box(b::peer_commands(black_box(&stream)));
            }),
        ),
        (
            "replies/ours",
            per_item(b::REPLY_MIX.len(), rounds, || {
                black_box(b::ours_replies(black_box(&replies), &limits));
            }),
        ),
        (
            "replies/peer",
            per_item(b::REPLY_MIX.len(), rounds, || {
                black_box(b::peer_replies(black_box(&replies)));
            }),
        ),
        (
            "ehlo/ours",
            per_item(b::EHLO_REPLIES.len(), rounds, || {
                black_box(b::ours_ehlo(black_box(&ehlo), &limits));
            }),
        ),
        (
            "ehlo/peer",
            per_item(b::EHLO_REPLIES.len(), rounds, || {
                black_box(b::peer_ehlo(black_box(&ehlo)));
            }),
        ),
    ];
    rows.push((
        "data_decode/ours_into_vec",
        per_item(1, 10, || {
            out.clear();
            black_box(b::ours_decode_into(black_box(&wire), &dlimits, &mut out));
        }),
    ));
    rows.push((
        "data_decode/peer",
        per_item(1, 10, || {
            out.clear();
            black_box(b::peer_decode_into(black_box(&wire), &mut out));
        }),
    ));
    rows.push((
        "server/10tx/machine (per transaction)",
        per_item(10, 10, || {
            sout.clear();
            black_box(b::run_server_session(&cfg, black_box(&groups), &mut sout));
        }),
    ));
    let body: Vec<String> = rows
        .iter()
        .map(|(k, v)| format!("  \"{k}\": {v}"))
        .collect();
    println!("{{\n{}\n}}", body.join(",\n"));
}
