/* `melodiff invert MEL -o OUT.wav`: log-mel file -> waveform (the Griffin-Lim
 * vocoder: NNLS mel inversion, then fast Griffin-Lim), resampled, peak-safe,
 * written. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audio/audio_io.h"
#include "audio/griffinlim.h"
#include "audio/loudness.h"
#include "audio/melfile.h"
#include "audio/resample.h"
#include "cli/cli.h"
#include "vocoder/vocoder_stream.h"

/* The chunked vocoder holds one chunk's STFT, but invert keeps the whole
 * waveform and, with --gl-chunk 0, Griffin-Lim holds about 30 bytes per
 * STFT bin of the whole input (1.5 GB for 10 minutes); longer inputs are
 * refused rather than risking the machine's memory. */
#define MAX_SECONDS (20.0 * 60.0)

typedef struct {
    const char *in, *out;
    md_gl_params gl;
    long chunk; /* Griffin-Lim chunk in frames; 0: whole signal */
    int rate, force;
    md_audio_format fmt;
    double lufs; /* NAN: no loudness change */
} inv_opts;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: melodiff invert MEL -o OUT.wav [options]\n\n"
            "Turns a log-mel file (from 'melodiff analyze' or a model) back into audio: the mel\n"
            "bands are inverted to a linear spectrogram by non-negative least squares, the\n"
            "phase is recovered with fast Griffin-Lim, and the result is resampled, kept at\n"
            "least 1 dB below full scale (true peak) and written.\n\n"
            "options:\n"
            "  -o, --output OUT    output audio file (required)\n"
            "      --iters N       Griffin-Lim iterations (default 32)\n"
            "      --momentum M    fast Griffin-Lim momentum, 0 = classic (default 0.99)\n"
            "      --init I        initial phase: zeros | random | pghi (default pghi)\n"
            "      --rate R        44100 | 48000 (default 48000)\n"
            "      --format F      wav16 | wav24 | wav32f | flac (default wav24)\n"
            "      --lufs L        normalise to L LUFS integrated (default: no loudness change)\n"
            "      --seed S        seed for --init random (default 0)\n"
            "      --threads N     split each Griffin-Lim iteration over N threads (default 1)\n"
            "      --gl-chunk N    run Griffin-Lim on chunks of N frames (default 1024, about 12 s)\n"
            "                      with held-phase borders; 0 = the whole input in one piece\n"
            "  -f, --force         replace an existing output\n"
            "  -v, --verbose       print the spectral convergence of every iteration\n"
            "  -q, --quiet         errors only\n"
            "  -h, --help          this text\n\n"
            "Inputs longer than 20 minutes are refused (exit 3).\n"
            "exit codes: 3 unreadable mel file, 4 mel file made under another mel contract\n");
}

typedef struct {
    md_ctx *ctx;
    int verbose, tty, iters;
} progress;

/* --verbose: one log line per iteration; otherwise, on a terminal, one
 * line rewritten in place (DESIGN.md: long work shows progress). */
static void on_iter(void *user, int iter, double sc)
{
    progress *pr = user;
    if (pr->verbose)
        md_log(pr->ctx, MD_LOG_INFO, "griffin-lim iteration %d: spectral convergence %.5f", iter, sc);
    else if (pr->tty)
        fprintf(stderr, "\rmelodiff: griffin-lim %d/%d (spectral convergence %.4f)%s", iter, pr->iters,
                sc, iter == pr->iters ? "\n" : "");
}

static md_status finish(md_ctx *ctx, const inv_opts *o, const float *y, size_t n, int in_rate)
{
    float *z = NULL;
    size_t m = 0;
    md_status s = md_resample(ctx, y, n, in_rate, o->rate, &z, &m);
    if (s != MD_OK) return s;
    double gain = 1;
    md_loudness l;
    s = md_loudness_gain(ctx, z, m, o->rate, o->lufs, &gain, &l);
    if (s == MD_OK) {
        md_log(ctx, MD_LOG_INFO, "loudness %.1f LUFS, true peak %.1f dBTP, gain %+.2f dB",
               l.integrated_lufs, 20 * log10(l.true_peak + 1e-30), 20 * log10(gain));
        for (size_t i = 0; i < m; i++) z[i] = (float)(z[i] * gain);
        s = md_audio_write(ctx, o->out, z, m, 1, o->rate, o->fmt, o->force);
    }
    free(z);
    return s;
}

