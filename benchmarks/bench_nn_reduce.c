/* bench_nn_reduce: the workgroup-reduction kernels (group norm over whole
 * planes, layer norm, softmax) with subgroup reductions (the _sg variants)
 * and with the shared-memory tree, on one device.
 *
 *   bench_nn_reduce [--reps N]
 *
 * Two GPU handles are made: one with the device's features, one with
 * MELODIFF_GPU_DISABLE=subgroup (the escape hatch), so the "kernel" column
 * shows which SPIR-V ran. Each op is recorded 8 times into one list and the
 * list replayed; best and mean wall time per op. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "gpu/gpu.h"
#include "nn/ops.h"

#define REPEAT 8

typedef enum { GROUP_NORM, LAYER_NORM, SOFTMAX } op_kind;

typedef struct op_case {
    const char *name;
    op_kind kind;
    int n, c, h, w, groups;
} op_case;

static const op_case cases[] = {
    {"group_norm 64ch/32g @128x256", GROUP_NORM, 1, 64, 128, 256, 32},
    {"group_norm 256ch/32g @16x32", GROUP_NORM, 1, 256, 16, 32, 32},
    {"layer_norm 4096 rows x 512", LAYER_NORM, 4096, 1, 1, 512, 0},
    {"layer_norm 16384 rows x 64", LAYER_NORM, 16384, 1, 1, 64, 0},
    {"softmax 4096 rows x 1024", SOFTMAX, 4096, 1, 1, 1024, 0},
    {"softmax 16384 rows x 128", SOFTMAX, 16384, 1, 1, 128, 0},
};

static md_status record_op(md_nn *nn, const op_case *k, const md_tensor *x, md_tensor *y)
{
    if (k->kind == GROUP_NORM) {
        md_norm_params p = {.groups = k->groups, .eps = 1e-5f, .ep = {.act = MD_ACT_SILU}};
        return md_nn_group_norm(nn, x, NULL, NULL, NULL, &p, y);
    }
    if (k->kind == LAYER_NORM) return md_nn_layer_norm(nn, x, NULL, NULL, 1e-5f, y);
    return md_nn_softmax(nn, x, y);
}

/* Best seconds per op (mean in *mean), negative on failure. */
static double time_case(md_nn *nn, const op_case *k, int reps, double *mean, char *kernel)
{
    md_tensor x, y;
    md_gpu_cmd *cmd = NULL;
    double best = -1.0;
    if (md_nn_tensor_alloc(nn, &x, k->n, k->c, k->h, k->w) != MD_OK) return -1.0;
    if (md_nn_tensor_alloc(nn, &y, k->n, k->c, k->h, k->w) != MD_OK) {
        md_nn_tensor_free(nn, &x);
        return -1.0;
    }
    size_t count = md_tensor_numel(&x);
    float *v = malloc(count * sizeof *v);
    if (!v) goto done;
    for (size_t i = 0; i < count; i++) v[i] = (float)((i * 2654435761u) % 1000) / 100.0f - 5.0f;
    if (md_nn_upload(nn, &x, v) != MD_OK) goto done;
    for (int r = 0; r < REPEAT; r++)
        if (record_op(nn, k, &x, &y) != MD_OK) goto done;
    snprintf(kernel, 32, "%s", md_nn_last_kernel(nn));
    if (md_nn_take_commands(nn, &cmd) != MD_OK || md_gpu_cmd_run(cmd) != MD_OK) goto done; /* warm-up */
    double lo = 1e30, total = 0.0;
    for (int r = 0; r < reps; r++) {
        double t0 = md_clock_wall();
        if (md_gpu_cmd_run(cmd) != MD_OK) goto done;
        double dt = (md_clock_wall() - t0) / REPEAT;
        total += dt;
        if (dt < lo) lo = dt;
    }
    best = lo;
    *mean = total / reps;
done:
    free(v);
    md_gpu_cmd_destroy(cmd);
    md_nn_tensor_free(nn, &x);
    md_nn_tensor_free(nn, &y);
    return best;
}

static int open_gpu(md_ctx *ctx, const char *disable, md_gpu **gpu, md_nn **nn)
{
    if (disable) setenv("MELODIFF_GPU_DISABLE", disable, 1);
    md_gpu_options o;
    md_gpu_options_init(&o);
    o.validation = 0;
    o.timeout_ms = 600000;
    md_status s = md_gpu_create(ctx, &o, gpu);
    if (disable) unsetenv("MELODIFF_GPU_DISABLE");
    if (s == MD_OK) s = md_nn_create_gpu(*gpu, nn);
    if (s != MD_OK) fprintf(stderr, "bench_nn_reduce: %s\n", md_ctx_error(ctx));
    return s == MD_OK;
}

int main(int argc, char **argv)
{
    int reps = 5;
    static const struct option opts[] = {{"reps", required_argument, 0, 'r'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    for (int c; (c = getopt_long(argc, argv, "r:h", opts, NULL)) != -1;) {
        if (c == 'r') reps = atoi(optarg);
        else {
            printf("usage: bench_nn_reduce [--reps N]\n");
            return c == 'h' ? 0 : 2;
        }
    }
    if (reps < 1) reps = 1;
    md_ctx *ctx = NULL;
    md_gpu *gpu[2] = {NULL, NULL};
    md_nn *nn[2] = {NULL, NULL};
    if (md_ctx_create(&ctx) != MD_OK) return 1;
    if (!open_gpu(ctx, NULL, &gpu[0], &nn[0]) || !open_gpu(ctx, "subgroup", &gpu[1], &nn[1])) return 1;
    const md_gpu_caps *caps = md_gpu_get_caps(gpu[0]);
    const char *lp = getenv("LP_NUM_THREADS");
    printf("device: %s (%s), subgroup size %u; LP_NUM_THREADS=%s; reps %d x %d ops\n", caps->info.name,
           md_gpu_device_type_name(caps->type), caps->limits.subgroup_size, lp ? lp : "(unset)", reps, REPEAT);
    printf("%-32s %-18s %10s %10s\n", "case", "kernel", "best ms", "mean ms");
    int rc = 0;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (int v = 0; v < 2; v++) {
            double mean = 0.0;
            char kernel[32] = "";
            double best = time_case(nn[v], &cases[c], reps, &mean, kernel);
            if (best < 0) {
                fprintf(stderr, "bench_nn_reduce: %s\n", md_ctx_error(ctx));
                rc = 1;
                continue;
            }
            printf("%-32s %-18s %10.3f %10.3f\n", cases[c].name, kernel, best * 1e3, mean * 1e3);
        }
    for (int v = 0; v < 2; v++) {
        md_nn_destroy(nn[v]);
        md_gpu_destroy(gpu[v]);
    }
    md_ctx_destroy(ctx);
    return rc;
}
