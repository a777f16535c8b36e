#!/usr/bin/env bash
# Checks that both published crates package and that each package builds
# on its own, as crates.io would see it: `smtp-sansio` (the core) and
# `smtp-sansio-tokio` (the driver, which depends on the core by version).
# Packaging them in one invocation makes cargo verify the driver against
# the freshly packaged core (a temporary local registry), so nothing needs
# to be published first. `--allow-dirty` lets a developer run it before
# committing; CI runs it on a clean clone.
set -euo pipefail
cd "$(dirname "$0")/.."

# No placeholder metadata (the reserved .invalid domain) in a manifest.
placeholder='example[.]invalid'
if grep -rnE --include=Cargo.toml "$placeholder" . --exclude-dir=target --exclude-dir=corpus; then
    echo "package: placeholder metadata in a Cargo.toml" >&2
    exit 1
fi
# Cargo extracts the packaged core from its temporary local registry into
# $CARGO_HOME/registry/src/-<hash>/ and never extracts the same name and
# version again: a copy left by an earlier run of this script would verify
# the driver against stale core sources. Local registries' folders start
# with '-' (crates.io's with 'index.'), so only those copies are removed.
cargo_home="${CARGO_HOME:-$HOME/.cargo}"
rm -rf "$cargo_home"/registry/src/-*/smtp-sansio-[0-9]* "$cargo_home"/registry/cache/-*/smtp-sansio-[0-9]*

cargo package --locked --allow-dirty -p smtp-sansio -p smtp-sansio-tokio
