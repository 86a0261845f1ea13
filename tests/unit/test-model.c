/* Unit tests of the manifest model (src/manifest/model.c and emit.c): defaults, typing, the
 * resolution of file: URIs, the same model from both languages, and every validation error
 * with its exact message and place, in a table (input, language, message, line, column). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "manifest/emit.h"
#include "manifest/manifest.h"
#include "manifest/tree.h"

#define CWD "/work/app"

static manifest_t *const untouched = (manifest_t *)0x1;

static manifest_t *load(manifest_format_t format, const char *text)
{
        manifest_options_t opts = {.format = format, .cwd = CWD};
        manifest_error_t e = {0};
        manifest_t *m = NULL;
        int r = manifest_parse("test.manifest", text, strlen(text), &opts, &e, &m);

        if (r < 0)
                fail_msg("unexpected error %d: %u:%u: %s", r, e.line, e.col, e.message);
        return m;
}

/* The model as JSON text, to compare two models whole. */
static char *model_json(const manifest_t *m)
{
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        tree_value_t *t = manifest_to_tree(m);

        assert_non_null(f);
        assert_non_null(t);
        assert_int_equal(tree_write_json(t, f), 0);
        fclose(f);
        tree_free(t);
        return buf;
}

static void test_defaults(void **state)
{
        (void)state;
        manifest_t *m = load(MANIFEST_FORMAT_TOML, "libos.entrypoint = \"/bin/sh\"\n");

        assert_string_equal(m->entrypoint, "/bin/sh");
        assert_null(m->argv);
        assert_false(m->use_cmdline_argv);
        assert_int_equal(m->log_level, MANIFEST_LOG_ERROR);
        assert_string_equal(m->root_uri, "file:");
        assert_string_equal(m->root_host_path, CWD);
        assert_string_equal(m->start_dir, "/");
        assert_int_equal(m->enclave_size, 256ull << 20);
        assert_int_equal(m->max_threads, 4);
        assert_int_equal(m->stack_size, 256 << 10);
        assert_int_equal(m->brk_max_size, 256 << 10);
        assert_int_equal(m->fds_limit, 900);
        assert_int_equal(m->file_check_policy, MANIFEST_CHECK_STRICT);
        assert_false(m->debug);
        assert_false(m->allow_file_creation);
        assert_int_equal(m->format, MANIFEST_FORMAT_TOML);
        assert_int_equal(m->warning_count, 0);
        manifest_free(m);
}

