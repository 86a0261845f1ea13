/* Everything in the sign module that needs OpenSSL's EVP layer: making, loading and checking
 * RSA-3072 keys with e = 3 (the keys SGX's MRSIGNER and Graphene's signer use), and signing and
 * verifying with RSASSA-PKCS1-v1_5 over SHA-256. EVP starts by loading openssl.cnf and its
 * providers; every function here starts OpenSSL without the configuration first, so that a
 * host's openssl.cnf can neither change nor break what is signed, and so that no one on the
 * run path pays for it: only signing tools and SGX-mode checks come here. OpenSSL's error
 * queue is emptied before returning, so that errors from one call do not surface in another. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sign/sign-internal.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#define WANT "lamina signs with RSA-3072 keys with public exponent 3"

DEFINE_CLEANUP_FUNC(bn_freep, BIGNUM, BN_free)
DEFINE_CLEANUP_FUNC(bio_freep, BIO, BIO_free)
DEFINE_CLEANUP_FUNC(pkey_freep, EVP_PKEY, EVP_PKEY_free)
DEFINE_CLEANUP_FUNC(pkey_ctx_freep, EVP_PKEY_CTX, EVP_PKEY_CTX_free)
DEFINE_CLEANUP_FUNC(param_bld_freep, OSSL_PARAM_BLD, OSSL_PARAM_BLD_free)
DEFINE_CLEANUP_FUNC(params_freep, OSSL_PARAM, OSSL_PARAM_free)

static void ossl_freep(char **p)
{
        OPENSSL_free(*p);
}

static int crypto_init(void)
{
        /* Idempotent, and cheap after the first call. Without config, OpenSSL uses its built-in
         * default provider, which is what a static libcrypto carries anyway. */
        return OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL) == 1 ? 0 : -ENOMEM;
}

/* The errno for an OpenSSL failure that was not the input's fault: its error queue says
 * whether memory ran out; anything else is reported as an I/O error of the library. */
static int ossl_error(void)
{
        unsigned long e = ERR_peek_last_error();
        int r = ERR_GET_REASON(e) == ERR_R_MALLOC_FAILURE ? -ENOMEM : -EIO;

        ERR_clear_error();
        return r;
}

/* Refuses, with a message, any key that is not RSA-3072 with e = 3; else gives its modulus. */
static int check_key(EVP_PKEY *pkey, const char *path, uint8_t ret_modulus[SIGN_MODULUS_SIZE],
                     char *err, size_t err_size)
{
        _cleanup_(bn_freep) BIGNUM *n = NULL;
        _cleanup_(bn_freep) BIGNUM *e = NULL;
        _cleanup_(ossl_freep) char *e_text = NULL;
        int bits;

        /* RSA-PSS keys are refused too: their parameters forbid the PKCS#1 v1.5 padding that
         * the format uses. */
        if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) {
                const char *type = EVP_PKEY_get0_type_name(pkey);
                return err_fail(err, err_size, -EINVAL, "key '%s' is not an RSA key (%s)", path,
                                type ? type : "of an unknown type");
        }
        bits = EVP_PKEY_get_bits(pkey);
        if (bits != SIGN_KEY_BITS)
                return err_fail(err, err_size, -EINVAL, "key '%s' is RSA-%d; " WANT, path, bits);
        if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
            EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) != 1)
                return ossl_error();
        if (!BN_is_word(e, SIGN_EXPONENT)) {
                e_text = BN_bn2dec(e);
                if (!e_text)
                        return ossl_error();
                return err_fail(err, err_size, -EINVAL,
                                "key '%s' is RSA-3072 with public exponent %s; " WANT, path,
                                e_text);
        }
        if (BN_bn2binpad(n, ret_modulus, SIGN_MODULUS_SIZE) != SIGN_MODULUS_SIZE)
                return ossl_error();
        return 0;
}

/* OpenSSL's default passphrase callback would read the terminal; lamina never prompts. */
static int no_passphrase(char *buf, int size, int rwflag, void *userdata)
{
        (void)buf, (void)size, (void)rwflag;
        *(bool *)userdata = true;
        return -1;
}

/* Reads a key file of at most SIGN_KEY_SIZE_MAX bytes into a buffer that is wiped when done.
 * private_only: the file must be ours alone and no symlink. */
