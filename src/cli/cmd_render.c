/* `melodiff render MIDI -o OUT`: stems and a mix through the diffusion model. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audio/griffinlim_gpu.h"
#include "cli/cli.h"
#include "vocoder/vocoder_stream.h"
#include "nn/unet_denoiser.h"
#include "render/render.h"
#include "notebank/notebank.h"

#define DEFAULT_MODEL_NAME "unet.safetensors"
#define DEFAULT_REFINER_NAME "refiner.safetensors"
#define DEFAULT_NOTEBANK_NAME "notebank.safetensors"

/* A refiner's defaults: start time, sampler and steps (decided by
 * measurement: docs/training.md, "The refiner"). */
#define REFINE_T 0.1f
#define REFINE_SAMPLER MD_SAMPLER_DDIM
#define REFINE_STEPS 1

static void usage(FILE *f)
{
    fprintf(f,
            "usage: melodiff render MIDI -o OUTDIR [options]\n\n"
            "Renders every stem of a MIDI file with the diffusion model and writes\n"
            "  OUTDIR/stems/NN-name.wav  one per stem, the full song length, sample-aligned\n"
            "  OUTDIR/stems/NN-name.png  its spectrogram\n"
            "  OUTDIR/mix.wav, mix.png   the stems summed, loudness-normalised, never clipping\n"
            "  OUTDIR/render.json        what was done: hashes, settings, device, times, loudness\n"
            "Stems carry the mix gain, so they sum to the mix in a DAW.\n\n"
            "model and device:\n"
            "  -m, --model FILE      model file (default: $MELODIFF_MODEL, else models/%s\n"
            "                        here, else the installed models directory; but with a note bank\n"
            "                        and --prior left alone, the refiner models/%s if shipped)\n"
            "      --backend B       vulkan | cpu | cpu-ref | auto (default auto: a Vulkan GPU when one\n"
            "                        opens, else cpu; lavapipe counts as no GPU unless --device names\n"
            "                        it: cpu, OpenBLAS convolutions, is ~9x faster on the same cores;\n"
            "                        cpu-ref is the readable reference the shaders are tested against)\n"
            "      --device N        Vulkan device index (see 'melodiff devices'; also $MELODIFF_DEVICE)\n"
            "      --jobs N          work on N stems at once, one core each (default: one per core, at\n"
            "                        most 8): the CPU backend samples and vocodes N stems side by side;\n"
            "                        Vulkan samples a group of stems (--batch) on the device, then\n"
            "                        vocodes N of them side by side. The files do not depend on N\n"
            "      --batch N         sample N stems in lockstep, one network pass for all of them\n"
            "                        (1..%d; default: 8 on a GPU, 1 on the CPU backend and lavapipe,\n"
            "                        where it does not pay). Each stem keeps its own noise: the files\n"
            "                        match --batch 1 up to float rounding\n"
            "      --precision P     fp32 | fp16 | auto: U-Net weight storage (default auto: fp16 on GPUs\n"
            "                        with 16-bit storage, fp32 on CPU devices; fp16 falls back to fp32\n"
            "                        where unsupported; render.json records what was used)\n"
            "where the stems come from:\n"
            "      --prior P         0 | T | off. Every stem is drawn from the note bank, a measured\n"
            "                        model of each instrument's notes (docs/notebank.md); 0: that drawing\n"
            "                        is the stem, no model pass. T in (0, 1]: the diffusion model refines\n"
            "                        the drawing from noise level T (shallow diffusion, --steps steps).\n"
            "                        off: the model samples from noise alone. Default: the refiner's own\n"
            "                        T (min(%.1f, its t_max)) with a refiner, else 0; off with no bank\n"
            "      --notebank FILE   note bank (default: $MELODIFF_NOTEBANK, else models/%s\n"
            "                        here, else the installed models directory)\n"
            "sampling (the diffusion model, with --prior off or T):\n"
            "      --sampler S       dpmpp2m | ddim (default dpmpp2m; a refiner: ddim)\n"
            "      --steps N         sampler steps (default 8; a refiner: %d)\n"
            "      --guidance G      classifier-free guidance weight, 1 = none (default 1.5)\n"
            "      --guidance-interval LO,HI\n"
            "                        guide only the steps at noise times t in [LO, HI] (t runs from 1,\n"
            "                        pure noise, to 0); the others skip the unconditional pass\n"
            "                        (default 0.55,1: at 8 steps the first 4); 'all': every step\n"
            "      --seed S          random seed (default 0); same seed, same files\n"
            "      --segment-frames N, --overlap N\n"
            "                        long songs are sampled in segments of N mel frames\n"
            "                        (default 256, about 3 s) overlapping by N (default 32)\n"
            "      --gate S          the score gate: a stem is silent where none of its notes sounds\n"
            "                        or still rings (its instrument's release, measured from the\n"
            "                        SoundFont the model learnt, plus S seconds; default 0.25): such\n"
            "                        segments skip the model, other frames fade out; 'off': no gate\n"
            "score:\n"
            "      --stems LIST      render only these stems: 1-based numbers or names, comma-separated\n"
            "      --group G         track | program: one stem per (track, program) or per program\n"
            "      --max-seconds S   refuse songs longer than S seconds (default 3600)\n"
            "      --seconds S       render only the first S seconds (a preview)\n"
            "vocoder and output:\n"
            "      --vocoder V       gl: Griffin-Lim, the only one until a neural vocoder ships\n"
            "      --iters N, --momentum M, --init zeros|random|pghi\n"
            "      --gl-chunk N      Griffin-Lim settings as for 'melodiff invert'\n"
            "      --threads N       split each Griffin-Lim iteration over N threads (default 1: the\n"
            "                        files then do not depend on the machine's core count)\n"
            "      --gl-device D     auto | cpu | gpu: where the vocoder iterates, Griffin-Lim and mel\n"
            "                        inversion (default auto: on the model's Vulkan device when that\n"
            "                        is a GPU, else on the CPU, which is far faster than lavapipe;\n"
            "                        gpu: the --device one, even lavapipe). Both converge alike;\n"
            "                        files differ in rounding\n"
            "      --rate R          44100 | 48000 (default 48000)\n"
            "      --format F        wav16 | wav24 | wav32f | flac (default wav24)\n"
            "      --lufs L          mix loudness (default -16 LUFS); 'keep' leaves the level alone\n"
            "      --limit-db D      to reach it, a look-ahead limiter shared by the mix and every stem\n"
            "                        may take up to D dB off the loudest peak (default 15; 0: no\n"
            "                        limiter, the gain then stops where the peak reaches -1 dBTP)\n"
            "  -f, --force           replace an existing render in OUTDIR\n"
            "  -q, --quiet           errors only;   -v, --verbose  more detail\n"
            "      --json            print render.json to stdout when done\n"
            "  -h, --help            this text\n\n"
            "exit codes: 2 usage, 3 bad MIDI file or song too long, 4 model file problem, 5 GPU problem\n",
            DEFAULT_MODEL_NAME, DEFAULT_REFINER_NAME, MD_RENDER_MAX_BATCH, (double)REFINE_T, DEFAULT_NOTEBANK_NAME, REFINE_STEPS);
}