static void test_values(void **state)
{
        (void)state;
        manifest_t *m =
                load(MANIFEST_FORMAT_TOML,
                     "libos.entrypoint = \"file:bin/app\"\n"
                     "loader.argv = [\"app\", \"--x\"]\n"
                     "loader.env.A = \"1\"\n"
                     "loader.env.B = { value = \"2\" }\n"
                     "loader.env.HOME = { passthrough = true }\n"
                     "loader.log_level = \"trace\"\n"
                     "loader.log_file = \"lamina.log\"\n"
                     "loader.uid = 1000\n"
                     "loader.gid = 0\n"
                     "fs.start_dir = \"/work/./app/..\"\n"
                     "fs.mounts = [ { path = \"/lib\", uri = \"file:/lib\" },\n"
                     "  { type = \"tmpfs\", path = \"/tmp\" },\n"
                     "  { type = \"encrypted\", path = \"/secret\", uri = \"file:s\" } ]\n"
                     "sgx.trusted_files = [ \"file:../lib/\", { uri = \"file:/a\", sha256 = "
                     "\"00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff\" } ]\n"
                     "sgx.allowed_files = [ \"file:\" ]\n"
                     "sgx.enclave_size = \"1G\"\n"
                     "sgx.isvprodid = 65535\n"
                     "sgx.max_threads = 16\n"
                     "sgx.file_check_policy = \"allow_all_but_log\"\n"
                     "sgx.trusted_children = [ \"file:sh.sig\" ]\n"
                     "sgx.trusted_signers = [ \"file:k.pem\", \"file:x.sig\", "
                     "\"ff00000000000000000000000000000000000000000000000000000000000000\" ]\n"
                     "sys.stack.size = \"8M\"\n"
                     "sys.brk.max_size = 4096\n"
                     "sys.fds.limit = 64\n"
                     "sys.disallow_subprocesses = true\n");

        /* a file: entrypoint is a host path, shown under the root (the working directory) */
        assert_string_equal(m->entrypoint, "/bin/app");
        assert_int_equal(m->argv_count, 2);
        assert_string_equal(m->argv[1], "--x");
        assert_null(m->argv[2]);
        assert_int_equal(m->env_count, 3);
        assert_string_equal(m->env[1].value, "2");
        assert_true(m->env[2].passthrough);
        assert_null(m->env[2].value);
        assert_int_equal(m->log_level, MANIFEST_LOG_TRACE);
        assert_string_equal(m->log_file, "lamina.log");
        assert_true(m->uid.set);
        assert_int_equal(m->uid.id, 1000);
        assert_true(m->gid.set);
        assert_int_equal(m->gid.id, 0);
        assert_string_equal(m->start_dir, "/work");
        assert_int_equal(m->mount_count, 3);
        assert_int_equal(m->mounts[0].type, MANIFEST_MOUNT_CHROOT);
        assert_string_equal(m->mounts[0].host_path, "/lib");
        assert_null(m->mounts[1].uri);
        assert_string_equal(m->mounts[2].key_name, "default");
        assert_string_equal(m->mounts[2].host_path, CWD "/s");
        assert_string_equal(m->trusted_files[0].host_path, "/work/lib");
        assert_true(m->trusted_files[0].is_dir);
        assert_false(m->trusted_files[0].has_sha256);
        assert_true(m->trusted_files[1].has_sha256);
        assert_int_equal(m->trusted_files[1].sha256[9], 0x99);
        assert_int_equal(m->trusted_files[1].sha256[10], 0xaa);
        assert_int_equal(m->trusted_files[1].line, 14);
        assert_string_equal(m->allowed_files[0].host_path, CWD);
        assert_true(m->allowed_files[0].is_dir);
        assert_int_equal(m->enclave_size, 1ull << 30);
        assert_int_equal(m->isvprodid, 65535);
        assert_int_equal(m->max_threads, 16);
        assert_int_equal(m->file_check_policy, MANIFEST_CHECK_ALLOW_ALL_BUT_LOG);
        assert_string_equal(m->trusted_children[0].host_path, CWD "/sh.sig");
        assert_int_equal(m->trusted_signers[0].kind, MANIFEST_SIGNER_KEY);
        assert_int_equal(m->trusted_signers[1].kind, MANIFEST_SIGNER_SIG);
        assert_int_equal(m->trusted_signers[2].kind, MANIFEST_SIGNER_HEX);
        assert_int_equal(m->trusted_signers[2].mrsigner[0], 0xff);
        assert_int_equal(m->stack_size, 8 << 20);
        assert_int_equal(m->brk_max_size, 4096);
        assert_int_equal(m->fds_limit, 64);
        assert_true(m->disallow_subprocesses);
        manifest_free(m);
}

/* A Graphene-era manifest like the seed example's, and the Gramine TOML that says the same. */
static const char graphene_python[] =
        "#!$(PAL)\n"
        "loader.preload = file:../../Runtime/libsysdb.so\n"
        "loader.exec = file:/usr/bin/python3.6\n"
        "loader.execname = python3.6\n"
        "loader.env.LD_LIBRARY_PATH = /lib:/lib/x86_64-linux-gnu:/usr/lib\n"
        "loader.env.PATH = /bin:/usr/bin\n"
        "loader.debug_type = none\n"
        "loader.insecure__use_cmdline_argv = 1\n"
        "fs.root.type = chroot\n"
        "fs.root.uri = file:\n"
        "fs.mount.lib.type = chroot\n"
        "fs.mount.lib.path = /lib\n"
        "fs.mount.lib.uri = file:/lib\n"
        "fs.mount.tmp.type = tmpfs\n"
        "fs.mount.tmp.path = /tmp\n"
        "sgx.enclave_size = 512M\n"
        "sgx.thread_num = 8\n"
        "sgx.debug = 1\n"
        "sgx.isvprodid = 7\n"
        "sgx.allow_file_creation = 0\n"
        "sgx.trusted_files.ld = file:/lib64/ld-linux-x86-64.so.2\n"
        "sgx.trusted_files.libc = file:/lib/x86_64-linux-gnu/libc.so.6\n"
        "sgx.trusted_checksum.libc = "
        "aa00000000000000000000000000000000000000000000000000000000000001\n"
        "sgx.trusted_files.sh = file:/bin/sh\n"
        "sgx.allowed_files.pythonhome = file:/usr/lib/python3.6/\n"
        "sgx.allowed_files.scripts = file:scripts/\n"
        "sgx.trusted_children.sh = file:sh.sig\n"
        "sgx.trusted_mrenclave.sh = "
        "bb00000000000000000000000000000000000000000000000000000000000002\n";

