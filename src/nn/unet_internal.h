/* melodiff nn — U-Net internals shared by unet.c (loading), unet_forward.c
 * (the graph) and unet_host.c (conditioning input and embedding). */
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
    md_tensor cw, cb; /* DOWN/UP conv */
} ub_layer;

/* Activation slots of the forward pass: one backend buffer each, sized by
 * a planning pass, reused through views (same storage, other dims). */
enum {
    WS_IN, WS_E, WS_FILM, WS_S1, WS_S2, WS_CAT, WS_HA, WS_HB, WS_QKV, WS_ATT, WS_OUT,
    WS_SKIP0 /* + k: the k-th skip tensor */
};
#define WS_MAX (WS_SKIP0 + 1 + MD_UNET_MAX_LEVELS * 17)

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

    /* workspace for (ws_n, ws_frames) */
    int ws_n, ws_frames;
    md_gpu_cmd *replay; /* GPU: the graph recorded once for this shape */
    size_t ws_cap[WS_MAX];
    md_tensor ws[WS_MAX];
};

void md_unet_ws_free(md_unet *u);

#endif
