/* NNLS mel inversion: pseudo-inverse start, then FISTA projected gradient. */
#include "audio/mel_inverse.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const md_melbank *mb;
    int M, B;
    double *chol; /* Cholesky factor of W W^T + eps I, M x M lower */
    double L;     /* Lipschitz constant of the gradient: lambda_max(W W^T) */
    double *y;    /* M scratch */
    float *r, *g, *z, *prev; /* scratch: M, B, B, B */
} md_nnls;

/* G = W W^T from the sparse rows (only overlapping rows meet). */
static void gram(const md_melbank *mb, double *G)
{
    int M = mb->n_mels;
    memset(G, 0, sizeof(double) * (size_t)M * M);
    for (int i = 0; i < M; i++)
        for (int j = i; j < M; j++) {
            int a = mb->start[i] > mb->start[j] ? mb->start[i] : mb->start[j];
            int e1 = mb->start[i] + mb->len[i], e2 = mb->start[j] + mb->len[j];
            int b = e1 < e2 ? e1 : e2;
            double acc = 0;
            for (int k = a; k < b; k++)
                acc += (double)mb->w[mb->offset[i] + (size_t)(k - mb->start[i])] *
                       mb->w[mb->offset[j] + (size_t)(k - mb->start[j])];
            G[(size_t)i * M + j] = G[(size_t)j * M + i] = acc;
        }
}

static double lambda_max(const double *G, int M, double *v, double *w)
{
    for (int i = 0; i < M; i++) v[i] = 1.0;
    double lam = 0;
    for (int it = 0; it < 200; it++) {
        double norm = 0;
        for (int i = 0; i < M; i++) {
            double acc = 0;
            for (int j = 0; j < M; j++) acc += G[(size_t)i * M + j] * v[j];
            w[i] = acc;
            norm += acc * acc;
        }
        norm = sqrt(norm);
        if (norm == 0) return 0;
        for (int i = 0; i < M; i++) v[i] = w[i] / norm;
        if (fabs(norm - lam) <= 1e-9 * norm) return norm;
        lam = norm;
    }
    return lam;
}

/* In-place Cholesky of G + eps I (eps relative to the mean diagonal keeps
 * the narrow low-frequency bands from making it singular). */
static int cholesky(double *G, int M)
{
    double tr = 0;
    for (int i = 0; i < M; i++) tr += G[(size_t)i * M + i];
    double eps = 1e-8 * tr / M;
    for (int i = 0; i < M; i++) G[(size_t)i * M + i] += eps;
    for (int j = 0; j < M; j++) {
        double d = G[(size_t)j * M + j];
        for (int k = 0; k < j; k++) d -= G[(size_t)j * M + k] * G[(size_t)j * M + k];
        if (!(d > 0)) return -1;
        d = sqrt(d);
        G[(size_t)j * M + j] = d;
        for (int i = j + 1; i < M; i++) {
            double s = G[(size_t)i * M + j];
            for (int k = 0; k < j; k++) s -= G[(size_t)i * M + k] * G[(size_t)j * M + k];
            G[(size_t)i * M + j] = s / d;
        }
    }
    return 0;
}

static void chol_solve(const double *Lc, int M, double *y)
{
    for (int i = 0; i < M; i++) {
        double s = y[i];
        for (int k = 0; k < i; k++) s -= Lc[(size_t)i * M + k] * y[k];
        y[i] = s / Lc[(size_t)i * M + i];
    }
    for (int i = M - 1; i >= 0; i--) {
        double s = y[i];
        for (int k = i + 1; k < M; k++) s -= Lc[(size_t)k * M + i] * y[k];
        y[i] = s / Lc[(size_t)i * M + i];
    }
}

/* FISTA's momentum for each iteration, in double as the loop used to
 * compute it inline: t_{k+1} = (1 + sqrt(1 + 4 t_k^2)) / 2, mom = (t_k - 1) / t_{k+1}. */
static void momentum_table(int iters, float *mom)
{
    double t = 1.0;
    for (int it = 0; it < iters; it++) {
        double t_next = 0.5 * (1.0 + sqrt(1.0 + 4.0 * t * t));
        mom[it] = (float)((t - 1.0) / t_next);
        t = t_next;
    }
}

/* One frame's start: the minimum-norm pseudo-inverse of m, clamped at 0. */
static void start_frame(md_nnls *q, const float *m, float *s)
{
    const int M = q->M, B = q->B;
    for (int i = 0; i < M; i++) q->y[i] = m[i];
    chol_solve(q->chol, M, q->y);
    for (int i = 0; i < M; i++) q->r[i] = (float)q->y[i];
    md_melbank_apply_t(q->mb, q->r, s);
    for (int k = 0; k < B; k++) s[k] = s[k] > 0 ? s[k] : 0;
}

/* One frame's FISTA iterations from its start s (shaders/gl_nnls.comp is
 * the same loop on a GPU). */
static void iterate_frame(md_nnls *q, const float *m, int iters, const float *mom, float *s)
{
    const int M = q->M, B = q->B;
    memcpy(q->prev, s, sizeof(float) * (size_t)B);
    const float step = (float)(1.0 / q->L);
    for (int it = 0; it < iters; it++) {
        for (int k = 0; k < B; k++) q->z[k] = s[k] + mom[it] * (s[k] - q->prev[k]);
        memcpy(q->prev, s, sizeof(float) * (size_t)B);
        md_melbank_apply(q->mb, q->z, q->r);
        for (int i = 0; i < M; i++) q->r[i] -= m[i];
        md_melbank_apply_t(q->mb, q->r, q->g);
        for (int k = 0; k < B; k++) {
            float v = q->z[k] - step * q->g[k];
            s[k] = v > 0 ? v : 0;
        }
    }
}

