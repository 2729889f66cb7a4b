/* A note's template from the bank's stored ones (notebank.h, "How a stem is
 * drawn"); the builder uses the same code to choose which keys to store. */
#include <math.h>
#include <string.h>

#include "notebank/notebank_internal.h"

void md_nb_neighbours(const int32_t *keys, int n, double key, int *ia, int *ib, float *wb)
{
    int k = 0;
    while (k + 1 < n && keys[k + 1] <= key) k++;
    *ia = *ib = k;
    *wb = 0;
    if (k + 1 < n && key > keys[k]) {
        *ib = k + 1;
        *wb = (float)((key - keys[k]) / (keys[k + 1] - keys[k]));
    }
}

/* The template's rows moved along frequency by `shift` semitones (a sample
 * played higher moves every partial by the same ratio), added into out with
 * weight w. Log values are interpolated between bands: measured against
 * interpolating magnitudes, it drew the validation files 0.2 dB closer
 * (docs/notebank.md). */
static void add_shifted(const md_mel_axis *ax, int M, float floor_ln, const uint8_t *tpl, double shift, float w,
                        md_nb_note *out)
{
    double ratio = pow(2.0, -shift / 12.0);
    for (int m = 0; m < M; m++) {
        int i0;
        double frac;
        md_mel_axis_locate(ax, md_mel_axis_centre_hz(ax, m) * ratio, &i0, &frac);
        int i1 = i0 + 1 < M ? i0 + 1 : i0;
        float a = (float)(1 - frac) * w, b = (float)frac * w;
        for (int r = 0; r < MD_NB_N_HELD; r++) {
            const uint8_t *row = tpl + (size_t)r * M;
            out->held[r][m] += a * md_nb_held_value(floor_ln, row[i0]) + b * md_nb_held_value(floor_ln, row[i1]);
        }
        for (int r = 0; r < MD_NB_N_RELEASE; r++) {
            const uint8_t *row = tpl + (size_t)(MD_NB_N_HELD + r) * M;
            out->rel[r][m] += a * md_nb_release_value(row[i0]) + b * md_nb_release_value(row[i1]);
        }
    }
}

/* The stored velocity change of band m at velocity v: linear in velocity
 * between the measured velocities and 100 (no change), the end segments
 * continued beyond them. */
static float velocity_change(const uint8_t *tpl, int M, int m, int v)
{
    const uint8_t *vr = tpl + (size_t)(MD_NB_N_HELD + MD_NB_N_RELEASE) * M + m;
    float xs[MD_NB_N_VEL + 1], ys[MD_NB_N_VEL + 1];
    int n = 0;
    for (int i = 0; i < MD_NB_N_VEL; i++) {
        if (n == i && MD_NB_VELOCITIES[i] > MD_NB_REF_VELOCITY) xs[n] = MD_NB_REF_VELOCITY, ys[n++] = 0;
        xs[n] = (float)MD_NB_VELOCITIES[i], ys[n++] = md_nb_velocity_value(vr[(size_t)i * M]);
    }
    int k = 0;
    while (k + 2 < n && v > xs[k + 1]) k++;
    return ys[k] + (ys[k + 1] - ys[k]) * ((float)v - xs[k]) / (xs[k + 1] - xs[k]);
}

void md_nb_blend(const md_mel_axis *ax, int M, float floor_ln, double key, int vel, const uint8_t *a, int key_a,
                 const uint8_t *b, int key_b, float wb, md_nb_note *out)
{
    memset(out, 0, sizeof *out);
    float wa = b ? 1 - wb : 1;
    add_shifted(ax, M, floor_ln, a, key - key_a, wa, out);
    if (b) add_shifted(ax, M, floor_ln, b, key - key_b, wb, out);
    if (vel == MD_NB_REF_VELOCITY) return;
    for (int m = 0; m < M; m++) {
        float dv = wa * velocity_change(a, M, m, vel) + (b ? wb * velocity_change(b, M, m, vel) : 0);
        for (int r = 0; r < MD_NB_N_HELD; r++) out->held[r][m] += dv;
    }
}
