/* FluidSynth reference rendering: notes land where asked, renders are
 * deterministic and independent of earlier renders, MIDI files render with
 * a duration cap, and bad inputs fail cleanly. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synth/fluid_render.h"
#include "test_util.h"

#define SIMU "/usr/share/games/simutrans/music/01-Simutrans-Main-Theme.mid"

static double rms(const float *x, size_t a, size_t b)
{
    double e = 0;
    for (size_t i = a; i < b; i++) e += (double)x[i] * x[i];
    return b > a ? sqrt(e / (double)(b - a)) : 0;
}

/* Goertzel power of frequency f over x[a, b). */
static double tone(const float *x, size_t a, size_t b, double f, double sr)
{
    double w = 2 * M_PI * f / sr, c = 2 * cos(w), s1 = 0, s2 = 0;
    for (size_t i = a; i < b; i++) {
        double s0 = x[i] + c * s1 - s2;
        s2 = s1, s1 = s0;
    }
    return (s1 * s1 + s2 * s2 - c * s1 * s2) / (double)(b - a);
}

/* A stem with curves: the pitch bend moves A4 up a whole tone halfway,
 * and default-valued curves sound exactly like the bare notes. */
static void test_stem(md_ctx *ctx, md_synth *s, const float *bare, size_t n_bare)
{
    md_note a4 = {.start = 0.5, .end = 1.0, .pitch = 69, .velocity = 100};
    md_ctrl_point vol0 = {0.0, 100.0f / 127.0f}, expr0 = {0.0, 1.0f}, bend[2] = {{0.0, 0.0f}, {0.75, 2.0f}};
    md_stem st;
    memset(&st, 0, sizeof st);
    st.instrument = st.program = 73;
    st.notes = &a4;
    st.n_notes = 1;
    st.volume = (md_curve){&vol0, 1};
    st.expression = (md_curve){&expr0, 1};
    st.pitch_bend = (md_curve){bend, 1}; /* first: no bend at all */
    float *y = NULL;
    size_t n = 0;
    CHECK(md_synth_render_stem(s, &st, 1.5, &y, &n) == MD_OK);
    CHECK(n == n_bare && y && !memcmp(y, bare, sizeof(float) * n));
    free(y);
    st.pitch_bend.n = 2;
    CHECK(md_synth_render_stem(s, &st, 1.5, &y, &n) == MD_OK);
    if (!y) return;
    double lo440 = tone(y, 23000, 32000, 440, 44100), lo494 = tone(y, 23000, 32000, 493.88, 44100);
    double hi440 = tone(y, 34000, 43000, 440, 44100), hi494 = tone(y, 34000, 43000, 493.88, 44100);
    CHECK_MSG(lo440 > 30 * lo494 && hi494 > 30 * hi440, "before bend 440:%g 494:%g, after 440:%g 494:%g",
              lo440, lo494, hi440, hi494);
    free(y);
    /* volume down to 0 at 0.75 s: silence follows (after the release) */
    md_ctrl_point vol[2] = {{0.0, 100.0f / 127.0f}, {0.75, 0.0f}};
    st.pitch_bend.n = 1;
    st.volume = (md_curve){vol, 2};
    CHECK(md_synth_render_stem(s, &st, 1.5, &y, &n) == MD_OK);
    if (y) CHECK_MSG(rms(y, 36000, 44000) < 0.01 * rms(y, 23000, 32000), "after CC7=0: %g vs %g",
                     rms(y, 36000, 44000), rms(y, 23000, 32000));
    free(y);
}

int main(void)
{
    md_ctx *ctx = NULL;
    md_ctx_create(&ctx);
    md_synth *s = NULL;
    CHECK(md_synth_create(ctx, NULL, &s) == MD_OK);
    if (!s) {
        fprintf(stderr, "%s\n", md_ctx_error(ctx));
        return md_test_finish();
    }
    /* A4 (440 Hz) on flute from 0.5 s to 1.0 s, 1.5 s total. */
    md_note a4 = {.start = 0.5, .end = 1.0, .pitch = 69, .velocity = 100};
    float *x = NULL, *y = NULL, *z = NULL;
    size_t n = 0, m = 0;
    CHECK(md_synth_render_notes_on(s, &a4, 1, 73, 0, 1.5, &x, &n) == MD_OK);
    CHECK(n == 66150);
    CHECK(rms(x, 0, 22000) == 0.0);
    CHECK(rms(x, 23000, 44000) > 1e-3);
    double p440 = tone(x, 24000, 43000, 440, 44100), p330 = tone(x, 24000, 43000, 330, 44100);
    CHECK_MSG(p440 > 100 * p330, "440 Hz power %g vs 330 Hz %g", p440, p330);
    test_stem(ctx, s, x, n);
    /* Deterministic, also after rendering a MIDI file in between. */
    float *mid = NULL;
    size_t nm = 0;
    CHECK(md_synth_render_midi(s, SIMU, 3.0, &mid, &nm) == MD_OK);
    CHECK(nm == 3 * 44100);
    CHECK(mid && rms(mid, 0, nm) > 1e-3);
    CHECK(md_synth_render_notes_on(s, &a4, 1, 73, 0, 1.5, &y, &m) == MD_OK);
    CHECK(m == n && y && !memcmp(x, y, sizeof(float) * n));
    /* Drums: a snare (38) on channel 10 sounds; the same key on a melodic
     * program gives a different sound. */
    md_note sn = {.start = 0.1, .end = 0.3, .pitch = 38, .velocity = 110};
    free(y);
    CHECK(md_synth_render_notes_on(s, &sn, 1, 0, 1, 0.6, &y, &m) == MD_OK);
    CHECK(m == 26460 && rms(y, 0, m) > 1e-3);
    CHECK(md_synth_render_notes_on(s, &sn, 1, 0, 0, 0.6, &z, &m) == MD_OK);
    CHECK(z && y && memcmp(y, z, sizeof(float) * m) != 0);
    /* Bad inputs. */
    float *bad = NULL;
    size_t nb = 0;
    CHECK(md_synth_render_midi(s, MD_SOURCE_DIR "/tests/test_util.h", 1, &bad, &nb) == MD_ERR_INPUT);
    CHECK(strstr(md_ctx_error(ctx), "test_util.h: not a MIDI file") != NULL);
    CHECK(md_synth_render_midi(s, "/nonexistent.mid", 1, &bad, &nb) == MD_ERR_INPUT);
    md_synth_destroy(s);
    md_synth_cfg cfg;
    md_synth_cfg_default(&cfg);
    cfg.soundfont = "/nonexistent.sf2";
    CHECK(md_synth_create(ctx, &cfg, &s) == MD_ERR_INPUT);
    CHECK(strstr(md_ctx_error(ctx), "/nonexistent.sf2") != NULL);
    free(x), free(y), free(z), free(mid);
    md_ctx_destroy(ctx);
    return md_test_finish();
}
