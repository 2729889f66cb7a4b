/* The kernel variants chosen per device (docs/ops.md "Precision and kernel
 * variants"), each against the CPU reference, on awkward shapes:
 *
 *  - subgroup reductions (nn_group_norm_sg, nn_layer_norm_sg, nn_softmax_sg)
 *    held to SG_TOL (2e-5 absolute or relative: fp32 with another summation
 *    order than the reference);
 *  - float16 weight storage (nn_conv2d_{reg,tiled}_f16w, nn_linear_f16w):
 *    against the reference run with the same weights rounded to fp16, held
 *    to F16_SAME_TOL (fp32 accumulation on both sides, so only the order
 *    differs), and against the reference with the exact fp32 weights, held
 *    to the bound the rounding allows (see check_f16_bound);
 *  - that the variant really ran (md_nn_last_kernel), and that with
 *    MELODIFF_GPU_DISABLE=subgroup,fp16 the fallbacks run instead;
 *  - the float16 conversion itself (exhaustive round trip, ties, limits).
 * Runs twice under ctest: as is (lavapipe: subgroups of 8) and as
 * test_nn_variants_sg4 with LP_NATIVE_VECTOR_WIDTH=128 (subgroups of 4). */
#include <string.h>

#include "nn/half.h"
#include "test_nn_common.h"

#define SG_TOL 2e-5
#define F16_SAME_TOL 1e-4

/* Like nt_compare with another tolerance. */
static void compare_tol(const nt_pair *p, double tol, const char *what)
{
    size_t count = md_tensor_numel(&p->c);
    float *got = malloc(count * sizeof *got);
    if (!got) exit(1);
    CHECK_MSG(md_nn_download(nt.dev, &p->g, got) == MD_OK, "%s: download: %s", what, md_ctx_error(nt.ctx));
    size_t bad = 0, first = 0;
    double max_err = 0.0;
    for (size_t i = 0; i < count; i++) {
        double want = p->c.host[i], err = fabs((double)got[i] - want);
        if (!(err <= tol || err <= tol * fabs(want))) {
            if (!bad) first = i;
            bad++;
        }
        if (err > max_err || err != err) max_err = err;
    }
    CHECK_MSG(bad == 0, "%s: %zu of %zu out of %g (first [%zu]: gpu %g cpu %g)", what, bad, count, tol, first,
              bad ? (double)got[first] : 0.0, bad ? (double)p->c.host[first] : 0.0);
    free(got);
}

static void expect_kernel(md_nn *nn, const char *want, const char *what)
{
    const char *got = md_nn_last_kernel(nn);
    CHECK_MSG(got && strcmp(got, want) == 0, "%s: ran %s, expected %s", what, got ? got : "(nothing)", want);
}

static int subgroups_on(md_gpu *gpu)
{
    const md_gpu_features *f = &md_gpu_get_caps(gpu)->features;
    return f->subgroup_basic && f->subgroup_arith;
}

/* ---- subgroup reductions ------------------------------------------------------------ */

