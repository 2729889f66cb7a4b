/* The CPU backend's fast mode (src/nn/fast: OpenBLAS convolutions, row-major
 * per-frame group norm) against the CPU reference (src/nn/ref), op by op:
 * conv2d of several geometries (3x3 pad 1, stride 2, 1x1, a 1x7 conv1d-like
 * kernel, odd sizes) with every epilogue part, conv2d_cat, conv2d_up2, and
 * group norm (per frame, whole plane, with a concatenated input). Both
 * compute in float and differ only in rounding order, so each element is
 * held to 2e-5 absolute on values of order 1 (a wrong tap or index is off
 * by ~0.1 or more). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "nn/ops.h"
#include "test_util.h"

typedef struct env {
    md_ctx *ctx;
    md_nn *ref, *fast;
    unsigned seed;
} env;

static float rnd(env *e, float lo, float hi)
{
    e->seed = e->seed * 1664525u + 1013904223u;
    return lo + (hi - lo) * (float)(e->seed >> 8) / (float)(1u << 24);
}

/* The same random tensor on both handles (both are host memory). */
static void pair(env *e, md_tensor *a, md_tensor *b, int n, int c, int h, int w, float scale)
{
    CHECK(md_nn_tensor_alloc(e->ref, a, n, c, h, w) == MD_OK);
    CHECK(md_nn_tensor_alloc(e->fast, b, n, c, h, w) == MD_OK);
    for (size_t i = 0; i < md_tensor_numel(a); i++) a->host[i] = b->host[i] = rnd(e, -scale, scale);
}

static void compare(const md_tensor *a, const md_tensor *b, const char *what)
{
    double worst = 0;
    for (size_t i = 0; i < md_tensor_numel(a); i++) worst = fmax(worst, fabs(a->host[i] - b->host[i]));
    CHECK_MSG(worst < 2e-5, "%s: max abs difference %g", what, worst);
    printf("%-44s max abs difference %.2e over %zu values\n", what, worst, md_tensor_numel(a));
}

typedef struct conv_case {
    const char *name;
    int n, cin, cin2, h, w, cout, kh, kw, sh, sw, ph, pw, bias, film, res;
    md_act act;
} conv_case;

static void run_conv(env *e, const conv_case *k)
{
    md_tensor xa, xb, x2a = {0}, x2b = {0}, wa, wb, ba = {0}, bb = {0}, fa = {0}, fb = {0}, ra = {0}, rb = {0}, ya, yb;
    int oh = (k->h + 2 * k->ph - k->kh) / k->sh + 1, ow = (k->w + 2 * k->pw - k->kw) / k->sw + 1;
    float ws = 1.0f / sqrtf((float)((k->cin + k->cin2) * k->kh * k->kw));
    pair(e, &xa, &xb, k->n, k->cin, k->h, k->w, 1.0f);
    if (k->cin2) pair(e, &x2a, &x2b, k->n, k->cin2, k->h, k->w, 1.0f);
    pair(e, &wa, &wb, k->cout, k->cin + k->cin2, k->kh, k->kw, ws);
    if (k->bias) pair(e, &ba, &bb, 1, k->cout, 1, 1, 0.5f);
    if (k->film) pair(e, &fa, &fb, k->n, 2 * k->cout, 1, 1, 0.5f);
    if (k->res) pair(e, &ra, &rb, k->n, k->cout, oh, ow, 1.0f);
    pair(e, &ya, &yb, k->n, k->cout, oh, ow, 0.0f);
    md_conv_params p = {k->sh, k->sw, k->ph, k->pw, {k->act, 0.01f, 1.0f}};
    md_status s1, s2;
    if (k->cin2) {
        s1 = md_nn_conv2d_cat(e->ref, &xa, &x2a, &wa, k->bias ? &ba : NULL, k->film ? &fa : NULL, k->res ? &ra : NULL, &p, &ya);
        s2 = md_nn_conv2d_cat(e->fast, &xb, &x2b, &wb, k->bias ? &bb : NULL, k->film ? &fb : NULL, k->res ? &rb : NULL, &p, &yb);
    } else {
        s1 = md_nn_conv2d(e->ref, &xa, &wa, k->bias ? &ba : NULL, k->film ? &fa : NULL, k->res ? &ra : NULL, &p, &ya);
        s2 = md_nn_conv2d(e->fast, &xb, &wb, k->bias ? &bb : NULL, k->film ? &fb : NULL, k->res ? &rb : NULL, &p, &yb);
    }
    CHECK_MSG(s1 == MD_OK && s2 == MD_OK, "%s: %s", k->name, md_ctx_error(e->ctx));
    compare(&ya, &yb, k->name);
    md_tensor *all[] = {&xa, &xb, &x2a, &x2b, &wa, &wb, &ba, &bb, &fa, &fb, &ra, &rb, &ya, &yb};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) md_nn_tensor_free(i % 2 ? e->fast : e->ref, all[i]);
}

