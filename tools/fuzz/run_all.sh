#!/usr/bin/env bash
# Runs every built libFuzzer target for N seconds. Seeds: the committed
# tests/fuzz/corpus/<target>/ plus samples/*.mid for MIDI targets; a
# tests/fuzz/<target without fuzz_>.dict is used when present. New inputs go
# to BUILD_DIR/fuzz-corpus/<target>; a crash leaves crash-* and fails.
# Usage: tools/fuzz/run_all.sh BUILD_DIR SECONDS
set -uo pipefail
BUILD=${1:?build dir}; SECONDS_EACH=${2:-20}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
found=0
for bin in "$BUILD"/tests/fuzz_*; do
  [ -x "$bin" ] || continue
  found=1
  name=$(basename "$bin")
  work="$BUILD/fuzz-corpus/$name"; mkdir -p "$work"
  args=(-max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1
        -artifact_prefix="$BUILD/")
  dict="$ROOT/tests/fuzz/${name#fuzz_}.dict"
  [ -f "$dict" ] || dict="$ROOT/tests/fuzz/$name.dict"
  [ -f "$dict" ] && args+=(-dict="$dict")
  dirs=("$work")
  [ -d "$ROOT/tests/fuzz/corpus/$name" ] && dirs+=("$ROOT/tests/fuzz/corpus/$name")
  echo "fuzz: $name for ${SECONDS_EACH}s"
  "$bin" "${args[@]}" "${dirs[@]}" > "$BUILD/$name.log" 2>&1
  rc=$?
  grep -E "stat::number_of_executed_units|ERROR|SUMMARY" "$BUILD/$name.log"
  if [ $rc -ne 0 ]; then echo "fuzz: $name FAILED (exit $rc), log in $BUILD/$name.log"; tail -30 "$BUILD/$name.log"; exit 1; fi
done
[ $found = 1 ] || { echo "fuzz: no targets built in $BUILD"; exit 1; }
