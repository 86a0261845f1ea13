/* Unit tests of the reader for Graphene's key = value manifests (src/manifest/legacy.c): the
 * translation into the model's tree, and every error with its exact message and place. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "manifest/legacy.h"
#include "manifest/manifest.h"

static tree_value_t *const untouched = (tree_value_t *)0x1;

static tree_value_t *at(const tree_value_t *t, const char *path)
{
        char part[128];

        for (const char *s = path; t;) {
                const char *dot = strchrnul(s, '.');
                snprintf(part, sizeof(part), "%.*s", (int)(dot - s), s);
                t = tree_table_get(t, part);
                if (!*dot)
                        return (tree_value_t *)t;
                s = dot + 1;
        }
        return NULL;
}

static tree_value_t *parse_ok(const char *text)
{
        manifest_error_t e = {0};
        tree_value_t *root = NULL;
        int r = legacy_parse(text, strlen(text), NULL, NULL, &e, &root);

        if (r < 0)
                fail_msg("unexpected error %d: %u:%u: %s", r, e.line, e.col, e.message);
        return root;
}

static void test_keys_and_values(void **state)
{
        (void)state;
        tree_value_t *root = parse_ok("# a comment\n"
                                      "  loader.exec = file:/usr/bin/python3   # trailing\n"
                                      "loader.env.A=\"quoted # kept\"  # comment\r\n"
                                      "loader.env.EMPTY =\n"
                                      "sgx.debug = 1\n"
                                      "\n");
        tree_value_t *v = at(root, "libos.entrypoint");

        assert_non_null(v);
        assert_int_equal(v->type, TREE_STRING);
        assert_string_equal(v->string.data, "file:/usr/bin/python3");
        assert_string_equal(v->label, "loader.exec");
        assert_int_equal(v->line, 2);
        assert_int_equal(v->col, 17);
        assert_string_equal(at(root, "loader.env.A")->string.data, "quoted # kept");
        assert_int_equal(at(root, "loader.env.A")->col, 14);
        assert_string_equal(at(root, "loader.env.EMPTY")->string.data, "");
        assert_string_equal(at(root, "sgx.debug")->string.data, "1");
        tree_free(root);
}

static void test_groups(void **state)
{
        (void)state;
        tree_value_t *root = parse_ok("sgx.trusted_checksum.ld = 00ff\n"
                                      "sgx.trusted_files.libc = file:/lib/libc.so.6\n"
                                      "sgx.trusted_files.ld = file:/lib/ld.so\n"
                                      "sgx.allowed_files.scripts = file:scripts/\n"
                                      "fs.mount.lib.type = chroot\n"
                                      "fs.mount.lib.path = /lib\n"
                                      "fs.mount.tmp.path = /tmp\n"
                                      "fs.mount.lib.uri = file:/lib\n"
                                      "sgx.trusted_children.sh = file:sh.sig\n"
                                      "sgx.trusted_mrenclave.sh = abcd\n"
                                      "sgx.trusted_signers.me = file:me.pem\n");
        tree_value_t *files = at(root, "sgx.trusted_files");
        tree_value_t *mounts = at(root, "fs.mounts");
        tree_value_t *allowed = at(root, "sgx.allowed_files");
        tree_value_t *children = at(root, "sgx.trusted_children");
        tree_value_t *signers = at(root, "sgx.trusted_signers");

        assert_int_equal(files->type, TREE_ARRAY);
        assert_int_equal(files->array.count, 2);
        /* without a checksum an entry is its URI, as in TOML; with one, { uri, sha256 } */
        assert_int_equal(files->array.items[0]->type, TREE_STRING);
        assert_string_equal(files->array.items[0]->label, "sgx.trusted_files.libc");
        assert_string_equal(files->array.items[0]->string.data, "file:/lib/libc.so.6");
        assert_int_equal(files->array.items[1]->type, TREE_TABLE);
        assert_string_equal(files->array.items[1]->label, "sgx.trusted_files.ld");
        assert_string_equal(tree_table_get(files->array.items[1], "uri")->string.data,
                            "file:/lib/ld.so");
        assert_string_equal(tree_table_get(files->array.items[1], "sha256")->string.data, "00ff");
        assert_string_equal(tree_table_get(files->array.items[1], "sha256")->label,
                            "sgx.trusted_checksum.ld");

        assert_int_equal(mounts->array.count, 2);
        assert_string_equal(mounts->array.items[0]->label, "fs.mount.lib");
        assert_int_equal(mounts->array.items[0]->table.count, 3);
        assert_string_equal(tree_table_get(mounts->array.items[0], "uri")->label,
                            "fs.mount.lib.uri");
        assert_string_equal(tree_table_get(mounts->array.items[1], "path")->string.data, "/tmp");

        assert_int_equal(allowed->array.count, 1);
        assert_int_equal(allowed->array.items[0]->type, TREE_STRING);
        assert_string_equal(allowed->array.items[0]->string.data, "file:scripts/");
        assert_string_equal(allowed->array.items[0]->label, "sgx.allowed_files.scripts");

        assert_string_equal(tree_table_get(children->array.items[0], "mrenclave")->string.data,
                            "abcd");
        assert_string_equal(signers->array.items[0]->string.data, "file:me.pem");
        tree_free(root);
}

