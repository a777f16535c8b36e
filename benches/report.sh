#!/usr/bin/env bash
# Runs a short version of every benchmark (ours against the smtp-proto
# crate, chunked against whole, ours against baselines), counts heap
# allocations, and prints one Markdown table of ratios.
#
#   bash benches/report.sh              # all benches (~6 minutes on 2 cores)
#   bash benches/report.sh commands     # only benches whose id matches
#
# Numbers are noisy on a shared machine: compare ratios from one run.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
filter="${1:-}"
cargo bench -p smtp-sansio-benches -- --warm-up-time 1 --measurement-time 2 ${filter:+"$filter"} \
  > "$target/bench-run.log" 2>&1 || { tail -40 "$target/bench-run.log"; exit 1; }
cargo run -q --release -p smtp-sansio-benches --bin allocs > "$target/bench-allocs.json"
cargo run -q --release -p smtp-sansio-benches --bin report -- "$target/criterion" "$target/bench-allocs.json"
