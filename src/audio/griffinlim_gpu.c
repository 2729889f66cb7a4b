/* Griffin-Lim iterations on Vulkan: host side of shaders/gl_synth.comp,
 * gl_analyse.comp and gl_ola.comp. One iteration is two dispatches over the
 * frames (synthesis, then analysis + momentum step); each iteration is its
 * own run, so no submission outlasts a driver watchdog even on lavapipe. */
#include "audio/griffinlim_gpu.h"
#include "audio/vocoder_gpu_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LOG2N 12 /* 4096 points: 32 KiB of shared memory */

typedef struct { uint32_t frames; } synth_push;
typedef struct { uint32_t frames, n, pad, hop, n_head, mode; float beta; } analyse_push;
typedef struct { uint32_t frames, n, pad, hop; } ola_push;


static int log2_exact(int n)
{
    int l = 0;
    while ((1 << l) < n) l++;
    return (1 << l) == n ? l : -1;
}

const char *md_gl_gpu_device(const md_gl_gpu *g) { return md_gpu_get_caps(g->gpu)->info.name; }
const md_gpu_caps *md_gl_gpu_caps(const md_gl_gpu *g) { return md_gpu_get_caps(g->gpu); }

int md_gl_gpu_matches(const md_gl_gpu *g, const md_stft *st)
{
    return md_stft_n_fft(st) == md_stft_n_fft(g->shape) && md_stft_hop(st) == md_stft_hop(g->shape) &&
           md_stft_center(st) == md_stft_center(g->shape) &&
           !memcmp(md_stft_window(st), md_stft_window(g->shape), sizeof(float) * g->n_fft);
}

unsigned long long md_gl_gpu_validation_count(const md_gl_gpu *g)
{
    return (unsigned long long)md_gpu_validation_count(g->gpu);
}

md_status md_gl_gpu_buffer(md_gl_gpu *g, size_t bytes, md_gpu_buffer **b)
{
    md_gpu_buffer_destroy(*b);
    *b = NULL;
    return md_gpu_buffer_create(g->gpu, bytes < 16 ? 16 : bytes, MD_GPU_BUFFER_DEVICE, b);
}

/* The shape's window and synthesis window (md_stft's own floats) and the
 * twiddles exp(-2 pi i k / N) computed in double. */
static md_status upload_constants(md_gl_gpu *g)
{
    size_t N = g->n_fft;
    float *tw = malloc(sizeof(float) * N);
    md_status s = tw ? MD_OK : md_fail(g->ctx, MD_ERR_NOMEM, "griffin-lim gpu: out of memory");
    for (size_t k = 0; !s && k < N / 2; k++) {
        double a = -2.0 * M_PI * (double)k / (double)N;
        tw[2 * k] = (float)cos(a);
        tw[2 * k + 1] = (float)sin(a);
    }
    if (!s) s = md_gl_gpu_buffer(g, sizeof(float) * N, &g->b_window);
    if (!s) s = md_gl_gpu_buffer(g, sizeof(float) * N, &g->b_synth);
    if (!s) s = md_gl_gpu_buffer(g, sizeof(float) * N, &g->b_tw);
    if (!s) s = md_gpu_buffer_upload(g->b_window, 0, md_stft_window(g->shape), sizeof(float) * N);
    if (!s) s = md_gpu_buffer_upload(g->b_synth, 0, md_stft_synthesis_window(g->shape), sizeof(float) * N);
    if (!s) s = md_gpu_buffer_upload(g->b_tw, 0, tw, sizeof(float) * N);
    free(tw);
    return s;
}

static md_status get_kernel(md_gl_gpu *g, const char *shader, uint32_t bindings, uint32_t push, md_gpu_kernel **k)
{
    md_gpu_kernel_desc d = {.shader = shader, .n_bindings = bindings, .push_size = push, .n_spec = 2,
                            .spec = {g->wg, g->log2n}};
    return md_gpu_kernel_get(g->gpu, &d, k);
}

/* The device must hold one N-point complex frame in shared memory. */
static md_status check_device(md_gl_gpu *g)
{
    const md_gpu_limits *l = &md_gpu_get_caps(g->gpu)->limits;
    if ((uint64_t)g->n_fft * 8 > l->max_shared_memory_size)
        return md_fail(g->ctx, MD_ERR_GPU, "griffin-lim gpu: %u-point frames need %u bytes of shared memory; "
                       "%s has %u", g->n_fft, g->n_fft * 8, md_gl_gpu_device(g), l->max_shared_memory_size);
    g->wg = MD_GL_GPU_LANES < l->max_workgroup_invocations ? MD_GL_GPU_LANES : l->max_workgroup_invocations;
    if (g->wg > l->max_workgroup_size[0]) g->wg = l->max_workgroup_size[0];
    return MD_OK;
}

