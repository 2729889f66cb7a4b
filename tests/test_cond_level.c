/* Volume and expression curves as a gain on the sampled log-mel
 * (include/melodiff/cond.h, "Level curves"): the dB figures, FluidSynth's
 * own curve measured on real renders, and the log-mel it produces. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/logmel.h"
#include "melodiff/cond.h"
#include "synth/fluid_render.h"
#include "test_util.h"

#define SR 44100

static double rms_db(const float *x, double a, double b)
{
    double e = 0;
    size_t i0 = (size_t)(a * SR), i1 = (size_t)(b * SR);
    for (size_t i = i0; i < i1; i++) e += (double)x[i] * x[i];
    return 10 * log10(e / (double)(i1 - i0));
}

/* One held middle C on `program`, volume/expression curves as given. */
static md_stem one_note(int program, md_note *n, md_ctrl_point *vol, size_t n_vol, md_ctrl_point *expr,
                        size_t n_expr)
{
    memset(n, 0, sizeof *n);
    n->start = 0.1, n->end = 2.6, n->pitch = 60, n->velocity = 100;
    md_stem st;
    memset(&st, 0, sizeof st);
    st.instrument = st.program = program;
    st.notes = n, st.n_notes = 1;
    st.volume = (md_curve){vol, n_vol};
    st.expression = (md_curve){expr, n_expr};
    return st;
}

static void test_db_figures(void)
{
    md_note n;
    md_stem st = one_note(0, &n, NULL, 0, NULL, 0);
    CHECK_NEAR(md_cond_level_db(&st, 1.0), 0.0, 1e-12);
    md_ctrl_point vol[2] = {{0.0, 1.0f}, {1.5, 50.0f / 127}};
    md_ctrl_point expr[1] = {{0.0, 0.5f}};
    st.volume = (md_curve){vol, 2};
    st.expression = (md_curve){expr, 1};
    CHECK_NEAR(md_cond_level_db(&st, 1.4999), 40 * log10(127.0 / 100) + 40 * log10(0.5), 1e-5);
    CHECK_NEAR(md_cond_level_db(&st, 1.5), 40 * log10(50.0 / 100) + 40 * log10(0.5), 1e-5);
    CHECK_NEAR(md_cond_level_db(&st, 99.0), 40 * log10(50.0 / 100) + 40 * log10(0.5), 1e-5);
    expr[0].value = 0.0f;
    CHECK(md_cond_level_db(&st, 1.0) == MD_COND_LEVEL_SILENT_DB);
}

/* FluidSynth's level with the curves, against the training level (its
 * default volume, no curves), equals md_cond_level_db within 0.3 dB. */
static void test_matches_fluidsynth(md_ctx *ctx, md_synth *syn)
{
    const int programs[] = {0, 19, 48};
    const float vols[] = {1.0f, 64.0f / 127, 30.0f / 127};
    for (int p = 0; p < 3; p++) {
        md_note n;
        one_note(programs[p], &n, NULL, 0, NULL, 0);
        float *ref = NULL, *y = NULL;
        size_t m = 0;
        CHECK(md_synth_render_notes_on(syn, &n, 1, programs[p], 0, 3.0, &ref, &m) == MD_OK);
        for (int v = 0; v < 3 && ref; v++) {
            md_ctrl_point vol[2] = {{0.0, vols[v]}, {1.6, vols[(v + 1) % 3]}};
            md_ctrl_point expr[1] = {{0.0, 0.7f}};
            md_stem st = one_note(programs[p], &n, vol, 2, expr, 1);
            CHECK(md_synth_render_stem(syn, &st, 3.0, &y, &m) == MD_OK);
            if (!y) continue;
            for (int half = 0; half < 2; half++) {
                double a = half ? 1.8 : 0.6, b = half ? 2.4 : 1.4;
                double got = rms_db(y, a, b) - rms_db(ref, a, b);
                double want = md_cond_level_db(&st, a);
                CHECK_MSG(fabs(got - want) < 0.3, "program %d volume step %d half %d: FluidSynth %.2f dB, "
                          "md_cond_level_db %.2f dB", programs[p], v, half, got, want);
            }
            free(y);
            y = NULL;
        }
        free(ref);
    }
    (void)ctx;
}

/* The log-mel of the training-level render, with the level applied, is the
 * log-mel of the render with the curves (loud bins, away from the step). */
static void test_logmel(md_ctx *ctx, md_synth *syn)
{
    md_mel_contract mc;
    md_mel_contract_default(&mc);
    md_note n;
    md_ctrl_point vol[2] = {{0.0, 1.0f}, {1.5, 40.0f / 127}};
    md_stem st = one_note(48, &n, vol, 2, NULL, 0);
    float *ref = NULL, *y = NULL;
    size_t m = 0;
    CHECK(md_synth_render_notes_on(syn, &n, 1, 48, 0, 3.0, &ref, &m) == MD_OK);
    CHECK(md_synth_render_stem(syn, &st, 3.0, &y, &m) == MD_OK);
    size_t T = md_mel_frames_for_samples(&mc, m), M = (size_t)mc.n_mels;
    float *a = malloc(M * T * sizeof *a), *b = malloc(M * T * sizeof *b);
    CHECK(a && b && ref && y);
    if (!(a && b && ref && y)) goto out;
    CHECK(md_logmel_compute(ctx, &mc, ref, m, a) == MD_OK);
    CHECK(md_logmel_compute(ctx, &mc, y, m, b) == MD_OK);
    md_cond_apply_level(&st, &mc, 0, T, a);
    double fr = (double)mc.sample_rate / mc.hop, err = 0;
    size_t cnt = 0, floored = 0;
    for (size_t t = 0; t < T; t++) {
        double sec = t / fr;
        if (sec < 0.4 || (sec > 1.3 && sec < 1.8) || sec > 2.4) continue;
        for (size_t k = 0; k < M; k++) {
            float va = a[k * T + t], vb = b[k * T + t];
            if (va < logf(mc.log_floor)) floored++;
            if (vb < -7.0f) continue; /* loud bins: quiet ones are dither-level noise */
            err += fabs(va - vb), cnt++;
        }
    }
    CHECK(cnt > 500);
    CHECK(floored == 0);
    CHECK_MSG(err / cnt < 0.05, "mean |ln| error %.4f over %zu bins", err / cnt, cnt);
out:
    free(a), free(b), free(ref), free(y);
}

int main(void)
{
    md_ctx *ctx = NULL;
    md_ctx_create(&ctx);
    md_synth_cfg cfg;
    md_synth_cfg_default(&cfg);
    md_synth *syn = NULL;
    test_db_figures();
    CHECK(md_synth_create(ctx, &cfg, &syn) == MD_OK);
    if (syn) {
        test_matches_fluidsynth(ctx, syn);
        test_logmel(ctx, syn);
    }
    md_synth_destroy(syn);
    md_ctx_destroy(ctx);
    return md_test_finish();
}
