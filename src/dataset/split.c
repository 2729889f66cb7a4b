/* By-file train/validation split (see split.h; mirrors tools/train/corpus.py). */
#include "dataset/split.h"

#include <math.h>
#include <string.h>

uint64_t md_fnv1a64(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = 0xCBF29CE484222325ull;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001B3ull;
    }
    return h;
}

void md_dataset_split_key(const char *path, char *buf, size_t cap)
{
    if (cap == 0) return;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t len = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    size_t n = 0, first_alpha = (size_t)-1;
    for (size_t i = 0; i < len && n + 1 < cap; i++) {
        char c = base[i];
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) continue;
        if (first_alpha == (size_t)-1 && !(c >= '0' && c <= '9')) first_alpha = n;
        buf[n++] = c;
    }
    buf[n] = '\0';
    /* Drop leading digits when something remains after them. */
    if (first_alpha != (size_t)-1 && first_alpha > 0)
        memmove(buf, buf + first_alpha, n - first_alpha + 1);
}

int md_dataset_is_val(const char *path, double val_fraction)
{
    char key[256];
    md_dataset_split_key(path, key, sizeof key);
    uint64_t threshold = (uint64_t)llround(val_fraction * 1000000.0);
    return md_fnv1a64(key, strlen(key)) % 1000000u < threshold;
}
