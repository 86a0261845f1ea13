/* The resolved model as a tree (manifest_to_tree) and the TOML and JSON writers for trees
 * (see emit.h). One tree serves both outputs, so `lamina check` and `lamina check --json`
 * cannot disagree, and the TOML output reads back into the same model. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "manifest/emit.h"
#include "manifest/manifest.h"
#include "shared/macro.h"
#include "shared/utf8.h"

/* Building: a sticky failure flag keeps the long list of puts below readable. */
typedef struct out {
        tree_value_t *root;
        bool failed;
        bool as_written; /* file: URIs as the manifest wrote them, not resolved */
} out_t;

/* The table that holds the last part of a dotted path, made on the way. */
static tree_value_t *parent_of(out_t *o, tree_value_t *t, const char *path, const char **ret_last)
{
        for (;;) {
                const char *dot = strchr(path, '.');
                const tree_entry_t *en;
                tree_value_t *sub;

                if (!dot) {
                        *ret_last = path;
                        return t;
                }
                en = tree_table_find(t, path, (size_t)(dot - path));
                if (en) {
                        sub = en->value;
                } else {
                        sub = tree_new(TREE_TABLE, 0, 0);
                        if (!sub || tree_table_add(t, path, (size_t)(dot - path), 0, 0, sub) < 0) {
                                tree_free(sub);
                                o->failed = true;
                                return NULL;
                        }
                }
                t = sub;
                path = dot + 1;
        }
}

/* Puts v at path below t (the root when t is NULL). Takes v, even on failure. */
static tree_value_t *put(out_t *o, tree_value_t *t, const char *path, tree_value_t *v)
{
        const char *last;
        tree_value_t *parent;

        if (!v || o->failed)
                goto fail;
        parent = parent_of(o, t ? t : o->root, path, &last);
        if (!parent || tree_table_add(parent, last, strlen(last), 0, 0, v) < 0)
                goto fail;
        return v;
fail:
        tree_free(v);
        o->failed = true;
        return NULL;
}

static tree_value_t *str(const char *s)
{
        return tree_new_string(s, strlen(s), 0, 0);
}

static tree_value_t *boolean(bool b)
{
        tree_value_t *v = tree_new(TREE_BOOL, 0, 0);

        if (v)
                v->boolean = b;
        return v;
}

static tree_value_t *integer(int64_t n)
{
        tree_value_t *v = tree_new(TREE_INTEGER, 0, 0);

        if (v)
                v->integer = n;
        return v;
}

/* Sizes as Gramine writes them: "256M" when a whole number of K, M or G, else bytes. */
static tree_value_t *size(uint64_t n)
{
        static const struct {
                char suffix;
                unsigned shift;
        } units[] = {{'G', 30}, {'M', 20}, {'K', 10}};
        char buf[32];

        snprintf(buf, sizeof(buf), "%" PRIu64, n);
        for (size_t i = 0; n > 0 && i < ELEMENTSOF(units); i++)
                if ((n & ((1ull << units[i].shift) - 1)) == 0) {
                        snprintf(buf, sizeof(buf), "%" PRIu64 "%c", n >> units[i].shift,
                                 units[i].suffix);
                        break;
                }
        return str(buf);
}

static tree_value_t *hex(const uint8_t bytes[MANIFEST_SHA256_SIZE])
{
        char buf[2 * MANIFEST_SHA256_SIZE + 1];

        for (size_t i = 0; i < MANIFEST_SHA256_SIZE; i++)
                snprintf(buf + 2 * i, 3, "%02x", bytes[i]);
        return str(buf);
}

/* A file: URI: as written, or "file:" and the resolved host path with the trailing slash of a
 * directory entry. */
static tree_value_t *uri_of(const out_t *o, const char *written, const char *host_path,
                            bool is_dir);

static tree_value_t *uri(const char *host_path, bool is_dir)
{
        _cleanup_free_ char *s = NULL;
        bool slash = is_dir && !STREQ(host_path, "/");

        if (asprintf(&s, "file:%s%s", host_path, slash ? "/" : "") < 0)
                return NULL;
        return str(s);
}

static tree_value_t *uri_of(const out_t *o, const char *written, const char *host_path, bool is_dir)
{
        return o->as_written && written ? str(written) : uri(host_path, is_dir);
}

static void push(out_t *o, tree_value_t *array, tree_value_t *v)
{
        if (!v || !array || o->failed || tree_array_push(array, v) < 0) {
                tree_free(v);
                o->failed = true;
        }
}