#define PRIOR_OFF (-1.0)
#define PRIOR_AUTO (-2.0)

typedef struct cli_state {
    md_render_opts ro;
    md_unet_denoiser_opts uo;
    const char *model;
    int verbose, quiet, json, tty;
    int jobs;               /* --jobs; 0: one per core (at most DEFAULT_MAX_JOBS) */
    const char *gl_device;  /* --gl-device: "auto" (NULL), "cpu" or "gpu" */
    double prior_t;         /* --prior: the shallow start time in [0, 1], PRIOR_OFF or PRIOR_AUTO */
    const char *notebank;   /* --notebank */
    int guidance_set, steps_set, sampler_set; /* --guidance, --steps, --sampler were given */
    double t0;
} cli_state;

enum { O_BACKEND = 256, O_DEVICE, O_SAMPLER, O_STEPS, O_GUIDANCE, O_SEED, O_SEG, O_OVERLAP, O_STEMS,
       O_GROUP, O_MAXSEC, O_ITERS, O_MOMENTUM, O_INIT, O_RATE, O_FORMAT, O_LUFS, O_JSON, O_PREVIEW, O_GLCHUNK,
       O_PRECISION, O_LIMIT, O_VOCODER, O_THREADS, O_JOBS, O_BATCH, O_GATE, O_GLDEV, O_GINT, O_PRIOR,
       O_NOTEBANK };