static void test_softmax_layer_norm(const char *suffix)
{
    /* Row lengths around both workgroup sizes (64 below 256, else 256) and
     * the subgroup sizes; rows of 1. Values span 200 so a wrong maximum
     * overflows exp() and shows. */
    static const int dims[][2] = {{1, 1}, {3, 1}, {5, 7}, {2, 63}, {4, 64}, {3, 65}, {2, 255},
                                  {2, 256}, {3, 257}, {1, 1000}, {2, 4099}, {300, 33}};
    char want[64], what[96];
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++) {
        int rows = dims[i][0], d = dims[i][1];
        nt_pair x = nt_rand_pair(rows, 1, 1, d, -50.0f, 150.0f), y = nt_pair_alloc(rows, 1, 1, d);
        NT_OK(md_nn_softmax(nt.cpu, &x.c, &y.c), md_nn_softmax(nt.dev, &x.g, &y.g), "softmax");
        snprintf(want, sizeof want, "nn_softmax%s", suffix);
        snprintf(what, sizeof what, "softmax %dx%d", rows, d);
        expect_kernel(nt.dev, want, what);
        compare_tol(&y, SG_TOL, what);
        nt_free(&x);
        /* layer norm on an offset row: the two-pass variance must not cancel */
        x = nt_rand_pair(rows, 1, 1, d, 99.0f, 101.0f);
        nt_pair g = nt_rand_pair(1, 1, 1, d, 0.5f, 1.5f), b = nt_rand_pair(1, 1, 1, d, -1.0f, 1.0f);
        NT_OK(md_nn_layer_norm(nt.cpu, &x.c, &g.c, &b.c, 1e-5f, &y.c),
              md_nn_layer_norm(nt.dev, &x.g, &g.g, &b.g, 1e-5f, &y.g), "layer_norm");
        snprintf(want, sizeof want, "nn_layer_norm%s", suffix);
        snprintf(what, sizeof what, "layer_norm %dx%d", rows, d);
        expect_kernel(nt.dev, want, what);
        /* 1e-4 of |x| (100) is lost in fp32 before the normalisation, and
         * it is divided by the row's spread (~0.6): compare at 1e-4. */
        compare_tol(&y, d == 1 ? SG_TOL : 1e-4, what);
        nt_free(&x);
        nt_free(&y);
        nt_free(&g);
        nt_free(&b);
    }
}

static void test_group_norm(const char *suffix)
{
    /* n, c, groups, h, w: one channel, one frame, one pixel, groups that do
     * not fill a workgroup, and a large one. */
    static const int shapes[][5] = {{1, 1, 1, 1, 1},  {2, 1, 1, 5, 3},   {1, 6, 3, 1, 1},   {2, 8, 4, 7, 1},
                                    {1, 4, 2, 17, 9}, {2, 32, 8, 16, 13}, {1, 16, 1, 40, 61}, {3, 12, 12, 9, 9}};
    char want[64], what[96];
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const int *s = shapes[i];
        nt_pair x = nt_rand_pair(s[0], s[1], s[3], s[4], -3.0f, 5.0f), y = nt_pair_alloc(s[0], s[1], s[3], s[4]);
        nt_pair g = nt_rand_pair(1, s[1], 1, 1, 0.5f, 1.5f), b = nt_rand_pair(1, s[1], 1, 1, -1.0f, 1.0f);
        nt_pair f = nt_rand_pair(s[0], 2 * s[1], 1, 1, -0.5f, 0.5f);
        md_norm_params p = {.groups = s[2], .eps = 1e-5f,
                            .ep = {.act = MD_ACT_SILU, .slope = 0.01f, .film_offset = 1.0f}};
        NT_OK(md_nn_group_norm(nt.cpu, &x.c, &g.c, &b.c, &f.c, &p, &y.c),
              md_nn_group_norm(nt.dev, &x.g, &g.g, &b.g, &f.g, &p, &y.g), "group_norm");
        snprintf(want, sizeof want, "nn_group_norm%s", suffix);
        snprintf(what, sizeof what, "group_norm %dx%dx%dx%d / %d", s[0], s[1], s[3], s[4], s[2]);
        expect_kernel(nt.dev, want, what);
        compare_tol(&y, SG_TOL, what);
        nt_free(&x);
        nt_free(&y);
        nt_free(&g);
        nt_free(&b);
        nt_free(&f);
    }
}

/* ---- float16 weights ------------------------------------------------------------------- */

typedef struct conv_case {
    int n, cin, cout, h, w, kh, kw, sh, sw, ph, pw;
} conv_case;

/* A weight on the GPU as float16 (from `exact`), and on the CPU twice: the
 * exact weights and the fp16-rounded ones. */
typedef struct weight3 {
    md_tensor gpu, cpu_exact, cpu_rounded;
} weight3;

