/* The level plan: on a peaky two-stem mix the limited gain reaches the
 * loudness target with every output under -1 dBTP; limits on the limiter's
 * depth are kept; with the limiter off, the old peak-safe gain. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "audio/level_plan.h"
#include "audio/limiter.h"
#include "audio/loudness.h"
#include "test_util.h"

#define RATE 48000
#define N (RATE * 6)

typedef struct song {
    md_ctx *ctx;
    float *stem[2], *mix, *det, *env;
} song;

/* A steady chord stem and a click stem whose hits are 14 dB hotter. */
static void make_song(song *s)
{
    for (size_t i = 0; i < N; i++) {
        double t = (double)i / RATE;
        s->stem[0][i] = (float)(0.05 * (sin(2 * M_PI * 220 * t) + sin(2 * M_PI * 277 * t)));
        size_t ph = i % (RATE / 2);
        s->stem[1][i] = ph < 96 ? (float)(0.5 * exp(-(double)ph / 20.0) * (ph % 2 ? 1 : -1)) : 0.0f;
        s->mix[i] = s->stem[0][i] + s->stem[1][i];
    }
}

/* Every output at the plan's level: out_k = trim * gain * env * x_k. */
static void apply(song *s, double gain, double trim, int limit, float *out[3])
{
    float *in[3] = {s->stem[0], s->stem[1], s->mix};
    for (size_t i = 0; i < N; i++) {
        float m = 0;
        for (int k = 0; k < 3; k++) m = fmaxf(m, fabsf(in[k][i]));
        s->det[i] = (float)(gain * m);
        s->env[i] = 1.0f;
    }
    if (limit) {
        md_limiter *l = NULL;
        size_t a = 0, b = 0;
        CHECK(md_limiter_create(s->ctx, RATE, md_level_limit_ceiling(), MD_LIMITER_LOOKAHEAD_S,
                                MD_LIMITER_RELEASE_S, &l) == MD_OK);
        md_limiter_push(l, s->det, N, s->env, &a);
        md_limiter_finish(l, s->env + a, &b);
        CHECK(a + b == N);
        md_limiter_destroy(l);
    }
    for (int k = 0; k < 3; k++)
        for (size_t i = 0; i < N; i++) out[k][i] = (float)(trim * gain * s->env[i] * in[k][i]);
}

static md_status probe(void *user, double gain, int limit, md_level_probe *r)
{
    song *s = user;
    float *o[3] = {malloc(N * 4), malloc(N * 4), malloc(N * 4)};
    apply(s, gain, 1.0, limit, o);
    md_loudness l;
    r->true_peak = 0;
    for (int k = 0; k < 3; k++) {
        CHECK(md_loudness_measure(s->ctx, o[k], N, RATE, &l) == MD_OK);
        r->true_peak = fmax(r->true_peak, l.true_peak);
    }
    r->lufs = l.integrated_lufs; /* k = 2: the mix */
    for (int k = 0; k < 3; k++) free(o[k]);
    return MD_OK;
}

/* The plan applied for real: the mix's loudness and the worst true peak. */
static void measure_plan(song *s, const md_level_plan *pl, double *lufs, double *peak_db, double *sum_err)
{
    float *o[3] = {malloc(N * 4), malloc(N * 4), malloc(N * 4)};
    apply(s, pl->gain, pl->trim, pl->limit, o);
    md_loudness l;
    double tp = 0, err = 0;
    for (int k = 0; k < 3; k++) {
        CHECK(md_loudness_measure(s->ctx, o[k], N, RATE, &l) == MD_OK);
        tp = fmax(tp, l.true_peak);
    }
    for (size_t i = 0; i < N; i++) err = fmax(err, fabs((double)o[0][i] + o[1][i] - o[2][i]));
    *lufs = l.integrated_lufs, *peak_db = 20 * log10(tp), *sum_err = err;
    for (int k = 0; k < 3; k++) free(o[k]);
}

int main(void)
{
    md_ctx *ctx = NULL;
    md_ctx_create(&ctx);
    song s = {ctx, {malloc(N * 4), malloc(N * 4)}, malloc(N * 4), malloc(N * 4), malloc(N * 4)};
    make_song(&s);
    md_level_plan pl;
    double lufs, peak, err;

    /* the peak-safe static gain alone stops far short of -16 LUFS */
    CHECK(md_level_plan_make(ctx, -16.0, 0.0, probe, &s, &pl) == MD_OK);
    CHECK(!pl.limit && pl.passes == 1);
    measure_plan(&s, &pl, &lufs, &peak, &err);
    CHECK(lufs < -20.0);
    CHECK_NEAR(peak, -1.0, 0.01);

    /* with the limiter: on target, every output under the ceiling, stems still sum to the mix */
    CHECK(md_level_plan_make(ctx, -16.0, 20.0, probe, &s, &pl) == MD_OK);
    CHECK(pl.limit && pl.passes <= MD_LEVEL_MAX_PASSES);
    measure_plan(&s, &pl, &lufs, &peak, &err);
    CHECK_NEAR(lufs, -16.0, MD_LEVEL_TOLERANCE_LU + 0.01);
    CHECK_NEAR(lufs, pl.lufs, 0.001);
    CHECK(peak <= -1.0 + 1e-3);
    CHECK(err < 1e-6);

    /* a 3 dB cap on the limiter's depth: short of the target, by the cap's rules */
    CHECK(md_level_plan_make(ctx, -16.0, 3.0, probe, &s, &pl) == MD_OK);
    measure_plan(&s, &pl, &lufs, &peak, &err);
    CHECK(lufs < -16.5 && peak <= -1.0 + 1e-3);

    /* a quiet target needs no limiter: plain attenuation */
    CHECK(md_level_plan_make(ctx, -40.0, 20.0, probe, &s, &pl) == MD_OK);
    CHECK(!pl.limit && pl.gain < 1.0);
    measure_plan(&s, &pl, &lufs, &peak, &err);
    CHECK_NEAR(lufs, -40.0, 0.01);

    /* no target, outputs too hot: the level stays (gain 1), the limiter takes the peaks */
    for (size_t i = 0; i < N; i++) s.stem[1][i] *= 4.0f, s.mix[i] = s.stem[0][i] + s.stem[1][i];
    CHECK(md_level_plan_make(ctx, NAN, 20.0, probe, &s, &pl) == MD_OK);
    CHECK(pl.limit && pl.gain == 1.0);
    measure_plan(&s, &pl, &lufs, &peak, &err);
    CHECK(peak <= -1.0 + 1e-3);

    free(s.stem[0]), free(s.stem[1]), free(s.mix), free(s.det), free(s.env);
    md_ctx_destroy(ctx);
    return md_test_finish();
}
