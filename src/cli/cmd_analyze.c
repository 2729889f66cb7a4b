/* `melodiff analyze IN -o OUT`: audio file -> log-mel file + spectrogram PNG. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "audio/audio_io.h"
#include "audio/logmel.h"
#include "audio/melfile.h"
#include "audio/png.h"
#include "cli/cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: melodiff analyze IN -o OUT [--no-png] [--force] [--verbose] [--quiet]\n\n"
            "Computes the log-mel spectrogram of an audio file under melodiff's mel contract\n"
            "(44.1 kHz, n_fft 2048, hop 512, 128 Slaney mels, ln with floor 1e-5). Any file\n"
            "libsndfile reads is accepted; it is mixed to mono and resampled to 44.1 kHz.\n\n"
            "Output naming:\n"
            "  OUT is a prefix:    writes OUT.mel.safetensors and OUT.png\n"
            "  OUT is a directory (exists, or ends in '/'): writes OUT/NAME.mel.safetensors and\n"
            "                      OUT/NAME.png, NAME being IN's file name without its extension\n\n"
            "options:\n"
            "  -o, --output OUT  prefix or directory (required)\n"
            "      --no-png      write only the mel file\n"
            "  -f, --force       replace existing outputs\n"
            "  -v, --verbose     more detail on stderr\n"
            "  -q, --quiet       errors only\n"
            "  -h, --help        this text\n");
}

/* Builds "<prefix>" from OUT (and IN's base name when OUT is a directory). */
static char *output_prefix(const char *out, const char *in)
{
    struct stat st;
    size_t lo = strlen(out);
    int is_dir = (lo && out[lo - 1] == '/') || (stat(out, &st) == 0 && S_ISDIR(st.st_mode));
    if (!is_dir) return strdup(out);
    const char *base = strrchr(in, '/');
    base = base ? base + 1 : in;
    size_t lb = strlen(base);
    const char *dot = strrchr(base, '.');
    if (dot && dot != base) lb = (size_t)(dot - base);
    char *p = malloc(lo + lb + 2);
    if (p) snprintf(p, lo + lb + 2, "%s%s%.*s", out, out[lo - 1] == '/' ? "" : "/", (int)lb, base);
    return p;
}

static char *with_suffix(const char *prefix, const char *suffix)
{
    size_t n = strlen(prefix) + strlen(suffix) + 1;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s%s", prefix, suffix);
    return p;
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static md_status run(md_ctx *ctx, const char *in, const char *mel_path, const char *png_path,
                     int force)
{
    struct stat st;
    /* Refuse before any work, so nothing is half-written either. */
    if (!force && stat(mel_path, &st) == 0)
        return md_fail(ctx, MD_ERR_IO, "%s: already exists (use --force to overwrite)", mel_path);
    if (!force && png_path && stat(png_path, &st) == 0)
        return md_fail(ctx, MD_ERR_IO, "%s: already exists (use --force to overwrite)", png_path);
    md_mel_contract c;
    md_mel_contract_default(&c);
    float *x = NULL, *lm = NULL;
    size_t n = 0;
    md_status s = md_audio_read_mono(ctx, in, c.sample_rate, &x, &n, NULL);
    if (s != MD_OK) return s;
    size_t frames = md_mel_frames_for_samples(&c, n);
    lm = malloc(sizeof(float) * (size_t)c.n_mels * frames);
    if (!lm) s = md_fail(ctx, MD_ERR_NOMEM, "%s: out of memory for %zu frames", in, frames);
    if (s == MD_OK) s = md_logmel_compute(ctx, &c, x, n, lm);
    md_log(ctx, MD_LOG_INFO, "%s: %.2f s, %zu mel frames", in, (double)n / c.sample_rate, frames);
    char source[512];
    snprintf(source, sizeof source, "melodiff analyze %s", base_name(in));
    if (s == MD_OK) s = md_melfile_write(ctx, mel_path, &c, lm, frames, source, force);
    if (s == MD_OK && png_path) {
        s = md_png_write_logmel(ctx, png_path, lm, c.n_mels, frames, force);
        if (s != MD_OK) remove(mel_path); /* all or nothing */
    }
    if (s == MD_OK) md_log(ctx, MD_LOG_INFO, "wrote %s%s%s", mel_path, png_path ? " and " : "",
                           png_path ? png_path : "");
    free(x);
    free(lm);
    return s;
}

int md_cmd_analyze(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'}, {"no-png", no_argument, 0, 'P'},
        {"force", no_argument, 0, 'f'},        {"verbose", no_argument, 0, 'v'},
        {"quiet", no_argument, 0, 'q'},        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *out = NULL;
    int force = 0, verbose = 0, quiet = 0, png = 1, ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "o:fvqh", opts, NULL)) != -1) {
        switch (ch) {
        case 'o': out = optarg; break;
        case 'P': png = 0; break;
        case 'f': force = 1; break;
        case 'v': verbose++; break;
        case 'q': quiet = 1; break;
        case 'h': usage(stdout); return 0;
        default: return md_cli_usage_error("analyze", "unknown option");
        }
    }
    if (optind != argc - 1) return md_cli_usage_error("analyze", "expects exactly one input file");
    if (!out || !*out) return md_cli_usage_error("analyze", "-o OUT is required");
    const char *in = argv[optind];
    md_ctx *ctx = md_cli_context(verbose, quiet);
    if (!ctx) return 1;
    char *prefix = output_prefix(out, in);
    char *mel_path = prefix ? with_suffix(prefix, ".mel.safetensors") : NULL;
    char *png_path = prefix && png ? with_suffix(prefix, ".png") : NULL;
    md_status s = (!mel_path || (png && !png_path)) ? md_fail(ctx, MD_ERR_NOMEM, "out of memory")
                                                    : run(ctx, in, mel_path, png ? png_path : NULL, force);
    int rc = s == MD_OK ? 0 : md_cli_report(ctx, s);
    free(prefix), free(mel_path), free(png_path);
    md_ctx_destroy(ctx);
    return rc;
}
