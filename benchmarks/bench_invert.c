/* Griffin-Lim benchmark: invert the STFT magnitude of 10 s of real music
 * (a FluidSynth render of a simutrans MIDI file) with 32 iterations of fast
 * Griffin-Lim (momentum 0.99), n_fft 2048, hop 512, Hann window; report wall
 * time and final spectral convergence, single-threaded and with 2 threads
 * (torch uses 2 here). Then, in the same run, the same
 * magnitude goes to tools/bench/bench_invert_torch.py (torchaudio's
 * GriffinLim with the same settings), which reports the same two numbers
 * and re-measures our outputs' convergence with its own STFT.
 *
 * usage: bench_invert [--midi PATH] [--seconds S] [--iters N] [--runs R]
 *                     [--seeds K] [--dump PATH] [--no-torch] [--gpu]
 * --gpu adds the same runs with the iterations on the Vulkan device that
 * auto selection (or MELODIFF_DEVICE) picks (src/audio/griffinlim_gpu.c).
 * With random initial phase the final convergence depends on the seed, so
 * both sides also report mean and range over K seeds (default 5). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "audio/griffinlim.h"
#include "audio/griffinlim_gpu.h"
#include "core/safetensors.h"
#include "synth/fluid_render.h"

typedef struct {
    const char *midi, *dump;
    double seconds;
    int iters, runs, torch, seeds, gpu;
    md_gl_gpu *engine; /* set: bench_one runs the iterations there */
} bench_opts;

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Runs Griffin-Lim `runs` times; prints median and min wall time. */
static int bench_one(md_ctx *ctx, md_stft *st, const float *mag, size_t T, md_gl_init init,
                     int threads, const bench_opts *o, float *y, size_t n, const char *label)
{
    md_gl_params p;
    md_gl_params_default(&p);
    p.iters = o->iters;
    p.init = init;
    p.seed = 1;
    p.threads = threads;
    p.gpu = o->engine;
    double times[64], sc = 0;
    int runs = o->runs < 64 ? o->runs : 64;
    for (int r = 0; r < runs; r++) {
        double t0 = md_clock_wall();
        if (md_griffinlim(ctx, st, mag, T, &p, y, n, &sc) != MD_OK) {
            fprintf(stderr, "bench_invert: %s\n", md_ctx_error(ctx));
            return 1;
        }
        times[r] = md_clock_wall() - t0;
    }
    qsort(times, (size_t)runs, sizeof times[0], cmp_d);
    char where[32];
    snprintf(where, sizeof where, o->engine ? "vulkan" : "threads=%d", threads);
    printf("melodiff  init=%-6s iters=%d %-9s  wall median %.3f s (min %.3f, %d runs)  final SC %.4f\n",
           label, o->iters, where, times[runs / 2], times[0], runs, sc);
    if (init != MD_GL_INIT_RANDOM || o->seeds < 2 || threads != 1 || o->engine) return 0;
    double sum = sc, lo = sc, hi = sc, first = sc;
    float *tmp = malloc(sizeof(float) * n);
    if (!tmp) return 1;
    for (int k = 2; k <= o->seeds; k++) {
        p.seed = (uint64_t)k;
        if (md_griffinlim(ctx, st, mag, T, &p, tmp, n, &sc) != MD_OK) break;
        sum += sc, lo = fmin(lo, sc), hi = fmax(hi, sc);
    }
    free(tmp);
    printf("melodiff  init=random over seeds 1..%d: final SC mean %.4f (range %.4f..%.4f; seed 1 %.4f)\n",
           o->seeds, sum / o->seeds, lo, hi, first);
    return 0;
}

static int parse(int argc, char **argv, bench_opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--no-torch")) o->torch = 0;
        else if (!strcmp(a, "--gpu")) o->gpu = 1;
        else if (v && !strcmp(a, "--midi")) o->midi = v, i++;
        else if (v && !strcmp(a, "--dump")) o->dump = v, i++;
        else if (v && !strcmp(a, "--seconds")) o->seconds = atof(v), i++;
        else if (v && !strcmp(a, "--iters")) o->iters = atoi(v), i++;
        else if (v && !strcmp(a, "--runs")) o->runs = atoi(v), i++;
        else if (v && !strcmp(a, "--seeds")) o->seeds = atoi(v), i++;
        else {
            fprintf(stderr, "usage: bench_invert [--midi PATH] [--seconds S] [--iters N] [--runs R] "
                            "[--seeds K] [--dump PATH] [--no-torch] [--gpu]\n");
            return 2;
        }
    }
    return o->seconds > 0 && o->iters >= 0 && o->runs > 0 ? 0 : 2;
}

