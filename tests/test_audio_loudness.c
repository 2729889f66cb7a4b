/* EBU R128 loudness and the peak-safe gain. */
#include <math.h>
#include <stdlib.h>

#include "audio/loudness.h"
#include "test_util.h"

int main(void)
{
    md_ctx *ctx = NULL;
    md_ctx_create(&ctx);
    const int rate = 48000;
    size_t n = (size_t)rate * 3;
    float *x = malloc(sizeof(float) * n);
    /* EBU Tech 3341: a 1 kHz sine at -20 dBFS reads -20 LUFS (mono: the
     * channel weighting makes it about -23 LUFS for a single channel). */
    double amp = pow(10.0, -20.0 / 20.0);
    for (size_t i = 0; i < n; i++) x[i] = (float)(amp * sin(2 * M_PI * 1000.0 * (double)i / rate));
    md_loudness l;
    CHECK(md_loudness_measure(ctx, x, n, rate, &l) == MD_OK);
    CHECK_NEAR(l.integrated_lufs, -23.0, 0.1);
    CHECK_NEAR(l.sample_peak, amp, 1e-3);
    CHECK(l.true_peak >= l.sample_peak);
    /* target -30 LUFS: plain attenuation by 7 dB */
    double g = 0;
    CHECK(md_loudness_gain(ctx, x, n, rate, -30.0, &g, NULL) == MD_OK);
    CHECK_NEAR(20 * log10(g), -7.0, 0.1);
    /* target -2 LUFS would need +21 dB (peak at +1 dBFS): the -1 dBTP ceiling wins */
    CHECK(md_loudness_gain(ctx, x, n, rate, -2.0, &g, NULL) == MD_OK);
    CHECK_NEAR(20 * log10(g * l.true_peak), -1.0, 0.01);
    /* no target: unity when already safe, attenuation when too hot */
    CHECK(md_loudness_gain(ctx, x, n, rate, NAN, &g, NULL) == MD_OK);
    CHECK(g == 1.0);
    for (size_t i = 0; i < n; i++) x[i] *= 12.0f; /* peaks at +1.6 dBFS */
    CHECK(md_loudness_gain(ctx, x, n, rate, NAN, &g, &l) == MD_OK);
    CHECK(g < 1.0);
    CHECK_NEAR(20 * log10(g * l.true_peak), -1.0, 0.01);
    /* silence: no gain, no NaN */
    for (size_t i = 0; i < n; i++) x[i] = 0.0f;
    CHECK(md_loudness_gain(ctx, x, n, rate, -14.0, &g, &l) == MD_OK);
    CHECK(g == 1.0 && isinf(l.integrated_lufs));
    free(x);
    md_ctx_destroy(ctx);
    return md_test_finish();
}
