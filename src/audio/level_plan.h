/* Planning the output level of a set of signals that must keep summing to
 * their mix: one static gain, an optional look-ahead limiter (limiter.h)
 * driven by all of them, and a final trim for inter-sample peaks.
 *
 * Peak-safe static gain alone leaves a peaky mix far below its loudness
 * target (a rendered drum hit 10 dB above everything else held the quick
 * start's mix at -28 LUFS instead of -16). So when the target needs more gain
 * than the peaks allow, the plan raises the gain and lets the limiter take
 * the peaks down, by at most max_reduction_db on the loudest one; the
 * limiter's loss of loudness is made up by searching the gain (secant on the
 * measured loudness, a few passes over the audio).
 *
 * The audio is never in memory here: the caller's probe runs one pass over
 * it at a given gain, with or without the limiter, and reports the mix's
 * loudness and the highest true peak of every output. */
#ifndef MD_AUDIO_LEVEL_PLAN_H
#define MD_AUDIO_LEVEL_PLAN_H

#include "melodiff/context.h"

/* The limiter's detector ceiling sits this far below the true-peak ceiling:
 * it sees samples, not inter-sample peaks; the trim catches what is left. */
#define MD_LEVEL_LIMIT_MARGIN_DB 0.5
#define MD_LEVEL_MAX_PASSES 8
#define MD_LEVEL_TOLERANCE_LU 0.05

typedef struct md_level_probe {
    double lufs;      /* the mix's integrated loudness; -HUGE_VAL for silence */
    double true_peak; /* linear: the highest over the mix and every stem */
} md_level_probe;

/* One pass over the audio: every output times gain, through the limiter
 * (ceiling md_level_limit_ceiling()) when limit is set. */
typedef md_status (*md_level_probe_fn)(void *user, double gain, int limit, md_level_probe *out);

typedef struct md_level_plan {
    double gain;   /* static gain, before the limiter */
    double trim;   /* applied after the limiter: <= 1 */
    int limit;     /* the limiter is on */
    int passes;    /* probes run */
    double lufs;   /* the mix's loudness the plan predicts (measured in the last probe) */
} md_level_plan;

/* The limiter's ceiling (linear) for detector samples at the planned gain. */
double md_level_limit_ceiling(void);

/* target_lufs NAN: keep the level, only make the peaks safe.
 * max_reduction_db <= 0: no limiter, the peak-safe static gain of old. */
md_status md_level_plan_make(md_ctx *ctx, double target_lufs, double max_reduction_db, md_level_probe_fn probe,
                             void *user, md_level_plan *out);

#endif
