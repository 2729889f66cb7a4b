/* The md_nn handle: backend choice, tensor storage, sync and replay. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/half.h"
#include "nn/nn_internal.h"

md_status md_nn_create_cpu(md_ctx *ctx, md_nn **out)
{
    md_nn *nn = calloc(1, sizeof *nn);
    if (!nn) return md_fail(ctx, MD_ERR_NOMEM, "nn: out of memory creating the CPU backend");
    nn->ctx = ctx;
    *out = nn;
    return MD_OK;
}

md_status md_nn_create_gpu(md_gpu *gpu, md_nn **out)
{
    md_ctx *ctx = md_gpu_ctx(gpu);
    md_nn *nn = calloc(1, sizeof *nn);
    if (!nn) return md_fail(ctx, MD_ERR_NOMEM, "nn: out of memory creating the GPU backend");
    nn->ctx = ctx;
    nn->gpu = gpu;
    md_status s = md_gpu_buffer_create(gpu, 16, MD_GPU_BUFFER_DEVICE, &nn->dummy);
    if (s == MD_OK) s = md_gpu_buffer_zero(nn->dummy, 0, 16);
    if (s != MD_OK) {
        md_gpu_buffer_destroy(nn->dummy);
        free(nn);
        return s;
    }
    *out = nn;
    return MD_OK;
}

void md_nn_destroy(md_nn *nn)
{
    if (!nn) return;
    md_gpu_cmd_destroy(nn->cmd);
    md_gpu_buffer_destroy(nn->dummy);
    free(nn);
}

int md_nn_on_gpu(const md_nn *nn) { return nn->gpu != NULL; }
md_ctx *md_nn_ctx(const md_nn *nn) { return nn->ctx; }
md_gpu *md_nn_gpu(const md_nn *nn) { return nn->gpu; }

void md_nn_set_conv_style(md_nn *nn, md_nn_conv_style style) { nn->style = style; }

md_nn_conv_style md_nn_conv_style_resolved(const md_nn *nn)
{
    if (!nn->gpu) return MD_NN_CONV_REG;
    if (nn->style != MD_NN_CONV_AUTO) return nn->style;
    return md_gpu_get_caps(nn->gpu)->prefer_shared_memory_tiling ? MD_NN_CONV_TILED : MD_NN_CONV_REG;
}

const char *md_nn_conv_style_name(md_nn_conv_style style)
{
    switch (style) {
    case MD_NN_CONV_REG: return "reg";
    case MD_NN_CONV_TILED: return "tiled";
    case MD_NN_CONV_AUTO: break;
    }
    return "auto";
}

void md_nn_set_precision(md_nn *nn, md_nn_precision precision) { nn->precision = precision; }

void md_nn_set_cpu_fast(md_nn *nn, int on) { nn->cpu_fast = on; }

void md_nn_set_group_norm_slices(md_nn *nn, int slices) { nn->gn_slices = slices > 0 ? slices : 0; }

md_nn_precision md_nn_precision_resolved(const md_nn *nn)
{
    if (!nn->gpu || nn->precision == MD_NN_PRECISION_FP32) return MD_NN_PRECISION_FP32;
    const md_gpu_caps *caps = md_gpu_get_caps(nn->gpu);
    /* Without 16-bit storage (or with it turned off by a quirk or
     * $MELODIFF_GPU_DISABLE) fp16 weights fall back to fp32, never fail. */
    if (!caps->features.fp16_storage) return MD_NN_PRECISION_FP32;
    if (nn->precision == MD_NN_PRECISION_FP16_WEIGHTS) return MD_NN_PRECISION_FP16_WEIGHTS;
    /* AUTO: GPUs are bandwidth-bound on weights, so halving them is the
     * point. On CPU devices (lavapipe) a U-Net pass measured only 1-2% less
     * CPU time with fp16 weights (docs/ops.md): not worth moving every render
     * ~1e-3 away from the fp32 reference, so keep fp32 there. */
    return caps->type == MD_GPU_DEVICE_CPU ? MD_NN_PRECISION_FP32 : MD_NN_PRECISION_FP16_WEIGHTS;
}

