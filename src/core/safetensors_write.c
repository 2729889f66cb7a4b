/* safetensors writer: tensors are laid out in insertion order, the header is
 * padded with spaces to a multiple of 8 bytes (as the reference writer does)
 * so readers that map the file get aligned data. */
#include "core/safetensors.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "core/fileout.h"

typedef struct wtensor {
    char *name;
    md_st_dtype dtype;
    int ndim;
    int64_t shape[MD_ST_MAX_DIMS];
    void *data;
    size_t nbytes;
} wtensor;

struct md_st_writer {
    wtensor *t;
    size_t n, cap;
    cJSON *meta;
};

md_status md_st_writer_create(md_ctx *ctx, md_st_writer **out)
{
    md_st_writer *w = calloc(1, sizeof *w);
    if (w) w->meta = cJSON_CreateObject();
    if (!w || !w->meta) {
        free(w);
        return md_fail(ctx, MD_ERR_NOMEM, "out of memory");
    }
    *out = w;
    return MD_OK;
}

void md_st_writer_destroy(md_st_writer *w)
{
    if (!w) return;
    for (size_t i = 0; i < w->n; i++) {
        free(w->t[i].name);
        free(w->t[i].data);
    }
    free(w->t);
    cJSON_Delete(w->meta);
    free(w);
}

md_status md_st_writer_add(md_ctx *ctx, md_st_writer *w, const char *name, md_st_dtype dtype,
                           int ndim, const int64_t *shape, const void *data)
{
    if (ndim < 0 || ndim > MD_ST_MAX_DIMS || !strcmp(name, "__metadata__"))
        return md_fail(ctx, MD_ERR_INTERNAL, "safetensors: bad tensor '%s'", name);
    for (size_t i = 0; i < w->n; i++)
        if (!strcmp(w->t[i].name, name)) return md_fail(ctx, MD_ERR_INTERNAL, "safetensors: tensor '%s' added twice", name);
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 16;
        wtensor *nt = realloc(w->t, cap * sizeof *nt);
        if (!nt) return md_fail(ctx, MD_ERR_NOMEM, "out of memory");
        w->t = nt;
        w->cap = cap;
    }
    size_t numel = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0) return md_fail(ctx, MD_ERR_INTERNAL, "safetensors: negative dimension in '%s'", name);
        numel *= (size_t)shape[d];
    }
    wtensor *t = &w->t[w->n];
    memset(t, 0, sizeof *t);
    t->nbytes = numel * md_st_dtype_size(dtype);
    t->name = malloc(strlen(name) + 1);
    t->data = malloc(t->nbytes ? t->nbytes : 1);
    if (!t->name || !t->data) {
        free(t->name);
        free(t->data);
        return md_fail(ctx, MD_ERR_NOMEM, "out of memory");
    }
    strcpy(t->name, name);
    if (t->nbytes) memcpy(t->data, data, t->nbytes);
    t->dtype = dtype;
    t->ndim = ndim;
    memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    w->n++;
    return MD_OK;
}

md_status md_st_writer_meta(md_ctx *ctx, md_st_writer *w, const char *key, const char *value)
{
    cJSON_DeleteItemFromObjectCaseSensitive(w->meta, key);
    if (!cJSON_AddStringToObject(w->meta, key, value)) return md_fail(ctx, MD_ERR_NOMEM, "out of memory");
    return MD_OK;
}

static char *build_header(md_st_writer *w)
{
    cJSON *root = cJSON_CreateObject();
    if (!root) return NULL;
    if (cJSON_GetArraySize(w->meta) > 0)
        cJSON_AddItemToObject(root, "__metadata__", cJSON_Duplicate(w->meta, 1));
    size_t off = 0;
    for (size_t i = 0; i < w->n; i++) {
        cJSON *t = cJSON_AddObjectToObject(root, w->t[i].name);
        cJSON *shape = t ? cJSON_AddArrayToObject(t, "shape") : NULL;
        cJSON *offs = t ? cJSON_AddArrayToObject(t, "data_offsets") : NULL;
        if (!shape || !offs || !cJSON_AddStringToObject(t, "dtype", md_st_dtype_name(w->t[i].dtype))) {
            cJSON_Delete(root);
            return NULL;
        }
        for (int d = 0; d < w->t[i].ndim; d++)
            cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)w->t[i].shape[d]));
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)off));
        off += w->t[i].nbytes;
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)off));
    }
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s;
}

md_status md_st_writer_serialize(md_ctx *ctx, md_st_writer *w, unsigned char **bytes, size_t *len)
{
    char *hdr = build_header(w);
    if (!hdr) return md_fail(ctx, MD_ERR_NOMEM, "out of memory");
    size_t hlen = strlen(hdr);
    size_t padded = (hlen + 7) & ~(size_t)7;
    size_t total = 8 + padded;
    for (size_t i = 0; i < w->n; i++) total += w->t[i].nbytes;
    unsigned char *b = malloc(total);
    if (!b) {
        free(hdr);
        return md_fail(ctx, MD_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    memcpy(b + 8, hdr, hlen);
    memset(b + 8 + hlen, ' ', padded - hlen);
    free(hdr);
    size_t p = 8 + padded;
    for (size_t i = 0; i < w->n; i++) {
        if (w->t[i].nbytes) memcpy(b + p, w->t[i].data, w->t[i].nbytes);
        p += w->t[i].nbytes;
    }
    *bytes = b;
    *len = total;
    return MD_OK;
}

md_status md_st_writer_save(md_ctx *ctx, md_st_writer *w, const char *path, int force)
{
    unsigned char *b;
    size_t len;
    md_status s = md_st_writer_serialize(ctx, w, &b, &len);
    if (s) return s;
    s = md_write_file_atomic(ctx, path, force, b, len);
    free(b);
    return s;
}
