/* melodiff nn — IEEE 754 binary16 (float16) conversion on the host, for
 * uploading weights in fp16 storage and for tests that round a reference's
 * weights the same way. Round-to-nearest-even; overflow gives +-inf,
 * underflow gives subnormals then +-0; NaN stays NaN. */
#ifndef MD_NN_HALF_H
#define MD_NN_HALF_H

#include <stddef.h>
#include <stdint.h>

uint16_t md_f32_to_f16(float f);
float md_f16_to_f32(uint16_t h);
void md_f32_to_f16_n(const float *src, uint16_t *dst, size_t n);
void md_f16_to_f32_n(const uint16_t *src, float *dst, size_t n);
/* v[i] = float(half(v[i])): what a float16 weight reads back as. */
void md_round_to_f16(float *v, size_t n);

#endif
