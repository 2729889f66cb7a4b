/* Command lists: barrier placement (exact counts for RAW, WAR, disjoint
 * ranges), results of dependent chains, replay, submission splitting, copies,
 * profiling, and proof that synchronization validation would catch a missing
 * barrier. */
#include "gpu_test_common.h"

#define N 1024u /* elements per buffer; N*4 is a multiple of 16 for offsets */

typedef struct { uint32_t n; float value; } fill_push;
typedef struct { uint32_t n; float scale; } add_push;

typedef struct fixture {
    md_gpu *gpu;
    md_gpu_kernel *fill, *add, *accum;
} fixture;

static int fixture_open(fixture *f, md_ctx *ctx, md_gpu_options *opt)
{
    f->gpu = gpu_test_open(ctx, opt);
    if (!f->gpu) return 0;
    f->fill = gpu_test_kernel(f->gpu, "fill", 1, sizeof(fill_push), 64);
    f->add = gpu_test_kernel(f->gpu, "rt_add", 3, sizeof(add_push), 64);
    f->accum = gpu_test_kernel(f->gpu, "rt_accum", 1, 4, 64);
    return f->fill && f->add && f->accum;
}

static md_status fill(const fixture *f, md_gpu_cmd *cmd, md_gpu_buffer *b, uint64_t off, float v)
{
    fill_push p = {N, v};
    md_gpu_binding bind = {b, off, (uint64_t)N * 4, MD_GPU_WRITE};
    md_gpu_dispatch d = {.kernel = f->fill, .bindings = &bind, .push = &p, .groups = {N / 64, 1, 1}, .flops = N};
    return md_gpu_cmd_dispatch(cmd, &d);
}

/* c = a + b * scale over N elements at the given offsets. */
static md_status add(const fixture *f, md_gpu_cmd *cmd, md_gpu_buffer *a, uint64_t ao, md_gpu_buffer *b, uint64_t bo,
                     md_gpu_buffer *c, uint64_t co, float scale, uint64_t flops)
{
    add_push p = {N, scale};
    md_gpu_binding bind[3] = {{a, ao, (uint64_t)N * 4, MD_GPU_READ},
                              {b, bo, (uint64_t)N * 4, MD_GPU_READ},
                              {c, co, (uint64_t)N * 4, MD_GPU_WRITE}};
    md_gpu_dispatch d = {.kernel = f->add, .bindings = bind, .push = &p, .groups = {N / 64, 1, 1}, .flops = flops};
    return md_gpu_cmd_dispatch(cmd, &d);
}

static md_status accum(const fixture *f, md_gpu_cmd *cmd, md_gpu_buffer *x)
{
    uint32_t n = N;
    md_gpu_binding bind = {x, 0, 0, MD_GPU_READ_WRITE};
    md_gpu_dispatch d = {.kernel = f->accum, .bindings = &bind, .push = &n, .groups = {N / 64, 1, 1}, .flops = N};
    return md_gpu_cmd_dispatch(cmd, &d);
}

/* Every element of b[off .. off+N) equals want. */
static int all_equal(md_gpu_buffer *b, uint64_t off, float want)
{
    float v[N];
    if (md_gpu_buffer_download(b, off, v, sizeof v) != MD_OK) return 0;
    for (uint32_t i = 0; i < N; i++)
        if (v[i] != want) {
            fprintf(stderr, "element %u is %g, want %g\n", i, v[i], want);
            return 0;
        }
    return 1;
}

