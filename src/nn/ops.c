/* The op API: checks every operand once, then runs the op on the handle's
 * backend (the CPU reference or the GPU recorder). Checking here, not in the
 * backends, keeps both backends' error behaviour identical. */
#include <stdlib.h>

#include "nn/nn_internal.h"
#include "nn/fast/fast.h"
#include "nn/ref/ref.h"

#define SHAPE_FMT "%dx%dx%dx%d"
#define SHAPE_ARGS(t) (t)->n, (t)->c, (t)->h, (t)->w

/* A weight operand of conv2d/linear: float32 or float16 storage. */
static md_status need_weight(md_nn *nn, const char *op, const char *what, const md_tensor *t)
{
    if (!t) return md_fail(nn->ctx, MD_ERR_USAGE, "%s: %s tensor is missing", op, what);
    if (nn->gpu ? !t->dev : !t->host)
        return md_fail(nn->ctx, MD_ERR_USAGE, "%s: %s tensor is not allocated on the %s backend", op, what,
                       nn->gpu ? "GPU" : "CPU");
    return MD_OK;
}

/* Any other operand: float32 only (float16 is a weight storage format). */
static md_status need(md_nn *nn, const char *op, const char *what, const md_tensor *t)
{
    md_status s = need_weight(nn, op, what, t);
    if (s == MD_OK && t->dtype != MD_DTYPE_F32)
        return md_fail(nn->ctx, MD_ERR_USAGE, "%s: %s tensor is float16; only conv2d/linear weights may be",
                       op, what);
    return s;
}

static md_status check_shape(md_nn *nn, const char *op, const char *what, const md_tensor *t, int n,
                             int c, int h, int w)
{
    if (t->n != n || t->c != c || t->h != h || t->w != w)
        return md_fail(nn->ctx, MD_ERR_USAGE, "%s: %s is " SHAPE_FMT ", expected %dx%dx%dx%d", op, what,
                       SHAPE_ARGS(t), n, c, h, w);
    return MD_OK;
}

static md_status need_shape(md_nn *nn, const char *op, const char *what, const md_tensor *t, int n,
                            int c, int h, int w)
{
    md_status s = need(nn, op, what, t);
    return s == MD_OK ? check_shape(nn, op, what, t, n, c, h, w) : s;
}

static md_status need_weight_shape(md_nn *nn, const char *op, const char *what, const md_tensor *t, int n,
                                   int c, int h, int w)
{
    md_status s = need_weight(nn, op, what, t);
    return s == MD_OK ? check_shape(nn, op, what, t, n, c, h, w) : s;
}

/* An optional operand: absent is fine, present must have the shape. */
static md_status opt_shape(md_nn *nn, const char *op, const char *what, const md_tensor *t, int n,
                           int c, int h, int w)
{
    return t ? need_shape(nn, op, what, t, n, c, h, w) : MD_OK;
}

static int same_storage(const md_tensor *a, const md_tensor *b)
{
    if (!a || !b) return 0;
    return (a->host && a->host == b->host) || (a->dev && a->dev == b->dev);
}

static md_status no_alias(md_nn *nn, const char *op, const md_tensor *y, const md_tensor *in,
                          const char *what)
{
    if (same_storage(y, in))
        return md_fail(nn->ctx, MD_ERR_USAGE, "%s: the output shares storage with the %s", op, what);
    return MD_OK;
}

static int act_known(md_act act) { return act >= MD_ACT_NONE && act <= MD_ACT_TANH; }

#define TRY(expr) do { md_status try_s_ = (expr); if (try_s_ != MD_OK) return try_s_; } while (0)

/* The checks of conv2d, shared with conv2d_cat (x is then the virtual
 * concatenated input). */
