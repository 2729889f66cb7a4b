/* Reference rendering with libfluidsynth: a MIDI file, or a list of timed
 * notes on one instrument (the dataset builder renders single stems this
 * way). Dry: reverb and chorus off. Mono float output (left and right
 * averaged) at the configured rate (44.1 kHz by default).
 *
 * Loading a SoundFont takes a while, so an md_synth handle keeps it loaded
 * for many renders; the synthesiser is reset between renders. A handle is
 * not thread-safe: use one per thread. */
#ifndef MD_SYNTH_FLUID_RENDER_H
#define MD_SYNTH_FLUID_RENDER_H

#include <stddef.h>
#include "melodiff/context.h"
#include "melodiff/score.h"

#define MD_SYNTH_DEFAULT_SOUNDFONT "/usr/share/sounds/sf2/FluidR3_GM.sf2"

typedef struct md_synth_cfg {
    const char *soundfont; /* default MD_SYNTH_DEFAULT_SOUNDFONT */
    int sample_rate;       /* default 44100 */
    double gain;           /* fluidsynth synth.gain, default 0.2 (its own default) */
    double tail_seconds;   /* release rendered after the last event, default 2 s
                            * (stops earlier once the output is silent) */
} md_synth_cfg;

void md_synth_cfg_default(md_synth_cfg *cfg);

typedef struct md_synth md_synth;

/* Loads the SoundFont. A missing or bad SoundFont is MD_ERR_INPUT. */
md_status md_synth_create(md_ctx *ctx, const md_synth_cfg *cfg, md_synth **out);
void md_synth_destroy(md_synth *s);

/* Renders a Standard MIDI File. max_seconds > 0 caps the duration (0: the
 * whole song plus the release tail). *out is malloc'd. A file that is not
 * MIDI is MD_ERR_INPUT. */
md_status md_synth_render_midi(md_synth *s, const char *midi_path, double max_seconds,
                               float **out, size_t *n);

/* Renders notes (times in seconds) on one instrument: GM `program` 0..127
 * on a melodic channel, or drum kit `program` on channel 10 when is_drum.
 * Note channels in md_note are ignored. Output is exactly
 * round(seconds * rate) samples; notes beyond it are cut. */
md_status md_synth_render_notes_on(md_synth *s, const md_note *notes, size_t n_notes, int program,
                                   int is_drum, double seconds, float **out, size_t *n);

/* Renders one stem of a score as it sounds in the full song: its notes on
 * its instrument (bank MSB and program; drums on channel 10) with its
 * channel's volume (CC7), expression (CC11) and pitch-bend curves applied
 * (bend range: the curve's largest bend rounded up, at least 2 semitones).
 * Output is exactly round(seconds * rate) samples. */
md_status md_synth_render_stem(md_synth *s, const md_stem *stem, double seconds, float **out,
                               size_t *n);

/* One-shot form of md_synth_render_notes_on (loads the SoundFont each call). */
md_status md_synth_render_notes(md_ctx *ctx, const md_synth_cfg *cfg, const md_note *notes,
                                size_t n_notes, int program, int is_drum, double seconds,
                                float **out, size_t *n);

#endif
