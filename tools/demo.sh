#!/usr/bin/env bash
# Quick start, command 1: installs what melodiff needs, builds it, and turns
# the sample MIDI file into audio.
#
# Until `melodiff render` (the diffusion model) lands, the demo exercises the
# audio path end to end: the dry FluidSynth reference render of the sample is
# analysed to a log-mel spectrogram (the representation the diffusion model
# paints) and turned back into a 48 kHz / 24-bit WAV by Griffin-Lim.
#
#   tools/demo.sh [MIDI] [OUTDIR]     defaults: samples/demo.mid out/demo
set -euo pipefail
cd "$(dirname "$0")/.."
MIDI=${1:-samples/demo.mid}
OUT=${2:-out/demo}

bash tools/setup-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target melodiff

mkdir -p "$OUT"
M=build/melodiff
$M midi "$MIDI"
$M reference "$MIDI" -o "$OUT/reference.wav" --rate 44100 --force
$M analyze "$OUT/reference.wav" -o "$OUT/reference" --force
$M invert "$OUT/reference.mel.safetensors" -o "$OUT/demo.wav" --lufs -16 --force
echo "demo: wrote $OUT/demo.wav (Griffin-Lim from the log-mel of $OUT/reference.wav) and $OUT/reference.png"
