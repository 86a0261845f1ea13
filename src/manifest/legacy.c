/* Graphene's key = value manifest language (see legacy.h): lines are read into key/value pairs,
 * then translated into the tree that a Gramine TOML manifest with the same meaning would give,
 * so that one model serves both languages. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "manifest/legacy.h"
#include "manifest/manifest.h"
#include "shared/macro.h"
#include "shared/utf8.h"

/* As deep as the TOML reader lets a document go. */
#define LEGACY_KEY_PARTS_MAX 128

typedef struct pair {
        const char *key;
        size_t key_size;
        const char *value;
        size_t value_size;
        unsigned line, key_col, value_col;
} pair_t;

/* Keys whose entries Graphene spread over one key each (PREFIX.NAME = value), and where they
 * go in the tree. An attachment adds a field to the entry of the same NAME in the target. */
enum { OUT_TRUSTED, OUT_ALLOWED, OUT_CHILDREN, OUT_SIGNERS, OUT_MOUNTS, OUT_COUNT };

static const struct {
        const char *path;  /* where the array goes */
        const char *group; /* the prefix that makes its entries */
} outputs[OUT_COUNT] = {
        [OUT_TRUSTED] = {"sgx.trusted_files", "sgx.trusted_files."},
        [OUT_ALLOWED] = {"sgx.allowed_files", "sgx.allowed_files."},
        [OUT_CHILDREN] = {"sgx.trusted_children", "sgx.trusted_children."},
        [OUT_SIGNERS] = {"sgx.trusted_signers", "sgx.trusted_signers."},
        [OUT_MOUNTS] = {"fs.mounts", "fs.mount."},
};

static const struct {
        const char *prefix;
        int target;
        const char *field; /* NULL: the key's last part names the field (fs.mount.NAME.FIELD) */
        bool attachment;
} groups[] = {
        {"sgx.trusted_files.", OUT_TRUSTED, "uri", false},
        {"sgx.trusted_checksum.", OUT_TRUSTED, "sha256", true},
        {"sgx.allowed_files.", OUT_ALLOWED, "uri", false},
        {"sgx.trusted_children.", OUT_CHILDREN, "uri", false},
        {"sgx.trusted_mrenclave.", OUT_CHILDREN, "mrenclave", true},
        {"sgx.trusted_signers.", OUT_SIGNERS, "uri", false},
        {"fs.mount.", OUT_MOUNTS, NULL, false},
};

static const struct {
        const char *from, *to;
} renames[] = {
        {"loader.exec", "libos.entrypoint"},
        {"loader.execname", "loader.argv0_override"},
        {"loader.debug_type", "loader.log_level"},
        {"sgx.thread_num", "sgx.max_threads"},
};

/* Keys Graphene needed and lamina does not: dropped with a warning saying why. */
static const struct {
        const char *key, *why;
} dropped[] = {
        {"loader.preload", "lamina needs no preloaded library OS"},
        {"fs.root.type", NULL}, /* checked to be chroot, then dropped */
};

typedef struct parser {
        manifest_error_t *e;
        legacy_warn_fn warn;
        void *userdata;
        tree_value_t *root;
        unsigned dropped_line[ELEMENTSOF(
                dropped)];                 /* where each dropped key was seen, for duplicates */
        tree_value_t *entries[OUT_COUNT];  /* NAME -> entry, in order of appearance: the value
                                              itself, or a table (fs.mount.NAME.*) */
        tree_value_t *attached[OUT_COUNT]; /* NAME -> the value to attach to that entry */
} parser_t;

static bool key_is(const pair_t *p, const char *key)
{
        return p->key_size == strlen(key) && memcmp(p->key, key, p->key_size) == 0;
}

static bool key_has_prefix(const char *key, size_t size, const char *prefix)
{
        size_t n = strlen(prefix);

        return size > n && memcmp(key, prefix, n) == 0;
}

bool legacy_is_legacy_key(const char *key, size_t size)
{
        for (size_t i = 0; i < ELEMENTSOF(groups); i++)
                if (key_has_prefix(key, size, groups[i].prefix))
                        return true;
        for (size_t i = 0; i < ELEMENTSOF(renames); i++)
                if (size == strlen(renames[i].from) && memcmp(key, renames[i].from, size) == 0)
                        return true;
        for (size_t i = 0; i < ELEMENTSOF(dropped); i++)
                if (size == strlen(dropped[i].key) && memcmp(key, dropped[i].key, size) == 0)
                        return true;
        return false;
}

