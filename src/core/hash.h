/* SHA-256 (OpenSSL's libcrypto) of files and buffers, as lower-case hex, for
 * manifests: which input and which model made a render. */
#ifndef MD_CORE_HASH_H
#define MD_CORE_HASH_H

#include <stddef.h>
#include "melodiff/context.h"

void md_sha256_hex(const void *data, size_t len, char hex[65]);

/* Streams the file; errors use status `kind` naming the path. */
md_status md_sha256_file(md_ctx *ctx, const char *path, md_status kind, char hex[65]);

#endif
