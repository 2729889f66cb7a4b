/* MIDI parsing speed over the Debian MIDI corpus.
 *
 *   bench_midi_parse [passes]        (default 20)
 *
 * Reads every .mid of simutrans-data, freedink-data and pianobooster into
 * memory once, then times `passes` passes over all of them of
 *   parse:  the SMF reader alone (chunks and events, md_smf_parse), and
 *   score:  the whole md_score_load_memory (reader + tempo map + notes +
 *           stems), which is what the renderer pays.
 * Prints MB/s (10^6 bytes of MIDI file per second) and files per second.
 * The peer, tools/bench/bench_midi_mido.py, parses the same files with mido
 * (mido.MidiFile from bytes) and prints the same line. */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "melodiff/midi.h"
#include "midi/smf.h"

static const char *const patterns[] = {
    "/usr/share/games/simutrans/music/*.mid",
    "/usr/share/games/dink/dink/Sound/*.mid",
    "/usr/share/doc/pianobooster/courses/*/*.mid",
};

typedef struct blob {
    char *path;
    unsigned char *data;
    size_t size;
} blob;

static int load(const char *path, blob *b)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    b->data = malloc(n > 0 ? (size_t)n : 1);
    b->size = (size_t)n;
    b->path = strdup(path);
    int ok = b->data && b->path && fread(b->data, 1, b->size, f) == b->size;
    fclose(f);
    return ok ? 0 : -1;
}

static size_t collect(blob **out, size_t *bytes)
{
    size_t n = 0, cap = 0;
    blob *v = NULL;
    *bytes = 0;
    for (size_t p = 0; p < sizeof patterns / sizeof *patterns; p++) {
        glob_t g;
        if (glob(patterns[p], 0, NULL, &g) != 0) continue;
        for (size_t i = 0; i < g.gl_pathc; i++) {
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                blob *nv = realloc(v, cap * sizeof *nv);
                if (!nv) break;
                v = nv;
            }
            if (load(g.gl_pathv[i], &v[n]) == 0) *bytes += v[n++].size;
        }
        globfree(&g);
    }
    *out = v;
    return n;
}

int main(int argc, char **argv)
{
    int passes = argc > 1 ? atoi(argv[1]) : 20;
    if (passes < 1) passes = 1;
    blob *files;
    size_t bytes;
    size_t n = collect(&files, &bytes);
    if (!n) {
        fprintf(stderr, "bench_midi_parse: no MIDI files found (install simutrans-data, freedink-data, pianobooster)\n");
        return 1;
    }
    md_ctx *ctx = NULL;
    md_ctx_create(&ctx);
    md_ctx_set_log_level(ctx, MD_LOG_ERROR);
    md_score_options opt;
    md_score_options_default(&opt);
    size_t failed = 0, notes = 0, events = 0;
    double t0 = md_clock_wall();
    for (int p = 0; p < passes; p++)
        for (size_t i = 0; i < n; i++) {
            md_smf smf;
            if (md_smf_parse(ctx, files[i].data, files[i].size, files[i].path, &opt.limits, &smf) != MD_OK) {
                failed++;
                continue;
            }
            events += smf.n_events;
            md_smf_free(&smf);
        }
    double t_parse = md_clock_wall() - t0;
    t0 = md_clock_wall();
    for (int p = 0; p < passes; p++)
        for (size_t i = 0; i < n; i++) {
            md_score *sc = NULL;
            if (md_score_load_memory(ctx, files[i].data, files[i].size, files[i].path, &opt, &sc) != MD_OK) {
                failed++;
                continue;
            }
            notes += sc->n_notes;
            md_score_free(sc);
        }
    double t_score = md_clock_wall() - t0;
    double mb = (double)bytes * passes / 1e6;
    printf("corpus: %zu files, %zu bytes, %d passes, %zu events and %zu notes per pass, %zu failures\n", n, bytes,
           passes, events / passes, notes / passes, failed);
    printf("melodiff parse: %8.2f MB/s  %9.1f files/s  (%.3f s)\n", mb / t_parse, n * passes / t_parse, t_parse);
    printf("melodiff score: %8.2f MB/s  %9.1f files/s  (%.3f s)\n", mb / t_score, n * passes / t_score, t_score);
    for (size_t i = 0; i < n; i++) {
        free(files[i].data);
        free(files[i].path);
    }
    free(files);
    md_ctx_destroy(ctx);
    return 0;
}
