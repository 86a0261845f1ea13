/* Fuzz target for Graphene's key = value reader and the model behind it: any input must give a
 * tree or a clean error, never a crash, a leak or undefined behaviour. */
#include <stdint.h>
#include <stdlib.h>

#include "manifest/legacy.h"
#include "manifest/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        manifest_options_t opts = {.format = MANIFEST_FORMAT_LEGACY, .cwd = "/fuzz"};
        manifest_error_t e = {0};
        tree_value_t *root = NULL;
        manifest_t *m = NULL;

        if (size > 64 * 1024)
                return 0;
        if (legacy_parse((const char *)data, size, NULL, NULL, &e, &root) == 0)
                tree_free(root);
        if (manifest_parse("fuzz", (const char *)data, size, &opts, &e, &m) == 0)
                manifest_free(m);
        return 0;
}