size_t legacy_key_names(const char **names, size_t max)
{
        static char group_names[ELEMENTSOF(groups)][32];
        size_t n = 0;

        for (size_t i = 0; i < ELEMENTSOF(groups) && n < max; i++) {
                /* the prefix without its dot: "fs.mount", "sgx.trusted_checksum" */
                snprintf(group_names[i], sizeof(group_names[i]), "%.*s",
                         (int)strlen(groups[i].prefix) - 1, groups[i].prefix);
                names[n++] = group_names[i];
        }
        for (size_t i = 0; i < ELEMENTSOF(renames) && n < max; i++)
                names[n++] = renames[i].from;
        for (size_t i = 0; i < ELEMENTSOF(dropped) && n < max; i++)
                names[n++] = dropped[i].key;
        return n;
}

static void warn(parser_t *p, unsigned line, unsigned col, const char *fmt, ...) _printf_(4, 5);
static void warn(parser_t *p, unsigned line, unsigned col, const char *fmt, ...)
{
        char message[MANIFEST_MESSAGE_MAX];
        va_list ap;

        if (!p->warn)
                return;
        va_start(ap, fmt);
        vsnprintf(message, sizeof(message), fmt, ap);
        va_end(ap);
        p->warn(line, col, message, p->userdata);
}

static bool is_key_char(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-' || c == '.';
}

static bool is_blank(char c)
{
        return c == ' ' || c == '\t';
}

/* Reads one line (text[start..end), without its newline) into *ret. Returns 1 for a pair, 0
 * for a blank or comment line, -EINVAL for a malformed one. */
static int read_line(parser_t *p, const char *text, size_t start, size_t end, unsigned line,
                     pair_t *ret)
{
        size_t i = start, k, v, v_end;

        if (end > start && text[end - 1] == '\r')
                end--;
        while (i < end && is_blank(text[i]))
                i++;
        if (i == end || text[i] == '#')
                return 0;

        k = i;
        while (i < end && is_key_char(text[i]))
                i++;
        if (i == k)
                return diag_error(p->e, line, (unsigned)(i - start + 1),
                                  "expected a key such as 'loader.exec', not '%c'", text[i]);
        if (text[k] == '.' || text[i - 1] == '.' || memmem(text + k, i - k, "..", 2))
                return diag_error(p->e, line, (unsigned)(k - start + 1),
                                  "invalid key '%.*s': empty part between dots", (int)(i - k),
                                  text + k);
        {
                /* the tree gets a level per part; keep it as shallow as TOML's reader does */
                size_t parts = 1;
                for (size_t j = k; j < i; j++)
                        parts += text[j] == '.';
                if (parts > LEGACY_KEY_PARTS_MAX)
                        return diag_error(p->e, line, (unsigned)(k - start + 1),
                                          "key '%.32s...' has more than %d parts", text + k,
                                          LEGACY_KEY_PARTS_MAX);
        }
        ret->key = text + k;
        ret->key_size = i - k;
        ret->key_col = (unsigned)(k - start + 1);
        ret->line = line;

        while (i < end && is_blank(text[i]))
                i++;
        if (i == end || text[i] != '=')
                return diag_error(p->e, line, (unsigned)(i - start + 1),
                                  "expected '=' after '%.*s'", (int)ret->key_size, ret->key);
        i++;
        while (i < end && is_blank(text[i]))
                i++;

        v = i;
        if (i < end && text[i] == '"') {
                const char *close = memchr(text + i + 1, '"', end - i - 1);
                if (!close)
                        return diag_error(p->e, line, (unsigned)(i - start + 1),
                                          "unterminated quoted value");
                v = i + 1;
                v_end = (size_t)(close - text);
                for (i = v_end + 1; i < end && is_blank(text[i]); i++)
                        ;
                if (i < end && text[i] != '#')
                        return diag_error(p->e, line, (unsigned)(i - start + 1),
                                          "unexpected text after the closing quote");
                ret->value_col = (unsigned)(v - start); /* the opening quote */
        } else {
                const char *hash = memchr(text + i, '#', end - i);
                v_end = hash ? (size_t)(hash - text) : end;
                while (v_end > v && is_blank(text[v_end - 1]))
                        v_end--;
                ret->value_col = (unsigned)(v - start + 1);
        }
        ret->value = text + v;
        ret->value_size = v_end - v;
        return 1;
}

static tree_value_t *new_value(const pair_t *pair)
{
        tree_value_t *v =
                tree_new_string(pair->value, pair->value_size, pair->line, pair->value_col);

        if (!v)
                return NULL;
        v->label = strndup(pair->key, pair->key_size);
        if (!v->label)
                return tree_free(v);
        return v;
}

/* How messages name what is at a place of the tree: the key it was written as, or else the
 * path (fallback_size bytes) that leads there. */
