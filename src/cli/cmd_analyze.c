/* `melodiff analyze IN -o OUT`: audio file -> log-mel file + spectrogram PNG. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "audio/audio_io.h"
#include "audio/logmel.h"
#include "audio/meldist.h"
#include "audio/melfile.h"
#include "audio/png.h"
#include "cli/cli.h"
#include "core/fileout.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: melodiff analyze IN -o OUT [--no-png] [--force] [--verbose] [--quiet]\n"
            "       melodiff analyze IN --against REF [-o OUT ...]\n\n"
            "Computes the log-mel spectrogram of an audio file under melodiff's mel contract\n"
            "(44.1 kHz, n_fft 2048, hop 512, 128 Slaney mels, ln with floor 1e-5). Any file\n"
            "libsndfile reads is accepted; it is mixed to mono and resampled to 44.1 kHz.\n\n"
            "Output naming:\n"
            "  OUT is a prefix:    writes OUT.mel.safetensors and OUT.png\n"
            "  OUT is a directory (exists, or ends in '/'): writes OUT/NAME.mel.safetensors and\n"
            "                      OUT/NAME.png, NAME being IN's file name without its extension\n\n"
            "With --against, the log-mel distances of IN to the audio file REF are printed on\n"
            "stdout as JSON: {\"lsd_db\": log-spectral distance on the 128-band mel power\n"
            "spectrogram (each frame's dB floored 80 dB below the louder file's peak),\n"
            "\"mean_abs_db\", \"frames\" compared}. -o is then optional.\n\n"
            "options:\n"
            "  -o, --output OUT  prefix or directory (required unless --against)\n"
            "      --against REF compare with the audio file REF (see above)\n"
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

/* Reads an audio file and computes its log-mel ([n_mels, frames]). */
static md_status load_logmel(md_ctx *ctx, const md_mel_contract *c, const char *path, float **lm,
                             size_t *frames)
{
    float *x = NULL;
    size_t n = 0;
    md_status s = md_audio_read_mono(ctx, path, c->sample_rate, &x, &n, NULL);
    if (s != MD_OK) return s;
    *frames = md_mel_frames_for_samples(c, n);
    *lm = malloc(sizeof(float) * (size_t)c->n_mels * *frames);
    if (!*lm) s = md_fail(ctx, MD_ERR_NOMEM, "%s: out of memory for %zu frames", path, *frames);
    if (s == MD_OK) s = md_logmel_compute(ctx, c, x, n, *lm);
    if (s == MD_OK)
        md_log(ctx, MD_LOG_INFO, "%s: %.2f s, %zu mel frames", path, (double)n / c->sample_rate, *frames);
    free(x);
    if (s != MD_OK) {
        free(*lm);
        *lm = NULL;
    }
    return s;
}

static md_status write_outputs(md_ctx *ctx, const md_mel_contract *c, const char *in,
                               const float *lm, size_t frames, const char *mel_path,
                               const char *png_path, int force)
{
    char source[512];
    snprintf(source, sizeof source, "melodiff analyze %s", base_name(in));
    md_status s = md_melfile_write(ctx, mel_path, c, lm, frames, source, force);
    if (s == MD_OK && png_path) {
        s = md_png_write_logmel(ctx, png_path, lm, c->n_mels, frames, force);
        if (s != MD_OK) remove(mel_path); /* all or nothing */
    }
    if (s == MD_OK)
        md_log(ctx, MD_LOG_INFO, "wrote %s%s%s", mel_path, png_path ? " and " : "", png_path ? png_path : "");
    return s;
}

static md_status compare(md_ctx *ctx, const md_mel_contract *c, const float *lm, size_t frames,
                         const char *ref)
{
    float *rl = NULL;
    size_t rf = 0;
    md_status s = load_logmel(ctx, c, ref, &rl, &rf);
    if (s != MD_OK) return s;
    md_meldist d;
    md_meldist_compute(lm, frames, rl, rf, c->n_mels, &d);
    printf("{\"lsd_db\": %.4f, \"mean_abs_db\": %.4f, \"frames\": %zu, \"frames_in\": %zu, "
           "\"frames_ref\": %zu}\n", d.lsd_db, d.mean_abs_db, d.frames, frames, rf);
    free(rl);
    return MD_OK;
}

/* "OUT/" names a directory that may not exist yet. */
static md_status make_parent(md_ctx *ctx, const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path) return MD_OK;
    char *dir = strndup(path, (size_t)(slash - path));
    if (!dir) return md_fail(ctx, MD_ERR_NOMEM, "out of memory");
    md_status s = md_mkdirs(ctx, dir);
    free(dir);
    return s;
}

static md_status run(md_ctx *ctx, const char *in, const char *mel_path, const char *png_path,
                     const char *against, int force)
{
    struct stat st;
    /* Refuse before any work, so nothing is half-written either. */
    if (mel_path && !force && stat(mel_path, &st) == 0)
        return md_fail(ctx, MD_ERR_IO, "%s: already exists (use --force to overwrite)", mel_path);
    if (png_path && !force && stat(png_path, &st) == 0)
        return md_fail(ctx, MD_ERR_IO, "%s: already exists (use --force to overwrite)", png_path);
    md_mel_contract c;
    md_mel_contract_default(&c);
    float *lm = NULL;
    size_t frames = 0;
    md_status s = load_logmel(ctx, &c, in, &lm, &frames);
    if (s == MD_OK && mel_path) s = make_parent(ctx, mel_path);
    if (s == MD_OK && against) s = compare(ctx, &c, lm, frames, against);
    if (s == MD_OK && mel_path) s = write_outputs(ctx, &c, in, lm, frames, mel_path, png_path, force);
    free(lm);
    return s;
}

int md_cmd_analyze(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'}, {"no-png", no_argument, 0, 'P'},
        {"against", required_argument, 0, 'A'},
        {"force", no_argument, 0, 'f'},        {"verbose", no_argument, 0, 'v'},
        {"quiet", no_argument, 0, 'q'},        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *out = NULL, *against = NULL;
    int force = 0, verbose = 0, quiet = 0, png = 1, ch;
    optind = 1;
    opterr = 0; /* one line of our own instead of getopt's */
    while ((ch = getopt_long(argc, argv, "o:fvqh", opts, NULL)) != -1) {
        switch (ch) {
        case 'o': out = optarg; break;
        case 'P': png = 0; break;
        case 'A': against = optarg; break;
        case 'f': force = 1; break;
        case 'v': verbose++; break;
        case 'q': quiet = 1; break;
        case 'h': usage(stdout); return 0;
        default: return md_cli_usage_error("analyze", "unknown option or missing value: '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1) return md_cli_usage_error("analyze", "expects exactly one input file");
    if ((!out || !*out) && !against) return md_cli_usage_error("analyze", "-o OUT is required");
    const char *in = argv[optind];
    md_ctx *ctx = md_cli_context(verbose, quiet);
    if (!ctx) return 1;
    char *prefix = out && *out ? output_prefix(out, in) : NULL;
    char *mel_path = prefix ? with_suffix(prefix, ".mel.safetensors") : NULL;
    char *png_path = prefix && png ? with_suffix(prefix, ".png") : NULL;
    md_status s = (out && *out && (!mel_path || (png && !png_path)))
                      ? md_fail(ctx, MD_ERR_NOMEM, "out of memory")
                      : run(ctx, in, mel_path, png_path, against, force);
    int rc = s == MD_OK ? 0 : md_cli_report(ctx, s);
    free(prefix), free(mel_path), free(png_path);
    md_ctx_destroy(ctx);
    return rc;
}
