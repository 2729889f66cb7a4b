/* From SMF events to notes in seconds: the channel-state walk.
 *
 * Formats 0 and 1 are walked as one stream (all tracks merged in tick
 * order, ties in file order) because channels are shared between tracks:
 * a program change or pedal in one track affects notes of another track on
 * the same channel, as on a synthesiser. Notes are paired per (track,
 * channel, key) so two tracks on one channel keep their own notes. Format 2
 * tracks are walked one after another, each with fresh channel state. */
#include "midi/score_build.h"
#include "midi/track_merge.h"

#include <stdlib.h>
#include <string.h>

typedef struct open_note {
    uint32_t track;
    uint32_t sustained; /* key released while the pedal was down */
    size_t note;        /* index into builder.notes */
} open_note;

typedef struct open_list {
    open_note *v;
    size_t n, cap;
} open_list;

typedef struct chan_state {
    int program, bank_msb, bank_lsb;
    int sustain;
    int rpn_msb, rpn_lsb;   /* 127/127: none selected */
    double bend_range;      /* semitones */
    int bend;               /* raw 14-bit value */
} chan_state;

typedef struct builder {
    md_ctx *ctx;
    const char *origin;
    const md_smf *smf;
    md_score *score;
    md_raw_note *notes;
    size_t n_notes, cap_notes;
    open_list open[16 * 128];
    chan_state ch[16];
    md_channel_curves curves[16];
    const double *track_end;  /* seconds, per track */
} builder;

static md_status nomem(builder *b)
{
    return md_fail(b->ctx, MD_ERR_NOMEM, "%s: out of memory building the score", b->origin);
}

static void reset_channels(builder *b)
{
    for (int c = 0; c < 16; c++)
        b->ch[c] = (chan_state){.rpn_msb = 127, .rpn_lsb = 127, .bend_range = 2.0, .bend = 8192};
}

static md_status curve_push(builder *b, int chan, md_ctrl_kind k, double t, float v)
{
    md_channel_curves *cc = &b->curves[chan];
    md_curve *c = &cc->curve[k];
    if (c->n && c->points[c->n - 1].time == t) { /* a later event at one instant wins */
        c->points[c->n - 1].value = v;
        return MD_OK;
    }
    if (c->n == cc->cap[k]) {
        size_t cap = cc->cap[k] ? cc->cap[k] * 2 : 64;
        md_ctrl_point *p = realloc(c->points, cap * sizeof *p);
        if (!p) return nomem(b);
        c->points = p;
        cc->cap[k] = cap;
    }
    c->points[c->n++] = (md_ctrl_point){t, v};
    return MD_OK;
}

static void end_note(builder *b, size_t idx, double t)
{
    md_note *n = &b->notes[idx].note;
    n->end = t > n->start ? t : n->start;
}

static void open_remove(open_list *l, size_t i) { l->v[i] = l->v[--l->n]; }

static int is_drum_channel(const chan_state *s, int chan)
{
    /* Channel 10 in GM; GM2 (bank 120) and XG (bank 127) put kits anywhere. */
    return chan == 9 || s->bank_msb == 120 || s->bank_msb == 127;
}

static md_status note_on(builder *b, uint32_t track, int chan, int key, int vel, double t)
{
    open_list *l = &b->open[chan * 128 + key];
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].track == track) { /* re-struck key: the old note ends here */
            end_note(b, l->v[i].note, t);
            open_remove(l, i);
            break;
        }
    if (b->n_notes == b->cap_notes) {
        size_t cap = b->cap_notes ? b->cap_notes * 2 : 256;
        md_raw_note *nn = realloc(b->notes, cap * sizeof *nn);
        if (!nn) return nomem(b);
        b->notes = nn;
        b->cap_notes = cap;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 2;
        open_note *nv = realloc(l->v, cap * sizeof *nv);
        if (!nv) return nomem(b);
        l->v = nv;
        l->cap = cap;
    }
    const chan_state *s = &b->ch[chan];
    int drum = is_drum_channel(s, chan);
    b->notes[b->n_notes] = (md_raw_note){
        .note = {.start = t, .end = -1.0, .pitch = (uint8_t)key, .velocity = (uint8_t)vel,
                 .channel = (uint8_t)chan, .track = track},
        .instrument = drum ? MD_INSTRUMENT_DRUMS : s->program,
        .program = s->program,
        .bank = s->bank_msb * 128 + s->bank_lsb,
        .group = b->smf->format == 0 ? chan : (int)track,
    };
    l->v[l->n++] = (open_note){track, 0, b->n_notes++};
    return MD_OK;
}

