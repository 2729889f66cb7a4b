/* The Debian MIDI files read the same as with mido.
 *
 * tests/fixtures/midi/simutrans_note_counts.json (simutrans-data) and
 * debian_midi_note_counts.json (freedink-data, pianobooster) are written by
 * tools/midi/mido_note_counts.py (mido, an independent reader). Per file we
 * compare: the number of notes in the score with mido's count of note-ons
 * with velocity > 0 (every such note-on starts exactly one note, see
 * midi.h), the sum of those notes' start times in seconds (checks the
 * merged tempo map on every note), the song length and the number of tempo
 * changes. Skips, saying so, only the files whose package is not
 * installed (CI installs all three). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "melodiff/midi.h"
#include "test_util.h"

static int warnings;

static void count_log(void *user, md_log_level level, const char *msg)
{
    (void)user;
    (void)msg;
    if (level == MD_LOG_WARN) warnings++;
}

static int n_checked, n_skipped;

static void check_file(md_ctx *ctx, const cJSON *entry)
{
    const char *name = cJSON_GetObjectItem(entry, "file")->valuestring;
    const char *path = cJSON_GetObjectItem(entry, "path")->valuestring;
    struct stat st;
    if (stat(path, &st) != 0) {
        printf("SKIPPED: %s not installed\n", path);
        n_skipped++;
        return;
    }
    n_checked++;
    md_score *sc = NULL;
    warnings = 0;
    md_status s = md_score_load_file(ctx, path, NULL, &sc);
    CHECK_MSG(s == MD_OK, "%s: %s", name, md_ctx_error(ctx));
    if (s != MD_OK) return;
    double onset_sum = 0;
    for (size_t i = 0; i < sc->n_stems; i++)
        for (size_t k = 0; k < sc->stems[i].n_notes; k++) onset_sum += sc->stems[i].notes[k].start;
    double want_notes = cJSON_GetObjectItem(entry, "note_ons")->valuedouble;
    double want_len = cJSON_GetObjectItem(entry, "length")->valuedouble;
    double want_sum = cJSON_GetObjectItem(entry, "onset_sum")->valuedouble;
    CHECK_MSG((double)sc->n_notes == want_notes, "%s: %zu notes, mido %g", name, sc->n_notes, want_notes);
    CHECK_MSG(sc->format == cJSON_GetObjectItem(entry, "format")->valueint, "%s: format", name);
    CHECK_MSG((int)sc->n_tracks == cJSON_GetObjectItem(entry, "tracks")->valueint, "%s: tracks", name);
    CHECK_MSG((int)sc->n_tempos == cJSON_GetObjectItem(entry, "tempo_changes")->valueint, "%s: tempos", name);
    CHECK_MSG(fabs(sc->length - want_len) < 1e-5, "%s: length %.6f, mido %.6f", name, sc->length, want_len);
    CHECK_MSG(fabs(onset_sum - want_sum) < 1e-6 * want_notes + 1e-3, "%s: onset sum %.6f, mido %.6f", name,
              onset_sum, want_sum);
    /* The two files with mode-255 key signatures must warn, not fail. */
    if (!strcmp(name, "05-Boring-afternoon.mid") || !strcmp(name, "30-On-the-waterfront.mid"))
        CHECK_MSG(warnings > 0, "%s: expected key signature warnings", name);
    md_score_free(sc);
}

static void check_fixture(md_ctx *ctx, const char *fixture, int expect_files)
{
    char *text = md_test_slurp(fixture);
    CHECK_MSG(text != NULL, "%s", fixture);
    cJSON *root = text ? cJSON_Parse(text) : NULL;
    CHECK_MSG(root != NULL, "%s", fixture);
    const cJSON *files = root ? cJSON_GetObjectItem(root, "files") : NULL;
    CHECK_MSG(cJSON_GetArraySize(files) == expect_files, "%s", fixture);
    const cJSON *e;
    cJSON_ArrayForEach(e, files) check_file(ctx, e);
    cJSON_Delete(root);
    free(text);
}

int main(void)
{
    md_ctx *ctx = NULL;
    md_ctx_create(&ctx);
    md_ctx_set_log(ctx, count_log, NULL);
    check_fixture(ctx, MD_SOURCE_DIR "/tests/fixtures/midi/simutrans_note_counts.json", 53);
    check_fixture(ctx, MD_SOURCE_DIR "/tests/fixtures/midi/debian_midi_note_counts.json", 21);
    md_ctx_destroy(ctx);
    printf("%d files compared with mido, %d skipped (not installed)\n", n_checked, n_skipped);
    return md_test_finish();
}
