/* Stems sampled in lockstep (md_render_group_logmel, md_render_opts.batch_stems):
 * every stem's image must equal its one-at-a-time render bit for bit, the
 * denoiser must see one call per segment and step for the whole group, and
 * whole renders with groups of 2 and 3 must write the same files as groups
 * of 1 -- with an analytic denoiser whose answer depends on the noise (a
 * Gaussian per bin, so a stem given another stem's noise key would differ)
 * and on the stem's own conditioning, and with the tiny U-Net fixture on the
 * CPU backend. The group's stems vocoded on several threads
 * (md_render_opts.vocode_jobs) give the same files again, and a failure on
 * one of those threads reaches the caller. A denoiser without a batch entry
 * renders one stem at a time whatever batch_stems says. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/fileout.h"
#include "fixtures/midi/smf_builder.h"
#include "nn/unet_denoiser.h"
#include "render/render.h"
#include "render/render_internal.h"
#include "render_test_denoiser.h"
#include "render_test_util.h"
#include "test_util.h"

typedef struct gauss {
    int single, batch;
} gauss;

static md_status den_single(void *impl, md_ctx *ctx, const float *x, size_t frames, float t, const md_cond *cond,
                            int conditional, float *v)
{
    (void)ctx;
    ((gauss *)impl)->single++;
    render_test_gauss_v(x, frames, t, cond, conditional, v);
    return MD_OK;
}

static md_status den_batch(void *impl, md_ctx *ctx, int items, const float *x, size_t frames, float t,
                           const md_cond *const *cond, float *vc, float *vu)
{
    (void)ctx;
    ((gauss *)impl)->batch++;
    size_t n = (size_t)cond[0]->n_mels * frames;
    for (int b = 0; b < items; b++) {
        render_test_gauss_v(x + b * n, frames, t, cond[b], 1, vc + b * n);
        if (vu) render_test_gauss_v(x + b * n, frames, t, cond[b], 0, vu + b * n);
    }
    return MD_OK;
}

static md_denoiser make_den(gauss *g, int with_batch)
{
    md_denoiser d = test_denoiser(g, "test gauss", den_single);
    if (with_batch) d.predict_v_batch = den_batch, d.batch_hint = 2;
    return d;
}

/* 3 tracks, 3 programs, 3 seconds at 120 bpm. */
static void write_song(const char *path)
{
    static smf_buf b;
    memset(&b, 0, sizeof b);
    smf_header(&b, 1, 3, 96);
    const uint8_t programs[3] = {0, 33, 48}; /* piano, finger bass, strings */
    const uint8_t base[3] = {60, 36, 67};
    for (int k = 0; k < 3; k++) {
        size_t t = smf_track_begin(&b);
        EV(&b, 0, (uint8_t)(0xC0 | k), programs[k]);
        for (int i = 0; i < 6; i++) {
            EV(&b, 0, (uint8_t)(0x90 | k), (uint8_t)(base[k] + 2 * i), 100);
            EV(&b, 96, (uint8_t)(0x80 | k), (uint8_t)(base[k] + 2 * i), 0);
        }
        EV(&b, 0, 0xFF, 0x2F, 0x00);
        smf_track_end(&b, t);
    }
    md_write_file_atomic(NULL, path, 1, b.d, b.n);
}