static void note_off(builder *b, uint32_t track, int chan, int key, double t)
{
    open_list *l = &b->open[chan * 128 + key];
    for (size_t i = 0; i < l->n; i++) {
        if (l->v[i].track != track || l->v[i].sustained) continue;
        if (b->ch[chan].sustain) {
            l->v[i].sustained = 1;
        } else {
            end_note(b, l->v[i].note, t);
            open_remove(l, i);
        }
        return;
    }
    /* no sounding note: nothing to end (common in real files) */
}

/* Ends notes of a channel: only those held by the pedal, or all. */
static void release_channel(builder *b, int chan, int all, double t)
{
    for (int key = 0; key < 128; key++) {
        open_list *l = &b->open[chan * 128 + key];
        for (size_t i = l->n; i-- > 0;)
            if (all || l->v[i].sustained) {
                end_note(b, l->v[i].note, t);
                open_remove(l, i);
            }
    }
}

static md_status bend_point(builder *b, int chan, double t)
{
    const chan_state *s = &b->ch[chan];
    return curve_push(b, chan, MD_CTRL_BEND, t, (float)((s->bend - 8192) / 8192.0 * s->bend_range));
}

static md_status control_change(builder *b, int chan, int cc, int v, double t)
{
    chan_state *s = &b->ch[chan];
    switch (cc) {
    case 0: s->bank_msb = v; break;
    case 32: s->bank_lsb = v; break;
    case 7: return curve_push(b, chan, MD_CTRL_VOLUME, t, v / 127.0f);
    case 11: return curve_push(b, chan, MD_CTRL_EXPRESSION, t, v / 127.0f);
    case 64:
        if (v >= 64) s->sustain = 1;
        else if (s->sustain) {
            s->sustain = 0;
            release_channel(b, chan, 0, t);
        }
        break;
    case 101: s->rpn_msb = v; break;
    case 100: s->rpn_lsb = v; break;
    case 98: case 99: s->rpn_msb = s->rpn_lsb = 127; break; /* NRPN deselects the RPN */
    case 6:
        if (s->rpn_msb == 0 && s->rpn_lsb == 0) s->bend_range = v + (s->bend_range - (int)s->bend_range);
        break;
    case 38:
        if (s->rpn_msb == 0 && s->rpn_lsb == 0) s->bend_range = (int)s->bend_range + v / 100.0;
        break;
    case 121: /* reset all controllers */
        s->bend = 8192;
        s->rpn_msb = s->rpn_lsb = 127;
        if (s->sustain) release_channel(b, chan, 0, t);
        s->sustain = 0;
        md_status st = bend_point(b, chan, t);
        if (st == MD_OK) st = curve_push(b, chan, MD_CTRL_EXPRESSION, t, 1.0f);
        return st;
    case 120: release_channel(b, chan, 1, t); break; /* all sound off */
    case 123: /* all notes off: keys up, the pedal still holds */
        for (int key = 0; key < 128; key++) {
            open_list *l = &b->open[chan * 128 + key];
            for (size_t i = l->n; i-- > 0;) {
                if (l->v[i].sustained) continue;
                if (s->sustain) {
                    l->v[i].sustained = 1;
                } else {
                    end_note(b, l->v[i].note, t);
                    open_remove(l, i);
                }
            }
        }
        break;
    default: break;
    }
    return MD_OK;
}

