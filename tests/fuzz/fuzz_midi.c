/* libFuzzer target: MIDI reader, score, JSON and conditioning.
 *
 * Any bytes must either be refused with a message or give a score whose
 * notes are well formed (finite, ordered, within the song) and whose
 * conditioning can be built. Limits are lowered so one input stays fast. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "melodiff/cond.h"
#include "melodiff/midi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_score(const md_score *sc)
{
    size_t total = 0;
    for (size_t i = 0; i < sc->n_stems; i++) {
        const md_stem *st = &sc->stems[i];
        if (st->instrument < 0 || st->instrument > MD_INSTRUMENT_DRUMS || !st->n_notes) abort();
        for (size_t k = 0; k < st->n_notes; k++) {
            const md_note *n = &st->notes[k];
            if (!isfinite(n->start) || !(n->end >= n->start) || n->start < 0 || n->end > sc->length + 1e-9 ||
                n->pitch > 127 || n->velocity < 1 || n->velocity > 127 || n->channel > 15)
                abort();
            if (k && st->notes[k - 1].start > n->start) abort();
        }
        for (size_t k = 0; k < st->pitch_bend.n; k++)
            if (!isfinite(st->pitch_bend.points[k].value)) abort();
        if (!st->volume.n || st->volume.points[0].time != 0.0) abort();
        total += st->n_notes;
    }
    if (total != sc->n_notes) abort();
}

static void check_cond(md_ctx *ctx, const md_score *sc, size_t first)
{
    md_mel_contract mc;
    md_mel_contract_default(&mc);
    size_t frames = md_cond_frames_for_seconds(&mc, sc->length);
    if (frames > 256) frames = 256; /* a window, as the renderer would use */
    for (size_t i = 0; i < sc->n_stems && i < 3; i++) {
        md_cond c;
        if (md_cond_build_window(ctx, &sc->stems[i], &mc, first, frames, &c) != MD_OK) abort();
        size_t nh = (size_t)c.n_mels * c.n_frames;
        /* a sparse sample: full scans would dominate the run time */
        for (size_t k = 0; k < nh; k += 61)
            if (!(c.harmonic[k] >= 0.0f && c.harmonic[k] <= 1.0f)) abort();
        for (size_t k = 0; k < MD_COND_KEYS * c.n_frames; k += 61)
            if (!(c.roll[k] >= 0.0f && c.roll[k] <= 1.0f)) abort();
        md_cond_free(&c);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    md_ctx *ctx = NULL;
    if (md_ctx_create(&ctx)) return 0;
    md_ctx_set_log_level(ctx, MD_LOG_ERROR);
    md_score_options opt;
    md_score_options_default(&opt);
    opt.limits.max_events = 200000;
    opt.limits.max_notes = 50000;
    opt.group = (size && (data[size - 1] & 1)) ? MD_GROUP_PROGRAM : MD_GROUP_TRACK;
    md_score *sc = NULL;
    md_status s = md_score_load_memory(ctx, data, size, "fuzz", &opt, &sc);
    if (s == MD_OK) {
        check_score(sc);
        if (size < 8192) { /* JSON of big scores is slow under ASan; small ones cover the code */
            char *json = md_score_to_json(sc, 1);
            if (!json) abort();
            free(json);
        }
        check_cond(ctx, sc, size > 1 ? data[size - 2] : 0);
        md_score_free(sc);
    } else if (!md_ctx_error(ctx)[0] || sc) {
        abort(); /* every refusal says why and leaves nothing behind */
    }
    md_ctx_destroy(ctx);
    return 0;
}