static int read_key_file(const char *path, bool private_only, sign_secret_t *ret, char *err,
                         size_t err_size)
{
        _cleanup_close_ int fd = -1;
        sign_secret_t buf = {0};
        struct stat st;
        size_t size;
        int r;

        /* O_NONBLOCK: a FIFO put where a key should be must not hang the signer at open(). */
        fd = open(path,
                  O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | (private_only ? O_NOFOLLOW : 0));
        if (fd < 0 && errno == ELOOP && private_only)
                return err_fail(err, err_size, -ELOOP,
                                "key '%s' is a symbolic link: lamina loads a private key only "
                                "from the file itself",
                                path);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return err_fail(err, err_size, -EINVAL, "key '%s' is not a regular file", path);
        if (private_only && (st.st_mode & 077))
                return err_fail(err, err_size, -EPERM,
                                "key file '%s' may be %s by others (mode %04o): chmod 600 it", path,
                                st.st_mode & 044 ? "read" : "written",
                                (unsigned)(st.st_mode & 07777));
        buf.size = SIGN_KEY_SIZE_MAX + 1;
        buf.data = malloc(buf.size);
        if (!buf.data)
                return -ENOMEM;
        r = sign_read_fd(fd, buf.data, buf.size, &size);
        if (r < 0) {
                sign_secret_done(&buf);
                return r;
        }
        if (size > SIGN_KEY_SIZE_MAX) {
                sign_secret_done(&buf);
                return err_fail(err, err_size, -EFBIG, "key '%s' is larger than %d KiB", path,
                                SIGN_KEY_SIZE_MAX / 1024);
        }
        ret->data = buf.data;
        ret->size = size;
        /* Only the bytes read are wiped later: the rest of the buffer never held anything. */
        return 0;
}

/* One PEM reader over buf: PEM_read_bio_PUBKEY takes "PUBLIC KEY" and "RSA PUBLIC KEY" but not
 * a private key, which needs PEM_read_bio_PrivateKey, on a BIO of its own. *ret is NULL when
 * buf holds no key of that kind; *asked is set when the key wanted a passphrase. */
static int pem_read(const sign_secret_t *buf, bool public, EVP_PKEY **ret, bool *asked)
{
        _cleanup_(bio_freep) BIO *bio = BIO_new_mem_buf(buf->data, (int)buf->size);

        if (!bio)
                return ossl_error();
        *ret = public ? PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, asked)
                      : PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, asked);
        ERR_clear_error();
        return 0;
}

/* Reads the private key in buf, or with public_too a public key as well. */
static int read_pem(const sign_secret_t *buf, const char *path, bool public_too, EVP_PKEY **ret,
                    char *err, size_t err_size)
{
        bool asked = false;
        int r;

        *ret = NULL;
        if (public_too) {
                r = pem_read(buf, true, ret, &asked);
                if (r < 0)
                        return r;
        }
        if (!*ret) {
                r = pem_read(buf, false, ret, &asked);
                if (r < 0)
                        return r;
        }
        if (*ret)
                return 0;
        if (asked)
                return err_fail(err, err_size, -EINVAL,
                                "key '%s' is encrypted; lamina does not ask for passphrases (%s)",
                                path,
                                public_too ? "give it the public key"
                                           : "keep the key file mode 0600 instead");
        return err_fail(err, err_size, -EINVAL, "key '%s' is not a PEM %s key", path,
                        public_too ? "public or private" : "private");
}

/* Signs the SHA-256 digest of bytes with PKCS#1 v1.5 padding. */
static int rsa_sign(EVP_PKEY *pkey, const uint8_t *bytes, size_t size,
                    uint8_t ret[SIGN_MODULUS_SIZE])
{
        _cleanup_(pkey_ctx_freep) EVP_PKEY_CTX *ctx = NULL;
        uint8_t digest[SIGN_HASH_SIZE];
        size_t sig_size = SIGN_MODULUS_SIZE;

        sign_sha256(bytes, size, digest);
        ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
        if (!ctx || EVP_PKEY_sign_init(ctx) != 1 ||
            EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1 ||
            EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) != 1 ||
            EVP_PKEY_sign(ctx, ret, &sig_size, digest, sizeof(digest)) != 1)
                return ossl_error();
        if (sig_size != SIGN_MODULUS_SIZE)
                return -EIO;
        return 0;
}

/* 1 when signature is modulus's (e = 3) PKCS#1 v1.5 signature of bytes' SHA-256, 0 when not,
 * -ENOMEM. */
