/* The U-Net behind the renderer's md_denoiser interface. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "gpu/gpu.h"
#include "nn/unet_denoiser.h"
#include "nn/unet.h"

#define EMB_MAX 8192 /* embedding width the stack buffers hold */

typedef struct unet_den {
    md_gpu *gpu; /* owned; NULL on the CPU backend */
    md_nn *nn;
    md_unet *u;
    size_t cap_frames; /* frames the buffers below hold; input and v hold cap_slots items */
    int cap_slots;
    float *x, *harm, *roll, *onset, *input, *v, *emb; /* emb: cap_slots embeddings */
} unet_den;

void md_unet_denoiser_opts_init(md_unet_denoiser_opts *o)
{
    memset(o, 0, sizeof *o);
    o->backend = "auto";
    o->device_index = -1;
    o->validation = -1;
}

static void den_free_buffers(unet_den *d)
{
    free(d->x);
    free(d->harm);
    free(d->roll);
    free(d->onset);
    free(d->input);
    free(d->v);
    free(d->emb);
    d->x = d->harm = d->roll = d->onset = d->input = d->v = d->emb = NULL;
    d->cap_frames = 0;
    d->cap_slots = 0;
}

static void den_destroy(void *impl)
{
    unet_den *d = impl;
    if (!d) return;
    den_free_buffers(d);
    md_unet_destroy(d->u);
    md_nn_destroy(d->nn);
    md_gpu_destroy(d->gpu);
    free(d);
}

static md_status den_reserve(unet_den *d, md_ctx *ctx, size_t frames, int slots)
{
    if (frames <= d->cap_frames && slots <= d->cap_slots) return MD_OK;
    if (frames < d->cap_frames) frames = d->cap_frames; /* grow, never shrink */
    if (slots < d->cap_slots) slots = d->cap_slots;
    den_free_buffers(d);
    const md_unet_config *c = md_unet_get_config(d->u);
    size_t mel = (size_t)c->n_mels * frames, keys = (size_t)c->n_pitches * frames;
    d->x = malloc(mel * sizeof *d->x);
    d->harm = malloc(mel * sizeof *d->harm);
    d->roll = malloc(keys * sizeof *d->roll);
    d->onset = malloc(keys * sizeof *d->onset);
    d->input = malloc((size_t)slots * c->in_channels * mel * sizeof *d->input);
    d->v = malloc((size_t)slots * c->out_channels * mel * sizeof *d->v);
    d->emb = malloc((size_t)slots * c->emb_dim * sizeof *d->emb);
    if (!d->x || !d->harm || !d->roll || !d->onset || !d->input || !d->v || !d->emb) {
        den_free_buffers(d);
        return md_fail(ctx, MD_ERR_NOMEM, "U-Net: out of memory for a %zu-frame segment", frames);
    }
    d->cap_frames = frames;
    d->cap_slots = slots;
    return MD_OK;
}

/* Copies a rows x frames plane into rows x padded, filling the tail. */
static void pad_plane(const float *src, int rows, size_t frames, size_t padded, float fill, float *dst)
{
    for (int r = 0; r < rows; r++) {
        memcpy(&dst[(size_t)r * padded], &src[(size_t)r * frames], frames * sizeof *dst);
        for (size_t t = frames; t < padded; t++) dst[(size_t)r * padded + t] = fill;
    }
}

/* Checks one item of a request and finds its padded length. A segment whose
 * length is not a multiple of the frame multiple is padded at the end -- x
 * with the normalised log floor, conditioning with zeros, as
 * docs/training.md prescribes -- and the output cut back. */
