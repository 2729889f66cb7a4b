/* The note bank's fixed time and velocity grids (notebank.h). Dense where a
 * note changes fast (its attack, the first frames after its release), sparse
 * where it settles. The held grid reaches 6 s so that the slope continued
 * past its end is the sustain's (flat for an organ, a string pad) or the
 * sample's own decay (a piano): with the grid ending at 2 s, a 7 s organ
 * note missed by 12.8 dB (docs/notebank.md). */
#include "notebank/notebank_internal.h"

const float MD_NB_HELD_FRAMES[MD_NB_N_HELD] = {-2, -1, 0,  1,  2,  3,  4,  5,  6,   7,   8,   9,   10, 11,
                                               13, 15, 18, 22, 27, 33, 40, 50, 62, 78, 100, 130, 172,
                                               258, 344, 516};
const float MD_NB_RELEASE_FRAMES[MD_NB_N_RELEASE] = {-2, -1, 0, 1, 2, 3, 4, 6, 8, 11, 15, 20, 27, 36, 48, 64, 86};
const int MD_NB_VELOCITIES[MD_NB_N_VEL] = {24, 44, 64, 80, 90, 112, 127};
const int MD_NB_KITS[MD_NB_N_KITS] = {0, 8, 16, 24, 25, 32, 40, 48};

int md_nb_kit_slot(int kit)
{
    int k = 0;
    while (k + 1 < MD_NB_N_KITS && MD_NB_KITS[k + 1] <= kit) k++;
    return MD_NB_DRUMS + k;
}
