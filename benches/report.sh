#!/usr/bin/env bash
# Runs a short version of every benchmark (ours against the smtp-proto
# crate, chunked against whole, ours against baselines), counts heap
# allocations, and prints one Markdown table of ratios, then the goal
# ratios again from interleaved A/B rounds (steadier). When valgrind is
# installed it also counts instructions per item for the parsers (ours
# against the peer): a load-independent check of the timed ratios.
#
#   bash benches/report.sh              # everything (~5 minutes on 2 cores)
#   bash benches/report.sh commands     # only benches whose id matches
#   NO_CALLGRIND=1 bash benches/report.sh
#
# Numbers are noisy on a shared machine: compare ratios from one run.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
filter="${1:-}"
cargo bench -p smtp-sansio-benches --benches -- --warm-up-time 1 --measurement-time 2 ${filter:+"$filter"} \
  > "$target/bench-run.log" 2>&1 || { tail -40 "$target/bench-run.log"; exit 1; }
cargo run -q --release -p smtp-sansio-benches --bin allocs > "$target/bench-allocs.json"
cargo run -q --release -p smtp-sansio-benches --bin report -- "$target/criterion" "$target/bench-allocs.json"
echo
# The goals again, from rounds that alternate ours and the other side (a
# load change hits both alike): the steadier verdict on a shared machine.
cargo run -q --release -p smtp-sansio-benches --bin abratio -- 21

if [ -z "${NO_CALLGRIND:-}" ] && command -v valgrind > /dev/null; then
  cargo build -q --release -p smtp-sansio-benches --bin profile
  prof="$target/release/profile"
  cg="$target/callgrind"
  mkdir -p "$cg"
  irefs() { # workload iterations -> total instructions
    valgrind --tool=callgrind --callgrind-out-file="$cg/out.${1//\//-}.$2" "$prof" "$1" "$2" 2>&1 \
      | sed -n 's/.*refs: *//p' | tr -d ','
  }
  base=$(irefs commands/ours 0)
  read -r lines clines creplies cehlo < <(cargo run -q --release -p smtp-sansio-benches --bin report -- --items)
  echo
  echo "| Instructions per item (callgrind) | ours | peer | peer / ours |"
  echo "| --- | --- | --- | --- |"
  # commands: the mix through each parser, line framing included; c*: the
  # captured traffic of corpus/captured; decode: the realistic 1 MiB
  # message into a Vec, whole and in 4 KiB reads.
  for spec in "commands $lines command 2000" "ccommands $clines command 500" \
      "ehlo 4 reply 2000" "cehlo $cehlo reply 2000" "replies 12 reply 2000" \
      "creplies $creplies reply 500" "decode 1 MiB 5" "decode4k 1 MiB 5"; do
    set -- $spec
    w=$1 items=$2 unit=$3 n=$4
    o=$(irefs "$w/ours" "$n")
    p=$(irefs "$w/peer" "$n")
    awk -v o="$o" -v p="$p" -v b="$base" -v n="$n" -v k="$items" -v w="$w" -v u="$unit" 'BEGIN {
      io = (o - b) / (n * k); ip = (p - b) / (n * k);
      printf "| %s | %.0f/%s | %.0f/%s | %.2fx |\n", w, io, u, ip, u, ip / io }'
  done
fi
