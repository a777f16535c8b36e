//! `--self-test`: the exploration against deliberately broken rules.

use std::process::ExitCode;

#[cfg(not(feature = "mutants"))]
pub fn run(_depth: usize) -> ExitCode {
    eprintln!(
        "explore --self-test needs the core's mutants: run\n  \
         cargo run -q --release -p smtp-sansio-tests --features mutants --bin explore -- --self-test"
    );
    ExitCode::from(2)
}

#[cfg(feature = "mutants")]
pub fn run(depth: usize) -> ExitCode {
    use std::collections::BTreeMap;

    use crate::{MODES, Side, mode_name, run_one_until};
    use smtp_sansio::{Mutant, MutantSlot};

    // The unmutated machines first: a violation they already have cannot
    // be credited to a mutant (the self-test would prove nothing).
    let mut baseline: BTreeMap<(&'static str, &'static str), BTreeMap<&'static str, usize>> =
        BTreeMap::new();
    for side in [Side::Server, Side::Client] {
        for mode in MODES {
            let out = crate::run_one(side, mode, depth, false);
            let kinds = out.violations.iter().map(|v| (v.kind, v.depth)).collect();
            if !out.violations.is_empty() {
                println!(
                    "baseline {} {}: {} violation kind(s) without any mutant; those kinds are not credited",
                    side_name(side),
                    mode_name(mode),
                    out.violations.len()
                );
            }
            baseline.insert((side_name(side), mode_name(mode)), kinds);
        }
    }
    let mut survived = 0;
    for m in Mutant::ALL {
        let side = if m.is_server() {
            Side::Server
        } else {
            Side::Client
        };
        let mut caught: Option<(usize, &'static str, &'static str)> = None;
        for mode in MODES {
            let base = &baseline[&(side_name(side), mode_name(mode))];
            // Credited only if the unmutated machine has no violation of
            // that kind at that depth or less.
            let counts =
                |v: &crate::search::Violation| base.get(v.kind).is_none_or(|d| *d > v.depth);
            let out = run_one_until(side, mode, depth, MutantSlot::with(m), &counts);
            for v in out.violations.iter().filter(|v| counts(v)) {
                if caught.is_none_or(|(d, _, _)| v.depth < d) {
                    caught = Some((v.depth, mode_name(mode), v.kind));
                }
            }
        }
        match caught {
            Some((d, mode, kind)) => {
                println!("mutant {m:?}: caught at depth {d} ({mode}: {kind})")
            }
            None => {
                survived += 1;
                println!("mutant {m:?}: SURVIVED (depth {depth}, every mode)");
            }
        }
    }
    if survived == 0 {
        println!("explore --self-test: every mutant caught");
        ExitCode::SUCCESS
    } else {
        println!("explore --self-test: {survived} mutant(s) survived");
        ExitCode::from(1)
    }
}

#[cfg(feature = "mutants")]
fn side_name(side: crate::Side) -> &'static str {
    match side {
        crate::Side::Server => "server",
        crate::Side::Client => "client",
    }
}