static void put_files(out_t *o, const char *path, const manifest_file_t *files, size_t count)
{
        tree_value_t *array = put(o, NULL, path, tree_new(TREE_ARRAY, 0, 0));

        for (size_t i = 0; i < count; i++) {
                const manifest_file_t *f = &files[i];
                tree_value_t *item;

                if (!f->has_sha256) {
                        push(o, array, uri_of(o, f->uri, f->host_path, f->is_dir));
                        continue;
                }
                item = tree_new(TREE_TABLE, 0, 0);
                put(o, item, "uri", uri_of(o, f->uri, f->host_path, f->is_dir));
                put(o, item, "sha256", hex(f->sha256));
                push(o, array, item);
        }
}

tree_value_t *manifest_to_tree(const manifest_t *m)
{
        return manifest_to_tree_as(m, false);
}

tree_value_t *manifest_to_tree_as(const manifest_t *m, bool as_written)
{
        out_t o = {.root = tree_new(TREE_TABLE, 0, 0), .as_written = as_written};
        tree_value_t *array;

        if (!o.root)
                return NULL;
        put(&o, NULL, "libos.entrypoint", str(m->entrypoint));
        if (m->argv) {
                array = put(&o, NULL, "loader.argv", tree_new(TREE_ARRAY, 0, 0));
                for (size_t i = 0; i < m->argv_count; i++)
                        push(&o, array, str(m->argv[i]));
        }
        put(&o, NULL, "loader.insecure__use_cmdline_argv", boolean(m->use_cmdline_argv));
        if (m->argv0_override)
                put(&o, NULL, "loader.argv0_override", str(m->argv0_override));
        put(&o, NULL, "loader.insecure__use_host_env", boolean(m->use_host_env));
        if (m->env_count > 0) {
                tree_value_t *env = put(&o, NULL, "loader.env", tree_new(TREE_TABLE, 0, 0));
                for (size_t i = 0; i < m->env_count && env; i++) {
                        const manifest_env_t *e = &m->env[i];
                        tree_value_t *v;
                        if (e->passthrough) {
                                v = tree_new(TREE_TABLE, 0, 0);
                                put(&o, v, "passthrough", boolean(true));
                        } else {
                                v = str(e->value);
                        }
                        /* names may hold dots: add directly, not by path */
                        if (!v || o.failed ||
                            tree_table_add(env, e->name, strlen(e->name), 0, 0, v) < 0) {
                                tree_free(v);
                                o.failed = true;
                        }
                }
        }
        put(&o, NULL, "loader.log_level", str(manifest_log_level_name(m->log_level)));
        if (m->log_file)
                put(&o, NULL, "loader.log_file", str(m->log_file));
        if (m->uid.set)
                put(&o, NULL, "loader.uid", integer(m->uid.id));
        if (m->gid.set)
                put(&o, NULL, "loader.gid", integer(m->gid.id));

        put(&o, NULL, "fs.root.uri", uri_of(&o, m->root_uri, m->root_host_path, false));
        put(&o, NULL, "fs.start_dir", str(m->start_dir));
        array = put(&o, NULL, "fs.mounts", tree_new(TREE_ARRAY, 0, 0));
        for (size_t i = 0; i < m->mount_count; i++) {
                const manifest_mount_t *mt = &m->mounts[i];
                tree_value_t *item = tree_new(TREE_TABLE, 0, 0);

                put(&o, item, "type", str(manifest_mount_type_name(mt->type)));
                put(&o, item, "path", str(mt->path));
                if (mt->host_path)
                        put(&o, item, "uri", uri_of(&o, mt->uri, mt->host_path, false));
                if (mt->key_name)
                        put(&o, item, "key_name", str(mt->key_name));
                push(&o, array, item);
        }

        put_files(&o, "sgx.trusted_files", m->trusted_files, m->trusted_file_count);
        put_files(&o, "sgx.allowed_files", m->allowed_files, m->allowed_file_count);
        put(&o, NULL, "sgx.file_check_policy",
            str(manifest_file_check_policy_name(m->file_check_policy)));
        put(&o, NULL, "sgx.allow_file_creation", boolean(m->allow_file_creation));
        put(&o, NULL, "sgx.debug", boolean(m->debug));
        put(&o, NULL, "sgx.isvprodid", integer(m->isvprodid));
        put(&o, NULL, "sgx.isvsvn", integer(m->isvsvn));
        put(&o, NULL, "sgx.enclave_size", size(m->enclave_size));
        put(&o, NULL, "sgx.max_threads", integer(m->max_threads));
        if (m->sigfile_host)
                put(&o, NULL, "sgx.sigfile", uri_of(&o, m->sigfile, m->sigfile_host, false));
        array = put(&o, NULL, "sgx.trusted_children", tree_new(TREE_ARRAY, 0, 0));
        for (size_t i = 0; i < m->trusted_child_count; i++) {
                const manifest_child_t *c = &m->trusted_children[i];
                tree_value_t *item;

                if (!c->has_mrenclave) {
                        push(&o, array, uri_of(&o, c->uri, c->host_path, false));
                        continue;
                }
                item = tree_new(TREE_TABLE, 0, 0);
                put(&o, item, "uri", uri_of(&o, c->uri, c->host_path, false));
                put(&o, item, "mrenclave", hex(c->mrenclave));
                push(&o, array, item);
        }
        array = put(&o, NULL, "sgx.trusted_signers", tree_new(TREE_ARRAY, 0, 0));
        for (size_t i = 0; i < m->trusted_signer_count; i++) {
                const manifest_signer_t *s = &m->trusted_signers[i];
                push(&o, array,
                     s->host_path ? uri_of(&o, s->value, s->host_path, false) : str(s->value));
        }

        put(&o, NULL, "sys.enable_sigterm_injection", boolean(m->enable_sigterm_injection));
        put(&o, NULL, "sys.disallow_subprocesses", boolean(m->disallow_subprocesses));
        put(&o, NULL, "sys.stack.size", size(m->stack_size));
        put(&o, NULL, "sys.brk.max_size", size(m->brk_max_size));
        put(&o, NULL, "sys.fds.limit", integer(m->fds_limit));

        if (o.failed)
                return tree_free(o.root);
        return o.root;
}

