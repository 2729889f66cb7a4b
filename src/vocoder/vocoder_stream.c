/* Chunked Griffin-Lim with held-phase borders and linear cross-fades. */
#include "vocoder/vocoder_stream.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "audio/griffinlim_gpu.h"
#include "audio/logmel.h"
#include "audio/mel_inverse.h"
#include "audio/melbank.h"
#include "audio/stft.h"

struct md_vocoder_stream {
    md_ctx *ctx;
    md_mel_contract c;
    md_gl_params gl;
    md_vocoder_sink sink;
    void *user;
    md_melbank *mb;
    md_stft *stft;
    size_t chunk, overlap, held, margin, bins, n_mels, hop;
    size_t cap, have;      /* mel buffer: n_mels rows of cap frames, have filled */
    float *mel;            /* [n_mels][cap] log-mel */
    float *lin, *mag, *y;  /* chunk scratch for `scratch` frames */
    size_t scratch;
    float *head, *tail;    /* held frames for this chunk / border out for the next */
    float *fade;           /* the previous chunk's samples over the fade region */
    size_t n_chunks, frames_done;
    double sc_sum;
    int measure;           /* md_vocoder_stream_measure */
};

md_status md_vocoder_stream_create(md_ctx *ctx, const md_mel_contract *c, const md_gl_params *gl,
                                   size_t chunk, size_t overlap, md_vocoder_sink sink, void *user,
                                   md_vocoder_stream **out)
{
    *out = NULL;
    md_vocoder_stream *v = calloc(1, sizeof *v);
    if (!v) return md_fail(ctx, MD_ERR_NOMEM, "vocoder: out of memory");
    v->ctx = ctx, v->c = *c, v->gl = *gl, v->sink = sink, v->user = user;
    v->chunk = chunk, v->overlap = overlap, v->hop = (size_t)c->hop, v->n_mels = (size_t)c->n_mels;
    v->held = overlap / 2;
    v->measure = 1;
    v->margin = ((size_t)c->n_fft + v->hop - 1) / v->hop;
    md_status s = MD_OK;
    if (chunk && (v->held < 2 * v->margin + 2 || chunk < 2 * overlap + 2))
        s = md_fail(ctx, MD_ERR_USAGE, "vocoder: chunk of %zu frames with overlap %zu: need overlap >= %zu "
                    "and chunk >= 2 * overlap + 2", chunk, overlap, 4 * v->margin + 4);
    if (!s) s = md_melbank_for_contract(ctx, c, &v->mb);
    if (!s) s = md_stft_create(ctx, c->n_fft, c->hop, c->win_length, c->center, &v->stft);
    if (!s) {
        v->bins = (size_t)md_stft_bins(v->stft);
        v->cap = chunk ? chunk : 1024;
        size_t fb = overlap * v->bins * 2;
        v->mel = malloc(sizeof(float) * v->n_mels * v->cap);
        v->head = malloc(sizeof(float) * (fb ? fb : 1));
        v->tail = malloc(sizeof(float) * (fb ? fb : 1));
        v->fade = malloc(sizeof(float) * (overlap ? overlap * v->hop : 1));
        if (!v->mel || !v->head || !v->tail || !v->fade) s = md_fail(ctx, MD_ERR_NOMEM, "vocoder: out of memory");
    }
    if (s) {
        md_vocoder_stream_destroy(v);
        return s;
    }
    *out = v;
    return MD_OK;
}

void md_vocoder_stream_destroy(md_vocoder_stream *v)
{
    if (!v) return;
    md_melbank_destroy(v->mb);
    md_stft_destroy(v->stft);
    free(v->mel), free(v->lin), free(v->mag), free(v->y);
    free(v->head), free(v->tail), free(v->fade);
    free(v);
}

/* Chunk scratch for F frames. Every chunk but the last is full, so this
 * allocates once, not per chunk. */