static md_status den_check(unet_den *d, md_ctx *ctx, size_t frames, const md_cond *cond, int conditional,
                           size_t *padded)
{
    const md_unet_config *c = md_unet_get_config(d->u);
    if (frames == 0 || frames > (size_t)1 << 20)
        return md_fail(ctx, MD_ERR_USAGE, "U-Net: segment of %zu frames", frames);
    if (conditional && (!cond || cond->n_frames != frames || cond->n_mels != c->n_mels || !cond->harmonic ||
                        !cond->roll || !cond->onset))
        return md_fail(ctx, MD_ERR_USAGE, "U-Net: conditioning does not match the %zu-frame, %d-mel segment", frames,
                       c->n_mels);
    if (c->emb_dim > EMB_MAX) return md_fail(ctx, MD_ERR_LIMIT, "U-Net: emb_dim %d is too large", c->emb_dim);
    size_t fm = (size_t)c->frame_multiple;
    *padded = (frames + fm - 1) / fm * fm;
    return MD_OK;
}

/* Pads one item's x into d->x (reserved by den_reserve). */
static void den_pad_x(unet_den *d, const float *x, size_t frames, size_t padded)
{
    const md_unet_config *c = md_unet_get_config(d->u);
    const md_mel_contract *mc = md_unet_get_mel_contract(d->u);
    float floor_x = (logf(mc->log_floor) - c->data_mean) / c->data_std;
    pad_plane(x, c->n_mels, frames, padded, floor_x, d->x);
}

/* den_check, den_reserve for `slots` items and den_pad_x of x. */
static md_status den_begin(unet_den *d, md_ctx *ctx, const float *x, size_t frames, const md_cond *cond,
                           int conditional, int slots, size_t *padded)
{
    md_status s = den_check(d, ctx, frames, cond, conditional, padded);
    if (s == MD_OK) s = den_reserve(d, ctx, *padded, slots);
    if (s == MD_OK) den_pad_x(d, x, frames, *padded);
    return s;
}

/* Writes batch item `item` of the network input (x from d->x) and its
 * embedding: conditional with cond, else the unconditional branch (zero
 * conditioning planes and the null instrument id). */
static md_status den_item(unet_den *d, int item, size_t frames, size_t padded, float t, const md_cond *cond,
                          int conditional, float *emb)
{
    const md_unet_config *c = md_unet_get_config(d->u);
    const float *harm = NULL, *roll = NULL, *onset = NULL;
    int instrument = c->n_instruments - 1; /* the null id: unconditional */
    if (conditional) {
        pad_plane(cond->harmonic, c->n_mels, frames, padded, 0.0f, d->harm);
        pad_plane(cond->roll, c->n_pitches, frames, padded, 0.0f, d->roll);
        pad_plane(cond->onset, c->n_pitches, frames, padded, 0.0f, d->onset);
        harm = d->harm;
        roll = d->roll;
        onset = d->onset;
        instrument = cond->instrument;
    }
    size_t in_plane = (size_t)c->in_channels * c->n_mels * padded;
    md_status s = md_unet_input(d->u, 1, (int)padded, d->x, harm, roll, onset, &d->input[item * in_plane]);
    if (s == MD_OK) s = md_unet_embed(d->u, 1, &t, &instrument, &emb[(size_t)item * c->emb_dim]);
    return s;
}

/* Copies item `item` of the n-item output back to frames (cutting the pad). */
static void den_output(const unet_den *d, int item, size_t frames, size_t padded, float *v)
{
    const md_unet_config *c = md_unet_get_config(d->u);
    const float *src = &d->v[(size_t)item * c->out_channels * c->n_mels * padded];
    for (int m = 0; m < c->n_mels; m++) memcpy(&v[(size_t)m * frames], &src[(size_t)m * padded], frames * sizeof *v);
}

static md_status den_predict(void *impl, md_ctx *ctx, const float *x, size_t frames, float t, const md_cond *cond,
                             int conditional, float *v)
{
    unet_den *d = impl;
    size_t padded;
    float emb[EMB_MAX];
    md_status s = den_begin(d, ctx, x, frames, cond, conditional, 1, &padded);
    if (s == MD_OK) s = den_item(d, 0, frames, padded, t, cond, conditional, emb);
    if (s == MD_OK) s = md_unet_forward(d->u, 1, (int)padded, d->input, emb, d->v);
    if (s == MD_OK) den_output(d, 0, frames, padded, v);
    return s;
}

