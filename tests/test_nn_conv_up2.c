/* conv2d_up2 (nearest-2x upsampling folded into the following 3x3 conv,
 * sub-pixel form):
 *  1. on the CPU reference it equals the two-op form conv3x3(upsample2x(x))
 *     with the original 3x3 weights -- the identity the U-Net relies on;
 *  2. both GPU kernel styles (and the fp16-weight variant) match the CPU
 *     reference on lavapipe, validation on, over awkward shapes: 1 channel,
 *     1 pixel, 1 frame, odd sizes, channel and pixel counts that are not
 *     multiples of any block, every epilogue.
 * Tolerance: test_nn_common.h (fp32: 1e-3 absolute or relative). The CPU
 * identity (1.) is held tighter: |a - b| <= 1e-5 + 1e-5 |b| -- the two forms
 * differ only by the order of float additions (taps summed first). fp16
 * weights: the phase weights are rounded to half, so the GPU is compared
 * with the CPU run on the same rounded weights. */
#include <math.h>

#include "nn/half.h"
#include "test_nn_common.h"

typedef struct up_case {
    int n, cin, h, w, cout;
    md_act act;
    int bias, film, res;
} up_case;

static const up_case cases[] = {
    /* n cin  h   w  cout act          b f r */
    {1, 1, 1, 1, 1, MD_ACT_NONE, 0, 0, 0},    /* one pixel: every phase meets both borders */
    {1, 1, 3, 5, 1, MD_ACT_NONE, 1, 0, 0},    /* one channel, odd sizes */
    {2, 3, 4, 1, 5, MD_ACT_SILU, 1, 1, 0},    /* one frame wide, batch 2, Cout not a block multiple */
    {1, 7, 5, 9, 13, MD_ACT_GELU, 1, 0, 1},   /* odd everything, residual */
    {2, 16, 8, 37, 6, MD_ACT_SILU, 1, 1, 1},  /* whole epilogue, width not a multiple of 8 */
    {1, 24, 16, 33, 70, MD_ACT_NONE, 1, 0, 0}, /* > 64 output channels (two tiled row blocks) */
};

/* Host floats: the phase weights of a random 3x3 weight. */
static float *phase_weights(const md_tensor *w3)
{
    float *wp = malloc((size_t)4 * md_tensor_numel(w3) / 9 * 4 * sizeof *wp);
    if (!wp) exit(1);
    md_nn_up2_weights(w3->host, w3->n, w3->c, wp);
    return wp;
}

