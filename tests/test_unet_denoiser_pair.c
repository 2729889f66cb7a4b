/* The U-Net denoiser's predict_v_pair (both guided branches as one batch-2
 * forward) and predict_v_batch (several segments, with or without their
 * unconditional branches, as one forward) against predict_v calls (batch-1
 * forwards), on the CPU
 * reference backend and on Vulkan (lavapipe, validation on), with the tiny
 * fixture model: every op works per batch item, so the two must agree to
 * fp32 rounding (held to 1e-5 absolute). Also a length that needs padding,
 * alternating batch sizes on one handle, and the precision the denoiser
 * reports. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/safetensors.h"
#include "unet_fixture.h"
#include "gpu_test_common.h"
#include "nn/unet_denoiser.h"

#define PAIR_TOL 1e-5

static md_st_file *io;

static const float *io_f32(const char *name, size_t want_numel)
{
    return unet_fixture_f32(io, name, want_numel);
}

static double max_diff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > m || d != d) m = d;
    }
    return m;
}

/* pair(x) vs predict_v(x, conditional) and predict_v(x, unconditional). */
static void compare_pair(md_ctx *ctx, md_denoiser *den, const float *x, size_t frames, float t, const md_cond *cond,
                         const char *what)
{
    size_t n = (size_t)den->mc.n_mels * frames;
    float *vc = malloc(n * sizeof *vc), *vu = malloc(n * sizeof *vu);
    float *pc = malloc(n * sizeof *pc), *pu = malloc(n * sizeof *pu);
    if (!vc || !vu || !pc || !pu) exit(1);
    md_status s = den->predict_v(den->impl, ctx, x, frames, t, cond, 1, vc);
    if (s == MD_OK) s = den->predict_v(den->impl, ctx, x, frames, t, NULL, 0, vu);
    if (s == MD_OK) s = den->predict_v_pair(den->impl, ctx, x, frames, t, cond, pc, pu);
    CHECK_MSG(s == MD_OK, "%s: %s", what, md_ctx_error(ctx));
    if (s == MD_OK) {
        double dc = max_diff(pc, vc, n), du = max_diff(pu, vu, n), branches = max_diff(vc, vu, n);
        printf("%-34s max |pair - single|: conditional %.3e, unconditional %.3e (branches differ by %.3g)\n", what,
               dc, du, branches);
        CHECK_MSG(dc <= PAIR_TOL && du <= PAIR_TOL, "%s: pair differs from single calls by %g / %g", what, dc, du);
        CHECK(branches > 1e-3); /* a swapped pair would fail the comparison above */
        /* a single call after the batch-2 one still gives the batch-1 answer */
        CHECK(den->predict_v(den->impl, ctx, x, frames, t, cond, 1, pc) == MD_OK);
        CHECK(max_diff(pc, vc, n) == 0.0);
    }
    free(vc), free(vu), free(pc), free(pu);
}

/* predict_v_batch over three items -- (x0, cond0), (x1, cond1), (x0, cond1):
 * the same x under two conditionings and two x under one -- against
 * predict_v per item; guided (2 x 3 slots) and conditional only (3 slots). */
static void compare_batch(md_ctx *ctx, md_denoiser *den, const float *x0, const float *x1, size_t frames, float t,
                          const md_cond *c0, const md_cond *c1, const char *what)
{
    size_t n = (size_t)den->mc.n_mels * frames;
    float *x = malloc(3 * n * sizeof *x), *bc = malloc(3 * n * sizeof *bc), *bu = malloc(3 * n * sizeof *bu);
    float *vc = malloc(3 * n * sizeof *vc), *vu = malloc(3 * n * sizeof *vu);
    if (!x || !bc || !bu || !vc || !vu) exit(1);
    memcpy(x, x0, n * sizeof *x), memcpy(x + n, x1, n * sizeof *x), memcpy(x + 2 * n, x0, n * sizeof *x);
    const md_cond *conds[3] = {c0, c1, c1};
    md_status s = MD_OK;
    for (int b = 0; s == MD_OK && b < 3; b++) {
        s = den->predict_v(den->impl, ctx, x + b * n, frames, t, conds[b], 1, vc + b * n);
        if (s == MD_OK) s = den->predict_v(den->impl, ctx, x + b * n, frames, t, NULL, 0, vu + b * n);
    }
    if (s == MD_OK) s = den->predict_v_batch(den->impl, ctx, 3, x, frames, t, conds, bc, bu);
    CHECK_MSG(s == MD_OK, "%s: %s", what, md_ctx_error(ctx));
    if (s == MD_OK) {
        double dc = max_diff(bc, vc, 3 * n), du = max_diff(bu, vu, 3 * n);
        printf("%-34s max |batch of 3 - single|: conditional %.3e, unconditional %.3e\n", what, dc, du);
        CHECK_MSG(dc <= PAIR_TOL && du <= PAIR_TOL, "%s: batch differs from single calls by %g / %g", what, dc, du);
        CHECK(max_diff(vc, vc + 2 * n, n) > 1e-3 && max_diff(vc + n, vc + 2 * n, n) > 1e-3); /* items differ */
        s = den->predict_v_batch(den->impl, ctx, 3, x, frames, t, conds, bc, NULL); /* guidance 1 */
        CHECK(s == MD_OK && max_diff(bc, vc, 3 * n) <= PAIR_TOL);
    }
    /* refused: no items, too many, one item's conditioning of the wrong length */
    CHECK(den->predict_v_batch(den->impl, ctx, 0, x, frames, t, conds, bc, bu) == MD_ERR_USAGE);
    CHECK(den->predict_v_batch(den->impl, ctx, MD_UNET_DENOISER_MAX_BATCH + 1, x, frames, t, conds, bc, bu) ==
          MD_ERR_USAGE);
    md_cond bad = *c1;
    bad.n_frames = frames + 1;
    const md_cond *bad_conds[3] = {c0, c1, &bad};
    CHECK(den->predict_v_batch(den->impl, ctx, 3, x, frames, t, bad_conds, bc, bu) == MD_ERR_USAGE);
    free(x), free(bc), free(bu), free(vc), free(vu);
}

