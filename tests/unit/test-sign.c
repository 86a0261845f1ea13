/* Unit tests of signing (src/sign/): key generation and loading with real files in a temporary
 * directory, every refused key with its exact errno and message, identities from private and
 * public keys, signatures made, encoded, parsed and verified, one flipped bit in each region of
 * a .sig (caught by the parser or by verification, as the table says), every parse error with
 * its exact message, files written and read, and dates. One key is generated for the whole
 * group (3072-bit generation takes about a second). The tests run with OPENSSL_CONF naming a
 * configuration that breaks RSA, to show that the module never reads it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "shared/macro.h"
#include "sign/sign.h"

/* For PEM_write_RSAPublicKey (the "RSA PUBLIC KEY" form, deprecated in OpenSSL 3). */
#define OPENSSL_API_COMPAT 10101
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#define DATE 20240115u

static struct {
        char dir[256];           /* removed afterwards */
        char key_path[PATH_MAX]; /* the group's key, in a directory that gen-key made */
        sign_key_t *key;
        sign_sig_t sig; /* made with key over g.measurement, DATE, isvprodid 0x1234, isvsvn 7 */
        uint8_t measurement[SIGN_HASH_SIZE];
} g;

static sign_key_t *const untouched = (sign_key_t *)0x1;

/* ---- helpers ---- */

static const char *path_in(const char *rel)
{
        static char bufs[8][PATH_MAX];
        static int next;
        char *b = bufs[next++ % 8];

        snprintf(b, PATH_MAX, "%s/%s", g.dir, rel);
        return b;
}

static void write_bytes(const char *path, const void *data, size_t size, mode_t mode)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, size), (ssize_t)size);
        assert_int_equal(fchmod(fd, mode), 0);
        close(fd);
}

static size_t read_bytes(const char *path, uint8_t *buf, size_t size)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n;

        assert_true(fd >= 0);
        n = read(fd, buf, size);
        close(fd);
        assert_true(n >= 0);
        return (size_t)n;
}

static mode_t mode_of(const char *path)
{
        struct stat st;

        assert_int_equal(lstat(path, &st), 0);
        return st.st_mode;
}

/* Writes a private key (unencrypted PEM, PKCS#8), or an encrypted one with a passphrase. */
static void write_private(const char *path, EVP_PKEY *pkey, mode_t mode, const char *passphrase)
{
        FILE *f = fopen(path, "we");

        assert_non_null(f);
        if (passphrase)
                assert_int_equal(PEM_write_PrivateKey(f, pkey, EVP_aes_256_cbc(),
                                                      (unsigned char *)passphrase,
                                                      (int)strlen(passphrase), NULL, NULL),
                                 1);
        else
                assert_int_equal(PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL), 1);
        fclose(f);
        assert_int_equal(chmod(path, mode), 0);
}

static void write_public(const char *path, EVP_PKEY *pkey, bool pkcs1)
{
        FILE *f = fopen(path, "we");

        assert_non_null(f);
        if (pkcs1)
                assert_int_equal(PEM_write_RSAPublicKey(f, EVP_PKEY_get0_RSA(pkey)), 1);
        else
                assert_int_equal(PEM_write_PUBKEY(f, pkey), 1);
        fclose(f);
}

static EVP_PKEY *read_group_key(void)
{
        FILE *f = fopen(g.key_path, "re");
        EVP_PKEY *pkey;

        assert_non_null(f);
        pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        fclose(f);
        assert_non_null(pkey);
        return pkey;
}

/* An RSA key of bits with exponent e, made with OpenSSL's own API. */
static EVP_PKEY *rsa_key(unsigned bits, unsigned long e)
{
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
        BIGNUM *exp = BN_new();
        EVP_PKEY *pkey = NULL;

        assert_non_null(ctx);
        assert_non_null(exp);
        assert_int_equal(BN_set_word(exp, e), 1);
        assert_int_equal(EVP_PKEY_keygen_init(ctx), 1);
        assert_int_equal(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits), 1);
        assert_int_equal(EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, exp), 1);
        assert_int_equal(EVP_PKEY_generate(ctx, &pkey), 1);
        BN_free(exp);
        EVP_PKEY_CTX_free(ctx);
        return pkey;
}

/* The group's key with its private numbers altered (d + 2, and qInv + 1 so that the CRT path
 * is wrong too): it parses, but does not make signatures its modulus verifies. */
