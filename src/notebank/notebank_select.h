/* Internal: choosing the keys a note bank keeps (notebank_select.c). */
#ifndef MD_NOTEBANK_SELECT_H
#define MD_NOTEBANK_SELECT_H

#include "notebank/notebank_internal.h"

/* Measured templates of n_slots instruments at the same n_keys keys:
 * table is [n_slots][n_keys][ROWS][n_mels]. */
typedef struct md_nb_candidates {
    int n_slots, n_keys, n_mels;
    const int32_t *keys;
    const uint8_t *table;
} md_nb_candidates;

/* Sets keep[slot * n_keys + k] to 1 for the keys to store: each slot's
 * first and last, then greedily the worst drawn, until `budget` keys are
 * kept in all (or every other key is drawn exactly). budget <= 0 keeps
 * every key. */
md_status md_nb_select(md_ctx *ctx, const md_mel_contract *mc, const md_nb_candidates *c, int budget, uint8_t *keep);

#endif
