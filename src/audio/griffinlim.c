/* Fast Griffin-Lim on md_stft (FFTW plans made once, no per-iteration
 * allocation). */
#include "audio/griffinlim.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "audio/griffinlim_gpu.h"
#include "audio/pghi.h"

/* PGHI integrates only coefficients within this range of the peak; the rest
 * start at phase 0 for Griffin-Lim to settle. On 10 s of music, 60 dB gives
 * the same starting convergence as 100 dB (0.079) at a third of the time. */
#define MD_GL_PGHI_TOL_DB 60.0

int md_gl_init_parse(const char *s, md_gl_init *out)
{
    if (!strcmp(s, "zeros")) *out = MD_GL_INIT_ZEROS;
    else if (!strcmp(s, "random")) *out = MD_GL_INIT_RANDOM;
    else if (!strcmp(s, "pghi")) *out = MD_GL_INIT_PGHI;
    else return -1;
    return 0;
}

void md_gl_params_default(md_gl_params *p)
{
    memset(p, 0, sizeof *p);
    p->iters = 32;
    p->momentum = 0.99;
    p->init = MD_GL_INIT_PGHI;
    p->threads = 1;
}

/* splitmix64 of (seed, i): a counter-based generator, so the phase of a
 * coefficient does not depend on how the work is split. */
static double uniform01(uint64_t seed, uint64_t i)
{
    uint64_t z = seed + 0x9E3779B97F4A7C15ull * (i + 1);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}

/* Writes S * e^{i phase} of the initial estimate into spec. */
static md_status init_spec(md_ctx *ctx, md_stft *stft, const float *mag, size_t frames,
                           const md_gl_params *p, const float *head, size_t n_head, float *spec)
{
    size_t N = frames * (size_t)md_stft_bins(stft), nh = n_head * (size_t)md_stft_bins(stft);
    if (p->init == MD_GL_INIT_PGHI) {
        float *ph = malloc(sizeof(float) * (N ? N : 1));
        float *seed = malloc(sizeof(float) * (nh ? nh : 1));
        if (!ph || !seed) {
            free(ph), free(seed);
            return md_fail(ctx, MD_ERR_NOMEM, "griffin-lim: out of memory");
        }
        for (size_t i = 0; i < nh; i++) seed[i] = atan2f(head[2 * i + 1], head[2 * i]);
        md_status s = md_pghi_seeded(ctx, mag, frames, md_stft_n_fft(stft), md_stft_hop(stft),
                                     md_stft_win_length(stft), MD_GL_PGHI_TOL_DB, nh ? seed : NULL, n_head, ph);
        free(seed);
        for (size_t i = 0; s == MD_OK && i < N; i++) {
            spec[2 * i] = mag[i] * cosf(ph[i]);
            spec[2 * i + 1] = mag[i] * sinf(ph[i]);
        }
        free(ph);
        return s;
    }
    for (size_t i = 0; i < N; i++) {
        double a = p->init == MD_GL_INIT_RANDOM ? 2.0 * M_PI * uniform01(p->seed, i) : 0.0;
        spec[2 * i] = (float)(mag[i] * cos(a));
        spec[2 * i + 1] = (float)(mag[i] * sin(a));
    }
    return MD_OK;
}

/* Sums of squares for SC over coefficients [a, b). */
static void sc_sums(const float *mag, const float *c, size_t a, size_t b, double *num, double *den)
{
    double nu = 0, de = 0;
    for (size_t i = a; i < b; i++) {
        double m = sqrt((double)c[2 * i] * c[2 * i] + (double)c[2 * i + 1] * c[2 * i + 1]);
        double d = mag[i] - m;
        nu += d * d;
        de += (double)mag[i] * mag[i];
    }
    *num = nu, *den = de;
}

static double sc_of(const float *mag, const float *c, size_t N)
{
    double num, den;
    sc_sums(mag, c, 0, N, &num, &den);
    return den > 0 ? sqrt(num / den) : 0.0;
}

