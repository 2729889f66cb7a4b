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

#include "audio/png.h"
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
    o->limit_db = MD_RENDER_LIMIT_DB;
    o->sampler = MD_SAMPLER_DPMPP_2M;
    /* 8 guided steps: on the shipped model better than 20 on every metric of
     * tools/eval, beyond the seed spread, at 2.5x less work (models/unet.md,
     * "Sampler settings"). */
    o->steps = 8;
    o->guidance = 1.5f;
    /* Guidance on the high-noise steps only: at 8 steps the first 4 (t from
     * 0.999 to 0.624). Measured (models/unet.md, "Guidance interval"): the
     * same LSD and chroma as guiding every step, a quarter fewer U-Net
     * batch items. */
    o->guide_t_lo = 0.55f;
    o->guide_t_hi = 1.0f;
    o->segment_frames = 256;
    o->overlap_frames = 32;
    o->tail_seconds = 1.0;
    /* A little past each instrument's measured release (gate_release.c),
     * which covers its pitches and velocities only approximately. */
    o->gate_margin = 0.25;
    o->max_seconds = MD_RENDER_MAX_SECONDS;
    md_gl_params_default(&o->gl);
    o->gl_chunk_frames = -1;
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
    return MD_OK;
}

static void progress_stage(render_state *st, const char *stage)
{
    if (!st->o->progress) return;
    md_render_progress p = {st->n_outs, st->n_outs, "mix", 0, 1, stage};
    st->o->progress(st->o->progress_user, &p);
}

static md_status run(render_state *st, double t_start, md_denoiser *const *dens, md_ctx *const *ctxs, int n)
{
    md_status s = check_song(st);
    if (!s) s = md_outdir_begin(st->ctx, st->o->out_dir, st->o->force, &st->dir);
    if (!s) s = md_render_stems(st, dens, ctxs, n);
    double t0 = md_clock_wall();
    if (!s) progress_stage(st, "write");
    if (!s) s = md_render_mix(st);
    st->t_write += md_clock_wall() - t0;
    if (!s) s = md_render_write_manifest(st->ctx, st, t_start);
    if (!s) s = md_outdir_commit(st->ctx, &st->dir);
    return s;
}

md_status md_render_run(md_ctx *ctx, const md_render_opts *o, md_denoiser *den, md_render_report *rep)
{
    return md_render_run_workers(ctx, o, &den, &ctx, 1, rep);
}

md_status md_render_run_workers(md_ctx *ctx, const md_render_opts *o, md_denoiser *const *dens,
                                md_ctx *const *ctxs, int n, md_render_report *rep)
{
    if (n < 1 || n > MD_RENDER_MAX_WORKERS)
        return md_fail(ctx, MD_ERR_USAGE, "render: %d workers (expected 1 to %d)", n, MD_RENDER_MAX_WORKERS);
    /* A refiner's conditioning image is the drawing: it cannot run without one. */
    if (dens[0]->cond_notebank && !o->prior)
        return md_fail(ctx, MD_ERR_USAGE, "%s: the model refines note-bank drawings and needs a note bank",
                       dens[0]->model_path[0] ? dens[0]->model_path : "render");
    render_state st;
    memset(&st, 0, sizeof st);
    st.ctx = ctx;
    st.o = o;
    st.den = dens[0];
    double t_start = md_clock_wall();
    md_status s = md_score_load_file(ctx, o->midi_path, &o->score, &st.score);
    st.t_parse = md_clock_wall() - t_start;
    if (!s) s = run(&st, t_start, dens, ctxs, n);
    if (s) md_outdir_abort(&st.dir);
    if (!s && rep) {
        rep->n_stems_rendered = st.n_outs;
        rep->n_stems_skipped = (int)st.score->n_stems - st.n_outs;
        rep->seconds = (double)st.n_out / o->rate;
        rep->mix_lufs = st.mix_loud.integrated_lufs;
    }
    md_score_free(st.score);
    free(st.outs);
    return s;
}
