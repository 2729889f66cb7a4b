/* DDIM (eta = 0) and DPM-Solver++(2M) samplers; formulas mirror
 * tools/train/diffusion.py line for line so Python and C sample alike. */
#include "diffusion/sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MD_PI 3.14159265358979323846
/* DPM-Solver++ starts just below t = 1, where log(alpha/sigma) is finite. */
#define DPMPP_T_MAX (1.0 - 1e-3)

int md_sampler_kind_from_name(const char *name)
{
    if (!strcmp(name, "ddim")) return MD_SAMPLER_DDIM;
    if (!strcmp(name, "dpmpp2m") || !strcmp(name, "dpm++2m")) return MD_SAMPLER_DPMPP_2M;
    return -1;
}

const char *md_sampler_kind_name(md_sampler_kind k) { return k == MD_SAMPLER_DDIM ? "ddim" : "dpmpp2m"; }

void md_schedule_alpha_sigma(double t, double *alpha, double *sigma)
{
    *alpha = cos(0.5 * MD_PI * t);
    *sigma = sin(0.5 * MD_PI * t);
}

double md_sampler_time(const md_sampler_cfg *cfg, int i)
{
    double t_max = cfg->kind == MD_SAMPLER_DDIM ? 1.0 : DPMPP_T_MAX;
    if (cfg->t_start > 0 && cfg->t_start < t_max) t_max = cfg->t_start;
    return t_max * (1.0 - (double)i / cfg->steps);
}

typedef struct work {
    const md_sampler_cfg *cfg;
    const md_rng_key *keys; /* one per item */
    int items;
    size_t n;               /* values per item */
    size_t total;           /* items * n */
    md_predict_v_fn predict;   /* items == 1: the single-item callbacks */
    md_predict_v_pair_fn pair; /* NULL: two predict calls per guided step */
    md_predict_v_batch_fn batch; /* set: every item in one call per step */
    void *user;
    float *v, *vu, *noise;
} work;

/* Item b's noise for sampler step `step` (0xFFFFFFFF: the initial draw):
 * a pure function of its own key, whatever the batch around it. */
static void item_noise(const work *w, int b, uint32_t step, float *out)
{
    md_rng_key k = w->keys[b];
    k.step = step;
    md_rng_normal(&k, 0, w->n, out);
}

/* Pulls the known region of x to its noised known value at time t. */
static void hold_known(work *w, float *x, double t, int step)
{
    const md_sampler_cfg *c = w->cfg;
    if (!c->known_x0) return;
    for (int b = 0; b < w->items; b++) item_noise(w, b, (uint32_t)step, w->noise + (size_t)b * w->n);
    double a, s;
    md_schedule_alpha_sigma(t, &a, &s);
    for (size_t i = 0; i < w->total; i++) {
        float m = c->known_mask[i];
        if (m <= 0) continue;
        float target = (float)(a * c->known_x0[i] + s * w->noise[i]);
        x[i] = m * target + (1 - m) * x[i];
    }
}

/* Both branches (or, with guidance 1, the conditional one alone) into w->v
 * and w->vu, through whichever callbacks the caller gave. */
static md_status branches(work *w, const float *x, double t, int guided)
{
    if (w->batch) return w->batch(w->user, x, w->n, w->items, (float)t, w->v, guided ? w->vu : NULL);
    if (!guided) return w->predict(w->user, x, w->n, (float)t, 1, w->v);
    if (w->pair) return w->pair(w->user, x, w->n, (float)t, w->v, w->vu);
    md_status s = w->predict(w->user, x, w->n, (float)t, 1, w->v);
    return s ? s : w->predict(w->user, x, w->n, (float)t, 0, w->vu);
}

int md_sampler_guides_at(const md_sampler_cfg *cfg, double t)
{
    if (cfg->guidance == 1.0f) return 0;
    if (cfg->guide_t_hi <= cfg->guide_t_lo) return 1;
    return t >= cfg->guide_t_lo && t <= cfg->guide_t_hi;
}

/* Guided v at time t into w->v. */
static md_status guided_v(work *w, const float *x, double t)
{
    int guided = md_sampler_guides_at(w->cfg, t);
    md_status s = branches(w, x, t, guided);
    if (s || !guided) return s;
    float g = w->cfg->guidance;
    for (size_t i = 0; i < w->total; i++) w->v[i] = w->vu[i] + g * (w->v[i] - w->vu[i]);
    return MD_OK;
}

/* Shared start of every step: times t -> sn, the held region, the guided v
 * (into w->v) and the schedule at both ends. */
typedef struct step_coef {
    double t, sn, at, st, as, ss;
} step_coef;

static md_status begin_step(md_ctx *ctx, work *w, float *x, int i, step_coef *c)
{
    c->t = md_sampler_time(w->cfg, i);
    c->sn = md_sampler_time(w->cfg, i + 1);
    hold_known(w, x, c->t, i);
    md_schedule_alpha_sigma(c->t, &c->at, &c->st);
    md_schedule_alpha_sigma(c->sn, &c->as, &c->ss);
    (void)ctx;
    return guided_v(w, x, c->t);
}

