/* Tempo map: ticks to seconds for PPQ and SMPTE time division. */
#include "midi/score_build.h"

#include <stdlib.h>
#include <string.h>

typedef struct tempo_ev {
    uint64_t tick;
    size_t order;       /* event index: later events win at the same tick */
    uint32_t usec;
} tempo_ev;

static int cmp_tempo(const void *a, const void *b)
{
    const tempo_ev *x = a, *y = b;
    if (x->tick != y->tick) return x->tick < y->tick ? -1 : 1;
    return x->order < y->order ? -1 : (x->order > y->order);
}

static double smpte_fps(int code)
{
    return code == 29 ? 30000.0 / 1001.0 : (double)code;
}

/* Collects valid tempo meta events of tracks [t0, t1). */
static md_status collect(md_ctx *ctx, const char *origin, const md_smf *smf, size_t t0, size_t t1,
                         tempo_ev **out, size_t *n_out)
{
    size_t n = 0, cap = 0;
    tempo_ev *v = NULL;
    for (size_t t = t0; t < t1; t++) {
        const md_smf_track *tr = &smf->tracks[t];
        for (size_t i = tr->first; i < tr->first + tr->count; i++) {
            const md_smf_event *e = &smf->events[i];
            if (e->status != MD_SMF_META || e->d1 != 0x51) continue;
            const uint8_t *p = md_smf_payload(smf, e);
            uint32_t usec = e->data_len >= 3 ? ((uint32_t)p[0] << 16) | (p[1] << 8) | p[2] : 0;
            if (e->data_len != 3 || usec == 0) {
                md_log(ctx, MD_LOG_WARN, "%s: track %zu: malformed tempo event at tick %llu ignored", origin, t,
                       (unsigned long long)e->tick);
                continue;
            }
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                tempo_ev *nv = realloc(v, cap * sizeof *nv);
                if (!nv) {
                    free(v);
                    return md_fail(ctx, MD_ERR_NOMEM, "%s: out of memory building the tempo map", origin);
                }
                v = nv;
            }
            v[n++] = (tempo_ev){e->tick, i, usec};
        }
    }
    if (n > 1) qsort(v, n, sizeof *v, cmp_tempo);
    *out = v;
    *n_out = n;
    return MD_OK;
}

static md_status append_changes(md_ctx *ctx, const char *origin, md_score *score, const md_tempo_map *map,
                                const tempo_ev *ev, size_t n, double offset)
{
    if (!n) return MD_OK;
    md_tempo_change *tc = realloc(score->tempos, (score->n_tempos + n) * sizeof *tc);
    if (!tc) return md_fail(ctx, MD_ERR_NOMEM, "%s: out of memory listing tempo changes", origin);
    score->tempos = tc;
    for (size_t i = 0; i < n; i++)
        tc[score->n_tempos++] = (md_tempo_change){
            .time = offset + md_tempo_map_time(map, ev[i].tick),
            .tick = ev[i].tick,
            .usec_per_quarter = ev[i].usec,
            .bpm = 60e6 / ev[i].usec,
        };
    return MD_OK;
}

md_status md_tempo_map_build(md_ctx *ctx, const char *origin, const md_smf *smf, size_t t0, size_t t1,
                             double offset, md_tempo_map *map, md_score *score)
{
    memset(map, 0, sizeof *map);
    map->segs = malloc(sizeof *map->segs);
    if (!map->segs) return md_fail(ctx, MD_ERR_NOMEM, "%s: out of memory building the tempo map", origin);
    map->n = 1;
    if (smf->division & 0x8000) {
        /* SMPTE: a fixed number of ticks per second; tempo events only
         * matter for notation, so they are not listed either. */
        int fps = -(int)(int8_t)(smf->division >> 8);
        int tpf = smf->division & 0xFF;
        map->segs[0] = (md_tempo_seg){0, 0.0, 1.0 / (smpte_fps(fps) * tpf)};
        return MD_OK;
    }
    double ppq = smf->division;
    map->segs[0] = (md_tempo_seg){0, 0.0, 0.5 / ppq}; /* 120 bpm until told otherwise */
    tempo_ev *ev = NULL;
    size_t n = 0;
    md_status s = collect(ctx, origin, smf, t0, t1, &ev, &n);
    if (s != MD_OK) return s;
    md_tempo_seg *segs = realloc(map->segs, (n + 1) * sizeof *segs);
    if (!segs) {
        free(ev);
        return md_fail(ctx, MD_ERR_NOMEM, "%s: out of memory building the tempo map", origin);
    }
    map->segs = segs;
    for (size_t i = 0; i < n; i++) {
        md_tempo_seg *last = &segs[map->n - 1];
        double t = last->time + (double)(ev[i].tick - last->tick) * last->sec_per_tick;
        md_tempo_seg seg = {ev[i].tick, t, ev[i].usec / (1e6 * ppq)};
        if (ev[i].tick == last->tick) *last = seg; /* the later event at one tick wins */
        else segs[map->n++] = seg;
    }
    s = append_changes(ctx, origin, score, map, ev, n, offset);
    free(ev);
    return s;
}

double md_tempo_map_time(const md_tempo_map *map, uint64_t tick)
{
    size_t lo = 0, hi = map->n; /* find the last segment starting at or before tick */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (map->segs[mid].tick <= tick) lo = mid;
        else hi = mid;
    }
    const md_tempo_seg *s = &map->segs[lo];
    return s->time + (double)(tick - s->tick) * s->sec_per_tick;
}

void md_tempo_map_free(md_tempo_map *map)
{
    free(map->segs);
    memset(map, 0, sizeof *map);
}
