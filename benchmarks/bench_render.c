/* bench_render: real-time factor of `melodiff render` and where its time goes.
 *
 *   bench_render --model M.safetensors [--midi samples/demo.mid] [--steps 8]
 *                [--guidance 1.5] (render's defaults) [--sampler dpmpp2m|ddim] [--backend vulkan|cpu|both]
 *                [--seconds S] [--stems LIST] [--out DIR] [--check] [--torch]
 *                [--extrapolate-steps N] [--pair 0|1] [--threads N] [--batch N] [--vocode-jobs N]
 *
 * Renders the song through the library (md_unet_denoiser_open + md_render_run,
 * exactly what the CLI does) once per backend and reports time per stage from
 * render.json (parse, conditioning + sampling, vocoder, write) plus the time
 * of every U-Net forward (one 256-frame segment of one sampler step: one
 * branch, or with guidance both branches as one batch-2 pass), measured by
 * wrapping the denoiser. --pair 0 hides the denoiser's predict_v_pair, so a
 * guided step is two batch-1 forwards again (the before/after comparison). RTF = seconds of audio written /
 * wall seconds of md_render_run.
 *
 * --seconds S renders only the first S seconds (md_render_opts.preview_seconds,
 * as `melodiff render --seconds`); --steps and --stems reduce the work
 * further. --extrapolate-steps N adds an explicitly labelled estimate of
 * the same render at N steps: the forward count scales exactly with the
 * steps, so estimate = measured render - forwards * mean forward +
 * forwards * N / steps * mean forward.
 *
 * --check computes v on one captured sampler input (segment 1 of the first
 * stem, the step nearest t = 0.5, conditional and unconditional) on both
 * backends and prints the max abs difference. --torch writes the
 * conditioning of every segment and the check input to OUT/bench_render.safetensors
 * and runs tools/bench/bench_render_torch.py on it (the PyTorch peer: same
 * weights, same sampler, steps, guidance and segments) in the same run.
 *
 * --layers times every convolution of one 256-frame forward on its own on
 * the Vulkan device (the per-layer view the GPU profile, keyed by kernel,
 * does not give). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "audio/griffinlim_gpu.h"
#include "core/clock.h"
#include "core/safetensors.h"
#include "gpu/gpu.h"
#include "nn/ops.h"
#include "nn/unet.h"
#include "nn/unet_denoiser.h"
#include "render/render.h"

#define MAX_SEGS 4096

typedef struct bench_opts {
    const char *model, *midi, *out, *stems, *backend, *sampler;
    int steps, check, torch, extrap_steps, layers, pair, gl_threads, batch, vocode_jobs;
    int gl_gpu; /* --gl-device gpu: Griffin-Lim iterates on the Vulkan device */
    float guide_lo, guide_hi; /* --guidance-interval (default: render's) */
    double guidance, seconds;
} bench_opts;

static double loadavg(void)
{
    double l = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1) l = -1;
        fclose(f);
    }
    return l;
}

/* ---- the timing denoiser: wraps the real one, times every forward --------------- */

typedef struct seg_cond {
    float *harm, *roll, *onset;
    int instrument;
} seg_cond;

typedef struct timing_den {
    md_denoiser *inner;
    size_t n, frames;
    size_t n_pair; /* of the n forwards, batch-2 guided pairs */
    size_t n_slots; /* batch items over all forwards (a guided pair is 2) */
    int n_mels;
    double sum, min, first, cpu; /* wall seconds; cpu: process CPU seconds */
    int capture;            /* record segment conditioning and the check input */
    int capture_oom;        /* a copy failed: nothing recorded is usable */
    float last_t;
    size_t n_segs;
    size_t n_batch_segs; /* segments sampled through predict_v_batch (not captured) */
    seg_cond segs[MAX_SEGS];
    int have_check;
    float check_t, *check_x; /* [n_mels][frames] */
} timing_den;

static float *dup_floats(const float *p, size_t n)
{
    float *q = malloc(n * sizeof *q);
    if (q) memcpy(q, p, n * sizeof *q);
    return q;
}

/* A conditional call whose t did not decrease starts a new segment: its
 * conditioning is kept for the peer. Within the first segment the input
 * nearest t = 0.5 is kept for the backend comparison. */
static void capture(timing_den *td, const float *x, size_t frames, float t, const md_cond *cond)
{
    size_t mel = (size_t)td->inner->mc.n_mels * frames, keys = (size_t)MD_COND_KEYS * frames;
    int new_seg = td->n_segs == 0 || t >= td->last_t;
    td->last_t = t;
    if (new_seg && td->n_segs < MAX_SEGS) {
        seg_cond *s = &td->segs[td->n_segs++];
        s->harm = dup_floats(cond->harmonic, mel);
        s->roll = dup_floats(cond->roll, keys);
        s->onset = dup_floats(cond->onset, keys);
        s->instrument = cond->instrument;
        td->capture_oom |= !s->harm || !s->roll || !s->onset;
        td->frames = frames;
        td->n_mels = td->inner->mc.n_mels;
    }
    if (td->n_segs == 1 && (!td->have_check || fabsf(t - 0.5f) < fabsf(td->check_t - 0.5f))) {
        free(td->check_x);
        td->check_x = dup_floats(x, mel);
        td->check_t = t;
        td->have_check = td->check_x != NULL;
    }
}

