/* bench_nn_conv: GPU conv2d throughput of both kernel styles.
 *
 *   bench_nn_conv [--reps N] [--style reg|tiled|both] [--case single|unet|all]
 *                 [--weights fp32|fp16|both] [--ref]
 *
 * Cases: conv2d 3x3 64->64 over 1x64x128x256 (bias + SiLU fused), and the
 * 3x3 convolution stack of a small U-Net on a 128-mel x 256-frame input
 * (levels 128x256 / 64x128 / 32x64 / 16x32 with 64 / 128 / 256 / 256
 * channels). Each case is recorded once and replayed, so the time is device
 * execution plus submission, not recording. Prints the best and mean time
 * of the reps, GFLOP/s (2 * MACs) of the best, and GFLOP per CPU-second
 * used by the process (lavapipe's threads included) over all reps: on a
 * shared machine the latter is the steadier figure.
 * --weights picks the weight storage (md_nn_set_precision: fp16 = float16
 * weights through the _f16w kernels, where the device has 16-bit storage);
 * the "kernel" column names the SPIR-V variant that ran.
 * --ref also times the CPU reference backend on the single conv (slow).
 * The PyTorch peer is tools/bench/bench_nn_torch.py (same shapes). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "gpu/gpu.h"
#include "nn/ops.h"

typedef struct layer {
    int cin, cout, h, w;
} layer;

static const layer single[] = {{64, 64, 128, 256}};
/* One encoder/decoder pass worth of 3x3 convs of a small U-Net (the
 * decoder's concat inputs make its first conv per level wider). */
static const layer unet[] = {
    {8, 64, 128, 256},   {64, 64, 128, 256},  {64, 64, 128, 256},
    {64, 128, 64, 128},  {128, 128, 64, 128},
    {128, 256, 32, 64},  {256, 256, 32, 64},
    {256, 256, 16, 32},  {256, 256, 16, 32},
    {512, 256, 32, 64},  {256, 128, 32, 64},
    {256, 128, 64, 128}, {128, 64, 64, 128},
    {128, 64, 128, 256}, {64, 64, 128, 256},
};

static double layer_flops(const layer *l) { return 2.0 * l->cin * l->cout * 9.0 * l->h * l->w; }

static void fill(float *v, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        v[i] = ((float)(seed >> 8) / 16777216.0f - 0.5f) * 0.2f;
    }
}

typedef struct bufs {
    md_tensor x, w, b, y;
} bufs;

static md_status alloc_layer(md_nn *nn, const layer *l, bufs *t)
{
    md_status s;
    if ((s = md_nn_tensor_alloc(nn, &t->x, 1, l->cin, l->h, l->w)) != MD_OK) return s;
    if ((s = md_nn_weight_alloc(nn, &t->w, l->cout, l->cin, 3, 3)) != MD_OK) return s;
    if ((s = md_nn_tensor_alloc(nn, &t->b, 1, l->cout, 1, 1)) != MD_OK) return s;
    if ((s = md_nn_tensor_alloc(nn, &t->y, 1, l->cout, l->h, l->w)) != MD_OK) return s;
    md_tensor *all[3] = {&t->x, &t->w, &t->b};
    for (int i = 0; i < 3; i++) {
        size_t n = md_tensor_numel(all[i]);
        float *v = malloc(n * sizeof *v);
        if (!v) return MD_ERR_NOMEM;
        fill(v, n, (unsigned)(i * 7919 + l->cin));
        s = md_nn_upload(nn, all[i], v);
        free(v);
        if (s != MD_OK) return s;
    }
    return MD_OK;
}

static void free_layer(md_nn *nn, bufs *t)
{
    md_nn_tensor_free(nn, &t->x);
    md_nn_tensor_free(nn, &t->w);
    md_nn_tensor_free(nn, &t->b);
    md_nn_tensor_free(nn, &t->y);
}

static const md_conv_params conv3 = {.stride_h = 1, .stride_w = 1, .pad_h = 1, .pad_w = 1,
                                     .ep = {.act = MD_ACT_SILU}};

/* Records every layer of the case into one list, replays it reps times.
 * Returns the best seconds per pass (mean in *mean), negative on failure. */
static double time_gpu(md_nn *nn, const layer *ls, int n, int reps, double *mean, double *cpu, char *kernel)
{
    bufs *t = calloc((size_t)n, sizeof *t);
    double secs = -1.0;
    md_gpu_cmd *cmd = NULL;
    if (!t) return -1.0;
    for (int i = 0; i < n; i++)
        if (alloc_layer(nn, &ls[i], &t[i]) != MD_OK) goto done;
    for (int i = 0; i < n; i++)
        if (md_nn_conv2d(nn, &t[i].x, &t[i].w, &t[i].b, NULL, NULL, &conv3, &t[i].y) != MD_OK) goto done;
    snprintf(kernel, 32, "%s", md_nn_last_kernel(nn));
    if (md_nn_take_commands(nn, &cmd) != MD_OK || md_gpu_cmd_run(cmd) != MD_OK) goto done; /* warm-up */
    /* The best of reps: the machine is shared, so the minimum is the least
     * disturbed measurement (the mean is printed alongside). */
    double best = 1e30, total = 0.0, c0 = md_clock_cpu();
    for (int r = 0; r < reps; r++) {
        double t0 = md_clock_wall();
        if (md_gpu_cmd_run(cmd) != MD_OK) goto done;
        double dt = md_clock_wall() - t0;
        total += dt;
        if (dt < best) best = dt;
    }
    secs = best;
    *mean = total / reps;
    *cpu = (md_clock_cpu() - c0) / reps;
done:
    md_gpu_cmd_destroy(cmd);
    for (int i = 0; i < n; i++) free_layer(nn, &t[i]);
    free(t);
    return secs;
}

