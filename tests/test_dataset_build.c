/* The dataset builder on a tiny MIDI file written here: shard layout, index
 * lines, conditioning against the notes, log-mel against an independent
 * render, skipping of a non-MIDI file, refusal to overwrite, the split;
 * with a note bank, each stem's drawing equal to the renderer's. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "audio/logmel.h"
#include "core/fileout.h"
#include "core/safetensors.h"
#include "dataset/dataset.h"
#include "melodiff/mel.h"
#include "melodiff/midi.h"
#include "notebank/notebank.h"
#include "synth/fluid_render.h"
#include "test_util.h"

#define DIR MD_TEST_TMP "/dataset_build"
#define OUT DIR "/out"

/* Format 0, 480 ppq, 120 bpm: violin (program 40) plays C4 for 0.5 s then
 * E4 (velocity 80) for 0.5 s; a kick drum (ch 10) sounds at 0 for 0.25 s. */
static const unsigned char tiny_mid[] = {
    'M', 'T', 'h', 'd', 0, 0, 0, 6, 0, 0, 0, 1, 0x01, 0xE0,
    'M', 'T', 'r', 'k', 0, 0, 0, 36,
    0x00, 0xC0, 40,
    0x00, 0x90, 60, 100,
    0x00, 0x99, 36, 100,
    0x81, 0x70, 0x89, 36, 0,
    0x81, 0x70, 0x80, 60, 0,
    0x00, 0x90, 64, 80,
    0x83, 0x60, 0x80, 64, 0,
    0x00, 0xFF, 0x2F, 0x00,
};

static void write_bytes(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    CHECK(fwrite(p, 1, n, f) == n);
    fclose(f);
}