static int rsa_verify(const uint8_t modulus[SIGN_MODULUS_SIZE], const uint8_t *bytes, size_t size,
                      const uint8_t signature[SIGN_MODULUS_SIZE])
{
        _cleanup_(param_bld_freep) OSSL_PARAM_BLD *bld = NULL;
        _cleanup_(params_freep) OSSL_PARAM *params = NULL;
        _cleanup_(bn_freep) BIGNUM *n = NULL;
        _cleanup_(bn_freep) BIGNUM *e = NULL;
        _cleanup_(pkey_ctx_freep) EVP_PKEY_CTX *key_ctx = NULL;
        _cleanup_(pkey_ctx_freep) EVP_PKEY_CTX *ctx = NULL;
        _cleanup_(pkey_freep) EVP_PKEY *pkey = NULL;
        uint8_t digest[SIGN_HASH_SIZE];
        int r;

        bld = OSSL_PARAM_BLD_new();
        n = BN_bin2bn(modulus, SIGN_MODULUS_SIZE, NULL);
        e = BN_new();
        if (!bld || !n || !e || BN_set_word(e, SIGN_EXPONENT) != 1 ||
            OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
            OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1)
                return ossl_error() == -ENOMEM ? -ENOMEM : 0;
        params = OSSL_PARAM_BLD_to_param(bld);
        key_ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
        if (!params || !key_ctx || EVP_PKEY_fromdata_init(key_ctx) != 1 ||
            EVP_PKEY_fromdata(key_ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
                return ossl_error() == -ENOMEM ? -ENOMEM : 0;
        sign_sha256(bytes, size, digest);
        ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
        if (!ctx || EVP_PKEY_verify_init(ctx) != 1 ||
            EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1 ||
            EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) != 1)
                return ossl_error() == -ENOMEM ? -ENOMEM : 0;
        /* OpenSSL re-encodes the expected DigestInfo and compares it whole (and refuses a
         * signature not below the modulus): with e = 3, a parser that skipped bytes would let
         * anyone forge signatures (Bleichenbacher, 2006). */
        r = EVP_PKEY_verify(ctx, signature, SIGN_MODULUS_SIZE, digest, sizeof(digest));
        ERR_clear_error();
        return r == 1;
}

int sign_key_generate(const char *path, char *err, size_t err_size)
{
        _cleanup_(pkey_ctx_freep) EVP_PKEY_CTX *ctx = NULL;
        _cleanup_(pkey_freep) EVP_PKEY *pkey = NULL;
        _cleanup_(bn_freep) BIGNUM *e = NULL;
        _cleanup_(bio_freep) BIO *pem = NULL;
        const char *slash = strrchr(path, '/'), *name = slash ? slash + 1 : path;
        struct stat st;
        char *data;
        long size;
        int r;

        err_clear(err, err_size);
        if (path[0] == '\0')
                return -ENOENT;
        if (name[0] == '\0' || STREQ(name, ".") || STREQ(name, ".."))
                return -EISDIR;
        r = sign_mkdir_parents(path);
        if (r < 0)
                return r;
        /* Asked first so that a mistyped path costs no key generation; the link at the end
         * decides, should the file appear meanwhile. A dangling symlink counts as a file. */
        if (fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) == 0)
                return err_fail(err, err_size, -EEXIST,
                                "'%s' exists: lamina gen-key does not overwrite a key", path);
        if (errno != ENOENT)
                return -errno;

        r = crypto_init();
        if (r < 0)
                return r;
        ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
        e = BN_new();
        if (!ctx || !e || BN_set_word(e, SIGN_EXPONENT) != 1 || EVP_PKEY_keygen_init(ctx) != 1 ||
            EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, SIGN_KEY_BITS) != 1 ||
            EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, e) != 1 || EVP_PKEY_generate(ctx, &pkey) != 1)
                return ossl_error();
        /* Secure memory BIO: its buffer is wiped when freed, and when it grows. */
        pem = BIO_new(BIO_s_secmem());
        if (!pem || PEM_write_bio_PrivateKey(pem, pkey, NULL, NULL, 0, NULL, NULL) != 1)
                return ossl_error();
        size = BIO_get_mem_data(pem, &data);
        if (size <= 0)
                return -EIO;
        r = sign_write_file(path, data, (size_t)size, 0600, false);
        if (r == -EEXIST)
                return err_fail(err, err_size, -EEXIST,
                                "'%s' exists: lamina gen-key does not overwrite a key", path);
        return r;
}

