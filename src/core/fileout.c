/* Atomic output files and whole-file reads. */
#include "core/fileout.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static void free_outfile(md_outfile *o)
{
    free(o->path);
    free(o->tmp);
    o->path = o->tmp = NULL;
}

/* Temporary names are hidden dot-files beside the target so rename() stays on
 * one file system and a crash leaves only an obviously temporary file. */
static char *make_tmp_name(const char *path, unsigned attempt)
{
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path + 1) : 0;
    const char *base = slash ? slash + 1 : path;
    size_t n = strlen(path) + 64;
    char *t = malloc(n);
    if (!t) return NULL;
    snprintf(t, n, "%.*s.%s.tmp-%ld-%u", (int)dirlen, path, base, (long)getpid(),
             attempt ^ (unsigned)time(NULL));
    return t;
}

md_status md_outfile_begin(md_ctx *ctx, const char *path, int force, md_outfile *o)
{
    memset(o, 0, sizeof *o);
    struct stat st;
    if (!force && stat(path, &st) == 0)
        return md_fail(ctx, MD_ERR_IO, "%s: already exists (use --force to overwrite)", path);
    o->path = dup_str(path);
    if (!o->path) return md_fail(ctx, MD_ERR_NOMEM, "out of memory");
    o->force = force;
    for (unsigned attempt = 0; attempt < 16; attempt++) {
        o->tmp = make_tmp_name(path, attempt * 2654435761u);
        if (!o->tmp) {
            free_outfile(o);
            return md_fail(ctx, MD_ERR_NOMEM, "out of memory");
        }
        int fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (fd >= 0) {
            close(fd);
            return MD_OK;
        }
        int err = errno;
        free(o->tmp);
        o->tmp = NULL;
        if (err != EEXIST) {
            free_outfile(o);
            return md_fail(ctx, MD_ERR_IO, "%s: cannot create output: %s", path, strerror(err));
        }
    }
    free_outfile(o);
    return md_fail(ctx, MD_ERR_IO, "%s: cannot create a temporary file beside it", path);
}

md_status md_outfile_commit(md_ctx *ctx, md_outfile *o)
{
    if (!o->tmp) return md_fail(ctx, MD_ERR_INTERNAL, "output committed twice");
    int fd = open(o->tmp, O_RDONLY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    struct stat st;
    if (!o->force && stat(o->path, &st) == 0) {
        md_status s = md_fail(ctx, MD_ERR_IO, "%s: appeared while writing (use --force to overwrite)", o->path);
        md_outfile_abort(o);
        return s;
    }
    if (rename(o->tmp, o->path) != 0) {
        md_status s = md_fail(ctx, MD_ERR_IO, "%s: cannot rename output into place: %s", o->path, strerror(errno));
        md_outfile_abort(o);
        return s;
    }
    free_outfile(o);
    return MD_OK;
}

void md_outfile_abort(md_outfile *o)
{
    if (o->tmp) unlink(o->tmp);
    free_outfile(o);
}

md_status md_write_file_atomic(md_ctx *ctx, const char *path, int force, const void *data, size_t len)
{
    md_outfile o;
    md_status s = md_outfile_begin(ctx, path, force, &o);
    if (s) return s;
    FILE *f = fopen(o.tmp, "wb");
    int ok = f && fwrite(data, 1, len, f) == len;
    if (f && fclose(f) != 0) ok = 0;
    if (!ok) {
        s = md_fail(ctx, MD_ERR_IO, "%s: write failed: %s", path, strerror(errno));
        md_outfile_abort(&o);
        return s;
    }
    return md_outfile_commit(ctx, &o);
}

md_status md_read_file(md_ctx *ctx, const char *path, size_t max_bytes, md_status kind,
                       unsigned char **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return md_fail(ctx, kind, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return md_fail(ctx, kind, "%s: not a regular file", path);
    }
    if ((unsigned long long)st.st_size > max_bytes) {
        fclose(f);
        return md_fail(ctx, kind == MD_ERR_INPUT ? MD_ERR_LIMIT : kind,
                       "%s: file is %lld bytes, over the %zu-byte limit", path, (long long)st.st_size, max_bytes);
    }
    size_t n = (size_t)st.st_size;
    unsigned char *buf = malloc(n ? n : 1);
    if (!buf) {
        fclose(f);
        return md_fail(ctx, MD_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, n);
    }
    size_t got = fread(buf, 1, n, f);
    fclose(f);
    if (got != n) {
        free(buf);
        return md_fail(ctx, kind, "%s: short read (%zu of %zu bytes)", path, got, n);
    }
    *data = buf;
    *len = n;
    return MD_OK;
}

md_status md_mkdirs(md_ctx *ctx, const char *dir)
{
    char *p = dup_str(dir);
    if (!p) return md_fail(ctx, MD_ERR_NOMEM, "out of memory");
    for (char *c = p + 1; ; c++) {
        if (*c == '/' || *c == '\0') {
            char saved = *c;
            *c = '\0';
            if (mkdir(p, 0755) != 0 && errno != EEXIST) {
                md_status s = md_fail(ctx, MD_ERR_IO, "%s: cannot create directory: %s", p, strerror(errno));
                free(p);
                return s;
            }
            *c = saved;
            if (!saved) break;
        }
    }
    free(p);
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return md_fail(ctx, MD_ERR_IO, "%s: not a directory", dir);
    return MD_OK;
}
