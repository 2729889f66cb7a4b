/* Group norm (with affine, FiLM and activation fused), layer norm and
 * softmax: shaders against the CPU reference on lavapipe, including a large
 * DC offset (catches one-pass variance), one element per group, and more
 * rows than workgroups. Tolerance in test_nn_common.h (1e-3 abs or rel). */
#include "test_nn_common.h"

static void run_gn_mode(int n, int c, int h, int w, int groups, int affine, int film, md_act act, float lo,
                        float hi, int per_frame)
{
    char what[128];
    snprintf(what, sizeof what, "group_norm%s %dx%dx%dx%d g%d affine %d film %d act %d range [%g,%g)",
             per_frame ? "(frame)" : "", n, c, h, w, groups, affine, film, (int)act, (double)lo, (double)hi);
    nt_pair x = nt_rand_pair(n, c, h, w, lo, hi);
    nt_pair g = nt_rand_pair(1, c, 1, 1, 0.5f, 1.5f);
    nt_pair b = nt_rand_pair(1, c, 1, 1, -1, 1);
    nt_pair f = nt_rand_pair(n, 2 * c, 1, 1, -0.5f, 0.5f);
    nt_pair y = nt_pair_alloc(n, c, h, w);
    md_norm_params p = {.groups = groups, .eps = 1e-5f, .per_frame = per_frame,
                        .ep = {.act = act, .slope = 0.1f, .film_offset = 1}};
    NT_OK(md_nn_group_norm(nt.cpu, &x.c, affine ? &g.c : NULL, affine ? &b.c : NULL, film ? &f.c : NULL, &p, &y.c),
          md_nn_group_norm(nt.dev, &x.g, affine ? &g.g : NULL, affine ? &b.g : NULL, film ? &f.g : NULL, &p, &y.g),
          what);
    double err = nt_compare(&y, what);
    printf("%-90s max abs err %.2e\n", what, err);
    nt_free(&x);
    nt_free(&g);
    nt_free(&b);
    nt_free(&f);
    nt_free(&y);
}

/* Both modes: statistics over H x W, and per column (the U-Net's frame norm),
 * the latter with every lane count per column a device may use (1 on
 * lavapipe, MD_NN_GN_SLICES_GPU on GPUs; 4 for an odd split). */
static void run_gn(int n, int c, int h, int w, int groups, int affine, int film, md_act act, float lo, float hi)
{
    static const int slices[] = {1, 4, MD_NN_GN_SLICES_GPU};
    run_gn_mode(n, c, h, w, groups, affine, film, act, lo, hi, 0);
    for (size_t i = 0; i < sizeof slices / sizeof slices[0]; i++) {
        printf("per-frame group norm, %d lanes per column:\n", slices[i]);
        md_nn_set_group_norm_slices(nt.dev, slices[i]);
        run_gn_mode(n, c, h, w, groups, affine, film, act, lo, hi, 1);
    }
    md_nn_set_group_norm_slices(nt.dev, 0);
}

static void test_group_norm(void)
{
    run_gn(1, 1, 1, 2, 1, 0, 0, MD_ACT_NONE, -1, 1);
    run_gn(2, 6, 5, 7, 3, 1, 0, MD_ACT_NONE, -1, 1);
    run_gn(2, 8, 9, 13, 4, 1, 1, MD_ACT_SILU, -3, 3);
    run_gn(1, 32, 16, 32, 32, 1, 0, MD_ACT_GELU, -1, 1); /* one channel per group */
    run_gn(1, 64, 32, 64, 32, 1, 1, MD_ACT_SILU, -2, 2); /* U-Net level size */
    run_gn(1, 4, 8, 8, 2, 1, 0, MD_ACT_NONE, 999, 1001); /* DC offset 1000 */
    run_gn(1, 16, 16, 300, 8, 1, 1, MD_ACT_SILU, -2, 2); /* jobs not a multiple of any workgroup */
}

static void test_layer_norm(void)
{
    static const int dims[][2] = {{1, 2}, {5, 7}, {3, 300}, {1000, 64}};
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++) {
        int rows = dims[i][0], d = dims[i][1];
        for (int affine = 0; affine <= 1; affine++) {
            char what[96];
            snprintf(what, sizeof what, "layer_norm %d rows x %d affine %d", rows, d, affine);
            nt_pair x = nt_rand_pair(1, 1, rows, d, -2, 5);
            nt_pair g = nt_rand_pair(1, 1, 1, d, 0.5f, 1.5f);
            nt_pair b = nt_rand_pair(1, 1, 1, d, -1, 1);
            nt_pair y = nt_pair_alloc(1, 1, rows, d);
            NT_OK(md_nn_layer_norm(nt.cpu, &x.c, affine ? &g.c : NULL, affine ? &b.c : NULL, 1e-5f, &y.c),
                  md_nn_layer_norm(nt.dev, &x.g, affine ? &g.g : NULL, affine ? &b.g : NULL, 1e-5f, &y.g), what);
            nt_compare(&y, what);
            nt_free(&x);
            nt_free(&g);
            nt_free(&b);
            nt_free(&y);
        }
    }
}

static void test_softmax(void)
{
    /* 70000 rows is more than the 65535 workgroups a dispatch may have, so
     * the row loop in the shader is exercised. */
    static const int dims[][2] = {{1, 1}, {4, 5}, {2, 1000}, {70000, 3}};
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "softmax %d rows x %d", dims[i][0], dims[i][1]);
        nt_pair x = nt_rand_pair(dims[i][0], 1, 1, dims[i][1], -30, 30);
        nt_pair y = nt_pair_alloc(dims[i][0], 1, 1, dims[i][1]);
        NT_OK(md_nn_softmax(nt.cpu, &x.c, &y.c), md_nn_softmax(nt.dev, &x.g, &y.g), what);
        nt_compare(&y, what);
        nt_free(&x);
        nt_free(&y);
    }
}

int main(void)
{
    nt_setup();
    test_group_norm();
    test_layer_norm();
    test_softmax();
    return nt_finish();
}