/* `items` segments as one forward of items (or 2 x items, conditional and
 * unconditional interleaved per item) batch slots. Every op of the U-Net
 * works per batch item (group norms over the channels of one item,
 * attention over the mel bins of one frame of one item, per-item FiLM), so
 * each item's v is its batch-1 result up to the rounding of the kernels. */
static md_status den_predict_batch(void *impl, md_ctx *ctx, int items, const float *x, size_t frames, float t,
                                   const md_cond *const *cond, float *v_cond, float *v_uncond)
{
    unet_den *d = impl;
    const md_unet_config *c = md_unet_get_config(d->u);
    int per = v_uncond ? 2 : 1;
    if (items < 1 || items > MD_UNET_DENOISER_MAX_BATCH)
        return md_fail(ctx, MD_ERR_USAGE, "U-Net: a batch of %d segments (1 to %d)", items,
                       MD_UNET_DENOISER_MAX_BATCH);
    size_t padded = 0, plane = (size_t)c->n_mels * frames;
    md_status s = MD_OK;
    for (int b = 0; s == MD_OK && b < items; b++) s = den_check(d, ctx, frames, cond[b], 1, &padded);
    if (s == MD_OK) s = den_reserve(d, ctx, padded, per * items);
    float *emb = d->emb;
    for (int b = 0; s == MD_OK && b < items; b++) {
        den_pad_x(d, x + (size_t)b * plane, frames, padded);
        s = den_item(d, per * b, frames, padded, t, cond[b], 1, emb);
        if (s == MD_OK && per == 2) s = den_item(d, per * b + 1, frames, padded, t, NULL, 0, emb);
    }
    if (s == MD_OK) s = md_unet_forward(d->u, per * items, (int)padded, d->input, emb, d->v);
    for (int b = 0; s == MD_OK && b < items; b++) {
        den_output(d, per * b, frames, padded, v_cond + (size_t)b * plane);
        if (per == 2) den_output(d, per * b + 1, frames, padded, v_uncond + (size_t)b * plane);
    }
    return s;
}

/* Both guided branches of one segment: a batch of one, two slots. */
static md_status den_predict_pair(void *impl, md_ctx *ctx, const float *x, size_t frames, float t,
                                  const md_cond *cond, float *v_cond, float *v_uncond)
{
    return den_predict_batch(impl, ctx, 1, x, frames, t, &cond, v_cond, v_uncond);
}

/* Auto's rule for a device that opened: a CPU implementation (lavapipe) is
 * passed over for the CPU backend, unless a device was named. */
static int auto_skips(md_gpu *gpu)
{
    const md_gpu_caps *c = md_gpu_get_caps(gpu);
    return !c->named && c->type == MD_GPU_DEVICE_CPU;
}

/* The Vulkan backend; with auto, MD_ERR_GPU (and no GPU) means "use the CPU". */
static md_status open_vulkan(md_ctx *ctx, const md_unet_denoiser_opts *o, int is_auto, unet_den *d, md_denoiser *out)
{
    md_gpu_options go;
    md_gpu_options_init(&go);
    go.device_index = o->device_index;
    go.validation = o->validation;
    md_status s = md_gpu_create(ctx, &go, &d->gpu);
    if (s == MD_OK && is_auto && auto_skips(d->gpu)) {
        md_log(ctx, MD_LOG_INFO, "the only Vulkan device is a CPU implementation (%s); the CPU backend is faster "
               "on the same cores (--backend vulkan to use it anyway)", md_gpu_get_caps(d->gpu)->info.name);
        md_gpu_destroy(d->gpu);
        d->gpu = NULL;
        return MD_ERR_GPU;
    }
    if (s == MD_OK) {
        snprintf(out->backend, sizeof out->backend, "vulkan");
        snprintf(out->device, sizeof out->device, "%s", md_gpu_get_caps(d->gpu)->info.name);
        return md_nn_create_gpu(d->gpu, &d->nn);
    }
    if (is_auto) {
        md_log(ctx, MD_LOG_WARN, "no usable Vulkan device (%s); running the model on the CPU backend",
               md_ctx_error(ctx));
        md_ctx_clear_error(ctx);
    }
    return s;
}

