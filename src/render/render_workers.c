/* Stems rendered by several workers at once (md_render_run_workers).
 *
 * Why: on the CPU backend one U-Net pass uses one core well (OpenBLAS on one
 * thread), and the stems of a song are independent until the mix, so N cores
 * render N stems at a time. Each worker owns a denoiser and a context; the
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

/* The next stem index, or -1 when none is left or a worker failed. */
static int take(pool *p)
{
    pthread_mutex_lock(&p->lock);
    int k = p->status == MD_OK && p->next < p->st->n_outs ? p->next++ : -1;
    pthread_mutex_unlock(&p->lock);
    return k;
}

static void *work(void *arg)
{
    worker *w = arg;
    pool *p = w->p;
    for (int k; (k = take(p)) >= 0;) {
        md_status s = md_render_one(p->st, k, &p->o, w->den, w->ctx);
        if (s == MD_OK) continue;
        pthread_mutex_lock(&p->lock);
        if (p->status == MD_OK) p->status = s, p->failed = w->ctx;
        pthread_mutex_unlock(&p->lock);
    }
    return NULL;
}

md_status md_render_stems(render_state *st, md_denoiser *const *dens, md_ctx *const *ctxs, int n)
{
    if (n > st->n_outs) n = st->n_outs;
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
