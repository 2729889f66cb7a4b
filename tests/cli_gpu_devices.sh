#!/bin/bash
# `melodiff devices`: lists the Vulkan devices (lavapipe here), --json,
# --check self-test under validation, and clean exit 5 without a driver.
# usage: cli_gpu_devices.sh <melodiff-exe> <source-dir> <scratch-dir>
set -u
exe=$1
tmp=$3
mkdir -p "$tmp"
fail=0
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fail=1; }

# Pin the loader to lavapipe when it is installed, so the listing is known.
lvp=$(ls /usr/share/vulkan/icd.d/lvp_icd*.json 2>/dev/null | head -n1)

"$exe" devices >"$tmp/out" 2>"$tmp/err"; rc=$?
[ $rc -eq 0 ] && grep -q '(default)' "$tmp/out" && ok "lists devices with a default" || { bad "devices rc=$rc"; cat "$tmp/err"; }
if [ -n "$lvp" ]; then
    VK_DRIVER_FILES=$lvp VK_ICD_FILENAMES=$lvp "$exe" devices >"$tmp/out" 2>"$tmp/err"; rc=$?
    [ $rc -eq 0 ] && grep -q 'llvmpipe' "$tmp/out" && grep -q 'type cpu' "$tmp/out" && ok "lavapipe listed" || bad "lavapipe not listed (rc=$rc)"
fi

"$exe" devices --json >"$tmp/json" 2>"$tmp/err"; rc=$?
[ $rc -eq 0 ] && grep -q '"devices":' "$tmp/json" && grep -q '"max_storage_buffer_range":' "$tmp/json" \
    && grep -q '"default":[[:space:]]*true' "$tmp/json" && ok "--json" || bad "--json rc=$rc"

MELODIFF_VALIDATION=1 "$exe" devices --check >"$tmp/out" 2>"$tmp/err"; rc=$?
[ $rc -eq 0 ] && grep -q 'self-test passed' "$tmp/out" && grep -q 'validation on, 0 messages' "$tmp/out" \
    && ok "--check under validation" || { bad "--check rc=$rc"; cat "$tmp/out" "$tmp/err"; }

"$exe" devices --check --profile >"$tmp/out" 2>"$tmp/err"; rc=$?
# A device without timestamp queries says so instead of printing the table.
[ $rc -eq 0 ] && { { grep -q '^rt_add ' "$tmp/out" && grep -q '^fill ' "$tmp/out"; } || grep -q 'no timestamp queries' "$tmp/out"; } \
    && ok "--check --profile table" \
    || { bad "--check --profile rc=$rc"; cat "$tmp/out" "$tmp/err"; }
"$exe" devices --profile >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok "--profile without --check: exit 2" || bad "--profile without --check rc=$rc"

# No driver: exit 5 with exactly one line on stderr and nothing on stdout.
# VK_DRIVER_FILES (loader 1.3.207+) wins over the older VK_ICD_FILENAMES: test each alone.
for var in VK_ICD_FILENAMES VK_DRIVER_FILES; do
    env -u VK_ICD_FILENAMES -u VK_DRIVER_FILES "$var=$tmp/no-such-icd.json" "$exe" devices >"$tmp/out" 2>"$tmp/err"; rc=$?
    lines=$(wc -l <"$tmp/err")
    [ $rc -eq 5 ] && [ "$lines" -eq 1 ] && [ ! -s "$tmp/out" ] && grep -q 'Vulkan' "$tmp/err" \
        && ok "no driver via $var: exit 5, one line" || { bad "no driver via $var: rc=$rc, $lines lines"; cat "$tmp/err"; }
done

# No loader at all: libvulkan is loaded at run time, so this is exit 5 too.
MELODIFF_VULKAN_LIBRARY="$tmp/no-libvulkan.so.1" "$exe" devices >"$tmp/out" 2>"$tmp/err"; rc=$?
[ $rc -eq 5 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q 'loader' "$tmp/err" && ok "no loader: exit 5, one line" \
    || { bad "no loader: rc=$rc"; cat "$tmp/err"; }
# Commands that need no GPU do not depend on libvulkan at all.
if command -v readelf >/dev/null && readelf -d "$exe" 2>/dev/null | grep -q 'NEEDED.*libvulkan'; then
    echo "note: $exe links libvulkan directly (sanitizer builds disable --as-needed)"
fi

MELODIFF_DEVICE=99 "$exe" devices --check >"$tmp/out" 2>"$tmp/err"; rc=$?
[ $rc -eq 5 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q '99' "$tmp/err" && ok "MELODIFF_DEVICE=99: exit 5" || bad "MELODIFF_DEVICE=99: rc=$rc"
"$exe" devices --check --device 99 >"$tmp/out" 2>"$tmp/err"; rc=$?
[ $rc -eq 5 ] && ok "--device 99: exit 5" || bad "--device 99: rc=$rc"

"$exe" devices --help >"$tmp/out" 2>"$tmp/err"; rc=$?
[ $rc -eq 0 ] && grep -q 'usage: melodiff devices' "$tmp/out" && ok "--help" || bad "--help rc=$rc"
"$exe" devices --bogus >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok "unknown option: exit 2" || bad "unknown option rc=$rc"
"$exe" devices --device 0 >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok "--device without --check: exit 2" || bad "--device without --check rc=$rc"
"$exe" devices extra >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok "stray argument: exit 2" || bad "stray argument rc=$rc"

exit $fail
