/* Segment planning and cross-fade placement for long-form rendering. */
#include "render/segments.h"

#include <math.h>
#include <stdlib.h>

md_status md_segment_plan_make(md_ctx *ctx, size_t n_frames, size_t seg_frames, size_t overlap,
                               size_t multiple, md_segment_plan *plan)
{
    plan->seg = NULL;
    plan->count = 0;
    if (!multiple || !seg_frames || seg_frames % multiple || overlap * 2 >= seg_frames)
        return md_fail(ctx, MD_ERR_USAGE,
                       "segment length %zu must be a positive multiple of %zu and more than twice the overlap %zu",
                       seg_frames, multiple, overlap);
    size_t stride = seg_frames - overlap;
    size_t count = n_frames <= seg_frames ? 1 : 1 + (n_frames - seg_frames + stride - 1) / stride;
    plan->seg = calloc(count, sizeof *plan->seg);
    if (!plan->seg) return md_fail(ctx, MD_ERR_NOMEM, "out of memory planning %zu segments", count);
    for (size_t i = 0; i < count; i++) {
        md_segment *s = &plan->seg[i];
        s->start = i * stride;
        s->frames = seg_frames;
        s->valid = n_frames - s->start < seg_frames ? n_frames - s->start : seg_frames;
        s->held = i ? overlap : 0;
    }
    plan->count = count;
    plan->seg_frames = seg_frames;
    plan->overlap = overlap;
    return MD_OK;
}

void md_segment_plan_free(md_segment_plan *plan)
{
    free(plan->seg);
    plan->seg = NULL;
    plan->count = 0;
}

float md_segment_fade(size_t i, size_t n)
{
    if (!n) return 1.0f;
    double x = (i + 0.5) / (double)n;
    return (float)(0.5 - 0.5 * cos(M_PI * x));
}

void md_segment_place(const md_segment_plan *plan, size_t s, const float *seg_image, size_t rows,
                      float *stem_image, size_t n_frames)
{
    const md_segment *g = &plan->seg[s];
    for (size_t r = 0; r < rows; r++) {
        const float *src = seg_image + r * g->frames;
        float *dst = stem_image + r * n_frames + g->start;
        for (size_t t = 0; t < g->valid; t++) {
            float w = t < g->held ? md_segment_fade(t, g->held) : 1.0f;
            dst[t] = w * src[t] + (1.0f - w) * dst[t];
        }
    }
}