static const char *label_of(const tree_value_t *v, const char *fallback, size_t fallback_size,
                            char *buf, size_t size)
{
        if (v && v->label)
                return v->label;
        snprintf(buf, size, "%.*s", (int)fallback_size, fallback);
        return buf;
}

/* Each raw key lands in one place of the tree: a key written twice is found there. */
static int duplicate_error(manifest_error_t *e, const pair_t *pair, unsigned first_line)
{
        return diag_error(e, pair->line, pair->key_col,
                          "duplicate key '%.*s' (first set at line %u)", (int)pair->key_size,
                          pair->key, first_line);
}

/* Puts value at the dotted path in the root, creating tables on the way. Takes value. */
static int insert_at(parser_t *p, const char *path, size_t path_size, tree_value_t *value,
                     const pair_t *pair)
{
        tree_value_t *t = p->root;
        const char *end = path + path_size;
        char buf[256];
        int r;

        for (const char *s = path;;) {
                const char *dot = memchr(s, '.', (size_t)(end - s));
                const char *part_end = dot ? dot : end;
                const tree_entry_t *found = tree_table_find(t, s, (size_t)(part_end - s));

                if (!dot) {
                        if (found && found->value->label &&
                            strlen(found->value->label) == pair->key_size &&
                            memcmp(found->value->label, pair->key, pair->key_size) == 0) {
                                r = duplicate_error(p->e, pair, found->line);
                                tree_free(value);
                                return r;
                        }
                        if (found) {
                                r = diag_error(
                                        p->e, pair->line, pair->key_col,
                                        "'%.*s' sets the same key as '%s' (line %u)",
                                        (int)pair->key_size, pair->key,
                                        label_of(found->value, path, path_size, buf, sizeof(buf)),
                                        found->value->line);
                                tree_free(value);
                                return r;
                        }
                        r = tree_table_add(t, s, (size_t)(part_end - s), pair->line, pair->key_col,
                                           value);
                        if (r < 0)
                                tree_free(value);
                        return r;
                }
                if (found && found->value->type != TREE_TABLE) {
                        r = diag_error(p->e, pair->line, pair->key_col,
                                       "'%.*s' conflicts with '%s' (line %u), which is a value",
                                       (int)pair->key_size, pair->key,
                                       label_of(found->value, path, (size_t)(part_end - path), buf,
                                                sizeof(buf)),
                                       found->value->line);
                        tree_free(value);
                        return r;
                }
                if (!found) {
                        tree_value_t *sub = tree_new(TREE_TABLE, pair->line, pair->key_col);
                        if (!sub || tree_table_add(t, s, (size_t)(part_end - s), pair->line,
                                                   pair->key_col, sub) < 0) {
                                tree_free(sub);
                                tree_free(value);
                                return -ENOMEM;
                        }
                        t = sub;
                } else {
                        t = found->value;
                }
                s = dot + 1;
        }
}

/* Adds field -> value to the table for NAME in map (made on first use). Takes value. */
static int add_to_named(manifest_error_t *e, tree_value_t *map, const char *name, size_t name_size,
                        const char *field, tree_value_t *value, const pair_t *pair,
                        const char *group)
{
        const tree_entry_t *found = tree_table_find(map, name, name_size);
        tree_value_t *t;
        int r;

        if (found) {
                t = found->value;
        } else {
                t = tree_new(TREE_TABLE, pair->line, pair->key_col);
                if (!t)
                        goto fail;
                /* "sgx.trusted_files.NAME": the key the entry was named by */
                if (asprintf(&t->label, "%s%.*s", group, (int)name_size, name) < 0)
                        t->label = NULL;
                if (!t->label ||
                    tree_table_add(map, name, name_size, pair->line, pair->key_col, t) < 0) {
                        tree_free(t);
                        goto fail;
                }
        }
        r = tree_table_add(t, field, strlen(field), pair->line, pair->key_col, value);
        if (r == -EEXIST)
                r = duplicate_error(e, pair, tree_table_find(t, field, strlen(field))->line);
        if (r < 0)
                tree_free(value);
        return r;
fail:
        tree_free(value);
        return -ENOMEM;
}

