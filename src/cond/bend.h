/* Internal: a stem's pitch-bend curve sampled at mel frames, as both the
 * conditioning (cond.h) and the note bank's drawing read it. */
#ifndef MD_COND_BEND_H
#define MD_COND_BEND_H

#include <stddef.h>
#include "melodiff/context.h"
#include "melodiff/score.h"

/* The bend in semitones in force at frames [first_frame, first_frame +
 * n_frames), frame t being at t / frame_rate seconds (the curve is piecewise
 * constant, 0 before its first point). *out is malloc'd, or NULL when the
 * stem never bends (the common case). MD_ERR_NOMEM when out of memory. */
md_status md_cond_bend_frames(md_ctx *ctx, const md_stem *stem, double frame_rate, size_t first_frame,
                              size_t n_frames, float **out);

#endif
