/* The render's last stage: the stems' unity-gain float WAVs -> the level plan
 * (audio/level_plan.h: gain, common limiter, trim) -> mix.wav, mix.png and
 * the stems at the mix's level. Every pass streams in blocks of BLOCK
 * samples, so memory does not grow with the song; the planning passes only
 * measure, the last one writes.
 *
 * Every output sample is x * gain * trim * env[i], with one envelope env for
 * all of them, driven by the loudest of the mix and the stems at that sample:
 * the stems keep summing to the mix and none of them clips. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audio/level_plan.h"
#include "audio/limiter.h"
#include "audio/png.h"
#include "audio/resample.h"
#include "render/render_internal.h"
#include "render/render_mixmel.h"

#define BLOCK 65536

typedef struct mix_pass {
    render_state *st;
    int n_ch;                   /* stems, then the mix */
    md_audio_reader **in;       /* one per stem */
    md_audio_writer **out;      /* one per channel, in the writing pass */
    md_loudness_stream **loud;  /* one per channel */
    float **fifo;               /* per channel: samples read, waiting for their gain */
    size_t held;                /* samples in each fifo */
    float *det, *env;
    md_limiter *lim;            /* NULL: no limiting in this pass */
    double gain, trim, min_env;
    size_t n_limited;           /* samples the envelope held more than 1 dB down */
    md_resampler *rs;           /* the writing pass's mix picture */
    md_mixmel *mm;
} mix_pass;

static md_status open_inputs(mix_pass *p)
{
    render_state *st = p->st;
    for (int k = 0; k < st->n_outs; k++) {
        char tmp[1024];
        md_outdir_path(&st->dir, "stems", st->outs[k].base, ".f32.wav", tmp, sizeof tmp);
        md_audio_reader_close(p->in[k]);
        p->in[k] = NULL;
        int rate = 0;
        size_t frames = 0;
        md_status s = md_audio_reader_open(st->ctx, tmp, &p->in[k], &rate, &frames);
        if (s) return s;
        if (rate != st->o->rate || frames != st->n_out)
            return md_fail(st->ctx, MD_ERR_INTERNAL, "%s: %zu samples at %d Hz, expected %zu at %d", tmp, frames,
                           rate, st->n_out, st->o->rate);
    }
    return MD_OK;
}

static md_status to_mixmel(void *user, const float *y, size_t n)
{
    return md_mixmel_push(user, y, n);
}

/* The writing pass's files: every stem's WAV, the mix's, and its picture. */
static md_status open_outputs(mix_pass *p)
{
    render_state *st = p->st;
    const md_mel_contract *mc = &st->den->mc;
    size_t m = st->o->rate == mc->sample_rate ? st->n_out : (size_t)llround((double)st->n_out * mc->sample_rate / st->o->rate);
    md_status s = md_mixmel_create(st->ctx, mc, m, &p->mm);
    if (!s) s = md_resampler_create(st->ctx, st->o->rate, mc->sample_rate, to_mixmel, p->mm, &p->rs);
    for (int k = 0; !s && k < p->n_ch; k++) {
        char path[1024];
        if (k < st->n_outs) md_outdir_path(&st->dir, "stems", st->outs[k].base, ".wav", path, sizeof path);
        else md_outdir_path(&st->dir, NULL, "mix", ".wav", path, sizeof path);
        s = md_audio_writer_open(st->ctx, path, 1, st->o->rate, st->o->format, 1, &p->out[k]);
    }
    return s;
}

/* The next n samples of every stem onto the fifos, their sum (stem order, in
 * float, alike in every pass) onto the mix's, and the detector. */
