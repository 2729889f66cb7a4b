/* Building a note bank: every (program, key) note rendered alone by
 * FluidSynth at the dataset builder's settings, analysed by THE log-mel
 * (audio/logmel.h), sampled on the bank's grids and quantised. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/logmel.h"
#include "core/parallel.h"
#include "core/safetensors.h"
#include "notebank/notebank_select.h"
#include "synth/fluid_render.h"

/* The onset sits on a frame boundary a few frames in, so the frames before
 * it (which already hear the attack) are measured too. */
#define ONSET_FRAME 4

typedef struct build_job {
    const md_notebank_build_cfg *cfg;
    const md_mel_contract *mc;
    int n_keys, n_drum_keys; /* drum keys per kit */
    int32_t keys[128], drum_keys[128];
    int n_programs; /* melodic programs in range */
    uint8_t *melodic, *drums;
    md_ctx *ctxs[MD_PAR_MAX_THREADS];
    md_synth *synth[MD_PAR_MAX_THREADS];
    md_logmel *lm[MD_PAR_MAX_THREADS];
} build_job;

/* Renders one note (held for `hold` frames, the render `frames` frames long)
 * and analyses it: *out is [M][frames + ...] with *n_frames columns. */
static md_status measure(build_job *j, int th, int program, int is_drum, int key, int vel, double hold_frames,
                         int frames, float **out, size_t *n_frames)
{
    const md_mel_contract *mc = j->mc;
    double fr = md_mel_frame_rate(mc), on = ONSET_FRAME / fr;
    md_note note = {.start = on, .end = on + hold_frames / fr, .pitch = (uint8_t)key, .velocity = (uint8_t)vel};
    float *x = NULL;
    size_t n = 0;
    md_status s = md_synth_render_notes_on(j->synth[th], &note, 1, program, is_drum,
                                           (double)(ONSET_FRAME + frames) / fr, &x, &n);
    if (s) return s;
    *n_frames = md_mel_frames_for_samples(mc, n);
    *out = malloc(*n_frames * (size_t)mc->n_mels * sizeof **out);
    if (!*out) s = md_fail(j->ctxs[th], MD_ERR_NOMEM, "notebank: out of memory");
    if (s == MD_OK) s = md_logmel_run(j->lm[th], x, n, *out);
    free(x);
    return s;
}

static uint8_t quant_u(float v)
{
    float q = roundf(v * MD_NB_QUANT);
    return (uint8_t)(q < 0 ? 0 : q > 255 ? 255 : q);
}

static uint8_t quant_s(float v)
{
    float q = roundf(v * MD_NB_QUANT);
    return (uint8_t)(int8_t)(q < -127 ? -127 : q > 127 ? 127 : q);
}

/* Column `frame` (a template offset) of an analysis, floor past its end. */
static float at(const float *lm, size_t T, int m, int frame, float floor_ln)
{
    long c = (long)ONSET_FRAME + frame;
    return c >= 0 && (size_t)c < T ? lm[(size_t)m * T + (size_t)c] : floor_ln;
}

/* The held, release and velocity rows of one template. */
static md_status build_template(build_job *j, int th, int program, int is_drum, int key, uint8_t *tpl)
{
    int M = j->mc->n_mels;
    float floor_ln = logf(j->mc->log_floor);
    int held_len = (int)MD_NB_HELD_FRAMES[MD_NB_N_HELD - 1] + 3;
    int rel_len = MD_NB_HOLD_FRAMES + (int)MD_NB_RELEASE_FRAMES[MD_NB_N_RELEASE - 1] + 3;
    int len = held_len > rel_len ? held_len : rel_len;
    float *held = NULL, *rel = NULL, *v = NULL;
    size_t Th = 0, Tr = 0, Tv = 0;
    md_status s = measure(j, th, program, is_drum, key, MD_NB_REF_VELOCITY, len + 10, len, &held, &Th);
    if (s == MD_OK) s = measure(j, th, program, is_drum, key, MD_NB_REF_VELOCITY, MD_NB_HOLD_FRAMES, rel_len, &rel, &Tr);
    for (int i = 0; s == MD_OK && i < MD_NB_N_HELD; i++)
        for (int m = 0; m < M; m++)
            tpl[(size_t)i * M + m] = quant_u(at(held, Th, m, (int)MD_NB_HELD_FRAMES[i], floor_ln) - floor_ln);
    uint8_t *rrow = tpl + (size_t)MD_NB_N_HELD * M;
    for (int i = 0; s == MD_OK && i < MD_NB_N_RELEASE; i++) {
        int f = MD_NB_HOLD_FRAMES + (int)MD_NB_RELEASE_FRAMES[i];
        for (int m = 0; m < M; m++)
            rrow[(size_t)i * M + m] = quant_u(at(held, Th, m, f, floor_ln) - at(rel, Tr, m, f, floor_ln));
    }
    uint8_t *vrow = rrow + (size_t)MD_NB_N_RELEASE * M;
    for (int i = 0; s == MD_OK && i < MD_NB_N_VEL; i++) {
        s = measure(j, th, program, is_drum, key, MD_NB_VELOCITIES[i], MD_NB_HOLD_FRAMES + 10, MD_NB_HOLD_FRAMES, &v,
                    &Tv);
        for (int m = 0; s == MD_OK && m < M; m++) {
            double d = 0;
            for (int f = 0; f < MD_NB_HOLD_FRAMES; f++)
                d += at(v, Tv, m, f, floor_ln) - at(held, Th, m, f, floor_ln);
            vrow[(size_t)i * M + m] = quant_s((float)(d / MD_NB_HOLD_FRAMES));
        }
        free(v);
        v = NULL;
    }
    free(held);
    free(rel);
    return s;
}

