/* Best-fit range allocator with coalescing free list (see suballoc.h). */
#include "gpu/suballoc.h"

#include <stdlib.h>
#include <string.h>

int md_suballoc_init(md_suballoc *s, uint64_t size)
{
    memset(s, 0, sizeof *s);
    s->size = size;
    s->cap_free = 8;
    s->free = malloc(s->cap_free * sizeof *s->free);
    if (!s->free) return -1;
    if (size > 0) {
        s->free[0] = (md_suballoc_range){0, size};
        s->n_free = 1;
    }
    return 0;
}

void md_suballoc_destroy(md_suballoc *s)
{
    free(s->free);
    memset(s, 0, sizeof *s);
}

static int reserve(md_suballoc *s, size_t n)
{
    if (n <= s->cap_free) return 0;
    size_t cap = s->cap_free * 2;
    if (cap < n) cap = n;
    md_suballoc_range *p = realloc(s->free, cap * sizeof *p);
    if (!p) return -1;
    s->free = p;
    s->cap_free = cap;
    return 0;
}

static void remove_at(md_suballoc *s, size_t i)
{
    memmove(s->free + i, s->free + i + 1, (s->n_free - i - 1) * sizeof *s->free);
    s->n_free--;
}

static void insert_at(md_suballoc *s, size_t i, md_suballoc_range r)
{
    memmove(s->free + i + 1, s->free + i, (s->n_free - i) * sizeof *s->free);
    s->free[i] = r;
    s->n_free++;
}

int md_suballoc_alloc(md_suballoc *s, uint64_t size, uint64_t align, uint64_t *offset)
{
    if (size == 0 || align == 0 || (align & (align - 1))) return 1;
    size_t best = s->n_free;
    for (size_t i = 0; i < s->n_free; i++) {
        md_suballoc_range r = s->free[i];
        uint64_t start = (r.offset + align - 1) & ~(align - 1);
        if (start < r.offset || start - r.offset > r.size || r.size - (start - r.offset) < size) continue;
        if (best == s->n_free || r.size < s->free[best].size) best = i;
    }
    if (best == s->n_free) return 1;
    /* Splitting may add one range (a pad before and a tail after). */
    if (reserve(s, s->n_free + 1)) return -1;
    md_suballoc_range r = s->free[best];
    uint64_t start = (r.offset + align - 1) & ~(align - 1);
    md_suballoc_range pad = {r.offset, start - r.offset};
    md_suballoc_range tail = {start + size, r.offset + r.size - (start + size)};
    remove_at(s, best);
    size_t at = best;
    if (pad.size) insert_at(s, at++, pad);
    if (tail.size) insert_at(s, at, tail);
    s->used += size;
    *offset = start;
    return 0;
}

int md_suballoc_release(md_suballoc *s, uint64_t offset, uint64_t size)
{
    if (size == 0 || offset > s->size || size > s->size - offset || size > s->used) return -2;
    /* First free range that starts after offset. */
    size_t lo = 0, hi = s->n_free;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->free[mid].offset <= offset) lo = mid + 1; else hi = mid;
    }
    size_t i = lo;
    if (i > 0) {
        md_suballoc_range p = s->free[i - 1];
        if (p.offset + p.size > offset) return -2;
    }
    if (i < s->n_free && offset + size > s->free[i].offset) return -2;
    int merge_prev = i > 0 && s->free[i - 1].offset + s->free[i - 1].size == offset;
    int merge_next = i < s->n_free && offset + size == s->free[i].offset;
    if (merge_prev && merge_next) {
        s->free[i - 1].size += size + s->free[i].size;
        remove_at(s, i);
    } else if (merge_prev) {
        s->free[i - 1].size += size;
    } else if (merge_next) {
        s->free[i].offset = offset;
        s->free[i].size += size;
    } else {
        if (reserve(s, s->n_free + 1)) return -1;
        insert_at(s, i, (md_suballoc_range){offset, size});
    }
    s->used -= size;
    return 0;
}

uint64_t md_suballoc_largest_free(const md_suballoc *s)
{
    uint64_t m = 0;
    for (size_t i = 0; i < s->n_free; i++)
        if (s->free[i].size > m) m = s->free[i].size;
    return m;
}