static weight3 weight_make(int n, int c, int h, int w)
{
    weight3 t;
    memset(&t, 0, sizeof t);
    if (md_nn_weight_alloc(nt.dev, &t.gpu, n, c, h, w) != MD_OK ||
        md_nn_tensor_alloc(nt.cpu, &t.cpu_exact, n, c, h, w) != MD_OK ||
        md_nn_tensor_alloc(nt.cpu, &t.cpu_rounded, n, c, h, w) != MD_OK)
        exit(1);
    CHECK(t.gpu.dtype == MD_DTYPE_F16 && md_tensor_bytes(&t.gpu) == 2 * md_tensor_numel(&t.gpu));
    size_t count = md_tensor_numel(&t.cpu_exact);
    for (size_t i = 0; i < count; i++) t.cpu_exact.host[i] = nt_rand() * 0.5f;
    memcpy(t.cpu_rounded.host, t.cpu_exact.host, count * sizeof(float));
    md_round_to_f16(t.cpu_rounded.host, count);
    CHECK(md_nn_upload(nt.dev, &t.gpu, t.cpu_exact.host) == MD_OK);
    /* downloading a float16 weight gives the rounded values back exactly */
    float *back = malloc(count * sizeof *back);
    if (!back) exit(1);
    CHECK(md_nn_download(nt.dev, &t.gpu, back) == MD_OK);
    CHECK(memcmp(back, t.cpu_rounded.host, count * sizeof(float)) == 0);
    free(back);
    return t;
}

static void weight_free(weight3 *t)
{
    md_nn_tensor_free(nt.dev, &t->gpu);
    md_nn_tensor_free(nt.cpu, &t->cpu_exact);
    md_nn_tensor_free(nt.cpu, &t->cpu_rounded);
}

/* Against the exact weights: each weight moved by at most 2^-11 of itself
 * (fp16 keeps 11 significant bits, round to nearest), so
 *     |y_f16 - y_exact| <= 2^-11 * sum_i |w_i| |x_i|  (+ fp32 rounding),
 * computed here by the reference on |w| and |x|. Every element is held to
 * that bound, which is far tighter than a blanket relative tolerance where
 * terms cancel. */
static void check_f16_bound(const nt_pair *y_gpu, const md_tensor *y_exact, const md_tensor *absdot,
                            const char *what)
{
    size_t count = md_tensor_numel(y_exact);
    float *got = malloc(count * sizeof *got);
    if (!got) exit(1);
    CHECK(md_nn_download(nt.dev, &y_gpu->g, got) == MD_OK);
    size_t bad = 0, first = 0;
    double worst = 0.0; /* largest error as a fraction of the bound */
    for (size_t i = 0; i < count; i++) {
        double bound = absdot->host[i] / 2048.0 + 1e-5 * (1.0 + absdot->host[i]);
        double err = fabs((double)got[i] - y_exact->host[i]);
        if (!(err <= bound)) {
            if (!bad) first = i;
            bad++;
        }
        if (err / bound > worst) worst = err / bound;
    }
    CHECK_MSG(bad == 0, "%s: %zu of %zu beyond the fp16 bound (first [%zu] gpu %g exact %g bound %g)", what, bad,
              count, first, bad ? (double)got[first] : 0.0, bad ? (double)y_exact->host[first] : 0.0,
              bad ? absdot->host[first] / 2048.0 : 0.0);
    printf("%-44s worst error %.2f of the fp16 bound\n", what, worst);
    free(got);
}

static void abs_copy(md_tensor *dst, const md_tensor *src)
{
    if (md_nn_tensor_alloc(nt.cpu, dst, src->n, src->c, src->h, src->w) != MD_OK) exit(1);
    for (size_t i = 0; i < md_tensor_numel(src); i++) dst->host[i] = fabsf(src->host[i]);
}

