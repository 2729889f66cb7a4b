/* The dataset builder: MIDI files -> rendered stems -> log-mel + conditioning
 * -> shards (see dataset.h). */
#include "dataset/dataset.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "audio/audio_io.h"
#include "audio/logmel.h"
#include "core/fileout.h"
#include "dataset/shard.h"
#include "dataset/split.h"
#include "melodiff/cond.h"
#include "melodiff/mel.h"
#include "melodiff/midi.h"
#include "notebank/notebank.h"
#include "synth/fluid_render.h"

/* Seconds rendered after a stem's last note ends, for its release. */
#define RELEASE_TAIL 1.0

typedef struct builder {
    md_ctx *ctx;
    const md_dataset_opts *o;
    md_mel_contract mc;
    md_logmel *lm;
    md_synth *synth;
    md_notebank *nb; /* NULL: no drawings */
    md_shard_set *shards;
    md_dataset_stats *st;
} builder;

void md_dataset_opts_default(md_dataset_opts *o)
{
    memset(o, 0, sizeof *o);
    o->val_fraction = 0.1;
    o->max_seconds = 60.0;
    o->shard_bytes = 64u << 20;
    o->render_mix = 1;
}

size_t md_dataset_active_frames(const float *logmel, const float *roll, int n_mels, size_t frames,
                                float log_floor)
{
    const float thresh = logf(log_floor) + 3.0f;
    size_t active = 0;
    for (size_t t = 0; t < frames; t++) {
        int on = 0;
        for (int k = 0; k < 128 && !on; k++) on = roll[(size_t)k * frames + t] > 0.0f;
        for (int m = 0; m < n_mels && !on; m++) on = logmel[(size_t)m * frames + t] > thresh;
        active += (size_t)on;
    }
    return active;
}

/* Last note end of a stem in seconds. */
static double stem_end(const md_stem *stem)
{
    double end = 0.0;
    for (size_t i = 0; i < stem->n_notes; i++)
        if (stem->notes[i].end > end) end = stem->notes[i].end;
    return end;
}

/* The renderer's drawing of the stem as it was rendered (*out, malloc'd). */
static md_status draw_stem(builder *b, const char *path, const md_stem *stem, size_t frames, float **out)
{
    *out = malloc((size_t)b->mc.n_mels * frames * sizeof **out);
    if (!*out) return md_fail(b->ctx, MD_ERR_NOMEM, "%s: out of memory for %zu frames", path, frames);
    return md_notebank_draw(b->ctx, b->nb, stem, NULL, 0, frames, *out);
}

static md_status add_stem(builder *b, const char *path, const md_score *sc, size_t si, const char *split)
{
    const md_stem *stem = &sc->stems[si];
    double seconds = stem_end(stem) + RELEASE_TAIL;
    if (b->o->max_seconds > 0 && seconds > b->o->max_seconds) seconds = b->o->max_seconds;
    float *audio = NULL, *logmel = NULL, *draw = NULL;
    size_t n = 0;
    md_cond cond;
    memset(&cond, 0, sizeof cond);
    /* Pitch bend is rendered (the harmonic image follows it), but volume and
     * expression are not: the model learns the training level and the
     * renderer applies the song's level curves (cond.h, "Level curves").
     * Bank 0: the instrument embedding knows programs, not banks. */
    md_stem dry = *stem;
    dry.volume = (md_curve){NULL, 0};
    dry.expression = (md_curve){NULL, 0};
    dry.bank = 0;
    md_status s = md_synth_render_stem(b->synth, &dry, seconds, &audio, &n);
    if (s) return s;
    size_t frames = md_mel_frames_for_samples(&b->mc, n);
    logmel = malloc((size_t)b->mc.n_mels * frames * sizeof *logmel);
    if (!logmel) s = md_fail(b->ctx, MD_ERR_NOMEM, "%s: out of memory for %zu frames", path, frames);
    if (!s) s = md_logmel_run(b->lm, audio, n, logmel);
    if (!s) s = md_cond_build(b->ctx, stem, &b->mc, frames, &cond);
    if (!s && b->nb) s = draw_stem(b, path, &dry, frames, &draw);
    if (!s) {
        size_t active = md_dataset_active_frames(logmel, cond.roll, b->mc.n_mels, frames, b->mc.log_floor);
        if (active == 0) {
            md_log(b->ctx, MD_LOG_INFO, "%s: stem %zu '%s' renders silent; skipped", path, si, stem->name);
            b->st->stems_silent++;
        } else {
            md_shard_stem rec = {
                .source = path, .stem_name = stem->name, .stem_index = (int)si, .program = stem->program,
                .instrument = stem->instrument, .n_notes = stem->n_notes, .split = split,
                .n_mels = b->mc.n_mels, .frames = frames, .active_frames = active, .logmel = logmel,
                .harm = cond.harmonic, .roll = cond.roll, .onset = cond.onset, .draw = draw,
            };
            s = md_shard_set_add(b->shards, &rec);
            if (!s) {
                b->st->stems++;
                b->st->frames += frames;
                b->st->active_frames += active;
            }
        }
    }
    md_cond_free(&cond);
    free(draw);
    free(logmel);
    free(audio);
    return s;
}

