/* Shared scaffolding of the nn shader tests: one CPU reference backend and
 * one Vulkan backend (lavapipe in CI, validation on via MELODIFF_VALIDATION),
 * tensors mirrored on both with the same random contents, and the comparison
 * every op is held to:
 *
 *   TOLERANCE (fp32): each element passes when |gpu - cpu| <= 1e-3 or
 *   |gpu - cpu| <= 1e-3 * |cpu| (absolute error for values near zero,
 *   relative for large ones).
 *
 * nt_finish() fails the test if the validation layer reported anything. */
#ifndef MD_TEST_NN_COMMON_H
#define MD_TEST_NN_COMMON_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gpu/gpu.h"
#include "nn/ops.h"
#include "test_util.h"

#define NT_ABS_TOL 1e-3
#define NT_REL_TOL 1e-3

typedef struct nt_env {
    md_ctx *ctx;
    md_gpu *gpu;
    md_nn *cpu, *dev;
    uint64_t rng;
} nt_env;

/* A tensor with the same contents on both backends. */
typedef struct nt_pair {
    md_tensor c, g;
} nt_pair;

static nt_env nt;

static inline float nt_rand(void)
{
    /* xorshift64*: deterministic, so a failure reproduces */
    nt.rng ^= nt.rng >> 12;
    nt.rng ^= nt.rng << 25;
    nt.rng ^= nt.rng >> 27;
    uint64_t r = nt.rng * 2685821657736338717ull;
    return (float)((double)(r >> 11) / 9007199254740992.0) * 2.0f - 1.0f; /* [-1, 1) */
}

static inline void nt_setup(void)
{
    nt.rng = 0x9E3779B97F4A7C15ull;
    if (md_ctx_create(&nt.ctx) != MD_OK) exit(1);
    md_gpu_options o;
    md_gpu_options_init(&o);
    if (md_gpu_create(nt.ctx, &o, &nt.gpu) != MD_OK) {
        fprintf(stderr, "no Vulkan device: %s\n", md_ctx_error(nt.ctx));
        exit(1);
    }
    if (md_nn_create_cpu(nt.ctx, &nt.cpu) != MD_OK || md_nn_create_gpu(nt.gpu, &nt.dev) != MD_OK) {
        fprintf(stderr, "nn backend: %s\n", md_ctx_error(nt.ctx));
        exit(1);
    }
    const md_gpu_caps *caps = md_gpu_get_caps(nt.gpu);
    printf("device: %s (%s), validation %s\n", caps->info.name, md_gpu_device_type_name(caps->type),
           md_gpu_validation_enabled(nt.gpu) ? "on" : "off");
}

/* Allocates on both backends and fills with uniform values in [lo, hi). */
static inline nt_pair nt_rand_pair(int n, int c, int h, int w, float lo, float hi)
{
    nt_pair p;
    memset(&p, 0, sizeof p);
    if (md_nn_tensor_alloc(nt.cpu, &p.c, n, c, h, w) != MD_OK ||
        md_nn_tensor_alloc(nt.dev, &p.g, n, c, h, w) != MD_OK) {
        fprintf(stderr, "alloc %dx%dx%dx%d: %s\n", n, c, h, w, md_ctx_error(nt.ctx));
        exit(1);
    }
    size_t count = md_tensor_numel(&p.c);
    for (size_t i = 0; i < count; i++) p.c.host[i] = lo + (nt_rand() * 0.5f + 0.5f) * (hi - lo);
    if (md_nn_upload(nt.dev, &p.g, p.c.host) != MD_OK) {
        fprintf(stderr, "upload: %s\n", md_ctx_error(nt.ctx));
        exit(1);
    }
    return p;
}

static inline nt_pair nt_pair_alloc(int n, int c, int h, int w) { return nt_rand_pair(n, c, h, w, 0, 0); }

static inline void nt_free(nt_pair *p)
{
    md_nn_tensor_free(nt.cpu, &p->c);
    md_nn_tensor_free(nt.dev, &p->g);
}

/* Downloads the GPU result and compares it with the CPU one. Returns the max
 * absolute error; records one CHECK. */
static inline double nt_compare(const nt_pair *p, const char *what)
{
    size_t count = md_tensor_numel(&p->c);
    float *got = malloc(count * sizeof *got);
    if (!got) exit(1);
    md_status s = md_nn_download(nt.dev, &p->g, got);
    CHECK_MSG(s == MD_OK, "%s: download: %s", what, md_ctx_error(nt.ctx));
    double max_abs = 0.0;
    size_t bad = 0, first_bad = 0;
    for (size_t i = 0; i < count; i++) {
        double want = p->c.host[i], err = fabs((double)got[i] - want);
        if (!(err <= NT_ABS_TOL || err <= NT_REL_TOL * fabs(want))) {
            if (!bad) first_bad = i;
            bad++;
        }
        if (err > max_abs || err != err) max_abs = err;
    }
    CHECK_MSG(bad == 0, "%s: %zu of %zu elements out of tolerance (first [%zu]: gpu %g cpu %g), max abs err %g",
              what, bad, count, first_bad, bad ? (double)got[first_bad] : 0.0,
              bad ? (double)p->c.host[first_bad] : 0.0, max_abs);
    free(got);
    return max_abs;
}

/* An op's status on both backends must be MD_OK. */
#define NT_OK(cpu_call, gpu_call, what) do { \
    md_status nt_s1_ = (cpu_call); \
    CHECK_MSG(nt_s1_ == MD_OK, "%s (cpu): %s", what, md_ctx_error(nt.ctx)); \
    md_status nt_s2_ = (gpu_call); \
    CHECK_MSG(nt_s2_ == MD_OK, "%s (gpu): %s", what, md_ctx_error(nt.ctx)); } while (0)

static inline int nt_finish(void)
{
    md_status s = md_nn_sync(nt.dev);
    CHECK_MSG(s == MD_OK, "final sync: %s", md_ctx_error(nt.ctx));
    uint64_t msgs = md_gpu_validation_count(nt.gpu);
    CHECK_MSG(msgs == 0, "%llu Vulkan validation messages", (unsigned long long)msgs);
    md_nn_destroy(nt.dev);
    md_nn_destroy(nt.cpu);
    md_gpu_destroy(nt.gpu);
    md_ctx_destroy(nt.ctx);
    return md_test_finish();
}

#endif
