//! Shared helpers for the integration tests: paths to the seed corpus, and
//! the fuzz target bodies ([`fuzz_bodies`]), which live here so that
//! `cargo test` replays the fuzz corpus on stable (DESIGN 6).

use std::path::PathBuf;

pub mod fuzz_bodies;
pub mod oracle;

/// The workspace README's examples ("A short API tour"), compiled and run
/// as doctests (`cargo test -p smtp-sansio-tests --doc`). They live here,
/// in a crate that is never published, because the core's package must
/// not include files outside its folder (`cargo package` would break).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

/// The workspace's `corpus/` folder.
pub fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../corpus")
}
