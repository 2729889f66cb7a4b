/* libFuzzer target: a note bank file is either refused with an error or
 * loads, and then draws a few notes of every instrument slot without
 * reading out of bounds (its keys and slot table are what the drawer
 * trusts). */
#include <stddef.h>
#include <stdint.h>

#include "core/safetensors.h"
#include "notebank/notebank_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void draw_all(md_ctx *ctx, const md_notebank *nb)
{
    md_note notes[3] = {{0.0, 0.3, 60, 100, 0, 0, 0}, {0.05, 0.1, 0, 1, 0, 0, 0}, {0.1, 0.4, 127, 127, 0, 0, 0}};
    md_ctrl_point bend[2] = {{0.0, 0.0f}, {0.2, -1.5f}};
    float img[MD_NB_MAX_MELS * 8];
    for (int slot = 0; slot <= MD_INSTRUMENT_DRUMS; slot++) {
        md_stem st = {.instrument = slot, .notes = notes, .n_notes = 3, .pitch_bend = {bend, 2}};
        md_notebank_draw(ctx, nb, &st, NULL, 10, 8, img);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    md_ctx *ctx = NULL;
    if (md_ctx_create(&ctx)) return 0;
    md_st_file *f = NULL;
    md_notebank *nb = NULL;
    if (md_st_open_memory(ctx, data, size, "fuzz.safetensors", MD_ERR_MODEL, &f) == MD_OK &&
        md_nb_from_st(ctx, f, "fuzz.safetensors", &nb) == MD_OK)
        draw_all(ctx, nb);
    md_notebank_close(nb);
    md_st_close(f);
    md_ctx_destroy(ctx);
    return 0;
}
