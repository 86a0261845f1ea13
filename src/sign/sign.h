/* Signing keys and signature files (.sig), as Graphene's SGX signer made them: an RSA-3072 key
 * with public exponent 3, and a signature over a manifest's measurement with the signer's
 * identity (SHA-256 of the modulus, SGX's MRSIGNER), product id, security version, debug flag
 * and date.
 *
 * Use:
 *   1) sign_key_generate() a new key file, or sign_key_load() one (refused when others may
 *      read it, or when it is not RSA-3072 with e = 3);
 *   2) sign_sig_create() a signature for a measurement; sign_sig_write() it;
 *   3) sign_sig_read() / sign_sig_parse() a .sig, sign_sig_verify() it;
 *   4) sign_key_free().
 * Nothing here prints; failures come back as -errno and, where the input is at fault, a
 * one-line message in err (err_size bytes). err is always a string when err_size > 0: "" when
 * the errno says all there is to say (a failed open or write, no memory).
 *
 * The key functions, sign_sig_create() and sign_sig_verify() use OpenSSL's EVP layer, which
 * costs a few milliseconds to set up on first use: only signing tools and SGX-mode checks call
 * them, never the ordinary run path. They start OpenSSL without reading openssl.cnf, so that a
 * host's configuration cannot change what is made or accepted. Parsing and encoding use no EVP.
 *
 * The .sig format, version 1, 864 bytes, integers little-endian:
 *   0    8    magic "LAMINSIG"
 *   8    4    version (1)
 *   12   4    size of the file (864)
 *   16   32   measurement (SHA-256, see docs/signing.md)
 *   48   384  modulus of the signer's key, big-endian, 3072 bits (top bit set, odd)
 *   432  4    public exponent (3)
 *   436  32   signer identity: SHA-256 of the 384 modulus bytes
 *   468  2    isvprodid
 *   470  2    isvsvn
 *   472  1    flags: bit 0 = debug; other bits 0
 *   473  3    reserved, 0
 *   476  4    date, as the decimal number YYYYMMDD (a real date, years 1970..9999)
 *   480  384  RSASSA-PKCS1-v1_5 signature with SHA-256 over bytes 0..479, big-endian */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIGN_MAGIC        "LAMINSIG"
#define SIGN_VERSION      1
#define SIGN_FILE_SIZE    864
#define SIGN_SIGNED_SIZE  480
#define SIGN_MODULUS_SIZE 384
#define SIGN_HASH_SIZE    32
#define SIGN_EXPONENT     3
#define SIGN_KEY_BITS     3072
#define SIGN_KEY_SIZE_MAX (64 * 1024) /* larger key files are refused unread */
#define SIGN_SIG_READ_MAX 4096        /* sign_sig_read() reads no more than this */

typedef struct sign_key sign_key_t;

typedef struct sign_sig {
        uint8_t measurement[SIGN_HASH_SIZE];
        uint8_t modulus[SIGN_MODULUS_SIZE];
        uint8_t signer[SIGN_HASH_SIZE];
        uint16_t isvprodid, isvsvn;
        bool debug;
        uint32_t date; /* YYYYMMDD */
        uint8_t signature[SIGN_MODULUS_SIZE];
} sign_sig_t;

/* Makes a new RSA-3072 key with e = 3 and writes it as PEM (PKCS#8, unencrypted) to path, mode
 * 0600. The key is written to a temporary file beside path and then linked into place, so
 * path never holds half a key; a file (or symlink) that exists at path is never replaced:
 * -EEXIST, with a message. Makes missing parent directories, mode 0700. -EISDIR when path
 * ends in "/", ".", or "..". Otherwise the errno of what failed, err "". */
int sign_key_generate(const char *path, char *err, size_t err_size);

/* Loads a private key. The file is opened without following a symlink (-ELOOP) and must be a
 * regular file. Errors: -EPERM when the file is readable or writable by group or others,
 * -EFBIG when it is larger than SIGN_KEY_SIZE_MAX, -EINVAL (err says why) when it is not a
 * PEM RSA private key of 3072 bits with e = 3, or is encrypted, or its private part does not
 * match its public part; the open or read errno otherwise. *ret untouched on failure. The
 * bytes read are wiped before returning. */
int sign_key_load(const char *path, sign_key_t **ret, char *err, size_t err_size);

/* Frees k (NULL is fine; the private key is wiped) and returns NULL. */
sign_key_t *sign_key_free(sign_key_t *k);
static inline void sign_key_freep(sign_key_t **k)
{
        sign_key_free(*k);
}

/* The identity of the signer whose key (private or public PEM: "PUBLIC KEY", "RSA PUBLIC KEY",
 * or a private key) is at path: SHA-256 of its modulus. For trusted_signers = ["file:key.pem"].
 * Errors as sign_key_load's, without the permission check (a public key may be public) and
 * following symlinks (public keys are often linked into place). ret untouched on failure. */
int sign_key_identity(const char *path, uint8_t ret[SIGN_HASH_SIZE], char *err, size_t err_size);

/* Signs: fills *ret with every field and the signature. date is YYYYMMDD. The same inputs
 * give the same bytes (PKCS#1 v1.5 is deterministic). -EINVAL when date is not a date (see
 * sign_date_valid()); -ENOMEM or -EIO when OpenSSL fails, and -EIO when the signature made
 * does not verify (a damaged key). *ret untouched on failure. */
int sign_sig_create(const sign_key_t *key, const uint8_t measurement[SIGN_HASH_SIZE],
                    uint16_t isvprodid, uint16_t isvsvn, bool debug, uint32_t date,
                    sign_sig_t *ret);

/* The 864 bytes of a signature (out must hold SIGN_FILE_SIZE bytes). */
void sign_sig_encode(const sign_sig_t *sig, uint8_t out[SIGN_FILE_SIZE]);

/* Writes a signature file (mode 0644, replaced atomically: a temporary file beside path, then
 * rename()). -EISDIR when path ends in "/", ".", or ".."; otherwise the errno of what
 * failed. */
int sign_sig_write(const sign_sig_t *sig, const char *path);

/* Parses size bytes: -EBADMSG with err saying what is wrong. Checked in this order, each with
 * its own message: size, magic, version, the size field, exponent, modulus (3072 bits, odd),
 * signer identity that is not the modulus's hash, flags, reserved bytes, date. Does not
 * check the signature: see sign_sig_verify(). *ret untouched on failure. A signature that
 * parses encodes back to the same bytes. */
int sign_sig_parse(const uint8_t *data, size_t size, sign_sig_t *ret, char *err, size_t err_size);

/* Reads and parses a .sig file (symlinks followed: a .sig holds nothing secret and checks
 * itself). Errors as sign_sig_parse's, with the same messages (they do not name the file: the
 * caller does), also for a file larger than SIGN_SIG_READ_MAX; or the open/read errno, err "".
 * *ret untouched on failure. */
int sign_sig_read(const char *path, sign_sig_t *ret, char *err, size_t err_size);

/* Checks the signature against the modulus it carries, and that signer is the modulus's
 * hash. 0, or -EBADMSG; -ENOMEM when OpenSSL cannot allocate. Whether the signer is trusted
 * is the caller's question. */
int sign_sig_verify(const sign_sig_t *sig);

/* Today's date as YYYYMMDD (UTC), or parses "YYYY-MM-DD" exactly (-EINVAL when it is not a
 * date in years 1970..9999; *ret untouched then). sign_date_valid() says whether YYYYMMDD is
 * such a date. */
uint32_t sign_date_today(void);
int sign_date_parse(const char *s, uint32_t *ret);
bool sign_date_valid(uint32_t date);
