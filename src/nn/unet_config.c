/* Parsing and checking the U-Net "config" JSON of a model file. Every key
 * model.py's forward depends on is required; a missing, mistyped or
 * inconsistent value is MD_ERR_MODEL naming the file and the key. */
#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

#include "nn/unet.h"

static md_status get_int(md_ctx *ctx, const cJSON *root, const char *origin, const char *key, int lo, int hi,
                         int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!cJSON_IsNumber(v))
        return md_fail(ctx, MD_ERR_MODEL, "%s: config: \"%s\" is missing or not a number", origin, key);
    double d = v->valuedouble;
    if (d != floor(d) || d < lo || d > hi)
        return md_fail(ctx, MD_ERR_MODEL, "%s: config: \"%s\" is %g, expected an integer in [%d, %d]", origin, key,
                       d, lo, hi);
    *out = (int)d;
    return MD_OK;
}

static md_status get_float(md_ctx *ctx, const cJSON *root, const char *origin, const char *key, double lo,
                           double hi, float *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!cJSON_IsNumber(v))
        return md_fail(ctx, MD_ERR_MODEL, "%s: config: \"%s\" is missing or not a number", origin, key);
    if (!(v->valuedouble >= lo && v->valuedouble <= hi))
        return md_fail(ctx, MD_ERR_MODEL, "%s: config: \"%s\" is %g, expected [%g, %g]", origin, key,
                       v->valuedouble, lo, hi);
    *out = (float)v->valuedouble;
    return MD_OK;
}

/* A string key that must be one of two values; *out = 1 for the first. */
static md_status get_choice(md_ctx *ctx, const cJSON *root, const char *origin, const char *key, const char *one,
                            const char *zero, int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!cJSON_IsString(v) || (strcmp(v->valuestring, one) && strcmp(v->valuestring, zero)))
        return md_fail(ctx, MD_ERR_MODEL, "%s: config: \"%s\" must be \"%s\" or \"%s\"", origin, key, one, zero);
    *out = strcmp(v->valuestring, one) == 0;
    return MD_OK;
}

static md_status expect_string(md_ctx *ctx, const cJSON *root, const char *origin, const char *key,
                               const char *want)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!cJSON_IsString(v) || strcmp(v->valuestring, want))
        return md_fail(ctx, MD_ERR_MODEL, "%s: config: \"%s\" must be \"%s\" (this melodiff runs no other)",
                       origin, key, want);
    return MD_OK;
}

/* The optional keys (unet.h), with the defaults older files mean. */
static md_status get_optional(md_ctx *ctx, const cJSON *root, const char *origin, md_unet_config *c)
{
    md_status s = MD_OK;
    c->cond_notebank = 0;
    c->t_max = 1.0f;
    c->cfg_dropout = 0.1f;
    if (cJSON_GetObjectItemCaseSensitive(root, "cond_image"))
        s = get_choice(ctx, root, origin, "cond_image", "notebank", "harmonic", &c->cond_notebank);
    if (s == MD_OK && cJSON_GetObjectItemCaseSensitive(root, "t_max"))
        s = get_float(ctx, root, origin, "t_max", 0.01, 1.0, &c->t_max);
    if (s == MD_OK && cJSON_GetObjectItemCaseSensitive(root, "cfg_dropout"))
        s = get_float(ctx, root, origin, "cfg_dropout", 0.0, 1.0, &c->cfg_dropout);
    return s;
}

static md_status parse_mults(md_ctx *ctx, const cJSON *root, const char *origin, md_unet_config *c)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "channel_mults");
    int n = cJSON_IsArray(m) ? cJSON_GetArraySize(m) : 0;
    if (n < 1 || n > MD_UNET_MAX_LEVELS)
        return md_fail(ctx, MD_ERR_MODEL, "%s: config: \"channel_mults\" must be an array of 1 to %d integers",
                       origin, MD_UNET_MAX_LEVELS);
    c->n_levels = n;
    for (int i = 0; i < n; i++) {
        const cJSON *e = cJSON_GetArrayItem(m, i);
        if (!cJSON_IsNumber(e) || e->valuedouble != floor(e->valuedouble) || e->valuedouble < 1 ||
            e->valuedouble > 64)
            return md_fail(ctx, MD_ERR_MODEL, "%s: config: \"channel_mults\"[%d] is not an integer in [1, 64]",
                           origin, i);
        c->channel_mults[i] = (int)e->valuedouble;
    }
    return MD_OK;
}

