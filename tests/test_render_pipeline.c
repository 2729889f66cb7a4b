/* The render pipeline end to end with an analytic denoiser: a point-mass
 * model whose every prediction points at a known target log-mel (drawn from
 * the conditioning's harmonic image). Any correct sampler returns exactly the
 * target, so the test checks the plumbing: segments and held overlaps line
 * up, stems are aligned and complete, the mix and manifest are written, and
 * failures leave nothing behind. (The real U-Net plugs into the same
 * md_denoiser interface.) */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include "audio/audio_io.h"
#include "audio/logmel.h"
#include "core/fileout.h"
#include "fixtures/midi/smf_builder.h"
#include "audio/loudness.h"
#include "render/render.h"
#include "render/render_internal.h"
#include "render_test_denoiser.h"
#include "render_test_util.h"
#include "test_util.h"

typedef struct oracle {
    int fail_after; /* predictions before an injected failure; < 0 never */
    int calls;
    struct oracle *partner; /* if set: the first call waits (up to 10 s) until the partner has been
                             * called, so two workers surely render a stem each */
} oracle;

static void wait_for_partner(oracle *o)
{
    if (!o->partner) return;
    struct timespec ms = {0, 1000000};
    for (int i = 0; i < 10000 && __atomic_load_n(&o->partner->calls, __ATOMIC_SEQ_CST) == 0; i++) nanosleep(&ms, NULL);
    o->partner = NULL;
}

/* Target in the normalised domain: loud where the harmonic image is lit. */
static float target(const md_cond *c, size_t r, size_t t)
{
    float h = c->harmonic[r * c->n_frames + t];
    float logmel = logf(fmaxf(h * 0.3f, 1e-5f));
    return (logmel - (-6.0f)) / 3.0f;
}

static md_status oracle_v(void *impl, md_ctx *ctx, const float *x, size_t frames, float t, const md_cond *cond,
                          int conditional, float *v)
{
    oracle *o = impl;
    int n = __atomic_fetch_add(&o->calls, 1, __ATOMIC_SEQ_CST);
    wait_for_partner(o);
    if (o->fail_after >= 0 && n >= o->fail_after) return md_fail(ctx, MD_ERR_GPU, "injected device loss");
    double a = cos(M_PI / 2 * t), s = sin(M_PI / 2 * t);
    for (size_t r = 0; r < (size_t)cond->n_mels; r++)
        for (size_t f = 0; f < frames; f++) {
            size_t i = r * frames + f;
            v[i] = (float)((a * x[i] - target(cond, r, f)) / s);
        }
    (void)conditional;
    return MD_OK;
}

static md_denoiser make_oracle(oracle *o)
{
    return test_denoiser(o, "test oracle", oracle_v);
}

/* 2 tracks: a piano phrase and a drum groove, 3 seconds at 120 bpm. */
static void write_song(const char *path)
{
    static smf_buf b;
    memset(&b, 0, sizeof b);
    smf_header(&b, 1, 2, 96);
    size_t t = smf_track_begin(&b);
    EV(&b, 0, 0xC0, 0);
    for (int i = 0; i < 6; i++) {
        EV(&b, 0, 0x90, (uint8_t)(60 + 2 * i), 100);
        EV(&b, 96, 0x80, (uint8_t)(60 + 2 * i), 0);
    }
    EV(&b, 0, 0xFF, 0x2F, 0x00);
    smf_track_end(&b, t);
    t = smf_track_begin(&b);
    for (int i = 0; i < 12; i++) {
        EV(&b, 0, 0x99, (uint8_t)(i % 2 ? 38 : 36), 110);
        EV(&b, 48, 0x89, (uint8_t)(i % 2 ? 38 : 36), 0);
    }
    EV(&b, 0, 0xFF, 0x2F, 0x00);
    smf_track_end(&b, t);
    md_write_file_atomic(NULL, path, 1, b.d, b.n);
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d) return 0;
    for (struct dirent *e; (e = readdir(d));) n += e->d_name[0] != '.' || strlen(e->d_name) > 2;
    closedir(d);
    return n;
}

