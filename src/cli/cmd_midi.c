/* `melodiff midi FILE`: what the MIDI front-end makes of a file. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "melodiff/midi.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: melodiff midi FILE [--json] [--group track|program] [-v] [-q]\n\n"
               "Reads a Standard MIDI File (format 0, 1 or 2, or RIFF RMID) and prints its tracks,\n"
               "stems, instruments, note counts, length and tempo changes.\n\n"
               "  --json             print the whole score as JSON, every stem with its notes\n"
               "  --group track      one stem per (track, instrument) pair (default; format 0: per channel)\n"
               "  --group program    one stem per instrument, merging tracks that share it\n"
               "  -v, --verbose      more log lines on stderr (twice for debug)\n"
               "  -q, --quiet        errors only\n"
               "  -h, --help         this help\n\n"
               "Drums (channel 10) are always a stem of their own. Exit 3 when FILE is not a\n"
               "readable MIDI file or exceeds a safety limit.\n");
}

static void print_time(double s)
{
    int m = (int)(s / 60.0);
    printf("%d:%04.1f", m, s - 60.0 * m);
}

static void print_summary(const char *path, const md_score *sc)
{
    printf("%s: format %d, %zu track%s, ", path, sc->format, sc->n_tracks, sc->n_tracks == 1 ? "" : "s");
    if (sc->ppq) printf("%d ticks per quarter", sc->ppq);
    else printf("SMPTE %d fps x %d ticks", sc->smpte_fps, sc->smpte_ticks_per_frame);
    printf(", length %.2f s (", sc->length);
    print_time(sc->length);
    printf("), %zu notes\n", sc->n_notes);
    if (!sc->n_tempos) printf("tempo: 120 bpm throughout (no tempo events)\n");
    else printf("tempo changes: %zu\n", sc->n_tempos);
    for (size_t i = 0; i < sc->n_tempos && i < 20; i++)
        printf("  %9.3f s  %7.2f bpm\n", sc->tempos[i].time, sc->tempos[i].bpm);
    if (sc->n_tempos > 20) printf("  ... %zu more (see --json)\n", sc->n_tempos - 20);
    printf("tracks:\n  %3s  %-32s %8s %7s %9s\n", "#", "name", "events", "notes", "end (s)");
    for (size_t i = 0; i < sc->n_tracks; i++)
        printf("  %3zu  %-32s %8zu %7zu %9.2f\n", i, sc->tracks[i].name, sc->tracks[i].n_events,
               sc->tracks[i].n_notes, sc->tracks[i].end_time);
    printf("stems:\n  %3s  %-32s %-28s %7s %5s %4s\n", "#", "name", "instrument", "notes", "track", "chan");
    for (size_t i = 0; i < sc->n_stems; i++) {
        const md_stem *st = &sc->stems[i];
        char inst[48];
        if (st->instrument == MD_INSTRUMENT_DRUMS) snprintf(inst, sizeof inst, "drums: %s", md_gm_drum_kit_name(st->program));
        else snprintf(inst, sizeof inst, "%d %s", st->instrument, md_gm_instrument_name(st->instrument));
        char track[16] = "all";
        if (st->track >= 0) snprintf(track, sizeof track, "%d", st->track);
        printf("  %3zu  %-32s %-28s %7zu %5s %4d\n", i, st->name, inst, st->n_notes, track, st->channel + 1);
    }
}

int md_cmd_midi(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},     {"group", required_argument, NULL, 'g'},
        {"verbose", no_argument, NULL, 'v'},  {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},     {NULL, 0, NULL, 0},
    };
    int json = 0, verbose = 0, quiet = 0, c;
    md_score_options so;
    md_score_options_default(&so);
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "vqh", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json = 1; break;
        case 'v': verbose++; break;
        case 'q': quiet = 1; break;
        case 'h': usage(stdout); return 0;
        case 'g':
            if (!strcmp(optarg, "track")) so.group = MD_GROUP_TRACK;
            else if (!strcmp(optarg, "program")) so.group = MD_GROUP_PROGRAM;
            else return md_cli_usage_error("midi", "--group expects 'track' or 'program', got '%s'", optarg);
            break;
        default:
            return md_cli_usage_error("midi", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (argc - optind != 1)
        return md_cli_usage_error("midi", argc - optind ? "expects exactly one MIDI file" : "missing the MIDI file");
    const char *path = argv[optind];
    md_ctx *ctx = md_cli_context(verbose, quiet);
    if (!ctx) return 1;
    md_score *sc = NULL;
    md_status s = md_score_load_file(ctx, path, &so, &sc);
    int rc = 0;
    if (s != MD_OK) {
        rc = md_cli_report(ctx, s);
    } else if (json) {
        char *text = md_score_to_json(sc, 1);
        if (text) printf("%s\n", text);
        else rc = md_cli_report(ctx, md_fail(ctx, MD_ERR_NOMEM, "%s: out of memory writing JSON", path));
        free(text);
    } else {
        print_summary(path, sc);
    }
    md_score_free(sc);
    md_ctx_destroy(ctx);
    return rc;
}
