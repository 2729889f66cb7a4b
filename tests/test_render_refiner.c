/* A refiner (a model whose conditioning image is the note bank's drawing,
 * unet.h "cond_image") in the render, with an analytic denoiser: an
 * identity refiner that predicts x0 = its conditioning image. Shallow
 * diffusion from the drawing must then return the drawing exactly, which
 * holds only if the renderer hands the refiner the drawing, normalised as
 * x, in place of the harmonic image, segment by segment. The same denoiser
 * flagged as an ordinary model sees the harmonic image and must not. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/fileout.h"
#include "fixtures/midi/smf_builder.h"
#include "notebank/notebank.h"
#include "render/render.h"
#include "render/render_internal.h"
#include "render_test_denoiser.h"
#include "render_test_util.h"
#include "test_util.h"

#define BANK MD_SOURCE_DIR "/models/notebank.safetensors"

static int calls;

/* x0 = the conditioning image (point mass): v = (alpha x - x0) / sigma. */
static md_status identity_v(void *impl, md_ctx *ctx, const float *x, size_t frames, float t, const md_cond *cond,
                            int conditional, float *v)
{
    (void)impl, (void)ctx, (void)conditional;
    calls++;
    double a = cos(M_PI / 2 * t), s = sin(M_PI / 2 * t);
    for (size_t i = 0; i < (size_t)cond->n_mels * frames; i++) v[i] = (float)((a * x[i] - cond->harmonic[i]) / s);
    return MD_OK;
}

/* A strings chord under a moving bass, 4 s: several segments of 64 frames. */
static void write_song(const char *path)
{
    static smf_buf b;
    memset(&b, 0, sizeof b);
    smf_header(&b, 1, 2, 96);
    size_t t = smf_track_begin(&b);
    EV(&b, 0, 0xC0, 48);
    EV(&b, 0, 0x90, 60, 90);
    EV(&b, 0, 0x90, 64, 90);
    EV(&b, 0, 0x90, 67, 90);
    EV(&b, 384, 0x80, 60, 0);
    EV(&b, 0, 0x80, 64, 0);
    EV(&b, 0, 0x80, 67, 0);
    EV(&b, 0, 0xFF, 0x2F, 0x00);
    smf_track_end(&b, t);
    t = smf_track_begin(&b);
    EV(&b, 0, 0xC1, 33);
    for (int i = 0; i < 8; i++) {
        EV(&b, 0, 0x91, (uint8_t)(36 + (i % 4) * 2), 110);
        EV(&b, 48, 0x81, (uint8_t)(36 + (i % 4) * 2), 0);
    }
    EV(&b, 0, 0xFF, 0x2F, 0x00);
    smf_track_end(&b, t);
    md_write_file_atomic(NULL, path, 1, b.d, b.n);
}

static float *stem_image(md_ctx *ctx, md_render_opts *o, md_denoiser *den, md_stem *st, size_t T)
{
    float *img = malloc((size_t)den->mc.n_mels * T * sizeof *img);
    md_status s = md_render_stem_logmel(ctx, o, den, st, 0, 0, 1, T, img);
    CHECK_MSG(s == MD_OK, "%s", md_ctx_error(ctx));
    return img;
}

static double max_diff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(a[i] - b[i]));
    return m;
}

static void test_stems(md_ctx *ctx, const md_notebank *nb, const char *midi)
{
    md_score *sc = NULL;
    CHECK(md_score_load_file(ctx, midi, NULL, &sc) == MD_OK);
    if (!sc) return;
    md_denoiser den = test_denoiser(NULL, "identity refiner", identity_v);
    den.data_mean = -8.0f;
    den.data_std = 2.8f;
    md_render_opts o = render_test_opts(midi, "unused", 4);
    o.prior = nb;
    size_t T = md_cond_frames_for_seconds(&den.mc, sc->length + 1.0), n = (size_t)den.mc.n_mels * T;
    for (size_t si = 0; si < sc->n_stems; si++) {
        md_stem *st = &sc->stems[si];
        o.prior_t = 0.0f; /* the drawing alone */
        float *drawn = stem_image(ctx, &o, &den, st, T);
        den.cond_notebank = 1;
        den.t_max = 0.5f;
        o.prior_t = 0.4f;
        calls = 0;
        float *refined = stem_image(ctx, &o, &den, st, T);
        CHECK_MSG(calls >= 4, "stem %zu: the refiner ran %d times", si, calls);
        double d = max_diff(drawn, refined, n);
        CHECK_MSG(d < 2e-3, "stem %zu: the identity refiner moved the drawing by %g nats", si, d);
        den.cond_notebank = 0; /* an ordinary model gets the harmonic image instead */
        float *other = stem_image(ctx, &o, &den, st, T);
        d = max_diff(drawn, other, n);
        CHECK_MSG(d > 1.0, "stem %zu: a model given the harmonic image came out as the drawing (%g)", si, d);
        free(drawn);
        free(refined);
        free(other);
    }
    md_score_free(sc);
}

/* A refiner without a bank is a usage error that writes nothing. */
static void test_needs_bank(md_ctx *ctx, const char *midi, const char *out)
{
    md_denoiser den = test_denoiser(NULL, "identity refiner", identity_v);
    den.cond_notebank = 1;
    den.t_max = 0.5f;
    snprintf(den.model_path, sizeof den.model_path, "refiner.safetensors");
    md_render_opts o = render_test_opts(midi, out, 4);
    CHECK(md_render_run(ctx, &o, &den, NULL) == MD_ERR_USAGE);
    CHECK(strstr(md_ctx_error(ctx), "refiner.safetensors") != NULL);
    CHECK(strstr(md_ctx_error(ctx), "note bank") != NULL);
    md_ctx_clear_error(ctx);
    char manifest[1024];
    snprintf(manifest, sizeof manifest, "%s/render.json", out);
    FILE *f = fopen(manifest, "rb");
    CHECK(f == NULL);
    if (f) fclose(f);
}

int main(void)
{
    md_ctx *ctx = NULL;
    md_ctx_create(&ctx);
    const char *midi = MD_TEST_TMP "/refiner_song.mid";
    write_song(midi);
    md_notebank *nb = NULL;
    CHECK_MSG(md_notebank_open(ctx, BANK, &nb) == MD_OK, "%s", md_ctx_error(ctx));
    if (nb) test_stems(ctx, nb, midi);
    test_needs_bank(ctx, midi, MD_TEST_TMP "/refiner_out");
    md_notebank_close(nb);
    md_ctx_destroy(ctx);
    return md_test_finish();
}