static md_render_opts fast_opts(const char *midi, const char *out)
{
    md_render_opts o;
    md_render_opts_default(&o);
    o.midi_path = midi;
    o.out_dir = out;
    o.steps = 3;
    o.segment_frames = 64;
    o.overlap_frames = 16;
    o.gl.iters = 4;
    return o;
}

/* Stem 0's sampled image equals the oracle's target across every segment
 * seam, shifted by `step_db` from `step_at` seconds on. With step_db != 0
 * the stem gets a volume step there (CC7 100 -> 100 * 10^(step_db / 40)),
 * which must reach the image as FluidSynth's gain (cond.h, "Level curves"). */
static void check_stem_image(md_ctx *ctx, const char *midi, double step_at, double step_db)
{
    md_score *sc = NULL;
    CHECK(md_score_load_file(ctx, midi, NULL, &sc) == MD_OK);
    if (!sc) return;
    oracle orc = {-1, 0, NULL};
    md_denoiser den = make_oracle(&orc);
    md_render_opts o = fast_opts(midi, "unused");
    size_t T = md_cond_frames_for_seconds(&den.mc, sc->length + 1.0);
    md_stem *st = &sc->stems[0];
    md_curve saved = st->volume;
    md_ctrl_point pts[2] = {{0.0, 100.0f / 127}, {step_at, (float)(100.0 / 127 * pow(10, step_db / 40))}};
    if (step_db != 0) st->volume = (md_curve){pts, 2};
    float *img = malloc((size_t)128 * T * sizeof *img);
    CHECK(md_render_stem_logmel(ctx, &o, &den, st, 0, 0, 1, T, img) == MD_OK);
    md_cond whole;
    CHECK(md_cond_build(ctx, st, &den.mc, T, &whole) == MD_OK);
    double fr = den.mc.sample_rate / (double)den.mc.hop, maxerr = 0;
    float gain = (float)(step_db * M_LN10 / 20);
    for (size_t r = 0; r < 128; r++)
        for (size_t t = 0; t < T; t++) {
            float want = target(&whole, r, t) * 3.0f - 6.0f + (t / fr >= step_at ? gain : 0.0f);
            maxerr = fmax(maxerr, fabs(img[r * T + t] - fmaxf(want, logf(1e-5f))));
        }
    CHECK_MSG(maxerr < 1e-3, "stem image (volume step %g dB) differs from target by %g over %zu frames",
              step_db, maxerr, T);
    st->volume = saved;
    md_cond_free(&whole);
    free(img);
    md_score_free(sc);
}

static void test_full_render(md_ctx *ctx, const char *midi, const char *out)
{
    oracle orc = {-1, 0, NULL};
    md_denoiser den = make_oracle(&orc);
    md_render_opts o = fast_opts(midi, out);
    md_render_report rep;
    md_status s = md_render_run(ctx, &o, &den, &rep);
    CHECK_MSG(s == MD_OK, "%s", md_ctx_error(ctx));
    CHECK(rep.n_stems_rendered == 2);
    char p[1024];
    size_t n[2] = {0, 0};
    const char *names[2] = {"stems/01-acoustic-grand-piano.wav", "stems/02-standard-kit.wav"};
    for (int i = 0; i < 2; i++) {
        snprintf(p, sizeof p, "%s/%s", out, names[i]);
        float *y = NULL;
        int rate = 0;
        CHECK_MSG(md_audio_read_mono(ctx, p, 48000, &y, &n[i], &rate) == MD_OK, "%s", md_ctx_error(ctx));
        CHECK(rate == 48000);
        free(y);
    }
    CHECK(n[0] > 0 && n[0] == n[1]); /* sample-aligned, same length */
    CHECK(n[0] == (size_t)ceil(rep.seconds * 48000 - 1e-6));
    snprintf(p, sizeof p, "%s/render.json", out);
    unsigned char *text = NULL;
    size_t len = 0;
    CHECK(md_read_file(ctx, p, 1 << 20, MD_ERR_INPUT, &text, &len) == MD_OK);
    cJSON *j = text ? cJSON_ParseWithLength((const char *)text, len) : NULL;
    CHECK(j && cJSON_GetArraySize(cJSON_GetObjectItem(j, "stems")) == 2);
    CHECK(j && strlen(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "input"), "sha256")->valuestring) == 64);
    cJSON_Delete(j);
    free(text);
    snprintf(p, sizeof p, "%s/stems", out);
    CHECK(count_files(p) == 4); /* 2 wav + 2 png, no temporaries */
    CHECK(count_files(out) == 4); /* mix.wav, mix.png, render.json, stems/ */
    /* A second render without force is refused and changes nothing. */
    CHECK(md_render_run(ctx, &o, &den, &rep) == MD_ERR_IO);
    CHECK(strstr(md_ctx_error(ctx), "already holds a render") != NULL);
}