const char *md_nn_precision_name(md_nn_precision precision)
{
    switch (precision) {
    case MD_NN_PRECISION_FP32: return "fp32";
    case MD_NN_PRECISION_FP16_WEIGHTS: return "fp16";
    case MD_NN_PRECISION_AUTO: break;
    }
    return "auto";
}

md_status md_nn_precision_parse(md_ctx *ctx, const char *text, md_nn_precision *out)
{
    static const md_nn_precision all[] = {MD_NN_PRECISION_AUTO, MD_NN_PRECISION_FP32,
                                          MD_NN_PRECISION_FP16_WEIGHTS};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (text && strcmp(text, md_nn_precision_name(all[i])) == 0) {
            *out = all[i];
            return MD_OK;
        }
    return md_fail(ctx, MD_ERR_USAGE, "unknown precision '%s' (expected auto, fp32 or fp16)", text ? text : "");
}

const char *md_nn_last_kernel(const md_nn *nn) { return nn->last_kernel; }

void md_nn_set_label(md_nn *nn, const char *label)
{
    /* Leaves room for " <kernel>" in the profiler's 64-byte row names. */
    snprintf(nn->label, 48, "%s", label ? label : "");
}

static md_status tensor_alloc(md_nn *nn, md_tensor *t, int n, int c, int h, int w, md_dtype dtype)
{
    memset(t, 0, sizeof *t);
    if (n <= 0 || c <= 0 || h <= 0 || w <= 0)
        return md_fail(nn->ctx, MD_ERR_USAGE, "nn: tensor shape %dx%dx%dx%d has an empty axis", n, c, h, w);
    uint64_t count = (uint64_t)n * (uint64_t)c * (uint64_t)h * (uint64_t)w;
    uint64_t bytes = count * md_dtype_size(dtype);
    /* Shaders index with 32-bit signed integers. */
    if (count > (uint64_t)INT32_MAX)
        return md_fail(nn->ctx, MD_ERR_LIMIT, "nn: tensor %dx%dx%dx%d has %llu elements, more than 2^31-1",
                       n, c, h, w, (unsigned long long)count);
    if (nn->gpu) {
        uint64_t range = md_gpu_get_caps(nn->gpu)->limits.max_storage_buffer_range;
        if (bytes > range)
            return md_fail(nn->ctx, MD_ERR_LIMIT,
                           "nn: tensor %dx%dx%dx%d needs %llu bytes, more than the device's largest "
                           "storage binding (%llu bytes); use a smaller batch or segment",
                           n, c, h, w, (unsigned long long)bytes, (unsigned long long)range);
        md_gpu_buffer *buf = NULL;
        md_status s = md_gpu_buffer_create(nn->gpu, bytes, MD_GPU_BUFFER_DEVICE, &buf);
        if (s != MD_OK) return s;
        t->dev = buf;
    } else {
        if (bytes > SIZE_MAX) return md_fail(nn->ctx, MD_ERR_LIMIT, "nn: tensor too large for this host");
        t->host = malloc((size_t)bytes);
        if (!t->host)
            return md_fail(nn->ctx, MD_ERR_NOMEM, "nn: out of memory for a %dx%dx%dx%d tensor", n, c, h, w);
    }
    t->dtype = dtype;
    t->n = n;
    t->c = c;
    t->h = h;
    t->w = w;
    return MD_OK;
}

md_status md_nn_tensor_alloc(md_nn *nn, md_tensor *t, int n, int c, int h, int w)
{
    return tensor_alloc(nn, t, n, c, h, w, MD_DTYPE_F32);
}

md_status md_nn_weight_alloc(md_nn *nn, md_tensor *t, int n, int c, int h, int w)
{
    int f16 = md_nn_precision_resolved(nn) == MD_NN_PRECISION_FP16_WEIGHTS;
    return tensor_alloc(nn, t, n, c, h, w, f16 ? MD_DTYPE_F16 : MD_DTYPE_F32);
}

