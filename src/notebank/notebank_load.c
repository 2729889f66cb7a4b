/* Loading a note bank: everything in the file is checked before use, and
 * every defect is one MD_ERR_MODEL message naming the file. */
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/safetensors.h"
#include "notebank/notebank_internal.h"

/* A bank is about 24 MB; a much larger file is not one. */
#define MAX_BANK_BYTES (256u << 20)

static md_status check_meta(md_ctx *ctx, const md_st_file *f, const char *path, md_notebank *nb)
{
    const char *kind = md_st_meta(f, "kind"), *ver = md_st_meta(f, "format_version");
    if (!kind || strcmp(kind, "notebank"))
        return md_fail(ctx, MD_ERR_MODEL, "%s: not a note bank (metadata kind is \"%s\", expected \"notebank\")", path,
                       kind ? kind : "(missing)");
    if (!ver || strcmp(ver, MD_NB_FORMAT_VERSION))
        return md_fail(ctx, MD_ERR_MODEL, "%s: note bank format version \"%s\" is not supported (this melodiff reads " MD_NB_FORMAT_VERSION ")",
                       path, ver ? ver : "(missing)");
    const char *mc = md_st_meta(f, "mel_contract");
    if (!mc) return md_fail(ctx, MD_ERR_MODEL, "%s: the note bank has no mel_contract metadata", path);
    md_status s = md_mel_contract_from_json(ctx, mc, path, &nb->mc);
    if (s) return s;
    nb->n_mels = nb->mc.n_mels;
    if (nb->n_mels < 1 || nb->n_mels > MD_NB_MAX_MELS)
        return md_fail(ctx, MD_ERR_MODEL, "%s: note bank with %d mel bands (1..%d)", path, nb->n_mels, MD_NB_MAX_MELS);
    return MD_OK;
}

/* The slot table: ascending from 0 to the template count; within a slot,
 * ascending keys in 0..127. */
static md_status check_index(md_ctx *ctx, const char *path, md_notebank *nb, const int32_t *start)
{
    if (start[0] != 0 || start[MD_NB_SLOTS] != nb->n_templates)
        return md_fail(ctx, MD_ERR_MODEL, "%s: note bank slot table does not cover its %d templates", path,
                       nb->n_templates);
    for (int s = 0; s < MD_NB_SLOTS; s++)
        if (start[s + 1] < start[s] || start[s + 1] > nb->n_templates)
            return md_fail(ctx, MD_ERR_MODEL, "%s: note bank slot table is not ascending at slot %d", path, s);
    for (int s = 0; s < MD_NB_SLOTS; s++) {
        for (int t = start[s]; t < start[s + 1]; t++)
            if (nb->keys[t] < 0 || nb->keys[t] > 127 || (t > start[s] && nb->keys[t] <= nb->keys[t - 1]))
                return md_fail(ctx, MD_ERR_MODEL, "%s: note bank keys of slot %d are not ascending keys in 0..127",
                               path, s);
    }
    memcpy(nb->start, start, sizeof nb->start);
    return MD_OK;
}

static md_status load(md_ctx *ctx, const md_st_file *f, const char *path, md_notebank *nb)
{
    md_status s = check_meta(ctx, f, path, nb);
    const md_st_tensor *tab = NULL, *keys = NULL, *start = NULL;
    int64_t tshape[3] = {-1, MD_NB_ROWS, nb->n_mels}, kshape[1] = {-1}, sshape[1] = {MD_NB_SLOTS + 1};
    if (s == MD_OK) s = md_st_expect(ctx, f, "templates", MD_ST_U8, 3, tshape, &tab);
    if (s == MD_OK) s = md_st_expect(ctx, f, "keys", MD_ST_I32, 1, kshape, &keys);
    if (s == MD_OK) s = md_st_expect(ctx, f, "slot_start", MD_ST_I32, 1, sshape, &start);
    if (s) return s;
    if (md_st_count(f) != 3)
        return md_fail(ctx, MD_ERR_MODEL, "%s: note bank holds %zu tensors, expected 3", path, md_st_count(f));
    if (keys->shape[0] != tab->shape[0] || tab->shape[0] > (1 << 20))
        return md_fail(ctx, MD_ERR_MODEL, "%s: note bank has %lld templates but %lld keys", path,
                       (long long)tab->shape[0], (long long)keys->shape[0]);
    nb->n_templates = (int)tab->shape[0];
    nb->keys = malloc(keys->nbytes ? keys->nbytes : 1);
    nb->table = malloc(tab->nbytes ? tab->nbytes : 1);
    if (!nb->keys || !nb->table) return md_fail(ctx, MD_ERR_NOMEM, "%s: out of memory for the note bank", path);
    memcpy(nb->keys, keys->data, keys->nbytes);
    memcpy(nb->table, tab->data, tab->nbytes);
    return check_index(ctx, path, nb, start->data);
}

md_status md_nb_from_st(md_ctx *ctx, const md_st_file *f, const char *origin, md_notebank **out)
{
    *out = NULL;
    md_notebank *nb = calloc(1, sizeof *nb);
    if (!nb || !(nb->path = strdup(origin))) {
        free(nb);
        return md_fail(ctx, MD_ERR_NOMEM, "%s: out of memory", origin);
    }
    md_status s = load(ctx, f, origin, nb);
    if (s) {
        md_notebank_close(nb);
        return s;
    }
    *out = nb;
    return MD_OK;
}

md_status md_notebank_open(md_ctx *ctx, const char *path, md_notebank **out)
{
    *out = NULL;
    md_st_file *f = NULL;
    md_status s = md_st_open(ctx, path, MD_ERR_MODEL, MAX_BANK_BYTES, &f);
    if (s == MD_OK) s = md_nb_from_st(ctx, f, path, out);
    md_st_close(f);
    if (s == MD_OK) s = md_sha256_file(ctx, path, MD_ERR_MODEL, (*out)->sha256);
    if (s && *out) {
        md_notebank_close(*out);
        *out = NULL;
    }
    return s;
}

void md_notebank_close(md_notebank *nb)
{
    if (!nb) return;
    free(nb->keys);
    free(nb->table);
    free(nb->path);
    free(nb);
}

const md_mel_contract *md_notebank_contract(const md_notebank *nb) { return &nb->mc; }
const char *md_notebank_path(const md_notebank *nb) { return nb->path; }
const char *md_notebank_sha256(const md_notebank *nb) { return nb->sha256; }
