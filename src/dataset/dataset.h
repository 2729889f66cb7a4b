/* `melodiff dataset`: training data for the U-Net, computed by the library.
 *
 * For every stem of every MIDI file: render the stem alone and dry with
 * libfluidsynth (the synth module: FluidR3_GM, reverb and chorus off,
 * 44.1 kHz), compute its log-mel with md_logmel (the mel contract) and its
 * conditioning with md_cond_build, and append both to safetensors shards
 * with one index.jsonl line per stem (docs/dataset.md). Each file's full mix
 * is also rendered to mix/ for evaluation. An unreadable MIDI file is
 * reported (md_log WARN) and skipped. With a note bank each stem's drawing
 * (md_notebank_draw, the renderer's own) is stored too. */
#ifndef MD_DATASET_DATASET_H
#define MD_DATASET_DATASET_H

#include <stddef.h>
#include "melodiff/context.h"

typedef struct md_dataset_opts {
    const char *out_dir;
    double val_fraction;  /* by-file split (split.h); default 0.1 */
    double max_seconds;   /* per file; 0 = whole file; default 60 */
    size_t shard_bytes;   /* default 64 MiB */
    int render_mix;       /* default 1 */
    int force;            /* replace files of an existing dataset */
    const char *soundfont; /* NULL = the synth default */
    /* A note bank (notebank.h) to draw each stem with: the drawing is stored
     * beside the logmel as <k>.draw, the input of a refiner model (a U-Net
     * whose config has "cond_image": "notebank", docs/training.md). NULL: no
     * drawings. */
    const char *notebank;
    /* Called before each file (done files so far, total, path); may be NULL. */
    void (*progress)(void *user, size_t done, size_t total, const char *path);
    void *progress_user;
} md_dataset_opts;

typedef struct md_dataset_stats {
    size_t files_ok, files_skipped;
    size_t stems, stems_silent, shards;
    size_t frames, active_frames;
    size_t val_files;
} md_dataset_stats;

void md_dataset_opts_default(md_dataset_opts *o);

/* Frames audibly sounding: a note in the roll, or a mel band more than
 * 3 nats above the log floor (the same rule as tools/train/data.py). */
size_t md_dataset_active_frames(const float *logmel, const float *roll, int n_mels, size_t frames,
                                float log_floor);

/* MD_ERR_INPUT when no file yields a stem; MD_ERR_IO when out_dir already
 * holds a dataset and force is 0. */
md_status md_dataset_build(md_ctx *ctx, const md_dataset_opts *o, const char *const *paths,
                           size_t n_paths, md_dataset_stats *stats);

#endif
