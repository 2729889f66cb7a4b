/* Griffin-Lim vocoder over the library's mel inversion and STFT. */
#include "vocoder/vocoder_gl.h"

#include <math.h>
#include <stdlib.h>

#include "audio/logmel.h"
#include "audio/mel_inverse.h"
#include "audio/melbank.h"
#include "audio/stft.h"

/* logmel [n_mels, T] -> linear magnitude [T, bins]. */
static md_status mel_to_mag(md_ctx *ctx, const md_mel_contract *c, const float *lm, size_t T, float **mag_out)
{
    md_melbank *mb = NULL;
    md_status s = md_melbank_for_contract(ctx, c, &mb);
    if (s != MD_OK) return s;
    size_t nm = (size_t)c->n_mels * T, nb = T * (size_t)mb->bins;
    float *mel = malloc(sizeof(float) * nm), *mag = malloc(sizeof(float) * nb);
    if (!mel || !mag) s = md_fail(ctx, MD_ERR_NOMEM, "out of memory for %zu mel frames", T);
    for (size_t i = 0; s == MD_OK && i < nm; i++) mel[i] = expf(lm[i]);
    double res = 0;
    if (s == MD_OK) s = md_mel_to_linear(ctx, mb, mel, T, MD_MEL_INVERSE_DEFAULT_ITERS, mag, &res);
    if (s == MD_OK && c->power != 1.0f) /* the contract's mel is of |X|^power */
        for (size_t i = 0; i < nb; i++) mag[i] = powf(mag[i], 1.0f / c->power);
    if (s == MD_OK) md_log(ctx, MD_LOG_DEBUG, "mel inversion: relative residual %.2e", res);
    md_melbank_destroy(mb);
    free(mel);
    if (s != MD_OK) {
        free(mag);
        return s;
    }
    *mag_out = mag;
    return MD_OK;
}

md_status md_vocode_gl(md_ctx *ctx, const md_mel_contract *c, const float *logmel, size_t T,
                       const md_gl_params *gl, float **y_out, size_t *n_out, double *final_sc)
{
    *y_out = NULL;
    *n_out = 0;
    if (T < 2) return md_fail(ctx, MD_ERR_USAGE, "vocoder: need at least 2 mel frames, got %zu", T);
    float *mag = NULL, *y = NULL;
    md_stft *stft = NULL;
    size_t n = (T - 1) * (size_t)c->hop;
    double sc = 0;
    md_status s = mel_to_mag(ctx, c, logmel, T, &mag);
    if (s == MD_OK) s = md_stft_create(ctx, c->n_fft, c->hop, c->win_length, c->center, &stft);
    if (s == MD_OK && !(y = malloc(sizeof(float) * n)))
        s = md_fail(ctx, MD_ERR_NOMEM, "out of memory for %zu samples", n);
    if (s == MD_OK) s = md_griffinlim(ctx, stft, mag, T, gl, y, n, &sc);
    free(mag);
    md_stft_destroy(stft);
    if (s != MD_OK) {
        free(y);
        return s;
    }
    if (final_sc) *final_sc = sc;
    *y_out = y;
    *n_out = n;
    return MD_OK;
}