static void check_identity(const up_case *k)
{
    char what[160];
    snprintf(what, sizeof what, "cpu identity %dx%dx%dx%d -> %d act %d b%d f%d r%d", k->n, k->cin, k->h, k->w,
             k->cout, (int)k->act, k->bias, k->film, k->res);
    md_ctx *ctx = nt.ctx;
    md_nn *cpu = nt.cpu;
    nt_pair x = nt_rand_pair(k->n, k->cin, k->h, k->w, -1, 1);
    nt_pair w3 = nt_rand_pair(k->cout, k->cin, 3, 3, -0.5f, 0.5f);
    nt_pair b = nt_rand_pair(1, k->cout, 1, 1, -0.5f, 0.5f);
    nt_pair f = nt_rand_pair(k->n, 2 * k->cout, 1, 1, -0.5f, 0.5f);
    nt_pair r = nt_rand_pair(k->n, k->cout, 2 * k->h, 2 * k->w, -1, 1);
    md_tensor up, y2, y1, wp;
    memset(&up, 0, sizeof up);
    md_status s = md_nn_tensor_alloc(cpu, &up, k->n, k->cin, 2 * k->h, 2 * k->w);
    if (s == MD_OK) s = md_nn_tensor_alloc(cpu, &y2, k->n, k->cout, 2 * k->h, 2 * k->w);
    if (s == MD_OK) s = md_nn_tensor_alloc(cpu, &y1, k->n, k->cout, 2 * k->h, 2 * k->w);
    if (s == MD_OK) s = md_nn_tensor_alloc(cpu, &wp, 4 * k->cout, k->cin, 2, 2);
    CHECK_MSG(s == MD_OK, "%s: alloc: %s", what, md_ctx_error(ctx));
    if (s != MD_OK) exit(1);
    float *wph = phase_weights(&w3.c);
    memcpy(wp.host, wph, md_tensor_numel(&wp) * sizeof *wph);
    free(wph);
    md_conv_params p = {.stride_h = 1, .stride_w = 1, .pad_h = 1, .pad_w = 1,
                        .ep = {.act = k->act, .slope = 0.2f, .film_offset = 1.0f}};
    const md_tensor *bias = k->bias ? &b.c : NULL, *film = k->film ? &f.c : NULL, *res = k->res ? &r.c : NULL;
    s = md_nn_upsample_nearest2x(cpu, &x.c, &up);
    if (s == MD_OK) s = md_nn_conv2d(cpu, &up, &w3.c, bias, film, res, &p, &y2);
    if (s == MD_OK) s = md_nn_conv2d_up2(cpu, &x.c, &wp, bias, film, res, &p.ep, &y1);
    CHECK_MSG(s == MD_OK, "%s: %s", what, md_ctx_error(ctx));
    double max_err = 0;
    size_t bad = 0;
    for (size_t i = 0; s == MD_OK && i < md_tensor_numel(&y1); i++) {
        double e = fabs((double)y1.host[i] - y2.host[i]);
        if (e > max_err) max_err = e;
        if (!(e <= 1e-5 + 1e-5 * fabs((double)y2.host[i]))) bad++;
    }
    CHECK_MSG(bad == 0, "%s: %zu elements differ from conv3x3(upsample2x(x)), max abs err %g", what, bad, max_err);
    printf("%-80s max abs err %.2e\n", what, max_err);
    md_nn_tensor_free(cpu, &up);
    md_nn_tensor_free(cpu, &y2);
    md_nn_tensor_free(cpu, &y1);
    md_nn_tensor_free(cpu, &wp);
    nt_free(&x);
    nt_free(&w3);
    nt_free(&b);
    nt_free(&f);
    nt_free(&r);
}

/* GPU against CPU; fp16: weights stored as half on the GPU, and the CPU
 * given the same half-rounded values. */
