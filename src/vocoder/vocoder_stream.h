/* Chunked Griffin-Lim vocoder: push log-mel frames, receive samples.
 *
 * The whole-signal vocoder (vocoder_gl.h) holds the STFT of the whole song
 * (about 25 bytes per bin, 1025 bins, 86 frames per second: 130 MB a
 * minute). This one runs the same steps (exp, NNLS mel inversion, fast
 * Griffin-Lim from a PGHI start) on chunks of at most `chunk` frames, so
 * its memory does not depend on the song's length.
 *
 * Consecutive chunks share `overlap` frames O. Chunk k+1's first H = O/2
 * frames are held at the STFT of chunk k's waveform there (md_gl_border),
 * and its PGHI start is integrated onwards from their phase, so it carries
 * on chunk k's phase instead of picking an unrelated solution of its own.
 * Every sample up to frame H - 2 is covered only by held frames, so there
 * chunk k+1 reproduces chunk k's waveform (to rounding); the switch from
 * one to the other is a linear cross-fade over frames [M, H - M)
 * (M = n_fft/hop) of chunk k+1: the signals are the same, so gains summing
 * to 1 keep the level (an equal-power fade would add up to +3 dB). Chunk k's
 * last O - H frames are context only: GL is poor within a few frames of a
 * cut, and those frames are never used.
 *
 * A song of at most `chunk` frames is one chunk: exactly md_vocode_gl.
 * Output: (T - 1) * hop samples at the contract's rate in total, T being
 * the number of frames pushed, delivered in order through the sink. The
 * result depends only on the frames and the parameters (not on how the
 * frames are split across pushes). */
#ifndef MD_VOCODER_STREAM_H
#define MD_VOCODER_STREAM_H

#include <stddef.h>

#include "audio/griffinlim.h"
#include "melodiff/mel.h"

#define MD_VOCODER_CHUNK_FRAMES 1024  /* 11.9 s at 86.13 frames/s */
#define MD_VOCODER_OVERLAP_FRAMES 32  /* 0.37 s: 16 held, of which 8 faded (93 ms) */
/* The shortest chunk md_vocoder_stream_create accepts with that overlap. */
#define MD_VOCODER_MIN_CHUNK_FRAMES (2 * MD_VOCODER_OVERLAP_FRAMES + 2)

/* Receives the next n samples (valid only during the call). */
typedef md_status (*md_vocoder_sink)(void *user, const float *y, size_t n);

typedef struct md_vocoder_stream md_vocoder_stream;

/* chunk 0 means "one chunk": everything pushed is vocoded at finish in one
 * piece (the whole-signal path, memory growing with the song). */
md_status md_vocoder_stream_create(md_ctx *ctx, const md_mel_contract *c, const md_gl_params *gl,
                                   size_t chunk, size_t overlap, md_vocoder_sink sink, void *user,
                                   md_vocoder_stream **out);

/* Pushes n frames; frame j's band m is logmel[m * stride + j]. */
md_status md_vocoder_stream_push(md_vocoder_stream *v, const float *logmel, size_t stride, size_t n);

/* Whether each chunk's spectral convergence is measured (default 1). It
 * costs one more STFT of the chunk (on a GPU engine, fetching it), so a
 * caller that only logs it at debug level turns it off otherwise. */
void md_vocoder_stream_measure(md_vocoder_stream *v, int on);

/* Vocodes what is left; *mean_sc (may be NULL) receives the frame-weighted
 * mean spectral convergence of the chunks (0 when not measured). */
md_status md_vocoder_stream_finish(md_vocoder_stream *v, double *mean_sc);

void md_vocoder_stream_destroy(md_vocoder_stream *v);

/* Convenience: the whole [n_mels][T] log-mel to a malloc'd waveform of
 * (T - 1) * hop samples, chunked as above (chunk 0: whole-signal). */
md_status md_vocode_chunked(md_ctx *ctx, const md_mel_contract *c, const float *logmel, size_t T,
                            const md_gl_params *gl, size_t chunk, size_t overlap, float **y,
                            size_t *n, double *mean_sc);

#endif
