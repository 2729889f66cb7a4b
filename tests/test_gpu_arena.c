/* Activation arena planning: tensors whose lifetimes intersect never share
 * bytes, offsets are aligned, and the plan is close to the lower bound (the
 * largest sum of sizes live at one step). */
#include <stdint.h>
#include <stdlib.h>

#include "gpu/gpu.h"
#include "test_util.h"

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

static int plan_is_safe(const md_gpu_arena_item *it, size_t n, uint64_t total, uint64_t align)
{
    for (size_t i = 0; i < n; i++) {
        if (it[i].size && (it[i].offset % align || it[i].offset + it[i].size > total)) return 0;
        for (size_t j = i + 1; j < n; j++) {
            if (!it[i].size || !it[j].size) continue;
            int live_together = it[i].first <= it[j].last && it[j].first <= it[i].last;
            int share = it[i].offset < it[j].offset + it[j].size && it[j].offset < it[i].offset + it[i].size;
            if (live_together && share) {
                fprintf(stderr, "items %zu and %zu overlap\n", i, j);
                return 0;
            }
        }
    }
    return 1;
}

/* Peak of aligned live bytes over all steps: no plan can be smaller. */
static uint64_t lower_bound(const md_gpu_arena_item *it, size_t n, int steps, uint64_t align)
{
    uint64_t peak = 0;
    for (int t = 0; t < steps; t++) {
        uint64_t live = 0;
        for (size_t i = 0; i < n; i++)
            if (it[i].first <= t && t <= it[i].last) live += align_up(it[i].size, align);
        if (live > peak) peak = live;
    }
    return peak;
}

static void test_random(void)
{
    md_ctx *ctx;
    if (md_ctx_create(&ctx) != MD_OK) return;
    uint64_t seed = 12345;
    double worst = 1.0;
    for (int trial = 0; trial < 50; trial++) {
        size_t n = 10 + rng_next(&seed) % 120;
        int steps = 40;
        md_gpu_arena_item *it = calloc(n, sizeof *it);
        if (!it) break;
        for (size_t i = 0; i < n; i++) {
            it[i].size = 1 + rng_next(&seed) % 100000;
            it[i].first = (int)(rng_next(&seed) % steps);
            it[i].last = it[i].first + (int)(rng_next(&seed) % 6);
            if (it[i].last >= steps) it[i].last = steps - 1;
        }
        uint64_t total = 0;
        CHECK(md_gpu_arena_plan(ctx, it, n, 256, &total) == MD_OK);
        CHECK(plan_is_safe(it, n, total, 256));
        uint64_t lb = lower_bound(it, n, steps, 256);
        CHECK(total >= lb);
        double ratio = (double)total / (double)lb;
        if (ratio > worst) worst = ratio;
        free(it);
    }
    printf("worst plan / lower bound over 50 random graphs: %.3f\n", worst);
    CHECK_MSG(worst < 1.35, "plans are loose: %.3f x the lower bound", worst);
    md_ctx_destroy(ctx);
}

/* A U-Net-like pattern: a chain of activations plus long-lived skip
 * tensors. Greedy by size reaches the lower bound here. */
static void test_unet(void)
{
    md_ctx *ctx;
    if (md_ctx_create(&ctx) != MD_OK) return;
    enum { L = 4 };
    md_gpu_arena_item it[4 * L + 2];
    size_t n = 0;
    int step = 0;
    uint64_t size = 1 << 20;
    size_t skip[L];
    for (int l = 0; l < L; l++, size /= 2) { /* down: conv output kept as skip, then downsample */
        skip[l] = n;
        it[n++] = (md_gpu_arena_item){size, step, 0, 0}; /* last set on the way up */
        it[n++] = (md_gpu_arena_item){size / 2, step + 1, step + 2, 0};
        step += 2;
    }
    it[n++] = (md_gpu_arena_item){size, step, step + 1, 0}; /* bottleneck */
    step++;
    for (int l = L - 1; l >= 0; l--) {
        size *= 2;
        it[skip[l]].last = step + 1;                  /* concat reads the skip */
        it[n++] = (md_gpu_arena_item){size * 2, step + 1, step + 2, 0}; /* concat */
        it[n++] = (md_gpu_arena_item){size, step + 2, step + 3, 0};     /* conv */
        step += 2;
    }
    uint64_t total = 0;
    CHECK(md_gpu_arena_plan(ctx, it, n, 16, &total) == MD_OK);
    CHECK(plan_is_safe(it, n, total, 16));
    uint64_t lb = lower_bound(it, n, step + 4, 16), sum = 0;
    for (size_t i = 0; i < n; i++) sum += it[i].size;
    printf("unet-like: plan %llu bytes, lower bound %llu, no reuse %llu\n", (unsigned long long)total,
           (unsigned long long)lb, (unsigned long long)sum);
    CHECK(total <= lb + lb / 10);
    CHECK(total < sum);
    md_ctx_destroy(ctx);
}

static void test_errors(void)
{
    md_ctx *ctx;
    if (md_ctx_create(&ctx) != MD_OK) return;
    md_gpu_arena_item it[2] = {{100, 3, 1, 0}, {10, 0, 0, 0}};
    uint64_t total = 0;
    CHECK(md_gpu_arena_plan(ctx, it, 2, 16, &total) == MD_ERR_USAGE);
    it[0].last = 5;
    CHECK(md_gpu_arena_plan(ctx, it, 2, 24, &total) == MD_ERR_USAGE); /* not a power of two */
    CHECK(md_gpu_arena_plan(ctx, it, 0, 16, &total) == MD_OK && total == 0);
    md_gpu_arena_item huge[2] = {{UINT64_MAX - 8, 0, 1, 0}, {16, 0, 1, 0}};
    CHECK(md_gpu_arena_plan(ctx, huge, 2, 16, &total) == MD_ERR_LIMIT);
    md_gpu_arena_item z[2] = {{0, 0, 5, 7}, {64, 0, 5, 7}};
    CHECK(md_gpu_arena_plan(ctx, z, 2, 16, &total) == MD_OK && total == 64 && z[0].offset == 0);
    md_ctx_destroy(ctx);
}

int main(void)
{
    test_random();
    test_unet();
    test_errors();
    return md_test_finish();
}
