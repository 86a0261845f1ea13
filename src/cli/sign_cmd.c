/* Graphene's SGX tools, rebuilt: `lamina gen-key`, `lamina sign`, `lamina sigview` and
 * `lamina measure`. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/log.h"
#include "manifest/manifest.h"
#include "sgx/sgx.h"
#include "sign/sign.h"
#include "store/store.h"

static void hex(const uint8_t *bytes, size_t size, char *out)
{
        for (size_t i = 0; i < size; i++)
                snprintf(out + 2 * i, 3, "%02x", bytes[i]);
}

/* $XDG_CONFIG_HOME/lamina/enclave-key.pem, or ~/.config/lamina/enclave-key.pem */
static int default_key_path(char **ret)
{
        const char *config = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
        int r;

        if (config && config[0] == '/')
                r = asprintf(ret, "%s/lamina/enclave-key.pem", config);
        else if (home && home[0] == '/')
                r = asprintf(ret, "%s/.config/lamina/enclave-key.pem", home);
        else {
                log_error("no place for the key: set XDG_CONFIG_HOME or HOME, or name a PATH");
                return -ENOENT;
        }
        return r < 0 ? -ENOMEM : 0;
}

int cmd_gen_key(int argc, char **argv)
{
        _cleanup_free_ char *path = NULL;
        char err[512] = "";
        int r;

        if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
                log_error("usage: lamina gen-key [PATH]");
                return LAMINA_EXIT_USAGE;
        }
        if (argc == 2)
                path = strdup(argv[1]);
        else if (default_key_path(&path) < 0)
                return LAMINA_EXIT_FAILED;
        if (!path)
                return LAMINA_EXIT_FAILED;
        r = sign_key_generate(path, err, sizeof(err));
        if (r < 0) {
                if (err[0])
                        log_error("%s", err);
                else
                        log_error_errno(r, "cannot make the key '%s': %m", path);
                return r == -EEXIST ? LAMINA_EXIT_INVALID : LAMINA_EXIT_FAILED;
        }
        printf("%s\n", path);
        return LAMINA_EXIT_OK;
}

int cmd_sign(int argc, char **argv)
{
        static const struct option options[] = {
                {"key", required_argument, NULL, 'k'},
                {"manifest", required_argument, NULL, 'm'},
                {"output", required_argument, NULL, 'o'},
                {"sig", required_argument, NULL, 's'},
                {"date", required_argument, NULL, 'd'},
                {},
        };
        const char *key_path = NULL, *manifest_path = NULL, *output = NULL, *sig_option = NULL;
        _cleanup_free_ char *text = NULL, *signed_text = NULL, *sig_path = NULL;
        _cleanup_(manifest_freep) manifest_t *m = NULL;
        manifest_options_t opts = {.format = MANIFEST_FORMAT_AUTO};
        manifest_error_t e = {0};
        uint8_t measurement[SGX_HASH_SIZE];
        char err[512] = "", measurement_hex[2 * SGX_HASH_SIZE + 1];
        uint32_t date = sign_date_today();
        sgx_sign_stats_t stats = {0};
        size_t size = 0, signed_size = 0;
        sign_key_t *key = NULL;
        sign_sig_t sig;
        int c, r;

        while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
                switch (c) {
                case 'k':
                        key_path = optarg;
                        break;
                case 'm':
                        manifest_path = optarg;
                        break;
                case 'o':
                        output = optarg;
                        break;
                case 's':
                        sig_option = optarg;
                        break;
                case 'd':
                        if (sign_date_parse(optarg, &date) < 0) {
                                log_error("--date must be a date as YYYY-MM-DD, not '%s'", optarg);
                                return LAMINA_EXIT_USAGE;
                        }
                        break;
                default:
                        return LAMINA_EXIT_USAGE;
                }
        }
        if (!key_path || !manifest_path || !output || optind != argc) {
                log_error("usage: lamina sign --key KEY --manifest X.manifest --output "
                          "X.manifest.sgx [--sig X.sig] [--date YYYY-MM-DD]");
                return LAMINA_EXIT_USAGE;
        }

        r = sign_key_load(key_path, &key, err, sizeof(err));
        if (r < 0) {
                if (err[0])
                        log_error("%s", err);
                else
                        log_error_errno(r, "cannot read the key '%s': %m", key_path);
                return LAMINA_EXIT_INVALID;
        }
        r = sgx_read_file(manifest_path, &text, &size);
        if (r >= 0)
                r = manifest_parse(manifest_path, text, size, &opts, &e, &m);
        if (r >= 0) {
                log_manifest_warnings(m);
                r = sgx_sign_manifest(m, text, size, &e, &signed_text, &signed_size, &stats);
        }
        if (r < 0) {
                if (e.message[0])
                        log_input_error(&e);
                else
                        log_error_errno(r, "cannot sign '%s': %m", manifest_path);
                sign_key_free(key);
                return LAMINA_EXIT_INVALID;
        }

        sgx_measure(signed_text, signed_size, measurement);
        r = sign_sig_create(key, measurement, m->isvprodid, m->isvsvn, m->debug, date, &sig);
        sign_key_free(key);
        if (r < 0) {
                log_error_errno(r, "cannot sign the measurement: %m");
                return LAMINA_EXIT_FAILED;
        }
        if (sig_option)
                sig_path = strdup(sig_option);
        else if (sgx_sig_path(output, NULL, &sig_path) < 0)
                sig_path = NULL;
        if (!sig_path)
                return LAMINA_EXIT_FAILED;
        r = write_file_atomically(output, signed_text, signed_size, 0644);
        if (r >= 0)
                r = sign_sig_write(&sig, sig_path);
        if (r < 0) {
                log_error_errno(r, "cannot write '%s' or '%s': %m", output, sig_path);
                return LAMINA_EXIT_FAILED;
        }
        hex(measurement, SGX_HASH_SIZE, measurement_hex);
        printf("%s: %zu trusted files, %.1f MiB hashed in %.2f s (%.0f MB/s); measurement %s\n"
               "%s: signed on %u\n",
               output, stats.files, (double)stats.bytes / (1 << 20), stats.seconds,
               stats.seconds > 0 ? (double)stats.bytes / 1e6 / stats.seconds : 0.0, measurement_hex,
               sig_path, sig.date);
        return LAMINA_EXIT_OK;
}

