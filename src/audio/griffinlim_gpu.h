/* The vocoder's iterations on a Vulkan device (shaders/gl_*.comp).
 *
 * The CPU paths (griffinlim.c on FFTW, mel_inverse.c) stay the reference;
 * this engine runs the same iterations: fast Griffin-Lim's synthesis,
 * overlap-add, analysis, momentum step and held border frames, with one
 * workgroup per STFT frame and a shared-memory FFT; and the NNLS mel
 * inversion's FISTA loop (md_gl_gpu_nnls, mel_inverse_gpu.c), one workgroup
 * per frame. So a render on a GPU does not wait for the CPU to vocode.
 * md_griffinlim_border and the chunked vocoder use it when
 * md_gl_params.gpu is set; the starts (PGHI, the clamped pseudo-inverse)
 * stay on the CPU, once per chunk.
 *
 * Results equal the CPU path's to float rounding of a different FFT (tests
 * compare both: tests/test_audio_griffinlim_gpu.c); like the U-Net, files
 * are identical run to run on one device, not across devices.
 *
 * Supported shapes: n_fft a power of two from 16 to 4096 whose N complex
 * floats fit the device's shared memory (2048 needs 16 KiB, the Vulkan
 * minimum). Anything else is refused at create with MD_ERR_GPU and a
 * message, and the caller keeps the CPU path.
 *
 * One engine owns its own md_gpu handle and context and may be shared by
 * threads: runs are serialised by a lock (the GPU is the shared resource;
 * each caller's CPU work -- the starts, PGHI -- still runs in parallel), and
 * a run's error lands on the context its caller passes. */
#ifndef MD_AUDIO_GRIFFINLIM_GPU_H
#define MD_AUDIO_GRIFFINLIM_GPU_H

#include <stddef.h>

#include "audio/stft.h"
#include "gpu/gpu.h"
#include "melodiff/mel.h"

typedef struct md_gl_gpu md_gl_gpu;

/* An engine for the transform shape of `shape` (n_fft, hop, window, centre)
 * on the device `opt` names (NULL: md_gpu_options_init's defaults). */
md_status md_gl_gpu_create(md_ctx *ctx, const md_gpu_options *opt, const md_stft *shape, md_gl_gpu **out);
/* The same for the transform a mel contract's vocoder uses. */
md_status md_gl_gpu_create_for_contract(md_ctx *ctx, const md_gpu_options *opt, const md_mel_contract *mc,
                                        md_gl_gpu **out);
void md_gl_gpu_destroy(md_gl_gpu *g); /* NULL is a no-op */

/* The device's name, for manifests and logs, and its description. */
const char *md_gl_gpu_device(const md_gl_gpu *g);
const md_gpu_caps *md_gl_gpu_caps(const md_gl_gpu *g);

/* Validation messages seen by the engine's handle (tests). */
unsigned long long md_gl_gpu_validation_count(const md_gl_gpu *g);

typedef struct md_gl_gpu_job {
    const float *mag;   /* frames * bins target magnitudes */
    const float *spec;  /* frames * bins complex: the starting estimate */
    size_t frames;
    int iters;          /* >= 0 */
    float beta;         /* momentum / (1 + momentum), as griffinlim.c */
    const float *head;  /* n_head * bins complex held frames, or NULL */
    size_t n_head;
    float *y;           /* out: n samples, ISTFT of the final estimate */
    size_t n;
    float *c;           /* out, may be NULL: frames * bins complex STFT of y, */
    size_t c_from;      /* written from this frame on (the rest untouched) */
} md_gl_gpu_job;

/* Runs job->iters iterations and the final synthesis; a failure's message
 * goes to ctx. Thread-safe. The transform must have the engine's shape
 * (md_griffinlim_border checks). */
md_status md_gl_gpu_run(md_gl_gpu *g, md_ctx *ctx, const md_gl_gpu_job *job);

/* The mel inversion's iterations on the engine (an md_mel_iterate_fn,
 * audio/mel_inverse.h; engine is the md_gl_gpu). The filterbank's buffers
 * are made on first use and kept while the same bank comes back.
 * Thread-safe, as md_gl_gpu_run. */
struct md_melbank;
md_status md_gl_gpu_nnls(void *engine, md_ctx *ctx, const struct md_melbank *mb, const float *m, size_t frames,
                         int iters, const float *mom, float step, float *s);

/* 1 when stft has the shape the engine was made for. */
int md_gl_gpu_matches(const md_gl_gpu *g, const md_stft *stft);

#endif