static void timed_add(timing_den *td, double dt, double c0)
{
    td->cpu += md_clock_cpu() - c0;
    if (td->n == 0) td->first = dt, td->min = dt;
    if (dt < td->min) td->min = dt;
    td->sum += dt;
    td->n++;
}

static md_status timed_predict(void *impl, md_ctx *ctx, const float *x, size_t frames, float t, const md_cond *cond,
                               int conditional, float *v)
{
    timing_den *td = impl;
    if (td->capture && conditional) capture(td, x, frames, t, cond);
    double t0 = md_clock_wall(), c0 = md_clock_cpu();
    md_status s = td->inner->predict_v(td->inner->impl, ctx, x, frames, t, cond, conditional, v);
    timed_add(td, md_clock_wall() - t0, c0);
    td->n_slots++;
    return s;
}

/* Several stems' segments (and their guided branches) in one forward
 * (render --batch): one timed pass. Segments are counted, their
 * conditioning not captured: --check and --torch need --batch 1. */
static md_status timed_predict_batch(void *impl, md_ctx *ctx, int items, const float *x, size_t frames, float t,
                                     const md_cond *const *cond, float *v_cond, float *v_uncond)
{
    timing_den *td = impl;
    if (td->n == 0 || t >= td->last_t) td->n_batch_segs += (size_t)items; /* a new segment of every stem */
    td->last_t = t;
    double t0 = md_clock_wall(), c0 = md_clock_cpu();
    md_status s = td->inner->predict_v_batch(td->inner->impl, ctx, items, x, frames, t, cond, v_cond, v_uncond);
    timed_add(td, md_clock_wall() - t0, c0);
    td->n_slots += (size_t)items * (v_uncond ? 2 : 1);
    return s;
}

/* Both guided branches in one batch-2 forward: one timed pass. */
static md_status timed_predict_pair(void *impl, md_ctx *ctx, const float *x, size_t frames, float t,
                                    const md_cond *cond, float *v_cond, float *v_uncond)
{
    timing_den *td = impl;
    if (td->capture) capture(td, x, frames, t, cond);
    double t0 = md_clock_wall(), c0 = md_clock_cpu();
    md_status s = td->inner->predict_v_pair(td->inner->impl, ctx, x, frames, t, cond, v_cond, v_uncond);
    timed_add(td, md_clock_wall() - t0, c0);
    td->n_pair++;
    td->n_slots += 2;
    return s;
}

static void timing_free(timing_den *td)
{
    for (size_t i = 0; i < td->n_segs; i++) free(td->segs[i].harm), free(td->segs[i].roll), free(td->segs[i].onset);
    free(td->check_x);
    memset(td, 0, sizeof *td);
}

/* ---- one render per backend ------------------------------------------------------ */

typedef struct result {
    char backend[16], device[256];
    int ok;
    double t_open, t_parse, t_sample, t_vocode, t_write, t_total, wall, cpu, audio_s, load0, load1;
    size_t forwards, pairs, slots;
    double unet_sum, unet_min, unet_first, unet_cpu;
    int stems;
} result;

static double json_num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static int read_times(const char *dir, result *r)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/render.json", dir);
    FILE *f = fopen(path, "rb");
    if (!f) return 1;
    char *text = malloc(1 << 20);
    size_t n = text ? fread(text, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    if (!text) return 1;
    text[n] = '\0';
    cJSON *root = cJSON_Parse(text);
    free(text);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "time_seconds");
    if (!t) return cJSON_Delete(root), 1;
    r->t_parse = json_num(t, "parse"), r->t_sample = json_num(t, "sample");
    r->t_vocode = json_num(t, "vocode"), r->t_write = json_num(t, "write"), r->t_total = json_num(t, "total");
    cJSON_Delete(root);
    return 0;
}

static md_status open_den(md_ctx *ctx, const bench_opts *o, const char *backend, md_denoiser *den)
{
    md_unet_denoiser_opts uo;
    md_unet_denoiser_opts_init(&uo);
    uo.model_path = o->model;
    uo.backend = backend;
    uo.validation = 0; /* timing the shaders, not the validation layer */
    return md_unet_denoiser_open(ctx, &uo, den);
}

/* `melodiff render --gl-device gpu`: Griffin-Lim's iterations on the
 * default Vulkan device, for the model's transform shape. */
static md_status open_gl(md_ctx *ctx, const md_mel_contract *mc, md_gl_gpu **out)
{
    md_gpu_options go;
    md_gpu_options_init(&go);
    go.validation = 0;
    return md_gl_gpu_create_for_contract(ctx, &go, mc, out);
}