static void conv_f16_case(const conv_case *k, md_nn_conv_style style)
{
    const char *sname = md_nn_conv_style_name(style);
    md_nn_set_conv_style(nt.dev, style);
    int oh = md_conv_out_size(k->h, k->kh, k->sh, k->ph), ow = md_conv_out_size(k->w, k->kw, k->sw, k->pw);
    nt_pair x = nt_rand_pair(k->n, k->cin, k->h, k->w, -1.0f, 1.0f), y = nt_pair_alloc(k->n, k->cout, oh, ow);
    nt_pair bias = nt_rand_pair(1, k->cout, 1, 1, -0.5f, 0.5f), film = nt_rand_pair(k->n, 2 * k->cout, 1, 1, -0.5f, 0.5f);
    nt_pair res = nt_rand_pair(k->n, k->cout, oh, ow, -1.0f, 1.0f);
    weight3 w = weight_make(k->cout, k->cin, k->kh, k->kw);
    char what[128], want[64];
    snprintf(what, sizeof what, "conv2d %s f16w %dx%dx%dx%d k%dx%d s%dx%d -> %d", sname, k->n, k->cin, k->h, k->w,
             k->kh, k->kw, k->sh, k->sw, k->cout);
    snprintf(want, sizeof want, "nn_conv2d_%s_f16w", sname);

    /* 1. full epilogue, against the same (rounded) weights */
    md_conv_params p = {.stride_h = k->sh, .stride_w = k->sw, .pad_h = k->ph, .pad_w = k->pw,
                        .ep = {.act = MD_ACT_SILU, .slope = 0.01f, .film_offset = 1.0f}};
    NT_OK(md_nn_conv2d(nt.cpu, &x.c, &w.cpu_rounded, &bias.c, &film.c, &res.c, &p, &y.c),
          md_nn_conv2d(nt.dev, &x.g, &w.gpu, &bias.g, &film.g, &res.g, &p, &y.g), what);
    expect_kernel(nt.dev, want, what);
    compare_tol(&y, F16_SAME_TOL, what);

    /* 2. plain conv, against the exact weights within the rounding bound */
    md_conv_params plain = p;
    plain.ep.act = MD_ACT_NONE;
    md_tensor absx, absw, absdot;
    abs_copy(&absx, &x.c);
    abs_copy(&absw, &w.cpu_exact);
    if (md_nn_tensor_alloc(nt.cpu, &absdot, k->n, k->cout, oh, ow) != MD_OK) exit(1);
    NT_OK(md_nn_conv2d(nt.cpu, &x.c, &w.cpu_exact, NULL, NULL, NULL, &plain, &y.c),
          md_nn_conv2d(nt.dev, &x.g, &w.gpu, NULL, NULL, NULL, &plain, &y.g), what);
    CHECK(md_nn_conv2d(nt.cpu, &absx, &absw, NULL, NULL, NULL, &plain, &absdot) == MD_OK);
    check_f16_bound(&y, &y.c, &absdot, what);
    md_nn_tensor_free(nt.cpu, &absx);
    md_nn_tensor_free(nt.cpu, &absw);
    md_nn_tensor_free(nt.cpu, &absdot);
    nt_free(&x);
    nt_free(&y);
    nt_free(&bias);
    nt_free(&film);
    nt_free(&res);
    weight_free(&w);
}