static const struct option long_opts[] = {
    {"output", required_argument, 0, 'o'}, {"model", required_argument, 0, 'm'},
    {"backend", required_argument, 0, O_BACKEND}, {"device", required_argument, 0, O_DEVICE},
    {"sampler", required_argument, 0, O_SAMPLER}, {"steps", required_argument, 0, O_STEPS},
    {"guidance", required_argument, 0, O_GUIDANCE}, {"seed", required_argument, 0, O_SEED},
    {"segment-frames", required_argument, 0, O_SEG}, {"overlap", required_argument, 0, O_OVERLAP},
    {"stems", required_argument, 0, O_STEMS}, {"group", required_argument, 0, O_GROUP},
    {"max-seconds", required_argument, 0, O_MAXSEC}, {"iters", required_argument, 0, O_ITERS},
    {"momentum", required_argument, 0, O_MOMENTUM}, {"init", required_argument, 0, O_INIT},
    {"rate", required_argument, 0, O_RATE}, {"format", required_argument, 0, O_FORMAT},
    {"lufs", required_argument, 0, O_LUFS}, {"seconds", required_argument, 0, O_PREVIEW}, {"json", no_argument, 0, O_JSON},
    {"gl-chunk", required_argument, 0, O_GLCHUNK}, {"limit-db", required_argument, 0, O_LIMIT},
    {"vocoder", required_argument, 0, O_VOCODER}, {"precision", required_argument, 0, O_PRECISION},
    {"threads", required_argument, 0, O_THREADS}, {"jobs", required_argument, 0, O_JOBS},
    {"prior", required_argument, 0, O_PRIOR}, {"notebank", required_argument, 0, O_NOTEBANK},
    {"batch", required_argument, 0, O_BATCH}, {"gate", required_argument, 0, O_GATE},
    {"gl-device", required_argument, 0, O_GLDEV}, {"guidance-interval", required_argument, 0, O_GINT},
    {"force", no_argument, 0, 'f'}, {"quiet", no_argument, 0, 'q'}, {"verbose", no_argument, 0, 'v'},
    {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};

/* Numeric options; returns 0 or a usage exit code. */
static int parse_number(cli_state *c, int opt, const char *arg)
{
    long v = 0;
    double d = 0;
    md_render_opts *o = &c->ro;
    switch (opt) {
    case O_DEVICE: if (md_cli_parse_int("render", "--device", arg, 0, 64, &v)) return 2; c->uo.device_index = (int)v; return 0;
    case O_STEPS:
        if (md_cli_parse_int("render", "--steps", arg, 1, 1000, &v)) return 2;
        o->steps = (int)v;
        c->steps_set = 1;
        return 0;
    case O_SEED: if (md_cli_parse_int("render", "--seed", arg, 0, 2147483647L, &v)) return 2; o->seed = (uint64_t)v; return 0;
    case O_SEG: if (md_cli_parse_int("render", "--segment-frames", arg, 8, 4096, &v)) return 2; o->segment_frames = (int)v; return 0;
    case O_OVERLAP: if (md_cli_parse_int("render", "--overlap", arg, 0, 1024, &v)) return 2; o->overlap_frames = (int)v; return 0;
    case O_GLCHUNK:
        if (md_cli_parse_int("render", "--gl-chunk", arg, 0, 1000000, &v)) return 2;
        if (v && v < MD_VOCODER_MIN_CHUNK_FRAMES)
            return md_cli_usage_error("render", "--gl-chunk is 0 (whole song) or at least %d frames, not %ld",
                                      MD_VOCODER_MIN_CHUNK_FRAMES, v);
        o->gl_chunk_frames = (int)v;
        return 0;
    case O_ITERS: if (md_cli_parse_int("render", "--iters", arg, 0, 10000, &v)) return 2; o->gl.iters = (int)v; return 0;
    case O_THREADS: if (md_cli_parse_int("render", "--threads", arg, 1, 16, &v)) return 2; o->gl.threads = (int)v; return 0;
    case O_JOBS: if (md_cli_parse_int("render", "--jobs", arg, 1, MD_RENDER_MAX_WORKERS, &v)) return 2; c->jobs = (int)v; return 0;
    case O_BATCH: if (md_cli_parse_int("render", "--batch", arg, 1, MD_RENDER_MAX_BATCH, &v)) return 2; o->batch_stems = (int)v; return 0;
    case O_GUIDANCE:
        if (md_cli_parse_float("render", "--guidance", arg, 0, 20, &d)) return 2;
        o->guidance = (float)d;
        c->guidance_set = 1;
        return 0;
    case O_MAXSEC: if (md_cli_parse_float("render", "--max-seconds", arg, 1, 7200, &d)) return 2; o->max_seconds = d; return 0;
    case O_MOMENTUM: if (md_cli_parse_float("render", "--momentum", arg, 0, 1.5, &d)) return 2; o->gl.momentum = d; return 0;
    case O_PREVIEW: if (md_cli_parse_float("render", "--seconds", arg, 0.1, 7200, &d)) return 2; o->preview_seconds = d; return 0;
    case O_LUFS:
        if (!strcmp(arg, "keep")) { o->lufs = NAN; return 0; }
        if (md_cli_parse_float("render", "--lufs", arg, -70, 0, &d)) return 2;
        o->lufs = d;
        return 0;
    case O_PRIOR:
        if (!strcmp(arg, "off")) { c->prior_t = PRIOR_OFF; return 0; }
        if (md_cli_parse_float("render", "--prior", arg, 0, 1, &d)) return 2;
        c->prior_t = d;
        return 0;
    case O_GATE:
        if (!strcmp(arg, "off")) { o->gate_margin = -1; return 0; }
        if (md_cli_parse_float("render", "--gate", arg, 0, 60, &d)) return 2;
        o->gate_margin = d;
        return 0;
    case O_LIMIT: if (md_cli_parse_float("render", "--limit-db", arg, 0, 40, &d)) return 2; o->limit_db = d; return 0;
    }
    return -1;
}

static int parse_word(cli_state *c, int opt, const char *arg)
{
    md_render_opts *o = &c->ro;
    int k;
    switch (opt) {
    case O_BACKEND:
        if (strcmp(arg, "vulkan") && strcmp(arg, "cpu") && strcmp(arg, "cpu-ref") && strcmp(arg, "auto"))
            return md_cli_usage_error("render", "--backend is vulkan, cpu, cpu-ref or auto, not '%s'", arg);
        c->uo.backend = arg;
        return 0;
    case O_PRECISION:
        if (strcmp(arg, "fp32") && strcmp(arg, "fp16") && strcmp(arg, "auto"))
            return md_cli_usage_error("render", "--precision is fp32, fp16 or auto, not '%s'", arg);
        c->uo.precision = !strcmp(arg, "fp32")   ? MD_NN_PRECISION_FP32
                          : !strcmp(arg, "fp16") ? MD_NN_PRECISION_FP16_WEIGHTS
                                                 : MD_NN_PRECISION_AUTO;
        return 0;
    case O_VOCODER:
        /* Accepted now so scripts can name it; a neural vocoder will add a value. */
        if (strcmp(arg, "gl"))
            return md_cli_usage_error("render", "--vocoder is gl (Griffin-Lim; no neural vocoder has shipped), not '%s'", arg);
        return 0;
    case O_SAMPLER:
        if ((k = md_sampler_kind_from_name(arg)) < 0)
            return md_cli_usage_error("render", "--sampler is dpmpp2m or ddim, not '%s'", arg);
        o->sampler = (md_sampler_kind)k;
        c->sampler_set = 1;
        return 0;
    case O_GROUP:
        if (strcmp(arg, "track") && strcmp(arg, "program"))
            return md_cli_usage_error("render", "--group is track or program, not '%s'", arg);
        o->score.group = strcmp(arg, "track") ? MD_GROUP_PROGRAM : MD_GROUP_TRACK;
        return 0;
    case O_INIT:
        if (!md_gl_init_parse(arg, &o->gl.init))
            return md_cli_usage_error("render", "--init is zeros, random or pghi, not '%s'", arg);
        return 0;
    case O_RATE:
        if (strcmp(arg, "44100") && strcmp(arg, "48000"))
            return md_cli_usage_error("render", "--rate is 44100 or 48000, not '%s'", arg);
        o->rate = atoi(arg);
        return 0;
    case O_FORMAT:
        if (!md_audio_format_parse(arg, &o->format))
            return md_cli_usage_error("render", "--format is wav16, wav24, wav32f or flac, not '%s'", arg);
        return 0;
    }
    return parse_number(c, opt, arg);
}

/* --guidance-interval LO,HI with 0 <= LO < HI <= 1, or "all". */
static int parse_interval(md_render_opts *o, const char *arg)
{
    if (!strcmp(arg, "all")) {
        o->guide_t_lo = o->guide_t_hi = 0;
        return 0;
    }
    char *end = NULL;
    double lo = strtod(arg, &end), hi = -1;
    if (end != arg && *end == ',') {
        const char *b = end + 1;
        hi = strtod(b, &end);
        if (end == b || *end) hi = -1;
    }
    if (!(lo >= 0 && lo < hi && hi <= 1))
        return md_cli_usage_error("render", "--guidance-interval is LO,HI with 0 <= LO < HI <= 1, or all; not '%s'", arg);
    o->guide_t_lo = (float)lo, o->guide_t_hi = (float)hi;
    return 0;
}

static int parse(int argc, char **argv, cli_state *c)
{
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "o:m:fqvh", long_opts, NULL)) != -1) {
        int r = 0;
        switch (opt) {
        case 'o': c->ro.out_dir = optarg; break;
        case 'm': c->model = optarg; break;
        case 'f': c->ro.force = 1; break;
        case 'q': c->quiet = 1; break;
        case 'v': c->verbose++; break;
        case 'h': usage(stdout); return -1;
        case O_STEMS: c->ro.stems = optarg; break;
        case O_NOTEBANK: c->notebank = optarg; break;
        case O_JSON: c->json = 1; break;
        case O_GINT: r = parse_interval(&c->ro, optarg); break;
        case O_GLDEV:
            if (strcmp(optarg, "auto") && strcmp(optarg, "cpu") && strcmp(optarg, "gpu"))
                return md_cli_usage_error("render", "--gl-device is auto, cpu or gpu, not '%s'", optarg);
            c->gl_device = optarg;
            break;
        case '?': return 2;
        default: r = parse_word(c, opt, optarg); break;
        }
        if (r) return r;
    }
    if (optind != argc - 1) return md_cli_usage_error("render", "expects one MIDI file");
    if (!c->ro.out_dir) return md_cli_usage_error("render", "-o OUTDIR is required");
    c->ro.midi_path = argv[optind];
    return 0;
}

