/* Device quirks: optional features a driver advertises but that are known
 * not to work (or not to pay) on it. A feature is used only when the driver
 * reports it AND no row here (nor $MELODIFF_GPU_DISABLE) turns it off; the
 * fp32 path needs none of them, so a quirk costs speed, never correctness.
 *
 * Rows cite where the knowledge comes from. Add a row rather than an
 * if-statement elsewhere, so `melodiff devices` can show every decision. */
#include <stdio.h>
#include <string.h>

#include "gpu/internal.h"

#define VENDOR_ARM 0x13b5u
#define VENDOR_QUALCOMM 0x5143u
#define ANY 0u

typedef md_gpu_quirk quirk;

static const quirk table[] = {
    /* ncnn (src/gpu.cpp, bug_implicit_fp16_arithmetic): these Mali drivers
     * accept fp16-arithmetic SPIR-V without real shaderFloat16 support. */
    {VENDOR_ARM, 0x7500001u, ANY, 0, 0, 0, 0, MD_GPU_Q_FP16_ARITH, "Mali T880 driver: fp16 arithmetic is implicit/unreliable"},
    {VENDOR_ARM, 0x8602000u, ANY, 0, 0, 0, 0, MD_GPU_Q_FP16_ARITH, "Mali driver (rk3399 era): fp16 arithmetic is implicit/unreliable"},
    {VENDOR_ARM, 0x8800020u, ANY, 0, 0, 0, 0, MD_GPU_Q_FP16_ARITH, "Mali G52-era driver: fp16 arithmetic is implicit/unreliable"},
    {VENDOR_QUALCOMM, 0x6030001u, ANY, 0, 0, 0, 0, MD_GPU_Q_FP16_ARITH, "Adreno 6xx driver: fp16 arithmetic is implicit/unreliable"},
    {VENDOR_QUALCOMM, 0x6040001u, ANY, 0, 0, 0, 0, MD_GPU_Q_FP16_ARITH, "Adreno 640 driver: fp16 arithmetic is implicit/unreliable"},
    {VENDOR_QUALCOMM, 0x6050002u, ANY, 0, 0, 0, 0, MD_GPU_Q_FP16_ARITH, "Adreno 650 driver: fp16 arithmetic is implicit/unreliable"},
    /* ncnn (bug_corrupted_online_pipeline_cache): old Adreno drivers corrupt
     * a pipeline cache shared between pipelines. */
    {VENDOR_QUALCOMM, ANY, ANY, 0, VK_MAKE_API_VERSION(0, 1, 0, 66), 0, 0, MD_GPU_Q_PIPELINE_CACHE,
     "old Adreno driver corrupts shared pipeline caches"},
    /* The runtime does not enable VK_KHR_cooperative_matrix yet (the
     * installed headers predate it), so no kernel may rely on it. */
    {ANY, ANY, ANY, 0, 0, 0, 0, MD_GPU_Q_COOPMAT, "cooperative matrices are not enabled by this runtime yet"},
};

static int row_matches(const quirk *q, const md_gpu_device_info *info)
{
    if (q->vendor_id != ANY && q->vendor_id != info->vendor_id) return 0;
    if (q->device_id != ANY && q->device_id != info->device_id) return 0;
    if (q->driver_id != ANY && q->driver_id != info->driver_id) return 0;
    if (q->api_min && info->api_version < q->api_min) return 0;
    if (q->api_max && info->api_version >= q->api_max) return 0;
    if (q->driver_min && info->driver_version < q->driver_min) return 0;
    if (q->driver_max && info->driver_version >= q->driver_max) return 0;
    return 1;
}

/* Only rows that take away something the device actually has are news. */
static unsigned found_bits(const md_gpu_features *f)
{
    return (f->fp16_storage ? MD_GPU_Q_FP16_STORAGE : 0u) | (f->fp16_arith ? MD_GPU_Q_FP16_ARITH : 0u) |
           (f->subgroup_basic ? MD_GPU_Q_SUBGROUP : 0u) | (f->coopmat ? MD_GPU_Q_COOPMAT : 0u) |
           (f->timestamps ? MD_GPU_Q_TIMESTAMPS : 0u) | MD_GPU_Q_PIPELINE_CACHE;
}

static void append(char *dst, size_t cap, const char *text)
{
    size_t len = strlen(dst);
    if (len + 3 >= cap) return;
    snprintf(dst + len, cap - len, "%s%s", len ? "; " : "", text);
}

static unsigned parse_token(const char *tok, size_t len)
{
    static const struct { const char *name; unsigned bits; } names[] = {
        {"fp16", MD_GPU_Q_FP16_STORAGE | MD_GPU_Q_FP16_ARITH},
        {"fp16-storage", MD_GPU_Q_FP16_STORAGE},
        {"fp16-arith", MD_GPU_Q_FP16_ARITH},
        {"subgroup", MD_GPU_Q_SUBGROUP},
        {"coopmat", MD_GPU_Q_COOPMAT},
        {"pipeline-cache", MD_GPU_Q_PIPELINE_CACHE},
        {"timestamps", MD_GPU_Q_TIMESTAMPS},
        {"all", ~0u},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i].name) == len && !strncmp(names[i].name, tok, len)) return names[i].bits;
    return 0;
}

/* $MELODIFF_GPU_DISABLE="fp16,subgroup": a user's escape hatch for a driver
 * bug not in the table yet. */
static unsigned env_bits(const char *env, char *why, size_t cap)
{
    unsigned bits = 0;
    for (const char *p = env; p && *p;) {
        size_t len = strcspn(p, ", ");
        if (len) {
            unsigned b = parse_token(p, len);
            char msg[96];
            if (b) snprintf(msg, sizeof msg, "MELODIFF_GPU_DISABLE=%.*s", (int)len, p);
            else snprintf(msg, sizeof msg, "MELODIFF_GPU_DISABLE: unknown feature '%.*s' ignored", (int)len, p);
            append(why, cap, msg);
            bits |= b;
        }
        p += len;
        p += strspn(p, ", ");
    }
    return bits;
}

unsigned md_gpu_quirks_apply(md_gpu_device_info *info, const char *env_disable)
{
    return md_gpu_quirks_apply_table(info, table, sizeof table / sizeof table[0], env_disable);
}

unsigned md_gpu_quirks_apply_table(md_gpu_device_info *info, const md_gpu_quirk *rows, size_t n_rows,
                                   const char *env_disable)
{
    unsigned have = found_bits(&info->found), off = 0;
    info->quirks[0] = '\0';
    for (size_t i = 0; i < n_rows; i++) {
        if (!row_matches(&rows[i], info)) continue;
        off |= rows[i].disable;
        if (rows[i].disable & have) append(info->quirks, sizeof info->quirks, rows[i].reason);
    }
    off |= env_bits(env_disable, info->quirks, sizeof info->quirks);
    info->enabled = info->found;
    if (off & MD_GPU_Q_FP16_STORAGE) info->enabled.fp16_storage = 0;
    if (off & MD_GPU_Q_FP16_ARITH) info->enabled.fp16_arith = 0;
    if (off & MD_GPU_Q_SUBGROUP)
        info->enabled.subgroup_basic = info->enabled.subgroup_arith = info->enabled.subgroup_shuffle = 0;
    if (off & MD_GPU_Q_COOPMAT) info->enabled.coopmat = 0;
    if (off & MD_GPU_Q_TIMESTAMPS) info->enabled.timestamps = 0;
    return off;
}
