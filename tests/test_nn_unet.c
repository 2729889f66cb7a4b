/* Golden test of the C U-Net: the tiny random-weight model of
 * tests/fixtures/unet/ (written by tools/train/export_fixture.py) run on the
 * CPU reference backend, the CPU backend's OpenBLAS convolutions and on
 * Vulkan (lavapipe, validation on) against
 * PyTorch's float64 output: the conditioning input planes, the embedding,
 * the conditional v and the unconditional v (null conditioning: no notes,
 * instrument 129).
 *
 * Tolerance: |c - ref| <= 1e-3 * max(1, |ref|) per element (fp32 through
 * ~25 layers against a float64 reference); the input planes are exact
 * copies and one-hot sums, held to 1e-6. Also checks that a model file
 * whose tensors disagree with its config is refused with MD_ERR_MODEL. */
#include <string.h>

#include "core/safetensors.h"
#include "unet_fixture.h"
#include "diffusion/sampler.h"
#include "nn/unet.h"
#include "nn/unet_denoiser.h"
#include "test_nn_common.h"


static md_st_file *io;

static const float *io_f32(const char *name, size_t want_numel)
{
    return unet_fixture_f32(io, name, want_numel);
}

static double compare(const float *got, const float *want, size_t count, double tol_rel, const char *what)
{
    double max_err = 0.0;
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < count; i++) {
        double err = fabs((double)got[i] - (double)want[i]);
        double lim = tol_rel * (fabs(want[i]) > 1.0 ? fabs(want[i]) : 1.0);
        if (!(err <= lim)) {
            if (!bad) first = i;
            bad++;
        }
        if (err > max_err || err != err) max_err = err;
    }
    CHECK_MSG(bad == 0, "%s: %zu of %zu out of tolerance (first [%zu] got %g want %g)", what, bad, count, first,
              bad ? (double)got[first] : 0.0, bad ? (double)want[first] : 0.0);
    printf("%-40s max abs err %.3e over %zu values\n", what, max_err, count);
    return max_err;
}

static void run_backend(md_nn *nn, const char *name)
{
    md_unet *u = NULL;
    md_status s = md_unet_load_file(nn, FIX "unet_tiny.safetensors", &u);
    CHECK_MSG(s == MD_OK, "%s: load: %s", name, md_ctx_error(nt.ctx));
    if (s != MD_OK) return;
    const md_unet_config *c = md_unet_get_config(u);
    CHECK(c->n_mels == 128 && c->base_channels == 8 && c->n_levels == 2 && c->attn_freq && c->norm_frame);
    const md_st_tensor *xt = md_st_find(io, "x_t");
    int n = xt ? (int)xt->shape[0] : 0, frames = xt ? (int)xt->shape[3] : 0;
    size_t plane = (size_t)n * 128 * (size_t)frames;
    const float *x_t = io_f32("x_t", plane), *harm = io_f32("harm", plane), *roll = io_f32("roll", plane),
                *onset = io_f32("onset", plane), *t = io_f32("t", (size_t)n);
    const float *want_in = io_f32("input", 5 * plane), *want_emb = io_f32("emb", (size_t)n * 16);
    const float *want_v = io_f32("v", plane), *want_vu = io_f32("v_uncond", plane);
    const md_st_tensor *inst = md_st_find(io, "instrument");
    CHECK(inst && inst->dtype == MD_ST_I32 && inst->numel == (size_t)n);
    if (!x_t || !harm || !roll || !onset || !t || !want_in || !want_emb || !want_v || !want_vu || !inst) {
        md_unet_destroy(u);
        return;
    }
    float *input = malloc(5 * plane * sizeof *input), *emb = malloc((size_t)n * 16 * sizeof *emb);
    float *v = malloc(plane * sizeof *v);
    if (!input || !emb || !v) exit(1);
    char what[96];

    CHECK(md_unet_input(u, n, frames, x_t, harm, roll, onset, input) == MD_OK);
    snprintf(what, sizeof what, "%s: input planes", name);
    compare(input, want_in, 5 * plane, 1e-6, what);
    CHECK(md_unet_embed(u, n, t, (const int *)inst->data, emb) == MD_OK);
    snprintf(what, sizeof what, "%s: embedding", name);
    compare(emb, want_emb, (size_t)n * 16, 1e-4, what);
    s = md_unet_forward(u, n, frames, input, emb, v);
    CHECK_MSG(s == MD_OK, "%s: forward: %s", name, md_ctx_error(nt.ctx));
    snprintf(what, sizeof what, "%s: v (conditional)", name);
    compare(v, want_v, plane, 1e-3, what);

    /* unconditional branch: no notes, instrument 129, same buffers reused */
    int null_ids[8];
    for (int i = 0; i < n && i < 8; i++) null_ids[i] = 129;
    CHECK(md_unet_input(u, n, frames, x_t, NULL, NULL, NULL, input) == MD_OK);
    CHECK(md_unet_embed(u, n, t, null_ids, emb) == MD_OK);
    s = md_unet_forward(u, n, frames, input, emb, v);
    CHECK_MSG(s == MD_OK, "%s: forward: %s", name, md_ctx_error(nt.ctx));
    snprintf(what, sizeof what, "%s: v (unconditional)", name);
    compare(v, want_vu, plane, 1e-3, what);

    /* usage errors */
    CHECK(md_unet_forward(u, n, frames + 1, input, emb, v) == MD_ERR_USAGE);
    int bad_id = 130;
    CHECK(md_unet_embed(u, 1, t, &bad_id, emb) == MD_ERR_USAGE);
    free(input);
    free(emb);
    free(v);
    md_unet_destroy(u);
}

