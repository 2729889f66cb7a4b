/* Grouping notes into stems, naming them, and freeing a score. */
#include "midi/score_build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_note(const void *a, const void *b)
{
    const md_note *x = a, *y = b;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    if (x->pitch != y->pitch) return x->pitch < y->pitch ? -1 : 1;
    if (x->track != y->track) return x->track < y->track ? -1 : 1;
    return (x->channel > y->channel) - (x->channel < y->channel);
}

/* Stems are listed by group (track, or -1 when merged), then instrument. */
static uint64_t stem_key(const md_raw_note *n)
{
    return (uint64_t)(n->group + 1) * MD_N_INSTRUMENTS + (uint64_t)n->instrument;
}

/* Stable LSD radix sort of (key << 32 | note index) on the key bits: the
 * walk produced notes in time order, which each stem keeps. */
static int sort_by_stem(const md_raw_note *notes, size_t n, uint64_t *kv)
{
    uint64_t *tmp = malloc((n ? n : 1) * sizeof *tmp);
    if (!tmp) return -1;
    for (size_t i = 0; i < n; i++) kv[i] = stem_key(&notes[i]) << 32 | i;
    for (int shift = 32; shift < 64; shift += 8) {
        size_t count[257] = {0};
        for (size_t i = 0; i < n; i++) count[((kv[i] >> shift) & 0xFF) + 1]++;
        if (count[1] == n) continue; /* every key has this byte 0 */
        for (int d = 0; d < 256; d++) count[d + 1] += count[d];
        for (size_t i = 0; i < n; i++) tmp[count[(kv[i] >> shift) & 0xFF]++] = kv[i];
        memcpy(kv, tmp, n * sizeof *kv);
    }
    free(tmp);
    return 0;
}

/* Notes arrive in start order; chords still need their pitches ordered.
 * Insertion sort costs only the few inversions inside equal starts. */
static void order_notes(md_note *v, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (v[i].start < v[i - 1].start) { /* not in start order after all */
            qsort(v, n, sizeof *v, cmp_note);
            return;
        }
    for (size_t i = 1; i < n; i++) {
        md_note x = v[i];
        size_t j = i;
        while (j > 0 && cmp_note(&v[j - 1], &x) > 0) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
}

/* Every curve starts with a point at time 0 so a reader never has to know
 * the defaults. */
static int add_defaults(md_channel_curves *cc)
{
    static const float dflt[MD_CTRL_KINDS] = {0.0f, 100.0f / 127.0f, 1.0f};
    for (int k = 0; k < MD_CTRL_KINDS; k++) {
        md_curve *c = &cc->curve[k];
        if (c->n && c->points[0].time <= 0.0) continue;
        md_ctrl_point *p = realloc(c->points, (c->n + 1) * sizeof *p);
        if (!p) return -1;
        memmove(p + 1, p, c->n * sizeof *p);
        p[0] = (md_ctrl_point){0.0, dflt[k]};
        c->points = p;
        c->n++;
    }
    return 0;
}

static void name_stem(const md_score *sc, md_stem *st, int stems_in_group)
{
    const char *gm = st->instrument == MD_INSTRUMENT_DRUMS ? md_gm_drum_kit_name(st->program)
                                                           : md_gm_instrument_name(st->instrument);
    const char *track = (st->track >= 0 && sc->format != 0) ? sc->tracks[st->track].name : "";
    char buf[256];
    if (!track[0]) snprintf(buf, sizeof buf, "%s", gm);
    else if (stems_in_group > 1) snprintf(buf, sizeof buf, "%s (%s)", track, gm);
    else snprintf(buf, sizeof buf, "%s", track);
    /* cuts at a character boundary when the combined name is too long */
    md_midi_text_copy(st->name, sizeof st->name, (const uint8_t *)buf, strlen(buf));
}

static void fill_stem(md_score *sc, md_stem *st, const md_raw_note *notes, const uint64_t *kv, size_t n)
{
    size_t per_chan[16] = {0};
    for (size_t i = 0; i < n; i++) {
        const md_raw_note *r = &notes[kv[i] & 0xFFFFFFFFu];
        st->notes[i] = r->note;
        per_chan[r->note.channel]++;
    }
    order_notes(st->notes, n);
    const md_raw_note *first = &notes[kv[0] & 0xFFFFFFFFu]; /* the earliest note */
    st->n_notes = n;
    st->instrument = first->instrument;
    st->program = first->program;
    st->bank = first->bank;
    st->track = first->group;
    int best = 0;
    for (int c = 1; c < 16; c++)
        if (per_chan[c] > per_chan[best]) best = c;
    st->channel = best;
    st->pitch_bend = sc->channel_curves[best][MD_CTRL_BEND];
    st->volume = sc->channel_curves[best][MD_CTRL_VOLUME];
    st->expression = sc->channel_curves[best][MD_CTRL_EXPRESSION];
}

static size_t count_runs(const uint64_t *kv, size_t n)
{
    size_t runs = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || (kv[i - 1] >> 32) != (kv[i] >> 32)) runs++;
    return runs;
}

