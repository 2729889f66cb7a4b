/* The log-mel of audio that arrives in blocks, frame for frame equal to
 * md_logmel_compute on the whole signal: frames are computed in batches
 * from excerpts wide enough that every window lies inside (zeros stand for
 * the padding before the start and after the end, as in centre mode). Only
 * the image ([n_mels][frames], 128 floats a frame) grows with the song. */
#ifndef MD_RENDER_MIXMEL_H
#define MD_RENDER_MIXMEL_H

#include <stddef.h>

#include "audio/logmel.h"

typedef struct md_mixmel md_mixmel;

/* n_samples: the exact total length (more is cut, less padded with zeros);
 * the image has md_mel_frames_for_samples(c, n_samples) frames. */
md_status md_mixmel_create(md_ctx *ctx, const md_mel_contract *c, size_t n_samples, md_mixmel **out);
md_status md_mixmel_push(md_mixmel *mm, const float *x, size_t n);
/* Pads to n_samples and computes the last frames; *image stays owned by mm. */
md_status md_mixmel_finish(md_mixmel *mm, const float **image, size_t *frames);
void md_mixmel_destroy(md_mixmel *mm);

#endif