/* mix/<split key>-<fnv of the path, 8 hex>.wav */
static md_status render_mix(builder *b, const char *path)
{
    char key[128], out[4096];
    md_dataset_split_key(path, key, sizeof key);
    unsigned h = (unsigned)(md_fnv1a64(path, strlen(path)) & 0xFFFFFFFFu);
    if ((size_t)snprintf(out, sizeof out, "%s/mix/%s-%08x.wav", b->o->out_dir, key, h) >= sizeof out)
        return md_fail(b->ctx, MD_ERR_IO, "%s: output path too long", b->o->out_dir);
    float *audio = NULL;
    size_t n = 0;
    md_status s = md_synth_render_midi(b->synth, path, b->o->max_seconds, &audio, &n);
    if (!s) s = md_audio_write(b->ctx, out, audio, n, 1, b->mc.sample_rate, MD_AUDIO_WAV16, b->o->force);
    free(audio);
    return s;
}

static md_status add_file(builder *b, const char *path)
{
    md_score *sc = NULL;
    md_status s = md_score_load_file(b->ctx, path, NULL, &sc);
    if (s) return s;
    const char *split = md_dataset_is_val(path, b->o->val_fraction) ? "val" : "train";
    for (size_t i = 0; i < sc->n_stems && !s; i++)
        if (sc->stems[i].n_notes) s = add_stem(b, path, sc, i, split);
    md_score_free(sc);
    if (!s && b->o->render_mix) s = render_mix(b, path);
    if (!s && !strcmp(split, "val")) b->st->val_files++;
    return s;
}

/* An input problem skips the file; anything else (disk full, out of
 * memory, a bad SoundFont) stops the build. */
static int skippable(md_status s) { return s == MD_ERR_INPUT || s == MD_ERR_LIMIT; }

/* "notebank": {path, sha256} of the bank the drawings come from, or null. */
static int add_notebank(cJSON *o, const md_notebank *nb)
{
    if (!nb) return cJSON_AddNullToObject(o, "notebank") != NULL;
    cJSON *n = cJSON_AddObjectToObject(o, "notebank");
    return n && cJSON_AddStringToObject(n, "path", md_notebank_path(nb)) &&
           cJSON_AddStringToObject(n, "sha256", md_notebank_sha256(nb));
}

static md_status write_summary(builder *b)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/dataset.json", b->o->out_dir) >= sizeof path)
        return md_fail(b->ctx, MD_ERR_IO, "%s: path too long", b->o->out_dir);
    cJSON *o = cJSON_CreateObject();
    cJSON *mc = NULL;
    char *contract = md_mel_contract_to_json(&b->mc);
    if (contract) mc = cJSON_Parse(contract);
    free(contract);
    const md_dataset_stats *st = b->st;
    int ok = o && mc && cJSON_AddStringToObject(o, "format", MD_DATASET_FORMAT) &&
             cJSON_AddStringToObject(o, "format_version", MD_DATASET_FORMAT_VERSION) &&
             cJSON_AddItemToObject(o, "mel_contract", mc) &&
             cJSON_AddNumberToObject(o, "val_fraction", b->o->val_fraction) &&
             cJSON_AddNumberToObject(o, "max_seconds", b->o->max_seconds) &&
             cJSON_AddNumberToObject(o, "files", (double)st->files_ok) &&
             cJSON_AddNumberToObject(o, "files_skipped", (double)st->files_skipped) &&
             cJSON_AddNumberToObject(o, "val_files", (double)st->val_files) &&
             cJSON_AddNumberToObject(o, "stems", (double)st->stems) &&
             cJSON_AddNumberToObject(o, "stems_silent", (double)st->stems_silent) &&
             cJSON_AddNumberToObject(o, "shards", (double)st->shards) &&
             cJSON_AddNumberToObject(o, "frames", (double)st->frames) &&
             cJSON_AddNumberToObject(o, "active_frames", (double)st->active_frames) &&
             cJSON_AddStringToObject(o, "soundfont", b->o->soundfont ? b->o->soundfont : MD_SYNTH_DEFAULT_SOUNDFONT) &&
             add_notebank(o, b->nb);
    if (!ok && mc && o && !cJSON_GetObjectItem(o, "mel_contract")) cJSON_Delete(mc);
    char *text = ok ? cJSON_Print(o) : NULL;
    cJSON_Delete(o);
    if (!text) return md_fail(b->ctx, MD_ERR_NOMEM, "%s: out of memory", path);
    md_status s = md_write_file_atomic(b->ctx, path, b->o->force, text, strlen(text));
    free(text);
    return s;
}

