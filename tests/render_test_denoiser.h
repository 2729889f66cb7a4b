/* An analytic test denoiser for the render tests: the default mel contract,
 * frame multiple 8, data mean -6 and std 3, the CPU backend's labels, and
 * the caller's predict_v (predict_v_pair left NULL). */
#ifndef MD_TEST_RENDER_DENOISER_H
#define MD_TEST_RENDER_DENOISER_H

#include <stdio.h>
#include <string.h>

#include "render/denoiser.h"

static inline md_denoiser test_denoiser(void *impl, const char *device,
                                        md_status (*predict_v)(void *, md_ctx *, const float *, size_t, float,
                                                               const md_cond *, int, float *))
{
    md_denoiser d;
    memset(&d, 0, sizeof d);
    md_mel_contract_default(&d.mc);
    d.frame_multiple = 8;
    d.data_mean = -6.0f;
    d.data_std = 3.0f;
    strcpy(d.backend, "cpu");
    snprintf(d.device, sizeof d.device, "%s", device);
    d.impl = impl;
    d.predict_v = predict_v;
    return d;
}

#endif
