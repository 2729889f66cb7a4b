/* Drawing a stem from the note bank (notebank.h, "How a stem is drawn"). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cond/bend.h"
#include "cond/mel_axis.h"
#include "notebank/notebank_internal.h"

/* Longest a note may ring after its note-off before it is cut: longer than
 * any release the SoundFont has (gate_release.c: at most 8.4 s). */
#define MAX_RING_FRAMES 1000

/* Where x falls on a time grid g of n points: segment [g[i], g[i+1]]
 * (the last one past the end). Found once per frame, then read for every
 * band by grid_value. */
typedef struct grid_pos {
    int i;
    float dx;     /* x - g[i] */
    float width;  /* g[i+1] - g[i] */
    int past_end; /* x beyond the last point */
} grid_pos;

/* 0 when x lies before the grid's first point. */
static int grid_locate(const float *g, int n, float x, grid_pos *p)
{
    if (x < g[0]) return 0;
    int i = 0;
    while (i + 2 < n && x >= g[i + 1]) i++;
    *p = (grid_pos){i, x - g[i], g[i + 1] - g[i], x > g[n - 1]};
    return 1;
}

/* A curve's value there: linear between points; past the end the last
 * slope continues where it falls, and a rising curve holds its last value. */
static float grid_value(const grid_pos *p, const float *v, size_t stride)
{
    float v0 = v[(size_t)p->i * stride], v1 = v[(size_t)(p->i + 1) * stride], slope = (v1 - v0) / p->width;
    if (p->past_end && slope > 0) return v1;
    return v0 + slope * p->dx;
}

/* Whether a kit's slot stores `key` itself. */
static int kit_has(const md_notebank *nb, int slot, double key)
{
    for (int i = nb->start[slot]; i < nb->start[slot + 1]; i++)
        if (nb->keys[i] == key) return 1;
    return 0;
}

/* Builds the note's template; returns 0 when the bank has nothing for it
 * (no template for the instrument, or a drum key the kit does not have). */
static int note_template(const md_notebank *nb, const md_mel_axis *ax, int slot, double key, int vel, md_nb_note *t)
{
    if (slot > MD_NB_DRUMS && !kit_has(nb, slot, key)) slot = MD_NB_DRUMS; /* as the Standard kit */
    int first = nb->start[slot], n = nb->start[slot + 1] - first;
    if (n < 1) return 0;
    const int32_t *keys = nb->keys + first;
    int ia, ib;
    float wb;
    md_nb_neighbours(keys, n, key, &ia, &ib, &wb);
    if (slot >= MD_NB_DRUMS && keys[ia] != key) return 0; /* drum sounds do not transpose or bend */
    md_nb_blend(ax, nb->n_mels, logf(nb->mc.log_floor), key, vel, md_nb_template(nb, first + ia), keys[ia],
                ib != ia ? md_nb_template(nb, first + ib) : NULL, keys[ib], wb, t);
    return 1;
}

/* Adds one note's magnitudes over frames [f0, f1) of the window into acc
 * ([M][T]); returns 1 once the note has been released and faded out. */
static int add_note(const md_notebank *nb, const md_nb_note *t, double on, double off, size_t f0, size_t f1,
                    size_t T, float *acc)
{
    int M = nb->n_mels;
    float silent = logf(nb->mc.log_floor) + 0.5f / MD_NB_QUANT; /* at the floor: contributes nothing */
    for (size_t f = f0; f < f1; f++) {
        float tau = (float)((double)f - on), r = (float)((double)f - off);
        if (r > MAX_RING_FRAMES) return 1;
        grid_pos ph, pr = {0, 0, 1, 0};
        if (!grid_locate(MD_NB_HELD_FRAMES, MD_NB_N_HELD, tau, &ph)) continue; /* before the onset's reach */
        int released = grid_locate(MD_NB_RELEASE_FRAMES, MD_NB_N_RELEASE, r, &pr);
        int any = 0;
        for (int m = 0; m < M; m++) {
            float h = grid_value(&ph, &t->held[0][m], MD_NB_MAX_MELS);
            if (released) h += grid_value(&pr, &t->rel[0][m], MD_NB_MAX_MELS);
            if (h <= silent) continue;
            acc[(size_t)m * T + f] += expf(2 * h); /* powers add */
            any = 1;
        }
        if (!any && r > 0) return 1;
    }
    return 0;
}

/* One note over the window: its template at each run of frames with one
 * bend (a bent note is its key moved by the bend, as FluidSynth plays it). */
static void draw_note(const md_notebank *nb, const md_mel_axis *ax, int slot, const md_note *n, double on,
                      double off, const float *bend, size_t T, md_nb_note *t, float *acc)
{
    double t0 = floor(on + MD_NB_HELD_FRAMES[0]);
    size_t f = t0 > 0 ? (size_t)t0 : 0;
    if (!bend || slot >= MD_NB_DRUMS) {
        if (note_template(nb, ax, slot, n->pitch, n->velocity, t)) add_note(nb, t, on, off, f, T, T, acc);
        return;
    }
    while (f < T) {
        size_t end = f + 1;
        while (end < T && bend[end] == bend[f]) end++;
        if (!note_template(nb, ax, slot, n->pitch + (double)bend[f], n->velocity, t)) return;
        if (add_note(nb, t, on, off, f, end, T, acc)) return;
        f = end;
    }
}

