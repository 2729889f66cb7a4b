/* `melodiff notebank -o models/notebank.safetensors`: builds the note bank
 * the render's prior is drawn from (src/notebank/notebank.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/clock.h"
#include "notebank/notebank.h"
#include "synth/fluid_render.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: melodiff notebank -o OUT.safetensors [options]\n\n"
            "Renders every General MIDI program at a grid of keys, and every key of the\n"
            "standard drum kit, alone with FluidSynth (dry, velocity 100, as the dataset\n"
            "builder renders stems), measures each note's log-mel under the default mel\n"
            "contract held, released and at other velocities, and writes the note bank\n"
            "that `render --prior` starts the diffusion from (docs/notebank.md).\n\n"
            "options:\n"
            "  -o, --output OUT     the bank file (required)\n"
            "      --key-step N     measure melodic keys every N semitones from 21 to 108 (default 1)\n"
            "      --templates N    keep N melodic keys in all, where drawing them from their\n"
            "                       neighbours misses most (default 3350, ~26 a program: with\n"
            "                       the 8 kits a 24.4 MB file; 0: all)\n"
            "      --programs A-B   only GM programs A..B (default 0-127; for tests)\n"
            "      --jobs N         threads (default: the machine's cores)\n"
            "      --soundfont P    SoundFont (default " MD_SYNTH_DEFAULT_SOUNDFONT ")\n"
            "  -f, --force          replace an existing output\n"
            "  -v, --verbose        more detail on stderr\n"
            "  -q, --quiet          errors only\n"
            "  -h, --help           this text\n");
}

static int parse_programs(const char *s, md_notebank_build_cfg *c)
{
    int a = -1, b = -1, used = 0;
    if (sscanf(s, "%d-%d%n", &a, &b, &used) != 2 || s[used] || a < 0 || b > 127 || a > b)
        return md_cli_usage_error("notebank", "--programs expects A-B within 0-127, got '%s'", s);
    c->first_program = a;
    c->last_program = b;
    return 0;
}

int md_cmd_notebank(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'}, {"key-step", required_argument, 0, 'k'},
        {"templates", required_argument, 0, 't'},
        {"programs", required_argument, 0, 'p'}, {"jobs", required_argument, 0, 'j'},
        {"soundfont", required_argument, 0, 'P'}, {"force", no_argument, 0, 'f'},
        {"verbose", no_argument, 0, 'v'},      {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    long cores = sysconf(_SC_NPROCESSORS_ONLN), v = 0;
    md_notebank_build_cfg cfg = {NULL, 1, 3350, cores > 0 ? (int)cores : 1, 0, 127};
    const char *out = NULL;
    int verbose = 0, quiet = 0, force = 0, ch;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "o:fvqh", opts, NULL)) != -1) {
        switch (ch) {
        case 'o': out = optarg; break;
        case 'k':
            if (md_cli_parse_int("notebank", "--key-step", optarg, 1, 12, &v)) return 2;
            cfg.key_step = (int)v;
            break;
        case 't':
            if (md_cli_parse_int("notebank", "--templates", optarg, 0, 1 << 20, &v)) return 2;
            cfg.templates = (int)v;
            break;
        case 'p':
            if (parse_programs(optarg, &cfg)) return 2;
            break;
        case 'j':
            if (md_cli_parse_int("notebank", "--jobs", optarg, 1, 64, &v)) return 2;
            cfg.threads = (int)v;
            break;
        case 'P': cfg.soundfont = optarg; break;
        case 'f': force = 1; break;
        case 'v': verbose++; break;
        case 'q': quiet = 1; break;
        case 'h': usage(stdout); return 0;
        default: return md_cli_usage_error("notebank", "unknown option or missing value: '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc) return md_cli_usage_error("notebank", "takes no file arguments (did you mean -o?)");
    if (!out || !*out) return md_cli_usage_error("notebank", "-o OUT is required");
    md_ctx *ctx = md_cli_context(verbose, quiet);
    if (!ctx) return 1;
    md_mel_contract mc;
    md_mel_contract_default(&mc);
    double t0 = md_clock_wall();
    md_status s = md_notebank_build(ctx, &cfg, &mc, out, force);
    if (s == MD_OK)
        md_log(ctx, MD_LOG_INFO, "%s: note bank of programs %d-%d written in %.1f s", out, cfg.first_program,
               cfg.last_program, md_clock_wall() - t0);
    int rc = s == MD_OK ? 0 : md_cli_report(ctx, s);
    md_ctx_destroy(ctx);
    return rc;
}
