/* The op API's contract beyond numerics: shape and ownership errors are
 * refused with MD_ERR_USAGE and a one-line message on both backends, a
 * tensor larger than the device's largest storage binding is refused with
 * MD_ERR_LIMIT (never truncated), recorded GPU work can be replayed with new
 * inputs, and freeing a tensor runs the work still pending on it. */
#include "test_nn_common.h"

static int mentions(const char *needle)
{
    return strstr(md_ctx_error(nt.ctx), needle) != NULL;
}

static void test_shape_errors(void)
{
    md_nn *both[2] = {nt.cpu, nt.dev};
    for (int b = 0; b < 2; b++) {
        md_nn *nn = both[b];
        md_tensor x, w, y, wrong;
        CHECK(md_nn_tensor_alloc(nn, &x, 1, 4, 8, 8) == MD_OK);
        CHECK(md_nn_tensor_alloc(nn, &w, 6, 3, 3, 3) == MD_OK); /* 3 input channels, x has 4 */
        CHECK(md_nn_tensor_alloc(nn, &y, 1, 6, 8, 8) == MD_OK);
        CHECK(md_nn_tensor_alloc(nn, &wrong, 1, 6, 7, 8) == MD_OK);
        md_conv_params p = {.stride_h = 1, .stride_w = 1, .pad_h = 1, .pad_w = 1};
        CHECK(md_nn_conv2d(nn, &x, &w, NULL, NULL, NULL, &p, &y) == MD_ERR_USAGE);
        CHECK_MSG(mentions("conv2d") && mentions("4 channels"), "message: %s", md_ctx_error(nt.ctx));
        md_tensor w4;
        CHECK(md_nn_tensor_alloc(nn, &w4, 6, 4, 3, 3) == MD_OK);
        CHECK(md_nn_conv2d(nn, &x, &w4, NULL, NULL, NULL, &p, &wrong) == MD_ERR_USAGE);
        CHECK_MSG(mentions("1x6x7x8") && mentions("1x6x8x8"), "message: %s", md_ctx_error(nt.ctx));
        CHECK(md_nn_conv2d(nn, &x, &w4, NULL, NULL, NULL, &p, &x) == MD_ERR_USAGE); /* shape, then alias */
        p.stride_h = 0;
        CHECK(md_nn_conv2d(nn, &x, &w4, NULL, NULL, NULL, &p, &y) == MD_ERR_USAGE);
        md_norm_params np = {.groups = 3, .eps = 1e-5f};
        CHECK(md_nn_group_norm(nn, &x, NULL, NULL, NULL, &np, &x) == MD_ERR_USAGE); /* 4 % 3 */
        CHECK_MSG(mentions("3 groups"), "message: %s", md_ctx_error(nt.ctx));
        CHECK(md_nn_concat(nn, &x, &wrong, &y) == MD_ERR_USAGE);
        CHECK(md_nn_attention_core(nn, &x, 1, MD_ATTN_ALL, &y) == MD_ERR_USAGE); /* 4 channels is not 3C */
        CHECK(strchr(md_ctx_error(nt.ctx), '\n') == NULL);
        md_nn_tensor_free(nn, &x);
        md_nn_tensor_free(nn, &w);
        md_nn_tensor_free(nn, &w4);
        md_nn_tensor_free(nn, &y);
        md_nn_tensor_free(nn, &wrong);
    }
    /* a CPU tensor handed to the GPU backend */
    md_tensor hx, gy;
    CHECK(md_nn_tensor_alloc(nt.cpu, &hx, 1, 2, 3, 4) == MD_OK);
    CHECK(md_nn_tensor_alloc(nt.dev, &gy, 1, 2, 3, 4) == MD_OK);
    CHECK(md_nn_act(nt.dev, &hx, MD_ACT_SILU, 0, &gy) == MD_ERR_USAGE);
    CHECK_MSG(mentions("GPU backend"), "message: %s", md_ctx_error(nt.ctx));
    md_gpu_cmd *cmd = NULL;
    CHECK(md_nn_take_commands(nt.cpu, &cmd) == MD_ERR_USAGE && cmd == NULL);
    md_nn_tensor_free(nt.cpu, &hx);
    md_nn_tensor_free(nt.dev, &gy);
}

