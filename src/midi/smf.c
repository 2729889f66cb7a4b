/* Standard MIDI File reader: header, chunks, events. See smf.h. */
#include "midi/smf.h"

#include <stdlib.h>
#include <string.h>

/* Why a track stopped being read; anything but END is worth a warning. */
typedef enum { TRACK_END, TRACK_CORRUPT, TRACK_TRUNCATED, TRACK_LIMIT } track_stop;

typedef struct reader {
    md_ctx *ctx;
    const char *origin;
    const md_midi_limits *limits;
    md_smf *smf;
    size_t cap;         /* allocated events */
    const char *why;    /* what made a track stop early */
    size_t why_off;
} reader;

static uint32_t be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static uint32_t le32(const uint8_t *p)
{
    return ((uint32_t)p[3] << 24) | ((uint32_t)p[2] << 16) | ((uint32_t)p[1] << 8) | p[0];
}

/* Variable-length quantity: at most 4 bytes (28 bits), as the spec says.
 * Returns 0 on success, -1 when it runs past `end` or is longer than 4. */
static int read_vlq(const uint8_t *data, size_t *pos, size_t end, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        if (*pos >= end) return -1;
        uint8_t b = data[(*pos)++];
        v = (v << 7) | (b & 0x7F);
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

static md_status push_event(reader *r, const md_smf_event *e)
{
    md_smf *smf = r->smf;
    if (smf->n_events >= r->limits->max_events)
        return md_fail(r->ctx, MD_ERR_LIMIT, "%s: more than %zu MIDI events (limit)", r->origin,
                       r->limits->max_events);
    if (smf->n_events == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 1024;
        if (cap > r->limits->max_events) cap = r->limits->max_events;
        md_smf_event *ev = realloc(smf->events, cap * sizeof *ev);
        if (!ev) return md_fail(r->ctx, MD_ERR_NOMEM, "%s: out of memory reading events", r->origin);
        smf->events = ev;
        r->cap = cap;
    }
    smf->events[smf->n_events++] = *e;
    return MD_OK;
}

/* Data bytes that follow a status byte; -1 for a status a file cannot hold. */
static int data_len_for_status(uint8_t status)
{
    switch (status & 0xF0) {
    case 0xC0: case 0xD0: return 1;
    case 0x80: case 0x90: case 0xA0: case 0xB0: case 0xE0: return 2;
    default: break;
    }
    switch (status) {
    case 0xF1: case 0xF3: return 1;   /* MTC quarter frame, song select */
    case 0xF2: return 2;              /* song position */
    case 0xF6: case 0xF8: case 0xFA: case 0xFB: case 0xFC: case 0xFE: return 0;
    default: return -1;               /* F4, F5, F9, FD undefined; F0/F7/FF handled apart */
    }
}

static track_stop stop(reader *r, track_stop why, const char *what, size_t off)
{
    r->why = what;
    r->why_off = off;
    return why;
}

/* A meta or sysex event: a length and that many payload bytes. */
static track_stop read_payload(reader *r, const uint8_t *d, size_t *pos, size_t end,
                               md_smf_event *e)
{
    uint32_t len;
    size_t at = *pos;
    if (read_vlq(d, pos, end, &len)) return stop(r, TRACK_TRUNCATED, "event length", at);
    if (len > end - *pos) return stop(r, TRACK_TRUNCATED, "event data runs past the track end", at);
    e->data_off = (uint32_t)*pos;
    e->data_len = len;
    *pos += len;
    return TRACK_END;
}

/* Reads events from d[pos..end). Returns why it stopped; md_status errors
 * (limits, memory) come back through *err. */
static track_stop read_events(reader *r, md_smf_track *t, size_t pos, size_t end, md_status *err)
{
    const uint8_t *d = r->smf->data;
    uint64_t tick = 0;
    uint8_t running = 0;
    *err = MD_OK;
    while (pos < end) {
        uint32_t delta;
        size_t at = pos;
        if (read_vlq(d, &pos, end, &delta)) return stop(r, TRACK_TRUNCATED, "delta time", at);
        tick += delta;
        if (pos >= end) return stop(r, TRACK_TRUNCATED, "event after delta time", pos);
        md_smf_event e = {.tick = tick};
        uint8_t b = d[pos];
        at = pos;
        if (b == MD_SMF_META) {
            pos++;
            if (pos >= end) return stop(r, TRACK_TRUNCATED, "meta event type", at);
            e.status = b;
            e.d1 = d[pos++];
            track_stop s = read_payload(r, d, &pos, end, &e);
            if (s != TRACK_END) return s;
        } else if (b == MD_SMF_SYSEX || b == MD_SMF_ESCAPE) {
            /* The spec says sysex cancels running status; real files rely on
             * it surviving, so it is left alone (as most readers do). */
            pos++;
            e.status = b;
            track_stop s = read_payload(r, d, &pos, end, &e);
            if (s != TRACK_END) return s;
        } else {
            uint8_t status = b;
            if (b & 0x80) {
                pos++;
                if (b < 0xF0) running = b;
            } else if (running) {
                status = running;
            } else {
                return stop(r, TRACK_CORRUPT, "data byte without a running status", at);
            }
            int n = data_len_for_status(status);
            if (n < 0) return stop(r, TRACK_CORRUPT, "undefined status byte", at);
            if ((size_t)n > end - pos) return stop(r, TRACK_TRUNCATED, "channel message", at);
            for (int i = 0; i < n; i++)
                if (d[pos + i] & 0x80) return stop(r, TRACK_CORRUPT, "status byte where data was expected", pos + i);
            e.status = status;
            e.d1 = n > 0 ? d[pos] : 0;
            e.d2 = n > 1 ? d[pos + 1] : 0;
            pos += (size_t)n;
            if ((status & 0xF0) == 0x90 && e.d2 > 0) {
                if (r->smf->n_note_on >= r->limits->max_notes) {
                    *err = md_fail(r->ctx, MD_ERR_LIMIT, "%s: more than %zu notes (limit)", r->origin,
                                   r->limits->max_notes);
                    return TRACK_LIMIT;
                }
                r->smf->n_note_on++;
                t->n_note_on++;
            }
        }
        if ((*err = push_event(r, &e)) != MD_OK) return TRACK_LIMIT;
        t->count++;
        t->end_tick = tick;
        if (e.status == MD_SMF_META && e.d1 == 0x2F) {
            t->has_eot = 1;
            if (pos < end)
                md_log(r->ctx, MD_LOG_INFO, "%s: track %zu: %zu bytes after end-of-track ignored",
                       r->origin, r->smf->n_tracks, end - pos);
            return TRACK_END;
        }
    }
    return TRACK_END;
}

static md_status read_track(reader *r, size_t pos, size_t end)
{
    md_smf *smf = r->smf;
    md_smf_track *tracks = realloc(smf->tracks, (smf->n_tracks + 1) * sizeof *tracks);
    if (!tracks) return md_fail(r->ctx, MD_ERR_NOMEM, "%s: out of memory reading tracks", r->origin);
    smf->tracks = tracks;
    md_smf_track *t = &tracks[smf->n_tracks];
    memset(t, 0, sizeof *t);
    t->first = smf->n_events;
    md_status err;
    track_stop why = read_events(r, t, pos, end, &err);
    size_t index = smf->n_tracks++;
    if (why == TRACK_LIMIT) return err;
    if (why != TRACK_END)
        md_log(r->ctx, MD_LOG_WARN, "%s: track %zu: %s %s at offset %zu; the rest of the track is ignored",
               r->origin, index, why == TRACK_CORRUPT ? "corrupt event:" : "truncated", r->why,
               r->why_off);
    else if (!t->has_eot)
        md_log(r->ctx, MD_LOG_WARN, "%s: track %zu has no end-of-track event", r->origin, index);
    return MD_OK;
}

/* RIFF RMID: the SMF is the payload of the "data" chunk. Returns the SMF's
 * offset and size inside the buffer, or fails. */
static md_status unwrap_rmid(md_ctx *ctx, const uint8_t *d, size_t size, const char *origin,
                             size_t *off, size_t *len)
{
    size_t pos = 12;
    while (pos + 8 <= size) {
        size_t clen = le32(d + pos + 4);
        if (!memcmp(d + pos, "data", 4)) {
            if (clen > size - pos - 8) {
                md_log(ctx, MD_LOG_WARN, "%s: RMID data chunk runs past the end of the file", origin);
                clen = size - pos - 8;
            }
            *off = pos + 8;
            *len = clen;
            return MD_OK;
        }
        if (clen > size - pos - 8) break;
        pos += 8 + clen + (clen & 1); /* RIFF chunks are padded to even sizes */
    }
    return md_fail(ctx, MD_ERR_INPUT, "%s: RIFF RMID file without a 'data' chunk", origin);
}

static md_status read_header(reader *r, const uint8_t *d, size_t len, size_t *pos)
{
    md_smf *smf = r->smf;
    if (len < 8 || memcmp(d, "MThd", 4))
        return md_fail(r->ctx, MD_ERR_INPUT, "%s: not a MIDI file (expected 'MThd' at offset 0)", r->origin);
    uint32_t hlen = be32(d + 4);
    if (hlen < 6 || len - 8 < 6)
        return md_fail(r->ctx, MD_ERR_INPUT, "%s: MIDI header too short (%u bytes, need 6)", r->origin,
                       (unsigned)(hlen < len - 8 ? hlen : len - 8));
    if (hlen > len - 8)
        return md_fail(r->ctx, MD_ERR_INPUT, "%s: MIDI header length %u runs past the end of the file",
                       r->origin, (unsigned)hlen);
    smf->format = (d[8] << 8) | d[9];
    smf->n_tracks_declared = (d[10] << 8) | d[11];
    smf->division = (uint16_t)((d[12] << 8) | d[13]);
    if (smf->format > 2)
        return md_fail(r->ctx, MD_ERR_INPUT, "%s: unsupported MIDI file format %d (expected 0, 1 or 2)",
                       r->origin, smf->format);
    if (smf->division == 0)
        return md_fail(r->ctx, MD_ERR_INPUT, "%s: MIDI time division is 0", r->origin);
    if (smf->division & 0x8000) {
        int fps = -(int)(int8_t)(smf->division >> 8);
        if ((fps != 24 && fps != 25 && fps != 29 && fps != 30) || !(smf->division & 0xFF))
            return md_fail(r->ctx, MD_ERR_INPUT, "%s: invalid SMPTE time division 0x%04X", r->origin,
                           smf->division);
    }
    if (smf->format == 0 && smf->n_tracks_declared != 1)
        md_log(r->ctx, MD_LOG_WARN, "%s: format 0 file declares %d tracks", r->origin,
               smf->n_tracks_declared);
    *pos = 8 + hlen;
    return MD_OK;
}

static int chunk_id_is_text(const uint8_t *p)
{
    for (int i = 0; i < 4; i++)
        if (p[i] < 0x20 || p[i] > 0x7E) return 0;
    return 1;
}

static md_status read_chunks(reader *r, size_t pos, size_t end)
{
    md_smf *smf = r->smf;
    const uint8_t *d = smf->data;
    while ((int)smf->n_tracks < smf->n_tracks_declared) {
        if (end - pos < 8 || !chunk_id_is_text(d + pos)) break;
        size_t clen = be32(d + pos + 4);
        size_t body = pos + 8;
        if (clen > end - body) {
            md_log(r->ctx, MD_LOG_WARN, "%s: chunk at offset %zu claims %zu bytes but the file ends after %zu",
                   r->origin, pos, clen, end - body);
            clen = end - body;
        }
        if (!memcmp(d + pos, "MTrk", 4)) {
            md_status s = read_track(r, body, body + clen);
            if (s != MD_OK) return s;
        } else {
            md_log(r->ctx, MD_LOG_INFO, "%s: skipping unknown chunk '%.4s' at offset %zu", r->origin,
                   (const char *)(d + pos), pos);
        }
        pos = body + clen;
    }
    if ((int)smf->n_tracks < smf->n_tracks_declared)
        md_log(r->ctx, MD_LOG_WARN, "%s: header declares %d tracks, found %zu", r->origin,
               smf->n_tracks_declared, smf->n_tracks);
    if (pos < end)
        md_log(r->ctx, MD_LOG_WARN, "%s: %zu bytes of trailing data after the last track ignored",
               r->origin, end - pos);
    return MD_OK;
}

md_status md_smf_parse(md_ctx *ctx, const uint8_t *data, size_t size, const char *origin,
                       const md_midi_limits *limits, md_smf *out)
{
    memset(out, 0, sizeof *out);
    if (size > limits->max_file_bytes)
        return md_fail(ctx, MD_ERR_LIMIT, "%s: file is %zu bytes, more than the %zu byte limit", origin, size,
                       limits->max_file_bytes);
    if (size > UINT32_MAX)
        return md_fail(ctx, MD_ERR_LIMIT, "%s: file larger than 4 GiB", origin);
    size_t off = 0, len = size;
    if (size >= 12 && !memcmp(data, "RIFF", 4) && !memcmp(data + 8, "RMID", 4)) {
        md_status s = unwrap_rmid(ctx, data, size, origin, &off, &len);
        if (s != MD_OK) return s;
    }
    out->data = data;
    out->size = size;
    reader r = {.ctx = ctx, .origin = origin, .limits = limits, .smf = out};
    size_t pos = 0;
    md_status s = read_header(&r, data + off, len, &pos);
    if (s == MD_OK) s = read_chunks(&r, off + pos, off + len);
    if (s != MD_OK) md_smf_free(out);
    return s;
}

void md_smf_free(md_smf *smf)
{
    if (!smf) return;
    free(smf->events);
    free(smf->tracks);
    memset(smf, 0, sizeof *smf);
}
