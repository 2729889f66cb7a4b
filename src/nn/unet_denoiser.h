/* melodiff nn — a U-Net model file as the renderer's denoiser
 * (render/denoiser.h): opens the model on Vulkan or on the CPU (its fast
 * OpenBLAS mode, or the reference) and answers predict_v one segment at a time, or predict_v_pair:
 * both guided branches of a segment as one batch-2 forward. */
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

void md_unet_denoiser_opts_init(md_unet_denoiser_opts *o);

/* Fills *out (destroy with md_denoiser_destroy). Model problems are
 * MD_ERR_MODEL, device problems with backend "vulkan" MD_ERR_GPU, an unknown
 * backend name MD_ERR_USAGE. */
md_status md_unet_denoiser_open(md_ctx *ctx, const md_unet_denoiser_opts *o, md_denoiser *out);

#endif
