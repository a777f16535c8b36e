//! Interleaved A/B ratios: for each comparison, rounds alternate a batch of
//! ours and a batch of the other side and the median of the per-round
//! ratios is printed (with the quartiles). A load change on the shared
//! machine hits both sides of a round alike, so these ratios are steadier
//! than two criterion measurements taken one after the other.
//!
//! Usage: `abratio [ROUNDS] [FILTER]` (default 31 rounds; with FILTER only
//! the comparisons whose name contains it).

use std::hint::black_box;
use std::time::{Duration, Instant};

use smtp_sansio::InputBuffer;
use smtp_sansio::Limits;
use smtp_sansio_benches as b;

/// Per-iteration time of `f`, run `n` times.
fn time(n: u32, f: &mut dyn FnMut()) -> Duration {
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    t.elapsed() / n
}

/// Iterations of `f` that take about 10 ms.
fn calibrate(f: &mut dyn FnMut()) -> u32 {
    let mut n = 1u32;
    loop {
        let t = Instant::now();
        for _ in 0..n {
            f();
        }
        if t.elapsed() >= Duration::from_millis(10) || n >= 1 << 24 {
            return n;
        }
        n *= 2;
    }
}

enum Goal {
    Faster(f64),
    CostAtMost(f64),
    None,
}

struct Out {
    met: usize,
    missed: Vec<String>,
    filter: Option<String>,
}

