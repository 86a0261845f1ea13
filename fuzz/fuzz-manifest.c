/* Fuzz target for the whole manifest path: language detection, both readers, the model, and
 * its TOML output. Property checked: a model written as TOML reads back into the same model
 * (compared as JSON); a difference aborts, so the fuzzer reports it like a crash. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest/emit.h"
#include "manifest/manifest.h"
#include "manifest/tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The model as TOML or JSON text; NULL when out of memory. */
static char *render(const manifest_t *m, int json, size_t *ret_size)
{
        tree_value_t *t = manifest_to_tree(m);
        char *text = NULL;
        FILE *f;

        if (!t)
                return NULL;
        f = open_memstream(&text, ret_size);
        if (f) {
                if (json)
                        tree_write_json(t, f);
                else
                        tree_write_toml(t, f);
                fclose(f);
        }
        tree_free(t);
        return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        manifest_options_t opts = {.format = MANIFEST_FORMAT_AUTO, .cwd = "/fuzz"};
        manifest_error_t e = {0};
        manifest_t *m = NULL, *again = NULL;
        char *toml, *a, *b;
        size_t toml_size, a_size, b_size;

        if (size > 64 * 1024)
                return 0;
        if (manifest_parse("fuzz", (const char *)data, size, &opts, &e, &m) < 0)
                return 0;
        toml = render(m, 0, &toml_size);
        opts.format = MANIFEST_FORMAT_TOML;
        if (toml && manifest_parse("again", toml, toml_size, &opts, &e, &again) < 0) {
                fprintf(stderr, "the model's TOML does not read back: %u:%u: %s\n%s\n", e.line,
                        e.col, e.message, toml);
                abort();
        }
        a = render(m, 1, &a_size);
        b = again ? render(again, 1, &b_size) : NULL;
        if (a && b && (a_size != b_size || memcmp(a, b, a_size) != 0)) {
                fprintf(stderr, "the model changed on the way through TOML:\n%s\n---\n%s\n", a, b);
                abort();
        }
        free(a);
        free(b);
        free(toml);
        manifest_free(again);
        manifest_free(m);
        return 0;
}
