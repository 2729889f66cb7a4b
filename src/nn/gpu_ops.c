/* The GPU backend: records each op as one dispatch of its shader (see
 * shaders/nn_*.comp) on the handle's pending command list. Kernel choice,
 * specialization constants and grid sizes live here; shapes were checked by
 * ops.c. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn/nn_internal.h"

/* Lanes per workgroup of the simple grid-stride and row-reduction kernels. */
#define LANES 64
#define REDUCE_LANES 256

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static const md_gpu_limits *limits(const md_nn *nn) { return &md_gpu_get_caps(nn->gpu)->limits; }

/* ---- variants ----------------------------------------------------------------
 * Some shaders exist as more than one SPIR-V (CMakeLists.txt "variants"):
 *   <name>_sg    reductions through subgroupAdd/subgroupMax, when the device
 *                enables subgroup arithmetic (quirks / MELODIFF_GPU_DISABLE=subgroup
 *                turn it off, and the shared-memory tree runs instead);
 *   <name>_f16w  weights read from float16 storage, when the weight tensor
 *                was allocated as float16 (md_nn_weight_alloc under the
 *                fp16-weights precision, which needs 16-bit storage). */

static int use_subgroups(const md_nn *nn)
{
    const md_gpu_features *f = &md_gpu_get_caps(nn->gpu)->features;
    return f->subgroup_basic && f->subgroup_arith;
}

/* The label of a dispatch (profile rows) is its shader name without "nn_",
 * so a variant shows as e.g. "softmax_sg". */
static const char *label_of(const char *shader) { return strncmp(shader, "nn_", 3) == 0 ? shader + 3 : shader; }

/* A float16 weight must reach only the shaders with an _f16w variant, and
 * only on a device with 16-bit storage enabled (md_nn_weight_alloc makes
 * sure; this guards hand-made tensors). */
static md_status check_weight(md_nn *nn, const md_tensor *w, const char *op)
{
    if (w->dtype == MD_DTYPE_F16 && !md_gpu_get_caps(nn->gpu)->features.fp16_storage)
        return md_fail(nn->ctx, MD_ERR_USAGE, "%s: float16 weight on a device without 16-bit storage", op);
    return MD_OK;
}

static md_gpu_binding in(const md_nn *nn, const md_tensor *t)
{
    /* An absent optional operand is bound to the dummy buffer: every binding
     * a shader declares must be valid even when a spec constant disables it. */
    md_gpu_binding b = {.buf = t ? (md_gpu_buffer *)t->dev : nn->dummy, .access = MD_GPU_READ};
    return b;
}

static md_gpu_binding out(const md_tensor *t)
{
    md_gpu_binding b = {.buf = (md_gpu_buffer *)t->dev, .access = MD_GPU_WRITE};
    return b;
}

/* Output aliases an input (in-place pointwise op): one read-write binding
 * for both, so the recorder sees the true access. */
static void merge_inplace(md_gpu_binding *b, size_t n)
{
    md_gpu_binding *o = &b[n - 1];
    for (size_t i = 0; i + 1 < n; i++)
        if (b[i].buf == o->buf) {
            b[i].access = MD_GPU_READ_WRITE;
            o->access = MD_GPU_READ_WRITE;
        }
}

static md_status record(md_nn *nn, const md_gpu_kernel_desc *desc, const md_gpu_binding *b,
                        const void *push, uint32_t gx, uint32_t gy, uint32_t gz, uint64_t flops,
                        const char *label)
{
    const md_gpu_limits *lim = limits(nn);
    if (gx > lim->max_workgroup_count[0] || gy > lim->max_workgroup_count[1] ||
        gz > lim->max_workgroup_count[2])
        return md_fail(nn->ctx, MD_ERR_LIMIT, "%s: needs %ux%ux%u workgroups, the device allows %ux%ux%u",
                       label, gx, gy, gz, lim->max_workgroup_count[0], lim->max_workgroup_count[1],
                       lim->max_workgroup_count[2]);
    md_gpu_kernel *k = NULL;
    md_status s = md_gpu_kernel_get(nn->gpu, desc, &k);
    if (s != MD_OK) return s;
    if (!nn->cmd) {
        s = md_gpu_cmd_begin(nn->gpu, &nn->cmd);
        if (s != MD_OK) return s;
    }
    char named[96];
    if (nn->label[0]) {
        snprintf(named, sizeof named, "%s %s", nn->label, label);
        label = named;
    }
    md_gpu_dispatch d = {.kernel = k, .bindings = b, .push = push, .groups = {gx, gy, gz},
                         .flops = flops, .label = label};
    s = md_gpu_cmd_dispatch(nn->cmd, &d);
    if (s == MD_OK) nn->last_kernel = desc->shader;
    return s;
}

