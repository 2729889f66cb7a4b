/* GPU buffers on a device: many sizes through the block sub-allocator with
 * few vkAllocateMemory calls, data round trips (mapped and staged paths),
 * range checks, size limits that are refused rather than truncated, and a
 * binding right at maxStorageBufferRange. */
#include "gpu_test_common.h"

#define MIB (1ull << 20)

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void pattern(unsigned char *p, uint64_t n, uint32_t salt)
{
    for (uint64_t i = 0; i < n; i++) p[i] = (unsigned char)((i * 131u + salt * 7u) >> 3);
}

static void test_many_buffers(md_gpu *gpu)
{
    enum { NB = 120 };
    md_gpu_buffer *b[NB] = {0};
    uint64_t sizes[NB];
    uint64_t seed = 777;
    unsigned char *src = malloc(3 * MIB), *dst = malloc(3 * MIB);
    if (!src || !dst) {
        free(src);
        free(dst);
        return;
    }
    int created = 0, roundtrip_bad = 0;
    for (int i = 0; i < NB; i++) {
        sizes[i] = 1 + rng_next(&seed) % (i % 10 == 0 ? 3 * MIB : 64 * 1024);
        if (md_gpu_buffer_create(gpu, sizes[i], i % 7 == 0 ? MD_GPU_BUFFER_HOST : 0, &b[i]) != MD_OK) continue;
        created++;
        CHECK(md_gpu_buffer_size(b[i]) == sizes[i]);
        pattern(src, sizes[i], (uint32_t)i);
        if (md_gpu_buffer_upload(b[i], 0, src, sizes[i]) != MD_OK) roundtrip_bad++;
    }
    CHECK(created == NB);
    for (int i = 0; i < NB; i++) { /* read back after all writes: no buffer clobbered another */
        if (!b[i]) continue;
        pattern(src, sizes[i], (uint32_t)i);
        if (md_gpu_buffer_download(b[i], 0, dst, sizes[i]) != MD_OK || memcmp(src, dst, sizes[i])) roundtrip_bad++;
    }
    CHECK_MSG(roundtrip_bad == 0, "%d buffers lost their data", roundtrip_bad);
    md_gpu_memory_stats st;
    md_gpu_memory_stats_get(gpu, &st);
    printf("%llu buffers in %llu blocks (%.1f MiB), %llu vkAllocateMemory calls\n",
           (unsigned long long)st.live_buffers, (unsigned long long)st.blocks, (double)st.block_bytes / MIB,
           (unsigned long long)st.vk_allocations);
    CHECK(st.live_buffers == NB);
    CHECK_MSG(st.vk_allocations <= 8, "%llu device allocations for %d buffers", (unsigned long long)st.vk_allocations, NB);
    /* Free every other buffer, allocate again: holes are reused. */
    uint64_t before = st.vk_allocations;
    for (int i = 0; i < NB; i += 2) {
        md_gpu_buffer_destroy(b[i]);
        b[i] = NULL;
    }
    for (int i = 0; i < NB; i += 2)
        if (sizes[i] <= 64 * 1024) CHECK(md_gpu_buffer_create(gpu, sizes[i], 0, &b[i]) == MD_OK);
    md_gpu_memory_stats_get(gpu, &st);
    CHECK(st.vk_allocations == before);
    for (int i = 0; i < NB; i++) md_gpu_buffer_destroy(b[i]);
    md_gpu_memory_stats_get(gpu, &st);
    CHECK(st.live_buffers == 0 && st.used_bytes <= 8 * MIB); /* at most the staging buffer */
    CHECK(st.blocks <= 2); /* one empty block kept per pool */
    free(src);
    free(dst);
}

static void test_ranges(md_gpu *gpu)
{
    md_gpu_buffer *b;
    md_ctx *ctx = md_gpu_ctx(gpu);
    CHECK(md_gpu_buffer_create(gpu, 0, 0, &b) == MD_ERR_USAGE);
    CHECK(md_gpu_buffer_create(gpu, 1000, 0, &b) == MD_OK);
    float v[250] = {0};
    CHECK(md_gpu_buffer_upload(b, 4, v, 1000) == MD_ERR_USAGE);
    CHECK(strstr(md_ctx_error(ctx), "overruns") != NULL);
    CHECK(md_gpu_buffer_download(b, 1001, v, 0) == MD_ERR_USAGE);
    CHECK(md_gpu_buffer_upload(b, 996, v, 4) == MD_OK);
    for (int i = 0; i < 250; i++) v[i] = (float)i;
    CHECK(md_gpu_buffer_upload(b, 0, v, sizeof v) == MD_OK);
    CHECK(md_gpu_buffer_zero(b, 400, 200) == MD_OK);
    float w[250];
    CHECK(md_gpu_buffer_download(b, 0, w, sizeof w) == MD_OK);
    CHECK(w[99] == 99.0f && w[100] == 0.0f && w[149] == 0.0f && w[150] == 150.0f);
    md_gpu_buffer_destroy(b);
}

