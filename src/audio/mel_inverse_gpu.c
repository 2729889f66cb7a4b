/* The mel inversion's FISTA iterations on the vocoder's Vulkan engine
 * (shaders/gl_nnls.comp): md_gl_gpu_nnls is an md_mel_iterate_fn, so
 * md_mel_to_linear_with computes the starts and the residual on the host
 * and hands this the iterations of a whole chunk at once. */
#include <stdlib.h>
#include <string.h>

#include "audio/mel_inverse.h"
#include "audio/vocoder_gpu_internal.h"

typedef struct { uint32_t frames, iters; float step; } nnls_push;

void md_gl_gpu_nnls_release(md_gl_gpu *g)
{
    md_gl_nnls *q = &g->nnls;
    md_gpu_buffer *all[] = {q->b_rows, q->b_row_w, q->b_col_ptr, q->b_col_band, q->b_col_w, q->b_mom, q->b_mel, q->b_s};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) md_gpu_buffer_destroy(all[i]);
    free(q->w);
    memset(q, 0, sizeof *q);
}

static int same_bank(const md_gl_nnls *q, const md_melbank *mb, size_t n_w)
{
    return q->w && q->n_mels == mb->n_mels && q->bins == mb->bins && q->n_w == n_w &&
           !memcmp(q->w, mb->w, sizeof(float) * n_w);
}

static md_status upload(md_gl_gpu *g, md_gpu_buffer **b, const void *data, size_t bytes)
{
    md_status s = md_gl_gpu_buffer(g, bytes, b);
    return s ? s : md_gpu_buffer_upload(*b, 0, data, bytes);
}

/* The bank by rows (start, length, offset) and by columns: for each bin the
 * bands covering it in increasing band order, which is the order the CPU's
 * transpose scatters in. */
static md_status upload_bank(md_gl_gpu *g, const md_melbank *mb, size_t n_w)
{
    int M = mb->n_mels, B = mb->bins;
    uint32_t *rows = malloc(sizeof(uint32_t) * 3 * (size_t)M), *ptr = calloc((size_t)B + 1, sizeof(uint32_t));
    uint32_t *band = malloc(sizeof(uint32_t) * (n_w ? n_w : 1));
    float *cw = malloc(sizeof(float) * (n_w ? n_w : 1));
    md_status s = rows && ptr && band && cw ? MD_OK : md_fail(g->ctx, MD_ERR_NOMEM, "mel inversion gpu: out of memory");
    for (int i = 0; !s && i < M; i++) {
        rows[3 * i] = (uint32_t)mb->start[i], rows[3 * i + 1] = (uint32_t)mb->len[i];
        rows[3 * i + 2] = (uint32_t)mb->offset[i];
        for (int k = 0; k < mb->len[i]; k++) ptr[mb->start[i] + k + 1]++;
    }
    for (int k = 0; !s && k < B; k++) ptr[k + 1] += ptr[k];
    uint32_t *fill = s ? NULL : calloc((size_t)B, sizeof(uint32_t));
    if (!s && !fill) s = md_fail(g->ctx, MD_ERR_NOMEM, "mel inversion gpu: out of memory");
    for (int i = 0; !s && i < M; i++)
        for (int k = 0; k < mb->len[i]; k++) {
            int bin = mb->start[i] + k;
            uint32_t e = ptr[bin] + fill[bin]++;
            band[e] = (uint32_t)i, cw[e] = mb->w[mb->offset[i] + (size_t)k];
        }
    md_gl_nnls *q = &g->nnls;
    if (!s) s = upload(g, &q->b_rows, rows, sizeof(uint32_t) * 3 * (size_t)M);
    if (!s) s = upload(g, &q->b_row_w, mb->w, sizeof(float) * n_w);
    if (!s) s = upload(g, &q->b_col_ptr, ptr, sizeof(uint32_t) * ((size_t)B + 1));
    if (!s) s = upload(g, &q->b_col_band, band, sizeof(uint32_t) * n_w);
    if (!s) s = upload(g, &q->b_col_w, cw, sizeof(float) * n_w);
    free(rows), free(ptr), free(band), free(cw), free(fill);
    return s;
}

/* Bank, kernel and buffers for this bank and at least this many frames and
 * iterations. */
