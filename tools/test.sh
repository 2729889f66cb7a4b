#!/usr/bin/env bash
# The one command that runs all of melodiff's tests on a fresh Debian machine:
# installs what the build and tests need, builds, runs the test suite, then
# rebuilds with AddressSanitizer + UndefinedBehaviorSanitizer and runs the
# suite again, then runs each fuzz target briefly. CI runs exactly this.
#
#   tools/test.sh            everything
#   MD_SKIP_SANITIZE=1       skip the sanitizer pass (local iteration)
#   MD_FUZZ_SECONDS=N        seconds per fuzz target (default 20; 0 skips)
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}

bash tools/setup-deps.sh

echo "== build (RelWithDebInfo) =="
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMELODIFF_WERROR=ON >/dev/null
cmake --build build -j"$JOBS"
echo "== tests =="
(cd build && ctest --output-on-failure -j"$JOBS")

# The trainer's tests need PyTorch, which is a large download; they run
# wherever it is installed (pip install -r tools/train/requirements.txt).
if python3 -c "import torch, safetensors, numpy, mido, pytest" 2>/dev/null; then
  echo "== trainer tests (pytest) =="
  (cd tools/train && MELODIFF_EXE="$OLDPWD/build/melodiff" python3 -m pytest -q tests)
else
  echo "== trainer tests skipped: PyTorch, safetensors, numpy, mido or pytest not installed =="
fi

if [ "${MD_SKIP_SANITIZE:-0}" != 1 ]; then
  echo "== build and tests under ASan + UBSan =="
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DMELODIFF_SANITIZE=ON -DMELODIFF_BENCH=OFF >/dev/null
  cmake --build build-asan -j"$JOBS"
  (cd build-asan && ctest --output-on-failure -j"$JOBS")
fi

FUZZ_SECONDS=${MD_FUZZ_SECONDS:-20}
if [ "$FUZZ_SECONDS" != 0 ]; then
  echo "== fuzz targets, ${FUZZ_SECONDS}s each =="
  CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMELODIFF_FUZZ=ON \
    -DMELODIFF_TESTS=ON -DMELODIFF_BENCH=OFF -DMELODIFF_WERROR=OFF -DCMAKE_C_FLAGS= >/dev/null
  cmake --build build-fuzz -j"$JOBS" --target fuzz_targets
  bash tools/fuzz/run_all.sh build-fuzz "$FUZZ_SECONDS"
fi
echo "== all tests passed =="
