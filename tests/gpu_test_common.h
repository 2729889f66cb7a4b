/* Shared setup for the GPU runtime tests: a context whose log goes to
 * stderr (so validation messages show in ctest output) and a handle that
 * honours MELODIFF_VALIDATION as set by tests/CMakeLists.txt. */
#ifndef MD_GPU_TEST_COMMON_H
#define MD_GPU_TEST_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu/gpu.h"
#include "test_util.h"

/* Every warning or error the library logs during a GPU test (validation
 * messages, also those at teardown such as objects never destroyed, and the
 * runtime's own leak warnings) is counted here and fails the test. */
static int gpu_test_log_lines;

static inline void gpu_test_log(void *user, md_log_level level, const char *msg)
{
    (void)user;
    fprintf(stderr, "melodiff: %s%s\n", level == MD_LOG_ERROR ? "error: " : level == MD_LOG_WARN ? "warning: " : "", msg);
    if (level <= MD_LOG_WARN) gpu_test_log_lines++;
}

/* When the test environment asks for validation, the handle must have it:
 * a test that silently ran without the layer would prove nothing. */
static inline md_gpu *gpu_test_open(md_ctx *ctx, md_gpu_options *opt)
{
    md_ctx_set_log(ctx, gpu_test_log, NULL);
    if (md_ctx_log_level(ctx) < MD_LOG_WARN) md_ctx_set_log_level(ctx, MD_LOG_WARN);
    md_gpu_options o;
    if (!opt) {
        md_gpu_options_init(&o);
        opt = &o;
    }
    md_gpu *gpu = NULL;
    md_status s = md_gpu_create(ctx, opt, &gpu);
    CHECK_MSG(s == MD_OK, "md_gpu_create: %s", md_ctx_error(ctx));
    if (s != MD_OK) return NULL;
    const char *v = getenv("MELODIFF_VALIDATION");
    if (v && !strcmp(v, "1")) CHECK(md_gpu_validation_enabled(gpu));
    return gpu;
}

static inline void gpu_test_close(md_gpu *gpu)
{
    if (!gpu) return;
    CHECK_MSG(md_gpu_validation_count(gpu) == 0, "%llu validation messages",
              (unsigned long long)md_gpu_validation_count(gpu));
    md_gpu_destroy(gpu);
    CHECK_MSG(gpu_test_log_lines == 0, "%d warning/error lines logged (see above)", gpu_test_log_lines);
    gpu_test_log_lines = 0;
}

static inline md_gpu_kernel *gpu_test_kernel(md_gpu *gpu, const char *shader, uint32_t n_bindings,
                                             uint32_t push_size, uint32_t local_x)
{
    md_gpu_kernel_desc d = {.shader = shader, .n_bindings = n_bindings, .push_size = push_size,
                            .n_spec = 1, .spec = {local_x}};
    md_gpu_kernel *k = NULL;
    md_status s = md_gpu_kernel_get(gpu, &d, &k);
    CHECK_MSG(s == MD_OK, "kernel %s: %s", shader, md_ctx_error(md_gpu_ctx(gpu)));
    return k;
}

#endif