static int render_backend(md_ctx *ctx, const bench_opts *o, const char *midi, const char *backend, timing_den *td,
                          result *r)
{
    memset(r, 0, sizeof *r);
    md_denoiser inner, wrap;
    r->load0 = loadavg();
    double c0 = md_clock_cpu(), t0 = md_clock_wall();
    if (open_den(ctx, o, backend, &inner) != MD_OK) return 1;
    r->t_open = md_clock_wall() - t0;
    snprintf(r->backend, sizeof r->backend, "%s", inner.backend);
    snprintf(r->device, sizeof r->device, "%s", inner.device);
    wrap = inner;
    td->inner = &inner;
    wrap.impl = td;
    wrap.predict_v = timed_predict;
    wrap.predict_v_pair = o->pair && inner.predict_v_pair ? timed_predict_pair : NULL;
    wrap.predict_v_batch = o->batch > 1 && inner.predict_v_batch ? timed_predict_batch : NULL;
    wrap.destroy = NULL;
    md_render_opts ro;
    md_render_opts_default(&ro);
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/%s", o->out, backend);
    ro.midi_path = midi, ro.out_dir = dir, ro.force = 1, ro.stems = o->stems;
    ro.preview_seconds = o->seconds; /* what `melodiff render --seconds` does */
    ro.steps = o->steps, ro.guidance = (float)o->guidance;
    ro.guide_t_lo = o->guide_lo, ro.guide_t_hi = o->guide_hi;
    ro.batch_stems = o->batch; /* `melodiff render --batch` (0: one stem at a time here) */
    ro.vocode_jobs = o->vocode_jobs; /* a group's stems vocoded side by side (render --jobs on Vulkan) */
    if (o->gl_threads > 0) ro.gl.threads = o->gl_threads; /* `melodiff render --threads` */
    ro.sampler = (md_sampler_kind)md_sampler_kind_from_name(o->sampler);
    md_render_report rep;
    md_gl_gpu *gl = NULL;
    md_status s = o->gl_gpu ? open_gl(ctx, &inner.mc, &gl) : MD_OK;
    ro.gl.gpu = gl;
    if (gl) printf("griffin-lim on %s\n", md_gl_gpu_device(gl));
    double t1 = md_clock_wall();
    if (!s) s = md_render_run(ctx, &ro, &wrap, &rep);
    md_gl_gpu_destroy(gl);
    r->wall = md_clock_wall() - t1;
    r->cpu = md_clock_cpu() - c0;
    r->load1 = loadavg();
    md_denoiser_destroy(&inner);
    if (s != MD_OK || read_times(dir, r)) return 1;
    r->audio_s = rep.seconds, r->stems = rep.n_stems_rendered, r->forwards = td->n, r->pairs = td->n_pair;
    r->slots = td->n_slots;
    r->unet_sum = td->sum, r->unet_min = td->min, r->unet_first = td->first;
    r->unet_cpu = td->cpu;
    r->ok = 1;
    return 0;
}

/* ---- the backend comparison ------------------------------------------------------ */

typedef struct check {
    int have[2];        /* vulkan, cpu */
    float *v[2][2];     /* [backend][conditional] */
    md_cond cond;
    size_t frames;
} check;

static int check_backend(md_ctx *ctx, const bench_opts *o, const timing_den *td, int b, check *ck)
{
    md_denoiser den;
    if (open_den(ctx, o, b ? "cpu" : "vulkan", &den) != MD_OK) return 1;
    size_t n = (size_t)den.mc.n_mels * ck->frames;
    int rc = 0;
    for (int c = 0; c < 2 && !rc; c++) {
        ck->v[b][c] = malloc(n * sizeof(float));
        rc = !ck->v[b][c] ||
             den.predict_v(den.impl, ctx, td->check_x, ck->frames, td->check_t, &ck->cond, c, ck->v[b][c]) != MD_OK;
    }
    md_denoiser_destroy(&den);
    ck->have[b] = !rc;
    return rc;
}

static double max_abs_diff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - (double)b[i]));
    return m;
}

static double max_abs(const float *a, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i]));
    return m;
}

/* v on the captured input from both backends (each opened afresh). */
static int run_check(md_ctx *ctx, const bench_opts *o, const timing_den *td, check *ck)
{
    const seg_cond *s = &td->segs[0];
    ck->frames = td->frames;
    ck->cond = (md_cond){.n_frames = td->frames, .n_mels = td->n_mels, .instrument = s->instrument,
                         .roll = s->roll, .onset = s->onset, .harmonic = s->harm};
    for (int b = 0; b < 2; b++)
        if (check_backend(ctx, o, td, b, ck)) return 1;
    size_t n = (size_t)td->n_mels * td->frames;
    for (int c = 1; c >= 0; c--)
        printf("check: v of one sampler input (stem 1, segment 1, t = %.4f, %s, %d x %zu): "
               "max |vulkan - cpu| = %.3g (max |v| = %.3g)\n",
               td->check_t, c ? "conditional" : "unconditional", td->n_mels, td->frames,
               max_abs_diff(ck->v[0][c], ck->v[1][c], n), max_abs(ck->v[1][c], n));
    return 0;
}

