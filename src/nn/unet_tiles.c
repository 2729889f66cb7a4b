/* The U-Net forward over time tiles, for inputs whose activations would
 * not fit one storage binding (docs/ops.md "Tensors larger than a binding").
 *
 * The network is fully convolutional in time: group norm is per frame,
 * attention runs along frequency only, convolutions pad with zeros. So an
 * output frame depends only on input frames within the receptive-field
 * radius, and a tile that reaches `halo` >= radius frames beyond its core on
 * both sides (or stops at the song's edge, where the zero padding is the
 * same as the untiled pass's) computes its core exactly as the untiled pass
 * does. Tile starts are multiples of frame_multiple so that the stride-2
 * and upsampling grids of every level line up with the untiled ones. */
#include <stdlib.h>
#include <string.h>

#include "nn/unet_internal.h"

/* Backward through the graph, from the output to the input, the interval
 * [lo, hi] of positions (at the current level) that one output frame
 * depends on. The longest path (conv_in -> every down level -> middle ->
 * every up level -> conv_out) holds every shorter one, the skips included:
 * each op's dependency set covers its own position. */
typedef struct span {
    long long lo, hi;
} span;

static void conv3(span *s, int count)
{
    s->lo -= count;
    s->hi += count;
}

/* Input position p of nearest x2 feeds outputs 2p and 2p + 1. */
static void undo_upsample(span *s)
{
    s->lo /= 2;
    s->hi /= 2;
}

/* Output q of the 3x3 stride-2 pad-1 conv reads inputs 2q - 1 .. 2q + 1. */
static void undo_downsample(span *s)
{
    s->lo = 2 * s->lo - 1;
    s->hi = 2 * s->hi + 1;
}

/* The input frames output frame t depends on (t far from the edges). */
static span dependency(const md_unet_config *c, long long t)
{
    int levels = c->n_levels, r = c->res_blocks;
    span s = {t, t};
    conv3(&s, 1); /* conv_out */
    for (int i = 0; i < levels; i++) {
        if (i > 0) {
            conv3(&s, 1); /* up.j.conv after the upsample into level i - 1 */
            undo_upsample(&s);
        }
        conv3(&s, 2 * (r + 1)); /* R + 1 res blocks of two 3x3 convs */
    }
    conv3(&s, 4); /* mid1, mid2 (mid_attn is per frame) */
    for (int i = levels - 1; i >= 0; i--) {
        if (i < levels - 1) undo_downsample(&s);
        conv3(&s, 2 * r);
    }
    conv3(&s, 1); /* conv_in */
    return s;
}

int md_unet_receptive_radius(const md_unet_config *c)
{
    /* The pattern repeats every frame_multiple frames (the coarsest grid);
     * t is far enough from 0 that no interval reaches a negative position. */
    long long base = (long long)c->frame_multiple << 20, radius = 0;
    for (int p = 0; p < c->frame_multiple; p++) {
        long long t = base + p;
        span s = dependency(c, t);
        if (t - s.lo > radius) radius = t - s.lo;
        if (s.hi - t > radius) radius = s.hi - t;
    }
    return (int)radius;
}

static uint64_t limit_bytes(const md_unet *u)
{
    uint64_t lim = (uint64_t)INT32_MAX * sizeof(float); /* shaders index with int32 */
    const md_gpu *gpu = md_nn_gpu(u->nn);
    if (gpu) {
        const md_gpu_limits *L = &md_gpu_get_caps(gpu)->limits;
        if (L->max_storage_buffer_range < lim) lim = L->max_storage_buffer_range;
        if (L->max_memory_allocation_size < lim) lim = L->max_memory_allocation_size;
    }
    if (u->max_tensor_bytes && u->max_tensor_bytes < lim) lim = u->max_tensor_bytes;
    return lim;
}

static uint64_t pass_bytes(md_unet *u, int n, int frames)
{
    return (uint64_t)md_unet_largest_activation(u, n, frames) * sizeof(float);
}

static void tile_span(const md_unet_tiling *t, int frames, int k, int *cs, int *ce, int *ts, int *te)
{
    *cs = k * t->core;
    *ce = *cs + t->core < frames ? *cs + t->core : frames;
    *ts = *cs - t->halo > 0 ? *cs - t->halo : 0;
    *te = *ce + t->halo < frames ? *ce + t->halo : frames;
}

/* The longest pass that fits the limit, a multiple of frame_multiple below
 * frames (0 if none); activations grow with the length. */
static int longest_fitting(md_unet *u, int n, int frames, uint64_t lim)
{
    int fm = u->cfg.frame_multiple, lo = 0, hi = frames / fm;
    while (lo < hi) {
        int mid = lo + (hi - lo + 1) / 2;
        if (pass_bytes(u, n, mid * fm) <= lim) lo = mid;
        else hi = mid - 1;
    }
    return lo * fm;
}