/* Three DDIM steps (eta 0, guidance 1, t = 1, 2/3, 1/3 -> 0) from x_T = x_t
 * with the fixture's conditioning, as tools/train/diffusion.py's
 * ddim_sample: checks the network at other noise levels and the chain of
 * steps against PyTorch's "ddim" output. */
static void run_ddim(md_nn *nn, const char *name)
{
    md_unet *u = NULL;
    if (md_unet_load_file(nn, FIX "unet_tiny.safetensors", &u) != MD_OK) {
        CHECK_MSG(0, "%s: load: %s", name, md_ctx_error(nt.ctx));
        return;
    }
    int n = 2, frames = 16, steps = 3;
    size_t plane = (size_t)n * 128 * (size_t)frames;
    const float *x_t = io_f32("x_t", plane), *harm = io_f32("harm", plane), *roll = io_f32("roll", plane),
                *onset = io_f32("onset", plane), *want = io_f32("ddim", plane);
    const md_st_tensor *inst = md_st_find(io, "instrument");
    float *x = malloc(plane * sizeof *x), *in = malloc(5 * plane * sizeof *in), *v = malloc(plane * sizeof *v);
    float emb[2 * 16];
    if (!x || !in || !v) exit(1);
    if (x_t && harm && roll && onset && want && inst) {
        memcpy(x, x_t, plane * sizeof *x);
        md_status s = MD_OK;
        for (int i = 0; i < steps && s == MD_OK; i++) {
            double t = 1.0 - (double)i / steps, ts = 1.0 - (double)(i + 1) / steps, a, sg, as, ss;
            float tt[2] = {(float)t, (float)t};
            md_schedule_alpha_sigma(t, &a, &sg);
            md_schedule_alpha_sigma(ts, &as, &ss);
            s = md_unet_input(u, n, frames, x, harm, roll, onset, in);
            if (s == MD_OK) s = md_unet_embed(u, n, tt, (const int *)inst->data, emb);
            if (s == MD_OK) s = md_unet_forward(u, n, frames, in, emb, v);
            for (size_t k = 0; s == MD_OK && k < plane; k++) {
                double x0 = a * x[k] - sg * v[k], eps = sg * x[k] + a * v[k];
                x[k] = (float)(as * x0 + ss * eps);
            }
        }
        CHECK_MSG(s == MD_OK, "%s: ddim: %s", name, md_ctx_error(nt.ctx));
        char what[64];
        snprintf(what, sizeof what, "%s: 3 DDIM steps", name);
        compare(x, want, plane, 1e-3, what);
    }
    free(x);
    free(in);
    free(v);
    md_unet_destroy(u);
}

/* base: a config with 3 groups (invalid: 8 channels); with 4 it is valid.
 * The optional keys (unet.h) default to what files without them mean, are
 * read when present, and are refused, naming the key, when malformed. */
