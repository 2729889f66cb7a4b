/* conv2d_cat and group_norm_cat (ops on the channel concatenation [a ; b],
 * read in place): the Vulkan kernels against the CPU reference (the plain op
 * on an explicit concatenation) on lavapipe, validation on, over awkward
 * shapes: 1 channel on either side, 1 frame, odd sizes, groups straddling
 * the a/b boundary, both group norm kernels (whole plane and per frame),
 * both conv styles and the fp16-weight variant, every epilogue. A concat of
 * the GPU inputs run through the plain GPU op is compared as well, so the
 * two-input kernels must also agree with the path they replace.
 * Tolerance: test_nn_common.h (fp32: 1e-3 absolute or relative). */
#include <math.h>

#include "nn/half.h"
#include "test_nn_common.h"

typedef struct cat_case {
    int n, ca, cb, h, w;
} cat_case;

static const cat_case cases[] = {
    {1, 1, 1, 1, 1},   /* one value per input */
    {1, 1, 5, 3, 7},   /* one channel first */
    {2, 6, 1, 4, 1},   /* one channel second, one frame, batch 2 */
    {1, 3, 5, 5, 9},   /* groups of 2 straddle the boundary (channels 2|3) */
    {1, 12, 20, 8, 37}, /* width not a multiple of any block */
};

/* y_cat (two-input op) and y_ref (concat then the plain op) on the GPU. */
static void gpu_concat(const nt_pair *a, const nt_pair *b, md_tensor *cat)
{
    md_status s = md_nn_tensor_alloc(nt.dev, cat, a->g.n, a->g.c + b->g.c, a->g.h, a->g.w);
    if (s == MD_OK) s = md_nn_concat(nt.dev, &a->g, &b->g, cat);
    CHECK_MSG(s == MD_OK, "gpu concat: %s", md_ctx_error(nt.ctx));
    if (s != MD_OK) exit(1);
}

/* The GPU result of y against the GPU tensor other (same shape). */
static void compare_gpu(const md_tensor *y, const md_tensor *other, const char *what)
{
    size_t count = md_tensor_numel(y);
    float *p = malloc(count * sizeof *p), *q = malloc(count * sizeof *q);
    if (!p || !q) exit(1);
    md_status s = md_nn_download(nt.dev, y, p);
    if (s == MD_OK) s = md_nn_download(nt.dev, other, q);
    CHECK_MSG(s == MD_OK, "%s: download: %s", what, md_ctx_error(nt.ctx));
    size_t bad = 0;
    for (size_t i = 0; i < count; i++) {
        double e = fabs((double)p[i] - q[i]);
        if (!(e <= NT_ABS_TOL || e <= NT_REL_TOL * fabs((double)q[i]))) bad++;
    }
    CHECK_MSG(bad == 0, "%s: %zu of %zu differ from concat + plain op on the GPU", what, bad, count);
    free(p);
    free(q);
}

static void run_norm(const cat_case *k, int groups, int per_frame, md_act act, int film)
{
    char what[160];
    snprintf(what, sizeof what, "group_norm_cat %dx(%d+%d)x%dx%d g%d frame%d act %d film%d", k->n, k->ca, k->cb,
             k->h, k->w, groups, per_frame, (int)act, film);
    int c = k->ca + k->cb;
    nt_pair a = nt_rand_pair(k->n, k->ca, k->h, k->w, -2, 3);
    nt_pair b = nt_rand_pair(k->n, k->cb, k->h, k->w, -1, 1);
    nt_pair ga = nt_rand_pair(1, c, 1, 1, 0.5f, 1.5f);
    nt_pair be = nt_rand_pair(1, c, 1, 1, -0.5f, 0.5f);
    nt_pair f = nt_rand_pair(k->n, 2 * c, 1, 1, -0.5f, 0.5f);
    nt_pair y = nt_pair_alloc(k->n, c, k->h, k->w);
    md_norm_params p = {.groups = groups, .eps = 1e-5f, .per_frame = per_frame,
                        .ep = {.act = act, .slope = 0.2f, .film_offset = 1.0f}};
    const md_tensor *fc = film ? &f.c : NULL, *fg = film ? &f.g : NULL;
    NT_OK(md_nn_group_norm_cat(nt.cpu, &a.c, &b.c, &ga.c, &be.c, fc, &p, &y.c),
          md_nn_group_norm_cat(nt.dev, &a.g, &b.g, &ga.g, &be.g, fg, &p, &y.g), what);
    double err = nt_compare(&y, what);
    md_tensor cat, y2;
    gpu_concat(&a, &b, &cat);
    md_status s = md_nn_tensor_alloc(nt.dev, &y2, k->n, c, k->h, k->w);
    if (s == MD_OK) s = md_nn_group_norm(nt.dev, &cat, &ga.g, &be.g, fg, &p, &y2);
    CHECK_MSG(s == MD_OK, "%s: plain op: %s", what, md_ctx_error(nt.ctx));
    compare_gpu(&y.g, &y2, what);
    printf("%-80s max abs err %.2e\n", what, err);
    md_nn_tensor_free(nt.dev, &cat);
    md_nn_tensor_free(nt.dev, &y2);
    nt_free(&a);
    nt_free(&b);
    nt_free(&ga);
    nt_free(&be);
    nt_free(&f);
    nt_free(&y);
}

