/* The CPU reference ops against tiny cases computed by hand, so the
 * reference the shaders are judged by is itself trustworthy. Values in the
 * comments are the hand calculation. Tolerance 1e-5 (these are exact or
 * near-exact small sums). */
#include <math.h>
#include <string.h>

#include "nn/ref/ref.h"
#include "test_util.h"

#define TOL 1e-5

/* A host tensor over a caller array. */
static md_tensor T(int n, int c, int h, int w, float *data)
{
    md_tensor t = {.n = n, .c = c, .h = h, .w = w, .host = data};
    return t;
}

static void check_all(const float *got, const float *want, int count, const char *what)
{
    for (int i = 0; i < count; i++)
        CHECK_MSG(fabsf(got[i] - want[i]) <= TOL, "%s[%d] = %g, want %g", what, i, (double)got[i], (double)want[i]);
}

static void test_conv2d(void)
{
    float xv[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, wv[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1}, yv[9];
    md_tensor x = T(1, 1, 3, 3, xv), w = T(1, 1, 3, 3, wv), y = T(1, 1, 3, 3, yv);
    md_conv_params p = {.stride_h = 1, .stride_w = 1, .pad_h = 1, .pad_w = 1};
    /* 3x3 box sums with zero padding */
    md_ref_conv2d(&x, &w, NULL, NULL, NULL, &p, &y);
    float want[9] = {12, 21, 16, 27, 45, 33, 24, 39, 28};
    check_all(yv, want, 9, "conv2d 3x3 pad 1");

    /* stride 2 keeps the corners of the above */
    float y2v[4];
    md_tensor y2 = T(1, 1, 2, 2, y2v);
    p.stride_h = p.stride_w = 2;
    md_ref_conv2d(&x, &w, NULL, NULL, NULL, &p, &y2);
    float want2[4] = {12, 16, 24, 28};
    check_all(y2v, want2, 4, "conv2d stride 2");

    /* 1x1, 2 -> 2 channels: [1 1; 2 -1] . [1 2] = [3 0] */
    float x3v[2] = {1, 2}, w3v[4] = {1, 1, 2, -1}, y3v[2];
    md_tensor x3 = T(1, 2, 1, 1, x3v), w3 = T(2, 2, 1, 1, w3v), y3 = T(1, 2, 1, 1, y3v);
    md_conv_params p1 = {.stride_h = 1, .stride_w = 1};
    md_ref_conv2d(&x3, &w3, NULL, NULL, NULL, &p1, &y3);
    float want3[2] = {3, 0};
    check_all(y3v, want3, 2, "conv2d 1x1 channels");

    /* Epilogue order: (2*3 + 1) = 7; FiLM 7 * (1 + 0.5) - 1 = 9.5; leaky keeps
     * 9.5; residual + 0.5 = 10. */
    float x4v[1] = {2}, w4v[1] = {3}, b4v[1] = {1}, f4v[2] = {0.5f, -1}, r4v[1] = {0.5f}, y4v[1];
    md_tensor x4 = T(1, 1, 1, 1, x4v), w4 = T(1, 1, 1, 1, w4v), b4 = T(1, 1, 1, 1, b4v);
    md_tensor f4 = T(1, 2, 1, 1, f4v), r4 = T(1, 1, 1, 1, r4v), y4 = T(1, 1, 1, 1, y4v);
    md_conv_params p4 = {.stride_h = 1, .stride_w = 1, .ep = {.act = MD_ACT_LEAKY, .slope = 0.1f, .film_offset = 1}};
    md_ref_conv2d(&x4, &w4, &b4, &f4, &r4, &p4, &y4);
    CHECK_NEAR(y4v[0], 10.0, TOL);
    /* same with a negative pre-activation: w = -3 -> -5; FiLM -5*1.5-1 = -8.5;
     * leaky 0.1 -> -0.85; + 0.5 = -0.35 */
    w4v[0] = -3;
    md_ref_conv2d(&x4, &w4, &b4, &f4, &r4, &p4, &y4);
    CHECK_NEAR(y4v[0], -0.35, TOL);

    /* conv1d as H = 1: [1 0 -1] with padding 1 is x[i-1] - x[i+1] */
    float x5v[4] = {1, 2, 3, 4}, w5v[3] = {1, 0, -1}, y5v[4];
    md_tensor x5 = T(1, 1, 1, 4, x5v), w5 = T(1, 1, 1, 3, w5v), y5 = T(1, 1, 1, 4, y5v);
    md_conv_params p5 = {.stride_h = 1, .stride_w = 1, .pad_w = 1};
    md_ref_conv2d(&x5, &w5, NULL, NULL, NULL, &p5, &y5);
    float want5[4] = {-2, -2, -2, 3};
    check_all(y5v, want5, 4, "conv1d");
}

static void test_conv_transpose(void)
{
    /* kernel 2 stride 2 of ones: every input becomes a 2x2 block */
    float xv[4] = {1, 2, 3, 4}, wv[4] = {1, 1, 1, 1}, yv[16];
    md_tensor x = T(1, 1, 2, 2, xv), w = T(1, 1, 2, 2, wv), y = T(1, 1, 4, 4, yv);
    md_convt_params p = {.stride_h = 2, .stride_w = 2};
    md_ref_conv_transpose2d(&x, &w, NULL, &p, &y);
    float want[16] = {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4};
    check_all(yv, want, 16, "convT k2 s2");

    /* kernel 3 stride 2 pad 1 (out 3x3): input (iy, ix) reaches outputs
     * 2*iy-1+ky; overlaps add up: centre 1+2+3+4 = 10. Bias 0.5 on top. */
    float w3v[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1}, bv[1] = {0.5f}, y3v[9];
    md_tensor w3 = T(1, 1, 3, 3, w3v), b = T(1, 1, 1, 1, bv), y3 = T(1, 1, 3, 3, y3v);
    md_convt_params p3 = {.stride_h = 2, .stride_w = 2, .pad_h = 1, .pad_w = 1};
    md_ref_conv_transpose2d(&x, &w3, &b, &p3, &y3);
    float want3[9] = {1.5f, 3.5f, 2.5f, 4.5f, 10.5f, 6.5f, 3.5f, 7.5f, 4.5f};
    check_all(y3v, want3, 9, "convT k3 s2 p1");

    /* channels: Cin 2 -> Cout 1, weight Cin x Cout: y = 1*x0 + 10*x1 */
    float x2v[2] = {2, 3}, w2v[2] = {1, 10}, y2v[1];
    md_tensor x2 = T(1, 2, 1, 1, x2v), w2 = T(2, 1, 1, 1, w2v), y2 = T(1, 1, 1, 1, y2v);
    md_convt_params p1 = {.stride_h = 1, .stride_w = 1};
    md_ref_conv_transpose2d(&x2, &w2, NULL, &p1, &y2);
    CHECK_NEAR(y2v[0], 32.0, TOL);
}

static void test_resample(void)
{
    float xv[4] = {1, 2, 3, 4}, yv[16];
    md_tensor x = T(1, 1, 2, 2, xv), y = T(1, 1, 4, 4, yv);
    md_ref_upsample_nearest2x(&x, &y);
    float want[16] = {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4};
    check_all(yv, want, 16, "upsample");

    /* 3x5 of 0..14 pools to 1x2; the odd last row and column are dropped:
     * (0+1+5+6)/4 = 3, (2+3+7+8)/4 = 5 */
    float pv[15], qv[2];
    for (int i = 0; i < 15; i++) pv[i] = (float)i;
    md_tensor px = T(1, 1, 3, 5, pv), qy = T(1, 1, 1, 2, qv);
    md_ref_avgpool2x2(&px, &qy);
    CHECK_NEAR(qv[0], 3.0, TOL);
    CHECK_NEAR(qv[1], 5.0, TOL);
}

static void test_norms(void)
{
    /* one group over [1 3 5 7]: mean 4, var (9+1+1+9)/4 = 5 */
    float xv[4] = {1, 3, 5, 7}, yv[4];
    md_tensor x = T(1, 2, 1, 2, xv), y = T(1, 2, 1, 2, yv);
    md_norm_params p = {.groups = 1, .eps = 1e-5f};
    md_ref_group_norm(&x, NULL, NULL, NULL, &p, &y);
    float s = sqrtf(5.0f + 1e-5f);
    float want[4] = {-3 / s, -1 / s, 1 / s, 3 / s};
    check_all(yv, want, 4, "group norm 1 group");

    /* two groups: each channel [1 3] / [5 7] normalises to [-1 1]/sqrt(1+eps);
     * gamma [2 1], beta [0 10] -> [-2 2 9 11] */
    float gv[2] = {2, 1}, bv[2] = {0, 10};
    md_tensor g = T(1, 2, 1, 1, gv), b = T(1, 2, 1, 1, bv);
    p.groups = 2;
    md_ref_group_norm(&x, &g, &b, NULL, &p, &y);
    float u = 1.0f / sqrtf(1.0f + 1e-5f);
    float want2[4] = {-2 * u, 2 * u, 10 - u, 10 + u};
    check_all(yv, want2, 4, "group norm 2 groups affine");

    /* + FiLM (offset 0: v * scale + shift) with scale [1 2], shift [0 -10],
     * then SiLU on channel 0's values -2u and 2u */
    float fv[4] = {1, 2, 0, -10};
    md_tensor f = T(1, 4, 1, 1, fv);
    p.ep.act = MD_ACT_SILU;
    p.ep.film_offset = 0;
    md_ref_group_norm(&x, &g, &b, &f, &p, &y);
    float a = -2 * u, c = 2 * u, d = 2 * (10 - u) - 10, e = 2 * (10 + u) - 10;
    float want3[4] = {a / (1 + expf(-a)), c / (1 + expf(-c)), d / (1 + expf(-d)), e / (1 + expf(-e))};
    check_all(yv, want3, 4, "group norm FiLM SiLU");

    /* per-frame group norm of a 1 x 2 x 2 x 2 tensor, one group: column 0
     * holds [1 3 | 5 7] (channel 0 rows, channel 1 rows) -> mean 4, var 5;
     * column 1 holds [0 0 | 0 4] -> mean 1, var 3. */
    float pv[8] = {1, 0, 3, 0, 5, 0, 7, 4}, po[8];
    md_tensor px = T(1, 2, 2, 2, pv), py = T(1, 2, 2, 2, po);
    md_norm_params pf = {.groups = 1, .eps = 1e-5f, .per_frame = 1};
    md_ref_group_norm(&px, NULL, NULL, NULL, &pf, &py);
    float s0 = sqrtf(5.0f + 1e-5f), s1 = sqrtf(3.0f + 1e-5f);
    float wantf[8] = {-3 / s0, -1 / s1, -1 / s0, -1 / s1, 1 / s0, -1 / s1, 3 / s0, 3 / s1};
    check_all(po, wantf, 8, "group norm per frame");

    /* layer norm of [1 2 3 4]: mean 2.5, var 1.25 */
    float lv[4] = {1, 2, 3, 4}, lo[4];
    md_tensor lx = T(1, 1, 1, 4, lv), ly = T(1, 1, 1, 4, lo);
    md_ref_layer_norm(&lx, NULL, NULL, 1e-5f, &ly);
    float r = sqrtf(1.25f + 1e-5f);
    float want4[4] = {-1.5f / r, -0.5f / r, 0.5f / r, 1.5f / r};
    check_all(lo, want4, 4, "layer norm");
}

static void test_pointwise(void)
{
    CHECK_NEAR(md_ref_act_value(MD_ACT_SILU, 0, 1.0f), 0.7310585786, TOL);
    CHECK_NEAR(md_ref_act_value(MD_ACT_GELU, 0, 1.0f), 0.8413447461, TOL);
    CHECK_NEAR(md_ref_act_value(MD_ACT_GELU, 0, -1.0f), -0.1586552539, TOL);
    CHECK_NEAR(md_ref_act_value(MD_ACT_LEAKY, 0.1f, -2.0f), -0.2, TOL);
    CHECK_NEAR(md_ref_act_value(MD_ACT_LEAKY, 0.1f, 2.0f), 2.0, TOL);
    CHECK_NEAR(md_ref_act_value(MD_ACT_TANH, 0, 0.5f), 0.4621171573, TOL);
    CHECK_NEAR(md_ref_act_value(MD_ACT_NONE, 0, -3.0f), -3.0, TOL);

    /* film [scale0 scale1 shift0 shift1] = [1 2 3 4] on x = [1 2] */
    float xv[2] = {1, 2}, fv[4] = {1, 2, 3, 4}, yv[2];
    md_tensor x = T(1, 2, 1, 1, xv), f = T(1, 4, 1, 1, fv), y = T(1, 2, 1, 1, yv);
    md_ref_film(&x, &f, 0.0f, &y);
    CHECK_NEAR(yv[0], 4.0, TOL);
    CHECK_NEAR(yv[1], 8.0, TOL);
    md_ref_film(&x, &f, 1.0f, &y);
    CHECK_NEAR(yv[0], 5.0, TOL);
    CHECK_NEAR(yv[1], 10.0, TOL);

    md_ref_add(&x, &x, &y);
    CHECK_NEAR(yv[1], 4.0, TOL);

    /* concat per sample: a 2x1, b 2x2 channels -> [a0 b0 b0' a1 b1 b1'] */
    float av[2] = {1, 2}, bv[4] = {3, 4, 5, 6}, cv[6];
    md_tensor a = T(2, 1, 1, 1, av), b = T(2, 2, 1, 1, bv), c = T(2, 3, 1, 1, cv);
    md_ref_concat(&a, &b, &c);
    float want[6] = {1, 3, 4, 2, 5, 6};
    check_all(cv, want, 6, "concat");
}

static void test_matrix(void)
{
    float sv[3] = {1, 2, 3}, so[3];
    md_tensor sx = T(1, 1, 1, 3, sv), sy = T(1, 1, 1, 3, so);
    md_ref_softmax(&sx, &sy);
    float want[3] = {0.0900305732f, 0.2447284711f, 0.6652409558f};
    check_all(so, want, 3, "softmax");
    /* no overflow: exp(1000) is inf, the shifted form is fine */
    float bv[2] = {1000, 1000}, bo[2];
    md_tensor bx = T(1, 1, 1, 2, bv), by = T(1, 1, 1, 2, bo);
    md_ref_softmax(&bx, &by);
    CHECK_NEAR(bo[0], 0.5, TOL);

    /* linear: W [1 1; 1 -1; 0 3], b [0 1 2], x [1 2] -> [3 0 8] */
    float xv[2] = {1, 2}, wv[6] = {1, 1, 1, -1, 0, 3}, lb[3] = {0, 1, 2}, yv[3];
    md_tensor x = T(1, 1, 1, 2, xv), w = T(3, 2, 1, 1, wv), b = T(1, 3, 1, 1, lb), y = T(1, 1, 1, 3, yv);
    md_ref_linear(&x, &w, &b, MD_ACT_NONE, 0, &y);
    float wantl[3] = {3, 0, 8};
    check_all(yv, wantl, 3, "linear");

    /* attention, 2 heads of dim 1 over T = 2 tokens (scale 1/sqrt(1) = 1):
     * head 0: q = [1 0], k = [0 ln3], v = [4 8]. token 0 scores [0 ln3] ->
     * weights [1/4 3/4] -> 7; token 1 scores [0 0] -> 6.
     * head 1: q = [0 0] -> plain mean of v = [2 -2] -> 0 for both tokens.
     * qkv channels: q0 q1 k0 k1 v0 v1, each T = 2 long. */
    float l3 = logf(3.0f);
    float qkv[12] = {1, 0, 0, 0, 0, l3, 5, 5, 4, 8, 2, -2}, ao[4], scratch[2];
    md_tensor q = T(1, 6, 1, 2, qkv), a = T(1, 2, 1, 2, ao);
    md_ref_attention(&q, 2, MD_ATTN_ALL, scratch, &a);
    float wanta[4] = {7, 6, 0, 0};
    check_all(ao, wanta, 4, "attention");

    /* The same numbers laid out as 1 x 6 x 2 x 1 (two rows, one column) and
     * attended per column give the same answer; laid out as 1 x 6 x 1 x 2
     * (one row, two columns) each token is alone in its column, so the
     * output is its own v: head 0 [4 8], head 1 [2 -2]. */
    md_tensor qc = T(1, 6, 2, 1, qkv), ac = T(1, 2, 2, 1, ao);
    md_ref_attention(&qc, 2, MD_ATTN_COLUMNS, scratch, &ac);
    check_all(ao, wanta, 4, "attention per column, one column");
    md_ref_attention(&q, 2, MD_ATTN_COLUMNS, scratch, &a);
    float wantc[4] = {4, 8, 2, -2};
    check_all(ao, wantc, 4, "attention per column, one token each");
}

int main(void)
{
    test_conv2d();
    test_conv_transpose();
    test_resample();
    test_norms();
    test_pointwise();
    test_matrix();
    return md_test_finish();
}