static void run(md_ctx *ctx, const char *backend, md_nn_precision precision)
{
    md_unet_denoiser_opts o;
    md_unet_denoiser_opts_init(&o);
    o.model_path = FIX "unet_tiny.safetensors";
    o.backend = backend;
    o.precision = precision;
    md_denoiser den;
    md_status s = md_unet_denoiser_open(ctx, &o, &den);
    CHECK_MSG(s == MD_OK, "denoiser %s: %s", backend, md_ctx_error(ctx));
    if (s != MD_OK) return;
    CHECK(den.predict_v_pair != NULL && den.predict_v_batch != NULL);
    CHECK(den.batch_hint == 1); /* the CPU backend and lavapipe: batching stems does not pay */
    /* The CPU backend and lavapipe (a CPU device) store fp32 whatever was
     * asked for; "fp16" on a device without 16-bit storage falls back. */
    CHECK(!strcmp(den.precision, "fp32") || (precision != MD_NN_PRECISION_FP32 && !strcmp(den.precision, "fp16")));
    if (!strcmp(backend, "cpu")) CHECK(!strcmp(den.precision, "fp32") && !strcmp(den.kernels, "openblas"));
    if (!strcmp(backend, "vulkan")) CHECK(!strcmp(den.kernels, "reg") || !strcmp(den.kernels, "tiled"));
    size_t frames = 16, plane = 128 * frames;
    const float *x_t = io_f32("x_t", 2 * plane), *harm = io_f32("harm", 2 * plane);
    const float *roll = io_f32("roll", 2 * plane), *onset = io_f32("onset", 2 * plane), *t = io_f32("t", 2);
    if (x_t && harm && roll && onset && t) {
        md_cond cond = unet_fixture_cond(harm, roll, onset, frames, 5);
        char what[96];
        snprintf(what, sizeof what, "%s %s, 16 frames", backend, den.precision);
        compare_pair(ctx, &den, x_t, frames, t[0], &cond, what);
        /* item 1 of the fixture: another x, t and instrument */
        cond.harmonic = (float *)harm + plane;
        cond.roll = (float *)roll + plane;
        cond.onset = (float *)onset + plane;
        cond.instrument = 2;
        snprintf(what, sizeof what, "%s %s, 16 frames, item 1", backend, den.precision);
        compare_pair(ctx, &den, x_t + plane, frames, t[1], &cond, what);
        md_cond cond0 = unet_fixture_cond(harm, roll, onset, frames, 5);
        snprintf(what, sizeof what, "%s %s, 16 frames, batch", backend, den.precision);
        compare_batch(ctx, &den, x_t, x_t + plane, frames, t[0], &cond0, &cond, what);
        /* 15 frames: padded to the frame multiple and cut back (the rows of a
         * 16-frame plane read as 15-frame rows: just other numbers) */
        cond.n_frames = 15;
        snprintf(what, sizeof what, "%s %s, 15 frames", backend, den.precision);
        compare_pair(ctx, &den, x_t, 15, t[0], &cond, what);
        cond0.n_frames = 15;
        snprintf(what, sizeof what, "%s %s, 15 frames, batch", backend, den.precision);
        compare_batch(ctx, &den, x_t, x_t + plane, 15, t[1], &cond0, &cond, what);
        float *v = malloc(2 * plane * sizeof *v);
        if (!v) exit(1);
        /* conditioning of the wrong length is refused as by predict_v */
        CHECK(den.predict_v_pair(den.impl, ctx, x_t, 16, t[0], &cond, v, v + plane) == MD_ERR_USAGE);
        CHECK(den.predict_v_pair(den.impl, ctx, x_t, 16, t[0], NULL, v, v + plane) == MD_ERR_USAGE);
        free(v);
    }
    md_denoiser_destroy(&den);
}

int main(void)
{
    md_ctx *ctx = NULL;
    if (md_ctx_create(&ctx) != MD_OK) return 1;
    /* The denoiser opens its own device; one handle here checks that the
     * validation layer the environment asks for is available, and the log
     * hook counts every validation message the denoiser's handle logs. */
    md_gpu *probe = gpu_test_open(ctx, NULL);
    gpu_test_close(probe);
    if (md_st_open(ctx, FIX "unet_tiny_io.safetensors", MD_ERR_INPUT, (size_t)1 << 30, &io) != MD_OK) {
        fprintf(stderr, "fixture: %s\n", md_ctx_error(ctx));
        return 1;
    }
    run(ctx, "cpu", MD_NN_PRECISION_AUTO);
    run(ctx, "vulkan", MD_NN_PRECISION_AUTO);
    run(ctx, "vulkan", MD_NN_PRECISION_FP16_WEIGHTS);
    CHECK_MSG(gpu_test_log_lines == 0, "%d warning/error lines logged (see above)", gpu_test_log_lines);
    md_st_close(io);
    md_ctx_destroy(ctx);
    return md_test_finish();
}
