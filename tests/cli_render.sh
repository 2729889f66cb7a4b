#!/bin/bash
# `melodiff render` from the command line with the tiny golden model (random
# weights: this checks plumbing, files and errors, not sound quality):
# output layout and alignment, determinism, --force, --stems, and every
# failure exiting with its documented code, one line on stderr, nothing written.
# usage: cli_render.sh MELODIFF SOURCE_DIR SCRATCH_DIR
set -u
MD=$1 SRC=$2 TMP=$3
rm -rf "$TMP" && mkdir -p "$TMP" && cd "$TMP" || exit 1
MODEL=$SRC/tests/fixtures/unet/unet_tiny.safetensors
MIDI=$SRC/tests/fixtures/render/short.mid
# --prior off: these renders test the diffusion path, whatever note bank is about.
FAST=(--model "$MODEL" --prior off --steps 1 --guidance 1 --segment-frames 64 --overlap 16 --iters 2 -q)
BANK=$SRC/models/notebank.safetensors
. "$SRC/tests/lib_cli.sh"

# A render on the CPU backend: the layout, equal lengths, a valid manifest.
if "$MD" render "$MIDI" -o out1 "${FAST[@]}" --backend cpu --seed 7 2>err.txt; then
    for f in out1/mix.wav out1/mix.png out1/render.json out1/stems/01-vibes.wav out1/stems/01-vibes.png \
             out1/stems/02-drums.wav out1/stems/02-drums.png; do
        [ -s "$f" ] || fail "missing $f"
    done
    s1=$(stat -c %s out1/stems/01-vibes.wav); s2=$(stat -c %s out1/stems/02-drums.wav); s3=$(stat -c %s out1/mix.wav)
    [ "$s1" = "$s2" ] && [ "$s1" = "$s3" ] || fail "stems and mix differ in size: $s1 $s2 $s3"
    python3 - out1/render.json <<'PY' || fail "render.json"
import json, sys
m = json.load(open(sys.argv[1]))
assert m["settings"]["seed"] == 7 and m["backend"] == "cpu", m
assert len(m["input"]["sha256"]) == 64 and len(m["model"]["sha256"]) == 64
assert [s["file"] for s in m["stems"]] == ["stems/01-vibes.wav", "stems/02-drums.wav"]
assert m["output"]["rate"] == 48000 and m["output"]["format"] == "wav24"
assert m["output"]["mix_true_peak_dbtp"] is None or m["output"]["mix_true_peak_dbtp"] <= -0.9
PY
    echo "ok: render on the cpu backend"
else
    fail "render on the cpu backend"; cat err.txt
fi

# Same command, same seed: identical files. Another seed: different files.
"$MD" render "$MIDI" -o out2 "${FAST[@]}" --backend cpu --seed 7 || fail "second render"
cmp -s out1/mix.wav out2/mix.wav && echo "ok: same seed, same mix" || fail "same seed gave a different mix"
"$MD" render "$MIDI" -o out3 "${FAST[@]}" --backend cpu --seed 8 || fail "third render"
cmp -s out1/mix.wav out3/mix.wav && fail "another seed gave the same mix" || echo "ok: another seed, another mix"

# The Vulkan backend (lavapipe here, validation layer on) renders the same song.
if "$MD" render "$MIDI" -o outv "${FAST[@]}" --backend vulkan --seed 7 2>err.txt; then
    grep -q '"backend":[[:space:]]*"vulkan"' outv/render.json && echo "ok: vulkan render" || fail "vulkan manifest"
else
    fail "vulkan render"; cat err.txt
fi

# --backend auto (the default): a GPU when there is one, else the CPU backend;
# lavapipe (a Vulkan device of type cpu) does not count as a GPU.
"$MD" render "$MIDI" -o outa "${FAST[@]}" --seed 7 || fail "auto backend render"
want=cpu
"$MD" devices 2>/dev/null | grep -q "type \(discrete\|integrated\|virtual\|other\)" && want=vulkan
python3 -c "import json,sys; m=json.load(open('outa/render.json')); sys.exit(m['backend'] != sys.argv[1])" "$want" \
    && echo "ok: auto picked $want" || fail "auto backend: expected $want"