static md_status run(md_ctx *ctx, inv_opts *o)
{
    struct stat st;
    if (!o->force && stat(o->out, &st) == 0)
        return md_fail(ctx, MD_ERR_IO, "%s: already exists (use --force to overwrite)", o->out);
    md_mel_contract want, c;
    md_mel_contract_default(&want);
    float *lm = NULL, *y = NULL;
    size_t T = 0, n = 0;
    md_status s = md_melfile_read(ctx, o->in, &c, &lm, &T);
    if (s == MD_OK) s = md_mel_contract_check(ctx, &want, &c, o->in);
    if (s == MD_OK && (double)T / md_mel_frame_rate(&c) > MAX_SECONDS)
        s = md_fail(ctx, MD_ERR_LIMIT, "%s: %.0f s of mel frames exceeds the limit of %.0f s", o->in,
                    (double)T / md_mel_frame_rate(&c), MAX_SECONDS);
    if (s == MD_OK && T < 2)
        s = md_fail(ctx, MD_ERR_INPUT, "%s: %zu mel frame; at least 2 are needed", o->in, T);
    double sc = 0;
    progress pr = {ctx, md_ctx_log_level(ctx) >= MD_LOG_INFO,
                   md_ctx_log_level(ctx) >= MD_LOG_WARN && isatty(STDERR_FILENO), o->gl.iters};
    o->gl.user = &pr;
    o->gl.progress = pr.verbose || (pr.tty && o->gl.iters > 0) ? on_iter : NULL;
    /* the same mel inversion + Griffin-Lim path `melodiff render` uses */
    if (s == MD_OK)
        s = md_vocode_chunked(ctx, &c, lm, T, &o->gl, (size_t)o->chunk, MD_VOCODER_OVERLAP_FRAMES, &y, &n, &sc);
    if (s == MD_OK) {
        md_log(ctx, MD_LOG_INFO, "griffin-lim: final spectral convergence %.5f%s", sc,
               T > (size_t)o->chunk && o->chunk ? " (mean over chunks)" : "");
        s = finish(ctx, o, y, n, c.sample_rate);
    }
    free(lm), free(y);
    return s;
}

static int parse(int argc, char **argv, inv_opts *o, int *verbose, int *quiet)
{
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'}, {"iters", required_argument, 0, 'i'},
        {"momentum", required_argument, 0, 'm'}, {"init", required_argument, 0, 'I'},
        {"rate", required_argument, 0, 'r'},   {"format", required_argument, 0, 'F'},
        {"lufs", required_argument, 0, 'L'},   {"seed", required_argument, 0, 's'},
        {"threads", required_argument, 0, 'T'}, {"gl-chunk", required_argument, 0, 'C'},
        {"force", no_argument, 0, 'f'},        {"verbose", no_argument, 0, 'v'},
        {"quiet", no_argument, 0, 'q'},        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int ch;
    long v;
    double d;
    optind = 1;
    opterr = 0; /* one line of our own instead of getopt's */
    while ((ch = getopt_long(argc, argv, "o:fvqh", opts, NULL)) != -1) {
        switch (ch) {
        case 'o': o->out = optarg; break;
        case 'i':
            if (md_cli_parse_int("invert", "--iters", optarg, 0, 10000, &v)) return 2;
            o->gl.iters = (int)v;
            break;
        case 'm':
            if (md_cli_parse_float("invert", "--momentum", optarg, 0, 5, &d)) return 2;
            o->gl.momentum = d;
            break;
        case 'I':
            if (md_gl_init_parse(optarg, &o->gl.init))
                return md_cli_usage_error("invert", "--init expects zeros, random or pghi, got '%s'", optarg);
            break;
        case 'r':
            if (strcmp(optarg, "44100") && strcmp(optarg, "48000"))
                return md_cli_usage_error("invert", "--rate expects 44100 or 48000, got '%s'", optarg);
            o->rate = atoi(optarg);
            break;
        case 'F':
            if (md_audio_format_parse(optarg, &o->fmt))
                return md_cli_usage_error("invert", "--format expects wav16, wav24, wav32f or flac, got '%s'", optarg);
            break;
        case 'L':
            if (md_cli_parse_float("invert", "--lufs", optarg, -70, 0, &d)) return 2;
            o->lufs = d;
            break;
        case 's':
            if (md_cli_parse_int("invert", "--seed", optarg, 0, 2147483647L, &v)) return 2;
            o->gl.seed = (uint64_t)v;
            break;
        case 'T':
            if (md_cli_parse_int("invert", "--threads", optarg, 1, 16, &v)) return 2;
            o->gl.threads = (int)v;
            break;
        case 'C':
            if (md_cli_parse_int("invert", "--gl-chunk", optarg, 0, 1000000, &v)) return 2;
            if (v && v < MD_VOCODER_MIN_CHUNK_FRAMES)
                return md_cli_usage_error("invert", "--gl-chunk is 0 (whole input) or at least %d frames, not %ld",
                                          MD_VOCODER_MIN_CHUNK_FRAMES, v);
            o->chunk = v;
            break;
        case 'f': o->force = 1; break;
        case 'v': (*verbose)++; break;
        case 'q': *quiet = 1; break;
        case 'h': usage(stdout); return -1;
        default: return md_cli_usage_error("invert", "unknown option or missing value: '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1) return md_cli_usage_error("invert", "expects exactly one mel file");
    if (!o->out || !*o->out) return md_cli_usage_error("invert", "-o OUT is required");
    o->in = argv[optind];
    return 0;
}

int md_cmd_invert(int argc, char **argv)
{
    inv_opts o = {.rate = 48000, .fmt = MD_AUDIO_WAV24, .lufs = NAN, .chunk = MD_VOCODER_CHUNK_FRAMES};
    md_gl_params_default(&o.gl);
    int verbose = 0, quiet = 0;
    int rc = parse(argc, argv, &o, &verbose, &quiet);
    if (rc) return rc < 0 ? 0 : rc;
    md_ctx *ctx = md_cli_context(verbose, quiet);
    if (!ctx) return 1;
    md_status s = run(ctx, &o);
    rc = s == MD_OK ? 0 : md_cli_report(ctx, s);
    md_ctx_destroy(ctx);
    return rc;
}