static md_status open_builder(builder *b)
{
    md_status s;
    char mixdir[4096];
    /* The bank first: a bad one leaves nothing behind. */
    if (b->o->notebank && ((s = md_notebank_open(b->ctx, b->o->notebank, &b->nb)) ||
                           (s = md_mel_contract_check(b->ctx, &b->mc, md_notebank_contract(b->nb), b->o->notebank))))
        return s;
    if ((s = md_mkdirs(b->ctx, b->o->out_dir))) return s;
    if (b->o->render_mix) {
        snprintf(mixdir, sizeof mixdir, "%s/mix", b->o->out_dir);
        if ((s = md_mkdirs(b->ctx, mixdir))) return s;
    }
    md_synth_cfg sc;
    md_synth_cfg_default(&sc);
    if (b->o->soundfont) sc.soundfont = b->o->soundfont;
    if ((s = md_logmel_create(b->ctx, &b->mc, &b->lm)) || (s = md_synth_create(b->ctx, &sc, &b->synth)))
        return s;

    char *contract = md_mel_contract_to_json(&b->mc);
    if (!contract) return md_fail(b->ctx, MD_ERR_NOMEM, "%s: out of memory", b->o->out_dir);
    s = md_shard_set_create(b->ctx, b->o->out_dir, contract, b->o->shard_bytes, b->o->force, &b->shards);
    free(contract);
    return s;
}

static md_status check_free(md_ctx *ctx, const md_dataset_opts *o)
{
    char path[4096];
    struct stat sb;
    if ((size_t)snprintf(path, sizeof path, "%s/index.jsonl", o->out_dir) >= sizeof path)
        return md_fail(ctx, MD_ERR_USAGE, "%s: path too long", o->out_dir);
    if (!o->force && stat(path, &sb) == 0)
        return md_fail(ctx, MD_ERR_IO, "%s: already holds a dataset (use --force to replace it)", o->out_dir);
    return MD_OK;
}

md_status md_dataset_build(md_ctx *ctx, const md_dataset_opts *o, const char *const *paths,
                           size_t n_paths, md_dataset_stats *stats)
{
    memset(stats, 0, sizeof *stats);
    if (!o->out_dir || !*o->out_dir) return md_fail(ctx, MD_ERR_USAGE, "dataset: no output directory");
    if (!(o->val_fraction >= 0.0 && o->val_fraction <= 1.0))
        return md_fail(ctx, MD_ERR_USAGE, "dataset: val fraction %g is not in [0, 1]", o->val_fraction);
    md_status s = check_free(ctx, o);
    if (s) return s;
    builder b = {.ctx = ctx, .o = o, .st = stats};
    md_mel_contract_default(&b.mc);
    s = open_builder(&b);
    for (size_t i = 0; i < n_paths && !s; i++) {
        if (o->progress) o->progress(o->progress_user, i, n_paths, paths[i]);
        s = add_file(&b, paths[i]);
        if (s && skippable(s)) {
            md_log(ctx, MD_LOG_WARN, "skipped: %s", md_ctx_error(ctx));
            md_ctx_clear_error(ctx);
            stats->files_skipped++;
            s = MD_OK;
        } else if (!s) {
            stats->files_ok++;
        }
    }
    if (!s && stats->stems == 0)
        s = md_fail(ctx, MD_ERR_INPUT, "dataset: none of the %zu input file%s gave a stem with sound",
                    n_paths, n_paths == 1 ? "" : "s");
    if (!s) s = md_shard_set_finish(b.shards);
    if (!s) {
        stats->shards = md_shard_set_shards(b.shards);
        s = write_summary(&b);
    }
    if (o->progress && !s) o->progress(o->progress_user, n_paths, n_paths, NULL);
    md_shard_set_destroy(b.shards);
    md_notebank_close(b.nb);
    md_synth_destroy(b.synth);
    md_logmel_destroy(b.lm);
    return s;
}
