/* melodiff — the mel contract.
 *
 * One struct says exactly how a waveform becomes the log-mel spectrogram the
 * models see. It is written into every model and mel file; features computed
 * under one contract are never fed to a model trained under another.
 * Implemented in src/audio/mel_contract.c (the one place its defaults live). */
#ifndef MELODIFF_MEL_H
#define MELODIFF_MEL_H

#include <stddef.h>
#include "melodiff/context.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct md_mel_contract {
    int sample_rate;     /* 44100 */
    int n_fft;           /* 2048 */
    int hop;             /* 512 */
    int win_length;      /* 2048 */
    char window[16];     /* "hann" (periodic) */
    int center;          /* 1: frames centred, signal zero-padded by n_fft/2 each side */
    int n_mels;          /* 128 */
    float fmin;          /* 0 Hz */
    float fmax;          /* 22050 Hz */
    char mel_scale[16];  /* "slaney" (librosa default, htk=False) or "htk" */
    char mel_norm[16];   /* "slaney" (area normalisation) or "none" */
    float power;         /* 1: mel of STFT magnitude */
    float log_floor;     /* 1e-5: logmel = ln(max(mel, log_floor)) */
} md_mel_contract;

/* The contract every shipped model is trained under. */
void md_mel_contract_default(md_mel_contract *c);

/* Frames for n samples with centre padding: 1 + n / hop. */
size_t md_mel_frames_for_samples(const md_mel_contract *c, size_t n_samples);

/* Mel frame rate in frames per second (sample_rate / hop). */
double md_mel_frame_rate(const md_mel_contract *c);

/* Slaney or HTK mel scale, as librosa.hz_to_mel / mel_to_hz. */
double md_hz_to_mel(double hz, int htk);
double md_mel_to_hz(double mel, int htk);

/* Serialise to / parse from the compact JSON object stored under the
 * "mel_contract" metadata key. to_json returns a malloc'd string. */
char *md_mel_contract_to_json(const md_mel_contract *c);
md_status md_mel_contract_from_json(md_ctx *ctx, const char *json, const char *origin,
                                    md_mel_contract *out);

/* MD_OK when equal; otherwise MD_ERR_MODEL with a message naming `origin`
 * and the first field that differs ("model.safetensors: mel contract differs:
 * hop is 256, features use 512"). */
md_status md_mel_contract_check(md_ctx *ctx, const md_mel_contract *expected,
                                const md_mel_contract *found, const char *origin);

#ifdef __cplusplus
}
#endif
#endif
