/* PGHI: phase from the gradient of the log-magnitude, integrated along a
 * max-heap of coefficients. */
#include "audio/pghi.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Max-heap of (key, index) pairs; keys are stored inline so sifting does
 * not chase indices through the big log-magnitude array. */
typedef struct {
    float key;
    uint32_t idx;
} md_kv;

typedef struct {
    md_kv *a;
    size_t n;
} md_heap;

static void heap_push(md_heap *h, float key, uint32_t v)
{
    size_t i = h->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (h->a[p].key >= key) break;
        h->a[i] = h->a[p];
        i = p;
    }
    h->a[i] = (md_kv){key, v};
}

static uint32_t heap_pop(md_heap *h)
{
    uint32_t top = h->a[0].idx;
    md_kv last = h->a[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && h->a[c + 1].key > h->a[c].key) c++;
        if (h->a[c].key <= last.key) break;
        h->a[i] = h->a[c];
        i = c;
    }
    if (h->n) h->a[i] = last;
    return top;
}

/* Phase derivatives (ltfat's comp_pghiphasegrad, frame-centred phase):
 *   tgrad[t,k] = a M / gamma * d(logs)/dk + 2 pi a k / M   (rad per hop)
 *   fgrad[t,k] = -gamma / (a M) * d(logs)/dt              (rad per bin)
 * with centred differences (one-sided at the time edges, 0 at the
 * frequency edges). */
static void gradients(const float *logs, size_t T, int bins, int M, int a, double gamma,
                      float *tgrad, float *fgrad)
{
    const double tmul = (double)a * M / gamma, fmul = -gamma / ((double)a * M);
    for (size_t t = 0; t < T; t++) {
        const float *l = logs + t * (size_t)bins;
        const float *prev = t > 0 ? l - bins : l, *next = t + 1 < T ? l + bins : l;
        double fdiv = (t > 0 && t + 1 < T) ? 2.0 : 1.0;
        for (int k = 0; k < bins; k++) {
            double dk = (k > 0 && k + 1 < bins) ? 0.5 * (l[k + 1] - l[k - 1]) : 0.0;
            tgrad[t * (size_t)bins + k] = (float)(tmul * dk + 2.0 * M_PI * a * k / M);
            fgrad[t * (size_t)bins + k] = (float)(fmul * (next[k] - prev[k]) / (T > 1 ? fdiv : 1.0));
        }
    }
}


#define N_BUCKETS 4096

/* Island start order: coefficients from loudest to quietest. Only the
 * start of each island needs this order (the heap orders the rest), so a
 * counting sort on the quantised level (O(N)) replaces a full sort. */
static void loud_order(const float *logs, const uint8_t *done, size_t N, float top, float bottom,
                       uint32_t *order, uint32_t *count)
{
    const float scale = (N_BUCKETS - 1) / (top - bottom > 0 ? top - bottom : 1.0f);
    memset(count, 0, sizeof(uint32_t) * (N_BUCKETS + 1));
    for (size_t i = 0; i < N; i++)
        if (!done[i]) count[N_BUCKETS - 1 - (int)((logs[i] - bottom) * scale) + 1]++;
    for (int b = 0; b < N_BUCKETS; b++) count[b + 1] += count[b];
    for (size_t i = 0; i < N; i++)
        if (!done[i]) order[count[N_BUCKETS - 1 - (int)((logs[i] - bottom) * scale)]++] = (uint32_t)i;
}

typedef struct {
    const float *tgrad, *fgrad, *logs;
    float *phase;
    uint8_t *done;
    size_t T;
    int bins;
} md_pghi_state;

/* Integrates from coefficient i to neighbour j (if it is still open). */
static void visit(md_pghi_state *s, md_heap *h, uint32_t i, uint32_t j, float step)
{
    if (s->done[j]) return;
    /* Wrapped as we go: unwrapped phase grows by up to pi*hop rad per frame
     * and would soon exhaust float precision. */
    s->phase[j] = (float)remainder((double)s->phase[i] + step, 2.0 * M_PI);
    s->done[j] = 1;
    heap_push(h, s->logs[j], j);
}