cmp -s outa/mix.wav out1/mix.wav && echo "ok: auto on the cpu equals --backend cpu" || [ "$want" = vulkan ] \
    || fail "auto (cpu) and --backend cpu differ"

# --stems picks stems; --force replaces; without it an existing render is kept.
"$MD" render "$MIDI" -o out4 "${FAST[@]}" --backend cpu --stems drums || fail "--stems drums"
[ -f out4/stems/02-drums.wav ] && [ ! -e out4/stems/01-vibes.wav ] && echo "ok: --stems" || fail "--stems selection"
expect 1 "existing render without --force" "" -- "$MD" render "$MIDI" -o out4 "${FAST[@]}" --backend cpu
"$MD" render "$MIDI" -o out4 "${FAST[@]}" --backend cpu --force && echo "ok: --force" || fail "--force"

# --seconds renders a preview: the first S seconds plus the 1 s release tail.
"$MD" render "$MIDI" -o out5 "${FAST[@]}" --backend cpu --seconds 0.5 || fail "--seconds"
python3 -c "import json,sys; m=json.load(open('out5/render.json')); sys.exit(m['output']['samples'] != 72000)" \
    && echo "ok: --seconds 0.5 gives 1.5 s" || fail "--seconds length"

# Griffin-Lim in chunks of 66 frames (the song is ~4 s, ~350 frames: 6 chunks):
# same layout and length, and the render stays deterministic.
"$MD" render "$MIDI" -o out6 "${FAST[@]}" --backend cpu --seed 7 --gl-chunk 66 || fail "--gl-chunk 66"
"$MD" render "$MIDI" -o out7 "${FAST[@]}" --backend cpu --seed 7 --gl-chunk 66 || fail "--gl-chunk 66 again"
[ "$(stat -c %s out6/mix.wav)" = "$(stat -c %s out1/mix.wav)" ] && cmp -s out6/mix.wav out7/mix.wav \
    && cmp -s out6/stems/02-drums.wav out7/stems/02-drums.wav && echo "ok: chunked vocoder" || fail "--gl-chunk 66 output"
grep -q '"chunk_frames":[[:space:]]*66' out6/render.json || fail "chunk_frames in render.json"

# Griffin-Lim on 2 threads: deterministic run to run (the split depends on the
# count only), the same length, and recorded in the manifest.
"$MD" render "$MIDI" -o out6t "${FAST[@]}" --backend cpu --seed 7 --threads 2 || fail "--threads 2"
"$MD" render "$MIDI" -o out7t "${FAST[@]}" --backend cpu --seed 7 --threads 2 || fail "--threads 2 again"
[ "$(stat -c %s out6t/mix.wav)" = "$(stat -c %s out1/mix.wav)" ] && cmp -s out6t/mix.wav out7t/mix.wav \
    && echo "ok: Griffin-Lim threads" || fail "--threads 2 output"
grep -q '"threads":[[:space:]]*2' out6t/render.json || fail "threads in render.json"
expect 2 "threads" outT -- "$MD" render "$MIDI" -o outT --threads 0