static void test_barrier_policy(const fixture *f)
{
    md_gpu *gpu = f->gpu;
    md_gpu_buffer *A, *B, *C, *D, *X, *E;
    CHECK(md_gpu_buffer_create(gpu, N * 4, 0, &A) == MD_OK);
    CHECK(md_gpu_buffer_create(gpu, N * 4, 0, &B) == MD_OK);
    CHECK(md_gpu_buffer_create(gpu, N * 4, 0, &C) == MD_OK);
    CHECK(md_gpu_buffer_create(gpu, N * 4, 0, &D) == MD_OK);
    CHECK(md_gpu_buffer_create(gpu, 2 * N * 4, 0, &X) == MD_OK);
    CHECK(md_gpu_buffer_create(gpu, N * 4, 0, &E) == MD_OK);
    md_gpu_cmd *cmd;
    CHECK(md_gpu_cmd_begin(gpu, &cmd) == MD_OK);
    md_gpu_cmd_stats st;
    CHECK(fill(f, cmd, A, 0, 1.0f) == MD_OK);
    CHECK(fill(f, cmd, B, 0, 2.0f) == MD_OK);
    md_gpu_cmd_stats_get(cmd, &st);
    CHECK_MSG(st.barriers == 0, "independent writes got %u barriers", st.barriers);
    CHECK(add(f, cmd, A, 0, B, 0, C, 0, 1.0f, N) == MD_OK); /* RAW on A and B */
    md_gpu_cmd_stats_get(cmd, &st);
    CHECK_MSG(st.barriers == 1, "RAW: %u barriers", st.barriers);
    CHECK(add(f, cmd, A, 0, B, 0, D, 0, 2.0f, N) == MD_OK); /* reads only: no barrier */
    md_gpu_cmd_stats_get(cmd, &st);
    CHECK_MSG(st.barriers == 1, "read-read: %u barriers", st.barriers);
    CHECK(fill(f, cmd, A, 0, 10.0f) == MD_OK); /* WAR on A */
    md_gpu_cmd_stats_get(cmd, &st);
    CHECK_MSG(st.barriers == 2, "WAR: %u barriers", st.barriers);
    CHECK(fill(f, cmd, X, 0, 5.0f) == MD_OK);        /* disjoint halves of one buffer */
    CHECK(fill(f, cmd, X, N * 4, 6.0f) == MD_OK);
    md_gpu_cmd_stats_get(cmd, &st);
    CHECK_MSG(st.barriers == 2, "disjoint ranges: %u barriers", st.barriers);
    CHECK(add(f, cmd, X, 0, X, N * 4, E, 0, 1.0f, N) == MD_OK); /* RAW on both halves */
    CHECK(md_gpu_cmd_end(cmd) == MD_OK);
    md_gpu_cmd_stats_get(cmd, &st);
    CHECK_MSG(st.barriers == 3, "final: %u barriers", st.barriers);
    CHECK(st.dispatches == 8 && st.submissions == 1);
    CHECK_MSG(md_gpu_cmd_run(cmd) == MD_OK, "%s", md_ctx_error(md_gpu_ctx(gpu)));
    CHECK(all_equal(C, 0, 3.0f));
    CHECK(all_equal(D, 0, 5.0f));
    CHECK(all_equal(A, 0, 10.0f));
    CHECK(all_equal(E, 0, 11.0f));
    /* A second run gives the same results: the list refills A first. */
    CHECK(md_gpu_cmd_run(cmd) == MD_OK);
    CHECK(all_equal(C, 0, 3.0f));
    CHECK(all_equal(E, 0, 11.0f));
    md_gpu_cmd_destroy(cmd);
    md_gpu_buffer *all[] = {A, B, C, D, X, E};
    for (size_t i = 0; i < 6; i++) md_gpu_buffer_destroy(all[i]);
}