/* The group's images against one-at-a-time renders of the same stems. */
static void test_group(md_ctx *ctx, const char *midi)
{
    md_score *sc = NULL;
    md_score_options so;
    md_score_options_default(&so);
    if (md_score_load_file(ctx, midi, &so, &sc) != MD_OK || sc->n_stems != 3) {
        CHECK_MSG(0, "song: %s", md_ctx_error(ctx));
        md_score_free(sc);
        return;
    }
    md_render_opts o = render_test_opts(midi, NULL, 3);
    gauss g = {0, 0};
    md_denoiser den = make_den(&g, 1);
    size_t T = 200, nm = (size_t)den.mc.n_mels * T, nseg = 4; /* 64-frame segments, stride 48 */
    float *group = malloc(3 * nm * sizeof *group), *alone = malloc(3 * nm * sizeof *alone);
    if (!group || !alone) exit(1);
    md_stem_job jobs[3];
    for (int b = 0; b < 3; b++) jobs[b] = (md_stem_job){&sc->stems[b], b, b, group + b * nm, NULL, 0, 0, NULL};
    CHECK_MSG(md_render_group_logmel(ctx, &o, &den, jobs, 3, 3, T) == MD_OK, "%s", md_ctx_error(ctx));
    CHECK_MSG(g.batch == (int)nseg * o.steps && g.single == 0, "%d batch, %d single calls", g.batch, g.single);
    for (int b = 0; b < 3; b++)
        CHECK(md_render_stem_logmel(ctx, &o, &den, &sc->stems[b], b, b, 3, T, alone + b * nm) == MD_OK);
    CHECK(memcmp(group, alone, 3 * nm * sizeof *group) == 0);
    double spread = 0; /* the stems are really different images */
    for (size_t i = 0; i < nm; i++) spread = fmax(spread, fabs(group[i] - group[nm + i]));
    CHECK(spread > 0.1);
    /* a stem under another noise key (stem index) is another image */
    CHECK(md_render_stem_logmel(ctx, &o, &den, &sc->stems[0], 7, 0, 3, T, alone) == MD_OK);
    CHECK(memcmp(group, alone, nm * sizeof *group) != 0);
    /* too large a group, or a group for a denoiser that cannot batch */
    CHECK(md_render_group_logmel(ctx, &o, &den, jobs, MD_RENDER_MAX_BATCH + 1, 3, T) == MD_ERR_USAGE);
    md_denoiser plain = make_den(&g, 0);
    CHECK(md_render_group_logmel(ctx, &o, &plain, jobs, 2, 3, T) == MD_ERR_USAGE);
    free(group), free(alone);
    md_score_free(sc);
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d) return 0;
    for (struct dirent *e; (e = readdir(d));) n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

static int manifest_batch(const char *out)
{
    cJSON *j = read_manifest(out);
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(j, "batch_stems");
    int v = cJSON_IsNumber(b) ? b->valueint : -1;
    cJSON_Delete(j);
    return v;
}

static void check_same_outputs(const char *out1, const char *out2, const char *what)
{
    const char *files[] = {"mix.wav", "stems/01-acoustic-grand-piano.wav", "stems/02-electric-bass-finger.wav",
                           "stems/03-string-ensemble-1.wav", "stems/03-string-ensemble-1.png"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char a[1024], b[1024];
        snprintf(a, sizeof a, "%s/%s", out1, files[i]);
        snprintf(b, sizeof b, "%s/%s", out2, files[i]);
        CHECK_MSG(same_file(a, b), "%s: %s differs from the one-stem-at-a-time render", what, files[i]);
    }
}

/* Whole renders: groups of 1, of 2 (3 stems: a group of 2, then 1) and of
 * the denoiser's hint, through md_render_run. */
