/* Failures become errors, never crashes or hangs: an injected allocation
 * failure, an injected VK_ERROR_DEVICE_LOST (on a run and on a staged
 * transfer), a wait that times out, and a bad device choice. Every handle
 * is still torn down cleanly, without validation messages or live buffers. */
#include <stdio.h>
#include <stdlib.h>

#include "gpu_test_common.h"

typedef struct { uint32_t n; float value; } fill_push;

static md_status record_fill(md_gpu *gpu, md_gpu_buffer *b, uint32_t n, int repeats, md_gpu_cmd **cmd)
{
    md_gpu_kernel *k = gpu_test_kernel(gpu, "fill", 1, sizeof(fill_push), 256);
    if (!k) return MD_ERR_INTERNAL;
    md_status s = md_gpu_cmd_begin(gpu, cmd);
    fill_push p = {n, 1.0f};
    md_gpu_binding bind = {b, 0, 0, MD_GPU_WRITE};
    md_gpu_dispatch d = {.kernel = k, .bindings = &bind, .push = &p, .groups = {(n + 255) / 256, 1, 1}};
    for (int i = 0; i < repeats && !s; i++) s = md_gpu_cmd_dispatch(*cmd, &d);
    if (!s) s = md_gpu_cmd_end(*cmd);
    return s;
}

static void test_alloc_fail(md_ctx *ctx)
{
    md_gpu *gpu = gpu_test_open(ctx, NULL);
    if (!gpu) return;
    md_gpu_buffer *b[4] = {0};
    md_gpu_inject_fault(gpu, MD_GPU_FAULT_ALLOC_FAIL, 2);
    CHECK(md_gpu_buffer_create(gpu, 4096, 0, &b[0]) == MD_OK);
    CHECK(md_gpu_buffer_create(gpu, 4096, 0, &b[1]) == MD_OK);
    CHECK(md_gpu_buffer_create(gpu, 4096, 0, &b[2]) == MD_ERR_GPU && b[2] == NULL);
    CHECK_MSG(strstr(md_ctx_error(ctx), "out of GPU memory") != NULL, "%s", md_ctx_error(ctx));
    CHECK(md_gpu_buffer_create(gpu, 4096, 0, &b[3]) == MD_OK); /* one shot: the next one works */
    for (int i = 0; i < 4; i++) md_gpu_buffer_destroy(b[i]);
    md_gpu_memory_stats st;
    md_gpu_memory_stats_get(gpu, &st);
    CHECK(st.live_buffers == 0);
    gpu_test_close(gpu);
}

static void test_device_lost_on_run(md_ctx *ctx)
{
    md_gpu *gpu = gpu_test_open(ctx, NULL);
    if (!gpu) return;
    md_gpu_buffer *b = NULL;
    md_gpu_cmd *cmd = NULL;
    CHECK(md_gpu_buffer_create(gpu, 4096 * 4, 0, &b) == MD_OK);
    CHECK(b && record_fill(gpu, b, 4096, 1, &cmd) == MD_OK);
    md_gpu_inject_fault(gpu, MD_GPU_FAULT_DEVICE_LOST, 1);
    CHECK(md_gpu_cmd_run(cmd) == MD_OK);
    CHECK(md_gpu_cmd_run(cmd) == MD_ERR_GPU);
    CHECK_MSG(strstr(md_ctx_error(ctx), "VK_ERROR_DEVICE_LOST") != NULL, "%s", md_ctx_error(ctx));
    /* Lost is sticky: everything after fails with a GPU error, nothing hangs. */
    CHECK(md_gpu_cmd_run(cmd) == MD_ERR_GPU);
    md_gpu_buffer *b2 = NULL;
    CHECK(md_gpu_buffer_create(gpu, 64, 0, &b2) == MD_ERR_GPU && !b2);
    float x;
    CHECK(md_gpu_buffer_download(b, 0, &x, 4) == MD_ERR_GPU);
    md_gpu_cmd *cmd2 = NULL;
    CHECK(md_gpu_cmd_begin(gpu, &cmd2) == MD_ERR_GPU && !cmd2);
    md_gpu_cmd_destroy(cmd);
    md_gpu_buffer_destroy(b);
    gpu_test_close(gpu);
}

static void test_device_lost_on_transfer(md_ctx *ctx)
{
    md_gpu_options opt;
    md_gpu_options_init(&opt);
    opt.force_staging = 1;
    md_gpu *gpu = gpu_test_open(ctx, &opt);
    if (!gpu) return;
    md_gpu_buffer *b = NULL;
    CHECK(md_gpu_buffer_create(gpu, 1024, 0, &b) == MD_OK);
    float v[256] = {0};
    md_gpu_inject_fault(gpu, MD_GPU_FAULT_DEVICE_LOST, 0);
    CHECK(b && md_gpu_buffer_upload(b, 0, v, sizeof v) == MD_ERR_GPU);
    CHECK(strstr(md_ctx_error(ctx), "lost") != NULL);
    md_gpu_buffer_destroy(b);
    gpu_test_close(gpu);
}

