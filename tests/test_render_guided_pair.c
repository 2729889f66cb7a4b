/* Classifier-free guidance through the optional pair entry points
 * (md_predict_v_pair_fn, md_denoiser.predict_v_pair): with guidance != 1 a
 * step makes ONE pair call instead of two single calls, with guidance 1 only
 * the conditional single call, and a denoiser without the pair entry still
 * renders (two calls per step). The analytic denoisers here give the
 * conditional and the unconditional branch different answers, so a pair that
 * swapped or dropped a branch would change the result. */
#include <math.h>
#include <string.h>

#include "diffusion/sampler.h"
#include "fixtures/midi/smf_builder.h"
#include "core/fileout.h"
#include "render/render.h"
#include "render/render_internal.h"
#include "render/segments.h"
#include "render_test_denoiser.h"
#include "test_util.h"

/* ---- the sampler alone ------------------------------------------------------------ */

typedef struct counts {
    int cond, uncond, pair;
} counts;

/* A point-mass model per branch: x0 = 1 conditional, x0 = -0.5 unconditional. */
static void branch_v(const float *x, size_t n, float t, int conditional, float *v)
{
    double a = cos(M_PI / 2 * t), s = sin(M_PI / 2 * t), x0 = conditional ? 1.0 : -0.5;
    for (size_t i = 0; i < n; i++) v[i] = (float)((a * x[i] - x0) / s);
}

static md_status single_fn(void *user, const float *x, size_t n, float t, int conditional, float *v)
{
    counts *c = user;
    conditional ? c->cond++ : c->uncond++;
    branch_v(x, n, t, conditional, v);
    return MD_OK;
}

static md_status pair_fn(void *user, const float *x, size_t n, float t, float *vc, float *vu)
{
    counts *c = user;
    c->pair++;
    branch_v(x, n, t, 1, vc);
    branch_v(x, n, t, 0, vu);
    return MD_OK;
}

static void test_sampler(md_ctx *ctx)
{
    enum { N = 64 };
    float a[N], b[N];
    md_rng_key k = {7, 0, 0, 0};
    for (int kind = 0; kind < 2; kind++) {
        md_sampler_cfg cfg = {(md_sampler_kind)kind, 5, 1.5f, NULL, NULL, 0, 0, NULL, 0};
        counts two = {0, 0, 0}, one = {0, 0, 0};
        CHECK(md_sample(ctx, &cfg, &k, N, single_fn, &two, a) == MD_OK);
        CHECK(md_sample_guided(ctx, &cfg, &k, N, single_fn, pair_fn, &one, b) == MD_OK);
        CHECK(two.cond == 5 && two.uncond == 5 && two.pair == 0);
        CHECK(one.cond == 0 && one.uncond == 0 && one.pair == 5);
        CHECK(memcmp(a, b, sizeof a) == 0);
        /* guidance 1.5 extrapolates past the conditional point mass: 1 + 0.5 (1 - (-0.5)) */
        CHECK_NEAR(b[0], 1.75, 1e-3);
        cfg.guidance = 1.0f;
        counts plain = {0, 0, 0};
        CHECK(md_sample_guided(ctx, &cfg, &k, N, single_fn, pair_fn, &plain, b) == MD_OK);
        CHECK(plain.cond == 5 && plain.uncond == 0 && plain.pair == 0);
        CHECK_NEAR(b[0], 1.0, 1e-3);
    }
}

/* ---- through the renderer's denoiser interface ------------------------------------ */

static md_status den_single(void *impl, md_ctx *ctx, const float *x, size_t frames, float t, const md_cond *cond,
                            int conditional, float *v)
{
    (void)ctx;
    return single_fn(impl, x, (size_t)cond->n_mels * frames, t, conditional, v);
}

static md_status den_pair(void *impl, md_ctx *ctx, const float *x, size_t frames, float t, const md_cond *cond,
                          float *vc, float *vu)
{
    (void)ctx;
    return pair_fn(impl, x, (size_t)cond->n_mels * frames, t, vc, vu);
}

static md_denoiser make_den(counts *c, int with_pair)
{
    md_denoiser d = test_denoiser(c, "test", den_single);
    d.predict_v_pair = with_pair ? den_pair : NULL;
    return d;
}

