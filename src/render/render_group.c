/* A group of stems through the pipeline's middle: sampled together (one
 * network batch for all of them, render_stem.c), then each pictured and
 * vocoded into a unity-gain float WAV -- side by side on up to
 * o->vocode_jobs threads, since after sampling the stems are independent
 * until the mix. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/audio_io.h"
#include "audio/png.h"
#include "core/clock.h"
#include "core/parallel.h"
#include "render/render_internal.h"

typedef struct writer_sink {
    md_ctx *ctx;
    md_audio_writer *w;
} writer_sink;

static md_status to_writer(void *user, const float *y, size_t n)
{
    writer_sink *ws = user;
    return md_audio_writer_write(ws->ctx, ws->w, y, n);
}

/* Pictures and vocodes one sampled stem into its float WAV. */
static md_status finish_stem(render_state *st, stem_out *so, const md_render_opts *o, md_denoiser *den,
                             md_ctx *ctx, const float *logmel)
{
    char path[1024];
    md_outdir_path(&st->dir, "stems", so->base, ".png", path, sizeof path);
    md_status s = md_png_write_logmel(ctx, path, logmel, den->mc.n_mels, st->n_frames, 1);
    md_audio_writer *w = NULL;
    md_outdir_path(&st->dir, "stems", so->base, ".f32.wav", path, sizeof path);
    if (!s) s = md_audio_writer_open(ctx, path, 1, o->rate, MD_AUDIO_WAV32F, 1, &w);
    /* Vocoding and writing interleave here; their time counts as vocoding. */
    writer_sink ws = {ctx, w};
    if (!s) s = md_render_vocode(ctx, o, &den->mc, logmel, st->n_frames, st->n_out, to_writer, &ws);
    if (!s) s = md_audio_writer_close(ctx, w);
    else md_audio_writer_abort(w);
    return s;
}

/* The stems of a group after sampling: pictured and vocoded side by side on
 * up to o->vocode_jobs threads (md_par_for). Each stem's files depend on its
 * log-mel alone, so they do not depend on the thread count. A thread other
 * than the caller's has its own context (contexts are single-threaded); the
 * first failure's message lands in ctx. */
typedef struct finish_pool {
    render_state *st;
    const md_render_opts *o;
    md_denoiser *den;
    const md_stem_job *jobs;
    int k;
    md_ctx *ctxs[MD_RENDER_MAX_BATCH];
} finish_pool;

static md_status finish_one(void *user, int thread, int b)
{
    finish_pool *p = user;
    stem_out *so = &p->st->outs[p->k + b];
    double t0 = md_clock_wall();
    md_status s = finish_stem(p->st, so, p->o, p->den, p->ctxs[thread], p->jobs[b].logmel);
    so->t_vocode = md_clock_wall() - t0;
    return s;
}

static md_status finish_group(render_state *st, int k, int count, const md_render_opts *o, md_denoiser *den,
                              md_ctx *ctx, const md_stem_job *jobs)
{
    int n = o->vocode_jobs > 1 ? o->vocode_jobs : 1;
    if (n > count) n = count;
    finish_pool p = {.st = st, .o = o, .den = den, .jobs = jobs, .k = k, .ctxs = {ctx}};
    /* Without a context a thread is not started: fewer threads, same files. */
    for (int i = 1; i < n; i++) {
        if (md_ctx_create(&p.ctxs[i]) != MD_OK) {
            n = i;
            break;
        }
        md_ctx_set_log_level(p.ctxs[i], md_ctx_log_level(ctx));
    }
    int failed = -1;
    md_status s = md_par_for(n, count, finish_one, &p, &failed);
    if (s != MD_OK && failed < 0) md_fail(ctx, s, "render: could not start the vocoding threads");
    if (s != MD_OK && failed > 0) md_fail(ctx, s, "%s", md_ctx_error(p.ctxs[failed]));
    for (int i = 1; i < n; i++) md_ctx_destroy(p.ctxs[i]);
    return s;
}

md_status md_render_group(render_state *st, int k, int count, const md_render_opts *o, md_denoiser *den,
                          md_ctx *ctx)
{
    size_t nm = (size_t)den->mc.n_mels * st->n_frames;
    md_stem_job jobs[MD_RENDER_MAX_BATCH];
    if (count < 1 || count > MD_RENDER_MAX_BATCH)
        return md_fail(ctx, MD_ERR_USAGE, "render: a group of %d stems", count);
    float *logmel = malloc((size_t)count * nm * sizeof *logmel);
    if (!logmel) return md_fail(ctx, MD_ERR_NOMEM, "out of memory for %d x %zu mel frames", count, st->n_frames);
    for (int b = 0; b < count; b++) {
        stem_out *so = &st->outs[k + b];
        jobs[b] = (md_stem_job){so->stem, so->index - 1, k + b, logmel + (size_t)b * nm, NULL, 0, 0, NULL};
    }
    double t0 = md_clock_wall();
    md_status s = md_render_group_logmel(ctx, o, den, jobs, count, st->n_outs, st->n_frames);
    double t1 = md_clock_wall();
    for (int b = 0; b < count; b++) {
        stem_out *so = &st->outs[k + b];
        so->t_sample = (t1 - t0) / count; /* one run, split evenly */
        so->segments = jobs[b].segments;
        so->silent_segments = jobs[b].silent_segments;
    }
    if (!s) s = finish_group(st, k, count, o, den, ctx, jobs);
    free(logmel);
    return s;
}

