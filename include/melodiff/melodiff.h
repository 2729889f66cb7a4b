/* melodiff — the umbrella header of the public C API.
 *
 *   #include <melodiff/melodiff.h>
 *
 * status.h   md_status codes and their exit codes
 * context.h  md_ctx: error messages and logging (no global state)
 * mel.h      the mel contract every feature and model file carries
 * midi.h     Standard MIDI File reading into a score
 * score.h    the score: stems of notes, tempo map, control curves
 * cond.h     the per-frame conditioning the diffusion model sees
 * version.h  MELODIFF_VERSION_STRING */
#ifndef MELODIFF_MELODIFF_H
#define MELODIFF_MELODIFF_H

#include "melodiff/status.h"
#include "melodiff/context.h"
#include "melodiff/mel.h"
#include "melodiff/score.h"
#include "melodiff/midi.h"
#include "melodiff/cond.h"
#include "melodiff/version.h"

#endif
