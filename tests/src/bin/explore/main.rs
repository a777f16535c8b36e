//! `explore`: exhaustive exploration of the server and client machines
//! (issue 12). Every sequence of an abstract input alphabet up to a depth is
//! run, in every port mode, merging the paths that reach the same machine
//! state, and invariants over the observable trace are checked after every
//! step. See `tests/EXPLORE.md`.
//!
//! ```text
//! cargo run -q --release -p smtp-sansio-tests --bin explore -- \
//!     [--depth N] [--side server|client] [--mode relay|submission|implicit-tls|lmtp] \
//!     [--dot FILE] [--self-test]
//! ```

mod client;
mod search;
mod selftest;
mod server;
mod transcript;

use std::process::ExitCode;
use std::time::Instant;

use smtp_sansio::MutantSlot;
use smtp_sansio::PortMode;

use search::{Outcome, explore};

static WITHOUT: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();

/// Whether `--without` left this input out.
pub fn skipped(input: &str) -> bool {
    WITHOUT.get().is_some_and(|w| w.iter().any(|x| x == input))
}

/// Which machine is explored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Server,
    Client,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Server => "server",
            Side::Client => "client",
        }
    }
}

/// The four port modes, in report order.
pub const MODES: [PortMode; 4] = [
    PortMode::Relay,
    PortMode::Submission,
    PortMode::ImplicitTls,
    PortMode::Lmtp,
];

/// The transcript-format name of a mode.
pub fn mode_name(m: PortMode) -> &'static str {
    match m {
        PortMode::Relay => "relay",
        PortMode::Submission => "submission",
        PortMode::ImplicitTls => "implicit-tls",
        PortMode::Lmtp => "lmtp",
    }
}

struct Args {
    depth: usize,
    sides: Vec<Side>,
    modes: Vec<PortMode>,
    dot: Option<String>,
    self_test: bool,
    without: Vec<String>,
}

const USAGE: &str = "usage: explore [--depth N] [--side server|client] \
[--mode relay|submission|implicit-tls|lmtp] [--dot FILE] [--self-test] [--without INPUT]...
  --without INPUT  leaves an input (by its graph name, e.g. \"BDAT (huge)\") out of
                   the alphabet, to look past a known violation";

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        depth: 8,
        sides: vec![Side::Server, Side::Client],
        modes: MODES.to_vec(),
        dot: None,
        self_test: false,
        without: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--depth" => {
                a.depth = value()?
                    .parse()
                    .map_err(|_| "--depth takes a number".to_string())?
            }
            "--side" => {
                a.sides = match value()?.as_str() {
                    "server" => vec![Side::Server],
                    "client" => vec![Side::Client],
                    other => return Err(format!("unknown side {other}")),
                }
            }
            "--mode" => {
                let v = value()?;
                let m = MODES
                    .into_iter()
                    .find(|m| mode_name(*m) == v)
                    .ok_or_else(|| format!("unknown mode {v}"))?;
                a.modes = vec![m];
            }
            "--dot" => a.dot = Some(value()?),
            "--self-test" => a.self_test = true,
            "--without" => a.without.push(value()?),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(a)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("explore: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let _ = WITHOUT.set(args.without.clone());
    if args.self_test {
        return selftest::run(args.depth);
    }
    if args.dot.is_some() && (args.sides.len() != 1 || args.modes.len() != 1) {
        eprintln!("explore: --dot writes one graph: give --side and --mode");
        return ExitCode::from(2);
    }
    let mut total = 0usize;
    for &side in &args.sides {
        for &mode in &args.modes {
            let started = Instant::now();
            let want_graph = args.dot.is_some();
            let out = run_one(side, mode, args.depth, want_graph);
            report(side, mode, args.depth, &out, started);
            total += out.violations.len();
            if let (Some(file), Some(graph)) = (&args.dot, &out.graph) {
                let title = format!("{} {}", side.name(), mode_name(mode));
                if let Err(e) = std::fs::write(file, graph.to_dot(&title)) {
                    eprintln!("explore: cannot write {file}: {e}");
                    return ExitCode::from(2);
                }
            }
        }
    }
    println!("explore: {total} violations");
    if total == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Explores one side in one mode.
pub fn run_one(side: Side, mode: PortMode, depth: usize, graph: bool) -> Outcome {
    let slot = MutantSlot::NONE;
    match side {
        Side::Server => explore(&server::ServerModel::new(mode, slot), depth, graph, None),
        Side::Client => explore(&client::ClientModel::new(mode, slot), depth, graph, None),
    }
}

/// Explores one side in one mode with a rule disabled, up to the first
/// level that holds a violation (the self-test).
#[cfg(feature = "mutants")]
pub fn run_one_until(
    side: Side,
    mode: PortMode,
    depth: usize,
    slot: MutantSlot,
    counts: &dyn Fn(&search::Violation) -> bool,
) -> Outcome {
    match side {
        Side::Server => explore(
            &server::ServerModel::new(mode, slot),
            depth,
            false,
            Some(counts),
        ),
        Side::Client => explore(
            &client::ClientModel::new(mode, slot),
            depth,
            false,
            Some(counts),
        ),
    }
}

fn report(side: Side, mode: PortMode, depth: usize, out: &Outcome, started: Instant) {
    println!(
        "{} {}: depth {}, {} states, {} transitions, {} violations ({:.1} s)",
        side.name(),
        mode_name(mode),
        depth,
        out.states,
        out.transitions,
        out.violations.len(),
        started.elapsed().as_secs_f64()
    );
    for v in &out.violations {
        println!(
            "\n# violation ({}) at depth {}: {}\n{}",
            v.kind, v.depth, v.detail, v.transcript
        );
    }
}
