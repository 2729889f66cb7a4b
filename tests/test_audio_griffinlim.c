/* Griffin-Lim on a real music render: spectral convergence falls with the
 * iterations, PGHI starts far lower than random phase, and runs are
 * reproducible for a seed. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "audio/griffinlim.h"
#include "audio/pghi.h"
#include "synth/fluid_render.h"
#include "test_util.h"

#define SIMU "/usr/share/games/simutrans/music/03-Sunday-drivers.mid"
#define ITERS 24

typedef struct {
    double sc[ITERS + 1];
    int calls;
} trace;

static void record(void *user, int iter, double sc)
{
    trace *t = user;
    if (iter >= 1 && iter <= ITERS) t->sc[iter] = sc;
    t->calls++;
}

static double run(md_ctx *ctx, md_stft *st, const float *mag, size_t T, md_gl_init init,
                  uint64_t seed, trace *tr, float *y)
{
    md_gl_params p;
    md_gl_params_default(&p);
    p.iters = ITERS;
    p.init = init;
    p.seed = seed;
    p.progress = record;
    p.user = tr;
    memset(tr, 0, sizeof *tr);
    double final = -1;
    CHECK(md_griffinlim(ctx, st, mag, T, &p, y, (T - 1) * 512, &final) == MD_OK);
    return final;
}

/* A steady 1 kHz tone: PGHI alone (0 iterations) should already be almost
 * consistent; this pins down the sign and the frame-phase convention. */
static void test_pghi_tone(md_ctx *ctx, md_stft *st)
{
    size_t n = 44100;
    float *x = malloc(sizeof(float) * n), *y = malloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++) x[i] = 0.5f * (float)sin(2 * M_PI * 1000.3 * (double)i / 44100.0);
    size_t T = md_stft_frames(st, n);
    float *mag = malloc(sizeof(float) * T * 1025);
    md_stft_magnitude(st, x, n, mag);
    md_gl_params p;
    md_gl_params_default(&p);
    p.iters = 0;
    double sc_pghi = 1, sc_zero = 1;
    CHECK(md_griffinlim(ctx, st, mag, T, &p, y, (T - 1) * 512, &sc_pghi) == MD_OK);
    p.init = MD_GL_INIT_ZEROS;
    CHECK(md_griffinlim(ctx, st, mag, T, &p, y, (T - 1) * 512, &sc_zero) == MD_OK);
    CHECK_MSG(sc_pghi < 0.05, "PGHI on a pure tone: SC %g", sc_pghi);
    CHECK_MSG(sc_zero > 0.3, "zero phase on a pure tone: SC %g", sc_zero);
    free(x), free(y), free(mag);
}

/* A click train: the phase must now change along frequency (the other
 * half of the PGHI gradient). */
static void test_pghi_clicks(md_ctx *ctx, md_stft *st)
{
    size_t n = 44100;
    float *x = calloc(n, sizeof(float)), *y = malloc(sizeof(float) * n);
    for (size_t i = 3000; i < n; i += 4410) x[i] = 0.8f;
    size_t T = md_stft_frames(st, n);
    float *mag = malloc(sizeof(float) * T * 1025);
    md_stft_magnitude(st, x, n, mag);
    md_gl_params p;
    md_gl_params_default(&p);
    p.iters = 0;
    double sc_pghi = 1, sc_rnd = 0;
    CHECK(md_griffinlim(ctx, st, mag, T, &p, y, (T - 1) * 512, &sc_pghi) == MD_OK);
    p.init = MD_GL_INIT_RANDOM;
    CHECK(md_griffinlim(ctx, st, mag, T, &p, y, (T - 1) * 512, &sc_rnd) == MD_OK);
    CHECK_MSG(sc_pghi < 0.1 && sc_rnd > 0.4, "clicks: PGHI SC %g, random SC %g", sc_pghi, sc_rnd);
    free(x), free(y), free(mag);
}