static md_status conv2d_check(md_nn *nn, const char *op, const md_tensor *x, const md_tensor *w,
                              const md_tensor *bias, const md_tensor *film, const md_tensor *res,
                              const md_conv_params *p, const md_tensor *y)
{
    TRY(need(nn, op, "input", x));
    TRY(need_weight(nn, op, "weight", w));
    if (w->c != x->c)
        return md_fail(nn->ctx, MD_ERR_USAGE, "%s: weight is " SHAPE_FMT " but the input has %d channels",
                       op, SHAPE_ARGS(w), x->c);
    if (p->stride_h < 1 || p->stride_w < 1 || p->pad_h < 0 || p->pad_w < 0 || !act_known(p->ep.act))
        return md_fail(nn->ctx, MD_ERR_USAGE, "%s: bad parameters (stride %dx%d, padding %dx%d, act %d)", op,
                       p->stride_h, p->stride_w, p->pad_h, p->pad_w, (int)p->ep.act);
    int oh = md_conv_out_size(x->h, w->h, p->stride_h, p->pad_h);
    int ow = md_conv_out_size(x->w, w->w, p->stride_w, p->pad_w);
    if (oh <= 0 || ow <= 0)
        return md_fail(nn->ctx, MD_ERR_USAGE, "%s: kernel %dx%d does not fit the padded %dx%d input", op,
                       w->h, w->w, x->h + 2 * p->pad_h, x->w + 2 * p->pad_w);
    TRY(need_shape(nn, op, "output", y, x->n, w->n, oh, ow));
    TRY(opt_shape(nn, op, "bias", bias, 1, w->n, 1, 1));
    TRY(opt_shape(nn, op, "FiLM", film, x->n, 2 * w->n, 1, 1));
    TRY(opt_shape(nn, op, "residual", res, x->n, w->n, oh, ow));
    TRY(no_alias(nn, op, y, x, "input"));
    TRY(no_alias(nn, op, y, res, "residual"));
    return MD_OK;
}

md_status md_nn_conv2d(md_nn *nn, const md_tensor *x, const md_tensor *w, const md_tensor *bias,
                       const md_tensor *film, const md_tensor *res, const md_conv_params *p,
                       md_tensor *y)
{
    TRY(conv2d_check(nn, "conv2d", x, w, bias, film, res, p, y));
    if (nn->gpu) return md_nn_gpu_conv2d(nn, x, NULL, w, bias, film, res, p, y);
    if (nn->cpu_fast) return md_fast_conv2d(nn->ctx, x, NULL, w, bias, film, res, p, y);
    md_ref_conv2d(x, w, bias, film, res, p, y);
    return MD_OK;
}

/* The two inputs of a *_cat op: same N, H, W; *xv is their concatenation's
 * shape (with a's storage, for the checks). */
static md_status cat_inputs(md_nn *nn, const char *op, const md_tensor *a, const md_tensor *b, md_tensor *xv)
{
    TRY(need(nn, op, "first input", a));
    TRY(need(nn, op, "second input", b));
    if (a->n != b->n || a->h != b->h || a->w != b->w)
        return md_fail(nn->ctx, MD_ERR_USAGE, "%s: " SHAPE_FMT " and " SHAPE_FMT " differ outside the channel axis",
                       op, SHAPE_ARGS(a), SHAPE_ARGS(b));
    *xv = *a;
    xv->c = a->c + b->c;
    return MD_OK;
}

/* CPU: the reference of a *_cat op is the plain op on the concatenation,
 * built here in a scratch tensor. */
static md_status cpu_concat(md_nn *nn, const char *op, const md_tensor *a, const md_tensor *b, md_tensor *cat)
{
    *cat = *a;
    cat->c = a->c + b->c;
    cat->host = malloc(md_tensor_numel(cat) * sizeof *cat->host);
    if (!cat->host)
        return md_fail(nn->ctx, MD_ERR_NOMEM, "%s: out of memory for a " SHAPE_FMT " concatenation", op,
                       SHAPE_ARGS(cat));
    md_ref_concat(a, b, cat);
    return MD_OK;
}

md_status md_nn_conv2d_cat(md_nn *nn, const md_tensor *a, const md_tensor *b, const md_tensor *w,
                           const md_tensor *bias, const md_tensor *film, const md_tensor *res,
                           const md_conv_params *p, md_tensor *y)
{
    const char *op = "conv2d_cat";
    md_tensor xv;
    TRY(cat_inputs(nn, op, a, b, &xv));
    TRY(conv2d_check(nn, op, &xv, w, bias, film, res, p, y));
    TRY(no_alias(nn, op, y, b, "second input"));
    if (nn->gpu) return md_nn_gpu_conv2d(nn, a, b, w, bias, film, res, p, y);
    if (nn->cpu_fast) return md_fast_conv2d(nn->ctx, a, b, w, bias, film, res, p, y);
    md_tensor cat;
    TRY(cpu_concat(nn, op, a, b, &cat));
    md_ref_conv2d(&cat, w, bias, film, res, p, y);
    free(cat.host);
    return MD_OK;
}

