/* Reference resampling: nearest x2 upsampling and 2x2 average pooling. */
#include "nn/ref/ref.h"

void md_ref_upsample_nearest2x(const md_tensor *x, md_tensor *y)
{
    for (int n = 0; n < y->n; n++)
        for (int c = 0; c < y->c; c++)
            for (int oy = 0; oy < y->h; oy++)
                for (int ox = 0; ox < y->w; ox++)
                    y->host[md_tensor_at(y, n, c, oy, ox)] = x->host[md_tensor_at(x, n, c, oy / 2, ox / 2)];
}

void md_ref_avgpool2x2(const md_tensor *x, md_tensor *y)
{
    for (int n = 0; n < y->n; n++)
        for (int c = 0; c < y->c; c++)
            for (int oy = 0; oy < y->h; oy++)
                for (int ox = 0; ox < y->w; ox++) {
                    float s = x->host[md_tensor_at(x, n, c, 2 * oy, 2 * ox)] +
                              x->host[md_tensor_at(x, n, c, 2 * oy, 2 * ox + 1)] +
                              x->host[md_tensor_at(x, n, c, 2 * oy + 1, 2 * ox)] +
                              x->host[md_tensor_at(x, n, c, 2 * oy + 1, 2 * ox + 1)];
                    y->host[md_tensor_at(y, n, c, oy, ox)] = 0.25f * s;
                }
}