/* Sizes above what the device can give are refused with the limit named. */
static void test_limits(md_gpu *gpu)
{
    md_ctx *ctx = md_gpu_ctx(gpu);
    const md_gpu_limits *L = &md_gpu_get_caps(gpu)->limits;
    md_gpu_buffer *b = NULL;
    CHECK(md_gpu_buffer_create(gpu, L->max_memory_allocation_size + 4096, 0, &b) == MD_ERR_GPU && !b);
    CHECK_MSG(strstr(md_ctx_error(ctx), "maxMemoryAllocationSize") != NULL, "%s", md_ctx_error(ctx));
    CHECK(md_gpu_buffer_create(gpu, UINT64_MAX - 3, 0, &b) == MD_ERR_GPU && !b);

    /* A buffer just above maxStorageBufferRange: binding all of it is
     * refused; binding exactly the limit at an offset works end to end. */
    uint64_t range = L->max_storage_buffer_range;
    if (range > 512 * MIB) {
        printf("maxStorageBufferRange is %llu MiB: skipping the at-the-limit dispatch\n",
               (unsigned long long)(range / MIB));
        return;
    }
    uint64_t extra = 64 * 1024;
    CHECK(md_gpu_buffer_create(gpu, range + extra, 0, &b) == MD_OK);
    md_gpu_kernel *k = gpu_test_kernel(gpu, "fill", 1, 8, 1024);
    if (!b || !k) return;
    md_gpu_cmd *cmd;
    CHECK(md_gpu_cmd_begin(gpu, &cmd) == MD_OK);
    struct { uint32_t n; float v; } p = {(uint32_t)(range / 4), 2.5f};
    md_gpu_binding bind = {b, 0, 0, MD_GPU_WRITE};
    md_gpu_dispatch d = {.kernel = k, .bindings = &bind, .push = &p, .groups = {(uint32_t)(range / 4 / 1024), 1, 1}};
    CHECK(md_gpu_cmd_dispatch(cmd, &d) == MD_ERR_GPU);
    CHECK_MSG(strstr(md_ctx_error(ctx), "maxStorageBufferRange") != NULL, "%s", md_ctx_error(ctx));
    bind.offset = extra;
    bind.range = range;
    CHECK(md_gpu_cmd_dispatch(cmd, &d) == MD_OK);
    CHECK(md_gpu_cmd_end(cmd) == MD_OK);
    CHECK(md_gpu_cmd_run(cmd) == MD_OK);
    float first = 0, last = 0, before = -1;
    CHECK(md_gpu_buffer_download(b, extra, &first, 4) == MD_OK);
    CHECK(md_gpu_buffer_download(b, extra + range - 4, &last, 4) == MD_OK);
    CHECK(md_gpu_buffer_download(b, extra - 4, &before, 4) == MD_OK);
    CHECK(first == 2.5f && last == 2.5f);
    CHECK(before != 2.5f); /* bytes outside the binding untouched */
    /* The user may destroy a buffer a live command list still uses: it is
     * freed with the list, and the list still runs meanwhile. */
    md_gpu_buffer_destroy(b);
    CHECK(md_gpu_cmd_run(cmd) == MD_OK);
    md_gpu_cmd_destroy(cmd);
    md_gpu_memory_stats st;
    md_gpu_memory_stats_get(gpu, &st);
    CHECK(st.live_buffers == 0);
}

/* Views into one arena buffer at offsets from md_gpu_arena_plan: data goes
 * to the right bytes, tensors whose lifetimes do not meet share bytes, and
 * the recorder orders accesses through different views of the same bytes. */
