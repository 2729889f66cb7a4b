/* Conditioning planes: frame placement of roll and onsets, the harmonic
 * image against an independent numpy/librosa reference
 * (tools/midi/make_cond_fixture.py), drums, windows and errors. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "melodiff/cond.h"
#include "test_util.h"

static md_ctx *ctx;
static md_mel_contract mc;

static md_stem make_stem(md_note *notes, size_t n, int instrument)
{
    md_stem st;
    memset(&st, 0, sizeof st);
    st.notes = notes;
    st.n_notes = n;
    st.instrument = instrument;
    return st;
}

static md_note note(double s, double e, int pitch, int vel)
{
    md_note n = {.start = s, .end = e, .pitch = (uint8_t)pitch, .velocity = (uint8_t)vel};
    return n;
}

#define AT(plane, row, t) ((plane)[(size_t)(row) * c.n_frames + (t)])

static void test_frames(void)
{
    CHECK(md_cond_frames_for_seconds(&mc, 1.0) == 1 + 44100 / 512);
    CHECK(md_cond_frames_for_seconds(&mc, 0.0) == 1);
    double fr = 44100.0 / 512.0; /* 86.13 */
    md_note notes[4] = {
        note(1.0, 2.0, 60, 127),   /* frames round(86.13)=86 .. round(172.27)=172 exclusive */
        note(1.5, 1.5, 64, 64),    /* zero length: one frame, round(129.2)=129 */
        note(1.2, 1.4, 60, 50),    /* overlaps the first note at a lower velocity */
        note(0.0, 0.004, 72, 100), /* shorter than a frame, at the very start */
    };
    md_stem st = make_stem(notes, 4, 5);
    md_cond c;
    CHECK(md_cond_build(ctx, &st, &mc, 200, &c) == MD_OK);
    if (!c.roll) return;
    CHECK(c.n_frames == 200 && c.n_mels == 128 && c.instrument == 5 && c.n_notes == 4);
    CHECK_NEAR(c.frame_rate, fr, 1e-12);
    CHECK(AT(c.roll, 60, 85) == 0.0f && AT(c.roll, 60, 86) == 1.0f);
    CHECK(AT(c.roll, 60, 171) == 1.0f && AT(c.roll, 60, 172) == 0.0f);
    CHECK(AT(c.roll, 60, 110) == 1.0f); /* max of 127 and 50 */
    CHECK(AT(c.onset, 60, 86) == 1.0f && AT(c.onset, 60, 103) == 1.0f); /* round(1.2 * fr) = 103 */
    int onsets60 = 0;
    for (size_t t = 0; t < c.n_frames; t++) onsets60 += AT(c.onset, 60, t) != 0;
    CHECK(onsets60 == 2);
    CHECK_NEAR(AT(c.roll, 64, 129), 64 / 127.0, 1e-7);
    CHECK(AT(c.roll, 64, 128) == 0.0f && AT(c.roll, 64, 130) == 0.0f);
    CHECK(AT(c.roll, 72, 0) > 0.0f && AT(c.roll, 72, 1) == 0.0f && AT(c.onset, 72, 0) == 1.0f);
    CHECK_NEAR(c.notes[0].onset, 1.0 * fr, 1e-9);
    /* a silent frame has an empty harmonic column */
    float sum = 0;
    for (int m = 0; m < c.n_mels; m++) sum += AT(c.harmonic, m, 190);
    CHECK(sum == 0.0f);
    md_cond_free(&c);
    CHECK(c.roll == NULL && c.n_frames == 0);
}

static void test_harmonic_reference(void)
{
    char *text = md_test_slurp(MD_SOURCE_DIR "/tests/fixtures/midi/cond_harmonic_ref.json");
    cJSON *root = text ? cJSON_Parse(text) : NULL;
    CHECK(root != NULL);
    if (!root) {
        free(text);
        return;
    }
    int vel = cJSON_GetObjectItem(root, "velocity")->valueint;
    const cJSON *col;
    int n_cols = 0;
    cJSON_ArrayForEach(col, cJSON_GetObjectItem(root, "columns"))
    {
        int key = cJSON_GetObjectItem(col, "key")->valueint;
        const cJSON *h = cJSON_GetObjectItem(col, "harmonic");
        md_note n = note(0.0, 0.1, key, vel);
        md_stem st = make_stem(&n, 1, 0);
        md_cond c;
        CHECK(md_cond_build(ctx, &st, &mc, 4, &c) == MD_OK);
        if (!c.harmonic) continue;
        CHECK(cJSON_GetArraySize(h) == c.n_mels);
        double worst = 0;
        for (int m = 0; m < c.n_mels && m < cJSON_GetArraySize(h); m++) {
            double d = fabs(AT(c.harmonic, m, 2) - cJSON_GetArrayItem(h, m)->valuedouble);
            if (d > worst) worst = d;
        }
        CHECK_MSG(worst < 1e-5, "key %d: largest difference from the reference %g", key, worst);
        md_cond_free(&c);
        n_cols++;
    }
    CHECK(n_cols == 9);
    cJSON_Delete(root);
    free(text);
}

