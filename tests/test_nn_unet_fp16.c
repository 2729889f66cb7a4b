/* The fixture U-Net (tests/fixtures/unet/) on Vulkan with conv/linear
 * weights in float16 storage (md_nn_set_precision FP16_WEIGHTS) against the
 * same model with float32 weights and against PyTorch's float64 output.
 *
 * Tolerance: |v16 - v32| <= 1e-2 * max(1, |v32|) per element. Each weight
 * moves by at most 2^-11 (4.9e-4) of itself when rounded to fp16; through
 * ~25 conv/linear layers of random weights such relative perturbations add
 * up to a few 1e-3 at most (the group norms keep activations near unit
 * scale): measured 1.6e-3 on lavapipe; 1e-2 leaves room for other devices' summation
 * orders while still failing on any real bug (a wrong weight read is O(1)).
 * The fp32 model is held to the golden test's 1e-3, so this also checks the
 * precision switch leaves fp32 loading alone. */
#include <string.h>

#include "core/safetensors.h"
#include "nn/unet.h"
#include "nn/unet_internal.h"
#include "test_nn_common.h"

#include "unet_fixture.h"
#define F16_TOL 1e-2

static double max_rel_err(const float *got, const float *want, size_t count, double tol, const char *what)
{
    double worst = 0.0;
    size_t bad = 0;
    for (size_t i = 0; i < count; i++) {
        double scale = fabs(want[i]) > 1.0 ? fabs(want[i]) : 1.0;
        double e = fabs((double)got[i] - (double)want[i]) / scale;
        if (!(e <= tol)) bad++;
        if (e > worst || e != e) worst = e;
    }
    CHECK_MSG(bad == 0, "%s: %zu of %zu beyond %g (worst %g)", what, bad, count, tol, worst);
    printf("%-36s worst error %.3e (scaled by max(1,|ref|))\n", what, worst);
    return worst;
}

/* Loads the fixture at `precision` and runs the conditional forward. */
static int forward(md_nn_precision precision, md_dtype want_dtype, const float *input, const float *emb, int n,
                   int frames, float *v)
{
    md_nn_set_precision(nt.dev, precision);
    md_unet *u = NULL;
    md_status s = md_unet_load_file(nt.dev, FIX "unet_tiny.safetensors", &u);
    CHECK_MSG(s == MD_OK, "load (%s): %s", md_nn_precision_name(precision), md_ctx_error(nt.ctx));
    if (s != MD_OK) return 0;
    /* weights follow the precision, biases and norms stay fp32 */
    CHECK(u->conv_in_w.dtype == want_dtype && u->conv_out_w.dtype == want_dtype && u->aqkv_w.dtype == want_dtype);
    CHECK(u->conv_in_b.dtype == MD_DTYPE_F32 && u->no_w.dtype == MD_DTYPE_F32);
    s = md_unet_forward(u, n, frames, input, emb, v);
    CHECK_MSG(s == MD_OK, "forward (%s): %s", md_nn_precision_name(precision), md_ctx_error(nt.ctx));
    const char *k = md_nn_last_kernel(nt.dev);
    CHECK_MSG(k && strstr(k, "conv2d") && (strstr(k, "_f16w") != NULL) == (want_dtype == MD_DTYPE_F16),
              "last kernel %s", k ? k : "(none)");
    md_unet_destroy(u);
    return s == MD_OK;
}

int main(void)
{
    nt_setup();
    if (!md_gpu_get_caps(nt.gpu)->features.fp16_storage) {
        printf("SKIP: the device has no 16-bit storage\n");
        return nt_finish();
    }
    md_st_file *io = NULL;
    CHECK(md_st_open(nt.ctx, FIX "unet_tiny_io.safetensors", MD_ERR_INPUT, (size_t)1 << 30, &io) == MD_OK);
    const md_st_tensor *in = io ? md_st_find(io, "input") : NULL, *emb = io ? md_st_find(io, "emb") : NULL;
    const md_st_tensor *want = io ? md_st_find(io, "v") : NULL;
    CHECK(in && emb && want && in->ndim == 4);
    if (in && emb && want) {
        int n = (int)in->shape[0], frames = (int)in->shape[3];
        size_t plane = want->numel;
        float *v32 = malloc(plane * sizeof *v32), *v16 = malloc(plane * sizeof *v16);
        if (!v32 || !v16) exit(1);
        int ok = forward(MD_NN_PRECISION_FP32, MD_DTYPE_F32, in->data, emb->data, n, frames, v32);
        ok &= forward(MD_NN_PRECISION_FP16_WEIGHTS, MD_DTYPE_F16, in->data, emb->data, n, frames, v16);
        if (ok) {
            max_rel_err(v32, want->data, plane, 1e-3, "fp32 weights vs PyTorch");
            double e = max_rel_err(v16, v32, plane, F16_TOL, "fp16 weights vs fp32 weights");
            max_rel_err(v16, want->data, plane, F16_TOL, "fp16 weights vs PyTorch");
            CHECK_MSG(e > 0.0, "fp16 weights gave bit-identical output: the weights were not rounded");
        }
        free(v32);
        free(v16);
    }
    md_st_close(io);
    return nt_finish();
}