static void test_views(md_gpu *gpu)
{
    enum { N = 1024 };
    const uint64_t align = md_gpu_get_caps(gpu)->limits.min_storage_buffer_offset_alignment;
    md_gpu_arena_item it[3] = {{N * 4, 0, 1, 0}, {N * 4, 1, 2, 0}, {N * 4, 2, 3, 0}};
    uint64_t total = 0;
    CHECK(md_gpu_arena_plan(md_gpu_ctx(gpu), it, 3, align > 16 ? align : 16, &total) == MD_OK);
    CHECK(it[2].offset == it[0].offset && it[1].offset != it[0].offset); /* t2 reuses t0's bytes */
    md_gpu_buffer *arena = NULL, *v[3] = {0};
    CHECK(md_gpu_buffer_create(gpu, total, 0, &arena) == MD_OK);
    if (!arena) return;
    for (int i = 0; i < 3; i++) CHECK(md_gpu_buffer_view(arena, it[i].offset, it[i].size, &v[i]) == MD_OK);
    CHECK(md_gpu_buffer_size(v[1]) == N * 4);
    md_gpu_buffer *bad = NULL;
    CHECK(md_gpu_buffer_view(arena, total - 16, 32, &bad) == MD_ERR_USAGE && !bad);
    if (align > 1) CHECK(md_gpu_buffer_view(arena, 1, 16, &bad) == MD_ERR_USAGE && !bad);

    md_gpu_kernel *fill = gpu_test_kernel(gpu, "fill", 1, 8, 64);
    md_gpu_kernel *add = gpu_test_kernel(gpu, "rt_add", 3, 8, 64);
    md_gpu_cmd *cmd = NULL;
    CHECK(md_gpu_cmd_begin(gpu, &cmd) == MD_OK);
    if (!fill || !add || !cmd || !v[0] || !v[1] || !v[2]) return;
    struct { uint32_t n; float x; } one = {N, 1.0f}, nine = {N, 9.0f}, scale = {N, 1.0f};
    md_gpu_binding b0 = {v[0], 0, 0, MD_GPU_WRITE};
    md_gpu_binding b1[3] = {{v[0], 0, 0, MD_GPU_READ}, {v[0], 0, 0, MD_GPU_READ}, {v[1], 0, 0, MD_GPU_WRITE}};
    md_gpu_binding b2 = {v[2], 0, 0, MD_GPU_WRITE};
    md_gpu_dispatch d0 = {.kernel = fill, .bindings = &b0, .push = &one, .groups = {N / 64, 1, 1}};
    md_gpu_dispatch d1 = {.kernel = add, .bindings = b1, .push = &scale, .groups = {N / 64, 1, 1}};
    md_gpu_dispatch d2 = {.kernel = fill, .bindings = &b2, .push = &nine, .groups = {N / 64, 1, 1}};
    CHECK(md_gpu_cmd_dispatch(cmd, &d0) == MD_OK);
    CHECK(md_gpu_cmd_dispatch(cmd, &d1) == MD_OK); /* RAW through v0 */
    CHECK(md_gpu_cmd_dispatch(cmd, &d2) == MD_OK); /* WAR: v2 overwrites the bytes v0 read */
    CHECK(md_gpu_cmd_end(cmd) == MD_OK);
    md_gpu_cmd_stats st;
    md_gpu_cmd_stats_get(cmd, &st);
    CHECK_MSG(st.barriers == 2, "%u barriers through views, want 2", st.barriers);
    /* The user may drop the arena and the views while the list holds them. */
    md_gpu_buffer_destroy(arena);
    CHECK(md_gpu_cmd_run(cmd) == MD_OK);
    float a[N], b[N], c[N];
    CHECK(md_gpu_buffer_download(v[1], 0, b, sizeof b) == MD_OK);
    CHECK(md_gpu_buffer_download(v[2], 0, c, sizeof c) == MD_OK);
    CHECK(md_gpu_buffer_download(v[0], 0, a, sizeof a) == MD_OK);
    int bad_n = 0;
    for (int i = 0; i < N; i++) bad_n += b[i] != 2.0f || c[i] != 9.0f || a[i] != 9.0f;
    CHECK_MSG(bad_n == 0, "%d wrong elements through views", bad_n);
    /* Uploads through a view of a view land at the summed offset. */
    md_gpu_buffer *vv = NULL;
    CHECK(md_gpu_buffer_view(v[1], 16, 64, &vv) == MD_OK);
    float x[16];
    for (int i = 0; i < 16; i++) x[i] = -1.0f - (float)i;
    CHECK(vv && md_gpu_buffer_upload(vv, 0, x, sizeof x) == MD_OK);
    CHECK(md_gpu_buffer_download(v[1], 0, b, 32 * 4) == MD_OK);
    CHECK(b[3] == 2.0f && b[4] == -1.0f && b[19] == -16.0f && b[20] == 2.0f);
    CHECK(vv && md_gpu_buffer_zero(vv, 4, 8) == MD_OK);
    CHECK(md_gpu_buffer_download(v[1], 0, b, 32 * 4) == MD_OK);
    CHECK(b[4] == -1.0f && b[5] == 0.0f && b[6] == 0.0f && b[7] == -4.0f);
    md_gpu_buffer_destroy(vv);
    md_gpu_cmd_destroy(cmd);
    for (int i = 0; i < 3; i++) md_gpu_buffer_destroy(v[i]);
    md_gpu_memory_stats ms;
    md_gpu_memory_stats_get(gpu, &ms);
    CHECK(ms.live_buffers == 0); /* the arena went with its last view */
}

int main(void)
{
    md_ctx *ctx;
    if (md_ctx_create(&ctx) != MD_OK) return 1;
    md_gpu *gpu = gpu_test_open(ctx, NULL);
    if (gpu) {
        test_many_buffers(gpu);
        test_ranges(gpu);
        test_limits(gpu);
        test_views(gpu);
    }
    gpu_test_close(gpu);
    /* Again through the staging path a discrete GPU takes. */
    md_gpu_options opt;
    md_gpu_options_init(&opt);
    opt.force_staging = 1;
    gpu = gpu_test_open(ctx, &opt);
    if (gpu) {
        test_many_buffers(gpu);
        test_ranges(gpu);
        test_views(gpu);
    }
    gpu_test_close(gpu);
    md_ctx_destroy(ctx);
    return md_test_finish();
}