static md_status build_one(void *user, int thread, int item)
{
    build_job *j = user;
    size_t per = (size_t)MD_NB_ROWS * j->mc->n_mels;
    int melodic_items = j->n_programs * j->n_keys;
    if (item < melodic_items) {
        int p = item / j->n_keys, k = item % j->n_keys;
        return build_template(j, thread, j->cfg->first_program + p, 0, j->keys[k],
                             j->melodic + (size_t)item * per);
    }
    int k = item - melodic_items;
    return build_template(j, thread, MD_NB_KITS[k / j->n_drum_keys], 1, j->drum_keys[k % j->n_drum_keys],
                          j->drums + (size_t)k * per);
}

/* Appends template src under key `key` to the output arrays. */
static void put(uint8_t *table, int32_t *keys, int *n, const uint8_t *src, int key, size_t per)
{
    memcpy(table + (size_t)*n * per, src, per);
    keys[(*n)++] = key;
}

/* The kept templates in slot order: the chosen melodic keys of each program
 * in range (others empty), then the kits: every key of the Standard kit,
 * the keys where it differs of the others. */
static int gather(const build_job *j, const uint8_t *keep, uint8_t *table, int32_t *keys, int32_t *start)
{
    size_t per = (size_t)MD_NB_ROWS * j->mc->n_mels;
    int n = 0;
    for (int slot = 0; slot < MD_NB_PROGRAMS; slot++) {
        start[slot] = n;
        int p = slot - j->cfg->first_program;
        if (p < 0 || p >= j->n_programs) continue;
        for (int k = 0; k < j->n_keys; k++)
            if (keep[(size_t)p * j->n_keys + k])
                put(table, keys, &n, j->melodic + ((size_t)p * j->n_keys + k) * per, j->keys[k], per);
    }
    for (int kit = 0; kit < MD_NB_N_KITS; kit++) {
        start[MD_NB_DRUMS + kit] = n;
        for (int k = 0; k < j->n_drum_keys; k++) {
            const uint8_t *t = j->drums + ((size_t)kit * j->n_drum_keys + k) * per;
            /* most kits share most sounds with the Standard kit: those are
             * drawn from it (notebank.h) instead of stored twice */
            if (kit == 0 || memcmp(t, j->drums + (size_t)k * per, per)) put(table, keys, &n, t, j->drum_keys[k], per);
        }
    }
    start[MD_NB_SLOTS] = n;
    return n;
}

static md_status write_bank(md_ctx *ctx, const build_job *j, const uint8_t *table, const int32_t *keys,
                            const int32_t *start, int n, const char *path, int force)
{
    md_st_writer *w = NULL;
    md_status s = md_st_writer_create(ctx, &w);
    int64_t tshape[3] = {n, MD_NB_ROWS, j->mc->n_mels}, kshape[1] = {n}, sshape[1] = {MD_NB_SLOTS + 1};
    char *mcj = md_mel_contract_to_json(j->mc), num[32];
    if (s == MD_OK && !mcj) s = md_fail(ctx, MD_ERR_NOMEM, "notebank: out of memory");
    if (s == MD_OK) s = md_st_writer_add(ctx, w, "templates", MD_ST_U8, 3, tshape, table);
    if (s == MD_OK) s = md_st_writer_add(ctx, w, "keys", MD_ST_I32, 1, kshape, keys);
    if (s == MD_OK) s = md_st_writer_add(ctx, w, "slot_start", MD_ST_I32, 1, sshape, start);
    if (s == MD_OK) s = md_st_writer_meta(ctx, w, "kind", "notebank");
    if (s == MD_OK) s = md_st_writer_meta(ctx, w, "format_version", MD_NB_FORMAT_VERSION);
    if (s == MD_OK) s = md_st_writer_meta(ctx, w, "mel_contract", mcj);
    snprintf(num, sizeof num, "%d", j->cfg->key_step);
    if (s == MD_OK) s = md_st_writer_meta(ctx, w, "candidate_key_step", num);
    const char *sf = j->cfg->soundfont ? j->cfg->soundfont : MD_SYNTH_DEFAULT_SOUNDFONT, *base = strrchr(sf, '/');
    if (s == MD_OK) s = md_st_writer_meta(ctx, w, "soundfont", base ? base + 1 : sf);
    if (s == MD_OK) s = md_st_writer_save(ctx, w, path, force);
    free(mcj);
    md_st_writer_destroy(w);
    return s;
}

