/* bench_nn_unet: one U-Net forward pass (= one diffusion step of one stem
 * segment) on the Vulkan backend and optionally the CPU reference backend.
 *
 *   bench_nn_unet --model M.safetensors [--frames 256] [--reps 3] [--cpu] [--profile]
 *                 [--precision auto|fp32|fp16] [--gn-slices N]
 *
 * Make a default-config random-weight model with
 *   python3 tools/bench/bench_nn_torch.py --write-unet /tmp/unet_default.safetensors
 * and time PyTorch on the same weights with
 *   python3 tools/bench/bench_nn_torch.py --unet /tmp/unet_default.safetensors
 * Prints best and mean wall time per pass and the CPU seconds the process
 * used per pass (lavapipe's threads included); --cpu times the CPU
 * reference backend and the CPU backend's OpenBLAS convolutions
 * (md_nn_set_cpu_fast) for the same --reps. --profile prints the GPU time of
 * the timed passes (not the warm-up) per layer and kernel ("up.4.norm1 group_norm_cols": the U-Net labels its
 * dispatches with model.py's layer names) and then summed per kernel. The
 * header line names the variants in use: weight precision (--precision,
 * md_nn_set_precision) and whether reductions use subgroups (turn them off
 * with MELODIFF_GPU_DISABLE=subgroup). */
#include <cblas.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_unet_common.h"
#include "gpu/gpu.h"
#include "nn/unet.h"

/* Times reps forward passes after one warm-up (bench_unet_common.h). */
static int bench(md_nn *nn, const char *model, int frames, int reps, const char *label)
{
    md_ctx *ctx = md_nn_ctx(nn);
    md_unet *u = NULL;
    if (md_unet_load_file(nn, model, &u) != MD_OK) {
        fprintf(stderr, "bench_nn_unet: %s\n", md_ctx_error(ctx));
        return 1;
    }
    const md_unet_config *c = md_unet_get_config(u);
    float *in = NULL, *emb = NULL, *v = malloc((size_t)c->n_mels * (size_t)frames * sizeof *v);
    int rc = !v || bench_unet_input(u, frames, &in, &emb) ||
             bench_unet_time(u, md_nn_gpu(nn), frames, reps, in, emb, v, 26, label);
    if (rc) fprintf(stderr, "bench_nn_unet: %s\n", md_ctx_error(ctx));
    free(in);
    free(v);
    free(emb);
    md_unet_destroy(u);
    return rc;
}

/* The profile rows are per layer ("up.4.norm1 group_norm_cols": the U-Net
 * labels its dispatches, md_nn_set_label); this sums them per kernel, the
 * last word of a label, for the per-op view. */
#define MAX_KERNELS 32
static void print_kernel_totals(const char *report)
{
    char names[MAX_KERNELS][64];
    double ms[MAX_KERNELS], all = 0;
    unsigned long calls[MAX_KERNELS];
    int n = 0;
    for (const char *line = report; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char buf[256], *tok[16];
        int nt = 0;
        if (len < sizeof buf) {
            memcpy(buf, line, len);
            buf[len] = 0;
            for (char *t = strtok(buf, " "); t && nt < 16; t = strtok(NULL, " ")) tok[nt++] = t;
        }
        /* label words, calls, total ms, mean us, share% */
        if (nt >= 5 && strchr(tok[nt - 1], '%') && strcmp(tok[0], "op") != 0) {
            const char *kernel = tok[nt - 5];
            int k = 0;
            while (k < n && strcmp(names[k], kernel)) k++;
            if (k == n && n < MAX_KERNELS) {
                snprintf(names[n], sizeof names[n], "%s", kernel);
                ms[n] = 0;
                calls[n++] = 0;
            }
            if (k < n) {
                calls[k] += strtoul(tok[nt - 4], NULL, 10);
                ms[k] += atof(tok[nt - 3]);
                all += atof(tok[nt - 3]);
            }
        }
        line = end ? end + 1 : NULL;
    }
    printf("per kernel (rows above summed)    calls     total ms   share\n");
    for (int k = 0; k < n; k++)
        printf("%-32s %8lu %12.3f %6.1f%%\n", names[k], calls[k], ms[k], all > 0 ? 100.0 * ms[k] / all : 0.0);
}

