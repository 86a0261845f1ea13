/* Fuzz target for signed manifests as SGX mode reads them: the manifest, in either language,
 * with its sgx.trusted_checksum / sha256 and trusted_mrenclave / mrenclave entries; then the
 * completeness check and the measurement. Any input gives a model or a clean error. */
#include <stdint.h>
#include <stdlib.h>

#include "manifest/manifest.h"
#include "sgx/sgx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        manifest_options_t opts = {.format = MANIFEST_FORMAT_AUTO, .cwd = "/fuzz"};
        manifest_error_t e = {0};
        manifest_t *m = NULL;
        sgx_error_t err = {0};
        uint8_t measurement[SGX_HASH_SIZE];

        if (size > 64 * 1024)
                return 0;
        sgx_measure((const char *)data, size, measurement);
        if (manifest_parse("fuzz.manifest.sgx", (const char *)data, size, &opts, &e, &m) < 0)
                return 0;
        (void)sgx_check_hashed("fuzz.manifest.sgx", m, &err);
        manifest_free(m);
        return 0;
}