static double time_cpu(md_nn *nn, const layer *l)
{
    bufs t;
    memset(&t, 0, sizeof t);
    double secs = -1.0;
    if (alloc_layer(nn, l, &t) == MD_OK) {
        double t0 = md_clock_wall();
        if (md_nn_conv2d(nn, &t.x, &t.w, &t.b, NULL, NULL, &conv3, &t.y) == MD_OK) secs = md_clock_wall() - t0;
    }
    free_layer(nn, &t);
    return secs;
}

static double case_flops(const layer *ls, int n)
{
    double f = 0;
    for (int i = 0; i < n; i++) f += layer_flops(&ls[i]);
    return f;
}

int main(int argc, char **argv)
{
    int reps = 5, ref = 0;
    const char *style_arg = "both", *case_arg = "all", *weights_arg = "fp32";
    static const struct option opts[] = {{"reps", required_argument, 0, 'r'}, {"style", required_argument, 0, 's'},
                                         {"ref", no_argument, 0, 'R'}, {"case", required_argument, 0, 'c'},
                                         {"weights", required_argument, 0, 'w'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    for (int c; (c = getopt_long(argc, argv, "r:s:c:w:Rh", opts, NULL)) != -1;) {
        if (c == 'r') reps = atoi(optarg);
        else if (c == 's') style_arg = optarg;
        else if (c == 'R') ref = 1;
        else if (c == 'c') case_arg = optarg;
        else if (c == 'w') weights_arg = optarg;
        else {
            printf("usage: bench_nn_conv [--reps N] [--style reg|tiled|both] [--case single|unet|all] "
                   "[--weights fp32|fp16|both] [--ref]\n");
            return c == 'h' ? 0 : 2;
        }
    }
    if (reps < 1) reps = 1;
    md_ctx *ctx = NULL;
    md_gpu *gpu = NULL;
    md_nn *nn = NULL;
    md_gpu_options o;
    md_gpu_options_init(&o);
    o.validation = 0;
    o.timeout_ms = 600000; /* a U-Net pass takes seconds on a CPU driver */
    if (md_ctx_create(&ctx) != MD_OK || md_gpu_create(ctx, &o, &gpu) != MD_OK || md_nn_create_gpu(gpu, &nn) != MD_OK) {
        fprintf(stderr, "bench_nn_conv: %s\n", ctx ? md_ctx_error(ctx) : "no memory");
        return 1;
    }
    const md_gpu_caps *caps = md_gpu_get_caps(gpu);
    const char *lp = getenv("LP_NUM_THREADS");
    printf("device: %s (%s); LP_NUM_THREADS=%s; reps %d\n", caps->info.name, md_gpu_device_type_name(caps->type),
           lp ? lp : "(unset: lavapipe uses one thread per core)", reps);
    printf("%-7s %-21s %-34s %10s %10s %10s %9s %11s\n", "style", "kernel", "case", "GFLOP", "best ms", "mean ms",
           "GFLOP/s", "GFLOP/cpu-s");
    struct { const char *key, *name; const layer *ls; int n; } cases[] = {
        {"single", "conv3x3 64->64 @128x256", single, 1},
        {"unet", "U-Net 3x3 stack (15 convs)", unet, (int)(sizeof unet / sizeof unet[0])},
    };
    int rc = 0;
    static const md_nn_precision precs[] = {MD_NN_PRECISION_FP32, MD_NN_PRECISION_FP16_WEIGHTS};
    for (int s = MD_NN_CONV_REG; s <= MD_NN_CONV_TILED; s++)
    for (size_t pi = 0; pi < 2; pi++) {
        if (strcmp(style_arg, "both") && strcmp(style_arg, md_nn_conv_style_name((md_nn_conv_style)s))) continue;
        if (strcmp(weights_arg, "both") && strcmp(weights_arg, md_nn_precision_name(precs[pi]))) continue;
        md_nn_set_conv_style(nn, (md_nn_conv_style)s);
        md_nn_set_precision(nn, precs[pi]);
        if (md_nn_precision_resolved(nn) != precs[pi]) {
            fprintf(stderr, "bench_nn_conv: %s weights are not available on this device\n", md_nn_precision_name(precs[pi]));
            rc = 1;
            continue;
        }
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            if (strcmp(case_arg, "all") && strcmp(case_arg, cases[c].key)) continue;
            double mean = 0.0, cpu = 0.0;
            char kernel[32] = "";
            double secs = time_gpu(nn, cases[c].ls, cases[c].n, reps, &mean, &cpu, kernel);
            double gf = case_flops(cases[c].ls, cases[c].n) / 1e9;
            if (secs < 0) {
                fprintf(stderr, "bench_nn_conv: %s\n", md_ctx_error(ctx));
                rc = 1;
                continue;
            }
            printf("%-7s %-21s %-34s %10.3f %10.1f %10.1f %9.2f %11.2f\n", md_nn_conv_style_name((md_nn_conv_style)s),
                   kernel, cases[c].name, gf, secs * 1e3, mean * 1e3, gf / secs, gf / cpu);
        }
    }
    if (ref) {
        md_nn *cpu = NULL;
        if (md_nn_create_cpu(ctx, &cpu) == MD_OK) {
            double secs = time_cpu(cpu, &single[0]);
            double gf = layer_flops(&single[0]) / 1e9;
            printf("%-7s %-21s %-34s %10.3f %10.1f %10.1f %9.2f %11s\n", "cpu-ref", "-", cases[0].name, gf, secs * 1e3, secs * 1e3,
                   gf / secs, "-");
            md_nn_destroy(cpu);
        }
    }
    md_nn_destroy(nn);
    md_gpu_destroy(gpu);
    md_ctx_destroy(ctx);
    return rc;
}
