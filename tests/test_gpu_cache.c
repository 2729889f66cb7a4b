/* Pipeline cache on disk: written at destroy, accepted by the next handle,
 * rejected (and rewritten) when its header names another device or driver
 * build or is truncated; "" disables it. */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpu_test_common.h"
#include "gpu/internal.h"

#define DIR MD_TEST_TMP "/gpu-cache"

static md_gpu *open_with_kernel(md_ctx *ctx, const char *dir)
{
    md_gpu_options opt;
    md_gpu_options_init(&opt);
    opt.cache_dir = dir;
    md_gpu *gpu = gpu_test_open(ctx, &opt);
    if (gpu) gpu_test_kernel(gpu, "rt_add", 3, 8, 64);
    return gpu;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static int rewrite(const char *path, long keep, long flip_at)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    unsigned char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    if (keep >= 0 && (size_t)keep < n) n = (size_t)keep;
    if (flip_at >= 0 && (size_t)flip_at < n) buf[flip_at] ^= 0x5a;
    f = fopen(path, "wb");
    if (!f) return 0;
    int ok = fwrite(buf, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

int main(void)
{
    md_ctx *ctx;
    if (md_ctx_create(&ctx) != MD_OK) return 1;
    char path[512];
    md_gpu *gpu = open_with_kernel(ctx, DIR);
    if (!gpu) return md_test_finish();
    const md_gpu_caps *c = md_gpu_get_caps(gpu);
    snprintf(path, sizeof path, DIR "/pipelines-%04x-%08x.bin", c->info.vendor_id, c->info.device_id);
    gpu_test_close(gpu);
    unlink(path);

    gpu = open_with_kernel(ctx, DIR); /* no file yet */
    CHECK(gpu && md_gpu_pipeline_cache_loaded(gpu) == 0);
    gpu_test_close(gpu);
    long size = file_size(path);
    CHECK_MSG(size >= 32, "no pipeline cache written at %s", path);

    gpu = open_with_kernel(ctx, DIR); /* round trip */
    CHECK(gpu && (long)md_gpu_pipeline_cache_loaded(gpu) == size);
    gpu_test_close(gpu);

    CHECK(rewrite(path, -1, 20)); /* a byte of pipelineCacheUUID */
    gpu = open_with_kernel(ctx, DIR);
    CHECK(gpu && md_gpu_pipeline_cache_loaded(gpu) == 0);
    gpu_test_close(gpu);
    CHECK(file_size(path) == size); /* rewritten whole */

    CHECK(rewrite(path, -1, 8)); /* vendor id */
    gpu = open_with_kernel(ctx, DIR);
    CHECK(gpu && md_gpu_pipeline_cache_loaded(gpu) == 0);
    gpu_test_close(gpu);

    CHECK(rewrite(path, 20, -1)); /* truncated inside the header */
    gpu = open_with_kernel(ctx, DIR);
    CHECK(gpu && md_gpu_pipeline_cache_loaded(gpu) == 0);
    gpu_test_close(gpu);
    CHECK(file_size(path) == size);

    unlink(path);
    gpu = open_with_kernel(ctx, ""); /* disabled */
    CHECK(gpu && md_gpu_pipeline_cache_loaded(gpu) == 0);
    gpu_test_close(gpu);
    CHECK(file_size(path) == -1);
    md_ctx_destroy(ctx);
    return md_test_finish();
}
