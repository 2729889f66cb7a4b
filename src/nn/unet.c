/* The U-Net: loading a model file onto an nn backend and the forward pass.
 * The graph follows docs/training.md "The U-Net, op by op" line by line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/unet.h"
#include "nn/unet_internal.h"

/* ---- loading ------------------------------------------------------------------ */

/* Finds `name` with the given PyTorch shape, allocates a backend tensor of
 * dims n x c x h x w (same element count) and uploads it. Conv and linear
 * weights (weight = 1) follow the handle's precision (md_nn_set_precision:
 * float16 storage where chosen); biases, norms and the rest stay float32. */
static md_status load_t(md_unet *u, const md_st_file *f, const char *name, int ndim, const int64_t *shape,
                        int n, int c, int h, int w, int weight, md_tensor *out)
{
    const md_st_tensor *st = NULL;
    md_status s = md_st_expect(u->ctx, f, name, MD_ST_F32, ndim, shape, &st);
    if (s != MD_OK) return s;
    s = weight ? md_nn_weight_alloc(u->nn, out, n, c, h, w) : md_nn_tensor_alloc(u->nn, out, n, c, h, w);
    if (s != MD_OK) return s;
    u->n_loaded++;
    return md_nn_upload(u->nn, out, (const float *)st->data);
}

static md_status load_vec(md_unet *u, const md_st_file *f, const char *prefix, const char *leaf, int len,
                          md_tensor *out)
{
    char name[160];
    snprintf(name, sizeof name, "%s.%s", prefix, leaf);
    int64_t shape[1] = {len};
    return load_t(u, f, name, 1, shape, 1, len, 1, 1, 0, out);
}

/* Conv weight cout x cin x k x k plus its bias. */
static md_status load_conv(md_unet *u, const md_st_file *f, const char *prefix, int cin, int cout, int k,
                           md_tensor *w, md_tensor *b)
{
    char name[160];
    snprintf(name, sizeof name, "%s.weight", prefix);
    int64_t shape[4] = {cout, cin, k, k};
    md_status s = load_t(u, f, name, 4, shape, cout, cin, k, k, 1, w);
    return s == MD_OK ? load_vec(u, f, prefix, "bias", cout, b) : s;
}

/* Linear weight out x in, stored as out x in x 1 x 1, plus its bias. */
static md_status load_linear(md_unet *u, const md_st_file *f, const char *prefix, int in, int outs,
                             md_tensor *w, md_tensor *b)
{
    char name[160];
    snprintf(name, sizeof name, "%s.weight", prefix);
    int64_t shape[2] = {outs, in};
    md_status s = load_t(u, f, name, 2, shape, outs, in, 1, 1, 1, w);
    return s == MD_OK ? load_vec(u, f, prefix, "bias", outs, b) : s;
}

/* The 3x3 conv after a nearest-2x upsampling, stored as the phase weights
 * of md_nn_conv2d_up2 (4cout x cin x 2 x 2, summed here once) plus its
 * bias: the forward never materialises the upsampled tensor. */
static md_status load_up_conv(md_unet *u, const md_st_file *f, const char *prefix, int ch, md_tensor *w,
                              md_tensor *b)
{
    char name[160];
    snprintf(name, sizeof name, "%s.weight", prefix);
    int64_t shape[4] = {ch, ch, 3, 3};
    const md_st_tensor *st = NULL;
    md_status s = md_st_expect(u->ctx, f, name, MD_ST_F32, 4, shape, &st);
    if (s != MD_OK) return s;
    float *wp = malloc((size_t)16 * (size_t)ch * (size_t)ch * sizeof *wp);
    if (!wp) return md_fail(u->ctx, MD_ERR_NOMEM, "%s: out of memory for %s", u->origin, name);
    md_nn_up2_weights((const float *)st->data, ch, ch, wp);
    s = md_nn_weight_alloc(u->nn, w, 4 * ch, ch, 2, 2);
    if (s == MD_OK) s = md_nn_upload(u->nn, w, wp);
    free(wp);
    if (s != MD_OK) return s;
    u->n_loaded++;
    return load_vec(u, f, prefix, "bias", ch, b);
}

