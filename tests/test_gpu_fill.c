/* The smallest end-to-end GPU path: embedded fill shader, one buffer, one
 * dispatch, download, with zero validation messages. */
#include "gpu_test_common.h"

typedef struct {
    uint32_t n;
    float value;
} fill_push;

static void fill_and_check(md_gpu *gpu, unsigned flags, uint32_t n, float value)
{
    md_gpu_buffer *buf = NULL;
    CHECK(md_gpu_buffer_create(gpu, (uint64_t)n * 4, flags, &buf) == MD_OK);
    md_gpu_kernel *k = gpu_test_kernel(gpu, "fill", 1, sizeof(fill_push), 64);
    if (!buf || !k) return;
    md_gpu_cmd *cmd = NULL;
    CHECK(md_gpu_cmd_begin(gpu, &cmd) == MD_OK);
    fill_push p = {n, value};
    md_gpu_binding b = {buf, 0, 0, MD_GPU_WRITE};
    md_gpu_dispatch d = {.kernel = k, .bindings = &b, .push = &p, .groups = {(n + 63) / 64, 1, 1}, .flops = n};
    CHECK(md_gpu_cmd_dispatch(cmd, &d) == MD_OK);
    CHECK(md_gpu_cmd_end(cmd) == MD_OK);
    CHECK_MSG(md_gpu_cmd_run(cmd) == MD_OK, "%s", md_ctx_error(md_gpu_ctx(gpu)));
    float *out = malloc((size_t)n * 4);
    CHECK(out && md_gpu_buffer_download(buf, 0, out, (uint64_t)n * 4) == MD_OK);
    uint32_t bad = 0;
    for (uint32_t i = 0; out && i < n; i++) bad += out[i] != value;
    CHECK_MSG(bad == 0, "%u of %u elements differ from %g", bad, n, value);
    free(out);
    md_gpu_cmd_destroy(cmd);
    md_gpu_buffer_destroy(buf);
}

/* Pipelines are built once per (shader, bindings, push size, spec
 * constants) and bad descriptions are refused with the right status. */
static void test_kernel_cache(md_gpu *gpu)
{
    md_gpu_kernel_desc d = {.shader = "fill", .n_bindings = 1, .push_size = 8, .n_spec = 1, .spec = {64}};
    md_gpu_kernel *a = NULL, *b = NULL, *c = NULL;
    CHECK(md_gpu_kernel_get(gpu, &d, &a) == MD_OK && a);
    CHECK(md_gpu_kernel_get(gpu, &d, &b) == MD_OK && b == a);
    d.spec[0] = 128;
    CHECK(md_gpu_kernel_get(gpu, &d, &c) == MD_OK && c && c != a);
    md_gpu_kernel_desc bad = d;
    bad.shader = "no_such_shader";
    CHECK(md_gpu_kernel_get(gpu, &bad, &c) == MD_ERR_INTERNAL && !c);
    bad = d;
    bad.push_size = 132;
    CHECK(md_gpu_kernel_get(gpu, &bad, &c) == MD_ERR_GPU && !c);
    bad.push_size = 6;
    CHECK(md_gpu_kernel_get(gpu, &bad, &c) == MD_ERR_GPU && !c);
    bad = d;
    bad.n_bindings = 0;
    CHECK(md_gpu_kernel_get(gpu, &bad, &c) == MD_ERR_USAGE && !c);
    bad = d;
    bad.n_spec = MD_GPU_MAX_SPEC + 1;
    CHECK(md_gpu_kernel_get(gpu, &bad, &c) == MD_ERR_USAGE && !c);
    /* Workgroup size read back from the SPIR-V after specialization. */
    uint32_t ls[3];
    md_gpu_kernel_local_size(a, ls);
    CHECK(ls[0] == 64 && ls[1] == 1 && ls[2] == 1);
    md_gpu_kernel_local_size(c ? c : a, ls);
    const md_gpu_limits *L = &md_gpu_get_caps(gpu)->limits;
    bad = d;
    bad.spec[0] = L->max_workgroup_invocations * 2; /* beyond what the device runs */
    c = NULL;
    CHECK(md_gpu_kernel_get(gpu, &bad, &c) == MD_ERR_GPU && !c);
    CHECK(strstr(md_ctx_error(md_gpu_ctx(gpu)), "maxComputeWorkGroup") != NULL);
    bad.spec[0] = 0;
    CHECK(md_gpu_kernel_get(gpu, &bad, &c) == MD_ERR_GPU && !c);
}

/* A 2-D workgroup from spec constants runs with the shape the runtime
 * reports: every invocation writes its flat local index. */
static void test_wg2d(md_gpu *gpu)
{
    md_gpu_kernel_desc d = {.shader = "rt_wg2d", .n_bindings = 1, .n_spec = 2, .spec = {8, 4}};
    md_gpu_kernel *k = NULL;
    CHECK(md_gpu_kernel_get(gpu, &d, &k) == MD_OK && k);
    uint32_t ls[3] = {0, 0, 0};
    if (k) md_gpu_kernel_local_size(k, ls);
    CHECK(ls[0] == 8 && ls[1] == 4 && ls[2] == 2);
    const uint32_t groups = 3, per = 64;
    md_gpu_buffer *b = NULL;
    md_gpu_cmd *cmd = NULL;
    CHECK(md_gpu_buffer_create(gpu, groups * per * 4, 0, &b) == MD_OK);
    CHECK(md_gpu_cmd_begin(gpu, &cmd) == MD_OK);
    md_gpu_binding bind = {b, 0, 0, MD_GPU_WRITE};
    md_gpu_dispatch dd = {.kernel = k, .bindings = &bind, .groups = {groups, 1, 1}};
    CHECK(k && cmd && md_gpu_cmd_dispatch(cmd, &dd) == MD_OK);
    CHECK(md_gpu_cmd_end(cmd) == MD_OK && md_gpu_cmd_run(cmd) == MD_OK);
    uint32_t out[3 * 64];
    CHECK(md_gpu_buffer_download(b, 0, out, sizeof out) == MD_OK);
    int bad = 0;
    for (uint32_t i = 0; i < groups * per; i++) bad += out[i] != i % per;
    CHECK_MSG(bad == 0, "%d invocations wrote unexpected local indices", bad);
    md_gpu_cmd_destroy(cmd);
    md_gpu_buffer_destroy(b);
}

int main(void)
{
    md_ctx *ctx;
    if (md_ctx_create(&ctx) != MD_OK) return 1;
    md_gpu *gpu = gpu_test_open(ctx, NULL);
    if (gpu) {
        const md_gpu_caps *c = md_gpu_get_caps(gpu);
        CHECK(c->limits.max_storage_buffer_range > 0);
        CHECK(c->limits.max_push_constants_size >= 128);
        CHECK(c->info.usable);
        fill_and_check(gpu, MD_GPU_BUFFER_DEVICE, 1000, 3.5f);
        fill_and_check(gpu, MD_GPU_BUFFER_HOST, 4097, -2.0f);
        fill_and_check(gpu, MD_GPU_BUFFER_DEVICE, 1, 7.0f);
        test_kernel_cache(gpu);
        test_wg2d(gpu);
        md_gpu_memory_stats st;
        md_gpu_memory_stats_get(gpu, &st);
        CHECK(st.live_buffers == 0);
    }
    gpu_test_close(gpu);
    md_ctx_destroy(ctx);
    return md_test_finish();
}