/* The magnitude (freq-major, as torch wants it) and our outputs. */
static int dump(md_ctx *ctx, const bench_opts *o, const float *mag, size_t T, const float *y_rnd,
                const float *y_pghi, size_t n)
{
    float *t = malloc(sizeof(float) * T * 1025);
    if (!t) return 1;
    for (size_t f = 0; f < T; f++)
        for (size_t k = 0; k < 1025; k++) t[k * T + f] = mag[f * 1025 + k];
    md_st_writer *w = NULL;
    int64_t ms[2] = {1025, (int64_t)T}, ys[1] = {(int64_t)n};
    char iters[16];
    snprintf(iters, sizeof iters, "%d", o->iters);
    md_status s = md_st_writer_create(ctx, &w);
    if (!s) s = md_st_writer_add(ctx, w, "mag", MD_ST_F32, 2, ms, t);
    if (!s) s = md_st_writer_add(ctx, w, "melodiff_random", MD_ST_F32, 1, ys, y_rnd);
    if (!s) s = md_st_writer_add(ctx, w, "melodiff_pghi", MD_ST_F32, 1, ys, y_pghi);
    if (!s) s = md_st_writer_meta(ctx, w, "iters", iters);
    if (!s) s = md_st_writer_meta(ctx, w, "source", o->midi);
    if (!s) s = md_st_writer_save(ctx, w, o->dump, 1);
    md_st_writer_destroy(w);
    free(t);
    if (s) fprintf(stderr, "bench_invert: %s\n", md_ctx_error(ctx));
    return s != MD_OK;
}

/* The PGHI rows again with the iterations on a Vulkan device. */
static int bench_gpu(md_ctx *ctx, md_stft *st, const float *mag, size_t T, bench_opts *o, float *y, size_t n)
{
    if (md_gl_gpu_create(ctx, NULL, st, &o->engine) != MD_OK) {
        fprintf(stderr, "bench_invert: %s\n", md_ctx_error(ctx));
        return 1;
    }
    printf("vulkan device: %s\n", md_gl_gpu_device(o->engine));
    int rc = bench_one(ctx, st, mag, T, MD_GL_INIT_PGHI, 1, o, y, n, "pghi");
    md_gl_gpu_destroy(o->engine);
    o->engine = NULL;
    return rc;
}

int main(int argc, char **argv)
{
    bench_opts o = {"/usr/share/games/simutrans/music/01-Simutrans-Main-Theme.mid",
                    "bench_invert_mag.safetensors", 10.0, 32, 5, 1, 5, 0, NULL};
    if (parse(argc, argv, &o)) return 2;
    md_ctx *ctx = NULL;
    md_ctx_create(&ctx);
    md_synth *syn = NULL;
    float *x = NULL;
    size_t n = 0;
    md_stft *st = NULL;
    if (md_synth_create(ctx, NULL, &syn) || md_synth_render_midi(syn, o.midi, o.seconds, &x, &n) ||
        md_stft_create(ctx, 2048, 512, 2048, 1, &st)) {
        fprintf(stderr, "bench_invert: %s\n", md_ctx_error(ctx));
        return 1;
    }
    md_synth_destroy(syn);
    size_t T = md_stft_frames(st, n), len = (T - 1) * 512;
    float *mag = malloc(sizeof(float) * T * 1025), *y1 = malloc(sizeof(float) * len);
    float *y2 = malloc(sizeof(float) * len);
    if (!mag || !y1 || !y2) return 1;
    md_stft_magnitude(st, x, n, mag);
    printf("input: %s, %.1f s, %zu frames x 1025 bins (n_fft 2048, hop 512, hann)\n", o.midi,
           (double)n / 44100.0, T);
    int rc = bench_one(ctx, st, mag, T, MD_GL_INIT_RANDOM, 2, &o, y2, len, "random") ||
             bench_one(ctx, st, mag, T, MD_GL_INIT_PGHI, 2, &o, y2, len, "pghi") ||
             bench_one(ctx, st, mag, T, MD_GL_INIT_RANDOM, 1, &o, y1, len, "random") ||
             bench_one(ctx, st, mag, T, MD_GL_INIT_PGHI, 1, &o, y2, len, "pghi") ||
             dump(ctx, &o, mag, T, y1, y2, len);
    if (!rc && o.gpu) rc = bench_gpu(ctx, st, mag, T, &o, y2, len);
    fflush(stdout);
    if (!rc && o.torch) {
        char cmd[2048];
        snprintf(cmd, sizeof cmd, "python3 '%s/tools/bench/bench_invert_torch.py' '%s' --runs %d --seeds %d",
                 MD_SOURCE_DIR, o.dump, o.runs, o.seeds);
        rc = system(cmd) != 0;
    }
    free(x), free(mag), free(y1), free(y2);
    md_stft_destroy(st);
    md_ctx_destroy(ctx);
    return rc;
}