static void test_conv_f16(void)
{
    static const conv_case cases[] = {
        {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0},    /* one of everything */
        {2, 3, 5, 7, 9, 3, 3, 1, 1, 1, 1},    /* odd counts everywhere (odd weight count too) */
        {1, 13, 17, 1, 33, 1, 3, 1, 1, 0, 1}, /* conv1d-shaped, one frame high */
        {2, 8, 8, 9, 11, 3, 3, 2, 2, 1, 1},   /* strided */
        {1, 24, 3, 13, 1, 3, 3, 1, 1, 1, 1},  /* one frame wide */
        {1, 64, 70, 20, 40, 3, 3, 1, 1, 1, 1} /* large: several tiles each way, K = 576 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        conv_f16_case(&cases[i], MD_NN_CONV_REG);
        conv_f16_case(&cases[i], MD_NN_CONV_TILED);
    }
    md_nn_set_conv_style(nt.dev, MD_NN_CONV_AUTO);
}

static void test_linear_f16(void)
{
    static const int shapes[][3] = {{1, 1, 1}, {3, 37, 5}, {7, 256, 64}, {2, 16, 48}}; /* rows, K, O */
    char what[96];
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        int rows = shapes[i][0], k = shapes[i][1], o = shapes[i][2];
        nt_pair x = nt_rand_pair(rows, 1, 1, k, -1.0f, 1.0f), y = nt_pair_alloc(rows, 1, 1, o);
        nt_pair b = nt_rand_pair(1, o, 1, 1, -0.5f, 0.5f);
        weight3 w = weight_make(o, k, 1, 1);
        snprintf(what, sizeof what, "linear f16w %dx%d -> %d", rows, k, o);
        NT_OK(md_nn_linear(nt.cpu, &x.c, &w.cpu_rounded, &b.c, MD_ACT_GELU, 0.0f, &y.c),
              md_nn_linear(nt.dev, &x.g, &w.gpu, &b.g, MD_ACT_GELU, 0.0f, &y.g), what);
        expect_kernel(nt.dev, "nn_linear_f16w", what);
        compare_tol(&y, F16_SAME_TOL, what);
        md_tensor absx, absw, absdot;
        abs_copy(&absx, &x.c);
        abs_copy(&absw, &w.cpu_exact);
        if (md_nn_tensor_alloc(nt.cpu, &absdot, rows, 1, 1, o) != MD_OK) exit(1);
        NT_OK(md_nn_linear(nt.cpu, &x.c, &w.cpu_exact, NULL, MD_ACT_NONE, 0.0f, &y.c),
              md_nn_linear(nt.dev, &x.g, &w.gpu, NULL, MD_ACT_NONE, 0.0f, &y.g), what);
        CHECK(md_nn_linear(nt.cpu, &absx, &absw, NULL, MD_ACT_NONE, 0.0f, &absdot) == MD_OK);
        check_f16_bound(&y, &y.c, &absdot, what);
        md_nn_tensor_free(nt.cpu, &absx);
        md_nn_tensor_free(nt.cpu, &absw);
        md_nn_tensor_free(nt.cpu, &absdot);
        nt_free(&x);
        nt_free(&y);
        nt_free(&b);
        weight_free(&w);
    }
}

/* float16 is a weight format: other operands and ops refuse it. */
static void test_f16_misuse(void)
{
    md_tensor w16, x, y;
    CHECK(md_nn_weight_alloc(nt.dev, &w16, 1, 4, 2, 2) == MD_OK);
    CHECK(md_nn_tensor_alloc(nt.dev, &x, 1, 4, 2, 2) == MD_OK);
    CHECK(md_nn_tensor_alloc(nt.dev, &y, 1, 4, 2, 2) == MD_OK);
    CHECK(md_nn_add(nt.dev, &w16, &x, &y) == MD_ERR_USAGE);
    CHECK(strstr(md_ctx_error(nt.ctx), "float16") != NULL);
    md_convt_params tp = {.stride_h = 1, .stride_w = 1};
    md_tensor yt;
    CHECK(md_nn_tensor_alloc(nt.dev, &yt, 1, 4, 3, 3) == MD_OK);
    CHECK(md_nn_conv_transpose2d(nt.dev, &x, &w16, NULL, &tp, &yt) == MD_ERR_USAGE);
    md_nn_tensor_free(nt.dev, &w16);
    md_nn_tensor_free(nt.dev, &x);
    md_nn_tensor_free(nt.dev, &y);
    md_nn_tensor_free(nt.dev, &yt);
}

/* ---- fallbacks ----------------------------------------------------------------------------- */

/* With the features turned off through the escape hatch, the same calls take
 * the fp32 / shared-memory kernels and still match. */
