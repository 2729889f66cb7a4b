/* One U-Net pass on an nn backend (unet_tiles.c cuts a long forward into
 * such passes).
 *
 * Activations live in a few workspace slots (unet_internal.h) viewed with
 * the dims each step needs. A planning pass only records each slot's
 * largest view; the slots are sized from it once for a batch and a longest
 * length, and every shorter pass views the same storage. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/unet_internal.h"

typedef struct fwd {
    md_unet *u;
    int n;
    int plan;       /* 1: record slot sizes only, run no op */
    size_t *cap;    /* plan: each slot's largest view so far, elements */
    char layer[32]; /* the layer being built, as model.py names it ("up.4") */
} fwd;

/* A view of slot id with dims n x c x h x w. */
static md_tensor view(fwd *f, int id, int c, int h, int w)
{
    md_unet *u = f->u;
    size_t need = (size_t)f->n * (size_t)c * (size_t)h * (size_t)w;
    md_tensor t;
    if (f->plan) {
        if (need > f->cap[id]) f->cap[id] = need;
        memset(&t, 0, sizeof t);
    } else {
        t = u->ws[id];
    }
    t.n = f->n;
    t.c = c;
    t.h = h;
    t.w = w;
    return t;
}

/* Names the next ops' dispatches (GPU profile rows) "<layer>.<part>", e.g.
 * "up.4.norm1", so --profile shows where a forward's time goes per layer. */
static void label(fwd *f, const char *part)
{
    char name[64];
    snprintf(name, sizeof name, "%s%s%s", f->layer, f->layer[0] && part[0] ? "." : "", part);
    md_nn_set_label(f->u->nn, name);
}

static void set_layer(fwd *f, const char *fmt, int i)
{
    snprintf(f->layer, sizeof f->layer, fmt, i);
}

/* Runs one op (not when planning), its dispatches labelled with part. */
#define OP(part, call) do { if (!f->plan) { label(f, part); md_status op_s_ = (call); \
    if (op_s_ != MD_OK) return op_s_; } } while (0)

static const md_conv_params conv3 = {.stride_h = 1, .stride_w = 1, .pad_h = 1, .pad_w = 1};
static const md_conv_params conv1 = {.stride_h = 1, .stride_w = 1};

static md_norm_params norm_params(const md_unet *u, md_act act)
{
    md_norm_params p = {.groups = u->cfg.groups, .eps = u->cfg.norm_eps, .per_frame = u->cfg.norm_frame,
                        .ep = {.act = act, .film_offset = 1.0f}};
    return p;
}

/* h = conv1(silu(norm1(x))); h = silu(norm2(h) * (1 + scale) + shift);
 * out = conv2(h) + skip(x). x and out are never the S1/S2/FILM slots.
 * With x2 (a decoder block), x stands for the concatenation [x ; x2]: only
 * norm1 and the skip conv read it, and they read both parts in place. */
static md_status res_block(fwd *f, const ub_res *r, const md_tensor *x, const md_tensor *x2, md_tensor *out)
{
    md_unet *u = f->u;
    md_nn *nn = u->nn;
    int fh = x->h, fw = x->w;
    md_norm_params silu_norm = norm_params(u, MD_ACT_SILU);
    md_tensor a = view(f, WS_S1, r->cin, fh, fw);
    if (x2) OP("norm1", md_nn_group_norm_cat(nn, x, x2, &r->n1w, &r->n1b, NULL, &silu_norm, &a));
    else OP("norm1", md_nn_group_norm(nn, x, &r->n1w, &r->n1b, NULL, &silu_norm, &a));
    md_tensor h = view(f, WS_S2, r->cout, fh, fw);
    OP("conv1", md_nn_conv2d(nn, &a, &r->c1w, &r->c1b, NULL, NULL, &conv3, &h));
    /* The same FiLM buffer seen as the linear's rows x 2C output and as the
     * N x 2C x 1 x 1 operand of the norm epilogue. */
    md_tensor e = view(f, WS_E, 1, 1, u->cfg.emb_dim);
    md_tensor film_rows = view(f, WS_FILM, 1, 1, 2 * r->cout);
    OP("film", md_nn_linear(nn, &e, &r->fw, &r->fb, MD_ACT_NONE, 0.0f, &film_rows));
    md_tensor film = view(f, WS_FILM, 2 * r->cout, 1, 1);
    md_tensor g = view(f, WS_S1, r->cout, fh, fw);
    OP("norm2", md_nn_group_norm(nn, &h, &r->n2w, &r->n2b, &film, &silu_norm, &g));
    md_tensor skip = *x;
    if (r->skip) {
        skip = view(f, WS_S2, r->cout, fh, fw);
        if (x2) OP("skip", md_nn_conv2d_cat(nn, x, x2, &r->sw, &r->sb, NULL, NULL, &conv1, &skip));
        else OP("skip", md_nn_conv2d(nn, x, &r->sw, &r->sb, NULL, NULL, &conv1, &skip));
    }
    OP("conv2", md_nn_conv2d(nn, &g, &r->c2w, &r->c2b, NULL, &skip, &conv3, out));
    return MD_OK;
}

