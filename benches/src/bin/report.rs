//! Reads criterion's results (`<criterion dir>/**/new/{benchmark,estimates}.json`)
//! and the allocation counts (JSON printed by the `allocs` binary) and
//! prints one Markdown table of ratios: ours against the peer, chunked
//! against whole, ours against baselines.
//!
//! Usage: `report [CRITERION_DIR] [ALLOCS_JSON]` or `report --items` (the
//! number of commands in the mix, for report.sh); defaults
//! `target/criterion` and `target/bench-allocs.json`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use smtp_sansio_benches as b;

/// One measured benchmark: median time per iteration and bytes per iteration.
#[derive(Clone, Copy)]
struct M {
    ns: f64,
    bytes: f64,
}

impl M {
    fn mbps(self) -> f64 {
        self.bytes / self.ns * 1e9 / 1e6
    }
}

fn collect(dir: &Path, out: &mut HashMap<String, M>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if !p.is_dir() {
            continue;
        }
        if p.file_name().is_some_and(|n| n == "new") {
            let bench = read_json(&p.join("benchmark.json"));
            let est = read_json(&p.join("estimates.json"));
            if let (Some(bench), Some(est)) = (bench, est) {
                let id = bench["full_id"].as_str().unwrap_or_default().to_string();
                let bytes = bench["throughput"]["Bytes"].as_f64().unwrap_or(0.0);
                let ns = est["median"]["point_estimate"].as_f64().unwrap_or(f64::NAN);
                out.insert(id, M { ns, bytes });
            }
        } else {
            collect(&p, out);
        }
    }
}

fn read_json(p: &Path) -> Option<Value> {
    serde_json::from_slice(&std::fs::read(p).ok()?).ok()
}

/// How a ratio is judged.
#[derive(Clone, Copy)]
enum Goal {
    /// Ours is at least this many times as fast (throughput ratio).
    FasterAtLeast(f64),
    /// Ours costs at most this many times the other side (time ratio).
    CostAtMost(f64),
    /// Informative only; the ratio is printed as a speed ratio.
    InfoSpeed,
    /// Informative only; the ratio is printed as a cost ratio.
    InfoCost,
}

struct Table {
    m: HashMap<String, M>,
    rows: Vec<String>,
    met: usize,
    missed: Vec<String>,
}

