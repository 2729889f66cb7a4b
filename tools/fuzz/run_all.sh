#!/usr/bin/env bash
# Runs every built libFuzzer target for N seconds, seeded from
# tests/fuzz/corpus/<target>/ (committed seeds) into a scratch corpus.
# Usage: tools/fuzz/run_all.sh BUILD_DIR SECONDS
set -euo pipefail
BUILD=${1:?build dir}; SECONDS_EACH=${2:-20}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
found=0
for bin in "$BUILD"/tests/fuzz_*; do
  [ -x "$bin" ] || continue
  found=1
  name=$(basename "$bin")
  work="$BUILD/fuzz-corpus/$name"; mkdir -p "$work"
  seeds="$ROOT/tests/fuzz/corpus/$name"
  args=("$work"); [ -d "$seeds" ] && args+=("$seeds")
  echo "fuzz: $name for ${SECONDS_EACH}s"
  "$bin" -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 "${args[@]}" 2>&1 \
    | grep -E "stat::number_of_executed_units|ERROR|SUMMARY" || true
  # libFuzzer exits non-zero on a crash; PIPESTATUS keeps that visible.
  [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "fuzz: $name FAILED"; exit 1; }
done
[ $found = 1 ] || { echo "fuzz: no targets built in $BUILD"; exit 1; }