/* out = x + proj(attention over the mel bins of each frame of norm(x)). */
static md_status attention(fwd *f, const md_tensor *x, md_tensor *out)
{
    md_unet *u = f->u;
    md_norm_params plain = norm_params(u, MD_ACT_NONE);
    md_tensor a = view(f, WS_S1, x->c, x->h, x->w);
    OP("norm", md_nn_group_norm(u->nn, x, &u->an_w, &u->an_b, NULL, &plain, &a));
    md_tensor qkv = view(f, WS_QKV, 3 * x->c, x->h, x->w);
    md_tensor core = view(f, WS_ATT, x->c, x->h, x->w);
    OP("attn", md_nn_attention(u->nn, &a, &u->aqkv_w, &u->aqkv_b, &u->aproj_w, &u->aproj_b, u->cfg.attn_heads,
                       MD_ATTN_COLUMNS, x, &qkv, &core, out));
    return MD_OK;
}

/* The slot the next block writes: whichever of HA/HB does not hold h. */
static int other_h(int h_slot) { return h_slot == WS_HA ? WS_HB : WS_HA; }

static md_status down_path(fwd *f, md_tensor *skips, int *n_skip, md_tensor *h)
{
    md_unet *u = f->u;
    for (int i = 0; i < u->n_down; i++) {
        const ub_layer *l = &u->down[i];
        set_layer(f, l->kind == UB_RES ? "down.%d" : "down.%d.conv", i);
        int k = *n_skip;
        if (l->kind == UB_RES) {
            skips[k] = view(f, WS_SKIP0 + k, l->res.cout, h->h, h->w);
            md_status s = res_block(f, &l->res, h, NULL, &skips[k]);
            if (s != MD_OK) return s;
        } else {
            static const md_conv_params down = {.stride_h = 2, .stride_w = 2, .pad_h = 1, .pad_w = 1};
            skips[k] = view(f, WS_SKIP0 + k, l->ch, (h->h + 1) / 2, (h->w + 1) / 2);
            OP("", md_nn_conv2d(u->nn, h, &l->cw, &l->cb, NULL, NULL, &down, &skips[k]));
        }
        *h = skips[k];
        (*n_skip)++;
    }
    return MD_OK;
}

static md_status middle(fwd *f, md_tensor *h, int *h_slot)
{
    md_unet *u = f->u;
    md_tensor a = view(f, WS_HA, h->c, h->h, h->w);
    set_layer(f, "mid1", 0);
    md_status s = res_block(f, &u->mid1, h, NULL, &a);
    *h = a;
    *h_slot = WS_HA;
    if (s == MD_OK && u->cfg.attn_freq) {
        md_tensor b = view(f, WS_HB, h->c, h->h, h->w);
        set_layer(f, "mid_attn", 0);
        s = attention(f, h, &b);
        *h = b;
        *h_slot = WS_HB;
    }
    if (s != MD_OK) return s;
    md_tensor c = view(f, other_h(*h_slot), h->c, h->h, h->w);
    set_layer(f, "mid2", 0);
    s = res_block(f, &u->mid2, h, NULL, &c);
    *h = c;
    *h_slot = other_h(*h_slot);
    return s;
}

