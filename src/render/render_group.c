/* A group of stems through the pipeline's middle: sampled together (one
 * network batch for all of them, render_stem.c), then each pictured and
 * vocoded into a unity-gain float WAV -- side by side on up to
 * o->vocode_jobs threads, since after sampling the stems are independent
 * until the mix. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/audio_io.h"
#include "audio/png.h"
#include "core/clock.h"
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
 * up to o->vocode_jobs threads. Each stem's files depend on its log-mel
 * alone, so they do not depend on the thread count. A thread other than the
 * caller's has its own context (the runtime's contexts are single-threaded);
 * the first failure's message lands in ctx. */
typedef struct finish_pool {
    render_state *st;
    const md_render_opts *o;
    md_denoiser *den;
    const md_stem_job *jobs;
    int k, count;
    pthread_mutex_t lock;
    int next;
    md_status status;
    char error[1024];
} finish_pool;

typedef struct finish_worker {
    finish_pool *p;
    md_ctx *ctx;
} finish_worker;

static void *finish_work(void *arg)
{
    finish_worker *w = arg;
    finish_pool *p = w->p;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        int b = p->status == MD_OK && p->next < p->count ? p->next++ : -1;
        pthread_mutex_unlock(&p->lock);
        if (b < 0) break;
        stem_out *so = &p->st->outs[p->k + b];
        double t0 = md_clock_wall();
        md_status s = finish_stem(p->st, so, p->o, p->den, w->ctx, p->jobs[b].logmel);
        so->t_vocode = md_clock_wall() - t0;
        if (s == MD_OK) continue;
        pthread_mutex_lock(&p->lock);
        if (p->status == MD_OK) p->status = s, snprintf(p->error, sizeof p->error, "%s", md_ctx_error(w->ctx));
        pthread_mutex_unlock(&p->lock);
    }
    return NULL;
}

static md_status finish_group(render_state *st, int k, int count, const md_render_opts *o, md_denoiser *den,
                              md_ctx *ctx, const md_stem_job *jobs)
{
    int n = o->vocode_jobs > 1 ? o->vocode_jobs : 1;
    if (n > count) n = count;
    if (n > MD_RENDER_MAX_BATCH) n = MD_RENDER_MAX_BATCH;
    finish_pool p = {.st = st, .o = o, .den = den, .jobs = jobs, .k = k, .count = count};
    if (pthread_mutex_init(&p.lock, NULL) != 0) return md_fail(ctx, MD_ERR_INTERNAL, "render: no mutex");
    finish_worker w[MD_RENDER_MAX_BATCH];
    pthread_t th[MD_RENDER_MAX_BATCH];
    int started[MD_RENDER_MAX_BATCH] = {0};
    w[0] = (finish_worker){&p, ctx};
    /* A thread whose context or start fails simply takes no stems. */
    for (int i = 1; i < n; i++) {
        w[i] = (finish_worker){&p, NULL};
        if (md_ctx_create(&w[i].ctx) != MD_OK) continue;
        md_ctx_set_log_level(w[i].ctx, md_ctx_log_level(ctx));
        started[i] = pthread_create(&th[i], NULL, finish_work, &w[i]) == 0;
    }
    finish_work(&w[0]);
    for (int i = 1; i < n; i++) {
        if (started[i]) pthread_join(th[i], NULL);
        md_ctx_destroy(w[i].ctx);
    }
    pthread_mutex_destroy(&p.lock);
    if (p.status != MD_OK && strcmp(md_ctx_error(ctx), p.error)) md_fail(ctx, p.status, "%s", p.error);
    return p.status;
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
        jobs[b] = (md_stem_job){so->stem, so->index - 1, k + b, logmel + (size_t)b * nm, NULL, 0, 0};
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

