#!/usr/bin/env bash
# On a lent GPU machine, from the repository root, with .gpu-kit carried
# (tools/gpu/kit.sh made it on the VM): the GPU tests with the validation
# layer on, then the whole-song render benchmark at the render defaults with
# 1, 4 and 8 stems per U-Net pass (Griffin-Lim on the CPU), and at 8 with
# Griffin-Lim on the GPU (--gl-device gpu). Seven files go to $OUT (default
# /tmp/gpu-out; the device tool brings back at most 8): summary.txt,
# devices.txt, the four benchmark logs and test_logs.tar.gz. Every step
# is bounded so one call fits the device budget.
#
#   OUT=... bash tools/gpu/run_checks.sh            the full set (~3-5 minutes on an H100)
#   QUICK=1 bash tools/gpu/run_checks.sh            3 s of the song, 1 step: to try the kit anywhere
#   MELODIFF_DEVICE=N                               a device other than the default
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/gpu-out}
KIT=$(mktemp -d)
mkdir -p "$OUT"
tar -C "$KIT" -xJf .gpu-kit/kit.tar.xz || { echo "run_checks: no .gpu-kit/kit.tar.xz (run tools/gpu/kit.sh, carry .gpu-kit)"; exit 1; }
export LD_LIBRARY_PATH="$KIT/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export VK_LAYER_PATH="$KIT/layers"
nv=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$nv" ] && export VK_DRIVER_FILES=$nv
export MELODIFF_CACHE_DIR="$KIT/cache" MELODIFF_GPU_TIMEOUT_MS=120000
# The tests read fixtures from the source path they were built in.
src=$(strings "$KIT/bin/test_render_batch" | grep -m1 -o '^/[^ ]*/tests/fixtures/unet/unet_tiny.safetensors' | sed 's#/tests/fixtures/.*##')
if [ -n "$src" ] && [ ! -e "$src" ]; then mkdir -p "$(dirname "$src")" && ln -s "$PWD" "$src"; fi
mkdir -p "$KIT/tmp" "$KIT/logs"
echo "kit commit $(cat "$KIT/commit"), tree $(git rev-parse --short HEAD 2>/dev/null || echo '?')" | tee "$OUT/summary.txt"
timeout 60 "$KIT/bin/melodiff" devices > "$OUT/devices.txt" 2>&1; head -5 "$OUT/devices.txt" | tee -a "$OUT/summary.txt"

pass=0 fail=0
for t in "$KIT"/bin/test_*; do
  name=$(basename "$t")
  log="$KIT/logs/$name.log"
  if (cd "$KIT/tmp" && MELODIFF_VALIDATION=1 timeout 300 "$t") > "$log" 2>&1; then pass=$((pass + 1))
  else fail=$((fail + 1)); echo "FAIL $name:" | tee -a "$OUT/summary.txt"; tail -3 "$log" | tee -a "$OUT/summary.txt"; fi
done
tar -C "$KIT/logs" -czf "$OUT/test_logs.tar.gz" .
echo "gpu tests: $pass passed, $fail failed" | tee -a "$OUT/summary.txt"

span=(); [ "${QUICK:-0}" = 1 ] && span=(--seconds 3 --steps 1)
for run in 1:cpu 4:cpu 8:cpu 8:gpu; do
  b=${run%:*} gl=${run#*:} log="$OUT/bench_render_batch$b.log"
  [ "$gl" = gpu ] && log="$OUT/bench_render_batch${b}_glgpu.log"
  timeout 300 "$KIT/bin/bench_render" --model models/unet.safetensors --backend vulkan --batch "$b" \
    --vocode-jobs "$(nproc)" --threads 1 --gl-device "$gl" --out "$KIT/render" "${span[@]}" > "$log" 2>&1
  grep -E "workload|total md_render_run|conditioning \+ sampling|vocoder|RTF|griffin-lim on" "$log" \
    | sed "s/^/batch $b, gl $gl: /" | tee -a "$OUT/summary.txt"
done
rm -rf "$KIT"
[ "$fail" = 0 ]
