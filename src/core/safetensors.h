/* safetensors reading and writing.
 *
 * Format: 8-byte little-endian header length N, N bytes of JSON
 * {"name": {"dtype": "F32", "shape": [...], "data_offsets": [b, e]}, ...,
 *  "__metadata__": {"key": "string", ...}}, then the data block.
 * The reader trusts nothing: every offset, shape and dtype is checked against
 * the file size, tensors may not overlap, and all errors name the file. */
#ifndef MD_CORE_SAFETENSORS_H
#define MD_CORE_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>
#include "melodiff/context.h"

#define MD_ST_MAX_DIMS 8

typedef enum md_st_dtype {
    MD_ST_F32, MD_ST_F16, MD_ST_BF16, MD_ST_F64,
    MD_ST_I8, MD_ST_U8, MD_ST_I16, MD_ST_U16, MD_ST_I32, MD_ST_U32, MD_ST_I64, MD_ST_U64,
    MD_ST_BOOL
} md_st_dtype;

typedef struct md_st_tensor {
    const char *name;
    md_st_dtype dtype;
    int ndim;
    int64_t shape[MD_ST_MAX_DIMS];
    size_t numel;
    size_t nbytes;
    const void *data; /* 16-byte aligned, valid while the file is open */
} md_st_tensor;

typedef struct md_st_file md_st_file;

/* Largest header accepted (the JSON part). */
#define MD_ST_MAX_HEADER (64u << 20)

/* Opens and validates a file. Failures use status `kind` (MD_ERR_MODEL for
 * model files, MD_ERR_INPUT for other inputs) with a message naming `path`.
 * max_bytes caps the file size. */
md_status md_st_open(md_ctx *ctx, const char *path, md_status kind, size_t max_bytes, md_st_file **out);

/* Same, over bytes in memory (copied); `origin` names them in messages. */
md_status md_st_open_memory(md_ctx *ctx, const void *bytes, size_t len, const char *origin,
                            md_status kind, md_st_file **out);

void md_st_close(md_st_file *f);

const char *md_st_origin(const md_st_file *f);
size_t md_st_count(const md_st_file *f);
const md_st_tensor *md_st_at(const md_st_file *f, size_t i);
const md_st_tensor *md_st_find(const md_st_file *f, const char *name);

/* A metadata string, or NULL when absent. */
const char *md_st_meta(const md_st_file *f, const char *key);

/* Finds `name` and checks its dtype and shape; a -1 in `shape` matches any
 * size. Errors (status = the file's kind) name the file, tensor and what
 * differs. */
md_status md_st_expect(md_ctx *ctx, const md_st_file *f, const char *name, md_st_dtype dtype,
                       int ndim, const int64_t *shape, const md_st_tensor **out);

const char *md_st_dtype_name(md_st_dtype d);
size_t md_st_dtype_size(md_st_dtype d);

/* ---- writing ---------------------------------------------------------------- */

typedef struct md_st_writer md_st_writer;

md_status md_st_writer_create(md_ctx *ctx, md_st_writer **out);
void md_st_writer_destroy(md_st_writer *w);

/* Adds a tensor; the data is copied, so the caller may free it at once. */
md_status md_st_writer_add(md_ctx *ctx, md_st_writer *w, const char *name, md_st_dtype dtype,
                           int ndim, const int64_t *shape, const void *data);
md_status md_st_writer_meta(md_ctx *ctx, md_st_writer *w, const char *key, const char *value);

/* Writes atomically (temporary name, then rename); refuses to replace an
 * existing file unless force. */
md_status md_st_writer_save(md_ctx *ctx, md_st_writer *w, const char *path, int force);

/* Serialises into a malloc'd buffer (for tests and in-memory use). */
md_status md_st_writer_serialize(md_ctx *ctx, md_st_writer *w, unsigned char **bytes, size_t *len);

#endif
