/* Stems rendered by several workers at once (md_render_run_workers).
 *
 * Why: on the CPU backend one U-Net pass uses one core well (OpenBLAS on one
 * thread), and the stems of a song are independent until the mix, so N cores
 * render N stems at a time. A worker takes a group of st->batch stems and
 * samples them in lockstep (md_render_group): on a GPU one pass carrying
 * several stems costs little more than one carrying a single stem. Each worker owns a denoiser and a context; the
 * workers share only the list of stems (a counter under a lock), the
 * caller's progress callback (called under the same lock, so it never runs
 * twice at once) and the first failure. Each stem writes its own files, and
 * its noise depends on (seed, stem, segment, step) alone, so the outputs do
 * not depend on how many workers there are or which took which stem. */
#include <pthread.h>
#include <string.h>

#include "render/render_internal.h"

typedef struct pool {
    render_state *st;
    md_render_opts o; /* st->o, with the progress callback serialised */
    pthread_mutex_t lock;
    int next;         /* the next stem to take */
    md_status status; /* the first failure */
    md_ctx *failed;   /* the context holding its message */
} pool;

typedef struct worker {
    pool *p;
    md_denoiser *den;
    md_ctx *ctx;
} worker;

static void locked_progress(void *user, const md_render_progress *pr)
{
    pool *p = user;
    pthread_mutex_lock(&p->lock);
    p->st->o->progress(p->st->o->progress_user, pr);
    pthread_mutex_unlock(&p->lock);
}

/* The next group's first stem index and, in *count, its size (up to
 * st->batch stems); -1 when none is left or a worker failed. */
static int take(pool *p, int *count)
{
    pthread_mutex_lock(&p->lock);
    int k = p->status == MD_OK && p->next < p->st->n_outs ? p->next : -1;
    if (k >= 0) {
        int left = p->st->n_outs - k;
        *count = left < p->st->batch ? left : p->st->batch;
        p->next += *count;
    }
    pthread_mutex_unlock(&p->lock);
    return k;
}

static void *work(void *arg)
{
    worker *w = arg;
    pool *p = w->p;
    for (int k, count = 0; (k = take(p, &count)) >= 0;) {
        md_status s = md_render_group(p->st, k, count, &p->o, w->den, w->ctx);
        if (s == MD_OK) continue;
        pthread_mutex_lock(&p->lock);
        if (p->status == MD_OK) p->status = s, p->failed = w->ctx;
        pthread_mutex_unlock(&p->lock);
    }
    return NULL;
}

/* Stems per group: the option, else the denoiser's preference; 1 where the
 * denoiser cannot batch. */
static int group_size(const render_state *st, md_denoiser *const *dens)
{
    int b = st->o->batch_stems > 0 ? st->o->batch_stems : dens[0]->batch_hint;
    if (!dens[0]->predict_v_batch || b < 1) b = 1;
    return b > MD_RENDER_MAX_BATCH ? MD_RENDER_MAX_BATCH : b;
}

md_status md_render_stems(render_state *st, md_denoiser *const *dens, md_ctx *const *ctxs, int n)
{
    st->batch = group_size(st, dens);
    int groups = (st->n_outs + st->batch - 1) / st->batch;
    if (n > groups) n = groups;
    st->workers = n;
    pool p = {.st = st, .o = *st->o};
    if (n > 1 && st->o->progress) p.o.progress = locked_progress, p.o.progress_user = &p;
    if (pthread_mutex_init(&p.lock, NULL) != 0) return md_fail(st->ctx, MD_ERR_INTERNAL, "render: no mutex");
    worker w[MD_RENDER_MAX_WORKERS];
    pthread_t th[MD_RENDER_MAX_WORKERS];
    int started[MD_RENDER_MAX_WORKERS] = {0};
    for (int i = 0; i < n; i++) w[i] = (worker){&p, dens[i], ctxs[i]};
    /* A worker whose thread cannot start simply takes no stems. */
    for (int i = 1; i < n; i++) started[i] = pthread_create(&th[i], NULL, work, &w[i]) == 0;
    work(&w[0]);
    for (int i = 1; i < n; i++)
        if (started[i]) pthread_join(th[i], NULL);
    pthread_mutex_destroy(&p.lock);
    for (int k = 0; k < st->n_outs; k++) {
        st->t_sample += st->outs[k].t_sample;
        st->t_vocode += st->outs[k].t_vocode;
    }
    if (p.status != MD_OK && p.failed != st->ctx) md_fail(st->ctx, p.status, "%s", md_ctx_error(p.failed));
    return p.status;
}
