/* Mel files: a log-mel spectrogram as safetensors.
 *   tensor "logmel": F32 [n_mels, frames], natural-log mel magnitudes
 *   __metadata__: {"kind": "logmel", "format_version": "1",
 *                  "mel_contract": <contract JSON>, "source": <what it came from>}
 * Structural problems are MD_ERR_INPUT; a contract that cannot be parsed is
 * MD_ERR_MODEL (as md_mel_contract_from_json reports it). */
#ifndef MD_AUDIO_MELFILE_H
#define MD_AUDIO_MELFILE_H

#include <stddef.h>
#include "melodiff/mel.h"

#define MD_MELFILE_KIND "logmel"
#define MD_MELFILE_VERSION "1"
#define MD_MELFILE_MAX_BYTES ((size_t)1 << 30)

md_status md_melfile_write(md_ctx *ctx, const char *path, const md_mel_contract *c,
                           const float *logmel, size_t frames, const char *source, int force);

/* *logmel is malloc'd ([c->n_mels, frames]). */
md_status md_melfile_read(md_ctx *ctx, const char *path, md_mel_contract *c, float **logmel,
                          size_t *frames);

#endif