static void test_disabled(void)
{
    setenv("MELODIFF_GPU_DISABLE", "subgroup,fp16", 1);
    md_gpu *gpu = NULL;
    md_gpu_options o;
    md_gpu_options_init(&o);
    md_nn *nn = NULL;
    CHECK(md_gpu_create(nt.ctx, &o, &gpu) == MD_OK);
    unsetenv("MELODIFF_GPU_DISABLE");
    if (!gpu || md_nn_create_gpu(gpu, &nn) != MD_OK) {
        CHECK(0);
        md_gpu_destroy(gpu);
        return;
    }
    CHECK(!subgroups_on(gpu) && !md_gpu_get_caps(gpu)->features.fp16_storage);
    md_nn_set_precision(nn, MD_NN_PRECISION_FP16_WEIGHTS);
    CHECK(md_nn_precision_resolved(nn) == MD_NN_PRECISION_FP32);
    /* the main handle's test pairs live on nt.dev; swap it for this one */
    md_nn *main_dev = nt.dev;
    nt.dev = nn;
    test_softmax_layer_norm("");
    test_group_norm("");
    nt_pair x = nt_rand_pair(1, 3, 5, 6, -1.0f, 1.0f), y = nt_pair_alloc(1, 4, 5, 6);
    md_tensor wg, wc;
    CHECK(md_nn_weight_alloc(nn, &wg, 4, 3, 3, 3) == MD_OK && wg.dtype == MD_DTYPE_F32);
    CHECK(md_nn_tensor_alloc(nt.cpu, &wc, 4, 3, 3, 3) == MD_OK);
    for (int i = 0; i < 4 * 27; i++) wc.host[i] = nt_rand();
    CHECK(md_nn_upload(nn, &wg, wc.host) == MD_OK);
    md_conv_params p = {.stride_h = 1, .stride_w = 1, .pad_h = 1, .pad_w = 1, .ep = {.act = MD_ACT_NONE}};
    md_nn_set_conv_style(nn, MD_NN_CONV_REG);
    NT_OK(md_nn_conv2d(nt.cpu, &x.c, &wc, NULL, NULL, NULL, &p, &y.c),
          md_nn_conv2d(nn, &x.g, &wg, NULL, NULL, NULL, &p, &y.g), "conv2d fp32 fallback");
    expect_kernel(nn, "nn_conv2d_reg", "conv2d with fp16 disabled");
    nt_compare(&y, "conv2d fp32 fallback");
    nt_free(&x);
    nt_free(&y);
    md_nn_tensor_free(nn, &wg);
    md_nn_tensor_free(nt.cpu, &wc);
    nt.dev = main_dev;
    CHECK(md_nn_sync(nn) == MD_OK);
    CHECK_MSG(md_gpu_validation_count(gpu) == 0, "validation messages on the fallback handle");
    md_nn_destroy(nn);
    md_gpu_destroy(gpu);
}

/* ---- the conversion ----------------------------------------------------------------------- */

static void test_half(void)
{
    size_t bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = md_f16_to_f32((uint16_t)h);
        if (f != f) continue; /* NaN: checked below */
        if (md_f32_to_f16(f) != h) bad++;
    }
    CHECK_MSG(bad == 0, "%zu float16 values do not survive the round trip", bad);
    CHECK(md_f16_to_f32(0x3c00) == 1.0f && md_f16_to_f32(0xc000) == -2.0f);
    CHECK(md_f16_to_f32(0x7bff) == 65504.0f && md_f16_to_f32(0x0001) == ldexpf(1.0f, -24));
    CHECK(md_f32_to_f16(65519.0f) == 0x7bff && md_f32_to_f16(65520.0f) == 0x7c00); /* rounds to inf */
    CHECK(md_f32_to_f16(1.0f + ldexpf(1.0f, -11)) == 0x3c00);                      /* tie to even: down */
    CHECK(md_f32_to_f16(1.0f + 3.0f * ldexpf(1.0f, -11)) == 0x3c02);               /* tie to even: up */
    CHECK(md_f32_to_f16(ldexpf(1.0f, -25)) == 0x0000);                             /* tie to even: zero */
    CHECK(md_f32_to_f16(ldexpf(1.5f, -25)) == 0x0001);
    CHECK(md_f32_to_f16(-0.0f) == 0x8000 && md_f32_to_f16(1e-10f) == 0);
    CHECK((md_f32_to_f16(nanf("")) & 0x7fff) > 0x7c00);