static const char gramine_python[] =
        "libos.entrypoint = \"/usr/bin/python3.6\"\n"
        "loader.argv0_override = \"python3.6\"\n"
        "loader.insecure__use_cmdline_argv = true\n"
        "loader.log_level = \"error\"\n"
        "\n"
        "[loader.env]\n"
        "LD_LIBRARY_PATH = \"/lib:/lib/x86_64-linux-gnu:/usr/lib\"\n"
        "PATH = \"/bin:/usr/bin\"\n"
        "\n"
        "[fs]\n"
        "root.uri = \"file:\"\n"
        "mounts = [\n"
        "  { type = \"chroot\", path = \"/lib\", uri = \"file:/lib\" },\n"
        "  { type = \"tmpfs\", path = \"/tmp\" },\n"
        "]\n"
        "\n"
        "[sgx]\n"
        "enclave_size = \"512M\"\n"
        "max_threads = 8\n"
        "debug = true\n"
        "isvprodid = 7\n"
        "allow_file_creation = false\n"
        "trusted_files = [\n"
        "  \"file:/lib64/ld-linux-x86-64.so.2\",\n"
        "  { uri = \"file:/lib/x86_64-linux-gnu/libc.so.6\", sha256 = "
        "\"aa00000000000000000000000000000000000000000000000000000000000001\" },\n"
        "  'file:/bin/sh',\n"
        "]\n"
        "allowed_files = [\"file:/usr/lib/python3.6/\", \"file:scripts/\"]\n"
        "trusted_children = [ { uri = \"file:sh.sig\", mrenclave = "
        "\"bb00000000000000000000000000000000000000000000000000000000000002\" } ]\n";

static void test_same_model_both_languages(void **state)
{
        (void)state;
        manifest_t *legacy = load(MANIFEST_FORMAT_AUTO, graphene_python);
        manifest_t *toml = load(MANIFEST_FORMAT_AUTO, gramine_python);
        char *a, *b;

        assert_int_equal(legacy->format, MANIFEST_FORMAT_LEGACY);
        assert_int_equal(toml->format, MANIFEST_FORMAT_TOML);
        assert_string_equal(legacy->trusted_files[1].name, "libc");
        assert_null(toml->trusted_files[1].name);
        assert_int_equal(legacy->warning_count, 1);
        assert_string_equal(legacy->warnings[0].message,
                            "'loader.preload' is ignored: lamina needs no preloaded library OS");
        a = model_json(legacy);
        b = model_json(toml);
        assert_string_equal(a, b);
        free(a);
        free(b);
        manifest_free(legacy);
        manifest_free(toml);
}

/* The TOML output of a model reads back into the same model. */
static void test_round_trip(void **state)
{
        (void)state;
        manifest_t *m = load(MANIFEST_FORMAT_AUTO, gramine_python), *again;
        tree_value_t *t = manifest_to_tree(m);
        char *text = NULL, *a, *b;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        assert_int_equal(tree_write_toml(t, f), 0);
        fclose(f);
        again = load(MANIFEST_FORMAT_TOML, text);
        a = model_json(m);
        b = model_json(again);
        assert_string_equal(a, b);
        free(a);
        free(b);
        free(text);
        tree_free(t);
        manifest_free(m);
        manifest_free(again);
}

