/* Shared pieces of the `melodiff` command's subcommands. Each subcommand
 * lives in its own cmd_<name>.c and exports one md_cmd_<name>() entry. */
#ifndef MD_CLI_H
#define MD_CLI_H

#include "melodiff/context.h"

typedef struct md_cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
} md_cli_command;

/* Prints "melodiff: error: <ctx message>" (or the status name when the
 * context has no message) on stderr and returns the exit code for s. */
int md_cli_report(md_ctx *ctx, md_status s);

/* Prints "melodiff <cmd>: <message>" plus a hint to use --help; returns 2. */
int md_cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Creates a context with the log level set from --quiet/--verbose counts. */
md_ctx *md_cli_context(int verbose, int quiet);

/* Parse helpers: return 0 on success, write a usage error otherwise. */
int md_cli_parse_int(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out);
int md_cli_parse_float(const char *cmd, const char *opt, const char *s, double lo, double hi, double *out);

int md_cmd_analyze(int argc, char **argv);
int md_cmd_invert(int argc, char **argv);
int md_cmd_reference(int argc, char **argv);
int md_cmd_midi(int argc, char **argv);
int md_cmd_dataset(int argc, char **argv);
int md_cmd_devices(int argc, char **argv);
int md_cmd_render(int argc, char **argv);
int md_cmd_notebank(int argc, char **argv);

#endif