static EVP_PKEY *damaged_key(void)
{
        static const char *const names[] = {
                OSSL_PKEY_PARAM_RSA_N,         OSSL_PKEY_PARAM_RSA_E,
                OSSL_PKEY_PARAM_RSA_D,         OSSL_PKEY_PARAM_RSA_FACTOR1,
                OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
                OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
        };
        EVP_PKEY *good = read_group_key(), *bad = NULL;
        OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
        BIGNUM *bn[ELEMENTSOF(names)] = {0};
        OSSL_PARAM *params;
        EVP_PKEY_CTX *ctx;

        assert_non_null(bld);
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                assert_int_equal(EVP_PKEY_get_bn_param(good, names[i], &bn[i]), 1);
                if (i == 2)
                        assert_int_equal(BN_add_word(bn[i], 2), 1);
                if (i == 7)
                        assert_int_equal(BN_add_word(bn[i], 1), 1);
                assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, names[i], bn[i]), 1);
        }
        params = OSSL_PARAM_BLD_to_param(bld);
        ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
        assert_non_null(params);
        assert_non_null(ctx);
        assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
        assert_int_equal(EVP_PKEY_fromdata(ctx, &bad, EVP_PKEY_KEYPAIR, params), 1);
        EVP_PKEY_CTX_free(ctx);
        OSSL_PARAM_free(params);
        OSSL_PARAM_BLD_free(bld);
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                BN_clear_free(bn[i]);
        EVP_PKEY_free(good);
        return bad;
}

static void load_fails(const char *path, int r, const char *message)
{
        sign_key_t *k = untouched;
        char err[512] = "stale";

        assert_int_equal(sign_key_load(path, &k, err, sizeof(err)), r);
        assert_string_equal(err, message);
        assert_ptr_equal(k, untouched);
}

static void identity_fails(const char *path, int r, const char *message)
{
        uint8_t id[SIGN_HASH_SIZE], before[SIGN_HASH_SIZE];
        char err[512] = "stale";

        memset(id, 0xa5, sizeof(id));
        memcpy(before, id, sizeof(id));
        assert_int_equal(sign_key_identity(path, id, err, sizeof(err)), r);
        assert_string_equal(err, message);
        assert_memory_equal(id, before, sizeof(id));
}

static const char *msg(const char *fmt, const char *path)
{
        static char buf[1024];

        snprintf(buf, sizeof(buf), fmt, path);
        return buf;
}

static void encoded(const sign_sig_t *sig, uint8_t out[SIGN_FILE_SIZE])
{
        sign_sig_encode(sig, out);
}

static void assert_sig_equal(const sign_sig_t *a, const sign_sig_t *b)
{
        assert_memory_equal(a->measurement, b->measurement, SIGN_HASH_SIZE);
        assert_memory_equal(a->modulus, b->modulus, SIGN_MODULUS_SIZE);
        assert_memory_equal(a->signer, b->signer, SIGN_HASH_SIZE);
        assert_int_equal(a->isvprodid, b->isvprodid);
        assert_int_equal(a->isvsvn, b->isvsvn);
        assert_int_equal(a->debug, b->debug);
        assert_int_equal(a->date, b->date);
        assert_memory_equal(a->signature, b->signature, SIGN_MODULUS_SIZE);
}

/* Parses bytes expecting -EBADMSG and message; *ret must stay untouched. */
static void parse_fails(const uint8_t *bytes, size_t size, const char *message)
{
        sign_sig_t sig, before;
        char err[512] = "stale";

        memset(&sig, 0x5a, sizeof(sig));
        memcpy(&before, &sig, sizeof(sig));
        assert_int_equal(sign_sig_parse(bytes, size, &sig, err, sizeof(err)), -EBADMSG);
        assert_string_equal(err, message);
        assert_memory_equal(&sig, &before, sizeof(sig));
}

/* Entries of a directory other than "." and "..", to see that no temporary file stayed. */
static int entries(const char *path)
{
        DIR *d = opendir(path);
        struct dirent *de;
        int n = 0;

        assert_non_null(d);
        while ((de = readdir(d)))
                n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
        closedir(d);
        return n;
}

/* ---- the group: one key for every test ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st, (void)flag, (void)ftw;
        return remove(path);
}

static int group_setup(void **state)
{
        char err[256];

        (void)state;
        snprintf(g.dir, sizeof(g.dir), "/tmp/test-sign-XXXXXX");
        if (!mkdtemp(g.dir))
                return -1;
        snprintf(g.key_path, sizeof(g.key_path), "%s/keys/key.pem", g.dir);
        if (sign_key_generate(g.key_path, err, sizeof(err)) < 0 ||
            sign_key_load(g.key_path, &g.key, err, sizeof(err)) < 0) {
                fprintf(stderr, "group setup: %s\n", err);
                return -1;
        }
        for (size_t i = 0; i < SIGN_HASH_SIZE; i++)
                g.measurement[i] = (uint8_t)(i * 7 + 1);
        if (sign_sig_create(g.key, g.measurement, 0x1234, 7, false, DATE, &g.sig) < 0)
                return -1;
        return 0;
}

static int group_teardown(void **state)
{
        (void)state;
        g.key = sign_key_free(g.key);
        nftw(g.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        return 0;
}

/* ---- keys ---- */

