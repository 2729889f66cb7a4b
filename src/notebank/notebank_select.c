/* Which measured keys a bank keeps. A SoundFont plays each key from one of
 * a few samples, resampled: inside one sample's key range a note is its
 * neighbour moved along frequency, across a boundary it is another sound.
 * So keys are kept where the drawer's own reconstruction from the kept
 * neighbours (md_nb_blend) misses most: greedily, over all programs at once,
 * until the budget is spent. Measured on the validation files, keys chosen
 * this way drew them closer than the same number spread evenly
 * (docs/notebank.md). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "notebank/notebank_select.h"

typedef struct sel {
    const md_nb_candidates *c;
    md_mel_axis ax;
    float floor_ln;
    uint8_t *keep;
    float *err;
    md_nb_note *note;
} sel;

static const uint8_t *cand(const md_nb_candidates *c, int slot, int k)
{
    return c->table + ((size_t)slot * c->n_keys + k) * MD_NB_ROWS * c->n_mels;
}

/* Mean squared error (nats^2) of the held rows of key k when drawn from
 * kept keys l and r, both sides floored 80 dB under the measured peak. */
static float miss(sel *s, int slot, int k, int l, int r)
{
    const md_nb_candidates *c = s->c;
    int M = c->n_mels;
    const int32_t *keys = c->keys;
    float wb = (float)(keys[k] - keys[l]) / (float)(keys[r] - keys[l]);
    md_nb_blend(&s->ax, M, s->floor_ln, keys[k], MD_NB_REF_VELOCITY, cand(c, slot, l), keys[l], cand(c, slot, r),
                keys[r], wb, s->note);
    const uint8_t *t = cand(c, slot, k);
    uint8_t peak = 0;
    for (size_t i = 0; i < (size_t)MD_NB_N_HELD * M; i++) peak = t[i] > peak ? t[i] : peak;
    float lo = md_nb_held_value(s->floor_ln, peak) - 9.21f; /* 80 dB */
    double sum = 0;
    for (int row = 0; row < MD_NB_N_HELD; row++)
        for (int m = 0; m < M; m++) {
            float want = md_nb_held_value(s->floor_ln, t[(size_t)row * M + m]), got = s->note->held[row][m];
            want = want > lo ? want : lo;
            got = got > lo ? got : lo;
            sum += (double)(want - got) * (want - got);
        }
    return (float)(sum / ((double)MD_NB_N_HELD * M));
}

/* How much a key's error counts: fully over the five octaves from 36 to 96
 * where nearly all notes of nearly all music lie, falling linearly to a
 * quarter at the piano's ends. */
static float key_weight(int key)
{
    if (key < 36) return 0.25f + 0.75f * (float)(key - MD_NB_KEY_LO) / (36 - MD_NB_KEY_LO);
    if (key > 96) return 0.25f + 0.75f * (float)(MD_NB_KEY_HI - key) / (MD_NB_KEY_HI - 96);
    return 1.0f;
}

/* Errors of the keys strictly between kept keys l and r. */
static void rescore(sel *s, int slot, int l, int r)
{
    for (int k = l + 1; k < r; k++)
        s->err[(size_t)slot * s->c->n_keys + k] = key_weight(s->c->keys[k]) * miss(s, slot, k, l, r);
}

static int kept_left(const sel *s, int slot, int k)
{
    while (!s->keep[(size_t)slot * s->c->n_keys + k]) k--;
    return k;
}

static int kept_right(const sel *s, int slot, int k)
{
    while (!s->keep[(size_t)slot * s->c->n_keys + k]) k++;
    return k;
}

md_status md_nb_select(md_ctx *ctx, const md_mel_contract *mc, const md_nb_candidates *c, int budget, uint8_t *keep)
{
    int S = c->n_slots, K = c->n_keys;
    sel s = {c, {0}, logf(mc->log_floor), keep, calloc((size_t)S * K, sizeof(float)), malloc(sizeof(md_nb_note))};
    md_status st = MD_OK;
    if (!s.err || !s.note) st = md_fail(ctx, MD_ERR_NOMEM, "notebank: out of memory choosing keys");
    else if (md_mel_axis_init(&s.ax, mc)) st = md_fail(ctx, MD_ERR_USAGE, "notebank: the mel contract has no mel axis");
    memset(keep, budget > 0 ? 0 : 1, (size_t)S * K);
    int kept = 0;
    for (int p = 0; st == MD_OK && budget > 0 && p < S; p++) {
        keep[(size_t)p * K] = keep[(size_t)p * K + K - 1] = 1; /* the ends anchor every slot */
        kept += K > 1 ? 2 : 1;
        rescore(&s, p, 0, K - 1);
    }
    while (st == MD_OK && budget > 0 && kept < budget) {
        size_t best = 0;
        for (size_t i = 1; i < (size_t)S * K; i++) best = s.err[i] > s.err[best] ? i : best;
        if (s.err[best] <= 0) break; /* every remaining key is drawn exactly */
        int p = (int)(best / K), k = (int)(best % K);
        keep[best] = 1;
        s.err[best] = 0;
        kept++;
        rescore(&s, p, kept_left(&s, p, k - 1), k);
        rescore(&s, p, k, kept_right(&s, p, k + 1));
    }
    free(s.err);
    free(s.note);
    return st;
}
