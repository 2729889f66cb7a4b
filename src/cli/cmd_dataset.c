/* `melodiff dataset MIDI... -o DIR`: training data for the U-Net. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "dataset/dataset.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: melodiff dataset MIDI... -o DIR [--from LIST] [--val-fraction F]\n"
               "                        [--max-seconds S] [--shard-mb N] [--no-mix]\n"
               "                        [--soundfont SF2] [--notebank FILE] [--force] [-v] [-q]\n\n"
               "Builds training data for the U-Net: every stem of every MIDI file is rendered\n"
               "alone and dry with FluidSynth (reverb and chorus off, 44.1 kHz), its log-mel is\n"
               "computed under the mel contract and its conditioning with the renderer's code;\n"
               "both go to DIR/shard-NNNNN.safetensors with one DIR/index.jsonl line per stem\n"
               "(docs/dataset.md). Each file's full mix goes to DIR/mix/ for evaluation.\n\n"
               "  -o, --out DIR        output directory (created)\n"
               "  --from LIST          also read MIDI paths from LIST, one per line ('-': stdin)\n"
               "  --val-fraction F     share of files in the validation split, by file name\n"
               "                       hash (tools/train/corpus.py uses the same rule); default 0.1\n"
               "  --max-seconds S      render at most S seconds of each file (0: all); default 60\n"
               "  --shard-mb N         start a new shard after N MiB of tensors; default 64\n"
               "  --no-mix             do not render the full mixes\n"
               "  --soundfont SF2      default /usr/share/sounds/sf2/FluidR3_GM.sf2\n"
               "  --notebank FILE      also store each stem's note-bank drawing (<k>.draw), the\n"
               "                       input of a refiner model (docs/training.md)\n"
               "  --force              replace an existing dataset in DIR\n"
               "  -v, --verbose        more log lines on stderr; -q, --quiet: errors only\n"
               "  -h, --help           this help\n\n"
               "A MIDI file that cannot be read is reported and skipped. Exit 3 when no file\n"
               "gives a stem with sound.\n");
}

typedef struct path_list {
    char **v;
    size_t n, cap;
} path_list;

static int push(path_list *l, const char *p)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        char **nv = realloc(l->v, cap * sizeof *nv);
        if (!nv) return -1;
        l->v = nv;
        l->cap = cap;
    }
    if (!(l->v[l->n] = strdup(p))) return -1;
    l->n++;
    return 0;
}

static void free_list(path_list *l)
{
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
}

/* Reads one path per line; blank lines and lines starting with '#' are skipped. */
static int read_list(path_list *l, const char *file)
{
    FILE *f = strcmp(file, "-") ? fopen(file, "r") : stdin;
    if (!f) return -2;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = 0;
    while (!rc && (len = getline(&line, &cap, f)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        if (len > 0 && line[0] != '#') rc = push(l, line);
    }
    free(line);
    if (f != stdin) fclose(f);
    return rc;
}

static void progress(void *user, size_t done, size_t total, const char *path)
{
    (void)user;
    if (path) fprintf(stderr, "\rdataset: %zu/%zu %-60.60s", done + 1, total, path);
    else fprintf(stderr, "\rdataset: %zu/%zu done%-60s\n", done, total, "");
    fflush(stderr);
}

typedef struct args {
    md_dataset_opts o;
    path_list paths;
    int verbose, quiet;
} args;

static int parse(int argc, char **argv, args *a)
{
    static const struct option opts[] = {
        {"out", required_argument, NULL, 'o'},        {"from", required_argument, NULL, 'F'},
        {"val-fraction", required_argument, NULL, 'V'}, {"max-seconds", required_argument, NULL, 'S'},
        {"shard-mb", required_argument, NULL, 'M'},   {"no-mix", no_argument, NULL, 'N'},
        {"soundfont", required_argument, NULL, 'f'},  {"force", no_argument, NULL, 'x'},
        {"notebank", required_argument, NULL, 'B'},
        {"verbose", no_argument, NULL, 'v'},          {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},             {NULL, 0, NULL, 0},
    };
    int c, rc;
    double d;
    long n;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:vqh", opts, NULL)) != -1) {
        switch (c) {
        case 'o': a->o.out_dir = optarg; break;
        case 'F':
            rc = read_list(&a->paths, optarg);
            if (rc == -2) return md_cli_usage_error("dataset", "--from: cannot read '%s'", optarg);
            if (rc) return md_cli_usage_error("dataset", "--from: out of memory");
            break;
        case 'V':
            if (md_cli_parse_float("dataset", "--val-fraction", optarg, 0.0, 1.0, &d)) return 2;
            a->o.val_fraction = d;
            break;
        case 'S':
            if (md_cli_parse_float("dataset", "--max-seconds", optarg, 0.0, 7200.0, &d)) return 2;
            a->o.max_seconds = d;
            break;
        case 'M':
            if (md_cli_parse_int("dataset", "--shard-mb", optarg, 1, 4096, &n)) return 2;
            a->o.shard_bytes = (size_t)n << 20;
            break;
        case 'N': a->o.render_mix = 0; break;
        case 'f': a->o.soundfont = optarg; break;
        case 'B': a->o.notebank = optarg; break;
        case 'x': a->o.force = 1; break;
        case 'v': a->verbose++; break;
        case 'q': a->quiet = 1; break;
        case 'h': usage(stdout); return -1;
        default: return md_cli_usage_error("dataset", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    for (int i = optind; i < argc; i++)
        if (push(&a->paths, argv[i])) return md_cli_usage_error("dataset", "out of memory");
    if (!a->o.out_dir) return md_cli_usage_error("dataset", "missing -o DIR");
    if (!a->paths.n) return md_cli_usage_error("dataset", "no MIDI files given");
    return 0;
}

int md_cmd_dataset(int argc, char **argv)
{
    args a;
    memset(&a, 0, sizeof a);
    md_dataset_opts_default(&a.o);
    int rc = parse(argc, argv, &a);
    if (rc) {
        free_list(&a.paths);
        return rc < 0 ? 0 : rc;
    }
    if (!a.quiet && isatty(STDERR_FILENO)) a.o.progress = progress;
    md_ctx *ctx = md_cli_context(a.verbose, a.quiet);
    if (!ctx) {
        free_list(&a.paths);
        return 1;
    }
    md_dataset_stats st;
    md_status s = md_dataset_build(ctx, &a.o, (const char *const *)a.paths.v, a.paths.n, &st);
    if (s) rc = md_cli_report(ctx, s);
    else if (!a.quiet)
        fprintf(stderr, "dataset: %zu files (%zu skipped, %zu validation), %zu stems (%zu silent, left out), "
                        "%zu shards, %zu frames (%zu sounding) in %s\n",
                st.files_ok, st.files_skipped, st.val_files, st.stems, st.stems_silent, st.shards,
                st.frames, st.active_frames, a.o.out_dir);
    md_ctx_destroy(ctx);
    free_list(&a.paths);
    return rc;
}
