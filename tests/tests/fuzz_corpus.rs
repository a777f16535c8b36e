//! Replays the fuzz corpus on stable: every file of `corpus/fuzz/<target>/`
//! and of its `regressions/` folder (saved crash reproducers, kept forever)
//! goes through the target's body. A missing or empty corpus folder fails
//! the test: nothing is skipped silently.

use std::fs;
use std::panic;
use std::path::{Path, PathBuf};

use smtp_sansio_tests::corpus_dir;
use smtp_sansio_tests::fuzz_bodies::TARGETS;

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

fn replay(name: &str, body: fn(&[u8])) -> usize {
    let dir = corpus_dir().join("fuzz").join(name);
    let seeds = files(&dir);
    assert!(
        !seeds.is_empty(),
        "corpus folder {} is empty",
        dir.display()
    );
    let regressions = dir.join("regressions");
    let mut all = seeds;
    if regressions.is_dir() {
        all.extend(files(&regressions));
    }
    for f in &all {
        let data = fs::read(f).expect("read corpus file");
        if panic::catch_unwind(|| body(&data)).is_err() {
            panic!("fuzz target {name} fails on {}", f.display());
        }
    }
    all.len()
}

#[test]
fn every_target_has_a_corpus_folder() {
    let dir = corpus_dir().join("fuzz");
    for (name, _) in TARGETS {
        assert!(dir.join(name).is_dir(), "missing corpus/fuzz/{name}");
    }
    // And no folder without a target (a renamed target must move its corpus).
    for entry in fs::read_dir(&dir).expect("corpus/fuzz") {
        let name = entry
            .expect("entry")
            .file_name()
            .into_string()
            .expect("UTF-8 name");
        assert!(
            TARGETS.iter().any(|(t, _)| *t == name),
            "corpus/fuzz/{name} has no target"
        );
    }
}

macro_rules! replay_tests {
    ($($name:ident),* $(,)?) => {$(
        #[test]
        fn $name() {
            let body = TARGETS
                .iter()
                .find(|(t, _)| *t == stringify!($name))
                .map(|(_, b)| *b)
                .expect("target in TARGETS");
            let n = replay(stringify!($name), body);
            eprintln!("{}: {n} inputs", stringify!($name));
        }
    )*};
}

replay_tests!(
    command,
    reply,
    ehlo,
    framing,
    data_decode,
    data_roundtrip,
    structured_roundtrip,
    server_session,
    differential,
    client_session,
    pair,
    proxy_header,
);

#[test]
fn every_target_is_replayed() {
    // Keep the macro list above in step with TARGETS.
    let listed = [
        "command",
        "reply",
        "ehlo",
        "framing",
        "data_decode",
        "data_roundtrip",
        "structured_roundtrip",
        "server_session",
        "differential",
        "client_session",
        "pair",
        "proxy_header",
    ];
    for (name, _) in TARGETS {
        assert!(listed.contains(name), "{name} is not replayed");
    }
}
