#!/usr/bin/env bash
# Packs what a lent GPU machine needs to test and measure melodiff into one
# archive, since that machine has no Debian packages, no compiler and takes
# at most 64 MiB of working tree (/work/.library/device/README.md):
#   Release builds of melodiff, the render and U-Net benchmarks and the
#   GPU-facing tests; every shared library they load except glibc's own;
#   Debian's Vulkan loader and the Khronos validation layer (with a layer
#   manifest pointing next to it).
# The machine's NVIDIA driver supplies the ICD. tools/gpu/run_checks.sh
# unpacks the archive there and runs everything in one call.
#
#   tools/gpu/kit.sh            -> .gpu-kit/kit.tar.xz (ignored by git; carry .gpu-kit)
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=build-gpu
KIT=.gpu-kit
TESTS=(test_gpu_devices test_gpu_memory test_gpu_record test_gpu_faults test_gpu_fill test_gpu_arena
       test_nn_conv test_nn_conv_up2 test_nn_norm test_nn_cat test_nn_attention test_nn_pointwise
       test_nn_variants test_nn_unet test_nn_unet_fp16 test_nn_unet_styles test_nn_unet_tiling
       test_unet_denoiser_pair test_render_batch test_audio_griffinlim_gpu)
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DMELODIFF_WERROR=OFF >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target melodiff bench_render bench_nn_unet "${TESTS[@]}"

stage=$(mktemp -d)
mkdir -p "$stage/bin" "$stage/lib" "$stage/layers"
cp "$BUILD/melodiff" "$BUILD/bench_render" "$BUILD/bench_nn_unet" "$stage/bin/"
for t in "${TESTS[@]}"; do cp "$BUILD/tests/$t" "$stage/bin/"; done
# Shared libraries, glibc's excepted (the machine has its own, and a
# foreign libc breaks everything else there).
for b in "$stage"/bin/*; do ldd "$b" | awk '/=>/ {print $3}'; done | sort -u | while read -r lib; do
  case "$(basename "$lib")" in libc.so*|libm.so*|libpthread.so*|libdl.so*|librt.so*|ld-linux*) continue ;; esac
  cp -L "$lib" "$stage/lib/"
done
cp -L /usr/lib/x86_64-linux-gnu/libvulkan.so.1 "$stage/lib/"
cp -L /usr/lib/x86_64-linux-gnu/libVkLayer_khronos_validation.so "$stage/layers/"
sed 's#"library_path": *"[^"]*"#"library_path": "./libVkLayer_khronos_validation.so"#' \
  /usr/share/vulkan/explicit_layer.d/VkLayer_khronos_validation.json > "$stage/layers/VkLayer_khronos_validation.json"
git rev-parse HEAD > "$stage/commit"
mkdir -p "$KIT"
tar -C "$stage" -cJf "$KIT/kit.tar.xz" .
rm -rf "$stage"
echo "kit: $KIT/kit.tar.xz, $(du -m "$KIT/kit.tar.xz" | cut -f1) MiB, commit $(git rev-parse --short HEAD)"
