/* Long-form rendering: a stem of any length is sampled as fixed-length
 * segments that overlap. Each segment after the first holds its first
 * `overlap` frames to the previous segment's result while it is sampled
 * (md_sampler_cfg.known_x0), then the two are cross-faded over the overlap.
 * Fixed-length segments keep memory flat however long the song is. */
#ifndef MD_RENDER_SEGMENTS_H
#define MD_RENDER_SEGMENTS_H

#include <stddef.h>
#include "melodiff/context.h"

typedef struct md_segment {
    size_t start;   /* first frame of the stem this segment covers */
    size_t frames;  /* frames the model samples (always seg_frames) */
    size_t valid;   /* frames that lie inside the stem (the rest is padding) */
    size_t held;    /* leading frames held to the previous segment (0 for the first) */
} md_segment;

typedef struct md_segment_plan {
    md_segment *seg;
    size_t count;
    size_t seg_frames, overlap;
} md_segment_plan;

/* Plans segments covering n_frames. seg_frames must be a positive multiple
 * of `multiple` (the model's frame multiple) and overlap < seg_frames / 2. */
md_status md_segment_plan_make(md_ctx *ctx, size_t n_frames, size_t seg_frames, size_t overlap,
                               size_t multiple, md_segment_plan *plan);
void md_segment_plan_free(md_segment_plan *plan);

/* Cross-fade weight of the NEW segment at position i of an overlap of length
 * n: raised cosine from 0 to 1, so old + new weights sum to 1 everywhere. */
float md_segment_fade(size_t i, size_t n);

/* Writes segment s's sampled frames (rows x seg->frames, row-major, e.g.
 * n_mels rows) into the stem image (rows x n_frames) at its place,
 * cross-fading the held overlap with what is already there. */
void md_segment_place(const md_segment_plan *plan, size_t s, const float *seg_image, size_t rows,
                      float *stem_image, size_t n_frames);

#endif
