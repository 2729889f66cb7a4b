/* The mel axis of the harmonic image. */
#include "cond/mel_axis.h"

#include <math.h>
#include <string.h>

int md_mel_axis_init(md_mel_axis *ax, const md_mel_contract *mc)
{
    if (mc->n_mels <= 0 || !(mc->fmax > mc->fmin) || mc->fmin < 0) return -1;
    ax->n = mc->n_mels;
    ax->htk = !strcmp(mc->mel_scale, "htk");
    ax->fmax = mc->fmax;
    double lo = md_hz_to_mel(mc->fmin, ax->htk), hi = md_hz_to_mel(mc->fmax, ax->htk);
    ax->step = (hi - lo) / (mc->n_mels + 1);
    ax->mel0 = lo + ax->step;
    return 0;
}

double md_mel_axis_centre_hz(const md_mel_axis *ax, int i)
{
    return md_mel_to_hz(ax->mel0 + i * ax->step, ax->htk);
}

void md_mel_axis_locate(const md_mel_axis *ax, double hz, int *i0, double *frac)
{
    double x = (md_hz_to_mel(hz, ax->htk) - ax->mel0) / ax->step;
    if (!(x > 0)) { /* below the first centre (or NaN): all to bin 0 */
        *i0 = 0;
        *frac = 0;
    } else if (x >= ax->n - 1) {
        *i0 = ax->n - 1;
        *frac = 0;
    } else {
        *i0 = (int)floor(x);
        *frac = x - *i0;
    }
}
