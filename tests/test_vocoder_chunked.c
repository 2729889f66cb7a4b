/* The chunked Griffin-Lim vocoder on a real FluidSynth render against the
 * whole-signal one: spectral convergence and log-spectral distance within a
 * small margin, no level dip and no click at any seam (where a naive hard
 * concatenation of independently vocoded chunks shows one), identical
 * output however the frames are pushed, and one chunk = whole signal. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "audio/logmel.h"
#include "audio/meldist.h"
#include "audio/stft.h"
#include "synth/fluid_render.h"
#include "test_util.h"
#include "vocoder/vocoder_gl.h"
#include "vocoder/vocoder_stream.h"

#define SIMU "/usr/share/games/simutrans/music/03-Sunday-drivers.mid"
#define SECONDS 8.0
#define CHUNK 240   /* frames: 8 s make 3 chunks, 2 seams */
#define OVERLAP MD_VOCODER_OVERLAP_FRAMES
#define HOP 512

typedef struct quality {
    double sc, lsd;
} quality;

/* SC against the original's STFT magnitude, LSD against its log-mel. */
static quality measure(md_ctx *ctx, const md_mel_contract *c, md_stft *st, const float *mag, const float *lm,
                       size_t T, const float *y, size_t n)
{
    quality q = {1, 99};
    float *lm2 = malloc(sizeof(float) * (size_t)c->n_mels * T);
    CHECK(md_spectral_convergence(ctx, st, mag, T, y, n, &q.sc) == MD_OK);
    CHECK(md_logmel_compute(ctx, c, y, n, lm2) == MD_OK);
    md_meldist d;
    md_meldist_compute(lm, T, lm2, T, c->n_mels, &d);
    q.lsd = d.lsd_db;
    free(lm2);
    return q;
}

/* dB RMS of y over [a, a + w). */
static double level_db(const float *y, size_t a, size_t w)
{
    double s = 0;
    for (size_t i = a; i < a + w; i++) s += (double)y[i] * y[i];
    return 10 * log10(s / (double)w + 1e-20);
}

/* Worst level deviation at a seam: the level of y relative to the reference
 * x (the whole-signal vocoder's output, so that Griffin-Lim's own level
 * wobble is not blamed on the seam), in 1024-sample windows over the seam
 * region [a, b), against the same relative level in the half second on
 * either side. */
static double seam_level_dev(const float *x, const float *y, size_t a, size_t b)
{
    const size_t w = 1024, side = 22050;
    double ref = 0;
    int nref = 0;
    for (size_t p = a - side; p + w <= a; p += w / 2, nref++) ref += level_db(y, p, w) - level_db(x, p, w);
    for (size_t p = b; p + w <= b + side; p += w / 2, nref++) ref += level_db(y, p, w) - level_db(x, p, w);
    ref /= nref;
    double worst = 0;
    for (size_t p = a; p + w <= b; p += w / 2) {
        double d = fabs(level_db(y, p, w) - level_db(x, p, w) - ref);
        if (d > worst) worst = d;
    }
    return worst;
}

/* Largest first difference in [a, b) over the largest in the half second
 * around it (a click is a jump no neighbouring sample makes). */
static double click_ratio(const float *y, size_t a, size_t b)
{
    const size_t side = 22050;
    double in = 0, out = 0;
    for (size_t i = a - side; i < b + side; i++) {
        double d = fabs((double)y[i] - y[i - 1]);
        if (i >= a && i < b) in = fmax(in, d);
        else out = fmax(out, d);
    }
    return in / (out + 1e-20);
}

static md_status sink_copy(void *user, const float *y, size_t n)
{
    float **p = user;
    memcpy(*p, y, sizeof(float) * n);
    *p += n;
    return MD_OK;
}

