//! `replay`: runs SMTP transcripts (the format of `corpus/sessions/`)
//! against the crate's state machines.
//!
//! ```text
//! cargo run -q --release -p smtp-sansio --example replay -- FILE...
//! ```
//!
//! Prints `PASS FILE` or `FAIL FILE: reason` per file, then the summary
//! line `N passed, M failed`, and exits 1 if any failed (2 on a usage
//! error). `--help` prints the usage on stdout and exits 0.

mod client_side;
mod runner;
mod transcript;

use std::process::ExitCode;

fn main() -> ExitCode {
    const USAGE: &str = "usage: replay FILE...\n  Runs each transcript (corpus/sessions format) against the state machines.";
    let files: Vec<String> = std::env::args().skip(1).collect();
    if files.iter().any(|f| f == "-h" || f == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    if files.is_empty() {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }
    let mut failed = 0usize;
    for file in &files {
        let result = std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read: {e}"))
            .and_then(|text| runner::run_text(&text));
        match result {
            Ok(()) => println!("PASS {file}"),
            Err(reason) => {
                failed += 1;
                println!("FAIL {file}: {reason}");
            }
        }
    }
    println!("{} passed, {failed} failed", files.len() - failed);
    if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
