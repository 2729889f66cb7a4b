/* The md_ctx handle: last error and log sink. */
#include "melodiff/context.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MD_ERROR_CAP 1024

struct md_ctx {
    char error[MD_ERROR_CAP];
    md_log_fn log_fn;
    void *log_user;
    md_log_level log_level;
};

static void default_log(void *user, md_log_level level, const char *msg)
{
    static const char *const prefix[] = {"error: ", "warning: ", "", ""};
    (void)user;
    fprintf(stderr, "melodiff: %s%s\n", prefix[level], msg);
}

md_status md_ctx_create(md_ctx **out)
{
    md_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return MD_ERR_NOMEM;
    ctx->log_fn = default_log;
    ctx->log_level = MD_LOG_WARN;
    *out = ctx;
    return MD_OK;
}

void md_ctx_destroy(md_ctx *ctx) { free(ctx); }

const char *md_ctx_error(const md_ctx *ctx) { return ctx ? ctx->error : ""; }

void md_ctx_clear_error(md_ctx *ctx)
{
    if (ctx) ctx->error[0] = '\0';
}

void md_ctx_set_log(md_ctx *ctx, md_log_fn fn, void *user)
{
    ctx->log_fn = fn ? fn : default_log;
    ctx->log_user = fn ? user : NULL;
}

void md_ctx_get_log(const md_ctx *ctx, md_log_fn *fn, void **user)
{
    *fn = ctx->log_fn;
    *user = ctx->log_user;
}

void md_ctx_set_log_level(md_ctx *ctx, md_log_level level) { ctx->log_level = level; }

md_log_level md_ctx_log_level(const md_ctx *ctx) { return ctx->log_level; }

md_status md_fail(md_ctx *ctx, md_status s, const char *fmt, ...)
{
    if (!ctx) return s;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->error, sizeof ctx->error, fmt, ap);
    va_end(ap);
    /* One line only: the CLI prints this message as the whole diagnosis. */
    for (char *p = ctx->error; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    return s;
}

void md_logv(md_ctx *ctx, md_log_level level, const char *fmt, va_list ap)
{
    if (!ctx || level > ctx->log_level) return;
    char msg[MD_ERROR_CAP];
    vsnprintf(msg, sizeof msg, fmt, ap);
    ctx->log_fn(ctx->log_user, level, msg);
}

void md_log(md_ctx *ctx, md_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    md_logv(ctx, level, fmt, ap);
    va_end(ap);
}
