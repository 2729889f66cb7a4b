/* md_nn_set_label: with profiling on, dispatches recorded under a label get
 * profile rows "<label> <kernel>" (the U-Net's per-layer --profile table);
 * clearing it brings back the plain kernel rows; an over-long label is cut,
 * not overrun. Lavapipe, validation on. */
#include "gpu_test_common.h"
#include "nn/ops.h"

/* Runs one act op on x -> y under the current label and syncs. */
static void run_act(md_nn *nn, md_tensor *x, md_tensor *y)
{
    md_status s = md_nn_act(nn, x, MD_ACT_SILU, 0.0f, y);
    if (s == MD_OK) s = md_nn_sync(nn);
    CHECK_MSG(s == MD_OK, "act: %s", md_ctx_error(md_nn_ctx(nn)));
}

/* The report line whose label (the text before the calls column) is
 * exactly want, or NULL. */
static int has_row(const char *report, const char *want)
{
    size_t n = strlen(want);
    for (const char *line = report; line && *line;) {
        if (!strncmp(line, want, n) && line[n] == ' ') {
            /* the label is followed by spaces then the calls column */
            const char *p = line + n;
            while (*p == ' ') p++;
            if (*p >= '1' && *p <= '9') return 1;
        }
        const char *end = strchr(line, '\n');
        line = end ? end + 1 : NULL;
    }
    return 0;
}

int main(void)
{
    md_ctx *ctx = NULL;
    if (md_ctx_create(&ctx) != MD_OK) return 1;
    md_gpu_options o;
    md_gpu_options_init(&o);
    o.profile = 1;
    md_gpu *gpu = gpu_test_open(ctx, &o);
    md_nn *nn = NULL;
    if (!gpu || md_nn_create_gpu(gpu, &nn) != MD_OK) return 1;
    md_tensor x, y;
    md_status s = md_nn_tensor_alloc(nn, &x, 1, 2, 3, 5);
    if (s == MD_OK) s = md_nn_tensor_alloc(nn, &y, 1, 2, 3, 5);
    float v[30];
    for (int i = 0; i < 30; i++) v[i] = (float)i / 10.0f - 1.0f;
    if (s == MD_OK) s = md_nn_upload(nn, &x, v);
    CHECK_MSG(s == MD_OK, "setup: %s", md_ctx_error(ctx));

    md_nn_set_label(nn, "up.4.norm1");
    run_act(nn, &x, &y);
    md_nn_set_label(nn, "an.extremely.long.layer.name.that.goes.on.and.on.and.on.and.on");
    run_act(nn, &x, &y);
    md_nn_set_label(nn, NULL);
    run_act(nn, &x, &y);

    char *report = NULL;
    s = md_gpu_profile_report(gpu, &report);
    CHECK_MSG(s == MD_OK, "report: %s", md_ctx_error(ctx));
    if (report) {
        printf("%s", report);
        CHECK_MSG(has_row(report, "up.4.norm1 act"), "no \"up.4.norm1 act\" row");
        CHECK_MSG(has_row(report, "act"), "no plain \"act\" row after the label was cleared");
        /* cut to 47 characters, then " act" */
        CHECK_MSG(has_row(report, "an.extremely.long.layer.name.that.goes.on.and.o act"), "long label not cut at 47");
        free(report);
    }
    md_nn_tensor_free(nn, &x);
    md_nn_tensor_free(nn, &y);
    md_nn_destroy(nn);
    gpu_test_close(gpu);
    md_ctx_destroy(ctx);
    return md_test_finish();
}