static md_status load_norm(md_unet *u, const md_st_file *f, const char *prefix, int ch, md_tensor *w,
                           md_tensor *b)
{
    md_status s = load_vec(u, f, prefix, "weight", ch, w);
    return s == MD_OK ? load_vec(u, f, prefix, "bias", ch, b) : s;
}

static md_status load_res(md_unet *u, const md_st_file *f, const char *p, int cin, int cout, ub_res *r)
{
    char sub[160];
    md_status s = MD_OK;
    r->cin = cin;
    r->cout = cout;
    r->skip = cin != cout;
#define SUB(leaf) (snprintf(sub, sizeof sub, "%s.%s", p, leaf), sub)
    if (s == MD_OK) s = load_norm(u, f, SUB("norm1"), cin, &r->n1w, &r->n1b);
    if (s == MD_OK) s = load_conv(u, f, SUB("conv1"), cin, cout, 3, &r->c1w, &r->c1b);
    if (s == MD_OK) s = load_linear(u, f, SUB("film"), u->cfg.emb_dim, 2 * cout, &r->fw, &r->fb);
    if (s == MD_OK) s = load_norm(u, f, SUB("norm2"), cout, &r->n2w, &r->n2b);
    if (s == MD_OK) s = load_conv(u, f, SUB("conv2"), cout, cout, 3, &r->c2w, &r->c2b);
    if (s == MD_OK && r->skip) s = load_conv(u, f, SUB("skip"), cin, cout, 1, &r->sw, &r->sb);
#undef SUB
    return s;
}

static void free_res(md_nn *nn, ub_res *r)
{
    md_tensor *all[] = {&r->n1w, &r->n1b, &r->c1w, &r->c1b, &r->fw, &r->fb, &r->n2w,
                        &r->n2b, &r->c2w, &r->c2b, &r->sw, &r->sb};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) md_nn_tensor_free(nn, all[i]);
}

/* Host copy of a small tensor used by the host-side steps. */
static md_status host_copy(md_unet *u, const md_st_file *f, const char *name, int ndim, const int64_t *shape,
                           float **out)
{
    const md_st_tensor *st = NULL;
    md_status s = md_st_expect(u->ctx, f, name, MD_ST_F32, ndim, shape, &st);
    if (s != MD_OK) return s;
    *out = malloc(st->nbytes);
    if (!*out) return md_fail(u->ctx, MD_ERR_NOMEM, "%s: out of memory for %s", u->origin, name);
    memcpy(*out, st->data, st->nbytes);
    u->n_loaded++;
    return MD_OK;
}

static md_status load_host_parts(md_unet *u, const md_st_file *f)
{
    const md_unet_config *c = &u->cfg;
    int64_t p2m[2] = {c->n_mels, c->n_pitches}, coord[4] = {1, 1, c->n_mels, 1};
    int64_t t0w[2] = {c->emb_dim, c->base_channels}, t2w[2] = {c->emb_dim, c->emb_dim}, eb[1] = {c->emb_dim};
    int64_t inst[2] = {c->n_instruments, c->emb_dim};
    md_status s = host_copy(u, f, "pitch_to_mel", 2, p2m, &u->pitch_to_mel);
    if (s == MD_OK) s = host_copy(u, f, "freq_coord", 4, coord, &u->freq_coord);
    if (s == MD_OK) s = host_copy(u, f, "time_mlp.0.weight", 2, t0w, &u->t0w);
    if (s == MD_OK) s = host_copy(u, f, "time_mlp.0.bias", 1, eb, &u->t0b);
    if (s == MD_OK) s = host_copy(u, f, "time_mlp.2.weight", 2, t2w, &u->t2w);
    if (s == MD_OK) s = host_copy(u, f, "time_mlp.2.bias", 1, eb, &u->t2b);
    if (s == MD_OK) s = host_copy(u, f, "inst_emb.weight", 2, inst, &u->inst);
    return s;
}

