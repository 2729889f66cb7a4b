/* The render pipeline: score -> per-stem log-mel (diffusion) -> waveform
 * (Griffin-Lim) -> stems, mix, pictures and manifest, moved into place only
 * when everything succeeded. */
#include "render/render.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audio/logmel.h"
#include "audio/loudness.h"
#include "audio/png.h"
#include "audio/resample.h"
#include "core/clock.h"
#include "core/fileout.h"
#include "render/render_internal.h"
#include "render/render_outdir.h"

void md_render_opts_default(md_render_opts *o)
{
    memset(o, 0, sizeof *o);
    md_score_options_default(&o->score);
    o->rate = 48000;
    o->format = MD_AUDIO_WAV24;
    o->lufs = -16.0;
    o->sampler = MD_SAMPLER_DPMPP_2M;
    o->steps = 20;
    o->guidance = 1.5f;
    o->segment_frames = 256;
    o->overlap_frames = 32;
    o->tail_seconds = 1.0;
    o->max_seconds = 900.0;
    md_gl_params_default(&o->gl);
}

void md_render_stem_filename(int index, const char *name, char *out, size_t cap)
{
    size_t p = (size_t)snprintf(out, cap, "%02d-", index);
    int dash = 1;
    for (const char *c = name; *c && p + 1 < cap; c++) {
        char ch = *c;
        if (ch >= 'A' && ch <= 'Z') ch = (char)(ch - 'A' + 'a');
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
        if (ok) {
            out[p++] = ch;
            dash = 0;
        } else if (!dash) {
            out[p++] = '-';
            dash = 1;
        }
    }
    if (p > 3 && out[p - 1] == '-') p--;
    if (p == 3 && p + 5 < cap) p += (size_t)snprintf(out + p, cap - p, "stem");
    out[p < cap ? p : cap - 1] = '\0';
}

/* Is stem i (0-based) selected by the --stems list? */
static int stem_selected(const char *list, int i, const char *name)
{
    if (!list || !*list) return 1;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *end;
        long v = strtol(tok, &end, 10);
        if (*end == '\0' && v == i + 1) return 1;
        if (!strcasecmp(tok, name)) return 1;
    }
    return 0;
}

static md_status check_song(render_state *st)
{
    const md_render_opts *o = st->o;
    md_score *sc = st->score;
    if (sc->length > o->max_seconds && !(o->preview_seconds > 0 && o->preview_seconds <= o->max_seconds))
        return md_fail(st->ctx, MD_ERR_LIMIT, "%s: the song lasts %.1f s, over the render limit of %.1f s (--max-seconds)",
                       o->midi_path, sc->length, o->max_seconds);
    if (sc->n_notes == 0) return md_fail(st->ctx, MD_ERR_INPUT, "%s: the file has no notes to render", o->midi_path);
    st->outs = calloc(sc->n_stems, sizeof *st->outs);
    if (!st->outs) return md_fail(st->ctx, MD_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < sc->n_stems; i++) {
        const md_stem *s = &sc->stems[i];
        if (!stem_selected(o->stems, (int)i, s->name)) continue;
        if (s->n_notes == 0) {
            md_log(st->ctx, MD_LOG_INFO, "stem %zu (%s) has no notes: skipped", i + 1, s->name);
            continue;
        }
        stem_out *so = &st->outs[st->n_outs++];
        so->index = (int)i + 1;
        so->stem = s;
        md_render_stem_filename(so->index, s->name, so->base, sizeof so->base);
    }
    if (st->n_outs == 0)
        return md_fail(st->ctx, MD_ERR_USAGE, "%s: no stem with notes matches --stems '%s'", o->midi_path,
                       o->stems ? o->stems : "");
    double length = o->preview_seconds > 0 && o->preview_seconds < sc->length ? o->preview_seconds : sc->length;
    double seconds = length + o->tail_seconds;
    st->n_frames = md_cond_frames_for_seconds(&st->den->mc, seconds);
    st->n_out = (size_t)ceil(seconds * o->rate);
    st->mix = calloc(st->n_out, sizeof *st->mix);
    return st->mix ? MD_OK : md_fail(st->ctx, MD_ERR_NOMEM, "out of memory for the mix");
}

/* Samples, pictures and vocodes one stem; its unity-gain waveform goes to a
 * float WAV in the temporary directory and into the mix. */
static md_status render_one(render_state *st, int k)
{
    stem_out *so = &st->outs[k];
    size_t nm = (size_t)st->den->mc.n_mels * st->n_frames;
    float *logmel = malloc(nm * sizeof *logmel), *y = NULL;
    if (!logmel) return md_fail(st->ctx, MD_ERR_NOMEM, "out of memory for %zu mel frames", st->n_frames);
    double t0 = md_clock_wall();
    md_status s = md_render_stem_logmel(st->ctx, st->o, st->den, so->stem, so->index - 1, k, st->n_outs,
                                        st->n_frames, logmel);
    double t1 = md_clock_wall();
    char path[1024];
    if (!s) {
        md_outdir_path(&st->dir, "stems", so->base, ".png", path, sizeof path);
        s = md_png_write_logmel(st->ctx, path, logmel, st->den->mc.n_mels, st->n_frames, 1);
    }
    if (!s) s = md_render_vocode(st->ctx, st->o, &st->den->mc, logmel, st->n_frames, st->n_out, &y);
    double t2 = md_clock_wall();
    if (!s) {
        for (size_t i = 0; i < st->n_out; i++) st->mix[i] += y[i];
        md_outdir_path(&st->dir, "stems", so->base, ".f32.wav", path, sizeof path);
        s = md_audio_write(st->ctx, path, y, st->n_out, 1, st->o->rate, MD_AUDIO_WAV32F, 1);
    }
    st->t_sample += t1 - t0;
    st->t_vocode += t2 - t1;
    st->t_write += md_clock_wall() - t2;
    free(logmel);
    free(y);
    return s;
}

