/* Tiling the U-Net forward in time (src/nn/unet_tiles.c) with the tiny
 * fixture model of tests/fixtures/unet/, on the CPU reference backend and
 * on Vulkan (lavapipe, validation on):
 *
 *  - the receptive-field radius computed from the graph bounds, and is
 *    reached by, the output frames a one-frame change of the input moves
 *    (CPU); for the default training config it is the +-205 frames
 *    PyTorch shows;
 *  - with a forced small activation limit, a batch-2, 202-frame forward runs
 *    as 5 tiles (core 48: T is not a multiple of the core and the last tile
 *    is short) and equals the untiled forward: |tiled - untiled| <=
 *    1e-5 * max(1, |untiled|) per element (each output column sums the same
 *    terms in the same order either way, so this is near bit-exact); the
 *    workspace is planned once and, on the GPU, each tile length recorded
 *    once, and a second call plans and records nothing;
 *  - the smallest tile (core = frame_multiple) still works, a limit below it
 *    is MD_ERR_LIMIT naming the tile, and so is a model with global norm. */
#include <string.h>

#include "nn/unet.h"
#include "nn/unet_internal.h"
#include "test_nn_common.h"

#define FIX MD_SOURCE_DIR "/tests/fixtures/unet/"
#define TILE_TOL 1e-5

typedef struct case_data {
    int n, frames;
    float *input, *emb;
} case_data;

/* Random network input and embedding for n x frames (conditional sample 0,
 * unconditional sample 1). */
static case_data make_case(md_unet *u, int n, int frames)
{
    case_data d = {n, frames, NULL, NULL};
    size_t plane = (size_t)n * 128 * (size_t)frames;
    float *x = malloc(plane * sizeof *x), *harm = malloc(plane * sizeof *harm);
    float *roll = malloc(plane * sizeof *roll), *onset = malloc(plane * sizeof *onset);
    d.input = malloc(5 * plane * sizeof *d.input);
    d.emb = malloc((size_t)n * 16 * sizeof *d.emb);
    if (!x || !harm || !roll || !onset || !d.input || !d.emb) exit(1);
    for (size_t i = 0; i < plane; i++) {
        x[i] = nt_rand();
        harm[i] = nt_rand() * 0.5f + 0.5f;
        roll[i] = nt_rand() > 0.9f;
        onset[i] = nt_rand() > 0.97f;
    }
    float t[2] = {0.3f, 0.8f};
    int inst[2] = {5, 129};
    CHECK(md_unet_input(u, n, frames, x, harm, roll, onset, d.input) == MD_OK);
    CHECK(md_unet_embed(u, n, t, inst, d.emb) == MD_OK);
    free(x);
    free(harm);
    free(roll);
    free(onset);
    return d;
}

static void free_case(case_data *d)
{
    free(d->input);
    free(d->emb);
}

static float *forward(md_unet *u, const case_data *d, const char *what)
{
    float *v = malloc((size_t)d->n * 128 * (size_t)d->frames * sizeof *v);
    if (!v) exit(1);
    md_status s = md_unet_forward(u, d->n, d->frames, d->input, d->emb, v);
    CHECK_MSG(s == MD_OK, "%s: forward: %s", what, md_ctx_error(nt.ctx));
    return v;
}

static void compare(const float *got, const float *want, size_t count, const char *what)
{
    double max_err = 0.0;
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < count; i++) {
        double err = fabs((double)got[i] - (double)want[i]);
        double lim = TILE_TOL * (fabs(want[i]) > 1.0 ? fabs(want[i]) : 1.0);
        if (!(err <= lim) && !bad++) first = i;
        if (err > max_err || err != err) max_err = err;
    }
    CHECK_MSG(bad == 0, "%s: %zu of %zu out of tolerance (first [%zu] got %g want %g)", what, bad, count, first,
              bad ? (double)got[first] : 0.0, bad ? (double)want[first] : 0.0);
    printf("%-44s max abs err %.3e over %zu values\n", what, max_err, count);
}

/* The bytes of the largest activation of an n x frames pass. */
static size_t pass_bytes(md_unet *u, int n, int frames)
{
    return md_unet_largest_activation(u, n, frames) * sizeof(float);
}

/* Perturbs one input frame (all five channels) at each phase modulo
 * frame_multiple and finds the output frames that move at all. */