static void run_conv(const cat_case *k, int cout, int ksz, md_nn_conv_style style, int fp16, int epi)
{
    char what[160];
    snprintf(what, sizeof what, "conv2d_cat[%s%s] %dx(%d+%d)x%dx%d -> %d k%d epi%d", md_nn_conv_style_name(style),
             fp16 ? ",f16w" : "", k->n, k->ca, k->cb, k->h, k->w, cout, ksz, epi);
    md_nn_set_conv_style(nt.dev, style);
    md_nn_set_precision(nt.dev, fp16 ? MD_NN_PRECISION_FP16_WEIGHTS : MD_NN_PRECISION_FP32);
    int c = k->ca + k->cb, pad = ksz / 2;
    nt_pair a = nt_rand_pair(k->n, k->ca, k->h, k->w, -1, 1);
    nt_pair b = nt_rand_pair(k->n, k->cb, k->h, k->w, -1, 1);
    nt_pair bias = nt_rand_pair(1, cout, 1, 1, -0.5f, 0.5f);
    nt_pair f = nt_rand_pair(k->n, 2 * cout, 1, 1, -0.5f, 0.5f);
    nt_pair r = nt_rand_pair(k->n, cout, k->h, k->w, -1, 1);
    nt_pair y = nt_pair_alloc(k->n, cout, k->h, k->w);
    /* Weights: random on the CPU, the same values (half-rounded under fp16)
     * on both. */
    md_tensor wc, wg;
    md_status s = md_nn_tensor_alloc(nt.cpu, &wc, cout, c, ksz, ksz);
    if (s == MD_OK) s = md_nn_weight_alloc(nt.dev, &wg, cout, c, ksz, ksz);
    CHECK_MSG(s == MD_OK, "%s: alloc: %s", what, md_ctx_error(nt.ctx));
    if (s != MD_OK) exit(1);
    for (size_t i = 0; i < md_tensor_numel(&wc); i++) wc.host[i] = 0.5f * nt_rand();
    if (wg.dtype == MD_DTYPE_F16) md_round_to_f16(wc.host, md_tensor_numel(&wc));
    s = md_nn_upload(nt.dev, &wg, wc.host);
    CHECK_MSG(s == MD_OK, "%s: upload: %s", what, md_ctx_error(nt.ctx));
    md_conv_params p = {.stride_h = 1, .stride_w = 1, .pad_h = pad, .pad_w = pad,
                        .ep = {.act = epi ? MD_ACT_SILU : MD_ACT_NONE, .slope = 0.2f, .film_offset = 1.0f}};
    NT_OK(md_nn_conv2d_cat(nt.cpu, &a.c, &b.c, &wc, &bias.c, epi ? &f.c : NULL, epi ? &r.c : NULL, &p, &y.c),
          md_nn_conv2d_cat(nt.dev, &a.g, &b.g, &wg, &bias.g, epi ? &f.g : NULL, epi ? &r.g : NULL, &p, &y.g),
          what);
    double err = nt_compare(&y, what);
    md_tensor cat, y2;
    gpu_concat(&a, &b, &cat);
    s = md_nn_tensor_alloc(nt.dev, &y2, k->n, cout, k->h, k->w);
    if (s == MD_OK) s = md_nn_conv2d(nt.dev, &cat, &wg, &bias.g, epi ? &f.g : NULL, epi ? &r.g : NULL, &p, &y2);
    CHECK_MSG(s == MD_OK, "%s: plain op: %s", what, md_ctx_error(nt.ctx));
    compare_gpu(&y.g, &y2, what);
    printf("%-80s max abs err %.2e\n", what, err);
    md_nn_tensor_free(nt.dev, &cat);
    md_nn_tensor_free(nt.dev, &y2);
    md_nn_tensor_free(nt.cpu, &wc);
    md_nn_tensor_free(nt.dev, &wg);
    nt_free(&a);
    nt_free(&b);
    nt_free(&bias);
    nt_free(&f);
    nt_free(&r);
    nt_free(&y);
}

