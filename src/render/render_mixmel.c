/* Blocked log-mel for the mix picture (see render_mixmel.h). */
#include "render/render_mixmel.h"

#include <stdlib.h>
#include <string.h>

#define BATCH 256 /* frames per excerpt */

struct md_mixmel {
    md_ctx *ctx;
    md_logmel *lm;
    size_t n_mels, hop, ctxf; /* ctxf: frames of context each side, ceil(n_fft/2 / hop) */
    size_t total, got;        /* samples expected / received */
    size_t T, done;           /* frames in the image / computed */
    float *buf;               /* excerpt: global samples from (done - ctxf) * hop */
    size_t have, need;        /* samples in buf / excerpt length */
    float *out, *image;
};

md_status md_mixmel_create(md_ctx *ctx, const md_mel_contract *c, size_t n_samples, md_mixmel **out)
{
    *out = NULL;
    md_mixmel *mm = calloc(1, sizeof *mm);
    if (!mm) return md_fail(ctx, MD_ERR_NOMEM, "out of memory");
    mm->ctx = ctx, mm->total = n_samples, mm->n_mels = (size_t)c->n_mels, mm->hop = (size_t)c->hop;
    mm->ctxf = ((size_t)c->n_fft / 2 + mm->hop - 1) / mm->hop;
    mm->T = md_mel_frames_for_samples(c, n_samples);
    mm->need = (BATCH - 1 + 2 * mm->ctxf) * mm->hop;
    /* Before frame 0 lies the centre padding: start with ctxf hops of zeros. */
    mm->have = mm->ctxf * mm->hop;
    md_status s = md_logmel_create(ctx, c, &mm->lm);
    mm->buf = calloc(mm->need, sizeof(float));
    mm->out = malloc(sizeof(float) * mm->n_mels * (BATCH + 2 * mm->ctxf));
    mm->image = malloc(sizeof(float) * mm->n_mels * (mm->T ? mm->T : 1));
    if (!s && (!mm->buf || !mm->out || !mm->image)) s = md_fail(ctx, MD_ERR_NOMEM, "out of memory for the mix picture");
    if (s) {
        md_mixmel_destroy(mm);
        return s;
    }
    *out = mm;
    return MD_OK;
}

/* Computes frames [done, done + BATCH) from the full excerpt, then slides it. */
static md_status batch(md_mixmel *mm)
{
    size_t ef = BATCH + 2 * mm->ctxf; /* frames of the excerpt */
    md_status s = md_logmel_run(mm->lm, mm->buf, mm->need, mm->out);
    if (s) return s;
    size_t k = mm->T - mm->done < BATCH ? mm->T - mm->done : BATCH;
    for (size_t m = 0; m < mm->n_mels; m++)
        memcpy(mm->image + m * mm->T + mm->done, mm->out + m * ef + mm->ctxf, sizeof(float) * k);
    mm->done += k;
    size_t drop = BATCH * mm->hop;
    memmove(mm->buf, mm->buf + drop, sizeof(float) * (mm->need - drop));
    mm->have -= drop;
    return MD_OK;
}

md_status md_mixmel_push(md_mixmel *mm, const float *x, size_t n)
{
    if (n > mm->total - mm->got) n = mm->total - mm->got;
    mm->got += n;
    while (n && mm->done < mm->T) {
        size_t k = mm->need - mm->have < n ? mm->need - mm->have : n;
        memcpy(mm->buf + mm->have, x, sizeof(float) * k);
        mm->have += k, x += k, n -= k;
        if (mm->have == mm->need && mm->done < mm->T) {
            md_status s = batch(mm);
            if (s) return s;
        }
    }
    return MD_OK;
}

md_status md_mixmel_finish(md_mixmel *mm, const float **image, size_t *frames)
{
    /* After the end the signal is zero (centre padding, then nothing). */
    while (mm->done < mm->T) {
        memset(mm->buf + mm->have, 0, sizeof(float) * (mm->need - mm->have));
        mm->have = mm->need;
        md_status s = batch(mm);
        if (s) return s;
    }
    *image = mm->image;
    *frames = mm->T;
    return MD_OK;
}

void md_mixmel_destroy(md_mixmel *mm)
{
    if (!mm) return;
    md_logmel_destroy(mm->lm);
    free(mm->buf), free(mm->out), free(mm->image);
    free(mm);
}
