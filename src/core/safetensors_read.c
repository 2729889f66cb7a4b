/* safetensors reader: validates the header completely before any tensor is
 * handed out. */
#include "core/safetensors.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fileout.h"

typedef struct md_st_meta_kv {
    char *key;
    char *value;
} md_st_meta_kv;

struct md_st_file {
    char *origin;
    md_status kind;        /* status used for problems with this file */
    unsigned char *data;   /* the data block, aligned copy */
    size_t data_len;
    md_st_tensor *tensors;
    char **names;
    size_t n_tensors;
    md_st_meta_kv *meta;
    size_t n_meta;
};

static const struct {
    const char *name;
    size_t size;
} dtypes[] = {
    [MD_ST_F32] = {"F32", 4}, [MD_ST_F16] = {"F16", 2}, [MD_ST_BF16] = {"BF16", 2},
    [MD_ST_F64] = {"F64", 8}, [MD_ST_I8] = {"I8", 1},   [MD_ST_U8] = {"U8", 1},
    [MD_ST_I16] = {"I16", 2}, [MD_ST_U16] = {"U16", 2}, [MD_ST_I32] = {"I32", 4},
    [MD_ST_U32] = {"U32", 4}, [MD_ST_I64] = {"I64", 8}, [MD_ST_U64] = {"U64", 8},
    [MD_ST_BOOL] = {"BOOL", 1},
};
#define N_DTYPES (sizeof dtypes / sizeof dtypes[0])

const char *md_st_dtype_name(md_st_dtype d) { return (size_t)d < N_DTYPES ? dtypes[d].name : "?"; }
size_t md_st_dtype_size(md_st_dtype d) { return (size_t)d < N_DTYPES ? dtypes[d].size : 0; }