/* Inputs that differ outside the channel axis, or a wrong output, are refused. */
static void check_refusals(void)
{
    nt_pair a = nt_rand_pair(1, 2, 3, 4, -1, 1);
    nt_pair b = nt_rand_pair(1, 2, 3, 5, -1, 1);
    nt_pair w = nt_rand_pair(3, 4, 1, 1, -1, 1);
    nt_pair y = nt_pair_alloc(1, 3, 3, 4);
    nt_pair yn = nt_pair_alloc(1, 4, 3, 4);
    md_conv_params p = {.stride_h = 1, .stride_w = 1};
    md_norm_params np = {.groups = 2, .eps = 1e-5f};
    CHECK(md_nn_conv2d_cat(nt.cpu, &a.c, &b.c, &w.c, NULL, NULL, NULL, &p, &y.c) == MD_ERR_USAGE);
    CHECK(md_nn_conv2d_cat(nt.dev, &a.g, &b.g, &w.g, NULL, NULL, NULL, &p, &y.g) == MD_ERR_USAGE);
    CHECK(md_nn_group_norm_cat(nt.cpu, &a.c, &b.c, NULL, NULL, NULL, &np, &yn.c) == MD_ERR_USAGE);
    CHECK(md_nn_conv2d_cat(nt.cpu, &a.c, &a.c, &w.c, NULL, NULL, NULL, &p, &y.c) == MD_OK);
    CHECK(md_nn_group_norm_cat(nt.cpu, &a.c, &a.c, NULL, NULL, NULL, &np, &yn.c) == MD_OK);
    CHECK(md_nn_group_norm_cat(nt.cpu, &a.c, &a.c, NULL, NULL, NULL, &np, &a.c) == MD_ERR_USAGE); /* wrong shape */
    nt_free(&a);
    nt_free(&b);
    nt_free(&w);
    nt_free(&y);
    nt_free(&yn);
}

int main(void)
{
    nt_setup();
    int fp16 = md_gpu_get_caps(nt.gpu)->features.fp16_storage;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const cat_case *k = &cases[i];
        int c = k->ca + k->cb;
        int groups = c % 4 == 0 ? c / 2 : (c % 2 == 0 ? c / 2 : 1); /* 2 channels a group where possible */
        run_norm(k, groups, 1, MD_ACT_SILU, 1);
        run_norm(k, groups, 0, MD_ACT_NONE, 0);
        run_norm(k, 1, 1, MD_ACT_NONE, 0);
        md_nn_set_group_norm_slices(nt.dev, MD_NN_GN_SLICES_GPU); /* the GPUs' per-frame path, a group */
        run_norm(k, groups, 1, MD_ACT_SILU, 1);                    /* straddling the two inputs */
        run_norm(k, 1, 1, MD_ACT_NONE, 0);
        md_nn_set_group_norm_slices(nt.dev, 0);
        run_conv(k, 5, 1, MD_NN_CONV_REG, 0, 0);
        run_conv(k, 7, 3, MD_NN_CONV_REG, 0, 1);
        run_conv(k, 5, 1, MD_NN_CONV_TILED, 0, 1);
        run_conv(k, 70, 3, MD_NN_CONV_TILED, 0, 0);
        if (fp16) {
            run_conv(k, 6, 1, MD_NN_CONV_REG, 1, 1);
            run_conv(k, 6, 3, MD_NN_CONV_TILED, 1, 0);
        }
    }
    check_refusals();
    return nt_finish();
}