static void test_optional_keys(const char *base)
{
    char ok[1024], cfg[1200];
    snprintf(ok, sizeof ok, "%s", base);
    char *g = strstr(ok, "\"groups\":3");
    if (!g) { CHECK(g != NULL); return; }
    g[9] = '4';
    md_unet_config c;
    CHECK(md_unet_config_parse(nt.ctx, ok, "x.safetensors", &c) == MD_OK);
    CHECK(c.cond_notebank == 0 && c.t_max == 1.0f && fabsf(c.cfg_dropout - 0.1f) < 1e-7f);
    ok[strlen(ok) - 1] = '\0'; /* drop the closing brace */
    snprintf(cfg, sizeof cfg, "%s,\"cond_image\":\"notebank\",\"t_max\":0.5,\"cfg_dropout\":0}", ok);
    CHECK(md_unet_config_parse(nt.ctx, cfg, "x.safetensors", &c) == MD_OK);
    CHECK(c.cond_notebank == 1 && c.t_max == 0.5f && c.cfg_dropout == 0.0f);
    static const char *bad[] = {",\"cond_image\":\"piano\"}", ",\"t_max\":0}", ",\"t_max\":\"half\"}",
                                ",\"cfg_dropout\":2}"};
    static const char *key[] = {"cond_image", "t_max", "t_max", "cfg_dropout"};
    for (int i = 0; i < 4; i++) {
        snprintf(cfg, sizeof cfg, "%s%s", ok, bad[i]);
        CHECK_MSG(md_unet_config_parse(nt.ctx, cfg, "x.safetensors", &c) == MD_ERR_MODEL, "%s", bad[i]);
        CHECK_MSG(strstr(md_ctx_error(nt.ctx), key[i]) != NULL, "message: %s", md_ctx_error(nt.ctx));
    }
    md_unet *u = NULL; /* the refiner fixture loads and says so */
    CHECK(md_unet_load_file(nt.cpu, FIX "unet_tiny_refiner.safetensors", &u) == MD_OK);
    if (u) CHECK(md_unet_get_config(u)->cond_notebank == 1 && md_unet_get_config(u)->t_max == 0.5f);
    md_unet_destroy(u);
}

/* The io fixture is a safetensors file but not a model: refused as such. */
static void test_refusals(void)
{
    md_unet *u = NULL;
    md_status s = md_unet_load_file(nt.cpu, FIX "unet_tiny_io.safetensors", &u);
    CHECK(s == MD_ERR_MODEL && u == NULL);
    CHECK_MSG(strstr(md_ctx_error(nt.ctx), "unet_tiny_io.safetensors") != NULL, "message: %s", md_ctx_error(nt.ctx));
    s = md_unet_load_file(nt.cpu, FIX "no_such_model.safetensors", &u);
    CHECK(s == MD_ERR_MODEL && u == NULL);

    md_unet_config c;
    const char *cfg = "{\"arch\":\"melodiff-unet\",\"prediction\":\"v\",\"schedule\":\"cosine\",\"n_mels\":128,"
                      "\"n_pitches\":128,\"in_channels\":5,\"out_channels\":1,\"base_channels\":8,"
                      "\"channel_mults\":[1,2],\"res_blocks\":1,\"groups\":3,\"emb_dim\":16,\"n_instruments\":130,"
                      "\"attn\":\"freq\",\"attn_heads\":2,\"norm\":\"frame\",\"norm_eps\":1e-5,\"time_scale\":1000,"
                      "\"data_mean\":-6,\"data_std\":3}";
    CHECK(md_unet_config_parse(nt.ctx, cfg, "x.safetensors", &c) == MD_ERR_MODEL); /* 8 % 3 groups */
    CHECK_MSG(strstr(md_ctx_error(nt.ctx), "groups") != NULL, "message: %s", md_ctx_error(nt.ctx));
    CHECK(md_unet_config_parse(nt.ctx, "{\"arch\":\"other\"}", "x.safetensors", &c) == MD_ERR_MODEL);
    CHECK(md_unet_config_parse(nt.ctx, "not json", "x.safetensors", &c) == MD_ERR_MODEL);
    test_optional_keys(cfg);

    /* A model whose file lacks one tensor its config implies. */
    md_st_file *m = NULL;
    CHECK(md_st_open(nt.ctx, FIX "unet_tiny.safetensors", MD_ERR_MODEL, (size_t)1 << 30, &m) == MD_OK);
    md_st_writer *w = NULL;
    CHECK(md_st_writer_create(nt.ctx, &w) == MD_OK);
    static const char *keys[] = {"kind", "format_version", "config", "mel_contract", "provenance"};
    for (size_t i = 0; m && w && i < sizeof keys / sizeof keys[0]; i++)
        if (md_st_meta(m, keys[i])) CHECK(md_st_writer_meta(nt.ctx, w, keys[i], md_st_meta(m, keys[i])) == MD_OK);
    for (size_t i = 0; m && w && i < md_st_count(m); i++) {
        const md_st_tensor *t = md_st_at(m, i);
        if (!strcmp(t->name, "mid2.conv2.bias")) continue;
        CHECK(md_st_writer_add(nt.ctx, w, t->name, t->dtype, t->ndim, t->shape, t->data) == MD_OK);
    }
    unsigned char *bytes = NULL;
    size_t len = 0;
    md_st_file *cut = NULL;
    if (w && md_st_writer_serialize(nt.ctx, w, &bytes, &len) == MD_OK &&
        md_st_open_memory(nt.ctx, bytes, len, "cut.safetensors", MD_ERR_MODEL, &cut) == MD_OK) {
        s = md_unet_load(nt.cpu, cut, &u);
        CHECK(s == MD_ERR_MODEL && u == NULL);
        CHECK_MSG(strstr(md_ctx_error(nt.ctx), "mid2.conv2.bias") != NULL, "message: %s", md_ctx_error(nt.ctx));
    } else {
        CHECK_MSG(0, "could not build the truncated model: %s", md_ctx_error(nt.ctx));
    }
    md_st_close(cut);
    free(bytes);
    md_st_writer_destroy(w);
    md_st_close(m);
}