int main(int argc, char **argv)
{
    const char *model = NULL;
    int frames = 256, reps = 3, cpu = 0, profile = 0, gn_slices = 0;
    const char *precision = "auto";
    static const struct option opts[] = {{"model", required_argument, 0, 'm'}, {"frames", required_argument, 0, 'f'},
                                         {"reps", required_argument, 0, 'r'},  {"cpu", no_argument, 0, 'c'}, {"profile", no_argument, 0, 'p'},
                                         {"precision", required_argument, 0, 'P'},
                                         {"gn-slices", required_argument, 0, 'g'},
                                         {"help", no_argument, 0, 'h'},        {0, 0, 0, 0}};
    for (int o; (o = getopt_long(argc, argv, "m:f:r:cpP:g:h", opts, NULL)) != -1;) {
        if (o == 'm') model = optarg;
        else if (o == 'f') frames = atoi(optarg);
        else if (o == 'r') reps = atoi(optarg);
        else if (o == 'c') cpu = 1;
        else if (o == 'p') profile = 1;
        else if (o == 'P') precision = optarg;
        else if (o == 'g') gn_slices = atoi(optarg);
        else {
            printf("usage: bench_nn_unet --model M.safetensors [--frames 256] [--reps 3] [--cpu] [--profile] "
                   "[--precision auto|fp32|fp16] [--gn-slices N]\n");
            return o == 'h' ? 0 : 2;
        }
    }
    if (!model || frames < 1 || reps < 1) {
        fprintf(stderr, "bench_nn_unet: --model is required (see --help)\n");
        return 2;
    }
    md_ctx *ctx = NULL;
    md_gpu *gpu = NULL;
    md_nn *nn = NULL;
    md_gpu_options o;
    md_gpu_options_init(&o);
    o.validation = 0;
    o.timeout_ms = 600000;
    o.profile = profile;
    if (md_ctx_create(&ctx) != MD_OK || md_gpu_create(ctx, &o, &gpu) != MD_OK || md_nn_create_gpu(gpu, &nn) != MD_OK) {
        fprintf(stderr, "bench_nn_unet: %s\n", ctx ? md_ctx_error(ctx) : "no memory");
        return 1;
    }
    md_nn_precision prec;
    if (md_nn_precision_parse(ctx, precision, &prec) != MD_OK) {
        fprintf(stderr, "bench_nn_unet: %s\n", md_ctx_error(ctx));
        return 2;
    }
    md_nn_set_precision(nn, prec);
    md_nn_set_group_norm_slices(nn, gn_slices); /* 0: by device type */
    const char *lp = getenv("LP_NUM_THREADS");
    const md_gpu_features *f = &md_gpu_get_caps(gpu)->features;
    printf("device: %s; LP_NUM_THREADS=%s; conv style %s; weights %s (asked %s); subgroup reductions %s; "
           "frame-norm lanes per column %d (0: by device type)\n",
           md_gpu_get_caps(gpu)->info.name, lp ? lp : "(unset: one thread per core)",
           md_nn_conv_style_name(md_nn_conv_style_resolved(nn)), md_nn_precision_name(md_nn_precision_resolved(nn)),
           precision, f->subgroup_basic && f->subgroup_arith ? "on" : "off", gn_slices);
    int rc = bench(nn, model, frames, reps, "vulkan");
    char *report = NULL;
    if (profile && md_gpu_profile_report(gpu, &report) == MD_OK) {
        printf("%s", report);
        print_kernel_totals(report);
        free(report);
    }
    md_nn_destroy(nn);
    if (cpu) {
        md_nn *ref = NULL;
        if (md_nn_create_cpu(ctx, &ref) == MD_OK) rc |= bench(ref, model, frames, reps, "cpu reference");
        md_nn_destroy(ref);
        md_nn *fast = NULL;
        if (!getenv("OPENBLAS_NUM_THREADS")) openblas_set_num_threads(1); /* as the CLI (src/cli/main.c) */
        if (md_nn_create_cpu(ctx, &fast) == MD_OK) {
            md_nn_set_cpu_fast(fast, 1);
            rc |= bench(fast, model, frames, reps, "cpu openblas");
        }
        md_nn_destroy(fast);
    }
    md_gpu_destroy(gpu);
    md_ctx_destroy(ctx);
    return rc;
}