int main(void)
{
    md_ctx *ctx = NULL;
    md_ctx_create(&ctx);
    md_synth *syn = NULL;
    float *x = NULL;
    size_t nx = 0;
    CHECK(md_synth_create(ctx, NULL, &syn) == MD_OK);
    CHECK(syn && md_synth_render_midi(syn, SIMU, SECONDS + 4, &x, &nx) == MD_OK);
    md_synth_destroy(syn);
    /* The song starts with silence: skip to the music, so every seam falls
     * where there is something to hear. */
    size_t skip = 0;
    while (x && skip < nx && fabsf(x[skip]) < 1e-3f) skip++;
    skip = skip > 4410 ? skip - 4410 : 0;
    if (x && nx > skip + (size_t)(SECONDS * 44100)) {
        memmove(x, x + skip, sizeof(float) * (size_t)(SECONDS * 44100));
        nx = (size_t)(SECONDS * 44100);
    }
    md_mel_contract c;
    md_mel_contract_default(&c);
    md_stft *st = NULL;
    CHECK(md_stft_create(ctx, c.n_fft, c.hop, c.win_length, c.center, &st) == MD_OK);
    if (!x || !st) return md_test_finish();
    size_t T = md_mel_frames_for_samples(&c, nx), n = (T - 1) * HOP;
    float *lm = malloc(sizeof(float) * (size_t)c.n_mels * T), *mag = malloc(sizeof(float) * T * 1025);
    CHECK(md_logmel_compute(ctx, &c, x, nx, lm) == MD_OK);
    md_stft_magnitude(st, x, n, mag);
    md_gl_params gl;
    md_gl_params_default(&gl);

    float *yw = NULL, *yc = NULL, *yo = NULL;
    size_t nw = 0, nc = 0, no = 0;
    double scw = 0, scc = 0;
    CHECK(md_vocode_gl(ctx, &c, lm, T, &gl, &yw, &nw, &scw) == MD_OK);
    CHECK(md_vocode_chunked(ctx, &c, lm, T, &gl, CHUNK, OVERLAP, &yc, &nc, &scc) == MD_OK);
    /* one chunk big enough for everything is the whole-signal vocoder */
    CHECK(md_vocode_chunked(ctx, &c, lm, T, &gl, T, OVERLAP, &yo, &no, NULL) == MD_OK);
    CHECK(nw == n && nc == n && no == n);
    CHECK(yw && yo && !memcmp(yw, yo, sizeof(float) * n));

    quality qw = measure(ctx, &c, st, mag, lm, T, yw, n), qc = measure(ctx, &c, st, mag, lm, T, yc, n);
    printf("whole: SC %.6f LSD %.5f dB; chunked (%d frames, overlap %d): SC %.6f LSD %.5f dB\n", qw.sc,
           qw.lsd, CHUNK, OVERLAP, qc.sc, qc.lsd);
    CHECK_MSG(qc.sc < qw.sc + 0.005, "chunked SC %.4f vs whole %.4f", qc.sc, qw.sc);
    CHECK_MSG(qc.lsd < qw.lsd + 0.05, "chunked LSD %.3f vs whole %.3f dB", qc.lsd, qw.lsd);

    /* The naive way: vocode each chunk alone and butt them together. */
    float *yn = calloc(n, sizeof(float));
    size_t cut[2], ncut = 0;
    for (size_t a = 0; a + 1 < T; ncut++) {
        size_t b = a + CHUNK - OVERLAP < T - 1 ? a + CHUNK - OVERLAP : T - 1;
        float *part = NULL;
        size_t np = 0;
        float *sub = malloc(sizeof(float) * (size_t)c.n_mels * (b - a + 1));
        for (int m = 0; m < c.n_mels; m++) memcpy(sub + (size_t)m * (b - a + 1), lm + (size_t)m * T + a, sizeof(float) * (b - a + 1));
        CHECK(md_vocode_gl(ctx, &c, sub, b - a + 1, &gl, &part, &np, NULL) == MD_OK);
        if (part) memcpy(yn + a * HOP, part, sizeof(float) * np);
        if (b < T - 1 && ncut < 2) cut[ncut] = b;
        free(part), free(sub);
        a = b;
    }
    /* Seams of the chunked vocoder: chunk k starts at frame k*(CHUNK-OVERLAP)
     * (frames are vocoded as soon as a chunk is full); the switch and the
     * held-to-free transition both lie in its first OVERLAP frames. */
    int naive_fails = 0;
    for (int k = 1; k <= 2; k++) {
        size_t s0 = (size_t)k * (CHUNK - OVERLAP), a = s0 * HOP, b = (s0 + OVERLAP) * HOP;
        double lev = seam_level_dev(yw, yc, a, b), clk = click_ratio(yc, a, b);
        size_t na = cut[k - 1] * HOP - 4096, nb = cut[k - 1] * HOP + 4096;
        double nlev = seam_level_dev(yw, yn, na, nb), nclk = click_ratio(yn, na, nb);
        printf("seam %d: level deviation %.2f dB, click ratio %.2f; naive: %.2f dB, %.2f\n", k, lev, clk, nlev,
               nclk);
        CHECK_MSG(lev < 1.0, "seam %d: level deviation %.2f dB", k, lev);
        CHECK_MSG(clk < 1.0, "seam %d: click ratio %.2f", k, clk);
        naive_fails += nlev >= 1.0 || nclk >= 1.0;
    }
    /* the checks above can fail: butting chunks together does */
    CHECK_MSG(naive_fails > 0, "naive concatenation passed the seam checks");

    /* Pushing in odd pieces changes nothing. */
    md_vocoder_stream *vs = NULL;
    float *yp = malloc(sizeof(float) * n), *wp = yp;
    CHECK(md_vocoder_stream_create(ctx, &c, &gl, CHUNK, OVERLAP, sink_copy, &wp, &vs) == MD_OK);
    for (size_t a = 0; vs && a < T; a += 37)
        CHECK(md_vocoder_stream_push(vs, lm + a, T, T - a < 37 ? T - a : 37) == MD_OK);
    CHECK(vs && md_vocoder_stream_finish(vs, NULL) == MD_OK);
    md_vocoder_stream_destroy(vs);
    CHECK(wp == yp + n && !memcmp(yp, yc, sizeof(float) * n));

    /* argument checks */
    CHECK(md_vocoder_stream_create(ctx, &c, &gl, CHUNK, 4, sink_copy, &wp, &vs) == MD_ERR_USAGE);
    CHECK(md_vocoder_stream_create(ctx, &c, &gl, 60, 48, sink_copy, &wp, &vs) == MD_ERR_USAGE);

    free(x), free(lm), free(mag), free(yw), free(yc), free(yo), free(yn), free(yp);
    md_stft_destroy(st);
    md_ctx_destroy(ctx);
    return md_test_finish();
}