/* ||W s - m||^2 of one frame. */
static double frame_error(md_nnls *q, const float *m, const float *s)
{
    md_melbank_apply(q->mb, s, q->r);
    double e = 0;
    for (int i = 0; i < q->M; i++) e += ((double)q->r[i] - m[i]) * ((double)q->r[i] - m[i]);
    return e;
}

static void nnls_free(md_nnls *q)
{
    free(q->chol), free(q->y), free(q->r), free(q->g), free(q->z), free(q->prev);
}

/* Frame t's mel column, clamped at 0, into m; adds its energy to *den. */
static void frame_mel(const float *mel, size_t frames, size_t t, int M, float *m, double *den)
{
    for (int i = 0; i < M; i++) {
        float v = mel[(size_t)i * frames + t];
        m[i] = v > 0 ? v : 0;
        *den += (double)m[i] * m[i];
    }
}

static md_status nnls_init(md_ctx *ctx, md_nnls *q)
{
    const int M = q->M, B = q->B;
    q->chol = malloc(sizeof(double) * (size_t)M * M);
    q->y = malloc(sizeof(double) * (size_t)M * 2);
    q->r = malloc(sizeof(float) * (size_t)(M > B ? M : B));
    q->g = malloc(sizeof(float) * (size_t)B);
    q->z = malloc(sizeof(float) * (size_t)B);
    q->prev = malloc(sizeof(float) * (size_t)B);
    if (!q->chol || !q->y || !q->r || !q->g || !q->z || !q->prev)
        return md_fail(ctx, MD_ERR_NOMEM, "mel inversion: out of memory");
    gram(q->mb, q->chol);
    q->L = lambda_max(q->chol, M, q->y, q->y + M);
    if (!(q->L > 0) || cholesky(q->chol, M))
        return md_fail(ctx, MD_ERR_INTERNAL, "mel inversion: filterbank Gram matrix is singular");
    return MD_OK;
}

/* Every frame here, one after another. */
static double solve_here(md_nnls *q, const float *mel, size_t frames, int iters, const float *mom, float *m,
                         float *mag, double *den)
{
    double err = 0;
    for (size_t t = 0; t < frames; t++) {
        float *s = mag + t * (size_t)q->B;
        frame_mel(mel, frames, t, q->M, m, den);
        start_frame(q, m, s);
        iterate_frame(q, m, iters, mom, s);
        err += frame_error(q, m, s);
    }
    return err;
}

/* Starts here, iterations through `iterate` on all frames at once. */
static md_status solve_with(md_ctx *ctx, md_nnls *q, const float *mel, size_t frames, int iters, const float *mom,
                            md_mel_iterate_fn iterate, void *user, float *mag, double *err, double *den)
{
    float *ms = malloc(sizeof(float) * (size_t)q->M * (frames ? frames : 1));
    if (!ms) return md_fail(ctx, MD_ERR_NOMEM, "mel inversion: out of memory for %zu frames", frames);
    for (size_t t = 0; t < frames; t++) {
        frame_mel(mel, frames, t, q->M, ms + t * (size_t)q->M, den);
        start_frame(q, ms + t * (size_t)q->M, mag + t * (size_t)q->B);
    }
    md_status s = iterate(user, ctx, q->mb, ms, frames, iters, mom, (float)(1.0 / q->L), mag);
    for (size_t t = 0; !s && t < frames; t++) *err += frame_error(q, ms + t * (size_t)q->M, mag + t * (size_t)q->B);
    free(ms);
    return s;
}

md_status md_mel_to_linear_with(md_ctx *ctx, const md_melbank *mb, const float *mel, size_t frames, int iters,
                                md_mel_iterate_fn iterate, void *user, float *mag, double *residual)
{
    md_nnls q = {.mb = mb, .M = mb->n_mels, .B = mb->bins};
    if (iters < 0) return md_fail(ctx, MD_ERR_USAGE, "mel inversion: %d iterations", iters);
    float *m = malloc(sizeof(float) * (size_t)q.M), *mom = malloc(sizeof(float) * (size_t)(iters ? iters : 1));
    md_status st = m && mom ? nnls_init(ctx, &q) : md_fail(ctx, MD_ERR_NOMEM, "mel inversion: out of memory");
    double err = 0, den = 0;
    if (!st) momentum_table(iters, mom);
    if (!st && !iterate) err = solve_here(&q, mel, frames, iters, mom, m, mag, &den);
    else if (!st) st = solve_with(ctx, &q, mel, frames, iters, mom, iterate, user, mag, &err, &den);
    if (!st && residual) *residual = den > 0 ? sqrt(err / den) : 0.0;
    nnls_free(&q);
    free(m), free(mom);
    return st;
}

md_status md_mel_to_linear(md_ctx *ctx, const md_melbank *mb, const float *mel, size_t frames,
                           int iters, float *mag, double *residual)
{
    return md_mel_to_linear_with(ctx, mb, mel, frames, iters, NULL, NULL, mag, residual);
}
