/* Workgroup size from SPIR-V (see spirv.h). The size comes from, in order of
 * precedence: a constant decorated BuiltIn WorkgroupSize (what glslang emits
 * for local_size_*_id), OpExecutionModeId LocalSizeId, OpExecutionMode
 * LocalSize. Each component is an OpConstant or an OpSpecConstant whose
 * SpecId selects a value from spec[]. */
#include "gpu/spirv.h"

#include <stdlib.h>
#include <string.h>

enum {
    SPV_MAGIC = 0x07230203u,
    OP_EXECUTION_MODE = 16,
    OP_CONSTANT = 43,
    OP_CONSTANT_COMPOSITE = 44,
    OP_SPEC_CONSTANT = 50,
    OP_SPEC_CONSTANT_COMPOSITE = 51,
    OP_DECORATE = 71,
    OP_EXECUTION_MODE_ID = 331,
    DEC_SPEC_ID = 1,
    DEC_BUILTIN = 11,
    BUILTIN_WORKGROUP_SIZE = 25,
    MODE_LOCAL_SIZE = 17,
    MODE_LOCAL_SIZE_ID = 38
};

typedef struct idinfo {
    uint16_t op;
    uint32_t spec_id;    /* UINT32_MAX: none */
    uint32_t value;      /* OpConstant / OpSpecConstant default */
    uint32_t parts[3];   /* composite constituents */
} idinfo;

typedef struct scan {
    idinfo *ids;
    uint32_t bound;
    uint32_t wg_builtin;          /* id decorated BuiltIn WorkgroupSize, 0 = none */
    uint32_t mode_ids[3];         /* LocalSizeId operands */
    uint32_t mode_lit[3];         /* LocalSize literals */
    int has_mode_ids, has_mode_lit;
} scan;

static void record(scan *sc, const uint32_t *w, uint32_t len)
{
    uint32_t op = w[0] & 0xffffu;
    if (op == OP_DECORATE && len >= 3 && w[1] < sc->bound) {
        if (w[2] == DEC_SPEC_ID && len >= 4) sc->ids[w[1]].spec_id = w[3];
        if (w[2] == DEC_BUILTIN && len >= 4 && w[3] == BUILTIN_WORKGROUP_SIZE) sc->wg_builtin = w[1];
    } else if ((op == OP_CONSTANT || op == OP_SPEC_CONSTANT) && len >= 4 && w[2] < sc->bound) {
        sc->ids[w[2]].op = (uint16_t)op;
        sc->ids[w[2]].value = w[3];
    } else if ((op == OP_CONSTANT_COMPOSITE || op == OP_SPEC_CONSTANT_COMPOSITE) && len >= 6 && w[2] < sc->bound) {
        sc->ids[w[2]].op = (uint16_t)op;
        memcpy(sc->ids[w[2]].parts, w + 3, 3 * sizeof w[0]);
    } else if (op == OP_EXECUTION_MODE && len >= 6 && w[2] == MODE_LOCAL_SIZE) {
        memcpy(sc->mode_lit, w + 3, sizeof sc->mode_lit);
        sc->has_mode_lit = 1;
    } else if (op == OP_EXECUTION_MODE_ID && len >= 6 && w[2] == MODE_LOCAL_SIZE_ID) {
        memcpy(sc->mode_ids, w + 3, sizeof sc->mode_ids);
        sc->has_mode_ids = 1;
    }
}

static int resolve(const scan *sc, uint32_t id, const uint32_t *spec, uint32_t n_spec, uint32_t *out)
{
    if (id >= sc->bound) return -1;
    const idinfo *c = &sc->ids[id];
    if (c->op != OP_CONSTANT && c->op != OP_SPEC_CONSTANT) return -1;
    *out = c->op == OP_SPEC_CONSTANT && c->spec_id < n_spec ? spec[c->spec_id] : c->value;
    return 0;
}

int md_spirv_local_size(const uint32_t *code, size_t n_words, const uint32_t *spec, uint32_t n_spec,
                        uint32_t out[3])
{
    if (!code || n_words < 5 || code[0] != SPV_MAGIC || code[3] == 0 || code[3] > (1u << 22)) return -1;
    scan sc = {.bound = code[3]};
    sc.ids = calloc(sc.bound, sizeof *sc.ids);
    if (!sc.ids) return -1;
    for (uint32_t i = 0; i < sc.bound; i++) sc.ids[i].spec_id = UINT32_MAX;
    for (size_t at = 5; at < n_words;) {
        uint32_t len = code[at] >> 16;
        if (len == 0 || len > n_words - at) {
            free(sc.ids);
            return -1;
        }
        record(&sc, code + at, len);
        at += len;
    }
    int rc = -1;
    const uint32_t *parts = NULL;
    if (sc.wg_builtin && sc.wg_builtin < sc.bound &&
        (sc.ids[sc.wg_builtin].op == OP_CONSTANT_COMPOSITE || sc.ids[sc.wg_builtin].op == OP_SPEC_CONSTANT_COMPOSITE))
        parts = sc.ids[sc.wg_builtin].parts;
    else if (sc.has_mode_ids)
        parts = sc.mode_ids;
    if (parts) {
        rc = 0;
        for (int i = 0; i < 3 && !rc; i++) rc = resolve(&sc, parts[i], spec, n_spec, &out[i]);
    } else if (sc.has_mode_lit) {
        memcpy(out, sc.mode_lit, sizeof sc.mode_lit);
        rc = 0;
    }
    free(sc.ids);
    return rc;
}