static void check_gpu(const up_case *k, md_nn_conv_style style, int fp16)
{
    char what[160];
    snprintf(what, sizeof what, "conv2d_up2[%s%s] %dx%dx%dx%d -> %d act %d b%d f%d r%d",
             md_nn_conv_style_name(style), fp16 ? ",f16w" : "", k->n, k->cin, k->h, k->w, k->cout, (int)k->act,
             k->bias, k->film, k->res);
    md_nn_set_conv_style(nt.dev, style);
    md_nn_set_precision(nt.dev, fp16 ? MD_NN_PRECISION_FP16_WEIGHTS : MD_NN_PRECISION_FP32);
    nt_pair x = nt_rand_pair(k->n, k->cin, k->h, k->w, -1, 1);
    nt_pair w3 = nt_rand_pair(k->cout, k->cin, 3, 3, -0.5f, 0.5f);
    nt_pair b = nt_rand_pair(1, k->cout, 1, 1, -0.5f, 0.5f);
    nt_pair f = nt_rand_pair(k->n, 2 * k->cout, 1, 1, -0.5f, 0.5f);
    nt_pair r = nt_rand_pair(k->n, k->cout, 2 * k->h, 2 * k->w, -1, 1);
    nt_pair y = nt_pair_alloc(k->n, k->cout, 2 * k->h, 2 * k->w);
    md_tensor wc, wg;
    md_status s = md_nn_tensor_alloc(nt.cpu, &wc, 4 * k->cout, k->cin, 2, 2);
    if (s == MD_OK) s = md_nn_weight_alloc(nt.dev, &wg, 4 * k->cout, k->cin, 2, 2);
    CHECK_MSG(s == MD_OK, "%s: alloc: %s", what, md_ctx_error(nt.ctx));
    if (s != MD_OK) exit(1);
    float *wph = phase_weights(&w3.c);
    size_t nw = md_tensor_numel(&wc);
    if (wg.dtype == MD_DTYPE_F16) md_round_to_f16(wph, nw);
    memcpy(wc.host, wph, nw * sizeof *wph);
    s = md_nn_upload(nt.dev, &wg, wph);
    free(wph);
    CHECK_MSG(s == MD_OK, "%s: upload: %s", what, md_ctx_error(nt.ctx));
    md_epilogue ep = {.act = k->act, .slope = 0.2f, .film_offset = 1.0f};
    NT_OK(md_nn_conv2d_up2(nt.cpu, &x.c, &wc, k->bias ? &b.c : NULL, k->film ? &f.c : NULL, k->res ? &r.c : NULL,
                           &ep, &y.c),
          md_nn_conv2d_up2(nt.dev, &x.g, &wg, k->bias ? &b.g : NULL, k->film ? &f.g : NULL, k->res ? &r.g : NULL,
                           &ep, &y.g),
          what);
    const char *want = style == MD_NN_CONV_TILED ? (wg.dtype == MD_DTYPE_F16 ? "nn_conv2d_tiled_f16w" : "nn_conv2d_tiled")
                                                 : (wg.dtype == MD_DTYPE_F16 ? "nn_conv2d_reg_f16w" : "nn_conv2d_reg");
    const char *ran = md_nn_last_kernel(nt.dev);
    CHECK_MSG(ran && !strcmp(ran, want), "%s: ran %s, expected %s", what, ran ? ran : "(none)", want);
    double err = nt_compare(&y, what);
    printf("%-80s max abs err %.2e\n", what, err);
    md_nn_tensor_free(nt.cpu, &wc);
    md_nn_tensor_free(nt.dev, &wg);
    nt_free(&x);
    nt_free(&w3);
    nt_free(&b);
    nt_free(&f);
    nt_free(&r);
    nt_free(&y);
}

/* Shapes the op must refuse. */
static void check_refusals(void)
{
    nt_pair x = nt_rand_pair(1, 3, 4, 4, -1, 1);
    nt_pair w_bad = nt_rand_pair(5, 3, 2, 2, -1, 1); /* not 4 x Cout rows */
    nt_pair w = nt_rand_pair(8, 3, 2, 2, -1, 1);
    nt_pair y_bad = nt_pair_alloc(1, 2, 4, 4); /* not 2H x 2W */
    nt_pair y = nt_pair_alloc(1, 2, 8, 8);
    md_epilogue ep = {.act = MD_ACT_NONE};
    CHECK(md_nn_conv2d_up2(nt.cpu, &x.c, &w_bad.c, NULL, NULL, NULL, &ep, &y.c) == MD_ERR_USAGE);
    CHECK(md_nn_conv2d_up2(nt.dev, &x.g, &w_bad.g, NULL, NULL, NULL, &ep, &y.g) == MD_ERR_USAGE);
    CHECK(md_nn_conv2d_up2(nt.cpu, &x.c, &w.c, NULL, NULL, NULL, &ep, &y_bad.c) == MD_ERR_USAGE);
    CHECK(md_nn_conv2d_up2(nt.cpu, &x.c, &w.c, NULL, NULL, NULL, &ep, &y.c) == MD_OK);
    nt_free(&x);
    nt_free(&w_bad);
    nt_free(&w);
    nt_free(&y_bad);
    nt_free(&y);
}

int main(void)
{
    nt_setup();
    int fp16 = md_gpu_get_caps(nt.gpu)->features.fp16_storage;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        check_identity(&cases[i]);
        check_gpu(&cases[i], MD_NN_CONV_REG, 0);
        check_gpu(&cases[i], MD_NN_CONV_TILED, 0);
        if (fp16) {
            check_gpu(&cases[i], MD_NN_CONV_REG, 1);
            check_gpu(&cases[i], MD_NN_CONV_TILED, 1);
        }
    }
    if (!fp16) printf("no 16-bit storage: fp16-weight variant not tested here\n");
    check_refusals();
    return nt_finish();
}
