/* Silent segments (md_render_opts.silence_seconds): a stem that rests for
 * eight seconds is left at the floor there without calling the model, and
 * exactly the segments the rule names are skipped: those where none of the
 * stem's notes sounds, nor ended less than silence_seconds before. The
 * segments before the rest are the same images as with skipping off; with
 * skipping off every segment is sampled. The manifest counts them. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/fileout.h"
#include "fixtures/midi/smf_builder.h"
#include "render/render.h"
#include "render/render_internal.h"
#include "render/segments.h"
#include "render_test_denoiser.h"
#include "test_util.h"

typedef struct counter {
    int calls;
} counter;

/* N(mean, 0.5^2) data per bin, mean drawn from the harmonic image: the
 * image depends on the noise and on the conditioning. */
static md_status gauss_v(void *impl, md_ctx *ctx, const float *x, size_t frames, float t, const md_cond *c,
                         int conditional, float *v)
{
    (void)ctx;
    ((counter *)impl)->calls++;
    double a = cos(M_PI / 2 * t), s = sin(M_PI / 2 * t), sd = conditional ? 0.5 : 1.0;
    for (size_t i = 0; i < (size_t)c->n_mels * frames; i++) {
        double mu = conditional ? c->harmonic[i] * 2.0 - 1.0 : 0.0;
        double x0 = mu + a * sd * sd * (x[i] - a * mu) / (a * a * sd * sd + s * s);
        v[i] = (float)((a * x[i] - x0) / s);
    }
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

static md_render_opts opts(const char *midi, const char *out)
{
    md_render_opts o;
    md_render_opts_default(&o);
    o.midi_path = midi;
    o.out_dir = out;
    o.steps = 2;
    o.segment_frames = 64;
    o.overlap_frames = 16;
    o.gl.iters = 2;
    o.force = 1;
    return o;
}

/* The rule, spelt out: segment [a, b) s is silent when every note ends
 * `ring` s or more before a, or starts at or after b. */
static size_t expected_silent(const md_stem *st, const md_segment_plan *plan, double fps, double ring)
{
    size_t n = 0;
    for (size_t i = 0; i < plan->count; i++) {
        double a = plan->seg[i].start / fps, b = (plan->seg[i].start + plan->seg[i].frames) / fps;
        int sounds = 0;
        for (size_t k = 0; k < st->n_notes; k++) sounds |= st->notes[k].start < b && st->notes[k].end + ring > a;
        n += !sounds;
    }
    return n;
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
    md_render_opts o = opts(midi, NULL);
    double fps = (double)den.mc.sample_rate / den.mc.hop;
    size_t T = (size_t)(11.0 * fps), rows = (size_t)den.mc.n_mels;
    md_segment_plan plan;
    if (md_segment_plan_make(ctx, T, 64, 16, 8, &plan) != MD_OK) exit(1);
    size_t want = expected_silent(&sc->stems[0], &plan, fps, o.silence_seconds);
    CHECK_MSG(want >= 5, "the rest should cover several segments (%zu)", want);
    float *skip = malloc(rows * T * sizeof *skip), *full = malloc(rows * T * sizeof *full);
    if (!skip || !full) exit(1);
    md_stem_job job = {&sc->stems[0], 0, 0, skip, 0, 0};
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
    /* skipping off: every segment sampled; before the rest, the same image */
    c.calls = 0;
    o.silence_seconds = -1;
    job.logmel = full;
    CHECK(md_render_group_logmel(ctx, &o, &den, &job, 1, 1, T) == MD_OK);
    CHECK(job.silent_segments == 0 && c.calls == 2 * o.steps * (int)plan.count);
    size_t first_silent = (size_t)(3.0 * fps) - 64; /* the rest starts at 1 s + 2 s of ring */
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
    md_render_opts o = opts(midi, MD_TEST_TMP "/silence_out");
    CHECK_MSG(md_render_run(ctx, &o, &den, NULL) == MD_OK, "%s", md_ctx_error(ctx));
    char buf[65536];
    FILE *fp = fopen(MD_TEST_TMP "/silence_out/render.json", "rb");
    size_t n = fp ? fread(buf, 1, sizeof buf - 1, fp) : 0;
    if (fp) fclose(fp);
    buf[n] = '\0';
    cJSON *j = cJSON_Parse(buf);
    const cJSON *stems = cJSON_GetObjectItemCaseSensitive(j, "stems");
    const cJSON *s0 = cJSON_GetArrayItem(stems, 0), *s1 = cJSON_GetArrayItem(stems, 1);
    const cJSON *q0 = cJSON_GetObjectItemCaseSensitive(s0, "silent_segments");
    const cJSON *q1 = cJSON_GetObjectItemCaseSensitive(s1, "silent_segments");
    const cJSON *n0 = cJSON_GetObjectItemCaseSensitive(s0, "segments");
    CHECK(cJSON_IsNumber(q0) && q0->valueint >= 5 && cJSON_IsNumber(n0) && n0->valueint > q0->valueint);
    CHECK(cJSON_IsNumber(q1) && q1->valueint == 0); /* the bass plays all through */
    const cJSON *set = cJSON_GetObjectItemCaseSensitive(j, "settings");
    const cJSON *ss = cJSON_GetObjectItemCaseSensitive(set, "skip_silence_seconds");
    CHECK(cJSON_IsNumber(ss) && ss->valuedouble == 2.0);
    cJSON_Delete(j);
}

int main(void)
{
    md_ctx *ctx = NULL;
    if (md_ctx_create(&ctx) != MD_OK) return 1;
    const char *midi = MD_TEST_TMP "/silence_song.mid";
    write_song(midi);
    test_stem(ctx, midi);
    test_manifest(ctx, midi);
    md_ctx_destroy(ctx);
    return md_test_finish();
}
