/* Pieces of the render pipeline shared between its files. */
#ifndef MD_RENDER_INTERNAL_H
#define MD_RENDER_INTERNAL_H

#include <cjson/cJSON.h>

#include "audio/loudness.h"
#include "render/render.h"
#include "render/render_outdir.h"

/* Samples one stem's normalised log-mel image ([n_mels][n_frames]) segment by
 * segment and returns it denormalised into logmel, with the stem's volume and
 * expression curves applied (md_cond_apply_level). */
md_status md_render_stem_logmel(md_ctx *ctx, const md_render_opts *o, md_denoiser *den,
                                const md_stem *stem, int stem_index, int progress_index, int n_progress,
                                size_t n_frames, float *logmel);

/* One stem of a lockstep group (md_render_group_logmel). */
typedef struct md_stem_job {
    const md_stem *stem;
    int stem_index;     /* 0-based stem number in the score: the noise key's stem */
    int progress_index; /* its number in progress reports */
    float *logmel;      /* [n_mels][n_frames] out */
    const float *gate;  /* set inside md_render_group_logmel: the stem's gate (gate.h) or NULL */
    size_t segments;        /* out: the stem's segments */
    size_t silent_segments; /* out: of them, left silent without the model (the gate closed) */
    const double *note_ends; /* set inside md_render_group_logmel when drawing from a note bank */
} md_stem_job;

/* md_render_stem_logmel for `count` stems (at most MD_RENDER_MAX_BATCH) at
 * once: segment i of every stem is sampled in one md_sample_batch run, each
 * network pass carrying all of them (den->predict_v_batch, required when
 * count > 1). Every stem keeps its own noise, so its image equals its
 * one-at-a-time render up to the rounding of the backend's kernels. With
 * o->gate_margin >= 0 each image is gated by the score (gate.h): a segment
 * whose gate is closed throughout is left at the floor, the model running
 * on the other stems' segments only. */
md_status md_render_group_logmel(md_ctx *ctx, const md_render_opts *o, md_denoiser *den, md_stem_job *jobs,
                                 int count, int n_progress, size_t n_frames);

/* Receives consecutive samples of a stream. */
typedef md_status (*md_render_sink)(void *user, const float *y, size_t n);

/* logmel -> waveform at o->rate, exactly n_out samples (padded or cut),
 * delivered through sink in blocks as the chunked vocoder produces them. */
md_status md_render_vocode(md_ctx *ctx, const md_render_opts *o, const md_mel_contract *mc,
                           const float *logmel, size_t n_frames, size_t n_out, md_render_sink sink,
                           void *user);

/* The state of one render, shared by render.c and the manifest writer. */
typedef struct stem_out {
    int index;          /* 1-based stem number in the score */
    char base[160];     /* NN-name */
    const md_stem *stem;
    md_loudness loud;
    double t_sample, t_vocode; /* this stem's stage times (summed into render_state) */
    size_t segments, silent_segments; /* of its segments, those left silent without the model */
} stem_out;

typedef struct render_state {
    md_ctx *ctx;
    const md_render_opts *o;
    md_denoiser *den;
    md_score *score;
    md_outdir dir;
    stem_out *outs;
    int n_outs;
    size_t n_frames, n_out;
    double t_parse, t_sample, t_vocode, t_write; /* sample, vocode: summed over workers */
    int workers;            /* stem groups rendered at once (md_render_stems) */
    int batch;              /* stems per group, sampled in one network batch */
    double gain;            /* the static gain every output got (trim included) */
    int limited;            /* the common limiter was on */
    double limit_peak_db;   /* the most it took off a peak */
    double limit_seconds;   /* how long it held the level more than 1 dB down */
    int level_passes;       /* passes over the stems, the writing one included */
    md_loudness mix_loud;
} render_state;

/* Samples stems k .. k + count - 1 (st->outs) together, then pictures and
 * vocodes each, with this worker's denoiser, context and options (render.c);
 * each unity-gain waveform goes to a float WAV in the temporary directory. */
md_status md_render_group(render_state *st, int k, int count, const md_render_opts *o, md_denoiser *den,
                          md_ctx *ctx);

/* Every selected stem through md_render_group on n workers
 * (render_workers.c), in groups of st->batch stems: worker i uses dens[i]
 * and ctxs[i]; on failure st->ctx gets the first failing worker's error.
 * Then sums the stems' stage times into st. */
md_status md_render_stems(render_state *st, md_denoiser *const *dens, md_ctx *const *ctxs, int n);

/* The final passes over the stems' unity-gain float WAVs (render_mix.c):
 * plans the level (gain, common limiter, trim), then writes mix.wav, mix.png
 * and every stem at that level, all in blocks; removes the float WAVs. */
md_status md_render_mix(render_state *st);

/* Writes render.json into the temporary output directory. */
md_status md_render_write_manifest(md_ctx *ctx, const render_state *st, double t_start);

#endif