static void integrate(md_pghi_state *s, md_heap *h)
{
    const int B = s->bins;
    while (h->n) {
        uint32_t i = heap_pop(h);
        size_t t = i / (uint32_t)B;
        int k = (int)(i % (uint32_t)B);
        if (t + 1 < s->T) visit(s, h, i, i + B, 0.5f * (s->tgrad[i] + s->tgrad[i + B]));
        if (t > 0) visit(s, h, i, i - B, -0.5f * (s->tgrad[i] + s->tgrad[i - B]));
        if (k + 1 < B) visit(s, h, i, i + 1, 0.5f * (s->fgrad[i] + s->fgrad[i + 1]));
        if (k > 0) visit(s, h, i, i - 1, -0.5f * (s->fgrad[i] + s->fgrad[i - 1]));
    }
}

md_status md_pghi(md_ctx *ctx, const float *mag, size_t T, int n_fft, int hop, int win_length,
                  double tol_db, float *phase)
{
    return md_pghi_seeded(ctx, mag, T, n_fft, hop, win_length, tol_db, NULL, 0, phase);
}

md_status md_pghi_seeded(md_ctx *ctx, const float *mag, size_t T, int n_fft, int hop, int win_length,
                         double tol_db, const float *seed, size_t n_seed, float *phase)
{
    const int bins = n_fft / 2 + 1;
    const size_t N = T * (size_t)bins;
    if (N == 0) return MD_OK;
    if (N >= UINT32_MAX) return md_fail(ctx, MD_ERR_LIMIT, "pghi: %zu coefficients is too many", N);
    float *logs = malloc(sizeof(float) * N), *tg = malloc(sizeof(float) * N);
    float *fg = malloc(sizeof(float) * N);
    uint8_t *done = calloc(N, 1);
    md_kv *heap = malloc(sizeof(md_kv) * N);
    uint32_t *order = malloc(sizeof(uint32_t) * N), *count = malloc(sizeof(uint32_t) * (N_BUCKETS + 1));
    md_status st = MD_OK;
    if (!logs || !tg || !fg || !done || !heap || !order || !count) {
        st = md_fail(ctx, MD_ERR_NOMEM, "pghi: out of memory for %zu coefficients", N);
        goto out;
    }
    float peak = -INFINITY;
    for (size_t i = 0; i < N; i++) {
        logs[i] = logf(mag[i] + 1e-30f);
        if (logs[i] > peak) peak = logs[i];
    }
    gradients(logs, T, bins, n_fft, hop, MD_PGHI_HANN_GAMMA * (double)win_length * win_length, tg, fg);
    /* Quiet coefficients: phase 0, never integrated through. */
    const float floor_l = peak - (float)(tol_db / 20.0 * M_LN10);
    size_t n_loud = 0;
    for (size_t i = 0; i < N; i++) {
        phase[i] = 0.0f;
        if (logs[i] < floor_l) done[i] = 1;
        else n_loud++;
    }
    loud_order(logs, done, N, peak, floor_l, order, count);
    md_heap h = {heap, 0};
    md_pghi_state s = {tg, fg, logs, phase, done, T, bins};
    /* Known frames: their phase is given (moved to the frame-centre
     * convention used below) and integration starts from all of them, so the
     * rest continues it instead of starting islands of its own. */
    size_t ns = (n_seed < T ? n_seed : T) * (size_t)bins;
    for (size_t i = 0; seed && i < ns; i++) {
        phase[i] = seed[i] - ((i % (size_t)bins) % 2 ? (float)M_PI : 0.0f);
        if (!done[i]) heap_push(&h, logs[i], (uint32_t)i);
        done[i] = 1;
    }
    integrate(&s, &h);
    for (size_t r = 0; r < n_loud; r++) {
        uint32_t i = order[r];
        if (done[i]) continue;
        done[i] = 1; /* a new island starts with phase 0 at its loudest point */
        heap_push(&h, logs[i], i);
        integrate(&s, &h);
    }
    /* ltfat's phase is relative to the frame centre; our frames' FFTs start
     * n_fft/2 samples earlier, which multiplies bin k by (-1)^k. */
    for (size_t t = 0; t < T; t++)
        for (int k = 1; k < bins; k += 2) phase[t * (size_t)bins + k] += (float)M_PI;
out:
    free(logs), free(tg), free(fg), free(done), free(heap), free(order), free(count);
    return st;
}