static void check_free(check *ck)
{
    for (int b = 0; b < 2; b++)
        for (int c = 0; c < 2; c++) free(ck->v[b][c]);
}

/* ---- the file for the PyTorch peer ---------------------------------------------- */

static md_status add_planes(md_ctx *ctx, md_st_writer *w, const char *name, const timing_den *td, int which, int rows)
{
    size_t plane = (size_t)rows * td->frames;
    float *all = malloc(td->n_segs * plane * sizeof *all);
    if (!all) return md_fail(ctx, MD_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < td->n_segs; i++) {
        const seg_cond *s = &td->segs[i];
        const float *src = which == 0 ? s->harm : which == 1 ? s->roll : s->onset;
        memcpy(&all[i * plane], src, plane * sizeof *all);
    }
    int64_t shape[3] = {(int64_t)td->n_segs, rows, (int64_t)td->frames};
    md_status st = md_st_writer_add(ctx, w, name, MD_ST_F32, 3, shape, all);
    free(all);
    return st;
}

static md_status add_check(md_ctx *ctx, md_st_writer *w, const timing_den *td, const check *ck)
{
    int64_t shape[2] = {td->n_mels, (int64_t)td->frames}, one[1] = {1};
    static const char *names[2][2] = {{"v_vulkan_uncond", "v_vulkan_cond"}, {"v_cpu_uncond", "v_cpu_cond"}};
    md_status s = md_st_writer_add(ctx, w, "check_x", MD_ST_F32, 2, shape, td->check_x);
    if (!s) s = md_st_writer_add(ctx, w, "check_t", MD_ST_F32, 1, one, &td->check_t);
    for (int b = 0; b < 2 && !s; b++)
        for (int c = 0; c < 2 && !s; c++)
            if (ck->have[b]) s = md_st_writer_add(ctx, w, names[b][c], MD_ST_F32, 2, shape, ck->v[b][c]);
    return s;
}

static md_status write_dump(md_ctx *ctx, const bench_opts *o, const timing_den *td, const check *ck,
                            const char *melodiff_json, const char *path)
{
    md_st_writer *w = NULL;
    if (td->capture_oom || td->n_segs == 0) return md_fail(ctx, MD_ERR_NOMEM, "no conditioning was recorded for the peer");
    int32_t *inst = malloc(td->n_segs * sizeof *inst);
    if (!inst) return md_fail(ctx, MD_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < td->n_segs; i++) inst[i] = td->segs[i].instrument;
    int64_t ns[1] = {(int64_t)td->n_segs};
    char steps[32], guid[32];
    snprintf(steps, sizeof steps, "%d", o->steps);
    snprintf(guid, sizeof guid, "%.9g", o->guidance);
    md_status s = md_st_writer_create(ctx, &w);
    if (!s) s = add_planes(ctx, w, "harm", td, 0, td->n_mels);
    if (!s) s = add_planes(ctx, w, "roll", td, 1, MD_COND_KEYS);
    if (!s) s = add_planes(ctx, w, "onset", td, 2, MD_COND_KEYS);
    if (!s) s = md_st_writer_add(ctx, w, "instrument", MD_ST_I32, 1, ns, inst);
    if (!s && td->have_check) s = add_check(ctx, w, td, ck);
    if (!s) s = md_st_writer_meta(ctx, w, "steps", steps);
    if (!s) s = md_st_writer_meta(ctx, w, "guidance", guid);
    char gint[64] = "all";
    if (o->guide_hi > o->guide_lo) snprintf(gint, sizeof gint, "%.9g,%.9g", o->guide_lo, o->guide_hi);
    if (!s) s = md_st_writer_meta(ctx, w, "guidance_interval", gint);
    if (!s) s = md_st_writer_meta(ctx, w, "sampler", o->sampler);
    if (!s) s = md_st_writer_meta(ctx, w, "melodiff", melodiff_json);
    if (!s) s = md_st_writer_save(ctx, w, path, 1);
    md_st_writer_destroy(w);
    free(inst);
    return s;
}

/* ---- --layers: every convolution of the model's U-Net timed on its own ---------- */

typedef struct conv_shape {
    char name[24];
    int cin, cout, k, stride, h, w; /* input h x w */
} conv_shape;

static void add_conv(conv_shape *v, int *n, const char *name, int cin, int cout, int k, int stride, int h, int w)
{
    if (*n >= 256) return;
    conv_shape *c = &v[(*n)++];
    snprintf(c->name, sizeof c->name, "%s", name);
    c->cin = cin, c->cout = cout, c->k = k, c->stride = stride, c->h = h, c->w = w;
}

static void add_res(conv_shape *v, int *n, const char *name, int cin, int cout, int h, int w)
{
    char b[24];
    snprintf(b, sizeof b, "%s.conv1", name), add_conv(v, n, b, cin, cout, 3, 1, h, w);
    snprintf(b, sizeof b, "%s.conv2", name), add_conv(v, n, b, cout, cout, 3, 1, h, w);
    if (cin != cout) snprintf(b, sizeof b, "%s.skip", name), add_conv(v, n, b, cin, cout, 1, 1, h, w);
}