static md_status read_block(mix_pass *p, size_t n)
{
    int ns = p->st->n_outs;
    float *mix = p->fifo[ns] + p->held;
    memset(mix, 0, n * sizeof *mix);
    for (int k = 0; k < ns; k++) {
        float *y = p->fifo[k] + p->held;
        size_t got = 0;
        md_status s = md_audio_reader_read(p->st->ctx, p->in[k], y, n, &got);
        if (!s && got != n) s = md_fail(p->st->ctx, MD_ERR_INTERNAL, "stem %d: short read", k + 1);
        if (s) return s;
        for (size_t i = 0; i < n; i++) mix[i] += y[i];
    }
    for (size_t i = 0; i < n; i++) {
        float m = 0;
        for (int k = 0; k < p->n_ch; k++) m = fmaxf(m, fabsf(p->fifo[k][p->held + i]));
        p->det[i] = (float)(p->gain * m);
    }
    p->held += n;
    return MD_OK;
}

/* The first n held samples of every channel leave at gain * trim * env. */
static md_status emit(mix_pass *p, size_t n)
{
    double a = p->gain * p->trim;
    md_status s = MD_OK;
    for (size_t i = 0; i < n; i++) {
        p->min_env = fmin(p->min_env, p->env[i]);
        p->n_limited += p->env[i] < 0.8912509f; /* -1 dB */
    }
    for (int k = 0; !s && k < p->n_ch; k++) {
        float *y = p->fifo[k];
        for (size_t i = 0; i < n; i++) y[i] = (float)(y[i] * a * p->env[i]);
        s = md_loudness_stream_add(p->st->ctx, p->loud[k], y, n);
        if (!s && p->out[k]) s = md_audio_writer_write(p->st->ctx, p->out[k], y, n);
        if (!s && p->out[k] && k == p->st->n_outs) s = md_resampler_push(p->rs, y, n);
        memmove(y, y + n, (p->held - n) * sizeof *y);
    }
    p->held -= n;
    return s;
}

/* The gains for the block just read: from the limiter (delayed by its
 * look-ahead), or 1 for every sample. */
static md_status gain_block(mix_pass *p, size_t n, int last)
{
    size_t m = n, tail = 0;
    if (p->lim) md_limiter_push(p->lim, p->det, n, p->env, &m);
    else for (size_t i = 0; i < n; i++) p->env[i] = 1.0f;
    md_status s = emit(p, m);
    if (s || !last || !p->lim) return s;
    md_limiter_finish(p->lim, p->env, &tail);
    return emit(p, tail);
}

/* One pass over the song at (gain, trim), limited or not; results into the
 * channels' loudness streams. */
static md_status run_pass(mix_pass *p, double gain, double trim, int limit)
{
    render_state *st = p->st;
    p->gain = gain, p->trim = trim, p->min_env = 1.0, p->held = 0, p->n_limited = 0;
    md_limiter_destroy(p->lim);
    p->lim = NULL;
    md_status s = open_inputs(p);
    if (!s && limit)
        s = md_limiter_create(st->ctx, st->o->rate, md_level_limit_ceiling(), MD_LIMITER_LOOKAHEAD_S,
                              MD_LIMITER_RELEASE_S, &p->lim);
    for (int k = 0; !s && k < p->n_ch; k++) {
        md_loudness_stream_destroy(p->loud[k]);
        s = md_loudness_stream_create(st->ctx, st->o->rate, &p->loud[k]);
    }
    for (size_t i = 0; !s && i < st->n_out; i += BLOCK) {
        size_t n = st->n_out - i < BLOCK ? st->n_out - i : BLOCK;
        s = read_block(p, n);
        if (!s) s = gain_block(p, n, i + n == st->n_out);
    }
    return s;
}

/* The level plan's probe: a measuring pass. */
static md_status probe(void *user, double gain, int limit, md_level_probe *r)
{
    mix_pass *p = user;
    md_status s = run_pass(p, gain, 1.0, limit);
    r->true_peak = 0;
    for (int k = 0; !s && k < p->n_ch; k++) {
        md_loudness l;
        s = md_loudness_stream_finish(p->st->ctx, p->loud[k], &l);
        r->true_peak = fmax(r->true_peak, l.true_peak);
        r->lufs = l.integrated_lufs; /* the last channel is the mix */
    }
    return s;
}