static int translate_group(parser_t *p, const pair_t *pair, size_t g)
{
        const char *rest = pair->key + strlen(groups[g].prefix);
        size_t rest_size = pair->key_size - strlen(groups[g].prefix);
        int target = groups[g].target;
        tree_value_t **map = groups[g].attachment ? &p->attached[target] : &p->entries[target];
        tree_value_t *value;
        const char *dot;
        char field[64];
        int r;

        if (!*map) {
                *map = tree_new(TREE_TABLE, pair->line, pair->key_col);
                if (!*map)
                        return -ENOMEM;
        }
        value = new_value(pair);
        if (!value)
                return -ENOMEM;
        if (groups[g].field) {
                /* one value per NAME: a plain entry, or what to attach to one */
                r = tree_table_add(*map, rest, rest_size, pair->line, pair->key_col, value);
                if (r == -EEXIST)
                        r = duplicate_error(p->e, pair,
                                            tree_table_find(*map, rest, rest_size)->line);
                if (r < 0)
                        tree_free(value);
                return r;
        }

        /* fs.mount.NAME.FIELD: a table per NAME */
        dot = memrchr(rest, '.', rest_size);
        if (!dot || (size_t)(rest + rest_size - dot - 1) >= sizeof(field)) {
                tree_free(value);
                return diag_error(p->e, pair->line, pair->key_col,
                                  "'%.*s' names no field: write '%.*s.type', '.path' or '.uri'",
                                  (int)pair->key_size, pair->key, (int)pair->key_size, pair->key);
        }
        snprintf(field, sizeof(field), "%.*s", (int)(rest + rest_size - dot - 1), dot + 1);
        return add_to_named(p->e, *map, rest, (size_t)(dot - rest), field, value, pair,
                            outputs[target].group);
}

/* The value at a dotted path of the tree, or NULL. */
static const tree_value_t *lookup(const tree_value_t *t, const char *path)
{
        for (const char *s = path; t;) {
                const char *dot = strchrnul(s, '.');
                const tree_entry_t *en = tree_table_find(t, s, (size_t)(dot - s));

                if (!en || !*dot)
                        return en ? en->value : NULL;
                t = en->value->type == TREE_TABLE ? en->value : NULL;
                s = dot + 1;
        }
        return NULL;
}

/* Attaches value as field to the entry: a plain value becomes a table { uri = value, field }. */
static int attach(tree_entry_t *entry, const char *field, tree_value_t *value)
{
        tree_value_t *t = entry->value;
        int r;

        if (t->type != TREE_TABLE) {
                t = tree_new(TREE_TABLE, entry->value->line, entry->value->col);
                if (!t)
                        return -ENOMEM;
                t->label = strdup(entry->value->label);
                if (!t->label || tree_table_add(t, "uri", 3, entry->value->line, entry->value->col,
                                                entry->value) < 0) {
                        tree_free(t);
                        return -ENOMEM;
                }
                entry->value = t;
        }
        r = tree_table_add(t, field, strlen(field), value->line, value->col, value);
        return r < 0 ? -ENOMEM : 0;
}

static int translate(parser_t *p, const pair_t *pair)
{
        tree_value_t *value;

        for (size_t g = 0; g < ELEMENTSOF(groups); g++)
                if (key_has_prefix(pair->key, pair->key_size, groups[g].prefix))
                        return translate_group(p, pair, g);

        for (size_t i = 0; i < ELEMENTSOF(dropped); i++) {
                if (!key_is(pair, dropped[i].key))
                        continue;
                if (p->dropped_line[i])
                        return duplicate_error(p->e, pair, p->dropped_line[i]);
                p->dropped_line[i] = pair->line;
        }
        if (key_is(pair, "loader.preload")) {
                warn(p, pair->line, pair->key_col, "'loader.preload' is ignored: %s",
                     dropped[0].why);
                return 0;
        }
        if (key_is(pair, "fs.root.type")) {
                if (pair->value_size != 6 || memcmp(pair->value, "chroot", 6) != 0)
                        return diag_error(p->e, pair->line, pair->value_col,
                                          "'fs.root.type' must be 'chroot', not '%.*s'",
                                          (int)pair->value_size, pair->value);
                return 0;
        }

        value = new_value(pair);
        if (!value)
                return -ENOMEM;
        if (key_is(pair, "loader.debug_type")) {
                /* Graphene's "none" turned debug output off; errors were still reported. */
                const char *level;
                if (STREQ(value->string.data, "none"))
                        level = "error";
                else if (STREQ(value->string.data, "inline"))
                        level = "debug";
                else {
                        tree_free(value);
                        return diag_error(p->e, pair->line, pair->value_col,
                                          "'loader.debug_type' must be 'none' or 'inline', not "
                                          "'%.*s'",
                                          (int)pair->value_size, pair->value);
                }
                free(value->string.data);
                value->string.data = strdup(level);
                if (!value->string.data) {
                        tree_free(value);
                        return -ENOMEM;
                }
                value->string.size = strlen(level);
        }
        for (size_t i = 0; i < ELEMENTSOF(renames); i++)
                if (key_is(pair, renames[i].from))
                        return insert_at(p, renames[i].to, strlen(renames[i].to), value, pair);
        return insert_at(p, pair->key, pair->key_size, value, pair);
}

