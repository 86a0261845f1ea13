/* The .sig format (sign.h has the layout): encoding, a strict parser, reading and writing
 * files, and dates. The parser accepts only what sign_sig_encode() can produce, so that a
 * parsed signature encodes back to the very bytes that were signed, and sign_sig_verify()
 * can check the signature over the re-encoded bytes. Nothing here uses OpenSSL's EVP layer. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sign/sign-internal.h"

enum {
        OFF_MAGIC = 0,
        OFF_VERSION = 8,
        OFF_SIZE = 12,
        OFF_MEASUREMENT = 16,
        OFF_MODULUS = 48,
        OFF_EXPONENT = 432,
        OFF_SIGNER = 436,
        OFF_ISVPRODID = 468,
        OFF_ISVSVN = 470,
        OFF_FLAGS = 472,
        OFF_RESERVED = 473,
        OFF_DATE = 476,
        OFF_SIGNATURE = 480,
};

#define FLAG_DEBUG    0x01
#define RESERVED_SIZE 3

_Static_assert(OFF_MEASUREMENT + SIGN_HASH_SIZE == OFF_MODULUS, "layout");
_Static_assert(OFF_MODULUS + SIGN_MODULUS_SIZE == OFF_EXPONENT, "layout");
_Static_assert(OFF_SIGNER + SIGN_HASH_SIZE == OFF_ISVPRODID, "layout");
_Static_assert(OFF_RESERVED + RESERVED_SIZE == OFF_DATE, "layout");
_Static_assert(OFF_SIGNATURE == SIGN_SIGNED_SIZE, "layout");
_Static_assert(OFF_SIGNATURE + SIGN_MODULUS_SIZE == SIGN_FILE_SIZE, "layout");
_Static_assert(sizeof(SIGN_MAGIC) - 1 == OFF_VERSION, "layout");

static void put_le16(uint8_t *p, uint16_t v)
{
        p[0] = (uint8_t)v;
        p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
        for (int i = 0; i < 4; i++)
                p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get_le16(const uint8_t *p)
{
        return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get_le32(const uint8_t *p)
{
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void sign_sig_encode(const sign_sig_t *sig, uint8_t out[SIGN_FILE_SIZE])
{
        memcpy(out + OFF_MAGIC, SIGN_MAGIC, OFF_VERSION - OFF_MAGIC);
        put_le32(out + OFF_VERSION, SIGN_VERSION);
        put_le32(out + OFF_SIZE, SIGN_FILE_SIZE);
        memcpy(out + OFF_MEASUREMENT, sig->measurement, SIGN_HASH_SIZE);
        memcpy(out + OFF_MODULUS, sig->modulus, SIGN_MODULUS_SIZE);
        put_le32(out + OFF_EXPONENT, SIGN_EXPONENT);
        memcpy(out + OFF_SIGNER, sig->signer, SIGN_HASH_SIZE);
        put_le16(out + OFF_ISVPRODID, sig->isvprodid);
        put_le16(out + OFF_ISVSVN, sig->isvsvn);
        out[OFF_FLAGS] = sig->debug ? FLAG_DEBUG : 0;
        memset(out + OFF_RESERVED, 0, RESERVED_SIZE);
        put_le32(out + OFF_DATE, sig->date);
        memcpy(out + OFF_SIGNATURE, sig->signature, SIGN_MODULUS_SIZE);
}

int sign_sig_parse(const uint8_t *data, size_t size, sign_sig_t *ret, char *err, size_t err_size)
{
        sign_sig_t sig;
        uint8_t identity[SIGN_HASH_SIZE];
        uint32_t v;

        err_clear(err, err_size);
        if (size != SIGN_FILE_SIZE)
                return err_fail(err, err_size, -EBADMSG, "a signature is %d bytes, not %zu",
                                SIGN_FILE_SIZE, size);
        if (memcmp(data + OFF_MAGIC, SIGN_MAGIC, OFF_VERSION - OFF_MAGIC) != 0)
                return err_fail(err, err_size, -EBADMSG,
                                "not a lamina signature: it does not start with \"%s\"",
                                SIGN_MAGIC);
        v = get_le32(data + OFF_VERSION);
        if (v != SIGN_VERSION)
                return err_fail(err, err_size, -EBADMSG,
                                "signature format version %u; this lamina reads version %d", v,
                                SIGN_VERSION);
        v = get_le32(data + OFF_SIZE);
        if (v != SIGN_FILE_SIZE)
                return err_fail(err, err_size, -EBADMSG,
                                "the signature says it is %u bytes; version %d is %d", v,
                                SIGN_VERSION, SIGN_FILE_SIZE);
        v = get_le32(data + OFF_EXPONENT);
        if (v != SIGN_EXPONENT)
                return err_fail(err, err_size, -EBADMSG,
                                "public exponent %u; lamina signatures use %d", v, SIGN_EXPONENT);
        /* A shorter modulus would be a weaker key than any that lamina makes or loads; an even
         * one is no RSA modulus at all. */
        if (!(data[OFF_MODULUS] & 0x80) || !(data[OFF_MODULUS + SIGN_MODULUS_SIZE - 1] & 1))
                return err_fail(err, err_size, -EBADMSG,
                                "the signer's modulus is not an odd number of %d bits",
                                SIGN_KEY_BITS);
        /* The identity is what trusted_signers name; it must be the key that signed, or a
         * signature by any key could claim any signer. */
        sign_sha256(data + OFF_MODULUS, SIGN_MODULUS_SIZE, identity);
        if (memcmp(identity, data + OFF_SIGNER, SIGN_HASH_SIZE) != 0)
                return err_fail(err, err_size, -EBADMSG,
                                "the signer identity is not the SHA-256 of the modulus");
        if (data[OFF_FLAGS] & ~FLAG_DEBUG)
                return err_fail(err, err_size, -EBADMSG, "unknown flags 0x%02x",
                                data[OFF_FLAGS] & ~FLAG_DEBUG);
        for (size_t i = 0; i < RESERVED_SIZE; i++)
                if (data[OFF_RESERVED + i] != 0)
                        return err_fail(err, err_size, -EBADMSG,
                                        "reserved byte %zu is 0x%02x, not 0", OFF_RESERVED + i,
                                        data[OFF_RESERVED + i]);
        v = get_le32(data + OFF_DATE);
        if (!sign_date_valid(v))
                return err_fail(err, err_size, -EBADMSG, "the date %u is not a date (YYYYMMDD)", v);

        memcpy(sig.measurement, data + OFF_MEASUREMENT, SIGN_HASH_SIZE);
        memcpy(sig.modulus, data + OFF_MODULUS, SIGN_MODULUS_SIZE);
        memcpy(sig.signer, data + OFF_SIGNER, SIGN_HASH_SIZE);
        sig.isvprodid = get_le16(data + OFF_ISVPRODID);
        sig.isvsvn = get_le16(data + OFF_ISVSVN);
        sig.debug = data[OFF_FLAGS] & FLAG_DEBUG;
        sig.date = v;
        memcpy(sig.signature, data + OFF_SIGNATURE, SIGN_MODULUS_SIZE);
        *ret = sig;
        return 0;
}

