/* safetensors: write/read round trip, and every kind of corruption refused
 * with a message naming the origin. */
#include <string.h>

#include "core/fileout.h"
#include "core/safetensors.h"
#include "test_util.h"

static md_st_writer *sample_writer(md_ctx *ctx)
{
    md_st_writer *w = NULL;
    float a[6] = {1, 2, 3, 4, 5, 6};
    int32_t b[3] = {-1, 0, 7};
    int64_t sa[2] = {2, 3}, sb[1] = {3};
    CHECK(md_st_writer_create(ctx, &w) == MD_OK);
    CHECK(md_st_writer_add(ctx, w, "layer.weight", MD_ST_F32, 2, sa, a) == MD_OK);
    CHECK(md_st_writer_add(ctx, w, "ids", MD_ST_I32, 1, sb, b) == MD_OK);
    CHECK(md_st_writer_meta(ctx, w, "kind", "unet") == MD_OK);
    return w;
}

static void test_roundtrip(md_ctx *ctx)
{
    md_st_writer *w = sample_writer(ctx);
    unsigned char *bytes;
    size_t len;
    CHECK(md_st_writer_serialize(ctx, w, &bytes, &len) == MD_OK);
    CHECK(((bytes[0] | bytes[1] << 8) % 8) == 0);
    md_st_file *f = NULL;
    CHECK(md_st_open_memory(ctx, bytes, len, "mem", MD_ERR_MODEL, &f) == MD_OK);
    if (f) {
        CHECK(md_st_count(f) == 2);
        const md_st_tensor *t = NULL;
        int64_t want[2] = {2, -1};
        CHECK(md_st_expect(ctx, f, "layer.weight", MD_ST_F32, 2, want, &t) == MD_OK);
        CHECK(t && ((const float *)t->data)[5] == 6.0f);
        CHECK(((uintptr_t)t->data % 16) == 0);
        CHECK(strcmp(md_st_meta(f, "kind"), "unet") == 0);
        CHECK(md_st_meta(f, "absent") == NULL);
        int64_t wrong[2] = {3, 2};
        CHECK(md_st_expect(ctx, f, "layer.weight", MD_ST_F32, 2, wrong, NULL) == MD_ERR_MODEL);
        CHECK(strstr(md_ctx_error(ctx), "mem: tensor 'layer.weight' has shape [2, 3], expected [3, 2]") != NULL);
        CHECK(md_st_expect(ctx, f, "ids", MD_ST_F32, 1, want, NULL) == MD_ERR_MODEL);
        CHECK(md_st_expect(ctx, f, "nope", MD_ST_F32, 1, want, NULL) == MD_ERR_MODEL);
        md_st_close(f);
    }
    /* Every truncation is refused, never read past the end. */
    for (size_t cut = 0; cut < len; cut++) {
        f = NULL;
        md_status s = md_st_open_memory(ctx, bytes, cut, "cut", MD_ERR_MODEL, &f);
        CHECK_MSG(s == MD_ERR_MODEL && f == NULL, "truncated to %zu bytes accepted", cut);
        CHECK(strncmp(md_ctx_error(ctx), "cut: ", 5) == 0);
        md_st_close(f);
    }
    free(bytes);
    md_st_writer_destroy(w);
}

static md_status open_header(md_ctx *ctx, const char *json, size_t data_len)
{
    size_t hl = strlen(json);
    unsigned char *b = calloc(1, 8 + hl + data_len);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memcpy(b + 8, json, hl);
    md_st_file *f = NULL;
    md_status s = md_st_open_memory(ctx, b, 8 + hl + data_len, "bad.safetensors", MD_ERR_MODEL, &f);
    md_st_close(f);
    free(b);
    return s;
}

static void test_corruptions(md_ctx *ctx)
{
    CHECK(open_header(ctx, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8) == MD_OK);
    /* wrong byte count for shape */
    CHECK(open_header(ctx, "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8) == MD_ERR_MODEL);
    /* offset past end */
    CHECK(open_header(ctx, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 8) == MD_ERR_MODEL);
    CHECK(strstr(md_ctx_error(ctx), "bad.safetensors") != NULL);
    /* overlap */
    CHECK(open_header(ctx, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                           "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8) == MD_ERR_MODEL);
    CHECK(strstr(md_ctx_error(ctx), "overlap") != NULL);
    /* unknown dtype, negative and fractional numbers, non-string metadata, bad JSON */
    CHECK(open_header(ctx, "{\"a\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8) == MD_ERR_MODEL);
    CHECK(open_header(ctx, "{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8) == MD_ERR_MODEL);
    CHECK(open_header(ctx, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0.5,8]}}", 8) == MD_ERR_MODEL);
    CHECK(open_header(ctx, "{\"__metadata__\":{\"k\":3}}", 0) == MD_ERR_MODEL);
    CHECK(open_header(ctx, "{\"a\":", 0) == MD_ERR_MODEL);
    /* found by fuzzing: a second __metadata__ leaked the first */
    CHECK(open_header(ctx, "{\"__metadata__\":{\"k\":\"v\"},\"__metadata__\":{\"k\":\"w\"}}", 0) == MD_ERR_MODEL);
    CHECK(open_header(ctx, "[1, 2]", 0) == MD_ERR_MODEL);
    /* a shape whose product overflows */
    CHECK(open_header(ctx, "{\"a\":{\"dtype\":\"F64\",\"shape\":[1099511627776,1099511627776],\"data_offsets\":[0,8]}}", 8) == MD_ERR_MODEL);
}

static void test_files(md_ctx *ctx)
{
    char path[512];
    snprintf(path, sizeof path, "%s/core_st_test.safetensors", MD_TEST_TMP);
    remove(path);
    md_st_writer *w = sample_writer(ctx);
    CHECK(md_st_writer_save(ctx, w, path, 0) == MD_OK);
    CHECK(md_st_writer_save(ctx, w, path, 0) == MD_ERR_IO); /* no overwrite without force */
    CHECK(strstr(md_ctx_error(ctx), "already exists") != NULL);
    CHECK(md_st_writer_save(ctx, w, path, 1) == MD_OK);
    md_st_writer_destroy(w);
    md_st_file *f = NULL;
    CHECK(md_st_open(ctx, path, MD_ERR_MODEL, 1 << 20, &f) == MD_OK);
    md_st_close(f);
    CHECK(md_st_open(ctx, path, MD_ERR_MODEL, 16, &f) == MD_ERR_MODEL); /* over the size cap */
    CHECK(md_st_open(ctx, "/nonexistent/x.safetensors", MD_ERR_MODEL, 1 << 20, &f) == MD_ERR_MODEL);
    CHECK(strstr(md_ctx_error(ctx), "/nonexistent/x.safetensors: cannot open") != NULL);
    remove(path);
}

int main(void)
{
    md_ctx *ctx = NULL;
    md_ctx_create(&ctx);
    test_roundtrip(ctx);
    test_corruptions(ctx);
    test_files(ctx);
    md_ctx_destroy(ctx);
    return md_test_finish();
}