static void test_runs(md_ctx *ctx, const char *midi)
{
    gauss g = {0, 0};
    md_denoiser den = make_den(&g, 1);
    md_render_opts o = render_test_opts(midi, MD_TEST_TMP "/batch_r1", 3);
    o.batch_stems = 1;
    CHECK_MSG(md_render_run(ctx, &o, &den, NULL) == MD_OK, "%s", md_ctx_error(ctx));
    CHECK(manifest_batch(o.out_dir) == 1 && g.batch > 0);
    o.out_dir = MD_TEST_TMP "/batch_r2";
    o.batch_stems = 2;
    CHECK_MSG(md_render_run(ctx, &o, &den, NULL) == MD_OK, "%s", md_ctx_error(ctx));
    CHECK(manifest_batch(o.out_dir) == 2);
    check_same_outputs(MD_TEST_TMP "/batch_r1", o.out_dir, "groups of 2");
    o.out_dir = MD_TEST_TMP "/batch_r3";
    o.batch_stems = 0; /* the denoiser's hint: 2 */
    CHECK(md_render_run(ctx, &o, &den, NULL) == MD_OK && manifest_batch(o.out_dir) == 2);
    /* the group's stems vocoded on 3 threads: the same files again */
    o.out_dir = MD_TEST_TMP "/batch_r5";
    o.batch_stems = 3;
    o.vocode_jobs = 3;
    CHECK_MSG(md_render_run(ctx, &o, &den, NULL) == MD_OK, "%s", md_ctx_error(ctx));
    check_same_outputs(MD_TEST_TMP "/batch_r1", o.out_dir, "groups of 3 vocoded on 3 threads");
    /* a vocoder failure on a side thread reaches the caller's context and
     * leaves no output (a chunk too short for its overlap fails every stem) */
    o.out_dir = MD_TEST_TMP "/batch_r6";
    o.gl_chunk_frames = 10;
    md_ctx_clear_error(ctx);
    CHECK(md_render_run(ctx, &o, &den, NULL) == MD_ERR_USAGE);
    CHECK_MSG(strstr(md_ctx_error(ctx), "vocoder") != NULL, "error: '%s'", md_ctx_error(ctx));
    struct stat sb;
    CHECK(stat(o.out_dir, &sb) != 0 || count_entries(o.out_dir) == 0);
    o.gl_chunk_frames = -1;
    o.vocode_jobs = 0;
    /* no batch entry: one at a time whatever was asked */
    md_denoiser plain = make_den(&g, 0);
    o.out_dir = MD_TEST_TMP "/batch_r4";
    o.batch_stems = 3;
    CHECK_MSG(md_render_run(ctx, &o, &plain, NULL) == MD_OK, "%s", md_ctx_error(ctx));
    CHECK(manifest_batch(o.out_dir) == 1);
    check_same_outputs(MD_TEST_TMP "/batch_r1", o.out_dir, "a denoiser without a batch entry");
}

/* The tiny U-Net fixture on the CPU backend: groups of 3 against 1. */
static void test_unet(md_ctx *ctx, const char *midi)
{
    md_unet_denoiser_opts uo;
    md_unet_denoiser_opts_init(&uo);
    uo.model_path = MD_SOURCE_DIR "/tests/fixtures/unet/unet_tiny.safetensors";
    uo.backend = "cpu";
    md_denoiser den;
    if (md_unet_denoiser_open(ctx, &uo, &den) != MD_OK) {
        CHECK_MSG(0, "tiny model: %s", md_ctx_error(ctx));
        return;
    }
    md_render_opts o = render_test_opts(midi, MD_TEST_TMP "/batch_u1", 2);
    o.batch_stems = 1;
    CHECK_MSG(md_render_run(ctx, &o, &den, NULL) == MD_OK, "%s", md_ctx_error(ctx));
    o.out_dir = MD_TEST_TMP "/batch_u3";
    o.batch_stems = 3;
    CHECK_MSG(md_render_run(ctx, &o, &den, NULL) == MD_OK, "%s", md_ctx_error(ctx));
    CHECK(manifest_batch(o.out_dir) == 3);
    check_same_outputs(MD_TEST_TMP "/batch_u1", o.out_dir, "tiny U-Net, groups of 3");
    md_denoiser_destroy(&den);
}

int main(void)
{
    md_ctx *ctx = NULL;
    if (md_ctx_create(&ctx) != MD_OK) return 1;
    const char *midi = MD_TEST_TMP "/batch_song.mid";
    write_song(midi);
    test_group(ctx, midi);
    test_runs(ctx, midi);
    test_unet(ctx, midi);
    md_ctx_destroy(ctx);
    return md_test_finish();
}