/* Reads out/name as 48 kHz floats. */
static float *read_out(md_ctx *ctx, const char *out, const char *name, size_t *n)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", out, name);
    float *y = NULL;
    int rate = 0;
    CHECK_MSG(md_audio_read_mono(ctx, p, 48000, &y, n, &rate) == MD_OK, "%s", md_ctx_error(ctx));
    return y;
}

/* The mix level (render_mix.c): a loud target is reached through the common
 * limiter, every file stays under -1 dBTP and the stems still sum to the mix
 * to 24-bit precision; with the limiter off the peak-safe gain stops short. */
static void test_level(md_ctx *ctx, const char *midi, const char *out, double limit_db, double *mix_lufs)
{
    oracle orc = {-1, 0, NULL};
    md_denoiser den = make_oracle(&orc);
    md_render_opts o = fast_opts(midi, out);
    o.lufs = -12.0;
    o.limit_db = limit_db;
    o.force = 1;
    CHECK_MSG(md_render_run(ctx, &o, &den, NULL) == MD_OK, "%s", md_ctx_error(ctx));
    size_t n[3] = {0, 0, 0};
    float *y[3] = {read_out(ctx, out, "stems/01-acoustic-grand-piano.wav", &n[0]),
                   read_out(ctx, out, "stems/02-standard-kit.wav", &n[1]), read_out(ctx, out, "mix.wav", &n[2])};
    double err = 0, peak = 0;
    md_loudness l = {0};
    for (int k = 0; k < 3 && y[k]; k++) {
        CHECK(md_loudness_measure(ctx, y[k], n[k], 48000, &l) == MD_OK);
        peak = fmax(peak, l.true_peak);
    }
    for (size_t i = 0; y[0] && y[1] && y[2] && i < n[2]; i++) err = fmax(err, fabs((double)y[0][i] + y[1][i] - y[2][i]));
    CHECK_MSG(err <= 3.0 / (1 << 23), "stems sum to the mix within %g", err);
    CHECK_MSG(20 * log10(peak) <= -1.0 + 0.01, "true peak %.2f dBTP", 20 * log10(peak));
    *mix_lufs = l.integrated_lufs;
    for (int k = 0; k < 3; k++) free(y[k]);
}

static void test_failures(md_ctx *ctx, const char *midi, const char *out)
{
    oracle orc = {5, 0, NULL}; /* fails in the middle of the first stem */
    md_denoiser den = make_oracle(&orc);
    md_render_opts o = fast_opts(midi, out);
    CHECK(md_render_run(ctx, &o, &den, NULL) == MD_ERR_GPU);
    CHECK(count_files(out) == 0); /* no partial output, no temporary directory */
    orc.fail_after = -1;
    o.max_seconds = 1.0;
    CHECK(md_render_run(ctx, &o, &den, NULL) == MD_ERR_LIMIT);
    o.max_seconds = 900;
    o.stems = "7,flute";
    CHECK(md_render_run(ctx, &o, &den, NULL) == MD_ERR_USAGE);
    o.stems = "2";
    CHECK(md_render_run(ctx, &o, &den, NULL) == MD_OK);
    char p[1024];
    snprintf(p, sizeof p, "%s/stems", out);
    CHECK(count_files(p) == 2);
}

/* Byte-identical files from 1 and 2 workers (md_render_run_workers); a
 * failure in the second worker's denoiser reaches the caller's context and
 * leaves no output; progress arrives for every segment of every stem. */
static int progress_calls;
static void count_progress(void *user, const md_render_progress *p)
{
    (void)user, (void)p;
    progress_calls++; /* unsynchronised on purpose: the pool serialises callbacks */
}

