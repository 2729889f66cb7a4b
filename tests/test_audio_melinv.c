/* Mel -> linear NNLS inversion on the magnitude of a real music render. */
#include <math.h>
#include <stdlib.h>
#include <time.h>

#include "audio/logmel.h"
#include "audio/mel_inverse.h"
#include "synth/fluid_render.h"
#include "test_util.h"

#define SIMU "/usr/share/games/simutrans/music/05-Boring-afternoon.mid"

int main(void)
{
    md_ctx *ctx = NULL;
    md_ctx_create(&ctx);
    md_synth *syn = NULL;
    float *x = NULL;
    size_t n = 0;
    CHECK(md_synth_create(ctx, NULL, &syn) == MD_OK);
    CHECK(syn && md_synth_render_midi(syn, SIMU, 3.0, &x, &n) == MD_OK);
    md_synth_destroy(syn);
    md_mel_contract c;
    md_mel_contract_default(&c);
    md_logmel *lm = NULL;
    CHECK(md_logmel_create(ctx, &c, &lm) == MD_OK);
    if (!x || !lm) return md_test_finish();
    md_stft *st = md_logmel_stft(lm);
    const md_melbank *mb = md_logmel_melbank(lm);
    size_t T = md_stft_frames(st, n), B = 1025, M = 128;
    float *S = malloc(sizeof(float) * T * B), *mel = malloc(sizeof(float) * T * M);
    float *R = malloc(sizeof(float) * T * B), *R0 = malloc(sizeof(float) * T * B);
    float *col = malloc(sizeof(float) * M);
    md_stft_magnitude(st, x, n, S);
    for (size_t t = 0; t < T; t++) {
        md_melbank_apply(mb, S + t * B, col);
        for (size_t m = 0; m < M; m++) mel[m * T + t] = col[m];
    }
    double res = 1, res0 = 1;
    CHECK(md_mel_to_linear(ctx, mb, mel, T, 0, R0, &res0) == MD_OK);
    CHECK(md_mel_to_linear(ctx, mb, mel, T, MD_MEL_INVERSE_DEFAULT_ITERS, R, &res) == MD_OK);
    int neg = 0;
    for (size_t i = 0; i < T * B; i++) neg += R[i] < 0 || R0[i] < 0;
    CHECK(neg == 0);
    printf("relative mel residual: clamped pseudo-inverse %.4g, after NNLS %.4g\n", res0, res);
    CHECK_MSG(res < 0.5 * res0, "NNLS residual %g vs clamped pinv %g", res, res0);
    CHECK_MSG(res < 0.05, "NNLS residual %g", res);
    /* The log-mel of the recovered magnitude matches the input's where the
     * music is (bands within 60 dB of the peak). */
    double peak = 0, err = 0;
    size_t cnt = 0;
    for (size_t i = 0; i < T * M; i++) peak = fmax(peak, mel[i]);
    for (size_t t = 0; t < T; t++) {
        md_melbank_apply(mb, R + t * B, col);
        for (size_t m = 0; m < M; m++) {
            double a = mel[m * T + t];
            if (a < peak * 1e-3) continue;
            err += fabs(log(col[m] + 1e-12) - log(a));
            cnt++;
        }
    }
    CHECK(cnt > T * 10);
    CHECK_MSG(err / cnt < 0.05, "mean |ln mel error| %g over %zu cells", err / cnt, cnt);
    free(x), free(S), free(mel), free(R), free(R0), free(col);
    md_logmel_destroy(lm);
    md_ctx_destroy(ctx);
    return md_test_finish();
}