/* A run that outlasts a 1 ms timeout returns an error instead of blocking;
 * teardown then waits for the queued work before freeing anything. */
static void test_timeout(md_ctx *ctx)
{
    md_gpu_options opt;
    md_gpu_options_init(&opt);
    opt.timeout_ms = 1;
    md_gpu *gpu = gpu_test_open(ctx, &opt);
    if (!gpu) return;
    /* 32 MiB written 8 times takes lavapipe tens of ms, but an H100 only
     * ~0.1 ms (3 TB/s, measured 2026-11-25): a real GPU writes it 1024 times
     * (32 GiB, ~11 ms there, longer on any slower card). */
    const uint32_t n = 8u << 20;
    const int repeats = md_gpu_get_caps(gpu)->type == MD_GPU_DEVICE_CPU ? 8 : 1024;
    md_gpu_buffer *b = NULL;
    md_gpu_cmd *cmd = NULL;
    CHECK(md_gpu_buffer_create(gpu, (uint64_t)n * 4, 0, &b) == MD_OK);
    CHECK(b && record_fill(gpu, b, n, repeats, &cmd) == MD_OK);
    md_status s = cmd ? md_gpu_cmd_run(cmd) : MD_ERR_INTERNAL;
    CHECK_MSG(s == MD_ERR_GPU, "a long run finished within 1 ms: %s", md_ctx_error(ctx));
    CHECK(strstr(md_ctx_error(ctx), "did not finish") != NULL);
    CHECK(md_gpu_cmd_run(cmd) == MD_ERR_GPU); /* the handle is unusable, not stuck */
    md_gpu_cmd_destroy(cmd);
    md_gpu_buffer_destroy(b);
    gpu_test_close(gpu);
}

static void test_bad_device(md_ctx *ctx)
{
    const char *env = getenv("MELODIFF_DEVICE");
    char prev[32] = "";
    if (env) snprintf(prev, sizeof prev, "%s", env);
    md_gpu_options opt;
    md_gpu_options_init(&opt);
    opt.device_index = 999;
    md_gpu *gpu = NULL;
    CHECK(md_gpu_create(ctx, &opt, &gpu) == MD_ERR_GPU && !gpu);
    CHECK(strstr(md_ctx_error(ctx), "999") != NULL);
    opt.device_index = -1;
    setenv("MELODIFF_DEVICE", "banana", 1);
    CHECK(md_gpu_create(ctx, &opt, &gpu) == MD_ERR_USAGE && !gpu);
    setenv("MELODIFF_DEVICE", env ? prev : "0", 1);
    gpu = gpu_test_open(ctx, &opt);
    CHECK(gpu && md_gpu_get_caps(gpu)->info.index == (env ? atoi(prev) : 0));
    gpu_test_close(gpu);
    if (env) setenv("MELODIFF_DEVICE", prev, 1); /* a run pinned to another device stays pinned */
    else unsetenv("MELODIFF_DEVICE");
}

/* No loader, or a library that is not one: MD_ERR_GPU naming it, no crash. */
static void test_no_loader(md_ctx *ctx)
{
    const char *env = getenv("MELODIFF_VULKAN_LIBRARY");
    char prev[512] = "";
    if (env) snprintf(prev, sizeof prev, "%s", env);
    md_gpu *gpu = NULL;
    setenv("MELODIFF_VULKAN_LIBRARY", MD_TEST_TMP "/no-such-libvulkan.so.1", 1);
    CHECK(md_gpu_create(ctx, NULL, &gpu) == MD_ERR_GPU && !gpu);
    CHECK_MSG(strstr(md_ctx_error(ctx), "loader") != NULL, "%s", md_ctx_error(ctx));
    md_gpu_device_info *list = NULL;
    int n = -1;
    CHECK(md_gpu_enumerate(ctx, &list, &n) == MD_ERR_GPU && !list && n == 0);
    setenv("MELODIFF_VULKAN_LIBRARY", "libm.so.6", 1);
    CHECK(md_gpu_create(ctx, NULL, &gpu) == MD_ERR_GPU && !gpu);
    CHECK_MSG(strstr(md_ctx_error(ctx), "not a Vulkan loader") != NULL, "%s", md_ctx_error(ctx));
    if (env) setenv("MELODIFF_VULKAN_LIBRARY", prev, 1);
    else unsetenv("MELODIFF_VULKAN_LIBRARY");
}

int main(void)
{
    md_ctx *ctx;
    if (md_ctx_create(&ctx) != MD_OK) return 1;
    test_alloc_fail(ctx);
    test_device_lost_on_run(ctx);
    test_device_lost_on_transfer(ctx);
    test_timeout(ctx);
    test_bad_device(ctx);
    test_no_loader(ctx);
    /* Destroying nothing is a no-op everywhere. */
    md_gpu_cmd_destroy(NULL);
    md_gpu_buffer_destroy(NULL);
    md_gpu_destroy(NULL);
    md_ctx_destroy(ctx);
    return md_test_finish();
}
