/* melodiff nn — a U-Net model file as the renderer's denoiser
 * (render/denoiser.h): opens the model on Vulkan or on the CPU (its fast
 * OpenBLAS mode, or the reference) and answers predict_v one segment at a time,
 * predict_v_pair: both guided branches of a segment as one batch-2 forward, or
 * predict_v_batch: several stems' segments (and their branches) as one forward. */
#ifndef MD_NN_UNET_DENOISER_H
#define MD_NN_UNET_DENOISER_H

#include "nn/ops.h"
#include "render/denoiser.h"

typedef struct md_unet_denoiser_opts {
    const char *model_path;
    const char *backend; /* "vulkan"; "cpu" (the fast mode: OpenBLAS convolutions);
                            "cpu-ref" (the readable reference, ~7x slower: for
                            checking); "auto" / NULL: a Vulkan GPU when one opens,
                            else "cpu". A CPU Vulkan device (lavapipe) counts as no
                            GPU for auto unless device_index names it: the fast
                            CPU mode is ~9x faster than lavapipe on the same cores
                            (BENCHMARKS.md) */
    int device_index;    /* -1: md_gpu's automatic choice */
    int validation;      /* -1: from MELODIFF_VALIDATION */
    md_nn_precision precision; /* weight storage (docs/ops.md "Precision"); default AUTO.
                                  What was used lands in md_denoiser.precision */
} md_unet_denoiser_opts;

/* predict_v_batch takes at most this many segments; the GPU default of
 * stems per batch (md_denoiser.batch_hint) -- chosen, not yet measured on a
 * GPU (BENCHMARKS.md, "Stems in one batch"). */
#define MD_UNET_DENOISER_MAX_BATCH 32
#define MD_UNET_DENOISER_GPU_BATCH 8

void md_unet_denoiser_opts_init(md_unet_denoiser_opts *o);

/* Fills *out (destroy with md_denoiser_destroy). Model problems are
 * MD_ERR_MODEL, device problems with backend "vulkan" MD_ERR_GPU, an unknown
 * backend name MD_ERR_USAGE. */
md_status md_unet_denoiser_open(md_ctx *ctx, const md_unet_denoiser_opts *o, md_denoiser *out);

#endif