static md_status write_mix(render_state *st)
{
    md_ctx *ctx = st->ctx;
    md_status s = md_loudness_gain(ctx, st->mix, st->n_out, st->o->rate, st->o->lufs, &st->gain, &st->mix_loud);
    if (s) return s;
    for (size_t i = 0; i < st->n_out; i++) st->mix[i] = (float)(st->mix[i] * st->gain);
    md_loudness_measure(ctx, st->mix, st->n_out, st->o->rate, &st->mix_loud);
    char path[1024];
    md_outdir_path(&st->dir, NULL, "mix", ".wav", path, sizeof path);
    s = md_audio_write(ctx, path, st->mix, st->n_out, 1, st->o->rate, st->o->format, 1);
    /* The mix picture is made under the model's contract, like the stems'. */
    const md_mel_contract *mc = &st->den->mc;
    float *z = NULL, *lm = NULL;
    size_t m = 0;
    if (!s) s = md_resample(ctx, st->mix, st->n_out, st->o->rate, mc->sample_rate, &z, &m);
    size_t T = md_mel_frames_for_samples(mc, m);
    if (!s && !(lm = malloc((size_t)mc->n_mels * T * sizeof *lm))) s = md_fail(ctx, MD_ERR_NOMEM, "out of memory");
    if (!s) s = md_logmel_compute(ctx, mc, z, m, lm);
    md_outdir_path(&st->dir, NULL, "mix", ".png", path, sizeof path);
    if (!s) s = md_png_write_logmel(ctx, path, lm, mc->n_mels, T, 1);
    free(z);
    free(lm);
    return s;
}

/* Rewrites each stem at the mix gain in the output format. */
static md_status finish_stems(render_state *st)
{
    md_status s = MD_OK;
    for (int k = 0; k < st->n_outs && !s; k++) {
        stem_out *so = &st->outs[k];
        char tmp[1024], path[1024];
        md_outdir_path(&st->dir, "stems", so->base, ".f32.wav", tmp, sizeof tmp);
        md_outdir_path(&st->dir, "stems", so->base, ".wav", path, sizeof path);
        float *y = NULL;
        size_t n = 0;
        int native = 0;
        s = md_audio_read_mono(st->ctx, tmp, st->o->rate, &y, &n, &native);
        for (size_t i = 0; !s && i < n; i++) y[i] = (float)(y[i] * st->gain);
        if (!s) s = md_loudness_measure(st->ctx, y, n, st->o->rate, &so->loud);
        if (!s) s = md_audio_write(st->ctx, path, y, n, 1, st->o->rate, st->o->format, 1);
        free(y);
        unlink(tmp);
    }
    return s;
}

static void progress_stage(render_state *st, const char *stage)
{
    if (!st->o->progress) return;
    md_render_progress p = {st->n_outs, st->n_outs, "mix", 0, 1, stage};
    st->o->progress(st->o->progress_user, &p);
}

static md_status run(render_state *st, double t_start)
{
    md_status s = check_song(st);
    if (!s) s = md_outdir_begin(st->ctx, st->o->out_dir, st->o->force, &st->dir);
    for (int k = 0; k < st->n_outs && !s; k++) s = render_one(st, k);
    double t0 = md_clock_wall();
    if (!s) progress_stage(st, "write");
    if (!s) s = write_mix(st);
    if (!s) s = finish_stems(st);
    st->t_write += md_clock_wall() - t0;
    if (!s) s = md_render_write_manifest(st->ctx, st, t_start);
    if (!s) s = md_outdir_commit(st->ctx, &st->dir);
    return s;
}

md_status md_render_run(md_ctx *ctx, const md_render_opts *o, md_denoiser *den, md_render_report *rep)
{
    render_state st;
    memset(&st, 0, sizeof st);
    st.ctx = ctx;
    st.o = o;
    st.den = den;
    double t_start = md_clock_wall();
    md_status s = md_score_load_file(ctx, o->midi_path, &o->score, &st.score);
    st.t_parse = md_clock_wall() - t_start;
    if (!s) s = run(&st, t_start);
    if (s) md_outdir_abort(&st.dir);
    if (!s && rep) {
        rep->n_stems_rendered = st.n_outs;
        rep->n_stems_skipped = (int)st.score->n_stems - st.n_outs;
        rep->seconds = (double)st.n_out / o->rate;
        rep->mix_lufs = st.mix_loud.integrated_lufs;
    }
    md_score_free(st.score);
    free(st.outs);
    free(st.mix);
    return s;
}