static void test_view_path(void **state)
{
        (void)state;
        manifest_t *m = load(MANIFEST_FORMAT_TOML,
                             "libos.entrypoint = \"file:/opt/rt/bin/python\"\n"
                             "fs.mounts = [ { path = \"/lib\", uri = \"file:/opt/rt\" },\n"
                             "  { path = \"/usr/lib/py\", uri = \"file:/opt/rt/lib/py\" },\n"
                             "  { type = \"tmpfs\", path = \"/opt\" } ]\n");
        static const struct {
                const char *host, *view;
        } cases[] = {
                {"/opt/rt", "/lib"},
                {"/opt/rt/libc.so.6", "/lib/libc.so.6"},
                {"/opt/rt/lib/py/os.py", "/usr/lib/py/os.py"}, /* the longest mount wins */
                {"/opt/rtx/a", "/opt/rtx/a"},                  /* a prefix of a name is not */
                {CWD, "/"},
                {CWD "/scripts/x.py", "/scripts/x.py"},
                {"/usr/bin/python3", "/usr/bin/python3"},
                {"/", "/"},
        };
        char buf[64], small[4];

        assert_string_equal(m->entrypoint, "/lib/bin/python");
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                assert_int_equal(manifest_view_path(m, cases[i].host, buf, sizeof(buf)), 0);
                assert_string_equal(buf, cases[i].view);
        }
        assert_int_equal(manifest_view_path(m, "/usr/bin/python3", small, sizeof(small)),
                         -ENAMETOOLONG);
        manifest_free(m);
}

static void test_no_effect_keys_warn(void **state)
{
        (void)state;
        manifest_t *m = load(MANIFEST_FORMAT_TOML, "libos.entrypoint = \"/bin/sh\"\n"
                                                   "sgx.edmm_enable = true\n");

        assert_int_equal(m->warning_count, 1);
        assert_int_equal(m->warnings[0].line, 2);
        assert_int_equal(m->warnings[0].col, 5); /* the part of the dotted key that is unknown */
        assert_string_equal(m->warnings[0].message,
                            "'sgx.edmm_enable' has no effect in lamina (no SGX hardware, no "
                            "library OS); ignored");
        manifest_free(m);
}

