/* conv2d (both kernel styles), conv1d and transposed conv: the Vulkan
 * shaders against the CPU reference on lavapipe, over awkward shapes (1
 * channel, 1 pixel, sizes that are not multiples of any block, strides,
 * non-square kernels) and every fused epilogue. Tolerance: see
 * test_nn_common.h (1e-3 absolute or relative, fp32). */
#include "test_nn_common.h"

typedef struct conv_case {
    int n, cin, h, w, cout, kh, kw, stride, pad;
    md_act act;
    int bias, film, res;
} conv_case;

static void run_conv(const conv_case *k, md_nn_conv_style style)
{
    char what[160];
    snprintf(what, sizeof what, "conv2d[%s] %dx%dx%dx%d -> %d k%dx%d s%d p%d act %d b%d f%d r%d",
             md_nn_conv_style_name(style), k->n, k->cin, k->h, k->w, k->cout, k->kh, k->kw, k->stride,
             k->pad, (int)k->act, k->bias, k->film, k->res);
    md_nn_set_conv_style(nt.dev, style);
    md_conv_params p = {.stride_h = k->stride, .stride_w = k->stride, .pad_h = k->pad, .pad_w = k->pad,
                        .ep = {.act = k->act, .slope = 0.2f, .film_offset = 1.0f}};
    if (k->kh == 1 && k->pad > 0) p.pad_h = 0; /* conv1d-style: pad along W only */
    int oh = md_conv_out_size(k->h, k->kh, p.stride_h, p.pad_h);
    int ow = md_conv_out_size(k->w, k->kw, p.stride_w, p.pad_w);
    nt_pair x = nt_rand_pair(k->n, k->cin, k->h, k->w, -1, 1);
    nt_pair w = nt_rand_pair(k->cout, k->cin, k->kh, k->kw, -0.5f, 0.5f);
    nt_pair b = nt_rand_pair(1, k->cout, 1, 1, -0.5f, 0.5f);
    nt_pair f = nt_rand_pair(k->n, 2 * k->cout, 1, 1, -0.5f, 0.5f);
    nt_pair r = nt_rand_pair(k->n, k->cout, oh, ow, -1, 1);
    nt_pair y = nt_pair_alloc(k->n, k->cout, oh, ow);
    NT_OK(md_nn_conv2d(nt.cpu, &x.c, &w.c, k->bias ? &b.c : NULL, k->film ? &f.c : NULL,
                       k->res ? &r.c : NULL, &p, &y.c),
          md_nn_conv2d(nt.dev, &x.g, &w.g, k->bias ? &b.g : NULL, k->film ? &f.g : NULL,
                       k->res ? &r.g : NULL, &p, &y.g),
          what);
    double err = nt_compare(&y, what);
    printf("%-80s max abs err %.2e\n", what, err);
    nt_free(&x);
    nt_free(&w);
    nt_free(&b);
    nt_free(&f);
    nt_free(&r);
    nt_free(&y);
}

static void test_conv2d(void)
{
    static const conv_case cases[] = {
        /* n cin  h   w cout kh kw s p  act          b f r */
        {1, 1, 1, 1, 1, 3, 3, 1, 1, MD_ACT_NONE, 0, 0, 0},   /* one pixel, all taps padding but centre */
        {1, 1, 5, 7, 1, 3, 3, 1, 1, MD_ACT_NONE, 1, 0, 0},   /* one channel */
        {2, 3, 5, 9, 13, 3, 3, 1, 1, MD_ACT_SILU, 1, 1, 0},  /* batch 2, Cout not a block multiple */
        {1, 8, 17, 37, 10, 3, 3, 2, 1, MD_ACT_GELU, 1, 0, 1}, /* stride 2, odd sizes */
        {1, 5, 6, 6, 7, 1, 1, 1, 0, MD_ACT_LEAKY, 1, 1, 1},  /* 1x1 with the whole epilogue */
        {1, 4, 9, 11, 3, 1, 1, 2, 0, MD_ACT_TANH, 0, 0, 0},  /* 1x1 stride 2 */
        {1, 6, 1, 50, 5, 1, 5, 2, 2, MD_ACT_NONE, 1, 0, 0},  /* conv1d shape: 1 x K kernel */
        {1, 16, 20, 130, 70, 3, 3, 1, 1, MD_ACT_SILU, 1, 1, 1}, /* wide rows, > 64 output channels */
        {1, 3, 8, 8, 4, 4, 4, 2, 1, MD_ACT_NONE, 1, 0, 0},   /* even kernel */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run_conv(&cases[i], MD_NN_CONV_REG);
        run_conv(&cases[i], MD_NN_CONV_TILED);
    }
}

static void test_conv1d(void)
{
    nt_pair x = nt_rand_pair(2, 3, 1, 23, -1, 1);
    nt_pair w = nt_rand_pair(4, 3, 1, 3, -1, 1);
    nt_pair b = nt_rand_pair(1, 4, 1, 1, -1, 1);
    nt_pair y = nt_pair_alloc(2, 4, 1, 23);
    NT_OK(md_nn_conv1d(nt.cpu, &x.c, &w.c, &b.c, 1, 1, MD_ACT_GELU, &y.c),
          md_nn_conv1d(nt.dev, &x.g, &w.g, &b.g, 1, 1, MD_ACT_GELU, &y.g), "conv1d");
    nt_compare(&y, "conv1d k3 p1");
    nt_free(&x);
    nt_free(&w);
    nt_free(&b);
    nt_free(&y);
}

static void run_convt(int n, int cin, int h, int w, int cout, int k, int s, int pad, int bias)
{
    char what[128];
    snprintf(what, sizeof what, "conv_transpose2d %dx%dx%dx%d -> %d k%d s%d p%d b%d", n, cin, h, w, cout, k,
             s, pad, bias);
    md_convt_params p = {.stride_h = s, .stride_w = s, .pad_h = pad, .pad_w = pad};
    int oh = md_convt_out_size(h, k, s, pad), ow = md_convt_out_size(w, k, s, pad);
    nt_pair x = nt_rand_pair(n, cin, h, w, -1, 1);
    nt_pair wt = nt_rand_pair(cin, cout, k, k, -0.5f, 0.5f);
    nt_pair b = nt_rand_pair(1, cout, 1, 1, -1, 1);
    nt_pair y = nt_pair_alloc(n, cout, oh, ow);
    NT_OK(md_nn_conv_transpose2d(nt.cpu, &x.c, &wt.c, bias ? &b.c : NULL, &p, &y.c),
          md_nn_conv_transpose2d(nt.dev, &x.g, &wt.g, bias ? &b.g : NULL, &p, &y.g), what);
    double err = nt_compare(&y, what);
    printf("%-80s max abs err %.2e\n", what, err);
    nt_free(&x);
    nt_free(&wt);
    nt_free(&b);
    nt_free(&y);
}

static void test_conv_transpose(void)
{
    run_convt(1, 1, 1, 1, 1, 2, 2, 0, 0);
    run_convt(2, 3, 5, 7, 4, 4, 2, 1, 1); /* the usual learned x2 upsampling */
    run_convt(1, 8, 6, 9, 5, 2, 2, 0, 1);
    run_convt(1, 2, 4, 3, 3, 3, 2, 1, 1); /* kernel not a stride multiple */
    run_convt(1, 4, 3, 5, 2, 3, 1, 1, 0); /* stride 1 */
}

int main(void)
{
    nt_setup();
    test_conv2d();
    test_conv1d();
    test_conv_transpose();
    return nt_finish();
}
