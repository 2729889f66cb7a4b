/* The block sub-allocator on its own (no device): alignment, no overlap
 * between live ranges, accounting, coalescing back to one free range, and
 * refusal of double frees. */
#include <stdint.h>
#include <stdlib.h>

#include "gpu/suballoc.h"
#include "test_util.h"

typedef struct live {
    uint64_t off, size;
} live;

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static int cmp_live(const void *a, const void *b)
{
    const live *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off;
}

static int no_overlap(live *v, size_t n)
{
    live *c = malloc((n ? n : 1) * sizeof *c);
    if (!c) return 0;
    for (size_t i = 0; i < n; i++) c[i] = v[i];
    qsort(c, n, sizeof *c, cmp_live);
    int ok = 1;
    for (size_t i = 1; i < n; i++)
        if (c[i - 1].off + c[i - 1].size > c[i].off) ok = 0;
    free(c);
    return ok;
}

static void test_random(void)
{
    const uint64_t block = 1ull << 30; /* bookkeeping only: no memory behind it */
    md_suballoc s;
    CHECK(md_suballoc_init(&s, block) == 0);
    live v[512];
    size_t n = 0;
    uint64_t seed = 0x9e3779b97f4a7c15ull, used = 0;
    int misaligned = 0, overlaps = 0, fails = 0;
    for (int it = 0; it < 5000; it++) {
        int do_free = n > 0 && (n == 512 || rng_next(&seed) % 3 == 0);
        if (do_free) {
            size_t k = rng_next(&seed) % n;
            CHECK(md_suballoc_release(&s, v[k].off, v[k].size) == 0);
            used -= v[k].size;
            v[k] = v[--n];
            continue;
        }
        uint64_t size = 1 + rng_next(&seed) % (rng_next(&seed) % 4 == 0 ? (1u << 20) : 4096u);
        uint64_t align = 1ull << (rng_next(&seed) % 9); /* 1 .. 256 */
        uint64_t off;
        int rc = md_suballoc_alloc(&s, size, align, &off);
        if (rc != 0) {
            fails++;
            continue;
        }
        misaligned += off % align != 0;
        v[n++] = (live){off, size};
        used += size;
        if (it % 97 == 0) overlaps += !no_overlap(v, n);
    }
    CHECK(misaligned == 0);
    CHECK(overlaps == 0);
    CHECK(no_overlap(v, n));
    CHECK(fails == 0); /* 512 x 1 MiB at most never fills 1 GiB */
    CHECK(s.used == used);
    for (size_t i = 0; i < n; i++) CHECK(md_suballoc_release(&s, v[i].off, v[i].size) == 0);
    CHECK(s.used == 0);
    CHECK(s.n_free == 1 && md_suballoc_largest_free(&s) == block);
    md_suballoc_destroy(&s);
}

static void test_edges(void)
{
    md_suballoc s;
    CHECK(md_suballoc_init(&s, 1024) == 0);
    uint64_t a, b, c;
    CHECK(md_suballoc_alloc(&s, 2048, 1, &a) == 1); /* too big */
    CHECK(md_suballoc_alloc(&s, 0, 1, &a) == 1);    /* empty */
    CHECK(md_suballoc_alloc(&s, 16, 3, &a) == 1);   /* not a power of two */
    CHECK(md_suballoc_alloc(&s, 100, 1, &a) == 0 && a == 0);
    CHECK(md_suballoc_alloc(&s, 100, 256, &b) == 0 && b == 256);
    /* The pad [100, 256) went back to the free list: a best fit uses it. */
    CHECK(md_suballoc_alloc(&s, 150, 4, &c) == 0 && c >= 100 && c + 150 <= 256);
    CHECK(md_suballoc_release(&s, b, 100) == 0);
    CHECK(md_suballoc_release(&s, b, 100) == -2);       /* double free */
    CHECK(md_suballoc_release(&s, 1000, 100) == -2);    /* outside the block */
    CHECK(md_suballoc_release(&s, a + 50, 10) == 0);    /* a sub-range of a live range: accepted... */
    CHECK(md_suballoc_release(&s, a + 50, 10) == -2);   /* ...but only once */
    /* Reuse: freeing and reallocating the same size returns the same place. */
    uint64_t d, e;
    CHECK(md_suballoc_alloc(&s, 512, 16, &d) == 0);
    CHECK(md_suballoc_release(&s, d, 512) == 0);
    CHECK(md_suballoc_alloc(&s, 512, 16, &e) == 0 && e == d);
    md_suballoc_destroy(&s);
}

int main(void)
{
    test_random();
    test_edges();
    return md_test_finish();
}