static void test_generate(void **state)
{
        char err[512] = "stale", head[64] = {0};
        const char *dangling = path_in("dangling.pem");

        (void)state;
        /* The group setup made keys/ (missing until then) and the key in it. */
        assert_int_equal(mode_of(path_in("keys")) & 07777, 0700);
        assert_true(S_ISREG(mode_of(g.key_path)));
        assert_int_equal(mode_of(g.key_path) & 07777, 0600);
        read_bytes(g.key_path, (uint8_t *)head, sizeof(head) - 1);
        assert_true(strncmp(head, "-----BEGIN PRIVATE KEY-----\n", 28) == 0);
        assert_int_equal(entries(path_in("keys")), 1); /* no temporary file left */

        assert_int_equal(sign_key_generate(g.key_path, err, sizeof(err)), -EEXIST);
        assert_string_equal(
                err, msg("'%s' exists: lamina gen-key does not overwrite a key", g.key_path));
        /* A symlink to nowhere is a file that exists: generating must not create its target. */
        assert_int_equal(symlink(path_in("nowhere.pem"), dangling), 0);
        assert_int_equal(sign_key_generate(dangling, err, sizeof(err)), -EEXIST);
        assert_string_equal(err,
                            msg("'%s' exists: lamina gen-key does not overwrite a key", dangling));
        assert_int_equal(access(path_in("nowhere.pem"), F_OK), -1);

        assert_int_equal(sign_key_generate(path_in("keys/"), err, sizeof(err)), -EISDIR);
        assert_string_equal(err, "");
        assert_int_equal(sign_key_generate(path_in("keys/.."), err, sizeof(err)), -EISDIR);
        assert_int_equal(sign_key_generate("", err, sizeof(err)), -ENOENT);
        /* A parent that is a file. */
        assert_int_equal(sign_key_generate(path_in("keys/key.pem/x.pem"), err, sizeof(err)),
                         -ENOTDIR);
        assert_string_equal(err, "");
}

static void test_load(void **state)
{
        sign_key_t *k = NULL;
        char err[512] = "stale";
        sign_sig_t sig;

        (void)state;
        assert_int_equal(sign_key_load(g.key_path, &k, err, sizeof(err)), 0);
        assert_string_equal(err, "");
        assert_non_null(k);
        /* The loaded key signs as the group's key does. */
        assert_int_equal(sign_sig_create(k, g.measurement, 0x1234, 7, false, DATE, &sig), 0);
        assert_sig_equal(&sig, &g.sig);
        assert_null(sign_key_free(k));
        assert_null(sign_key_free(NULL));
}

static void test_load_refused_files(void **state)
{
        EVP_PKEY *pkey = read_group_key();
        const char *p644 = path_in("key-0644.pem"), *p620 = path_in("key-0620.pem");
        const char *link = path_in("key-link.pem"), *big = path_in("big.pem");
        static uint8_t zeros[SIGN_KEY_SIZE_MAX + 1];

        (void)state;
        write_private(p644, pkey, 0644, NULL);
        load_fails(p644, -EPERM,
                   msg("key file '%s' may be read by others (mode 0644): chmod 600 it", p644));
        write_private(p620, pkey, 0620, NULL);
        load_fails(p620, -EPERM,
                   msg("key file '%s' may be written by others (mode 0620): chmod 600 it", p620));
        assert_int_equal(symlink(g.key_path, link), 0);
        load_fails(link, -ELOOP,
                   msg("key '%s' is a symbolic link: lamina loads a private key only from the "
                       "file itself",
                       link));
        load_fails(path_in("keys"), -EINVAL,
                   msg("key '%s' is not a regular file", path_in("keys")));
        load_fails(path_in("missing.pem"), -ENOENT, "");
        write_bytes(big, zeros, sizeof(zeros), 0600);
        load_fails(big, -EFBIG, msg("key '%s' is larger than 64 KiB", big));
        EVP_PKEY_free(pkey);
}

static void test_load_refused_keys(void **state)
{
        const char *rsa2048 = path_in("rsa2048.pem"), *e65537 = path_in("e65537.pem");
        const char *ec = path_in("ec.pem"), *garbage = path_in("garbage.pem");
        const char *empty = path_in("empty.pem"), *pub = path_in("public.pem");
        const char *encrypted = path_in("encrypted.pem"), *damaged = path_in("damaged.pem");
        EVP_PKEY *k2048 = rsa_key(2048, 3), *k65537 = rsa_key(3072, 65537);
        EVP_PKEY *kec = EVP_EC_gen("P-256"), *kgroup = read_group_key(), *kbad = damaged_key();
        static const char text[] = "-----BEGIN PRIVATE KEY-----\nnot base64 at all\n"
                                   "-----END PRIVATE KEY-----\n";

        (void)state;
        assert_non_null(kec);
        write_private(rsa2048, k2048, 0600, NULL);
        load_fails(rsa2048, -EINVAL,
                   msg("key '%s' is RSA-2048; lamina signs with RSA-3072 keys with public "
                       "exponent 3",
                       rsa2048));
        write_private(e65537, k65537, 0600, NULL);
        load_fails(e65537, -EINVAL,
                   msg("key '%s' is RSA-3072 with public exponent 65537; lamina signs with "
                       "RSA-3072 keys with public exponent 3",
                       e65537));
        write_private(ec, kec, 0600, NULL);
        load_fails(ec, -EINVAL, msg("key '%s' is not an RSA key (EC)", ec));
        write_bytes(garbage, text, sizeof(text) - 1, 0600);
        load_fails(garbage, -EINVAL, msg("key '%s' is not a PEM private key", garbage));
        write_bytes(empty, "", 0, 0600);
        load_fails(empty, -EINVAL, msg("key '%s' is not a PEM private key", empty));
        write_public(pub, kgroup, false);
        assert_int_equal(chmod(pub, 0600), 0);
        load_fails(pub, -EINVAL, msg("key '%s' is not a PEM private key", pub));
        write_private(encrypted, kgroup, 0600, "secret");
        load_fails(encrypted, -EINVAL,
                   msg("key '%s' is encrypted; lamina does not ask for passphrases (keep the "
                       "key file mode 0600 instead)",
                       encrypted));
        write_private(damaged, kbad, 0600, NULL);
        load_fails(damaged, -EINVAL,
                   msg("key '%s' is damaged: its private part does not match its public part",
                       damaged));
        EVP_PKEY_free(k2048);
        EVP_PKEY_free(k65537);
        EVP_PKEY_free(kec);
        EVP_PKEY_free(kgroup);
        EVP_PKEY_free(kbad);
}

