#!/bin/bash
# reference -> analyze -> invert on a few seconds of real music: the output
# exists, is 48 kHz 24-bit WAV, and its log-mel is close to the input's
# (and far closer than a different piece of music is).
# usage: cli_audio_roundtrip.sh MELODIFF SOURCE_DIR SCRATCH_DIR
set -u
MD=$1 TMP=$3
rm -rf "$TMP" && mkdir -p "$TMP" && cd "$TMP" || exit 1
MUSIC=/usr/share/games/simutrans/music
A=$MUSIC/04-Simutrans-B-Theme.mid B=$MUSIC/07-Transport-chaos.mid
if [ ! -f "$A" ] || [ ! -f "$B" ]; then
    echo "simutrans-data MIDI files are missing (apt-get install simutrans-data)"; exit 1
fi
fail() { echo "FAIL: $*"; exit 1; }

"$MD" reference "$A" --seconds 4 -o ref.wav || fail "reference"
"$MD" analyze ref.wav -o out/ || fail "analyze into a directory"
[ -s out/ref.mel.safetensors ] && [ -s out/ref.png ] || fail "analyze outputs missing: $(ls out)"
"$MD" invert out/ref.mel.safetensors -o inv.wav --quiet || fail "invert"
[ -s inv.wav ] || fail "no inverted output"

# WAV header: RIFF/WAVE, sample rate at byte 24, bits per sample at byte 34
[ "$(head -c 4 inv.wav)" = RIFF ] || fail "not RIFF"
rate=$(od -An -tu4 -j24 -N4 inv.wav | tr -d ' ')
bits=$(od -An -tu2 -j34 -N2 inv.wav | tr -d ' ')
[ "$rate" = 48000 ] || fail "sample rate $rate, expected 48000"
[ "$bits" = 24 ] || fail "bits per sample $bits, expected 24"

close=$("$MD" analyze inv.wav --against ref.wav) || fail "compare"
"$MD" reference "$B" --seconds 4 -o other.wav || fail "reference of the other piece"
far=$("$MD" analyze other.wav --against ref.wav) || fail "compare other"
echo "inverted vs reference: $close"
echo "other piece vs reference: $far"
lsd() { sed -n 's/.*"lsd_db": \([0-9.]*\).*/\1/p' <<<"$1"; }
awk -v c="$(lsd "$close")" -v f="$(lsd "$far")" 'BEGIN {
    if (c == "" || f == "") { print "FAIL: no lsd_db"; exit 1 }
    if (c > 3.0) { print "FAIL: round trip LSD " c " dB > 3 dB"; exit 1 }
    if (c * 4 > f) { print "FAIL: round trip LSD " c " dB not well below other-piece LSD " f; exit 1 }
    print "ok: round trip LSD " c " dB (other piece " f " dB)" }' || exit 1

# other formats and rates
"$MD" invert out/ref.mel.safetensors -o inv.flac --format flac --rate 44100 --iters 4 --threads 2 --quiet || fail "flac"
[ "$(head -c 4 inv.flac)" = fLaC ] || fail "not FLAC"
"$MD" invert out/ref.mel.safetensors -o inv16.wav --format wav16 --iters 2 --init random --seed 3 \
    --lufs -20 --quiet || fail "wav16 --lufs"
[ "$(od -An -tu2 -j34 -N2 inv16.wav | tr -d ' ')" = 16 ] || fail "wav16 bits"
# --verbose reports the spectral convergence of every iteration
"$MD" invert out/ref.mel.safetensors -o inv3.wav --iters 3 --verbose 2>verbose.txt || fail "verbose"
[ "$(grep -c 'spectral convergence' verbose.txt)" -ge 3 ] || fail "no per-iteration convergence"
# reference at 48 kHz, 16-bit
"$MD" reference "$A" --seconds 1 --rate 48000 --format wav16 -o ref48.wav || fail "reference 48k"
[ "$(od -An -tu4 -j24 -N4 ref48.wav | tr -d ' ')" = 48000 ] || fail "reference rate"
[ "$(od -An -tu2 -j34 -N2 ref48.wav | tr -d ' ')" = 16 ] || fail "reference bits"
echo "all passed"
