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
cargo package --locked --allow-dirty -p smtp-sansio -p smtp-sansio-tokio
