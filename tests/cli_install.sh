#!/bin/bash
# `cmake --install` gives other programs what they need to link melodiff:
# headers (with the umbrella header), static and shared libraries, a
# pkg-config file and a CMake package. Builds a small consumer both ways.
# usage: cli_install.sh MELODIFF SOURCE_DIR SCRATCH_DIR
set -eu
MD=$1 SRC=$2 TMP=$3
BUILD=$(dirname "$MD")
if grep -q '^MELODIFF_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt"; then
    # A sanitizer build's libraries need the sanitizer runtime in every
    # consumer; the plain build runs this test.
    echo "skipped: sanitizer build"; exit 0
fi
rm -rf "$TMP" && mkdir -p "$TMP/consumer"
cmake --install "$BUILD" --prefix "$TMP/prefix" >/dev/null
# the shipped models, the note bank among them, where an installed render looks
for f in unet.safetensors refiner.safetensors refiner.md notebank.safetensors notebank.md; do
    [ -s "$TMP/prefix/share/melodiff/models/$f" ] || { echo "FAIL: $f not installed"; exit 1; }
done
cat >"$TMP/consumer/main.c" <<'C'
#include <stdio.h>
#include <melodiff/melodiff.h>
int main(int argc, char **argv)
{
    md_ctx *ctx = NULL;
    md_score *sc = NULL;
    if (md_ctx_create(&ctx) != MD_OK || argc < 2) return 1;
    int rc = md_score_load_file(ctx, argv[1], NULL, &sc) == MD_OK ? 0 : 1;
    if (!rc) printf("melodiff %s: %zu stems\n", MELODIFF_VERSION_STRING, sc->n_stems);
    md_score_free(sc);
    md_ctx_destroy(ctx);
    return rc;
}
C
cd "$TMP/consumer"
export PKG_CONFIG_PATH="$TMP/prefix/lib/pkgconfig"
cc main.c $(pkg-config --cflags --libs melodiff) -Wl,-rpath,"$TMP/prefix/lib" -o via-pkgconfig
./via-pkgconfig "$SRC/samples/demo.mid"
cat >CMakeLists.txt <<'CM'
cmake_minimum_required(VERSION 3.20)
project(consumer C)
find_package(melodiff REQUIRED)
add_executable(via-cmake main.c)
target_link_libraries(via-cmake melodiff::melodiff_static)
CM
cmake -S . -B b -DCMAKE_PREFIX_PATH="$TMP/prefix" >/dev/null
cmake --build b >/dev/null
./b/via-cmake "$SRC/samples/demo.mid"
echo "ok: installed melodiff links through pkg-config and find_package"
