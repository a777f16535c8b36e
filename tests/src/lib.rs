//! Shared helpers for the integration tests: paths to the seed corpus.

use std::path::PathBuf;

/// The workspace's `corpus/` folder.
pub fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../corpus")
}