static md_status chunk_scratch(md_vocoder_stream *v, size_t F)
{
    if (F <= v->scratch) return MD_OK;
    size_t n = (F - 1) * v->hop;
    free(v->lin), free(v->mag), free(v->y);
    v->lin = malloc(sizeof(float) * v->n_mels * F);
    v->mag = malloc(sizeof(float) * F * v->bins);
    v->y = malloc(sizeof(float) * (n ? n : 1));
    v->scratch = v->lin && v->mag && v->y ? F : 0;
    if (!v->scratch) return md_fail(v->ctx, MD_ERR_NOMEM, "vocoder: out of memory for %zu frames", F);
    return MD_OK;
}

/* The buffered log-mel frames -> linear magnitude [F][bins] in v->mag. */
static md_status chunk_magnitude(md_vocoder_stream *v, size_t F)
{
    for (size_t m = 0; m < v->n_mels; m++)
        for (size_t t = 0; t < F; t++) v->lin[m * F + t] = expf(v->mel[m * v->cap + t]);
    double res = 0;
    /* With a GPU engine its iterations run there too (md_gl_gpu_nnls). */
    md_status s = md_mel_to_linear_with(v->ctx, v->mb, v->lin, F, MD_MEL_INVERSE_DEFAULT_ITERS,
                                        v->gl.gpu ? md_gl_gpu_nnls : NULL, v->gl.gpu, v->mag, &res);
    if (s) return s;
    if (v->c.power != 1.0f) /* the contract's mel is of |X|^power */
        for (size_t i = 0; i < F * v->bins; i++) v->mag[i] = powf(v->mag[i], 1.0f / v->c.power);
    md_log(v->ctx, MD_LOG_DEBUG, "mel inversion: relative residual %.2e", res);
    return MD_OK;
}

/* Hands chunk samples [a, b) of v->y to the sink, the first `nf` of them
 * cross-faded from the previous chunk's v->fade. */
static md_status emit(md_vocoder_stream *v, size_t a, size_t b, size_t nf)
{
    for (size_t i = 0; i < nf; i++) {
        float w = ((float)i + 0.5f) / (float)nf;
        v->y[a + i] = v->fade[i] * (1.0f - w) + v->y[a + i] * w;
    }
    return b > a ? v->sink(v->user, v->y + a, b - a) : MD_OK;
}

/* Vocodes the buffered frames as one chunk. Not final: keeps the last
 * `overlap` frames for the next chunk and its border (held spectra, fade). */
static md_status run_chunk(md_vocoder_stream *v, int final)
{
    size_t F = v->have, n = (F - 1) * v->hop, O = v->overlap, H = v->held, M = v->margin;
    md_status s = chunk_scratch(v, F);
    if (!s) s = chunk_magnitude(v, F);
    int first = v->n_chunks == 0;
    md_gl_border b = {first ? NULL : v->head, first ? 0 : H, final ? NULL : v->tail, F - O};
    double sc = 0;
    if (!s) s = md_griffinlim_border(v->ctx, v->stft, v->mag, F, &v->gl, &b, v->y, n, v->measure ? &sc : NULL);
    if (s) return s;
    if (v->measure)
        md_log(v->ctx, MD_LOG_DEBUG, "griffin-lim chunk %zu (%zu frames): spectral convergence %.4f",
               v->n_chunks, F, sc);
    v->sc_sum += sc * (double)F;
    v->frames_done += F;
    /* Fade region: frames [M, H - M) of a chunk, inside its held frames,
     * where (the window of every frame that reaches it being held) it
     * reproduces the previous chunk's waveform. */
    size_t from = first ? 0 : M * v->hop, nf = first ? 0 : (H - 2 * M) * v->hop;
    size_t to = final ? n : (F - O + M) * v->hop;
    s = emit(v, from, to, nf);
    if (s || final) return s;
    /* The next chunk starts O frames before this one's end: its first H
     * frames are held at this waveform's STFT, its fade region meets ours. */
    memcpy(v->fade, v->y + to, sizeof(float) * (H - 2 * M) * v->hop);
    float *t = v->head;
    v->head = v->tail, v->tail = t;
    for (size_t m = 0; m < v->n_mels; m++)
        memmove(v->mel + m * v->cap, v->mel + m * v->cap + F - O, sizeof(float) * O);
    v->have = O;
    v->n_chunks++;
    return MD_OK;
}

