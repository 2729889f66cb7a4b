/* Mel contract, filterbank and log-mel against librosa reference values
 * (tests/fixtures/audio/mel_reference.json, from tools/fixtures/gen_mel_fixture.py). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/logmel.h"
#include "audio/melbank.h"
#include "melodiff/mel.h"
#include "test_util.h"

/* Must match test_signal() in tools/fixtures/gen_mel_fixture.py. */
static void make_signal(float *x, size_t n, double sr)
{
    for (size_t i = 0; i < n; i++) {
        double t = (double)i;
        x[i] = (float)(0.5 * sin(2 * M_PI * 440.0 * t / sr) +
                       0.25 * sin(2 * M_PI * 3000.5 * t / sr + 0.3) +
                       0.1 * sin(2 * M_PI * (100.0 + 5000.0 * t / (double)n) * t / sr));
    }
}

static double num(const cJSON *o, const char *k) { return cJSON_GetObjectItem(o, k)->valuedouble; }

static void test_hz_to_mel(const cJSON *arr)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, arr) {
        double hz = num(e, "hz"), sl = num(e, "slaney"), htk = num(e, "htk");
        CHECK_NEAR(md_hz_to_mel(hz, 0), sl, 1e-9 * (1 + fabs(sl)));
        CHECK_NEAR(md_hz_to_mel(hz, 1), htk, 1e-9 * (1 + fabs(htk)));
        CHECK_NEAR(md_mel_to_hz(md_hz_to_mel(hz, 0), 0), hz, 1e-6 * (1 + hz));
        CHECK_NEAR(md_mel_to_hz(md_hz_to_mel(hz, 1), 1), hz, 1e-6 * (1 + hz));
    }
}

static void test_bank(md_ctx *ctx, const cJSON *b)
{
    int sr = (int)num(b, "sr"), n_fft = (int)num(b, "n_fft"), n_mels = (int)num(b, "n_mels");
    int htk = cJSON_IsTrue(cJSON_GetObjectItem(b, "htk"));
    int norm = !strcmp(cJSON_GetObjectItem(b, "norm")->valuestring, "slaney");
    md_melbank *mb = NULL;
    CHECK(md_melbank_create(ctx, sr, n_fft, n_mels, num(b, "fmin"), num(b, "fmax"), htk, norm, &mb) == MD_OK);
    if (!mb) return;
    int bins = n_fft / 2 + 1;
    float *mine = malloc(sizeof(float) * (size_t)bins * n_mels);
    float *ref = calloc((size_t)bins * n_mels, sizeof(float));
    md_melbank_dense(mb, mine);
    const cJSON *rows = cJSON_GetObjectItem(b, "rows"), *r;
    int i = 0;
    float wmax = 0;
    cJSON_ArrayForEach(r, rows) {
        int a = (int)num(r, "start"), k = 0;
        const cJSON *v;
        cJSON_ArrayForEach(v, cJSON_GetObjectItem(r, "values")) {
            ref[(size_t)i * bins + a + k++] = (float)v->valuedouble;
            if (v->valuedouble > wmax) wmax = (float)v->valuedouble;
        }
        i++;
    }
    CHECK(i == n_mels);
    double worst = 0;
    int zero_mismatch = 0;
    for (size_t j = 0; j < (size_t)bins * n_mels; j++) {
        double d = fabs((double)mine[j] - ref[j]) / wmax;
        if (d > worst) worst = d;
        if ((mine[j] == 0) != (ref[j] == 0)) zero_mismatch++;
    }
    CHECK_MSG(worst <= 1e-6, "sr %d n_mels %d htk %d: worst relative diff %g", sr, n_mels, htk, worst);
    CHECK_MSG(zero_mismatch == 0, "%d zero/non-zero mismatches", zero_mismatch);
    /* apply and apply_t agree with the dense matrix */
    float *spec = malloc(sizeof(float) * bins), *mel = malloc(sizeof(float) * n_mels);
    float *back = malloc(sizeof(float) * bins);
    for (int k = 0; k < bins; k++) spec[k] = (float)(1.0 + 0.5 * sin(k * 0.37));
    md_melbank_apply(mb, spec, mel);
    double e1 = 0;
    for (int m = 0; m < n_mels; m++) {
        double acc = 0;
        for (int k = 0; k < bins; k++) acc += (double)ref[(size_t)m * bins + k] * spec[k];
        e1 = fmax(e1, fabs(acc - mel[m]) / (fabs(acc) + 1e-12));
    }
    CHECK_MSG(e1 < 1e-5, "apply relative error %g", e1);
    md_melbank_apply_t(mb, mel, back);
    double e2 = 0;
    for (int k = 0; k < bins; k++) {
        double acc = 0;
        for (int m = 0; m < n_mels; m++) acc += (double)ref[(size_t)m * bins + k] * mel[m];
        e2 = fmax(e2, fabs(acc - back[k]));
    }
    CHECK_MSG(e2 < 1e-5, "apply_t abs error %g", e2);
    free(spec), free(mel), free(back), free(mine), free(ref);
    md_melbank_destroy(mb);
}

