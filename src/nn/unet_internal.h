/* melodiff nn — U-Net internals shared by unet.c (loading), unet_forward.c
 * (the graph, one pass), unet_tiles.c (tiling in time) and unet_host.c
 * (conditioning input and embedding). */
#ifndef MD_NN_UNET_INTERNAL_H
#define MD_NN_UNET_INTERNAL_H

#include "nn/unet.h"

enum { UB_RES = 0, UB_DOWN = 1, UB_UP = 2 };

typedef struct ub_res {
    int cin, cout, skip;
    md_tensor n1w, n1b, c1w, c1b, fw, fb, n2w, n2b, c2w, c2b, sw, sb;
} ub_res;

typedef struct ub_layer {
    int kind;         /* UB_RES, UB_DOWN (3x3 stride 2 conv), UB_UP (nearest x2 + 3x3 conv) */
    int ch;           /* channels of a DOWN/UP layer */
    ub_res res;       /* UB_RES */
    md_tensor cw, cb; /* DOWN conv; UP: phase weights of md_nn_conv2d_up2 */
} ub_layer;

/* Activation slots of the forward pass: one backend buffer each, sized by
 * a planning pass, reused through views (same storage, other dims). */
enum {
    WS_IN, WS_E, WS_FILM, WS_S1, WS_S2, WS_CAT, WS_HA, WS_HB, WS_QKV, WS_ATT, WS_OUT,
    WS_SKIP0 /* + k: the k-th skip tensor */
};
#define WS_MAX (WS_SKIP0 + 1 + MD_UNET_MAX_LEVELS * 17)
#define UNET_MAX_REPLAYS 6

struct md_unet {
    md_nn *nn;
    md_ctx *ctx;
    char origin[512];
    md_unet_config cfg;
    md_mel_contract mc;
    size_t n_loaded; /* tensors taken from the file */

    md_tensor conv_in_w, conv_in_b, conv_out_w, conv_out_b, no_w, no_b;
    ub_layer *down, *up;
    int n_down, n_up;
    ub_res mid1, mid2;
    md_tensor an_w, an_b, aqkv_w, aqkv_b, aproj_w, aproj_b;

    /* host copies for the host-side steps */
    float *pitch_to_mel, *freq_coord, *t0w, *t0b, *t2w, *t2b, *inst;

    /* Largest activation allowed, bytes (md_unet_set_max_tensor_bytes);
     * 0: only the backend's limits. */
    size_t max_tensor_bytes;

    /* Workspace for batch ws_n and any length up to ws_frames: a shorter
     * pass (a tile, the last segment) views the same slots with fewer
     * frames, so one plan serves every tile length of a tiled forward. */
    int ws_n, ws_frames;
    size_t ws_cap[WS_MAX];
    md_tensor ws[WS_MAX];
    /* GPU: the graph recorded once per pass length and replayed; the few
     * lengths of a tiled forward (first, interior, last tile) each get one. */
    struct {
        int frames;
        md_gpu_cmd *cmd;
    } replay[UNET_MAX_REPLAYS];
    int replay_next; /* slot the next new length evicts when all are taken */
    /* Counted for tests: workspace plans and graph recordings so far. */
    unsigned long n_plans, n_records;
};

void md_unet_ws_free(md_unet *u);
/* The largest activation slot, in elements, of a pass over n x frames. */
size_t md_unet_largest_activation(md_unet *u, int n, int frames);
/* Slots for batch n and up to `frames` frames (kept when already enough). */
md_status md_unet_ws_prepare(md_unet *u, int n, int frames);
/* Uploads silu(emb) (N x emb_dim) to the slot every block reads. */
md_status md_unet_ws_set_emb(md_unet *u, int n, const float *emb);
/* One untiled pass over n x frames (frames <= ws_frames) after
 * md_unet_ws_set_emb: input in, v out, host arrays of that length. */
md_status md_unet_pass(md_unet *u, int n, int frames, const float *input, float *v);

#endif