static void test_identity(void **state)
{
        const char *pub = path_in("id-public.pem"), *pkcs1 = path_in("id-rsa-public.pem");
        const char *ec = path_in("id-ec.pem"), *garbage = path_in("id-garbage.pem");
        const char *open_key = path_in("id-private-0644.pem");
        const char *encrypted = path_in("id-encrypted.pem");
        EVP_PKEY *pkey = read_group_key(), *kec = EVP_EC_gen("P-256");
        uint8_t id[SIGN_HASH_SIZE];
        char err[512] = "stale";

        (void)state;
        assert_non_null(kec);
        assert_int_equal(sign_key_identity(g.key_path, id, err, sizeof(err)), 0);
        assert_string_equal(err, "");
        assert_memory_equal(id, g.sig.signer, SIGN_HASH_SIZE);

        write_public(pub, pkey, false);
        assert_int_equal(chmod(pub, 0644), 0);
        memset(id, 0, sizeof(id));
        assert_int_equal(sign_key_identity(pub, id, err, sizeof(err)), 0);
        assert_memory_equal(id, g.sig.signer, SIGN_HASH_SIZE);

        write_public(pkcs1, pkey, true);
        memset(id, 0, sizeof(id));
        assert_int_equal(sign_key_identity(pkcs1, id, err, sizeof(err)), 0);
        assert_memory_equal(id, g.sig.signer, SIGN_HASH_SIZE);

        /* No permission check: only the public part is used. */
        write_private(open_key, pkey, 0644, NULL);
        memset(id, 0, sizeof(id));
        assert_int_equal(sign_key_identity(open_key, id, err, sizeof(err)), 0);
        assert_memory_equal(id, g.sig.signer, SIGN_HASH_SIZE);

        write_public(ec, kec, false);
        identity_fails(ec, -EINVAL, msg("key '%s' is not an RSA key (EC)", ec));
        write_bytes(garbage, "hello\n", 6, 0644);
        identity_fails(garbage, -EINVAL,
                       msg("key '%s' is not a PEM public or private key", garbage));
        write_private(encrypted, pkey, 0600, "secret");
        identity_fails(encrypted, -EINVAL,
                       msg("key '%s' is encrypted; lamina does not ask for passphrases (give it "
                           "the public key)",
                           encrypted));
        identity_fails(path_in("missing.pem"), -ENOENT, "");
        EVP_PKEY_free(pkey);
        EVP_PKEY_free(kec);
}

/* A configuration that, were it loaded, would leave no RSA implementation (default properties
 * ask for FIPS, and no FIPS provider is loaded). main() names it in OPENSSL_CONF; this test
 * shows that it is in force for whoever loads it, and every other test that signing does
 * not. */
static const char *const g_bad_conf = "openssl_conf = init\n"
                                      "[init]\n"
                                      "alg_section = evp\n"
                                      "[evp]\n"
                                      "default_properties = fips=yes\n";

static void test_host_config_ignored(void **state)
{
        OSSL_LIB_CTX *ctx = OSSL_LIB_CTX_new();
        EVP_PKEY_CTX *pctx;

        (void)state;
        assert_non_null(ctx);
        assert_int_equal(OSSL_LIB_CTX_load_config(ctx, getenv("OPENSSL_CONF")), 1);
        pctx = EVP_PKEY_CTX_new_from_name(ctx, "RSA", NULL);
        assert_true(!pctx || EVP_PKEY_keygen_init(pctx) != 1);
        EVP_PKEY_CTX_free(pctx);
        OSSL_LIB_CTX_free(ctx);
        ERR_clear_error();
        /* The group's key was made and signs under that OPENSSL_CONF. */
        assert_int_equal(sign_sig_verify(&g.sig), 0);
}

/* ---- signatures ---- */