/* The engine's own context, logging where the creator's does: callers on
 * other threads (the render's vocoding threads) get their errors copied onto
 * their own context (md_gl_gpu_report), never shared. */
static md_status own_context(md_ctx *ctx, md_ctx **out)
{
    if (md_ctx_create(out) != MD_OK) return md_fail(ctx, MD_ERR_NOMEM, "griffin-lim gpu: out of memory");
    md_log_fn fn;
    void *user;
    md_ctx_get_log(ctx, &fn, &user);
    md_ctx_set_log(*out, fn, user);
    md_ctx_set_log_level(*out, md_ctx_log_level(ctx));
    return MD_OK;
}

md_status md_gl_gpu_report(md_gl_gpu *g, md_ctx *ctx, md_status s)
{
    if (s && ctx) md_fail(ctx, s, "%s", md_ctx_error(g->ctx));
    md_ctx_clear_error(g->ctx);
    return s;
}

md_status md_gl_gpu_create(md_ctx *ctx, const md_gpu_options *opt, const md_stft *shape, md_gl_gpu **out)
{
    *out = NULL;
    int n_fft = md_stft_n_fft(shape), l2 = log2_exact(n_fft);
    if (l2 < 4 || l2 > MAX_LOG2N)
        return md_fail(ctx, MD_ERR_GPU, "griffin-lim gpu: n_fft %d is not a power of two from 16 to %d", n_fft,
                       1 << MAX_LOG2N);
    md_gl_gpu *g = calloc(1, sizeof *g);
    if (!g) return md_fail(ctx, MD_ERR_NOMEM, "griffin-lim gpu: out of memory");
    pthread_mutex_init(&g->lock, NULL);
    if (own_context(ctx, &g->ctx)) {
        pthread_mutex_destroy(&g->lock);
        free(g);
        return MD_ERR_NOMEM;
    }
    g->n_fft = (uint32_t)n_fft, g->log2n = (uint32_t)l2, g->hop = (uint32_t)md_stft_hop(shape);
    g->pad = md_stft_center(shape) ? g->n_fft / 2 : 0;
    g->bins = g->n_fft / 2 + 1;
    md_status s = md_stft_create(g->ctx, n_fft, (int)g->hop, md_stft_win_length(shape), md_stft_center(shape),
                                 &g->shape);
    if (!s) s = md_gpu_create(g->ctx, opt, &g->gpu);
    if (!s) s = check_device(g);
    if (!s) s = get_kernel(g, "gl_synth", 4, sizeof(synth_push), &g->k_synth);
    if (!s) s = get_kernel(g, "gl_analyse", 9, sizeof(analyse_push), &g->k_analyse);
    if (!s) s = get_kernel(g, "gl_ola", 3, sizeof(ola_push), &g->k_ola);
    if (!s) s = upload_constants(g);
    if (s) {
        md_gl_gpu_report(g, ctx, s);
        md_gl_gpu_destroy(g);
        return s;
    }
    *out = g;
    return MD_OK;
}

md_status md_gl_gpu_create_for_contract(md_ctx *ctx, const md_gpu_options *opt, const md_mel_contract *mc,
                                        md_gl_gpu **out)
{
    md_stft *shape = NULL;
    md_status s = md_stft_create(ctx, mc->n_fft, mc->hop, mc->win_length, mc->center, &shape);
    if (!s) s = md_gl_gpu_create(ctx, opt, shape, out);
    md_stft_destroy(shape);
    return s;
}

void md_gl_gpu_destroy(md_gl_gpu *g)
{
    if (!g) return;
    md_gpu_buffer *all[] = {g->b_window, g->b_synth, g->b_tw, g->b_spec, g->b_prev, g->b_mag,
                            g->b_seg, g->b_c, g->b_head, g->b_wsum, g->b_y};
    md_gl_gpu_nnls_release(g);
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) md_gpu_buffer_destroy(all[i]);
    md_gpu_destroy(g->gpu);
    md_ctx_destroy(g->ctx);
    pthread_mutex_destroy(&g->lock);
    md_stft_destroy(g->shape);
    free(g->wsum);
    free(g);
}

