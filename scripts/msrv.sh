#!/usr/bin/env bash
# Checks that the published crates build with the minimum supported Rust
# version declared in the workspace Cargo.toml (`rust-version`). Installs
# that toolchain (minimal profile) if it is missing. A separate target
# folder keeps the MSRV build from invalidating the main one.
set -euo pipefail
cd "$(dirname "$0")/.."

msrv=$(sed -n 's/^rust-version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
if [ -z "$msrv" ]; then
    echo "msrv: no rust-version in the workspace Cargo.toml" >&2
    exit 1
fi
echo "msrv: Rust $msrv"
if ! rustup run "$msrv" rustc --version >/dev/null 2>&1; then
    rustup toolchain install "$msrv" --profile minimal
fi
CARGO_TARGET_DIR=target/msrv cargo "+$msrv" check --locked -p smtp-sansio -p smtp-sansio-tokio
