/* Optional features really work when the caps say so (the runtime enabled
 * them at vkCreateDevice, or validation would complain), and are really off
 * when the quirk mechanism turns them off: fp16 storage, fp16 arithmetic,
 * subgroup arithmetic. */
#include <stdlib.h>

#include "gpu_test_common.h"

#define N 256u

/* IEEE half <-> float for the exactly representable values used here. */
static uint16_t to_half(float f)
{
    union { float f; uint32_t u; } v = {f};
    uint32_t sign = (v.u >> 16) & 0x8000u, exp = (v.u >> 23) & 0xffu, man = v.u & 0x7fffffu;
    if (exp == 0) return (uint16_t)sign;
    return (uint16_t)(sign | ((exp - 127 + 15) << 10) | (man >> 13));
}

static float from_half(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
    union { uint32_t u; float f; } v = {exp ? sign | ((exp - 15 + 127) << 23) | (man << 13) : sign};
    return v.f;
}

static float value(uint32_t i) { return (float)((int)(i % 64) - 32) * 0.25f; } /* exact in fp16 */

static md_status run(md_gpu *gpu, md_gpu_kernel *k, md_gpu_binding *b, uint32_t n)
{
    md_gpu_cmd *cmd;
    md_status s = md_gpu_cmd_begin(gpu, &cmd);
    md_gpu_dispatch d = {.kernel = k, .bindings = b, .push = &n, .groups = {n / 64, 1, 1}};
    if (!s) s = md_gpu_cmd_dispatch(cmd, &d);
    if (!s) s = md_gpu_cmd_end(cmd);
    if (!s) s = md_gpu_cmd_run(cmd);
    md_gpu_cmd_destroy(cmd);
    return s;
}

static void test_fp16_storage(md_gpu *gpu)
{
    md_gpu_kernel *k = gpu_test_kernel(gpu, "rt_f16_storage", 3, 4, 64);
    md_gpu_buffer *x, *y, *z;
    CHECK(md_gpu_buffer_create(gpu, N * 2, 0, &x) == MD_OK);
    CHECK(md_gpu_buffer_create(gpu, N * 4, 0, &y) == MD_OK);
    CHECK(md_gpu_buffer_create(gpu, N * 2, 0, &z) == MD_OK);
    uint16_t hx[N], hz[N];
    float fy[N];
    for (uint32_t i = 0; i < N; i++) hx[i] = to_half(value(i));
    CHECK(md_gpu_buffer_upload(x, 0, hx, sizeof hx) == MD_OK);
    md_gpu_binding b[3] = {{x, 0, 0, MD_GPU_READ}, {y, 0, 0, MD_GPU_WRITE}, {z, 0, 0, MD_GPU_WRITE}};
    CHECK(k && run(gpu, k, b, N) == MD_OK);
    CHECK(md_gpu_buffer_download(y, 0, fy, sizeof fy) == MD_OK);
    CHECK(md_gpu_buffer_download(z, 0, hz, sizeof hz) == MD_OK);
    int bad = 0;
    for (uint32_t i = 0; i < N; i++) bad += fy[i] != 2 * value(i) || from_half(hz[i]) != 2 * value(i);
    CHECK_MSG(bad == 0, "%d fp16 storage mismatches", bad);
    md_gpu_buffer_destroy(x);
    md_gpu_buffer_destroy(y);
    md_gpu_buffer_destroy(z);
}

static void test_fp16_arith(md_gpu *gpu)
{
    md_gpu_kernel *k = gpu_test_kernel(gpu, "rt_f16_arith", 2, 4, 64);
    md_gpu_buffer *x, *y;
    CHECK(md_gpu_buffer_create(gpu, N * 4, 0, &x) == MD_OK);
    CHECK(md_gpu_buffer_create(gpu, N * 4, 0, &y) == MD_OK);
    float fx[N], fy[N];
    for (uint32_t i = 0; i < N; i++) fx[i] = value(i);
    CHECK(md_gpu_buffer_upload(x, 0, fx, sizeof fx) == MD_OK);
    md_gpu_binding b[2] = {{x, 0, 0, MD_GPU_READ}, {y, 0, 0, MD_GPU_WRITE}};
    CHECK(k && run(gpu, k, b, N) == MD_OK);
    CHECK(md_gpu_buffer_download(y, 0, fy, sizeof fy) == MD_OK);
    int bad = 0;
    for (uint32_t i = 0; i < N; i++) bad += fy[i] != fx[i] * fx[i] + 1.0f; /* exact: <= 65 needs 11 bits */
    CHECK_MSG(bad == 0, "%d fp16 arithmetic mismatches", bad);
    md_gpu_buffer_destroy(x);
    md_gpu_buffer_destroy(y);
}