# Two stems rendered at once on the CPU backend (--jobs 2: two denoisers, two
# threads, OpenBLAS called from both): the same files as one at a time; the
# GPU backend renders stems one after another whatever --jobs says.
"$MD" render "$MIDI" -o outj1 "${FAST[@]}" --backend cpu --seed 7 --jobs 1 || fail "--jobs 1"
"$MD" render "$MIDI" -o outj2 "${FAST[@]}" --backend cpu --seed 7 --jobs 2 || fail "--jobs 2"
same=1
files=$(cd outj1 && ls mix.wav stems/*.wav stems/*.png)
[ "$(echo "$files" | wc -l)" -ge 5 ] || fail "--jobs 1: expected a mix and stems, got: $files"
for f in $files; do cmp -s "outj1/$f" "outj2/$f" || { same=0; fail "--jobs 2: $f differs"; }; done
[ $same = 1 ] && echo "ok: --jobs 2 gives the same files as --jobs 1"
python3 -c "import json,sys; sys.exit(json.load(open('outj2/render.json'))['workers'] != 2)" || fail "workers in render.json"
"$MD" render "$MIDI" -o outj4 "${FAST[@]}" --backend cpu-ref --seed 7 --jobs 2 || fail "--jobs 2 on cpu-ref"
python3 -c "import json,sys; sys.exit(json.load(open('outj4/render.json'))['workers'] != 2)" || fail "cpu-ref: two workers"
"$MD" render "$MIDI" -o outj3 "${FAST[@]}" --backend vulkan --seed 7 --jobs 4 || fail "--jobs 4 on vulkan"
python3 -c "import json,sys; sys.exit(json.load(open('outj3/render.json'))['workers'] != 1)" || fail "vulkan: one worker"
expect 2 "jobs" outJ -- "$MD" render "$MIDI" -o outJ --jobs 0

# Both stems in one U-Net batch (--batch 2: one forward of 2 stems x 2
# branches per step) on Vulkan, then vocoded side by side (--jobs 2): the
# same files as one stem at a time, and render.json says how many stems
# shared a pass and how many were vocoded at once; lavapipe's default is 1.
B=(--model "$MODEL" --steps 2 --guidance 1.5 --segment-frames 64 --overlap 16 --iters 2 -q --seed 7 --backend vulkan)
"$MD" render "$MIDI" -o outb1 "${B[@]}" --batch 1 || fail "--batch 1"
"$MD" render "$MIDI" -o outb2 "${B[@]}" --batch 2 --jobs 2 || fail "--batch 2 --jobs 2"
"$MD" render "$MIDI" -o outb0 "${B[@]}" || fail "default --batch"
same=1
for f in $(cd outb1 && ls mix.wav stems/*.wav stems/*.png); do
    cmp -s "outb1/$f" "outb2/$f" || { same=0; fail "--batch 2: $f differs"; }
done
[ $same = 1 ] && echo "ok: --batch 2 gives the same files as --batch 1"
python3 -c "import json,sys; m=json.load(open('outb2/render.json')); sys.exit(m['batch_stems'] != 2 or m['vocode_jobs'] != 2)" \
    || fail "batch_stems 2, vocode_jobs 2"
python3 -c "import json,sys; sys.exit(json.load(open('outb0/render.json'))['batch_stems'] != 1)" || fail "lavapipe: batch 1"
expect 2 "batch 0" outB -- "$MD" render "$MIDI" -o outB --batch 0
expect 2 "batch too large" outB -- "$MD" render "$MIDI" -o outB --batch 33

# --gate off samples every segment (render.json counts none silent and
# says false); a bad value is a usage error.
"$MD" render "$MIDI" -o outs0 "${FAST[@]}" --backend cpu --gate off || fail "--gate off"
python3 -c "import json,sys; m=json.load(open('outs0/render.json')); sys.exit(m['settings']['gate_margin_seconds'] is not False or any(s['silent_segments'] for s in m['stems']))" \
    || fail "--gate off in render.json"
expect 2 "gate" outS -- "$MD" render "$MIDI" -o outS --gate soon

# Guidance in an interval: render.json records it; a bad one is a usage error.
"$MD" render "$MIDI" -o outgi "${FAST[@]}" --backend cpu --guidance 1.5 --guidance-interval 0.3,0.8 || fail "--guidance-interval"
python3 -c "import json,sys; sys.exit(json.load(open('outgi/render.json'))['settings'].get('guidance_interval') != [0.3, 0.8])" \
    || fail "guidance_interval in render.json"
expect 2 "guidance-interval" outGI -- "$MD" render "$MIDI" -o outGI --guidance-interval 0.8,0.3

# Griffin-Lim on the Vulkan device (--gl-device gpu, here lavapipe; the
# model stays on the CPU backend): render.json names the device, the files
# are the same run to run, and auto keeps lavapipe's Griffin-Lim on the CPU.
"$MD" render "$MIDI" -o outv1 "${FAST[@]}" --backend cpu --gl-device gpu || fail "--gl-device gpu"
"$MD" render "$MIDI" -o outv2 "${FAST[@]}" --backend cpu --gl-device gpu || fail "--gl-device gpu again"
cmp -s outv1/mix.wav outv2/mix.wav || fail "--gl-device gpu: mix differs run to run"
python3 -c "import json,sys; d=json.load(open('outv1/render.json'))['settings']['vocoder']['device']; sys.exit(d == 'cpu (fftw)')" \
    || fail "--gl-device gpu: render.json names no Vulkan device"
python3 -c "import json,sys; sys.exit(json.load(open('outb0/render.json'))['settings']['vocoder']['device'] != 'cpu (fftw)')" \
    || fail "auto on lavapipe: Griffin-Lim should stay on the CPU"
expect 2 "gl-device" outV -- "$MD" render "$MIDI" -o outV --gl-device tpu

# Guidance 1.5 (each step one batch-2 U-Net forward on both branches) on
# Vulkan with --precision fp32: byte-identical run to run, and render.json
# records the precision and conv kernels actually used.
G15=(--model "$MODEL" --steps 2 --guidance 1.5 --segment-frames 64 --overlap 16 --iters 2 -q --seed 7)
"$MD" render "$MIDI" -o outg1 "${G15[@]}" --backend vulkan --precision fp32 || fail "guidance 1.5 render"
"$MD" render "$MIDI" -o outg2 "${G15[@]}" --backend vulkan --precision fp32 || fail "guidance 1.5 render again"
cmp -s outg1/mix.wav outg2/mix.wav && cmp -s outg1/stems/01-vibes.wav outg2/stems/01-vibes.wav \
    && echo "ok: guidance 1.5, same seed, same files" || fail "guidance 1.5 gave different files"
python3 -c "import json,sys; m=json.load(open('outg1/render.json')); sys.exit(not (m['precision'] == 'fp32' and m['conv_kernels'] in ('reg', 'tiled') and m['settings']['guidance'] == 1.5))" \
    && echo "ok: precision in render.json" || fail "precision / conv_kernels in render.json"

# Mix level: the limiter reaches -16 LUFS where the peak-safe gain stops short
# (render.json says which), and --lufs keep leaves the rendered level alone.
"$MD" render "$MIDI" -o outl1 "${FAST[@]}" --backend cpu --seed 7 --limit-db 0 || fail "--limit-db 0"
"$MD" render "$MIDI" -o outl2 "${FAST[@]}" --backend cpu --seed 7 --lufs keep --vocoder gl || fail "--lufs keep"
python3 - out1/render.json outl1/render.json outl2/render.json <<'PY' && echo "ok: mix level" || fail "mix level"
import json, sys
lim, plain, keep = (json.load(open(f))["output"] for f in sys.argv[1:])
assert lim["limiter"]["on"] and not plain["limiter"]["on"], (lim, plain)
assert abs(lim["mix_lufs"] + 16) <= 0.1 and plain["mix_lufs"] < lim["mix_lufs"] - 1, (lim, plain)
assert lim["mix_true_peak_dbtp"] <= -0.99 and plain["mix_true_peak_dbtp"] <= -0.99
assert keep["lufs_target"] is None and keep["gain_db"] <= 0, keep
PY

# The note bank (--prior): stems drawn with no model pass, identical run to
# run, the manifest naming the bank; found by default in ./models/ and
# through $MELODIFF_NOTEBANK; a shallow refinement (--prior T) runs the model
# and says so.
NB=(--model "$MODEL" --segment-frames 64 --overlap 16 --iters 2 -q --backend cpu)
if "$MD" render "$MIDI" -o outp1 "${NB[@]}" --prior 0 --notebank "$BANK" 2>err.txt &&
   "$MD" render "$MIDI" -o outp2 "${NB[@]}" --prior 0 --notebank "$BANK" 2>>err.txt; then
    cmp -s outp1/mix.wav outp2/mix.wav && echo "ok: note bank render, same files twice" || fail "note bank render differs run to run"
    s1=$(stat -c %s outp1/stems/01-vibes.wav); s2=$(stat -c %s outp1/stems/02-drums.wav)
    [ "$s1" = "$s2" ] || fail "note bank stems differ in size: $s1 $s2"
    python3 - outp1/render.json <<'PY' || fail "note bank render.json"
import json, sys
m = json.load(open(sys.argv[1]))
s = m["settings"]
assert s["source"] == "notebank" and s["notebank"]["start_t"] == 0, s
assert len(s["notebank"]["sha256"]) == 64 and s["notebank"]["path"].endswith("notebank.safetensors")
PY
else
    fail "note bank render"; cat err.txt
fi
mkdir -p cwd/models && ln -sf "$BANK" cwd/models/notebank.safetensors
(cd cwd && "$MD" render "$MIDI" -o ../outp3 "${NB[@]}") || fail "render with the bank in ./models"
grep -q '"source":[[:space:]]*"notebank"' outp3/render.json && echo "ok: ./models/notebank.safetensors is the default" \
    || fail "the bank in ./models was not used by default"
MELODIFF_NOTEBANK=$BANK "$MD" render "$MIDI" -o outp4 "${NB[@]}" || fail "render with \$MELODIFF_NOTEBANK"
cmp -s outp1/mix.wav outp4/mix.wav && echo "ok: \$MELODIFF_NOTEBANK" || fail "\$MELODIFF_NOTEBANK gave another mix"
"$MD" render "$MIDI" -o outp5 "${NB[@]}" --notebank "$BANK" --prior 0.3 --steps 1 --guidance 1 || fail "shallow render"
grep -q '"source":[[:space:]]*"notebank+diffusion"' outp5/render.json && ! cmp -s outp1/mix.wav outp5/mix.wav \
    && echo "ok: shallow diffusion from the bank" || fail "shallow diffusion manifest or files"
"$MD" render "$MIDI" -o outp6 "${NB[@]}" || fail "render without a bank"
grep -q '"source":[[:space:]]*"diffusion"' outp6/render.json && echo "ok: no bank found: the model alone" \
    || fail "no bank: not the model alone"
head -c 3000 "$BANK" >truncated_bank.safetensors
expect 4 "missing note bank" outN1 -- "$MD" render "$MIDI" -o outN1 "${NB[@]}" --prior 0 --notebank nothere.safetensors
expect 4 "truncated note bank" outN2 -- "$MD" render "$MIDI" -o outN2 "${NB[@]}" --notebank truncated_bank.safetensors
expect 4 "a model is not a note bank" outN3 -- "$MD" render "$MIDI" -o outN3 "${NB[@]}" --notebank "$MODEL"
expect 2 "--prior out of range" outN4 -- "$MD" render "$MIDI" -o outN4 "${NB[@]}" --prior 1.5

# A refiner (a model whose conditioning image is the drawing): by default it
# refines the bank's drawing from t = min(0.1, its t_max) in one DDIM step, guidance 1;
# it cannot sample from noise, start above its t_max, guide without an
# unconditional branch, or run without a bank.
REF=$SRC/tests/fixtures/unet/unet_tiny_refiner.safetensors
RF=(--model "$REF" --segment-frames 64 --overlap 16 --iters 2 -q --backend cpu)
if "$MD" render "$MIDI" -o outr1 "${RF[@]}" --notebank "$BANK" 2>err.txt; then
    python3 - outr1/render.json <<'PY' || fail "refiner render.json"
import json, sys
s = json.load(open(sys.argv[1]))["settings"]
assert s["source"] == "notebank+diffusion" and abs(s["notebank"]["start_t"] - 0.1) < 1e-6 and s["sampler"] == "ddim" and s["steps"] == 1, s
assert s["guidance"] == 1 and s["refiner"] is True, s
PY
    ! cmp -s outp1/mix.wav outr1/mix.wav && echo "ok: a refiner refines the drawing by default" \
        || fail "the refiner left the drawing as it was"
else
    fail "refiner render"; cat err.txt
fi
# Left to itself, a render with a bank uses the shipped refiner; --prior
# given, or $MELODIFF_MODEL, picks the general model.
mkdir -p cwd2/models && ln -sf "$BANK" cwd2/models/notebank.safetensors && ln -sf "$REF" cwd2/models/refiner.safetensors \
    && ln -sf "$MODEL" cwd2/models/unet.safetensors
(cd cwd2 && "$MD" render "$MIDI" -o ../outr2 -q --backend cpu --segment-frames 64 --overlap 16 --iters 2 \
    && "$MD" render "$MIDI" -o ../outr3 -q --backend cpu --segment-frames 64 --overlap 16 --iters 2 --prior 0 \
    && MELODIFF_MODEL=$MODEL "$MD" render "$MIDI" -o ../outr4 -q --backend cpu --segment-frames 64 --overlap 16 --iters 2) \
    || fail "renders in a directory that ships a refiner"
python3 - outr2/render.json outr3/render.json outr4/render.json <<'PY' && echo "ok: the shipped refiner is the default" \
    || fail "default model choice"
import json, sys
r2, r3, r4 = (json.load(open(p)) for p in sys.argv[1:])
assert r2["model"]["path"] == "models/refiner.safetensors" and r2["settings"]["refiner"], r2["model"]
assert r3["model"]["path"] == "models/unet.safetensors" and r3["settings"]["source"] == "notebank", r3["model"]
assert r4["model"]["path"].endswith("unet_tiny.safetensors") and not r4["settings"]["refiner"], r4["model"]
PY
expect 2 "a refiner does not sample from noise" outR1 -- "$MD" render "$MIDI" -o outR1 "${RF[@]}" --notebank "$BANK" --prior off
expect 2 "a refiner above its t_max" outR2 -- "$MD" render "$MIDI" -o outR2 "${RF[@]}" --notebank "$BANK" --prior 0.8
expect 2 "a refiner has no unconditional branch" outR3 -- "$MD" render "$MIDI" -o outR3 "${RF[@]}" --notebank "$BANK" --guidance 2
expect 4 "a refiner without its bank" outR4 -- "$MD" render "$MIDI" -o outR4 "${RF[@]}" --notebank nothere.safetensors

# Failures: exit code, one line, nothing written.
printf 'not a midi file\n' >text.mid
head -c 5000 "$MODEL" >truncated.safetensors
expect 2 "--gl-chunk too small" outE -- "$MD" render "$MIDI" -o outE "${FAST[@]}" --backend cpu --gl-chunk 10
expect 3 "not a MIDI file" outA -- "$MD" render text.mid -o outA "${FAST[@]}" --backend cpu
expect 3 "missing MIDI file" outB -- "$MD" render nothere.mid -o outB "${FAST[@]}" --backend cpu
expect 4 "missing model" outC -- "$MD" render "$MIDI" -o outC --model nothere.safetensors --backend cpu
expect 4 "truncated model" outD -- "$MD" render "$MIDI" -o outD --model truncated.safetensors --backend cpu
expect 4 "a mel file is not a model" outE -- "$MD" render "$MIDI" -o outE --model "$SRC/tests/fixtures/unet/unet_tiny_io.safetensors" --backend cpu
expect 3 "song over --max-seconds" outF -- "$MD" render "$MIDI" -o outF "${FAST[@]}" --backend cpu --max-seconds 1
expect 2 "no stem matches --stems" outG -- "$MD" render "$MIDI" -o outG "${FAST[@]}" --backend cpu --stems flute
expect 2 "unknown sampler" outH -- "$MD" render "$MIDI" -o outH --sampler euler
expect 2 "negative --limit-db" outK -- "$MD" render "$MIDI" -o outK --limit-db -3
expect 2 "unknown vocoder" outL -- "$MD" render "$MIDI" -o outL --vocoder hifigan
expect 2 "unknown precision" outJ -- "$MD" render "$MIDI" -o outJ --precision bf16
expect 2 "missing -o" "" -- "$MD" render "$MIDI"
VK_ICD_FILENAMES=/nonexistent/icd.json VK_DRIVER_FILES=/nonexistent/icd.json \
    expect 5 "no Vulkan driver with --backend vulkan" outI -- "$MD" render "$MIDI" -o outI "${FAST[@]}" --backend vulkan
VK_ICD_FILENAMES=/nonexistent/icd.json VK_DRIVER_FILES=/nonexistent/icd.json \
    expect 5 "no Vulkan driver with --gl-device gpu" outI -- "$MD" render "$MIDI" -o outI "${FAST[@]}" --backend cpu --gl-device gpu

finish
