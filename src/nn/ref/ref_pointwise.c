/* Reference pointwise ops: activations, FiLM, add, concat and the fused
 * epilogue every heavier op ends with. */
#include <math.h>
#include <string.h>

#include "nn/ref/ref.h"

float md_ref_act_value(md_act act, float slope, float v)
{
    switch (act) {
    case MD_ACT_SILU: return v / (1.0f + expf(-v));
    case MD_ACT_GELU: return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
    case MD_ACT_LEAKY: return v >= 0.0f ? v : slope * v;
    case MD_ACT_TANH: return tanhf(v);
    case MD_ACT_NONE: break;
    }
    return v;
}

float md_ref_epilogue(const md_epilogue *ep, const md_tensor *bias, const md_tensor *film,
                      const md_tensor *res, const md_tensor *out, int n, int c, int y, int x,
                      float v)
{
    if (bias) v += bias->host[c];
    if (film) {
        /* film is N x 2C: scale at channel c, shift at channel C + c */
        float scale = film->host[(size_t)n * film->c + (size_t)c];
        float shift = film->host[(size_t)n * film->c + (size_t)out->c + (size_t)c];
        v = v * (ep->film_offset + scale) + shift;
    }
    v = md_ref_act_value(ep->act, ep->slope, v);
    if (res) v += res->host[md_tensor_at(out, n, c, y, x)];
    return v;
}

void md_ref_act(const md_tensor *x, md_act act, float slope, md_tensor *y)
{
    size_t count = md_tensor_numel(x);
    for (size_t i = 0; i < count; i++) y->host[i] = md_ref_act_value(act, slope, x->host[i]);
}

void md_ref_film(const md_tensor *x, const md_tensor *film, float film_offset, md_tensor *y)
{
    size_t plane = (size_t)x->h * (size_t)x->w;
    for (int n = 0; n < x->n; n++)
        for (int c = 0; c < x->c; c++) {
            float scale = film->host[(size_t)n * film->c + (size_t)c];
            float shift = film->host[(size_t)n * film->c + (size_t)x->c + (size_t)c];
            size_t base = md_tensor_at(x, n, c, 0, 0);
            for (size_t i = 0; i < plane; i++)
                y->host[base + i] = x->host[base + i] * (film_offset + scale) + shift;
        }
}

void md_ref_add(const md_tensor *a, const md_tensor *b, md_tensor *y)
{
    size_t count = md_tensor_numel(a);
    for (size_t i = 0; i < count; i++) y->host[i] = a->host[i] + b->host[i];
}

void md_ref_concat(const md_tensor *a, const md_tensor *b, md_tensor *y)
{
    size_t plane = (size_t)a->h * (size_t)a->w;
    for (int n = 0; n < a->n; n++) {
        /* Per sample the output is a's channels followed by b's. */
        memcpy(&y->host[md_tensor_at(y, n, 0, 0, 0)], &a->host[md_tensor_at(a, n, 0, 0, 0)],
               (size_t)a->c * plane * sizeof(float));
        memcpy(&y->host[md_tensor_at(y, n, a->c, 0, 0)], &b->host[md_tensor_at(b, n, 0, 0, 0)],
               (size_t)b->c * plane * sizeof(float));
    }
}
