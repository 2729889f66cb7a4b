/* Mel file reading/writing on the core safetensors module. */
#include "audio/melfile.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/safetensors.h"

md_status md_melfile_write(md_ctx *ctx, const char *path, const md_mel_contract *c,
                           const float *logmel, size_t frames, const char *source, int force)
{
    md_st_writer *w = NULL;
    md_status s = md_st_writer_create(ctx, &w);
    if (s != MD_OK) return s;
    char *cj = md_mel_contract_to_json(c);
    int64_t shape[2] = {c->n_mels, (int64_t)frames};
    if (!cj) s = md_fail(ctx, MD_ERR_NOMEM, "%s: out of memory", path);
    if (s == MD_OK) s = md_st_writer_add(ctx, w, "logmel", MD_ST_F32, 2, shape, logmel);
    if (s == MD_OK) s = md_st_writer_meta(ctx, w, "kind", MD_MELFILE_KIND);
    if (s == MD_OK) s = md_st_writer_meta(ctx, w, "format_version", MD_MELFILE_VERSION);
    if (s == MD_OK) s = md_st_writer_meta(ctx, w, "mel_contract", cj);
    if (s == MD_OK) s = md_st_writer_meta(ctx, w, "source", source ? source : "");
    if (s == MD_OK) s = md_st_writer_save(ctx, w, path, force);
    free(cj);
    md_st_writer_destroy(w);
    return s;
}

static md_status check_meta(md_ctx *ctx, const md_st_file *f, const char *path, md_mel_contract *c)
{
    const char *kind = md_st_meta(f, "kind"), *ver = md_st_meta(f, "format_version");
    if (!kind || strcmp(kind, MD_MELFILE_KIND))
        return md_fail(ctx, MD_ERR_INPUT, "%s: not a melodiff mel file (metadata kind is '%s', "
                       "expected 'logmel')", path, kind ? kind : "(missing)");
    if (!ver || strcmp(ver, MD_MELFILE_VERSION))
        return md_fail(ctx, MD_ERR_INPUT, "%s: mel file format_version '%s' is not supported "
                       "(expected '1')", path, ver ? ver : "(missing)");
    const char *cj = md_st_meta(f, "mel_contract");
    if (!cj) return md_fail(ctx, MD_ERR_MODEL, "%s: mel file has no mel_contract metadata", path);
    return md_mel_contract_from_json(ctx, cj, path, c);
}

md_status md_melfile_read(md_ctx *ctx, const char *path, md_mel_contract *c, float **logmel,
                          size_t *frames)
{
    md_st_file *f = NULL;
    md_status s = md_st_open(ctx, path, MD_ERR_INPUT, MD_MELFILE_MAX_BYTES, &f);
    if (s != MD_OK) return s;
    md_mel_contract mc;
    s = check_meta(ctx, f, path, &mc);
    const md_st_tensor *t = NULL;
    int64_t shape[2] = {mc.n_mels, -1};
    if (s == MD_OK) s = md_st_expect(ctx, f, "logmel", MD_ST_F32, 2, shape, &t);
    if (s == MD_OK && t->shape[1] < 1)
        s = md_fail(ctx, MD_ERR_INPUT, "%s: logmel has no frames", path);
    float *out = NULL;
    if (s == MD_OK && !(out = malloc(t->nbytes)))
        s = md_fail(ctx, MD_ERR_NOMEM, "%s: out of memory", path);
    if (s == MD_OK) {
        memcpy(out, t->data, t->nbytes);
        for (size_t i = 0; i < t->numel; i++)
            if (!isfinite(out[i])) {
                s = md_fail(ctx, MD_ERR_INPUT, "%s: logmel value %zu is not finite", path, i);
                break;
            }
    }
    if (s == MD_OK) {
        *c = mc;
        *logmel = out;
        *frames = (size_t)t->shape[1];
    } else {
        free(out);
    }
    md_st_close(f);
    return s;
}
