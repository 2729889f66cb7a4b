/* libFuzzer target: the safetensors reader must refuse or accept any bytes
 * without reading out of bounds, and accepted tensors must lie in bounds. */
#include <stddef.h>
#include <stdint.h>

#include "core/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    md_ctx *ctx = NULL;
    if (md_ctx_create(&ctx)) return 0;
    md_st_file *f = NULL;
    if (md_st_open_memory(ctx, data, size, "fuzz", MD_ERR_MODEL, &f) == MD_OK) {
        volatile uint8_t sink = 0;
        for (size_t i = 0; i < md_st_count(f); i++) {
            const md_st_tensor *t = md_st_at(f, i);
            if (t->nbytes) sink ^= ((const uint8_t *)t->data)[t->nbytes - 1];
        }
        (void)sink;
        md_st_close(f);
    }
    md_ctx_destroy(ctx);
    return 0;
}