static void test_detect_format(void **state)
{
        (void)state;
        static const struct {
                const char *text;
                manifest_format_t format;
        } cases[] = {
                {"libos.entrypoint = \"/bin/sh\"\n", MANIFEST_FORMAT_TOML},
                {"loader.exec = file:/bin/sh\n", MANIFEST_FORMAT_LEGACY},
                {"libos.entrypoint = file:/bin/sh\n", MANIFEST_FORMAT_LEGACY},
                {"sgx.trusted_files.a = \"file:/a\"\n", MANIFEST_FORMAT_LEGACY},
                {"sgx.debug = 1\n", MANIFEST_FORMAT_TOML},
                {"[loader]\nexec = x\n", MANIFEST_FORMAT_TOML},
                {"loader.exec = file:/x\nsgx.trusted_files = [\"file:/a\"]\n",
                 MANIFEST_FORMAT_TOML},
                {"# only a comment\n", MANIFEST_FORMAT_TOML},
                {"", MANIFEST_FORMAT_TOML},
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                assert_int_equal(manifest_detect_format(cases[i].text, strlen(cases[i].text)),
                                 cases[i].format);
}

#define T   MANIFEST_FORMAT_TOML
#define L   MANIFEST_FORMAT_LEGACY
#define EP  "libos.entrypoint = \"/bin/sh\"\n"
#define LEP "loader.exec = file:/bin/sh\n"
#define SHA "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static const struct error_case {
        manifest_format_t format;
        const char *text;
        const char *message;
        unsigned line, col;
} errors[] = {
        /* the readers' own errors come through with their place */
        {T, "a = \n", NULL, 1, 5},
        {L, "a\n", "expected '=' after 'a'", 1, 2},
        /* required, unknown and misplaced keys */
        {T, "loader.argv = []\n",
         "'libos.entrypoint' is required: the program to run, such as libos.entrypoint = "
         "\"/usr/bin/python3\"",
         0, 0},
        {T, EP "libos.entrypiont = \"/bin/sh\"\n",
         "unknown key 'libos.entrypiont'; did you mean 'libos.entrypoint'?", 2, 7},
        {T, EP "sgx.trusted_file = []\n",
         "unknown key 'sgx.trusted_file'; did you mean 'sgx.trusted_files'?", 2, 5},
        {T, EP "network.enabled = true\n", "unknown key 'network'", 2, 1},
        {T, EP "\"libos.entrypoint\" = \"/x\"\n",
         "unknown key '\"libos.entrypoint\"'; did you mean 'libos.entrypoint'?", 2, 1},
        {T, EP "loader = 5\n", "'loader' must be a table, not an integer", 2, 10},
        {L, LEP "loader.exce = file:/bin/sh\n",
         "unknown key 'loader.exce'; did you mean 'loader.exec'?", 2, 1},
        {L, LEP "sgx.trusted_chlidren.x = file:a.sig\n",
         "unknown key 'sgx.trusted_chlidren'; did you mean 'sgx.trusted_children'?", 2, 1},
        /* types */
        {T, EP "sgx.debug = \"yes\"\n", "'sgx.debug' must be a boolean, not a string", 2, 13},
        {L, LEP "sgx.debug = yes\n", "'sgx.debug' must be 1 or 0 (or true or false), not 'yes'", 2,
         13},
        {T, "libos.entrypoint = 3\n", "'libos.entrypoint' must be a string, not an integer", 1, 20},
        {T, EP "loader.argv = \"sh\"\n", "'loader.argv' must be an array of strings, not a string",
         2, 15},
        {T, EP "loader.argv = [\"sh\", 1]\n", "'loader.argv[1]' must be a string, not an integer",
         2, 22},
        {T, EP "loader.argv = [\"a\\u0000b\"]\n", "'loader.argv[0]' contains a NUL character", 2,
         16},
        {T, EP "sgx.isvprodid = 65536\n", "'sgx.isvprodid' must be between 0 and 65535", 2, 17},
        {T, EP "sgx.isvsvn = -1\n", "'sgx.isvsvn' must be between 0 and 65535", 2, 14},
        {L, LEP "sgx.isvprodid = 0x10\n", "'sgx.isvprodid' must be a number, not '0x10'", 2, 17},
        {T, EP "sgx.max_threads = 0\n", "'sgx.max_threads' must be between 1 and 4294967295", 2,
         19},
        {T, EP "loader.uid = 4294967295\n", "'loader.uid' must be between 0 and 4294967294", 2, 14},
        {T, EP "sys.fds.limit = 1.5\n", "'sys.fds.limit' must be an integer, not a float", 2, 17},
        {T, EP "sgx.enclave_size = \"big\"\n",
         "'sgx.enclave_size' must be a size such as \"256M\", not 'big'", 2, 20},
        {T, EP "sgx.enclave_size = \"3M\"\n",
         "'sgx.enclave_size' must be a power of two, such as \"256M\"", 2, 20},
        {T, EP "sys.stack.size = \"99999999999999999999G\"\n",
         "'sys.stack.size' must be a size such as \"256M\", not '99999999999999999999G'", 2, 18},
        {T, EP "sys.stack.size = \"17179869184G\"\n",
         "'sys.stack.size' is too large: '17179869184G'", 2, 18},
        {T, EP "sys.brk.max_size = true\n",
         "'sys.brk.max_size' must be a size such as \"256M\", not a boolean", 2, 20},
        {T, EP "loader.log_level = \"loud\"\n",
         "'loader.log_level' must be one of 'none', 'error', 'warning', 'debug', 'trace', "
         "'all', not 'loud'",
         2, 20},
        {T, EP "sgx.file_check_policy = \"lax\"\n",
         "'sgx.file_check_policy' must be one of 'strict', 'allow_all_but_log', not 'lax'", 2, 25},
        {T, EP "loader.log_file = \"\"\n", "'loader.log_file' must not be empty", 2, 19},
        /* paths and URIs */
        {T, "libos.entrypoint = \"python3\"\n",
         "'libos.entrypoint' must be an absolute path, not 'python3'", 1, 20},
        {L, "loader.exec = python3\n", "'loader.exec' must be an absolute path, not 'python3'", 1,
         15},
        {T, EP "fs.start_dir = \"tmp\"\n", "'fs.start_dir' must be an absolute path, not 'tmp'", 2,
         16},
        {T, EP "fs.root.uri = \"/\"\n", "'fs.root.uri' must be a 'file:' URI, not '/'", 2, 15},
        {T, EP "sgx.trusted_files = [\"/usr/bin/x\"]\n",
         "'sgx.trusted_files[0]' must be a 'file:' URI, not '/usr/bin/x'", 2, 22},
        {L, LEP "sgx.allowed_files.py = /usr/lib\n",
         "'sgx.allowed_files.py' must be a 'file:' URI, not '/usr/lib'", 2, 24},
        {T, EP "sgx.trusted_files = [{ sha256 = \"" SHA "\" }]\n",
         "'sgx.trusted_files[0]' needs a 'uri'", 2, 22},
        {T, EP "sgx.trusted_files = [{ uri = \"file:/a\", sha256 = \"abc\" }]\n",
         "malformed sha256 'abc' in 'sgx.trusted_files[0].sha256': expected 64 hexadecimal "
         "digits",
         2, 50},
        {L, LEP "sgx.trusted_files.a = file:/a\nsgx.trusted_checksum.a = " SHA "x\n",
         "malformed sha256 '" SHA "x' in 'sgx.trusted_checksum.a': expected 64 hexadecimal "
         "digits",
         3, 26},
        {T, EP "sgx.trusted_files = [{ uri = \"file:/lib/\", sha256 = \"" SHA "\" }]\n",
         "'sgx.trusted_files[0]' is a directory ('file:/lib/'): a sha256 belongs to a file", 2, 22},
        {T, EP "sgx.trusted_files = [{ uri = \"file:/a\", sha = \"" SHA "\" }]\n",
         "unknown key 'sgx.trusted_files[0].sha'; did you mean 'sgx.trusted_files[0].sha256'?", 2,
         41},
        {T, EP "sgx.trusted_files = [1]\n",
         "'sgx.trusted_files[0]' must be a \"file:...\" URI or a table { uri, sha256 }, not an "
         "integer",
         2, 22},
        {T, EP "sgx.trusted_files = \"file:/a\"\n",
         "'sgx.trusted_files' must be an array, not a string", 2, 21},
        /* environment */
        {T, EP "loader.env.A = { value = \"1\", passthrough = true }\n",
         "'loader.env.A' has both 'value' and 'passthrough = true': set one", 2, 16},
        {T, EP "loader.env.A = { passthrough = false }\n",
         "'loader.env.A' needs 'value = \"...\"' or 'passthrough = true'", 2, 16},
        {T, EP "loader.env.A = { valeu = \"1\" }\n",
         "unknown key 'loader.env.A.valeu'; did you mean 'loader.env.A.value'?", 2, 18},
        {T, EP "loader.env.\"A=B\" = \"1\"\n",
         "invalid environment variable name in 'loader.env.A=B'", 2, 12},
        {T, EP "loader.env = 1\n",
         "'loader.env' must be a table of NAME = \"value\", not an integer", 2, 14},
        {T, EP "loader.env.A = 1\n", "'loader.env.A' must be a string, not an integer", 2, 16},
        /* mounts */
        {T, EP "fs.mounts = [ \"/lib\" ]\n",
         "'fs.mounts[0]' must be a table such as { type = \"chroot\", path = \"/lib\", uri = "
         "\"file:/lib\" }, not a string",
         2, 15},
        {T, EP "fs.mounts = [ { uri = \"file:/lib\" } ]\n", "'fs.mounts[0]' needs a 'path'", 2, 15},
        {T, EP "fs.mounts = [ { path = \"/lib\" } ]\n", "'fs.mounts[0]' needs a 'uri'", 2, 15},
        {T, EP "fs.mounts = [ { type = \"tmpfs\", path = \"/t\", uri = \"file:/t\" } ]\n",
         "'fs.mounts[0]' is a tmpfs mount, which takes no 'uri'", 2, 15},
        {T, EP "fs.mounts = [ { type = \"nfs\", path = \"/t\" } ]\n",
         "'fs.mounts[0].type' must be one of 'chroot', 'tmpfs', 'encrypted', not 'nfs'", 2, 24},
        {T, EP "fs.mounts = [ { path = \"/t\", uri = \"file:/t\", key_name = \"k\" } ]\n",
         "'fs.mounts[0]' takes a 'key_name' only when its type is 'encrypted'", 2, 15},
        {T, EP "fs.mounts = [ { typ = \"tmpfs\", path = \"/t\" } ]\n",
         "unknown key 'fs.mounts[0].typ'; did you mean 'fs.mounts[0].type'?", 2, 17},
        {T, EP "fs.mounts = [ { path = \"t\", uri = \"file:/t\" } ]\n",
         "'fs.mounts[0].path' must be an absolute path, not 't'", 2, 24},
        {L, LEP "fs.mount.lib.typo = chroot\n",
         "unknown key 'fs.mount.lib.typo'; did you mean 'fs.mount.lib.type'?", 2, 1},
        {L, LEP "fs.mount.lib.type = chroot\nfs.mount.lib.uri = file:/lib\n",
         "'fs.mount.lib' needs a 'path'", 2, 1},
        {T,
         EP "fs.mounts = [ { path = \"/t\", uri = \"file:/t\" }, { path = \"/t/\", "
            "type = \"tmpfs\" } ]\n",
         "duplicate mount path '/t' (also at line 2)", 2, 1},
        /* children and signers */
        {T, EP "sgx.trusted_children = [ { mrenclave = \"" SHA "\" } ]\n",
         "'sgx.trusted_children[0]' needs a 'uri'", 2, 26},
        {T, EP "sgx.trusted_children = [ 1 ]\n",
         "'sgx.trusted_children[0]' must be a \"file:X.sig\" URI or a table { uri, mrenclave }, "
         "not an integer",
         2, 26},
        {T, EP "sgx.trusted_signers = [ \"me\" ]\n",
         "'sgx.trusted_signers[0]' must be a signer as 64 hexadecimal digits, a \"file:X.sig\" "
         "or a \"file:key.pem\", not 'me'",
         2, 25},
        {T, EP "sgx.edmm_enable = { a = 1 }\n", "'sgx.edmm_enable' must be a value, not a table", 2,
         19},
        /* rules across keys */
        {T, EP "loader.argv = [\"sh\"]\nloader.insecure__use_cmdline_argv = true\n",
         "'loader.argv' conflicts with 'loader.insecure__use_cmdline_argv' (line 3): the "
         "arguments come either from the manifest or from the command line",
         2, 8},
        {T, EP "loader.argv0_override = \"x\"\nloader.argv = [\"sh\"]\n",
         "'loader.argv0_override' conflicts with 'loader.argv' (line 3): argv[0] is the first "
         "element of 'loader.argv'",
         2, 8},
        {T, EP "sgx.trusted_files = [\"file:/a\", \"file:/b\",\n \"file:/x/../a\"]\n",
         "duplicate trusted file 'file:/x/../a' (also at line 2)", 3, 1},
        {L, LEP "sgx.allowed_files.a = file:x/\nsgx.allowed_files.b = file:./x\n",
         "duplicate allowed file 'file:./x' (also at line 2)", 3, 1},
        {T, EP "sgx.trusted_files = [\"file:/a\"]\nsgx.allowed_files = [\"file:/a\"]\n",
         "'file:/a' is both trusted (line 2) and allowed: a file is either checked or not", 3, 1},
};

