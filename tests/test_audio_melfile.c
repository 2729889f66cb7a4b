/* Mel files (safetensors) and the mel distance. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "audio/meldist.h"
#include "audio/melfile.h"
#include "core/safetensors.h"
#include "test_util.h"

#define DIR MD_TEST_TMP "/melfile"

static void write_raw(md_ctx *ctx, const char *path, const char *kind, const char *version,
                      const char *contract, const float *data, int64_t m, int64_t t)
{
    md_st_writer *w = NULL;
    md_st_writer_create(ctx, &w);
    int64_t shape[2] = {m, t};
    md_st_writer_add(ctx, w, "logmel", MD_ST_F32, 2, shape, data);
    if (kind) md_st_writer_meta(ctx, w, "kind", kind);
    if (version) md_st_writer_meta(ctx, w, "format_version", version);
    if (contract) md_st_writer_meta(ctx, w, "mel_contract", contract);
    CHECK(md_st_writer_save(ctx, w, path, 1) == MD_OK);
    md_st_writer_destroy(w);
}

int main(void)
{
    md_ctx *ctx = NULL;
    md_ctx_create(&ctx);
    mkdir(MD_TEST_TMP, 0755);
    mkdir(DIR, 0755);
    md_mel_contract c, r;
    md_mel_contract_default(&c);
    const size_t T = 7;
    float *lm = malloc(sizeof(float) * 128 * T), *back = NULL;
    for (size_t i = 0; i < 128 * T; i++) lm[i] = (float)(-5.0 + 0.001 * (double)i); /* an 8 dB range: all above the 80 dB floor */
    const char *p = DIR "/a.mel.safetensors";
    remove(p);
    CHECK(md_melfile_write(ctx, p, &c, lm, T, "test", 0) == MD_OK);
    CHECK(md_melfile_write(ctx, p, &c, lm, T, "test", 0) == MD_ERR_IO); /* exists */
    size_t frames = 0;
    CHECK(md_melfile_read(ctx, p, &r, &back, &frames) == MD_OK);
    CHECK(frames == T && back && !memcmp(back, lm, sizeof(float) * 128 * T));
    CHECK(md_mel_contract_check(ctx, &c, &r, p) == MD_OK);
    free(back);
    back = NULL;

    char *cj = md_mel_contract_to_json(&c);
    const char *q = DIR "/bad.mel.safetensors";
    write_raw(ctx, q, "unet", "1", cj, lm, 128, (int64_t)T);
    CHECK(md_melfile_read(ctx, q, &r, &back, &frames) == MD_ERR_INPUT);
    CHECK(strstr(md_ctx_error(ctx), "not a melodiff mel file") != NULL);
    write_raw(ctx, q, "logmel", "2", cj, lm, 128, (int64_t)T);
    CHECK(md_melfile_read(ctx, q, &r, &back, &frames) == MD_ERR_INPUT);
    CHECK(strstr(md_ctx_error(ctx), "format_version") != NULL);
    write_raw(ctx, q, "logmel", "1", NULL, lm, 128, (int64_t)T);
    CHECK(md_melfile_read(ctx, q, &r, &back, &frames) == MD_ERR_MODEL);
    write_raw(ctx, q, "logmel", "1", cj, lm, 64, (int64_t)(2 * T)); /* 64 rows, contract says 128 */
    CHECK(md_melfile_read(ctx, q, &r, &back, &frames) == MD_ERR_INPUT);
    lm[5] = NAN;
    write_raw(ctx, q, "logmel", "1", cj, lm, 128, (int64_t)T);
    CHECK(md_melfile_read(ctx, q, &r, &back, &frames) == MD_ERR_INPUT);
    CHECK(strstr(md_ctx_error(ctx), "not finite") != NULL);
    lm[5] = -3.0f;
    CHECK(back == NULL);

    /* mel distance: zero for identical input, 20 dB for a 10x magnitude
     * ratio everywhere, compared over the shorter file */
    float *b = malloc(sizeof(float) * 128 * (T + 3));
    for (int m = 0; m < 128; m++)
        for (size_t t = 0; t < T + 3; t++) b[(size_t)m * (T + 3) + t] = lm[(size_t)m * T + (t < T ? t : 0)];
    md_meldist d;
    md_meldist_compute(lm, T, b, T + 3, 128, &d);
    CHECK(d.frames == T && d.lsd_db == 0.0 && d.mean_abs_db == 0.0);
    for (size_t i = 0; i < 128 * (T + 3); i++) b[i] -= (float)M_LN10;
    md_meldist_compute(lm, T, b, T + 3, 128, &d);
    CHECK_NEAR(d.lsd_db, 20.0, 1e-3);
    CHECK_NEAR(d.mean_abs_db, 20.0, 1e-3);
    free(b), free(cj), free(lm);
    md_ctx_destroy(ctx);
    return md_test_finish();
}
