/* A streaming look-ahead peak limiter that computes a gain envelope only.
 *
 * The caller feeds a detector stream: for each sample, the largest magnitude
 * any output will have there before limiting (the render uses the maximum of
 * |mix| and every |stem|). The limiter returns, for each sample, a gain in
 * (0, 1] such that detector * gain <= ceiling, and the caller multiplies
 * every output by that same gain. One common gain is why stems still sum to
 * the mix exactly after limiting, which a limiter on the mix alone breaks.
 *
 * The envelope (for latency L = lookahead samples):
 *   r[j] = min(1, ceiling / detector[j])      the gain sample j needs
 *   h[i] = min(r[i .. i+L])                   hold: reach the dip in time
 *   s[i] = mean(h[i-L .. i])                  a linear ramp of L samples
 *   g[i] = min(s[i], g[i-1] + (1 - g[i-1]) a) release: exponential recovery
 * At a peak p every h[k], k in [p-L, p], is <= r[p], so s[p] <= r[p]: the
 * guarantee holds exactly (up to float rounding), with no overshoot.
 *
 * No library in Debian provides a limiter as a C API (the LV2/LADSPA ones are
 * plugins that own the audio path), and this one is ~100 lines, so it is ours. */
#ifndef MD_AUDIO_LIMITER_H
#define MD_AUDIO_LIMITER_H

#include <stddef.h>
#include "melodiff/context.h"

#define MD_LIMITER_LOOKAHEAD_S 0.005
#define MD_LIMITER_RELEASE_S 0.1

typedef struct md_limiter md_limiter;

/* ceiling: linear, > 0. lookahead_s, release_s: > 0 (seconds). */
md_status md_limiter_create(md_ctx *ctx, int rate, double ceiling, double lookahead_s, double release_s,
                            md_limiter **out);
void md_limiter_destroy(md_limiter *l);

/* The delay, in samples, between a detector sample going in and its gain coming out. */
size_t md_limiter_latency(const md_limiter *l);

/* Pushes n detector samples (magnitudes >= 0) and writes the gains that are
 * now complete to gain[] (room for n), *n_gain of them: always in order, the
 * first push of a stream returns n - latency (or 0). */
void md_limiter_push(md_limiter *l, const float *detector, size_t n, float *gain, size_t *n_gain);

/* End of stream: the last gains, at most latency of them (gain[] has room
 * for latency), as if the detector went on silent. */
void md_limiter_finish(md_limiter *l, float *gain, size_t *n_gain);

#endif
