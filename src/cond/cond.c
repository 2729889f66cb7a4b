/* Per-frame conditioning of a stem (see include/melodiff/cond.h). */
#include "melodiff/cond.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cond/bend.h"
#include "cond/mel_axis.h"

/* Up to two bins per harmonic. */
typedef struct key_pattern {
    int n;
    int bin[2 * MD_COND_MAX_HARMONICS];
    float w[2 * MD_COND_MAX_HARMONICS];
} key_pattern;

size_t md_cond_frames_for_seconds(const md_mel_contract *mc, double seconds)
{
    if (!(seconds > 0)) seconds = 0;
    return md_mel_frames_for_samples(mc, (size_t)ceil(seconds * mc->sample_rate));
}

void md_cond_drum_pattern(int key, double *lo, double *hi, double *tau)
{
    switch (key) {
    case 35: case 36: *lo = 30; *hi = 150; *tau = 4; return;
    case 37: case 38: case 39: case 40: *lo = 150; *hi = 6000; *tau = 4; return;
    case 41: case 43: case 45: case 47: case 48: case 50: *lo = 70; *hi = 600; *tau = 5; return;
    case 42: case 44: *lo = 6000; *hi = 16000; *tau = 2; return;
    case 46: *lo = 5000; *hi = 16000; *tau = 8; return;
    case 49: case 51: case 52: case 53: case 55: case 57: case 59: *lo = 3000; *hi = 16000; *tau = 20; return;
    default: *lo = 400; *hi = 8000; *tau = 4; return;
    }
}

/* Frame index of a time, clamped so absurd times cannot overflow. */
static int64_t frame_of(double seconds, double fr)
{
    double x = seconds * fr;
    if (!(x > -1e15)) x = -1e15;
    if (x > 1e15) x = 1e15;
    return (int64_t)llround(x);
}

/* Harmonics of a (possibly bent, so fractional) key. */
static void pitched_pattern(const md_mel_axis *ax, double key, key_pattern *kp)
{
    double f0 = 440.0 * pow(2.0, (key - 69) / 12.0);
    kp->n = 0;
    for (int k = 1; k <= MD_COND_MAX_HARMONICS && k * f0 < ax->fmax; k++) {
        int i0;
        double frac;
        md_mel_axis_locate(ax, k * f0, &i0, &frac);
        kp->bin[kp->n] = i0;
        kp->w[kp->n++] = (float)((1.0 - frac) / k);
        if (frac > 0) {
            kp->bin[kp->n] = i0 + 1;
            kp->w[kp->n++] = (float)(frac / k);
        }
    }
}

static void draw_pitched(const md_mel_axis *ax, const uint8_t *used, const float *bend, md_cond *c)
{
    size_t T = c->n_frames;
    for (int p = 0; p < MD_COND_KEYS; p++) {
        if (!used[p]) continue; /* most keys are silent: skip their rows */
        key_pattern kp = {.n = 0};
        float built_bend = NAN; /* the bend kp was built for */
        for (size_t t = 0; t < T; t++) {
            float r = c->roll[(size_t)p * T + t];
            if (r <= 0) continue;
            float b = bend ? bend[t] : 0.0f;
            if (!(b == built_bend)) {
                pitched_pattern(ax, p + (double)b, &kp);
                built_bend = b;
            }
            for (int i = 0; i < kp.n; i++) c->harmonic[(size_t)kp.bin[i] * T + t] += r * kp.w[i];
        }
    }
}

static void drum_bins(const md_mel_axis *ax, int key, int *b0, int *b1, double *tau)
{
    double lo, hi;
    md_cond_drum_pattern(key, &lo, &hi, tau);
    *b0 = ax->n;
    *b1 = -1;
    for (int i = 0; i < ax->n; i++) {
        double hz = md_mel_axis_centre_hz(ax, i);
        if (hz >= lo && hz <= hi) {
            if (i < *b0) *b0 = i;
            *b1 = i;
        }
    }
    if (*b1 < 0) {
        double frac;
        md_mel_axis_locate(ax, sqrt(lo * hi), b0, &frac);
        *b1 = *b0;
    }
}

static void draw_drums(const md_mel_axis *ax, const md_stem *stem, md_cond *c)
{
    size_t T = c->n_frames;
    for (size_t n = 0; n < stem->n_notes; n++) {
        const md_note *note = &stem->notes[n];
        int b0, b1;
        double tau;
        drum_bins(ax, note->pitch & 0x7F, &b0, &b1, &tau);
        int64_t on = frame_of(note->start, c->frame_rate) - (int64_t)c->first_frame;
        int64_t len = (int64_t)ceil(4.6 * tau);
        float amp = MD_COND_DRUM_LEVEL * note->velocity / 127.0f;
        for (int64_t j = on < 0 ? -on : 0; j < len && on + j < (int64_t)T; j++) {
            float a = amp * (float)exp(-(double)j / tau);
            for (int b = b0; b <= b1; b++) c->harmonic[(size_t)b * T + (size_t)(on + j)] += a;
        }
    }
}