/* The convolutions of tools/train/model.py's UNet, in graph order. */
static int list_convs(const md_unet_config *c, int frames, conv_shape *v)
{
    int n = 0, ch = c->base_channels, cur = ch, h = c->n_mels, w = frames, ns = 0, skip[64], li = 0;
    char b[24];
    add_conv(v, &n, "conv_in", c->in_channels, ch, 3, 1, h, w);
    skip[ns++] = ch;
    for (int l = 0; l < c->n_levels; l++) {
        for (int r = 0; r < c->res_blocks; r++, li++) {
            snprintf(b, sizeof b, "down.%d", li), add_res(v, &n, b, cur, ch * c->channel_mults[l], h, w);
            cur = skip[ns++] = ch * c->channel_mults[l];
        }
        if (l == c->n_levels - 1) continue;
        snprintf(b, sizeof b, "down.%d.conv", li++), add_conv(v, &n, b, cur, cur, 3, 2, h, w);
        skip[ns++] = cur, h = (h + 1) / 2, w = (w + 1) / 2;
    }
    add_res(v, &n, "mid1", cur, cur, h, w), add_res(v, &n, "mid2", cur, cur, h, w);
    li = 0;
    for (int l = c->n_levels - 1; l >= 0; l--) {
        for (int r = 0; r <= c->res_blocks; r++, li++) {
            snprintf(b, sizeof b, "up.%d", li), add_res(v, &n, b, cur + skip[--ns], ch * c->channel_mults[l], h, w);
            cur = ch * c->channel_mults[l];
        }
        if (l == 0) continue;
        h *= 2, w *= 2;
        snprintf(b, sizeof b, "up.%d.conv", li++), add_conv(v, &n, b, cur, cur, 3, 1, h, w);
    }
    add_conv(v, &n, "conv_out", cur, c->out_channels, 3, 1, h, w);
    return n;
}

/* Best of `reps` runs of one conv (after a warm-up that builds its pipeline). */
static md_status time_conv(md_nn *nn, const conv_shape *cs, int reps, double *best)
{
    md_tensor x = {0}, wt = {0}, b = {0}, y = {0};
    md_conv_params p = {.stride_h = cs->stride, .stride_w = cs->stride, .pad_h = cs->k / 2, .pad_w = cs->k / 2};
    int oh = md_conv_out_size(cs->h, cs->k, cs->stride, p.pad_h), ow = md_conv_out_size(cs->w, cs->k, cs->stride, p.pad_w);
    size_t nx = (size_t)cs->cin * cs->h * cs->w, nw = (size_t)cs->cout * cs->cin * cs->k * cs->k;
    float *host = malloc((nx > nw ? nx : nw) * sizeof *host);
    md_status s = host ? MD_OK : md_fail(md_nn_ctx(nn), MD_ERR_NOMEM, "out of memory");
    for (size_t i = 0; host && i < (nx > nw ? nx : nw); i++) host[i] = (float)((i * 2654435761u) % 1000) / 5000.0f - 0.1f;
    if (!s) s = md_nn_tensor_alloc(nn, &x, 1, cs->cin, cs->h, cs->w);
    if (!s) s = md_nn_tensor_alloc(nn, &wt, cs->cout, cs->cin, cs->k, cs->k);
    if (!s) s = md_nn_tensor_alloc(nn, &b, 1, cs->cout, 1, 1);
    if (!s) s = md_nn_tensor_alloc(nn, &y, 1, cs->cout, oh, ow);
    if (!s) s = md_nn_upload(nn, &x, host);
    if (!s) s = md_nn_upload(nn, &wt, host);
    if (!s) s = md_nn_upload(nn, &b, host);
    *best = 1e30;
    for (int r = -1; r < reps && !s; r++) {
        double t0 = md_clock_wall();
        s = md_nn_conv2d(nn, &x, &wt, &b, NULL, NULL, &p, &y);
        if (!s) s = md_nn_sync(nn);
        if (r >= 0 && md_clock_wall() - t0 < *best) *best = md_clock_wall() - t0;
    }
    md_nn_tensor_free(nn, &x), md_nn_tensor_free(nn, &wt), md_nn_tensor_free(nn, &b), md_nn_tensor_free(nn, &y);
    free(host);
    return s;
}

