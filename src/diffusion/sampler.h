/* Diffusion samplers over the cosine schedule the trainer uses
 * (tools/train/diffusion.py):
 *   alpha(t) = cos(pi t / 2), sigma(t) = sin(pi t / 2), x_t = alpha x0 + sigma eps,
 *   the network predicts v = alpha eps - sigma x0, so
 *   x0 = alpha x_t - sigma v and eps = sigma x_t + alpha v.
 * Classifier-free guidance: v = v_uncond + w (v_cond - v_uncond).
 *
 * The sampler knows nothing about networks: it calls a v-prediction callback,
 * so the same loop drives the CPU backend, the Vulkan backend and tests. */
#ifndef MD_DIFFUSION_SAMPLER_H
#define MD_DIFFUSION_SAMPLER_H

#include <stddef.h>
#include "diffusion/rng.h"
#include "melodiff/context.h"

typedef enum md_sampler_kind { MD_SAMPLER_DDIM = 0, MD_SAMPLER_DPMPP_2M = 1 } md_sampler_kind;

/* Predicts v for the n values of x at time t; conditional = 0 asks for the
 * unconditional (notes and instrument dropped) prediction. */
typedef md_status (*md_predict_v_fn)(void *user, const float *x, size_t n, float t,
                                     int conditional, float *v_out);

/* Optional: both branches of a guided step in one call (v_cond as
 * conditional = 1, v_uncond as conditional = 0, same x and t), e.g. one
 * batch-2 network pass instead of two batch-1 passes. */
typedef md_status (*md_predict_v_pair_fn)(void *user, const float *x, size_t n, float t, float *v_cond,
                                          float *v_uncond);

/* Several independent samples at once (md_sample_batch): x holds `items`
 * items of n values each, one after another; v_cond receives every item's
 * conditional v and, when v_uncond is not NULL (guidance != 1), v_uncond
 * every item's unconditional v -- typically one batched network pass. */
typedef md_status (*md_predict_v_batch_fn)(void *user, const float *x, size_t n, int items, float t,
                                           float *v_cond, float *v_uncond);

typedef struct md_sampler_cfg {
    md_sampler_kind kind;
    int steps;        /* >= 1 */
    float guidance;   /* 1 = plain conditional; > 1 strengthens the notes/instrument */
    /* Optional region held to known values (long-form stitching: the overlap
     * with the previous segment). Where known_mask[i] > 0 the sample is
     * pulled to alpha_t known_x0[i] + sigma_t eps_i before every prediction
     * (mask in [0,1] blends) and set to known_x0 at the end. NULL = none. */
    const float *known_x0;
    const float *known_mask;
    /* Guidance only at times t in [guide_t_lo, guide_t_hi] (Kynkaanniemi et
     * al. 2024, "Applying guidance in a limited interval"); elsewhere a step
     * runs the conditional branch alone, saving its unconditional pass.
     * guide_t_hi <= guide_t_lo (both 0 in a zeroed struct): every step. */
    float guide_t_lo, guide_t_hi;
    /* Shallow diffusion (Liu et al. 2022, DiffSinger; Meng et al. 2022,
     * SDEdit): with init_x0 set the sample starts at time t_start from
     * alpha init_x0 + sigma eps instead of pure noise, and the steps run from
     * t_start down to 0. NULL / 0: from noise at the schedule's top. */
    const float *init_x0;
    float t_start;
} md_sampler_cfg;

/* 1 when a step at time t applies guidance under cfg. */
int md_sampler_guides_at(const md_sampler_cfg *cfg, double t);

/* Parses "ddim" / "dpmpp2m"; returns -1 when unknown. */
int md_sampler_kind_from_name(const char *name);
const char *md_sampler_kind_name(md_sampler_kind k);

void md_schedule_alpha_sigma(double t, double *alpha, double *sigma);

/* The time grid: steps + 1 points from t_max (or t_start, when set and
 * lower) down to 0 (as time_grid()). */
double md_sampler_time(const md_sampler_cfg *cfg, int i);

/* Runs the sampler from noise drawn with `key` (step field ignored; the
 * initial noise uses step 0xFFFFFFFF, stitching noise step i) and writes x0
 * (n values) to out. Calls predict 1 or 2 times per step (2 with guidance). */
md_status md_sample(md_ctx *ctx, const md_sampler_cfg *cfg, const md_rng_key *key, size_t n,
                    md_predict_v_fn predict, void *user, float *out);

/* md_sample with an optional pair callback: with guidance != 1 each step
 * calls pair once instead of predict twice (pair NULL: two predict calls);
 * with guidance 1 only predict(conditional = 1) runs. The guided v is then
 * combined exactly as md_sample does. */
md_status md_sample_guided(md_ctx *ctx, const md_sampler_cfg *cfg, const md_rng_key *key, size_t n,
                           md_predict_v_fn predict, md_predict_v_pair_fn pair, void *user, float *out);

/* `items` independent samples stepped in lockstep, so that each step makes
 * one predict call for all of them (a GPU's batch) instead of one per item.
 * Item b occupies out[b n, (b + 1) n), draws its noise from keys[b] exactly
 * as md_sample_guided does for it alone, and is updated by the same
 * per-value formulas, so a batched sample equals the unbatched ones whenever
 * the predictor answers each item as it would alone (rng.h: "independent of
 * batching"). cfg->known_x0 / known_mask, when set, hold items * n values. */
md_status md_sample_batch(md_ctx *ctx, const md_sampler_cfg *cfg, const md_rng_key *keys, int items, size_t n,
                          md_predict_v_batch_fn predict, void *user, float *out);

#endif