static void test_replay(const fixture *f)
{
    md_gpu_buffer *Y;
    CHECK(md_gpu_buffer_create(f->gpu, N * 4, 0, &Y) == MD_OK);
    CHECK(md_gpu_buffer_zero(Y, 0, N * 4) == MD_OK);
    md_gpu_cmd *cmd;
    CHECK(md_gpu_cmd_begin(f->gpu, &cmd) == MD_OK);
    for (int i = 0; i < 3; i++) CHECK(accum(f, cmd, Y) == MD_OK);
    CHECK(md_gpu_cmd_end(cmd) == MD_OK);
    md_gpu_cmd_stats st;
    md_gpu_cmd_stats_get(cmd, &st);
    CHECK_MSG(st.barriers == 2, "in-place chain of 3: %u barriers", st.barriers);
    for (int r = 0; r < 20; r++) CHECK(md_gpu_cmd_run(cmd) == MD_OK);
    CHECK(all_equal(Y, 0, 60.0f));
    /* Host writes between runs are seen by the next run. */
    float v[N];
    for (uint32_t i = 0; i < N; i++) v[i] = -3.0f;
    CHECK(md_gpu_buffer_upload(Y, 0, v, sizeof v) == MD_OK);
    CHECK(md_gpu_cmd_run(cmd) == MD_OK);
    CHECK(all_equal(Y, 0, 0.0f));
    md_gpu_cmd_destroy(cmd);
    md_gpu_buffer_destroy(Y);
}

/* A chain x_{i+1} = x_i + ones, one dispatch per step, with a FLOP budget
 * that forces every dispatch into its own submission: results must not
 * change, and the list must report the split. */
static void test_split(md_ctx *ctx)
{
    md_gpu_options opt;
    md_gpu_options_init(&opt);
    opt.flop_budget_per_submit = 1000;
    fixture f;
    if (!fixture_open(&f, ctx, &opt)) {
        gpu_test_close(f.gpu);
        return;
    }
    md_gpu_buffer *ones, *x0, *x1;
    CHECK(md_gpu_buffer_create(f.gpu, N * 4, 0, &ones) == MD_OK);
    CHECK(md_gpu_buffer_create(f.gpu, N * 4, 0, &x0) == MD_OK);
    CHECK(md_gpu_buffer_create(f.gpu, N * 4, 0, &x1) == MD_OK);
    md_gpu_cmd *cmd;
    CHECK(md_gpu_cmd_begin(f.gpu, &cmd) == MD_OK);
    CHECK(fill(&f, cmd, ones, 0, 1.0f) == MD_OK); /* N = 1024 flops: over budget alone */
    CHECK(fill(&f, cmd, x0, 0, 0.0f) == MD_OK);
    md_gpu_buffer *src = x0, *dst = x1;
    for (int i = 0; i < 6; i++) {
        CHECK(add(&f, cmd, src, 0, ones, 0, dst, 0, 1.0f, 600) == MD_OK);
        md_gpu_buffer *t = src;
        src = dst;
        dst = t;
    }
    CHECK(md_gpu_cmd_end(cmd) == MD_OK);
    md_gpu_cmd_stats st;
    md_gpu_cmd_stats_get(cmd, &st);
    CHECK_MSG(st.submissions == 8, "%u submissions, want 8", st.submissions);
    CHECK(md_gpu_cmd_run(cmd) == MD_OK);
    CHECK(md_gpu_cmd_run(cmd) == MD_OK);
    CHECK(all_equal(src, 0, 6.0f));
    md_gpu_cmd_destroy(cmd);
    md_gpu_buffer_destroy(ones);
    md_gpu_buffer_destroy(x0);
    md_gpu_buffer_destroy(x1);
    gpu_test_close(f.gpu);
}

