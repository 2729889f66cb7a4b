/* melodiff — the context handle.
 *
 * All mutable state of the library hangs off an md_ctx: the last error
 * message, the log sink and verbosity. There is no global mutable state, so a
 * server can hold one context per request and a batch renderer one per worker.
 * A context is not thread-safe itself; use one per thread. */
#ifndef MELODIFF_CONTEXT_H
#define MELODIFF_CONTEXT_H

#include <stdarg.h>
#include "melodiff/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct md_ctx md_ctx;

typedef enum md_log_level {
    MD_LOG_ERROR = 0,
    MD_LOG_WARN = 1,
    MD_LOG_INFO = 2,
    MD_LOG_DEBUG = 3
} md_log_level;

/* Receives every log line at or below the context's level. The default sink
 * writes "melodiff: warning: ..." lines to stderr; the library never writes
 * to stdout. */
typedef void (*md_log_fn)(void *user, md_log_level level, const char *msg);

md_status md_ctx_create(md_ctx **out);
void md_ctx_destroy(md_ctx *ctx);

/* The message of the last failure on this context ("" when none). */
const char *md_ctx_error(const md_ctx *ctx);
void md_ctx_clear_error(md_ctx *ctx);

void md_ctx_set_log(md_ctx *ctx, md_log_fn fn, void *user);
/* The log hook in use (the default one when none was set), e.g. to give a
 * helper that keeps a context of its own the same destination. */
void md_ctx_get_log(const md_ctx *ctx, md_log_fn *fn, void **user);
void md_ctx_set_log_level(md_ctx *ctx, md_log_level level);
md_log_level md_ctx_log_level(const md_ctx *ctx);

/* Records a failure: formats the message onto the context and returns s, so
 * callers can write `return md_fail(ctx, MD_ERR_INPUT, "%s: not a MIDI file", path);`.
 * When ctx is NULL the message is dropped and s is still returned. */
md_status md_fail(md_ctx *ctx, md_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void md_log(md_ctx *ctx, md_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void md_logv(md_ctx *ctx, md_log_level level, const char *fmt, va_list ap);

#ifdef __cplusplus
}
#endif
#endif
