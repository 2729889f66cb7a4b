/* melodiff nn — the diffusion U-Net, built from a model file.
 *
 * The graph is tools/train/model.py's, specified op by op in
 * docs/training.md ("The U-Net, op by op"); tensor names are the PyTorch
 * state-dict names. It runs on either nn backend (ops.h); the golden test
 * (tests/test_nn_unet.c) checks both against PyTorch's output for the tiny
 * fixture model in tests/fixtures/unet/.
 *
 * Host-side steps (tiny, once per call): the conditioning input planes and
 * the embedding. The forward pass itself runs on the backend. */
#ifndef MD_NN_UNET_H
#define MD_NN_UNET_H

#include "core/safetensors.h"
#include "melodiff/mel.h"
#include "nn/ops.h"

#define MD_UNET_MAX_LEVELS 8

typedef struct md_unet_config {
    int n_mels, n_pitches;
    int in_channels, out_channels;
    int base_channels;
    int n_levels;
    int channel_mults[MD_UNET_MAX_LEVELS];
    int res_blocks;
    int groups;
    int emb_dim;
    int n_instruments;
    int attn_freq;    /* "attn": "freq" (1) or "none" (0) */
    int attn_heads;
    int norm_frame;   /* "norm": "frame" (1) or "global" (0) */
    float norm_eps;
    float time_scale;
    float data_mean, data_std;
    int frame_multiple; /* 2^(n_levels - 1) */
    /* Optional keys (older files lack them; the defaults are what those were):
     *   "cond_image"  "harmonic" (default): the image input plane is md_cond's
     *                 harmonic image; "notebank": it is the note bank's
     *                 drawing, normalised as x (a refiner, docs/training.md);
     *   "t_max"       trained on t in (0, t_max] (default 1): a model with
     *                 t_max < 1 only refines a drawing noised to at most t_max;
     *   "cfg_dropout" the classifier-free-guidance dropout it was trained
     *                 with (default 0.1); 0: no unconditional branch, so
     *                 guidance other than 1 means nothing. */
    int cond_notebank;
    float t_max;
    float cfg_dropout;
} md_unet_config;

/* Parses and checks the "config" JSON of a model file; errors are
 * MD_ERR_MODEL naming origin and the offending key. */
md_status md_unet_config_parse(md_ctx *ctx, const char *json, const char *origin, md_unet_config *out);

typedef struct md_unet md_unet;

/* Loads a "unet" model: checks kind, format version, config, mel contract,
 * and every tensor's presence, dtype and shape (MD_ERR_MODEL naming the file
 * and tensor), then uploads the weights to nn's backend. */
md_status md_unet_load(md_nn *nn, const md_st_file *f, md_unet **out);
md_status md_unet_load_file(md_nn *nn, const char *path, md_unet **out);
void md_unet_destroy(md_unet *u);

const md_unet_config *md_unet_get_config(const md_unet *u);
const md_mel_contract *md_unet_get_mel_contract(const md_unet *u);

/* The network input, N x in_channels x n_mels x T, on the host:
 * [x_t, harm, pitch_to_mel @ roll, pitch_to_mel @ onset, freq_coord].
 * x_t and harm are N x n_mels x T, roll and onset N x n_pitches x T; harm,
 * roll and onset may be NULL (zero: the unconditional branch). */
md_status md_unet_input(const md_unet *u, int n, int frames, const float *x_t, const float *harm,
                        const float *roll, const float *onset, float *input);

/* The embedding before its SiLU, N x emb_dim:
 * time_mlp(sinusoid(t * time_scale)) + inst_emb[instrument]. */
md_status md_unet_embed(const md_unet *u, int n, const float *t, const int *instrument, float *emb);

/* One forward pass: input (md_unet_input) and emb (md_unet_embed) in,
 * v (N x out_channels x n_mels x T) out, all host arrays. T must be a
 * multiple of frame_multiple. Activation buffers are planned on the first
 * call for a batch and a length and kept for the next ones (and for any
 * shorter length).
 *
 * When the largest activation of an N x T pass would exceed the backend's
 * limit (md_unet_plan_tiles), the pass runs over overlapping time tiles and
 * stitches their cores; the result is the untiled one (the network is fully
 * convolutional in time, docs/ops.md "Tensors larger than a binding").
 * A limit too small for even one tile is MD_ERR_LIMIT. */
md_status md_unet_forward(md_unet *u, int n, int frames, const float *input, const float *emb, float *v);

/* ---- tiling in time ------------------------------------------------------------ */

/* The receptive-field radius in frames: an output frame t depends only on
 * input frames t - r .. t + r (derived from the graph: every 3x3 conv,
 * strided conv and upsample, at each frame phase modulo frame_multiple). */
int md_unet_receptive_radius(const md_unet_config *c);

typedef struct md_unet_tiling {
    int tiled;          /* 0: one pass over all frames */
    int radius, halo;   /* halo: radius rounded up to frame_multiple */
    int core;           /* output frames per tile (the last may have fewer) */
    int n_tiles;
    int longest;        /* frames of the longest pass */
    uint64_t pass_bytes;  /* largest activation of that pass */
    uint64_t limit_bytes; /* what one activation may take on this backend */
} md_unet_tiling;

/* How md_unet_forward would run n x frames: the largest activation is held
 * to the backend's limit (GPU: the largest storage binding and the largest
 * allocation; both: 2^31 - 1 elements, the shaders' index range) and to the
 * md_unet_set_max_tensor_bytes limit; the core is as long as fits. Errors:
 * MD_ERR_LIMIT when no tile of halo + core + halo fits, or when the model's
 * group norm is global over time (not tileable). */
md_status md_unet_plan_tiles(md_unet *u, int n, int frames, md_unet_tiling *out);

/* For tests and benchmarks: holds every activation to at most `bytes`
 * (0: the backend's limits only), forcing tiles on a small input. Frees the
 * workspace so that the next forward plans under the new limit. */
void md_unet_set_max_tensor_bytes(md_unet *u, size_t bytes);

#endif
