/* The note bank's in-memory form, shared by its loader, builder and drawer. */
#ifndef MD_NOTEBANK_INTERNAL_H
#define MD_NOTEBANK_INTERNAL_H

#include <stdint.h>
#include "cond/mel_axis.h"
#include "notebank/notebank.h"

#define MD_NB_MAX_MELS 256 /* the per-note buffers' size */
/* 2: the held grid reaches 6 s (1: 2 s) */
#define MD_NB_FORMAT_VERSION "2"
/* A template's rows, in file order: held frames, release frames, velocities,
 * each n_mels bytes long. */
#define MD_NB_ROWS (MD_NB_N_HELD + MD_NB_N_RELEASE + MD_NB_N_VEL)
/* The note-off of the released render, in frames after the onset (0.4993 s). */
#define MD_NB_HOLD_FRAMES 43
/* Instrument slots: GM programs 0-127, then the drum kits of MD_NB_KITS. */
#define MD_NB_DRUMS MD_NB_PROGRAMS
#define MD_NB_SLOTS (MD_NB_PROGRAMS + MD_NB_N_KITS)

/* The slot of a drum kit number (a stem's program on channel 10). */
int md_nb_kit_slot(int kit);

struct md_notebank {
    char *path;
    char sha256[65];
    md_mel_contract mc;
    int n_mels;
    int n_templates;
    int32_t *keys;                   /* [n_templates]: the key each template was measured at */
    int32_t start[MD_NB_SLOTS + 1];  /* slot s holds templates [start[s], start[s + 1]), keys ascending */
    uint8_t *table;                  /* [n_templates][ROWS][M] */
};

static inline const uint8_t *md_nb_template(const md_notebank *nb, int t)
{
    return nb->table + (size_t)t * MD_NB_ROWS * nb->n_mels;
}

/* Quantisation (1/12 nat steps): held above the floor, release as a fall,
 * velocity as a signed change. */
static inline float md_nb_held_value(float floor_ln, uint8_t q) { return floor_ln + q / MD_NB_QUANT; }
static inline float md_nb_release_value(uint8_t q) { return -q / MD_NB_QUANT; }
static inline float md_nb_velocity_value(uint8_t q) { return (int8_t)q / MD_NB_QUANT; }

/* Loads a bank from an opened safetensors file (md_notebank_open without
 * the file and its hash; the fuzz target's entry). */
typedef struct md_st_file md_st_file;
md_status md_nb_from_st(md_ctx *ctx, const md_st_file *f, const char *origin, md_notebank **out);

/* One note's template at its own pitch and velocity, in nats. */
typedef struct md_nb_note {
    float held[MD_NB_N_HELD][MD_NB_MAX_MELS];
    float rel[MD_NB_N_RELEASE][MD_NB_MAX_MELS];
} md_nb_note;

/* Where a key falls among a slot's stored keys (n >= 1, ascending): the
 * stored neighbours ia <= ib (equal at an exact or outside key) and the
 * weight of ib. */
void md_nb_neighbours(const int32_t *keys, int n, double key, int *ia, int *ib, float *wb);

/* A note of `key` (fractional when bent) at velocity `vel` from stored templates a (measured at
 * key_a) and, when b is not NULL, b (at key_b) with weight wb: each moved
 * along frequency to the note's pitch, blended in the log domain. */
void md_nb_blend(const md_mel_axis *ax, int M, float floor_ln, double key, int vel, const uint8_t *a, int key_a,
                 const uint8_t *b, int key_b, float wb, md_nb_note *out);

#endif