static int bench_layers(md_ctx *ctx, const bench_opts *o, int frames)
{
    md_gpu_options go;
    md_gpu_options_init(&go);
    go.validation = 0;
    md_gpu *gpu = NULL;
    md_nn *nn = NULL;
    md_unet *u = NULL;
    conv_shape *v = calloc(256, sizeof *v);
    int rc = !v || md_gpu_create(ctx, &go, &gpu) || md_nn_create_gpu(gpu, &nn) || md_unet_load_file(nn, o->model, &u);
    int n = rc ? 0 : list_convs(md_unet_get_config(u), frames, v);
    double total = 0, flops_total = 0;
    if (!rc) printf("every conv of one U-Net forward (%d frames) timed alone on %s, best of 3 (wall ms incl. submit):\n",
                    frames, md_gpu_get_caps(gpu)->info.name);
    for (int i = 0; i < n && !rc; i++) {
        double best;
        const conv_shape *c = &v[i];
        rc = time_conv(nn, c, 3, &best) != MD_OK;
        double fl = 2.0 * c->cin * c->cout * c->k * c->k * md_conv_out_size(c->h, c->k, c->stride, c->k / 2) *
                    md_conv_out_size(c->w, c->k, c->stride, c->k / 2);
        total += best, flops_total += fl;
        if (!rc)
            printf("  %-16s %4d -> %4d k%d s%d  in %3d x %3d  %7.3f GFLOP  %8.1f ms  %5.2f GFLOP/s\n", c->name, c->cin,
                   c->cout, c->k, c->stride, c->h, c->w, fl / 1e9, best * 1e3, fl / best / 1e9);
    }
    if (!rc) printf("  %-16s %d convs                         %7.3f GFLOP  %8.1f ms  %5.2f GFLOP/s\n", "total", n,
                    flops_total / 1e9, total * 1e3, flops_total / total / 1e9);
    if (rc) fprintf(stderr, "bench_render: --layers: %s\n", md_ctx_error(ctx));
    md_unet_destroy(u);
    md_nn_destroy(nn);
    md_gpu_destroy(gpu);
    free(v);
    return rc;
}

/* ---- output ------------------------------------------------------------------------ */

static void print_table(const bench_opts *o, const result *r, size_t n_segs)
{
    double mean = r->forwards ? r->unet_sum / (double)r->forwards : 0;
    printf("\nmelodiff render, backend %s (%s)\n", r->backend, r->device);
    printf("  workload: %.2f s of audio written, %d stems, %zu segments of 256 frames, %s %d steps, "
           "guidance %.2f -> %zu U-Net forwards (%zu of them batch-2 guided pairs; %zu batch items in all, "
           "--batch %d)\n",
           r->audio_s, r->stems, n_segs, o->sampler, o->steps, o->guidance, r->forwards, r->pairs, r->slots,
           o->batch > 1 ? o->batch : 1);
    printf("  %-38s %10s %8s\n", "stage", "wall s", "share");
    const char *names[] = {"parse", "conditioning + sampling", "  of which U-Net forwards",
                           "  of which conditioning + sampler math", "vocoder (Griffin-Lim) + PNG", "write (wav, mix, manifest)",
                           "total md_render_run"};
    double vals[] = {r->t_parse, r->t_sample, r->unet_sum, r->t_sample - r->unet_sum, r->t_vocode, r->t_write, r->t_total};
    for (int i = 0; i < 7; i++) printf("  %-38s %10.3f %7.1f%%\n", names[i], vals[i], 100 * vals[i] / r->t_total);
    printf("  model open (device, weights, pipelines) %8.3f s, not in the render\n", r->t_open);
    printf("  U-Net forward: mean %.1f ms, min %.1f ms, first %.1f ms; process CPU %.1f ms per forward\n", mean * 1e3,
           r->unet_min * 1e3, r->unet_first * 1e3, r->forwards ? r->unet_cpu / (double)r->forwards * 1e3 : 0);
    printf("  process CPU %.1f s over open + render (all threads); load average %.2f before, %.2f after\n", r->cpu,
           r->load0, r->load1);
    printf("  RTF (audio s / render wall s) = %.4f   (%.1f x slower than real time)\n", r->audio_s / r->t_total,
           r->t_total / r->audio_s);
    /* Peak memory so far in this process (all backends run so far): the
     * render streams its audio, so this should not grow with the song. */
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) printf("  peak RSS of the process so far: %.1f MB\n", ru.ru_maxrss / 1024.0);
    if (o->extrap_steps > 0 && o->extrap_steps != o->steps) {
        double fw = (double)r->forwards * o->extrap_steps / o->steps;
        double est = r->t_total - r->unet_sum + fw * mean;
        printf("  EXTRAPOLATED to %d steps (%.0f forwards at the measured mean, rest as measured): "
               "render %.0f s, RTF %.4f\n", o->extrap_steps, fw, est, r->audio_s / est);
    }
}

