/* A range allocator for one memory block: hands out aligned sub-ranges of
 * [0, size) and takes them back, coalescing neighbours. Pure bookkeeping (no
 * Vulkan), so it is unit-tested on its own; memory.c puts one on every
 * vkDeviceMemory block. */
#ifndef MD_GPU_SUBALLOC_H
#define MD_GPU_SUBALLOC_H

#include <stddef.h>
#include <stdint.h>

typedef struct md_suballoc_range {
    uint64_t offset, size;
} md_suballoc_range;

typedef struct md_suballoc {
    uint64_t size;             /* bytes managed */
    uint64_t used;             /* bytes handed out */
    md_suballoc_range *free;   /* free ranges sorted by offset, never adjacent */
    size_t n_free, cap_free;
} md_suballoc;

/* 0 on success, -1 when out of host memory. */
int md_suballoc_init(md_suballoc *s, uint64_t size);
void md_suballoc_destroy(md_suballoc *s);

/* Best fit: finds the smallest free range that holds size bytes at an offset
 * that is a multiple of align (a power of two). Returns 0 and *offset on
 * success, 1 when no range fits, -1 when out of host memory. */
int md_suballoc_alloc(md_suballoc *s, uint64_t size, uint64_t align, uint64_t *offset);

/* Returns [offset, offset+size) to the free list. 0 on success, -1 when out
 * of host memory, -2 when the range was not allocated (outside the block or
 * overlapping a free range: a double free). */
int md_suballoc_release(md_suballoc *s, uint64_t offset, uint64_t size);

/* Size of the largest free range. */
uint64_t md_suballoc_largest_free(const md_suballoc *s);

#endif
