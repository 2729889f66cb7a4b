/* Shared by bench_nn_unet.c and bench_nn_unet_tiles.c: the input of a
 * benchmark pass and the timing loop, so both programs time the same thing
 * the same way. Header-only (static functions): benchmarks are one .c each. */
#ifndef MD_BENCH_UNET_COMMON_H
#define MD_BENCH_UNET_COMMON_H

#include <stdio.h>
#include <stdlib.h>

#include "core/clock.h"
#include "gpu/gpu.h"
#include "nn/unet.h"

/* The network input (in_channels x n_mels x frames) and embedding (emb_dim)
 * of one pass: a fixed pseudo-random x in [-1, 1) without conditioning,
 * t = 0.5, instrument 0. Caller frees *in and *emb (also on failure).
 * Returns 0 on success. */
static int bench_unet_input(md_unet *u, int frames, float **in, float **emb)
{
    const md_unet_config *c = md_unet_get_config(u);
    size_t plane = (size_t)c->n_mels * (size_t)frames;
    float *x = malloc(plane * sizeof *x);
    *in = malloc((size_t)c->in_channels * plane * sizeof **in);
    *emb = malloc((size_t)c->emb_dim * sizeof **emb);
    int rc = 1;
    if (x && *in && *emb) {
        for (size_t i = 0; i < plane; i++) x[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;
        float t = 0.5f;
        int inst = 0;
        rc = md_unet_input(u, 1, frames, x, NULL, NULL, NULL, *in) != MD_OK ||
             md_unet_embed(u, 1, &t, &inst, *emb) != MD_OK;
    }
    free(x);
    return rc;
}

/* One warm-up forward (it plans the buffers, records the graph and compiles
 * the pipelines), then reps timed ones; prints one line, the label padded to
 * label_width. gpu (NULL: none) has its profile reset after the warm-up, so
 * a profile covers the timed passes only: the warm-up's GPU times include
 * lavapipe compiling each pipeline on its first dispatch. Returns 0 on
 * success. */
static int bench_unet_time(md_unet *u, md_gpu *gpu, int frames, int reps, const float *in, const float *emb,
                           float *v, int label_width, const char *label)
{
    double w0 = md_clock_wall();
    if (md_unet_forward(u, 1, frames, in, emb, v) != MD_OK) return 1;
    if (gpu) md_gpu_profile_reset(gpu);
    double warm = md_clock_wall() - w0, best = 1e30, total = 0, c0 = md_clock_cpu();
    for (int r = 0; r < reps; r++) {
        double t0 = md_clock_wall();
        if (md_unet_forward(u, 1, frames, in, emb, v) != MD_OK) return 1;
        double dt = md_clock_wall() - t0;
        total += dt;
        if (dt < best) best = dt;
    }
    printf("%-*s frames %4d  first %8.1f ms  best %8.1f ms  mean %8.1f ms  cpu %8.1f ms/pass\n", label_width, label,
           frames, warm * 1e3, best * 1e3, total / reps * 1e3, (md_clock_cpu() - c0) / reps * 1e3);
    return 0;
}

#endif
