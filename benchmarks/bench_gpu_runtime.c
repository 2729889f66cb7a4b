/* bench_gpu_runtime: what the Vulkan runtime itself costs, apart from the
 * kernels.
 *
 *   bench_gpu_runtime [--ops N] [--reps N] [--elems N]
 *
 * 1. Replay vs re-record: a list of N small rt_add dispatches (a chain, so
 *    every dispatch needs a barrier) replayed R times, against recording,
 *    running and destroying the same list every time (what a runtime
 *    without replayable lists pays per sampler step).
 * 2. Barrier policy: N independent dispatches (distinct outputs: the
 *    hazard tracker inserts no barrier) against the same dispatches forced
 *    to serialize (all write one range: one barrier per dispatch, what a
 *    "barrier after every dispatch" policy does).
 * 3. Buffers: create+destroy of 1000 64 KiB buffers through the block
 *    sub-allocator against one vkAllocateMemory per buffer.
 * 4. Pipelines: building 11 kernels with an empty on-disk pipeline cache,
 *    then again with the cache the first pass saved.
 *
 * The Python peer (PyTorch eager, same chain of adds on the CPU) is
 * tools/bench/bench_gpu_runtime_torch.py. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <dirent.h>
#include <unistd.h>

#include "core/clock.h"
#include "gpu/internal.h"

typedef struct { uint32_t n; float scale; } add_push;

static int die(md_ctx *ctx, const char *what)
{
    fprintf(stderr, "bench_gpu_runtime: %s: %s\n", what, md_ctx_error(ctx));
    return 1;
}

/* chain: x_{i+1} = x_i + ones (two buffers ping-pong); independent: out_i = a + b
 * into distinct slices; serial: every dispatch writes the same slice. */
typedef enum { CHAIN, INDEPENDENT, SERIAL } shape;

static md_status record(md_gpu *gpu, md_gpu_kernel *k, md_gpu_buffer **buf, uint32_t elems, int ops, shape sh,
                        md_gpu_cmd **out)
{
    md_status s = md_gpu_cmd_begin(gpu, out);
    add_push p = {elems, 1.0f};
    uint64_t bytes = (uint64_t)elems * 4;
    for (int i = 0; i < ops && !s; i++) {
        md_gpu_binding b[3];
        if (sh == CHAIN) {
            b[0] = (md_gpu_binding){buf[i % 2], 0, bytes, MD_GPU_READ};
            b[1] = (md_gpu_binding){buf[2], 0, bytes, MD_GPU_READ};
            b[2] = (md_gpu_binding){buf[(i + 1) % 2], 0, bytes, MD_GPU_WRITE};
        } else {
            b[0] = (md_gpu_binding){buf[0], 0, bytes, MD_GPU_READ};
            b[1] = (md_gpu_binding){buf[2], 0, bytes, MD_GPU_READ};
            b[2] = (md_gpu_binding){buf[3], sh == INDEPENDENT ? (uint64_t)i * bytes : 0, bytes, MD_GPU_WRITE};
        }
        md_gpu_dispatch d = {.kernel = k, .bindings = b, .push = &p, .groups = {(elems + 63) / 64, 1, 1},
                             .flops = elems};
        s = md_gpu_cmd_dispatch(*out, &d);
    }
    if (!s) s = md_gpu_cmd_end(*out);
    return s;
}