static void test_receptive_field(void)
{
    md_unet *u = NULL;
    if (md_unet_load_file(nt.cpu, FIX "unet_tiny.safetensors", &u) != MD_OK) {
        CHECK_MSG(0, "load: %s", md_ctx_error(nt.ctx));
        return;
    }
    const md_unet_config *c = md_unet_get_config(u);
    int r = md_unet_receptive_radius(c), frames = 4 * r + 4 * c->frame_multiple;
    printf("tiny fixture: receptive radius %d frames (frame multiple %d)\n", r, c->frame_multiple);
    CHECK(r > 0);
    case_data d = make_case(u, 1, frames);
    float *base = forward(u, &d, "receptive field base");
    int reached = 0;
    for (int p = 0; p < c->frame_multiple; p++) {
        int j = frames / 2 + p;
        case_data e = make_case(u, 1, frames);
        memcpy(e.input, d.input, 5 * 128 * (size_t)frames * sizeof *e.input);
        memcpy(e.emb, d.emb, 16 * sizeof *e.emb);
        for (int ch = 0; ch < 5; ch++)
            for (int m = 0; m < 128; m++) e.input[((size_t)ch * 128 + (size_t)m) * (size_t)frames + (size_t)j] += 5.0f;
        float *v = forward(u, &e, "receptive field perturbed");
        int lo = frames, hi = -1;
        for (int m = 0; m < 128; m++)
            for (int t = 0; t < frames; t++)
                if (v[(size_t)m * (size_t)frames + (size_t)t] != base[(size_t)m * (size_t)frames + (size_t)t]) {
                    if (t < lo) lo = t;
                    if (t > hi) hi = t;
                }
        printf("input frame %d moves output frames %d .. %d (radius %d)\n", j, lo, hi, r);
        CHECK_MSG(hi >= 0 && lo >= j - r && hi <= j + r, "frame %d moved outputs %d..%d, radius %d", j, lo, hi, r);
        if (j - lo > reached) reached = j - lo;
        if (hi - j > reached) reached = hi - j;
        free(v);
        free_case(&e);
    }
    /* Tight, not just safe: some phase reaches the full radius. */
    CHECK_MSG(reached == r, "largest reach %d, computed radius %d", reached, r);
    free(base);
    free_case(&d);
    md_unet_destroy(u);

    /* The default training config (model.make_config(): 4 levels, 2 res
     * blocks): in PyTorch (float64, random weights, T = 512) a change to
     * input frame 260 moves outputs 62 .. 465, i.e. 205 frames to the right,
     * and no input frame reaches further. */
    md_unet_config def = {.n_levels = 4, .res_blocks = 2, .frame_multiple = 8};
    CHECK_MSG(md_unet_receptive_radius(&def) == 205, "default config radius %d", md_unet_receptive_radius(&def));
}

/* Distinct tile lengths of a plan, by the rule docs/ops.md states. */
static int distinct_lengths(const md_unet_tiling *t, int frames)
{
    int len[64], n = 0;
    for (int k = 0; k < t->n_tiles; k++) {
        int cs = k * t->core, ce = cs + t->core < frames ? cs + t->core : frames;
        int ts = cs - t->halo > 0 ? cs - t->halo : 0, te = ce + t->halo < frames ? ce + t->halo : frames, seen = 0;
        for (int i = 0; i < n; i++) seen |= len[i] == te - ts;
        if (!seen && n < 64) len[n++] = te - ts;
    }
    return n;
}