int main(void)
{
    md_ctx *ctx = NULL;
    md_ctx_create(&ctx);
    md_synth *syn = NULL;
    float *x = NULL;
    size_t n = 0;
    CHECK(md_synth_create(ctx, NULL, &syn) == MD_OK);
    CHECK(syn && md_synth_render_midi(syn, SIMU, 4.0, &x, &n) == MD_OK);
    md_synth_destroy(syn);
    md_stft *st = NULL;
    CHECK(md_stft_create(ctx, 2048, 512, 2048, 1, &st) == MD_OK);
    if (!x || !st) return md_test_finish();
    test_pghi_tone(ctx, st);
    test_pghi_clicks(ctx, st);
    size_t T = md_stft_frames(st, n);
    float *mag = malloc(sizeof(float) * T * 1025), *y = malloc(sizeof(float) * n);
    float *y2 = malloc(sizeof(float) * n);
    md_stft_magnitude(st, x, n, mag);
    trace rnd, pg, rnd2;
    double f_rnd = run(ctx, st, mag, T, MD_GL_INIT_RANDOM, 7, &rnd, y);
    CHECK(rnd.calls == ITERS);
    /* falls with the iterations (momentum allows small wiggles, so compare
     * checkpoints) */
    CHECK_MSG(rnd.sc[8] < 0.7 * rnd.sc[1] && rnd.sc[16] < rnd.sc[8] && rnd.sc[24] < rnd.sc[16],
              "random init SC %g -> %g -> %g -> %g", rnd.sc[1], rnd.sc[8], rnd.sc[16], rnd.sc[24]);
    CHECK(f_rnd < rnd.sc[1] && f_rnd < 0.2);
    double again = run(ctx, st, mag, T, MD_GL_INIT_RANDOM, 7, &rnd2, y2);
    CHECK(again == f_rnd && !memcmp(y, y2, sizeof(float) * (T - 1) * 512));
    run(ctx, st, mag, T, MD_GL_INIT_RANDOM, 8, &rnd2, y2);
    CHECK(rnd2.sc[1] != rnd.sc[1]);
    double f_pg = run(ctx, st, mag, T, MD_GL_INIT_PGHI, 0, &pg, y);
    CHECK_MSG(pg.sc[1] < 0.5 * rnd.sc[1], "first-iteration SC: pghi %g, random %g", pg.sc[1], rnd.sc[1]);
    CHECK_MSG(f_pg < f_rnd, "final SC: pghi %g, random %g", f_pg, f_rnd);
    CHECK(pg.sc[24] < pg.sc[1]);
    /* classic Griffin-Lim (no momentum) converges more slowly */
    md_gl_params p;
    md_gl_params_default(&p);
    p.iters = ITERS, p.init = MD_GL_INIT_RANDOM, p.seed = 7, p.momentum = 0;
    double f_plain = 0;
    CHECK(md_griffinlim(ctx, st, mag, T, &p, y, (T - 1) * 512, &f_plain) == MD_OK);
    CHECK_MSG(f_rnd < f_plain, "fast GL %g vs plain GL %g", f_rnd, f_plain);
    /* threads: the same algorithm on frames split across workers; only the
     * summation order at the seams differs */
    p.momentum = 0.99, p.threads = 1;
    double f1 = 0, f3 = 0;
    CHECK(md_griffinlim(ctx, st, mag, T, &p, y, (T - 1) * 512, &f1) == MD_OK);
    p.threads = 3;
    CHECK(md_griffinlim(ctx, st, mag, T, &p, y2, (T - 1) * 512, &f3) == MD_OK);
    double dmax = 0, peak = 0;
    for (size_t i = 0; i < (T - 1) * 512; i++) {
        dmax = fmax(dmax, fabs((double)y[i] - y2[i]));
        peak = fmax(peak, fabs((double)y[i]));
    }
    CHECK_MSG(dmax < 1e-3 * peak && fabs(f1 - f3) < 1e-4, "threads 1 vs 3: max diff %g (peak %g), SC %g vs %g",
              dmax, peak, f1, f3);
    p.threads = 1;
    /* argument checks */
    CHECK(md_griffinlim(ctx, st, mag, T, &p, y, 100, NULL) == MD_ERR_USAGE);
    md_gl_init gi;
    CHECK(md_gl_init_parse("pghi", &gi) == 0 && gi == MD_GL_INIT_PGHI);
    CHECK(md_gl_init_parse("nope", &gi) == -1);
    free(x), free(mag), free(y), free(y2);
    md_stft_destroy(st);
    md_ctx_destroy(ctx);
    return md_test_finish();
}
