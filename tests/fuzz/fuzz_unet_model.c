/* libFuzzer target: a model file (safetensors + config JSON + mel contract +
 * every tensor shape) is either refused with an error or loads into a U-Net
 * on the CPU backend; never a crash, leak or out-of-bounds read. */
#include <stddef.h>
#include <stdint.h>

#include "core/safetensors.h"
#include "nn/ops.h"
#include "nn/unet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    md_ctx *ctx = NULL;
    if (md_ctx_create(&ctx)) return 0;
    md_ctx_set_log_level(ctx, MD_LOG_ERROR);
    md_nn *nn = NULL;
    md_st_file *f = NULL;
    if (md_nn_create_cpu(ctx, &nn) == MD_OK &&
        md_st_open_memory(ctx, data, size, "fuzz.safetensors", MD_ERR_MODEL, &f) == MD_OK) {
        md_unet *u = NULL;
        if (md_unet_load(nn, f, &u) == MD_OK) md_unet_destroy(u);
    }
    md_st_close(f);
    md_nn_destroy(nn);
    md_ctx_destroy(ctx);
    return 0;
}