/* The layer lists, in model.py's order, with their file names. */
static md_status load_layers(md_unet *u, const md_st_file *f)
{
    const md_unet_config *c = &u->cfg;
    int ch = c->base_channels, cur = ch, skip_ch[1 + MD_UNET_MAX_LEVELS * 17], n_skip = 0;
    char p[64];
    skip_ch[n_skip++] = ch;
    md_status s = load_conv(u, f, "conv_in", c->in_channels, ch, 3, &u->conv_in_w, &u->conv_in_b);
    for (int level = 0; s == MD_OK && level < c->n_levels; level++) {
        int out = ch * c->channel_mults[level];
        for (int r = 0; s == MD_OK && r < c->res_blocks; r++) {
            ub_layer *l = &u->down[u->n_down];
            snprintf(p, sizeof p, "down.%d", u->n_down++);
            l->kind = UB_RES;
            s = load_res(u, f, p, cur, out, &l->res);
            cur = out;
            skip_ch[n_skip++] = cur;
        }
        if (s == MD_OK && level != c->n_levels - 1) {
            ub_layer *l = &u->down[u->n_down];
            snprintf(p, sizeof p, "down.%d.conv", u->n_down++);
            l->kind = UB_DOWN;
            l->ch = cur;
            s = load_conv(u, f, p, cur, cur, 3, &l->cw, &l->cb);
            skip_ch[n_skip++] = cur;
        }
    }
    if (s == MD_OK) s = load_res(u, f, "mid1", cur, cur, &u->mid1);
    if (s == MD_OK && c->attn_freq) {
        s = load_norm(u, f, "mid_attn.norm", cur, &u->an_w, &u->an_b);
        if (s == MD_OK) s = load_linear(u, f, "mid_attn.qkv", cur, 3 * cur, &u->aqkv_w, &u->aqkv_b);
        if (s == MD_OK) s = load_linear(u, f, "mid_attn.proj", cur, cur, &u->aproj_w, &u->aproj_b);
    }
    if (s == MD_OK) s = load_res(u, f, "mid2", cur, cur, &u->mid2);
    for (int level = c->n_levels - 1; s == MD_OK && level >= 0; level--) {
        int out = ch * c->channel_mults[level];
        for (int r = 0; s == MD_OK && r < c->res_blocks + 1; r++) {
            ub_layer *l = &u->up[u->n_up];
            snprintf(p, sizeof p, "up.%d", u->n_up++);
            l->kind = UB_RES;
            s = load_res(u, f, p, cur + skip_ch[--n_skip], out, &l->res);
            cur = out;
        }
        if (s == MD_OK && level != 0) {
            ub_layer *l = &u->up[u->n_up];
            snprintf(p, sizeof p, "up.%d.conv", u->n_up++);
            l->kind = UB_UP;
            l->ch = cur;
            s = load_up_conv(u, f, p, cur, &l->cw, &l->cb);
        }
    }
    if (s == MD_OK) s = load_norm(u, f, "norm_out", cur, &u->no_w, &u->no_b);
    if (s == MD_OK) s = load_conv(u, f, "conv_out", cur, c->out_channels, 3, &u->conv_out_w, &u->conv_out_b);
    return s;
}

static md_status check_header(md_unet *u, const md_st_file *f)
{
    const char *kind = md_st_meta(f, "kind"), *ver = md_st_meta(f, "format_version");
    if (!kind || strcmp(kind, "unet"))
        return md_fail(u->ctx, MD_ERR_MODEL, "%s: not a U-Net model (metadata kind is \"%s\", expected \"unet\")",
                       u->origin, kind ? kind : "(missing)");
    if (!ver || strcmp(ver, "1"))
        return md_fail(u->ctx, MD_ERR_MODEL, "%s: model format version \"%s\" is not supported (this melodiff reads 1)",
                       u->origin, ver ? ver : "(missing)");
    md_status s = md_unet_config_parse(u->ctx, md_st_meta(f, "config"), u->origin, &u->cfg);
    if (s != MD_OK) return s;
    const char *mc = md_st_meta(f, "mel_contract");
    if (!mc) return md_fail(u->ctx, MD_ERR_MODEL, "%s: the model has no mel_contract metadata", u->origin);
    s = md_mel_contract_from_json(u->ctx, mc, u->origin, &u->mc);
    if (s != MD_OK) return s;
    if (u->mc.n_mels != u->cfg.n_mels)
        return md_fail(u->ctx, MD_ERR_MODEL, "%s: config n_mels %d differs from the mel contract's %d", u->origin,
                       u->cfg.n_mels, u->mc.n_mels);
    return MD_OK;
}

