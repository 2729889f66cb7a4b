/* The fast ops' shared epilogue (fast.h). */
#include <math.h>

#include "nn/fast/fast.h"
#include "nn/ref/ref.h"

/* Bias and FiLM are folded into one multiply-add per value, and the
 * activation's switch sits outside the loop so the loop vectorises. */
void md_fast_affine_act(const md_epilogue *ep, const md_tensor *bias, const md_tensor *film, int n, int c, int cout,
                        float *v, size_t count)
{
    float mul = 1.0f, add = bias ? bias->host[c] : 0.0f;
    if (film) {
        mul = ep->film_offset + film->host[(size_t)n * film->c + (size_t)c];
        add = add * mul + film->host[(size_t)n * film->c + (size_t)cout + (size_t)c];
    }
    if (mul != 1.0f || add != 0.0f)
        for (size_t i = 0; i < count; i++) v[i] = v[i] * mul + add;
    switch (ep->act) {
    case MD_ACT_NONE: break;
    case MD_ACT_SILU: for (size_t i = 0; i < count; i++) v[i] = v[i] / (1.0f + expf(-v[i])); break;
    default: for (size_t i = 0; i < count; i++) v[i] = md_ref_act_value(ep->act, ep->slope, v[i]); break;
    }
}
