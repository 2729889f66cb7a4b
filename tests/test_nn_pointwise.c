/* Pointwise, resampling and linear ops: activations (including inputs large
 * enough to overflow a naive exp), FiLM, add (also in place), concat,
 * nearest x2 upsampling, 2x2 average pooling with odd sizes, and the linear
 * layer. Shaders against the CPU reference on lavapipe; tolerance in
 * test_nn_common.h (1e-3 absolute or relative, fp32). */
#include "test_nn_common.h"

static void test_act(void)
{
    static const char *names[] = {"none", "silu", "gelu", "leaky", "tanh"};
    /* 70001 elements: not a multiple of any workgroup, and +-100 values
     * where exp(-x) and exp(2x) overflow fp32. */
    for (int a = MD_ACT_NONE; a <= MD_ACT_TANH; a++) {
        nt_pair x = nt_rand_pair(1, 7, 1, 10001, -100, 100);
        nt_pair y = nt_pair_alloc(1, 7, 1, 10001);
        char what[64];
        snprintf(what, sizeof what, "act %s", names[a]);
        NT_OK(md_nn_act(nt.cpu, &x.c, (md_act)a, 0.3f, &y.c), md_nn_act(nt.dev, &x.g, (md_act)a, 0.3f, &y.g), what);
        nt_compare(&y, what);
        /* the interesting range of the curves */
        nt_pair s = nt_rand_pair(1, 1, 3, 333, -6, 6);
        nt_pair t = nt_pair_alloc(1, 1, 3, 333);
        NT_OK(md_nn_act(nt.cpu, &s.c, (md_act)a, 0.3f, &t.c), md_nn_act(nt.dev, &s.g, (md_act)a, 0.3f, &t.g), what);
        nt_compare(&t, what);
        nt_free(&x);
        nt_free(&y);
        nt_free(&s);
        nt_free(&t);
    }
    /* in place */
    nt_pair x = nt_rand_pair(2, 3, 4, 5, -4, 4);
    NT_OK(md_nn_act(nt.cpu, &x.c, MD_ACT_SILU, 0, &x.c), md_nn_act(nt.dev, &x.g, MD_ACT_SILU, 0, &x.g), "act in place");
    nt_compare(&x, "silu in place");
    nt_free(&x);
}

static void test_film_add_concat(void)
{
    nt_pair x = nt_rand_pair(3, 5, 7, 9, -2, 2);
    nt_pair f = nt_rand_pair(3, 10, 1, 1, -1, 1);
    nt_pair y = nt_pair_alloc(3, 5, 7, 9);
    NT_OK(md_nn_film(nt.cpu, &x.c, &f.c, 1.0f, &y.c), md_nn_film(nt.dev, &x.g, &f.g, 1.0f, &y.g), "film");
    nt_compare(&y, "film offset 1");
    NT_OK(md_nn_film(nt.cpu, &x.c, &f.c, 0.0f, &y.c), md_nn_film(nt.dev, &x.g, &f.g, 0.0f, &y.g), "film");
    nt_compare(&y, "film offset 0");

    nt_pair b = nt_rand_pair(3, 5, 7, 9, -2, 2);
    NT_OK(md_nn_add(nt.cpu, &x.c, &b.c, &y.c), md_nn_add(nt.dev, &x.g, &b.g, &y.g), "add");
    nt_compare(&y, "add");
    NT_OK(md_nn_add(nt.cpu, &y.c, &b.c, &y.c), md_nn_add(nt.dev, &y.g, &b.g, &y.g), "add in place");
    nt_compare(&y, "add in place (a += b)");

    nt_pair c1 = nt_rand_pair(2, 1, 3, 7, -1, 1);
    nt_pair c2 = nt_rand_pair(2, 4, 3, 7, -1, 1);
    nt_pair cy = nt_pair_alloc(2, 5, 3, 7);
    NT_OK(md_nn_concat(nt.cpu, &c1.c, &c2.c, &cy.c), md_nn_concat(nt.dev, &c1.g, &c2.g, &cy.g), "concat");
    nt_compare(&cy, "concat 1 + 4 channels");
    nt_free(&x);
    nt_free(&f);
    nt_free(&y);
    nt_free(&b);
    nt_free(&c1);
    nt_free(&c2);
    nt_free(&cy);
}

static void run_resample(int n, int c, int h, int w)
{
    char what[96];
    nt_pair x = nt_rand_pair(n, c, h, w, -1, 1);
    nt_pair up = nt_pair_alloc(n, c, 2 * h, 2 * w);
    snprintf(what, sizeof what, "upsample %dx%dx%dx%d", n, c, h, w);
    NT_OK(md_nn_upsample_nearest2x(nt.cpu, &x.c, &up.c), md_nn_upsample_nearest2x(nt.dev, &x.g, &up.g), what);
    nt_compare(&up, what);
    if (h >= 2 && w >= 2) {
        nt_pair dn = nt_pair_alloc(n, c, h / 2, w / 2);
        snprintf(what, sizeof what, "avgpool %dx%dx%dx%d", n, c, h, w);
        NT_OK(md_nn_avgpool2x2(nt.cpu, &x.c, &dn.c), md_nn_avgpool2x2(nt.dev, &x.g, &dn.g), what);
        nt_compare(&dn, what);
        nt_free(&dn);
    }
    nt_free(&x);
    nt_free(&up);
}

static void test_resample(void)
{
    run_resample(1, 1, 1, 1);
    run_resample(1, 1, 2, 2);
    run_resample(2, 3, 5, 7);   /* odd: last row and column dropped by the pool */
    run_resample(1, 4, 32, 64);
    run_resample(1, 2, 1, 129); /* one row */
}

static void run_linear(int rows, int k, int outs, md_act act, int bias)
{
    char what[96];
    snprintf(what, sizeof what, "linear %dx%d -> %d act %d bias %d", rows, k, outs, (int)act, bias);
    nt_pair x = nt_rand_pair(rows, 1, 1, k, -1, 1);
    nt_pair w = nt_rand_pair(outs, k, 1, 1, -0.5f, 0.5f);
    nt_pair b = nt_rand_pair(1, outs, 1, 1, -1, 1);
    nt_pair y = nt_pair_alloc(rows, 1, 1, outs);
    NT_OK(md_nn_linear(nt.cpu, &x.c, &w.c, bias ? &b.c : NULL, act, 0.1f, &y.c),
          md_nn_linear(nt.dev, &x.g, &w.g, bias ? &b.g : NULL, act, 0.1f, &y.g), what);
    nt_compare(&y, what);
    nt_free(&x);
    nt_free(&w);
    nt_free(&b);
    nt_free(&y);
}

static void test_linear(void)
{
    run_linear(1, 1, 1, MD_ACT_NONE, 0);
    run_linear(1, 64, 256, MD_ACT_SILU, 1); /* a time-embedding MLP layer */
    run_linear(3, 129, 65, MD_ACT_GELU, 1);
    run_linear(100, 7, 3, MD_ACT_TANH, 0);
}

int main(void)
{
    nt_setup();
    test_act();
    test_film_add_concat();
    test_resample();
    test_linear();
    return nt_finish();
}