int cmd_sigview(int argc, char **argv)
{
        static const struct option options[] = {
                {"json", no_argument, NULL, 'j'},
                {},
        };
        char err[512] = "", measurement[2 * SIGN_HASH_SIZE + 1], signer[2 * SIGN_HASH_SIZE + 1],
             modulus[2 * SIGN_MODULUS_SIZE + 1], signature[2 * SIGN_MODULUS_SIZE + 1];
        bool json = false, valid;
        sign_sig_t sig;
        int c, r;

        while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
                if (c != 'j')
                        return LAMINA_EXIT_USAGE;
                json = true;
        }
        if (argc - optind != 1) {
                log_error("usage: lamina sigview [--json] X.sig");
                return LAMINA_EXIT_USAGE;
        }
        r = sign_sig_read(argv[optind], &sig, err, sizeof(err));
        if (r < 0) {
                if (err[0])
                        log_error("'%s': %s", argv[optind], err);
                else
                        log_error_errno(r, "cannot read '%s': %m", argv[optind]);
                return LAMINA_EXIT_INVALID;
        }
        valid = sign_sig_verify(&sig) == 0;
        hex(sig.measurement, SIGN_HASH_SIZE, measurement);
        hex(sig.signer, SIGN_HASH_SIZE, signer);
        hex(sig.modulus, SIGN_MODULUS_SIZE, modulus);
        hex(sig.signature, SIGN_MODULUS_SIZE, signature);
        if (json)
                printf("{\n  \"format\": \"%s\",\n  \"version\": %d,\n  \"measurement\": \"%s\",\n"
                       "  \"signer\": \"%s\",\n  \"modulus\": \"%s\",\n  \"exponent\": %d,\n"
                       "  \"isvprodid\": %u,\n  \"isvsvn\": %u,\n  \"debug\": %s,\n"
                       "  \"date\": \"%04u-%02u-%02u\",\n  \"signature\": \"%s\",\n"
                       "  \"signature_valid\": %s\n}\n",
                       SIGN_MAGIC, SIGN_VERSION, measurement, signer, modulus, SIGN_EXPONENT,
                       sig.isvprodid, sig.isvsvn, sig.debug ? "true" : "false", sig.date / 10000,
                       sig.date / 100 % 100, sig.date % 100, signature, valid ? "true" : "false");
        else
                printf("format:      %s version %d\nmeasurement: %s\nsigner:      %s\n"
                       "modulus:     %s\nexponent:    %d\nisvprodid:   %u\nisvsvn:      %u\n"
                       "debug:       %s\ndate:        %04u-%02u-%02u\nsignature:   %s\n"
                       "             %s\n",
                       SIGN_MAGIC, SIGN_VERSION, measurement, signer, modulus, SIGN_EXPONENT,
                       sig.isvprodid, sig.isvsvn, sig.debug ? "yes" : "no", sig.date / 10000,
                       sig.date / 100 % 100, sig.date % 100, signature,
                       valid ? "valid: it verifies against the modulus above"
                             : "INVALID: it does not verify against the modulus above");
        return valid ? LAMINA_EXIT_OK : LAMINA_EXIT_INVALID;
}

int cmd_measure(int argc, char **argv)
{
        _cleanup_free_ char *text = NULL;
        uint8_t measurement[SGX_HASH_SIZE];
        char out[2 * SGX_HASH_SIZE + 1];
        size_t size = 0;
        int r;

        if (argc != 2 || argv[1][0] == '-') {
                log_error("usage: lamina measure X.manifest.sgx");
                return LAMINA_EXIT_USAGE;
        }
        r = sgx_read_file(argv[1], &text, &size);
        if (r < 0) {
                log_error_errno(r, "cannot read '%s': %m", argv[1]);
                return LAMINA_EXIT_INVALID;
        }
        sgx_measure(text, size, measurement);
        hex(measurement, SGX_HASH_SIZE, out);
        printf("%s\n", out);
        return LAMINA_EXIT_OK;
}
