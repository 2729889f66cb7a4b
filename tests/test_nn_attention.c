/* Multi-head self-attention: the streaming-softmax shader against the
 * reference's full score rows (different algorithms, same maths), over 1
 * token, odd token counts, head dims 1..64, and the whole block (qkv 1x1
 * projection, core, output projection with the residual fused). Tolerance in
 * test_nn_common.h (1e-3 absolute or relative, fp32). */
#include "test_nn_common.h"

static void run_core_axis(int n, int c, int h, int w, int heads, float range, md_attn_axis axis)
{
    char what[112];
    snprintf(what, sizeof what, "attention core N%d C%d %dx%d heads %d range %g %s", n, c, h, w, heads, (double)range,
             axis == MD_ATTN_COLUMNS ? "per column" : "all positions");
    nt_pair qkv = nt_rand_pair(n, 3 * c, h, w, -range, range);
    nt_pair y = nt_pair_alloc(n, c, h, w);
    NT_OK(md_nn_attention_core(nt.cpu, &qkv.c, heads, axis, &y.c),
          md_nn_attention_core(nt.dev, &qkv.g, heads, axis, &y.g), what);
    double err = nt_compare(&y, what);
    printf("%-70s max abs err %.2e\n", what, err);
    nt_free(&qkv);
    nt_free(&y);
}

static void run_core(int n, int c, int h, int w, int heads, float range)
{
    run_core_axis(n, c, h, w, heads, range, MD_ATTN_ALL);
    run_core_axis(n, c, h, w, heads, range, MD_ATTN_COLUMNS);
}

static void test_core(void)
{
    run_core(1, 1, 1, 1, 1, 1);      /* one token: output is v */
    run_core(1, 4, 1, 7, 4, 1);      /* head dim 1 */
    run_core(2, 16, 3, 5, 2, 2);     /* batch 2 */
    run_core(1, 64, 8, 16, 1, 1);    /* head dim 64, 128 tokens */
    run_core(1, 32, 4, 8, 4, 4);     /* peaky softmax: scores up to ~100 */
    run_core_axis(2, 32, 16, 9, 4, 1, MD_ATTN_COLUMNS); /* the U-Net's lowest level shape */
}

static void test_block(void)
{
    int n = 1, c = 32, h = 4, w = 16, heads = 4;
    nt_pair x = nt_rand_pair(n, c, h, w, -1, 1);
    nt_pair wqkv = nt_rand_pair(3 * c, c, 1, 1, -0.3f, 0.3f);
    nt_pair bqkv = nt_rand_pair(1, 3 * c, 1, 1, -0.1f, 0.1f);
    nt_pair wo = nt_rand_pair(c, c, 1, 1, -0.3f, 0.3f);
    nt_pair bo = nt_rand_pair(1, c, 1, 1, -0.1f, 0.1f);
    nt_pair qt = nt_pair_alloc(n, 3 * c, h, w), at = nt_pair_alloc(n, c, h, w), y = nt_pair_alloc(n, c, h, w);
    for (int style = MD_NN_CONV_REG; style <= MD_NN_CONV_TILED; style++) {
        md_nn_set_conv_style(nt.dev, (md_nn_conv_style)style);
        md_attn_axis axis = style == MD_NN_CONV_REG ? MD_ATTN_ALL : MD_ATTN_COLUMNS;
        NT_OK(md_nn_attention(nt.cpu, &x.c, &wqkv.c, &bqkv.c, &wo.c, &bo.c, heads, axis, &x.c, &qt.c, &at.c, &y.c),
              md_nn_attention(nt.dev, &x.g, &wqkv.g, &bqkv.g, &wo.g, &bo.g, heads, axis, &x.g, &qt.g, &at.g, &y.g),
              "attention block");
        nt_compare(&y, style == MD_NN_CONV_REG ? "attention block (reg conv, all positions)"
                                               : "attention block (tiled conv, per column)");
    }
    nt_free(&x);
    nt_free(&wqkv);
    nt_free(&bqkv);
    nt_free(&wo);
    nt_free(&bo);
    nt_free(&qt);
    nt_free(&at);
    nt_free(&y);
}

int main(void)
{
    nt_setup();
    test_core();
    test_block();
    return nt_finish();
}
