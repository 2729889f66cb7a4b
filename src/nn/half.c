/* float <-> float16 by bit manipulation (no _Float16: not every C11
 * compiler on every target has it). */
#include <string.h>

#include "nn/half.h"

uint16_t md_f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t exp = (x >> 23) & 0xffu, man = x & 0x7fffffu;
    if (exp == 0xffu) /* inf, or NaN kept quiet with a mantissa bit set */
        return (uint16_t)(sign | 0x7c00u | (man ? 0x200u | (man >> 13) : 0u));
    int e = (int)exp - 127 + 15;
    if (e >= 31) return (uint16_t)(sign | 0x7c00u); /* too large: inf */
    if (e <= 0) {
        /* Subnormal half (or zero): shift the mantissa with its implicit bit
         * right, rounding to nearest even on the bits shifted out. */
        if (e < -10) return sign;
        uint32_t m = man | 0x800000u;
        int shift = 14 - e; /* 14..24 */
        uint32_t half_m = m >> shift, rest = m & ((1u << shift) - 1u), mid = 1u << (shift - 1);
        if (rest > mid || (rest == mid && (half_m & 1u))) half_m++;
        return (uint16_t)(sign | half_m); /* a carry into bit 10 is the smallest normal: right */
    }
    uint32_t h = ((uint32_t)e << 10) | (man >> 13), rest = man & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) h++; /* a carry may round up to inf: right */
    return (uint16_t)(sign | h);
}

float md_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, x;
    if (exp == 0x1fu) {
        x = sign | 0x7f800000u | (man << 13);
    } else if (exp == 0) {
        if (!man) {
            x = sign;
        } else { /* subnormal: normalise */
            int e = -1;
            do {
                man <<= 1;
                e++;
            } while (!(man & 0x400u));
            x = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ffu) << 13);
        }
    } else {
        x = sign | ((exp - 15 + 127) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &x, sizeof f);
    return f;
}

void md_f32_to_f16_n(const float *src, uint16_t *dst, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] = md_f32_to_f16(src[i]);
}

void md_f16_to_f32_n(const uint16_t *src, float *dst, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] = md_f16_to_f32(src[i]);
}

void md_round_to_f16(float *v, size_t n)
{
    for (size_t i = 0; i < n; i++) v[i] = md_f16_to_f32(md_f32_to_f16(v[i]));
}