/* Fills roll, onset and notes; marks the keys that sound in the window. */
static void draw_notes(const md_stem *stem, md_cond *c, uint8_t *used)
{
    int64_t T = (int64_t)c->n_frames, first = (int64_t)c->first_frame;
    for (size_t n = 0; n < stem->n_notes; n++) {
        const md_note *note = &stem->notes[n];
        int p = note->pitch & 0x7F;
        int64_t on = frame_of(note->start, c->frame_rate);
        int64_t off = frame_of(note->end, c->frame_rate);
        if (off < on + 1) off = on + 1;
        on -= first;
        off -= first;
        if (off <= 0 || on >= T) continue;
        float v = note->velocity / 127.0f;
        used[p] = 1;
        if (on >= 0) c->onset[(size_t)p * T + on] = 1.0f;
        for (int64_t t = on < 0 ? 0 : on; t < off && t < T; t++) {
            float *r = &c->roll[(size_t)p * T + t];
            if (v > *r) *r = v;
        }
        c->notes[c->n_notes++] = (md_cond_note){note->start * c->frame_rate - first,
                                                note->end * c->frame_rate - first, (uint8_t)p, note->velocity};
    }
}

static md_status alloc_planes(md_ctx *ctx, md_cond *c, size_t n_notes)
{
    size_t T = c->n_frames, rows = 2 * MD_COND_KEYS + (size_t)c->n_mels;
    if (T && rows > SIZE_MAX / sizeof(float) / T)
        return md_fail(ctx, MD_ERR_LIMIT, "conditioning of %zu frames does not fit in memory", T);
    size_t n = T ? T : 1;
    c->roll = calloc(MD_COND_KEYS * n, sizeof *c->roll);
    c->onset = calloc(MD_COND_KEYS * n, sizeof *c->onset);
    c->harmonic = calloc((size_t)c->n_mels * n, sizeof *c->harmonic);
    c->notes = malloc((n_notes ? n_notes : 1) * sizeof *c->notes);
    if (!c->roll || !c->onset || !c->harmonic || !c->notes)
        return md_fail(ctx, MD_ERR_NOMEM, "out of memory for the conditioning of %zu frames", T);
    return MD_OK;
}

md_status md_cond_build_window(md_ctx *ctx, const md_stem *stem, const md_mel_contract *mc, size_t first_frame,
                               size_t n_frames, md_cond *out)
{
    memset(out, 0, sizeof *out);
    md_mel_axis ax;
    if (mc->sample_rate <= 0 || mc->hop <= 0 || md_mel_axis_init(&ax, mc))
        return md_fail(ctx, MD_ERR_USAGE, "conditioning: the mel contract has no frames (sample rate %d, hop %d, "
                       "n_mels %d, fmin %g, fmax %g)", mc->sample_rate, mc->hop, mc->n_mels, mc->fmin, mc->fmax);
    out->n_frames = n_frames;
    out->first_frame = first_frame;
    out->n_mels = mc->n_mels;
    out->frame_rate = md_mel_frame_rate(mc);
    out->instrument = stem->instrument;
    md_status s = alloc_planes(ctx, out, stem->n_notes);
    if (s != MD_OK) {
        md_cond_free(out);
        return s;
    }
    uint8_t used[MD_COND_KEYS] = {0};
    draw_notes(stem, out, used);
    if (stem->instrument == MD_INSTRUMENT_DRUMS) draw_drums(&ax, stem, out);
    else {
        float *bend = NULL;
        s = md_cond_bend_frames(ctx, stem, out->frame_rate, out->first_frame, out->n_frames, &bend);
        if (s != MD_OK) {
            md_cond_free(out);
            return s;
        }
        draw_pitched(&ax, used, bend, out);
        free(bend);
    }
    size_t nh = (size_t)out->n_mels * n_frames;
    for (size_t i = 0; i < nh; i++)
        if (out->harmonic[i] > 1.0f) out->harmonic[i] = 1.0f;
    return MD_OK;
}

md_status md_cond_build(md_ctx *ctx, const md_stem *stem, const md_mel_contract *mc, size_t n_frames,
                        md_cond *out)
{
    return md_cond_build_window(ctx, stem, mc, 0, n_frames, out);
}

void md_cond_free(md_cond *c)
{
    if (!c) return;
    free(c->roll);
    free(c->onset);
    free(c->harmonic);
    free(c->notes);
    memset(c, 0, sizeof *c);
}