/* A shipped file: the option's value, else $ENV, else models/NAME here,
 * else the installed models directory; when none exists, NULL (or, with
 * or_default, models/NAME, for the error to name). */
static const char *find_shipped(const char *given, const char *env_name, const char *name, int or_default,
                                char *buf, size_t cap)
{
    if (given) return given;
    const char *env = env_name ? getenv(env_name) : NULL;
    if (env && *env) return env;
    struct stat st;
    snprintf(buf, cap, "models/%s", name);
    if (stat(buf, &st) == 0) return buf;
    snprintf(buf, cap, "%s/%s", MD_INSTALL_MODELS_DIR, name);
    if (stat(buf, &st) == 0) return buf;
    snprintf(buf, cap, "models/%s", name);
    return or_default ? buf : NULL;
}

static const char *find_notebank(const cli_state *c, char *buf, size_t cap);

/* The model file: --model, $MELODIFF_MODEL, ./models/, the installed copy.
 * Left to itself (none of those given, --prior at its default) a render
 * whose note bank is found refines the drawing with the refiner
 * (models/refiner.safetensors) when one is shipped; --prior off or T asks
 * for the general model, unet.safetensors, which samples from noise. */
static const char *find_model(const cli_state *c, char *buf, size_t cap)
{
    const char *env = getenv("MELODIFF_MODEL");
    char bank[1024];
    if (!c->model && !(env && *env) && c->prior_t == PRIOR_AUTO && find_notebank(c, bank, sizeof bank)) {
        const char *r = find_shipped(NULL, NULL, DEFAULT_REFINER_NAME, 0, buf, cap);
        if (r) return r;
    }
    return find_shipped(c->model, "MELODIFF_MODEL", DEFAULT_MODEL_NAME, 1, buf, cap);
}

