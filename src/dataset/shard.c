/* Accumulates stems into safetensors shards and their index lines. */
#include "dataset/shard.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fileout.h"
#include "core/safetensors.h"

struct md_shard_set {
    md_ctx *ctx;
    char *dir;
    char *contract_json;
    size_t shard_bytes;
    int force;
    md_st_writer *w;   /* the open shard, NULL before its first stem */
    size_t in_shard;   /* stems in the open shard */
    size_t bytes;      /* tensor bytes in the open shard */
    size_t shards;     /* shards saved */
    size_t stems;      /* stems added */
    char *index;       /* index.jsonl text */
    size_t index_len, index_cap;
};

md_status md_shard_set_create(md_ctx *ctx, const char *dir, const char *contract_json,
                              size_t shard_bytes, int force, md_shard_set **out)
{
    *out = NULL;
    md_shard_set *s = calloc(1, sizeof *s);
    if (!s) return md_fail(ctx, MD_ERR_NOMEM, "%s: out of memory", dir);
    s->ctx = ctx;
    s->dir = strdup(dir);
    s->contract_json = strdup(contract_json);
    s->shard_bytes = shard_bytes ? shard_bytes : 1;
    s->force = force;
    if (!s->dir || !s->contract_json) {
        md_shard_set_destroy(s);
        return md_fail(ctx, MD_ERR_NOMEM, "%s: out of memory", dir);
    }
    *out = s;
    return MD_OK;
}

void md_shard_set_destroy(md_shard_set *s)
{
    if (!s) return;
    md_st_writer_destroy(s->w);
    free(s->dir);
    free(s->contract_json);
    free(s->index);
    free(s);
}

size_t md_shard_set_count(const md_shard_set *s) { return s->stems; }
size_t md_shard_set_shards(const md_shard_set *s) { return s->shards; }

static void shard_name(const md_shard_set *s, size_t i, char *buf, size_t cap)
{
    (void)s;
    snprintf(buf, cap, "shard-%05zu.safetensors", i);
}

static md_status append_index(md_shard_set *s, const char *line)
{
    size_t len = strlen(line);
    if (s->index_len + len + 2 > s->index_cap) {
        size_t cap = s->index_cap ? s->index_cap * 2 : 4096;
        while (cap < s->index_len + len + 2) cap *= 2;
        char *p = realloc(s->index, cap);
        if (!p) return md_fail(s->ctx, MD_ERR_NOMEM, "%s: out of memory for the index", s->dir);
        s->index = p;
        s->index_cap = cap;
    }
    memcpy(s->index + s->index_len, line, len);
    s->index_len += len;
    s->index[s->index_len++] = '\n';
    s->index[s->index_len] = '\0';
    return MD_OK;
}

static md_status save_shard(md_shard_set *s)
{
    if (!s->w) return MD_OK;
    char name[64], count[32], path[4096];
    shard_name(s, s->shards, name, sizeof name);
    snprintf(count, sizeof count, "%zu", s->in_shard);
    if ((size_t)snprintf(path, sizeof path, "%s/%s", s->dir, name) >= sizeof path)
        return md_fail(s->ctx, MD_ERR_IO, "%s: path too long", s->dir);
    md_status st;
    if ((st = md_st_writer_meta(s->ctx, s->w, "format", MD_DATASET_FORMAT)) ||
        (st = md_st_writer_meta(s->ctx, s->w, "format_version", MD_DATASET_FORMAT_VERSION)) ||
        (st = md_st_writer_meta(s->ctx, s->w, "mel_contract", s->contract_json)) ||
        (st = md_st_writer_meta(s->ctx, s->w, "stems", count)) ||
        (st = md_st_writer_save(s->ctx, s->w, path, s->force)))
        return st;
    md_st_writer_destroy(s->w);
    s->w = NULL;
    s->in_shard = 0;
    s->bytes = 0;
    s->shards++;
    return MD_OK;
}

static md_status add_plane(md_shard_set *s, const char *key, const char *what, int rows,
                           size_t frames, const float *data)
{
    char name[64];
    snprintf(name, sizeof name, "%s.%s", key, what);
    int64_t shape[2] = {rows, (int64_t)frames};
    s->bytes += (size_t)rows * frames * sizeof(float);
    return md_st_writer_add(s->ctx, s->w, name, MD_ST_F32, 2, shape, data);
}

static md_status index_line(md_shard_set *s, const md_shard_stem *st, const char *key)
{
    char shard[64];
    shard_name(s, s->shards, shard, sizeof shard);
    cJSON *o = cJSON_CreateObject();
    int ok = o && cJSON_AddStringToObject(o, "source", st->source) &&
             cJSON_AddStringToObject(o, "stem", st->stem_name) &&
             cJSON_AddNumberToObject(o, "stem_index", st->stem_index) &&
             cJSON_AddNumberToObject(o, "program", st->program) &&
             cJSON_AddNumberToObject(o, "instrument", st->instrument) &&
             cJSON_AddNumberToObject(o, "notes", (double)st->n_notes) &&
             cJSON_AddNumberToObject(o, "frames", (double)st->frames) &&
             cJSON_AddNumberToObject(o, "active_frames", (double)st->active_frames) &&
             cJSON_AddStringToObject(o, "shard", shard) && cJSON_AddStringToObject(o, "key", key) &&
             cJSON_AddStringToObject(o, "split", st->split);
    char *line = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!line) return md_fail(s->ctx, MD_ERR_NOMEM, "%s: out of memory for the index", s->dir);
    md_status r = append_index(s, line);
    free(line);
    return r;
}

md_status md_shard_set_add(md_shard_set *s, const md_shard_stem *st)
{
    md_status r;
    if (!s->w && (r = md_st_writer_create(s->ctx, &s->w))) return r;
    char key[32];
    snprintf(key, sizeof key, "s%04zu", s->in_shard);
    char name[64];
    snprintf(name, sizeof name, "%s.instrument", key);
    int32_t inst = st->instrument;
    int64_t one = 1;
    if ((r = add_plane(s, key, "logmel", st->n_mels, st->frames, st->logmel)) ||
        (r = add_plane(s, key, "harm", st->n_mels, st->frames, st->harm)) ||
        (r = add_plane(s, key, "roll", 128, st->frames, st->roll)) ||
        (r = add_plane(s, key, "onset", 128, st->frames, st->onset)) ||
        (st->draw && (r = add_plane(s, key, "draw", st->n_mels, st->frames, st->draw))) ||
        (r = md_st_writer_add(s->ctx, s->w, name, MD_ST_I32, 1, &one, &inst)) ||
        (r = index_line(s, st, key)))
        return r;
    s->in_shard++;
    s->stems++;
    if (s->bytes >= s->shard_bytes) return save_shard(s);
    return MD_OK;
}

md_status md_shard_set_finish(md_shard_set *s)
{
    md_status r = save_shard(s);
    if (r) return r;
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/index.jsonl", s->dir) >= sizeof path)
        return md_fail(s->ctx, MD_ERR_IO, "%s: path too long", s->dir);
    return md_write_file_atomic(s->ctx, path, s->force, s->index ? s->index : "", s->index_len);
}
