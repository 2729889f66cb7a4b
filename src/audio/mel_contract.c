/* The mel contract: the one place its defaults live, its JSON form and the
 * equality check that keeps training and inference features identical. */
#include "melodiff/mel.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void md_mel_contract_default(md_mel_contract *c)
{
    memset(c, 0, sizeof *c);
    c->sample_rate = 44100;
    c->n_fft = 2048;
    c->hop = 512;
    c->win_length = 2048;
    snprintf(c->window, sizeof c->window, "hann");
    c->center = 1;
    c->n_mels = 128;
    c->fmin = 0.0f;
    c->fmax = 22050.0f;
    snprintf(c->mel_scale, sizeof c->mel_scale, "slaney");
    snprintf(c->mel_norm, sizeof c->mel_norm, "slaney");
    c->power = 1.0f;
    c->log_floor = 1e-5f;
}

size_t md_mel_frames_for_samples(const md_mel_contract *c, size_t n_samples)
{
    return 1 + n_samples / (size_t)c->hop;
}

double md_mel_frame_rate(const md_mel_contract *c) { return (double)c->sample_rate / c->hop; }

/* librosa.hz_to_mel: HTK is 2595 log10(1 + f/700); Slaney is linear below
 * 1 kHz (3 bins per 200 Hz) and logarithmic above. */
double md_hz_to_mel(double hz, int htk)
{
    if (htk) return 2595.0 * log10(1.0 + hz / 700.0);
    const double f_sp = 200.0 / 3.0, min_log_hz = 1000.0;
    const double min_log_mel = min_log_hz / f_sp, logstep = log(6.4) / 27.0;
    if (hz >= min_log_hz) return min_log_mel + log(hz / min_log_hz) / logstep;
    return hz / f_sp;
}

double md_mel_to_hz(double mel, int htk)
{
    if (htk) return 700.0 * (pow(10.0, mel / 2595.0) - 1.0);
    const double f_sp = 200.0 / 3.0, min_log_hz = 1000.0;
    const double min_log_mel = min_log_hz / f_sp, logstep = log(6.4) / 27.0;
    if (mel >= min_log_mel) return min_log_hz * exp(logstep * (mel - min_log_mel));
    return f_sp * mel;
}

char *md_mel_contract_to_json(const md_mel_contract *c)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    int ok = cJSON_AddNumberToObject(o, "sample_rate", c->sample_rate) &&
             cJSON_AddNumberToObject(o, "n_fft", c->n_fft) &&
             cJSON_AddNumberToObject(o, "hop", c->hop) &&
             cJSON_AddNumberToObject(o, "win_length", c->win_length) &&
             cJSON_AddStringToObject(o, "window", c->window) &&
             cJSON_AddBoolToObject(o, "center", c->center != 0) &&
             cJSON_AddNumberToObject(o, "n_mels", c->n_mels) &&
             cJSON_AddNumberToObject(o, "fmin", c->fmin) &&
             cJSON_AddNumberToObject(o, "fmax", c->fmax) &&
             cJSON_AddStringToObject(o, "mel_scale", c->mel_scale) &&
             cJSON_AddStringToObject(o, "mel_norm", c->mel_norm) &&
             cJSON_AddNumberToObject(o, "power", c->power) &&
             cJSON_AddNumberToObject(o, "log_floor", c->log_floor);
    char *s = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return s;
}

static md_status get_num(md_ctx *ctx, const cJSON *o, const char *key, const char *origin,
                         double lo, double hi, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v))
        return md_fail(ctx, MD_ERR_MODEL, "%s: mel contract: field '%s' missing or not a number",
                       origin, key);
    if (!(v->valuedouble >= lo && v->valuedouble <= hi))
        return md_fail(ctx, MD_ERR_MODEL, "%s: mel contract: %s is %g, expected %g..%g", origin,
                       key, v->valuedouble, lo, hi);
    *out = v->valuedouble;
    return MD_OK;
}

static md_status get_int(md_ctx *ctx, const cJSON *o, const char *key, const char *origin,
                         int lo, int hi, int *out)
{
    double d = 0.0; /* get_num sets it on success; -O3 cannot see that */
    md_status s = get_num(ctx, o, key, origin, lo, hi, &d);
    if (s != MD_OK) return s;
    if (d != floor(d))
        return md_fail(ctx, MD_ERR_MODEL, "%s: mel contract: %s is %g, expected an integer",
                       origin, key, d);
    *out = (int)d;
    return MD_OK;
}

static md_status get_str(md_ctx *ctx, const cJSON *o, const char *key, const char *origin,
                         char *out, size_t cap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= cap)
        return md_fail(ctx, MD_ERR_MODEL, "%s: mel contract: field '%s' missing or not a short string",
                       origin, key);
    memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
    return MD_OK;
}

