/* Reference row-wise ops: linear layer, softmax and the attention core. */
#include <math.h>

#include "nn/ref/ref.h"

void md_ref_linear(const md_tensor *x, const md_tensor *w, const md_tensor *bias,
                   md_act act, float slope, md_tensor *y)
{
    size_t rows = (size_t)x->n * (size_t)x->c * (size_t)x->h;
    size_t k_len = (size_t)x->w, outs = (size_t)w->n;
    for (size_t r = 0; r < rows; r++)
        for (size_t o = 0; o < outs; o++) {
            float sum = bias ? bias->host[o] : 0.0f;
            for (size_t k = 0; k < k_len; k++) sum += x->host[r * k_len + k] * w->host[o * k_len + k];
            y->host[r * outs + o] = md_ref_act_value(act, slope, sum);
        }
}

/* Softmax of one row, shifted by its maximum so exp never overflows. */
static void softmax_row(const float *src, float *dst, size_t d)
{
    float peak = src[0];
    for (size_t i = 1; i < d; i++)
        if (src[i] > peak) peak = src[i];
    double total = 0.0;
    for (size_t i = 0; i < d; i++) {
        dst[i] = expf(src[i] - peak);
        total += dst[i];
    }
    for (size_t i = 0; i < d; i++) dst[i] = (float)(dst[i] / total);
}

void md_ref_softmax(const md_tensor *x, md_tensor *y)
{
    size_t rows = (size_t)x->n * (size_t)x->c * (size_t)x->h;
    size_t d = (size_t)x->w;
    for (size_t r = 0; r < rows; r++) softmax_row(&x->host[r * d], &y->host[r * d], d);
}

/* One sequence of one sample and head: t_len tokens at plane positions
 * first + j * step. For every query token: scores against every key,
 * softmax, weighted sum of values. `scores` is scratch of t_len floats.
 * Channel ch at plane position pos of sample n is qkv[(n * 3C + ch) * plane + pos]. */
static void attend_seq(const md_tensor *qkv, int heads, md_tensor *y, int n, int head, size_t first,
                       size_t step, size_t t_len, float *scores)
{
    size_t plane = (size_t)y->h * (size_t)y->w;
    int c = y->c, d = c / heads;
    const float *q = &qkv->host[((size_t)n * 3 * c + (size_t)head * d) * plane + first];
    const float *k = q + (size_t)c * plane;
    const float *v = k + (size_t)c * plane;
    float *out = &y->host[((size_t)n * c + (size_t)head * d) * plane + first];
    float scale = 1.0f / sqrtf((float)d);
    for (size_t tq = 0; tq < t_len; tq++) {
        for (size_t tk = 0; tk < t_len; tk++) {
            float dot = 0.0f;
            for (int i = 0; i < d; i++) dot += q[i * plane + tq * step] * k[i * plane + tk * step];
            scores[tk] = dot * scale;
        }
        softmax_row(scores, scores, t_len);
        for (int i = 0; i < d; i++) {
            float acc = 0.0f;
            for (size_t tk = 0; tk < t_len; tk++) acc += scores[tk] * v[i * plane + tk * step];
            out[i * plane + tq * step] = acc;
        }
    }
}

void md_ref_attention(const md_tensor *qkv, int heads, md_attn_axis axis, float *scratch, md_tensor *y)
{
    size_t h = (size_t)y->h, w = (size_t)y->w;
    for (int n = 0; n < y->n; n++)
        for (int head = 0; head < heads; head++) {
            if (axis == MD_ATTN_COLUMNS)
                for (size_t col = 0; col < w; col++) attend_seq(qkv, heads, y, n, head, col, w, h, scratch);
            else
                attend_seq(qkv, heads, y, n, head, 0, 1, h * w, scratch);
        }
}
