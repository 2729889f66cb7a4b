/* Griffin-Lim vocoder over the library's mel inversion and STFT: the
 * whole-signal case of the chunked vocoder (one chunk). */
#include "vocoder/vocoder_gl.h"

#include "vocoder/vocoder_stream.h"

md_status md_vocode_gl(md_ctx *ctx, const md_mel_contract *c, const float *logmel, size_t T,
                       const md_gl_params *gl, float **y_out, size_t *n_out, double *final_sc)
{
    double sc = 0;
    md_status s = md_vocode_chunked(ctx, c, logmel, T, gl, 0, 0, y_out, n_out, &sc);
    if (s == MD_OK && final_sc) *final_sc = sc;
    return s;
}
