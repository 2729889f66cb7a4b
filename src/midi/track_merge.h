/* Internal: the channel events of several tracks as one stream in
 * (tick, track, file) order. */
#ifndef MD_MIDI_TRACK_MERGE_H
#define MD_MIDI_TRACK_MERGE_H

#include "midi/smf.h"

typedef struct md_merge_cursor {
    size_t next, end;   /* event indices */
    uint64_t tick;      /* of events[next], cached: the heap compares it often */
    uint32_t track;
} md_merge_cursor;

typedef struct md_track_merge {
    const md_smf *smf;
    md_merge_cursor *heap;
    size_t n;
} md_track_merge;

/* Tracks [t0, t1). Returns -1 when out of memory. */
int md_track_merge_init(md_track_merge *m, const md_smf *smf, size_t t0, size_t t1);
/* The next channel event: its index and track; 0 at the end. */
int md_track_merge_next(md_track_merge *m, size_t *event, uint32_t *track);
void md_track_merge_free(md_track_merge *m);

#endif