/* Chooses the melodic keys to keep and writes the bank. */
static md_status save(md_ctx *ctx, const build_job *j, const char *path, int force)
{
    size_t per = (size_t)MD_NB_ROWS * j->mc->n_mels, all = (size_t)j->n_programs * j->n_keys + (size_t)MD_NB_N_KITS * j->n_drum_keys;
    uint8_t *keep = malloc((size_t)j->n_programs * j->n_keys), *table = malloc(all * per);
    int32_t *keys = malloc(all * sizeof *keys), start[MD_NB_SLOTS + 1];
    md_status s = keep && table && keys ? MD_OK : md_fail(ctx, MD_ERR_NOMEM, "notebank: out of memory");
    md_nb_candidates c = {j->n_programs, j->n_keys, j->mc->n_mels, j->keys, j->melodic};
    if (s == MD_OK) s = md_nb_select(ctx, j->mc, &c, j->cfg->templates, keep);
    if (s == MD_OK) {
        int n = gather(j, keep, table, keys, start);
        md_log(ctx, MD_LOG_INFO, "notebank: %d templates kept (%d melodic of %d measured)", n, n - MD_NB_N_KITS * j->n_drum_keys,
               j->n_programs * j->n_keys);
        s = write_bank(ctx, j, table, keys, start, n, path, force);
    }
    free(keep), free(table), free(keys);
    return s;
}

static md_status start_threads(md_ctx *ctx, build_job *j, int n)
{
    md_synth_cfg sc;
    md_synth_cfg_default(&sc);
    if (j->cfg->soundfont) sc.soundfont = j->cfg->soundfont;
    j->ctxs[0] = ctx;
    md_status s = MD_OK;
    for (int i = 0; s == MD_OK && i < n; i++) {
        if (i > 0) s = md_ctx_create(&j->ctxs[i]);
        if (s == MD_OK) s = md_synth_create(j->ctxs[i], &sc, &j->synth[i]);
        if (s == MD_OK) s = md_logmel_create(j->ctxs[i], j->mc, &j->lm[i]);
        if (s && i > 0 && j->ctxs[i]) md_fail(ctx, s, "%s", md_ctx_error(j->ctxs[i]));
    }
    return s;
}

static void stop_threads(build_job *j)
{
    for (int i = 0; i < MD_PAR_MAX_THREADS; i++) {
        md_synth_destroy(j->synth[i]);
        md_logmel_destroy(j->lm[i]);
        if (i > 0 && j->ctxs[i]) md_ctx_destroy(j->ctxs[i]);
    }
}

md_status md_notebank_build(md_ctx *ctx, const md_notebank_build_cfg *cfg, const md_mel_contract *mc,
                            const char *path, int force)
{
    if (cfg->key_step < 1 || cfg->key_step > 12 || cfg->first_program < 0 || cfg->last_program > 127 ||
        cfg->first_program > cfg->last_program || cfg->threads < 1)
        return md_fail(ctx, MD_ERR_USAGE, "notebank: key step 1..12 and a program range within 0..127");
    build_job *j = calloc(1, sizeof *j);
    if (!j) return md_fail(ctx, MD_ERR_NOMEM, "notebank: out of memory");
    j->cfg = cfg;
    j->mc = mc;
    for (int k = MD_NB_KEY_LO; k <= MD_NB_KEY_HI; k += cfg->key_step) j->keys[j->n_keys++] = k;
    for (int k = MD_NB_DRUM_KEY_LO; k <= MD_NB_DRUM_KEY_HI; k++) j->drum_keys[j->n_drum_keys++] = k;
    j->n_programs = cfg->last_program - cfg->first_program + 1;
    size_t per = (size_t)MD_NB_ROWS * mc->n_mels;
    j->melodic = calloc((size_t)j->n_programs * j->n_keys, per);
    j->drums = calloc((size_t)MD_NB_N_KITS * j->n_drum_keys, per);
    int threads = cfg->threads < MD_PAR_MAX_THREADS ? cfg->threads : MD_PAR_MAX_THREADS;
    md_status s = j->melodic && j->drums ? md_mel_contract_supported(ctx, mc, "notebank")
                                         : md_fail(ctx, MD_ERR_NOMEM, "notebank: out of memory");
    if (s == MD_OK) s = start_threads(ctx, j, threads);
    int failed = -1, items = j->n_programs * j->n_keys + MD_NB_N_KITS * j->n_drum_keys;
    if (s == MD_OK) s = md_par_for(threads, items, build_one, j, &failed);
    if (s && failed > 0) md_fail(ctx, s, "%s", md_ctx_error(j->ctxs[failed]));
    if (s == MD_OK) s = save(ctx, j, path, force);
    stop_threads(j);
    free(j->melodic);
    free(j->drums);
    free(j);
    return s;
}
