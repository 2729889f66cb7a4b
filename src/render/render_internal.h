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
    int workers;            /* stems rendered at once (md_render_stems) */
    double gain;            /* the static gain every output got (trim included) */
    int limited;            /* the common limiter was on */
    double limit_peak_db;   /* the most it took off a peak */
    double limit_seconds;   /* how long it held the level more than 1 dB down */
    int level_passes;       /* passes over the stems, the writing one included */
    md_loudness mix_loud;
} render_state;

/* Samples, pictures and vocodes stem k (st->outs[k]) with this worker's
 * denoiser, context and options (render.c); its unity-gain waveform goes to
 * a float WAV in the temporary directory. */
md_status md_render_one(render_state *st, int k, const md_render_opts *o, md_denoiser *den, md_ctx *ctx);

/* Every selected stem through md_render_one on n workers (render_workers.c):
 * worker i uses dens[i] and ctxs[i]; on failure st->ctx gets the first
 * failing worker's error. Then sums the stems' stage times into st. */
md_status md_render_stems(render_state *st, md_denoiser *const *dens, md_ctx *const *ctxs, int n);

/* The final passes over the stems' unity-gain float WAVs (render_mix.c):
 * plans the level (gain, common limiter, trim), then writes mix.wav, mix.png
 * and every stem at that level, all in blocks; removes the float WAVs. */
md_status md_render_mix(render_state *st);

/* Writes render.json into the temporary output directory. */
md_status md_render_write_manifest(md_ctx *ctx, const render_state *st, double t_start);

#endif
