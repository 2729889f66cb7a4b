/* The output level plan (level_plan.h): static gain, limiter, trim. */
#include "audio/level_plan.h"

#include <math.h>
#include <string.h>

#include "audio/loudness.h"

static double db(double x) { return 20.0 * log10(x); }
static double undb(double d) { return pow(10.0, d / 20.0); }

double md_level_limit_ceiling(void)
{
    return undb(MD_LOUDNESS_PEAK_CEILING_DB - MD_LEVEL_LIMIT_MARGIN_DB);
}

/* One limited pass at gain_db; the trim brings any inter-sample peak the
 * limiter's sample detector missed under the true-peak ceiling. */
static md_status probe_limited(md_level_probe_fn probe, void *user, double gain_db, md_level_plan *pl)
{
    md_level_probe r;
    md_status s = probe(user, undb(gain_db), 1, &r);
    pl->passes++;
    if (s) return s;
    double ceiling = undb(MD_LOUDNESS_PEAK_CEILING_DB);
    pl->gain = undb(gain_db);
    pl->limit = 1;
    pl->trim = r.true_peak > ceiling ? ceiling / r.true_peak : 1.0;
    pl->lufs = r.lufs + db(pl->trim);
    return MD_OK;
}

/* Secant search on gain (dB) for the limited mix's loudness, never above
 * x_max. Loudness rises with gain but by less than 1 dB per dB once the
 * limiter works, so the slope is kept in [0.1, 1]. */
static md_status search(md_ctx *ctx, double target, double x, double x_max, double max_reduction_db,
                        md_level_probe_fn probe, void *user, md_level_plan *pl)
{
    double xp = NAN, fp = NAN;
    md_status s = probe_limited(probe, user, x, pl);
    while (!s && pl->passes < MD_LEVEL_MAX_PASSES) {
        double f = pl->lufs - target;
        if (fabs(f) <= MD_LEVEL_TOLERANCE_LU || (f < 0 && x >= x_max)) break;
        double slope = isnan(xp) || x == xp ? 1.0 : (f - fp) / (x - xp);
        slope = slope < 0.1 ? 0.1 : slope > 1.0 ? 1.0 : slope;
        xp = x, fp = f;
        x = fmin(x - f / slope, x_max);
        s = probe_limited(probe, user, x, pl);
    }
    if (!s && pl->lufs < target - MD_LEVEL_TOLERANCE_LU)
        /* A warning, not info: the output misses what was asked for. */
        md_log(ctx, MD_LOG_WARN, "loudness: the mix reaches %.1f LUFS, not %.1f: the limiter may take at most "
               "%.1f dB off the loudest peak (--limit-db)", pl->lufs, target, max_reduction_db);
    return s;
}

md_status md_level_plan_make(md_ctx *ctx, double target_lufs, double max_reduction_db, md_level_probe_fn probe,
                             void *user, md_level_plan *out)
{
    memset(out, 0, sizeof *out);
    md_level_probe u;
    md_status s = probe(user, 1.0, 0, &u);
    out->passes = 1;
    if (s) return s;
    double ceiling = undb(MD_LOUDNESS_PEAK_CEILING_DB);
    double safe = u.true_peak > 0 ? ceiling / u.true_peak : HUGE_VAL;
    int has_target = !isnan(target_lufs) && isfinite(u.lufs);
    double want = has_target ? undb(target_lufs - u.lufs) : 1.0;
    if (want <= safe || max_reduction_db <= 0) { /* no limiter: the peak-safe gain of loudness.h */
        md_loudness unity = {u.lufs, u.true_peak, u.true_peak};
        out->gain = md_loudness_gain_for(ctx, &unity, target_lufs);
        out->trim = 1.0;
        out->lufs = u.lufs + db(out->gain);
        return MD_OK;
    }
    double x_max = db(safe) + max_reduction_db;
    double x = fmin(db(want), x_max);
    if (!has_target) return probe_limited(probe, user, x, out); /* keep the level, limit the peaks */
    return search(ctx, target_lufs, x, x_max, max_reduction_db, probe, user, out);
}