static md_status prepare(md_gl_gpu *g, const md_melbank *mb, size_t frames, int iters)
{
    md_gl_nnls *q = &g->nnls;
    size_t n_w = mb->offset[mb->n_mels - 1] + (size_t)mb->len[mb->n_mels - 1];
    md_status s = MD_OK;
    if (!same_bank(q, mb, n_w)) {
        md_gl_gpu_nnls_release(g);
        if ((uint64_t)(3 * mb->bins + 2 * mb->n_mels) * 4 > md_gpu_get_caps(g->gpu)->limits.max_shared_memory_size)
            return md_fail(g->ctx, MD_ERR_GPU, "mel inversion gpu: %d bins and %d bands do not fit %s's shared memory",
                           mb->bins, mb->n_mels, md_gl_gpu_device(g));
        md_gpu_kernel_desc d = {.shader = "gl_nnls", .n_bindings = 8, .push_size = sizeof(nnls_push), .n_spec = 3,
                                .spec = {g->wg, (uint32_t)mb->bins, (uint32_t)mb->n_mels}};
        s = md_gpu_kernel_get(g->gpu, &d, &q->kernel);
        if (!s) s = upload_bank(g, mb, n_w);
        if (!s && !(q->w = malloc(sizeof(float) * n_w))) s = md_fail(g->ctx, MD_ERR_NOMEM, "mel inversion gpu: out of memory");
        if (s) return s;
        memcpy(q->w, mb->w, sizeof(float) * n_w);
        q->n_w = n_w, q->n_mels = mb->n_mels, q->bins = mb->bins;
    }
    if (frames > q->cap_frames) {
        q->cap_frames = 0;
        s = md_gl_gpu_buffer(g, frames * (size_t)mb->n_mels * 4, &q->b_mel);
        if (!s) s = md_gl_gpu_buffer(g, frames * (size_t)mb->bins * 4, &q->b_s);
        if (s) return s;
        q->cap_frames = frames;
    }
    if ((size_t)iters > q->cap_iters || !q->b_mom) {
        q->cap_iters = 0;
        if ((s = md_gl_gpu_buffer(g, (size_t)(iters ? iters : 1) * 4, &q->b_mom))) return s;
        q->cap_iters = (size_t)iters;
    }
    return MD_OK;
}

static md_status run_locked(md_gl_gpu *g, const md_melbank *mb, const float *m, size_t frames, int iters,
                            const float *mom, float step, float *sol)
{
    md_gl_nnls *q = &g->nnls;
    md_status s = prepare(g, mb, frames, iters);
    if (!s) s = md_gpu_buffer_upload(q->b_mel, 0, m, frames * (size_t)mb->n_mels * 4);
    if (!s) s = md_gpu_buffer_upload(q->b_s, 0, sol, frames * (size_t)mb->bins * 4);
    if (!s && iters) s = md_gpu_buffer_upload(q->b_mom, 0, mom, (size_t)iters * 4);
    md_gpu_cmd *cmd = NULL;
    if (!s) s = md_gpu_cmd_begin(g->gpu, &cmd);
    if (!s) {
        nnls_push p = {(uint32_t)frames, (uint32_t)iters, step};
        md_gpu_binding b[8] = {md_gl_gpu_bind(q->b_rows, MD_GPU_READ),     md_gl_gpu_bind(q->b_row_w, MD_GPU_READ),
                               md_gl_gpu_bind(q->b_col_ptr, MD_GPU_READ),  md_gl_gpu_bind(q->b_col_band, MD_GPU_READ),
                               md_gl_gpu_bind(q->b_col_w, MD_GPU_READ),    md_gl_gpu_bind(q->b_mom, MD_GPU_READ),
                               md_gl_gpu_bind(q->b_mel, MD_GPU_READ),      md_gl_gpu_bind(q->b_s, MD_GPU_READ_WRITE)};
        md_gpu_dispatch d = {.kernel = q->kernel, .bindings = b, .push = &p,
                             .flops = (uint64_t)frames * (uint64_t)iters * 4 * q->n_w};
        md_gl_gpu_frame_groups(g, frames, d.groups);
        s = md_gpu_cmd_dispatch(cmd, &d);
    }
    if (!s) s = md_gpu_cmd_end(cmd);
    if (!s) s = md_gpu_cmd_run(cmd);
    if (!s) s = md_gpu_buffer_download(q->b_s, 0, sol, frames * (size_t)mb->bins * 4);
    md_gpu_cmd_destroy(cmd);
    return s;
}

md_status md_gl_gpu_nnls(void *engine, md_ctx *ctx, const md_melbank *mb, const float *m, size_t frames, int iters,
                         const float *mom, float step, float *s)
{
    md_gl_gpu *g = engine;
    if (!frames) return MD_OK;
    pthread_mutex_lock(&g->lock);
    md_status st = md_gl_gpu_report(g, ctx, run_locked(g, mb, m, frames, iters, mom, step, s));
    pthread_mutex_unlock(&g->lock);
    return st;
}
