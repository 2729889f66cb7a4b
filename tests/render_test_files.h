/* File helpers for the render tests: byte comparison and render.json. */
#ifndef MD_RENDER_TEST_FILES_H
#define MD_RENDER_TEST_FILES_H

#include <cjson/cJSON.h>
#include <stdio.h>

/* 1 when both files open and hold the same bytes. */
static inline int same_file(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = fa && fb;
    for (int ca = 0, cb = 0; same && ca != EOF;) {
        ca = fgetc(fa), cb = fgetc(fb);
        same = ca == cb;
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return same;
}

/* OUT/render.json parsed (NULL when missing or not JSON); cJSON_Delete it. */
static inline cJSON *read_manifest(const char *out)
{
    char path[1024];
    static char buf[1 << 16];
    snprintf(path, sizeof path, "%s/render.json", out);
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    buf[n] = '\0';
    return cJSON_Parse(buf);
}

#endif
