/* The streaming pieces of the render: the blocked mix log-mel equals the
 * whole-signal one exactly, streamed loudness equals the one-shot
 * measurement, the block writer and reader round-trip a float WAV, and the
 * streaming resampler agrees with the one-shot one. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audio/audio_io.h"
#include "audio/logmel.h"
#include "audio/loudness.h"
#include "audio/resample.h"
#include "render/render_mixmel.h"
#include "test_util.h"

/* A few seconds of something with structure: tones that come and go, noise bursts. */
static float *signal(size_t n)
{
    float *x = malloc(sizeof(float) * n);
    uint32_t r = 12345;
    for (size_t i = 0; i < n; i++) {
        r = r * 1664525u + 1013904223u;
        double t = (double)i / 44100.0, noise = ((double)(r >> 8) / 16777216.0 - 0.5);
        x[i] = (float)(0.3 * sin(2 * M_PI * 220 * t) * (fmod(t, 1.0) < 0.6) + 0.1 * noise * (fmod(t, 0.7) < 0.1));
    }
    return x;
}

static void test_mixmel(md_ctx *ctx)
{
    md_mel_contract c;
    md_mel_contract_default(&c);
    /* lengths around the batch size and a hop boundary */
    size_t lens[] = {44100 * 3 + 17, 256 * 512, 512 * 300 - 1, 1000};
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        size_t n = lens[li], T = md_mel_frames_for_samples(&c, n);
        float *x = signal(n), *whole = malloc(sizeof(float) * (size_t)c.n_mels * T);
        CHECK(md_logmel_compute(ctx, &c, x, n, whole) == MD_OK);
        md_mixmel *mm = NULL;
        CHECK(md_mixmel_create(ctx, &c, n, &mm) == MD_OK);
        /* odd block sizes, and more samples than announced (cut) */
        for (size_t a = 0; mm && a < n; a += 3001) CHECK(md_mixmel_push(mm, x + a, n - a < 3001 ? n - a : 3001) == MD_OK);
        if (mm) CHECK(md_mixmel_push(mm, x, 100) == MD_OK);
        const float *img = NULL;
        size_t Tm = 0;
        CHECK(mm && md_mixmel_finish(mm, &img, &Tm) == MD_OK);
        CHECK_MSG(Tm == T && img && !memcmp(img, whole, sizeof(float) * (size_t)c.n_mels * T),
                  "blocked log-mel of %zu samples differs from the whole-signal one", n);
        md_mixmel_destroy(mm);
        free(x), free(whole);
    }
}

static void test_loudness(md_ctx *ctx)
{
    size_t n = 48000 * 5;
    float *x = signal(n);
    md_loudness one, st;
    CHECK(md_loudness_measure(ctx, x, n, 48000, &one) == MD_OK);
    md_loudness_stream *ls = NULL;
    CHECK(md_loudness_stream_create(ctx, 48000, &ls) == MD_OK);
    for (size_t a = 0; ls && a < n; a += 7777) CHECK(md_loudness_stream_add(ctx, ls, x + a, n - a < 7777 ? n - a : 7777) == MD_OK);
    CHECK(ls && md_loudness_stream_finish(ctx, ls, &st) == MD_OK);
    md_loudness_stream_destroy(ls);
    CHECK(isfinite(one.integrated_lufs) && one.integrated_lufs == st.integrated_lufs);
    CHECK(one.true_peak == st.true_peak && one.sample_peak == st.sample_peak);
    double g = 0;
    CHECK(md_loudness_gain(ctx, x, n, 48000, -16, &g, NULL) == MD_OK);
    CHECK(g == md_loudness_gain_for(ctx, &st, -16));
    free(x);
}

static void test_writer_reader(md_ctx *ctx)
{
    const char *path = MD_TEST_TMP "/stream.f32.wav";
    unlink(path);
    size_t n = 100003;
    float *x = signal(n), *y = malloc(sizeof(float) * n);
    md_audio_writer *w = NULL;
    CHECK(md_audio_writer_open(ctx, path, 1, 48000, MD_AUDIO_WAV32F, 0, &w) == MD_OK);
    CHECK(access(path, F_OK) != 0); /* nothing at the final name until close */
    for (size_t a = 0; w && a < n; a += 4099) CHECK(md_audio_writer_write(ctx, w, x + a, n - a < 4099 ? n - a : 4099) == MD_OK);
    CHECK(w && md_audio_writer_close(ctx, w) == MD_OK);
    md_audio_reader *r = NULL;
    int rate = 0;
    size_t frames = 0, got = 0, total = 0;
    CHECK(md_audio_reader_open(ctx, path, &r, &rate, &frames) == MD_OK);
    CHECK(rate == 48000 && frames == n);
    while (r && md_audio_reader_read(ctx, r, y + total, n - total < 5000 ? n - total : 5000, &got) == MD_OK && got)
        total += got;
    md_audio_reader_close(r);
    size_t bad = 0; while (bad < total && x[bad] == y[bad]) bad++;
    CHECK_MSG(total == n && bad == n, "read %zu of %zu, first difference at %zu: %g vs %g", total, n, bad, bad < n ? x[bad] : 0, bad < n ? y[bad] : 0);
    /* an existing file is kept without force; an aborted writer leaves nothing */
    CHECK(md_audio_writer_open(ctx, path, 1, 48000, MD_AUDIO_WAV32F, 0, &w) == MD_ERR_IO);
    const char *p2 = MD_TEST_TMP "/stream-aborted.wav";
    unlink(p2);
    CHECK(md_audio_writer_open(ctx, p2, 1, 48000, MD_AUDIO_WAV24, 0, &w) == MD_OK);
    if (w) md_audio_writer_write(ctx, w, x, 1000);
    md_audio_writer_abort(w);
    CHECK(access(p2, F_OK) != 0);
    unlink(path);
    free(x), free(y);
}

typedef struct {
    float *y;
    size_t n, cap;
} acc;

static md_status take(void *user, const float *y, size_t n)
{
    acc *a = user;
    for (size_t i = 0; i < n && a->n < a->cap; i++) a->y[a->n++] = y[i];
    return MD_OK;
}

static void test_resampler(md_ctx *ctx)
{
    size_t n = 44100 * 2 + 11, m = 0;
    float *x = signal(n), *one = NULL;
    CHECK(md_resample(ctx, x, n, 44100, 48000, &one, &m) == MD_OK);
    acc a = {calloc(m + 100, sizeof(float)), 0, m + 100};
    md_resampler *rs = NULL;
    CHECK(md_resampler_create(ctx, 44100, 48000, take, &a, &rs) == MD_OK);
    for (size_t i = 0; rs && i < n; i += 1234) CHECK(md_resampler_push(rs, x + i, n - i < 1234 ? n - i : 1234) == MD_OK);
    CHECK(rs && md_resampler_finish(rs) == MD_OK);
    md_resampler_destroy(rs);
    CHECK_MSG(a.n + 2 >= m && a.n <= m + 2, "streamed %zu samples, one-shot %zu", a.n, m);
    double dmax = 0;
    for (size_t i = 0; one && i + 2 < m && i < a.n; i++) dmax = fmax(dmax, fabs((double)one[i] - a.y[i]));
    CHECK_MSG(dmax < 1e-4, "streamed vs one-shot resampling: max difference %g", dmax);
    free(x), free(one), free(a.y);
}

int main(void)
{
    md_ctx *ctx = NULL;
    md_ctx_create(&ctx);
    test_mixmel(ctx);
    test_loudness(ctx);
    test_writer_reader(ctx);
    test_resampler(ctx);
    md_ctx_destroy(ctx);
    return md_test_finish();
}
