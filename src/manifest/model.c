/* The manifest model (see manifest.h): a document tree from either reader is checked against
 * the schema below, key by key, and turned into a manifest_t. Unknown keys are refused with a
 * suggestion; every value is typed; file: URIs are resolved; cross-key rules (argv options,
 * a path both trusted and allowed, duplicates) are checked last, when everything is known. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manifest/legacy.h"
#include "manifest/manifest.h"
#include "manifest/toml.h"
#include "manifest/tree.h"
#include "shared/io.h"
#include "shared/path.h"
#include "shared/macro.h"

typedef struct builder {
        manifest_t *m;
        manifest_error_t *e;
        const char *cwd;
        char *entrypoint_host; /* a file: entrypoint, made a view path once the mounts are known */
        bool legacy;           /* values are untyped strings: "1" is a boolean, "256M" a size */
} builder_t;

/* A key being handled: its value, its name as messages show it, and where the key is. */
typedef struct key {
        const tree_value_t *v;
        const char *name;
        unsigned line, col;
} keyref_t;

/* A key's handler: field is where the schema says the value goes in the manifest_t (handlers
 * that fill several fields find them through b->m). */
typedef int (*handler_t)(builder_t *b, const keyref_t *k, void *field);

/* Makes room for one more element in an array that grows by doubling: powers of two are the
 * capacities, so the count alone says when to grow. */
static int grow(void **array, size_t count, size_t element_size)
{
        void *grown;

        if (count > 0 && (count & (count - 1)) != 0)
                return 0;
        grown = realloc(*array, (count ? 2 * count : 1) * element_size);
        if (!grown)
                return -ENOMEM;
        *array = grown;
        return 0;
}

static int warn_at(builder_t *b, unsigned line, unsigned col, const char *fmt, ...) _printf_(4, 5);
static int warn_at(builder_t *b, unsigned line, unsigned col, const char *fmt, ...)
{
        manifest_t *m = b->m;
        manifest_warning_t *w;
        va_list ap;

        if (grow((void **)&m->warnings, m->warning_count, sizeof(*w)) < 0)
                return -ENOMEM;
        w = &m->warnings[m->warning_count++];
        w->line = line;
        w->col = col;
        va_start(ap, fmt);
        vsnprintf(w->message, sizeof(w->message), fmt, ap);
        va_end(ap);
        return 0;
}

/* --- typed values --- */

static int type_error(builder_t *b, const keyref_t *k, const char *want)
{
        return diag_error(b->e, k->v->line, k->v->col, "'%s' must be %s, not %s %s", k->name, want,
                          k->v->type == TREE_ARRAY || k->v->type == TREE_INTEGER ? "an" : "a",
                          tree_type_name(k->v->type));
}

static int want_string(builder_t *b, const keyref_t *k, const char **ret)
{
        if (k->v->type != TREE_STRING)
                return type_error(b, k, "a string");
        if (memchr(k->v->string.data, '\0', k->v->string.size))
                return diag_error(b->e, k->v->line, k->v->col, "'%s' contains a NUL character",
                                  k->name);
        *ret = k->v->string.data;
        return 0;
}

static int want_bool(builder_t *b, const keyref_t *k, bool *ret)
{
        if (k->v->type == TREE_BOOL) {
                *ret = k->v->boolean;
                return 0;
        }
        if (b->legacy && k->v->type == TREE_STRING) {
                const char *s = k->v->string.data;
                if (STREQ(s, "1") || STREQ(s, "true")) {
                        *ret = true;
                        return 0;
                }
                if (STREQ(s, "0") || STREQ(s, "false")) {
                        *ret = false;
                        return 0;
                }
                return diag_error(b->e, k->v->line, k->v->col,
                                  "'%s' must be 1 or 0 (or true or false), not '%s'", k->name, s);
        }
        return type_error(b, k, "a boolean");
}