static void test_errors(void **state)
{
        (void)state;
        for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
                const struct error_case *c = &errors[i];
                manifest_options_t opts = {.format = c->format, .cwd = CWD};
                manifest_error_t e = {0};
                manifest_t *m = untouched;
                int r = manifest_parse("test.manifest", c->text, strlen(c->text), &opts, &e, &m);

                if (r != -EINVAL || (c->message && strcmp(e.message, c->message) != 0) ||
                    e.line != c->line || e.col != c->col)
                        fail_msg("case %zu: got %d %u:%u: '%s'\nwanted %u:%u: '%s'", i, r, e.line,
                                 e.col, e.message, c->line, c->col,
                                 c->message ? c->message : "(the reader's)");
                assert_ptr_equal(m, untouched);
                assert_string_equal(e.file, "test.manifest");
        }
}

static void test_load_errors(void **state)
{
        (void)state;
        manifest_error_t e = {0};
        manifest_t *m = untouched;
        char buf[1024];

        assert_int_equal(manifest_load("/nonexistent/x.manifest", NULL, &e, &m), -ENOENT);
        diag_format(&e, buf, sizeof(buf));
        assert_string_equal(buf, "/nonexistent/x.manifest: cannot open: No such file or directory");
        assert_int_equal(manifest_load("/", NULL, &e, &m), -EISDIR);
        diag_format(&e, buf, sizeof(buf));
        assert_string_equal(buf, "/: cannot read: Is a directory");
        assert_ptr_equal(m, untouched);
        assert_int_equal(manifest_parse("x", "", MANIFEST_SIZE_MAX + 1ul, NULL, &e, &m), -E2BIG);
        assert_ptr_equal(m, untouched);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_values),
                cmocka_unit_test(test_same_model_both_languages),
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_view_path),
                cmocka_unit_test(test_no_effect_keys_warn),
                cmocka_unit_test(test_detect_format),
                cmocka_unit_test(test_errors),
                cmocka_unit_test(test_load_errors),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