int sign_key_load(const char *path, sign_key_t **ret, char *err, size_t err_size)
{
        _cleanup_(sign_secret_done) sign_secret_t buf = {0};
        _cleanup_(pkey_freep) EVP_PKEY *pkey = NULL;
        _cleanup_(sign_key_freep) sign_key_t *k = NULL;
        uint8_t probe[SIGN_HASH_SIZE] = "lamina: does this key sign?";
        uint8_t signature[SIGN_MODULUS_SIZE];
        int r;

        err_clear(err, err_size);
        r = read_key_file(path, true, &buf, err, err_size);
        if (r < 0)
                return r;
        r = crypto_init();
        if (r < 0)
                return r;
        r = read_pem(&buf, path, false, &pkey, err, err_size);
        if (r < 0)
                return r;
        k = calloc(1, sizeof(*k));
        if (!k)
                return -ENOMEM;
        r = check_key(pkey, path, k->modulus, err, err_size);
        if (r < 0)
                return r;
        sign_sha256(k->modulus, SIGN_MODULUS_SIZE, k->signer);
        /* A key whose private part does not belong to its public part makes signatures that
         * nobody can verify; one signature (a few ms) finds out now rather than after the
         * signature is shipped. EVP_PKEY_pairwise_check() would also test p and q for
         * primality, which costs a hundred times more. */
        r = rsa_sign(pkey, probe, sizeof(probe), signature);
        if (r < 0)
                return r;
        r = rsa_verify(k->modulus, probe, sizeof(probe), signature);
        if (r < 0)
                return r;
        if (r == 0)
                return err_fail(err, err_size, -EINVAL,
                                "key '%s' is damaged: its private part does not match its "
                                "public part",
                                path);
        k->pkey = TAKE_PTR(pkey);
        *ret = TAKE_PTR(k);
        return 0;
}

sign_key_t *sign_key_free(sign_key_t *k)
{
        if (!k)
                return NULL;
        /* OpenSSL wipes the private numbers (BN_clear_free) when it frees the key. */
        EVP_PKEY_free(k->pkey);
        free(k);
        return NULL;
}

int sign_key_identity(const char *path, uint8_t ret[SIGN_HASH_SIZE], char *err, size_t err_size)
{
        _cleanup_(sign_secret_done) sign_secret_t buf = {0};
        _cleanup_(pkey_freep) EVP_PKEY *pkey = NULL;
        uint8_t modulus[SIGN_MODULUS_SIZE];
        int r;

        err_clear(err, err_size);
        r = read_key_file(path, false, &buf, err, err_size);
        if (r < 0)
                return r;
        r = crypto_init();
        if (r < 0)
                return r;
        r = read_pem(&buf, path, true, &pkey, err, err_size);
        if (r < 0)
                return r;
        r = check_key(pkey, path, modulus, err, err_size);
        if (r < 0)
                return r;
        sign_sha256(modulus, SIGN_MODULUS_SIZE, ret);
        return 0;
}

int sign_sig_create(const sign_key_t *key, const uint8_t measurement[SIGN_HASH_SIZE],
                    uint16_t isvprodid, uint16_t isvsvn, bool debug, uint32_t date, sign_sig_t *ret)
{
        sign_sig_t sig = {.isvprodid = isvprodid, .isvsvn = isvsvn, .debug = debug, .date = date};
        uint8_t bytes[SIGN_FILE_SIZE];
        int r;

        if (!key || !key->pkey || !measurement || !ret || !sign_date_valid(date))
                return -EINVAL;
        r = crypto_init();
        if (r < 0)
                return r;
        memcpy(sig.measurement, measurement, SIGN_HASH_SIZE);
        memcpy(sig.modulus, key->modulus, SIGN_MODULUS_SIZE);
        memcpy(sig.signer, key->signer, SIGN_HASH_SIZE);
        sign_sig_encode(&sig, bytes);
        r = rsa_sign(key->pkey, bytes, SIGN_SIGNED_SIZE, sig.signature);
        if (r < 0)
                return r;
        /* Checked as a verifier will: a signature that does not verify is never handed out. */
        r = rsa_verify(sig.modulus, bytes, SIGN_SIGNED_SIZE, sig.signature);
        if (r < 0)
                return r;
        if (r == 0)
                return -EIO;
        *ret = sig;
        return 0;
}

int sign_sig_verify(const sign_sig_t *sig)
{
        uint8_t bytes[SIGN_FILE_SIZE], identity[SIGN_HASH_SIZE];
        int r;

        /* sig may not come from sign_sig_parse(): the identity that trust is decided on must be
         * the key that signed, here too. */
        sign_sha256(sig->modulus, SIGN_MODULUS_SIZE, identity);
        if (memcmp(identity, sig->signer, SIGN_HASH_SIZE) != 0)
                return -EBADMSG;
        if (!(sig->modulus[0] & 0x80) || !(sig->modulus[SIGN_MODULUS_SIZE - 1] & 1))
                return -EBADMSG;
        r = crypto_init();
        if (r < 0)
                return r;
        sign_sig_encode(sig, bytes);
        r = rsa_verify(sig->modulus, bytes, SIGN_SIGNED_SIZE, sig->signature);
        if (r < 0)
                return r;
        return r == 1 ? 0 : -EBADMSG;
}
