/* Drawing a stem from the note bank (notebank.h, "How a stem is drawn"). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cond/mel_axis.h"
#include "notebank/notebank_internal.h"

/* Longest a note may ring after its note-off before it is cut: longer than
 * any release the SoundFont has (gate_release.c: at most 8.4 s). */
#define MAX_RING_FRAMES 1000

/* Value of a curve sampled at grid g (n points) at x: linear between points,
 * the last slope continued (never rising) past the end; NAN before the
 * first point. */
static float curve_at(const float *g, int n, const float *v, size_t stride, float x)
{
    if (x < g[0]) return NAN;
    int i = 0;
    while (i + 2 < n && x >= g[i + 1]) i++;
    float slope = (v[(size_t)(i + 1) * stride] - v[(size_t)i * stride]) / (g[i + 1] - g[i]);
    if (x > g[n - 1] && slope > 0) slope = 0;
    return v[(size_t)i * stride] + slope * (x - g[i]);
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
        int any = 0;
        for (int m = 0; m < M; m++) {
            float h = curve_at(MD_NB_HELD_FRAMES, MD_NB_N_HELD, &t->held[0][m], MD_NB_MAX_MELS, tau);
            if (isnan(h)) continue;
            if (r >= MD_NB_RELEASE_FRAMES[0])
                h += curve_at(MD_NB_RELEASE_FRAMES, MD_NB_N_RELEASE, &t->rel[0][m], MD_NB_MAX_MELS, r);
            if (h <= silent) continue;
            acc[(size_t)m * T + f] += expf(2 * h); /* powers add */
            any = 1;
        }
        if (!any && r > 0) return 1;
    }
    return 0;
}

/* Pitch bend (semitones) at each frame of the window, as the conditioning
 * samples it (cond.h): NULL when the stem never bends. */
static float *bend_per_frame(const md_stem *stem, double fr, size_t first_frame, size_t T)
{
    const md_curve *pb = &stem->pitch_bend;
    int any = 0;
    for (size_t i = 0; i < pb->n && !any; i++) any = pb->points[i].value != 0.0f;
    float *b = any ? malloc((T ? T : 1) * sizeof *b) : NULL;
    for (size_t t = 0, k = 0; b && t < T; t++) {
        double sec = (double)(first_frame + t) / fr;
        while (k + 1 < pb->n && pb->points[k + 1].time <= sec) k++;
        b[t] = pb->points[k].time <= sec ? pb->points[k].value : 0.0f;
    }
    return b;
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

/* A note's effective note-off. FluidSynth keeps one voice per key and
 * channel: a note-on releases the voice already sounding on its key, and a
 * note-off releases whichever voice sounds there. So a note ends at the
 * first event on its key and channel after its onset: its own note-off, a
 * later note's onset, or an earlier overlapping note's note-off. */
static double effective_end(const md_stem *stem, size_t i)
{
    const md_note *n = &stem->notes[i];
    double end = n->end;
    for (size_t j = 0; j < stem->n_notes && stem->notes[j].start < end; j++) {
        const md_note *o = &stem->notes[j];
        if (j == i || o->pitch != n->pitch || o->channel != n->channel) continue;
        if (o->start > n->start) end = o->start;
        else if (o->end > n->start && o->end < end) end = o->end;
    }
    return end;
}

md_status md_notebank_draw(md_ctx *ctx, const md_notebank *nb, const md_stem *stem, size_t first_frame,
                           size_t n_frames, float *logmel)
{
    int M = nb->n_mels;
    md_mel_axis ax;
    if (M > MD_NB_MAX_MELS || md_mel_axis_init(&ax, &nb->mc))
        return md_fail(ctx, MD_ERR_MODEL, "%s: note bank with %d mel bands (at most %d)", nb->path, M, MD_NB_MAX_MELS);
    float *acc = calloc((size_t)M * (n_frames ? n_frames : 1), sizeof *acc);
    md_nb_note *t = malloc(sizeof *t);
    if (!acc || !t) {
        free(acc), free(t);
        return md_fail(ctx, MD_ERR_NOMEM, "note bank: out of memory for %zu frames", n_frames);
    }
    double fr = md_mel_frame_rate(&nb->mc), lo = (double)first_frame, hi = lo + (double)n_frames;
    int slot = stem->instrument == MD_INSTRUMENT_DRUMS ? md_nb_kit_slot(stem->program) : stem->instrument;
    if (slot < 0 || slot >= MD_NB_SLOTS) slot = 0;
    float *bend = bend_per_frame(stem, fr, first_frame, n_frames);
    for (size_t i = 0; i < stem->n_notes; i++) {
        const md_note *n = &stem->notes[i];
        double on = n->start * fr, off = effective_end(stem, i) * fr;
        if (on + MD_NB_HELD_FRAMES[0] >= hi || off + MAX_RING_FRAMES < lo) continue;
        draw_note(nb, &ax, slot, n, on - lo, off - lo, bend, n_frames, t, acc);
    }
    free(bend);
    float floor_lin = nb->mc.log_floor;
    for (size_t k = 0; k < (size_t)M * n_frames; k++) {
        float mag = sqrtf(acc[k]);
        logmel[k] = logf(mag > floor_lin ? mag : floor_lin);
    }
    free(acc);
    free(t);
    return MD_OK;
}