#ifdef __FLT16_MAX__
    /* the compiler's own conversion, on a spread of float bit patterns */
    size_t diff = 0;
    for (uint64_t u = 0; u < (1ull << 32); u += 65521) {
        uint32_t bits = (uint32_t)u;
        float f;
        memcpy(&f, &bits, sizeof f);
        if (f != f) continue;
        _Float16 r = (_Float16)f;
        uint16_t rb;
        memcpy(&rb, &r, sizeof rb);
        if (rb != md_f32_to_f16(f)) diff++;
    }
    CHECK_MSG(diff == 0, "%zu conversions differ from the compiler's _Float16", diff);
#endif
}

int main(void)
{
    test_half();
    nt_setup();
    const md_gpu_caps *caps = md_gpu_get_caps(nt.gpu);
    printf("subgroups %s (size %u), fp16 storage %s\n", subgroups_on(nt.gpu) ? "on" : "off",
           caps->limits.subgroup_size, caps->features.fp16_storage ? "on" : "off");
    /* tests/CMakeLists.txt runs this file a second time on lavapipe with
     * 128-bit vectors (subgroup size 4 instead of 8): make sure it took. */
    const char *want_sg = getenv("MD_TEST_SUBGROUP_SIZE");
    if (want_sg && caps->type == MD_GPU_DEVICE_CPU)
        CHECK_MSG(caps->limits.subgroup_size == (uint32_t)atoi(want_sg), "subgroup size %u, expected %s",
                  caps->limits.subgroup_size, want_sg);
    const char *sg = subgroups_on(nt.gpu) ? "_sg" : "";
    test_softmax_layer_norm(sg);
    test_group_norm(sg);
    md_nn_set_precision(nt.dev, MD_NN_PRECISION_FP16_WEIGHTS);
    if (caps->features.fp16_storage) {
        CHECK(md_nn_precision_resolved(nt.dev) == MD_NN_PRECISION_FP16_WEIGHTS);
        test_conv_f16();
        test_linear_f16();
        test_f16_misuse();
    } else {
        printf("SKIP fp16 weights: the device has no 16-bit storage\n");
        CHECK(md_nn_precision_resolved(nt.dev) == MD_NN_PRECISION_FP32);
    }
    md_nn_set_precision(nt.dev, MD_NN_PRECISION_FP32);
    CHECK(md_nn_precision_resolved(nt.dev) == MD_NN_PRECISION_FP32);
    /* AUTO: fp16 weights only on non-CPU devices with 16-bit storage (on
     * lavapipe they measured no faster, docs/ops.md) */
    md_nn_set_precision(nt.dev, MD_NN_PRECISION_AUTO);
    int want16 = caps->features.fp16_storage && caps->type != MD_GPU_DEVICE_CPU;
    CHECK(md_nn_precision_resolved(nt.dev) == (want16 ? MD_NN_PRECISION_FP16_WEIGHTS : MD_NN_PRECISION_FP32));
    md_nn_set_precision(nt.cpu, MD_NN_PRECISION_FP16_WEIGHTS);
    CHECK(md_nn_precision_resolved(nt.cpu) == MD_NN_PRECISION_FP32); /* the reference stays fp32 */
    md_nn_precision pr;
    CHECK(md_nn_precision_parse(nt.ctx, "fp16", &pr) == MD_OK && pr == MD_NN_PRECISION_FP16_WEIGHTS);
    CHECK(md_nn_precision_parse(nt.ctx, "half", &pr) == MD_ERR_USAGE);
    test_disabled();
    return nt_finish();
}