/* t = c - beta * prev (prev <- c), then spec = S * t / |t|, fused in one
 * pass over coefficients [a, b). */
static void momentum_project(const float *mag, float *c, float *prev, float *spec, size_t a,
                             size_t b, float beta)
{
    for (size_t i = a; i < b; i++) {
        float cr = c[2 * i], ci = c[2 * i + 1];
        float tr = cr - beta * prev[2 * i], ti = ci - beta * prev[2 * i + 1];
        prev[2 * i] = cr, prev[2 * i + 1] = ci;
        float norm = sqrtf(tr * tr + ti * ti);
        float g = mag[i] / (norm + 1e-16f);
        if (norm == 0.0f) tr = 1.0f, ti = 0.0f, g = mag[i];
        spec[2 * i] = tr * g;
        spec[2 * i + 1] = ti * g;
    }
}

md_status md_spectral_convergence(md_ctx *ctx, md_stft *stft, const float *mag, size_t frames,
                                  const float *x, size_t n, double *sc)
{
    size_t have = md_stft_frames(stft, n), N = frames * (size_t)md_stft_bins(stft);
    if (have != frames)
        return md_fail(ctx, MD_ERR_USAGE, "spectral convergence: %zu samples give %zu frames, not %zu",
                       n, have, frames);
    float *c = malloc(sizeof(float) * 2 * (N ? N : 1));
    if (!c) return md_fail(ctx, MD_ERR_NOMEM, "spectral convergence: out of memory");
    md_stft_forward(stft, x, n, c);
    *sc = sc_of(mag, c, N);
    free(c);
    return MD_OK;
}

#define MAX_THREADS 16

/* One worker's share: frames [t0, t1) on its own md_stft. */
typedef struct md_gl_part {
    md_stft *stft;
    size_t t0, t1;
    struct md_gl_run *run;
    double num, den; /* SC sums of its frames */
} md_gl_part;

typedef struct md_gl_run {
    const float *mag;
    float *spec, *c, *prev, *y;
    size_t frames, n, bins;
    float beta;
    int want_sc, n_parts;
    const float *head; /* held frames [0, n_head) */
    size_t n_head;
    md_gl_part part[MAX_THREADS];
    md_stft *stfts[MAX_THREADS];
} md_gl_run;

/* Phase 1: inverse transform of this part's frames. */
static void *phase_istft(void *arg)
{
    md_gl_part *p = arg;
    md_istft_accumulate(p->stft, p->run->spec, p->t0, p->t1);
    return NULL;
}

/* Phase 2: this part's share of the output samples. */
static void *phase_finish(void *arg)
{
    md_gl_part *p = arg;
    md_gl_run *r = p->run;
    size_t k = (size_t)(p - r->part), per = (r->n + (size_t)r->n_parts - 1) / (size_t)r->n_parts;
    size_t i0 = k * per < r->n ? k * per : r->n, i1 = i0 + per < r->n ? i0 + per : r->n;
    md_istft_finish(r->stfts, r->n_parts, r->y, i0, i1);
    return NULL;
}

/* Phase 3: forward transform, convergence sums and the momentum step. */
static void *phase_forward(void *arg)
{
    md_gl_part *p = arg;
    md_gl_run *r = p->run;
    if (r->beta < 0 && !r->want_sc) return NULL; /* final waveform, nobody asks its SC */
    md_stft_forward_range(p->stft, r->y, r->n, r->c, p->t0, p->t1);
    size_t a = p->t0 * r->bins, b = p->t1 * r->bins;
    if (r->want_sc) sc_sums(r->mag, r->c, a, b, &p->num, &p->den);
    if (r->beta >= 0) momentum_project(r->mag, r->c, r->prev, r->spec, a, b, r->beta);
    return NULL;
}

/* Runs fn on every part: parts 1.. on new threads, part 0 here. A thread
 * that cannot be started runs here too, so the result never changes. */
