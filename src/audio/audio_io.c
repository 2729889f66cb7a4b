/* libsndfile reader (mono mixdown + resample) and atomic tagged writer. */
#include "audio/audio_io.h"

#include <errno.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "audio/resample.h"
#include "core/fileout.h"
#include "melodiff/version.h"

static const char *const format_names[] = {"wav16", "wav24", "wav32f", "flac"};

int md_audio_format_parse(const char *s, md_audio_format *out)
{
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, format_names[i])) {
            *out = (md_audio_format)i;
            return 0;
        }
    return -1;
}

const char *md_audio_format_name(md_audio_format f)
{
    return (unsigned)f < 4 ? format_names[f] : "?";
}

/* Opens path for reading and checks its header; on failure nothing stays open. */
static md_status open_read(md_ctx *ctx, const char *path, SF_INFO *info, SNDFILE **out)
{
    memset(info, 0, sizeof *info);
    SNDFILE *sf = sf_open(path, SFM_READ, info);
    if (!sf)
        return md_fail(ctx, MD_ERR_INPUT, "%s: not a readable audio file (libsndfile: %s)", path,
                       sf_strerror(NULL));
    if (info->channels < 1 || info->samplerate < 1 || info->frames < 0) {
        sf_close(sf);
        return md_fail(ctx, MD_ERR_INPUT, "%s: invalid header (%d channels, %d Hz)", path,
                       info->channels, info->samplerate);
    }
    *out = sf;
    return MD_OK;
}

/* k interleaved frames of ch channels -> k mono samples (channel mean). */
static void average_channels(const float *block, size_t k, size_t ch, float *mono)
{
    for (size_t i = 0; i < k; i++) {
        float acc = 0.0f;
        for (size_t c = 0; c < ch; c++) acc += block[i * ch + c];
        mono[i] = acc / (float)ch;
    }
}

/* Reads every frame and averages the channels. */
static md_status read_mixdown(md_ctx *ctx, const char *path, SNDFILE *sf, const SF_INFO *info,
                              float **out, size_t *n)
{
    size_t frames = (size_t)info->frames, ch = (size_t)info->channels;
    float *mono = malloc(sizeof(float) * (frames ? frames : 1));
    float *block = malloc(sizeof(float) * 4096 * ch);
    if (!mono || !block) {
        free(mono), free(block);
        return md_fail(ctx, MD_ERR_NOMEM, "%s: out of memory for %zu frames", path, frames);
    }
    size_t got = 0;
    while (got < frames) {
        sf_count_t want = (sf_count_t)(frames - got < 4096 ? frames - got : 4096);
        sf_count_t r = sf_readf_float(sf, block, want);
        if (r <= 0) break;
        average_channels(block, (size_t)r, ch, mono + got);
        got += (size_t)r;
    }
    free(block);
    if (got < frames) {
        free(mono);
        return md_fail(ctx, MD_ERR_INPUT, "%s: truncated audio data (read %zu of %zu frames)", path,
                       got, frames);
    }
    *out = mono;
    *n = frames;
    return MD_OK;
}

md_status md_audio_read_mono(md_ctx *ctx, const char *path, int rate, float **samples,
                             size_t *n, int *native_rate)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return md_fail(ctx, MD_ERR_INPUT, "%s: cannot open: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) return md_fail(ctx, MD_ERR_INPUT, "%s: is a directory", path);
    SF_INFO info;
    SNDFILE *sf = NULL;
    md_status s = open_read(ctx, path, &info, &sf);
    if (s != MD_OK) return s;
    if ((double)info.frames / info.samplerate > MD_AUDIO_MAX_SECONDS)
        s = md_fail(ctx, MD_ERR_LIMIT, "%s: %.0f s of audio exceeds the limit of %.0f s", path,
                    (double)info.frames / info.samplerate, MD_AUDIO_MAX_SECONDS);
    float *mono = NULL;
    size_t frames = 0;
    if (s == MD_OK) s = read_mixdown(ctx, path, sf, &info, &mono, &frames);
    sf_close(sf);
    if (s != MD_OK) return s;
    if (native_rate) *native_rate = info.samplerate;
    if (rate <= 0 || rate == info.samplerate) {
        *samples = mono;
        *n = frames;
        return MD_OK;
    }
    s = md_resample(ctx, mono, frames, info.samplerate, rate, samples, n);
    free(mono);
    return s;
}