static void test_create_encode_parse(void **state)
{
        uint8_t bytes[SIGN_FILE_SIZE];
        sign_sig_t sig;
        char err[512] = "stale";

        (void)state;
        assert_memory_equal(g.sig.measurement, g.measurement, SIGN_HASH_SIZE);
        assert_int_equal(g.sig.isvprodid, 0x1234);
        assert_int_equal(g.sig.isvsvn, 7);
        assert_false(g.sig.debug);
        assert_int_equal(g.sig.date, DATE);
        assert_true(g.sig.modulus[0] & 0x80);

        encoded(&g.sig, bytes);
        /* The layout, byte by byte where it is not a copy. */
        assert_memory_equal(bytes, "LAMINSIG\1\0\0\0\x60\x03\0\0", 16);
        assert_memory_equal(bytes + 16, g.measurement, SIGN_HASH_SIZE);
        assert_memory_equal(bytes + 48, g.sig.modulus, SIGN_MODULUS_SIZE);
        assert_memory_equal(bytes + 432, "\3\0\0\0", 4);
        assert_memory_equal(bytes + 436, g.sig.signer, SIGN_HASH_SIZE);
        assert_memory_equal(bytes + 468, "\x34\x12\x07\x00\x00\x00\x00\x00", 8);
        assert_int_equal(
                bytes[476] | bytes[477] << 8 | bytes[478] << 16 | (uint32_t)bytes[479] << 24, DATE);
        assert_memory_equal(bytes + 480, g.sig.signature, SIGN_MODULUS_SIZE);

        assert_int_equal(sign_sig_parse(bytes, sizeof(bytes), &sig, err, sizeof(err)), 0);
        assert_string_equal(err, "");
        assert_sig_equal(&sig, &g.sig);

        /* debug is bit 0 of the flags; a debug signature is another signature. */
        sign_sig_t dbg;
        assert_int_equal(sign_sig_create(g.key, g.measurement, 0x1234, 7, true, DATE, &dbg), 0);
        encoded(&dbg, bytes);
        assert_int_equal(bytes[472], 1);
        assert_memory_not_equal(dbg.signature, g.sig.signature, SIGN_MODULUS_SIZE);
        assert_int_equal(sign_sig_parse(bytes, sizeof(bytes), &sig, err, sizeof(err)), 0);
        assert_true(sig.debug);
        assert_int_equal(sign_sig_verify(&sig), 0);
}

static void test_deterministic(void **state)
{
        uint8_t a[SIGN_FILE_SIZE], b[SIGN_FILE_SIZE];
        sign_sig_t s1, s2;

        (void)state;
        assert_int_equal(sign_sig_create(g.key, g.measurement, 1, 2, false, DATE, &s1), 0);
        assert_int_equal(sign_sig_create(g.key, g.measurement, 1, 2, false, DATE, &s2), 0);
        encoded(&s1, a);
        encoded(&s2, b);
        assert_memory_equal(a, b, SIGN_FILE_SIZE);
        assert_int_equal(sign_sig_create(g.key, g.measurement, 1, 3, false, DATE, &s2), 0);
        assert_memory_not_equal(s1.signature, s2.signature, SIGN_MODULUS_SIZE);
}

static void test_create_refused(void **state)
{
        sign_sig_t sig, before;

        (void)state;
        memset(&sig, 0x5a, sizeof(sig));
        memcpy(&before, &sig, sizeof(sig));
        assert_int_equal(sign_sig_create(g.key, g.measurement, 0, 0, false, 20230229, &sig),
                         -EINVAL);
        assert_int_equal(sign_sig_create(g.key, g.measurement, 0, 0, false, 0, &sig), -EINVAL);
        assert_int_equal(sign_sig_create(NULL, g.measurement, 0, 0, false, DATE, &sig), -EINVAL);
        assert_memory_equal(&sig, &before, sizeof(sig));
}

static void test_verify(void **state)
{
        sign_sig_t sig = g.sig;

        (void)state;
        assert_int_equal(sign_sig_verify(&g.sig), 0);
        /* A sign_sig_t that did not come from the parser gets the parser's identity checks. */
        sig.signer[0] ^= 1;
        assert_int_equal(sign_sig_verify(&sig), -EBADMSG);
        sig = g.sig;
        sig.modulus[SIGN_MODULUS_SIZE - 1] ^= 1; /* even, and another identity */
        assert_int_equal(sign_sig_verify(&sig), -EBADMSG);
        /* A consistent signer that did not sign: the signature is g's, the key another. */
        sig = g.sig;
        sig.modulus[100] ^= 0x10;
        {
                uint8_t bytes[SIGN_FILE_SIZE];
                char err[256];
                SHA256_CTX c;

                SHA256_Init(&c);
                SHA256_Update(&c, sig.modulus, SIGN_MODULUS_SIZE);
                SHA256_Final(sig.signer, &c);
                encoded(&sig, bytes);
                assert_int_equal(sign_sig_parse(bytes, sizeof(bytes), &sig, err, sizeof(err)), 0);
        }
        assert_int_equal(sign_sig_verify(&sig), -EBADMSG);
        /* A signature of all ones is not below the modulus. */
        sig = g.sig;
        memset(sig.signature, 0xff, SIGN_MODULUS_SIZE);
        assert_int_equal(sign_sig_verify(&sig), -EBADMSG);
        memset(sig.signature, 0, SIGN_MODULUS_SIZE);
        assert_int_equal(sign_sig_verify(&sig), -EBADMSG);
}