/* --- writers --- */

void emit_quoted(const char *s, size_t size, FILE *f)
{
        fputc('"', f);
        for (size_t i = 0; i < size;) {
                unsigned char c = (unsigned char)s[i];
                size_t n;

                switch (c) {
                case '"':
                        fputs("\\\"", f);
                        i++;
                        continue;
                case '\\':
                        fputs("\\\\", f);
                        i++;
                        continue;
                case '\n':
                        fputs("\\n", f);
                        i++;
                        continue;
                case '\t':
                        fputs("\\t", f);
                        i++;
                        continue;
                case '\r':
                        fputs("\\r", f);
                        i++;
                        continue;
                case '\b':
                        fputs("\\b", f);
                        i++;
                        continue;
                case '\f':
                        fputs("\\f", f);
                        i++;
                        continue;
                }
                if (c < 0x20 || c == 0x7f) {
                        fprintf(f, "\\u%04x", c);
                        i++;
                        continue;
                }
                n = utf8_sequence_size(s + i, size - i);
                if (n == 0) {
                        fputs("\\ufffd", f);
                        i++;
                        continue;
                }
                fwrite(s + i, 1, n, f);
                i += n;
        }
        fputc('"', f);
}

static bool is_bare_key(const char *key, size_t size)
{
        if (size == 0)
                return false;
        for (size_t i = 0; i < size; i++) {
                char c = key[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '-'))
                        return false;
        }
        return true;
}

static void emit_key(const tree_entry_t *en, FILE *f)
{
        if (is_bare_key(en->key, en->key_size))
                fwrite(en->key, 1, en->key_size, f);
        else
                emit_quoted(en->key, en->key_size, f);
}

static void emit_datetime(const tree_value_t *v, FILE *f)
{
        const tree_datetime_t *d = &v->datetime;
        char frac[16] = "";

        if (d->frac_digits > 0)
                snprintf(frac, sizeof(frac), ".%0*u", d->frac_digits,
                         d->nanosecond / (uint32_t[]){1000000000, 100000000, 10000000, 1000000,
                                                      100000, 10000, 1000, 100, 10,
                                                      1}[MIN(d->frac_digits, 9)]);
        if (v->type != TREE_TIME_LOCAL)
                fprintf(f, "%04d-%02d-%02d", d->year, d->month, d->day);
        if (v->type == TREE_DATETIME || v->type == TREE_DATETIME_LOCAL)
                fputc('T', f);
        if (v->type != TREE_DATE_LOCAL)
                fprintf(f, "%02d:%02d:%02d%s", d->hour, d->minute, d->second, frac);
        if (v->type == TREE_DATETIME) {
                if (d->offset_z)
                        fputc('Z', f);
                else
                        fprintf(f, "%c%02d:%02d", d->offset_minutes < 0 ? '-' : '+',
                                abs(d->offset_minutes) / 60, abs(d->offset_minutes) % 60);
        }
}

