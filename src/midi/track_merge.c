/* k-way merge of the tracks' channel events in (tick, track) order.
 *
 * Each track's events are already in tick order, so a binary heap of one
 * cursor per track yields the merged stream in O(n log k) without sorting
 * (or copying) the events. Ties go to the lower track, then file order:
 * the order a sequencer plays a format 1 file in. */
#include "midi/track_merge.h"

#include <stdlib.h>

static int is_channel(const md_smf_event *e) { return e->status >= 0x80 && e->status < 0xF0; }

static void skip_to_channel(const md_smf *smf, md_merge_cursor *c)
{
    while (c->next < c->end && !is_channel(&smf->events[c->next])) c->next++;
    if (c->next < c->end) c->tick = smf->events[c->next].tick;
}

static int less(const md_merge_cursor *a, const md_merge_cursor *b)
{
    if (a->tick != b->tick) return a->tick < b->tick;
    return a->track < b->track;
}

static void sift_down(md_track_merge *m, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, best = i;
        if (l < m->n && less(&m->heap[l], &m->heap[best])) best = l;
        if (r < m->n && less(&m->heap[r], &m->heap[best])) best = r;
        if (best == i) return;
        md_merge_cursor tmp = m->heap[i];
        m->heap[i] = m->heap[best];
        m->heap[best] = tmp;
        i = best;
    }
}

int md_track_merge_init(md_track_merge *m, const md_smf *smf, size_t t0, size_t t1)
{
    m->smf = smf;
    m->n = 0;
    m->heap = malloc((t1 > t0 ? t1 - t0 : 1) * sizeof *m->heap);
    if (!m->heap) return -1;
    for (size_t t = t0; t < t1; t++) {
        const md_smf_track *tr = &smf->tracks[t];
        md_merge_cursor c = {tr->first, tr->first + tr->count, 0, (uint32_t)t};
        skip_to_channel(smf, &c);
        if (c.next < c.end) m->heap[m->n++] = c;
    }
    for (size_t i = m->n / 2; i-- > 0;) sift_down(m, i);
    return 0;
}

int md_track_merge_next(md_track_merge *m, size_t *event, uint32_t *track)
{
    if (!m->n) return 0;
    md_merge_cursor *top = &m->heap[0];
    *event = top->next;
    *track = top->track;
    top->next++;
    skip_to_channel(m->smf, top);
    if (top->next >= top->end) m->heap[0] = m->heap[--m->n];
    sift_down(m, 0);
    return 1;
}

void md_track_merge_free(md_track_merge *m)
{
    free(m->heap);
    m->heap = NULL;
    m->n = 0;
}
