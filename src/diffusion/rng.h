/* Counter-based random numbers (Philox4x32-10, Salmon et al. 2011).
 *
 * A render must be identical run to run and independent of batching and
 * threading, so no generator carries state: every random number is a pure
 * function of (seed, stem, segment, step, index). Two renders that sample the
 * same stem segment at the same step draw the same noise whatever else they do. */
#ifndef MD_DIFFUSION_RNG_H
#define MD_DIFFUSION_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct md_rng_key {
    uint64_t seed;
    uint32_t stem;
    uint32_t segment;
    uint32_t step;
} md_rng_key;

/* The raw Philox4x32-10 bijection: ctr[4] under key[2] -> out[4]. */
void md_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* n standard normal floats for `key`, element i drawn from counter block i/4
 * (Box-Muller on pairs of 24-bit uniforms), so any slice can be regenerated alone. */
void md_rng_normal(const md_rng_key *key, size_t first, size_t n, float *out);

/* n uniform floats in [0, 1). */
void md_rng_uniform(const md_rng_key *key, size_t first, size_t n, float *out);

#endif
