/* The fixture U-Net (tests/fixtures/unet/) on Vulkan with each convolution
 * style forced -- reg (what lavapipe picks) and tiled (what real GPUs pick)
 * -- against PyTorch's float64 output, so the decoder's fused ops
 * (conv2d_up2 for nearest-upsample + conv, conv2d_cat / group_norm_cat for
 * the skip concatenations) are checked inside the whole graph on both
 * kernels. Asserts the fixture has what makes that true: an upsampling
 * layer and decoder blocks with a skip conv.
 * Tolerance: the golden test's, |v - ref| <= 1e-3 or <= 1e-3 |ref|. */
#include <string.h>

#include "core/safetensors.h"
#include "nn/unet.h"
#include "nn/unet_internal.h"
#include "test_nn_common.h"

#include "unet_fixture.h"

static void run_style(md_nn_conv_style style, const md_st_tensor *in, const md_st_tensor *emb,
                      const md_st_tensor *want)
{
    md_nn_set_conv_style(nt.dev, style);
    md_nn_set_precision(nt.dev, MD_NN_PRECISION_FP32);
    md_unet *u = NULL;
    md_status s = md_unet_load_file(nt.dev, FIX "unet_tiny.safetensors", &u);
    CHECK_MSG(s == MD_OK, "load: %s", md_ctx_error(nt.ctx));
    if (s != MD_OK) return;
    int ups = 0, cat_blocks = 0;
    for (int i = 0; i < u->n_up; i++) {
        ups += u->up[i].kind == UB_UP;
        cat_blocks += u->up[i].kind == UB_RES && u->up[i].res.skip;
    }
    CHECK_MSG(ups > 0 && cat_blocks > 0, "fixture has %d upsampling layers, %d decoder blocks with a skip conv", ups,
              cat_blocks);
    int n = (int)in->shape[0], frames = (int)in->shape[3];
    size_t count = want->numel;
    float *v = malloc(count * sizeof *v);
    if (!v) exit(1);
    s = md_unet_forward(u, n, frames, in->data, emb->data, v);
    CHECK_MSG(s == MD_OK, "forward (%s): %s", md_nn_conv_style_name(style), md_ctx_error(nt.ctx));
    const char *k = md_nn_last_kernel(nt.dev);
    const char *expect = style == MD_NN_CONV_TILED ? "nn_conv2d_tiled" : "nn_conv2d_reg";
    CHECK_MSG(k && !strcmp(k, expect), "last kernel %s, expected %s", k ? k : "(none)", expect);
    const float *ref = want->data;
    double worst = 0;
    size_t bad = 0;
    for (size_t i = 0; s == MD_OK && i < count; i++) {
        double e = fabs((double)v[i] - ref[i]);
        if (!(e <= NT_ABS_TOL || e <= NT_REL_TOL * fabs((double)ref[i]))) bad++;
        if (e > worst || e != e) worst = e;
    }
    CHECK_MSG(bad == 0, "%s: %zu of %zu values out of tolerance, max abs err %g", md_nn_conv_style_name(style), bad,
              count, worst);
    printf("conv style %-6s (%d upsample convs, %d concat-free blocks): v vs PyTorch max abs err %.3e\n",
           md_nn_conv_style_name(style), ups, cat_blocks, worst);
    free(v);
    md_unet_destroy(u);
}

int main(void)
{
    nt_setup();
    md_st_file *io = NULL;
    CHECK(md_st_open(nt.ctx, FIX "unet_tiny_io.safetensors", MD_ERR_INPUT, (size_t)1 << 30, &io) == MD_OK);
    const md_st_tensor *in = io ? md_st_find(io, "input") : NULL, *emb = io ? md_st_find(io, "emb") : NULL;
    const md_st_tensor *want = io ? md_st_find(io, "v") : NULL;
    CHECK(in && emb && want && in->ndim == 4);
    if (in && emb && want) {
        run_style(MD_NN_CONV_REG, in, emb, want);
        run_style(MD_NN_CONV_TILED, in, emb, want);
    }
    md_st_close(io);
    return nt_finish();
}