/* Workgroups for a grid-stride kernel over count items: enough to cover
 * them, capped at the device limit (the shader loops over the rest). */
static uint32_t stride_groups(const md_nn *nn, uint64_t count, uint32_t lanes)
{
    uint64_t g = (count + lanes - 1) / lanes;
    uint64_t cap = limits(nn)->max_workgroup_count[0];
    if (g > cap) g = cap;
    return g ? (uint32_t)g : 1;
}

/* ---- convolution -------------------------------------------------------------- */

typedef struct conv_push {
    int32_t cin, h, w, cout, oh, ow, pad_h, pad_w, extra; /* extra: segs (reg) */
    int32_t c1;                                           /* channels of the first input */
} conv_push;

typedef struct conv_tiled_push {
    int32_t cin, h, w, cout, oh, ow, pad_h, pad_w;
    float film_offset;
    int32_t up2;
    int32_t c1; /* channels of the first input (= cin: one input) */
} conv_tiled_push;

/* The output grid a conv kernel walks: the output itself, or for up2 the
 * low-res grid of each of the four phases (z then runs over batch x 4).
 * c1: channels of the first input; below Cin, the rest come from a second
 * input (md_nn_conv2d_cat). */
typedef struct conv_grid {
    int oh, ow, up2, c1;
} conv_grid;

static md_status conv_reg(md_nn *nn, const md_tensor *x, const md_tensor *w, const md_conv_params *p,
                          const md_gpu_binding *b, const md_tensor *y, const conv_grid *g, int has[3],
                          uint64_t flops)
{
    /* Each invocation: 4 output channels x 8 consecutive pixels of a row,
     * the best of the blockings measured on lavapipe (docs/ops.md). Rows
     * narrower than 8 take fewer. Workgroups of 32 lanes may span rows. */
    uint32_t ow = (uint32_t)g->ow;
    uint32_t pxb = ow >= 8 ? 8 : ow;
    uint32_t lanes = 32;
    uint32_t ocb = y->c >= 4 ? 4 : (uint32_t)y->c;
    uint32_t segs = (ow + pxb - 1) / pxb;
    const char *shader = w->dtype == MD_DTYPE_F16 ? "nn_conv2d_reg_f16w" : "nn_conv2d_reg";
    md_gpu_kernel_desc desc = {
        .shader = shader, .n_bindings = 7, .push_size = sizeof(conv_push), .n_spec = 15,
        .spec = {lanes, ocb, pxb, (uint32_t)w->h, (uint32_t)w->w, (uint32_t)p->stride_h,
                 (uint32_t)p->stride_w, (uint32_t)p->ep.act, (uint32_t)has[0], (uint32_t)has[1],
                 (uint32_t)has[2], f32_bits(p->ep.slope), f32_bits(p->ep.film_offset), (uint32_t)g->up2,
                 (uint32_t)(g->c1 < x->c)},
        .label = label_of(shader)};
    conv_push pc = {x->c, x->h, x->w, y->c, g->oh, g->ow, p->pad_h, p->pad_w, (int32_t)segs, g->c1};
    return record(nn, &desc, b, &pc, stride_groups(nn, (uint64_t)g->oh * segs, lanes),
                  ((uint32_t)y->c + ocb - 1) / ocb, (uint32_t)y->n * (g->up2 ? 4u : 1u), flops, label_of(shader));
}