/* Relations between keys that the graph relies on. */
static md_status check_consistent(md_ctx *ctx, const char *origin, const md_unet_config *c)
{
    for (int i = 0; i < c->n_levels; i++) {
        int ch = c->base_channels * c->channel_mults[i];
        if (ch % c->groups)
            return md_fail(ctx, MD_ERR_MODEL, "%s: config: level %d has %d channels, not divisible by %d groups",
                           origin, i, ch, c->groups);
    }
    if (c->base_channels % c->groups || c->base_channels % 2)
        return md_fail(ctx, MD_ERR_MODEL, "%s: config: base_channels %d must be even and divisible by groups %d",
                       origin, c->base_channels, c->groups);
    if (c->n_mels % c->frame_multiple)
        return md_fail(ctx, MD_ERR_MODEL, "%s: config: n_mels %d is not divisible by 2^(levels-1) = %d", origin,
                       c->n_mels, c->frame_multiple);
    int top = c->base_channels * c->channel_mults[c->n_levels - 1];
    if (c->attn_freq && (top % c->attn_heads || top / c->attn_heads > MD_NN_MAX_HEAD_DIM))
        return md_fail(ctx, MD_ERR_MODEL, "%s: config: %d channels do not split into %d attention heads of at most %d",
                       origin, top, c->attn_heads, MD_NN_MAX_HEAD_DIM);
    if (c->in_channels != 5)
        return md_fail(ctx, MD_ERR_MODEL, "%s: config: in_channels is %d; the conditioning input has 5 planes", origin,
                       c->in_channels);
    return MD_OK;
}

md_status md_unet_config_parse(md_ctx *ctx, const char *json, const char *origin, md_unet_config *c)
{
    memset(c, 0, sizeof *c);
    cJSON *root = json ? cJSON_Parse(json) : NULL;
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return md_fail(ctx, MD_ERR_MODEL, "%s: the \"config\" metadata is missing or not a JSON object", origin);
    }
    md_status s = expect_string(ctx, root, origin, "arch", "melodiff-unet");
    if (s == MD_OK) s = expect_string(ctx, root, origin, "prediction", "v");
    if (s == MD_OK) s = expect_string(ctx, root, origin, "schedule", "cosine");
    if (s == MD_OK) s = get_int(ctx, root, origin, "n_mels", 1, 4096, &c->n_mels);
    if (s == MD_OK) s = get_int(ctx, root, origin, "n_pitches", 1, 1024, &c->n_pitches);
    if (s == MD_OK) s = get_int(ctx, root, origin, "in_channels", 1, 64, &c->in_channels);
    if (s == MD_OK) s = get_int(ctx, root, origin, "out_channels", 1, 64, &c->out_channels);
    if (s == MD_OK) s = get_int(ctx, root, origin, "base_channels", 1, 1024, &c->base_channels);
    if (s == MD_OK) s = parse_mults(ctx, root, origin, c);
    if (s == MD_OK) s = get_int(ctx, root, origin, "res_blocks", 1, 16, &c->res_blocks);
    if (s == MD_OK) s = get_int(ctx, root, origin, "groups", 1, 1024, &c->groups);
    if (s == MD_OK) s = get_int(ctx, root, origin, "emb_dim", 1, 8192, &c->emb_dim);
    if (s == MD_OK) s = get_int(ctx, root, origin, "n_instruments", 1, 4096, &c->n_instruments);
    if (s == MD_OK) s = get_choice(ctx, root, origin, "attn", "freq", "none", &c->attn_freq);
    if (s == MD_OK) s = get_int(ctx, root, origin, "attn_heads", 1, 64, &c->attn_heads);
    if (s == MD_OK) s = get_choice(ctx, root, origin, "norm", "frame", "global", &c->norm_frame);
    if (s == MD_OK) s = get_float(ctx, root, origin, "norm_eps", 1e-12, 1.0, &c->norm_eps);
    if (s == MD_OK) s = get_float(ctx, root, origin, "time_scale", 1e-6, 1e9, &c->time_scale);
    if (s == MD_OK) s = get_float(ctx, root, origin, "data_mean", -1e6, 1e6, &c->data_mean);
    if (s == MD_OK) s = get_float(ctx, root, origin, "data_std", 1e-9, 1e6, &c->data_std);
    if (s == MD_OK) s = get_optional(ctx, root, origin, c);
    cJSON_Delete(root);
    if (s != MD_OK) return s;
    c->frame_multiple = 1 << (c->n_levels - 1);
    return check_consistent(ctx, origin, c);
}