md_status md_nn_conv2d_up2(md_nn *nn, const md_tensor *x, const md_tensor *w, const md_tensor *bias,
                           const md_tensor *film, const md_tensor *res, const md_epilogue *ep,
                           md_tensor *y)
{
    const char *op = "conv2d_up2";
    TRY(need(nn, op, "input", x));
    TRY(need_weight(nn, op, "weight", w));
    if (w->c != x->c || w->h != 2 || w->w != 2 || w->n % 4 != 0)
        return md_fail(nn->ctx, MD_ERR_USAGE, "%s: weight is " SHAPE_FMT ", expected 4Cout x %d x 2 x 2", op,
                       SHAPE_ARGS(w), x->c);
    if (!act_known(ep->act)) return md_fail(nn->ctx, MD_ERR_USAGE, "%s: unknown activation %d", op, (int)ep->act);
    int cout = w->n / 4;
    TRY(need_shape(nn, op, "output", y, x->n, cout, 2 * x->h, 2 * x->w));
    TRY(opt_shape(nn, op, "bias", bias, 1, cout, 1, 1));
    TRY(opt_shape(nn, op, "FiLM", film, x->n, 2 * cout, 1, 1));
    TRY(opt_shape(nn, op, "residual", res, x->n, cout, y->h, y->w));
    TRY(no_alias(nn, op, y, x, "input"));
    TRY(no_alias(nn, op, y, res, "residual"));
    if (nn->gpu) return md_nn_gpu_conv2d_up2(nn, x, w, bias, film, res, ep, y);
    if (nn->cpu_fast) return md_fast_conv2d_up2(nn->ctx, x, w, bias, film, res, ep, y);
    float *plane = malloc((size_t)x->h * (size_t)x->w * sizeof *plane);
    if (!plane) return md_fail(nn->ctx, MD_ERR_NOMEM, "%s: out of memory for a %dx%d plane", op, x->h, x->w);
    md_ref_conv2d_up2(x, w, bias, film, res, ep, plane, y);
    free(plane);
    return MD_OK;
}

void md_nn_up2_weights(const float *w3, int cout, int cin, float *wp) { md_ref_up2_weights(w3, cout, cin, wp); }

md_status md_nn_conv1d(md_nn *nn, const md_tensor *x, const md_tensor *w, const md_tensor *bias,
                       int stride, int pad, md_act act, md_tensor *y)
{
    TRY(need(nn, "conv1d", "input", x));
    TRY(need_weight(nn, "conv1d", "weight", w));
    if (x->h != 1 || w->h != 1)
        return md_fail(nn->ctx, MD_ERR_USAGE, "conv1d: input " SHAPE_FMT " and weight " SHAPE_FMT
                       " must both have H = 1", SHAPE_ARGS(x), SHAPE_ARGS(w));
    md_conv_params p = {.stride_h = 1, .stride_w = stride, .pad_h = 0, .pad_w = pad,
                        .ep = {.act = act, .slope = 0.01f, .film_offset = 0.0f}};
    return md_nn_conv2d(nn, x, w, bias, NULL, NULL, &p, y);
}

md_status md_nn_conv_transpose2d(md_nn *nn, const md_tensor *x, const md_tensor *w,
                                 const md_tensor *bias, const md_convt_params *p, md_tensor *y)
{
    const char *op = "conv_transpose2d";
    TRY(need(nn, op, "input", x));
    TRY(need(nn, op, "weight", w));
    if (w->n != x->c)
        return md_fail(nn->ctx, MD_ERR_USAGE, "%s: weight is " SHAPE_FMT " but the input has %d channels",
                       op, SHAPE_ARGS(w), x->c);
    if (p->stride_h < 1 || p->stride_w < 1 || p->pad_h < 0 || p->pad_w < 0)
        return md_fail(nn->ctx, MD_ERR_USAGE, "%s: bad stride %dx%d or padding %dx%d", op, p->stride_h,
                       p->stride_w, p->pad_h, p->pad_w);
    int oh = md_convt_out_size(x->h, w->h, p->stride_h, p->pad_h);
    int ow = md_convt_out_size(x->w, w->w, p->stride_w, p->pad_w);
    if (oh <= 0 || ow <= 0)
        return md_fail(nn->ctx, MD_ERR_USAGE, "%s: padding %dx%d leaves no output", op, p->pad_h, p->pad_w);
    TRY(need_shape(nn, op, "output", y, x->n, w->c, oh, ow));
    TRY(opt_shape(nn, op, "bias", bias, 1, w->c, 1, 1));
    TRY(no_alias(nn, op, y, x, "input"));
    if (nn->gpu) return md_nn_gpu_conv_transpose2d(nn, x, w, bias, p, y);
    md_ref_conv_transpose2d(x, w, bias, p, y);
    return MD_OK;
}