static void run_up2(env *e, int n, int cin, int cout, int h, int w, int with_epilogue)
{
    md_tensor xa, xb, w3a, w3b, wa, wb, ba = {0}, bb = {0}, fa = {0}, fb = {0}, ra = {0}, rb = {0}, ya, yb;
    pair(e, &xa, &xb, n, cin, h, w, 1.0f);
    pair(e, &w3a, &w3b, cout, cin, 3, 3, 1.0f / sqrtf(9.0f * cin));
    pair(e, &wa, &wb, 4 * cout, cin, 2, 2, 0.0f);
    md_nn_up2_weights(w3a.host, cout, cin, wa.host);
    md_nn_up2_weights(w3b.host, cout, cin, wb.host);
    if (with_epilogue) {
        pair(e, &ba, &bb, 1, cout, 1, 1, 0.5f);
        pair(e, &fa, &fb, n, 2 * cout, 1, 1, 0.5f);
        pair(e, &ra, &rb, n, cout, 2 * h, 2 * w, 1.0f);
    }
    pair(e, &ya, &yb, n, cout, 2 * h, 2 * w, 0.0f);
    md_epilogue ep = {with_epilogue ? MD_ACT_SILU : MD_ACT_NONE, 0.01f, 1.0f};
    md_tensor *b1 = with_epilogue ? &ba : NULL, *f1 = with_epilogue ? &fa : NULL, *r1 = with_epilogue ? &ra : NULL;
    md_tensor *b2 = with_epilogue ? &bb : NULL, *f2 = with_epilogue ? &fb : NULL, *r2 = with_epilogue ? &rb : NULL;
    CHECK(md_nn_conv2d_up2(e->ref, &xa, &wa, b1, f1, r1, &ep, &ya) == MD_OK);
    CHECK(md_nn_conv2d_up2(e->fast, &xb, &wb, b2, f2, r2, &ep, &yb) == MD_OK);
    char what[64];
    snprintf(what, sizeof what, "conv2d_up2 %dx%dx%dx%d -> %d%s", n, cin, h, w, cout, with_epilogue ? " +epilogue" : "");
    compare(&ya, &yb, what);
    md_tensor *all[] = {&xa, &xb, &w3a, &w3b, &wa, &wb, &ba, &bb, &fa, &fb, &ra, &rb, &ya, &yb};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) md_nn_tensor_free(i % 2 ? e->fast : e->ref, all[i]);
}

