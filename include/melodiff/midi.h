/* melodiff — reading Standard MIDI Files into a score.
 *
 * Accepts SMF formats 0, 1 and 2 (also wrapped in a RIFF "RMID" container),
 * PPQ and SMPTE time division, running status, sysex and escape events and
 * every meta event. The reader is lenient where real files are broken and
 * strict where safety needs it:
 *   - warned about (md_log WARN) and otherwise read: a malformed key or time
 *     signature, a missing end-of-track, a track chunk longer than the file,
 *     a corrupt event inside a track (the track ends there), undeclared
 *     trailing bytes after the last track;
 *   - refused with MD_ERR_INPUT (one line naming the file): not a MIDI file,
 *     a truncated or invalid header, a time division of 0;
 *   - refused with MD_ERR_LIMIT: more bytes, events, notes or seconds than
 *     the md_midi_limits allow.
 *
 * Musical decisions (docs/conditioning.md has the long form):
 *   - note-on with velocity 0 is a note-off;
 *   - a note-on on a key that is already sounding (same track, channel and
 *     key) ends the previous note there and starts a new one;
 *   - a note-off without a sounding note is ignored;
 *   - notes still sounding at the end are closed at their track's end;
 *   - sustain (CC64 >= 64) keeps released notes sounding until pedal up;
 *   - format 0/1: tempo events of every track form one tempo map, and
 *     channel state (program, bank, pedal, RPN) is shared by all tracks;
 *   - format 2: each track is an independent sequence with its own tempo
 *     map and fresh channel state; the sequences are played one after the
 *     other in file order. */
#ifndef MELODIFF_MIDI_H
#define MELODIFF_MIDI_H

#include <stddef.h>
#include "melodiff/context.h"
#include "melodiff/score.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct md_midi_limits {
    size_t max_file_bytes; /* 64 MiB */
    size_t max_events;     /* 10 000 000 events over all tracks */
    size_t max_notes;      /* 2 000 000 notes */
    double max_seconds;    /* 7200: two hours */
} md_midi_limits;

typedef enum md_stem_grouping {
    MD_GROUP_TRACK = 0,    /* one stem per (track, instrument) */
    MD_GROUP_PROGRAM = 1   /* one stem per instrument */
} md_stem_grouping;

typedef struct md_score_options {
    md_midi_limits limits;
    md_stem_grouping group;
} md_score_options;

void md_midi_limits_default(md_midi_limits *limits);
void md_score_options_default(md_score_options *opt);

/* Read a MIDI file into a new score (free with md_score_free). opt may be
 * NULL for the defaults. */
md_status md_score_load_file(md_ctx *ctx, const char *path, const md_score_options *opt,
                             md_score **out);

/* The same from memory; `origin` names the data in messages. */
md_status md_score_load_memory(md_ctx *ctx, const void *data, size_t size, const char *origin,
                               const md_score_options *opt, md_score **out);

#ifdef __cplusplus
}
#endif
#endif