md_status md_nn_upsample_nearest2x(md_nn *nn, const md_tensor *x, md_tensor *y)
{
    const char *op = "upsample_nearest2x";
    TRY(need(nn, op, "input", x));
    TRY(need_shape(nn, op, "output", y, x->n, x->c, 2 * x->h, 2 * x->w));
    TRY(no_alias(nn, op, y, x, "input"));
    if (nn->gpu) return md_nn_gpu_upsample_nearest2x(nn, x, y);
    md_ref_upsample_nearest2x(x, y);
    return MD_OK;
}

md_status md_nn_avgpool2x2(md_nn *nn, const md_tensor *x, md_tensor *y)
{
    const char *op = "avgpool2x2";
    TRY(need(nn, op, "input", x));
    if (x->h < 2 || x->w < 2)
        return md_fail(nn->ctx, MD_ERR_USAGE, "%s: input " SHAPE_FMT " is smaller than the 2x2 window", op,
                       SHAPE_ARGS(x));
    TRY(need_shape(nn, op, "output", y, x->n, x->c, x->h / 2, x->w / 2));
    TRY(no_alias(nn, op, y, x, "input"));
    if (nn->gpu) return md_nn_gpu_avgpool2x2(nn, x, y);
    md_ref_avgpool2x2(x, y);
    return MD_OK;
}

static md_status group_norm_check(md_nn *nn, const char *op, const md_tensor *x, const md_tensor *gamma,
                                  const md_tensor *beta, const md_tensor *film, const md_norm_params *p,
                                  const md_tensor *y)
{
    TRY(need(nn, op, "input", x));
    if (p->groups < 1 || x->c % p->groups != 0 || !(p->eps > 0.0f) || !act_known(p->ep.act))
        return md_fail(nn->ctx, MD_ERR_USAGE, "%s: %d channels do not split into %d groups (eps %g, act %d)",
                       op, x->c, p->groups, (double)p->eps, (int)p->ep.act);
    TRY(need_shape(nn, op, "output", y, x->n, x->c, x->h, x->w));
    TRY(opt_shape(nn, op, "gamma", gamma, 1, x->c, 1, 1));
    TRY(opt_shape(nn, op, "beta", beta, 1, x->c, 1, 1));
    TRY(opt_shape(nn, op, "FiLM", film, x->n, 2 * x->c, 1, 1));
    TRY(no_alias(nn, op, y, x, "input"));
    return MD_OK;
}

md_status md_nn_group_norm(md_nn *nn, const md_tensor *x, const md_tensor *gamma,
                           const md_tensor *beta, const md_tensor *film, const md_norm_params *p,
                           md_tensor *y)
{
    TRY(group_norm_check(nn, "group_norm", x, gamma, beta, film, p, y));
    if (nn->gpu) return md_nn_gpu_group_norm(nn, x, NULL, gamma, beta, film, p, y);
    if (nn->cpu_fast && p->per_frame) return md_fast_group_norm(nn->ctx, x, NULL, gamma, beta, film, p, y);
    md_ref_group_norm(x, gamma, beta, film, p, y);
    return MD_OK;
}