static void test_renames(void **state)
{
        (void)state;
        tree_value_t *root = parse_ok("loader.execname = python3.6\n"
                                      "loader.debug_type = inline\n"
                                      "sgx.thread_num = 8\n"
                                      "fs.root.type = chroot\n"
                                      "fs.root.uri = file:\n");

        assert_string_equal(at(root, "loader.argv0_override")->string.data, "python3.6");
        assert_string_equal(at(root, "loader.log_level")->string.data, "debug");
        assert_string_equal(at(root, "loader.log_level")->label, "loader.debug_type");
        assert_string_equal(at(root, "sgx.max_threads")->string.data, "8");
        assert_null(at(root, "fs.root.type"));
        assert_string_equal(at(root, "fs.root.uri")->string.data, "file:");
        tree_free(root);

        root = parse_ok("loader.debug_type = none\n");
        assert_string_equal(at(root, "loader.log_level")->string.data, "error");
        tree_free(root);
}

typedef struct warning_seen {
        unsigned count, line, col;
        char message[256];
} warning_seen_t;

static void record_warning(unsigned line, unsigned col, const char *message, void *userdata)
{
        warning_seen_t *w = userdata;

        w->count++;
        w->line = line;
        w->col = col;
        snprintf(w->message, sizeof(w->message), "%s", message);
}

static void test_preload_warns(void **state)
{
        (void)state;
        const char *text = "loader.exec = file:/bin/sh\nloader.preload = file:libsysdb.so\n";
        warning_seen_t w = {0};
        tree_value_t *root = NULL;

        assert_int_equal(legacy_parse(text, strlen(text), record_warning, &w, NULL, &root), 0);
        assert_int_equal(w.count, 1);
        assert_int_equal(w.line, 2);
        assert_int_equal(w.col, 1);
        assert_string_equal(w.message,
                            "'loader.preload' is ignored: lamina needs no preloaded library OS");
        assert_null(at(root, "loader.preload"));
        tree_free(root);
}

static const struct error_case {
        const char *text;
        size_t size; /* 0: strlen(text) */
        const char *message;
        unsigned line, col;
} errors[] = {
        {"= x\n", 0, "expected a key such as 'loader.exec', not '='", 1, 1},
        {"  a..b = 1\n", 0, "invalid key 'a..b': empty part between dots", 1, 3},
        {".a = 1\n", 0, "invalid key '.a': empty part between dots", 1, 1},
        {"a. = 1\n", 0, "invalid key 'a.': empty part between dots", 1, 1},
        {"x = 1\nloader.exec file:/bin/sh\n", 0, "expected '=' after 'loader.exec'", 2, 13},
        {"a = \"open\n", 0, "unterminated quoted value", 1, 5},
        {"a = \"x\" y\n", 0, "unexpected text after the closing quote", 1, 9},
        {"a = 1\n\na = 2\n", 0, "duplicate key 'a' (first set at line 1)", 3, 1},
        {"sgx.trusted_files.a = file:/a\nsgx.trusted_files.a = file:/b\n", 0,
         "duplicate key 'sgx.trusted_files.a' (first set at line 1)", 2, 1},
        {"fs.mount.a.path = /a\nfs.mount.a.path = /b\n", 0,
         "duplicate key 'fs.mount.a.path' (first set at line 1)", 2, 1},
        {"loader.preload = file:a\nloader.preload = file:b\n", 0,
         "duplicate key 'loader.preload' (first set at line 1)", 2, 1},
        {"loader.exec = file:/a\nloader.exec = file:/b\n", 0,
         "duplicate key 'loader.exec' (first set at line 1)", 2, 1},
        {"a = 1\nb = x\0y\n", 12, "NUL byte in manifest", 2, 6},
        {"a = 1\nb = \xff\n", 0, "invalid UTF-8 byte 0xff", 2, 5},
        {"fs.root.type = nfs\n", 0, "'fs.root.type' must be 'chroot', not 'nfs'", 1, 16},
        {"loader.debug_type = verbose\n", 0,
         "'loader.debug_type' must be 'none' or 'inline', not 'verbose'", 1, 21},
        {"fs.mount.lib = /lib\n", 0,
         "'fs.mount.lib' names no field: write 'fs.mount.lib.type', '.path' or '.uri'", 1, 1},
        {"sgx.trusted_checksum.ld = 00\n", 0,
         "'sgx.trusted_checksum.ld' has no matching 'sgx.trusted_files.ld'", 1, 1},
        {"sgx.trusted_children.sh = file:sh.sig\nsgx.trusted_mrenclave.python = 00\n", 0,
         "'sgx.trusted_mrenclave.python' has no matching 'sgx.trusted_children.python'", 2, 1},
        {"libos.entrypoint = /bin/sh\nloader.exec = file:/bin/sh\n", 0,
         "'loader.exec' sets the same key as 'libos.entrypoint' (line 1)", 2, 1},
        {"a.b = 1\na = 2\n", 0, "'a' sets the same key as 'a' (line 1)", 2, 1},
        {"sgx.trusted_files.x = file:/x\nsgx.trusted_files = y\n", 0,
         "'sgx.trusted_files' conflicts with 'sgx.trusted_files.x' (line 1), which lists its "
         "entries one by one",
         2, 1},
        {"fs.mount.a.path = /a\nfs.mounts = x\n", 0,
         "'fs.mounts' conflicts with 'fs.mount.a' (line 1), which lists its entries one by one", 2,
         1},
        {"loader.env = x\nloader.env.A = b\n", 0,
         "'loader.env.A' conflicts with 'loader.env' (line 1), which is a value", 2, 1},
};

