/* Colour map properties and the spectrogram PNG (orientation, size). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "audio/png.h"
#include "test_util.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#define STBI_ONLY_PNG
#define STB_IMAGE_IMPLEMENTATION
#include <stb_image.h>
#pragma GCC diagnostic pop

static double lin(double c)
{
    c /= 255.0;
    return c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4);
}

static double luminance(const uint8_t c[3])
{
    return 0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2]);
}

static unsigned be32(const unsigned char *p)
{
    return (unsigned)p[0] << 24 | (unsigned)p[1] << 16 | (unsigned)p[2] << 8 | p[3];
}

int main(void)
{
    /* lightness strictly rises (steps of 1/100: finer steps only see 8-bit
     * rounding); dark purple start, pale yellow end */
    uint8_t c[3], prev[3];
    md_colormap(0, prev);
    int mono = 1;
    for (int i = 1; i <= 100; i++) {
        md_colormap(i / 100.0, c);
        if (luminance(c) < luminance(prev)) mono = 0;
        memcpy(prev, c, 3);
    }
    CHECK(mono);
    md_colormap(0, c);
    CHECK_MSG(luminance(c) < 0.03 && c[2] > c[1] && c[0] > c[1], "start %d,%d,%d", c[0], c[1], c[2]);
    md_colormap(0.6, c);
    CHECK_MSG(c[0] > c[1] && c[1] > c[2], "mid %d,%d,%d (orange)", c[0], c[1], c[2]);
    md_colormap(1, c);
    CHECK_MSG(luminance(c) > 0.85 && c[0] > c[2] && c[1] > c[2], "end %d,%d,%d", c[0], c[1], c[2]);
    md_colormap(1, prev);
    md_colormap(7, c); /* clamped */
    CHECK(!memcmp(c, prev, 3));

    md_ctx *ctx = NULL;
    md_ctx_create(&ctx);
    mkdir(MD_TEST_TMP, 0755);
    const char *path = MD_TEST_TMP "/spec.png";
    remove(path);
    enum { M = 16, T = 40 };
    float lm[M * T];
    for (int m = 0; m < M; m++)
        for (int t = 0; t < T; t++) lm[m * T + t] = m == 0 ? 0.0f : -30.0f; /* loud lowest band */
    CHECK(md_png_write_logmel(ctx, path, lm, M, T, 0) == MD_OK);
    CHECK(md_png_write_logmel(ctx, path, lm, M, T, 0) == MD_ERR_IO); /* no overwrite */
    FILE *f = fopen(path, "rb");
    unsigned char hdr[24] = {0};
    CHECK(f && fread(hdr, 1, 24, f) == 24);
    if (f) fclose(f);
    CHECK(!memcmp(hdr + 1, "PNG", 3) && !memcmp(hdr + 12, "IHDR", 4));
    CHECK(be32(hdr + 16) == T && be32(hdr + 20) == M);
    /* decode: the loud lowest band is the bottom row, the rest 30 nats
     * (260 dB) down is clamped to the colour of the floor */
    int w = 0, h = 0, ch = 0;
    unsigned char *px = stbi_load(path, &w, &h, &ch, 3);
    CHECK(px && w == T && h == M);
    uint8_t hot[3], cold[3];
    md_colormap(1, hot);
    md_colormap(0, cold);
    if (px) {
        CHECK(!memcmp(px + (size_t)(M - 1) * T * 3 + 5 * 3, hot, 3));
        CHECK(!memcmp(px + 5 * 3, cold, 3));
        stbi_image_free(px);
    }
    md_ctx_destroy(ctx);
    return md_test_finish();
}
