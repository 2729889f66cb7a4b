/* One stem: conditioning window -> sampler over segments -> log-mel image. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "render/render_internal.h"
#include "render/segments.h"

typedef struct predict_ctx {
    md_denoiser *den;
    md_ctx *ctx;
    const md_cond *cond;
    size_t frames;
} predict_ctx;

static md_status predict(void *user, const float *x, size_t n, float t, int conditional, float *v)
{
    predict_ctx *p = user;
    (void)n;
    return p->den->predict_v(p->den->impl, p->ctx, x, p->frames, t, p->cond, conditional, v);
}

/* Both guided branches in one denoiser call (one batched network pass). */
static md_status predict_pair(void *user, const float *x, size_t n, float t, float *v_cond, float *v_uncond)
{
    predict_ctx *p = user;
    (void)n;
    return p->den->predict_v_pair(p->den->impl, p->ctx, x, p->frames, t, p->cond, v_cond, v_uncond);
}

/* Copies the held overlap of segment g out of the stem image (normalised). */
static void fill_known(const md_segment *g, const float *image, size_t rows, size_t n_frames,
                       float *known, float *mask)
{
    memset(mask, 0, rows * g->frames * sizeof *mask);
    for (size_t r = 0; r < rows; r++)
        for (size_t t = 0; t < g->held; t++) {
            known[r * g->frames + t] = image[r * n_frames + g->start + t];
            mask[r * g->frames + t] = 1.0f;
        }
}

static void report(const md_render_opts *o, int index, int n, const md_stem *stem, size_t seg, size_t nseg)
{
    if (!o->progress) return;
    md_render_progress p = {index, n, stem->name, seg, nseg, "sample"};
    o->progress(o->progress_user, &p);
}

static md_status sample_segments(md_ctx *ctx, const md_render_opts *o, md_denoiser *den, const md_stem *stem,
                                 int stem_index, int pi, int pn, const md_segment_plan *plan,
                                 size_t n_frames, float *image)
{
    size_t rows = (size_t)den->mc.n_mels, seg_n = rows * plan->seg_frames;
    float *x = malloc(seg_n * sizeof *x), *known = malloc(seg_n * sizeof *known);
    float *mask = malloc(seg_n * sizeof *mask);
    md_status s = (x && known && mask) ? MD_OK : md_fail(ctx, MD_ERR_NOMEM, "out of memory for a segment");
    for (size_t i = 0; s == MD_OK && i < plan->count; i++) {
        const md_segment *g = &plan->seg[i];
        report(o, pi, pn, stem, i, plan->count);
        md_cond cond;
        s = md_cond_build_window(ctx, stem, &den->mc, g->start, g->frames, &cond);
        if (s) break;
        fill_known(g, image, rows, n_frames, known, mask);
        md_sampler_cfg cfg = {o->sampler, o->steps, o->guidance, g->held ? known : NULL, g->held ? mask : NULL};
        md_rng_key key = {o->seed, (uint32_t)stem_index, (uint32_t)i, 0};
        predict_ctx pc = {den, ctx, &cond, g->frames};
        s = md_sample_guided(ctx, &cfg, &key, seg_n, predict, den->predict_v_pair ? predict_pair : NULL, &pc, x);
        md_cond_free(&cond);
        if (!s) md_segment_place(plan, i, x, rows, image, n_frames);
    }
    free(x), free(known), free(mask);
    return s;
}

md_status md_render_stem_logmel(md_ctx *ctx, const md_render_opts *o, md_denoiser *den,
                                const md_stem *stem, int stem_index, int progress_index, int n_progress,
                                size_t n_frames, float *logmel)
{
    size_t mult = (size_t)(den->frame_multiple > 0 ? den->frame_multiple : 1);
    size_t seg = ((size_t)o->segment_frames + mult - 1) / mult * mult;
    md_segment_plan plan;
    md_status s = md_segment_plan_make(ctx, n_frames, seg, (size_t)o->overlap_frames, mult, &plan);
    if (s) return s;
    size_t total = (size_t)den->mc.n_mels * n_frames;
    memset(logmel, 0, total * sizeof *logmel);
    s = sample_segments(ctx, o, den, stem, stem_index, progress_index, n_progress, &plan, n_frames, logmel);
    md_segment_plan_free(&plan);
    /* Below the contract's floor there is nothing to hear; clamping keeps the
     * vocoder from chasing numerical noise in silent regions. */
    float floor_ln = logf(den->mc.log_floor);
    for (size_t i = 0; s == MD_OK && i < total; i++) {
        float v = logmel[i] * den->data_std + den->data_mean;
        logmel[i] = v < floor_ln ? floor_ln : v;
    }
    /* The model draws the stem at its training level; the song's own volume
     * and expression automation is an exact gain (cond.h, "Level curves"). */
    if (s == MD_OK) md_cond_apply_level(stem, &den->mc, 0, n_frames, logmel);
    return s;
}