/* chunk 0: the buffer grows to hold everything. */
static md_status grow(md_vocoder_stream *v)
{
    size_t cap = v->cap * 2;
    float *m = malloc(sizeof(float) * v->n_mels * cap);
    if (!m) return md_fail(v->ctx, MD_ERR_NOMEM, "vocoder: out of memory for %zu frames", cap);
    for (size_t r = 0; r < v->n_mels; r++) memcpy(m + r * cap, v->mel + r * v->cap, sizeof(float) * v->have);
    free(v->mel);
    v->mel = m, v->cap = cap;
    return MD_OK;
}

md_status md_vocoder_stream_push(md_vocoder_stream *v, const float *logmel, size_t stride, size_t n)
{
    for (size_t j = 0; j < n;) {
        /* A full buffer is vocoded only once another frame arrives, so a
         * song of exactly `chunk` frames is still one chunk. */
        if (v->have == v->cap) {
            md_status s = v->chunk ? run_chunk(v, 0) : grow(v);
            if (s) return s;
        }
        size_t k = v->cap - v->have < n - j ? v->cap - v->have : n - j;
        for (size_t m = 0; m < v->n_mels; m++)
            memcpy(v->mel + m * v->cap + v->have, logmel + m * stride + j, sizeof(float) * k);
        v->have += k, j += k;
    }
    return MD_OK;
}

void md_vocoder_stream_measure(md_vocoder_stream *v, int on) { v->measure = on != 0; }

md_status md_vocoder_stream_finish(md_vocoder_stream *v, double *mean_sc)
{
    if (v->n_chunks == 0 && v->have < 2)
        return md_fail(v->ctx, MD_ERR_USAGE, "vocoder: need at least 2 mel frames, got %zu", v->have);
    md_status s = run_chunk(v, 1);
    if (!s && mean_sc) *mean_sc = v->frames_done ? v->sc_sum / (double)v->frames_done : 0.0;
    return s;
}

typedef struct collect {
    float *y;
    size_t n, cap;
} collect;

static md_status collect_sink(void *user, const float *y, size_t n)
{
    collect *c = user;
    if (c->n + n > c->cap) return MD_ERR_INTERNAL; /* cannot happen: cap is the exact total */
    memcpy(c->y + c->n, y, sizeof(float) * n);
    c->n += n;
    return MD_OK;
}

md_status md_vocode_chunked(md_ctx *ctx, const md_mel_contract *c, const float *logmel, size_t T,
                            const md_gl_params *gl, size_t chunk, size_t overlap, float **y,
                            size_t *n, double *mean_sc)
{
    *y = NULL, *n = 0;
    if (T < 2) return md_fail(ctx, MD_ERR_USAGE, "vocoder: need at least 2 mel frames, got %zu", T);
    collect col = {NULL, 0, (T - 1) * (size_t)c->hop};
    if (!(col.y = malloc(sizeof(float) * col.cap)))
        return md_fail(ctx, MD_ERR_NOMEM, "out of memory for %zu samples", col.cap);
    md_vocoder_stream *v = NULL;
    md_status s = md_vocoder_stream_create(ctx, c, gl, chunk, overlap, collect_sink, &col, &v);
    if (!s) s = md_vocoder_stream_push(v, logmel, T, T);
    if (!s) s = md_vocoder_stream_finish(v, mean_sc);
    md_vocoder_stream_destroy(v);
    if (!s && col.n != col.cap) s = md_fail(ctx, MD_ERR_INTERNAL, "vocoder: %zu samples, expected %zu", col.n, col.cap);
    if (s) {
        free(col.y);
        return s;
    }
    *y = col.y, *n = col.n;
    return MD_OK;
}