static int bench_lists(md_gpu *gpu, md_gpu_kernel *k, uint32_t elems, int ops, int reps)
{
    md_ctx *ctx = md_gpu_ctx(gpu);
    md_gpu_buffer *buf[4] = {0};
    uint64_t bytes = (uint64_t)elems * 4;
    for (int i = 0; i < 4; i++)
        if (md_gpu_buffer_create(gpu, i == 3 ? bytes * (uint64_t)ops : bytes, 0, &buf[i]) ||
            md_gpu_buffer_zero(buf[i], 0, md_gpu_buffer_size(buf[i])))
            return die(ctx, "buffers");
    md_gpu_cmd *cmd;
    double t0 = md_clock_wall();
    if (record(gpu, k, buf, elems, ops, CHAIN, &cmd)) return die(ctx, "record");
    double t_rec = md_clock_wall() - t0;
    if (md_gpu_cmd_run(cmd)) return die(ctx, "warm-up");
    t0 = md_clock_wall();
    for (int r = 0; r < reps; r++)
        if (md_gpu_cmd_run(cmd)) return die(ctx, "replay");
    double t_replay = (md_clock_wall() - t0) / reps;
    md_gpu_cmd_stats st;
    md_gpu_cmd_stats_get(cmd, &st);
    md_gpu_cmd_destroy(cmd);
    t0 = md_clock_wall();
    for (int r = 0; r < reps; r++) {
        if (record(gpu, k, buf, elems, ops, CHAIN, &cmd) || md_gpu_cmd_run(cmd)) return die(ctx, "re-record");
        md_gpu_cmd_destroy(cmd);
    }
    double t_rerecord = (md_clock_wall() - t0) / reps;
    printf("chain of %d adds (%u elems), %u barriers:\n", ops, elems, st.barriers);
    printf("  record once             %8.3f ms  (%.2f us per dispatch)\n", t_rec * 1e3, t_rec * 1e6 / ops);
    printf("  replay                  %8.3f ms per run  (%.2f us per dispatch)\n", t_replay * 1e3, t_replay * 1e6 / ops);
    printf("  re-record every run     %8.3f ms per run  (%.2fx replay)\n", t_rerecord * 1e3, t_rerecord / t_replay);

    double t[2];
    uint32_t barriers[2];
    for (int v = 0; v < 2; v++) {
        if (record(gpu, k, buf, elems, ops, v == 0 ? INDEPENDENT : SERIAL, &cmd) || md_gpu_cmd_run(cmd))
            return die(ctx, "barrier case");
        t0 = md_clock_wall();
        for (int r = 0; r < reps; r++)
            if (md_gpu_cmd_run(cmd)) return die(ctx, "barrier case run");
        t[v] = (md_clock_wall() - t0) / reps;
        md_gpu_cmd_stats_get(cmd, &st);
        barriers[v] = st.barriers;
        md_gpu_cmd_destroy(cmd);
    }
    printf("%d independent adds: hazard-tracked %u barriers %8.3f ms; barrier per dispatch (%u) %8.3f ms (%.2fx)\n",
           ops, barriers[0], t[0] * 1e3, barriers[1], t[1] * 1e3, t[1] / t[0]);
    for (int i = 0; i < 4; i++) md_gpu_buffer_destroy(buf[i]);
    return 0;
}

static int bench_alloc(md_gpu *gpu)
{
    enum { NB = 1000 };
    const uint64_t size = 64 * 1024;
    md_gpu_buffer **b = calloc(NB, sizeof *b);
    VkBuffer *vb = calloc(NB, sizeof *vb);
    VkDeviceMemory *vm = calloc(NB, sizeof *vm);
    if (!b || !vb || !vm) return 1;
    double t0 = md_clock_wall();
    for (int i = 0; i < NB; i++)
        if (md_gpu_buffer_create(gpu, size, 0, &b[i])) return die(md_gpu_ctx(gpu), "buffer");
    for (int i = 0; i < NB; i++) md_gpu_buffer_destroy(b[i]);
    double t_sub = md_clock_wall() - t0;
    VkBufferCreateInfo bi = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = size,
                             .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    t0 = md_clock_wall();
    for (int i = 0; i < NB; i++) {
        VkMemoryRequirements req;
        if (gpu->vk.CreateBuffer(gpu->device, &bi, NULL, &vb[i]) != VK_SUCCESS) return 1;
        gpu->vk.GetBufferMemoryRequirements(gpu->device, vb[i], &req);
        VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = req.size,
                                   .memoryTypeIndex = gpu->pool_device.type_index};
        if (gpu->vk.AllocateMemory(gpu->device, &ai, NULL, &vm[i]) != VK_SUCCESS) return 1;
        gpu->vk.BindBufferMemory(gpu->device, vb[i], vm[i], 0);
    }
    for (int i = 0; i < NB; i++) {
        gpu->vk.DestroyBuffer(gpu->device, vb[i], NULL);
        gpu->vk.FreeMemory(gpu->device, vm[i], NULL);
    }
    double t_raw = md_clock_wall() - t0;
    printf("%d x 64 KiB buffers create+destroy: sub-allocator %.2f us each; vkAllocateMemory each %.2f us (%.1fx)\n", NB,
           t_sub * 1e6 / NB, t_raw * 1e6 / NB, t_raw / t_sub);
    free(b);
    free(vb);
    free(vm);
    return 0;
}

