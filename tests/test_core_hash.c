/* SHA-256 against the FIPS 180-2 example digests. */
#include <string.h>

#include "core/fileout.h"
#include "core/hash.h"
#include "test_util.h"

int main(void)
{
    char hex[65];
    md_sha256_hex("abc", 3, hex);
    CHECK(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
    md_sha256_hex("", 0, hex);
    CHECK(strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);
    md_ctx *ctx = NULL;
    md_ctx_create(&ctx);
    char path[512];
    snprintf(path, sizeof path, "%s/hash_test.txt", MD_TEST_TMP);
    CHECK(md_write_file_atomic(ctx, path, 1, "abc", 3) == MD_OK);
    char hex2[65];
    CHECK(md_sha256_file(ctx, path, MD_ERR_INPUT, hex2) == MD_OK);
    CHECK(strcmp(hex2, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
    CHECK(md_sha256_file(ctx, "/nonexistent", MD_ERR_INPUT, hex2) == MD_ERR_INPUT);
    remove(path);
    md_ctx_destroy(ctx);
    return md_test_finish();
}
