/* A stem's log-mel to a waveform of exactly the song's length at the output rate. */
#include <stdlib.h>
#include <string.h>

#include "audio/resample.h"
#include "render/render_internal.h"
#include "vocoder/vocoder_gl.h"

md_status md_render_vocode(md_ctx *ctx, const md_render_opts *o, const md_mel_contract *mc,
                           const float *logmel, size_t n_frames, size_t n_out, float **out)
{
    float *y = NULL, *z = NULL;
    size_t n = 0, m = 0;
    double sc = 0;
    *out = NULL;
    md_status s = md_vocode_gl(ctx, mc, logmel, n_frames, &o->gl, &y, &n, &sc);
    if (s == MD_OK) {
        md_log(ctx, MD_LOG_DEBUG, "griffin-lim: spectral convergence %.4f", sc);
        s = md_resample(ctx, y, n, mc->sample_rate, o->rate, &z, &m);
    }
    free(y);
    if (s) return s;
    /* Every stem gets exactly n_out samples so all files line up sample for sample. */
    float *r = calloc(n_out ? n_out : 1, sizeof *r);
    if (!r) {
        free(z);
        return md_fail(ctx, MD_ERR_NOMEM, "out of memory for %zu samples", n_out);
    }
    memcpy(r, z, (m < n_out ? m : n_out) * sizeof *r);
    free(z);
    *out = r;
    return MD_OK;
}
