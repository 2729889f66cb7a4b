/* A stem's log-mel to a waveform of exactly the song's length at the output
 * rate, chunk by chunk: chunked Griffin-Lim -> streaming soxr -> sink. */
#include <stdlib.h>
#include <string.h>

#include "audio/resample.h"
#include "render/render_internal.h"
#include "vocoder/vocoder_stream.h"

/* Passes on exactly `want` samples: cuts what is over, pads the rest. */
typedef struct exact_len {
    md_render_sink sink;
    void *user;
    size_t want, got;
} exact_len;

static md_status exact_push(void *user, const float *y, size_t n)
{
    exact_len *e = user;
    if (n > e->want - e->got) n = e->want - e->got;
    e->got += n;
    return n ? e->sink(e->user, y, n) : MD_OK;
}

static md_status exact_pad(exact_len *e)
{
    static const float zeros[4096];
    md_status s = MD_OK;
    while (!s && e->got < e->want) {
        size_t k = e->want - e->got < 4096 ? e->want - e->got : 4096;
        s = exact_push(e, zeros, k);
    }
    return s;
}

static md_status to_resampler(void *user, const float *y, size_t n)
{
    return md_resampler_push(user, y, n);
}

md_status md_render_vocode(md_ctx *ctx, const md_render_opts *o, const md_mel_contract *mc,
                           const float *logmel, size_t n_frames, size_t n_out, md_render_sink sink,
                           void *user)
{
    exact_len e = {sink, user, n_out, 0};
    md_resampler *rs = NULL;
    md_vocoder_stream *vs = NULL;
    double sc = 0;
    size_t chunk = o->gl_chunk_frames < 0 ? MD_VOCODER_CHUNK_FRAMES : (size_t)o->gl_chunk_frames;
    md_status s = md_resampler_create(ctx, mc->sample_rate, o->rate, exact_push, &e, &rs);
    if (!s) s = md_vocoder_stream_create(ctx, mc, &o->gl, chunk, MD_VOCODER_OVERLAP_FRAMES, to_resampler, rs, &vs);
    /* The convergence is only ever logged at debug level. */
    int measure = md_ctx_log_level(ctx) >= MD_LOG_DEBUG;
    if (!s) md_vocoder_stream_measure(vs, measure);
    if (!s) s = md_vocoder_stream_push(vs, logmel, n_frames, n_frames);
    if (!s) s = md_vocoder_stream_finish(vs, &sc);
    if (!s) s = md_resampler_finish(rs);
    if (!s) s = exact_pad(&e);
    if (!s && measure) md_log(ctx, MD_LOG_DEBUG, "griffin-lim: spectral convergence %.4f", sc);
    md_vocoder_stream_destroy(vs);
    md_resampler_destroy(rs);
    return s;
}