static md_status make_stems(md_ctx *ctx, md_score *sc, const md_raw_note *notes, size_t n_notes,
                            const uint64_t *kv)
{
    size_t runs = count_runs(kv, n_notes);
    sc->stems = calloc(runs ? runs : 1, sizeof *sc->stems);
    if (!sc->stems) return md_fail(ctx, MD_ERR_NOMEM, "out of memory building stems");
    for (size_t i = 0; i < n_notes;) {
        size_t j = i + 1;
        while (j < n_notes && (kv[j] >> 32) == (kv[i] >> 32)) j++;
        md_stem *st = &sc->stems[sc->n_stems];
        st->notes = malloc((j - i) * sizeof *st->notes);
        if (!st->notes) return md_fail(ctx, MD_ERR_NOMEM, "out of memory building stems");
        sc->n_stems++;
        fill_stem(sc, st, notes, kv + i, j - i);
        sc->n_notes += j - i;
        i = j;
    }
    return MD_OK;
}

md_status md_stems_build(md_ctx *ctx, md_score *sc, md_raw_note *notes, size_t n_notes, md_stem_grouping group,
                         md_channel_curves *curves)
{
    int bad = 0;
    for (int c = 0; c < 16; c++) {
        if (add_defaults(&curves[c])) bad = 1;
        for (int k = 0; k < MD_CTRL_KINDS; k++) sc->channel_curves[c][k] = curves[c].curve[k];
    }
    if (bad) return md_fail(ctx, MD_ERR_NOMEM, "out of memory building control curves");
    if (n_notes > UINT32_MAX) return md_fail(ctx, MD_ERR_LIMIT, "more than %u notes", UINT32_MAX);
    if (group == MD_GROUP_PROGRAM)
        for (size_t i = 0; i < n_notes; i++) notes[i].group = -1;
    uint64_t *kv = malloc((n_notes ? n_notes : 1) * sizeof *kv);
    if (!kv || sort_by_stem(notes, n_notes, kv)) {
        free(kv);
        return md_fail(ctx, MD_ERR_NOMEM, "out of memory building stems");
    }
    md_status s = make_stems(ctx, sc, notes, n_notes, kv);
    free(kv);
    if (s != MD_OK) return s;
    /* Names need to know how many stems share a track. */
    for (size_t i = 0; i < sc->n_stems;) {
        size_t j = i + 1;
        while (j < sc->n_stems && sc->stems[j].track == sc->stems[i].track) j++;
        for (size_t k = i; k < j; k++) name_stem(sc, &sc->stems[k], (int)(j - i));
        i = j;
    }
    return MD_OK;
}

void md_score_free(md_score *sc)
{
    if (!sc) return;
    for (size_t i = 0; i < sc->n_stems; i++) free(sc->stems[i].notes);
    for (int c = 0; c < 16; c++)
        for (int k = 0; k < MD_CTRL_KINDS; k++) free(sc->channel_curves[c][k].points);
    free(sc->stems);
    free(sc->tracks);
    free(sc->tempos);
    free(sc->time_signatures);
    free(sc);
}

/* Length of the UTF-8 sequence at p (0 when invalid). */
static size_t utf8_len(const uint8_t *p, size_t left)
{
    size_t n = p[0] < 0x80 ? 1 : (p[0] & 0xE0) == 0xC0 ? 2 : (p[0] & 0xF0) == 0xE0 ? 3
             : (p[0] & 0xF8) == 0xF0 ? 4 : 0;
    if (!n || n > left || (n == 2 && p[0] < 0xC2)) return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xC0) != 0x80) return 0;
    return n;
}

static int is_utf8(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len;) {
        size_t n = utf8_len(p + i, len - i);
        if (!n) return 0;
        i += n;
    }
    return 1;
}

void md_midi_text_copy(char *dst, size_t cap, const uint8_t *src, size_t len)
{
    int utf8 = is_utf8(src, len);
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        uint8_t c = src[i];
        char buf[4];
        size_t n;
        if (utf8) {
            n = utf8_len(src + i, len - i);
            memcpy(buf, src + i, n);
        } else if (c < 0x80) {
            n = 1;
            buf[0] = (char)c;
        } else { /* Latin-1, the usual encoding of old MIDI files */
            n = 2;
            buf[0] = (char)(0xC0 | (c >> 6));
            buf[1] = (char)(0x80 | (c & 0x3F));
        }
        i += utf8 ? n : 1;
        if (c < 0x20 || c == 0x7F) continue;
        if (o + n + 1 > cap) break;
        memcpy(dst + o, buf, n);
        o += n;
    }
    dst[o] = '\0';
    /* trim trailing spaces, which some sequencers pad names with */
    while (o > 0 && dst[o - 1] == ' ') dst[--o] = '\0';
}
