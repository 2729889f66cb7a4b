/* Loading a MIDI file into a score: limits, file reading, the pipeline. */
#include "melodiff/midi.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "midi/score_build.h"

void md_midi_limits_default(md_midi_limits *l)
{
    l->max_file_bytes = (size_t)64 << 20;
    l->max_events = 10000000;
    l->max_notes = 2000000;
    l->max_seconds = 7200.0;
}

void md_score_options_default(md_score_options *opt)
{
    md_midi_limits_default(&opt->limits);
    opt->group = MD_GROUP_TRACK;
}

md_status md_score_load_memory(md_ctx *ctx, const void *data, size_t size, const char *origin,
                               const md_score_options *opt, md_score **out)
{
    md_score_options dflt;
    if (!opt) {
        md_score_options_default(&dflt);
        opt = &dflt;
    }
    *out = NULL;
    md_smf smf;
    md_status s = md_smf_parse(ctx, data, size, origin, &opt->limits, &smf);
    if (s != MD_OK) return s;
    s = md_score_from_smf(ctx, &smf, origin, opt, out);
    md_smf_free(&smf);
    return s;
}

/* Reads the whole file, refusing anything over the size limit before
 * allocating for it. */
static md_status read_file(md_ctx *ctx, const char *path, size_t limit, uint8_t **data, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return md_fail(ctx, MD_ERR_INPUT, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    md_status s = MD_OK;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        s = md_fail(ctx, MD_ERR_INPUT, "%s: not a regular file", path);
    } else if ((unsigned long long)st.st_size > limit) {
        s = md_fail(ctx, MD_ERR_LIMIT, "%s: file is %lld bytes, more than the %zu byte limit", path,
                    (long long)st.st_size, limit);
    } else {
        *size = (size_t)st.st_size;
        *data = malloc(*size ? *size : 1);
        if (!*data) s = md_fail(ctx, MD_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, *size);
        else if (fread(*data, 1, *size, f) != *size) {
            s = md_fail(ctx, MD_ERR_INPUT, "%s: read error: %s", path, strerror(errno));
            free(*data);
            *data = NULL;
        }
    }
    fclose(f);
    return s;
}

md_status md_score_load_file(md_ctx *ctx, const char *path, const md_score_options *opt, md_score **out)
{
    md_score_options dflt;
    if (!opt) {
        md_score_options_default(&dflt);
        opt = &dflt;
    }
    *out = NULL;
    uint8_t *data = NULL;
    size_t size = 0;
    md_status s = read_file(ctx, path, opt->limits.max_file_bytes, &data, &size);
    if (s != MD_OK) return s;
    s = md_score_load_memory(ctx, data, size, path, opt, out);
    free(data);
    return s;
}