static int sf_format_of(md_audio_format fmt)
{
    switch (fmt) {
    case MD_AUDIO_WAV16: return SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    case MD_AUDIO_WAV24: return SF_FORMAT_WAV | SF_FORMAT_PCM_24;
    case MD_AUDIO_WAV32F: return SF_FORMAT_WAV | SF_FORMAT_FLOAT;
    case MD_AUDIO_FLAC: return SF_FORMAT_FLAC | SF_FORMAT_PCM_24;
    }
    return 0;
}

static md_status open_tagged(md_ctx *ctx, const char *path, const char *tmp, int channels, int rate,
                             md_audio_format fmt, SNDFILE **out)
{
    SF_INFO info;
    memset(&info, 0, sizeof info);
    info.samplerate = rate;
    info.channels = channels;
    info.format = sf_format_of(fmt);
    if (!sf_format_check(&info))
        return md_fail(ctx, MD_ERR_USAGE, "%s: libsndfile cannot write %s at %d Hz, %d channels",
                       path, md_audio_format_name(fmt), rate, channels);
    SNDFILE *sf = sf_open(tmp, SFM_WRITE, &info);
    if (!sf) return md_fail(ctx, MD_ERR_IO, "%s: cannot write: %s", path, sf_strerror(NULL));
    char software[64];
    snprintf(software, sizeof software, "melodiff %s", MELODIFF_VERSION_STRING);
    sf_set_string(sf, SF_STR_SOFTWARE, software);
    sf_set_string(sf, SF_STR_COMMENT, "AI-generated by melodiff");
    /* Integer formats: clip instead of wrapping around on overshoot. */
    sf_command(sf, SFC_SET_CLIPPING, NULL, SF_TRUE);
    *out = sf;
    return MD_OK;
}

static md_status put_frames(md_ctx *ctx, const char *path, SNDFILE *sf, const float *x, size_t frames)
{
    sf_count_t w = sf_writef_float(sf, x, (sf_count_t)frames);
    int err = sf_error(sf);
    if (w != (sf_count_t)frames || err)
        return md_fail(ctx, MD_ERR_IO, "%s: writing audio failed: %s", path,
                       err ? sf_error_number(err) : "short write");
    return MD_OK;
}

static md_status close_file(md_ctx *ctx, const char *path, SNDFILE *sf, md_status s)
{
    int cerr = sf_close(sf);
    if (s == MD_OK && cerr) return md_fail(ctx, MD_ERR_IO, "%s: writing audio failed: %s", path, sf_error_number(cerr));
    return s;
}

static md_status write_frames(md_ctx *ctx, const char *path, const char *tmp, const float *x,
                              size_t frames, int channels, int rate, md_audio_format fmt)
{
    SNDFILE *sf = NULL;
    md_status s = open_tagged(ctx, path, tmp, channels, rate, fmt, &sf);
    if (s != MD_OK) return s;
    return close_file(ctx, path, sf, put_frames(ctx, path, sf, x, frames));
}

md_status md_audio_write(md_ctx *ctx, const char *path, const float *samples, size_t frames,
                         int channels, int rate, md_audio_format fmt, int force)
{
    if (channels < 1 || rate < 1 || (unsigned)fmt > MD_AUDIO_FLAC)
        return md_fail(ctx, MD_ERR_USAGE, "%s: invalid output (%d channels, %d Hz)", path,
                       channels, rate);
    md_outfile o;
    md_status s = md_outfile_begin(ctx, path, force, &o);
    if (s != MD_OK) return s;
    s = write_frames(ctx, path, o.tmp, samples, frames, channels, rate, fmt);
    if (s != MD_OK) {
        md_outfile_abort(&o);
        return s;
    }
    return md_outfile_commit(ctx, &o);
}

