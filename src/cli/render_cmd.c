/* `lamina manifest`: render a manifest template (see render.h) with -D values, the
 * environment and the Python and architecture built-ins a Python manifest needs. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/log.h"
#include "cli/python.h"
#include "manifest/render.h"

#define DEFINES_MAX 256

typedef struct names {
        const char *defines[DEFINES_MAX]; /* "NAME=VALUE", as given to -D */
        size_t define_count;
        const char *python; /* -D python=PATH, or /usr/bin/python3 */
        python_info_t info;
        int python_r; /* 1: not asked yet; 0: info valid; < 0: asking failed */
} names_t;

static bool name_is(const char *name, size_t size, const char *s)
{
        return size == strlen(s) && memcmp(name, s, size) == 0;
}

static int lookup(const char *name, size_t size, void *userdata, const char **ret)
{
        names_t *n = userdata;
        static const char env_prefix[] = "env.";

        for (size_t i = n->define_count; i-- > 0;) {
                const char *d = n->defines[i];
                if (strncmp(d, name, size) == 0 && d[size] == '=') {
                        *ret = d + size + 1;
                        return 0;
                }
        }
        if (size > strlen(env_prefix) && strncmp(name, env_prefix, strlen(env_prefix)) == 0) {
                char var[256];
                const char *value;
                snprintf(var, sizeof(var), "%.*s", (int)(size - strlen(env_prefix)),
                         name + strlen(env_prefix));
                value = getenv(var);
                if (!value)
                        return -ENOENT;
                *ret = value;
                return 0;
        }
        if (name_is(name, size, "arch_libdir")) {
                *ret = ARCH_LIBDIR;
                return 0;
        }
        if (name_is(name, size, "python.exe")) {
                *ret = n->python;
                return 0;
        }
        if (size > 7 && strncmp(name, "python.", 7) == 0) {
                const char *const keys[] = {"python.stdlib", "python.platstdlib", "python.purelib",
                                            "python.distlib"};
                size_t k;
                for (k = 0; k < ELEMENTSOF(keys); k++)
                        if (name_is(name, size, keys[k]))
                                break;
                if (k == ELEMENTSOF(keys))
                        return -ENOENT;
                if (n->python_r > 0)
                        n->python_r = python_query(n->python, &n->info);
                /* -ENOENT would read as "undefined name": report the failure as its own error,
                 * and keep why in python_r for the message */
                if (n->python_r < 0)
                        return -ECHILD;
                *ret = (const char *[]){n->info.stdlib, n->info.platstdlib, n->info.purelib,
                                        n->info.distlib}[k];
                return 0;
        }
        return -ENOENT;
}

static int read_all(const char *path, char **ret, size_t *ret_size)
{
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        _cleanup_free_ char *text = NULL;
        size_t size = 0, capacity = 0, n;

        if (!f)
                return -errno;
        do {
                if (size == capacity) {
                        char *grown;
                        if (capacity > RENDER_SIZE_MAX)
                                return -E2BIG;
                        capacity = capacity ? capacity * 2 : 16384;
                        grown = realloc(text, capacity);
                        if (!grown)
                                return -ENOMEM;
                        text = grown;
                }
                n = fread(text + size, 1, capacity - size, f);
                size += n;
        } while (n > 0);
        if (ferror(f))
                return -EIO;
        *ret = TAKE_PTR(text);
        *ret_size = size;
        return 0;
}

int cmd_manifest(int argc, char **argv)
{
        _cleanup_free_ char *text = NULL, *out = NULL;
        names_t names = {.python = "/usr/bin/python3", .python_r = 1};
        manifest_error_t e = {0};
        size_t size = 0, out_size = 0;
        const char *template, *output;
        int c, r;

        while ((c = getopt(argc, argv, "D:")) != -1) {
                switch (c) {
                case 'D':
                        if (!strchr(optarg, '=') || optarg[0] == '=') {
                                log_error("-D needs NAME=VALUE, not '%s'", optarg);
                                return LAMINA_EXIT_USAGE;
                        }
                        if (names.define_count == DEFINES_MAX) {
                                log_error("too many -D options (at most %d)", DEFINES_MAX);
                                return LAMINA_EXIT_USAGE;
                        }
                        names.defines[names.define_count++] = optarg;
                        if (strncmp(optarg, "python=", 7) == 0)
                                names.python = optarg + 7;
                        break;
                default:
                        return LAMINA_EXIT_USAGE;
                }
        }
        if (argc - optind < 1 || argc - optind > 2) {
                log_error("usage: lamina manifest [-D NAME=VALUE]... TEMPLATE [OUTPUT]");
                return LAMINA_EXIT_USAGE;
        }
        template = argv[optind];
        output = argc - optind == 2 ? argv[optind + 1] : NULL;

        r = read_all(template, &text, &size);
        if (r < 0) {
                errno = -r;
                log_error("cannot read template '%s': %m", template);
                return LAMINA_EXIT_INVALID;
        }
        e.file = template;
        r = render_template(text, size, lookup, &names, &e, &out, &out_size);
        if (names.python_r < 0 && r == -ECHILD) {
                log_error("cannot ask '%s' for its paths: %s", names.python,
                          names.python_r == -EPROTO ? "it did not answer as a Python 3 interpreter"
                                                    : strerror(-names.python_r));
                python_info_done(&names.info);
                return LAMINA_EXIT_INVALID;
        }
        python_info_done(&names.info);
        if (r == -EINVAL) {
                log_input_error(&e);
                return LAMINA_EXIT_INVALID;
        }
        if (r < 0) {
                errno = -r;
                log_error("cannot render '%s': %m", template);
                return LAMINA_EXIT_FAILED;
        }

        if (!output || strcmp(output, "-") == 0) {
                if (fwrite(out, 1, out_size, stdout) != out_size || fflush(stdout) != 0) {
                        log_error("cannot write the output: %m");
                        return LAMINA_EXIT_FAILED;
                }
                return LAMINA_EXIT_OK;
        }
        r = write_file_atomically(output, out, out_size, 0644);
        if (r < 0) {
                errno = -r;
                log_error("cannot write '%s': %m", output);
                return LAMINA_EXIT_FAILED;
        }
        return LAMINA_EXIT_OK;
}