/* One status line per stem and segment, rewritten in place on a terminal. */
static void on_progress(void *user, const md_render_progress *p)
{
    cli_state *c = user;
    if (c->quiet) return;
    if (p->stem >= p->n_stems) { /* the final stage: the mix and the level passes */
        if (c->tty || c->verbose) fprintf(stderr, "%smelodiff: mix: %s%-40s\n", c->tty ? "\r" : "", p->stage, "");
        return;
    }
    if (c->tty)
        fprintf(stderr, "\rmelodiff: stem %d/%d %-24.24s %s segment %zu/%zu   ", p->stem + 1, p->n_stems,
                p->stem_name, p->stage, p->segment + 1, p->n_segments);
    else if (c->verbose && p->segment == 0)
        fprintf(stderr, "melodiff: stem %d/%d %s: %s\n", p->stem + 1, p->n_stems, p->stem_name, p->stage);
}

static void print_manifest(const char *dir)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/render.json", dir);
    FILE *f = fopen(path, "rb");
    if (!f) return;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, n, stdout);
    fclose(f);
    putchar('\n');
}

/* Default --jobs cap: each worker holds its own copy of the model and its
 * activations. */
#define DEFAULT_MAX_JOBS 8

/* --jobs, else one per core (at most DEFAULT_MAX_JOBS). */
static int job_count(const cli_state *c)
{
    if (c->jobs > 0) return c->jobs;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores < 1 ? 1 : cores > DEFAULT_MAX_JOBS ? DEFAULT_MAX_JOBS : (int)cores;
}

