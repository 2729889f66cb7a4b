#!/usr/bin/env bash
# Fuzzes the MIDI front-end (tests/fuzz/fuzz_midi.c: reader, score, JSON,
# conditioning) for N seconds on one core.
#
#   tools/fuzz/run_fuzz.sh SECONDS [BUILD_DIR]
#
# Builds BUILD_DIR (default build-midi-fuzz) with clang, instrumenting the
# whole library (-fsanitize=fuzzer-no-link) so libFuzzer sees coverage inside
# src/midi and src/cond, not just in the target. Seeds: the committed corpus
# tests/fuzz/corpus/fuzz_midi, samples/*.mid and, when installed, the
# simutrans-data MIDI files. New inputs go to BUILD_DIR/fuzz-corpus/fuzz_midi;
# a crash leaves crash-* in BUILD_DIR and exits non-zero.
set -euo pipefail
SECS=${1:?usage: run_fuzz.sh SECONDS [BUILD_DIR]}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${2:-$ROOT/build-midi-fuzz}
CC=clang cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMELODIFF_FUZZ=ON \
  -DMELODIFF_TESTS=ON -DMELODIFF_BENCH=OFF -DMELODIFF_WERROR=OFF \
  -DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link,address,undefined" >/dev/null
cmake --build "$BUILD" -j2 --target fuzz_midi >/dev/null
work="$BUILD/fuzz-corpus/fuzz_midi"
seeds="$BUILD/fuzz-seeds/fuzz_midi"
mkdir -p "$work" "$seeds"
cp "$ROOT"/tests/fuzz/corpus/fuzz_midi/*.mid "$ROOT"/samples/*.mid "$seeds"/ 2>/dev/null || true
for f in /usr/share/games/simutrans/music/*.mid; do [ -f "$f" ] && cp "$f" "$seeds"/; done
cd "$BUILD"
echo "fuzz_midi: ${SECS}s, $(ls "$seeds" | wc -l) seeds, corpus $(ls "$work" | wc -l) inputs"
./tests/fuzz_midi -max_total_time="$SECS" -rss_limit_mb=2048 -timeout=10 -max_len=16384 \
  -dict="$ROOT/tests/fuzz/fuzz_midi.dict" -print_final_stats=1 "$work" "$seeds" 2>&1 | grep -E "stat::number_of_executed_units|stat::peak_rss|NEW_FUNC|ERROR|SUMMARY|Test unit written|INITED|DONE" || true
rc=${PIPESTATUS[0]}
[ "$rc" -eq 0 ] || { echo "fuzz_midi: FAILED (exit $rc); see crash-* in $BUILD"; exit 1; }
echo "fuzz_midi: no findings"