static void test_logmel(md_ctx *ctx, const cJSON *lm)
{
    md_mel_contract c;
    md_mel_contract_default(&c);
    size_t n = (size_t)num(lm, "n"), frames = (size_t)num(lm, "frames");
    CHECK(md_mel_frames_for_samples(&c, n) == frames);
    float *x = malloc(sizeof(float) * n), *out = malloc(sizeof(float) * 128 * frames);
    make_signal(x, n, c.sample_rate);
    CHECK(md_logmel_compute(ctx, &c, x, n, out) == MD_OK);
    const cJSON *v;
    size_t j = 0;
    double worst = 0;
    cJSON_ArrayForEach(v, cJSON_GetObjectItem(lm, "values")) {
        /* ln domain: absolute error; generous only where the mel value sits
         * near the 1e-5 floor and float32 FFT noise dominates. */
        double ref = v->valuedouble, d = fabs(ref - out[j++]);
        double tol = ref > -9.0 ? 1e-3 : 5e-2;
        if (d / tol > worst) worst = d / tol;
    }
    CHECK(j == 128 * frames);
    CHECK_MSG(worst <= 1.0, "log-mel differs from librosa: worst error/tolerance %g", worst);
    free(x), free(out);
}

static void test_contract(md_ctx *ctx)
{
    md_mel_contract a, b;
    md_mel_contract_default(&a);
    CHECK(a.sample_rate == 44100 && a.n_fft == 2048 && a.hop == 512 && a.n_mels == 128);
    CHECK_NEAR(md_mel_frame_rate(&a), 44100.0 / 512.0, 1e-12);
    CHECK(md_mel_frames_for_samples(&a, 44100) == 87);
    char *js = md_mel_contract_to_json(&a);
    CHECK(js != NULL);
    CHECK(md_mel_contract_from_json(ctx, js, "x", &b) == MD_OK);
    CHECK(md_mel_contract_check(ctx, &a, &b, "x") == MD_OK);
    CHECK(memcmp(&a, &b, sizeof a) == 0);
    b.hop = 256;
    b.n_mels = 80;
    CHECK(md_mel_contract_check(ctx, &a, &b, "model.safetensors") == MD_ERR_MODEL);
    CHECK_MSG(strstr(md_ctx_error(ctx), "model.safetensors: mel contract differs: hop is 256") != NULL,
              "%s", md_ctx_error(ctx));
    b = a;
    snprintf(b.mel_scale, sizeof b.mel_scale, "htk");
    CHECK(md_mel_contract_check(ctx, &a, &b, "m") == MD_ERR_MODEL);
    CHECK(strstr(md_ctx_error(ctx), "mel_scale") != NULL);
    b = a;
    b.log_floor = 1e-6f;
    CHECK(md_mel_contract_check(ctx, &a, &b, "m") == MD_ERR_MODEL);
    CHECK(strstr(md_ctx_error(ctx), "log_floor") != NULL);
    CHECK(md_mel_contract_from_json(ctx, "{\"sample_rate\":44100}", "f.json", &b) == MD_ERR_MODEL);
    CHECK(strstr(md_ctx_error(ctx), "f.json") != NULL);
    CHECK(md_mel_contract_from_json(ctx, "not json", "f.json", &b) == MD_ERR_MODEL);
    free(js);
}

int main(void)
{
    md_ctx *ctx = NULL;
    md_ctx_create(&ctx);
    char *text = md_test_slurp(MD_SOURCE_DIR "/tests/fixtures/audio/mel_reference.json");
    CHECK(text != NULL);
    cJSON *doc = text ? cJSON_Parse(text) : NULL;
    CHECK(doc != NULL);
    test_contract(ctx);
    if (doc) {
        test_hz_to_mel(cJSON_GetObjectItem(doc, "hz_to_mel"));
        const cJSON *b;
        cJSON_ArrayForEach(b, cJSON_GetObjectItem(doc, "filterbanks")) test_bank(ctx, b);
        test_logmel(ctx, cJSON_GetObjectItem(doc, "logmel"));
    }
    cJSON_Delete(doc);
    free(text);
    md_ctx_destroy(ctx);
    return md_test_finish();
}
