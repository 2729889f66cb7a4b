/* Dataset shards: safetensors files of whole stems plus index.jsonl.
 *
 * Each stem k of a shard ("s0000", "s0001", ...) has the tensors
 *   <k>.logmel [n_mels, T] F32   md_logmel of the stem rendered alone
 *   <k>.harm   [n_mels, T] F32   md_cond harmonic image
 *   <k>.roll   [128, T]    F32   md_cond roll
 *   <k>.onset  [128, T]    F32   md_cond onsets
 *   <k>.draw   [n_mels, T] F32   md_notebank_draw of the stem (only when the
 *                                dataset was built with a note bank)
 *   <k>.instrument [1]     I32   0..127 GM program, 128 drums
 * and __metadata__ {format: "melodiff-dataset", format_version: "1",
 * mel_contract: md_mel_contract_to_json, stems: count}. A shard is saved
 * (atomically) once it holds at least shard_bytes of tensor data. The
 * index gets one JSON line per stem (docs/dataset.md). */
#ifndef MD_DATASET_SHARD_H
#define MD_DATASET_SHARD_H

#include <stddef.h>
#include "melodiff/context.h"

#define MD_DATASET_FORMAT "melodiff-dataset"
#define MD_DATASET_FORMAT_VERSION "1"

typedef struct md_shard_set md_shard_set;

/* One stem's data as handed to the shard set (copied there). */
typedef struct md_shard_stem {
    const char *source;     /* MIDI path */
    const char *stem_name;
    int stem_index;         /* index of the stem in the score */
    int program;
    int instrument;
    size_t n_notes;
    const char *split;      /* "train" | "val" */
    int n_mels;
    size_t frames;
    size_t active_frames;
    const float *logmel;    /* [n_mels][frames] */
    const float *harm;      /* [n_mels][frames] */
    const float *roll;      /* [128][frames] */
    const float *onset;     /* [128][frames] */
    const float *draw;      /* [n_mels][frames] or NULL */
} md_shard_stem;

md_status md_shard_set_create(md_ctx *ctx, const char *dir, const char *contract_json,
                              size_t shard_bytes, int force, md_shard_set **out);
md_status md_shard_set_add(md_shard_set *s, const md_shard_stem *stem);
/* Saves the last shard and index.jsonl. */
md_status md_shard_set_finish(md_shard_set *s);
size_t md_shard_set_count(const md_shard_set *s); /* stems added */
size_t md_shard_set_shards(const md_shard_set *s); /* shards saved */
void md_shard_set_destroy(md_shard_set *s);

#endif