static md_status conv_tiled(md_nn *nn, const md_tensor *x, const md_tensor *w, const md_conv_params *p,
                            const md_gpu_binding *b, const md_tensor *y, const conv_grid *g, int has[3],
                            uint64_t flops)
{
    /* 64x64 tiles by 16x16 invocations; devices below 256 invocations per
     * workgroup (the Vulkan minimum is 128) get 32x32 tiles by 8x8. */
    uint32_t bm = 64, bn = 64, bk = 16, tm = 4, tn = 4;
    if (limits(nn)->max_workgroup_invocations < 256) bm = bn = 32;
    const char *shader = w->dtype == MD_DTYPE_F16 ? "nn_conv2d_tiled_f16w" : "nn_conv2d_tiled";
    md_gpu_kernel_desc desc = {
        .shader = shader, .n_bindings = 7, .push_size = sizeof(conv_tiled_push), .n_spec = 16,
        .spec = {bn / tn, bm / tm, bm, bn, bk, tm, tn, (uint32_t)w->h, (uint32_t)w->w,
                 (uint32_t)p->stride_h, (uint32_t)p->stride_w, (uint32_t)p->ep.act, (uint32_t)has[0],
                 (uint32_t)has[1], (uint32_t)has[2], f32_bits(p->ep.slope)},
        .label = label_of(shader)};
    conv_tiled_push pc = {x->c, x->h, x->w, y->c, g->oh, g->ow, p->pad_h, p->pad_w, p->ep.film_offset, g->up2,
                          g->c1};
    uint64_t cols = (uint64_t)g->oh * (uint64_t)g->ow;
    return record(nn, &desc, b, &pc, (uint32_t)((cols + bn - 1) / bn), ((uint32_t)y->c + bm - 1) / bm,
                  (uint32_t)y->n * (g->up2 ? 4u : 1u), flops, label_of(shader));
}

/* x is the (virtual) whole input: its dims give Cin; with x2, channels
 * [0, xa->c) come from xa and the rest from x2. */
md_status md_nn_gpu_conv2d(md_nn *nn, const md_tensor *xa, const md_tensor *x2, const md_tensor *w,
                           const md_tensor *bias, const md_tensor *film, const md_tensor *res,
                           const md_conv_params *p, md_tensor *y)
{
    md_status s = check_weight(nn, w, "conv2d");
    if (s != MD_OK) return s;
    md_gpu_binding b[7] = {in(nn, xa), in(nn, w), in(nn, bias), in(nn, film), in(nn, res), out(y), in(nn, x2)};
    int has[3] = {bias != NULL, film != NULL, res != NULL};
    md_tensor x = *xa;
    x.c = w->c;
    uint64_t flops = 2ull * md_tensor_numel(y) * (uint64_t)x.c * (uint64_t)w->h * (uint64_t)w->w;
    conv_grid g = {y->h, y->w, 0, xa->c};
    if (md_nn_conv_style_resolved(nn) == MD_NN_CONV_TILED) return conv_tiled(nn, &x, w, p, b, y, &g, has, flops);
    return conv_reg(nn, &x, w, p, b, y, &g, has, flops);
}

md_status md_nn_gpu_conv2d_up2(md_nn *nn, const md_tensor *x, const md_tensor *w, const md_tensor *bias,
                               const md_tensor *film, const md_tensor *res, const md_epilogue *ep,
                               md_tensor *y)
{
    md_status s = check_weight(nn, w, "conv2d_up2");
    if (s != MD_OK) return s;
    md_gpu_binding b[7] = {in(nn, x), in(nn, w), in(nn, bias), in(nn, film), in(nn, res), out(y), in(nn, NULL)};
    int has[3] = {bias != NULL, film != NULL, res != NULL};
    /* Each phase: a 2x2 conv over the low-res grid, stride 1. */
    md_conv_params p = {.stride_h = 1, .stride_w = 1, .ep = *ep};
    uint64_t flops = 2ull * md_tensor_numel(y) * (uint64_t)x->c * 4u;
    conv_grid g = {x->h, x->w, 1, x->c};
    if (md_nn_conv_style_resolved(nn) == MD_NN_CONV_TILED) return conv_tiled(nn, x, w, &p, b, y, &g, has, flops);
    return conv_reg(nn, x, w, &p, b, y, &g, has, flops);
}

typedef struct convt_push {
    int32_t count, cin, h, w, cout, oh, ow, pad_h, pad_w;
} convt_push;