/* How many workers render stems at once. The CPU backends (cpu and
 * cpu-ref) take --jobs workers, each sampling and vocoding its own stems;
 * Vulkan has one worker (one device queue) that samples a group of stems in
 * one batch and vocodes them on --jobs threads (run() sets vocode_jobs). */
static int worker_count(const cli_state *c, const md_denoiser *den)
{
    return strcmp(den->backend, "vulkan") ? job_count(c) : 1;
}

/* Workers 1..n-1: their own context and denoiser of the same model on the
 * same CPU backend. Returns how many opened (>= 1: worker 0 is the caller's). */
static int open_workers(cli_state *c, md_ctx *ctx, md_denoiser *dens, md_ctx **ctxs, int n)
{
    md_unet_denoiser_opts uo = c->uo;
    if (!strcmp(uo.backend ? uo.backend : "auto", "auto")) uo.backend = "cpu"; /* what auto chose */
    int opened = 1;
    for (; opened < n; opened++) {
        ctxs[opened] = md_cli_context(c->verbose, c->quiet);
        if (!ctxs[opened] || md_unet_denoiser_open(ctxs[opened], &uo, &dens[opened]) != MD_OK) {
            md_log(ctx, MD_LOG_WARN, "rendering with %d workers instead of %d: %s", opened, n,
                   ctxs[opened] ? md_ctx_error(ctxs[opened]) : "no memory");
            md_ctx_destroy(ctxs[opened]);
            break;
        }
    }
    return opened;
}