static void test_workers(md_ctx *ctx, const char *midi, const char *out1, const char *out2)
{
    oracle orc[2] = {{-1, 0, NULL}, {-1, 0, NULL}};
    md_denoiser d0 = make_oracle(&orc[0]), d1 = make_oracle(&orc[1]);
    md_denoiser *dens[2] = {&d0, &d1};
    md_ctx *c1 = NULL;
    md_ctx_create(&c1);
    md_ctx *ctxs[2] = {ctx, c1};
    md_render_opts o = fast_opts(midi, out1);
    o.force = 1;
    o.progress = count_progress;
    CHECK_MSG(md_render_run_workers(ctx, &o, dens, ctxs, 1, NULL) == MD_OK, "%s", md_ctx_error(ctx));
    int calls_one = progress_calls;
    progress_calls = 0;
    o.out_dir = out2;
    orc[0].partner = &orc[1];
    CHECK_MSG(md_render_run_workers(ctx, &o, dens, ctxs, 2, NULL) == MD_OK, "%s", md_ctx_error(ctx));
    CHECK_MSG(progress_calls == calls_one, "progress: %d calls with 2 workers, %d with 1", progress_calls, calls_one);
    CHECK(orc[1].calls > 0); /* the second worker rendered a stem */
    const char *files[] = {"mix.wav", "stems/01-acoustic-grand-piano.wav", "stems/02-standard-kit.wav",
                           "stems/01-acoustic-grand-piano.png"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char a[1024], b[1024];
        snprintf(a, sizeof a, "%s/%s", out1, files[i]);
        snprintf(b, sizeof b, "%s/%s", out2, files[i]);
        CHECK_MSG(same_file(a, b), "%s differs between 1 and 2 workers", files[i]);
    }
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", out2);
    CHECK(system(cmd) == 0);
    orc[1].fail_after = 2, orc[1].calls = 0;
    orc[0].partner = &orc[1];
    md_ctx_clear_error(ctx);
    o.progress = NULL;
    CHECK(md_render_run_workers(ctx, &o, dens, ctxs, 2, NULL) == MD_ERR_GPU);
    CHECK_MSG(strstr(md_ctx_error(ctx), "injected device loss") != NULL, "%s", md_ctx_error(ctx));
    CHECK(count_files(out2) == 0);
    CHECK(md_render_run_workers(ctx, &o, dens, ctxs, 0, NULL) == MD_ERR_USAGE);
    md_ctx_destroy(c1);
}

int main(void)
{
    md_ctx *ctx = NULL;
    md_ctx_create(&ctx);
    char midi[512], out[512], out2[512];
    snprintf(midi, sizeof midi, "%s/render_song.mid", MD_TEST_TMP);
    snprintf(out, sizeof out, "%s/render_out", MD_TEST_TMP);
    snprintf(out2, sizeof out2, "%s/render_out_fail", MD_TEST_TMP);
    write_song(midi);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", out, out2);
    CHECK(system(cmd) == 0);
    check_stem_image(ctx, midi, 0.0, 0.0);
    check_stem_image(ctx, midi, 1.5, 40 * log10(64.0 / 100)); /* CC7 100 -> 64 at 1.5 s */
    test_full_render(ctx, midi, out);
    test_failures(ctx, midi, out2);
    char w1[512], w2[512];
    snprintf(w1, sizeof w1, "%s/render_w1", MD_TEST_TMP);
    snprintf(w2, sizeof w2, "%s/render_w2", MD_TEST_TMP);
    test_workers(ctx, midi, w1, w2);
    double limited = 0, plain = 0;
    /* the oracle's drum hits stand about 30 dB above its loudness */
    test_level(ctx, midi, out2, 40.0, &limited);
    CHECK_MSG(fabs(limited + 12.0) <= 0.1, "limited mix at %.2f LUFS, not -12", limited);
    test_level(ctx, midi, out2, 0.0, &plain);
    CHECK_MSG(plain < -20.0, "peak-safe mix at %.2f LUFS", plain);
    md_ctx_destroy(ctx);
    return md_test_finish();
}
