/* The note bank's fixed time and velocity grids (notebank.h). Dense where a
 * note changes fast (its attack, the first frames after its release), sparse
 * where it settles: linear interpolation between these points is within the
 * quantisation step for most instruments. */
#include "notebank/notebank.h"

const float MD_NB_HELD_FRAMES[MD_NB_N_HELD] = {-2, -1, 0,  1,  2,  3,  4,  5,  6,   7,   8,   9,   10, 11,
                                               13, 15, 18, 22, 27, 33, 40, 50, 62, 78, 100, 130, 172};
const float MD_NB_RELEASE_FRAMES[MD_NB_N_RELEASE] = {-2, -1, 0, 1, 2, 3, 4, 6, 8, 11, 15, 20, 27, 36, 48, 64, 86};
const int MD_NB_VELOCITIES[MD_NB_N_VEL] = {24, 44, 64, 80, 90, 112, 127};
