/* libFuzzer target: the mel contract parser accepts or refuses any text
 * without crashing, and whatever it accepts survives a round trip through
 * md_mel_contract_to_json unchanged. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "melodiff/mel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    md_ctx *ctx = NULL;
    if (md_ctx_create(&ctx)) {
        free(text);
        return 0;
    }
    md_mel_contract a, b;
    if (md_mel_contract_from_json(ctx, text, "fuzz", &a) == MD_OK) {
        char *js = md_mel_contract_to_json(&a);
        if (js) {
            if (md_mel_contract_from_json(ctx, js, "again", &b) != MD_OK ||
                md_mel_contract_check(ctx, &a, &b, "again") != MD_OK)
                abort();
            free(js);
        }
    }
    md_ctx_destroy(ctx);
    free(text);
    return 0;
}