static md_status parse_fields(md_ctx *ctx, const cJSON *o, const char *origin, md_mel_contract *c)
{
    double d;
    md_status s;
    if ((s = get_int(ctx, o, "sample_rate", origin, 1000, 384000, &c->sample_rate)) ||
        (s = get_int(ctx, o, "n_fft", origin, 16, 65536, &c->n_fft)) ||
        (s = get_int(ctx, o, "hop", origin, 1, 65536, &c->hop)) ||
        (s = get_int(ctx, o, "win_length", origin, 16, 65536, &c->win_length)) ||
        (s = get_str(ctx, o, "window", origin, c->window, sizeof c->window)) ||
        (s = get_int(ctx, o, "n_mels", origin, 1, 1024, &c->n_mels)) ||
        (s = get_str(ctx, o, "mel_scale", origin, c->mel_scale, sizeof c->mel_scale)) ||
        (s = get_str(ctx, o, "mel_norm", origin, c->mel_norm, sizeof c->mel_norm)))
        return s;
    const cJSON *center = cJSON_GetObjectItemCaseSensitive(o, "center");
    if (!cJSON_IsBool(center))
        return md_fail(ctx, MD_ERR_MODEL, "%s: mel contract: field 'center' missing or not a boolean",
                       origin);
    c->center = cJSON_IsTrue(center) ? 1 : 0;
    if ((s = get_num(ctx, o, "fmin", origin, 0, 192000, &d))) return s;
    c->fmin = (float)d;
    if ((s = get_num(ctx, o, "fmax", origin, 0, 192000, &d))) return s;
    c->fmax = (float)d;
    if ((s = get_num(ctx, o, "power", origin, 0.1, 4, &d))) return s;
    c->power = (float)d;
    if ((s = get_num(ctx, o, "log_floor", origin, 1e-30, 1, &d))) return s;
    c->log_floor = (float)d;
    if (c->win_length > c->n_fft || c->fmin >= c->fmax)
        return md_fail(ctx, MD_ERR_MODEL, "%s: mel contract: inconsistent (win_length %d > n_fft %d "
                       "or fmin %g >= fmax %g)", origin, c->win_length, c->n_fft, c->fmin, c->fmax);
    return MD_OK;
}

md_status md_mel_contract_from_json(md_ctx *ctx, const char *json, const char *origin,
                                    md_mel_contract *out)
{
    cJSON *o = json ? cJSON_Parse(json) : NULL;
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return md_fail(ctx, MD_ERR_MODEL, "%s: mel contract is not a JSON object", origin);
    }
    md_mel_contract c;
    memset(&c, 0, sizeof c);
    md_status s = parse_fields(ctx, o, origin, &c);
    cJSON_Delete(o);
    if (s == MD_OK) *out = c;
    return s;
}

/* Floats compare with a relative tolerance: they pass through JSON text. */
static int float_eq(float a, float b) { return fabsf(a - b) <= 1e-6f * fmaxf(fabsf(a), fabsf(b)); }

md_status md_mel_contract_check(md_ctx *ctx, const md_mel_contract *expected,
                                const md_mel_contract *found, const char *origin)
{
#define MD_CHK_INT(f) if (expected->f != found->f) return md_fail(ctx, MD_ERR_MODEL, \
        "%s: mel contract differs: " #f " is %d, features use %d", origin, found->f, expected->f)
#define MD_CHK_STR(f) if (strcmp(expected->f, found->f)) return md_fail(ctx, MD_ERR_MODEL, \
        "%s: mel contract differs: " #f " is '%s', features use '%s'", origin, found->f, expected->f)
#define MD_CHK_FLT(f) if (!float_eq(expected->f, found->f)) return md_fail(ctx, MD_ERR_MODEL, \
        "%s: mel contract differs: " #f " is %g, features use %g", origin, found->f, expected->f)
    MD_CHK_INT(sample_rate);
    MD_CHK_INT(n_fft);
    MD_CHK_INT(hop);
    MD_CHK_INT(win_length);
    MD_CHK_STR(window);
    MD_CHK_INT(center);
    MD_CHK_INT(n_mels);
    MD_CHK_FLT(fmin);
    MD_CHK_FLT(fmax);
    MD_CHK_STR(mel_scale);
    MD_CHK_STR(mel_norm);
    MD_CHK_FLT(power);
    MD_CHK_FLT(log_floor);
#undef MD_CHK_INT
#undef MD_CHK_STR
#undef MD_CHK_FLT
    return MD_OK;
}
