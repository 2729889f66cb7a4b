/* The U-Net's host-side steps: the conditioning input planes and the
 * embedding. Both are small (a matrix product over 128 keys per frame, two
 * E x E layers) and change at most once per call, so they stay on the CPU
 * whatever the backend. */
#include <math.h>
#include <string.h>

#include "nn/unet_internal.h"

/* dst[m][t] = sum_p pitch_to_mel[m][p] * src[p][t] over one sample. The
 * matrix is one-hot per key, so skip its zeros. */
static void pitch_to_mel(const md_unet *u, int frames, const float *src, float *dst)
{
    const md_unet_config *c = &u->cfg;
    memset(dst, 0, (size_t)c->n_mels * (size_t)frames * sizeof *dst);
    if (!src) return;
    for (int m = 0; m < c->n_mels; m++)
        for (int p = 0; p < c->n_pitches; p++) {
            float k = u->pitch_to_mel[(size_t)m * c->n_pitches + p];
            if (k == 0.0f) continue;
            const float *row = &src[(size_t)p * frames];
            float *out = &dst[(size_t)m * frames];
            for (int t = 0; t < frames; t++) out[t] += k * row[t];
        }
}

md_status md_unet_input(const md_unet *u, int n, int frames, const float *x_t, const float *harm,
                        const float *roll, const float *onset, float *input)
{
    const md_unet_config *c = &u->cfg;
    if (n < 1 || frames < 1) return md_fail(u->ctx, MD_ERR_USAGE, "U-Net input: batch %d x %d frames", n, frames);
    size_t plane = (size_t)c->n_mels * (size_t)frames;
    size_t keys = (size_t)c->n_pitches * (size_t)frames;
    for (int i = 0; i < n; i++) {
        float *dst = &input[(size_t)i * 5 * plane];
        memcpy(dst, &x_t[i * plane], plane * sizeof *dst);
        if (harm) memcpy(dst + plane, &harm[i * plane], plane * sizeof *dst);
        else memset(dst + plane, 0, plane * sizeof *dst);
        pitch_to_mel(u, frames, roll ? &roll[i * keys] : NULL, dst + 2 * plane);
        pitch_to_mel(u, frames, onset ? &onset[i * keys] : NULL, dst + 3 * plane);
        for (int m = 0; m < c->n_mels; m++)
            for (int t = 0; t < frames; t++) dst[4 * plane + (size_t)m * frames + t] = u->freq_coord[m];
    }
    return MD_OK;
}

/* y[o] = b[o] + sum_k w[o][k] x[k] */
static void linear(const float *w, const float *b, const float *x, int in, int outs, float *y)
{
    for (int o = 0; o < outs; o++) {
        double s = b[o];
        for (int k = 0; k < in; k++) s += (double)w[(size_t)o * in + k] * x[k];
        y[o] = (float)s;
    }
}

md_status md_unet_embed(const md_unet *u, int n, const float *t, const int *instrument, float *emb)
{
    const md_unet_config *c = &u->cfg;
    int half = c->base_channels / 2, e_dim = c->emb_dim;
    float sinus[2 * 512], hidden[8192];
    if (half > 512 || e_dim > 8192)
        return md_fail(u->ctx, MD_ERR_LIMIT, "U-Net: embedding sizes %d/%d exceed this build's limits",
                       c->base_channels, e_dim);
    for (int i = 0; i < n; i++) {
        if (instrument[i] < 0 || instrument[i] >= c->n_instruments)
            return md_fail(u->ctx, MD_ERR_USAGE, "U-Net: instrument id %d outside 0..%d", instrument[i],
                           c->n_instruments - 1);
        /* [cos(t f_k), sin(t f_k)], f_k = exp(-ln(10000) k / half) */
        double ts = (double)t[i] * c->time_scale;
        for (int k = 0; k < half; k++) {
            double arg = ts * exp(-log(10000.0) * k / half);
            sinus[k] = (float)cos(arg);
            sinus[half + k] = (float)sin(arg);
        }
        linear(u->t0w, u->t0b, sinus, 2 * half, e_dim, hidden);
        for (int k = 0; k < e_dim; k++) hidden[k] = hidden[k] / (1.0f + expf(-hidden[k]));
        float *out = &emb[(size_t)i * e_dim];
        linear(u->t2w, u->t2b, hidden, e_dim, e_dim, out);
        const float *row = &u->inst[(size_t)instrument[i] * e_dim];
        for (int k = 0; k < e_dim; k++) out[k] += row[k];
    }
    return MD_OK;
}