/* The index lines as parsed JSON objects (caller frees with cJSON_Delete). */
static size_t read_index(const char *dir, cJSON **rows, size_t max)
{
    char path[512];
    snprintf(path, sizeof path, "%s/index.jsonl", dir);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char line[4096];
    size_t n = 0;
    while (n < max && fgets(line, sizeof line, f)) rows[n++] = cJSON_Parse(line);
    fclose(f);
    return n;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static const float *plane(md_ctx *ctx, md_st_file *f, const char *key, const char *what, int rows, int64_t T)
{
    char name[64];
    snprintf(name, sizeof name, "%s.%s", key, what);
    int64_t shape[2] = {rows, T};
    const md_st_tensor *t = NULL;
    md_status s = md_st_expect(ctx, f, name, MD_ST_F32, 2, shape, &t);
    CHECK_MSG(s == MD_OK, "%s", md_ctx_error(ctx));
    return t ? t->data : NULL;
}

/* The violin stem: roll/onset where the notes are, log-mel equal to a
 * separate render + md_logmel_compute of the same notes. */
static void check_violin(md_ctx *ctx, md_st_file *f, const char *key, int64_t T)
{
    const float *roll = plane(ctx, f, key, "roll", 128, T);
    const float *onset = plane(ctx, f, key, "onset", 128, T);
    const float *harm = plane(ctx, f, key, "harm", 128, T);
    const float *logmel = plane(ctx, f, key, "logmel", 128, T);
    if (!roll || !onset || !harm || !logmel) return;
    /* 0.5 s at 44100/512 fps: frame 43 (round(43.07)). */
    CHECK_NEAR(roll[60 * T + 0], 100.0 / 127.0, 1e-6);
    CHECK_NEAR(roll[60 * T + 42], 100.0 / 127.0, 1e-6);
    CHECK(roll[60 * T + 43] == 0.0f);
    CHECK_NEAR(roll[64 * T + 43], 80.0 / 127.0, 1e-6);
    CHECK(onset[60 * T + 0] == 1.0f && onset[64 * T + 43] == 1.0f && onset[60 * T + 1] == 0.0f);
    CHECK(roll[36 * T + 0] == 0.0f); /* the kick is not in this stem */
    float hmax = 0;
    for (int64_t i = 0; i < 128 * T; i++) hmax = harm[i] > hmax ? harm[i] : hmax;
    CHECK(hmax > 0.1f && hmax <= 1.0f);

    md_note notes[2] = {{0.0, 0.5, 60, 100, 0, 0, 0}, {0.5, 1.0, 64, 80, 0, 0, 0}};
    md_synth_cfg cfg;
    md_synth_cfg_default(&cfg);
    float *audio = NULL;
    size_t n = 0;
    /* Stem length: last note end (1 s) plus the 1 s release tail. */
    CHECK(md_synth_render_notes(ctx, &cfg, notes, 2, 40, 0, 2.0, &audio, &n) == MD_OK);
    md_mel_contract mc;
    md_mel_contract_default(&mc);
    CHECK((int64_t)md_mel_frames_for_samples(&mc, n) == T);
    float *ref = malloc(sizeof(float) * 128 * (size_t)T);
    if (audio && ref && md_logmel_compute(ctx, &mc, audio, n, ref) == MD_OK) {
        double maxdiff = 0;
        for (int64_t i = 0; i < 128 * T; i++) maxdiff = fmax(maxdiff, fabs(ref[i] - logmel[i]));
        CHECK_MSG(maxdiff < 1e-4, "logmel differs from a fresh render by %g", maxdiff);
        CHECK(logmel[20 * T + 10] > logf(1e-5f) + 3.0f); /* it sounds */
    }
    free(ref);
    free(audio);
}

static void check_shard(md_ctx *ctx, cJSON **rows, size_t n)
{
    md_st_file *f = NULL;
    md_status s = md_st_open(ctx, OUT "/shard-00000.safetensors", MD_ERR_INPUT, 1u << 30, &f);
    CHECK_MSG(s == MD_OK, "%s", md_ctx_error(ctx));
    if (!f) return;
    md_mel_contract mc;
    md_mel_contract_default(&mc);
    char *want = md_mel_contract_to_json(&mc);
    const char *got = md_st_meta(f, "mel_contract");
    CHECK(want && got && !strcmp(want, got));
    free(want);
    CHECK(md_st_meta(f, "format") && !strcmp(md_st_meta(f, "format"), "melodiff-dataset"));
    CHECK(md_st_meta(f, "stems") && !strcmp(md_st_meta(f, "stems"), "2"));
    CHECK(md_st_count(f) == 10);
    int seen_violin = 0, seen_drums = 0;
    for (size_t i = 0; i < n; i++) {
        const char *key = str(rows[i], "key");
        int64_t T = (int64_t)num(rows[i], "frames");
        char name[64];
        snprintf(name, sizeof name, "%s.instrument", key);
        const md_st_tensor *inst = md_st_find(f, name);
        CHECK(inst && inst->dtype == MD_ST_I32 && inst->numel == 1);
        if (!inst) continue;
        int id = *(const int32_t *)inst->data;
        CHECK(id == (int)num(rows[i], "instrument"));
        CHECK(num(rows[i], "active_frames") > 20 && num(rows[i], "active_frames") <= T);
        if (id == 40) {
            seen_violin++;
            CHECK(num(rows[i], "notes") == 2);
            CHECK(T == 173); /* 1 s of notes + 1 s tail: 1 + 88200 / 512 */
            check_violin(ctx, f, key, T);
        } else if (id == 128) {
            seen_drums++;
            CHECK(T == 108); /* 0.25 s + 1 s tail: 1 + 55125 / 512 */
            const float *roll = plane(ctx, f, key, "roll", 128, T);
            CHECK(roll && roll[36 * T] > 0.0f && roll[60 * T] == 0.0f);
        }
    }
    CHECK(seen_violin == 1 && seen_drums == 1);
    md_st_close(f);
}

/* With --notebank every stem has <k>.draw, the renderer's own drawing of
 * it (md_notebank_draw from frame 0), and dataset.json names the bank; a
 * missing bank fails before anything is written. */
static void test_drawings(md_ctx *ctx, const char *midi)
{
    const char *bank = MD_SOURCE_DIR "/models/notebank.safetensors", *out = DIR "/out_nb";
    md_dataset_opts o;
    md_dataset_opts_default(&o);
    o.out_dir = out;
    o.force = 1;
    o.render_mix = 0;
    o.notebank = bank;
    md_dataset_stats st;
    CHECK_MSG(md_dataset_build(ctx, &o, &midi, 1, &st) == MD_OK, "%s", md_ctx_error(ctx));
    cJSON *rows[8] = {0};
    size_t n = read_index(out, rows, 8);
    md_st_file *f = NULL;
    md_score *sc = NULL;
    md_notebank *nb = NULL;
    CHECK(n == 2 && md_st_open(ctx, DIR "/out_nb/shard-00000.safetensors", MD_ERR_INPUT, 1u << 30, &f) == MD_OK);
    CHECK(md_score_load_file(ctx, midi, NULL, &sc) == MD_OK && md_notebank_open(ctx, bank, &nb) == MD_OK);
    for (size_t i = 0; f && sc && nb && i < n; i++) {
        int64_t T = (int64_t)num(rows[i], "frames");
        const float *draw = plane(ctx, f, str(rows[i], "key"), "draw", 128, T);
        float *want = malloc(sizeof(float) * 128 * (size_t)T);
        const md_stem *stem = &sc->stems[(int)num(rows[i], "stem_index")];
        CHECK(want && md_notebank_draw(ctx, nb, stem, NULL, 0, (size_t)T, want) == MD_OK);
        CHECK_MSG(draw && want && !memcmp(draw, want, sizeof(float) * 128 * (size_t)T), "stem %zu: drawing differs", i);
        free(want);
    }
    for (size_t i = 0; i < n; i++) cJSON_Delete(rows[i]);
    char *summary = md_test_slurp(DIR "/out_nb/dataset.json");
    CHECK(summary && nb && strstr(summary, md_notebank_sha256(nb)) != NULL);
    free(summary);
    md_notebank_close(nb);
    md_score_free(sc);
    md_st_close(f);
    o.out_dir = DIR "/out_nb_missing";
    o.notebank = DIR "/no-such-bank.safetensors";
    CHECK(md_dataset_build(ctx, &o, &midi, 1, &st) == MD_ERR_MODEL);
    CHECK(strstr(md_ctx_error(ctx), "no-such-bank.safetensors") != NULL);
    struct stat sb;
    CHECK(stat(DIR "/out_nb_missing", &sb) != 0);
}

int main(void)
{
    mkdir(MD_TEST_TMP, 0755);
    md_ctx *ctx = NULL;
    CHECK(md_ctx_create(&ctx) == MD_OK);
    md_ctx_set_log_level(ctx, MD_LOG_ERROR);
    CHECK(md_mkdirs(ctx, DIR "/in") == MD_OK);
    write_bytes(DIR "/in/01-Tiny-Song.mid", tiny_mid, sizeof tiny_mid);
    write_bytes(DIR "/in/not-midi.mid", "hello", 5);
    const char *paths[] = {DIR "/in/01-Tiny-Song.mid", DIR "/in/not-midi.mid"};

    md_dataset_opts o;
    md_dataset_opts_default(&o);
    o.out_dir = OUT;
    o.force = 1; /* a rerun of the test replaces its own output */
    md_dataset_stats st;
    md_status s = md_dataset_build(ctx, &o, paths, 2, &st);
    CHECK_MSG(s == MD_OK, "%s", md_ctx_error(ctx));
    CHECK(st.files_ok == 1 && st.files_skipped == 1 && st.stems == 2 && st.shards == 1);

    cJSON *rows[8] = {0};
    size_t n = read_index(OUT, rows, 8);
    CHECK(n == 2);
    for (size_t i = 0; i < n; i++) {
        CHECK(rows[i] != NULL);
        CHECK(!strcmp(str(rows[i], "source"), paths[0]));
        CHECK(!strcmp(str(rows[i], "shard"), "shard-00000.safetensors"));
        /* "tinysong" hashes to the train side at 0.1 (corpus.py agrees). */
        CHECK(!strcmp(str(rows[i], "split"), "train"));
    }
    check_shard(ctx, rows, n);
    for (size_t i = 0; i < n; i++) cJSON_Delete(rows[i]);
    struct stat sb;
    CHECK(stat(OUT "/mix", &sb) == 0 && S_ISDIR(sb.st_mode));
    CHECK(stat(OUT "/dataset.json", &sb) == 0);

    /* An existing dataset is not replaced without force. */
    o.force = 0;
    CHECK(md_dataset_build(ctx, &o, paths, 1, &st) == MD_ERR_IO);
    CHECK(strstr(md_ctx_error(ctx), "--force") != NULL);

    /* Every file in validation at fraction 1; nothing usable is an input error. */
    o.force = 1;
    o.val_fraction = 1.0;
    o.render_mix = 0;
    CHECK(md_dataset_build(ctx, &o, paths, 1, &st) == MD_OK && st.val_files == 1);
    n = read_index(OUT, rows, 8);
    CHECK(n == 2 && rows[0] && !strcmp(str(rows[0], "split"), "val"));
    for (size_t i = 0; i < n; i++) cJSON_Delete(rows[i]);
    CHECK(md_dataset_build(ctx, &o, paths + 1, 1, &st) == MD_ERR_INPUT);
    test_drawings(ctx, paths[0]);

    md_ctx_destroy(ctx);
    return md_test_finish();
}