md_status md_unet_load(md_nn *nn, const md_st_file *f, md_unet **out)
{
    *out = NULL;
    md_ctx *ctx = md_nn_ctx(nn);
    md_unet *u = calloc(1, sizeof *u);
    if (!u) return md_fail(ctx, MD_ERR_NOMEM, "out of memory loading a U-Net");
    u->nn = nn;
    u->ctx = ctx;
    snprintf(u->origin, sizeof u->origin, "%s", md_st_origin(f));
    md_status s = check_header(u, f);
    if (s == MD_OK) {
        size_t n_layers = (size_t)u->cfg.n_levels * (size_t)(u->cfg.res_blocks + 2);
        u->down = calloc(n_layers, sizeof *u->down);
        u->up = calloc(n_layers, sizeof *u->up);
        if (!u->down || !u->up) s = md_fail(ctx, MD_ERR_NOMEM, "%s: out of memory for the layer list", u->origin);
    }
    if (s == MD_OK) s = load_host_parts(u, f);
    if (s == MD_OK) s = load_layers(u, f);
    /* Every tensor must be one the config implies: an extra one means the
     * file was made for a different architecture than its config says. */
    if (s == MD_OK && u->n_loaded != md_st_count(f))
        s = md_fail(ctx, MD_ERR_MODEL, "%s: the file has %zu tensors but its config implies %zu", u->origin,
                    md_st_count(f), u->n_loaded);
    if (s != MD_OK) {
        md_unet_destroy(u);
        return s;
    }
    *out = u;
    return MD_OK;
}

md_status md_unet_load_file(md_nn *nn, const char *path, md_unet **out)
{
    md_st_file *f = NULL;
    *out = NULL;
    md_status s = md_st_open(md_nn_ctx(nn), path, MD_ERR_MODEL, (size_t)1 << 31, &f);
    if (s != MD_OK) return s;
    s = md_unet_load(nn, f, out);
    md_st_close(f);
    return s;
}

static void free_layers(md_nn *nn, ub_layer *ls, int n)
{
    for (int i = 0; ls && i < n; i++) {
        free_res(nn, &ls[i].res);
        md_nn_tensor_free(nn, &ls[i].cw);
        md_nn_tensor_free(nn, &ls[i].cb);
    }
    free(ls);
}

void md_unet_destroy(md_unet *u)
{
    if (!u) return;
    md_nn *nn = u->nn;
    md_unet_ws_free(u);
    free_layers(nn, u->down, u->n_down);
    free_layers(nn, u->up, u->n_up);
    free_res(nn, &u->mid1);
    free_res(nn, &u->mid2);
    md_tensor *all[] = {&u->conv_in_w, &u->conv_in_b, &u->conv_out_w, &u->conv_out_b, &u->no_w, &u->no_b,
                        &u->an_w, &u->an_b, &u->aqkv_w, &u->aqkv_b, &u->aproj_w, &u->aproj_b};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) md_nn_tensor_free(nn, all[i]);
    free(u->pitch_to_mel);
    free(u->freq_coord);
    free(u->t0w);
    free(u->t0b);
    free(u->t2w);
    free(u->t2b);
    free(u->inst);
    free(u);
}

const md_unet_config *md_unet_get_config(const md_unet *u) { return &u->cfg; }
const md_mel_contract *md_unet_get_mel_contract(const md_unet *u) { return &u->mc; }