/* Parses decimal digits (legacy values, sizes) into *ret; false on anything else or overflow. */
static bool parse_decimal(const char *s, size_t size, uint64_t *ret)
{
        uint64_t n = 0;

        if (size == 0)
                return false;
        for (size_t i = 0; i < size; i++) {
                if (s[i] < '0' || s[i] > '9' || n > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
                        return false;
                n = n * 10 + (uint64_t)(s[i] - '0');
        }
        *ret = n;
        return true;
}

static int want_uint(builder_t *b, const keyref_t *k, uint64_t min, uint64_t max, uint64_t *ret)
{
        uint64_t n;

        if (k->v->type == TREE_INTEGER) {
                if (k->v->integer < 0 || (uint64_t)k->v->integer < min ||
                    (uint64_t)k->v->integer > max)
                        goto range;
                *ret = (uint64_t)k->v->integer;
                return 0;
        }
        if (b->legacy && k->v->type == TREE_STRING) {
                if (!parse_decimal(k->v->string.data, k->v->string.size, &n))
                        return diag_error(b->e, k->v->line, k->v->col,
                                          "'%s' must be a number, not '%s'", k->name,
                                          k->v->string.data);
                if (n < min || n > max)
                        goto range;
                *ret = n;
                return 0;
        }
        return type_error(b, k, "an integer");
range:
        return diag_error(b->e, k->v->line, k->v->col, "'%s' must be between %llu and %llu",
                          k->name, (unsigned long long)min, (unsigned long long)max);
}

/* A size: an integer (bytes), or a string of digits with an optional K, M or G (Gramine). */
static int want_size(builder_t *b, const keyref_t *k, uint64_t *ret)
{
        const char *s;
        size_t n;
        uint64_t value, shift = 0;

        if (k->v->type == TREE_INTEGER)
                return want_uint(b, k, 0, INT64_MAX, ret);
        if (k->v->type != TREE_STRING)
                return type_error(b, k, "a size such as \"256M\"");
        s = k->v->string.data;
        n = k->v->string.size;
        if (n > 0) {
                switch (s[n - 1]) {
                case 'K':
                case 'k':
                        shift = 10;
                        n--;
                        break;
                case 'M':
                case 'm':
                        shift = 20;
                        n--;
                        break;
                case 'G':
                case 'g':
                        shift = 30;
                        n--;
                        break;
                }
        }
        if (!parse_decimal(s, n, &value))
                return diag_error(b->e, k->v->line, k->v->col,
                                  "'%s' must be a size such as \"256M\", not '%s'", k->name, s);
        if (value > (UINT64_MAX >> shift))
                return diag_error(b->e, k->v->line, k->v->col, "'%s' is too large: '%s'", k->name,
                                  s);
        *ret = value << shift;
        return 0;
}

static int want_choice(builder_t *b, const keyref_t *k, const char *const *names, size_t count,
                       int *ret)
{
        const char *s;
        char list[256] = "";
        int r;

        r = want_string(b, k, &s);
        if (r < 0)
                return r;
        for (size_t i = 0; i < count; i++) {
                if (names[i] && STREQ(s, names[i])) {
                        *ret = (int)i;
                        return 0;
                }
        }
        for (size_t i = 0; i < count; i++) {
                if (!names[i])
                        continue;
                size_t len = strlen(list);
                snprintf(list + len, sizeof(list) - len, "%s'%s'", len ? ", " : "", names[i]);
        }
        return diag_error(b->e, k->v->line, k->v->col, "'%s' must be one of %s, not '%s'", k->name,
                          list, s);
}

static int dup_string(const char *s, char **ret)
{
        char *copy = strdup(s);

        if (!copy)
                return -ENOMEM;
        free(*ret);
        *ret = copy;
        return 0;
}

static int hex_decode(const char *s, uint8_t out[MANIFEST_SHA256_SIZE])
{
        if (strlen(s) != 2 * MANIFEST_SHA256_SIZE)
                return -EINVAL;
        for (size_t i = 0; i < 2 * MANIFEST_SHA256_SIZE; i++) {
                char c = s[i];
                int d = c >= '0' && c <= '9'   ? c - '0'
                        : c >= 'a' && c <= 'f' ? c - 'a' + 10
                        : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                               : -1;
                if (d < 0)
                        return -EINVAL;
                if (i % 2 == 0)
                        out[i / 2] = (uint8_t)(d << 4);
                else
                        out[i / 2] |= (uint8_t)d;
        }
        return 0;
}

static int want_sha256(builder_t *b, const keyref_t *k, uint8_t out[MANIFEST_SHA256_SIZE])
{
        const char *s;
        int r = want_string(b, k, &s);

        if (r < 0)
                return r;
        if (hex_decode(s, out) < 0)
                return diag_error(b->e, k->v->line, k->v->col,
                                  "malformed sha256 '%s' in '%s': expected 64 hexadecimal digits",
                                  s, k->name);
        return 0;
}

/* --- paths and URIs --- */

static int want_abs_path(builder_t *b, const keyref_t *k, char **ret)
{
        const char *s;
        char *norm;
        int r = want_string(b, k, &s);

        if (r < 0)
                return r;
        if (s[0] != '/')
                return diag_error(b->e, k->v->line, k->v->col,
                                  "'%s' must be an absolute path, not '%s'", k->name, s);
        norm = path_normalize(s);
        if (!norm)
                return -ENOMEM;
        free(*ret);
        *ret = norm;
        return 0;
}

/* A file: URI resolved to an absolute host path; relative ones against the working directory,
 * as Graphene did. "file:" alone is that directory. */
static int want_file_uri(builder_t *b, const keyref_t *k, char **ret_uri, char **ret_host,
                         bool *ret_is_dir)
{
        _cleanup_free_ char *joined = NULL;
        const char *s, *rest;
        char *host, *uri;
        size_t rest_size;
        int r = want_string(b, k, &s);

        if (r < 0)
                return r;
        if (strncmp(s, "file:", 5) != 0)
                return diag_error(b->e, k->v->line, k->v->col,
                                  "'%s' must be a 'file:' URI, not '%s'", k->name, s);
        rest = s + 5;
        rest_size = strlen(rest);
        if (rest[0] == '/') {
                host = path_normalize(rest);
        } else {
                if (asprintf(&joined, "%s/%s", b->cwd, rest) < 0)
                        return -ENOMEM;
                host = path_normalize(joined);
        }
        if (!host)
                return -ENOMEM;
        uri = strdup(s);
        if (!uri) {
                free(host);
                return -ENOMEM;
        }
        if (ret_is_dir)
                *ret_is_dir = rest_size == 0 || rest[rest_size - 1] == '/';
        free(*ret_uri);
        *ret_uri = uri;
        free(*ret_host);
        *ret_host = host;
        return 0;
}

/* --- the schema --- */

static const char *const log_levels[] = {
        [MANIFEST_LOG_NONE] = "none",       [MANIFEST_LOG_ERROR] = "error",
        [MANIFEST_LOG_WARNING] = "warning", [MANIFEST_LOG_DEBUG] = "debug",
        [MANIFEST_LOG_TRACE] = "trace",     [MANIFEST_LOG_ALL] = "all",
};
static const char *const mount_types[] = {
        [MANIFEST_MOUNT_CHROOT] = "chroot",
        [MANIFEST_MOUNT_TMPFS] = "tmpfs",
        [MANIFEST_MOUNT_ENCRYPTED] = "encrypted",
};
static const char *const check_policies[] = {
        [MANIFEST_CHECK_STRICT] = "strict",
        [MANIFEST_CHECK_ALLOW_ALL_BUT_LOG] = "allow_all_but_log",
};
static const char *const signer_kinds[] = {
        [MANIFEST_SIGNER_HEX] = "hex",
        [MANIFEST_SIGNER_SIG] = "sig",
        [MANIFEST_SIGNER_KEY] = "key",
};

static int on_bool(builder_t *b, const keyref_t *k, void *field)
{
        return want_bool(b, k, field);
}

static int on_string(builder_t *b, const keyref_t *k, void *field)
{
        const char *s;
        int r = want_string(b, k, &s);

        return r < 0 ? r : dup_string(s, field);
}

static int on_nonempty_string(builder_t *b, const keyref_t *k, void *field)
{
        if (k->v->type == TREE_STRING && k->v->string.size == 0)
                return diag_error(b->e, k->v->line, k->v->col, "'%s' must not be empty", k->name);
        return on_string(b, k, field);
}

static int on_abs_path(builder_t *b, const keyref_t *k, void *field)
{
        return want_abs_path(b, k, field);
}

static int on_u16(builder_t *b, const keyref_t *k, void *field)
{
        uint64_t n;
        int r = want_uint(b, k, 0, UINT16_MAX, &n);

        if (r >= 0)
                *(uint16_t *)field = (uint16_t)n;
        return r;
}

/* A count of something: at least 1. */
static int on_count(builder_t *b, const keyref_t *k, void *field)
{
        uint64_t n;
        int r = want_uint(b, k, 1, UINT32_MAX, &n);

        if (r >= 0)
                *(uint32_t *)field = (uint32_t)n;
        return r;
}

static int on_id(builder_t *b, const keyref_t *k, void *field)
{
        manifest_id_t *id = field;
        uint64_t n;
        /* (uid_t)-1 means "no change" to the kernel, so it cannot be an id */
        int r = want_uint(b, k, 0, UINT32_MAX - 1, &n);

        if (r >= 0)
                *id = (manifest_id_t){.set = true, .id = (uint32_t)n};
        return r;
}

static int on_size(builder_t *b, const keyref_t *k, void *field)
{
        return want_size(b, k, field);
}

static int on_entrypoint(builder_t *b, const keyref_t *k, void *field)
{
        const char *s;
        int r = want_string(b, k, &s);

        if (r < 0)
                return r;
        /* Graphene wrote the entrypoint as a host URI (loader.exec = file:...), which the
         * view shows where the mounts and the root say: see check_rules(). Gramine writes the
         * path in the view. */
        if (strncmp(s, "file:", 5) == 0) {
                _cleanup_free_ char *uri = NULL;
                return want_file_uri(b, k, &uri, &b->entrypoint_host, NULL);
        }
        return want_abs_path(b, k, field);
}

static int on_argv(builder_t *b, const keyref_t *k, _unused_ void *field)
{
        manifest_t *m = b->m;
        const tree_value_t *a = k->v;

        if (a->type != TREE_ARRAY)
                return type_error(b, k, "an array of strings");
        m->argv = calloc(a->array.count + 1, sizeof(char *));
        if (!m->argv)
                return -ENOMEM;
        for (size_t i = 0; i < a->array.count; i++) {
                char name[64];
                keyref_t item = {a->array.items[i], name, a->line, a->col};
                const char *s;
                int r;

                snprintf(name, sizeof(name), "loader.argv[%zu]", i);
                r = want_string(b, &item, &s);
                if (r < 0)
                        return r;
                r = dup_string(s, &m->argv[i]);
                if (r < 0)
                        return r;
                m->argv_count = i + 1;
        }
        return 0;
}

static int env_add(builder_t *b, const char *name, const char *value, bool passthrough)
{
        manifest_t *m = b->m;
        manifest_env_t *env;

        if (grow((void **)&m->env, m->env_count, sizeof(*env)) < 0)
                return -ENOMEM;
        env = &m->env[m->env_count];
        *env = (manifest_env_t){.passthrough = passthrough};
        env->name = strdup(name);
        env->value = value ? strdup(value) : NULL;
        m->env_count++;
        if (!env->name || (value && !env->value))
                return -ENOMEM;
        return 0;
}

static int suggest_error(builder_t *b, unsigned line, unsigned col, const char *key,
                         const char *const *known, size_t count);

typedef int (*field_fn)(builder_t *b, const keyref_t *field, const char *field_name,
                        void *userdata);
static int each_field(builder_t *b, const keyref_t *k, const char *const *fields, size_t count,
                      field_fn handle, void *userdata);

typedef struct env_fields {
        const char *value;
        bool passthrough;
} env_fields_t;

static int env_field(builder_t *b, const keyref_t *f, const char *field, void *userdata)
{
        env_fields_t *ef = userdata;

        if (STREQ(field, "value"))
                return want_string(b, f, &ef->value);
        return want_bool(b, f, &ef->passthrough);
}

static int on_env(builder_t *b, const keyref_t *k, _unused_ void *field)
{
        const tree_value_t *t = k->v;

        if (t->type != TREE_TABLE)
                return type_error(b, k, "a table of NAME = \"value\"");
        for (size_t i = 0; i < t->table.count; i++) {
                const tree_entry_t *en = &t->table.entries[i];
                char name[512];
                keyref_t item = {en->value, name, en->line, en->col};
                const char *value = NULL;
                bool passthrough = false;
                int r;

                if (en->value->label)
                        snprintf(name, sizeof(name), "%s", en->value->label);
                else
                        snprintf(name, sizeof(name), "loader.env.%s", en->key);
                if (en->key_size == 0 || memchr(en->key, '=', en->key_size) ||
                    memchr(en->key, '\0', en->key_size))
                        return diag_error(b->e, en->line, en->col,
                                          "invalid environment variable name in '%s'", name);
                if (en->value->type == TREE_TABLE) {
                        static const char *const fields[] = {"value", "passthrough"};
                        env_fields_t ef = {0};

                        r = each_field(b, &item, fields, ELEMENTSOF(fields), env_field, &ef);
                        if (r < 0)
                                return r;
                        value = ef.value;
                        passthrough = ef.passthrough;
                        if (value && passthrough)
                                return diag_error(b->e, en->value->line, en->value->col,
                                                  "'%s' has both 'value' and 'passthrough = "
                                                  "true': set one",
                                                  name);
                        if (!value && !passthrough)
                                return diag_error(b->e, en->value->line, en->value->col,
                                                  "'%s' needs 'value = \"...\"' or "
                                                  "'passthrough = true'",
                                                  name);
                } else {
                        r = want_string(b, &item, &value);
                        if (r < 0)
                                return r;
                }
                r = env_add(b, en->key, value, passthrough);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int on_log_level(builder_t *b, const keyref_t *k, _unused_ void *field)
{
        int level, r = want_choice(b, k, log_levels, ELEMENTSOF(log_levels), &level);

        if (r >= 0)
                b->m->log_level = (manifest_log_level_t)level;
        return r;
}

static int on_root_uri(builder_t *b, const keyref_t *k, _unused_ void *field)
{
        return want_file_uri(b, k, &b->m->root_uri, &b->m->root_host_path, NULL);
}

/* "prefix[i]" and "prefix.key", the names of list items and table fields in messages. They are
 * made for every entry of what may be a list of 10,000 files, so without printf. */
static void name_join(char *buf, size_t size, const char *a, const char *b, const char *c)
{
        size_t n = 0;

        for (const char *parts[] = {a, b, c}, **p = parts; p < parts + 3; p++) {
                size_t len = MIN(strlen(*p), size - 1 - n);
                memcpy(buf + n, *p, len);
                n += len;
        }
        buf[n] = '\0';
}

static void name_item(char *buf, size_t size, const char *prefix, size_t i)
{
        char digits[24], *d = digits + sizeof(digits) - 1;

        *d = '\0';
        do {
                *--d = (char)('0' + i % 10);
                i /= 10;
        } while (i > 0);
        *--d = '[';
        name_join(buf, size, prefix, d, "]");
}

static void name_field(char *buf, size_t size, const char *prefix, const char *key)
{
        name_join(buf, size, prefix, ".", key);
}

/* Calls each(b, item key) for every element of an array. */
static int each_item(builder_t *b, const keyref_t *k, const char *want,
                     int (*each)(builder_t *b, const keyref_t *item))
{
        const tree_value_t *a = k->v;

        if (a->type != TREE_ARRAY)
                return type_error(b, k, want);
        for (size_t i = 0; i < a->array.count; i++) {
                const tree_value_t *v = a->array.items[i];
                char name[512];
                keyref_t item = {v, name, v->line, v->col};
                int r;

                if (v->label)
                        item.name = v->label;
                else
                        name_item(name, sizeof(name), k->name, i);
                r = each(b, &item);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Walks the fields of an inline table entry: each known field goes to handle(), an unknown
 * one is an error with a suggestion. */

static int each_field(builder_t *b, const keyref_t *k, const char *const *fields, size_t count,
                      field_fn handle, void *userdata)
{
        const tree_value_t *t = k->v;

        for (size_t i = 0; i < t->table.count; i++) {
                const tree_entry_t *en = &t->table.entries[i];
                char name[600];
                keyref_t fk = {en->value, name, en->line, en->col};
                bool known = false;
                int r;

                if (en->value->label)
                        fk.name = en->value->label;
                else
                        name_field(name, sizeof(name), k->name, en->key);
                for (size_t j = 0; j < count; j++)
                        known = known || STREQ(en->key, fields[j]);
                if (!known || strlen(en->key) != en->key_size) {
                        /* suggest among the full names, so the hint reads like the key */
                        char prefix[600], candidates[8][640];
                        const char *ptrs[8];
                        size_t n = MIN(count, ELEMENTSOF(candidates));
                        size_t len = strlen(fk.name), key_len = strlen(en->key);

                        /* the name ends with the key: what is before it is the prefix */
                        snprintf(prefix, sizeof(prefix), "%.*s",
                                 (int)(len >= key_len ? len - key_len : 0), fk.name);
                        for (size_t j = 0; j < n; j++) {
                                snprintf(candidates[j], sizeof(candidates[j]), "%s%s", prefix,
                                         fields[j]);
                                ptrs[j] = candidates[j];
                        }
                        return suggest_error(b, en->line, en->col, fk.name, ptrs, n);
                }
                r = handle(b, &fk, en->key, userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The identifier Graphene gave an entry, from its label "PREFIX.NAME". */
static int legacy_name(const tree_value_t *v, const char *prefix, char **ret)
{
        size_t n = strlen(prefix);

        if (!v->label || strncmp(v->label, prefix, n) != 0)
                return 0;
        *ret = strdup(v->label + n);
        return *ret ? 0 : -ENOMEM;
}

static int mount_field(builder_t *b, const keyref_t *f, const char *field, void *userdata)
{
        manifest_mount_t *mt = userdata;
        int type, r;

        if (STREQ(field, "type")) {
                r = want_choice(b, f, mount_types, ELEMENTSOF(mount_types), &type);
                mt->type = (manifest_mount_type_t)type;
                return r;
        }
        if (STREQ(field, "path"))
                return want_abs_path(b, f, &mt->path);
        if (STREQ(field, "uri"))
                return want_file_uri(b, f, &mt->uri, &mt->host_path, NULL);
        {
                const char *s;
                r = want_string(b, f, &s);
                return r < 0 ? r : dup_string(s, &mt->key_name);
        }
}

static int on_mount(builder_t *b, const keyref_t *k)
{
        static const char *const fields[] = {"type", "path", "uri", "key_name"};
        manifest_t *m = b->m;
        manifest_mount_t *mt;
        int r;

        if (k->v->type != TREE_TABLE)
                return type_error(b, k,
                                  "a table such as { type = \"chroot\", path = \"/lib\", "
                                  "uri = \"file:/lib\" }");
        if (grow((void **)&m->mounts, m->mount_count, sizeof(*mt)) < 0)
                return -ENOMEM;
        mt = &m->mounts[m->mount_count++];
        *mt = (manifest_mount_t){.type = MANIFEST_MOUNT_CHROOT, .line = k->v->line};
        r = each_field(b, k, fields, ELEMENTSOF(fields), mount_field, mt);
        if (r < 0)
                return r;
        if (!mt->path)
                return diag_error(b->e, k->v->line, k->v->col, "'%s' needs a 'path'", k->name);
        if (mt->type == MANIFEST_MOUNT_TMPFS && mt->uri)
                return diag_error(b->e, k->v->line, k->v->col,
                                  "'%s' is a tmpfs mount, which takes no 'uri'", k->name);
        if (mt->type != MANIFEST_MOUNT_TMPFS && !mt->uri)
                return diag_error(b->e, k->v->line, k->v->col, "'%s' needs a 'uri'", k->name);
        if (mt->type != MANIFEST_MOUNT_ENCRYPTED && mt->key_name)
                return diag_error(b->e, k->v->line, k->v->col,
                                  "'%s' takes a 'key_name' only when its type is 'encrypted'",
                                  k->name);
        if (mt->type == MANIFEST_MOUNT_ENCRYPTED && !mt->key_name)
                return dup_string("default", &mt->key_name);
        return 0;
}

static int on_mounts(builder_t *b, const keyref_t *k, _unused_ void *field)
{
        return each_item(b, k, "an array of tables", on_mount);
}

static int file_add(builder_t *b, manifest_file_t **list, size_t *count, const keyref_t *k,
                    manifest_file_t **ret)
{
        manifest_file_t *f;

        (void)b;
        if (grow((void **)list, *count, sizeof(**list)) < 0)
                return -ENOMEM;
        f = &(*list)[(*count)++];
        *f = (manifest_file_t){.line = k->v->line};
        *ret = f;
        return 0;
}

static int trusted_field(builder_t *b, const keyref_t *fk, const char *field, void *userdata)
{
        manifest_file_t *f = userdata;

        if (STREQ(field, "uri"))
                return want_file_uri(b, fk, &f->uri, &f->host_path, &f->is_dir);
        f->has_sha256 = true;
        return want_sha256(b, fk, f->sha256);
}

static int on_trusted_file(builder_t *b, const keyref_t *k)
{
        static const char *const fields[] = {"uri", "sha256"};
        manifest_file_t *f;
        int r;

        r = file_add(b, &b->m->trusted_files, &b->m->trusted_file_count, k, &f);
        if (r < 0)
                return r;
        r = legacy_name(k->v, "sgx.trusted_files.", &f->name);
        if (r < 0)
                return r;
        if (k->v->type == TREE_STRING)
                return want_file_uri(b, k, &f->uri, &f->host_path, &f->is_dir);
        if (k->v->type != TREE_TABLE)
                return type_error(b, k, "a \"file:...\" URI or a table { uri, sha256 }");
        r = each_field(b, k, fields, ELEMENTSOF(fields), trusted_field, f);
        if (r < 0)
                return r;
        if (!f->uri)
                return diag_error(b->e, k->v->line, k->v->col, "'%s' needs a 'uri'", k->name);
        if (f->has_sha256 && f->is_dir)
                return diag_error(b->e, k->v->line, k->v->col,
                                  "'%s' is a directory ('%s'): a sha256 belongs to a file", k->name,
                                  f->uri);
        return 0;
}

static int on_trusted_files(builder_t *b, const keyref_t *k, _unused_ void *field)
{
        return each_item(b, k, "an array", on_trusted_file);
}

static int on_allowed_file(builder_t *b, const keyref_t *k)
{
        manifest_file_t *f;
        int r;

        r = file_add(b, &b->m->allowed_files, &b->m->allowed_file_count, k, &f);
        if (r < 0)
                return r;
        r = legacy_name(k->v, "sgx.allowed_files.", &f->name);
        if (r < 0)
                return r;
        return want_file_uri(b, k, &f->uri, &f->host_path, &f->is_dir);
}

static int on_allowed_files(builder_t *b, const keyref_t *k, _unused_ void *field)
{
        return each_item(b, k, "an array of \"file:...\" URIs", on_allowed_file);
}

static int on_file_check_policy(builder_t *b, const keyref_t *k, _unused_ void *field)
{
        int p, r = want_choice(b, k, check_policies, ELEMENTSOF(check_policies), &p);

        if (r >= 0)
                b->m->file_check_policy = (manifest_file_check_policy_t)p;
        return r;
}

static int on_enclave_size(builder_t *b, const keyref_t *k, _unused_ void *field)
{
        uint64_t n;
        int r = want_size(b, k, &n);

        if (r < 0)
                return r;
        /* SGX needs a power of two; a manifest that signs here must also be valid there. */
        if (n == 0 || (n & (n - 1)) != 0)
                return diag_error(b->e, k->v->line, k->v->col,
                                  "'%s' must be a power of two, such as \"256M\"", k->name);
        b->m->enclave_size = n;
        return 0;
}

static int on_sigfile(builder_t *b, const keyref_t *k, _unused_ void *field)
{
        return want_file_uri(b, k, &b->m->sigfile, &b->m->sigfile_host, NULL);
}

static int child_field(builder_t *b, const keyref_t *fk, const char *field, void *userdata)
{
        manifest_child_t *c = userdata;

        if (STREQ(field, "uri"))
                return want_file_uri(b, fk, &c->uri, &c->host_path, NULL);
        c->has_mrenclave = true;
        return want_sha256(b, fk, c->mrenclave);
}

static int on_trusted_child(builder_t *b, const keyref_t *k)
{
        static const char *const fields[] = {"uri", "mrenclave"};
        manifest_t *m = b->m;
        manifest_child_t *c;
        int r;

        if (grow((void **)&m->trusted_children, m->trusted_child_count, sizeof(*c)) < 0)
                return -ENOMEM;
        c = &m->trusted_children[m->trusted_child_count++];
        *c = (manifest_child_t){.line = k->v->line};
        r = legacy_name(k->v, "sgx.trusted_children.", &c->name);
        if (r < 0)
                return r;
        if (k->v->type == TREE_STRING)
                return want_file_uri(b, k, &c->uri, &c->host_path, NULL);
        if (k->v->type != TREE_TABLE)
                return type_error(b, k, "a \"file:X.sig\" URI or a table { uri, mrenclave }");
        r = each_field(b, k, fields, ELEMENTSOF(fields), child_field, c);
        if (r < 0)
                return r;
        if (!c->uri)
                return diag_error(b->e, k->v->line, k->v->col, "'%s' needs a 'uri'", k->name);
        return 0;
}

static int on_trusted_children(builder_t *b, const keyref_t *k, _unused_ void *field)
{
        return each_item(b, k, "an array of \"file:X.sig\" URIs", on_trusted_child);
}

static int on_trusted_signer(builder_t *b, const keyref_t *k)
{
        manifest_t *m = b->m;
        manifest_signer_t *sg;
        const char *s;
        int r;

        if (grow((void **)&m->trusted_signers, m->trusted_signer_count, sizeof(*sg)) < 0)
                return -ENOMEM;
        sg = &m->trusted_signers[m->trusted_signer_count++];
        *sg = (manifest_signer_t){.line = k->v->line};
        r = legacy_name(k->v, "sgx.trusted_signers.", &sg->name);
        if (r < 0)
                return r;
        r = want_string(b, k, &s);
        if (r < 0)
                return r;
        if (strncmp(s, "file:", 5) == 0) {
                size_t n = strlen(s);
                sg->kind = n > 4 && STREQ(s + n - 4, ".sig") ? MANIFEST_SIGNER_SIG
                                                             : MANIFEST_SIGNER_KEY;
                return want_file_uri(b, k, &sg->value, &sg->host_path, NULL);
        }
        sg->kind = MANIFEST_SIGNER_HEX;
        if (hex_decode(s, sg->mrsigner) < 0)
                return diag_error(b->e, k->v->line, k->v->col,
                                  "'%s' must be a signer as 64 hexadecimal digits, a "
                                  "\"file:X.sig\" or a \"file:key.pem\", not '%s'",
                                  k->name, s);
        return dup_string(s, &sg->value);
}

static int on_trusted_signers(builder_t *b, const keyref_t *k, _unused_ void *field)
{
        return each_item(b, k, "an array of signers", on_trusted_signer);
}

/* Gramine keys about the enclave hardware or its own internals: accepted so that a Gramine
 * manifest loads unchanged, and reported as without effect. */
static int on_no_effect(builder_t *b, const keyref_t *k, _unused_ void *field)
{
        if (k->v->type == TREE_TABLE)
                return type_error(b, k, "a value");
        return warn_at(b, k->line, k->col,
                       "'%s' has no effect in lamina (no SGX hardware, no "
                       "library OS); ignored",
                       k->name);
}

static const struct {
        const char *key;
        handler_t handler;
        size_t offset; /* of the field in manifest_t */
} schema[] = {
#define F(name) offsetof(manifest_t, name)
        {"libos.entrypoint", on_entrypoint, F(entrypoint)},
        {"loader.argv", on_argv, 0},
        {"loader.insecure__use_cmdline_argv", on_bool, F(use_cmdline_argv)},
        {"loader.argv0_override", on_string, F(argv0_override)},
        {"loader.env", on_env, 0},
        {"loader.insecure__use_host_env", on_bool, F(use_host_env)},
        {"loader.log_level", on_log_level, 0},
        {"loader.log_file", on_nonempty_string, F(log_file)},
        {"loader.uid", on_id, F(uid)},
        {"loader.gid", on_id, F(gid)},
        {"fs.root.uri", on_root_uri, 0},
        {"fs.start_dir", on_abs_path, F(start_dir)},
        {"fs.mounts", on_mounts, 0},
        {"sgx.trusted_files", on_trusted_files, 0},
        {"sgx.allowed_files", on_allowed_files, 0},
        {"sgx.file_check_policy", on_file_check_policy, 0},
        {"sgx.allow_file_creation", on_bool, F(allow_file_creation)},
        {"sgx.debug", on_bool, F(debug)},
        {"sgx.isvprodid", on_u16, F(isvprodid)},
        {"sgx.isvsvn", on_u16, F(isvsvn)},
        {"sgx.enclave_size", on_enclave_size, 0},
        {"sgx.max_threads", on_count, F(max_threads)},
        {"sgx.sigfile", on_sigfile, 0},
        {"sgx.trusted_children", on_trusted_children, 0},
        {"sgx.trusted_signers", on_trusted_signers, 0},
        {"sys.enable_sigterm_injection", on_bool, F(enable_sigterm_injection)},
        {"sys.disallow_subprocesses", on_bool, F(disallow_subprocesses)},
        {"sys.stack.size", on_size, F(stack_size)},
        {"sys.brk.max_size", on_size, F(brk_max_size)},
        {"sys.fds.limit", on_count, F(fds_limit)},
#undef F
        {"loader.pal_internal_mem_size", on_no_effect, 0},
        {"libos.check_invalid_pointers", on_no_effect, 0},
        {"sgx.nonpie_binary", on_no_effect, 0},
        {"sgx.remote_attestation", on_no_effect, 0},
        {"sgx.edmm_enable", on_no_effect, 0},
        {"sgx.preheat_enclave", on_no_effect, 0},
        {"sgx.enable_stats", on_no_effect, 0},
        {"sgx.use_exinfo", on_no_effect, 0},
        {"sgx.insecure__rpc_thread_num", on_no_effect, 0},
        {"sgx.require_avx", on_no_effect, 0},
        {"sgx.require_avx512", on_no_effect, 0},
        {"sgx.require_mpx", on_no_effect, 0},
        {"sgx.require_pkru", on_no_effect, 0},
        {"sgx.require_amx", on_no_effect, 0},
        {"sgx.require_exinfo", on_no_effect, 0},
        {"sgx.ra_client_spid", on_no_effect, 0},
        {"sgx.ra_client_linkable", on_no_effect, 0},
};

/* --- did you mean --- */

static size_t edit_distance(const char *a, const char *b)
{
        size_t la = strlen(a), lb = strlen(b);
        size_t row[128];

        if (lb >= ELEMENTSOF(row) || la >= 1024)
                return SIZE_MAX;
        for (size_t j = 0; j <= lb; j++)
                row[j] = j;
        for (size_t i = 1; i <= la; i++) {
                size_t diag = row[0];
                row[0] = i;
                for (size_t j = 1; j <= lb; j++) {
                        size_t up = row[j];
                        size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
                        row[j] = MIN(MIN(row[j] + 1, row[j - 1] + 1), diag + cost);
                        diag = up;
                }
        }
        return row[lb];
}

static int suggest_error(builder_t *b, unsigned line, unsigned col, const char *key,
                         const char *const *known, size_t count)
{
        const char *best = NULL;
        size_t best_distance = SIZE_MAX;

        size_t best_common = 0;

        for (size_t i = 0; i < count; i++) {
                size_t d = edit_distance(key, known[i]), common = 0;

                while (key[common] && key[common] == known[i][common])
                        common++;
                /* of equally close keys, the one that shares the longer start: 'sha' is more
                 * likely 'sha256' than 'uri' */
                if (d < best_distance || (d == best_distance && common > best_common)) {
                        best_distance = d;
                        best_common = common;
                        best = known[i];
                }
        }
        /* a typo, not a different key: a few edits, and fewer than half the key */
        if (best && best_distance <= 3 && best_distance * 2 < strlen(key))
                return diag_error(b->e, line, col, "unknown key '%s'; did you mean '%s'?", key,
                                  best);
        return diag_error(b->e, line, col, "unknown key '%s'", key);
}

static int unknown_key(builder_t *b, const tree_entry_t *en, const char *key)
{
        const char *known[ELEMENTSOF(schema) + 32];
        size_t n = 0;

        for (size_t i = 0; i < ELEMENTSOF(schema); i++)
                known[n++] = schema[i].key;
        /* a Graphene manifest is more likely to misspell one of Graphene's keys */
        if (b->legacy)
                n += legacy_key_names(known + n, ELEMENTSOF(known) - n);
        return suggest_error(b, en->line, en->col, key, known, n);
}

/* --- the walk --- */

static int walk(builder_t *b, const tree_value_t *t, const char *prefix)
{
        for (size_t i = 0; i < t->table.count; i++) {
                const tree_entry_t *en = &t->table.entries[i];
                _cleanup_free_ char *path = NULL;
                bool deeper = false;
                int r;

                /* a key that holds a dot or NUL itself is never one of ours; show it quoted */
                if (memchr(en->key, '.', en->key_size) || strlen(en->key) != en->key_size) {
                        if (asprintf(&path, "%s%s\"%s\"", prefix, *prefix ? "." : "", en->key) < 0)
                                return -ENOMEM;
                        return unknown_key(b, en, path);
                }
                if (asprintf(&path, "%s%s%s", prefix, *prefix ? "." : "", en->key) < 0)
                        return -ENOMEM;
                for (size_t j = 0; j < ELEMENTSOF(schema); j++) {
                        size_t n = strlen(path);
                        if (STREQ(schema[j].key, path)) {
                                keyref_t k = {en->value, en->value->label ? en->value->label : path,
                                              en->line, en->col};
                                r = schema[j].handler(b, &k, (char *)b->m + schema[j].offset);
                                if (r < 0)
                                        return r;
                                goto next;
                        }
                        if (strncmp(schema[j].key, path, n) == 0 && schema[j].key[n] == '.')
                                deeper = true;
                }
                if (!deeper || en->value->type != TREE_TABLE) {
                        if (deeper) {
                                keyref_t k = {en->value, en->value->label ? en->value->label : path,
                                              en->line, en->col};
                                return type_error(b, &k, "a table");
                        }
                        return unknown_key(b, en, en->value->label ? en->value->label : path);
                }
                r = walk(b, en->value, path);
                if (r < 0)
                        return r;
        next:;
        }
        return 0;
}

/* --- rules across keys --- */

static const tree_entry_t *find_path(const tree_value_t *root, const char *path)
{
        const tree_value_t *t = root;
        const tree_entry_t *en = NULL;

        for (const char *s = path; t;) {
                const char *dot = strchrnul(s, '.');
                en = tree_table_find(t, s, (size_t)(dot - s));
                if (!en || !*dot)
                        return en;
                t = en->value->type == TREE_TABLE ? en->value : NULL;
                s = dot + 1;
        }
        return NULL;
}

static const char *key_label(const tree_entry_t *en, const char *path)
{
        return en->value->label ? en->value->label : path;
}

/* Indexes files by host path, refusing one listed twice. The index is a set of host paths whose
 * entries remember the line, for messages. */
static int index_files(builder_t *b, const manifest_file_t *files, size_t count, const char *what,
                       tree_value_t **ret_index)
{
        tree_value_t *index = tree_new(TREE_TABLE, 0, 0);

        if (!index)
                return -ENOMEM;
        for (size_t i = 0; i < count; i++) {
                const manifest_file_t *f = &files[i];
                int r = tree_table_add(index, f->host_path, strlen(f->host_path), f->line, 1, NULL);

                if (r == -EEXIST) {
                        const tree_entry_t *dup =
                                tree_table_find(index, f->host_path, strlen(f->host_path));
                        r = diag_error(b->e, f->line, 1, "duplicate %s '%s' (also at line %u)",
                                       what, f->uri, dup->line);
                }
                if (r < 0) {
                        tree_free(index);
                        return r;
                }
        }
        *ret_index = index;
        return 0;
}

static int check_files(builder_t *b)
{
        const manifest_t *m = b->m;
        tree_value_t *trusted = NULL, *allowed = NULL;
        int r;

        r = index_files(b, m->trusted_files, m->trusted_file_count, "trusted file", &trusted);
        if (r < 0)
                return r;
        r = index_files(b, m->allowed_files, m->allowed_file_count, "allowed file", &allowed);
        for (size_t i = 0; r == 0 && i < m->allowed_file_count; i++) {
                const manifest_file_t *f = &m->allowed_files[i];
                const tree_entry_t *t =
                        tree_table_find(trusted, f->host_path, strlen(f->host_path));
                if (t)
                        r = diag_error(b->e, f->line, 1,
                                       "'%s' is both trusted (line %u) and allowed: a file is "
                                       "either checked or not",
                                       f->uri, t->line);
        }
        tree_free(trusted);
        tree_free(allowed);
        return r;
}

/* What follows prefix in path (from its '/'), when path is prefix or below it; else NULL. */
static const char *rest_below(const char *path, const char *prefix)
{
        if (!path_under(path, prefix))
                return NULL;
        return STREQ(prefix, "/") ? path : path + strlen(prefix);
}

int manifest_view_path(const manifest_t *m, const char *host_path, char *buf, size_t size)
{
        const char *rest = NULL, *base = NULL;
        size_t best = 0;
        int n;

        for (size_t i = 0; i < m->mount_count; i++) {
                const manifest_mount_t *mt = &m->mounts[i];
                const char *r = mt->type == MANIFEST_MOUNT_CHROOT
                                        ? rest_below(host_path, mt->host_path)
                                        : NULL;
                if (r && strlen(mt->host_path) + 1 > best) {
                        best = strlen(mt->host_path) + 1;
                        base = mt->path;
                        rest = r;
                }
        }
        if (!base && (rest = rest_below(host_path, m->root_host_path)))
                base = "/";
        if (!base) {
                base = "";
                rest = host_path;
        }
        if (STREQ(base, "/") && rest[0] == '/')
                base = "";
        n = snprintf(buf, size, "%s%s", base, *base || *rest ? rest : "/");
        if (n < 0 || (size_t)n >= size)
                return -ENAMETOOLONG;
        if (buf[0] == '\0')
                snprintf(buf, size, "/");
        return 0;
}

static int check_rules(builder_t *b, const tree_value_t *root)
{
        manifest_t *m = b->m;
        const tree_entry_t *argv = find_path(root, "loader.argv");
        const tree_entry_t *cmdline = find_path(root, "loader.insecure__use_cmdline_argv");
        const tree_entry_t *argv0 = find_path(root, "loader.argv0_override");

        if (b->entrypoint_host) {
                char view[PATH_MAX];
                const tree_entry_t *en = find_path(root, "libos.entrypoint");
                if (manifest_view_path(m, b->entrypoint_host, view, sizeof(view)) < 0)
                        return diag_error(b->e, en->line, en->col, "'%s' is too long",
                                          key_label(en, "libos.entrypoint"));
                free(m->entrypoint);
                m->entrypoint = strdup(view);
                if (!m->entrypoint)
                        return -ENOMEM;
        }
        if (!m->entrypoint)
                return diag_error(b->e, 0, 0,
                                  "'libos.entrypoint' is required: the program to run, such as "
                                  "libos.entrypoint = \"/usr/bin/python3\"");
        if (argv && m->use_cmdline_argv)
                return diag_error(b->e, argv->line, argv->col,
                                  "'loader.argv' conflicts with '%s' (line %u): the arguments "
                                  "come either from the manifest or from the command line",
                                  key_label(cmdline, "loader.insecure__use_cmdline_argv"),
                                  cmdline->line);
        if (argv && argv0)
                return diag_error(b->e, argv0->line, argv0->col,
                                  "'%s' conflicts with 'loader.argv' (line %u): argv[0] is the "
                                  "first element of 'loader.argv'",
                                  key_label(argv0, "loader.argv0_override"), argv->line);
        for (size_t i = 0; i < m->mount_count; i++)
                for (size_t j = 0; j < i; j++)
                        if (STREQ(m->mounts[i].path, m->mounts[j].path))
                                return diag_error(b->e, m->mounts[i].line, 1,
                                                  "duplicate mount path '%s' (also at line %u)",
                                                  m->mounts[i].path, m->mounts[j].line);
        return check_files(b);
}

/* --- loading --- */

static int set_defaults(builder_t *b)
{
        manifest_t *m = b->m;

        m->log_level = MANIFEST_LOG_ERROR;
        m->enclave_size = MANIFEST_DEFAULT_ENCLAVE_SIZE;
        m->max_threads = MANIFEST_DEFAULT_MAX_THREADS;
        m->stack_size = MANIFEST_DEFAULT_STACK_SIZE;
        m->brk_max_size = MANIFEST_DEFAULT_BRK_MAX_SIZE;
        m->fds_limit = MANIFEST_DEFAULT_FDS_LIMIT;
        m->root_uri = strdup("file:");
        m->root_host_path = strdup(b->cwd);
        m->start_dir = strdup("/");
        if (!m->root_uri || !m->root_host_path || !m->start_dir)
                return -ENOMEM;
        return 0;
}

static void legacy_warning(unsigned line, unsigned col, const char *message, void *userdata)
{
        builder_t *b = userdata;

        (void)warn_at(b, line, col, "%s", message);
}

static bool is_bare_key_char(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-' || c == '.';
}

/* Whether a value (trimmed, comment removed) is one TOML can read on one line. */
static bool toml_can_read(const char *v, size_t n)
{
        if (n == 0)
                return false;
        if (v[0] == '"' || v[0] == '\'' || v[0] == '[' || v[0] == '{')
                return true;
        if ((n == 4 && memcmp(v, "true", 4) == 0) || (n == 5 && memcmp(v, "false", 5) == 0))
                return true;
        /* numbers, dates, inf, nan: leave those to TOML; names and paths are not */
        for (size_t i = 0; i < n; i++)
                if (!strchr("0123456789+-_.:eExXoObBinfaTZtz ", v[i]))
                        return false;
        return true;
}

manifest_format_t manifest_detect_format(const char *text, size_t size)
{
        bool legacy = false;

        for (size_t start = 0; start < size;) {
                const char *nl = memchr(text + start, '\n', size - start);
                size_t end = nl ? (size_t)(nl - text) : size;
                size_t i = start, k, v, v_end;

                while (i < end && (text[i] == ' ' || text[i] == '\t'))
                        i++;
                k = i;
                while (i < end && is_bare_key_char(text[i]))
                        i++;
                if (k < end && text[k] != '#' && text[k] != '\r') {
                        if (i == k)
                                return MANIFEST_FORMAT_TOML; /* [table], "quoted" = ... */
                        if (legacy_is_legacy_key(text + k, i - k))
                                legacy = true;
                        while (i < end && (text[i] == ' ' || text[i] == '\t'))
                                i++;
                        if (i < end && text[i] == '=') {
                                v = i + 1;
                                while (v < end && (text[v] == ' ' || text[v] == '\t'))
                                        v++;
                                if (v < end && (text[v] == '[' || text[v] == '{'))
                                        return MANIFEST_FORMAT_TOML;
                                v_end = v;
                                while (v_end < end && text[v_end] != '#' && text[v_end] != '\r')
                                        v_end++;
                                while (v_end > v &&
                                       (text[v_end - 1] == ' ' || text[v_end - 1] == '\t'))
                                        v_end--;
                                if (!toml_can_read(text + v, v_end - v))
                                        legacy = true;
                        }
                }
                start = end + 1;
        }
        return legacy ? MANIFEST_FORMAT_LEGACY : MANIFEST_FORMAT_TOML;
}

manifest_t *manifest_free(manifest_t *m)
{
        if (!m)
                return NULL;
        free(m->path);
        free(m->entrypoint);
        for (size_t i = 0; m->argv && m->argv[i]; i++)
                free(m->argv[i]);
        free(m->argv);
        free(m->argv0_override);
        for (size_t i = 0; i < m->env_count; i++) {
                free(m->env[i].name);
                free(m->env[i].value);
        }
        free(m->env);
        free(m->log_file);
        free(m->root_uri);
        free(m->root_host_path);
        free(m->start_dir);
        for (size_t i = 0; i < m->mount_count; i++) {
                free(m->mounts[i].path);
                free(m->mounts[i].uri);
                free(m->mounts[i].host_path);
                free(m->mounts[i].key_name);
        }
        free(m->mounts);
        for (size_t i = 0; i < m->trusted_file_count; i++) {
                free(m->trusted_files[i].name);
                free(m->trusted_files[i].uri);
                free(m->trusted_files[i].host_path);
        }
        free(m->trusted_files);
        for (size_t i = 0; i < m->allowed_file_count; i++) {
                free(m->allowed_files[i].name);
                free(m->allowed_files[i].uri);
                free(m->allowed_files[i].host_path);
        }
        free(m->allowed_files);
        free(m->sigfile);
        free(m->sigfile_host);
        for (size_t i = 0; i < m->trusted_child_count; i++) {
                free(m->trusted_children[i].name);
                free(m->trusted_children[i].uri);
                free(m->trusted_children[i].host_path);
        }
        free(m->trusted_children);
        for (size_t i = 0; i < m->trusted_signer_count; i++) {
                free(m->trusted_signers[i].name);
                free(m->trusted_signers[i].value);
                free(m->trusted_signers[i].host_path);
        }
        free(m->trusted_signers);
        free(m->warnings);
        free(m);
        return NULL;
}

/* The body of manifest_parse(), apart so that the builder's own allocations are freed on
 * every path. */
static int parse_into(builder_t *b, const char *text, size_t size, manifest_format_t format)
{
        _cleanup_(tree_freep) tree_value_t *root = NULL;
        int r;

        if (format == MANIFEST_FORMAT_AUTO)
                format = manifest_detect_format(text, size);
        b->m->format = format;
        b->legacy = format == MANIFEST_FORMAT_LEGACY;
        if (b->legacy)
                r = legacy_parse(text, size, legacy_warning, b, b->e, &root);
        else
                r = toml_parse(text, size, b->e, &root);
        if (r < 0)
                return r;
        r = set_defaults(b);
        if (r < 0)
                return r;
        r = walk(b, root, "");
        if (r < 0)
                return r;
        return check_rules(b, root);
}

int manifest_parse(const char *name, const char *text, size_t size, const manifest_options_t *opts,
                   manifest_error_t *e, manifest_t **ret)
{
        _cleanup_(manifest_freep) manifest_t *m = NULL;
        _cleanup_free_ char *cwd = NULL;
        manifest_format_t format = opts ? opts->format : MANIFEST_FORMAT_AUTO;
        builder_t b;
        int r;

        if (e)
                e->file = name;
        if (size > MANIFEST_SIZE_MAX)
                return -E2BIG;
        if (opts && opts->cwd) {
                cwd = strdup(opts->cwd);
        } else {
                cwd = getcwd(NULL, 0);
                if (!cwd)
                        return -errno;
        }
        m = calloc(1, sizeof(*m));
        if (!cwd || !m)
                return -ENOMEM;
        m->path = strdup(name);
        if (!m->path)
                return -ENOMEM;
        b = (builder_t){.m = m, .e = e, .cwd = cwd};
        r = parse_into(&b, text, size, format);
        free(b.entrypoint_host);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

/* Fills e about the file as a whole ("FILE: cannot open: No such file or directory") and
 * returns r, the negative errno. */
static int file_error(manifest_error_t *e, int r, const char *what)
{
        const char *why = r == -E2BIG ? "larger than the 64 MiB a manifest may have" : strerror(-r);

        diag_error(e, 0, 0, "%s: %s", what, why);
        return r;
}

int manifest_load(const char *path, const manifest_options_t *opts, manifest_error_t *e,
                  manifest_t **ret)
{
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        struct stat st;
        int r;

        if (e)
                e->file = path;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return file_error(e, -errno, "cannot open");
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return file_error(e, -EISDIR, "cannot read");
        r = read_whole(fd, MANIFEST_SIZE_MAX, &text, &size);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return file_error(e, r, "cannot read");
        return manifest_parse(path, text, size, opts, e, ret);
}

const char *manifest_format_name(manifest_format_t f)
{
        return f == MANIFEST_FORMAT_TOML ? "toml" : f == MANIFEST_FORMAT_LEGACY ? "legacy" : "auto";
}

const char *manifest_log_level_name(manifest_log_level_t l)
{
        return (size_t)l < ELEMENTSOF(log_levels) ? log_levels[l] : "?";
}

const char *manifest_mount_type_name(manifest_mount_type_t t)
{
        return (size_t)t < ELEMENTSOF(mount_types) ? mount_types[t] : "?";
}

const char *manifest_file_check_policy_name(manifest_file_check_policy_t p)
{
        return (size_t)p < ELEMENTSOF(check_policies) ? check_policies[p] : "?";
}

const char *manifest_signer_kind_name(manifest_signer_kind_t k)
{
        return (size_t)k < ELEMENTSOF(signer_kinds) ? signer_kinds[k] : "?";
}