static void run_parts(md_gl_run *r, void *(*fn)(void *))
{
    pthread_t th[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    for (int k = 1; k < r->n_parts; k++) started[k] = pthread_create(&th[k], NULL, fn, &r->part[k]) == 0;
    fn(&r->part[0]);
    for (int k = 1; k < r->n_parts; k++) {
        if (started[k]) pthread_join(th[k], NULL);
        else fn(&r->part[k]);
    }
}

/* One Griffin-Lim step: y = ISTFT(spec), c = STFT(y), then (beta >= 0)
 * spec <- projection of the momentum step. Returns SC when want_sc. */
static double step(md_gl_run *r)
{
    run_parts(r, phase_istft);
    run_parts(r, phase_finish);
    run_parts(r, phase_forward);
    /* Held frames go back to their given values: the momentum step must not
     * move the phase the previous chunk fixed. */
    if (r->beta >= 0 && r->n_head)
        memcpy(r->spec, r->head, sizeof(float) * 2 * r->n_head * r->bins);
    double num = 0, den = 0;
    for (int k = 0; k < r->n_parts; k++) num += r->part[k].num, den += r->part[k].den;
    return den > 0 ? sqrt(num / den) : 0.0;
}

static md_status setup_parts(md_ctx *ctx, md_stft *stft, md_gl_run *r, int threads)
{
    int np = threads < 1 ? 1 : threads > MAX_THREADS ? MAX_THREADS : threads;
    if ((size_t)np > r->frames) np = r->frames ? (int)r->frames : 1;
    r->n_parts = np;
    for (int k = 0; k < np; k++) {
        md_gl_part *p = &r->part[k];
        p->run = r;
        p->t0 = r->frames * (size_t)k / (size_t)np;
        p->t1 = r->frames * (size_t)(k + 1) / (size_t)np;
        p->stft = stft;
        if (k > 0) {
            md_status s = md_stft_create(ctx, md_stft_n_fft(stft), md_stft_hop(stft),
                                         md_stft_win_length(stft), md_stft_center(stft), &p->stft);
            if (s != MD_OK) {
                r->n_parts = k;
                return s;
            }
        }
        r->stfts[k] = p->stft;
        if (md_istft_prepare(p->stft, r->frames, r->n) != MD_OK) {
            r->n_parts = k + 1;
            return md_fail(ctx, MD_ERR_NOMEM, "griffin-lim: out of memory");
        }
    }
    return MD_OK;
}

static void teardown_parts(md_gl_run *r)
{
    for (int k = 1; k < r->n_parts; k++) md_stft_destroy(r->part[k].stft);
}

/* The iterations and the final waveform on the CPU (r set up, spec holding
 * the start); the border's tail and the final convergence from its STFT. */
static md_status iterate_cpu(md_gl_run *r, md_stft *stft, const md_gl_params *p, const md_gl_border *border,
                             double *final_sc)
{
    r->want_sc = p->progress != NULL;
    for (int it = 0; it < p->iters; it++) {
        double sc = step(r);
        if (p->progress) p->progress(p->user, it + 1, sc);
    }
    /* the waveform of the final phase; its own SC from one more STFT */
    r->beta = -1.0f;
    r->want_sc = final_sc != NULL;
    double sc = step(r);
    if (final_sc) *final_sc = sc;
    if (border && border->tail && border->tail_from < r->frames) {
        /* With want_sc the final step has just transformed the whole waveform. */
        if (!r->want_sc) md_stft_forward_range(stft, r->y, r->n, r->c, border->tail_from, r->frames);
        memcpy(border->tail, r->c + 2 * border->tail_from * r->bins,
               sizeof(float) * 2 * (r->frames - border->tail_from) * r->bins);
    }
    return MD_OK;
}

/* The same on a Vulkan engine: one upload, the iterations there, then the
 * waveform and (when the convergence or a tail is wanted) its STFT back. */
static md_status iterate_gpu(md_ctx *ctx, md_gl_gpu *g, md_gl_run *r, const md_gl_border *border, double *final_sc,
                             int iters)
{
    int want_tail = border && border->tail && border->tail_from < r->frames;
    /* the STFT of the result comes back only where it is needed: all of it
     * for the convergence, else the tail */
    md_gl_gpu_job j = {r->mag, r->spec, r->frames, iters, r->beta, r->head, r->n_head,
                       r->y, r->n, final_sc || want_tail ? r->c : NULL, final_sc ? 0 : border ? border->tail_from : 0};
    md_status s = md_gl_gpu_run(g, ctx, &j);
    if (s) return s;
    if (final_sc) *final_sc = sc_of(r->mag, r->c, r->frames * r->bins);
    if (want_tail)
        memcpy(border->tail, r->c + 2 * border->tail_from * r->bins,
               sizeof(float) * 2 * (r->frames - border->tail_from) * r->bins);
    return MD_OK;
}

md_status md_griffinlim(md_ctx *ctx, md_stft *stft, const float *mag, size_t frames,
                        const md_gl_params *p, float *out, size_t n_samples, double *final_sc)
{
    return md_griffinlim_border(ctx, stft, mag, frames, p, NULL, out, n_samples, final_sc);
}

md_status md_griffinlim_border(md_ctx *ctx, md_stft *stft, const float *mag, size_t frames,
                               const md_gl_params *p, const md_gl_border *border, float *out,
                               size_t n_samples, double *final_sc)
{
    if (md_stft_frames(stft, n_samples) != frames)
        return md_fail(ctx, MD_ERR_USAGE, "griffin-lim: %zu samples do not make %zu frames",
                       n_samples, frames);
    if (p->iters < 0 || !(p->momentum >= 0.0 && p->momentum < 10.0))
        return md_fail(ctx, MD_ERR_USAGE, "griffin-lim: invalid iterations %d / momentum %g",
                       p->iters, p->momentum);
    if (p->gpu && !md_gl_gpu_matches(p->gpu, stft))
        return md_fail(ctx, MD_ERR_USAGE, "griffin-lim: the GPU engine was made for another transform shape");
    if (border && (border->n_head > frames || (border->tail && border->tail_from > frames)))
        return md_fail(ctx, MD_ERR_USAGE, "griffin-lim: border frames exceed the %zu frames", frames);
    size_t N = frames * (size_t)md_stft_bins(stft);
    md_gl_run r;
    memset(&r, 0, sizeof r);
    r.mag = mag, r.y = out, r.frames = frames, r.n = n_samples, r.bins = (size_t)md_stft_bins(stft);
    r.spec = malloc(sizeof(float) * 2 * (N ? N : 1));
    r.c = malloc(sizeof(float) * 2 * (N ? N : 1));
    r.prev = calloc(2 * (N ? N : 1), sizeof(float));
    md_status st = MD_OK;
    if (!r.spec || !r.c || !r.prev) st = md_fail(ctx, MD_ERR_NOMEM, "griffin-lim: out of memory for %zu frames", frames);
    if (st == MD_OK && !p->gpu) st = setup_parts(ctx, stft, &r, p->threads);
    if (st == MD_OK)
        st = init_spec(ctx, stft, mag, frames, p, border ? border->head : NULL, border ? border->n_head : 0, r.spec);
    if (st == MD_OK && border && border->n_head) {
        r.head = border->head, r.n_head = border->n_head;
        memcpy(r.spec, r.head, sizeof(float) * 2 * r.n_head * r.bins);
    }
    r.beta = (float)(p->momentum / (1.0 + p->momentum));
    if (st == MD_OK && p->gpu) st = iterate_gpu(ctx, p->gpu, &r, border, final_sc, p->iters);
    else if (st == MD_OK) st = iterate_cpu(&r, stft, p, border, final_sc);
    teardown_parts(&r);
    free(r.spec), free(r.c), free(r.prev);
    return st;
}
