/* STFT / ISTFT with FFTW plans made once per handle. */
#include "audio/stft.h"

#include <dlfcn.h>
#include <fftw3.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* FFTW's planner (plan creation and destruction) is not thread-safe, while
 * executing an existing plan is. FFTW offers fftwf_make_planner_thread_safe()
 * (in libfftw3f_threads), which installs a lock inside FFTW itself. It has to
 * run once per process, before any thread plans, and it changes FFTW's own
 * process-wide state, not ours: that is why a process-wide pthread_once is
 * acceptable here even though melodiff keeps no other global mutable state.
 * The build does not link libfftw3f_threads, so the function is taken from
 * the link (weak symbol, when an application links it) or else from the
 * installed library with dlopen (never closed: the lock must stay). Either
 * way our own planner calls are also serialised by planner_lock, so melodiff
 * threads are safe even where neither is available. */
#pragma weak fftwf_make_planner_thread_safe

static pthread_once_t planner_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t planner_lock = PTHREAD_MUTEX_INITIALIZER;

static void planner_init(void)
{
    if (fftwf_make_planner_thread_safe) {
        fftwf_make_planner_thread_safe();
        return;
    }
    void *lib = dlopen("libfftw3f_threads.so.3", RTLD_NOW | RTLD_GLOBAL);
    void (*fn)(void) = NULL;
    if (lib) *(void **)&fn = dlsym(lib, "fftwf_make_planner_thread_safe");
    if (fn) fn();
}

struct md_stft {
    int n_fft, hop, win_length, center, bins;
    float *window;      /* analysis window, n_fft */
    float *synth;       /* window / n_fft: c2r is unnormalised */
    float *fin;         /* FFTW input/output buffers (aligned) */
    fftwf_complex *fout;
    fftwf_plan r2c, c2r;
    /* ISTFT scratch, grown on demand and reused: overlap-add buffer and the
     * reciprocal window-square sum for the last (frames, n) seen. */
    float *ola, *wsum_inv;
    size_t ola_cap, wsum_frames, wsum_n;
    size_t pad;            /* n_fft/2 in centre mode */
    size_t span_lo, span_hi; /* ola samples written by the last accumulate */
};

static void make_window(md_stft *s)
{
    int off = (s->n_fft - s->win_length) / 2;
    for (int i = 0; i < s->n_fft; i++) s->window[i] = 0.0f;
    for (int i = 0; i < s->win_length; i++)
        s->window[off + i] = (float)(0.5 - 0.5 * cos(2.0 * M_PI * i / s->win_length));
    for (int i = 0; i < s->n_fft; i++) s->synth[i] = s->window[i] / (float)s->n_fft;
}

md_status md_stft_create(md_ctx *ctx, int n_fft, int hop, int win_length, int center,
                         md_stft **out)
{
    if (n_fft < 16 || n_fft > 65536 || (n_fft & 1) || hop < 1 || hop > n_fft ||
        win_length < 1 || win_length > n_fft)
        return md_fail(ctx, MD_ERR_USAGE, "stft: invalid n_fft %d / hop %d / win_length %d",
                       n_fft, hop, win_length);
    md_stft *s = calloc(1, sizeof *s);
    if (!s) return md_fail(ctx, MD_ERR_NOMEM, "stft: out of memory");
    s->n_fft = n_fft;
    s->hop = hop;
    s->win_length = win_length;
    s->center = center != 0;
    s->bins = n_fft / 2 + 1;
    s->window = malloc(sizeof(float) * (size_t)n_fft);
    s->synth = malloc(sizeof(float) * (size_t)n_fft);
    s->fin = fftwf_malloc(sizeof(float) * (size_t)n_fft);
    s->fout = fftwf_malloc(sizeof(fftwf_complex) * (size_t)s->bins);
    if (!s->window || !s->synth || !s->fin || !s->fout) {
        md_stft_destroy(s);
        return md_fail(ctx, MD_ERR_NOMEM, "stft: out of memory");
    }
    make_window(s);
    pthread_once(&planner_once, planner_init);
    pthread_mutex_lock(&planner_lock);
    /* ESTIMATE, not MEASURE: MEASURE picks an algorithm by timing it, so
     * two runs could round differently and a render would not be identical
     * run to run. For 2048 points ESTIMATE's plans were as fast here
     * (4.2-4.9 us vs 4.6-4.9 us per transform) and cost no start-up time. */
    s->r2c = fftwf_plan_dft_r2c_1d(n_fft, s->fin, s->fout, FFTW_ESTIMATE);
    s->c2r = fftwf_plan_dft_c2r_1d(n_fft, s->fout, s->fin, FFTW_ESTIMATE);
    pthread_mutex_unlock(&planner_lock);
    if (!s->r2c || !s->c2r) {
        md_stft_destroy(s);
        return md_fail(ctx, MD_ERR_INTERNAL, "stft: FFTW could not plan a %d-point transform", n_fft);
    }
    *out = s;
    return MD_OK;
}

