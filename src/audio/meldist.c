/* Log-spectral distance between two log-mel spectrograms. */
#include "audio/meldist.h"

#include <math.h>

/* ln(magnitude) -> dB of power: 10 log10(m^2) = 20 / ln(10) * ln(m). */
#define DB_PER_NAT (20.0 / M_LN10)

void md_meldist_compute(const float *a, size_t fa, const float *b, size_t fb, int n_mels,
                        md_meldist *out)
{
    size_t T = fa < fb ? fa : fb;
    double peak = -INFINITY;
    for (int m = 0; m < n_mels; m++)
        for (size_t t = 0; t < T; t++) {
            peak = fmax(peak, a[(size_t)m * fa + t]);
            peak = fmax(peak, b[(size_t)m * fb + t]);
        }
    double floor_db = peak * DB_PER_NAT - 80.0, lsd = 0, mad = 0;
    for (size_t t = 0; t < T; t++) {
        double sq = 0;
        for (int m = 0; m < n_mels; m++) {
            double da = fmax(a[(size_t)m * fa + t] * DB_PER_NAT, floor_db);
            double db = fmax(b[(size_t)m * fb + t] * DB_PER_NAT, floor_db);
            sq += (da - db) * (da - db);
            mad += fabs(da - db);
        }
        lsd += sqrt(sq / n_mels);
    }
    out->frames = T;
    out->lsd_db = T ? lsd / (double)T : 0.0;
    out->mean_abs_db = T ? mad / ((double)T * n_mels) : 0.0;
}