void md_nn_tensor_free(md_nn *nn, md_tensor *t)
{
    if (!t) return;
    if (t->dev) {
        /* Recorded work may still read this buffer: run it before the free. */
        if (nn->cmd && md_nn_sync(nn) != MD_OK)
            md_log(nn->ctx, MD_LOG_WARN, "nn: pending GPU work failed while freeing a tensor: %s",
                   md_ctx_error(nn->ctx));
        md_gpu_buffer_destroy(t->dev);
    }
    free(t->host);
    memset(t, 0, sizeof *t);
}

static md_status check_owned(md_nn *nn, const md_tensor *t, const char *what)
{
    if (nn->gpu ? !t->dev : !t->host)
        return md_fail(nn->ctx, MD_ERR_USAGE, "nn: %s tensor is not allocated on the %s backend", what,
                       nn->gpu ? "GPU" : "CPU");
    return MD_OK;
}

md_status md_nn_upload(md_nn *nn, md_tensor *t, const float *src)
{
    md_status s = check_owned(nn, t, "upload");
    if (s != MD_OK) return s;
    if (!nn->gpu) {
        memcpy(t->host, src, md_tensor_bytes(t));
        return MD_OK;
    }
    s = md_nn_sync(nn);
    if (s != MD_OK) return s;
    if (t->dtype == MD_DTYPE_F32) return md_gpu_buffer_upload(t->dev, 0, src, md_tensor_bytes(t));
    uint16_t *half = malloc(md_tensor_bytes(t));
    if (!half) return md_fail(nn->ctx, MD_ERR_NOMEM, "nn: out of memory converting a weight to float16");
    md_f32_to_f16_n(src, half, md_tensor_numel(t));
    s = md_gpu_buffer_upload(t->dev, 0, half, md_tensor_bytes(t));
    free(half);
    return s;
}

md_status md_nn_download(md_nn *nn, const md_tensor *t, float *dst)
{
    md_status s = check_owned(nn, t, "download");
    if (s != MD_OK) return s;
    if (!nn->gpu) {
        memcpy(dst, t->host, md_tensor_bytes(t));
        return MD_OK;
    }
    s = md_nn_sync(nn);
    if (s != MD_OK) return s;
    if (t->dtype == MD_DTYPE_F32) return md_gpu_buffer_download(t->dev, 0, dst, md_tensor_bytes(t));
    uint16_t *half = malloc(md_tensor_bytes(t));
    if (!half) return md_fail(nn->ctx, MD_ERR_NOMEM, "nn: out of memory converting a weight from float16");
    s = md_gpu_buffer_download(t->dev, 0, half, md_tensor_bytes(t));
    if (s == MD_OK) md_f16_to_f32_n(half, dst, md_tensor_numel(t));
    free(half);
    return s;
}

md_status md_nn_take_commands(md_nn *nn, md_gpu_cmd **out)
{
    *out = NULL;
    if (!nn->gpu) return md_fail(nn->ctx, MD_ERR_USAGE, "nn: the CPU backend records no commands");
    if (!nn->cmd) return MD_OK;
    md_gpu_cmd *cmd = nn->cmd;
    nn->cmd = NULL;
    md_status s = md_gpu_cmd_end(cmd);
    if (s != MD_OK) {
        md_gpu_cmd_destroy(cmd);
        return s;
    }
    *out = cmd;
    return MD_OK;
}

void md_nn_discard(md_nn *nn)
{
    md_gpu_cmd_destroy(nn->cmd);
    nn->cmd = NULL;
}

md_status md_nn_sync(md_nn *nn)
{
    if (!nn->gpu || !nn->cmd) return MD_OK;
    md_gpu_cmd *cmd = NULL;
    md_status s = md_nn_take_commands(nn, &cmd);
    if (s == MD_OK && cmd) s = md_gpu_cmd_run(cmd);
    md_gpu_cmd_destroy(cmd);
    return s;
}
