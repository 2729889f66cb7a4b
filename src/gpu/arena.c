/* Activation arena planning: one buffer for all intermediate tensors of a
 * forward pass. Greedy by size (largest first), each placed in the tightest
 * gap left by the already placed tensors whose lifetimes intersect its own;
 * that is near the lower bound (the peak of live bytes) on U-Net-like graphs
 * and never lets two live tensors share a byte. */
#include <stdlib.h>

#include "gpu/gpu.h"

typedef struct span {
    uint64_t begin, end;
} span;

/* qsort has no user pointer in C11, so sort an index array that carries the
 * key itself instead of reaching for a global. */
typedef struct order_key {
    uint64_t size;
    int first;
    size_t index;
} order_key;

static int cmp_key(const void *a, const void *b)
{
    const order_key *x = a, *y = b;
    if (x->size != y->size) return x->size > y->size ? -1 : 1;
    if (x->first != y->first) return x->first < y->first ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static int cmp_span(const void *a, const void *b)
{
    const span *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

/* Lowest offset in the tightest gap among the sorted busy spans. */
static uint64_t place(const span *busy, size_t n, uint64_t size, uint64_t alignment)
{
    uint64_t cursor = 0, best = UINT64_MAX, best_gap = UINT64_MAX;
    for (size_t i = 0; i < n; i++) {
        uint64_t start = align_up(cursor, alignment);
        if (busy[i].begin >= start && busy[i].begin - start >= size) {
            uint64_t gap = busy[i].begin - start;
            if (gap < best_gap) {
                best_gap = gap;
                best = start;
            }
        }
        if (busy[i].end > cursor) cursor = busy[i].end;
    }
    return best != UINT64_MAX ? best : align_up(cursor, alignment);
}

md_status md_gpu_arena_plan(md_ctx *ctx, md_gpu_arena_item *items, size_t n,
                            uint64_t alignment, uint64_t *total)
{
    if (alignment == 0 || (alignment & (alignment - 1)))
        return md_fail(ctx, MD_ERR_USAGE, "arena plan: alignment %llu is not a power of two",
                       (unsigned long long)alignment);
    /* Keeps every offset + size + alignment far from overflowing. */
    const uint64_t max_size = 1ull << 56;
    if (alignment > max_size)
        return md_fail(ctx, MD_ERR_USAGE, "arena plan: alignment %llu is absurd", (unsigned long long)alignment);
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        if (items[i].size > max_size || (sum += items[i].size) > max_size)
            return md_fail(ctx, MD_ERR_LIMIT, "arena plan: tensors of %llu bytes and more cannot be planned",
                           (unsigned long long)(items[i].size > sum ? items[i].size : sum));
    }
    for (size_t i = 0; i < n; i++)
        if (items[i].first > items[i].last)
            return md_fail(ctx, MD_ERR_USAGE, "arena plan: tensor %zu is used from step %d to step %d",
                           i, items[i].first, items[i].last);
    *total = 0;
    if (n == 0) return MD_OK;
    order_key *order = malloc(n * sizeof *order);
    span *busy = malloc(n * sizeof *busy);
    size_t *placed = malloc(n * sizeof *placed);
    if (!order || !busy || !placed) {
        free(order);
        free(busy);
        free(placed);
        return md_fail(ctx, MD_ERR_NOMEM, "arena plan: out of memory for %zu tensors", n);
    }
    for (size_t i = 0; i < n; i++) order[i] = (order_key){items[i].size, items[i].first, i};
    qsort(order, n, sizeof *order, cmp_key);
    size_t n_placed = 0;
    uint64_t top = 0;
    for (size_t k = 0; k < n; k++) {
        md_gpu_arena_item *it = &items[order[k].index];
        it->offset = 0;
        if (it->size == 0) continue;
        size_t nb = 0;
        for (size_t j = 0; j < n_placed; j++) {
            const md_gpu_arena_item *o = &items[placed[j]];
            if (o->first <= it->last && it->first <= o->last)
                busy[nb++] = (span){o->offset, o->offset + o->size};
        }
        qsort(busy, nb, sizeof *busy, cmp_span);
        it->offset = place(busy, nb, it->size, alignment);
        if (it->offset + it->size > top) top = it->offset + it->size;
        placed[n_placed++] = order[k].index;
    }
    *total = align_up(top, alignment);
    free(order);
    free(busy);
    free(placed);
    return MD_OK;
}
