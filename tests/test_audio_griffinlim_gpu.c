/* Griffin-Lim on Vulkan (src/audio/griffinlim_gpu.c, shaders/gl_*.comp)
 * against the FFTW reference (src/audio/griffinlim.c), with the validation
 * layer on: the same waveform to float rounding after 0 and 1 iterations,
 * the same convergence after 32, held border frames, the tail handed to the
 * next chunk, a second transform shape, shapes the engine must refuse, and
 * a run-to-run identical result. The signal is synthetic (tones, a glide,
 * clicks and noise) so the test needs no SoundFont. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "audio/griffinlim.h"
#include "audio/griffinlim_gpu.h"
#include "audio/mel_inverse.h"
#include "audio/melbank.h"
#include "vocoder/vocoder_stream.h"
#include "gpu_test_common.h"

static float *test_signal(size_t n, int rate)
{
    float *x = malloc(sizeof(float) * n);
    uint32_t r = 12345;
    for (size_t i = 0; i < n; i++) {
        double t = (double)i / rate;
        double env = exp(-3.0 * fmod(t, 0.5));
        double glide = sin(2 * M_PI * (220.0 * t + 80.0 * t * t));
        r = r * 1664525u + 1013904223u;
        double noise = ((double)(r >> 8) / 16777216.0 - 0.5) * (t > 1.0 && t < 1.2 ? 0.3 : 0.01);
        x[i] = (float)(0.3 * env * sin(2 * M_PI * 440.0 * t) + 0.2 * sin(2 * M_PI * 1320.7 * t) * env +
                       0.15 * glide + noise + (i % 9000 == 4500 ? 0.5 : 0.0));
    }
    return x;
}

static double max_abs(const float *a, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i]));
    return m;
}

static double max_diff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

typedef struct shape_case {
    md_stft *st;
    size_t n, T, bins;
    float *mag;
} shape_case;

static int shape_open(md_ctx *ctx, shape_case *c, int n_fft, int hop, int win, int center, size_t n)
{
    memset(c, 0, sizeof *c);
    if (md_stft_create(ctx, n_fft, hop, win, center, &c->st) != MD_OK) return 0;
    float *x = test_signal(n, 44100);
    c->T = md_stft_frames(c->st, n);
    c->bins = (size_t)md_stft_bins(c->st);
    c->n = center ? (c->T - 1) * (size_t)hop : n;
    c->mag = malloc(sizeof(float) * c->T * c->bins);
    md_stft_magnitude(c->st, x, n, c->mag);
    free(x);
    return 1;
}

static void shape_close(shape_case *c)
{
    md_stft_destroy(c->st);
    free(c->mag);
}

/* Runs both paths with the same parameters and border; returns their final
 * spectral convergences and leaves the waveforms (and tails) in the outs. */
static void both(md_ctx *ctx, md_gl_gpu *g, shape_case *c, md_gl_params p, const md_gl_border *b, float *y_cpu,
                 float *y_gpu, float *tail_gpu, double *sc_cpu, double *sc_gpu)
{
    p.gpu = NULL;
    CHECK_MSG(md_griffinlim_border(ctx, c->st, c->mag, c->T, &p, b, y_cpu, c->n, sc_cpu) == MD_OK, "cpu: %s",
              md_ctx_error(ctx));
    md_gl_border bg = b ? *b : (md_gl_border){0};
    if (b && b->tail) bg.tail = tail_gpu;
    p.gpu = g;
    CHECK_MSG(md_griffinlim_border(ctx, c->st, c->mag, c->T, &p, b ? &bg : NULL, y_gpu, c->n, sc_gpu) == MD_OK,
              "gpu: %s", md_ctx_error(ctx));
}

