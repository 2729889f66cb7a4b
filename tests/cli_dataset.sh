#!/usr/bin/env bash
# `melodiff dataset`: a real build on a small MIDI file, the files it writes,
# skipping of a bad file, and usage / input errors with their exit codes.
# usage: cli_dataset.sh <melodiff> <source dir> <scratch dir>
set -u
exe=$1 src=$2 tmp=$3
rm -rf "$tmp"
mkdir -p "$tmp"
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

demo="$src/samples/demo.mid"
printf 'not a midi file' >"$tmp/bad.mid"

# --help: stdout, exit 0
"$exe" dataset --help >"$tmp/help" || fail "--help exit $?"
grep -q -- "--val-fraction" "$tmp/help" || fail "--help text"

# usage errors: exit 2
"$exe" dataset "$demo" 2>/dev/null; [ $? -eq 2 ] || fail "missing -o should exit 2"
"$exe" dataset -o "$tmp/x" 2>/dev/null; [ $? -eq 2 ] || fail "no files should exit 2"
"$exe" dataset --val-fraction 2 -o "$tmp/x" "$demo" 2>/dev/null; [ $? -eq 2 ] || fail "bad --val-fraction should exit 2"
"$exe" dataset --bogus -o "$tmp/x" "$demo" 2>/dev/null; [ $? -eq 2 ] || fail "unknown option should exit 2"
"$exe" dataset --from "$tmp/missing.txt" -o "$tmp/x" 2>/dev/null; [ $? -eq 2 ] || fail "unreadable --from should exit 2"

# only unusable input: exit 3, one error line naming the problem
"$exe" dataset -o "$tmp/none" "$tmp/bad.mid" 2>"$tmp/err"; rc=$?
[ $rc -eq 3 ] || fail "no usable file should exit 3, got $rc"
grep -q "not a MIDI file" "$tmp/err" || fail "bad file not reported: $(cat "$tmp/err")"

# a real build: 3 s of the demo song plus a bad file (skipped), paths from --from
printf '%s\n# a comment\n%s\n' "$demo" "$tmp/bad.mid" >"$tmp/list.txt"
"$exe" dataset --from "$tmp/list.txt" -o "$tmp/ds" --max-seconds 3 2>"$tmp/err" || fail "build exit $?: $(cat "$tmp/err")"
grep -q "skipped: .*bad.mid" "$tmp/err" || fail "skip not reported: $(cat "$tmp/err")"
[ -f "$tmp/ds/shard-00000.safetensors" ] || fail "no shard"
[ -f "$tmp/ds/dataset.json" ] || fail "no dataset.json"
[ "$(ls "$tmp/ds/mix" | wc -l)" -eq 1 ] || fail "expected one mix file"
lines=$(wc -l <"$tmp/ds/index.jsonl")
[ "$lines" -ge 2 ] || fail "index has $lines lines"
grep -q '"instrument":128' "$tmp/ds/index.jsonl" || fail "no drum stem in the index"
grep -q '"split":"train"' "$tmp/ds/index.jsonl" || fail "no split field"
# 3 s cap: 1 + 132300 / 512 = 259 frames at most
if grep -o '"frames":[0-9]*' "$tmp/ds/index.jsonl" | cut -d: -f2 | awk '$1 > 259 { bad = 1 } END { exit !bad }'; then
    fail "a stem is longer than --max-seconds"
fi

# an existing dataset is kept unless --force
"$exe" dataset -o "$tmp/ds" "$demo" --max-seconds 1 2>"$tmp/err"; rc=$?
[ $rc -ne 0 ] || fail "overwrite without --force should fail"
grep -q -- "--force" "$tmp/err" || fail "overwrite message: $(cat "$tmp/err")"
"$exe" dataset -q -o "$tmp/ds" "$demo" --max-seconds 1 --no-mix --force 2>"$tmp/err" || fail "--force exit $?"
[ ! -s "$tmp/err" ] || fail "-q printed: $(cat "$tmp/err")"

[ $fails -eq 0 ] && echo "cli_dataset: all checks passed"
exit $((fails > 0))
