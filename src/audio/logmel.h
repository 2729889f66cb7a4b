/* Log-mel features under a mel contract: THE one mel implementation of
 * melodiff. Rendering, analysis and the dataset builder all call this, so
 * training and inference features cannot drift apart.
 *   logmel[m, t] = ln(max(sum_k W[m,k] |STFT(x)[t,k]|^power, log_floor))
 * Output layout: [n_mels, frames] row-major (mel-major), frames =
 * md_mel_frames_for_samples(contract, n). */
#ifndef MD_AUDIO_LOGMEL_H
#define MD_AUDIO_LOGMEL_H

#include <stddef.h>
#include "melodiff/mel.h"
#include "audio/melbank.h"
#include "audio/stft.h"

/* A reusable analyser (STFT plans + filterbank) for many calls. */
typedef struct md_logmel md_logmel;

md_status md_logmel_create(md_ctx *ctx, const md_mel_contract *c, md_logmel **out);
void md_logmel_destroy(md_logmel *lm);
const md_melbank *md_logmel_melbank(const md_logmel *lm);
md_stft *md_logmel_stft(md_logmel *lm);

/* out receives n_mels * frames floats ([n_mels, frames]). */
md_status md_logmel_run(md_logmel *lm, const float *samples, size_t n, float *out);

/* One-shot convenience: builds an analyser, runs it, frees it. */
md_status md_logmel_compute(md_ctx *ctx, const md_mel_contract *c, const float *samples,
                            size_t n, float *out);

/* Builds the filterbank a contract describes. */
md_status md_melbank_for_contract(md_ctx *ctx, const md_mel_contract *c, md_melbank **out);

/* Checks that a contract is one this implementation can compute (hann
 * window, slaney|htk scale, slaney|none norm, fmax <= Nyquist). */
md_status md_mel_contract_supported(md_ctx *ctx, const md_mel_contract *c, const char *origin);

#endif
