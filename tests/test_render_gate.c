/* The score gate (render/gate.h, md_render_opts.gate_margin): its weights
 * at chosen times around a note, the measured rings it uses, its pull to
 * the floor, and a render of a
 * stem that rests for eight seconds: the rest is left at the floor without
 * calling the model, exactly the segments the rule names are skipped (those
 * where no note's gate -- lead, hold until ring after the end, fades -- is
 * open), the frames before the rest are the same image as with the gate
 * off, and with the gate off every segment is sampled. The manifest counts
 * the skipped segments. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/fileout.h"
#include "fixtures/midi/smf_builder.h"
#include "render/render.h"
#include "render/gate.h"
#include "render/render_internal.h"
#include "render/segments.h"
#include "render_test_denoiser.h"
#include "render_test_util.h"
#include "test_util.h"

typedef struct counter {
    int calls;
} counter;

static md_status gauss_v(void *impl, md_ctx *ctx, const float *x, size_t frames, float t, const md_cond *c,
                         int conditional, float *v)
{
    (void)ctx;
    ((counter *)impl)->calls++;
    render_test_gauss_v(x, frames, t, c, conditional, v);
    return MD_OK;
}

/* Track 0 plays 0-1 s and 9-10 s; track 1 plays all through (120 bpm, 96 ppq). */
static void write_song(const char *path)
{
    static smf_buf b;
    memset(&b, 0, sizeof b);
    smf_header(&b, 1, 2, 96);
    size_t t = smf_track_begin(&b);
    EV(&b, 0, 0x90, 60, 100);
    EV(&b, 192, 0x80, 60, 0);       /* 0-1 s */
    EV(&b, 1536, 0x90, 64, 100);    /* 9 s */
    EV(&b, 192, 0x80, 64, 0);       /* 10 s */
    EV(&b, 0, 0xFF, 0x2F, 0x00);
    smf_track_end(&b, t);
    t = smf_track_begin(&b);
    EV(&b, 0, 0xC1, 33);
    for (int i = 0; i < 20; i++) {
        EV(&b, 0, 0x91, (uint8_t)(40 + i % 5), 100);
        EV(&b, 96, 0x81, (uint8_t)(40 + i % 5), 0);
    }
    EV(&b, 0, 0xFF, 0x2F, 0x00);
    smf_track_end(&b, t);
    md_write_file_atomic(NULL, path, 1, b.d, b.n);
}

/* The rule, spelt out: segment [a, b) s (its last frame at b - 1 frame)
 * is silent when no note's gate reaches into it: every note's gate opens
 * (start - lead - fade) after its last frame or has closed (end + ring +
 * fade) before its first. */
static size_t expected_silent(const md_stem *st, const md_segment_plan *plan, double fps, double margin)
{
    size_t n = 0;
    for (size_t i = 0; i < plan->count; i++) {
        double a = plan->seg[i].start / fps, b = (plan->seg[i].start + plan->seg[i].frames - 1) / fps;
        int sounds = 0;
        for (size_t k = 0; k < st->n_notes; k++)
            sounds |= st->notes[k].start - MD_GATE_LEAD - MD_GATE_FADE < b &&
                      st->notes[k].end + md_gate_ring(st, &st->notes[k], margin) + MD_GATE_FADE > a;
        n += !sounds;
    }
    return n;
}

/* Rings from the measured tables: a piano note, a crash cymbal, a kick. */
static void test_rings(void)
{
    md_note note = {1.0, 2.0, 60, 100, 0, 0, 0};
    md_stem st;
    memset(&st, 0, sizeof st);
    st.instrument = 0;
    CHECK_NEAR(md_gate_ring(&st, &note, 0.25), md_gate_release_program[0] + 0.25, 1e-6);
    CHECK(md_gate_release_program[0] > 0.1f && md_gate_release_program[0] < 2.0f); /* a piano's release */
    st.instrument = MD_INSTRUMENT_DRUMS;
    note.pitch = 49; /* crash cymbal 1 */
    double crash = md_gate_ring(&st, &note, 0.0);
    note.pitch = 36; /* bass drum 1 */
    double kick = md_gate_ring(&st, &note, 0.0);
    CHECK_MSG(crash > 2.0 && kick < crash, "crash %.2f s, kick %.2f s", crash, kick);
}

/* Weights around one piano note (1-2 s, margin 0.5 s) and the pull to the floor. */
static void test_weights(void)
{
    md_note note = {1.0, 2.0, 60, 100, 0, 0, 0};
    md_stem st;
    memset(&st, 0, sizeof st);
    st.notes = &note;
    st.n_notes = 1;
    md_mel_contract mc;
    md_mel_contract_default(&mc);
    double fps = (double)mc.sample_rate / mc.hop, off = 2.0 + md_gate_ring(&st, &note, 0.5);
    size_t T = (size_t)(4.5 * fps);
    float w[400], img[2 * 400];
    if (T > 400 || off + MD_GATE_FADE + 0.1 > 4.5) exit(1);
    md_gate_weights(&st, &mc, 0.5, T, w);
    size_t at_05 = (size_t)(0.5 * fps), at_mid_in = (size_t)round((1.0 - MD_GATE_LEAD - MD_GATE_FADE / 2) * fps);
    size_t at_15 = (size_t)(1.5 * fps), at_24 = (size_t)((off - 0.05) * fps);
    size_t at_29 = (size_t)((off + MD_GATE_FADE + 0.05) * fps);
    CHECK(w[at_05] == 0.0f && w[at_15] == 1.0f && w[at_24] == 1.0f && w[at_29] == 0.0f);
    CHECK_NEAR(w[at_mid_in], 1.0 - (1.0 - MD_GATE_LEAD - at_mid_in / fps) / MD_GATE_FADE, 1e-5);
    CHECK(w[at_mid_in] > 0.3f && w[at_mid_in] < 0.7f);
    CHECK(md_gate_closed(w, T, 0, at_05) && !md_gate_closed(w, T, 0, at_15) && md_gate_closed(w, T, at_29, 1000));
    for (size_t t = 0; t < 2 * T; t++) img[t] = -2.0f;
    md_gate_apply(w, T, 2, -11.0f, img);
    CHECK(img[at_05] == -11.0f && img[T + at_15] == -2.0f);
    CHECK_NEAR(img[at_mid_in], -11.0 + w[at_mid_in] * 9.0, 1e-5);
}

