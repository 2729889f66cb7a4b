#!/bin/bash
# `melodiff notebank` from the command line: a small bank (one program, every
# octave) is written, loads in a render, and is the same file twice; bad
# options and a missing or broken SoundFont fail with their exit codes, one
# line on stderr, nothing written.
# usage: cli_notebank.sh MELODIFF SOURCE_DIR SCRATCH_DIR
set -u
MD=$1 SRC=$2 TMP=$3
rm -rf "$TMP" && mkdir -p "$TMP" && cd "$TMP" || exit 1
. "$SRC/tests/lib_cli.sh"
# libinstpatch, under fluidsynth, complains about a broken SoundFont on its own
EXPECT_NOISE='CRITICAL|^$'

SMALL=(--programs 0-0 --key-step 12 --jobs 2 -q)
if "$MD" notebank -o a.safetensors "${SMALL[@]}" && "$MD" notebank -o b.safetensors "${SMALL[@]}"; then
    cmp -s a.safetensors b.safetensors && echo "ok: same bank twice" || fail "two builds differ"
    "$MD" notebank -o a.safetensors "${SMALL[@]}" 2>err.txt && fail "replaced a bank without --force"
    "$MD" render "$SRC/tests/fixtures/render/short.mid" -o out --model "$SRC/tests/fixtures/unet/unet_tiny.safetensors" \
        --notebank a.safetensors --segment-frames 64 --overlap 16 --iters 2 -q --backend cpu \
        && grep -q '"source":[[:space:]]*"notebank"' out/render.json && echo "ok: a render draws from the new bank" \
        || fail "render with the new bank"
else
    fail "building a small bank"
fi
expect 2 "--programs out of order" c.safetensors -- "$MD" notebank -o c.safetensors --programs 5-2
expect 2 "--key-step 0" c.safetensors -- "$MD" notebank -o c.safetensors --key-step 0
expect 2 "no -o" "" -- "$MD" notebank --programs 0-0
expect 3 "missing SoundFont" c.safetensors -- "$MD" notebank -o c.safetensors "${SMALL[@]}" --soundfont nothere.sf2
printf 'not a soundfont\n' >bad.sf2
expect 3 "not a SoundFont" c.safetensors -- "$MD" notebank -o c.safetensors "${SMALL[@]}" --soundfont bad.sf2

finish