int sign_sig_read(const char *path, sign_sig_t *ret, char *err, size_t err_size)
{
        _cleanup_close_ int fd = -1;
        uint8_t buf[SIGN_SIG_READ_MAX + 1];
        size_t size;
        int r;

        err_clear(err, err_size);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        /* One byte more than the limit tells a file at the limit from a larger one. */
        r = sign_read_fd(fd, buf, sizeof(buf), &size);
        if (r < 0)
                return r;
        if (size > SIGN_SIG_READ_MAX)
                return err_fail(err, err_size, -EBADMSG,
                                "a signature is %d bytes; this file is larger than %d",
                                SIGN_FILE_SIZE, SIGN_SIG_READ_MAX);
        return sign_sig_parse(buf, size, ret, err, err_size);
}

int sign_sig_write(const sign_sig_t *sig, const char *path)
{
        uint8_t bytes[SIGN_FILE_SIZE];

        sign_sig_encode(sig, bytes);
        return sign_write_file(path, bytes, sizeof(bytes), 0644, true);
}

static bool leap(unsigned y)
{
        return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

bool sign_date_valid(uint32_t date)
{
        static const unsigned days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        unsigned y = date / 10000, m = date / 100 % 100, d = date % 100;

        if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1)
                return false;
        return d <= days[m - 1] + (m == 2 && leap(y));
}

uint32_t sign_date_today(void)
{
        time_t now = time(NULL);
        struct tm tm;

        /* gmtime_r fails only for years that do not fit an int: not today's. */
        if (!gmtime_r(&now, &tm))
                return 0;
        return (uint32_t)(tm.tm_year + 1900) * 10000 + (uint32_t)(tm.tm_mon + 1) * 100 +
               (uint32_t)tm.tm_mday;
}

int sign_date_parse(const char *s, uint32_t *ret)
{
        uint32_t date = 0;

        /* Exactly "YYYY-MM-DD": no sign, no spaces, no shorter fields, nothing after. */
        for (size_t i = 0; i < 10; i++) {
                if (i == 4 || i == 7) {
                        if (s[i] != '-')
                                return -EINVAL;
                        continue;
                }
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
                date = date * 10 + (uint32_t)(s[i] - '0');
        }
        if (s[10] != '\0' || !sign_date_valid(date))
                return -EINVAL;
        *ret = date;
        return 0;
}