/* 0 and 1 iterations: the paths differ only by FFT rounding. */
static void test_few_iterations(md_ctx *ctx, md_gl_gpu *g, shape_case *c, const char *what)
{
    float *a = malloc(sizeof(float) * c->n), *b = malloc(sizeof(float) * c->n);
    for (int init = 0; init < 2; init++)
        for (int iters = 0; iters <= 1; iters++) {
            md_gl_params p;
            md_gl_params_default(&p);
            p.iters = iters;
            p.init = init ? MD_GL_INIT_RANDOM : MD_GL_INIT_PGHI;
            p.seed = 3;
            double sa = 0, sb = 0;
            both(ctx, g, c, p, NULL, a, b, NULL, &sa, &sb);
            double rel = max_diff(a, b, c->n) / fmax(max_abs(a, c->n), 1e-12);
            CHECK_MSG(rel < 2e-5, "%s, %s, %d iterations: waveforms differ by %.3g of the peak", what,
                      init ? "random" : "pghi", iters, rel);
            CHECK_MSG(fabs(sa - sb) < 1e-4, "%s, %d iterations: SC cpu %.6f gpu %.6f", what, iters, sa, sb);
        }
    free(a), free(b);
}

/* 32 iterations with momentum: rounding differences may grow a little, but
 * the result must converge as far as the reference does. */
static void test_converges(md_ctx *ctx, md_gl_gpu *g, shape_case *c)
{
    float *a = malloc(sizeof(float) * c->n), *b = malloc(sizeof(float) * c->n), *b2 = malloc(sizeof(float) * c->n);
    md_gl_params p;
    md_gl_params_default(&p);
    double s0 = 0, sa = 0, sb = 0, sb2 = 0;
    p.iters = 0;
    both(ctx, g, c, p, NULL, a, b, NULL, &s0, &sb);
    p.iters = 32;
    both(ctx, g, c, p, NULL, a, b, NULL, &sa, &sb);
    CHECK_MSG(sa < 0.8 * s0 && fabs(sa - sb) < 0.02 * sa + 1e-4, "32 iterations: SC start %.4f, cpu %.4f, gpu %.4f",
              s0, sa, sb);
    double rel = max_diff(a, b, c->n) / max_abs(a, c->n);
    CHECK_MSG(rel < 0.02, "32 iterations: waveforms differ by %.3g of the peak", rel);
    p.gpu = g;
    CHECK(md_griffinlim(ctx, c->st, c->mag, c->T, &p, b2, c->n, &sb2) == MD_OK);
    CHECK_MSG(!memcmp(b, b2, sizeof(float) * c->n) && sb == sb2, "a second GPU run differs");
    free(a), free(b), free(b2);
}

/* A chunk whose first frames are held to given values (the previous chunk's
 * STFT) and whose last frames' STFT is handed on. */
static void test_border(md_ctx *ctx, md_gl_gpu *g, shape_case *c)
{
    size_t H = 16, from = c->T - 32;
    float *head = malloc(sizeof(float) * 2 * H * c->bins);
    float *tc = malloc(sizeof(float) * 2 * (c->T - from) * c->bins), *tg = malloc(sizeof(float) * 2 * (c->T - from) * c->bins);
    float *a = malloc(sizeof(float) * c->n), *b = malloc(sizeof(float) * c->n);
    /* held values: the magnitudes with a phase ramp, as a previous chunk
     * would leave them */
    for (size_t i = 0; i < H * c->bins; i++) {
        head[2 * i] = c->mag[i] * cosf(0.1f * (float)i);
        head[2 * i + 1] = c->mag[i] * sinf(0.1f * (float)i);
    }
    md_gl_params p;
    md_gl_params_default(&p);
    p.iters = 1;
    md_gl_border bd = {head, H, tc, from};
    double sa = 0, sb = 0;
    both(ctx, g, c, p, &bd, a, b, tg, &sa, &sb);
    size_t nt = 2 * (c->T - from) * c->bins;
    double rel = max_diff(a, b, c->n) / max_abs(a, c->n), relt = max_diff(tc, tg, nt) / max_abs(tc, nt);
    CHECK_MSG(rel < 2e-5 && relt < 2e-5, "border, 1 iteration: waveform %.3g, tail %.3g of the peak", rel, relt);
    p.iters = 24;
    both(ctx, g, c, p, &bd, a, b, tg, &sa, &sb);
    /* the samples only held frames reach are the same on both paths */
    size_t held_samples = (H - 4) * 512 - 1024;
    double relh = max_diff(a, b, held_samples) / max_abs(a, held_samples);
    CHECK_MSG(relh < 1e-4, "held region after 24 iterations differs by %.3g of the peak", relh);
    CHECK_MSG(fabs(sa - sb) < 0.02 * sa + 1e-4, "border, 24 iterations: SC cpu %.4f gpu %.4f", sa, sb);
    free(head), free(tc), free(tg), free(a), free(b);
}