/* Pipeline creation for every nn_* and rt_* kernel the suite uses, with an
 * empty on-disk pipeline cache and then with the cache the first pass wrote. */
static int bench_pipeline_cache(md_ctx *ctx)
{
    static const char *const shaders[] = {"fill", "rt_add", "rt_accum", "nn_act", "nn_add", "nn_concat",
                                          "nn_film", "nn_linear", "nn_softmax", "nn_upsample2x", "nn_avgpool2"};
    char dir[] = "/tmp/md-bench-cache-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    double t[2] = {0, 0};
    size_t loaded = 0;
    int built = 0;
    for (int pass = 0; pass < 2; pass++) {
        md_gpu_options opt;
        md_gpu_options_init(&opt);
        opt.cache_dir = dir;
        md_gpu *gpu;
        if (md_gpu_create(ctx, &opt, &gpu)) return die(ctx, "gpu");
        loaded = md_gpu_pipeline_cache_loaded(gpu);
        double t0 = md_clock_wall();
        built = 0;
        for (size_t i = 0; i < sizeof shaders / sizeof shaders[0]; i++) {
            /* Binding counts differ per shader; the pipeline only needs a layout
             * that covers what the shader declares, so 8 bindings fit all. */
            md_gpu_kernel_desc kd = {.shader = shaders[i], .n_bindings = 8, .push_size = 64, .n_spec = 1,
                                     .spec = {64}};
            md_gpu_kernel *k;
            if (md_gpu_kernel_get(gpu, &kd, &k) == MD_OK) built++;
        }
        t[pass] = md_clock_wall() - t0;
        md_gpu_destroy(gpu);
    }
    printf("%d pipelines: cold cache %.1f ms, warm cache (%zu bytes loaded) %.1f ms (%.2fx)\n", built, t[0] * 1e3,
           loaded, t[1] * 1e3, t[0] / t[1]);
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        char path[512];
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d) closedir(d);
    return rmdir(dir) != 0;
}

int main(int argc, char **argv)
{
    long ops = 200, reps = 50, elems = 1024;
    static const struct option opts[] = {{"ops", required_argument, NULL, 'o'}, {"reps", required_argument, NULL, 'r'},
                                         {"elems", required_argument, NULL, 'e'}, {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        long *dst = c == 'o' ? &ops : c == 'r' ? &reps : c == 'e' ? &elems : NULL;
        if (!dst) return 2;
        *dst = strtol(optarg, NULL, 10);
        if (*dst <= 0 || *dst > 100000000) return 2;
    }
    md_ctx *ctx;
    if (md_ctx_create(&ctx) != MD_OK) return 1;
    md_gpu_options opt;
    md_gpu_options_init(&opt);
    md_gpu *gpu;
    if (md_gpu_create(ctx, &opt, &gpu)) return die(ctx, "gpu");
    const md_gpu_caps *caps = md_gpu_get_caps(gpu);
    printf("device: %s (%s), validation %s\n", caps->info.name, md_gpu_device_type_name(caps->type),
           md_gpu_validation_enabled(gpu) ? "ON (timings not meaningful)" : "off");
    md_gpu_kernel_desc kd = {.shader = "rt_add", .n_bindings = 3, .push_size = 8, .n_spec = 1, .spec = {64}};
    md_gpu_kernel *k;
    if (md_gpu_kernel_get(gpu, &kd, &k)) return die(ctx, "kernel");
    int rc = bench_lists(gpu, k, (uint32_t)elems, (int)ops, (int)reps);
    if (!rc) rc = bench_alloc(gpu);
    md_gpu_destroy(gpu);
    if (!rc) rc = bench_pipeline_cache(ctx);
    md_ctx_destroy(ctx);
    return rc;
}
