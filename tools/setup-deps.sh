#!/usr/bin/env bash
# Installs every Debian package that melodiff's build, tests and tools need.
# Packages already installed are skipped, so running it twice costs seconds.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config python3
  libvulkan-dev vulkan-tools mesa-vulkan-drivers vulkan-validationlayers
  glslang-tools spirv-tools
  libfftw3-dev libsndfile1-dev libstb-dev libsoxr-dev libebur128-dev libcjson-dev libssl-dev
  libopenblas-dev
  libfluidsynth-dev fluid-soundfont-gm
  clang libclang-rt-14-dev
  simutrans-data freedink-data pianobooster
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-deps: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
