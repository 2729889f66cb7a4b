/* Atomic outputs: every file melodiff writes is first written under a
 * temporary name in the same directory and renamed over the final name only
 * when complete, so a failure never leaves a half-written output behind.
 * An existing file is never replaced unless the caller passes force. */
#ifndef MD_CORE_FILEOUT_H
#define MD_CORE_FILEOUT_H

#include <stddef.h>
#include "melodiff/context.h"

typedef struct md_outfile {
    char *path; /* the final name */
    char *tmp;  /* where to write now; any writer (stdio, libsndfile, stb) may open it */
    int force;
} md_outfile;

/* Checks the final name is free (or force), creates an empty, exclusive
 * temporary file next to it and fills *o. MD_ERR_IO when path exists and
 * force is 0, or when the directory is not writable. */
md_status md_outfile_begin(md_ctx *ctx, const char *path, int force, md_outfile *o);

/* Renames the temporary file onto the final name (after fsync). On failure
 * the temporary is removed and nothing is left behind. Frees o's strings. */
md_status md_outfile_commit(md_ctx *ctx, md_outfile *o);

/* Removes the temporary file and frees o's strings; safe to call twice. */
void md_outfile_abort(md_outfile *o);

/* Convenience: writes len bytes atomically to path. */
md_status md_write_file_atomic(md_ctx *ctx, const char *path, int force, const void *data, size_t len);

/* Reads a whole file (at most max_bytes) into a malloc'd buffer. Errors are
 * reported with status `kind` (MD_ERR_INPUT or MD_ERR_MODEL) naming the path. */
md_status md_read_file(md_ctx *ctx, const char *path, size_t max_bytes, md_status kind,
                       unsigned char **data, size_t *len);

/* mkdir -p; MD_ERR_IO with the path on failure. */
md_status md_mkdirs(md_ctx *ctx, const char *dir);

#endif
