/* One stem: conditioning window -> sampler over segments -> log-mel image. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "render/render_internal.h"
#include "render/gate.h"
#include "render/segments.h"
#include "notebank/notebank.h"

typedef struct predict_ctx {
    md_denoiser *den;
    md_ctx *ctx;
    const md_cond *const *cond; /* one per item */
    size_t frames;
} predict_ctx;

static md_status predict(void *user, const float *x, size_t n, float t, int conditional, float *v)
{
    predict_ctx *p = user;
    (void)n;
    return p->den->predict_v(p->den->impl, p->ctx, x, p->frames, t, p->cond[0], conditional, v);
}

/* Both guided branches in one denoiser call (one batched network pass). */
static md_status predict_pair(void *user, const float *x, size_t n, float t, float *v_cond, float *v_uncond)
{
    predict_ctx *p = user;
    (void)n;
    return p->den->predict_v_pair(p->den->impl, p->ctx, x, p->frames, t, p->cond[0], v_cond, v_uncond);
}

/* Every stem's segment of a lockstep group in one denoiser call. */
static md_status predict_batch(void *user, const float *x, size_t n, int items, float t, float *v_cond,
                               float *v_uncond)
{
    predict_ctx *p = user;
    (void)n;
    return p->den->predict_v_batch(p->den->impl, p->ctx, items, x, p->frames, t, p->cond, v_cond, v_uncond);
}

/* A group's segment buffers: x, held values, mask and the prior (when the
 * render has one) for every stem of the batch, and one segment of silence
 * (the floor, normalised). */
typedef struct seg_bufs {
    float *x, *known, *mask, *floor, *init;
} seg_bufs;

/* The note bank's drawing of segment g of a stem, normalised as the model's
 * images are: where the shallow diffusion starts (render.h, prior). */