static void test_errors(void **state)
{
        (void)state;
        for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
                const struct error_case *c = &errors[i];
                manifest_error_t e = {0};
                tree_value_t *root = untouched;
                size_t size = c->size ? c->size : strlen(c->text);

                assert_int_equal(legacy_parse(c->text, size, NULL, NULL, &e, &root), -EINVAL);
                assert_string_equal(e.message, c->message);
                assert_int_equal(e.line, c->line);
                assert_int_equal(e.col, c->col);
                assert_ptr_equal(root, untouched);
        }
}

static void test_too_deep(void **state)
{
        (void)state;
        char text[600];
        manifest_error_t e = {0};
        tree_value_t *root = untouched;
        size_t n = 0;

        for (int i = 0; i < 128; i++)
                n += (size_t)snprintf(text + n, sizeof(text) - n, "a.");
        snprintf(text + n - 1, sizeof(text) - n + 1, " = 1\n");
        root = NULL;
        assert_int_equal(legacy_parse(text, strlen(text), NULL, NULL, &e, &root), 0);
        tree_free(root);

        snprintf(text + n - 1, sizeof(text) - n + 1, ".b = 1\n"); /* 129 parts */
        root = untouched;
        assert_int_equal(legacy_parse(text, strlen(text), NULL, NULL, &e, &root), -EINVAL);
        assert_string_equal(e.message,
                            "key 'a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a....' has more than 128 parts");
        assert_int_equal(e.line, 1);
        assert_int_equal(e.col, 1);
        assert_ptr_equal(root, untouched);
}

static void test_too_big(void **state)
{
        (void)state;
        tree_value_t *root = untouched;

        /* the size is checked before a byte is read */
        assert_int_equal(legacy_parse("", MANIFEST_SIZE_MAX + 1ul, NULL, NULL, NULL, &root),
                         -E2BIG);
        assert_ptr_equal(root, untouched);
}

static void test_many_files_linear(void **state)
{
        (void)state;
        size_t capacity = 10000 * 64, n = 0;
        char *text = malloc(capacity);
        tree_value_t *root;

        for (int i = 0; i < 10000; i++)
                n += (size_t)snprintf(text + n, capacity - n,
                                      "sgx.trusted_files.f%d = file:/usr/lib/f%d\n", i, i);
        root = parse_ok(text);
        assert_int_equal(at(root, "sgx.trusted_files")->array.count, 10000);
        assert_string_equal(at(root, "sgx.trusted_files")->array.items[9999]->label,
                            "sgx.trusted_files.f9999");
        tree_free(root);
        free(text);
}

static void test_is_legacy_key(void **state)
{
        (void)state;
        assert_true(legacy_is_legacy_key("loader.exec", 11));
        assert_true(legacy_is_legacy_key("sgx.trusted_files.x", 19));
        assert_false(legacy_is_legacy_key("sgx.trusted_files", 17));
        assert_false(legacy_is_legacy_key("libos.entrypoint", 16));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_keys_and_values), cmocka_unit_test(test_groups),
                cmocka_unit_test(test_renames),         cmocka_unit_test(test_preload_warns),
                cmocka_unit_test(test_errors),          cmocka_unit_test(test_too_deep),
                cmocka_unit_test(test_too_big),         cmocka_unit_test(test_many_files_linear),
                cmocka_unit_test(test_is_legacy_key),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
