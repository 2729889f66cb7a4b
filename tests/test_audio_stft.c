/* STFT: a frame against a direct DFT, and STFT -> ISTFT reconstruction. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>

#include "audio/stft.h"
#include "test_util.h"

static void fill_noise(float *x, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        x[i] = (float)((seed >> 8) / 16777216.0 * 2.0 - 1.0) * 0.8f;
    }
}

static void check_roundtrip(md_ctx *ctx, int n_fft, int hop, int win, int center, size_t n)
{
    md_stft *s = NULL;
    CHECK(md_stft_create(ctx, n_fft, hop, win, center, &s) == MD_OK);
    if (!s) return;
    size_t frames = md_stft_frames(s, n);
    int bins = md_stft_bins(s);
    float *x = malloc(sizeof(float) * n), *y = malloc(sizeof(float) * n);
    float *spec = malloc(sizeof(float) * 2 * bins * frames);
    fill_noise(x, n, (unsigned)(n_fft + hop));
    CHECK(md_stft_forward(s, x, n, spec) == MD_OK);
    CHECK(md_istft(s, spec, frames, y, n) == MD_OK);
    /* Without centring the first and last samples are covered only by the
     * near-zero ends of the Hann window; compare the fully covered middle. */
    size_t a = center ? 0 : (size_t)n_fft, b = center ? n : (frames - 1) * (size_t)hop;
    double err = 0;
    for (size_t i = a; i < b; i++) err = fmax(err, fabs((double)x[i] - y[i]));
    CHECK_MSG(err < 1e-5, "n_fft %d hop %d win %d center %d: max abs error %g", n_fft, hop, win,
              center, err);
    /* A second call reuses the plans and scratch and must agree exactly. */
    float *y2 = malloc(sizeof(float) * n);
    md_istft(s, spec, frames, y2, n);
    int same = 1;
    for (size_t i = 0; i < n; i++) same &= y[i] == y2[i];
    CHECK(same);
    free(x), free(y), free(y2), free(spec);
    md_stft_destroy(s);
}

static void check_against_dft(md_ctx *ctx)
{
    const int n_fft = 64, hop = 16;
    const size_t n = 200;
    md_stft *s = NULL;
    CHECK(md_stft_create(ctx, n_fft, hop, 48, 1, &s) == MD_OK);
    if (!s) return;
    float x[200], mag[13 * 33], spec[13 * 33 * 2];
    fill_noise(x, n, 7);
    CHECK(md_stft_frames(s, n) == 13);
    md_stft_forward(s, x, n, spec);
    md_stft_magnitude(s, x, n, mag);
    const float *w = md_stft_window(s);
    /* periodic hann of 48 centred in 64: zeros at 0..7 and 56..63 */
    CHECK(w[7] == 0.0f && w[8] == 0.0f && w[56] == 0.0f);
    CHECK_NEAR(w[8 + 24], 1.0, 1e-7);
    double err = 0;
    for (int t = 0; t < 13; t++) {
        for (int k = 0; k <= n_fft / 2; k++) {
            double re = 0, im = 0;
            for (int i = 0; i < n_fft; i++) {
                long j = (long)t * hop - n_fft / 2 + i;
                double v = (j >= 0 && j < (long)n) ? x[j] * w[i] : 0.0;
                re += v * cos(2 * M_PI * k * i / n_fft);
                im -= v * sin(2 * M_PI * k * i / n_fft);
            }
            const float *z = spec + 2 * (t * 33 + k);
            err = fmax(err, fmax(fabs(re - z[0]), fabs(im - z[1])));
            err = fmax(err, fabs(hypot(re, im) - mag[t * 33 + k]));
        }
    }
    CHECK_MSG(err < 1e-4, "STFT vs direct DFT: max error %g", err);
    md_stft_destroy(s);
}

/* Handles of several sizes created, used and destroyed from four threads
 * at once (the planner is serialised; each handle is used by one thread). */
static void *worker(void *arg)
{
    int id = *(int *)arg, bad = 0;
    md_ctx *ctx = NULL;
    md_ctx_create(&ctx);
    for (int r = 0; r < 6; r++) {
        int n_fft = 256 << ((id + r) % 4);
        md_stft *s = NULL;
        if (md_stft_create(ctx, n_fft, n_fft / 4, n_fft, 1, &s) != MD_OK) {
            bad++;
            continue;
        }
        size_t n = 4000, frames = md_stft_frames(s, n);
        float x[4000], y[4000], *spec = malloc(sizeof(float) * 2 * (size_t)md_stft_bins(s) * frames);
        fill_noise(x, n, (unsigned)(id * 31 + r));
        md_stft_forward(s, x, n, spec);
        md_istft(s, spec, frames, y, n);
        for (size_t i = 0; i < n; i++) bad += fabsf(x[i] - y[i]) > 1e-5f;
        free(spec);
        md_stft_destroy(s);
    }
    md_ctx_destroy(ctx);
    *(int *)arg = bad;
    return NULL;
}

static void check_threads(void)
{
    pthread_t th[4];
    int arg[4];
    for (int i = 0; i < 4; i++) {
        arg[i] = i;
        CHECK(pthread_create(&th[i], NULL, worker, &arg[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK_MSG(arg[i] == 0, "thread %d: %d failures", i, arg[i]);
    }
}

int main(void)
{
    md_ctx *ctx = NULL;
    md_ctx_create(&ctx);
    check_against_dft(ctx);
    check_roundtrip(ctx, 2048, 512, 2048, 1, 44100 + 123);
    check_roundtrip(ctx, 1024, 256, 800, 1, 10000);
    check_roundtrip(ctx, 512, 128, 512, 0, 9000);
    check_threads();
    md_stft *s = NULL;
    CHECK(md_stft_create(ctx, 2048, 4096, 2048, 1, &s) == MD_ERR_USAGE);
    CHECK(md_stft_create(ctx, 2048, 512, 4096, 1, &s) == MD_ERR_USAGE);
    md_ctx_destroy(ctx);
    return md_test_finish();
}
