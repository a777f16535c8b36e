#!/usr/bin/env bash
# The whole test suite, as a newcomer and CI run it: installs what it needs,
# then checks formatting, lints, docs, packaging, the MSRV and every test.
# Without root, scripts/install-peers.sh names the install step of each
# missing interop peer; every other test still runs (the peer's tests fail
# with that step).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== toolchain components"
rustup component add rustfmt clippy >/dev/null 2>&1 || true

echo "== interop peers (swaks, curl, smtplib, postfix, exim, aiosmtpd)"
bash scripts/install-peers.sh

echo "== cargo fmt --check"
cargo fmt --all --check

echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked

echo "== cargo package (both published crates, each verified on its own)"
bash scripts/package.sh

echo "== MSRV (rust-version of the workspace Cargo.toml)"
bash scripts/msrv.sh

echo "== cargo test"
cargo test --workspace --locked --release -- --include-ignored

echo "== explore: exhaustive state exploration, both sides, every mode (depth 6)"
cargo run -q --release --locked -p smtp-sansio-tests --bin explore -- --depth 6

echo "== explore --self-test: every mutant (one security rule disabled) must be caught"
cargo run -q --release --locked -p smtp-sansio-tests --features mutants --bin explore -- --self-test --depth 6

echo "== fuzz smoke (every cargo-fuzz target, FUZZ_SECONDS=${FUZZ_SECONDS:-20}s each)"
bash scripts/fuzz-smoke.sh
