/* The train/validation split of the dataset builder, by file.
 *
 * A file's split depends only on its name, so it never changes when files
 * are added and tools/train/corpus.py computes the same thing:
 *   key = base name without extension, lower-cased, only [a-z0-9], then
 *         leading digits (track numbers) removed -- unless that leaves
 *         nothing, in which case the digits stay ("1003.mid" -> "1003");
 *   val = FNV-1a-64(key) % 1000000 < round(val_fraction * 1000000).
 * Copies of one piece ("04-ClairDeLaLune.mid", "01-ClairDeLaLune.mid")
 * share a key and therefore a split. */
#ifndef MD_DATASET_SPLIT_H
#define MD_DATASET_SPLIT_H

#include <stddef.h>
#include <stdint.h>

uint64_t md_fnv1a64(const void *data, size_t len);

/* Writes the split key of path into buf (truncated to cap - 1 bytes). */
void md_dataset_split_key(const char *path, char *buf, size_t cap);

/* 1 when path belongs to the validation split at this fraction (0..1). */
int md_dataset_is_val(const char *path, double val_fraction);

#endif