/* A note's place in key order (channel, key, onset, index), for
 * md_notebank_note_ends. */
typedef struct key_order {
    uint8_t channel, pitch;
    double start;
    size_t index;
} key_order;

static int cmp_key_order(const void *pa, const void *pb)
{
    const key_order *a = pa, *b = pb;
    if (a->channel != b->channel) return a->channel < b->channel ? -1 : 1;
    if (a->pitch != b->pitch) return a->pitch < b->pitch ? -1 : 1;
    if (a->start != b->start) return a->start < b->start ? -1 : 1;
    return a->index < b->index ? -1 : a->index > b->index;
}

/* The effective note-offs of one key's notes idx[0..n) (onset order). The
 * earlier notes still held when a note starts are few: they are kept in a
 * short list and dropped once they have ended. */
static void key_ends(const md_stem *stem, const size_t *idx, size_t n, double *ends, double *held, size_t cap)
{
    size_t nh = 0;
    for (size_t k = 0; k < n; k++) {
        const md_note *a = &stem->notes[idx[k]];
        double end = a->end;
        size_t next = k + 1;
        while (next < n && stem->notes[idx[next]].start <= a->start) next++;
        if (next < n && stem->notes[idx[next]].start < end)
            end = stem->notes[idx[next]].start; /* struck again: this voice is released */
        size_t keep = 0;
        for (size_t h = 0; h < nh; h++) {
            if (held[h] <= a->start) continue; /* ended before this note: forget it */
            if (held[h] < end) end = held[h]; /* its note-off releases this voice */
            held[keep++] = held[h];
        }
        nh = keep;
        if (nh < cap) held[nh++] = a->end;
        ends[idx[k]] = end;
    }
}

md_status md_notebank_note_ends(md_ctx *ctx, const md_stem *stem, double **out)
{
    size_t n = stem->n_notes;
    *out = NULL;
    double *ends = malloc((n ? n : 1) * sizeof *ends), *held = malloc(64 * sizeof *held);
    key_order *ko = malloc((n ? n : 1) * sizeof *ko);
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    if (!ends || !ko || !idx || !held) {
        free(ends), free(ko), free(idx), free(held);
        return md_fail(ctx, MD_ERR_NOMEM, "note bank: out of memory for %zu notes", n);
    }
    for (size_t i = 0; i < n; i++)
        ko[i] = (key_order){stem->notes[i].channel, stem->notes[i].pitch, stem->notes[i].start, i};
    qsort(ko, n, sizeof *ko, cmp_key_order);
    for (size_t i = 0; i < n; i++) idx[i] = ko[i].index;
    for (size_t a = 0, b; a < n; a = b) {
        for (b = a + 1; b < n && ko[b].channel == ko[a].channel && ko[b].pitch == ko[a].pitch; b++) {}
        key_ends(stem, idx + a, b - a, ends, held, 64);
    }
    free(ko), free(idx), free(held);
    *out = ends;
    return MD_OK;
}

md_status md_notebank_draw(md_ctx *ctx, const md_notebank *nb, const md_stem *stem, const double *note_ends,
                           size_t first_frame, size_t n_frames, float *logmel)
{
    int M = nb->n_mels;
    md_mel_axis ax;
    if (M > MD_NB_MAX_MELS || md_mel_axis_init(&ax, &nb->mc))
        return md_fail(ctx, MD_ERR_MODEL, "%s: note bank with %d mel bands (at most %d)", nb->path, M, MD_NB_MAX_MELS);
    double fr = md_mel_frame_rate(&nb->mc), lo = (double)first_frame, hi = lo + (double)n_frames;
    double *own = NULL;
    float *bend = NULL;
    md_status s = note_ends ? MD_OK : md_notebank_note_ends(ctx, stem, &own);
    if (s == MD_OK) s = md_cond_bend_frames(ctx, stem, fr, first_frame, n_frames, &bend);
    if (s) {
        free(own);
        return s;
    }
    if (!note_ends) note_ends = own;
    float *acc = calloc((size_t)M * (n_frames ? n_frames : 1), sizeof *acc);
    md_nb_note *t = malloc(sizeof *t);
    if (!acc || !t) {
        free(acc), free(t), free(own), free(bend);
        return md_fail(ctx, MD_ERR_NOMEM, "note bank: out of memory for %zu frames", n_frames);
    }
    int slot = stem->instrument == MD_INSTRUMENT_DRUMS ? md_nb_kit_slot(stem->program) : stem->instrument;
    if (slot < 0 || slot >= MD_NB_SLOTS) slot = 0;
    for (size_t i = 0; i < stem->n_notes; i++) {
        const md_note *n = &stem->notes[i];
        double on = n->start * fr, off = note_ends[i] * fr;
        if (on + MD_NB_HELD_FRAMES[0] >= hi) break; /* notes come in onset order */
        if (off + MAX_RING_FRAMES < lo) continue;
        draw_note(nb, &ax, slot, n, on - lo, off - lo, bend, n_frames, t, acc);
    }
    free(bend);
    float floor_lin = nb->mc.log_floor;
    for (size_t k = 0; k < (size_t)M * n_frames; k++) {
        float mag = sqrtf(acc[k]);
        logmel[k] = logf(mag > floor_lin ? mag : floor_lin);
    }
    free(acc), free(t), free(own);
    return MD_OK;
}
