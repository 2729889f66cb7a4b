/* melodiff render: MIDI in, one stem per instrument plus a mix out.
 *
 *   OUT/stems/NN-name.wav   every stem the full length of the song, sample-aligned
 *   OUT/stems/NN-name.png   its log-mel picture
 *   OUT/mix.wav, mix.png    the stems summed, loudness-normalised, never clipping
 *   OUT/render.json         the manifest: input and model hashes, seed, sampler,
 *                           device, time per stage, loudness per stem
 *
 * Stems get the same gain as the mix, and the same limiter envelope when the
 * mix needs one to reach its loudness, so stems summed in a DAW equal the mix.
 * Everything is written into a hidden temporary directory inside OUT and
 * moved into place only when the whole render succeeded. */
#ifndef MD_RENDER_RENDER_H
#define MD_RENDER_RENDER_H

#include <stdint.h>

#include "audio/audio_io.h"
#include "audio/griffinlim.h"
#include "diffusion/sampler.h"
#include "melodiff/midi.h"
#include "render/denoiser.h"

/* Default song-length limit. Memory does not grow with the song's audio
 * (chunked vocoder, streamed files: see docs/audio.md), only with its mel
 * images (about 4.6 MB per minute measured, BENCHMARKS.md); the limit now
 * bounds render time and the temporary files' disk use. */
#define MD_RENDER_MAX_SECONDS 3600.0

/* Default depth cap of the mix limiter (docs/audio.md, "Mix level"): enough
 * for Griffin-Lim's drum transients, which stand 10-13 dB above the music. */
#define MD_RENDER_LIMIT_DB 15.0

typedef struct md_render_progress {
    int stem, n_stems;      /* 0-based stem index among the rendered ones */
    const char *stem_name;
    size_t segment, n_segments;
    const char *stage;      /* "sample", "vocode", "write" */
} md_render_progress;

typedef void (*md_render_progress_fn)(void *user, const md_render_progress *p);

typedef struct md_render_opts {
    const char *midi_path;
    const char *out_dir;
    md_score_options score;
    int rate;               /* 48000 */
    md_audio_format format; /* wav24 */
    double lufs;            /* mix loudness target, -16; NAN: keep the level */
    double limit_db;        /* MD_RENDER_LIMIT_DB: the most the common limiter may take off
                             * the loudest peak to reach lufs; 0: no limiter (peak-safe gain) */
    md_sampler_kind sampler;/* dpmpp2m */
    int steps;              /* 8 */
    float guidance;         /* 1.5 */
    float guide_t_lo, guide_t_hi; /* guidance only at sampler times in [lo, hi]
                             * (md_sampler_cfg): default 0.55, 1; hi <= lo: every step */
    uint64_t seed;          /* 0 */
    const struct md_notebank *prior; /* NULL: every segment is sampled from noise; else the
                             * sampler starts from the note bank's drawing of the stem
                             * (notebank/notebank.h), noised to time prior_t */
    float prior_t;          /* (0, 1]: shallow diffusion from that time; 0: the prior
                             * itself is the stem's log-mel (no model pass) */
    int segment_frames;     /* 256 (rounded up to the model's frame multiple) */
    int overlap_frames;     /* 32 */
    double tail_seconds;    /* 1.0: room for releases after the last note */
    double gate_margin;     /* 0.25: the score gate (render/gate.h): a stem is silent where none
                             * of its notes sounds or still rings (its instrument's measured
                             * release plus this margin, in seconds) -- whole segments skip
                             * the model, other frames fade to the floor; < 0: no gate */
    double max_seconds;     /* MD_RENDER_MAX_SECONDS: longer songs are refused (MD_ERR_LIMIT) */
    double preview_seconds; /* > 0: render only the first S seconds (plus the tail) */
    const char *stems;      /* NULL = all; else comma-separated 1-based indices or names */
    md_gl_params gl;
    int gl_chunk_frames;    /* -1 (default): MD_VOCODER_CHUNK_FRAMES; 0: whole song in one piece */
    int batch_stems;        /* stems sampled in lockstep, one network pass for all of them
                             * (at most MD_RENDER_MAX_BATCH); 0 (default): the denoiser's
                             * batch_hint -- several on a GPU, 1 on CPU devices */
    int vocode_jobs;        /* stems of a group pictured and vocoded at once, one thread each
                             * (0 or 1: one after another); the files do not depend on it */
    int force;
    md_render_progress_fn progress;
    void *progress_user;
} md_render_opts;

void md_render_opts_default(md_render_opts *o);

typedef struct md_render_report {
    int n_stems_rendered;
    int n_stems_skipped;
    double seconds;         /* song length written */
    double mix_lufs;
} md_render_report;

md_status md_render_run(md_ctx *ctx, const md_render_opts *o, md_denoiser *den, md_render_report *rep);

/* md_render_run with the stems rendered by n workers at once (n <=
 * MD_RENDER_MAX_WORKERS; more workers than stems are not started). Worker i
 * samples with dens[i], a denoiser of the same model file opened with its own
 * context ctxs[i] (a denoiser and its context are used by one thread at a
 * time); dens[0] names the model in the manifest, and ctx, which receives
 * the error of the first worker that fails, is normally ctxs[0]. Every stem
 * comes from the same (seed, stem, segment, step) noise, so the files do not
 * depend on n; the manifest's per-stage times are then summed over workers. */
#define MD_RENDER_MAX_WORKERS 64
#define MD_RENDER_MAX_BATCH 32
md_status md_render_run_workers(md_ctx *ctx, const md_render_opts *o, md_denoiser *const *dens,
                                md_ctx *const *ctxs, int n, md_render_report *rep);

/* "03-Acoustic Bass" -> "03-acoustic-bass": lower-case [a-z0-9-] only. */
void md_render_stem_filename(int index, const char *name, char *out, size_t cap);

#endif
