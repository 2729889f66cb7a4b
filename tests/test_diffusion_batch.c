/* md_sample_batch: several samples stepped in lockstep must equal the same
 * samples run one at a time (md_sample_guided with each item's own key),
 * bit for bit, when the predictor answers each item as it would alone --
 * for both samplers, with and without guidance, with and without a held
 * region. The analytic predictor gives every item and branch a different
 * answer (its point mass depends on the item's first value and on the
 * branch), so a batch that mixed up items, keys or branches would differ.
 * Also: one predict call per step for the whole batch, v_uncond NULL
 * exactly when guidance is 1, and bad arguments refused. */
#include <math.h>
#include <string.h>

#include "diffusion/sampler.h"
#include "test_util.h"

enum { N = 48, ITEMS = 3 };

typedef struct calls {
    int batch, single;
    int uncond_null;
} calls;

/* x0 of an item: a point mass that depends on the branch and on which item
 * it is (its index in the batch). */
static void point_v(const float *x, size_t n, float t, double x0, float *v)
{
    double a = cos(M_PI / 2 * t), s = sin(M_PI / 2 * t);
    for (size_t i = 0; i < n; i++) v[i] = (float)((a * x[i] - (x0 + 0.01 * (double)i)) / s);
}

static double item_x0(int item, int conditional) { return conditional ? 1.0 + item : -0.5 - 0.25 * item; }

typedef struct single_user {
    calls *c;
    int item;
} single_user;

static md_status single_fn(void *user, const float *x, size_t n, float t, int conditional, float *v)
{
    single_user *u = user;
    u->c->single++;
    point_v(x, n, t, item_x0(u->item, conditional), v);
    return MD_OK;
}

static md_status batch_fn(void *user, const float *x, size_t n, int items, float t, float *vc, float *vu)
{
    calls *c = user;
    c->batch++;
    if (!vu) c->uncond_null++;
    for (int b = 0; b < items; b++) {
        point_v(x + (size_t)b * n, n, t, item_x0(b, 1), vc + (size_t)b * n);
        if (vu) point_v(x + (size_t)b * n, n, t, item_x0(b, 0), vu + (size_t)b * n);
    }
    return MD_OK;
}

static void compare(md_ctx *ctx, md_sampler_kind kind, float guidance, int hold)
{
    static float known[ITEMS * N], mask[ITEMS * N], batched[ITEMS * N], alone[ITEMS * N];
    for (int i = 0; i < ITEMS * N; i++) {
        known[i] = 0.1f * (float)(i % 7) - 2.0f;
        mask[i] = (i % N) < N / 4 ? 1.0f : (i % N) < N / 3 ? 0.5f : 0.0f;
    }
    md_rng_key keys[ITEMS];
    for (int b = 0; b < ITEMS; b++) keys[b] = (md_rng_key){11, (uint32_t)(3 + b), 2, 0};
    md_sampler_cfg cfg = {kind, 4, guidance, hold ? known : NULL, hold ? mask : NULL, 0, 0, NULL, 0};
    calls cb = {0, 0, 0};
    CHECK(md_sample_batch(ctx, &cfg, keys, ITEMS, N, batch_fn, &cb, batched) == MD_OK);
    CHECK(cb.batch == 4 && cb.single == 0);
    CHECK(cb.uncond_null == (guidance == 1.0f ? 4 : 0));
    for (int b = 0; b < ITEMS; b++) {
        md_sampler_cfg one = {kind, 4, guidance, hold ? known + b * N : NULL, hold ? mask + b * N : NULL, 0, 0, NULL, 0};
        calls cs = {0, 0, 0};
        single_user u = {&cs, b};
        CHECK(md_sample_guided(ctx, &one, &keys[b], N, single_fn, NULL, &u, alone + b * N) == MD_OK);
        CHECK(cs.single == (guidance == 1.0f ? 4 : 8));
    }
    CHECK_MSG(memcmp(batched, alone, sizeof batched) == 0, "%s, guidance %.1f, hold %d: batch != one at a time",
              md_sampler_kind_name(kind), guidance, hold);
    /* the items really differ (a batch that repeated item 0 would not pass) */
    CHECK(fabsf(batched[N - 1] - batched[2 * N - 1]) > 0.1f);
    if (hold) CHECK(batched[N] == known[N]); /* item 1's held frames end on its known values */
}

static void test_errors(md_ctx *ctx)
{
    float out[N];
    md_rng_key k = {1, 0, 0, 0};
    md_sampler_cfg cfg = {MD_SAMPLER_DPMPP_2M, 2, 1.5f, NULL, NULL, 0, 0, NULL, 0};
    calls c = {0, 0, 0};
    CHECK(md_sample_batch(ctx, &cfg, &k, 0, N, batch_fn, &c, out) == MD_ERR_USAGE);
    cfg.steps = 0;
    CHECK(md_sample_batch(ctx, &cfg, &k, 1, N, batch_fn, &c, out) == MD_ERR_USAGE);
    CHECK(c.batch == 0);
}

int main(void)
{
    md_ctx *ctx = NULL;
    if (md_ctx_create(&ctx) != MD_OK) return 1;
    for (int kind = 0; kind < 2; kind++)
        for (int hold = 0; hold < 2; hold++) {
            compare(ctx, (md_sampler_kind)kind, 1.5f, hold);
            compare(ctx, (md_sampler_kind)kind, 1.0f, hold);
        }
    test_errors(ctx);
    md_ctx_destroy(ctx);
    return md_test_finish();
}
