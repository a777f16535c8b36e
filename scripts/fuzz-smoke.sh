#!/usr/bin/env bash
# CI smoke run of every fuzz target: FUZZ_SECONDS (default 20) each, on a
# copy of its seed corpus (corpus/fuzz/<target>/, regressions included) in a
# temporary folder, with the SMTP dictionary. Fails on any finding (libFuzzer
# exits non-zero and leaves the reproducer under fuzz/artifacts/<target>/).
# Runs without sanitizers (-s none), so a stable toolchain is enough (see
# fuzz/README.md for nightly runs with AddressSanitizer).
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_TARGET="${FUZZ_SECONDS:-20}"

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

targets=$(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^smtp-sansio-fuzz$')
[ -n "$targets" ] || { echo "no fuzz targets found in fuzz/Cargo.toml" >&2; exit 1; }

echo "== building fuzz targets"
(cd fuzz && cargo fuzz build -s none)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

failed=()
for t in $targets; do
    seeds="corpus/fuzz/$t"
    if [ ! -d "$seeds" ] || [ -z "$(ls -A "$seeds")" ]; then
        echo "missing or empty seed corpus $seeds" >&2
        exit 1
    fi
    mkdir -p "$work/$t"
    find "$seeds" -type f -exec cp {} "$work/$t/" \;
    echo "== $t (${SECONDS_PER_TARGET}s)"
    if ! (cd fuzz && cargo fuzz run -s none "$t" "$work/$t" -- \
            -max_total_time="$SECONDS_PER_TARGET" -dict=smtp.dict -print_final_stats=1 \
            >"$work/$t.log" 2>&1); then
        tail -n 40 "$work/$t.log"
        failed+=("$t")
    else
        grep -E '^#[0-9]+ +DONE' "$work/$t.log" || tail -n 3 "$work/$t.log"
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz findings in: ${failed[*]} (reproducers in fuzz/artifacts/)" >&2
    exit 1
fi
echo "== all fuzz targets ran clean"
