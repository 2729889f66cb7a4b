/* Device enumeration and the choices made from it: at least one usable
 * device, a default pick, sane limits, and $MELODIFF_GPU_DISABLE reaching
 * the caps the op layer reads. */
#include <stdlib.h>

#include "gpu_test_common.h"

int main(void)
{
    md_ctx *ctx;
    if (md_ctx_create(&ctx) != MD_OK) return 1;
    md_gpu_device_info *list = NULL;
    int n = 0;
    md_status s = md_gpu_enumerate(ctx, &list, &n);
    CHECK_MSG(s == MD_OK, "%s", md_ctx_error(ctx));
    CHECK(n >= 1);
    int def = md_gpu_default_device(list, n);
    CHECK(def >= 0 && def < n);
    for (int i = 0; i < n; i++) {
        const md_gpu_device_info *d = &list[i];
        printf("[%d] %s (%s) driver %s, Vulkan %u.%u, storage range %llu MiB, subgroup %u\n", d->index, d->name,
               md_gpu_device_type_name(d->type), d->driver_name, d->api_version >> 22,
               (d->api_version >> 12) & 0x3ffu, (unsigned long long)(d->limits.max_storage_buffer_range >> 20),
               d->limits.subgroup_size);
        CHECK(d->index == i);
        CHECK(d->name[0] != '\0');
        CHECK(d->n_heaps >= 1 && d->heaps[0].size > 0);
        if (!d->usable) continue;
        CHECK(d->limits.max_storage_buffer_range >= (1u << 27) || d->limits.max_storage_buffer_range >= (1u << 20));
        CHECK(d->limits.max_memory_allocation_size >= (1ull << 30));
        CHECK(d->limits.max_workgroup_invocations >= 128);
        CHECK(d->limits.max_push_constants_size >= 128);
        /* enabled never claims more than found */
        CHECK(d->enabled.fp16_arith <= d->found.fp16_arith && d->enabled.coopmat <= d->found.coopmat);
    }
    /* The default device's caps follow MELODIFF_GPU_DISABLE. */
    const md_gpu_device_info *d = &list[def];
    const char *prev = getenv("MELODIFF_GPU_DISABLE");
    if (prev) { /* the run already disables features: the comparison below would not hold */
        printf("MELODIFF_GPU_DISABLE is set: skipping the caps comparison\n");
        free(list);
        md_ctx_destroy(ctx);
        return md_test_finish();
    }
    setenv("MELODIFF_GPU_DISABLE", "fp16,subgroup", 1);
    md_gpu *gpu = gpu_test_open(ctx, NULL);
    if (gpu) {
        const md_gpu_caps *c = md_gpu_get_caps(gpu);
        CHECK(c->info.index == def);
        CHECK(!c->features.fp16_storage && !c->features.fp16_arith && !c->features.subgroup_arith);
        CHECK(c->info.found.fp16_storage == d->found.fp16_storage);
        CHECK(c->prefer_shared_memory_tiling == (c->type != MD_GPU_DEVICE_CPU));
        if (c->type == MD_GPU_DEVICE_CPU) CHECK(c->unified_memory);
    }
    gpu_test_close(gpu);
    unsetenv("MELODIFF_GPU_DISABLE");
    /* Without the variable, what the driver offers is used. */
    gpu = gpu_test_open(ctx, NULL);
    if (gpu) {
        const md_gpu_caps *c = md_gpu_get_caps(gpu);
        CHECK(c->features.fp16_storage == d->found.fp16_storage);
        CHECK(c->features.subgroup_arith == d->found.subgroup_arith);
    }
    gpu_test_close(gpu);
    free(list);
    md_ctx_destroy(ctx);
    return md_test_finish();
}