/* Where Griffin-Lim iterates (--gl-device): NULL for FFTW on the CPU, or
 * a Vulkan engine. auto takes the model's Vulkan device when it is a GPU;
 * lavapipe iterates ~13x slower than FFTW on the same cores (BENCHMARKS.md),
 * so there auto keeps the CPU even when --device named it. gpu insists:
 * failing to open is an error. */
static md_status open_gl_engine(const cli_state *c, md_ctx *ctx, const md_denoiser *den, md_gl_gpu **out)
{
    *out = NULL;
    const char *want = c->gl_device ? c->gl_device : "auto";
    if (!strcmp(want, "cpu") || (!strcmp(want, "auto") && strcmp(den->backend, "vulkan"))) return MD_OK;
    md_gpu_options go;
    md_gpu_options_init(&go);
    go.device_index = c->uo.device_index;
    go.validation = c->uo.validation;
    md_status s = md_gl_gpu_create_for_contract(ctx, &go, &den->mc, out);
    if (!strcmp(want, "gpu")) return s;
    if (s) {
        md_log(ctx, MD_LOG_INFO, "griffin-lim stays on the CPU: %s", md_ctx_error(ctx));
        md_ctx_clear_error(ctx);
        return MD_OK;
    }
    const md_gpu_caps *caps = md_gl_gpu_caps(*out);
    if (caps->type == MD_GPU_DEVICE_CPU) {
        md_gl_gpu_destroy(*out);
        *out = NULL;
    }
    return MD_OK;
}

/* The note bank file: --notebank, $MELODIFF_NOTEBANK, ./models/, the
 * installed copy; NULL when none exists. */
static const char *find_notebank(const cli_state *c, char *buf, size_t cap)
{
    return find_shipped(c->notebank, "MELODIFF_NOTEBANK", DEFAULT_NOTEBANK_NAME, 0, buf, cap);
}

/* Where a refiner starts by default: REFINE_T, or the top of its training
 * range when that is lower. */
static float refine_t_default(const md_denoiser *den)
{
    return den->t_max < REFINE_T ? den->t_max : REFINE_T;
}

/* A refiner (a model whose conditioning image is the drawing) cannot sample
 * from noise, is not asked to start above the times it was trained on, and
 * without an unconditional branch guides with weight 1 only. */
static md_status check_refiner(cli_state *c, md_ctx *ctx, const md_denoiser *den)
{
    if (c->prior_t == PRIOR_OFF)
        return md_fail(ctx, MD_ERR_USAGE, "--prior off: %s refines note-bank drawings; it does not sample from noise",
                       den->model_path);
    if (c->prior_t > den->t_max + 1e-6)
        return md_fail(ctx, MD_ERR_USAGE, "--prior %g: %s was trained to refine from t <= %g only", c->prior_t,
                       den->model_path, den->t_max);
    if (!den->guided && c->guidance_set && c->ro.guidance != 1.0f)
        return md_fail(ctx, MD_ERR_USAGE, "--guidance %g: %s has no unconditional branch (use 1)", c->ro.guidance,
                       den->model_path);
    if (!den->guided) c->ro.guidance = 1.0f;
    if (!c->sampler_set) c->ro.sampler = REFINE_SAMPLER;
    if (!c->steps_set) c->ro.steps = REFINE_STEPS;
    return MD_OK;
}

/* The note bank the stems are drawn from (--prior, --notebank); its mel
 * contract must be the model's. By default (auto) a render uses the bank
 * when one is found and says so when it falls back to the model alone. */
