/* Pitch bend in the harmonic image (include/melodiff/cond.h): a bent key is
 * drawn as the fractional key p + bend, and FluidSynth's bent render puts
 * its fundamental where the image says. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/logmel.h"
#include "melodiff/cond.h"
#include "synth/fluid_render.h"
#include "test_util.h"

static md_stem held_note(md_note *n, int pitch, md_ctrl_point *bend, size_t n_bend)
{
    memset(n, 0, sizeof *n);
    n->start = 0.05, n->end = 2.5, n->pitch = (uint8_t)pitch, n->velocity = 100;
    md_stem st;
    memset(&st, 0, sizeof st);
    st.instrument = st.program = 73; /* flute: a clean, steady fundamental */
    st.notes = n, st.n_notes = 1;
    st.pitch_bend = (md_curve){bend, n_bend};
    return st;
}

/* Whole-tone bends draw exactly the image of the key a tone away. */
static void test_image_follows_bend(md_ctx *ctx, const md_mel_contract *mc)
{
    md_note n1, n2;
    md_ctrl_point bend[2] = {{0.0, 0.0f}, {1.0, 2.0f}};
    md_stem bent = held_note(&n1, 60, bend, 2), up = held_note(&n2, 62, NULL, 0);
    md_stem plain = held_note(&n1, 60, NULL, 0);
    size_t T = 200;
    md_cond a, b, c;
    CHECK(md_cond_build(ctx, &bent, mc, T, &a) == MD_OK);
    CHECK(md_cond_build(ctx, &up, mc, T, &b) == MD_OK);
    CHECK(md_cond_build(ctx, &plain, mc, T, &c) == MD_OK);
    double fr = md_mel_frame_rate(mc), d_after = 0, d_before = 0, moved = 0;
    for (size_t t = 10; t < 190; t++)
        for (int m = 0; m < mc->n_mels; m++) {
            size_t i = (size_t)m * T + t;
            if (t / fr >= 1.0) d_after = fmax(d_after, fabs(a.harmonic[i] - b.harmonic[i]));
            else d_before = fmax(d_before, fabs(a.harmonic[i] - c.harmonic[i]));
            if (t / fr >= 1.0) moved = fmax(moved, fabs(a.harmonic[i] - c.harmonic[i]));
        }
    CHECK_MSG(d_after < 1e-6, "bent +2 differs from key 62 by %g", d_after);
    CHECK_MSG(d_before < 1e-6, "before the bend differs from key 60 by %g", d_before);
    CHECK(moved > 0.1); /* the bend really moved the picture */
    md_cond_free(&a), md_cond_free(&b), md_cond_free(&c);
}

/* Mel position (fractional bin, centroid of the 3 bins around the peak)
 * of the strongest low partial in frame t, searched below bin `hi`; the
 * log-mel is weighted by magnitude, the (linear) image by its value. */
static double peak_bin(const float *img, size_t T, size_t t, int hi, int is_log)
{
    int best = 1;
    for (int m = 1; m < hi; m++)
        if (img[(size_t)m * T + t] > img[(size_t)best * T + t]) best = m;
    double w = 0, s = 0;
    for (int m = best - 1; m <= best + 1; m++) {
        double v = img[(size_t)m * T + t], e = is_log ? exp(v) : v;
        w += e, s += e * m;
    }
    return s / w;
}

/* A half-tone bend up half-way: FluidSynth's fundamental and the image's
 * fundamental move together (mel position within 0.35 of a bin; the
 * semitone is about 0.75 bins here, and the 3-bin centroid under-reads how
 * far a peak narrower than a bin moves, hence the 0.3-bin allowance on the
 * shift: no bend in the image, or a bend the wrong way, fails it). */
static void test_fluidsynth_agrees(md_ctx *ctx, const md_mel_contract *mc)
{
    md_synth_cfg cfg;
    md_synth_cfg_default(&cfg);
    md_synth *syn = NULL;
    CHECK(md_synth_create(ctx, &cfg, &syn) == MD_OK);
    if (!syn) return;
    md_note n;
    md_ctrl_point bend[2] = {{0.0, 0.0f}, {1.2, 1.0f}};
    md_stem st = held_note(&n, 67, bend, 2);
    float *y = NULL;
    size_t m = 0;
    CHECK(md_synth_render_stem(syn, &st, 2.6, &y, &m) == MD_OK);
    size_t T = md_mel_frames_for_samples(mc, m);
    float *lm = malloc((size_t)mc->n_mels * T * sizeof *lm);
    md_cond c;
    CHECK(lm && y && md_logmel_compute(ctx, mc, y, m, lm) == MD_OK);
    CHECK(md_cond_build(ctx, &st, mc, T, &c) == MD_OK);
    double fr = md_mel_frame_rate(mc), worst = 0, shift_audio = 0, shift_image = 0;
    size_t t0 = (size_t)(0.6 * fr), t1 = (size_t)(1.8 * fr);
    for (int k = 0; k < 2; k++) {
        size_t t = k ? t1 : t0;
        /* The fundamental of key 67-68 (392-415 Hz) lies below mel bin 40. */
        double pa = peak_bin(lm, T, t, 40, 1), pc = peak_bin(c.harmonic, T, t, 40, 0);
        worst = fmax(worst, fabs(pa - pc));
        shift_audio += k ? pa : -pa, shift_image += k ? pc : -pc;
    }
    printf("bend +1: fundamental moved %.3f mel bins in the audio, %.3f in the image; worst gap %.3f\n",
           shift_audio, shift_image, worst);
    CHECK_MSG(worst < 0.35, "FluidSynth fundamental and image fundamental differ by %.3f bins", worst);
    CHECK_MSG(shift_audio > 0.3 && fabs(shift_audio - shift_image) < 0.3,
              "bend moved the audio %.3f bins and the image %.3f", shift_audio, shift_image);
    md_cond_free(&c);
    free(lm), free(y);
    md_synth_destroy(syn);
}

int main(void)
{
    md_ctx *ctx = NULL;
    md_ctx_create(&ctx);
    md_mel_contract mc;
    md_mel_contract_default(&mc);
    test_image_follows_bend(ctx, &mc);
    test_fluidsynth_agrees(ctx, &mc);
    md_ctx_destroy(ctx);
    return md_test_finish();
}
