/* The tiny U-Net fixture of tests/fixtures/unet/ (tools/train/export_fixture.py):
 * its path, checked access to the tensors of unet_tiny_io.safetensors, and
 * the md_cond view of one item's conditioning planes, shared by the tests
 * that run the fixture model. */
#ifndef MD_TEST_UNET_FIXTURE_H
#define MD_TEST_UNET_FIXTURE_H

#include <string.h>

#include "core/safetensors.h"
#include "melodiff/cond.h"
#include "test_util.h"

#define FIX MD_SOURCE_DIR "/tests/fixtures/unet/"

/* A float32 tensor of io with exactly want_numel elements, else a CHECK
 * failure naming it and NULL. */
static inline const float *unet_fixture_f32(const md_st_file *io, const char *name, size_t want_numel)
{
    const md_st_tensor *t = md_st_find(io, name);
    CHECK_MSG(t && t->dtype == MD_ST_F32 && t->numel == want_numel, "fixture tensor %s", name);
    return t && t->numel == want_numel ? (const float *)t->data : NULL;
}

/* The conditioning of one fixture item: planes [128][frames] (not copied). */
static inline md_cond unet_fixture_cond(const float *harm, const float *roll, const float *onset, size_t frames,
                                        int instrument)
{
    md_cond c;
    memset(&c, 0, sizeof c);
    c.n_frames = frames;
    c.n_mels = 128;
    c.instrument = instrument;
    c.harmonic = (float *)harm;
    c.roll = (float *)roll;
    c.onset = (float *)onset;
    return c;
}

#endif
