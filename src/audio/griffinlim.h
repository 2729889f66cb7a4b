/* Fast Griffin-Lim (Perraudin, Balazs, Sondergaard, "A fast Griffin-Lim
 * algorithm", WASPAA 2013): phase retrieval from an STFT magnitude.
 *
 *   c_n = STFT(ISTFT(S * phase(t_{n-1})))         (consistency of the estimate)
 *   t_n = c_n + alpha (c_n - c_{n-1})             (momentum, alpha ~ 0.99)
 *
 * Only the phase of t_n is used, so t_n is kept as c_n - alpha/(1+alpha)
 * c_{n-1} (the same direction, as torchaudio writes it). After the last
 * iteration the waveform is ISTFT(S * phase(t_N)).
 *
 * Progress: after each iteration the callback receives the spectral
 * convergence of that iteration's waveform x_n,
 *   SC = || S - |STFT(x_n)| ||_F / || S ||_F.
 * All buffers are allocated once up front; an iteration allocates nothing.
 * With threads > 1 each iteration runs its transforms on that many threads
 * (one md_stft each; the caller's handle is the first). */
#ifndef MD_AUDIO_GRIFFINLIM_H
#define MD_AUDIO_GRIFFINLIM_H

#include <stddef.h>
#include <stdint.h>
#include "audio/stft.h"

typedef enum md_gl_init {
    MD_GL_INIT_ZEROS,  /* phase 0 everywhere */
    MD_GL_INIT_RANDOM, /* uniform phase from the seed */
    MD_GL_INIT_PGHI    /* phase-gradient heap integration (default) */
} md_gl_init;

/* "zeros" | "random" | "pghi"; 0 on success, -1 otherwise. */
int md_gl_init_parse(const char *s, md_gl_init *out);

typedef void (*md_gl_progress_fn)(void *user, int iter, double spectral_convergence);

typedef struct md_gl_params {
    int iters;            /* default 32 */
    double momentum;      /* default 0.99; 0 gives classic Griffin-Lim */
    md_gl_init init;      /* default MD_GL_INIT_PGHI */
    uint64_t seed;        /* for MD_GL_INIT_RANDOM */
    int threads;          /* 1 (default) or more: frames are split across
                           * threads; results depend (in the last bits) on
                           * the count, never on timing */
    md_gl_progress_fn progress; /* not called when gpu is set: the iterations
                                 * run without a host round trip */
    void *user;
    /* NULL: the iterations run here on FFTW. Set: they run on that Vulkan
     * engine (griffinlim_gpu.h); the start (PGHI), the held border frames,
     * the final convergence and the tail are handled exactly as on the CPU.
     * Not owned: whoever created it destroys it. */
    struct md_gl_gpu *gpu;
} md_gl_params;

void md_gl_params_default(md_gl_params *p);

/* mag: frames * bins magnitudes (md_stft layout). Writes n_samples samples
 * (for a centred STFT of a signal of n samples, frames = 1 + n/hop; pass
 * (frames - 1) * hop when n is unknown). final_sc (may be NULL) receives
 * the spectral convergence of the returned waveform itself. */
md_status md_griffinlim(md_ctx *ctx, md_stft *stft, const float *mag, size_t frames,
                        const md_gl_params *p, float *out, size_t n_samples, double *final_sc);

/* Chunked vocoding (src/vocoder/vocoder_stream.c) runs Griffin-Lim on a
 * piece of a long spectrogram and needs its borders tied to the neighbours:
 * head: frames [0, n_head) start at, and are held at, these complex values
 *   (n_head * bins pairs, md_stft layout) after every iteration, so the
 *   piece continues the previous one's phase instead of picking its own.
 * tail: after the last iteration, the STFT of the returned waveform over
 *   frames [tail_from, frames) is written here ((frames - tail_from) * bins
 *   pairs): the next piece's head.
 * Either may be absent (n_head 0 / tail NULL). */
typedef struct md_gl_border {
    const float *head;
    size_t n_head;
    float *tail;
    size_t tail_from;
} md_gl_border;

/* md_griffinlim with borders (border may be NULL: identical to it). */
md_status md_griffinlim_border(md_ctx *ctx, md_stft *stft, const float *mag, size_t frames,
                               const md_gl_params *p, const md_gl_border *border, float *out,
                               size_t n_samples, double *final_sc);

/* Spectral convergence of waveform x (n samples) against magnitude mag. */
md_status md_spectral_convergence(md_ctx *ctx, md_stft *stft, const float *mag, size_t frames,
                                  const float *x, size_t n, double *sc);

#endif
