/* The note bank: a measured, mel-domain model of how each instrument's notes
 * sound, and the prior the render's shallow diffusion starts from
 * (docs/notebank.md, design departure 18).
 *
 * What it stores. For every GM program (and the standard drum kit) and a grid
 * of keys, the log-mel of one isolated note rendered by FluidSynth from the
 * SoundFont the training data comes from, at the dataset builder's level
 * (velocity 100, CC7 100, dry):
 *   held[tau]     the note held down, at the fixed frame offsets tau from its
 *                 onset in MD_NB_HELD_FRAMES (-2 .. 516, i.e. up to 6 s);
 *   release[r]    what letting go does: released(r) - held(r) for a note let
 *                 go after 0.5 s, at the frame offsets r from the note-off in
 *                 MD_NB_RELEASE_FRAMES (-2 .. 86, i.e. up to 1 s);
 *   velocity[v]   the mean change of the first 0.5 s at velocities 24, 44,
 *                 64, 80, 90, 112 and 127 against 100, per mel band (dense
 *                 enough to find where a SoundFont switches to another
 *                 sample: FluidR3's jazz guitar does between 80 and 96).
 * Melodic keys are measured every `key_step` semitones from 21 to 108 and
 * the best `templates` of them kept (notebank_select.c); drum keys 27-87 of
 * the Standard kit are kept each, and of seven other kits those that sound
 * different from the Standard kit's (a key a kit does not store is drawn
 * from the Standard kit). Values are quantised to 1/12 nat (0.72 dB) in bytes.
 *
 * How a stem is drawn (md_notebank_draw). Each note contributes
 *   ln m(t) = held(t - on) + release(t - off) [once t >= off - 2] + velocity(v)
 * with on/off the note's fractional onset/offset frames, values between grid
 * points interpolated linearly; past the end of a grid a falling curve
 * continues its last slope and a rising one holds its last value. A key between two stored keys is drawn
 * from both, each shifted along frequency to the note's pitch (a resampled
 * sample moves every partial by the same ratio), blended by distance. The
 * notes' mel powers add (they are independent sounds with unrelated phases;
 * adding magnitudes measured 0.16 dB worse) and the sum is floored as the
 * contract says.
 *
 * A bank is a function of the SoundFont and the mel contract only; no music
 * and no validation file goes into it. */
#ifndef MD_NOTEBANK_NOTEBANK_H
#define MD_NOTEBANK_NOTEBANK_H

#include <stddef.h>
#include "melodiff/context.h"
#include "melodiff/mel.h"
#include "melodiff/score.h"

#define MD_NB_PROGRAMS 128
#define MD_NB_KEY_LO 21
#define MD_NB_KEY_HI 108
#define MD_NB_DRUM_KEY_LO 27
#define MD_NB_DRUM_KEY_HI 87
#define MD_NB_N_HELD 30
#define MD_NB_N_RELEASE 17
#define MD_NB_N_VEL 7
#define MD_NB_REF_VELOCITY 100
#define MD_NB_QUANT 12.0f /* steps per nat */
#define MD_NB_N_KITS 8

extern const float MD_NB_HELD_FRAMES[MD_NB_N_HELD];
extern const float MD_NB_RELEASE_FRAMES[MD_NB_N_RELEASE];
extern const int MD_NB_VELOCITIES[MD_NB_N_VEL];
/* The drum kits measured: GS Standard, Room, Power, Electronic, TR-808,
 * Jazz, Brush and Orchestra. Any other kit number is drawn from the
 * measured kit of its group (Standard 1-7 from Standard, ...). */
extern const int MD_NB_KITS[MD_NB_N_KITS];

typedef struct md_notebank md_notebank;

typedef struct md_notebank_build_cfg {
    const char *soundfont; /* NULL: MD_SYNTH_DEFAULT_SOUNDFONT */
    int key_step;          /* melodic keys measured every key_step semitones (1..12) */
    int templates;         /* melodic keys kept in all (notebank_select.c); <= 0: every one */
    int threads;           /* 1.. */
    int first_program, last_program; /* a sub-range, for tests (0, 127 for all) */
} md_notebank_build_cfg;

/* Renders and measures every note and writes the bank to `path` (atomically;
 * an existing file only with force). Minutes of work for the full bank. */
md_status md_notebank_build(md_ctx *ctx, const md_notebank_build_cfg *cfg, const md_mel_contract *mc,
                            const char *path, int force);

/* Loads and validates a bank (MD_ERR_MODEL naming the file on any defect). */
md_status md_notebank_open(md_ctx *ctx, const char *path, md_notebank **out);
void md_notebank_close(md_notebank *nb);
const md_mel_contract *md_notebank_contract(const md_notebank *nb);
const char *md_notebank_path(const md_notebank *nb);
const char *md_notebank_sha256(const md_notebank *nb); /* of the file, lower-case hex */

/* Each note's effective note-off in seconds (*out, malloc'd, one per note of
 * the stem). FluidSynth keeps one voice per key and channel: a note-on
 * releases the voice already sounding on its key, and a note-off releases
 * whichever voice sounds there, so a note ends at the first event on its key
 * and channel after its onset. O(n log n); compute it once per stem. */
md_status md_notebank_note_ends(md_ctx *ctx, const md_stem *stem, double **out);

/* The drawing (ln magnitude, M rows of n_frames, floored at the contract's
 * floor) of frames [first_frame, first_frame + n_frames) of a stem at the
 * training level (volume and expression curves are not applied, as for the
 * model's own output). note_ends: md_notebank_note_ends of the stem, or NULL
 * to compute it here. The stem's notes must be in onset order (score.h).
 * Thread-safe: the bank is read-only. */
md_status md_notebank_draw(md_ctx *ctx, const md_notebank *nb, const md_stem *stem, const double *note_ends,
                           size_t first_frame, size_t n_frames, float *logmel);

#endif
