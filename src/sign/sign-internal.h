/* What the sign module's .c files share and nobody else sees: the key handle, the SHA-256 used
 * for identities and signed bytes, error messages, and the file helpers (bounded reads, and
 * writes that appear whole or not at all). sign.h is the module's only public face. */
#pragma once

/* SHA-256 through OpenSSL's low-level functions, as in store/store-internal.h: parsing a .sig
 * (which hashes the modulus) must not pay for EVP's provider and configuration loading. */
#define OPENSSL_API_COMPAT 10101
#include <openssl/sha.h>
#include <openssl/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "shared/err.h"
#include "shared/macro.h"
#include "sign/sign.h"

struct sign_key {
        EVP_PKEY *pkey;
        uint8_t modulus[SIGN_MODULUS_SIZE];
        uint8_t signer[SIGN_HASH_SIZE];
};

static inline void sign_sha256(const void *data, size_t size, uint8_t out[SIGN_HASH_SIZE])
{
        SHA256_CTX ctx;

        SHA256_Init(&ctx);
        SHA256_Update(&ctx, data, size);
        SHA256_Final(out, &ctx);
}

/* Reads from fd until end of file or until buf_size bytes are read; *ret_size is the byte
 * count. A count of buf_size means there may be more. */
int sign_read_fd(int fd, uint8_t *buf, size_t buf_size, size_t *ret_size);

/* Makes every missing directory above path's last component, mode 0700. */
int sign_mkdir_parents(const char *path);

/* Writes size bytes as path, mode mode exactly: to a temporary file beside it (fsync'd), then
 * rename()d over path when replace, else linked without replacing anything (-EEXIST). */
int sign_write_file(const char *path, const void *data, size_t size, mode_t mode, bool replace);

/* Buffers that held key material are wiped before they are freed. */
typedef struct sign_secret {
        uint8_t *data;
        size_t size; /* allocated */
} sign_secret_t;
void sign_secret_done(sign_secret_t *s);
