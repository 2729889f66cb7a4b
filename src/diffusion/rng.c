/* Philox4x32-10 and normal variates derived from it. */
#include "diffusion/rng.h"

#include <math.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

static void mulhilo(uint32_t a, uint32_t b, uint32_t *hi, uint32_t *lo)
{
    uint64_t p = (uint64_t)a * b;
    *hi = (uint32_t)(p >> 32);
    *lo = (uint32_t)p;
}

void md_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int r = 0; r < 10; r++) {
        uint32_t hi0, lo0, hi1, lo1;
        mulhilo(PHILOX_M0, c0, &hi0, &lo0);
        mulhilo(PHILOX_M1, c2, &hi1, &lo1);
        uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
        c0 = n0;
        c1 = lo1;
        c2 = n2;
        c3 = lo0;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

/* Counter layout: word 0 = block index (low 32 bits), word 1 = step with the
 * block index's bits 32..39 XORed into its top byte (steps stay far below
 * 2^24), word 2 = segment, word 3 = stem; the key is the 64-bit seed. */
static void block(const md_rng_key *k, uint64_t b, uint32_t out[4])
{
    uint32_t ctr[4] = {(uint32_t)b, k->step ^ ((uint32_t)(b >> 32) << 24), k->segment, k->stem};
    uint32_t key[2] = {(uint32_t)k->seed, (uint32_t)(k->seed >> 32)};
    md_philox4x32_10(ctr, key, out);
}

/* 24 random bits to (0, 1]: never 0, so log() below is finite. */
static float unit_open0(uint32_t u) { return ((float)(u >> 8) + 1.0f) * (1.0f / 16777216.0f); }

void md_rng_uniform(const md_rng_key *key, size_t first, size_t n, float *out)
{
    for (size_t i = 0; i < n; i++) {
        size_t e = first + i;
        uint32_t r[4];
        block(key, e / 4, r);
        out[i] = (float)(r[e % 4] >> 8) * (1.0f / 16777216.0f);
    }
}

void md_rng_normal(const md_rng_key *key, size_t first, size_t n, float *out)
{
    for (size_t i = 0; i < n; i++) {
        size_t e = first + i;
        uint32_t r[4];
        block(key, e / 4, r);
        /* Elements 2j and 2j+1 of a block share one Box-Muller pair. */
        size_t lane = e % 4, pair = lane / 2;
        float u1 = unit_open0(r[2 * pair]), u2 = unit_open0(r[2 * pair + 1]);
        float rad = sqrtf(-2.0f * logf(u1));
        float ang = 6.283185307179586f * u2;
        out[i] = (lane % 2) ? rad * sinf(ang) : rad * cosf(ang);
    }
}