static md_status open_prior(cli_state *c, md_ctx *ctx, const md_denoiser *den, md_notebank **out)
{
    *out = NULL;
    md_status s = den->cond_notebank ? check_refiner(c, ctx, den) : MD_OK;
    if (s || c->prior_t == PRIOR_OFF) return s;
    char buf[1024];
    const char *path = find_notebank(c, buf, sizeof buf);
    if (!path && c->prior_t == PRIOR_AUTO && !den->cond_notebank) {
        md_log(ctx, MD_LOG_WARN, "no note bank (models/%s) found: sampling every stem from noise with the model alone",
               DEFAULT_NOTEBANK_NAME);
        return MD_OK;
    }
    if (!path) path = "models/" DEFAULT_NOTEBANK_NAME; /* named in the error */
    s = md_notebank_open(ctx, path, out);
    if (!s) s = md_mel_contract_check(ctx, &den->mc, md_notebank_contract(*out), path);
    if (s) return s;
    c->ro.prior = *out;
    if (c->prior_t == PRIOR_AUTO) c->ro.prior_t = den->cond_notebank ? refine_t_default(den) : 0.0f;
    else c->ro.prior_t = (float)c->prior_t;
    if (c->ro.prior_t > 0)
        md_log(ctx, MD_LOG_INFO, "stems: the note bank %s, refined by the model from t = %.2f", path, c->ro.prior_t);
    else
        md_log(ctx, MD_LOG_INFO, "stems: drawn from the note bank %s (no model pass)", path);
    return MD_OK;
}

static int run(cli_state *c, md_ctx *ctx)
{
    char model_buf[1024];
    c->uo.model_path = find_model(c, model_buf, sizeof model_buf);
    md_denoiser dens[MD_RENDER_MAX_WORKERS];
    md_ctx *ctxs[MD_RENDER_MAX_WORKERS] = {ctx};
    md_status s = md_unet_denoiser_open(ctx, &c->uo, &dens[0]);
    if (s) return md_cli_report(ctx, s);
    int n = open_workers(c, ctx, dens, ctxs, worker_count(c, &dens[0]));
    if (!strcmp(dens[0].backend, "vulkan")) c->ro.vocode_jobs = job_count(c);
    md_log(ctx, MD_LOG_INFO, "model %s on %s (%s), %d worker%s", c->uo.model_path, dens[0].backend, dens[0].device,
           n, n == 1 ? "" : "s");
    md_notebank *bank = NULL;
    s = open_prior(c, ctx, &dens[0], &bank);
    md_gl_gpu *gl = NULL;
    if (!s) s = open_gl_engine(c, ctx, &dens[0], &gl);
    c->ro.gl.gpu = gl;
    if (gl) md_log(ctx, MD_LOG_INFO, "griffin-lim on %s", md_gl_gpu_device(gl));
    md_denoiser *dp[MD_RENDER_MAX_WORKERS];
    for (int i = 0; i < n; i++) dp[i] = &dens[i];
    md_render_report rep;
    if (!s) s = md_render_run_workers(ctx, &c->ro, dp, ctxs, n, &rep);
    md_gl_gpu_destroy(gl);
    md_notebank_close(bank);
    for (int i = 0; i < n; i++) md_denoiser_destroy(&dens[i]);
    for (int i = 1; i < n; i++) md_ctx_destroy(ctxs[i]);
    if (c->tty && !c->quiet) fputc('\n', stderr);
    if (s) return md_cli_report(ctx, s);
    if (!c->quiet)
        fprintf(stderr, "melodiff: rendered %d stem%s (%d skipped), %.1f s, mix %.1f LUFS -> %s\n",
                rep.n_stems_rendered, rep.n_stems_rendered == 1 ? "" : "s", rep.n_stems_skipped, rep.seconds,
                rep.mix_lufs, c->ro.out_dir);
    if (c->json) print_manifest(c->ro.out_dir);
    return 0;
}

int md_cmd_render(int argc, char **argv)
{
    cli_state c;
    memset(&c, 0, sizeof c);
    c.prior_t = PRIOR_AUTO;
    md_render_opts_default(&c.ro);
    md_unet_denoiser_opts_init(&c.uo);
    int r = parse(argc, argv, &c);
    if (r) return r < 0 ? 0 : r;
    md_ctx *ctx = md_cli_context(c.verbose, c.quiet);
    if (!ctx) return 1;
    c.tty = isatty(STDERR_FILENO);
    c.ro.progress = on_progress;
    c.ro.progress_user = &c;
    r = run(&c, ctx);
    md_ctx_destroy(ctx);
    return r;
}