static md_status ensure_buffers(md_gl_gpu *g, size_t frames, size_t n, size_t n_head)
{
    md_status s = MD_OK;
    size_t F = frames, total = md_stft_padded_span(g->shape, frames, n);
    if (F > g->cap_frames) {
        g->cap_frames = 0;
        s = md_gl_gpu_buffer(g, F * g->bins * 8, &g->b_spec);
        if (!s) s = md_gl_gpu_buffer(g, F * g->bins * 8, &g->b_prev);
        if (!s) s = md_gl_gpu_buffer(g, F * g->bins * 8, &g->b_c);
        if (!s) s = md_gl_gpu_buffer(g, F * g->bins * 4, &g->b_mag);
        if (!s) s = md_gl_gpu_buffer(g, F * g->n_fft * 4, &g->b_seg);
        if (!s) g->cap_frames = F;
    }
    if (!s && total > g->cap_total) {
        float *w = realloc(g->wsum, sizeof(float) * total);
        if (!w) return md_fail(g->ctx, MD_ERR_NOMEM, "griffin-lim gpu: out of memory");
        g->wsum = w;
        g->cap_total = 0, g->wsum_frames = 0;
        s = md_gl_gpu_buffer(g, total * 4, &g->b_wsum);
        if (!s) g->cap_total = total;
    }
    if (!s && (n > g->cap_n || !g->b_y)) {
        g->cap_n = 0;
        s = md_gl_gpu_buffer(g, n * 4, &g->b_y);
        if (!s) g->cap_n = n;
    }
    if (!s && (n_head > g->cap_head || !g->b_head)) {
        g->cap_head = 0;
        s = md_gl_gpu_buffer(g, n_head * g->bins * 8, &g->b_head);
        if (!s) g->cap_head = n_head;
    }
    return s;
}

/* The reciprocal window-square sum over the padded span: md_stft's own, so
 * both paths divide by the same floats. */
static md_status upload_wsum(md_gl_gpu *g, size_t frames, size_t n)
{
    if (g->wsum_frames == frames && g->wsum_n == n) return MD_OK;
    size_t total = md_stft_padded_span(g->shape, frames, n);
    md_stft_window_sum_inv(g->shape, frames, total, g->wsum);
    md_status s = md_gpu_buffer_upload(g->b_wsum, 0, g->wsum, sizeof(float) * total);
    if (!s) g->wsum_frames = frames, g->wsum_n = n;
    return s;
}

md_gpu_binding md_gl_gpu_bind(md_gpu_buffer *b, unsigned access)
{
    md_gpu_binding r = {.buf = b, .access = access};
    return r;
}

/* One workgroup per frame, wrapping into y past the device's x limit. */
void md_gl_gpu_frame_groups(const md_gl_gpu *g, size_t frames, uint32_t groups[3])
{
    uint32_t mx = md_gpu_get_caps(g->gpu)->limits.max_workgroup_count[0];
    groups[0] = frames < mx ? (uint32_t)frames : mx;
    groups[1] = (uint32_t)((frames + groups[0] - 1) / groups[0]);
    groups[2] = 1;
}

static md_status record_synth(md_gl_gpu *g, md_gpu_cmd *cmd, size_t frames)
{
    synth_push p = {(uint32_t)frames};
    md_gpu_binding b[4] = {md_gl_gpu_bind(g->b_spec, MD_GPU_READ), md_gl_gpu_bind(g->b_synth, MD_GPU_READ), md_gl_gpu_bind(g->b_tw, MD_GPU_READ),
                           md_gl_gpu_bind(g->b_seg, MD_GPU_WRITE)};
    md_gpu_dispatch d = {.kernel = g->k_synth, .bindings = b, .push = &p,
                         .flops = (uint64_t)frames * 5 * g->n_fft * g->log2n};
    md_gl_gpu_frame_groups(g, frames, d.groups);
    return md_gpu_cmd_dispatch(cmd, &d);
}

/* mode 0: an iteration's analysis and momentum step; 1: the final STFT. */
static md_status record_analyse(md_gl_gpu *g, md_gpu_cmd *cmd, const md_gl_gpu_job *j, uint32_t mode)
{
    analyse_push p = {(uint32_t)j->frames, (uint32_t)j->n, g->pad, g->hop, (uint32_t)j->n_head, mode, j->beta};
    unsigned step = mode == 0 ? MD_GPU_READ_WRITE : MD_GPU_READ;
    md_gpu_binding b[9] = {md_gl_gpu_bind(g->b_seg, MD_GPU_READ),  md_gl_gpu_bind(g->b_wsum, MD_GPU_READ),
                           md_gl_gpu_bind(g->b_window, MD_GPU_READ), md_gl_gpu_bind(g->b_tw, MD_GPU_READ),
                           md_gl_gpu_bind(g->b_mag, MD_GPU_READ),  md_gl_gpu_bind(g->b_prev, step),
                           md_gl_gpu_bind(g->b_spec, mode == 0 ? MD_GPU_WRITE : MD_GPU_READ), md_gl_gpu_bind(g->b_head, MD_GPU_READ),
                           md_gl_gpu_bind(g->b_c, mode == 1 ? MD_GPU_WRITE : MD_GPU_READ)};
    md_gpu_dispatch d = {.kernel = g->k_analyse, .bindings = b, .push = &p,
                         .flops = (uint64_t)j->frames * 5 * g->n_fft * g->log2n};
    md_gl_gpu_frame_groups(g, j->frames, d.groups);
    return md_gpu_cmd_dispatch(cmd, &d);
}

