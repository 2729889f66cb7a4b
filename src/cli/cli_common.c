/* Helpers shared by all subcommands: error reporting and number parsing. */
#include "cli/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int md_cli_report(md_ctx *ctx, md_status s)
{
    const char *msg = md_ctx_error(ctx);
    fprintf(stderr, "melodiff: error: %s\n", (msg && *msg) ? msg : md_status_name(s));
    return md_status_exit_code(s);
}

int md_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "melodiff %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see 'melodiff %s --help')\n", cmd);
    return 2;
}

md_ctx *md_cli_context(int verbose, int quiet)
{
    md_ctx *ctx = NULL;
    if (md_ctx_create(&ctx) != MD_OK) {
        fprintf(stderr, "melodiff: error: out of memory\n");
        return NULL;
    }
    md_log_level lvl = MD_LOG_WARN;
    if (quiet) lvl = MD_LOG_ERROR;
    else if (verbose >= 2) lvl = MD_LOG_DEBUG;
    else if (verbose == 1) lvl = MD_LOG_INFO;
    md_ctx_set_log_level(ctx, lvl);
    return ctx;
}

int md_cli_parse_int(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return md_cli_usage_error(cmd, "%s expects an integer in [%ld, %ld], got '%s'", opt, lo, hi, s);
    *out = v;
    return 0;
}

int md_cli_parse_float(const char *cmd, const char *opt, const char *s, double lo, double hi, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        return md_cli_usage_error(cmd, "%s expects a number in [%g, %g], got '%s'", opt, lo, hi, s);
    *out = v;
    return 0;
}