static void write_song(const char *path)
{
    static smf_buf b;
    memset(&b, 0, sizeof b);
    smf_header(&b, 0, 1, 96);
    size_t t = smf_track_begin(&b);
    for (int i = 0; i < 8; i++) {
        EV(&b, 0, 0x90, (uint8_t)(60 + i), 100);
        EV(&b, 96, 0x80, (uint8_t)(60 + i), 0);
    }
    EV(&b, 0, 0xFF, 0x2F, 0x00);
    smf_track_end(&b, t);
    md_write_file_atomic(NULL, path, 1, b.d, b.n);
}

/* Renders one stem with the given denoiser; returns the image (caller frees). */
static float *render(md_ctx *ctx, const md_score *sc, md_denoiser *den, float guidance, size_t T, size_t *nseg,
                     int all_steps)
{
    md_render_opts o;
    md_render_opts_default(&o);
    o.steps = 3;
    o.guidance = guidance;
    if (all_steps) o.guide_t_lo = o.guide_t_hi = 0; /* else the default interval */
    o.segment_frames = 64;
    o.overlap_frames = 16;
    float *img = malloc((size_t)128 * T * sizeof *img);
    if (!img) return NULL;
    md_status s = md_render_stem_logmel(ctx, &o, den, &sc->stems[0], 0, 0, 1, T, img);
    CHECK_MSG(s == MD_OK, "render: %s", md_ctx_error(ctx));
    md_segment_plan plan;
    *nseg = 0;
    if (md_segment_plan_make(ctx, T, 64, 16, 8, &plan) == MD_OK) {
        *nseg = plan.count;
        md_segment_plan_free(&plan);
    }
    return img;
}

static void test_render(md_ctx *ctx)
{
    char midi[512];
    snprintf(midi, sizeof midi, "%s/guided_pair.mid", MD_TEST_TMP);
    write_song(midi);
    md_score *sc = NULL;
    CHECK(md_score_load_file(ctx, midi, NULL, &sc) == MD_OK);
    if (!sc) return;
    counts two = {0, 0, 0}, one = {0, 0, 0}, plain = {0, 0, 0};
    md_denoiser fallback = make_den(&two, 0), paired = make_den(&one, 1), plain_den = make_den(&plain, 1);
    size_t T = md_cond_frames_for_seconds(&fallback.mc, sc->length + 1.0), nseg = 0;
    float *a = render(ctx, sc, &fallback, 1.5f, T, &nseg, 1);
    float *b = render(ctx, sc, &paired, 1.5f, T, &nseg, 1);
    float *c = render(ctx, sc, &plain_den, 1.0f, T, &nseg, 1);
    int steps = 3 * (int)nseg;
    CHECK(nseg > 1); /* several segments: held overlaps go through the pair too */
    CHECK_MSG(two.cond == steps && two.uncond == steps && two.pair == 0, "fallback: %d cond %d uncond %d pair",
              two.cond, two.uncond, two.pair);
    CHECK_MSG(one.cond == 0 && one.uncond == 0 && one.pair == steps, "pair: %d cond %d uncond %d pair", one.cond,
              one.uncond, one.pair);
    CHECK(plain.cond == steps && plain.uncond == 0 && plain.pair == 0);
    if (a && b && c) {
        CHECK(memcmp(a, b, (size_t)128 * T * sizeof *a) == 0);
        CHECK(memcmp(a, c, (size_t)128 * T * sizeof *a) != 0); /* guidance changed the image */
    }
    /* The default guidance interval (t >= 0.55): of 3 steps at t = 0.999,
     * 0.666, 0.333 the first two are guided pairs, the last conditional only;
     * the image differs from guiding every step. */
    counts part = {0, 0, 0};
    md_denoiser part_den = make_den(&part, 1);
    float *d = render(ctx, sc, &part_den, 1.5f, T, &nseg, 0);
    CHECK_MSG(part.pair == 2 * (int)nseg && part.cond == (int)nseg && part.uncond == 0,
              "default interval: %d cond %d uncond %d pair", part.cond, part.uncond, part.pair);
    if (b && d) CHECK(memcmp(b, d, (size_t)128 * T * sizeof *b) != 0);
    free(a), free(b), free(c), free(d);
    md_score_free(sc);
}

int main(void)
{
    md_ctx *ctx = NULL;
    md_ctx_create(&ctx);
    test_sampler(ctx);
    test_render(ctx);
    md_ctx_destroy(ctx);
    return md_test_finish();
}
