#!/bin/bash
# One training call on a bare GPU machine that cannot render data itself
# (docs/training.md, "Training on a GPU machine"). Run from the repository root:
#
#   PACKS="data/pack/part-0.mdpk" MINUTES=8 OUT=/path/out tools/train/gpu_train.sh [train.py args]
#
# Unpacks the packed data it is given (pack.py) into data/ds-gpu (adding to
# what an earlier call on the same machine left there), resumes runs/gpu if
# a checkpoint is there, else from $RESUME (ckpt_split.py prefix, its EMA in
# $RESUME.safetensors) if set,
# else starts a new run; trains for $MINUTES; then writes the split
# checkpoint, the exported EMA model and the loss log to $OUT.
set -euo pipefail
: "${PACKS:?PACKS: packed data files}" "${MINUTES:?MINUTES: training minutes}" "${OUT:?OUT: output folder}"
RUN=runs/gpu DATA=data/ds-gpu
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true

# data: everything packed so far, unpacked together (the index is rewritten)
mkdir -p data/packs-seen
for p in $PACKS; do cp -n "$p" data/packs-seen/; done
rm -rf "$DATA"
python3 tools/train/pack.py unpack data/packs-seen/*.mdpk -o "$DATA"

resume=()
if [ -f "$RUN/ckpt.pt" ]; then
    resume=(--resume)
elif [ -n "${RESUME:-}" ]; then
    mkdir -p "$RUN"
    python3 tools/train/ckpt_split.py join "$RESUME" "$RESUME.safetensors" "$RUN/ckpt.pt"
    resume=(--resume)
fi
python3 tools/train/train.py --data "$DATA" --out "$RUN" --device "${DEVICE:-cuda}" --sampler device \
    --max-minutes "$MINUTES" "${resume[@]}" "$@"
tail -n 3 "$RUN/loss.jsonl"

python3 tools/train/ckpt_split.py split "$RUN/ckpt.pt" "$OUT/ckpt"
python3 tools/train/export.py "$RUN/ckpt.pt" "$OUT/ckpt.safetensors" --force --note "GPU run, see models/unet.md"
cp "$RUN/loss.jsonl" "$OUT/loss.jsonl"
ls -la "$OUT"
