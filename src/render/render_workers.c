/* Stems rendered by several workers at once (md_render_run_workers).
 *
 * Why: on the CPU backend one U-Net pass uses one core well (OpenBLAS on one
 * thread), and the stems of a song are independent until the mix, so N cores
 * render N stems at a time. A worker takes a group of st->batch stems and
 * samples them in lockstep (md_render_group): on a GPU one pass carrying
 * several stems costs little more than one carrying a single stem. Each
 * worker owns a denoiser and a context; the workers share only the list of
 * groups (md_par_for), the caller's progress callback (called under a lock,
 * so it never runs twice at once) and the first failure. Each stem writes
 * its own files, and its noise depends on (seed, stem, segment, step) alone,
 * so the outputs do not depend on how many workers there are or which took
 * which stem. */
#include <pthread.h>
#include <string.h>

#include "core/parallel.h"
#include "render/render_internal.h"

typedef struct pool {
    render_state *st;
    md_render_opts o;      /* st->o, with the progress callback serialised */
    pthread_mutex_t lock;  /* serialises the progress callback */
    md_denoiser *const *dens;
    md_ctx *const *ctxs;
} pool;

static void locked_progress(void *user, const md_render_progress *pr)
{
    pool *p = user;
    pthread_mutex_lock(&p->lock);
    p->st->o->progress(p->st->o->progress_user, pr);
    pthread_mutex_unlock(&p->lock);
}

/* Group g (stems g * batch onwards) on worker `thread`. */
static md_status render_group(void *user, int thread, int g)
{
    pool *p = user;
    int k = g * p->st->batch, left = p->st->n_outs - k;
    int count = left < p->st->batch ? left : p->st->batch;
    return md_render_group(p->st, k, count, &p->o, p->dens[thread], p->ctxs[thread]);
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
    pool p = {.st = st, .o = *st->o, .dens = dens, .ctxs = ctxs};
    if (n > 1 && st->o->progress) p.o.progress = locked_progress, p.o.progress_user = &p;
    if (pthread_mutex_init(&p.lock, NULL) != 0) return md_fail(st->ctx, MD_ERR_INTERNAL, "render: no mutex");
    int failed = -1;
    md_status s = md_par_for(n, groups, render_group, &p, &failed);
    pthread_mutex_destroy(&p.lock);
    for (int k = 0; k < st->n_outs; k++) {
        st->t_sample += st->outs[k].t_sample;
        st->t_vocode += st->outs[k].t_vocode;
    }
    if (s != MD_OK && failed < 0) return md_fail(st->ctx, s, "render: could not start the workers");
    if (s != MD_OK && ctxs[failed] != st->ctx) md_fail(st->ctx, s, "%s", md_ctx_error(ctxs[failed]));
    return s;
}