static md_status channel_event(builder *b, uint32_t track, const md_smf_event *e, double t)
{
    int chan = e->status & 0x0F;
    switch (e->status & 0xF0) {
    case 0x90:
        if (e->d2 > 0) return note_on(b, track, chan, e->d1, e->d2, t);
        note_off(b, track, chan, e->d1, t);
        return MD_OK;
    case 0x80: note_off(b, track, chan, e->d1, t); return MD_OK;
    case 0xB0: return control_change(b, chan, e->d1, e->d2, t);
    case 0xC0: b->ch[chan].program = e->d1; return MD_OK;
    case 0xE0:
        b->ch[chan].bend = e->d1 | (e->d2 << 7);
        return bend_point(b, chan, t);
    default: return MD_OK; /* aftertouch is not used */
    }
}

/* Notes still sounding at the end close at the end of their track. */
static void close_all(builder *b)
{
    for (size_t k = 0; k < 16 * 128; k++) {
        open_list *l = &b->open[k];
        for (size_t i = 0; i < l->n; i++)
            end_note(b, l->v[i].note, b->track_end[l->v[i].track]);
        l->n = 0;
    }
}

static md_status walk_tracks(builder *b, size_t t0, size_t t1, const md_tempo_map *map, double offset)
{
    md_track_merge m;
    if (md_track_merge_init(&m, b->smf, t0, t1)) return nomem(b);
    md_status s = MD_OK;
    size_t idx;
    uint32_t track;
    while (s == MD_OK && md_track_merge_next(&m, &idx, &track)) {
        const md_smf_event *e = &b->smf->events[idx];
        s = channel_event(b, track, e, offset + md_tempo_map_time(map, e->tick));
    }
    md_track_merge_free(&m);
    return s;
}

/* Track names, time signature and key signature checks (per track). */
static md_status read_track_metas(builder *b, size_t t, const md_tempo_map *map, double offset)
{
    const md_smf *smf = b->smf;
    const md_smf_track *tr = &smf->tracks[t];
    md_track_info *info = &b->score->tracks[t];
    for (size_t i = tr->first; i < tr->first + tr->count; i++) {
        const md_smf_event *e = &smf->events[i];
        if (e->status != MD_SMF_META) continue;
        const uint8_t *p = md_smf_payload(smf, e);
        if (e->d1 == 0x03 && !info->name[0]) {
            md_midi_text_copy(info->name, sizeof info->name, p, e->data_len);
        } else if (e->d1 == 0x59) {
            if (e->data_len != 2 || (int8_t)p[0] < -7 || (int8_t)p[0] > 7 || p[1] > 1)
                md_log(b->ctx, MD_LOG_WARN, "%s: track %zu: malformed key signature at tick %llu ignored",
                       b->origin, t, (unsigned long long)e->tick);
        } else if (e->d1 == 0x58) {
            if (e->data_len != 4 || p[1] > 31 || p[0] == 0) {
                md_log(b->ctx, MD_LOG_WARN, "%s: track %zu: malformed time signature at tick %llu ignored",
                       b->origin, t, (unsigned long long)e->tick);
                continue;
            }
            md_score *sc = b->score;
            md_time_signature *ts = realloc(sc->time_signatures, (sc->n_time_signatures + 1) * sizeof *ts);
            if (!ts) return nomem(b);
            sc->time_signatures = ts;
            ts[sc->n_time_signatures++] = (md_time_signature){
                offset + md_tempo_map_time(map, e->tick), p[0], p[1] < 31 ? 1 << p[1] : 0};
        }
    }
    return MD_OK;
}

static int cmp_timesig(const void *a, const void *b)
{
    const md_time_signature *x = a, *y = b;
    return (x->time > y->time) - (x->time < y->time);
}

static void fill_track_info(builder *b, size_t t, const md_tempo_map *map, double offset, double *end)
{
    const md_smf_track *tr = &b->smf->tracks[t];
    md_track_info *info = &b->score->tracks[t];
    info->n_events = tr->count;
    info->n_notes = tr->n_note_on;
    info->end_time = offset + md_tempo_map_time(map, tr->end_tick);
    end[t] = info->end_time;
}