static md_status record_ola(md_gl_gpu *g, md_gpu_cmd *cmd, const md_gl_gpu_job *j)
{
    ola_push p = {(uint32_t)j->frames, (uint32_t)j->n, g->pad, g->hop};
    md_gpu_binding b[3] = {md_gl_gpu_bind(g->b_seg, MD_GPU_READ), md_gl_gpu_bind(g->b_wsum, MD_GPU_READ), md_gl_gpu_bind(g->b_y, MD_GPU_WRITE)};
    size_t groups = (j->n + g->wg - 1) / g->wg;
    uint32_t mx = md_gpu_get_caps(g->gpu)->limits.max_workgroup_count[0];
    md_gpu_dispatch d = {.kernel = g->k_ola, .bindings = b, .push = &p,
                         .groups = {groups < mx ? (uint32_t)(groups ? groups : 1) : mx, 1, 1},
                         .flops = (uint64_t)j->n * 4};
    return md_gpu_cmd_dispatch(cmd, &d);
}

static md_status upload_job(md_gl_gpu *g, const md_gl_gpu_job *j)
{
    size_t nb = j->frames * g->bins;
    md_status s = md_gpu_buffer_upload(g->b_mag, 0, j->mag, nb * 4);
    if (!s) s = md_gpu_buffer_upload(g->b_spec, 0, j->spec, nb * 8);
    if (!s) s = md_gpu_buffer_zero(g->b_prev, 0, nb * 8);
    if (!s && j->n_head) s = md_gpu_buffer_upload(g->b_head, 0, j->head, j->n_head * g->bins * 8);
    if (!s) s = upload_wsum(g, j->frames, j->n);
    return s;
}

/* The iteration list run iters times, then the final list once. */
static md_status run_locked(md_gl_gpu *g, const md_gl_gpu_job *j)
{
    md_gpu_cmd *it = NULL, *fin = NULL;
    md_status s = ensure_buffers(g, j->frames, j->n, j->n_head);
    if (!s) s = upload_job(g, j);
    if (!s) s = md_gpu_cmd_begin(g->gpu, &it);
    if (!s) s = record_synth(g, it, j->frames);
    if (!s) s = record_analyse(g, it, j, 0);
    if (!s) s = md_gpu_cmd_end(it);
    if (!s) s = md_gpu_cmd_begin(g->gpu, &fin);
    if (!s) s = record_synth(g, fin, j->frames);
    if (!s) s = record_ola(g, fin, j);
    if (!s && j->c) s = record_analyse(g, fin, j, 1);
    if (!s) s = md_gpu_cmd_end(fin);
    for (int i = 0; !s && i < j->iters; i++) s = md_gpu_cmd_run(it);
    if (!s) s = md_gpu_cmd_run(fin);
    if (!s) s = md_gpu_buffer_download(g->b_y, 0, j->y, j->n * 4);
    if (!s && j->c && j->c_from < j->frames)
        s = md_gpu_buffer_download(g->b_c, j->c_from * g->bins * 8, j->c + 2 * j->c_from * g->bins,
                                   (j->frames - j->c_from) * g->bins * 8);
    md_gpu_cmd_destroy(it);
    md_gpu_cmd_destroy(fin);
    return s;
}

md_status md_gl_gpu_run(md_gl_gpu *g, md_ctx *ctx, const md_gl_gpu_job *j)
{
    if (j->frames < 1 || j->iters < 0 || j->n_head > j->frames || (j->n_head && !j->head) || j->n < 1 ||
        j->frames > UINT32_MAX / g->n_fft)
        return md_fail(ctx, MD_ERR_USAGE, "griffin-lim gpu: invalid job (%zu frames, %zu held, %zu samples)",
                       j->frames, j->n_head, j->n);
    pthread_mutex_lock(&g->lock);
    md_status s = md_gl_gpu_report(g, ctx, run_locked(g, j));
    pthread_mutex_unlock(&g->lock);
    return s;
}