static md_status draw_prior(md_ctx *ctx, const md_render_opts *o, const md_denoiser *den, const md_stem_job *job,
                            const md_segment *g, float *init)
{
    size_t n = (size_t)den->mc.n_mels * g->frames;
    md_status s = md_notebank_draw(ctx, o->prior, job->stem, job->note_ends, g->start, g->frames, init);
    for (size_t k = 0; s == MD_OK && k < n; k++) init[k] = (init[k] - den->data_mean) / den->data_std;
    return s;
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

static void report(const md_render_opts *o, const md_stem_job *job, int n, size_t seg, size_t nseg)
{
    if (!o->progress) return;
    md_render_progress p = {job->progress_index, n, job->stem->name, seg, nseg, "sample"};
    o->progress(o->progress_user, &p);
}

/* Segment g of a stem needs the model unless its gate (gate.h) is closed
 * over all of it: then its image stays at the floor. */
static int needs_model(const md_stem_job *job, const md_segment *g, size_t n_frames)
{
    return !job->gate || !md_gate_closed(job->gate, n_frames, g->start, g->frames);
}

/* The note bank's drawing alone (--prior 0): no conditioning, no sampler,
 * no model; the drawing is placed as a sampled segment would be. */
static md_status draw_busy(md_ctx *ctx, const md_render_opts *o, const md_denoiser *den, const md_stem_job *jobs,
                           const int *busy, int nb, const md_segment_plan *plan, size_t i, size_t n_frames,
                           seg_bufs *sb)
{
    const md_segment *g = &plan->seg[i];
    size_t rows = (size_t)den->mc.n_mels, seg_n = rows * plan->seg_frames;
    md_status s = MD_OK;
    for (int b = 0; s == MD_OK && b < nb; b++) {
        s = draw_prior(ctx, o, den, &jobs[busy[b]], g, sb->x + b * seg_n);
        if (s == MD_OK) md_segment_place(plan, i, sb->x + b * seg_n, rows, jobs[busy[b]].logmel, n_frames);
    }
    return s;
}

/* One sampler run over the listed stems' segment g: conditioning, held
 * overlap, noise key and (with a note bank) starting drawing per stem, one
 * denoiser call per step for all. */
static md_status sample_busy(md_ctx *ctx, const md_render_opts *o, md_denoiser *den, const md_stem_job *jobs,
                             const int *busy, int nb, const md_segment_plan *plan, size_t i, size_t n_frames,
                             seg_bufs *sb)
{
    const md_segment *g = &plan->seg[i];
    size_t rows = (size_t)den->mc.n_mels, seg_n = rows * plan->seg_frames;
    md_cond cond[MD_RENDER_MAX_BATCH];
    const md_cond *cp[MD_RENDER_MAX_BATCH];
    md_rng_key keys[MD_RENDER_MAX_BATCH];
    int built = 0;
    md_status s = MD_OK;
    for (; built < nb; built++) {
        const md_stem_job *jb = &jobs[busy[built]];
        s = md_cond_build_window(ctx, jb->stem, &den->mc, g->start, g->frames, &cond[built]);
        if (s) break;
        cp[built] = &cond[built];
        fill_known(g, jb->logmel, rows, n_frames, sb->known + built * seg_n, sb->mask + built * seg_n);
        keys[built] = (md_rng_key){o->seed, (uint32_t)jb->stem_index, (uint32_t)i, 0};
        if (o->prior) s = draw_prior(ctx, o, den, jb, g, sb->init + built * seg_n);
        /* A refiner sees the drawing where other models see the harmonic image. */
        if (!s && den->cond_notebank)
            memcpy(cond[built].harmonic, sb->init + built * seg_n, rows * g->frames * sizeof *sb->init);
        if (s) {
            built++; /* its conditioning is freed below with the others */
            break;
        }
    }
    md_sampler_cfg cfg = {o->sampler, o->steps, o->guidance, g->held ? sb->known : NULL, g->held ? sb->mask : NULL,
                          o->guide_t_lo, o->guide_t_hi, o->prior ? sb->init : NULL, o->prior ? o->prior_t : 0};
    predict_ctx pc = {den, ctx, cp, g->frames};
    if (s == MD_OK && den->predict_v_batch)
        s = md_sample_batch(ctx, &cfg, keys, nb, seg_n, predict_batch, &pc, sb->x);
    else if (s == MD_OK)
        s = md_sample_guided(ctx, &cfg, &keys[0], seg_n, predict, den->predict_v_pair ? predict_pair : NULL, &pc,
                             sb->x);
    for (int b = 0; b < built; b++) md_cond_free(&cond[b]);
    for (int b = 0; s == MD_OK && b < nb; b++)
        md_segment_place(plan, i, sb->x + b * seg_n, rows, jobs[busy[b]].logmel, n_frames);
    return s;
}

/* Segment i of every stem of the group: the silent ones placed as floor,
 * the rest sampled together. */
static md_status sample_segment(md_ctx *ctx, const md_render_opts *o, md_denoiser *den, md_stem_job *jobs,
                                int count, const md_segment_plan *plan, size_t i, size_t n_frames, seg_bufs *sb)
{
    int busy[MD_RENDER_MAX_BATCH], nb = 0;
    for (int b = 0; b < count; b++) {
        if (needs_model(&jobs[b], &plan->seg[i], n_frames)) {
            busy[nb++] = b;
            continue;
        }
        jobs[b].silent_segments++;
        md_segment_place(plan, i, sb->floor, (size_t)den->mc.n_mels, jobs[b].logmel, n_frames);
    }
    if (!nb) return MD_OK;
    if (o->prior && o->prior_t <= 0) return draw_busy(ctx, o, den, jobs, busy, nb, plan, i, n_frames, sb);
    return sample_busy(ctx, o, den, jobs, busy, nb, plan, i, n_frames, sb);
}

static md_status sample_segments(md_ctx *ctx, const md_render_opts *o, md_denoiser *den, md_stem_job *jobs,
                                 int count, int n_progress, const md_segment_plan *plan, size_t n_frames)
{
    size_t seg_n = (size_t)den->mc.n_mels * plan->seg_frames, all = seg_n * (size_t)count;
    seg_bufs sb = {malloc(all * sizeof(float)), malloc(all * sizeof(float)), malloc(all * sizeof(float)),
                   malloc(seg_n * sizeof(float)), o->prior && o->prior_t > 0 ? malloc(all * sizeof(float)) : NULL};
    md_status s = MD_OK;
    if (!sb.x || !sb.known || !sb.mask || !sb.floor || (o->prior && o->prior_t > 0 && !sb.init))
        s = md_fail(ctx, MD_ERR_NOMEM, "out of memory for a segment");
    float floor_x = (logf(den->mc.log_floor) - den->data_mean) / den->data_std; /* silence, normalised */
    for (size_t k = 0; sb.floor && k < seg_n; k++) sb.floor[k] = floor_x;
    for (size_t i = 0; s == MD_OK && i < plan->count; i++) {
        for (int b = 0; b < count; b++) report(o, &jobs[b], n_progress, i, plan->count);
        s = sample_segment(ctx, o, den, jobs, count, plan, i, n_frames, &sb);
    }
    for (int b = 0; b < count; b++) jobs[b].segments = plan->count;
    free(sb.x), free(sb.known), free(sb.mask), free(sb.floor), free(sb.init);
    return s;
}

/* Normalised image -> log-mel, gated, at the stem's own level. */
static void finish_logmel(const md_denoiser *den, const md_stem_job *job, size_t n_frames)
{
    const md_stem *stem = job->stem;
    float *logmel = job->logmel;
    size_t total = (size_t)den->mc.n_mels * n_frames;
    /* Below the contract's floor there is nothing to hear; clamping keeps the
     * vocoder from chasing numerical noise in silent regions. */
    float floor_ln = logf(den->mc.log_floor);
    for (size_t i = 0; i < total; i++) {
        float v = logmel[i] * den->data_std + den->data_mean;
        logmel[i] = v < floor_ln ? floor_ln : v;
    }
    if (job->gate) md_gate_apply(job->gate, n_frames, den->mc.n_mels, floor_ln, logmel);
    /* The model draws the stem at its training level; the song's own volume
     * and expression automation is an exact gain (cond.h, "Level curves"). */
    md_cond_apply_level(stem, &den->mc, 0, n_frames, logmel);
}

md_status md_render_group_logmel(md_ctx *ctx, const md_render_opts *o, md_denoiser *den, md_stem_job *jobs,
                                 int count, int n_progress, size_t n_frames)
{
    if (count < 1 || count > MD_RENDER_MAX_BATCH || (count > 1 && !den->predict_v_batch))
        return md_fail(ctx, MD_ERR_USAGE, "render: %d stems in one batch (this denoiser takes %d)", count,
                       den->predict_v_batch ? MD_RENDER_MAX_BATCH : 1);
    size_t mult = (size_t)(den->frame_multiple > 0 ? den->frame_multiple : 1);
    size_t seg = ((size_t)o->segment_frames + mult - 1) / mult * mult;
    md_segment_plan plan;
    md_status s = md_segment_plan_make(ctx, n_frames, seg, (size_t)o->overlap_frames, mult, &plan);
    if (s) return s;
    float *gates = o->gate_margin >= 0 ? malloc((size_t)count * n_frames * sizeof *gates) : NULL;
    if (o->gate_margin >= 0 && !gates) s = md_fail(ctx, MD_ERR_NOMEM, "out of memory for %zu frames", n_frames);
    double *ends[MD_RENDER_MAX_BATCH] = {NULL};
    for (int b = 0; s == MD_OK && b < count; b++) {
        /* each note's effective end, once per stem rather than per segment */
        if (o->prior) s = md_notebank_note_ends(ctx, jobs[b].stem, &ends[b]);
        jobs[b].note_ends = ends[b];
        memset(jobs[b].logmel, 0, (size_t)den->mc.n_mels * n_frames * sizeof(float));
        jobs[b].segments = jobs[b].silent_segments = 0;
        jobs[b].gate = gates ? gates + (size_t)b * n_frames : NULL;
        if (gates) md_gate_weights(jobs[b].stem, &den->mc, o->gate_margin, n_frames, gates + (size_t)b * n_frames);
    }
    if (s == MD_OK) s = sample_segments(ctx, o, den, jobs, count, n_progress, &plan, n_frames);
    md_segment_plan_free(&plan);
    for (int b = 0; s == MD_OK && b < count; b++) finish_logmel(den, &jobs[b], n_frames);
    for (int b = 0; b < count; b++) {
        jobs[b].gate = NULL;
        jobs[b].note_ends = NULL;
        free(ends[b]);
    }
    free(gates);
    return s;
}

md_status md_render_stem_logmel(md_ctx *ctx, const md_render_opts *o, md_denoiser *den,
                                const md_stem *stem, int stem_index, int progress_index, int n_progress,
                                size_t n_frames, float *logmel)
{
    md_stem_job job = {stem, stem_index, progress_index, logmel, NULL, 0, 0, NULL};
    return md_render_group_logmel(ctx, o, den, &job, 1, n_progress, n_frames);
}
