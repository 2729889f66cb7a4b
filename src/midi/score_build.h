/* Internal: from parsed SMF events to a score (score_build.c: timing and
 * note pairing; stems.c: grouping notes into stems; tempo_map.c: ticks to
 * seconds). */
#ifndef MD_MIDI_SCORE_BUILD_H
#define MD_MIDI_SCORE_BUILD_H

#include "midi/smf.h"

/* A note as the event walk produces it, before stems exist. */
typedef struct md_raw_note {
    md_note note;
    int instrument;   /* 0..127 or MD_INSTRUMENT_DRUMS */
    int program;
    int bank;
    int group;        /* track (format 0: channel) the note is grouped by */
} md_raw_note;

/* Control curves of one channel: index by md_ctrl_kind. */
typedef enum { MD_CTRL_BEND = 0, MD_CTRL_VOLUME = 1, MD_CTRL_EXPRESSION = 2, MD_CTRL_KINDS = 3 } md_ctrl_kind;

typedef struct md_channel_curves {
    md_curve curve[MD_CTRL_KINDS];
    size_t cap[MD_CTRL_KINDS];
} md_channel_curves;

/* Piecewise-linear tick -> seconds map of one sequence. */
typedef struct md_tempo_seg {
    uint64_t tick;
    double time;
    double sec_per_tick;
} md_tempo_seg;

typedef struct md_tempo_map {
    md_tempo_seg *segs;
    size_t n;
} md_tempo_map;

/* Builds the map from the tempo events of tracks [t0, t1) of smf (all tracks
 * for formats 0/1, one track for format 2). Appends every accepted tempo
 * change to the score's list, shifted by `offset` seconds. */
md_status md_tempo_map_build(md_ctx *ctx, const char *origin, const md_smf *smf, size_t t0, size_t t1,
                             double offset, md_tempo_map *map, md_score *score);
double md_tempo_map_time(const md_tempo_map *map, uint64_t tick);
void md_tempo_map_free(md_tempo_map *map);

/* The whole walk: parsed events to a new score. */
md_status md_score_from_smf(md_ctx *ctx, const md_smf *smf, const char *origin, const md_score_options *opt,
                            md_score **out);

/* Groups notes into the score's stems and attaches the channel curves (the
 * score takes ownership of `curves`, an array of 16). `notes` must be in
 * start order, as the walk makes them; their groups may be rewritten. */
md_status md_stems_build(md_ctx *ctx, md_score *score, md_raw_note *notes, size_t n_notes,
                         md_stem_grouping group, md_channel_curves *curves);

/* Copies a MIDI text payload into dst as valid UTF-8 (Latin-1 when the
 * bytes are not UTF-8), dropping control characters. */
void md_midi_text_copy(char *dst, size_t cap, const uint8_t *src, size_t len);

#endif
