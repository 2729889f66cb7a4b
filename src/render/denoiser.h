/* What the renderer needs of a diffusion model: a v-prediction for a noisy,
 * normalised log-mel segment given its conditioning. The U-Net (on either
 * nn backend) implements it; tests plug in analytic denoisers. */
#ifndef MD_RENDER_DENOISER_H
#define MD_RENDER_DENOISER_H

#include <stddef.h>

#include "melodiff/cond.h"
#include "melodiff/mel.h"

typedef struct md_denoiser {
    md_mel_contract mc;     /* the features the model was trained on */
    int frame_multiple;     /* segment lengths must be multiples of this */
    float data_mean;        /* x = (logmel - data_mean) / data_std */
    float data_std;
    /* A refiner (unet.h, "cond_image" "notebank"): its conditioning image is
     * the note bank's drawing (normalised as x), so it needs a bank, and it
     * was trained only for t <= t_max (1 for a model sampled from noise). */
    int cond_notebank;
    float t_max;
    int guided;             /* trained with an unconditional branch (guidance > 1 means something) */
    char model_path[512];   /* for the manifest ("" when not from a file) */
    char model_sha256[65];
    char backend[16];       /* "vulkan", "cpu" or "cpu-ref" */
    char device[256];       /* device name for the manifest */
    char precision[16];     /* weight precision actually used ("fp32", "fp16"; "" unknown) */
    char kernels[16];       /* convolutions actually used: shader style "reg" or "tiled",
                             * "openblas" or "reference" on the CPU; "" unknown */
    void *impl;
    /* v for x ([n_mels][frames], normalised) at time t in [0, 1];
     * conditional = 0 asks for the unconditional prediction. */
    md_status (*predict_v)(void *impl, md_ctx *ctx, const float *x, size_t frames, float t,
                           const md_cond *cond, int conditional, float *v);
    /* Optional (NULL: callers make two predict_v calls): both branches of a
     * classifier-free-guided step -- v_cond (conditional, as predict_v with
     * conditional = 1) and v_uncond (conditional = 0) for the same x and t --
     * in one batched pass. Each equals its predict_v result up to fp32
     * rounding; the batch only saves per-pass overhead. */
    md_status (*predict_v_pair)(void *impl, md_ctx *ctx, const float *x, size_t frames, float t,
                                const md_cond *cond, float *v_cond, float *v_uncond);
    /* Optional (NULL: one segment at a time): `items` segments of the same
     * length and time t in one network pass -- several stems' segments
     * sampled in lockstep (md_sample_batch). x holds the items one after
     * another ([items][n_mels][frames]); cond[b] is item b's conditioning.
     * v_cond gets each item's conditional v; v_uncond, when not NULL, each
     * item's unconditional v (the batch is then 2 x items). Each equals its
     * predict_v result up to rounding (bit for bit where the backend's
     * kernels do not depend on the batch size). */
    md_status (*predict_v_batch)(void *impl, md_ctx *ctx, int items, const float *x, size_t frames, float t,
                                 const md_cond *const *cond, float *v_cond, float *v_uncond);
    int batch_hint;         /* stems per batch this backend prefers (1: batching does not pay) */
    void (*destroy)(void *impl);
} md_denoiser;

static inline void md_denoiser_destroy(md_denoiser *d)
{
    if (d && d->destroy) d->destroy(d->impl);
    if (d) d->impl = NULL;
}

#endif
