/* melodiff — per-frame conditioning: what the diffusion model sees of a stem.
 *
 * md_cond_build() is the ONE function that turns a stem's notes into model
 * input; the renderer and the dataset builder both call it, so training and
 * inference cannot drift. docs/conditioning.md is the long form.
 *
 * Frames. Frame t (0 <= t < T) is the centred STFT frame of the mel contract
 * at time (first_frame + t) * hop / sample_rate seconds. With frame rate
 * fr = sample_rate / hop, a note starting at s and ending at e seconds
 *   - has its onset frame  on  = round(s * fr)
 *   - sounds in frames     [on, max(on + 1, round(e * fr)))
 * (so every note, however short, sounds in at least its onset frame).
 * round() is round-half-away-from-zero (C lround). Frames outside [0, T)
 * are dropped; a note that started before the window still sounds in it.
 *
 * Planes. All float32, row-major, each row T long (element [r][t] is at
 * r * T + t):
 *   roll[128][T]      velocity/127 of the note sounding at that key in that
 *                     frame (the largest if several), 0 otherwise;
 *   onset[128][T]     1 in the onset frame of each note, 0 otherwise;
 *   harmonic[M][T]    M = contract n_mels. Pitched stems: each sounding key
 *                     p (f0 = 440 * 2^((p + bend(t) - 69) / 12) Hz, bend(t)
 *                     the stem's pitch-bend curve in semitones at the
 *                     frame's time) adds, for each
 *                     harmonic k = 1..16 with k * f0 < fmax, roll[p][t] / k
 *                     at the mel position of k * f0, split linearly (by mel
 *                     distance) between the two neighbouring mel bin
 *                     centres. Bin centres are librosa.mel_frequencies(M + 2,
 *                     fmin, fmax)[1:-1] on the contract's mel scale, i.e.
 *                     equally spaced in mel; a position below the first or
 *                     above the last centre goes wholly to that bin. The sum
 *                     is clipped to 1.
 *                     Drum stems: each note draws a fixed broadband pattern
 *                     (see md_cond_drum_pattern) at velocity/127 * 0.6,
 *                     decaying as exp(-(t - on) / tau) from its onset frame
 *                     for ceil(4.6 * tau) frames, whatever the note length;
 *                     also summed and clipped to 1.
 *   instrument        0..127 = GM program, 128 = drum kit.
 *   notes             the notes that overlap the window, with onset and
 *                     offset in fractional frames (s * fr - first_frame),
 *                     for models that want sub-frame timing. */
#ifndef MELODIFF_COND_H
#define MELODIFF_COND_H

#include <stddef.h>
#include <stdint.h>

#include "melodiff/context.h"
#include "melodiff/mel.h"
#include "melodiff/score.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MD_COND_KEYS 128
#define MD_COND_MAX_HARMONICS 16
#define MD_COND_DRUM_LEVEL 0.6f

typedef struct md_cond_note {
    double onset;      /* frames, fractional, relative to the window's first frame */
    double offset;
    uint8_t pitch;
    uint8_t velocity;
} md_cond_note;

typedef struct md_cond {
    size_t n_frames;   /* T */
    size_t first_frame;
    int n_mels;        /* M */
    double frame_rate; /* sample_rate / hop */
    int instrument;    /* 0..127 GM program, 128 drums */
    float *roll;       /* [128][T] */
    float *onset;      /* [128][T] */
    float *harmonic;   /* [M][T] */
    md_cond_note *notes;
    size_t n_notes;
} md_cond;

/* Frames needed to cover `seconds` of audio: md_mel_frames_for_samples of
 * ceil(seconds * sample_rate) samples. */
size_t md_cond_frames_for_seconds(const md_mel_contract *mc, double seconds);

/* Conditioning of frames [first_frame, first_frame + n_frames) of a stem.
 * md_cond_build is the same with first_frame = 0. On failure *out is empty.
 * MD_ERR_USAGE for a contract without frames (hop, sample rate or n_mels
 * not positive), MD_ERR_LIMIT when the planes would not fit in memory. */
md_status md_cond_build_window(md_ctx *ctx, const md_stem *stem, const md_mel_contract *mc,
                               size_t first_frame, size_t n_frames, md_cond *out);
md_status md_cond_build(md_ctx *ctx, const md_stem *stem, const md_mel_contract *mc, size_t n_frames,
                        md_cond *out);
void md_cond_free(md_cond *c);

/* The drum pattern of a GM drum key: the band [lo_hz, hi_hz] its energy
 * fills and its decay time constant in frames. Kicks 35-36: 30-150 Hz,
 * tau 4; snares, claps, side stick 37-40: 150-6000 Hz, tau 4; toms 41, 43,
 * 45, 47, 48, 50: 70-600 Hz, tau 5; closed and pedal hi-hat 42, 44:
 * 6000-16000 Hz, tau 2; open hi-hat 46: 5000-16000 Hz, tau 8; cymbals 49,
 * 51, 52, 53, 55, 57, 59: 3000-16000 Hz, tau 20; any other key: 400-8000 Hz,
 * tau 4. */
void md_cond_drum_pattern(int key, double *lo_hz, double *hi_hz, double *tau_frames);

/* Level curves. The model draws a stem at the level it was trained on:
 * stems rendered with FluidSynth at its default channel volume (CC7 = 100)
 * and full expression (CC11 = 127), which is what the dataset builder does.
 * A song's own volume and expression automation is therefore not the
 * model's job; it is applied to the sampled log-mel afterwards, as the
 * gain FluidSynth itself applies: 40 log10(cc / 127) dB for each of CC7
 * and CC11 (GM's recommended curve; measured on FluidR3_GM to 0.1 dB,
 * tests/test_cond_level.c).
 *
 * md_cond_level_db: gain in dB of the stem at `seconds`, relative to the
 * training level. Curves are piecewise constant (score.h); an empty curve
 * means the default (volume 100/127, expression 1). A controller at 0 gives
 * MD_COND_LEVEL_SILENT_DB. */
#define MD_COND_TRAIN_VOLUME (100.0 / 127.0)
#define MD_COND_LEVEL_SILENT_DB (-200.0)
double md_cond_level_db(const md_stem *stem, double seconds);

/* Adds each frame's gain to a log-mel of frames [first_frame, first_frame +
 * n_frames) (ln magnitude, M rows of n_frames), keeping values at or above
 * the contract's ln(log_floor). Frame t is at (first_frame + t) * hop /
 * sample_rate seconds, as in md_cond_build_window. */
void md_cond_apply_level(const md_stem *stem, const md_mel_contract *mc, size_t first_frame,
                         size_t n_frames, float *logmel);

#ifdef __cplusplus
}
#endif
#endif