fn fmt_time(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

impl Table {
    /// `items`: items per iteration and their unit (per-item time column).
    fn row(&mut self, what: &str, ours: &str, other: &str, items: (f64, &str), goal: Goal) {
        let (Some(&a), Some(&o)) = (self.m.get(ours), self.m.get(other)) else {
            self.rows.push(format!(
                "| {what} | `{ours}` | `{other}` | not measured | | |"
            ));
            return;
        };
        let per = |x: M| {
            format!(
                "{:.0} MB/s, {}/{}",
                x.mbps(),
                fmt_time(x.ns / items.0),
                items.1
            )
        };
        let (ba, bo) = (a.bytes.max(1.0), o.bytes.max(1.0));
        // Throughput ratio: equal to the time ratio when the inputs are equal.
        let speed = (ba / a.ns) / (bo / o.ns);
        let cost = 1.0 / speed;
        let (ratio, goal_s, ok) = match goal {
            Goal::FasterAtLeast(g) => (
                format!("**{speed:.2}x** speed"),
                format!(">= {g}x"),
                Some(speed >= g),
            ),
            Goal::CostAtMost(g) => (
                format!("**{cost:.2}x** cost"),
                format!("<= {g}x"),
                Some(cost <= g),
            ),
            Goal::InfoSpeed => (format!("{speed:.2}x speed"), "-".into(), None),
            Goal::InfoCost => (format!("{cost:.2}x cost"), "-".into(), None),
        };
        let met = match ok {
            Some(true) => {
                self.met += 1;
                "yes"
            }
            Some(false) => {
                self.missed.push(what.to_string());
                "**no**"
            }
            None => "",
        };
        self.rows.push(format!(
            "| {what} | {} | {} | {ratio} | {goal_s} | {met} |",
            per(a),
            per(o)
        ));
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "--items") {
        // For report.sh: the number of commands in the mix, then the
        // captured commands, replies and EHLO replies.
        let l = smtp_sansio::Limits::RFC;
        println!(
            "{} {} {} {}",
            b::command_mix().len(),
            b::captured_commands().len(),
            b::ours_replies(&b::captured_replies(), &l).0,
            b::ours_ehlo(&b::captured_ehlo(), &l).0
        );
        return;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let crit = args
        .first()
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/criterion"));
    let allocs_path = args
        .get(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/bench-allocs.json"));
    let mut m = HashMap::new();
    collect(&crit, &mut m);
    let mut t = Table {
        m,
        rows: vec![],
        met: 0,
        missed: vec![],
    };
    let cmds = b::command_mix().len() as f64;
    let cmd_stream_lines = cmds * 20.0;
    let replies = b::REPLY_MIX.len() as f64;
    let ehlos = b::EHLO_REPLIES.len() as f64;

    use Goal::*;
    t.row(
        "Command parsing (mix)",
        "commands/ours",
        "commands/peer",
        (cmds, "cmd"),
        FasterAtLeast(1.5),
    );
    t.row(
        "EHLO capability parsing",
        "ehlo/ours",
        "ehlo/peer",
        (ehlos, "reply"),
        FasterAtLeast(1.2),
    );
    t.row(
        "Reply parsing",
        "replies/ours",
        "replies/peer",
        (replies, "reply"),
        InfoSpeed,
    );
    for kind in ["realistic", "dotted", "short_lines"] {
        let g = format!("data_decode/{kind}");
        t.row(
            &format!("DATA decode {kind} 1 MiB, into a Vec, vs peer DataReceiver"),
            &format!("{g}/ours_into_vec"),
            &format!("{g}/peer"),
            (1.0, "msg"),
            FasterAtLeast(1.0),
        );
        t.row(
            &format!("DATA decode {kind}, zero-copy, vs memmem `\\r\\n.`"),
            &format!("{g}/ours"),
            &format!("{g}/memmem"),
            (1.0, "msg"),
            CostAtMost(3.0),
        );
        t.row(
            &format!("DATA decode {kind}, into a Vec, vs plain copy"),
            &format!("{g}/ours_into_vec"),
            &format!("{g}/copy"),
            (1.0, "msg"),
            InfoCost,
        );
    }
    for kind in ["realistic", "dotted", "short_lines"] {
        let g = format!("data_encode/{kind}");
        t.row(
            &format!("DATA encode {kind} 1 MiB vs plain copy"),
            &format!("{g}/ours"),
            &format!("{g}/copy"),
            (1.0, "msg"),
            CostAtMost(3.0),
        );
    }
    for (chunk, goal) in [
        ("64", CostAtMost(1.5)),
        ("7", InfoCost),
        ("1", CostAtMost(5.0)),
    ] {
        t.row(
            &format!("Commands via InputBuffer, {chunk}-byte chunks vs one buffer"),
            &format!("commands_chunked/ours/{chunk}"),
            "commands_chunked/ours/whole",
            (cmd_stream_lines, "cmd"),
            goal,
        );
    }
    for chunk in ["whole", "64", "7", "1"] {
        t.row(
            &format!("Commands incremental, {chunk}: ours vs peer RequestReceiver"),
            &format!("commands_chunked/ours/{chunk}"),
            &format!("commands_chunked/peer/{chunk}"),
            (cmd_stream_lines, "cmd"),
            InfoSpeed,
        );
    }
    for (chunk, goal) in [
        ("64", CostAtMost(1.5)),
        ("7", InfoCost),
        ("1", CostAtMost(5.0)),
    ] {
        t.row(
            &format!("DATA decode, {chunk}-byte chunks vs one buffer"),
            &format!("data_chunked/ours/{chunk}"),
            "data_chunked/ours/whole",
            (1.0, "msg"),
            goal,
        );
    }
    for chunk in ["whole", "64", "7", "1"] {
        t.row(
            &format!("DATA decode, {chunk}: ours vs peer DataReceiver"),
            &format!("data_chunked/ours/{chunk}"),
            &format!("data_chunked/peer/{chunk}"),
            (1.0, "msg"),
            InfoSpeed,
        );
    }
    for txns in [1usize, 10] {
        let g = format!("server/{txns}tx");
        t.row(
            &format!(
                "Server machine, {txns} transaction(s)/connection (4 KiB msg), vs bare parsers"
            ),
            &format!("{g}/machine"),
            &format!("{g}/bare_parsers"),
            (txns as f64, "txn"),
            InfoCost,
        );
    }

    println!("| Measure | ours | other | ratio (ours vs other) | goal | met |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for r in &t.rows {
        println!("{r}");
    }
    println!();
    for txns in [1usize, 10] {
        let rate = |id: String| t.m.get(&id).map(|x| txns as f64 / x.ns * 1e9);
        if let Some(r) = rate(format!("server/{txns}tx/machine")) {
            println!(
                "- Server machine alone, {txns} transaction(s) per connection (4 KiB message, 2 recipients): {r:.0} transactions/s on one core."
            );
        }
        if let Some(r) = rate(format!("pair/{txns}tx/client_server")) {
            println!(
                "- Client + server machines together (STARTTLS, pipelining), {txns} transaction(s) per connection: {r:.0} transactions/s on one core."
            );
        }
    }

    println!();
    match read_json(&allocs_path) {
        Some(Value::Object(a)) => {
            println!("| Heap allocations per item | ours | peer | goal | met |");
            println!("| --- | --- | --- | --- | --- |");
            let get = |k: &str| a.get(k).and_then(Value::as_f64);
            for (what, unit, ours, peer, zero) in [
                (
                    "Command parsing",
                    "command",
                    "commands/ours",
                    "commands/peer",
                    true,
                ),
                (
                    "Reply parsing",
                    "reply",
                    "replies/ours",
                    "replies/peer",
                    false,
                ),
                (
                    "EHLO reply parsing",
                    "reply",
                    "ehlo/ours",
                    "ehlo/peer",
                    false,
                ),
                (
                    "DATA decode into a reserved Vec",
                    "message",
                    "data_decode/ours_into_vec",
                    "data_decode/peer",
                    false,
                ),
            ] {
                let f = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.2}/{unit}"));
                let (goal, met) = if zero {
                    let ok = get(ours) == Some(0.0);
                    if ok {
                        t.met += 1;
                    } else {
                        t.missed.push(format!("{what} allocations"));
                    }
                    ("0", if ok { "yes" } else { "**no**" })
                } else {
                    ("-", "")
                };
                println!(
                    "| {what} | {} | {} | {goal} | {met} |",
                    f(get(ours)),
                    f(get(peer))
                );
            }
            if let Some(v) = get("server/10tx/machine (per transaction)") {
                println!(
                    "| Server machine, per transaction (10 per connection) | {v:.2}/txn | - | - | |"
                );
            }
        }
        _ => println!("(no allocation counts at {})", allocs_path.display()),
    }
    println!();
    println!(
        "Goals met: {}; missed: {}.",
        t.met,
        if t.missed.is_empty() {
            "none".to_string()
        } else {
            t.missed.join("; ")
        }
    );
}