static md_status up_path(fwd *f, md_tensor *skips, int n_skip, md_tensor *h, int *h_slot)
{
    md_unet *u = f->u;
    for (int i = 0; i < u->n_up; i++) {
        const ub_layer *l = &u->up[i];
        set_layer(f, l->kind == UB_RES ? "up.%d" : "up.%d.conv", i);
        int next = other_h(*h_slot);
        md_tensor out;
        if (l->kind == UB_RES) {
            const md_tensor *sk = &skips[--n_skip];
            out = view(f, next, l->res.cout, h->h, h->w);
            md_status s;
            if (l->res.skip) {
                s = res_block(f, &l->res, h, sk, &out); /* [h ; skip] never written */
            } else {
                /* Identity residual of the concatenation: it must exist. */
                md_tensor cat = view(f, WS_CAT, h->c + sk->c, h->h, h->w);
                OP("concat", md_nn_concat(u->nn, h, sk, &cat));
                s = res_block(f, &l->res, &cat, NULL, &out);
            }
            if (s != MD_OK) return s;
        } else {
            /* nearest x2 then 3x3 conv, as one op without the 4x intermediate */
            out = view(f, next, l->ch, 2 * h->h, 2 * h->w);
            OP("", md_nn_conv2d_up2(u->nn, h, &l->cw, &l->cb, NULL, NULL, &conv3.ep, &out));
        }
        *h = out;
        *h_slot = next;
    }
    return MD_OK;
}

/* The whole graph from the IN and E slots to the OUT slot. */
static md_status graph(fwd *f, int frames)
{
    md_unet *u = f->u;
    const md_unet_config *c = &u->cfg;
    md_tensor skips[WS_MAX - WS_SKIP0];
    int n_skip = 0, h_slot = -1;
    md_tensor in = view(f, WS_IN, c->in_channels, c->n_mels, frames);
    skips[0] = view(f, WS_SKIP0, c->base_channels, c->n_mels, frames);
    set_layer(f, "conv_in", 0);
    OP("", md_nn_conv2d(u->nn, &in, &u->conv_in_w, &u->conv_in_b, NULL, NULL, &conv3, &skips[0]));
    n_skip = 1;
    md_tensor h = skips[0];
    md_status s = down_path(f, skips, &n_skip, &h);
    if (s == MD_OK) s = middle(f, &h, &h_slot);
    if (s == MD_OK) s = up_path(f, skips, n_skip, &h, &h_slot);
    if (s != MD_OK) return s;
    md_norm_params silu_norm = norm_params(u, MD_ACT_SILU);
    md_tensor a = view(f, WS_S1, h.c, h.h, h.w);
    set_layer(f, "norm_out", 0);
    OP("", md_nn_group_norm(u->nn, &h, &u->no_w, &u->no_b, NULL, &silu_norm, &a));
    md_tensor out = view(f, WS_OUT, c->out_channels, c->n_mels, frames);
    set_layer(f, "conv_out", 0);
    OP("", md_nn_conv2d(u->nn, &a, &u->conv_out_w, &u->conv_out_b, NULL, NULL, &conv3, &out));
    return MD_OK;
}

static void replays_free(md_unet *u)
{
    for (int i = 0; i < UNET_MAX_REPLAYS; i++) {
        md_gpu_cmd_destroy(u->replay[i].cmd);
        u->replay[i].cmd = NULL;
        u->replay[i].frames = 0;
    }
    u->replay_next = 0;
}

void md_unet_ws_free(md_unet *u)
{
    replays_free(u); /* they refer to the slots: go first */
    for (int i = 0; i < WS_MAX; i++) md_nn_tensor_free(u->nn, &u->ws[i]);
    memset(u->ws_cap, 0, sizeof u->ws_cap);
    u->ws_n = u->ws_frames = 0;
}

/* Plans a pass into cap (WS_MAX entries, zeroed here). */
static md_status plan_pass(md_unet *u, int n, int frames, size_t *cap)
{
    memset(cap, 0, WS_MAX * sizeof *cap);
    fwd plan = {.u = u, .n = n, .plan = 1, .cap = cap};
    return graph(&plan, frames);
}

size_t md_unet_largest_activation(md_unet *u, int n, int frames)
{
    size_t cap[WS_MAX], most = 0;
    if (plan_pass(u, n, frames, cap) != MD_OK) return SIZE_MAX; /* planning runs no op: cannot fail */
    for (int i = 0; i < WS_MAX; i++)
        if (cap[i] > most) most = cap[i];
    return most;
}

