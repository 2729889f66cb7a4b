/* Spectrogram pictures: a log-mel spectrogram as a PNG, one pixel per frame
 * and mel band, low frequencies at the bottom, the top 80 dB of the range
 * mapped through melodiff's own colour map.
 *
 * The colour map is defined in OKLab (Ottosson 2020), a perceptual space:
 * lightness rises linearly from 0.13 to 0.97, hue turns from purple (300
 * deg) through red and orange to yellow (95 deg), chroma peaks mid-way and
 * is reduced where a colour falls outside sRGB. Monotonic lightness keeps
 * the picture readable in greyscale and for colour-blind readers. */
#ifndef MD_AUDIO_PNG_H
#define MD_AUDIO_PNG_H

#include <stddef.h>
#include <stdint.h>
#include "melodiff/context.h"

/* 8-bit sRGB colour of t in [0, 1] (clamped). */
void md_colormap(double t, uint8_t rgb[3]);

/* logmel: [n_mels, frames] natural-log values. Written atomically; an
 * existing file is kept unless force. */
md_status md_png_write_logmel(md_ctx *ctx, const char *path, const float *logmel, int n_mels,
                              size_t frames, int force);

#endif