/* Moves the collected entries of each group into arrays in the tree, attachments merged. */
static int finish(parser_t *p)
{
        for (size_t g = 0; g < ELEMENTSOF(groups); g++) {
                tree_value_t *attached = p->attached[groups[g].target];
                tree_value_t *entries = p->entries[groups[g].target];

                if (!groups[g].attachment || !attached)
                        continue;
                for (size_t i = 0; i < attached->table.count; i++) {
                        tree_entry_t *a = &attached->table.entries[i];
                        tree_entry_t *target =
                                (tree_entry_t *)tree_table_find(entries, a->key, a->key_size);
                        int r;

                        if (!target)
                                return diag_error(p->e, a->line, a->col,
                                                  "'%s' has no matching '%s%s'", a->value->label,
                                                  outputs[groups[g].target].group, a->key);
                        r = attach(target, groups[g].field, a->value);
                        if (r < 0)
                                return r;
                        a->value = NULL;
                }
        }

        for (int o = 0; o < OUT_COUNT; o++) {
                tree_value_t *entries = p->entries[o], *array;
                const tree_value_t *other;
                pair_t where;
                int r;

                if (!entries)
                        continue;
                /* the whole list set by a key of its own as well as entry by entry */
                other = lookup(p->root, outputs[o].path);
                if (other) {
                        return diag_error(p->e, other->line, 1,
                                          "'%s' conflicts with '%s' (line %u), which lists its "
                                          "entries one by one",
                                          other->label ? other->label : outputs[o].path,
                                          entries->table.entries[0].value->label,
                                          entries->table.entries[0].line);
                }
                array = tree_new(TREE_ARRAY, entries->line, entries->col);
                if (!array)
                        return -ENOMEM;
                for (size_t i = 0; i < entries->table.count; i++) {
                        tree_entry_t *en = &entries->table.entries[i];

                        r = tree_array_push(array, en->value);
                        if (r < 0) {
                                tree_free(array);
                                return r;
                        }
                        en->value = NULL;
                }
                where = (pair_t){
                        .key = outputs[o].group,
                        .key_size = strlen(outputs[o].group) - 1,
                        .line = entries->line,
                        .key_col = entries->col,
                };
                r = insert_at(p, outputs[o].path, strlen(outputs[o].path), array, &where);
                if (r < 0)
                        return r;
        }
        return 0;
}

static void parser_done(parser_t *p)
{
        tree_free(p->root);
        for (int o = 0; o < OUT_COUNT; o++) {
                tree_free(p->entries[o]);
                tree_free(p->attached[o]);
        }
}

int legacy_parse(const char *text, size_t size, legacy_warn_fn warn_fn, void *userdata,
                 manifest_error_t *e, tree_value_t **ret_root)
{
        _cleanup_(parser_done) parser_t p = {.e = e, .warn = warn_fn, .userdata = userdata};
        unsigned line = 1;
        size_t bad;
        int r;

        if (size > MANIFEST_SIZE_MAX)
                return -E2BIG;
        bad = utf8_invalid_offset(text, size);
        if (bad < size || memchr(text, '\0', size)) {
                const char *nul = memchr(text, '\0', size);
                size_t at = nul && (size_t)(nul - text) < bad ? (size_t)(nul - text) : bad;
                const char *line_start = text;
                unsigned l = 1;
                for (size_t i = 0; i < at; i++)
                        if (text[i] == '\n') {
                                l++;
                                line_start = text + i + 1;
                        }
                if (text[at] == '\0')
                        return diag_error(e, l, (unsigned)(text + at - line_start + 1),
                                          "NUL byte in manifest");
                return diag_error(e, l, (unsigned)(text + at - line_start + 1),
                                  "invalid UTF-8 byte 0x%02x", (unsigned char)text[at]);
        }

        p.root = tree_new(TREE_TABLE, 1, 1);
        if (!p.root)
                return -ENOMEM;

        for (size_t start = 0; start < size; line++) {
                const char *nl = memchr(text + start, '\n', size - start);
                size_t end = nl ? (size_t)(nl - text) : size;
                pair_t pair;

                r = read_line(&p, text, start, end, line, &pair);
                start = end + 1;
                if (r < 0)
                        return r;
                if (r == 0)
                        continue;

                r = translate(&p, &pair);
                if (r < 0)
                        return r;
        }
        r = finish(&p);
        if (r < 0)
                return r;
        *ret_root = TAKE_PTR(p.root);
        return 0;
}
