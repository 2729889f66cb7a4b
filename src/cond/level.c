/* Volume (CC7) and expression (CC11) as a gain on a sampled log-mel.
 * The contract is in include/melodiff/cond.h ("Level curves"). */
#include <math.h>

#include "melodiff/cond.h"

/* Value of a piecewise-constant curve at time t; `dflt` when it is empty. */
static double curve_at(const md_curve *c, double t, double dflt)
{
    if (!c->points || c->n == 0) return dflt;
    size_t lo = 0, hi = c->n; /* last point with time <= t, by bisection */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->points[mid].time <= t) lo = mid;
        else hi = mid;
    }
    return c->points[lo].value;
}

/* FluidSynth's default CC7/CC11 modulators attenuate by 40 log10(v) dB. */
static double cc_db(double v)
{
    return v <= 0.0 ? MD_COND_LEVEL_SILENT_DB : 40.0 * log10(v);
}

double md_cond_level_db(const md_stem *stem, double seconds)
{
    double vol = curve_at(&stem->volume, seconds, MD_COND_TRAIN_VOLUME);
    double expr = curve_at(&stem->expression, seconds, 1.0);
    if (vol <= 0.0 || expr <= 0.0) return MD_COND_LEVEL_SILENT_DB;
    double db = cc_db(vol) + cc_db(expr) - cc_db(MD_COND_TRAIN_VOLUME);
    return db < MD_COND_LEVEL_SILENT_DB ? MD_COND_LEVEL_SILENT_DB : db;
}

void md_cond_apply_level(const md_stem *stem, const md_mel_contract *mc, size_t first_frame,
                         size_t n_frames, float *logmel)
{
    const float floor_ln = logf(mc->log_floor);
    const double fr = (double)mc->sample_rate / mc->hop;
    for (size_t t = 0; t < n_frames; t++) {
        double db = md_cond_level_db(stem, (double)(first_frame + t) / fr);
        if (db == 0.0) continue;
        float add = (float)(db * M_LN10 / 20.0); /* dB of magnitude -> nats */
        for (int m = 0; m < mc->n_mels; m++) {
            float *v = &logmel[(size_t)m * n_frames + t];
            *v = fmaxf(*v + add, floor_ln);
        }
    }
}
