/* melodiff nn — the tensor every op reads and writes.
 *
 * Layout: float32, NCHW, densely packed, batch first:
 *     element (n, c, y, x) lives at ((n * C + c) * H + y) * W + x.
 * Lower-rank data uses the trailing axes as follows, so every op sees one
 * layout:
 *     1-D sequences (conv1d)      N x C x 1 x L
 *     matrices (linear, softmax,  rows x D   stored as  N=rows, C=1, H=1, W=D
 *               layer norm)       (only the product of the leading axes matters:
 *                                  a [N, T, D] batch is N x 1 x T x D)
 *     per-sample vectors (FiLM)   N x K x 1 x 1
 * A tensor belongs to one backend (md_nn, see ops.h). On the CPU backend
 * `host` holds the data; on the GPU backend `dev` is the runtime's buffer and
 * the data moves only through md_nn_tensor_upload/_download.
 *
 * Element type: float32, except GPU weight tensors made by
 * md_nn_weight_alloc under the fp16-weights precision, which are stored as
 * float16 (converted at upload/download; the API side is always float).
 * Only conv2d/conv1d/linear/attention weights may be float16. */
#ifndef MD_NN_TENSOR_H
#define MD_NN_TENSOR_H

#include <stddef.h>
#include <stdint.h>

/* Storage type; the zero value is float32 so `md_tensor t = {0}` stays valid. */
typedef enum md_dtype {
    MD_DTYPE_F32 = 0,
    MD_DTYPE_F16 = 1  /* IEEE binary16, GPU weight tensors only */
} md_dtype;

typedef struct md_tensor {
    int n, c, h, w;
    md_dtype dtype;
    float *host;  /* CPU backend data, NULL on the GPU backend */
    void *dev;    /* GPU backend buffer (md_gpu_buffer *), NULL on the CPU */
} md_tensor;

/* Number of elements; 0 for an empty/unallocated tensor. */
static inline size_t md_tensor_numel(const md_tensor *t)
{
    return (size_t)t->n * (size_t)t->c * (size_t)t->h * (size_t)t->w;
}

static inline size_t md_dtype_size(md_dtype d) { return d == MD_DTYPE_F16 ? 2 : sizeof(float); }

/* Bytes of storage (float16 tensors take half). */
static inline size_t md_tensor_bytes(const md_tensor *t)
{
    return md_tensor_numel(t) * md_dtype_size(t->dtype);
}

/* Index of element (n, c, y, x). */
static inline size_t md_tensor_at(const md_tensor *t, int n, int c, int y, int x)
{
    return (((size_t)n * (size_t)t->c + (size_t)c) * (size_t)t->h + (size_t)y) * (size_t)t->w + (size_t)x;
}

static inline int md_tensor_same_shape(const md_tensor *a, const md_tensor *b)
{
    return a->n == b->n && a->c == b->c && a->h == b->h && a->w == b->w;
}

#endif
