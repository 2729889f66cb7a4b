/* Standard MIDI File chunk and event reader (internal).
 *
 * Turns the bytes of a file into per-track event lists with absolute ticks.
 * No musical interpretation happens here: that is score_build.c. Meta and
 * sysex payloads are not copied; events point into the caller's buffer,
 * which must outlive the md_smf. */
#ifndef MD_MIDI_SMF_H
#define MD_MIDI_SMF_H

#include <stddef.h>
#include <stdint.h>

#include "melodiff/midi.h"

#define MD_SMF_META 0xFF
#define MD_SMF_SYSEX 0xF0
#define MD_SMF_ESCAPE 0xF7

typedef struct md_smf_event {
    uint64_t tick;      /* absolute, from the start of its track */
    uint32_t data_off;  /* meta/sysex payload: offset into the file buffer */
    uint32_t data_len;
    uint8_t status;     /* 0x80..0xEF channel message, 0xF0/0xF7 sysex, 0xFF meta,
                           0xF1..0xFE system common/real-time (kept, ignored) */
    uint8_t d1;         /* channel: first data byte; meta: the meta type */
    uint8_t d2;         /* channel: second data byte (0 when there is none) */
} md_smf_event;

typedef struct md_smf_track {
    size_t first;       /* index of its first event in md_smf.events */
    size_t count;
    uint64_t end_tick;  /* tick of end-of-track, or of the last event */
    size_t n_note_on;   /* note-ons with velocity > 0 */
    int has_eot;
} md_smf_track;

typedef struct md_smf {
    int format;
    int n_tracks_declared;
    uint16_t division;  /* raw header field */
    const uint8_t *data;
    size_t size;
    md_smf_event *events;
    size_t n_events;
    md_smf_track *tracks;
    size_t n_tracks;
    size_t n_note_on;
} md_smf;

/* Parses `size` bytes (a bare SMF or an RMID container). On failure the
 * message names `origin`; *out is left empty. */
md_status md_smf_parse(md_ctx *ctx, const uint8_t *data, size_t size, const char *origin,
                       const md_midi_limits *limits, md_smf *out);
void md_smf_free(md_smf *smf);

/* Payload bytes of a meta or sysex event. */
static inline const uint8_t *md_smf_payload(const md_smf *smf, const md_smf_event *e)
{
    return smf->data + e->data_off;
}

#endif