/* The renderer's view: predict_v for sample 0 of the fixture through the
 * md_denoiser interface, conditional and unconditional. */
static void run_denoiser(const char *backend)
{
    md_unet_denoiser_opts o;
    md_unet_denoiser_opts_init(&o);
    o.model_path = FIX "unet_tiny.safetensors";
    o.backend = backend;
    o.precision = MD_NN_PRECISION_FP32; /* as run_backend: the fp32 path against the reference */
    md_denoiser den;
    md_status s = md_unet_denoiser_open(nt.ctx, &o, &den);
    CHECK_MSG(s == MD_OK, "denoiser %s: %s", backend, md_ctx_error(nt.ctx));
    if (s != MD_OK) return;
    CHECK(!strcmp(den.backend, backend) && den.frame_multiple == 2 && strlen(den.model_sha256) == 64);
    CHECK(den.mc.n_mels == 128 && den.data_std == 3.0f);
    size_t frames = 16, plane = 128 * frames;
    const float *x_t = io_f32("x_t", 2 * plane), *harm = io_f32("harm", 2 * plane);
    const float *roll = io_f32("roll", 2 * plane), *onset = io_f32("onset", 2 * plane);
    const float *t = io_f32("t", 2), *want_v = io_f32("v", 2 * plane), *want_vu = io_f32("v_uncond", 2 * plane);
    float *v = malloc(plane * sizeof *v);
    if (!v) exit(1);
    if (x_t && harm && roll && onset && t && want_v && want_vu) {
        md_cond cond = unet_fixture_cond(harm, roll, onset, frames, 5);
        char what[64];
        s = den.predict_v(den.impl, nt.ctx, x_t, frames, t[0], &cond, 1, v);
        CHECK_MSG(s == MD_OK, "predict_v: %s", md_ctx_error(nt.ctx));
        snprintf(what, sizeof what, "denoiser %s: v", backend);
        compare(v, want_v, plane, 1e-3, what);
        s = den.predict_v(den.impl, nt.ctx, x_t, frames, t[0], NULL, 0, v);
        CHECK_MSG(s == MD_OK, "predict_v: %s", md_ctx_error(nt.ctx));
        snprintf(what, sizeof what, "denoiser %s: v unconditional", backend);
        compare(v, want_vu, plane, 1e-3, what);
        /* an odd length is padded to the frame multiple and cut back */
        CHECK(den.predict_v(den.impl, nt.ctx, x_t, 15, t[0], &cond, 1, v) == MD_ERR_USAGE); /* cond is 16 frames */
        cond.n_frames = 15;
        CHECK(den.predict_v(den.impl, nt.ctx, x_t, 15, t[0], &cond, 1, v) == MD_OK);
        int finite = 1;
        for (size_t i = 0; i < 128 * 15; i++) finite &= isfinite(v[i]);
        CHECK(finite);
    }
    free(v);
    md_denoiser_destroy(&den);
}