md_status md_unet_plan_tiles(md_unet *u, int n, int frames, md_unet_tiling *out)
{
    const md_unet_config *c = &u->cfg;
    int fm = c->frame_multiple;
    memset(out, 0, sizeof *out);
    out->radius = md_unet_receptive_radius(c);
    out->halo = (out->radius + fm - 1) / fm * fm;
    out->limit_bytes = limit_bytes(u);
    out->pass_bytes = pass_bytes(u, n, frames);
    out->core = out->longest = frames;
    out->n_tiles = 1;
    if (out->pass_bytes <= out->limit_bytes) return MD_OK;
    if (!c->norm_frame)
        return md_fail(u->ctx, MD_ERR_LIMIT,
                       "U-Net: a %dx%d-frame pass needs a %llu-byte activation, more than the %llu-byte limit, and "
                       "this model (group norm over the whole segment) cannot be cut into time tiles",
                       n, frames, (unsigned long long)out->pass_bytes, (unsigned long long)out->limit_bytes);
    int fit = longest_fitting(u, n, frames, out->limit_bytes);
    out->core = fit - 2 * out->halo;
    if (out->core < fm) {
        int least = 2 * out->halo + fm;
        return md_fail(u->ctx, MD_ERR_LIMIT,
                       "U-Net: no time tile fits: the smallest (%d core + 2 x %d halo frames, receptive field "
                       "+-%d) needs a %llu-byte activation at batch %d, more than the %llu-byte limit",
                       fm, out->halo, out->radius, (unsigned long long)pass_bytes(u, n, least), n,
                       (unsigned long long)out->limit_bytes);
    }
    out->tiled = 1;
    out->n_tiles = (frames + out->core - 1) / out->core;
    out->longest = 0;
    for (int k = 0; k < out->n_tiles; k++) {
        int cs, ce, ts, te;
        tile_span(out, frames, k, &cs, &ce, &ts, &te);
        if (te - ts > out->longest) out->longest = te - ts;
    }
    out->pass_bytes = pass_bytes(u, n, out->longest);
    return MD_OK;
}

void md_unet_set_max_tensor_bytes(md_unet *u, size_t bytes)
{
    u->max_tensor_bytes = bytes;
    md_unet_ws_free(u);
}

/* dst[r][dst_from..+w) = src[r][src_from..+w) for rows of src_len and
 * dst_len frames: cuts a tile's window out of the input and puts its core
 * into the output. */
static void copy_cols(const float *src, int src_len, int src_from, float *dst, int dst_len, int dst_from,
                      size_t rows, int w)
{
    for (size_t r = 0; r < rows; r++)
        memcpy(&dst[r * (size_t)dst_len + (size_t)dst_from], &src[r * (size_t)src_len + (size_t)src_from],
               (size_t)w * sizeof *dst);
}

/* The tiles one after another: each input window is cut out, run as one
 * pass on the shared workspace, and its core copied into v. */
static md_status run_tiles(md_unet *u, int n, int frames, const md_unet_tiling *t, const float *input, float *v)
{
    const md_unet_config *c = &u->cfg;
    size_t rows_in = (size_t)n * (size_t)c->in_channels * (size_t)c->n_mels;
    size_t rows_out = (size_t)n * (size_t)c->out_channels * (size_t)c->n_mels;
    float *tin = malloc(rows_in * (size_t)t->longest * sizeof *tin);
    float *tout = malloc(rows_out * (size_t)t->longest * sizeof *tout);
    md_status s = tin && tout ? MD_OK : md_fail(u->ctx, MD_ERR_NOMEM, "U-Net: out of memory for a time tile");
    for (int k = 0; s == MD_OK && k < t->n_tiles; k++) {
        int cs, ce, ts, te;
        tile_span(t, frames, k, &cs, &ce, &ts, &te);
        copy_cols(input, frames, ts, tin, te - ts, 0, rows_in, te - ts);
        s = md_unet_pass(u, n, te - ts, tin, tout);
        if (s == MD_OK) copy_cols(tout, te - ts, cs - ts, v, frames, cs, rows_out, ce - cs);
    }
    free(tin);
    free(tout);
    return s;
}

md_status md_unet_forward(md_unet *u, int n, int frames, const float *input, const float *emb, float *v)
{
    const md_unet_config *c = &u->cfg;
    if (n < 1 || frames < 1 || frames % c->frame_multiple)
        return md_fail(u->ctx, MD_ERR_USAGE, "U-Net: %d frames is not a positive multiple of %d (batch %d)", frames,
                       c->frame_multiple, n);
    md_unet_tiling t;
    md_status s = md_unet_plan_tiles(u, n, frames, &t);
    if (s == MD_OK) s = md_unet_ws_prepare(u, n, t.longest);
    if (s == MD_OK) s = md_unet_ws_set_emb(u, n, emb);
    if (s != MD_OK) return s;
    if (!t.tiled) return md_unet_pass(u, n, frames, input, v);
    md_log(u->ctx, MD_LOG_DEBUG, "U-Net: %d frames in %d time tiles of %d core + %d halo frames a side", frames,
           t.n_tiles, t.core, t.halo);
    return run_tiles(u, n, frames, &t, input, v);
}