struct md_audio_writer {
    md_outfile o;
    SNDFILE *sf;
    int channels;
};

md_status md_audio_writer_open(md_ctx *ctx, const char *path, int channels, int rate, md_audio_format fmt,
                               int force, md_audio_writer **out)
{
    *out = NULL;
    if (channels < 1 || rate < 1 || (unsigned)fmt > MD_AUDIO_FLAC)
        return md_fail(ctx, MD_ERR_USAGE, "%s: invalid output (%d channels, %d Hz)", path, channels, rate);
    md_audio_writer *w = calloc(1, sizeof *w);
    if (!w) return md_fail(ctx, MD_ERR_NOMEM, "out of memory");
    w->channels = channels;
    md_status s = md_outfile_begin(ctx, path, force, &w->o);
    if (s != MD_OK) {
        free(w);
        return s;
    }
    s = open_tagged(ctx, path, w->o.tmp, channels, rate, fmt, &w->sf);
    if (s != MD_OK) {
        md_audio_writer_abort(w);
        return s;
    }
    *out = w;
    return MD_OK;
}

md_status md_audio_writer_write(md_ctx *ctx, md_audio_writer *w, const float *samples, size_t frames)
{
    return frames ? put_frames(ctx, w->o.path, w->sf, samples, frames) : MD_OK;
}

md_status md_audio_writer_close(md_ctx *ctx, md_audio_writer *w)
{
    SNDFILE *sf = w->sf;
    w->sf = NULL;
    md_status s = close_file(ctx, w->o.path, sf, MD_OK);
    if (s != MD_OK) {
        md_audio_writer_abort(w);
        return s;
    }
    s = md_outfile_commit(ctx, &w->o);
    free(w);
    return s;
}

void md_audio_writer_abort(md_audio_writer *w)
{
    if (!w) return;
    if (w->sf) sf_close(w->sf);
    md_outfile_abort(&w->o);
    free(w);
}

struct md_audio_reader {
    SNDFILE *sf;
    int channels;
    float *block;
    char *path;
};

md_status md_audio_reader_open(md_ctx *ctx, const char *path, md_audio_reader **out, int *rate,
                               size_t *frames)
{
    *out = NULL;
    SF_INFO info;
    SNDFILE *sf = NULL;
    md_status s = open_read(ctx, path, &info, &sf);
    if (s != MD_OK) return s;
    md_audio_reader *r = calloc(1, sizeof *r);
    if (r) r->block = malloc(sizeof(float) * 4096 * (size_t)info.channels);
    if (r) r->path = strdup(path);
    if (!r || !r->block || !r->path) {
        sf_close(sf);
        if (r) free(r->block), free(r->path);
        free(r);
        return md_fail(ctx, MD_ERR_NOMEM, "out of memory");
    }
    r->sf = sf, r->channels = info.channels;
    if (rate) *rate = info.samplerate;
    if (frames) *frames = (size_t)info.frames;
    *out = r;
    return MD_OK;
}

md_status md_audio_reader_read(md_ctx *ctx, md_audio_reader *r, float *x, size_t max, size_t *got)
{
    size_t ch = (size_t)r->channels, done = 0;
    while (done < max) {
        sf_count_t want = (sf_count_t)(max - done < 4096 ? max - done : 4096);
        sf_count_t k = sf_readf_float(r->sf, r->block, want);
        if (k < 0 || sf_error(r->sf))
            return md_fail(ctx, MD_ERR_INPUT, "%s: reading audio failed: %s", r->path, sf_strerror(r->sf));
        if (k == 0) break;
        average_channels(r->block, (size_t)k, ch, x + done);
        done += (size_t)k;
    }
    *got = done;
    return MD_OK;
}

void md_audio_reader_close(md_audio_reader *r)
{
    if (!r) return;
    sf_close(r->sf);
    free(r->block), free(r->path);
    free(r);
}
