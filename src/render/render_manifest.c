/* render.json: what a render did, so it can be reproduced and audited. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/fileout.h"
#include "core/hash.h"
#include "melodiff/version.h"
#include "render/render_internal.h"
#include "notebank/notebank.h"
#include "audio/griffinlim_gpu.h"
#include "vocoder/vocoder_stream.h"

static double db(double x) { return x > 0 ? 20.0 * log10(x) : -INFINITY; }

/* JSON has no infinities: silence is written as null. */
static void add_num(cJSON *o, const char *k, double v)
{
    if (isfinite(v)) cJSON_AddNumberToObject(o, k, round(v * 1000.0) / 1000.0);
    else cJSON_AddNullToObject(o, k);
}

static cJSON *stems_json(const render_state *st)
{
    cJSON *arr = cJSON_CreateArray();
    for (int k = 0; arr && k < st->n_outs; k++) {
        const stem_out *so = &st->outs[k];
        cJSON *o = cJSON_CreateObject();
        char file[200];
        snprintf(file, sizeof file, "stems/%s.wav", so->base);
        cJSON_AddNumberToObject(o, "index", so->index);
        cJSON_AddStringToObject(o, "name", so->stem->name);
        cJSON_AddNumberToObject(o, "instrument", so->stem->instrument);
        cJSON_AddStringToObject(o, "file", file);
        cJSON_AddNumberToObject(o, "notes", (double)so->stem->n_notes);
        cJSON_AddNumberToObject(o, "segments", (double)so->segments);
        cJSON_AddNumberToObject(o, "silent_segments", (double)so->silent_segments); /* gate closed: no model */
        add_num(o, "lufs", so->loud.integrated_lufs);
        add_num(o, "true_peak_dbtp", db(so->loud.true_peak));
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

/* Where the stems' log-mels come from: the note bank's drawing alone, the
 * diffusion model from noise, or the model from the noised drawing;
 * "refiner": whether the model's conditioning image is the drawing. */
static void add_source(cJSON *d, const md_render_opts *o, const md_denoiser *den)
{
    const char *src = !o->prior ? "diffusion" : o->prior_t > 0 ? "notebank+diffusion" : "notebank";
    cJSON_AddStringToObject(d, "source", src);
    cJSON_AddBoolToObject(d, "refiner", den->cond_notebank);
    if (!o->prior) return;
    cJSON *p = cJSON_AddObjectToObject(d, "notebank");
    cJSON_AddStringToObject(p, "path", md_notebank_path(o->prior));
    cJSON_AddStringToObject(p, "sha256", md_notebank_sha256(o->prior));
    add_num(p, "start_t", o->prior_t);
}

static cJSON *settings_json(const render_state *st)
{
    const md_render_opts *o = st->o;
    cJSON *d = cJSON_CreateObject();
    add_source(d, o, st->den);
    cJSON_AddStringToObject(d, "sampler", md_sampler_kind_name(o->sampler));
    cJSON_AddNumberToObject(d, "steps", o->steps);
    add_num(d, "guidance", o->guidance);
    if (o->guide_t_hi > o->guide_t_lo) { /* guidance in a time interval only */
        cJSON *gi = cJSON_AddArrayToObject(d, "guidance_interval");
        cJSON_AddItemToArray(gi, cJSON_CreateNumber(round(o->guide_t_lo * 1000.0) / 1000.0));
        cJSON_AddItemToArray(gi, cJSON_CreateNumber(round(o->guide_t_hi * 1000.0) / 1000.0));
    }
    cJSON_AddNumberToObject(d, "seed", (double)o->seed);
    cJSON_AddNumberToObject(d, "segment_frames", o->segment_frames);
    cJSON_AddNumberToObject(d, "overlap_frames", o->overlap_frames);
    if (o->gate_margin >= 0) add_num(d, "gate_margin_seconds", o->gate_margin);
    else cJSON_AddFalseToObject(d, "gate_margin_seconds");
    if (o->preview_seconds > 0) add_num(d, "preview_seconds", o->preview_seconds);
    cJSON *v = cJSON_AddObjectToObject(d, "vocoder");
    cJSON_AddStringToObject(v, "kind", "griffin-lim");
    cJSON_AddNumberToObject(v, "iters", o->gl.iters);
    cJSON_AddNumberToObject(v, "threads", o->gl.gpu ? 0 : o->gl.threads);
    /* where the iterations ran: FFTW here, or a Vulkan device */
    cJSON_AddStringToObject(v, "device", o->gl.gpu ? md_gl_gpu_device(o->gl.gpu) : "cpu (fftw)");
    add_num(v, "momentum", o->gl.momentum);
    cJSON_AddStringToObject(v, "init", o->gl.init == MD_GL_INIT_PGHI ? "pghi" : o->gl.init == MD_GL_INIT_RANDOM ? "random" : "zeros");
    /* 0: the whole song in one piece */
    cJSON_AddNumberToObject(v, "chunk_frames", o->gl_chunk_frames < 0 ? MD_VOCODER_CHUNK_FRAMES : o->gl_chunk_frames);
    cJSON_AddNumberToObject(v, "overlap_frames", o->gl_chunk_frames ? MD_VOCODER_OVERLAP_FRAMES : 0);
    return d;
}

static cJSON *output_json(const render_state *st)
{
    cJSON *d = cJSON_CreateObject();
    cJSON_AddNumberToObject(d, "rate", st->o->rate);
    cJSON_AddStringToObject(d, "format", md_audio_format_name(st->o->format));
    cJSON_AddNumberToObject(d, "samples", (double)st->n_out);
    add_num(d, "seconds", (double)st->n_out / st->o->rate);
    add_num(d, "lufs_target", st->o->lufs);
    add_num(d, "mix_lufs", st->mix_loud.integrated_lufs);
    add_num(d, "mix_true_peak_dbtp", db(st->mix_loud.true_peak));
    add_num(d, "gain_db", db(st->gain));
    cJSON *l = cJSON_AddObjectToObject(d, "limiter");
    cJSON_AddBoolToObject(l, "on", st->limited);
    add_num(l, "max_depth_db", st->o->limit_db);
    add_num(l, "peak_reduction_db", st->limit_peak_db);
    add_num(l, "seconds_over_1db", st->limit_seconds);
    cJSON_AddNumberToObject(l, "passes", st->level_passes);
    return d;
}

static cJSON *timing_json(const render_state *st, double t_start)
{
    cJSON *d = cJSON_CreateObject();
    add_num(d, "parse", st->t_parse);
    add_num(d, "sample", st->t_sample);
    add_num(d, "vocode", st->t_vocode);
    add_num(d, "write", st->t_write);
    add_num(d, "total", md_clock_wall() - t_start);
    return d;
}

md_status md_render_write_manifest(md_ctx *ctx, const render_state *st, double t_start)
{
    char in_hash[65];
    md_status s = md_sha256_file(ctx, st->o->midi_path, MD_ERR_INPUT, in_hash);
    if (s) return s;
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "software", "melodiff " MELODIFF_VERSION_STRING);
    cJSON_AddStringToObject(root, "note", "AI-generated by melodiff");
    cJSON *in = cJSON_AddObjectToObject(root, "input");
    cJSON_AddStringToObject(in, "path", st->o->midi_path);
    cJSON_AddStringToObject(in, "sha256", in_hash);
    add_num(in, "length_seconds", st->score->length);
    cJSON *model = cJSON_AddObjectToObject(root, "model");
    cJSON_AddStringToObject(model, "path", st->den->model_path);
    cJSON_AddStringToObject(model, "sha256", st->den->model_sha256);
    cJSON_AddStringToObject(root, "backend", st->den->backend);
    cJSON_AddStringToObject(root, "device", st->den->device);
    /* what the backend resolved "auto" to: the same model renders differently in fp16 */
    if (st->den->precision[0]) cJSON_AddStringToObject(root, "precision", st->den->precision);
    if (st->den->kernels[0]) cJSON_AddStringToObject(root, "conv_kernels", st->den->kernels);
    cJSON_AddItemToObject(root, "settings", settings_json(st));
    cJSON_AddItemToObject(root, "output", output_json(st));
    cJSON_AddItemToObject(root, "stems", stems_json(st));
    cJSON_AddNumberToObject(root, "stems_skipped", (double)st->score->n_stems - st->n_outs);
    cJSON_AddNumberToObject(root, "workers", st->workers); /* stem groups rendered at once */
    cJSON_AddNumberToObject(root, "batch_stems", st->batch); /* stems per network pass */
    cJSON_AddNumberToObject(root, "vocode_jobs", st->o->vocode_jobs > 1 ? st->o->vocode_jobs : 1);
    cJSON_AddItemToObject(root, "time_seconds", timing_json(st, t_start));
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) return md_fail(ctx, MD_ERR_NOMEM, "out of memory writing the manifest");
    char path[1200];
    md_outdir_path(&st->dir, NULL, "render", ".json", path, sizeof path);
    s = md_write_file_atomic(ctx, path, 1, text, strlen(text));
    free(text);
    return s;
}