static int dtype_from_name(const char *s, md_st_dtype *out)
{
    for (size_t i = 0; i < N_DTYPES; i++)
        if (!strcmp(s, dtypes[i].name)) {
            *out = (md_st_dtype)i;
            return 1;
        }
    return 0;
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

void md_st_close(md_st_file *f)
{
    if (!f) return;
    for (size_t i = 0; i < f->n_tensors; i++) free(f->names[i]);
    for (size_t i = 0; i < f->n_meta; i++) {
        free(f->meta[i].key);
        free(f->meta[i].value);
    }
    free(f->names);
    free(f->tensors);
    free(f->meta);
    free(f->data);
    free(f->origin);
    free(f);
}

/* A JSON number that is a non-negative integer exactly representable. */
static int json_uint(const cJSON *j, uint64_t limit, uint64_t *out)
{
    if (!cJSON_IsNumber(j)) return 0;
    double v = j->valuedouble;
    if (!(v >= 0) || v > (double)limit || v != (double)(uint64_t)v) return 0;
    *out = (uint64_t)v;
    return 1;
}

static md_status parse_metadata(md_ctx *ctx, md_st_file *f, const cJSON *meta, md_status kind)
{
    if (!cJSON_IsObject(meta))
        return md_fail(ctx, kind, "%s: __metadata__ is not an object", f->origin);
    if (f->meta) return md_fail(ctx, kind, "%s: __metadata__ appears twice", f->origin);
    size_t n = (size_t)cJSON_GetArraySize(meta);
    f->meta = calloc(n ? n : 1, sizeof *f->meta);
    if (!f->meta) return md_fail(ctx, MD_ERR_NOMEM, "%s: out of memory", f->origin);
    for (const cJSON *it = meta->child; it; it = it->next) {
        if (!cJSON_IsString(it))
            return md_fail(ctx, kind, "%s: metadata '%s' is not a string", f->origin, it->string);
        md_st_meta_kv *kv = &f->meta[f->n_meta++];
        kv->key = dup_str(it->string);
        kv->value = dup_str(it->valuestring);
        if (!kv->key || !kv->value) return md_fail(ctx, MD_ERR_NOMEM, "%s: out of memory", f->origin);
    }
    return MD_OK;
}

static md_status parse_tensor(md_ctx *ctx, md_st_file *f, const cJSON *j, md_status kind,
                              md_st_tensor *t, uint64_t offs[2])
{
    const char *name = j->string;
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(j, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(j, "shape");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(j, "data_offsets");
    if (!cJSON_IsObject(j) || !cJSON_IsString(dt) || !cJSON_IsArray(shape) || !cJSON_IsArray(off))
        return md_fail(ctx, kind, "%s: tensor '%s' lacks dtype, shape or data_offsets", f->origin, name);
    if (!dtype_from_name(dt->valuestring, &t->dtype))
        return md_fail(ctx, kind, "%s: tensor '%s' has unknown dtype '%s'", f->origin, name, dt->valuestring);
    int nd = cJSON_GetArraySize(shape);
    if (nd > MD_ST_MAX_DIMS)
        return md_fail(ctx, kind, "%s: tensor '%s' has %d dimensions (at most %d)", f->origin, name, nd, MD_ST_MAX_DIMS);
    t->ndim = nd;
    uint64_t numel = 1;
    for (int d = 0; d < nd; d++) {
        uint64_t v;
        if (!json_uint(cJSON_GetArrayItem(shape, d), (uint64_t)1 << 40, &v))
            return md_fail(ctx, kind, "%s: tensor '%s' has an invalid shape", f->origin, name);
        t->shape[d] = (int64_t)v;
        if (v && numel > UINT64_MAX / v)
            return md_fail(ctx, kind, "%s: tensor '%s' shape overflows", f->origin, name);
        numel *= v;
    }
    if (cJSON_GetArraySize(off) != 2 || !json_uint(cJSON_GetArrayItem(off, 0), f->data_len, &offs[0]) ||
        !json_uint(cJSON_GetArrayItem(off, 1), f->data_len, &offs[1]) || offs[0] > offs[1])
        return md_fail(ctx, kind, "%s: tensor '%s' data_offsets lie outside the %zu-byte data block (file truncated?)",
                       f->origin, name, f->data_len);
    size_t es = md_st_dtype_size(t->dtype);
    if (numel > UINT64_MAX / es || numel * es != offs[1] - offs[0])
        return md_fail(ctx, kind, "%s: tensor '%s' spans %llu bytes but its shape and dtype need %llu",
                       f->origin, name, (unsigned long long)(offs[1] - offs[0]), (unsigned long long)(numel * es));
    t->numel = (size_t)numel;
    t->nbytes = (size_t)(numel * es);
    t->data = f->data + offs[0];
    return MD_OK;
}

typedef struct span {
    uint64_t b, e;
    size_t i;
} span;

static int span_cmp(const void *a, const void *b)
{
    const span *x = a, *y = b;
    return x->b < y->b ? -1 : x->b > y->b;
}

static md_status check_overlaps(md_ctx *ctx, md_st_file *f, span *sp, md_status kind)
{
    qsort(sp, f->n_tensors, sizeof *sp, span_cmp);
    for (size_t i = 1; i < f->n_tensors; i++)
        if (sp[i].b < sp[i - 1].e)
            return md_fail(ctx, kind, "%s: tensors '%s' and '%s' overlap", f->origin,
                           f->names[sp[i - 1].i], f->names[sp[i].i]);
    return MD_OK;
}

static md_status parse_header(md_ctx *ctx, md_st_file *f, const cJSON *root, md_status kind)
{
    if (!cJSON_IsObject(root)) return md_fail(ctx, kind, "%s: header is not a JSON object", f->origin);
    size_t n = (size_t)cJSON_GetArraySize(root);
    f->tensors = calloc(n ? n : 1, sizeof *f->tensors);
    f->names = calloc(n ? n : 1, sizeof *f->names);
    span *sp = calloc(n ? n : 1, sizeof *sp);
    md_status s = MD_OK;
    if (!f->tensors || !f->names || !sp) s = md_fail(ctx, MD_ERR_NOMEM, "%s: out of memory", f->origin);
    for (const cJSON *it = root->child; it && !s; it = it->next) {
        if (!strcmp(it->string, "__metadata__")) {
            s = parse_metadata(ctx, f, it, kind);
            continue;
        }
        if (md_st_find(f, it->string)) {
            s = md_fail(ctx, kind, "%s: tensor '%s' appears twice", f->origin, it->string);
            break;
        }
        md_st_tensor *t = &f->tensors[f->n_tensors];
        uint64_t offs[2] = {0, 0};
        f->names[f->n_tensors] = dup_str(it->string);
        if (!f->names[f->n_tensors]) {
            s = md_fail(ctx, MD_ERR_NOMEM, "%s: out of memory", f->origin);
            break;
        }
        t->name = f->names[f->n_tensors];
        f->n_tensors++;
        s = parse_tensor(ctx, f, it, kind, t, offs);
        sp[f->n_tensors - 1] = (span){offs[0], offs[1], f->n_tensors - 1};
    }
    if (!s) s = check_overlaps(ctx, f, sp, kind);
    free(sp);
    return s;
}

md_status md_st_open_memory(md_ctx *ctx, const void *bytes, size_t len, const char *origin,
                            md_status kind, md_st_file **out)
{
    *out = NULL;
    const unsigned char *b = bytes;
    if (len < 8) return md_fail(ctx, kind, "%s: %zu bytes is too short for a safetensors file", origin, len);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | b[i];
    if (hlen < 2 || hlen > MD_ST_MAX_HEADER || hlen > len - 8)
        return md_fail(ctx, kind, "%s: header length %llu does not fit the %zu-byte file (not safetensors, or truncated)",
                       origin, (unsigned long long)hlen, len);
    md_st_file *f = calloc(1, sizeof *f);
    if (!f) return md_fail(ctx, MD_ERR_NOMEM, "%s: out of memory", origin);
    f->origin = dup_str(origin);
    f->kind = kind;
    f->data_len = len - 8 - (size_t)hlen;
    /* Copy the data block to its own allocation so every tensor is aligned
     * whatever the header length. */
    f->data = malloc(f->data_len ? f->data_len : 1);
    if (!f->origin || !f->data) {
        md_st_close(f);
        return md_fail(ctx, MD_ERR_NOMEM, "%s: out of memory", origin);
    }
    memcpy(f->data, b + 8 + hlen, f->data_len);
    cJSON *root = cJSON_ParseWithLength((const char *)b + 8, (size_t)hlen);
    md_status s = root ? parse_header(ctx, f, root, kind)
                       : md_fail(ctx, kind, "%s: header is not valid JSON", origin);
    cJSON_Delete(root);
    if (s) {
        md_st_close(f);
        return s;
    }
    *out = f;
    return MD_OK;
}

md_status md_st_open(md_ctx *ctx, const char *path, md_status kind, size_t max_bytes, md_st_file **out)
{
    unsigned char *buf;
    size_t len;
    *out = NULL;
    md_status s = md_read_file(ctx, path, max_bytes, kind, &buf, &len);
    if (s) return s;
    s = md_st_open_memory(ctx, buf, len, path, kind, out);
    free(buf);
    return s;
}

const char *md_st_origin(const md_st_file *f) { return f->origin; }
size_t md_st_count(const md_st_file *f) { return f->n_tensors; }
const md_st_tensor *md_st_at(const md_st_file *f, size_t i) { return i < f->n_tensors ? &f->tensors[i] : NULL; }

const md_st_tensor *md_st_find(const md_st_file *f, const char *name)
{
    for (size_t i = 0; i < f->n_tensors; i++)
        if (!strcmp(f->tensors[i].name, name)) return &f->tensors[i];
    return NULL;
}

const char *md_st_meta(const md_st_file *f, const char *key)
{
    for (size_t i = 0; i < f->n_meta; i++)
        if (!strcmp(f->meta[i].key, key)) return f->meta[i].value;
    return NULL;
}

static void shape_str(char *buf, size_t cap, int ndim, const int64_t *shape)
{
    size_t p = 0;
    p += (size_t)snprintf(buf + p, cap - p, "[");
    for (int d = 0; d < ndim && p < cap; d++)
        p += (size_t)snprintf(buf + p, cap - p, d ? ", %lld" : "%lld", (long long)shape[d]);
    if (p < cap) snprintf(buf + p, cap - p, "]");
}

md_status md_st_expect(md_ctx *ctx, const md_st_file *f, const char *name, md_st_dtype dtype,
                       int ndim, const int64_t *shape, const md_st_tensor **out)
{
    md_status kind = f->kind;
    const md_st_tensor *t = md_st_find(f, name);
    if (out) *out = NULL;
    if (!t) return md_fail(ctx, kind, "%s: tensor '%s' is missing", f->origin, name);
    if (t->dtype != dtype)
        return md_fail(ctx, kind, "%s: tensor '%s' is %s, expected %s", f->origin, name,
                       md_st_dtype_name(t->dtype), md_st_dtype_name(dtype));
    int ok = t->ndim == ndim;
    for (int d = 0; ok && d < ndim; d++)
        if (shape[d] >= 0 && shape[d] != t->shape[d]) ok = 0;
    if (!ok) {
        char want[160], got[160];
        shape_str(want, sizeof want, ndim, shape);
        shape_str(got, sizeof got, t->ndim, t->shape);
        return md_fail(ctx, kind, "%s: tensor '%s' has shape %s, expected %s", f->origin, name, got, want);
    }
    if (out) *out = t;
    return MD_OK;
}
