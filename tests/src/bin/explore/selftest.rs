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
    use crate::{mode_name, run_one_until, Side, MODES};
    use smtp_sansio::mutants::{Mutant, MutantSlot};

    let mut survived = 0;
    for m in Mutant::ALL {
        let side = if m.is_server() { Side::Server } else { Side::Client };
        let mut caught: Option<(usize, &'static str, &'static str)> = None;
        for mode in MODES {
            let out = run_one_until(side, mode, depth, MutantSlot::with(m));
            if let Some(v) = out.violations.iter().min_by_key(|v| v.depth) {
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
