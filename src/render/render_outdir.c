/* Atomic output directory for renders. */
#include "render/render_outdir.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fileout.h"

static int exists(const char *dir, const char *name)
{
    char p[1200];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &st) == 0;
}

md_status md_outdir_begin(md_ctx *ctx, const char *out_dir, int force, md_outdir *d)
{
    memset(d, 0, sizeof *d);
    if (strlen(out_dir) >= sizeof d->final - 64)
        return md_fail(ctx, MD_ERR_USAGE, "%s: output directory name too long", out_dir);
    snprintf(d->final, sizeof d->final, "%s", out_dir);
    md_status s = md_mkdirs(ctx, out_dir);
    if (s) return s;
    if (!force && (exists(out_dir, "render.json") || exists(out_dir, "mix.wav") || exists(out_dir, "stems")))
        return md_fail(ctx, MD_ERR_IO, "%s: already holds a render (use --force to overwrite)", out_dir);
    snprintf(d->tmp, sizeof d->tmp, "%s/.melodiff-partial-%ld", out_dir, (long)getpid());
    md_outdir_abort(d); /* a leftover from a crashed run with the same pid */
    char stems[1200];
    snprintf(stems, sizeof stems, "%s/stems", d->tmp);
    s = md_mkdirs(ctx, stems);
    if (s) return s;
    d->active = 1;
    return MD_OK;
}

void md_outdir_path(const md_outdir *d, const char *sub, const char *base, const char *ext, char *out, size_t cap)
{
    if (sub) snprintf(out, cap, "%s/%s/%s%s", d->tmp, sub, base, ext);
    else snprintf(out, cap, "%s/%s%s", d->tmp, base, ext);
}

/* Renames every regular file of src into dst (created if needed). */
static md_status move_files(md_ctx *ctx, const char *src, const char *dst)
{
    md_status s = md_mkdirs(ctx, dst);
    DIR *dir = s ? NULL : opendir(src);
    if (!s && !dir) return md_fail(ctx, MD_ERR_IO, "%s: cannot list: %s", src, strerror(errno));
    for (struct dirent *e; !s && (e = readdir(dir));) {
        char from[1400], to[1400];
        struct stat st;
        snprintf(from, sizeof from, "%s/%s", src, e->d_name);
        if (stat(from, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        snprintf(to, sizeof to, "%s/%s", dst, e->d_name);
        if (rename(from, to) != 0) s = md_fail(ctx, MD_ERR_IO, "%s: cannot move into place: %s", to, strerror(errno));
    }
    if (dir) closedir(dir);
    return s;
}

md_status md_outdir_commit(md_ctx *ctx, md_outdir *d)
{
    char src[1200], dst[1200];
    snprintf(src, sizeof src, "%s/stems", d->tmp);
    snprintf(dst, sizeof dst, "%s/stems", d->final);
    md_status s = move_files(ctx, src, dst);
    if (!s) s = move_files(ctx, d->tmp, d->final);
    md_outdir_abort(d);
    return s;
}

static void remove_tree(const char *path)
{
    DIR *dir = opendir(path);
    if (dir) {
        for (struct dirent *e; (e = readdir(dir));) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char p[1400];
            snprintf(p, sizeof p, "%s/%s", path, e->d_name);
            struct stat st;
            if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) remove_tree(p);
            else unlink(p);
        }
        closedir(dir);
    }
    rmdir(path);
}

void md_outdir_abort(md_outdir *d)
{
    if (d->tmp[0]) remove_tree(d->tmp);
    d->active = 0;
}