/* One sequence: tracks [t0, t1) sharing a tempo map, starting at offset. */
static md_status build_sequence(builder *b, size_t t0, size_t t1, double offset, double *end_time, double *track_end)
{
    md_tempo_map map;
    md_status s = md_tempo_map_build(b->ctx, b->origin, b->smf, t0, t1, offset, &map, b->score);
    if (s != MD_OK) return s;
    double seq_end = offset;
    for (size_t t = t0; t < t1 && s == MD_OK; t++) {
        fill_track_info(b, t, &map, offset, track_end);
        if (track_end[t] > seq_end) seq_end = track_end[t];
        s = read_track_metas(b, t, &map, offset);
    }
    if (s == MD_OK) {
        reset_channels(b);
        s = walk_tracks(b, t0, t1, &map, offset);
        close_all(b);
    }
    md_tempo_map_free(&map);
    *end_time = seq_end;
    return s;
}

static void builder_free(builder *b)
{
    free(b->notes);
    for (size_t k = 0; k < 16 * 128; k++) free(b->open[k].v);
    for (int c = 0; c < 16; c++)
        for (int k = 0; k < MD_CTRL_KINDS; k++) free(b->curves[c].curve[k].points);
    free(b);
}

static md_status check_length(builder *b, const md_midi_limits *lim)
{
    md_score *sc = b->score;
    for (size_t i = 0; i < b->n_notes; i++)
        if (b->notes[i].note.end > sc->length) sc->length = b->notes[i].note.end;
    if (!(sc->length <= lim->max_seconds))
        return md_fail(b->ctx, MD_ERR_LIMIT, "%s: song lasts %.0f s, more than the %.0f s limit", b->origin,
                       sc->length, lim->max_seconds);
    return MD_OK;
}

static md_status build_all(builder *b, double *track_end)
{
    const md_smf *smf = b->smf;
    md_score *sc = b->score;
    md_status s = MD_OK;
    if (smf->format == 2) {
        double offset = 0.0;
        for (size_t t = 0; t < smf->n_tracks && s == MD_OK; t++)
            s = build_sequence(b, t, t + 1, offset, &offset, track_end);
        sc->length = offset;
    } else {
        s = build_sequence(b, 0, smf->n_tracks, 0.0, &sc->length, track_end);
    }
    if (s == MD_OK && sc->n_time_signatures > 1) qsort(sc->time_signatures, sc->n_time_signatures, sizeof *sc->time_signatures, cmp_timesig);
    return s;
}

md_status md_score_from_smf(md_ctx *ctx, const md_smf *smf, const char *origin, const md_score_options *opt,
                            md_score **out)
{
    *out = NULL;
    md_score *sc = calloc(1, sizeof *sc);
    builder *b = calloc(1, sizeof *b);
    double *track_end = calloc(smf->n_tracks ? smf->n_tracks : 1, sizeof *track_end);
    if (sc) sc->tracks = calloc(smf->n_tracks ? smf->n_tracks : 1, sizeof *sc->tracks);
    if (!sc || !b || !track_end || !sc->tracks) {
        if (sc) free(sc->tracks);
        free(sc);
        free(b);
        free(track_end);
        return md_fail(ctx, MD_ERR_NOMEM, "%s: out of memory building the score", origin);
    }
    sc->format = smf->format;
    sc->n_tracks = smf->n_tracks;
    if (smf->division & 0x8000) {
        sc->smpte_fps = -(int)(int8_t)(smf->division >> 8);
        sc->smpte_ticks_per_frame = smf->division & 0xFF;
    } else {
        sc->ppq = smf->division;
    }
    *b = (builder){.ctx = ctx, .origin = origin, .smf = smf, .score = sc, .track_end = track_end};
    md_status s = build_all(b, track_end);
    if (s == MD_OK) s = check_length(b, &opt->limits);
    md_channel_curves curves[16];
    memcpy(curves, b->curves, sizeof curves);
    memset(b->curves, 0, sizeof b->curves); /* md_stems_build owns them from here */
    if (s == MD_OK) s = md_stems_build(ctx, sc, b->notes, b->n_notes, opt->group, curves);
    else
        for (int c = 0; c < 16; c++)
            for (int k = 0; k < MD_CTRL_KINDS; k++) free(curves[c].curve[k].points);
    builder_free(b);
    free(track_end);
    if (s != MD_OK) {
        md_score_free(sc);
        return s;
    }
    *out = sc;
    return MD_OK;
}