md_status md_unet_ws_prepare(md_unet *u, int n, int frames)
{
    if (u->ws_n == n && u->ws_frames >= frames) return MD_OK;
    md_unet_ws_free(u);
    md_status s = plan_pass(u, n, frames, u->ws_cap);
    u->n_plans++;
    for (int i = 0; s == MD_OK && i < WS_MAX; i++)
        if (u->ws_cap[i]) {
            if (u->ws_cap[i] > INT32_MAX) {
                s = md_fail(u->ctx, MD_ERR_LIMIT, "U-Net: %d frames is too long", frames);
                break;
            }
            s = md_nn_tensor_alloc(u->nn, &u->ws[i], 1, 1, 1, (int)u->ws_cap[i]);
        }
    if (s != MD_OK) {
        md_unet_ws_free(u);
        return s;
    }
    u->ws_n = n;
    u->ws_frames = frames;
    return MD_OK;
}

/* The recorded graph for a pass of `frames`, recording it on first use. */
static md_status replay_for(md_unet *u, fwd *f, int frames, md_gpu_cmd **out)
{
    for (int i = 0; i < UNET_MAX_REPLAYS; i++)
        if (u->replay[i].cmd && u->replay[i].frames == frames) {
            *out = u->replay[i].cmd;
            return MD_OK;
        }
    md_gpu_cmd *cmd = NULL;
    md_status s = graph(f, frames);
    md_nn_set_label(u->nn, NULL);
    if (s == MD_OK) s = md_nn_take_commands(u->nn, &cmd);
    if (s != MD_OK) {
        md_nn_discard(u->nn);
        return s;
    }
    u->n_records++;
    /* Replays run synchronously, so the one evicted is idle. */
    int slot = u->replay_next;
    u->replay_next = (slot + 1) % UNET_MAX_REPLAYS;
    md_gpu_cmd_destroy(u->replay[slot].cmd);
    u->replay[slot].cmd = cmd;
    u->replay[slot].frames = frames;
    *out = cmd;
    return MD_OK;
}

/* On the GPU the graph is recorded once per length and replayed: the inputs
 * live in the same slots every time. On the CPU the ops simply run. */
static md_status run_graph(md_unet *u, fwd *f, int frames)
{
    if (!md_nn_on_gpu(u->nn)) return graph(f, frames); /* labels only name GPU dispatches */
    md_gpu_cmd *cmd = NULL;
    md_status s = replay_for(u, f, frames, &cmd);
    return s == MD_OK ? md_gpu_cmd_run(cmd) : s;
}

md_status md_unet_ws_set_emb(md_unet *u, int n, const float *emb)
{
    /* The blocks all read silu(emb). */
    size_t ne = (size_t)n * (size_t)u->cfg.emb_dim;
    float *e = malloc(ne * sizeof *e);
    if (!e) return md_fail(u->ctx, MD_ERR_NOMEM, "U-Net: out of memory for the embedding");
    for (size_t i = 0; i < ne; i++) e[i] = emb[i] / (1.0f + expf(-emb[i]));
    fwd f = {.u = u, .n = n, .plan = 0};
    md_tensor et = view(&f, WS_E, 1, 1, u->cfg.emb_dim);
    md_status s = md_nn_upload(u->nn, &et, e);
    free(e);
    return s;
}

md_status md_unet_pass(md_unet *u, int n, int frames, const float *input, float *v)
{
    const md_unet_config *c = &u->cfg;
    if (n != u->ws_n || frames > u->ws_frames)
        return md_fail(u->ctx, MD_ERR_INTERNAL, "U-Net: a %dx%d pass on a workspace for %dx%d", n, frames, u->ws_n,
                       u->ws_frames);
    fwd f = {.u = u, .n = n, .plan = 0};
    md_tensor in = view(&f, WS_IN, c->in_channels, c->n_mels, frames);
    md_status s = md_nn_upload(u->nn, &in, input);
    if (s == MD_OK) s = run_graph(u, &f, frames);
    md_tensor out = view(&f, WS_OUT, c->out_channels, c->n_mels, frames);
    if (s == MD_OK) s = md_nn_download(u->nn, &out, v);
    return s;
}
