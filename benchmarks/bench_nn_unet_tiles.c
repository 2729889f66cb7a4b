/* bench_nn_unet_tiles: what tiling in time costs. One U-Net forward over
 * --frames frames, untiled and then tiled with an activation limit forced
 * so that the tile core is --core frames (src/nn/unet_tiles.c: each tile
 * also computes halo frames of context on each side, the cost measured
 * here), on the Vulkan backend (or --cpu).
 *
 *   bench_nn_unet_tiles --model M.safetensors [--frames 1024] [--core 256] [--reps 2] [--cpu]
 *
 * Prints the tiling, best and mean wall time per forward for both, the CPU
 * seconds per forward, and the largest difference between the two outputs. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_unet_common.h"
#include "gpu/gpu.h"
#include "nn/unet.h"
#include "nn/unet_internal.h"

static int bench(md_nn *nn, const char *model, int frames, int core, int reps)
{
    md_ctx *ctx = md_nn_ctx(nn);
    md_unet *u = NULL;
    if (md_unet_load_file(nn, model, &u) != MD_OK) {
        fprintf(stderr, "bench_nn_unet_tiles: %s\n", md_ctx_error(ctx));
        return 1;
    }
    const md_unet_config *c = md_unet_get_config(u);
    size_t plane = (size_t)c->n_mels * (size_t)frames;
    float *in = NULL, *emb = NULL;
    float *v0 = malloc(plane * sizeof *v0), *v1 = malloc(plane * sizeof *v1);
    int rc = 1;
    md_unet_tiling t;
    if (!v0 || !v1 || bench_unet_input(u, frames, &in, &emb)) goto done;
    if (md_unet_plan_tiles(u, 1, frames, &t) != MD_OK) goto done;
    printf("device limit %.1f MiB, untiled largest activation %.1f MiB\n", t.limit_bytes / 1048576.0,
           t.pass_bytes / 1048576.0);
    if (bench_unet_time(u, NULL, frames, reps, in, emb, v0, 9, "untiled")) goto done;
    md_unet_set_max_tensor_bytes(u, md_unet_largest_activation(u, 1, core + 2 * t.halo) * sizeof(float));
    if (md_unet_plan_tiles(u, 1, frames, &t) != MD_OK) goto done;
    printf("tiled: %d tiles, core %d, halo %d (radius %d), longest pass %d frames, limit %.1f MiB\n", t.n_tiles, t.core,
           t.halo, t.radius, t.longest, t.limit_bytes / 1048576.0);
    if (bench_unet_time(u, NULL, frames, reps, in, emb, v1, 9, "tiled")) goto done;
    double diff = 0;
    for (size_t i = 0; i < plane; i++) diff = fmax(diff, fabs((double)v1[i] - (double)v0[i]));
    printf("max |tiled - untiled| = %.3e\n", diff);
    rc = 0;
done:
    if (rc) fprintf(stderr, "bench_nn_unet_tiles: %s\n", md_ctx_error(ctx));
    free(in);
    free(v0);
    free(v1);
    free(emb);
    md_unet_destroy(u);
    return rc;
}

int main(int argc, char **argv)
{
    const char *model = NULL;
    int frames = 1024, core = 256, reps = 2, cpu = 0;
    static const struct option opts[] = {{"model", required_argument, 0, 'm'}, {"frames", required_argument, 0, 'f'},
                                         {"core", required_argument, 0, 'k'},  {"reps", required_argument, 0, 'r'},
                                         {"cpu", no_argument, 0, 'c'},         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    for (int o; (o = getopt_long(argc, argv, "m:f:k:r:ch", opts, NULL)) != -1;) {
        if (o == 'm') model = optarg;
        else if (o == 'f') frames = atoi(optarg);
        else if (o == 'k') core = atoi(optarg);
        else if (o == 'r') reps = atoi(optarg);
        else if (o == 'c') cpu = 1;
        else {
            printf("usage: bench_nn_unet_tiles --model M.safetensors [--frames 1024] [--core 256] [--reps 2] [--cpu]\n");
            return o == 'h' ? 0 : 2;
        }
    }
    if (!model || frames < 1 || core < 1 || reps < 1) {
        fprintf(stderr, "bench_nn_unet_tiles: --model is required; --frames, --core and --reps are positive\n");
        return 2;
    }
    md_ctx *ctx = NULL;
    if (md_ctx_create(&ctx) != MD_OK) return 1;
    md_gpu *gpu = NULL;
    md_nn *nn = NULL;
    int rc = 1;
    if (cpu) {
        if (md_nn_create_cpu(ctx, &nn) == MD_OK) rc = 0;
    } else {
        md_gpu_options o;
        md_gpu_options_init(&o);
        if (md_gpu_create(ctx, &o, &gpu) == MD_OK && md_nn_create_gpu(gpu, &nn) == MD_OK) {
            printf("device: %s\n", md_gpu_get_caps(gpu)->info.name);
            rc = 0;
        }
    }
    if (rc) fprintf(stderr, "bench_nn_unet_tiles: %s\n", md_ctx_error(ctx));
    else rc = bench(nn, model, frames, core, reps);
    md_nn_destroy(nn);
    md_gpu_destroy(gpu);
    md_ctx_destroy(ctx);
    return rc;
}
