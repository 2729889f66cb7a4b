/* melodiff — the score: what a MIDI file says, in seconds, split into stems.
 *
 * A score is produced by md_score_load_file()/md_score_load_memory() (see
 * midi.h) and is plain data: arrays the caller may read directly. Times are
 * seconds from the start of the song; every note has end >= start.
 *
 * A stem is the unit melodiff renders: one instrument's notes. By default
 * there is one stem per (track, instrument) pair (format 0 files use the MIDI
 * channel as the track); with MD_GROUP_PROGRAM tracks that share an
 * instrument are merged. Drums (channel 10, or a GM2/XG drum bank) always
 * form their own stem with instrument MD_INSTRUMENT_DRUMS. */
#ifndef MELODIFF_SCORE_H
#define MELODIFF_SCORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Instrument ids: 0..127 are General MIDI programs, 128 is a drum kit. */
#define MD_INSTRUMENT_DRUMS 128
#define MD_N_INSTRUMENTS 129

typedef struct md_note {
    double start;      /* seconds */
    double end;        /* seconds, after sustain pedal; >= start */
    uint8_t pitch;     /* MIDI key 0..127 */
    uint8_t velocity;  /* 1..127 */
    uint8_t channel;   /* 0..15 (channel 10 is 9) */
    uint8_t reserved;
    uint32_t track;    /* index of the MTrk chunk the note-on came from */
} md_note;

/* A piecewise-constant control curve: value holds from time until the next
 * point. The first point is always at time 0 (the default value when the
 * file sets none there). */
typedef struct md_ctrl_point {
    double time;
    float value;
} md_ctrl_point;

typedef struct md_curve {
    md_ctrl_point *points;
    size_t n;
} md_curve;

typedef struct md_stem {
    char name[96];       /* track name, else the GM instrument / drum kit name */
    int instrument;      /* 0..127 GM program, or MD_INSTRUMENT_DRUMS */
    int program;         /* program in force at the first note (the kit for drums) */
    int bank;            /* bank select at the first note: MSB*128 + LSB */
    int track;           /* MTrk index (format 0: the channel), -1 when merged by program */
    int channel;         /* the channel most of the notes play on */
    md_note *notes;      /* sorted by start, then pitch */
    size_t n_notes;
    /* Curves of `channel`, as the synthesiser would apply them. */
    md_curve pitch_bend; /* semitones (bend range from RPN 0, default 2) */
    md_curve volume;     /* CC7 / 127, default 100/127 */
    md_curve expression; /* CC11 / 127, default 1 */
} md_stem;

typedef struct md_tempo_change {
    double time;         /* seconds */
    uint64_t tick;
    uint32_t usec_per_quarter;
    double bpm;
} md_tempo_change;

typedef struct md_time_signature {
    double time;
    int numerator;
    int denominator;
} md_time_signature;

typedef struct md_track_info {
    char name[96];       /* track name meta event ("" when none) */
    size_t n_events;     /* events parsed from the chunk */
    size_t n_notes;      /* note-ons with velocity > 0 */
    double end_time;     /* seconds of its end-of-track (or last event) */
} md_track_info;

typedef struct md_score {
    int format;          /* SMF format 0, 1 or 2 */
    int ppq;             /* ticks per quarter note, 0 for SMPTE timing */
    int smpte_fps;       /* 24, 25, 29 (29.97 drop-frame) or 30; 0 for PPQ */
    int smpte_ticks_per_frame;
    double length;       /* seconds: the latest end-of-track or note end */
    md_track_info *tracks;
    size_t n_tracks;
    md_stem *stems;
    size_t n_stems;
    md_tempo_change *tempos; /* in time order; empty means 120 bpm throughout */
    size_t n_tempos;
    md_time_signature *time_signatures;
    size_t n_time_signatures;
    size_t n_notes;      /* total over all stems */
    /* Control curves per channel: [channel][0 bend, 1 volume, 2 expression].
     * The score owns the points; each stem's curves are views of these. */
    md_curve channel_curves[16][3];
} md_score;

void md_score_free(md_score *score);

/* General MIDI level 1 instrument name for program 0..127 ("Acoustic Grand
 * Piano"), the drum kit name for MD_INSTRUMENT_DRUMS; "Unknown" otherwise. */
const char *md_gm_instrument_name(int instrument);

/* GS drum kit name for a program on the drum channel ("Standard Kit" for 0
 * and for programs that name no kit). */
const char *md_gm_drum_kit_name(int program);

/* The whole score as a JSON document (malloc'd, caller frees). With
 * with_notes = 0 the per-stem "notes" arrays and curves are left out. NULL
 * when out of memory. */
char *md_score_to_json(const md_score *score, int with_notes);

#ifdef __cplusplus
}
#endif
#endif
