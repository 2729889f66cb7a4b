/* The score gate (gate.h). */
#include "render/gate.h"

#include <math.h>
#include <string.h>

/* One note's weight at time t: ramp up, hold, ramp down. */
static float note_weight(const md_note *n, double ring, double t)
{
    double on = n->start - MD_GATE_LEAD, off = n->end + ring;
    if (t < on) return (float)fmax(0.0, 1.0 - (on - t) / MD_GATE_FADE);
    if (t <= off) return 1.0f;
    return (float)fmax(0.0, 1.0 - (t - off) / MD_GATE_FADE);
}

double md_gate_ring(const md_stem *stem, const md_note *n, double margin)
{
    if (stem->instrument == MD_INSTRUMENT_DRUMS) return md_gate_release_drum_key[n->pitch & 127] + margin;
    int p = stem->instrument >= 0 && stem->instrument < 128 ? stem->instrument : 0;
    return md_gate_release_program[p] + margin;
}

void md_gate_weights(const md_stem *stem, const md_mel_contract *mc, double margin, size_t n_frames, float *w)
{
    double fps = (double)mc->sample_rate / mc->hop;
    memset(w, 0, n_frames * sizeof *w);
    for (size_t k = 0; k < stem->n_notes; k++) {
        const md_note *n = &stem->notes[k];
        double ring = md_gate_ring(stem, n, margin);
        /* only the frames the note's ramps reach */
        double a = (n->start - MD_GATE_LEAD - MD_GATE_FADE) * fps, b = (n->end + ring + MD_GATE_FADE) * fps;
        size_t first = a <= 0 ? 0 : (size_t)a;
        size_t last = b < 0 ? 0 : (size_t)ceil(b) + 1;
        if (last > n_frames) last = n_frames;
        for (size_t t = first; t < last; t++) {
            float v = note_weight(n, ring, (double)t / fps);
            if (v > w[t]) w[t] = v;
        }
    }
}

int md_gate_closed(const float *w, size_t n_frames, size_t first, size_t count)
{
    for (size_t t = first; t < first + count && t < n_frames; t++)
        if (w[t] > 0) return 0;
    return 1;
}

void md_gate_apply(const float *w, size_t n_frames, int n_mels, float floor_ln, float *logmel)
{
    for (int m = 0; m < n_mels; m++) {
        float *row = logmel + (size_t)m * n_frames;
        for (size_t t = 0; t < n_frames; t++)
            if (w[t] < 1.0f) row[t] = floor_ln + w[t] * (row[t] - floor_ln);
    }
}
