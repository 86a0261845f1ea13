/* Fuzzes the template renderer (render.h) with a lookup that knows a few names, and checks what
 * the header promises: a success gives a NUL-terminated string of *ret_size bytes with no NUL
 * inside, an -EINVAL a place and a message, text without '{' or '$' comes out unchanged, and
 * nothing else is returned but the lookup's own error. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "manifest/render.h"

/* Larger inputs only make each run slower; the renderer has no state that grows with them. */
#define FUZZ_SIZE_MAX (64 * 1024)

static const struct {
        const char *name;
        const char *value;
} vars[] = {
        {"A", "alpha"},
        {"entrypoint", "/usr/bin/python3"},
        {"python.stdlib", "/usr/lib/python3.11"},
        {"env.HOME", "/home/user"},
        {"arch_libdir", "/lib/x86_64-linux-gnu"},
        {"PYTHONEXEC", "/usr/bin/python3.11"},
        {"GRAPHENEDIR", "/opt/graphene"},
        {"EMPTY", ""},
        {"JINJA", "{{ A }}$(A){%"}, /* must not be rendered again */
};

static int lookup(const char *name, size_t name_size, void *userdata, const char **ret_value)
{
        (void)userdata;
        if (name_size == 5 && memcmp(name, "nomem", 5) == 0)
                return -ENOMEM;
        for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
                if (strlen(vars[i].name) == name_size &&
                    memcmp(vars[i].name, name, name_size) == 0) {
                        *ret_value = vars[i].value;
                        return 0;
                }
        return -ENOENT;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *text = (const char *)data;
        manifest_error_t e = {0};
        char *out = NULL;
        size_t out_size = 0;
        int r;

        if (size > FUZZ_SIZE_MAX)
                return 0;
        r = render_template(text, size, lookup, NULL, &e, &out, &out_size);
        if (r == 0) {
                if (!out || out[out_size] != '\0' || strlen(out) != out_size)
                        abort();
                if (!memchr(text, '{', size) && !memchr(text, '$', size) &&
                    (out_size != size || memcmp(out, text, size) != 0))
                        abort();
                free(out);
                return 0;
        }
        if (out || out_size != 0)
                abort();
        if (r == -EINVAL) {
                if (e.line == 0 || e.col == 0 || e.message[0] == '\0')
                        abort();
        } else if (r != -ENOMEM) {
                abort();
        }
        return 0;
}