static void test_copy(const fixture *f)
{
    md_gpu_buffer *A, *F, *G;
    CHECK(md_gpu_buffer_create(f->gpu, N * 4, 0, &A) == MD_OK);
    CHECK(md_gpu_buffer_create(f->gpu, 2 * N * 4, 0, &F) == MD_OK);
    CHECK(md_gpu_buffer_create(f->gpu, N * 4, 0, &G) == MD_OK);
    md_gpu_cmd *cmd;
    CHECK(md_gpu_cmd_begin(f->gpu, &cmd) == MD_OK);
    CHECK(fill(f, cmd, A, 0, 4.0f) == MD_OK);
    CHECK(md_gpu_cmd_copy(cmd, A, 0, F, N * 4, N * 4) == MD_OK); /* RAW on A */
    CHECK(add(f, cmd, F, N * 4, A, 0, G, 0, 0.5f, N) == MD_OK);   /* RAW on F */
    CHECK(md_gpu_cmd_copy(cmd, A, 0, A, 0, N * 4) == MD_ERR_USAGE); /* overlapping self copy refused */
    CHECK(md_gpu_cmd_end(cmd) == MD_OK);
    md_gpu_cmd_stats st;
    md_gpu_cmd_stats_get(cmd, &st);
    CHECK(st.copies == 1 && st.barriers == 2);
    CHECK(md_gpu_cmd_run(cmd) == MD_OK);
    CHECK(all_equal(F, N * 4, 4.0f));
    CHECK(all_equal(G, 0, 6.0f));
    md_gpu_cmd_destroy(cmd);
    md_gpu_buffer_destroy(A);
    md_gpu_buffer_destroy(F);
    md_gpu_buffer_destroy(G);
}

static void test_bad_dispatch(const fixture *f)
{
    md_gpu_buffer *A;
    CHECK(md_gpu_buffer_create(f->gpu, N * 4, 0, &A) == MD_OK);
    md_gpu_cmd *cmd;
    CHECK(md_gpu_cmd_begin(f->gpu, &cmd) == MD_OK);
    fill_push p = {N, 1.0f};
    md_gpu_binding bind = {A, 4, 0, MD_GPU_WRITE}; /* misaligned offset */
    md_gpu_dispatch d = {.kernel = f->fill, .bindings = &bind, .push = &p, .groups = {1, 1, 1}};
    md_status s = md_gpu_cmd_dispatch(cmd, &d);
    const uint64_t align = md_gpu_get_caps(f->gpu)->limits.min_storage_buffer_offset_alignment;
    CHECK(align <= 4 || s == MD_ERR_USAGE);
    bind.offset = 0;
    bind.range = N * 4 + 16; /* past the end */
    CHECK(md_gpu_cmd_dispatch(cmd, &d) == MD_ERR_USAGE);
    bind.range = 0;
    d.groups[1] = 0;
    CHECK(md_gpu_cmd_dispatch(cmd, &d) == MD_ERR_USAGE);
    d.groups[1] = 1;
    bind.access = 0;
    CHECK(md_gpu_cmd_dispatch(cmd, &d) == MD_ERR_USAGE);
    bind.access = MD_GPU_WRITE;
    CHECK(md_gpu_cmd_dispatch(cmd, &d) == MD_OK); /* a refused dispatch leaves the list usable */
    CHECK(md_gpu_cmd_end(cmd) == MD_OK);
    CHECK(md_gpu_cmd_dispatch(cmd, &d) != MD_OK); /* ended */
    CHECK(md_gpu_cmd_run(cmd) == MD_OK);
    md_gpu_cmd_destroy(cmd);
    md_gpu_buffer_destroy(A);
}

static void test_profile(md_ctx *ctx)
{
    md_gpu_options opt;
    md_gpu_options_init(&opt);
    opt.profile = 1;
    fixture f;
    if (!fixture_open(&f, ctx, &opt)) {
        gpu_test_close(f.gpu);
        return;
    }
    md_gpu_buffer *A, *B;
    CHECK(md_gpu_buffer_create(f.gpu, N * 4, 0, &A) == MD_OK);
    CHECK(md_gpu_buffer_create(f.gpu, N * 4, 0, &B) == MD_OK);
    md_gpu_cmd *cmd;
    CHECK(md_gpu_cmd_begin(f.gpu, &cmd) == MD_OK);
    CHECK(fill(&f, cmd, A, 0, 1.0f) == MD_OK);
    CHECK(add(&f, cmd, A, 0, A, 0, B, 0, 1.0f, N) == MD_OK);
    CHECK(md_gpu_cmd_end(cmd) == MD_OK);
    for (int i = 0; i < 3; i++) CHECK(md_gpu_cmd_run(cmd) == MD_OK);
    char *text = NULL;
    CHECK(md_gpu_profile_report(f.gpu, &text) == MD_OK && text);
    if (text) fputs(text, stdout);
    if (text && md_gpu_get_caps(f.gpu)->features.timestamps) {
        CHECK_MSG(strstr(text, "rt_add") && strstr(text, "fill"), "%s", text);
        const char *row = strstr(text, "rt_add");
        unsigned long long calls = 0;
        CHECK(row && sscanf(row, "rt_add %llu", &calls) == 1 && calls == 3);
    }
    free(text);
    md_gpu_profile_reset(f.gpu);
    md_gpu_cmd_destroy(cmd);
    md_gpu_buffer_destroy(A);
    md_gpu_buffer_destroy(B);
    gpu_test_close(f.gpu);
}

