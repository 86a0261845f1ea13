/* Fuzz target for the .sig parser (src/sign/sig.c) and, for what parses, signature
 * verification. Properties checked: a failed parse leaves its output untouched and leaves a
 * one-line message; a parse that succeeds encodes back to the very bytes it read (the
 * signature covers the re-encoded bytes, so a byte the parser ignored would be a byte nobody
 * signed); verification answers 0 or -EBADMSG (or -ENOMEM), nothing else. A violation
 * aborts, so the fuzzer reports it like a crash. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sign/sign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        sign_sig_t sig, before;
        uint8_t again[SIGN_FILE_SIZE];
        char err[256];
        int r;

        if (size > SIGN_SIG_READ_MAX)
                return 0;
        memset(&sig, 0xa5, sizeof(sig));
        memcpy(&before, &sig, sizeof(sig));
        memset(err, 'x', sizeof(err));
        r = sign_sig_parse(data, size, &sig, err, sizeof(err));
        if (r < 0) {
                if (r != -EBADMSG || memcmp(&sig, &before, sizeof(sig)) != 0 ||
                    !memchr(err, '\0', sizeof(err)) || err[0] == '\0' || strchr(err, '\n')) {
                        fprintf(stderr, "a failed parse: %d, output touched or message '%.*s'\n", r,
                                (int)sizeof(err), err);
                        abort();
                }
                return 0;
        }
        sign_sig_encode(&sig, again);
        if (size != SIGN_FILE_SIZE || memcmp(again, data, SIGN_FILE_SIZE) != 0) {
                fprintf(stderr, "a parsed signature does not encode back to its bytes\n");
                abort();
        }
        r = sign_sig_verify(&sig);
        if (r != 0 && r != -EBADMSG && r != -ENOMEM) {
                fprintf(stderr, "sign_sig_verify: %d\n", r);
                abort();
        }
        return 0;
}