md_status md_nn_group_norm_cat(md_nn *nn, const md_tensor *a, const md_tensor *b, const md_tensor *gamma,
                               const md_tensor *beta, const md_tensor *film, const md_norm_params *p,
                               md_tensor *y)
{
    const char *op = "group_norm_cat";
    md_tensor xv;
    TRY(cat_inputs(nn, op, a, b, &xv));
    TRY(group_norm_check(nn, op, &xv, gamma, beta, film, p, y));
    TRY(no_alias(nn, op, y, b, "second input"));
    if (nn->gpu) return md_nn_gpu_group_norm(nn, a, b, gamma, beta, film, p, y);
    if (nn->cpu_fast && p->per_frame) return md_fast_group_norm(nn->ctx, a, b, gamma, beta, film, p, y);
    md_tensor cat;
    TRY(cpu_concat(nn, op, a, b, &cat));
    md_ref_group_norm(&cat, gamma, beta, film, p, y);
    free(cat.host);
    return MD_OK;
}

md_status md_nn_layer_norm(md_nn *nn, const md_tensor *x, const md_tensor *gamma,
                           const md_tensor *beta, float eps, md_tensor *y)
{
    const char *op = "layer_norm";
    TRY(need(nn, op, "input", x));
    if (!(eps > 0.0f)) return md_fail(nn->ctx, MD_ERR_USAGE, "%s: eps must be positive", op);
    TRY(need_shape(nn, op, "output", y, x->n, x->c, x->h, x->w));
    TRY(opt_shape(nn, op, "gamma", gamma, 1, 1, 1, x->w));
    TRY(opt_shape(nn, op, "beta", beta, 1, 1, 1, x->w));
    TRY(no_alias(nn, op, y, x, "input"));
    if (nn->gpu) return md_nn_gpu_layer_norm(nn, x, gamma, beta, eps, y);
    md_ref_layer_norm(x, gamma, beta, eps, y);
    return MD_OK;
}

md_status md_nn_act(md_nn *nn, const md_tensor *x, md_act act, float slope, md_tensor *y)
{
    TRY(need(nn, "act", "input", x));
    if (!act_known(act)) return md_fail(nn->ctx, MD_ERR_USAGE, "act: unknown activation %d", (int)act);
    TRY(need_shape(nn, "act", "output", y, x->n, x->c, x->h, x->w));
    if (nn->gpu) return md_nn_gpu_act(nn, x, act, slope, y);
    md_ref_act(x, act, slope, y);
    return MD_OK;
}

md_status md_nn_film(md_nn *nn, const md_tensor *x, const md_tensor *film, float film_offset,
                     md_tensor *y)
{
    TRY(need(nn, "film", "input", x));
    TRY(need_shape(nn, "film", "FiLM", film, x->n, 2 * x->c, 1, 1));
    TRY(need_shape(nn, "film", "output", y, x->n, x->c, x->h, x->w));
    if (nn->gpu) return md_nn_gpu_film(nn, x, film, film_offset, y);
    md_ref_film(x, film, film_offset, y);
    return MD_OK;
}

md_status md_nn_add(md_nn *nn, const md_tensor *a, const md_tensor *b, md_tensor *y)
{
    TRY(need(nn, "add", "first", a));
    TRY(need_shape(nn, "add", "second operand", b, a->n, a->c, a->h, a->w));
    TRY(need_shape(nn, "add", "output", y, a->n, a->c, a->h, a->w));
    if (nn->gpu) return md_nn_gpu_add(nn, a, b, y);
    md_ref_add(a, b, y);
    return MD_OK;
}

md_status md_nn_concat(md_nn *nn, const md_tensor *a, const md_tensor *b, md_tensor *y)
{
    const char *op = "concat";
    TRY(need(nn, op, "first", a));
    TRY(need(nn, op, "second", b));
    if (a->n != b->n || a->h != b->h || a->w != b->w)
        return md_fail(nn->ctx, MD_ERR_USAGE, "%s: " SHAPE_FMT " and " SHAPE_FMT " differ outside the channel axis",
                       op, SHAPE_ARGS(a), SHAPE_ARGS(b));
    TRY(need_shape(nn, op, "output", y, a->n, a->c + b->c, a->h, a->w));
    TRY(no_alias(nn, op, y, a, "first input"));
    TRY(no_alias(nn, op, y, b, "second input"));
    if (nn->gpu) return md_nn_gpu_concat(nn, a, b, y);
    md_ref_concat(a, b, y);
    return MD_OK;
}

