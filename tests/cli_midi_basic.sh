#!/usr/bin/env bash
# `melodiff midi`: summary, --json, grouping, usage errors and bad files.
# usage: cli_midi_basic.sh <melodiff> <source dir> <scratch dir>
set -u
exe=$1 src=$2 tmp=$3
mkdir -p "$tmp"
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

demo="$src/samples/demo.mid"

# summary
out=$("$exe" midi "$demo" 2>"$tmp/err") || fail "summary exit $?"
grep -q "format 1, 5 tracks" <<<"$out" || fail "summary header: $out"
grep -q "Flute" <<<"$out" || fail "summary lists the GM instrument"
grep -q "drums: Standard Kit" <<<"$out" || fail "summary lists the drum stem"
grep -q "108.00 bpm" <<<"$out" || fail "summary lists the tempo change"
[ ! -s "$tmp/err" ] || fail "summary wrote to stderr: $(cat "$tmp/err")"

# --json parses and has every stem's notes
"$exe" midi --json "$demo" >"$tmp/demo.json" || fail "--json exit $?"
python3 - "$tmp/demo.json" <<'PY' || fail "--json output"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["format"] == 1 and d["ppq"] == 480, d.keys()
stems = d["stems"]
assert [s["name"] for s in stems] == ["Piano", "Bass", "Lead", "Drums"], stems
assert sum(len(s["notes"]) for s in stems) == d["n_notes"] == 298
assert stems[3]["drums"] is True and stems[3]["instrument"] == 128
n = stems[0]["notes"][0]
assert 0 <= n["start"] <= n["end"] and 0 <= n["pitch"] < 128, n
assert len(d["tempo_changes"]) == 2
PY

# --group program merges tracks that share an instrument
out=$("$exe" midi --group program "$demo") || fail "--group program exit $?"
grep -q "track" <<<"$out" || fail "--group program summary"

# usage errors exit 2
"$exe" midi >/dev/null 2>&1; [ $? -eq 2 ] || fail "no file: want exit 2"
"$exe" midi --group nonsense "$demo" >/dev/null 2>&1; [ $? -eq 2 ] || fail "bad --group: want exit 2"
"$exe" midi --bogus "$demo" >/dev/null 2>&1; [ $? -eq 2 ] || fail "unknown option: want exit 2"
"$exe" midi "$demo" "$demo" >/dev/null 2>&1; [ $? -eq 2 ] || fail "two files: want exit 2"
"$exe" midi --help >"$tmp/help" 2>&1 || fail "--help exit $?"
grep -q "usage: melodiff midi" "$tmp/help" || fail "--help text"

# not a MIDI file: exit 3, one line naming the file
printf 'this is not a MIDI file\n' >"$tmp/notmidi.mid"
"$exe" midi "$tmp/notmidi.mid" >"$tmp/out" 2>"$tmp/err"; rc=$?
[ $rc -eq 3 ] || fail "not MIDI: exit $rc, want 3"
[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "not MIDI: want one line, got: $(cat "$tmp/err")"
grep -q "notmidi.mid: not a MIDI file" "$tmp/err" || fail "not MIDI message: $(cat "$tmp/err")"
[ ! -s "$tmp/out" ] || fail "not MIDI wrote to stdout"

# missing file: exit 3
"$exe" midi "$tmp/does-not-exist.mid" 2>"$tmp/err"; rc=$?
[ $rc -eq 3 ] || fail "missing file: exit $rc, want 3"
grep -q "does-not-exist.mid: cannot open" "$tmp/err" || fail "missing file message: $(cat "$tmp/err")"

# a broken but readable file: warnings on stderr, exit 0; --quiet silences them
head -c 200 "$demo" >"$tmp/cut.mid"
"$exe" midi "$tmp/cut.mid" >/dev/null 2>"$tmp/err" || fail "cut file: exit $?"
grep -q "warning" "$tmp/err" || fail "cut file: want a warning"
"$exe" midi -q "$tmp/cut.mid" >/dev/null 2>"$tmp/err" || fail "cut file -q: exit $?"
[ ! -s "$tmp/err" ] || fail "-q still warned: $(cat "$tmp/err")"

[ $fails -eq 0 ] && echo "cli_midi_basic: all passed"
exit $((fails > 0))
