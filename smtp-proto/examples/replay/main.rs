//! `replay`: runs SMTP transcripts (the format of `corpus/sessions/`)
//! against the crate's state machines.
//!
//! ```text
//! cargo run -q --release -p smtp-sansio --example replay -- FILE...
//! ```
//!
//! Prints `PASS FILE` or `FAIL FILE: reason` per file and exits 1 if any
//! failed (2 on a usage error).

mod client_side;
mod runner;
mod transcript;

use std::process::ExitCode;

fn main() -> ExitCode {
    let files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        eprintln!("usage: replay FILE...");
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
    if failed > 0 {
        eprintln!("{failed} of {} transcripts failed", files.len());
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