/* One bit flipped in each region of a valid .sig: what catches it. A NULL message means the
 * bytes still parse and verification fails (-EBADMSG): only the signature covers that region. */
static void test_flipped_bits(void **state)
{
        static const struct {
                const char *region;
                size_t offset;
                uint8_t bit;
                const char *message;
        } table[] = {
                {"magic", 0, 0x01, "not a lamina signature: it does not start with \"LAMINSIG\""},
                {"magic", 7, 0x80, "not a lamina signature: it does not start with \"LAMINSIG\""},
                {"version", 8, 0x02, "signature format version 3; this lamina reads version 1"},
                {"version", 11, 0x80,
                 "signature format version 2147483649; this lamina reads version 1"},
                {"size", 12, 0x01, "the signature says it is 865 bytes; version 1 is 864"},
                {"measurement", 16, 0x01, NULL},
                {"measurement", 47, 0x80, NULL},
                {"modulus", 48 + 100, 0x10,
                 "the signer identity is not the SHA-256 of the modulus"},
                {"modulus (top bit)", 48, 0x80,
                 "the signer's modulus is not an odd number of 3072 bits"},
                {"modulus (low bit)", 431, 0x01,
                 "the signer's modulus is not an odd number of 3072 bits"},
                {"exponent", 432, 0x02, "public exponent 1; lamina signatures use 3"},
                {"exponent", 435, 0x01, "public exponent 16777219; lamina signatures use 3"},
                {"signer", 436, 0x01, "the signer identity is not the SHA-256 of the modulus"},
                {"signer", 467, 0x80, "the signer identity is not the SHA-256 of the modulus"},
                {"isvprodid", 468, 0x01, NULL},
                {"isvsvn", 471, 0x80, NULL},
                {"flags (debug)", 472, 0x01, NULL},
                {"flags", 472, 0x02, "unknown flags 0x02"},
                {"flags", 472, 0x80, "unknown flags 0x80"},
                {"reserved", 473, 0x01, "reserved byte 473 is 0x01, not 0"},
                {"reserved", 475, 0x20, "reserved byte 475 is 0x20, not 0"},
                {"date (to 2024-01-14)", 476, 0x01, NULL},
                {"date", 479, 0x80, "the date 2167723763 is not a date (YYYYMMDD)"},
                {"date", 477, 0x40, "the date 20223731 is not a date (YYYYMMDD)"},
                {"signature", 480, 0x01, NULL},
                {"signature", 480, 0x80, NULL},
                {"signature", 863, 0x01, NULL},
        };
        uint8_t good[SIGN_FILE_SIZE], bytes[SIGN_FILE_SIZE];

        (void)state;
        encoded(&g.sig, good);
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                sign_sig_t sig;
                char err[512] = "stale";
                int r;

                memcpy(bytes, good, sizeof(bytes));
                bytes[table[i].offset] ^= table[i].bit;
                r = sign_sig_parse(bytes, sizeof(bytes), &sig, err, sizeof(err));
                if (table[i].message) {
                        if (r != -EBADMSG || strcmp(err, table[i].message) != 0)
                                fail_msg("%s (byte %zu, bit 0x%02x): %d '%s', expected '%s'",
                                         table[i].region, table[i].offset, table[i].bit, r, err,
                                         table[i].message);
                        continue;
                }
                if (r != 0)
                        fail_msg("%s (byte %zu): parse failed: %s", table[i].region,
                                 table[i].offset, err);
                if (sign_sig_verify(&sig) != -EBADMSG)
                        fail_msg("%s (byte %zu, bit 0x%02x): verified", table[i].region,
                                 table[i].offset, table[i].bit);
        }
}