static void count_log(void *user, md_log_level level, const char *msg)
{
    (void)level;
    (void)msg;
    ++*(int *)user;
}

/* Lie about an access (declare a write as a read) so the recorder skips a
 * needed barrier: synchronization validation must report the hazard. This
 * is what makes "zero validation messages" in the other tests mean
 * something. */
static void test_validation_catches_missing_barrier(void)
{
    md_ctx *ctx;
    if (md_ctx_create(&ctx) != MD_OK) return;
    int lines = 0;
    md_ctx_set_log(ctx, count_log, &lines);
    md_gpu_options opt;
    md_gpu_options_init(&opt);
    opt.validation = 1;
    fixture f = {0};
    md_status s = md_gpu_create(ctx, &opt, &f.gpu);
    CHECK_MSG(s == MD_OK, "validation layer unavailable: %s", md_ctx_error(ctx));
    if (s == MD_OK) {
        f.fill = gpu_test_kernel(f.gpu, "fill", 1, sizeof(fill_push), 64);
        f.add = gpu_test_kernel(f.gpu, "rt_add", 3, sizeof(add_push), 64);
        md_gpu_buffer *A, *B;
        CHECK(md_gpu_buffer_create(f.gpu, N * 4, 0, &A) == MD_OK);
        CHECK(md_gpu_buffer_create(f.gpu, N * 4, 0, &B) == MD_OK);
        md_gpu_cmd *cmd;
        CHECK(md_gpu_cmd_begin(f.gpu, &cmd) == MD_OK);
        fill_push p = {N, 1.0f};
        md_gpu_binding lie = {A, 0, 0, MD_GPU_READ};
        md_gpu_dispatch d = {.kernel = f.fill, .bindings = &lie, .push = &p, .groups = {N / 64, 1, 1}};
        CHECK(md_gpu_cmd_dispatch(cmd, &d) == MD_OK);
        CHECK(add(&f, cmd, A, 0, A, 0, B, 0, 1.0f, N) == MD_OK);
        CHECK(md_gpu_cmd_end(cmd) == MD_OK);
        CHECK(md_gpu_cmd_run(cmd) == MD_OK);
        CHECK_MSG(md_gpu_validation_count(f.gpu) > 0, "a RAW hazard without a barrier went unreported");
        CHECK(lines > 0);
        md_gpu_cmd_destroy(cmd);
        md_gpu_buffer_destroy(A);
        md_gpu_buffer_destroy(B);
        md_gpu_destroy(f.gpu);
    }
    md_ctx_destroy(ctx);
}

int main(void)
{
    md_ctx *ctx;
    if (md_ctx_create(&ctx) != MD_OK) return 1;
    fixture f;
    if (fixture_open(&f, ctx, NULL)) {
        test_barrier_policy(&f);
        test_replay(&f);
        test_copy(&f);
        test_bad_dispatch(&f);
    }
    gpu_test_close(f.gpu);
    test_split(ctx);
    test_profile(ctx);
    test_validation_catches_missing_barrier();
    md_ctx_destroy(ctx);
    return md_test_finish();
}
