/* The vocoder's Vulkan engine, shared by its two parts: Griffin-Lim's
 * iterations (griffinlim_gpu.c) and the mel inversion's
 * (mel_inverse_gpu.c). Private to those files. */
#ifndef MD_AUDIO_VOCODER_GPU_INTERNAL_H
#define MD_AUDIO_VOCODER_GPU_INTERNAL_H

#include <pthread.h>

#include "audio/griffinlim_gpu.h"

#define MD_GL_GPU_LANES 256u

/* The filterbank the mel-inversion buffers were made for, and its buffers. */
typedef struct md_gl_nnls {
    int n_mels, bins;
    float *w;                  /* copy of the weights, to recognise the bank */
    size_t n_w;
    md_gpu_kernel *kernel;
    md_gpu_buffer *b_rows, *b_row_w, *b_col_ptr, *b_col_band, *b_col_w, *b_mom, *b_mel, *b_s;
    size_t cap_frames, cap_iters;
} md_gl_nnls;

struct md_gl_gpu {
    md_ctx *ctx;                /* the engine's own (errors are copied out) */
    md_gpu *gpu;
    pthread_mutex_t lock;
    uint32_t n_fft, hop, pad, bins, log2n, wg;
    md_stft *shape;             /* the transform's shape: window, spans, sums */
    md_gpu_kernel *k_synth, *k_analyse, *k_ola;
    md_gpu_buffer *b_window, *b_synth, *b_tw;
    /* per-run buffers, grown on demand */
    md_gpu_buffer *b_spec, *b_prev, *b_mag, *b_seg, *b_c, *b_head, *b_wsum, *b_y;
    size_t cap_frames, cap_total, cap_n, cap_head;
    size_t wsum_frames, wsum_n; /* what b_wsum holds */
    float *wsum;                /* host scratch */
    md_gl_nnls nnls;            /* mel inversion state (mel_inverse_gpu.c) */
};

md_status md_gl_gpu_buffer(md_gl_gpu *g, size_t bytes, md_gpu_buffer **b);
md_gpu_binding md_gl_gpu_bind(md_gpu_buffer *b, unsigned access);
void md_gl_gpu_frame_groups(const md_gl_gpu *g, size_t frames, uint32_t groups[3]);
void md_gl_gpu_nnls_release(md_gl_gpu *g);
/* s unchanged; when it is a failure, the engine's message onto ctx (under
 * the lock), and the engine's context cleared for the next run. */
md_status md_gl_gpu_report(md_gl_gpu *g, md_ctx *ctx, md_status s);

#endif
