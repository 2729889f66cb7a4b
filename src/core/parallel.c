/* md_par_for (parallel.h). */
#include "core/parallel.h"

#include <pthread.h>

typedef struct par {
    md_par_fn fn;
    void *user;
    int count;
    pthread_mutex_t lock;
    int next;          /* the next item to claim */
    md_status status;  /* the first failure */
    int failed;        /* its thread */
} par;

typedef struct par_thread {
    par *p;
    int index;
} par_thread;

/* The next item, or -1 when none is left or an item failed. */
static int claim(par *p)
{
    pthread_mutex_lock(&p->lock);
    int item = p->status == MD_OK && p->next < p->count ? p->next++ : -1;
    pthread_mutex_unlock(&p->lock);
    return item;
}

static void *run(void *arg)
{
    par_thread *t = arg;
    par *p = t->p;
    for (int item; (item = claim(p)) >= 0;) {
        md_status s = p->fn(p->user, t->index, item);
        if (s == MD_OK) continue;
        pthread_mutex_lock(&p->lock);
        if (p->status == MD_OK) p->status = s, p->failed = t->index;
        pthread_mutex_unlock(&p->lock);
    }
    return NULL;
}

md_status md_par_for(int threads, int count, md_par_fn fn, void *user, int *failed_thread)
{
    if (threads > MD_PAR_MAX_THREADS) threads = MD_PAR_MAX_THREADS;
    if (threads > count) threads = count;
    if (threads < 1) threads = 1;
    par p = {.fn = fn, .user = user, .count = count, .failed = -1};
    if (pthread_mutex_init(&p.lock, NULL) != 0) return MD_ERR_INTERNAL;
    par_thread t[MD_PAR_MAX_THREADS];
    pthread_t th[MD_PAR_MAX_THREADS];
    int started[MD_PAR_MAX_THREADS] = {0};
    for (int i = 0; i < threads; i++) t[i] = (par_thread){&p, i};
    for (int i = 1; i < threads; i++) started[i] = pthread_create(&th[i], NULL, run, &t[i]) == 0;
    run(&t[0]);
    for (int i = 1; i < threads; i++)
        if (started[i]) pthread_join(th[i], NULL);
    pthread_mutex_destroy(&p.lock);
    if (failed_thread) *failed_thread = p.failed;
    return p.status;
}
