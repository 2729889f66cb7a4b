/* `melodiff reference IN.mid -o OUT.wav`: the dry FluidSynth reference
 * render that evaluation and the quick start compare against. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "audio/audio_io.h"
#include "audio/resample.h"
#include "cli/cli.h"
#include "synth/fluid_render.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: melodiff reference IN.mid -o OUT.wav [options]\n\n"
            "Renders a MIDI file with FluidSynth and the FluidR3_GM SoundFont, reverb and\n"
            "chorus off, at 44.1 kHz, mixed to mono: the reference melodiff's renders are\n"
            "measured against. The level is FluidSynth's own (gain 0.2), unchanged.\n\n"
            "options:\n"
            "  -o, --output OUT   output audio file (required)\n"
            "      --rate R       44100 | 48000 (default 44100; 48000 is resampled)\n"
            "      --format F     wav16 | wav24 | wav32f | flac (default wav24)\n"
            "      --seconds S    render at most S seconds\n"
            "      --soundfont P  SoundFont (default " MD_SYNTH_DEFAULT_SOUNDFONT ")\n"
            "  -f, --force        replace an existing output\n"
            "  -v, --verbose      more detail on stderr\n"
            "  -q, --quiet        errors only\n"
            "  -h, --help         this text\n");
}

typedef struct {
    const char *in, *out, *sf2;
    int rate, force;
    md_audio_format fmt;
    double seconds;
} ref_opts;

static md_status run(md_ctx *ctx, const ref_opts *o)
{
    struct stat st;
    if (!o->force && stat(o->out, &st) == 0)
        return md_fail(ctx, MD_ERR_IO, "%s: already exists (use --force to overwrite)", o->out);
    md_synth_cfg cfg;
    md_synth_cfg_default(&cfg);
    if (o->sf2) cfg.soundfont = o->sf2;
    md_synth *syn = NULL;
    float *x = NULL, *y = NULL;
    size_t n = 0, m = 0;
    md_status s = md_synth_create(ctx, &cfg, &syn);
    if (s == MD_OK) s = md_synth_render_midi(syn, o->in, o->seconds, &x, &n);
    md_synth_destroy(syn);
    if (s == MD_OK) s = md_resample(ctx, x, n, cfg.sample_rate, o->rate, &y, &m);
    if (s == MD_OK) {
        float peak = 0;
        for (size_t i = 0; i < m; i++) peak = fmaxf(peak, fabsf(y[i]));
        if (peak > 1.0f && o->fmt != MD_AUDIO_WAV32F)
            md_log(ctx, MD_LOG_WARN, "%s: the render peaks at %+.1f dBFS and is clipped", o->in,
                   20 * log10(peak));
        md_log(ctx, MD_LOG_INFO, "%s: %.2f s rendered, peak %.1f dBFS", o->in,
               (double)m / o->rate, 20 * log10(peak + 1e-30));
        s = md_audio_write(ctx, o->out, y, m, 1, o->rate, o->fmt, o->force);
    }
    free(x), free(y);
    return s;
}

int md_cmd_reference(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'}, {"rate", required_argument, 0, 'r'},
        {"format", required_argument, 0, 'F'}, {"seconds", required_argument, 0, 'S'},
        {"soundfont", required_argument, 0, 'P'}, {"force", no_argument, 0, 'f'},
        {"verbose", no_argument, 0, 'v'},      {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    ref_opts o = {.rate = 44100, .fmt = MD_AUDIO_WAV24};
    int verbose = 0, quiet = 0, ch;
    optind = 1;
    opterr = 0; /* one line of our own instead of getopt's */
    while ((ch = getopt_long(argc, argv, "o:fvqh", opts, NULL)) != -1) {
        switch (ch) {
        case 'o': o.out = optarg; break;
        case 'r':
            if (strcmp(optarg, "44100") && strcmp(optarg, "48000"))
                return md_cli_usage_error("reference", "--rate expects 44100 or 48000, got '%s'", optarg);
            o.rate = atoi(optarg);
            break;
        case 'F':
            if (md_audio_format_parse(optarg, &o.fmt))
                return md_cli_usage_error("reference", "--format expects wav16, wav24, wav32f or flac, got '%s'", optarg);
            break;
        case 'S':
            if (md_cli_parse_float("reference", "--seconds", optarg, 0.01, 4 * 3600, &o.seconds)) return 2;
            break;
        case 'P': o.sf2 = optarg; break;
        case 'f': o.force = 1; break;
        case 'v': verbose++; break;
        case 'q': quiet = 1; break;
        case 'h': usage(stdout); return 0;
        default: return md_cli_usage_error("reference", "unknown option or missing value: '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1) return md_cli_usage_error("reference", "expects exactly one MIDI file");
    if (!o.out || !*o.out) return md_cli_usage_error("reference", "-o OUT is required");
    o.in = argv[optind];
    md_ctx *ctx = md_cli_context(verbose, quiet);
    if (!ctx) return 1;
    md_status s = run(ctx, &o);
    int rc = s == MD_OK ? 0 : md_cli_report(ctx, s);
    md_ctx_destroy(ctx);
    return rc;
}
