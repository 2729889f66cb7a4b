/* The look-ahead limiter's envelope (the maths is in limiter.h). */
#include "audio/limiter.h"

#include <math.h>
#include <stdlib.h>

struct md_limiter {
    double ceiling, release;  /* release: the per-sample recovery fraction a */
    size_t L, cap;            /* latency; ring size L + 1 */
    size_t n_in, n_out;       /* detector samples in, gains out */
    float *r;                 /* r[j % cap]: the needed gain of the last L + 1 samples */
    float *h;                 /* h[i % cap]: the held minimum of the last L + 1 outputs */
    size_t *dq;               /* monotonic deque of sample indices (ring of cap) */
    size_t dq_head, dq_len;
    double sum;               /* sum of the h ring: s = sum / cap */
    double g;                 /* the last gain out */
};

md_status md_limiter_create(md_ctx *ctx, int rate, double ceiling, double lookahead_s, double release_s,
                            md_limiter **out)
{
    *out = NULL;
    if (!(ceiling > 0) || !(lookahead_s > 0) || !(release_s > 0) || rate <= 0)
        return md_fail(ctx, MD_ERR_USAGE, "limiter: bad settings (ceiling %g, lookahead %g s, release %g s)",
                       ceiling, lookahead_s, release_s);
    md_limiter *l = calloc(1, sizeof *l);
    size_t L = (size_t)ceil(lookahead_s * rate);
    if (l) {
        l->L = L;
        l->cap = L + 1;
        l->r = malloc(l->cap * sizeof *l->r);
        l->h = malloc(l->cap * sizeof *l->h);
        l->dq = malloc(l->cap * sizeof *l->dq);
    }
    if (!l || !l->r || !l->h || !l->dq) {
        md_limiter_destroy(l);
        return md_fail(ctx, MD_ERR_NOMEM, "out of memory");
    }
    l->ceiling = ceiling;
    l->release = 1.0 - exp(-1.0 / (release_s * rate));
    /* Before the stream: silence, needing no reduction. */
    for (size_t i = 0; i < l->cap; i++) l->h[i] = 1.0f;
    l->sum = (double)l->cap;
    l->g = 1.0;
    *out = l;
    return MD_OK;
}

void md_limiter_destroy(md_limiter *l)
{
    if (!l) return;
    free(l->r), free(l->h), free(l->dq);
    free(l);
}

size_t md_limiter_latency(const md_limiter *l)
{
    return l->L;
}

static size_t dq_at(const md_limiter *l, size_t k)
{
    return l->dq[(l->dq_head + k) % l->cap];
}

/* Sliding minimum of r over the last L + 1 samples, j the newest. */
static float window_min(md_limiter *l, size_t j, float rj)
{
    /* Expired indices leave first, so the ring of L + 1 never overflows. */
    while (l->dq_len && dq_at(l, 0) + l->L < j) l->dq_head = (l->dq_head + 1) % l->cap, l->dq_len--;
    while (l->dq_len && l->r[dq_at(l, l->dq_len - 1) % l->cap] >= rj) l->dq_len--;
    l->dq[(l->dq_head + l->dq_len++) % l->cap] = j;
    return l->r[dq_at(l, 0) % l->cap];
}

/* One detector sample in; once L samples are buffered, one gain out. */
static int step(md_limiter *l, float detector, float *gain)
{
    size_t j = l->n_in++;
    float need = detector > l->ceiling ? (float)(l->ceiling / detector) : 1.0f;
    l->r[j % l->cap] = need;
    float hold = window_min(l, j, need);
    if (j < l->L) return 0;
    size_t i = j - l->L; /* the sample whose window [i, i + L] is now complete */
    l->sum += (double)hold - l->h[i % l->cap];
    l->h[i % l->cap] = hold;
    double s = l->sum / (double)l->cap;
    double rel = l->g + (1.0 - l->g) * l->release;
    double g = s < rel ? s : rel;
    /* s <= r[i] holds mathematically; the running sum's rounding must not break it. */
    float ri = l->r[i % l->cap];
    l->g = g < ri ? g : ri;
    *gain = (float)l->g;
    l->n_out++;
    return 1;
}

void md_limiter_push(md_limiter *l, const float *detector, size_t n, float *gain, size_t *n_gain)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += (size_t)step(l, detector[i], gain + k);
    *n_gain = k;
}

void md_limiter_finish(md_limiter *l, float *gain, size_t *n_gain)
{
    /* Pad with silence until every real sample has its gain; the padding's
     * own gains are never emitted. */
    size_t real = l->n_in, k = 0;
    while (l->n_out < real) k += (size_t)step(l, 0.0f, gain + k);
    *n_gain = k;
}