static void test_limits(void)
{
    md_tensor t;
    CHECK(md_nn_tensor_alloc(nt.dev, &t, 1, 0, 4, 4) == MD_ERR_USAGE);
    uint64_t range = md_gpu_get_caps(nt.gpu)->limits.max_storage_buffer_range;
    /* one row more than the largest binding holds */
    int w = 1024;
    uint64_t rows = range / (4ull * (uint64_t)w) + 1;
    /* Devices whose binding holds 2^31 elements or more hit the element cap
     * first (checked below on the CPU backend); lavapipe's is 128 MiB. */
    if (rows * (uint64_t)w <= INT32_MAX) {
        md_status s = md_nn_tensor_alloc(nt.dev, &t, 1, 1, (int)rows, w);
        CHECK_MSG(s == MD_ERR_LIMIT, "alloc beyond maxStorageBufferRange (%llu bytes) gave %d",
                  (unsigned long long)range, (int)s);
        CHECK_MSG(mentions("storage binding"), "message: %s", md_ctx_error(nt.ctx));
        CHECK(t.dev == NULL && t.n == 0);
    }
    CHECK(md_nn_tensor_alloc(nt.cpu, &t, 65536, 65536, 1, 1) == MD_ERR_LIMIT); /* > 2^31 elements */
}

/* Records y = silu(conv1x1(x)) + x once, then runs it for two inputs. */
static void test_replay(void)
{
    nt_pair x = nt_rand_pair(1, 3, 5, 6, -1, 1);
    nt_pair w = nt_rand_pair(3, 3, 1, 1, -1, 1);
    nt_pair h = nt_pair_alloc(1, 3, 5, 6), y = nt_pair_alloc(1, 3, 5, 6);
    md_conv_params p = {.stride_h = 1, .stride_w = 1, .ep = {.act = MD_ACT_SILU}};
    CHECK(md_nn_sync(nt.dev) == MD_OK);
    CHECK(md_nn_conv2d(nt.dev, &x.g, &w.g, NULL, NULL, NULL, &p, &h.g) == MD_OK);
    CHECK(md_nn_add(nt.dev, &h.g, &x.g, &y.g) == MD_OK);
    md_gpu_cmd *cmd = NULL;
    CHECK(md_nn_take_commands(nt.dev, &cmd) == MD_OK && cmd != NULL);
    for (int round = 0; round < 2 && cmd; round++) {
        size_t count = md_tensor_numel(&x.c);
        for (size_t i = 0; i < count; i++) x.c.host[i] = nt_rand() * (float)(round + 1);
        CHECK(md_nn_upload(nt.dev, &x.g, x.c.host) == MD_OK);
        CHECK(md_gpu_cmd_run(cmd) == MD_OK);
        CHECK(md_nn_conv2d(nt.cpu, &x.c, &w.c, NULL, NULL, NULL, &p, &h.c) == MD_OK);
        CHECK(md_nn_add(nt.cpu, &h.c, &x.c, &y.c) == MD_OK);
        nt_compare(&y, round ? "replay round 2" : "replay round 1");
    }
    md_gpu_cmd_destroy(cmd);
    md_gpu_cmd *none = (md_gpu_cmd *)&cmd;
    CHECK(md_nn_take_commands(nt.dev, &none) == MD_OK && none == NULL); /* nothing recorded */

    /* discarded work never runs: y keeps the replayed result */
    CHECK(md_nn_act(nt.dev, &x.g, MD_ACT_TANH, 0, &y.g) == MD_OK);
    md_nn_discard(nt.dev);
    CHECK(md_nn_sync(nt.dev) == MD_OK);
    nt_compare(&y, "discarded op did not run");

    /* free with work pending: the op must still have run with valid input */
    nt_pair a = nt_rand_pair(1, 3, 5, 6, -1, 1);
    CHECK(md_nn_act(nt.dev, &a.g, MD_ACT_TANH, 0, &y.g) == MD_OK);
    CHECK(md_nn_act(nt.cpu, &a.c, MD_ACT_TANH, 0, &y.c) == MD_OK);
    nt_free(&a);
    nt_compare(&y, "op pending while its input is freed");
    nt_free(&x);
    nt_free(&w);
    nt_free(&h);
    nt_free(&y);
}

int main(void)
{
    nt_setup();
    test_shape_errors();
    test_limits();
    test_replay();
    return nt_finish();
}