static md_status finish_outputs(mix_pass *p)
{
    render_state *st = p->st;
    md_status s = md_resampler_finish(p->rs);
    const float *img = NULL;
    size_t T = 0;
    if (!s) s = md_mixmel_finish(p->mm, &img, &T);
    char path[1024];
    md_outdir_path(&st->dir, NULL, "mix", ".png", path, sizeof path);
    if (!s) s = md_png_write_logmel(st->ctx, path, img, st->den->mc.n_mels, T, 1);
    for (int k = 0; !s && k < p->n_ch; k++) {
        s = md_loudness_stream_finish(st->ctx, p->loud[k], k < st->n_outs ? &st->outs[k].loud : &st->mix_loud);
        if (!s) s = md_audio_writer_close(st->ctx, p->out[k]);
        p->out[k] = NULL;
    }
    return s;
}

/* Plan the level, then the writing pass at the plan's level. */
static md_status plan_and_write(mix_pass *p)
{
    render_state *st = p->st;
    md_level_plan pl;
    md_status s = md_level_plan_make(st->ctx, st->o->lufs, st->o->limit_db, probe, p, &pl);
    if (!s) s = open_outputs(p);
    if (!s) s = run_pass(p, pl.gain, pl.trim, pl.limit);
    if (!s) s = finish_outputs(p);
    st->gain = pl.gain * pl.trim;
    st->limited = pl.limit;
    st->limit_peak_db = -20.0 * log10(p->min_env);
    st->limit_seconds = (double)p->n_limited / st->o->rate;
    st->level_passes = pl.passes + 1;
    if (!s)
        md_log(st->ctx, MD_LOG_INFO, "mix: gain %+.1f dB, limiter %s (at most %.1f dB on peaks, more than 1 dB "
               "for %.2f s), %.1f LUFS, %d passes", 20.0 * log10(st->gain), pl.limit ? "on" : "off",
               st->limit_peak_db, st->limit_seconds, st->mix_loud.integrated_lufs, st->level_passes);
    return s;
}

static void remove_float_wavs(render_state *st)
{
    for (int k = 0; k < st->n_outs; k++) {
        char tmp[1024];
        md_outdir_path(&st->dir, "stems", st->outs[k].base, ".f32.wav", tmp, sizeof tmp);
        unlink(tmp);
    }
}

md_status md_render_mix(render_state *st)
{
    int n = st->n_outs + 1;
    mix_pass p = {.st = st, .n_ch = n};
    p.in = calloc((size_t)n, sizeof *p.in);
    p.out = calloc((size_t)n, sizeof *p.out);
    p.loud = calloc((size_t)n, sizeof *p.loud);
    p.fifo = calloc((size_t)n, sizeof *p.fifo);
    size_t cap = BLOCK + (size_t)ceil(MD_LIMITER_LOOKAHEAD_S * st->o->rate) + 1;
    p.det = malloc(BLOCK * sizeof *p.det);
    p.env = malloc(cap * sizeof *p.env);
    int ok = p.in && p.out && p.loud && p.fifo && p.det && p.env;
    for (int k = 0; ok && k < n; k++) ok = (p.fifo[k] = malloc(cap * sizeof **p.fifo)) != NULL;
    md_status s = ok ? plan_and_write(&p) : md_fail(st->ctx, MD_ERR_NOMEM, "out of memory");
    for (int k = 0; p.in && k < n - 1; k++) md_audio_reader_close(p.in[k]);
    for (int k = 0; p.out && k < n; k++) md_audio_writer_abort(p.out[k]);
    for (int k = 0; p.loud && k < n; k++) md_loudness_stream_destroy(p.loud[k]);
    for (int k = 0; p.fifo && k < n; k++) free(p.fifo[k]);
    remove_float_wavs(st);
    md_limiter_destroy(p.lim);
    md_resampler_destroy(p.rs);
    md_mixmel_destroy(p.mm);
    free(p.in), free(p.out), free(p.loud), free(p.fifo), free(p.det), free(p.env);
    return s;
}
