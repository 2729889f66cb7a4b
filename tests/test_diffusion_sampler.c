/* Counter-based RNG (Philox known-answer vectors, slicing, statistics) and
 * the samplers against an analytic denoiser: for Gaussian data
 * x0 ~ N(mu, c^2) the probability-flow ODE maps the initial noise z to
 * exactly mu + c z, so a correct sampler must land there. */
#include <string.h>

#include "diffusion/rng.h"
#include "diffusion/sampler.h"
#include "test_util.h"

static void test_philox_kat(void)
{
    /* Known-answer tests published with Random123 (philox4x32, 10 rounds). */
    uint32_t out[4];
    uint32_t c0[4] = {0, 0, 0, 0}, k0[2] = {0, 0};
    md_philox4x32_10(c0, k0, out);
    CHECK(out[0] == 0x6627e8d5u && out[1] == 0xe169c58du && out[2] == 0xbc57ac4cu && out[3] == 0x9b00dbd8u);
    uint32_t c1[4] = {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, k1[2] = {0xffffffffu, 0xffffffffu};
    md_philox4x32_10(c1, k1, out);
    CHECK(out[0] == 0x408f276du && out[1] == 0x41c83b0eu && out[2] == 0xa20bc7c6u && out[3] == 0x6d5451fdu);
    uint32_t c2[4] = {0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, k2[2] = {0xa4093822u, 0x299f31d0u};
    md_philox4x32_10(c2, k2, out);
    CHECK(out[0] == 0xd16cfe09u && out[1] == 0x94fdccebu && out[2] == 0x5001e420u && out[3] == 0x24126ea1u);
}

static void test_rng(void)
{
    enum { N = 100000 };
    static float a[N], b[16];
    md_rng_key k = {42, 1, 2, 3};
    md_rng_normal(&k, 0, N, a);
    md_rng_normal(&k, 5, 11, b);
    CHECK(memcmp(a + 5, b, 11 * sizeof(float)) == 0); /* any slice regenerates alone */
    double m = 0, v = 0;
    for (int i = 0; i < N; i++) m += a[i];
    m /= N;
    for (int i = 0; i < N; i++) v += (a[i] - m) * (a[i] - m);
    v /= N;
    CHECK_NEAR(m, 0.0, 0.02);
    CHECK_NEAR(v, 1.0, 0.02);
    md_rng_key k2 = k;
    k2.segment = 3;
    md_rng_normal(&k2, 0, 16, b);
    CHECK(memcmp(a, b, 16 * sizeof(float)) != 0);
    md_rng_uniform(&k, 0, 16, b);
    int in_range = 1;
    for (int i = 0; i < 16; i++) in_range &= b[i] >= 0 && b[i] < 1;
    CHECK(in_range);
}

typedef struct gauss {
    float mu_c, mu_u, c; /* conditional / unconditional means, shared std */
    int calls_c, calls_u;
} gauss;

/* v from the exact posterior mean of x0 given x_t for N(mu, c^2) data. */
static md_status gauss_v(void *user, const float *x, size_t n, float t, int cond, float *v)
{
    gauss *g = user;
    double a, s;
    md_schedule_alpha_sigma(t, &a, &s);
    double mu = cond ? g->mu_c : g->mu_u, c2 = (double)g->c * g->c;
    if (cond) g->calls_c++;
    else g->calls_u++;
    for (size_t i = 0; i < n; i++) {
        double x0 = mu + a * c2 / (a * a * c2 + s * s) * (x[i] - a * mu);
        v[i] = (float)((a * x[i] - x0) / s);
    }
    return MD_OK;
}

static double sample_error(md_sampler_kind kind, int steps)
{
    enum { N = 64 };
    float out[N], z[N];
    gauss g = {0.7f, 0.0f, 0.5f, 0, 0};
    md_sampler_cfg cfg = {kind, steps, 1.0f, NULL, NULL, 0, 0, NULL, 0};
    md_rng_key k = {7, 0, 0, 0};
    md_ctx *ctx = NULL;
    md_ctx_create(&ctx);
    CHECK(md_sample(ctx, &cfg, &k, N, gauss_v, &g, out) == MD_OK);
    md_ctx_destroy(ctx);
    md_rng_key k0 = k;
    k0.step = 0xFFFFFFFFu;
    md_rng_normal(&k0, 0, N, z);
    double err = 0;
    for (int i = 0; i < N; i++) {
        double e = fabs(out[i] - (g.mu_c + g.c * z[i]));
        if (e > err) err = e;
    }
    CHECK(g.calls_u == 0); /* no unconditional call without guidance */
    return err;
}

static void test_samplers(void)
{
    double d10 = sample_error(MD_SAMPLER_DDIM, 10), d100 = sample_error(MD_SAMPLER_DDIM, 100);
    double p10 = sample_error(MD_SAMPLER_DPMPP_2M, 10), p50 = sample_error(MD_SAMPLER_DPMPP_2M, 50);
    printf("max error: ddim 10 steps %.2e, 100 steps %.2e; dpm++2m 10 steps %.2e, 50 steps %.2e\n",
           d10, d100, p10, p50);
    CHECK(d100 < d10);
    CHECK(d100 < 3e-2); /* first order: error ~ 1/steps */
    CHECK(p50 < 1e-2 && p50 < p10 / 5);
    CHECK(p10 < d10); /* second order beats first order at equal steps */
}

static void test_guidance_and_holding(void)
{
    enum { N = 32 };
    float out[N], known[N], mask[N];
    for (int i = 0; i < N; i++) {
        known[i] = 3.0f + i;
        mask[i] = i < N / 2;
    }
    gauss g = {1.0f, -1.0f, 1e-3f, 0, 0};
    md_sampler_cfg cfg = {MD_SAMPLER_DDIM, 20, 2.0f, known, mask, 0, 0, NULL, 0};
    md_rng_key k = {9, 0, 1, 0};
    md_ctx *ctx = NULL;
    md_ctx_create(&ctx);
    CHECK(md_sample(ctx, &cfg, &k, N, gauss_v, &g, out) == MD_OK);
    CHECK(g.calls_c == 20 && g.calls_u == 20);
    /* held region ends exactly on the known values */
    CHECK(out[0] == known[0] && out[N / 2 - 1] == known[N / 2 - 1]);
    /* free region: near-deterministic data, guided x0 = mu_u + 2 (mu_c - mu_u) = 3 */
    CHECK_NEAR(out[N - 1], 3.0, 0.05);
    md_sampler_cfg bad = {MD_SAMPLER_DDIM, 0, 1.0f, NULL, NULL, 0, 0, NULL, 0};
    CHECK(md_sample(ctx, &bad, &k, N, gauss_v, &g, out) == MD_ERR_USAGE);
    CHECK(md_sampler_kind_from_name("dpmpp2m") == MD_SAMPLER_DPMPP_2M);
    CHECK(md_sampler_kind_from_name("euler") == -1);
    md_ctx_destroy(ctx);
}

/* Guidance in a limited interval: the unconditional branch runs exactly at
 * the steps whose time lies in [lo, hi], on both the single-item and the
 * batched entry points, and an interval outside [0, 1] is refused. */
typedef struct interval_rec {
    gauss g;
    float t_uncond[16];
    int n_batch_guided, n_batch;
} interval_rec;

static md_status rec_v(void *user, const float *x, size_t n, float t, int cond, float *v)
{
    interval_rec *r = user;
    if (!cond && r->g.calls_u < 16) r->t_uncond[r->g.calls_u] = t;
    return gauss_v(&r->g, x, n, t, cond, v);
}

static md_status rec_batch(void *user, const float *x, size_t n, int items, float t, float *vc, float *vu)
{
    interval_rec *r = user;
    r->n_batch++;
    r->n_batch_guided += vu != NULL;
    for (int b = 0; b < items; b++) {
        gauss_v(&r->g, x + (size_t)b * n, n, t, 1, vc + (size_t)b * n);
        if (vu) gauss_v(&r->g, x + (size_t)b * n, n, t, 0, vu + (size_t)b * n);
    }
    return MD_OK;
}

static void test_guidance_interval(void)
{
    enum { N = 16 };
    float out[2 * N];
    md_ctx *ctx = NULL;
    md_ctx_create(&ctx);
    md_sampler_cfg cfg = {MD_SAMPLER_DPMPP_2M, 8, 1.5f, NULL, NULL, 0.3f, 0.8f, NULL, 0};
    int expect = 0;
    for (int i = 0; i < 8; i++) {
        double t = md_sampler_time(&cfg, i);
        expect += t >= 0.3 && t <= 0.8;
        CHECK(md_sampler_guides_at(&cfg, t) == (t >= 0.3 && t <= 0.8));
    }
    CHECK(expect == 4); /* t = 0.749, 0.624, 0.500, 0.375 of the 8-step grid */
    interval_rec r = {{1.0f, -1.0f, 0.5f, 0, 0}, {0}, 0, 0};
    md_rng_key k[2] = {{3, 0, 0, 0}, {3, 1, 0, 0}};
    CHECK(md_sample(ctx, &cfg, &k[0], N, rec_v, &r, out) == MD_OK);
    CHECK_MSG(r.g.calls_c == 8 && r.g.calls_u == expect, "%d conditional, %d unconditional calls", r.g.calls_c,
              r.g.calls_u);
    for (int i = 0; i < r.g.calls_u && i < 16; i++) CHECK(r.t_uncond[i] >= 0.3f && r.t_uncond[i] <= 0.8f);
    float single = out[0];
    CHECK(md_sample_batch(ctx, &cfg, k, 2, N, rec_batch, &r, out) == MD_OK);
    CHECK(r.n_batch == 8 && r.n_batch_guided == expect);
    CHECK(out[0] == single); /* item 0 of the batch is the single-item sample */
    /* the default (a zeroed interval) guides every step */
    md_sampler_cfg all = {MD_SAMPLER_DPMPP_2M, 8, 1.5f, NULL, NULL, 0, 0, NULL, 0};
    r.g.calls_u = 0;
    CHECK(md_sample(ctx, &all, &k[0], N, rec_v, &r, out) == MD_OK && r.g.calls_u == 8);
    md_sampler_cfg bad = {MD_SAMPLER_DPMPP_2M, 8, 1.5f, NULL, NULL, 0.2f, 1.5f, NULL, 0};
    CHECK(md_sample(ctx, &bad, &k[0], N, rec_v, &r, out) == MD_ERR_USAGE);
    md_ctx_destroy(ctx);
}

/* Shallow diffusion (init_x0, t_start): the steps start at t_start from
 * alpha init + sigma eps, and the probability-flow ODE of Gaussian data
 * carries that point to mu + c (x_t - alpha mu) / sqrt(alpha^2 c^2 + sigma^2). */
static void test_shallow_start(void)
{
    enum { N = 48 };
    float out[N], init[N], z[N];
    for (int i = 0; i < N; i++) init[i] = -1.0f + 0.05f * (float)i;
    gauss g = {0.7f, 0.0f, 0.5f, 0, 0};
    md_sampler_cfg cfg = {MD_SAMPLER_DDIM, 200, 1.0f, NULL, NULL, 0, 0, init, 0.3f};
    CHECK_NEAR(md_sampler_time(&cfg, 0), (double)0.3f, 1e-12);
    CHECK_NEAR(md_sampler_time(&cfg, 200), 0.0, 1e-12);
    md_rng_key k = {5, 1, 2, 0};
    md_ctx *ctx = NULL;
    md_ctx_create(&ctx);
    CHECK(md_sample(ctx, &cfg, &k, N, gauss_v, &g, out) == MD_OK);
    CHECK(g.calls_c == 200);
    md_rng_key k0 = k;
    k0.step = 0xFFFFFFFFu;
    md_rng_normal(&k0, 0, N, z);
    double a, sg, err = 0, c = g.c;
    md_schedule_alpha_sigma((double)0.3f, &a, &sg);
    for (int i = 0; i < N; i++) {
        double xt = a * init[i] + sg * z[i];
        double want = g.mu_c + c * (xt - a * g.mu_c) / sqrt(a * a * c * c + sg * sg);
        err = fmax(err, fabs(out[i] - want));
    }
    CHECK_MSG(err < 1e-2, "shallow start misses the ODE's end by %g", err);
    /* Without init_x0 t_start is ignored: the full schedule runs. */
    md_sampler_cfg plain = cfg;
    plain.init_x0 = NULL;
    plain.t_start = 0;
    CHECK_NEAR(md_sampler_time(&plain, 0), 1.0, 1e-12);
    md_sampler_cfg bad = cfg;
    bad.t_start = 1.5f;
    CHECK(md_sample(ctx, &bad, &k, N, gauss_v, &g, out) == MD_ERR_USAGE);
    md_ctx_destroy(ctx);
}

int main(void)
{
    test_philox_kat();
    test_rng();
    test_samplers();
    test_guidance_and_holding();
    test_guidance_interval();
    test_shallow_start();
    return md_test_finish();
}