static void emit_scalar(const tree_value_t *v, bool json, FILE *f)
{
        switch (v->type) {
        case TREE_STRING:
                emit_quoted(v->string.data, v->string.size, f);
                break;
        case TREE_INTEGER:
                fprintf(f, "%" PRId64, v->integer);
                break;
        case TREE_FLOAT:
                fprintf(f, "%.17g", v->floating);
                break;
        case TREE_BOOL:
                fputs(v->boolean ? "true" : "false", f);
                break;
        default:
                if (json)
                        fputc('"', f);
                emit_datetime(v, f);
                if (json)
                        fputc('"', f);
                break;
        }
}

static void toml_inline(const tree_value_t *v, FILE *f)
{
        if (v->type == TREE_TABLE) {
                fputs("{ ", f);
                for (size_t i = 0; i < v->table.count; i++) {
                        emit_key(&v->table.entries[i], f);
                        fputs(" = ", f);
                        toml_inline(v->table.entries[i].value, f);
                        fputs(i + 1 < v->table.count ? ", " : " ", f);
                }
                fputc('}', f);
        } else if (v->type == TREE_ARRAY) {
                fputc('[', f);
                for (size_t i = 0; i < v->array.count; i++) {
                        toml_inline(v->array.items[i], f);
                        if (i + 1 < v->array.count)
                                fputs(", ", f);
                }
                fputc(']', f);
        } else {
                emit_scalar(v, false, f);
        }
}

/* The dotted path of the enclosing tables, as written before each key. */
typedef struct path {
        const struct path *up;
        const tree_entry_t *en;
} path_t;

static void emit_path(const path_t *p, FILE *f)
{
        if (!p)
                return;
        emit_path(p->up, f);
        emit_key(p->en, f);
        fputc('.', f);
}

static void toml_table(const tree_value_t *t, const path_t *up, FILE *f)
{
        for (size_t i = 0; i < t->table.count; i++) {
                const tree_entry_t *en = &t->table.entries[i];
                const tree_value_t *v = en->value;
                path_t here = {up, en};

                if (v->type == TREE_TABLE && v->table.count > 0) {
                        toml_table(v, &here, f);
                        continue;
                }
                emit_path(up, f);
                emit_key(en, f);
                fputs(" = ", f);
                if (v->type == TREE_ARRAY && v->array.count > 0) {
                        fputs("[\n", f);
                        for (size_t j = 0; j < v->array.count; j++) {
                                fputs("    ", f);
                                toml_inline(v->array.items[j], f);
                                fputs(",\n", f);
                        }
                        fputc(']', f);
                } else {
                        toml_inline(v, f);
                }
                fputc('\n', f);
        }
}

int tree_write_toml(const tree_value_t *root, FILE *f)
{
        toml_table(root, NULL, f);
        return ferror(f) ? -EIO : 0;
}

static void json_value(const tree_value_t *v, int depth, FILE *f)
{
        bool table = v->type == TREE_TABLE;
        size_t count = table ? v->table.count : v->array.count;

        if (!table && v->type != TREE_ARRAY) {
                emit_scalar(v, true, f);
                return;
        }
        if (count == 0) {
                fputs(table ? "{}" : "[]", f);
                return;
        }
        fputs(table ? "{\n" : "[\n", f);
        for (size_t i = 0; i < count; i++) {
                fprintf(f, "%*s", 2 * (depth + 1), "");
                if (table) {
                        const tree_entry_t *en = &v->table.entries[i];
                        emit_quoted(en->key, en->key_size, f);
                        fputs(": ", f);
                        json_value(en->value, depth + 1, f);
                } else {
                        json_value(v->array.items[i], depth + 1, f);
                }
                fputs(i + 1 < count ? ",\n" : "\n", f);
        }
        fprintf(f, "%*s%c", 2 * depth, "", table ? '}' : ']');
}

int tree_write_json(const tree_value_t *v, FILE *f)
{
        json_value(v, 0, f);
        fputc('\n', f);
        return ferror(f) ? -EIO : 0;
}