static void test_tiled_equals_untiled(md_nn *nn, const char *name)
{
    md_unet *u = NULL;
    if (md_unet_load_file(nn, FIX "unet_tiny.safetensors", &u) != MD_OK) {
        CHECK_MSG(0, "%s: load: %s", name, md_ctx_error(nt.ctx));
        return;
    }
    const int n = 2, frames = 202, core = 48;
    case_data d = make_case(u, n, frames);
    md_unet_tiling t;
    CHECK(md_unet_plan_tiles(u, n, frames, &t) == MD_OK && !t.tiled && t.n_tiles == 1);
    float *whole = forward(u, &d, "untiled");

    /* A limit that fits a 48-frame core with its two halos and no more. */
    md_unet_set_max_tensor_bytes(u, pass_bytes(u, n, core + 2 * t.halo));
    md_status s = md_unet_plan_tiles(u, n, frames, &t);
    CHECK_MSG(s == MD_OK, "%s: plan: %s", name, md_ctx_error(nt.ctx));
    printf("%s: %d tiles, core %d, halo %d (radius %d), longest pass %d frames, %llu of %llu bytes\n", name,
           t.n_tiles, t.core, t.halo, t.radius, t.longest, (unsigned long long)t.pass_bytes,
           (unsigned long long)t.limit_bytes);
    CHECK(t.tiled && t.core == core && t.n_tiles == 5 && frames % t.core != 0 && t.pass_bytes <= t.limit_bytes);
    CHECK(t.halo >= t.radius && t.halo % md_unet_get_config(u)->frame_multiple == 0);
    unsigned long plans = u->n_plans, records = u->n_records;
    float *tiled = forward(u, &d, "tiled");
    char what[96];
    snprintf(what, sizeof what, "%s: tiled vs untiled", name);
    compare(tiled, whole, (size_t)n * 128 * frames, what);
    CHECK_MSG(u->n_plans == plans + 1, "%s: %lu plans for one tiled forward", name, u->n_plans - plans);
    unsigned long want_records = md_nn_on_gpu(nn) ? (unsigned long)distinct_lengths(&t, frames) : 0;
    CHECK_MSG(u->n_records - records == want_records, "%s: %lu recordings, want %lu", name, u->n_records - records,
              want_records);
    /* Same shape again: nothing planned or recorded, same answer. */
    plans = u->n_plans;
    records = u->n_records;
    float *again = forward(u, &d, "tiled again");
    CHECK(u->n_plans == plans && u->n_records == records);
    CHECK(!memcmp(again, tiled, (size_t)n * 128 * frames * sizeof *again));
    free(again);
    free(tiled);
    free(whole);
    free_case(&d);
    md_unet_destroy(u);
}

/* The smallest tile works; one byte less is a clear MD_ERR_LIMIT; a model
 * normalised over the whole segment is never tiled. */
static void test_limits(void)
{
    md_unet *u = NULL;
    if (md_unet_load_file(nt.cpu, FIX "unet_tiny.safetensors", &u) != MD_OK) {
        CHECK_MSG(0, "load: %s", md_ctx_error(nt.ctx));
        return;
    }
    int fm = md_unet_get_config(u)->frame_multiple, frames = 100;
    case_data d = make_case(u, 1, frames);
    float *whole = forward(u, &d, "untiled");
    md_unet_tiling t;
    CHECK(md_unet_plan_tiles(u, 1, frames, &t) == MD_OK);
    size_t least = pass_bytes(u, 1, 2 * t.halo + fm);
    md_unet_set_max_tensor_bytes(u, least);
    CHECK(md_unet_plan_tiles(u, 1, frames, &t) == MD_OK && t.tiled && t.core == fm && t.n_tiles == frames / fm);
    float *tiled = forward(u, &d, "smallest tiles");
    compare(tiled, whole, 128 * (size_t)frames, "cpu: smallest tiles vs untiled");

    md_unet_set_max_tensor_bytes(u, least - 1);
    CHECK(md_unet_forward(u, 1, frames, d.input, d.emb, tiled) == MD_ERR_LIMIT);
    const char *msg = md_ctx_error(nt.ctx);
    printf("refused: %s\n", msg);
    CHECK_MSG(strstr(msg, "no time tile fits") && strstr(msg, "limit"), "message: %s", msg);
    /* a length that fits whole still runs under the same limit */
    CHECK(md_unet_forward(u, 1, 2 * fm, d.input, d.emb, tiled) == MD_OK);

    md_unet_set_max_tensor_bytes(u, pass_bytes(u, 1, frames / 2));
    u->cfg.norm_frame = 0; /* as if the file said "norm": "global" */
    CHECK(md_unet_forward(u, 1, frames, d.input, d.emb, tiled) == MD_ERR_LIMIT);
    msg = md_ctx_error(nt.ctx);
    CHECK_MSG(strstr(msg, "cannot be cut into time tiles") != NULL, "message: %s", msg);
    free(tiled);
    free(whole);
    free_case(&d);
    md_unet_destroy(u);
}

int main(void)
{
    nt_setup();
    test_receptive_field();
    test_tiled_equals_untiled(nt.cpu, "cpu");
    test_tiled_equals_untiled(nt.dev, "vulkan");
    test_limits();
    return nt_finish();
}
