/* SHA-256 through OpenSSL's EVP interface. */
#include "core/hash.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

static void to_hex(const unsigned char *d, unsigned n, char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < n && i < 32; i++) {
        hex[2 * i] = digits[d[i] >> 4];
        hex[2 * i + 1] = digits[d[i] & 15];
    }
    hex[64] = '\0';
}

void md_sha256_hex(const void *data, size_t len, char hex[65])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    EVP_Digest(data, len, d, &n, EVP_sha256(), NULL);
    to_hex(d, n, hex);
}

md_status md_sha256_file(md_ctx *ctx, const char *path, md_status kind, char hex[65])
{
    FILE *f = fopen(path, "rb");
    if (!f) return md_fail(ctx, kind, "%s: cannot open: %s", path, strerror(errno));
    EVP_MD_CTX *h = EVP_MD_CTX_new();
    if (!h || !EVP_DigestInit_ex(h, EVP_sha256(), NULL)) {
        EVP_MD_CTX_free(h);
        fclose(f);
        return md_fail(ctx, MD_ERR_INTERNAL, "sha256: cannot initialise the digest");
    }
    unsigned char buf[1 << 16];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0) EVP_DigestUpdate(h, buf, got);
    int err = ferror(f);
    fclose(f);
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    EVP_DigestFinal_ex(h, d, &n);
    EVP_MD_CTX_free(h);
    if (err) return md_fail(ctx, kind, "%s: read error", path);
    to_hex(d, n, hex);
    return MD_OK;
}