static void run_norm(env *e, int n, int ca, int cb, int h, int w, int groups, int per_frame)
{
    md_tensor xa, xb, x2a = {0}, x2b = {0}, ga, gb, ba, bb, fa, fb, ya, yb;
    int c = ca + cb;
    pair(e, &xa, &xb, n, ca, h, w, 2.0f);
    if (cb) pair(e, &x2a, &x2b, n, cb, h, w, 2.0f);
    pair(e, &ga, &gb, 1, c, 1, 1, 1.0f);
    pair(e, &ba, &bb, 1, c, 1, 1, 1.0f);
    pair(e, &fa, &fb, n, 2 * c, 1, 1, 0.5f);
    pair(e, &ya, &yb, n, c, h, w, 0.0f);
    for (size_t i = 0; i < md_tensor_numel(&xa); i++) xa.host[i] = xb.host[i] += 3.0f; /* a mean to remove */
    md_norm_params p = {groups, 1e-5f, per_frame, {MD_ACT_SILU, 0.01f, 1.0f}};
    if (cb) {
        CHECK(md_nn_group_norm_cat(e->ref, &xa, &x2a, &ga, &ba, &fa, &p, &ya) == MD_OK);
        CHECK(md_nn_group_norm_cat(e->fast, &xb, &x2b, &gb, &bb, &fb, &p, &yb) == MD_OK);
    } else {
        CHECK(md_nn_group_norm(e->ref, &xa, &ga, &ba, &fa, &p, &ya) == MD_OK);
        CHECK(md_nn_group_norm(e->fast, &xb, &gb, &bb, &fb, &p, &yb) == MD_OK);
    }
    char what[80];
    snprintf(what, sizeof what, "group_norm%s %dx%dx%dx%d, %d groups, %s", cb ? "_cat" : "", n, c, h, w, groups,
             per_frame ? "per frame" : "whole plane");
    compare(&ya, &yb, what);
    md_tensor *all[] = {&xa, &xb, &x2a, &x2b, &ga, &gb, &ba, &bb, &fa, &fb, &ya, &yb};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) md_nn_tensor_free(i % 2 ? e->fast : e->ref, all[i]);
}

int main(void)
{
    env e = {0};
    e.seed = 12345;
    md_ctx_create(&e.ctx);
    CHECK(md_nn_create_cpu(e.ctx, &e.ref) == MD_OK && md_nn_create_cpu(e.ctx, &e.fast) == MD_OK);
    md_nn_set_cpu_fast(e.fast, 1);
    static const conv_case cases[] = {
        {"conv2d 3x3 pad 1", 2, 8, 0, 17, 23, 12, 3, 3, 1, 1, 1, 1, 0, 0, 0, MD_ACT_NONE},
        {"conv2d 3x3 pad 1 bias+film+silu+res", 2, 16, 0, 32, 40, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, MD_ACT_SILU},
        {"conv2d 3x3 stride 2", 1, 6, 0, 19, 30, 10, 3, 3, 2, 2, 1, 1, 1, 0, 0, MD_ACT_LEAKY},
        {"conv2d 1x1 (skip projection)", 2, 24, 0, 16, 33, 8, 1, 1, 1, 1, 0, 0, 1, 0, 0, MD_ACT_NONE},
        {"conv2d 1x7 pad 3 (conv1d)", 1, 5, 0, 1, 300, 7, 1, 7, 1, 1, 0, 3, 1, 0, 0, MD_ACT_GELU},
        {"conv2d_cat 3x3 (decoder skip)", 2, 12, 8, 16, 24, 10, 3, 3, 1, 1, 1, 1, 1, 1, 0, MD_ACT_SILU},
        {"conv2d 3x3, band split (128x300)", 1, 32, 0, 128, 300, 16, 3, 3, 1, 1, 1, 1, 1, 0, 0, MD_ACT_NONE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) run_conv(&e, &cases[i]);
    run_up2(&e, 2, 8, 6, 9, 13, 0);
    run_up2(&e, 1, 16, 8, 32, 64, 1);
    run_norm(&e, 2, 16, 0, 24, 37, 4, 1);
    run_norm(&e, 1, 12, 8, 16, 20, 5, 1); /* a group straddles the two inputs */
    run_norm(&e, 2, 8, 0, 10, 12, 2, 0);
    md_nn_destroy(e.ref);
    md_nn_destroy(e.fast);
    md_ctx_destroy(e.ctx);
    return md_test_finish();
}
