/* Log-mel analysis: STFT magnitude -> mel filterbank -> natural log. */
#include "audio/logmel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct md_logmel {
    md_mel_contract c;
    md_stft *stft;
    md_melbank *mb;
    md_ctx *ctx;
    float *mag, *mel; /* one frame each */
};

md_status md_mel_contract_supported(md_ctx *ctx, const md_mel_contract *c, const char *origin)
{
    if (strcmp(c->window, "hann"))
        return md_fail(ctx, MD_ERR_MODEL, "%s: mel contract: window '%s' is not supported (hann)",
                       origin, c->window);
    if (strcmp(c->mel_scale, "slaney") && strcmp(c->mel_scale, "htk"))
        return md_fail(ctx, MD_ERR_MODEL, "%s: mel contract: mel_scale '%s' is not slaney or htk",
                       origin, c->mel_scale);
    if (strcmp(c->mel_norm, "slaney") && strcmp(c->mel_norm, "none"))
        return md_fail(ctx, MD_ERR_MODEL, "%s: mel contract: mel_norm '%s' is not slaney or none",
                       origin, c->mel_norm);
    if (c->fmax > c->sample_rate / 2.0f + 1e-3f || c->win_length > c->n_fft || c->hop < 1 ||
        c->n_fft < 16 || (c->n_fft & 1) || c->n_mels < 1)
        return md_fail(ctx, MD_ERR_MODEL, "%s: mel contract: inconsistent sizes or fmax above Nyquist",
                       origin);
    return MD_OK;
}

md_status md_melbank_for_contract(md_ctx *ctx, const md_mel_contract *c, md_melbank **out)
{
    return md_melbank_create(ctx, c->sample_rate, c->n_fft, c->n_mels, c->fmin, c->fmax,
                             !strcmp(c->mel_scale, "htk"), !strcmp(c->mel_norm, "slaney"), out);
}

void md_logmel_destroy(md_logmel *lm)
{
    if (!lm) return;
    md_stft_destroy(lm->stft);
    md_melbank_destroy(lm->mb);
    free(lm->mag);
    free(lm->mel);
    free(lm);
}

md_status md_logmel_create(md_ctx *ctx, const md_mel_contract *c, md_logmel **out)
{
    md_status s = md_mel_contract_supported(ctx, c, "features");
    if (s != MD_OK) return s;
    md_logmel *lm = calloc(1, sizeof *lm);
    if (!lm) return md_fail(ctx, MD_ERR_NOMEM, "logmel: out of memory");
    lm->c = *c;
    lm->ctx = ctx;
    if ((s = md_stft_create(ctx, c->n_fft, c->hop, c->win_length, c->center, &lm->stft)) ||
        (s = md_melbank_for_contract(ctx, c, &lm->mb))) {
        md_logmel_destroy(lm);
        return s;
    }
    lm->mag = malloc(sizeof(float) * (size_t)md_stft_bins(lm->stft));
    lm->mel = malloc(sizeof(float) * (size_t)c->n_mels);
    if (!lm->mag || !lm->mel) {
        md_logmel_destroy(lm);
        return md_fail(ctx, MD_ERR_NOMEM, "logmel: out of memory");
    }
    *out = lm;
    return MD_OK;
}

const md_melbank *md_logmel_melbank(const md_logmel *lm) { return lm->mb; }
md_stft *md_logmel_stft(md_logmel *lm) { return lm->stft; }

md_status md_logmel_run(md_logmel *lm, const float *x, size_t n, float *out)
{
    size_t frames = md_stft_frames(lm->stft, n);
    int bins = md_stft_bins(lm->stft), n_mels = lm->c.n_mels;
    float *mag = malloc(sizeof(float) * (size_t)bins * frames);
    if (!mag) return md_fail(lm->ctx, MD_ERR_NOMEM, "logmel: out of memory for %zu frames", frames);
    md_stft_magnitude(lm->stft, x, n, mag);
    const float p = lm->c.power, floor_v = lm->c.log_floor;
    for (size_t t = 0; t < frames; t++) {
        const float *src = mag + t * (size_t)bins;
        if (p != 1.0f) {
            for (int k = 0; k < bins; k++) lm->mag[k] = powf(src[k], p);
            src = lm->mag;
        }
        md_melbank_apply(lm->mb, src, lm->mel);
        for (int m = 0; m < n_mels; m++)
            out[(size_t)m * frames + t] = logf(lm->mel[m] > floor_v ? lm->mel[m] : floor_v);
    }
    free(mag);
    return MD_OK;
}

md_status md_logmel_compute(md_ctx *ctx, const md_mel_contract *c, const float *samples,
                            size_t n, float *out)
{
    md_logmel *lm = NULL;
    md_status s = md_logmel_create(ctx, c, &lm);
    if (s != MD_OK) return s;
    s = md_logmel_run(lm, samples, n, out);
    md_logmel_destroy(lm);
    return s;
}