static void test_parse_errors(void **state)
{
        uint8_t bytes[SIGN_FILE_SIZE + 1];

        (void)state;
        encoded(&g.sig, bytes);
        bytes[SIGN_FILE_SIZE] = 0;
        parse_fails(bytes, SIGN_FILE_SIZE - 1, "a signature is 864 bytes, not 863");
        parse_fails(bytes, SIGN_FILE_SIZE + 1, "a signature is 864 bytes, not 865");
        parse_fails(bytes, 0, "a signature is 864 bytes, not 0");

        memcpy(bytes, "GRAPHENE", 8);
        parse_fails(bytes, SIGN_FILE_SIZE,
                    "not a lamina signature: it does not start with \"LAMINSIG\"");
        encoded(&g.sig, bytes);
        bytes[8] = 2;
        parse_fails(bytes, SIGN_FILE_SIZE,
                    "signature format version 2; this lamina reads version 1");
        bytes[8] = 0;
        parse_fails(bytes, SIGN_FILE_SIZE,
                    "signature format version 0; this lamina reads version 1");
        encoded(&g.sig, bytes);
        bytes[12] = 0x64; /* 868 */
        parse_fails(bytes, SIGN_FILE_SIZE, "the signature says it is 868 bytes; version 1 is 864");
        encoded(&g.sig, bytes);
        bytes[432] = 0x01, bytes[433] = 0x00, bytes[434] = 0x01; /* 65537 */
        parse_fails(bytes, SIGN_FILE_SIZE, "public exponent 65537; lamina signatures use 3");
        encoded(&g.sig, bytes);
        bytes[472] = 0xff;
        parse_fails(bytes, SIGN_FILE_SIZE, "unknown flags 0xfe");
        encoded(&g.sig, bytes);
        bytes[474] = 0xff;
        parse_fails(bytes, SIGN_FILE_SIZE, "reserved byte 474 is 0xff, not 0");

        /* Dates: the checks of sign_date_valid(), through the file. */
        static const struct {
                uint32_t date;
                const char *message;
        } dates[] = {
                {0, "the date 0 is not a date (YYYYMMDD)"},
                {19691231, "the date 19691231 is not a date (YYYYMMDD)"},
                {20230229, "the date 20230229 is not a date (YYYYMMDD)"},
                {20240230, "the date 20240230 is not a date (YYYYMMDD)"},
                {20241301, "the date 20241301 is not a date (YYYYMMDD)"},
                {20240100, "the date 20240100 is not a date (YYYYMMDD)"},
                {20240431, "the date 20240431 is not a date (YYYYMMDD)"},
                {21000229, "the date 21000229 is not a date (YYYYMMDD)"},
                {100000101, "the date 100000101 is not a date (YYYYMMDD)"},
                {UINT32_MAX, "the date 4294967295 is not a date (YYYYMMDD)"},
        };
        for (size_t i = 0; i < ELEMENTSOF(dates); i++) {
                sign_sig_t sig = g.sig;
                sig.date = dates[i].date;
                encoded(&sig, bytes);
                parse_fails(bytes, SIGN_FILE_SIZE, dates[i].message);
        }
        /* The first and last days there are, and a leap day. */
        static const uint32_t good[] = {19700101, 99991231, 20000229, 20240229};
        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                sign_sig_t sig = g.sig, out;
                char err[256];
                sig.date = good[i];
                encoded(&sig, bytes);
                assert_int_equal(sign_sig_parse(bytes, SIGN_FILE_SIZE, &out, err, sizeof(err)), 0);
                assert_int_equal(out.date, good[i]);
        }

        /* A message is cut to err_size, and err may be absent. */
        char small[8];
        sign_sig_t sig;
        assert_int_equal(sign_sig_parse(bytes, 1, &sig, small, sizeof(small)), -EBADMSG);
        assert_string_equal(small, "a signa");
        assert_int_equal(sign_sig_parse(bytes, 1, &sig, NULL, 0), -EBADMSG);
}

static void test_write_read(void **state)
{
        const char *path = path_in("sigs/app.sig"), *short_path = path_in("sigs/short.sig");
        const char *big = path_in("sigs/big.sig");
        uint8_t bytes[SIGN_FILE_SIZE], on_disk[SIGN_FILE_SIZE + 1];
        static uint8_t large[SIGN_SIG_READ_MAX + 1];
        sign_sig_t sig, other, before;
        char err[512] = "stale";
        mode_t old_umask;

        (void)state;
        assert_int_equal(mkdir(path_in("sigs"), 0755), 0);
        old_umask = umask(077);
        assert_int_equal(sign_sig_write(&g.sig, path), 0);
        umask(old_umask);
        assert_int_equal(mode_of(path) & 07777, 0644);
        encoded(&g.sig, bytes);
        assert_int_equal(read_bytes(path, on_disk, sizeof(on_disk)), SIGN_FILE_SIZE);
        assert_memory_equal(on_disk, bytes, SIGN_FILE_SIZE);
        assert_int_equal(sign_sig_read(path, &sig, err, sizeof(err)), 0);
        assert_string_equal(err, "");
        assert_sig_equal(&sig, &g.sig);
        assert_int_equal(sign_sig_verify(&sig), 0);

        /* Replaced whole. */
        assert_int_equal(sign_sig_create(g.key, g.measurement, 9, 9, true, DATE, &other), 0);
        assert_int_equal(sign_sig_write(&other, path), 0);
        assert_int_equal(sign_sig_read(path, &sig, err, sizeof(err)), 0);
        assert_sig_equal(&sig, &other);
        assert_int_equal(entries(path_in("sigs")), 1); /* no temporary file left */

        memset(&sig, 0x5a, sizeof(sig));
        memcpy(&before, &sig, sizeof(sig));
        write_bytes(short_path, bytes, SIGN_FILE_SIZE - 1, 0644);
        assert_int_equal(sign_sig_read(short_path, &sig, err, sizeof(err)), -EBADMSG);
        assert_string_equal(err, "a signature is 864 bytes, not 863");
        write_bytes(big, large, sizeof(large), 0644);
        assert_int_equal(sign_sig_read(big, &sig, err, sizeof(err)), -EBADMSG);
        assert_string_equal(err, "a signature is 864 bytes; this file is larger than 4096");
        write_bytes(big, large, SIGN_SIG_READ_MAX, 0644);
        assert_int_equal(sign_sig_read(big, &sig, err, sizeof(err)), -EBADMSG);
        assert_string_equal(err, "a signature is 864 bytes, not 4096");
        assert_int_equal(sign_sig_read(path_in("sigs/missing.sig"), &sig, err, sizeof(err)),
                         -ENOENT);
        assert_string_equal(err, "");
        assert_int_equal(sign_sig_read(path_in("sigs"), &sig, err, sizeof(err)), -EISDIR);
        assert_memory_equal(&sig, &before, sizeof(sig));

        assert_int_equal(sign_sig_write(&g.sig, path_in("sigs/")), -EISDIR);
        assert_int_equal(sign_sig_write(&g.sig, path_in("nodir/app.sig")), -ENOENT);
}

