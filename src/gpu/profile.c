/* Per-op GPU time: rows keyed by label, filled from timestamp queries by
 * record.c after each run, printed as a table for `--profile`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu/internal.h"

int md_gpu_profile_row(md_gpu *gpu, const char *label)
{
    for (size_t i = 0; i < gpu->n_prof; i++)
        if (!strncmp(gpu->prof[i].label, label, sizeof gpu->prof[i].label - 1)) return (int)i;
    if (gpu->n_prof == gpu->cap_prof) {
        size_t cap = gpu->cap_prof ? gpu->cap_prof * 2 : 32;
        md_gpu_prof_row *p = realloc(gpu->prof, cap * sizeof *p);
        if (!p) return -1; /* profiling is best effort */
        gpu->prof = p;
        gpu->cap_prof = cap;
    }
    md_gpu_prof_row *r = &gpu->prof[gpu->n_prof];
    memset(r, 0, sizeof *r);
    snprintf(r->label, sizeof r->label, "%s", label);
    return (int)gpu->n_prof++;
}

void md_gpu_profile_add(md_gpu *gpu, int row, double ns)
{
    if (row < 0 || (size_t)row >= gpu->n_prof) return;
    gpu->prof[row].calls++;
    gpu->prof[row].ns += ns;
}

void md_gpu_profile_reset(md_gpu *gpu)
{
    for (size_t i = 0; i < gpu->n_prof; i++) {
        gpu->prof[i].calls = 0;
        gpu->prof[i].ns = 0;
    }
}

static int by_time(const void *a, const void *b)
{
    const md_gpu_prof_row *x = a, *y = b;
    return x->ns < y->ns ? 1 : x->ns > y->ns ? -1 : strcmp(x->label, y->label);
}

md_status md_gpu_profile_report(md_gpu *gpu, char **text)
{
    *text = NULL;
    const char *why = NULL;
    if (!gpu->opt.profile) why = "GPU profiling is off";
    else if (!gpu->caps.features.timestamps) why = "this GPU has no timestamp queries on its compute queue";
    size_t cap = 256 + (gpu->n_prof + 2) * 96;
    char *out = malloc(cap);
    md_gpu_prof_row *rows = gpu->n_prof ? malloc(gpu->n_prof * sizeof *rows) : NULL;
    if (!out || (gpu->n_prof && !rows)) {
        free(out);
        free(rows);
        return md_fail(gpu->ctx, MD_ERR_NOMEM, "out of memory for the profile report");
    }
    if (why) {
        snprintf(out, cap, "%s\n", why);
        free(rows);
        *text = out;
        return MD_OK;
    }
    size_t n = 0;
    double total = 0;
    for (size_t i = 0; i < gpu->n_prof; i++)
        if (gpu->prof[i].calls) {
            rows[n++] = gpu->prof[i];
            total += gpu->prof[i].ns;
        }
    qsort(rows, n, sizeof *rows, by_time);
    size_t len = (size_t)snprintf(out, cap, "%-32s %8s %12s %12s %7s\n", "op", "calls", "total ms", "mean us", "share");
    for (size_t i = 0; i < n && len < cap; i++)
        len += (size_t)snprintf(out + len, cap - len, "%-32s %8llu %12.3f %12.2f %6.1f%%\n", rows[i].label,
                                (unsigned long long)rows[i].calls, rows[i].ns / 1e6,
                                rows[i].ns / 1e3 / (double)rows[i].calls, total > 0 ? 100.0 * rows[i].ns / total : 0.0);
    if (len < cap)
        snprintf(out + len, cap - len, "%-32s %8s %12.3f\n", "total (GPU time, excludes host)", "", total / 1e6);
    free(rows);
    *text = out;
    return MD_OK;
}
