/* A stem's pitch bend per mel frame (bend.h). */
#include "cond/bend.h"

#include <stdlib.h>

md_status md_cond_bend_frames(md_ctx *ctx, const md_stem *stem, double frame_rate, size_t first_frame,
                              size_t n_frames, float **out)
{
    const md_curve *pb = &stem->pitch_bend;
    int any = 0;
    *out = NULL;
    for (size_t i = 0; i < pb->n && !any; i++) any = pb->points[i].value != 0.0f;
    if (!any) return MD_OK;
    float *b = calloc(n_frames ? n_frames : 1, sizeof *b);
    if (!b) return md_fail(ctx, MD_ERR_NOMEM, "out of memory for %zu frames of pitch bend", n_frames);
    size_t k = 0;
    for (size_t t = 0; t < n_frames; t++) {
        double sec = (double)(first_frame + t) / frame_rate;
        while (k + 1 < pb->n && pb->points[k + 1].time <= sec) k++;
        b[t] = pb->points[k].time <= sec ? pb->points[k].value : 0.0f;
    }
    *out = b;
    return MD_OK;
}