/* The mel inversion's iterations on the engine against the CPU loop: the
 * mel of the test signal's magnitudes, 60 iterations (the vocoder's) and 0. */
static void test_nnls(md_ctx *ctx, md_gl_gpu *g, shape_case *c)
{
    md_melbank *mb = NULL;
    CHECK(md_melbank_create(ctx, 44100, 2048, 128, 0, 22050, 0, 1, &mb) == MD_OK);
    if (!mb) return;
    size_t T = c->T, B = c->bins;
    float *mel = malloc(sizeof(float) * 128 * T), *col = malloc(sizeof(float) * 128);
    float *a = malloc(sizeof(float) * T * B), *b = malloc(sizeof(float) * T * B);
    for (size_t t = 0; t < T; t++) {
        md_melbank_apply(mb, c->mag + t * B, col);
        for (int i = 0; i < 128; i++) mel[(size_t)i * T + t] = col[i];
    }
    for (int iters = 0; iters <= 60; iters += 60) {
        double ra = 0, rb = 0;
        CHECK(md_mel_to_linear(ctx, mb, mel, T, iters, a, &ra) == MD_OK);
        md_status s = md_mel_to_linear_with(ctx, mb, mel, T, iters, md_gl_gpu_nnls, g, b, &rb);
        CHECK_MSG(s == MD_OK, "gpu nnls: %s", md_ctx_error(ctx));
        double rel = max_diff(a, b, T * B) / max_abs(a, T * B);
        CHECK_MSG(rel < 1e-5 && fabs(ra - rb) <= 1e-3 * ra + 1e-9, "nnls, %d iterations: solutions differ by %.3g of "
                  "the peak; residual cpu %.4g gpu %.4g", iters, rel, ra, rb);
        printf("nnls %d iterations: max difference %.3g of the peak, residual cpu %.6g gpu %.6g\n", iters, rel, ra, rb);
    }
    free(mel), free(col), free(a), free(b);
    md_melbank_destroy(mb);
}

/* The chunked vocoder with the engine: chunks of 66 frames (the shortest
 * allowed) make several held borders and tails go through the GPU path. Its
 * output converges as far as the CPU's and stays close to it. */
static void test_chunked_vocoder(md_ctx *ctx, md_gl_gpu *g, shape_case *c)
{
    md_mel_contract mc;
    md_mel_contract_default(&mc);
    md_melbank *mb = NULL;
    CHECK(md_melbank_create(ctx, 44100, 2048, 128, 0, 22050, 0, 1, &mb) == MD_OK);
    if (!mb) return;
    size_t T = c->T, B = c->bins;
    float *logmel = malloc(sizeof(float) * 128 * T), *col = malloc(sizeof(float) * 128);
    for (size_t t = 0; t < T; t++) {
        md_melbank_apply(mb, c->mag + t * B, col);
        for (int i = 0; i < 128; i++) logmel[(size_t)i * T + t] = logf(fmaxf(col[i], 1e-5f));
    }
    md_gl_params p;
    md_gl_params_default(&p);
    float *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    double sa = 0, sb = 0;
    CHECK(md_vocode_chunked(ctx, &mc, logmel, T, &p, 66, MD_VOCODER_OVERLAP_FRAMES, &a, &na, &sa) == MD_OK);
    p.gpu = g;
    md_status s = md_vocode_chunked(ctx, &mc, logmel, T, &p, 66, MD_VOCODER_OVERLAP_FRAMES, &b, &nb, &sb);
    CHECK_MSG(s == MD_OK, "chunked on the gpu: %s", md_ctx_error(ctx));
    if (a && b && na == nb) {
        double e = 0, r = 0;
        for (size_t i = 0; i < na; i++) e += ((double)a[i] - b[i]) * ((double)a[i] - b[i]), r += (double)a[i] * a[i];
        double db = 10 * log10(e / r);
        printf("chunked vocoder: SC cpu %.4f gpu %.4f, difference %.1f dB rms\n", sa, sb, db);
        CHECK_MSG(fabs(sa - sb) < 0.02 * sa + 1e-4 && db < -30, "chunked: SC cpu %.4f gpu %.4f, %.1f dB", sa, sb, db);
    } else {
        CHECK_MSG(0, "chunked: %zu and %zu samples", na, nb);
    }
    free(a), free(b), free(logmel), free(col);
    md_melbank_destroy(mb);
}