static md_status open_backend(md_ctx *ctx, const md_unet_denoiser_opts *o, unet_den *d, md_denoiser *out)
{
    const char *want = o->backend ? o->backend : "auto";
    int is_auto = !strcmp(want, "auto"), is_ref = !strcmp(want, "cpu-ref");
    if (strcmp(want, "cpu") && strcmp(want, "vulkan") && !is_auto && !is_ref)
        return md_fail(ctx, MD_ERR_USAGE, "unknown backend '%s' (expected vulkan, cpu, cpu-ref or auto)", want);
    if (!strcmp(want, "vulkan") || is_auto) {
        md_status s = open_vulkan(ctx, o, is_auto, d, out);
        if (s == MD_OK || !is_auto) return s;
    }
    snprintf(out->backend, sizeof out->backend, "%s", is_ref ? "cpu-ref" : "cpu");
    snprintf(out->device, sizeof out->device, "%s", is_ref ? "cpu reference" : "cpu (openblas)");
    md_status s = md_nn_create_cpu(ctx, &d->nn);
    if (s == MD_OK) md_nn_set_cpu_fast(d->nn, !is_ref);
    return s;
}

md_status md_unet_denoiser_open(md_ctx *ctx, const md_unet_denoiser_opts *o, md_denoiser *out)
{
    memset(out, 0, sizeof *out);
    if (!o->model_path) return md_fail(ctx, MD_ERR_USAGE, "no model file given");
    unet_den *d = calloc(1, sizeof *d);
    if (!d) return md_fail(ctx, MD_ERR_NOMEM, "out of memory opening %s", o->model_path);
    md_status s = open_backend(ctx, o, d, out);
    if (s == MD_OK) md_nn_set_precision(d->nn, o->precision); /* before the weights are allocated */
    if (s == MD_OK) s = md_unet_load_file(d->nn, o->model_path, &d->u);
    if (s == MD_OK) s = md_sha256_file(ctx, o->model_path, MD_ERR_MODEL, out->model_sha256);
    if (s != MD_OK) {
        den_destroy(d);
        memset(out, 0, sizeof *out);
        return s;
    }
    const md_unet_config *c = md_unet_get_config(d->u);
    out->mc = *md_unet_get_mel_contract(d->u);
    out->frame_multiple = c->frame_multiple;
    out->data_mean = c->data_mean;
    out->data_std = c->data_std;
    out->cond_notebank = c->cond_notebank;
    out->t_max = c->t_max;
    out->guided = c->cfg_dropout > 0.0f;
    snprintf(out->model_path, sizeof out->model_path, "%s", o->model_path);
    snprintf(out->precision, sizeof out->precision, "%s", md_nn_precision_name(md_nn_precision_resolved(d->nn)));
    /* The conv style names the shader variant; the CPU says which code ran. */
    const char *kernels = d->gpu ? md_nn_conv_style_name(md_nn_conv_style_resolved(d->nn))
                          : strcmp(out->backend, "cpu-ref") ? "openblas" : "reference";
    snprintf(out->kernels, sizeof out->kernels, "%s", kernels);
    out->impl = d;
    out->predict_v = den_predict;
    out->predict_v_pair = den_predict_pair;
    out->predict_v_batch = den_predict_batch;
    /* Batching stems pays where a pass leaves the device idle (a GPU); a CPU
     * device (lavapipe) or the CPU backend is busy with one segment, and
     * the CPU backend renders stems side by side on its cores instead. */
    out->batch_hint = d->gpu && md_gpu_get_caps(d->gpu)->type != MD_GPU_DEVICE_CPU ? MD_UNET_DENOISER_GPU_BATCH : 1;
    out->destroy = den_destroy;
    return MD_OK;
}
