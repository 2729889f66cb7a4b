/* The score gate: where the score has a stem silent, the stem is silent.
 *
 * The model draws every frame of a segment, and where a stem rests it draws
 * faint noise instead of silence (on sparse songs that noise, summed over
 * the resting stems, was most of the mix's error: BENCHMARKS.md, "Score
 * gate and stems in one batch"). The score says exactly when each stem
 * plays, so the renderer weights each frame by a gate built from the notes:
 * 1 from MD_GATE_LEAD seconds before a note starts (the STFT window sees the
 * attack early) until its ring is over (md_gate_ring: the instrument's
 * release measured from the SoundFont the model learnt, plus a margin),
 * with linear ramps of MD_GATE_FADE seconds on both sides, 0 elsewhere. A
 * segment whose frames all weigh 0 is not sampled at all; other frames are
 * pulled towards the floor in the log domain by their weight. */
#ifndef MD_RENDER_GATE_H
#define MD_RENDER_GATE_H

#include <stddef.h>

#include "melodiff/mel.h"
#include "melodiff/score.h"

#define MD_GATE_LEAD 0.1
#define MD_GATE_FADE 0.25

/* Seconds from note-off until a note falls 60 dB under its peak in
 * FluidR3_GM, by program and by drum key (generated: gate_release.c). */
extern const float md_gate_release_program[128];
extern const float md_gate_release_drum_key[128];

/* How long note n of the stem rings after its end: its program's (drums:
 * its key's) measured release plus `margin` seconds. */
double md_gate_ring(const md_stem *stem, const md_note *n, double margin);

/* w[t] for the n_frames mel frames of the stem (frame t at t / frame rate
 * seconds), each note ringing md_gate_ring(stem, note, margin). */
void md_gate_weights(const md_stem *stem, const md_mel_contract *mc, double margin, size_t n_frames, float *w);

/* 1 when every frame of [first, first + count) (cut at n_frames) weighs 0. */
int md_gate_closed(const float *w, size_t n_frames, size_t first, size_t count);

/* logmel ([n_mels][n_frames], natural-log magnitudes) pulled to floor_ln by
 * the gate: v = floor + w (v - floor). */
void md_gate_apply(const float *w, size_t n_frames, int n_mels, float floor_ln, float *logmel);

#endif