void md_stft_destroy(md_stft *s)
{
    if (!s) return;
    pthread_mutex_lock(&planner_lock);
    if (s->r2c) fftwf_destroy_plan(s->r2c);
    if (s->c2r) fftwf_destroy_plan(s->c2r);
    pthread_mutex_unlock(&planner_lock);
    fftwf_free(s->fin);
    fftwf_free(s->fout);
    free(s->window);
    free(s->synth);
    free(s->ola);
    free(s->wsum_inv);
    free(s);
}

int md_stft_bins(const md_stft *s) { return s->bins; }
int md_stft_n_fft(const md_stft *s) { return s->n_fft; }
int md_stft_hop(const md_stft *s) { return s->hop; }
int md_stft_win_length(const md_stft *s) { return s->win_length; }
int md_stft_center(const md_stft *s) { return s->center; }
const float *md_stft_window(const md_stft *s) { return s->window; }

size_t md_stft_frames(const md_stft *s, size_t n)
{
    if (s->center) return 1 + n / (size_t)s->hop;
    if (n < (size_t)s->n_fft) return 0;
    return 1 + (n - (size_t)s->n_fft) / (size_t)s->hop;
}

/* Fills s->fin with frame t of x (windowed, zeros outside the signal) and
 * runs the forward transform into s->fout. */
static void analyse_frame(md_stft *s, const float *x, size_t n, size_t t)
{
    long start = (long)(t * (size_t)s->hop) - (s->center ? s->n_fft / 2 : 0);
    long lo = start < 0 ? -start : 0;
    long hi = s->n_fft;
    if (start + hi > (long)n) hi = (long)n - start;
    if (hi < lo) hi = lo;
    for (long i = 0; i < lo; i++) s->fin[i] = 0.0f;
    for (long i = lo; i < hi; i++) s->fin[i] = x[start + i] * s->window[i];
    for (long i = hi; i < s->n_fft; i++) s->fin[i] = 0.0f;
    fftwf_execute(s->r2c);
}

md_status md_stft_forward_range(md_stft *s, const float *x, size_t n, float *spec, size_t t0,
                                size_t t1)
{
    size_t stride = 2 * (size_t)s->bins;
    for (size_t t = t0; t < t1; t++) {
        analyse_frame(s, x, n, t);
        memcpy(spec + t * stride, s->fout, sizeof(float) * stride);
    }
    return MD_OK;
}

md_status md_stft_forward(md_stft *s, const float *x, size_t n, float *spec)
{
    return md_stft_forward_range(s, x, n, spec, 0, md_stft_frames(s, n));
}

md_status md_stft_magnitude(md_stft *s, const float *x, size_t n, float *mag)
{
    size_t frames = md_stft_frames(s, n);
    for (size_t t = 0; t < frames; t++) {
        analyse_frame(s, x, n, t);
        float *m = mag + t * (size_t)s->bins;
        for (int k = 0; k < s->bins; k++)
            m[k] = sqrtf(s->fout[k][0] * s->fout[k][0] + s->fout[k][1] * s->fout[k][1]);
    }
    return MD_OK;
}