static md_status run_ddim(md_ctx *ctx, work *w, float *x)
{
    for (int i = 0; i < w->cfg->steps; i++) {
        step_coef c;
        md_status st = begin_step(ctx, w, x, i, &c);
        if (st) return st;
        double at = c.at, stt = c.st, as = c.as, ss = c.ss;
        for (size_t j = 0; j < w->total; j++) {
            double x0 = at * x[j] - stt * w->v[j];
            double eps = stt * x[j] + at * w->v[j];
            x[j] = (float)(as * x0 + ss * eps);
        }
    }
    return MD_OK;
}

static md_status run_dpmpp_2m(md_ctx *ctx, work *w, float *x, float *x0_prev)
{
    double h_prev = 0;
    for (int i = 0; i < w->cfg->steps; i++) {
        step_coef c;
        md_status st = begin_step(ctx, w, x, i, &c);
        if (st) return st;
        double at = c.at, stt = c.st, as = c.as, ss = c.ss, sn = c.sn;
        if (sn <= 0) { /* last step lands on sigma = 0: x is the data prediction */
            for (size_t j = 0; j < w->total; j++) x[j] = (float)(at * x[j] - stt * w->v[j]);
            break;
        }
        double h = log(as / ss) - log(at / stt);
        double r = i ? h_prev / h : 0;
        double ratio = ss / stt, coef = -as * expm1(-h);
        for (size_t j = 0; j < w->total; j++) {
            double x0 = at * x[j] - stt * w->v[j];
            double d = i ? (1 + 1 / (2 * r)) * x0 - (1 / (2 * r)) * x0_prev[j] : x0;
            x0_prev[j] = (float)x0;
            x[j] = (float)(ratio * x[j] + coef * d);
        }
        h_prev = h;
    }
    return MD_OK;
}

/* Shallow start: x = alpha init_x0 + sigma eps at the first step's time,
 * eps being the initial noise already in x. */
static void start_from(const md_sampler_cfg *cfg, float *x, size_t total)
{
    double a, sg;
    md_schedule_alpha_sigma(md_sampler_time(cfg, 0), &a, &sg);
    for (size_t j = 0; j < total; j++) x[j] = (float)(a * cfg->init_x0[j] + sg * x[j]);
}

/* The loop behind every entry point; w's callbacks, keys and sizes are set. */
static md_status sample(md_ctx *ctx, work *w, float *out)
{
    const md_sampler_cfg *cfg = w->cfg;
    if (cfg->steps < 1 || cfg->steps > 10000 || !(cfg->guidance >= 0) || (cfg->known_x0 && !cfg->known_mask) ||
        !(cfg->guide_t_lo >= 0 && cfg->guide_t_hi <= 1) || !(cfg->t_start >= 0 && cfg->t_start <= 1))
        return md_fail(ctx, MD_ERR_USAGE,
                       "sampler: steps must be 1..10000, guidance >= 0, its interval and start time in [0, 1]");
    if (w->items < 1 || w->total / (size_t)w->items != w->n)
        return md_fail(ctx, MD_ERR_USAGE, "sampler: %d items of %zu values", w->items, w->n);
    w->v = malloc(w->total * sizeof *w->v);
    w->vu = malloc(w->total * sizeof *w->vu);
    w->noise = malloc(w->total * sizeof *w->noise);
    float *x0_prev = malloc(w->total * sizeof *x0_prev);
    md_status s = MD_OK;
    if (!w->v || !w->vu || !w->noise || !x0_prev) {
        s = md_fail(ctx, MD_ERR_NOMEM, "sampler: out of memory for %zu values", w->total);
    } else {
        for (int b = 0; b < w->items; b++) item_noise(w, b, 0xFFFFFFFFu, out + (size_t)b * w->n);
        if (cfg->init_x0) start_from(cfg, out, w->total);
        s = cfg->kind == MD_SAMPLER_DDIM ? run_ddim(ctx, w, out) : run_dpmpp_2m(ctx, w, out, x0_prev);
        if (!s && cfg->known_x0)
            for (size_t j = 0; j < w->total; j++)
                if (cfg->known_mask[j] > 0)
                    out[j] = cfg->known_mask[j] * cfg->known_x0[j] + (1 - cfg->known_mask[j]) * out[j];
    }
    free(w->v);
    free(w->vu);
    free(w->noise);
    free(x0_prev);
    return s;
}

md_status md_sample(md_ctx *ctx, const md_sampler_cfg *cfg, const md_rng_key *key, size_t n,
                    md_predict_v_fn predict, void *user, float *out)
{
    return md_sample_guided(ctx, cfg, key, n, predict, NULL, user, out);
}

md_status md_sample_guided(md_ctx *ctx, const md_sampler_cfg *cfg, const md_rng_key *key, size_t n,
                           md_predict_v_fn predict, md_predict_v_pair_fn pair, void *user, float *out)
{
    work w = {cfg, key, 1, n, n, predict, pair, NULL, user, NULL, NULL, NULL};
    return sample(ctx, &w, out);
}

md_status md_sample_batch(md_ctx *ctx, const md_sampler_cfg *cfg, const md_rng_key *keys, int items, size_t n,
                          md_predict_v_batch_fn predict, void *user, float *out)
{
    if (items < 1) return md_fail(ctx, MD_ERR_USAGE, "sampler: %d items", items);
    work w = {cfg, keys, items, n, (size_t)items * n, NULL, NULL, predict, user, NULL, NULL, NULL};
    return sample(ctx, &w, out);
}
