/* Helpers shared by the render tests: fast render options, an analytic
 * denoiser whose answer depends on the noise and the conditioning, byte
 * comparison of files and render.json. */
#ifndef MD_RENDER_TEST_UTIL_H
#define MD_RENDER_TEST_UTIL_H

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>

#include "melodiff/cond.h"
#include "render/render.h"

/* Render options for a quick test render: short segments, few steps,
 * 2 Griffin-Lim iterations, an existing output replaced. */
static inline md_render_opts render_test_opts(const char *midi, const char *out, int steps)
{
    md_render_opts o;
    md_render_opts_default(&o);
    o.midi_path = midi;
    o.out_dir = out;
    o.steps = steps;
    o.segment_frames = 64;
    o.overlap_frames = 16;
    o.gl.iters = 2;
    o.force = 1;
    return o;
}

/* v for x at time t when every bin's x0 is Gaussian: N(mean, 0.5^2) with a
 * mean drawn from the harmonic image and the instrument (conditional), or
 * N(0, 1) (unconditional), from the exact posterior mean. Unlike a point
 * mass, the sample then depends on the noise, so a stem given another
 * stem's noise, or conditioning, comes out different. */
static inline void render_test_gauss_v(const float *x, size_t frames, float t, const md_cond *c, int conditional,
                                       float *v)
{
    double a = cos(M_PI / 2 * t), s = sin(M_PI / 2 * t), sd = conditional ? 0.5 : 1.0;
    for (size_t i = 0; i < (size_t)c->n_mels * frames; i++) {
        double mu = conditional ? c->harmonic[i] * 2.0 - 1.0 + 0.1 * c->instrument : 0.0;
        double x0 = mu + a * sd * sd * (x[i] - a * mu) / (a * a * sd * sd + s * s);
        v[i] = (float)((a * x[i] - x0) / s);
    }
}

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