/* Makes sure the overlap-add buffer and the window-sum reciprocal cover
 * `total` padded samples for this (frames, n). */
static md_status istft_scratch(md_stft *s, size_t frames, size_t n, size_t total)
{
    if (total > s->ola_cap) {
        float *a = realloc(s->ola, sizeof(float) * total);
        if (!a) return MD_ERR_NOMEM;
        s->ola = a;
        float *b = realloc(s->wsum_inv, sizeof(float) * total);
        if (!b) return MD_ERR_NOMEM;
        s->wsum_inv = b;
        s->ola_cap = total;
        s->wsum_frames = 0;
    }
    if (s->wsum_frames == frames && s->wsum_n == n) return MD_OK;
    md_stft_window_sum_inv(s, frames, total, s->wsum_inv);
    s->wsum_frames = frames;
    s->wsum_n = n;
    return MD_OK;
}

const float *md_stft_synthesis_window(const md_stft *s) { return s->synth; }

size_t md_stft_padded_span(const md_stft *s, size_t frames, size_t n)
{
    size_t pad = s->center ? (size_t)s->n_fft / 2 : 0;
    size_t total = (frames ? (frames - 1) * (size_t)s->hop : 0) + (size_t)s->n_fft;
    return total < n + pad ? n + pad : total;
}

void md_stft_window_sum_inv(const md_stft *s, size_t frames, size_t total, float *out)
{
    memset(out, 0, sizeof(float) * total);
    for (size_t t = 0; t < frames; t++) {
        float *w = out + t * (size_t)s->hop;
        for (int i = 0; i < s->n_fft; i++) w[i] += s->window[i] * s->window[i];
    }
    /* As librosa: divide wherever the sum is above the smallest float. */
    for (size_t i = 0; i < total; i++) out[i] = out[i] > FLT_MIN ? 1.0f / out[i] : 0.0f;
}

md_status md_istft_prepare(md_stft *s, size_t frames, size_t n)
{
    s->pad = s->center ? (size_t)s->n_fft / 2 : 0;
    s->span_lo = s->span_hi = 0;
    return istft_scratch(s, frames, n, md_stft_padded_span(s, frames, n));
}

void md_istft_accumulate(md_stft *s, const float *spec, size_t t0, size_t t1)
{
    size_t stride = 2 * (size_t)s->bins;
    s->span_lo = t0 * (size_t)s->hop;
    s->span_hi = t1 > t0 ? (t1 - 1) * (size_t)s->hop + (size_t)s->n_fft : s->span_lo;
    memset(s->ola + s->span_lo, 0, sizeof(float) * (s->span_hi - s->span_lo));
    for (size_t t = t0; t < t1; t++) {
        memcpy(s->fout, spec + t * stride, sizeof(float) * stride);
        fftwf_execute(s->c2r);
        float *o = s->ola + t * (size_t)s->hop;
        for (int i = 0; i < s->n_fft; i++) o[i] += s->fin[i] * s->synth[i];
    }
}

void md_istft_finish(md_stft *const *parts, int n_parts, float *y, size_t i0, size_t i1)
{
    const md_stft *s0 = parts[0];
    for (size_t i = i0; i < i1; i++) {
        size_t j = s0->pad + i;
        float acc = 0.0f;
        for (int p = 0; p < n_parts; p++)
            if (j >= parts[p]->span_lo && j < parts[p]->span_hi) acc += parts[p]->ola[j];
        y[i] = acc * s0->wsum_inv[j];
    }
}

md_status md_istft(md_stft *s, const float *spec, size_t frames, float *y, size_t n)
{
    if (md_istft_prepare(s, frames, n) != MD_OK) return MD_ERR_NOMEM;
    md_istft_accumulate(s, spec, 0, frames);
    md_istft_finish(&s, 1, y, 0, n);
    return MD_OK;
}