md_status md_nn_gpu_conv_transpose2d(md_nn *nn, const md_tensor *x, const md_tensor *w,
                                     const md_tensor *bias, const md_convt_params *p, md_tensor *y)
{
    md_gpu_binding b[4] = {in(nn, x), in(nn, w), in(nn, bias), out(y)};
    md_gpu_kernel_desc desc = {
        .shader = "nn_conv_transpose2d", .n_bindings = 4, .push_size = sizeof(convt_push), .n_spec = 6,
        .spec = {LANES, (uint32_t)w->h, (uint32_t)w->w, (uint32_t)p->stride_h, (uint32_t)p->stride_w,
                 bias != NULL}};
    convt_push pc = {(int32_t)md_tensor_numel(y), x->c, x->h, x->w, y->c, y->h, y->w, p->pad_h, p->pad_w};
    uint64_t flops = 2ull * md_tensor_numel(x) * (uint64_t)y->c * (uint64_t)w->h * (uint64_t)w->w;
    return record(nn, &desc, b, &pc, stride_groups(nn, md_tensor_numel(y), LANES), 1, 1, flops,
                  "conv_transpose2d");
}

/* ---- resampling and pointwise ------------------------------------------------------ */

typedef struct resample_push {
    uint32_t count, h, w;
} resample_push;

static md_status resample(md_nn *nn, const char *shader, const md_tensor *x, md_tensor *y)
{
    md_gpu_binding b[2] = {in(nn, x), out(y)};
    md_gpu_kernel_desc desc = {.shader = shader, .n_bindings = 2, .push_size = sizeof(resample_push),
                               .n_spec = 1, .spec = {LANES}};
    resample_push pc = {(uint32_t)md_tensor_numel(y), (uint32_t)x->h, (uint32_t)x->w};
    return record(nn, &desc, b, &pc, stride_groups(nn, pc.count, LANES), 1, 1, md_tensor_numel(x), shader);
}

md_status md_nn_gpu_upsample_nearest2x(md_nn *nn, const md_tensor *x, md_tensor *y)
{
    return resample(nn, "nn_upsample2x", x, y);
}

md_status md_nn_gpu_avgpool2x2(md_nn *nn, const md_tensor *x, md_tensor *y)
{
    return resample(nn, "nn_avgpool2", x, y);
}

md_status md_nn_gpu_act(md_nn *nn, const md_tensor *x, md_act act, float slope, md_tensor *y)
{
    md_gpu_binding b[2] = {in(nn, x), out(y)};
    merge_inplace(b, 2);
    md_gpu_kernel_desc desc = {.shader = "nn_act", .n_bindings = 2, .push_size = 4, .n_spec = 3,
                               .spec = {LANES, (uint32_t)act, f32_bits(slope)}};
    uint32_t count = (uint32_t)md_tensor_numel(y);
    return record(nn, &desc, b, &count, stride_groups(nn, count, LANES), 1, 1, count, "act");
}

typedef struct film_push {
    uint32_t count, c, plane;
    float offset;
} film_push;

md_status md_nn_gpu_film(md_nn *nn, const md_tensor *x, const md_tensor *film, float film_offset,
                         md_tensor *y)
{
    md_gpu_binding b[3] = {in(nn, x), in(nn, film), out(y)};
    merge_inplace(b, 3);
    md_gpu_kernel_desc desc = {.shader = "nn_film", .n_bindings = 3, .push_size = sizeof(film_push),
                               .n_spec = 1, .spec = {LANES}};
    film_push pc = {(uint32_t)md_tensor_numel(y), (uint32_t)x->c, (uint32_t)(x->h * x->w), film_offset};
    return record(nn, &desc, b, &pc, stride_groups(nn, pc.count, LANES), 1, 1, 2ull * pc.count, "film");
}

md_status md_nn_gpu_add(md_nn *nn, const md_tensor *a, const md_tensor *bt, md_tensor *y)
{
    md_gpu_binding b[3] = {in(nn, a), in(nn, bt), out(y)};
    merge_inplace(b, 3);
    md_gpu_kernel_desc desc = {.shader = "nn_add", .n_bindings = 3, .push_size = 4, .n_spec = 1,
                               .spec = {LANES}};
    uint32_t count = (uint32_t)md_tensor_numel(y);
    return record(nn, &desc, b, &count, stride_groups(nn, count, LANES), 1, 1, count, "add");
}