static char *result_json(const bench_opts *o, const result *r, size_t n_segs)
{
    cJSON *j = cJSON_CreateObject();
    double mean = r->forwards ? r->unet_sum / (double)r->forwards : 0;
    cJSON_AddStringToObject(j, "bench", "render");
    cJSON_AddStringToObject(j, "backend", r->backend);
    cJSON_AddStringToObject(j, "device", r->device);
    cJSON_AddNumberToObject(j, "audio_seconds", r->audio_s);
    cJSON_AddNumberToObject(j, "stems", r->stems);
    cJSON_AddNumberToObject(j, "segments", (double)n_segs);
    cJSON_AddStringToObject(j, "sampler", o->sampler);
    cJSON_AddNumberToObject(j, "steps", o->steps);
    cJSON_AddNumberToObject(j, "guidance", o->guidance);
    cJSON_AddNumberToObject(j, "forwards", (double)r->forwards);
    cJSON_AddNumberToObject(j, "pair_forwards", (double)r->pairs);
    cJSON_AddNumberToObject(j, "batch_items", (double)r->slots);
    cJSON_AddNumberToObject(j, "batch_stems", o->batch > 1 ? o->batch : 1);
    cJSON_AddNumberToObject(j, "t_open", r->t_open);
    cJSON_AddNumberToObject(j, "t_parse", r->t_parse);
    cJSON_AddNumberToObject(j, "t_sample", r->t_sample);
    cJSON_AddNumberToObject(j, "t_unet", r->unet_sum);
    cJSON_AddNumberToObject(j, "t_vocode", r->t_vocode);
    cJSON_AddNumberToObject(j, "t_write", r->t_write);
    cJSON_AddNumberToObject(j, "t_total", r->t_total);
    cJSON_AddNumberToObject(j, "unet_ms_mean", mean * 1e3);
    cJSON_AddNumberToObject(j, "unet_ms_min", r->unet_min * 1e3);
    cJSON_AddNumberToObject(j, "unet_ms_first", r->unet_first * 1e3);
    cJSON_AddNumberToObject(j, "unet_cpu_ms_mean", r->forwards ? r->unet_cpu / (double)r->forwards * 1e3 : 0);
    cJSON_AddNumberToObject(j, "cpu_seconds", r->cpu);
    cJSON_AddNumberToObject(j, "rtf", r->audio_s / r->t_total);
    cJSON_AddNumberToObject(j, "load_before", r->load0);
    cJSON_AddNumberToObject(j, "load_after", r->load1);
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return text;
}

/* ---- main ------------------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_render --model M.safetensors [--midi samples/demo.mid] [--steps 8] [--guidance 1.5]\n"
               "                    [--sampler dpmpp2m|ddim] [--backend vulkan|cpu|both] [--seconds S (preview)]\n"
               "                    [--stems LIST] [--out DIR (/tmp/bench_render)] [--check] [--torch]\n"
               "                    [--extrapolate-steps N] [--pair 0|1 (batch-2 guided steps, default 1)]\n"
               "                    [--threads N (Griffin-Lim threads, as render --threads)]\n"
               "                    [--batch N (stems per U-Net pass, as render --batch; default 1)]\n"
               "                    [--vocode-jobs N (a group's stems vocoded side by side; default 1)]\n"
               "                    [--gl-device cpu|gpu (where Griffin-Lim iterates, as render; default cpu)]\n"
               "                    [--guidance-interval LO,HI (as render; default render's)]\n"
               "       bench_render --model M.safetensors --layers   (time each conv of one forward alone)\n");
}

static int parse(int argc, char **argv, bench_opts *o)
{
    static const struct option lo[] = {
        {"model", 1, 0, 'm'},   {"midi", 1, 0, 'i'},  {"steps", 1, 0, 'n'},   {"guidance", 1, 0, 'g'},
        {"sampler", 1, 0, 'S'}, {"backend", 1, 0, 'b'}, {"seconds", 1, 0, 's'}, {"stems", 1, 0, 'k'},
        {"out", 1, 0, 'o'},     {"check", 0, 0, 'c'}, {"torch", 0, 0, 't'},   {"extrapolate-steps", 1, 0, 'x'},
        {"layers", 0, 0, 'L'},  {"pair", 1, 0, 'P'},  {"threads", 1, 0, 'T'}, {"batch", 1, 0, 'B'},
        {"vocode-jobs", 1, 0, 'V'}, {"gl-device", 1, 0, 'G'}, {"guidance-interval", 1, 0, 'I'},
        {"help", 0, 0, 'h'},
        {0, 0, 0, 0}};
    for (int c; (c = getopt_long(argc, argv, "m:h", lo, NULL)) != -1;) {
        if (c == 'm') o->model = optarg;
        else if (c == 'i') o->midi = optarg;
        else if (c == 'n') o->steps = atoi(optarg);
        else if (c == 'g') o->guidance = atof(optarg);
        else if (c == 'S') o->sampler = optarg;
        else if (c == 'b') o->backend = optarg;
        else if (c == 's') o->seconds = atof(optarg);
        else if (c == 'k') o->stems = optarg;
        else if (c == 'o') o->out = optarg;
        else if (c == 'c') o->check = 1;
        else if (c == 't') o->torch = 1;
        else if (c == 'x') o->extrap_steps = atoi(optarg);
        else if (c == 'L') o->layers = 1;
        else if (c == 'P') o->pair = atoi(optarg) != 0;
        else if (c == 'T') o->gl_threads = atoi(optarg);
        else if (c == 'B') o->batch = atoi(optarg);
        else if (c == 'V') o->vocode_jobs = atoi(optarg);
        else if (c == 'G' && (!strcmp(optarg, "cpu") || !strcmp(optarg, "gpu"))) o->gl_gpu = !strcmp(optarg, "gpu");
        else if (c == 'I' && !strcmp(optarg, "all")) o->guide_lo = o->guide_hi = 0;
        else if (c == 'I' && sscanf(optarg, "%f,%f", &o->guide_lo, &o->guide_hi) == 2 && o->guide_lo >= 0 &&
                 o->guide_lo < o->guide_hi && o->guide_hi <= 1) continue;
        else return usage(c == 'h' ? stdout : stderr), c == 'h' ? 1 : 2;
    }
    int bad = !o->model || o->steps < 1 || o->batch < 0 || o->batch > MD_RENDER_MAX_BATCH ||
              (o->batch > 1 && (o->check || o->torch)) || !(o->guidance >= 0) || o->seconds < 0 ||
              md_sampler_kind_from_name(o->sampler) < 0 ||
              (strcmp(o->backend, "vulkan") && strcmp(o->backend, "cpu") && strcmp(o->backend, "both"));
    if (bad) usage(stderr);
    return bad ? 2 : 0;
}

static int run_peer(const bench_opts *o, const char *dump)
{
    char cmd[4096];
    /* The peer's default threads equal lavapipe's; it repeats with one
     * thread, which a busy shared machine can favour (BENCHMARKS.md, render section). */
    snprintf(cmd, sizeof cmd, "python3 '%s/tools/bench/bench_render_torch.py' '%s' --model '%s' --also-threads 1",
             MD_SOURCE_DIR, dump, o->model);
    fflush(stdout);
    return system(cmd) != 0;
}