static void test_subgroup(md_gpu *gpu)
{
    uint32_t sg = md_gpu_get_caps(gpu)->limits.subgroup_size;
    md_gpu_kernel *k = gpu_test_kernel(gpu, "rt_subgroup", 3, 0, 64);
    md_gpu_buffer *x, *y, *z;
    CHECK(md_gpu_buffer_create(gpu, N * 4, 0, &x) == MD_OK);
    CHECK(md_gpu_buffer_create(gpu, N * 4, 0, &y) == MD_OK);
    CHECK(md_gpu_buffer_create(gpu, N * 4, 0, &z) == MD_OK);
    float fx[N], fy[N];
    uint32_t uz[N];
    for (uint32_t i = 0; i < N; i++) fx[i] = 1.0f;
    CHECK(md_gpu_buffer_upload(x, 0, fx, sizeof fx) == MD_OK);
    md_gpu_binding b[3] = {{x, 0, 0, MD_GPU_READ}, {y, 0, 0, MD_GPU_WRITE}, {z, 0, 0, MD_GPU_WRITE}};
    md_gpu_cmd *cmd;
    md_status s = md_gpu_cmd_begin(gpu, &cmd);
    md_gpu_dispatch d = {.kernel = k, .bindings = b, .groups = {N / 64, 1, 1}};
    if (!s && k) s = md_gpu_cmd_dispatch(cmd, &d);
    if (!s) s = md_gpu_cmd_end(cmd);
    if (!s) s = md_gpu_cmd_run(cmd);
    CHECK(s == MD_OK);
    md_gpu_cmd_destroy(cmd);
    CHECK(md_gpu_buffer_download(y, 0, fy, sizeof fy) == MD_OK);
    CHECK(md_gpu_buffer_download(z, 0, uz, sizeof uz) == MD_OK);
    /* A 64-wide workgroup holds whole subgroups when sg <= 64. */
    int bad = 0;
    for (uint32_t i = 0; i < N && sg <= 64; i++) bad += fy[i] != (float)sg || uz[i] != sg - 1;
    CHECK_MSG(bad == 0, "%d subgroup results disagree with subgroup size %u (first: sum %g, max id %u)", bad, sg,
              fy[0], uz[0]);
    md_gpu_buffer_destroy(x);
    md_gpu_buffer_destroy(y);
    md_gpu_buffer_destroy(z);
}

static void count_log(void *user, md_log_level level, const char *msg)
{
    (void)level;
    (void)msg;
    ++*(int *)user;
}

/* With fp16 arithmetic switched off, the device is created without
 * shaderFloat16, so merely building a pipeline that uses it is a
 * validation error: the switch is real, not just a flag in the caps. */
static void test_disabled_is_off(const md_gpu_caps *enabled_caps)
{
    if (!enabled_caps->info.found.fp16_arith) return;
    md_ctx *ctx;
    if (md_ctx_create(&ctx) != MD_OK) return;
    int lines = 0;
    md_ctx_set_log(ctx, count_log, &lines);
    const char *prev = getenv("MELODIFF_GPU_DISABLE");
    setenv("MELODIFF_GPU_DISABLE", "fp16-arith", 1);
    md_gpu_options opt;
    md_gpu_options_init(&opt);
    opt.validation = 1;
    opt.cache_dir = "";
    md_gpu *gpu = NULL;
    CHECK(md_gpu_create(ctx, &opt, &gpu) == MD_OK);
    if (gpu) {
        CHECK(!md_gpu_get_caps(gpu)->features.fp16_arith);
        md_gpu_kernel_desc d = {.shader = "rt_f16_arith", .n_bindings = 2, .push_size = 4, .n_spec = 1, .spec = {64}};
        md_gpu_kernel *k;
        md_gpu_kernel_get(gpu, &d, &k);
        CHECK_MSG(md_gpu_validation_count(gpu) > 0, "fp16 arithmetic shader accepted with shaderFloat16 off");
        md_gpu_destroy(gpu);
    }
    if (prev) setenv("MELODIFF_GPU_DISABLE", prev, 1);
    else unsetenv("MELODIFF_GPU_DISABLE");
    md_ctx_destroy(ctx);
}

int main(void)
{
    md_ctx *ctx;
    if (md_ctx_create(&ctx) != MD_OK) return 1;
    md_gpu *gpu = gpu_test_open(ctx, NULL);
    md_gpu_caps caps = {0};
    if (gpu) {
        caps = *md_gpu_get_caps(gpu);
        printf("fp16 storage %d, fp16 arith %d, subgroup arith %d (size %u)\n", caps.features.fp16_storage,
               caps.features.fp16_arith, caps.features.subgroup_arith, caps.limits.subgroup_size);
        if (caps.features.fp16_storage) test_fp16_storage(gpu);
        if (caps.features.fp16_arith) test_fp16_arith(gpu);
        if (caps.features.subgroup_arith) test_subgroup(gpu);
    }
    gpu_test_close(gpu);
    if (gpu) test_disabled_is_off(&caps);
    md_ctx_destroy(ctx);
    return md_test_finish();
}