/* Many keys at once saturate at 1, never above. */
static void test_clip(void)
{
    md_note notes[12];
    for (int i = 0; i < 12; i++) notes[i] = note(0.0, 0.5, 36 + i, 127);
    md_stem st = make_stem(notes, 12, 0);
    md_cond c;
    CHECK(md_cond_build(ctx, &st, &mc, 10, &c) == MD_OK);
    if (!c.harmonic) return;
    float mx = 0;
    for (size_t i = 0; i < (size_t)c.n_mels * c.n_frames; i++)
        if (c.harmonic[i] > mx) mx = c.harmonic[i];
    CHECK(mx == 1.0f);
    md_cond_free(&c);
}

static void test_drums(void)
{
    md_note notes[2] = {note(0.1, 0.11, 36, 127), note(0.5, 2.0, 42, 127)};
    md_stem st = make_stem(notes, 2, MD_INSTRUMENT_DRUMS);
    md_cond c;
    CHECK(md_cond_build(ctx, &st, &mc, 300, &c) == MD_OK);
    if (!c.harmonic) return;
    CHECK(c.instrument == MD_INSTRUMENT_DRUMS);
    int on = 9; /* round(0.1 * 86.13) */
    CHECK(AT(c.onset, 36, on) == 1.0f);
    /* the kick: bins with centres 30-150 Hz (slaney, 128 mels: bins 0..3 at 31, 62, 93, 124 Hz) */
    CHECK_NEAR(AT(c.harmonic, 1, on), MD_COND_DRUM_LEVEL, 1e-6);
    CHECK_NEAR(AT(c.harmonic, 1, on + 4), MD_COND_DRUM_LEVEL * exp(-1.0), 1e-6);
    CHECK(AT(c.harmonic, 1, on - 1) == 0.0f);
    CHECK(AT(c.harmonic, 1, on + 19) == 0.0f); /* ceil(4.6 * 4) = 19 frames */
    CHECK_NEAR(AT(c.harmonic, 0, on), MD_COND_DRUM_LEVEL, 1e-6);
    CHECK(AT(c.harmonic, 4, on) == 0.0f);      /* 155 Hz: outside the kick's band */
    double lo, hi, tau;
    md_cond_drum_pattern(42, &lo, &hi, &tau);
    CHECK(lo == 6000 && hi == 16000 && tau == 2);
    /* the hi-hat draws only high bins, and only for its decay, not its 1.5 s */
    int hat = 43; /* round(0.5 * 86.13) */
    CHECK(AT(c.harmonic, 100, hat) > 0.5f && AT(c.harmonic, 20, hat) == 0.0f);
    CHECK(AT(c.harmonic, 120, hat) == 0.0f); /* 17 kHz: above the band */
    CHECK(AT(c.harmonic, 100, hat + 10) == 0.0f); /* ceil(4.6 * 2) = 10 frames */
    CHECK(AT(c.roll, 42, hat + 100) == 1.0f); /* the roll still spans the note */
    md_cond_free(&c);
}

static void test_window(void)
{
    md_note n = note(1.0, 2.0, 60, 127); /* frames 86..171 */
    md_stem st = make_stem(&n, 1, 0);
    md_cond c, whole;
    CHECK(md_cond_build_window(ctx, &st, &mc, 100, 50, &c) == MD_OK);
    CHECK(md_cond_build(ctx, &st, &mc, 150, &whole) == MD_OK);
    if (c.roll && whole.roll) {
        CHECK(c.first_frame == 100 && c.n_notes == 1);
        CHECK(c.notes[0].onset < 0);
        int same = 1;
        for (int r = 0; r < 128; r++)
            for (size_t t = 0; t < 50; t++) {
                same &= c.roll[r * 50 + t] == whole.roll[r * 150 + 100 + t];
                same &= c.onset[r * 50 + t] == whole.onset[r * 150 + 100 + t];
            }
        for (int r = 0; r < c.n_mels; r++)
            for (size_t t = 0; t < 50; t++) same &= c.harmonic[r * 50 + t] == whole.harmonic[r * 150 + 100 + t];
        CHECK_MSG(same, "a window equals the same frames of the whole");
    }
    md_cond_free(&c);
    md_cond_free(&whole);
    CHECK(md_cond_build_window(ctx, &st, &mc, 500, 10, &c) == MD_OK);
    if (c.roll) CHECK(c.n_notes == 0 && c.roll[60 * 10] == 0.0f);
    md_cond_free(&c);
}

static void test_errors(void)
{
    md_note n = note(0, 1, 60, 100);
    md_stem st = make_stem(&n, 1, 0);
    md_cond c;
    md_mel_contract bad = mc;
    bad.hop = 0;
    CHECK(md_cond_build(ctx, &st, &bad, 10, &c) == MD_ERR_USAGE && c.roll == NULL);
    bad = mc;
    bad.n_mels = 0;
    CHECK(md_cond_build(ctx, &st, &bad, 10, &c) == MD_ERR_USAGE);
    CHECK(md_cond_build(ctx, &st, &mc, SIZE_MAX / 8, &c) == MD_ERR_LIMIT && c.roll == NULL);
    md_stem empty = make_stem(NULL, 0, 0);
    CHECK(md_cond_build(ctx, &empty, &mc, 0, &c) == MD_OK);
    md_cond_free(&c);
}

int main(void)
{
    md_ctx_create(&ctx);
    md_mel_contract_default(&mc);
    test_frames();
    test_harmonic_reference();
    test_clip();
    test_drums();
    test_window();
    test_errors();
    md_ctx_destroy(ctx);
    return md_test_finish();
}