/// Runs one comparison; `speed` = other's time / ours (higher: ours faster).
fn compare(
    out: &mut Out,
    rounds: usize,
    what: &str,
    ours: &mut dyn FnMut(),
    other: &mut dyn FnMut(),
    goal: Goal,
) {
    if out
        .filter
        .as_ref()
        .is_some_and(|f| !what.contains(f.as_str()))
    {
        return;
    }
    // Warm up both, then size the batches.
    calibrate(ours);
    calibrate(other);
    let (na, nb) = (calibrate(ours), calibrate(other));
    let mut speeds: Vec<f64> = (0..rounds)
        .map(|r| {
            // Alternate which side goes first.
            let (ta, tb) = if r % 2 == 0 {
                let ta = time(na, ours);
                (ta, time(nb, other))
            } else {
                let tb = time(nb, other);
                (time(na, ours), tb)
            };
            tb.as_secs_f64() / ta.as_secs_f64()
        })
        .collect();
    speeds.sort_by(f64::total_cmp);
    let q = |p: f64| speeds[((speeds.len() - 1) as f64 * p).round() as usize];
    let (lo, med, hi) = (q(0.25), q(0.5), q(0.75));
    let (ratio, goal_s, ok) = match goal {
        Goal::Faster(g) => (
            format!("**{med:.2}x** speed ({lo:.2}-{hi:.2})"),
            format!(">= {g}x"),
            Some(med >= g),
        ),
        Goal::CostAtMost(g) => (
            format!(
                "**{:.2}x** cost ({:.2}-{:.2})",
                1.0 / med,
                1.0 / hi,
                1.0 / lo
            ),
            format!("<= {g}x"),
            Some(1.0 / med <= g),
        ),
        Goal::None => (
            format!("{med:.2}x speed ({lo:.2}-{hi:.2})"),
            "-".into(),
            None,
        ),
    };
    let met = match ok {
        Some(true) => {
            out.met += 1;
            "yes"
        }
        Some(false) => {
            out.missed.push(what.to_string());
            "**no**"
        }
        None => "",
    };
    println!("| {what} | {ratio} | {goal_s} | {met} |");
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(31);
    let mut out = Out {
        met: 0,
        missed: vec![],
        filter: std::env::args().nth(2),
    };
    println!(
        "| Interleaved comparison (median of {rounds} rounds, quartiles) | ratio | goal | met |"
    );
    println!("| --- | --- | --- | --- |");

    let stream = b::command_stream();
    let opts = b::command_options();
    let limits = Limits::RFC;
    compare(
        &mut out,
        rounds,
        "Command parsing (mix): ours vs peer",
        &mut || {
            black_box(b::ours_commands(black_box(&stream), &opts));
        },
        &mut || {
            black_box(b::peer_commands(black_box(&stream)));
        },
        Goal::Faster(1.5),
    );
    let cap = b::captured_command_stream();
    compare(
        &mut out,
        rounds,
        "Command parsing (captured): ours vs peer",
        &mut || {
            black_box(b::ours_commands(black_box(&cap), &opts));
        },
        &mut || {
            black_box(b::peer_commands(black_box(&cap)));
        },
        Goal::Faster(2.0),
    );
    let ehlo = b::EHLO_REPLIES.concat().into_bytes();
    compare(
        &mut out,
        rounds,
        "EHLO capability parsing (mix): ours vs peer",
        &mut || {
            black_box(b::ours_ehlo(black_box(&ehlo), &limits));
        },
        &mut || {
            black_box(b::peer_ehlo(black_box(&ehlo)));
        },
        Goal::Faster(1.5),
    );
    let cap_ehlo = b::captured_ehlo();
    compare(
        &mut out,
        rounds,
        "EHLO capability parsing (captured): ours vs peer",
        &mut || {
            black_box(b::ours_ehlo(black_box(&cap_ehlo), &limits));
        },
        &mut || {
            black_box(b::peer_ehlo(black_box(&cap_ehlo)));
        },
        Goal::Faster(1.5),
    );
    let replies = b::REPLY_MIX.concat().into_bytes();
    compare(
        &mut out,
        rounds,
        "Reply parsing (mix): ours vs peer",
        &mut || {
            black_box(b::ours_replies(black_box(&replies), &limits));
        },
        &mut || {
            black_box(b::peer_replies(black_box(&replies)));
        },
        Goal::Faster(2.5),
    );
    let cap_replies = b::captured_replies();
    compare(
        &mut out,
        rounds,
        "Reply parsing (captured): ours vs peer",
        &mut || {
            black_box(b::ours_replies(black_box(&cap_replies), &limits));
        },
        &mut || {
            black_box(b::peer_replies(black_box(&cap_replies)));
        },
        Goal::Faster(2.5),
    );

    let dl = b::data_limits();
    let finder = memchr::memmem::Finder::new(b"\r\n.");
    for (name, body) in [
        ("realistic", b::realistic_body(b::MIB)),
        ("dotted", b::dotted_body(b::MIB)),
        ("short_lines", b::short_lines_body(b::MIB)),
    ] {
        let wire = b::wire_form(&body);
        let mut v1 = Vec::with_capacity(wire.len());
        let mut v2 = Vec::with_capacity(wire.len());
        compare(
            &mut out,
            rounds,
            &format!("DATA decode {name}: ours into a Vec vs peer DataReceiver"),
            &mut || {
                v1.clear();
                black_box(b::ours_decode_into(black_box(&wire), &dl, &mut v1));
            },
            &mut || {
                v2.clear();
                black_box(b::peer_decode_into(black_box(&wire), &mut v2));
            },
            Goal::Faster(1.5),
        );
        compare(
            &mut out,
            rounds,
            &format!("DATA decode {name} in 4 KiB reads: ours vs peer DataReceiver"),
            &mut || {
                v1.clear();
                b::ours_decode_chunked(black_box(&wire), b::READ, &dl, &mut v1);
            },
            &mut || {
                v2.clear();
                black_box(b::peer_decode_chunked(black_box(&wire), b::READ, &mut v2));
            },
            if name == "realistic" {
                Goal::Faster(1.5)
            } else {
                Goal::None
            },
        );
        compare(
            &mut out,
            rounds,
            &format!("DATA decode {name}: ours zero-copy vs peer DataReceiver"),
            &mut || {
                black_box(b::ours_decode(black_box(&wire), &dl));
            },
            &mut || {
                v2.clear();
                black_box(b::peer_decode_into(black_box(&wire), &mut v2));
            },
            Goal::None,
        );
        compare(
            &mut out,
            rounds,
            &format!("DATA decode {name}: ours zero-copy vs memmem"),
            &mut || {
                black_box(b::ours_decode(black_box(&wire), &dl));
            },
            &mut || {
                black_box(b::memmem_scan(black_box(&wire), &finder));
            },
            Goal::CostAtMost(3.0),
        );
        compare(
            &mut out,
            rounds,
            &format!("DATA encode {name}: ours vs plain copy"),
            &mut || {
                v1.clear();
                b::ours_encode(black_box(&body), &mut v1);
            },
            &mut || {
                v2.clear();
                v2.extend_from_slice(black_box(&body));
            },
            Goal::CostAtMost(3.0),
        );
    }

    let cstream = b::command_stream().repeat(20);
    let mut buf_a = InputBuffer::new();
    let mut buf_b = InputBuffer::new();
    for (chunk, goal) in [(64usize, Goal::CostAtMost(1.5)), (1, Goal::CostAtMost(5.0))] {
        compare(
            &mut out,
            rounds,
            &format!("Commands via InputBuffer: {chunk}-byte chunks vs one buffer"),
            &mut || {
                black_box(b::ours_commands_chunked(
                    black_box(&cstream),
                    chunk,
                    &mut buf_a,
                    &opts,
                ));
            },
            &mut || {
                black_box(b::ours_commands_chunked(
                    black_box(&cstream),
                    cstream.len(),
                    &mut buf_b,
                    &opts,
                ));
            },
            goal,
        );
    }
    let wire = b::wire_form(&b::realistic_body(b::MIB));
    let mut v1 = Vec::with_capacity(wire.len());
    let mut v2 = Vec::with_capacity(wire.len());
    for (chunk, goal) in [(64usize, Goal::CostAtMost(1.5)), (1, Goal::CostAtMost(5.0))] {
        compare(
            &mut out,
            rounds.min(11),
            &format!("DATA decode: {chunk}-byte chunks vs one buffer"),
            &mut || {
                v1.clear();
                b::ours_decode_chunked(black_box(&wire), chunk, &dl, &mut v1);
            },
            &mut || {
                v2.clear();
                b::ours_decode_chunked(black_box(&wire), wire.len(), &dl, &mut v2);
            },
            goal,
        );
    }
    println!();
    println!(
        "Interleaved goals met: {}; missed: {}.",
        out.met,
        if out.missed.is_empty() {
            "none".to_string()
        } else {
            out.missed.join("; ")
        }
    );
}