static int bench(md_ctx *ctx, const bench_opts *o, const char *midi, timing_den *tds)
{
    const char *which[2] = {"vulkan", "cpu"};
    int use[2] = {strcmp(o->backend, "cpu") != 0, strcmp(o->backend, "vulkan") != 0};
    char *js[2] = {NULL, NULL};
    int rc = 0, first = -1;
    for (int b = 0; b < 2 && !rc; b++) {
        if (!use[b]) continue;
        result r;
        tds[b].capture = first < 0;
        if (render_backend(ctx, o, midi, which[b], &tds[b], &r)) {
            fprintf(stderr, "bench_render: %s: %s\n", which[b], md_ctx_error(ctx));
            return 1;
        }
        if (first < 0) first = b;
        print_table(o, &r, tds[first].n_segs + tds[first].n_batch_segs);
        js[b] = result_json(o, &r, tds[first].n_segs + tds[first].n_batch_segs);
        printf("JSON %s\n", js[b] ? js[b] : "{}");
    }
    check ck;
    memset(&ck, 0, sizeof ck);
    const timing_den *td = &tds[first];
    if (o->check && td->have_check && !td->capture_oom && run_check(ctx, o, td, &ck)) {
        fprintf(stderr, "bench_render: check: %s\n", md_ctx_error(ctx));
        rc = 1;
    }
    if (!rc && o->torch) {
        char dump[1100];
        snprintf(dump, sizeof dump, "%s/bench_render.safetensors", o->out);
        if (write_dump(ctx, o, td, &ck, js[first] ? js[first] : "{}", dump) != MD_OK) {
            fprintf(stderr, "bench_render: %s\n", md_ctx_error(ctx));
            rc = 1;
        } else {
            rc = run_peer(o, dump);
        }
    }
    check_free(&ck);
    free(js[0]), free(js[1]);
    return rc;
}

int main(int argc, char **argv)
{
    md_render_opts defaults; /* steps and guidance default to `melodiff render`'s */
    md_render_opts_default(&defaults);
    bench_opts o = {.midi = MD_SOURCE_DIR "/samples/demo.mid", .out = "/tmp/bench_render", .backend = "vulkan",
                    .sampler = "dpmpp2m", .steps = defaults.steps, .guidance = defaults.guidance, .pair = 1,
                    .guide_lo = defaults.guide_t_lo, .guide_hi = defaults.guide_t_hi};
    int pr = parse(argc, argv, &o);
    if (pr) return pr == 1 ? 0 : 2;
    /* A forward can take seconds on lavapipe under load; the runtime's
     * default 10 s wait is for tests. */
    setenv("MELODIFF_GPU_TIMEOUT_MS", "600000", 0);
    md_ctx *ctx = NULL;
    if (md_ctx_create(&ctx) != MD_OK) return 1;
    if (o.layers) {
        int rc = bench_layers(ctx, &o, 256);
        md_ctx_destroy(ctx);
        return rc;
    }
    mkdir(o.out, 0777);
    const char *lp = getenv("LP_NUM_THREADS");
    char span[64] = "whole song";
    if (o.seconds > 0) snprintf(span, sizeof span, "first %g s", o.seconds);
    printf("bench_render: %s (%s), model %s\nLP_NUM_THREADS=%s\n", o.midi, span, o.model,
           lp ? lp : "(unset: lavapipe uses one thread per core)");
    timing_den *tds = calloc(2, sizeof *tds);
    int rc = tds ? bench(ctx, &o, o.midi, tds) : 1;
    if (tds) timing_free(&tds[0]), timing_free(&tds[1]);
    free(tds);
    md_ctx_destroy(ctx);
    return rc;
}
