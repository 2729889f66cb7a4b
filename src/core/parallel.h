/* A small parallel for: items 0..count-1 over a few threads, each thread
 * claiming the next item under a lock, stopping at the first failure. The
 * render's stem workers and its side-by-side vocoding both run on it. */
#ifndef MD_CORE_PARALLEL_H
#define MD_CORE_PARALLEL_H

#include "melodiff/context.h"

#define MD_PAR_MAX_THREADS 64

/* Runs item `item` on thread `thread` (0 is the caller's own). */
typedef md_status (*md_par_fn)(void *user, int thread, int item);

/* Runs fn over every item on up to `threads` threads (at most
 * MD_PAR_MAX_THREADS; the caller's thread is thread 0 and the others start
 * here). Items are claimed in order; once an item fails no new one is
 * claimed. A thread that cannot start takes no items. Returns MD_OK, or the
 * first failure's status with *failed_thread set to the thread whose fn
 * returned it (so the caller can fetch that thread's error message). */
md_status md_par_for(int threads, int count, md_par_fn fn, void *user, int *failed_thread);

#endif