typedef struct concat_push {
    uint32_t count, ca, cb, plane;
} concat_push;

md_status md_nn_gpu_concat(md_nn *nn, const md_tensor *a, const md_tensor *bt, md_tensor *y)
{
    md_gpu_binding b[3] = {in(nn, a), in(nn, bt), out(y)};
    md_gpu_kernel_desc desc = {.shader = "nn_concat", .n_bindings = 3, .push_size = sizeof(concat_push),
                               .n_spec = 1, .spec = {LANES}};
    concat_push pc = {(uint32_t)md_tensor_numel(y), (uint32_t)a->c, (uint32_t)bt->c, (uint32_t)(a->h * a->w)};
    return record(nn, &desc, b, &pc, stride_groups(nn, pc.count, LANES), 1, 1, pc.count, "concat");
}

/* ---- reductions ----------------------------------------------------------------------- */

typedef struct gn_push {
    int32_t n, c, groups, h, w;
    float eps;
    int32_t c1; /* channels of the first input */
} gn_push;

/* Lanes per column of the per-frame group norm: a power of two dividing
 * REDUCE_LANES (md_nn_set_group_norm_slices, else by device type). */
static uint32_t gn_slices(const md_nn *nn)
{
    uint32_t s = nn->gn_slices ? (uint32_t)nn->gn_slices
                 : md_gpu_get_caps(nn->gpu)->type == MD_GPU_DEVICE_CPU ? 1u : MD_NN_GN_SLICES_GPU;
    uint32_t p = 1;
    while (p * 2 <= s && p * 2 <= REDUCE_LANES) p *= 2;
    return p;
}

/* With x2, channels [0, x->c) come from x and [x->c, y->c) from x2. */
md_status md_nn_gpu_group_norm(md_nn *nn, const md_tensor *x, const md_tensor *x2, const md_tensor *gamma,
                               const md_tensor *beta, const md_tensor *film,
                               const md_norm_params *p, md_tensor *y)
{
    md_gpu_binding b[6] = {in(nn, x), in(nn, gamma), in(nn, beta), in(nn, film), out(y), in(nn, x2)};
    gn_push pc = {y->n, y->c, p->groups, y->h, y->w, p->eps, x->c};
    uint32_t two = x2 != NULL;
    uint64_t flops = 8ull * md_tensor_numel(y);
    if (p->per_frame) {
        /* Per (sample, group, column) job, lanes on neighbouring columns;
         * `slices` lanes share a job on GPUs (the shader says why). */
        uint32_t slices = gn_slices(nn);
        uint32_t lanes = slices > 1 ? REDUCE_LANES : LANES;
        md_gpu_kernel_desc desc = {
            .shader = "nn_group_norm_cols", .n_bindings = 6, .push_size = sizeof(gn_push), .n_spec = 9,
            .spec = {lanes, (uint32_t)p->ep.act, gamma != NULL, beta != NULL, film != NULL,
                     f32_bits(p->ep.slope), f32_bits(p->ep.film_offset), two, slices},
            .label = "group_norm_cols"};
        uint64_t jobs = (uint64_t)y->n * (uint64_t)p->groups * (uint64_t)y->w;
        return record(nn, &desc, b, &pc, stride_groups(nn, jobs, lanes / slices), 1, 1, flops, "group_norm_cols");
    }
    /* One workgroup per (sample, group), reducing through subgroups or
     * shared memory. */
    const char *shader = use_subgroups(nn) ? "nn_group_norm_sg" : "nn_group_norm";
    md_gpu_kernel_desc desc = {
        .shader = shader, .n_bindings = 6, .push_size = sizeof(gn_push), .n_spec = 9,
        .spec = {REDUCE_LANES, (uint32_t)p->ep.act, gamma != NULL, beta != NULL, film != NULL,
                 f32_bits(p->ep.slope), f32_bits(p->ep.film_offset), 0, two}};
    uint64_t jobs = (uint64_t)y->n * (uint64_t)p->groups;
    return record(nn, &desc, b, &pc, stride_groups(nn, jobs, 1), 1, 1, flops, label_of(shader));
}

typedef struct ln_push {
    int32_t rows, d;
    float eps;
} ln_push;

