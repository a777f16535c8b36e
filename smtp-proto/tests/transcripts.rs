//! Replays every transcript in `corpus/sessions/` (the format of the
//! transcript spec) through the state machines, as the `replay` example
//! does.

#[path = "../examples/replay/client_side.rs"]
mod client_side;
#[path = "../examples/replay/runner.rs"]
mod runner;
#[path = "../examples/replay/transcript.rs"]
mod transcript;

use std::path::PathBuf;

fn files(side: &str) -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../corpus/sessions")
        .join(side);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    v.sort();
    v
}

fn replay_all(side: &str, at_least: usize) {
    let files = files(side);
    assert!(
        files.len() >= at_least,
        "expected at least {at_least} {side} transcripts, found {}",
        files.len()
    );
    let mut failures = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        if let Err(e) = runner::run_text(&text) {
            failures.push(format!("{}: {e}", f.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} {side} transcripts failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

#[test]
fn server_transcripts_pass() {
    replay_all("server", 60);
}