static void test_stem(md_ctx *ctx, const char *midi)
{
    md_score *sc = NULL;
    md_score_options so;
    md_score_options_default(&so);
    if (md_score_load_file(ctx, midi, &so, &sc) != MD_OK || sc->n_stems != 2) {
        CHECK_MSG(0, "song: %s", md_ctx_error(ctx));
        md_score_free(sc);
        return;
    }
    counter c = {0};
    md_denoiser den = test_denoiser(&c, "test gauss", gauss_v);
    md_render_opts o = render_test_opts(midi, NULL, 2);
    o.guide_t_lo = o.guide_t_hi = 0; /* every step guided: 2 calls per step below */
    double fps = (double)den.mc.sample_rate / den.mc.hop;
    size_t T = (size_t)(11.0 * fps), rows = (size_t)den.mc.n_mels;
    md_segment_plan plan;
    if (md_segment_plan_make(ctx, T, 64, 16, 8, &plan) != MD_OK) exit(1);
    double margin = o.gate_margin; /* the default */
    size_t want = expected_silent(&sc->stems[0], &plan, fps, margin);
    CHECK_MSG(want >= 5, "the rest should cover several segments (%zu)", want);
    float *skip = malloc(rows * T * sizeof *skip), *full = malloc(rows * T * sizeof *full);
    if (!skip || !full) exit(1);
    md_stem_job job = {&sc->stems[0], 0, 0, skip, NULL, 0, 0, NULL};
    CHECK(md_render_group_logmel(ctx, &o, &den, &job, 1, 1, T) == MD_OK);
    CHECK_MSG(job.segments == plan.count && job.silent_segments == want, "%zu of %zu silent, expected %zu",
              job.silent_segments, job.segments, want);
    CHECK(c.calls == 2 * o.steps * (int)(plan.count - want)); /* guided: 2 calls a step */
    /* 5.5 s lies in the rest, far from any cross-fade: exactly the floor */
    size_t f = (size_t)(5.5 * fps);
    float floor_ln = logf(den.mc.log_floor);
    int at_floor = 1;
    for (size_t r = 0; r < rows; r++) at_floor &= skip[r * T + f] == floor_ln;
    CHECK(at_floor);
    /* the gate off: every segment sampled; before the gate starts to close
     * (the first note's end plus its ring), the same image */
    c.calls = 0;
    o.gate_margin = -1;
    job.logmel = full;
    CHECK(md_render_group_logmel(ctx, &o, &den, &job, 1, 1, T) == MD_OK);
    CHECK(job.silent_segments == 0 && c.calls == 2 * o.steps * (int)plan.count);
    double ring = md_gate_ring(&sc->stems[0], &sc->stems[0].notes[0], margin);
    size_t first_silent = (size_t)((1.0 + ring) * fps) - 1;
    int same = 1;
    for (size_t r = 0; r < rows; r++)
        same &= memcmp(&skip[r * T], &full[r * T], first_silent * sizeof *skip) == 0;
    CHECK(same);
    free(skip), free(full);
    md_segment_plan_free(&plan);
    md_score_free(sc);
}

/* render.json counts each stem's segments and the silent ones. */
static void test_manifest(md_ctx *ctx, const char *midi)
{
    counter c = {0};
    md_denoiser den = test_denoiser(&c, "test gauss", gauss_v);
    md_render_opts o = render_test_opts(midi, MD_TEST_TMP "/gate_out", 2);
    CHECK_MSG(md_render_run(ctx, &o, &den, NULL) == MD_OK, "%s", md_ctx_error(ctx));
    cJSON *j = read_manifest(MD_TEST_TMP "/gate_out");
    const cJSON *stems = cJSON_GetObjectItemCaseSensitive(j, "stems");
    const cJSON *s0 = cJSON_GetArrayItem(stems, 0), *s1 = cJSON_GetArrayItem(stems, 1);
    const cJSON *q0 = cJSON_GetObjectItemCaseSensitive(s0, "silent_segments");
    const cJSON *q1 = cJSON_GetObjectItemCaseSensitive(s1, "silent_segments");
    const cJSON *n0 = cJSON_GetObjectItemCaseSensitive(s0, "segments");
    CHECK(cJSON_IsNumber(q0) && q0->valueint >= 5 && cJSON_IsNumber(n0) && n0->valueint > q0->valueint);
    CHECK(cJSON_IsNumber(q1) && q1->valueint == 0); /* the bass plays all through */
    const cJSON *set = cJSON_GetObjectItemCaseSensitive(j, "settings");
    const cJSON *ss = cJSON_GetObjectItemCaseSensitive(set, "gate_margin_seconds");
    CHECK(cJSON_IsNumber(ss) && ss->valuedouble == 0.25);
    cJSON_Delete(j);
}

int main(void)
{
    md_ctx *ctx = NULL;
    if (md_ctx_create(&ctx) != MD_OK) return 1;
    const char *midi = MD_TEST_TMP "/gate_song.mid";
    write_song(midi);
    test_rings();
    test_weights();
    test_stem(ctx, midi);
    test_manifest(ctx, midi);
    md_ctx_destroy(ctx);
    return md_test_finish();
}
