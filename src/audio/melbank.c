/* Mel filterbank construction following librosa.filters.mel exactly. */
#include "audio/melbank.h"

#include <stdlib.h>
#include <string.h>

#include "melodiff/mel.h"

void md_melbank_destroy(md_melbank *mb)
{
    if (!mb) return;
    free(mb->start);
    free(mb->len);
    free(mb->offset);
    free(mb->w);
    free(mb);
}

/* One dense row as librosa computes it: max(0, min(lower, upper)) slopes
 * between mel_f[i], mel_f[i+1], mel_f[i+2], times the Slaney area norm. */
static void dense_row(const double *mel_f, const double *fftfreqs, int bins, int i, int norm,
                      double *row)
{
    double fd0 = mel_f[i + 1] - mel_f[i], fd1 = mel_f[i + 2] - mel_f[i + 1];
    double enorm = norm ? 2.0 / (mel_f[i + 2] - mel_f[i]) : 1.0;
    for (int k = 0; k < bins; k++) {
        double lower = -(mel_f[i] - fftfreqs[k]) / fd0;
        double upper = (mel_f[i + 2] - fftfreqs[k]) / fd1;
        double v = lower < upper ? lower : upper;
        row[k] = (v > 0.0 ? v : 0.0) * enorm;
    }
}

static md_status fill(md_melbank *mb, int sr, int n_fft, double fmin, double fmax, int htk,
                      int norm)
{
    int bins = mb->bins, n = mb->n_mels;
    double *mel_f = malloc(sizeof(double) * (size_t)(n + 2));
    double *freqs = malloc(sizeof(double) * (size_t)bins);
    double *row = malloc(sizeof(double) * (size_t)bins);
    float *w = malloc(sizeof(float) * (size_t)bins * (size_t)n);
    md_status st = MD_ERR_NOMEM;
    if (!mel_f || !freqs || !row || !w) goto done;
    double m0 = md_hz_to_mel(fmin, htk), m1 = md_hz_to_mel(fmax, htk);
    for (int i = 0; i < n + 2; i++) /* np.linspace(m0, m1, n + 2) */
        mel_f[i] = md_mel_to_hz(m0 + (m1 - m0) * i / (double)(n + 1), htk);
    for (int k = 0; k < bins; k++) freqs[k] = (double)sr / 2.0 * k / (double)(bins - 1);
    size_t used = 0;
    for (int i = 0; i < n; i++) {
        dense_row(mel_f, freqs, bins, i, norm, row);
        int a = 0, b = bins;
        while (a < bins && (float)row[a] == 0.0f) a++;
        while (b > a && (float)row[b - 1] == 0.0f) b--;
        mb->start[i] = a;
        mb->len[i] = b - a;
        mb->offset[i] = used;
        for (int k = a; k < b; k++) w[used++] = (float)row[k];
    }
    float *shrunk = realloc(w, sizeof(float) * (used ? used : 1));
    mb->w = shrunk ? shrunk : w;
    w = NULL;
    st = MD_OK;
done:
    free(mel_f);
    free(freqs);
    free(row);
    free(w);
    return st;
}

md_status md_melbank_create(md_ctx *ctx, int sample_rate, int n_fft, int n_mels, double fmin,
                            double fmax, int htk, int slaney_norm, md_melbank **out)
{
    if (sample_rate <= 0 || n_fft < 2 || n_mels < 1 || !(fmin >= 0.0) || !(fmax > fmin))
        return md_fail(ctx, MD_ERR_USAGE, "melbank: invalid parameters (sr %d, n_fft %d, n_mels %d, "
                       "fmin %g, fmax %g)", sample_rate, n_fft, n_mels, fmin, fmax);
    md_melbank *mb = calloc(1, sizeof *mb);
    if (!mb) return md_fail(ctx, MD_ERR_NOMEM, "melbank: out of memory");
    mb->n_mels = n_mels;
    mb->bins = n_fft / 2 + 1;
    mb->start = malloc(sizeof(int) * (size_t)n_mels);
    mb->len = malloc(sizeof(int) * (size_t)n_mels);
    mb->offset = malloc(sizeof(size_t) * (size_t)n_mels);
    if (!mb->start || !mb->len || !mb->offset ||
        fill(mb, sample_rate, n_fft, fmin, fmax, htk, slaney_norm) != MD_OK) {
        md_melbank_destroy(mb);
        return md_fail(ctx, MD_ERR_NOMEM, "melbank: out of memory");
    }
    *out = mb;
    return MD_OK;
}

void md_melbank_dense(const md_melbank *mb, float *out)
{
    memset(out, 0, sizeof(float) * (size_t)mb->n_mels * (size_t)mb->bins);
    for (int i = 0; i < mb->n_mels; i++)
        memcpy(out + (size_t)i * mb->bins + mb->start[i], mb->w + mb->offset[i],
               sizeof(float) * (size_t)mb->len[i]);
}

void md_melbank_apply(const md_melbank *mb, const float *spec, float *mel)
{
    for (int i = 0; i < mb->n_mels; i++) {
        const float *w = mb->w + mb->offset[i], *s = spec + mb->start[i];
        float acc = 0.0f;
        for (int k = 0; k < mb->len[i]; k++) acc += w[k] * s[k];
        mel[i] = acc;
    }
}

void md_melbank_apply_t(const md_melbank *mb, const float *mel, float *spec)
{
    memset(spec, 0, sizeof(float) * (size_t)mb->bins);
    for (int i = 0; i < mb->n_mels; i++) {
        const float *w = mb->w + mb->offset[i];
        float *s = spec + mb->start[i];
        for (int k = 0; k < mb->len[i]; k++) s[k] += w[k] * mel[i];
    }
}
