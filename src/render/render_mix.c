/* The render's last pass: the stems' unity-gain float WAVs -> mix loudness
 * -> mix.wav, mix.png and the stems at the mix gain. Everything streams in
 * blocks of BLOCK samples, so memory does not grow with the song. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audio/png.h"
#include "audio/resample.h"
#include "render/render_internal.h"
#include "render/render_mixmel.h"

#define BLOCK 65536

typedef struct mix_pass {
    render_state *st;
    md_audio_reader **in;       /* one per stem */
    md_audio_writer **out;      /* one per stem, then the mix */
    md_loudness_stream **loud;  /* one per stem, then the mix */
    float *y, *mix;
    md_resampler *rs;
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

/* Stem k's next n samples into p->y, added to p->mix (stem order, in float,
 * so both passes sum exactly alike). */
static md_status read_add(mix_pass *p, int k, size_t n)
{
    size_t got = 0;
    md_status s = md_audio_reader_read(p->st->ctx, p->in[k], p->y, n, &got);
    if (!s && got != n) s = md_fail(p->st->ctx, MD_ERR_INTERNAL, "stem %d: short read", k + 1);
    for (size_t i = 0; !s && i < n; i++) p->mix[i] += p->y[i];
    return s;
}

/* Pass 1: the mix's loudness before any gain. */
static md_status measure(mix_pass *p)
{
    render_state *st = p->st;
    md_loudness_stream *ls = NULL;
    md_status s = open_inputs(p);
    if (!s) s = md_loudness_stream_create(st->ctx, st->o->rate, &ls);
    for (size_t i = 0; !s && i < st->n_out; i += BLOCK) {
        size_t n = st->n_out - i < BLOCK ? st->n_out - i : BLOCK;
        memset(p->mix, 0, n * sizeof *p->mix);
        for (int k = 0; !s && k < st->n_outs; k++) s = read_add(p, k, n);
        if (!s) s = md_loudness_stream_add(st->ctx, ls, p->mix, n);
    }
    md_loudness before;
    if (!s) s = md_loudness_stream_finish(st->ctx, ls, &before);
    md_loudness_stream_destroy(ls);
    if (!s) st->gain = md_loudness_gain_for(st->ctx, &before, st->o->lufs);
    return s;
}

static md_status to_mixmel(void *user, const float *y, size_t n)
{
    return md_mixmel_push(user, y, n);
}

static md_status open_outputs(mix_pass *p)
{
    render_state *st = p->st;
    const md_mel_contract *mc = &st->den->mc;
    size_t m = st->o->rate == mc->sample_rate ? st->n_out : (size_t)llround((double)st->n_out * mc->sample_rate / st->o->rate);
    md_status s = md_mixmel_create(st->ctx, mc, m, &p->mm);
    if (!s) s = md_resampler_create(st->ctx, st->o->rate, mc->sample_rate, to_mixmel, p->mm, &p->rs);
    for (int k = 0; !s && k <= st->n_outs; k++) {
        char path[1024];
        if (k < st->n_outs) md_outdir_path(&st->dir, "stems", st->outs[k].base, ".wav", path, sizeof path);
        else md_outdir_path(&st->dir, NULL, "mix", ".wav", path, sizeof path);
        s = md_audio_writer_open(st->ctx, path, 1, st->o->rate, st->o->format, 1, &p->out[k]);
        if (!s) s = md_loudness_stream_create(st->ctx, st->o->rate, &p->loud[k]);
    }
    return s;
}

/* y *= gain, measured and written to output k. */
static md_status put(mix_pass *p, int k, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = (float)(y[i] * p->st->gain);
    md_status s = md_loudness_stream_add(p->st->ctx, p->loud[k], y, n);
    return s ? s : md_audio_writer_write(p->st->ctx, p->out[k], y, n);
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
    for (int k = 0; !s && k <= st->n_outs; k++) {
        s = md_loudness_stream_finish(st->ctx, p->loud[k], k < st->n_outs ? &st->outs[k].loud : &st->mix_loud);
        if (!s) s = md_audio_writer_close(st->ctx, p->out[k]);
        p->out[k] = NULL;
    }
    return s;
}

/* Pass 2: every output at the mix gain, the mix picture under the model's
 * contract like the stems' (from the gained mix, resampled to its rate). */
static md_status write_all(mix_pass *p)
{
    render_state *st = p->st;
    md_status s = open_inputs(p);
    if (!s) s = open_outputs(p);
    for (size_t i = 0; !s && i < st->n_out; i += BLOCK) {
        size_t n = st->n_out - i < BLOCK ? st->n_out - i : BLOCK;
        memset(p->mix, 0, n * sizeof *p->mix);
        for (int k = 0; !s && k < st->n_outs; k++) {
            s = read_add(p, k, n);
            if (!s) s = put(p, k, p->y, n);
        }
        if (!s) s = put(p, st->n_outs, p->mix, n);
        if (!s) s = md_resampler_push(p->rs, p->mix, n);
    }
    return s ? s : finish_outputs(p);
}

md_status md_render_mix(render_state *st)
{
    int n = st->n_outs;
    mix_pass p = {st, calloc((size_t)n, sizeof *p.in), calloc((size_t)n + 1, sizeof *p.out),
                  calloc((size_t)n + 1, sizeof *p.loud), malloc(BLOCK * sizeof(float)),
                  malloc(BLOCK * sizeof(float)), NULL, NULL};
    md_status s = p.in && p.out && p.loud && p.y && p.mix ? MD_OK : md_fail(st->ctx, MD_ERR_NOMEM, "out of memory");
    if (!s) s = measure(&p);
    if (!s) s = write_all(&p);
    for (int k = 0; p.in && k < n; k++) md_audio_reader_close(p.in[k]);
    for (int k = 0; p.out && k <= n; k++) md_audio_writer_abort(p.out[k]);
    for (int k = 0; p.loud && k <= n; k++) md_loudness_stream_destroy(p.loud[k]);
    for (int k = 0; k < n; k++) {
        char tmp[1024];
        md_outdir_path(&st->dir, "stems", st->outs[k].base, ".f32.wav", tmp, sizeof tmp);
        unlink(tmp);
    }
    md_resampler_destroy(p.rs);
    md_mixmel_destroy(p.mm);
    free(p.in), free(p.out), free(p.loud), free(p.y), free(p.mix);
    return s;
}