/* Without a Vulkan loader, "auto" falls back to the CPU backend and
 * "vulkan" is a GPU error; an unknown backend name is a usage error. */
static void test_backend_choice(void)
{
    md_unet_denoiser_opts o;
    md_unet_denoiser_opts_init(&o);
    o.model_path = FIX "unet_tiny.safetensors";
    md_denoiser den;
    o.backend = "metal";
    CHECK(md_unet_denoiser_open(nt.ctx, &o, &den) == MD_ERR_USAGE);
    /* auto passes over a CPU Vulkan device (lavapipe here) for the fast CPU
     * backend, unless the device is named; cpu-ref is the reference */
    const char *want_auto = md_gpu_get_caps(nt.gpu)->info.type == MD_GPU_DEVICE_CPU ? "cpu" : "vulkan";
    o.backend = "auto";
    CHECK(md_unet_denoiser_open(nt.ctx, &o, &den) == MD_OK && !strcmp(den.backend, want_auto));
    md_denoiser_destroy(&den);
    o.device_index = 0;
    CHECK(md_unet_denoiser_open(nt.ctx, &o, &den) == MD_OK && !strcmp(den.backend, "vulkan"));
    md_denoiser_destroy(&den);
    o.device_index = -1;
    o.backend = "cpu-ref";
    CHECK(md_unet_denoiser_open(nt.ctx, &o, &den) == MD_OK && !strcmp(den.device, "cpu reference"));
    md_denoiser_destroy(&den);
    setenv("MELODIFF_VULKAN_LIBRARY", "/nonexistent/libvulkan.so.1", 1);
    o.backend = "vulkan";
    CHECK(md_unet_denoiser_open(nt.ctx, &o, &den) == MD_ERR_GPU);
    o.backend = "auto";
    md_ctx_set_log_level(nt.ctx, MD_LOG_ERROR); /* the fallback warning is expected */
    md_status s = md_unet_denoiser_open(nt.ctx, &o, &den);
    CHECK_MSG(s == MD_OK, "auto without Vulkan: %s", md_ctx_error(nt.ctx));
    if (s == MD_OK) {
        CHECK(!strcmp(den.backend, "cpu"));
        md_denoiser_destroy(&den);
    }
    md_ctx_set_log_level(nt.ctx, MD_LOG_WARN);
    unsetenv("MELODIFF_VULKAN_LIBRARY");
}

int main(void)
{
    nt_setup();
    if (md_st_open(nt.ctx, FIX "unet_tiny_io.safetensors", MD_ERR_INPUT, (size_t)1 << 30, &io) != MD_OK) {
        fprintf(stderr, "fixture: %s\n", md_ctx_error(nt.ctx));
        return 1;
    }
    /* The golden comparison is of the fp32 path: a discrete GPU's AUTO
     * precision is fp16 weights (~1e-3 off, test_nn_unet_fp16's subject). */
    if (nt.dev) md_nn_set_precision(nt.dev, MD_NN_PRECISION_FP32);
    run_backend(nt.cpu, "cpu");
    run_backend(nt.dev, "vulkan");
    run_ddim(nt.cpu, "cpu");
    run_ddim(nt.dev, "vulkan");
    md_nn *fast = NULL; /* the CPU backend's OpenBLAS convolutions, same tolerances */
    CHECK(md_nn_create_cpu(nt.ctx, &fast) == MD_OK);
    md_nn_set_cpu_fast(fast, 1);
    run_backend(fast, "cpu-blas");
    run_ddim(fast, "cpu-blas");
    md_nn_destroy(fast);
    run_denoiser("cpu");
    run_denoiser("cpu-ref");
    run_denoiser("vulkan");
    test_refusals();
    test_backend_choice();
    md_st_close(io);
    return nt_finish();
}