/* A failed run reports on the context of the thread that ran it, not on the
 * engine's creator's (the render's vocoding threads each have their own). */
static void test_error_lands_on_the_callers_context(md_gl_gpu *g, shape_case *c)
{
    md_ctx *other = NULL;
    md_ctx_create(&other);
    float y[16];
    md_gl_gpu_job bad = {c->mag, NULL, 4, 1, 0.5f, NULL, 8, y, 16, NULL, 0}; /* 8 held frames of 4 */
    CHECK(md_gl_gpu_run(g, other, &bad) == MD_ERR_USAGE);
    CHECK_MSG(strstr(md_ctx_error(other), "invalid job") != NULL, "message: '%s'", md_ctx_error(other));
    md_ctx_destroy(other);
}

static void test_refused(md_ctx *ctx)
{
    md_stft *odd = NULL;
    md_gl_gpu *g = NULL;
    CHECK(md_stft_create(ctx, 1000, 250, 1000, 1, &odd) == MD_OK);
    md_status s = md_gl_gpu_create(ctx, NULL, odd, &g);
    CHECK_MSG(s == MD_ERR_GPU && !g && strstr(md_ctx_error(ctx), "power of two"), "n_fft 1000: %d %s", s,
              md_ctx_error(ctx));
    md_ctx_clear_error(ctx);
    md_stft_destroy(odd);
}

int main(void)
{
    md_ctx *ctx = NULL;
    md_ctx_create(&ctx);
    md_ctx_set_log(ctx, gpu_test_log, NULL);
    md_ctx_set_log_level(ctx, MD_LOG_WARN);
    test_refused(ctx);
    shape_case c;
    md_gl_gpu *g = NULL;
    CHECK(shape_open(ctx, &c, 2048, 512, 2048, 1, 2 * 44100));
    md_status s = md_gl_gpu_create(ctx, NULL, c.st, &g);
    CHECK_MSG(s == MD_OK, "md_gl_gpu_create: %s", md_ctx_error(ctx));
    if (s == MD_OK) {
        test_few_iterations(ctx, g, &c, "2048/512 centred");
        test_converges(ctx, g, &c);
        test_border(ctx, g, &c);
        test_nnls(ctx, g, &c);
        test_error_lands_on_the_callers_context(g, &c);
        test_chunked_vocoder(ctx, g, &c);
        CHECK_MSG(md_gl_gpu_validation_count(g) == 0, "%llu validation messages", md_gl_gpu_validation_count(g));
        md_gl_gpu_destroy(g);
    }
    shape_close(&c);
    /* another shape: short frames, a shorter window, no centre padding */
    CHECK(shape_open(ctx, &c, 256, 64, 200, 0, 20000));
    g = NULL;
    s = md_gl_gpu_create(ctx, NULL, c.st, &g);
    CHECK_MSG(s == MD_OK, "md_gl_gpu_create 256: %s", md_ctx_error(ctx));
    if (s == MD_OK) test_few_iterations(ctx, g, &c, "256/64 window 200, not centred");
    md_gl_gpu_destroy(g);
    shape_close(&c);
    CHECK_MSG(gpu_test_log_lines == 0, "%d warning/error lines logged", gpu_test_log_lines);
    md_ctx_destroy(ctx);
    return md_test_finish();
}