md_status md_nn_softmax(md_nn *nn, const md_tensor *x, md_tensor *y)
{
    TRY(need(nn, "softmax", "input", x));
    TRY(need_shape(nn, "softmax", "output", y, x->n, x->c, x->h, x->w));
    TRY(no_alias(nn, "softmax", y, x, "input"));
    if (nn->gpu) return md_nn_gpu_softmax(nn, x, y);
    md_ref_softmax(x, y);
    return MD_OK;
}

md_status md_nn_linear(md_nn *nn, const md_tensor *x, const md_tensor *w, const md_tensor *bias,
                       md_act act, float slope, md_tensor *y)
{
    const char *op = "linear";
    TRY(need(nn, op, "input", x));
    TRY(need_weight(nn, op, "weight", w));
    if (w->c != x->w || w->h != 1 || w->w != 1)
        return md_fail(nn->ctx, MD_ERR_USAGE, "%s: weight is " SHAPE_FMT ", expected Ox%dx1x1 for %d inputs",
                       op, SHAPE_ARGS(w), x->w, x->w);
    if (!act_known(act)) return md_fail(nn->ctx, MD_ERR_USAGE, "%s: unknown activation %d", op, (int)act);
    TRY(need_shape(nn, op, "output", y, x->n, x->c, x->h, w->n));
    TRY(opt_shape(nn, op, "bias", bias, 1, w->n, 1, 1));
    TRY(no_alias(nn, op, y, x, "input"));
    if (nn->gpu) return md_nn_gpu_linear(nn, x, w, bias, act, slope, y);
    md_ref_linear(x, w, bias, act, slope, y);
    return MD_OK;
}

md_status md_nn_attention_core(md_nn *nn, const md_tensor *qkv, int heads, md_attn_axis axis,
                               md_tensor *y)
{
    const char *op = "attention";
    TRY(need(nn, op, "qkv", qkv));
    if (qkv->c % 3 != 0 || heads < 1 || (qkv->c / 3) % heads != 0)
        return md_fail(nn->ctx, MD_ERR_USAGE, "%s: qkv has %d channels, not 3 x a multiple of %d heads", op,
                       qkv->c, heads);
    int c = qkv->c / 3;
    if (c / heads > MD_NN_MAX_HEAD_DIM)
        return md_fail(nn->ctx, MD_ERR_LIMIT, "%s: head dimension %d exceeds the supported %d", op,
                       c / heads, MD_NN_MAX_HEAD_DIM);
    if (axis != MD_ATTN_ALL && axis != MD_ATTN_COLUMNS)
        return md_fail(nn->ctx, MD_ERR_USAGE, "%s: unknown axis %d", op, (int)axis);
    TRY(need_shape(nn, op, "output", y, qkv->n, c, qkv->h, qkv->w));
    TRY(no_alias(nn, op, y, qkv, "qkv"));
    if (nn->gpu) return md_nn_gpu_attention_core(nn, qkv, heads, axis, y);
    float *scratch = malloc((size_t)qkv->h * (size_t)qkv->w * sizeof *scratch);
    if (!scratch)
        return md_fail(nn->ctx, MD_ERR_NOMEM, "%s: out of memory for a %d-token score row", op, qkv->h * qkv->w);
    md_ref_attention(qkv, heads, axis, scratch, y);
    free(scratch);
    return MD_OK;
}

md_status md_nn_attention(md_nn *nn, const md_tensor *x, const md_tensor *wqkv,
                          const md_tensor *bqkv, const md_tensor *wo, const md_tensor *bo,
                          int heads, md_attn_axis axis, const md_tensor *res, md_tensor *qkv_tmp,
                          md_tensor *a_tmp, md_tensor *y)
{
    TRY(need(nn, "attention", "input", x));
    int c = x->c;
    TRY(need_weight_shape(nn, "attention", "qkv weight", wqkv, 3 * c, c, 1, 1));
    TRY(need_weight_shape(nn, "attention", "output weight", wo, c, c, 1, 1));
    md_conv_params pw = {.stride_h = 1, .stride_w = 1, .ep = {.act = MD_ACT_NONE}};
    TRY(md_nn_conv2d(nn, x, wqkv, bqkv, NULL, NULL, &pw, qkv_tmp));
    TRY(md_nn_attention_core(nn, qkv_tmp, heads, axis, a_tmp));
    return md_nn_conv2d(nn, a_tmp, wo, bo, NULL, res, &pw, y);
}