md_status md_nn_gpu_layer_norm(md_nn *nn, const md_tensor *x, const md_tensor *gamma,
                               const md_tensor *beta, float eps, md_tensor *y)
{
    md_gpu_binding b[4] = {in(nn, x), in(nn, gamma), in(nn, beta), out(y)};
    uint32_t lanes = x->w >= 256 ? REDUCE_LANES : LANES;
    const char *shader = use_subgroups(nn) ? "nn_layer_norm_sg" : "nn_layer_norm";
    md_gpu_kernel_desc desc = {.shader = shader, .n_bindings = 4, .push_size = sizeof(ln_push),
                               .n_spec = 3, .spec = {lanes, gamma != NULL, beta != NULL}};
    ln_push pc = {x->n * x->c * x->h, x->w, eps};
    return record(nn, &desc, b, &pc, stride_groups(nn, (uint64_t)pc.rows, 1), 1, 1,
                  8ull * md_tensor_numel(x), label_of(shader));
}

md_status md_nn_gpu_softmax(md_nn *nn, const md_tensor *x, md_tensor *y)
{
    md_gpu_binding b[2] = {in(nn, x), out(y)};
    uint32_t lanes = x->w >= 256 ? REDUCE_LANES : LANES;
    const char *shader = use_subgroups(nn) ? "nn_softmax_sg" : "nn_softmax";
    md_gpu_kernel_desc desc = {.shader = shader, .n_bindings = 2, .push_size = 8, .n_spec = 1,
                               .spec = {lanes}};
    int32_t pc[2] = {x->n * x->c * x->h, x->w};
    return record(nn, &desc, b, pc, stride_groups(nn, (uint64_t)pc[0], 1), 1, 1,
                  5ull * md_tensor_numel(x), label_of(shader));
}

/* ---- matrix ops ---------------------------------------------------------------------------- */

md_status md_nn_gpu_linear(md_nn *nn, const md_tensor *x, const md_tensor *w, const md_tensor *bias,
                           md_act act, float slope, md_tensor *y)
{
    md_status s = check_weight(nn, w, "linear");
    if (s != MD_OK) return s;
    md_gpu_binding b[4] = {in(nn, x), in(nn, w), in(nn, bias), out(y)};
    const char *shader = w->dtype == MD_DTYPE_F16 ? "nn_linear_f16w" : "nn_linear";
    md_gpu_kernel_desc desc = {.shader = shader, .n_bindings = 4, .push_size = 12, .n_spec = 4,
                               .spec = {LANES, (uint32_t)act, f32_bits(slope), bias != NULL}};
    uint32_t pc[3] = {(uint32_t)md_tensor_numel(y), (uint32_t)x->w, (uint32_t)w->n};
    return record(nn, &desc, b, pc, stride_groups(nn, pc[0], LANES), 1, 1,
                  2ull * md_tensor_numel(y) * (uint64_t)x->w, label_of(shader));
}

typedef struct attn_push {
    int32_t count, c, heads, t, seqs, seq_first, step, plane;
    float scale;
} attn_push;

md_status md_nn_gpu_attention_core(md_nn *nn, const md_tensor *qkv, int heads, md_attn_axis axis,
                                   md_tensor *y)
{
    md_gpu_binding b[2] = {in(nn, qkv), out(y)};
    int c = y->c, d = c / heads, plane = y->h * y->w;
    md_gpu_kernel_desc desc = {.shader = "nn_attention", .n_bindings = 2, .push_size = sizeof(attn_push),
                               .n_spec = 2, .spec = {LANES, (uint32_t)d}};
    /* Sequence s, token j sits at plane position s * seq_first + j * step. */
    int cols = axis == MD_ATTN_COLUMNS;
    int t = cols ? y->h : plane, seqs = cols ? y->w : 1;
    attn_push pc = {y->n * heads * plane, c, heads, t, seqs, cols ? 1 : 0, cols ? y->w : 1, plane,
                    1.0f / sqrtf((float)d)};
    uint64_t flops = 4ull * (uint64_t)y->n * (uint64_t)c * (uint64_t)plane * (uint64_t)t;
    return record(nn, &desc, b, &pc, stride_groups(nn, (uint64_t)pc.count, LANES), 1, 1, flops, "attention");
}