/* ---- dates ---- */

static uint32_t utc_today(void)
{
        time_t now = time(NULL);
        struct tm tm;

        assert_non_null(gmtime_r(&now, &tm));
        return (uint32_t)((tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday);
}

static void test_dates(void **state)
{
        static const struct {
                const char *text;
                int r;
                uint32_t date;
        } table[] = {
                {"2024-01-15", 0, 20240115},
                {"1970-01-01", 0, 19700101},
                {"9999-12-31", 0, 99991231},
                {"2000-02-29", 0, 20000229},
                {"2024-02-29", 0, 20240229},
                {"2023-02-29", -EINVAL, 0},
                {"1900-02-29", -EINVAL, 0},
                {"2100-02-29", -EINVAL, 0},
                {"1969-12-31", -EINVAL, 0},
                {"2024-13-01", -EINVAL, 0},
                {"2024-00-10", -EINVAL, 0},
                {"2024-01-00", -EINVAL, 0},
                {"2024-04-31", -EINVAL, 0},
                {"2024-01-32", -EINVAL, 0},
                {"2024-1-15", -EINVAL, 0},
                {"2024-01-5", -EINVAL, 0},
                {"24-01-15", -EINVAL, 0},
                {"2024/01/15", -EINVAL, 0},
                {"20240115", -EINVAL, 0},
                {"2024-01-15 ", -EINVAL, 0},
                {" 2024-01-15", -EINVAL, 0},
                {"2024-01-15\n", -EINVAL, 0},
                {"+024-01-15", -EINVAL, 0},
                {"2024-+1-15", -EINVAL, 0},
                {"2024-01-1a", -EINVAL, 0},
                {"10000-01-01", -EINVAL, 0},
                {"", -EINVAL, 0},
                {"2024-01-", -EINVAL, 0},
                {"0000-01-01", -EINVAL, 0},
                {"٢٠٢٤-01-15", -EINVAL, 0},
        };
        uint32_t before, today, after;

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                uint32_t d = 0xdeadbeef;
                int r = sign_date_parse(table[i].text, &d);

                if (r != table[i].r)
                        fail_msg("'%s': %d, expected %d", table[i].text, r, table[i].r);
                if (d != (r == 0 ? table[i].date : 0xdeadbeef))
                        fail_msg("'%s': %u", table[i].text, d);
                if (r == 0 && !sign_date_valid(d))
                        fail_msg("'%s' parses but is not valid", table[i].text);
        }
        /* Midnight UTC may pass while this runs. */
        before = utc_today();
        today = sign_date_today();
        after = utc_today();
        assert_true(sign_date_valid(today));
        assert_true(today == before || today == after);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_generate),
                cmocka_unit_test(test_load),
                cmocka_unit_test(test_load_refused_files),
                cmocka_unit_test(test_load_refused_keys),
                cmocka_unit_test(test_identity),
                cmocka_unit_test(test_host_config_ignored),
                cmocka_unit_test(test_create_encode_parse),
                cmocka_unit_test(test_deterministic),
                cmocka_unit_test(test_create_refused),
                cmocka_unit_test(test_verify),
                cmocka_unit_test(test_flipped_bits),
                cmocka_unit_test(test_parse_errors),
                cmocka_unit_test(test_write_read),
                cmocka_unit_test(test_dates),
        };
        char conf[] = "/tmp/test-sign-conf-XXXXXX";
        int fd = mkstemp(conf), r;

        /* Before anything starts OpenSSL: the module must not read it (see g_bad_conf). */
        if (fd < 0 || write(fd, g_bad_conf, strlen(g_bad_conf)) != (ssize_t)strlen(g_bad_conf))
                return 1;
        close(fd);
        setenv("OPENSSL_CONF", conf, 1);
        r = cmocka_run_group_tests(tests, group_setup, group_teardown);
        unlink(conf);
        return r;
}
