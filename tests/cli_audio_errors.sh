#!/bin/bash
# CLI error handling of analyze / invert / reference: each failure exits with
# the documented code, prints exactly one line on stderr and creates nothing.
# usage: cli_audio_errors.sh MELODIFF SOURCE_DIR SCRATCH_DIR
set -u
MD=$1 SRC=$2 TMP=$3
rm -rf "$TMP" && mkdir -p "$TMP" && cd "$TMP" || exit 1
fails=0

# expect CODE DESCRIPTION OUTPUT_THAT_MUST_NOT_EXIST -- command...
expect() {
    local code=$1 what=$2 out=$3
    shift 4
    "$@" >stdout.txt 2>stderr.txt
    local rc=$? lines
    lines=$(wc -l <stderr.txt)
    if [ "$rc" != "$code" ]; then
        echo "FAIL: $what: exit $rc, expected $code"; cat stderr.txt; fails=$((fails + 1))
    elif [ "$code" != 0 ] && [ "$lines" != 1 ]; then
        echo "FAIL: $what: $lines lines on stderr, expected 1"; cat stderr.txt; fails=$((fails + 1))
    elif [ -n "$out" ] && compgen -G "$out*" >/dev/null; then
        echo "FAIL: $what: output $out was created"; fails=$((fails + 1))
    else
        echo "ok: $what (exit $rc): $(head -c 200 stderr.txt)"
    fi
}

printf 'this is a text file, not audio\n' >text.wav
printf 'MThd but not really\n' >fake.mid

expect 3 "analyze: missing input" ana1 -- "$MD" analyze missing.wav -o ana1
expect 3 "analyze: text file named .wav" ana2 -- "$MD" analyze text.wav -o ana2
expect 3 "invert: missing mel file" inv1.wav -- "$MD" invert missing.mel.safetensors -o inv1.wav
expect 3 "invert: text file as mel file" inv2.wav -- "$MD" invert text.wav -o inv2.wav
expect 4 "invert: mel file under another contract" inv3.wav -- \
    "$MD" invert "$SRC/tests/fixtures/audio/other_contract.mel.safetensors" -o inv3.wav
expect 3 "reference: not a MIDI file" ref1.wav -- "$MD" reference text.wav -o ref1.wav
expect 3 "reference: truncated MIDI file" ref2.wav -- "$MD" reference fake.mid -o ref2.wav
expect 3 "reference: missing MIDI file" ref3.wav -- "$MD" reference missing.mid -o ref3.wav
expect 2 "invert: no output" "" -- "$MD" invert x.mel.safetensors
expect 2 "invert: bad rate" inv4.wav -- "$MD" invert x.mel.safetensors -o inv4.wav --rate 22050
expect 2 "invert: bad init" inv5.wav -- "$MD" invert x.mel.safetensors -o inv5.wav --init nope
expect 2 "analyze: two inputs" "" -- "$MD" analyze a.wav b.wav -o ana3
expect 2 "invert: unknown option" inv6.wav -- "$MD" invert x.mel.safetensors -o inv6.wav --bogus
expect 2 "reference: missing option value" "" -- "$MD" reference x.mid -o
expect 0 "invert --help" "" -- "$MD" invert --help
grep -q -- "--momentum" stdout.txt || { echo "FAIL: invert --help lacks --momentum"; fails=$((fails + 1)); }
expect 0 "analyze --help" "" -- "$MD" analyze --help
grep -q "OUT.mel.safetensors" stdout.txt || { echo "FAIL: analyze --help lacks naming"; fails=$((fails + 1)); }

# an existing output is never replaced without --force (exit 1), and is with it
MID=$(ls /usr/share/games/simutrans/music/*.mid 2>/dev/null | head -n 1)
if [ -n "$MID" ]; then
    printf 'keep me\n' >existing.wav
    expect 1 "reference: existing output" "" -- "$MD" reference "$MID" --seconds 0.5 -o existing.wav
    if [ "$(cat existing.wav)" != "keep me" ]; then echo "FAIL: existing output was replaced"; fails=$((fails + 1)); fi
    expect 0 "reference --force" "" -- "$MD" reference "$MID" --seconds 0.5 -o existing.wav --force
    if [ "$(head -c 4 existing.wav)" != "RIFF" ]; then echo "FAIL: --force did not replace"; fails=$((fails + 1)); fi
    ls -a | grep -q '^\..*tmp' && { echo "FAIL: temporary files left behind"; ls -a; fails=$((fails + 1)); }
fi

if [ "$fails" != 0 ]; then echo "$fails failure(s)"; exit 1; fi
echo "all passed"
