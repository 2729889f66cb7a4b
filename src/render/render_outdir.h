/* The output directory of a render, filled atomically: files are written
 * into a hidden temporary directory inside it and moved into place only when
 * the whole render succeeded; a failed render leaves the directory as it was. */
#ifndef MD_RENDER_OUTDIR_H
#define MD_RENDER_OUTDIR_H

#include <stddef.h>
#include "melodiff/context.h"

typedef struct md_outdir {
    char final[1024];
    char tmp[1100];
    int active;
} md_outdir;

/* Creates out_dir if needed. Without force, refuses (MD_ERR_IO) a directory
 * that already holds a render (render.json, mix.wav or stems/). */
md_status md_outdir_begin(md_ctx *ctx, const char *out_dir, int force, md_outdir *d);

/* tmp/[sub/]base+ext */
void md_outdir_path(const md_outdir *d, const char *sub, const char *base, const char *ext, char *out, size_t cap);

/* Moves every file into place (stems/ included) and removes the temporary directory. */
md_status md_outdir_commit(md_ctx *ctx, md_outdir *d);

/* Removes the temporary directory and all in it; safe to call when inactive. */
void md_outdir_abort(md_outdir *d);

#endif
