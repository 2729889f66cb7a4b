#!/usr/bin/env bash
# Quick start, command 1: installs what melodiff needs, builds it, and renders
# the sample MIDI file to stems with the shipped model.
#
#   tools/demo.sh [MIDI] [OUTDIR] [extra render options...]
#   defaults: samples/demo.mid out/demo
#
# Writes OUTDIR/stems/*.wav (48 kHz / 24-bit, one per instrument), OUTDIR/mix.wav,
# spectrogram PNGs, OUTDIR/render.json, and OUTDIR/reference.wav: the dry
# FluidSynth render of the same file, to listen to side by side.
#
# The demo renders with `melodiff render`'s defaults: every stem drawn from the
# note bank (models/notebank.safetensors, docs/notebank.md) and refined by one
# DDIM step of the refiner U-Net (models/refiner.safetensors, models/refiner.md),
# about 9 s for this 30 s, 4-stem song on the 2-core development VM. Add
# `--prior 0` after the output directory for the drawing alone (about 6 s), or
# `--prior off` to sample every stem from noise with the general diffusion model
# (models/unet.safetensors: about 100 s on that VM, and further from the
# reference; BENCHMARKS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
MIDI=${1:-samples/demo.mid}
OUT=${2:-out/demo}
shift $(( $# > 2 ? 2 : $# ))

bash tools/setup-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target melodiff

M=build/melodiff
$M midi "$MIDI"
start=$(date +%s)
$M render "$MIDI" -o "$OUT" --force "$@"
$M reference "$MIDI" -o "$OUT/reference.wav" --force -q
echo "demo: rendered $MIDI in $(( $(date +%s) - start )) s: $OUT/mix.wav, $OUT/stems/, $OUT/render.json" \
     "(reference render for comparison: $OUT/reference.wav)"
