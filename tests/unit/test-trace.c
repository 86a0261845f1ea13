/* Unit tests of the manifest generator of `lamina trace` (src/trace/): logs built by hand over
 * real files in a temporary directory (outside /tmp, which the generator leaves to the
 * runtime: $TRACE_TEST_DIR, else /var/tmp), the exact text for small runs in both languages,
 * the text read back by the manifest reader into the model it must give, every rule (the
 * runtime's places, the excluded path, written and created files, whole directories, --dirs,
 * the start directory), refusals with their exact errno and message and untouched outputs,
 * templates rendered back by render.c, and trace_against(). Known SHA-256 values are written
 * out, so that the hashes are checked independently of the store. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "manifest/manifest.h"
#include "manifest/render.h"
#include "trace/trace.h"

#define SHA_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA_A     "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
#define SHA_B     "3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d"
#define SHA_ABC   "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

/* What every manifest of the test program starts with, and the mount of its empty start
 * directory. */
#define TOML_HEAD                                                                                  \
        "# lamina trace: prog arg1 (in @/work)\n"                                                  \
        "libos.entrypoint = \"@/bin/prog\"\n"                                                      \
        "loader.argv = [\"prog\", \"arg1\"]\n"                                                     \
        "loader.env.HOME = \"/home/u\"\n"                                                          \
        "loader.env.PATH = \"/usr/bin:/bin\"\n"                                                    \
        "fs.root.uri = \"file:/\"\n"                                                               \
        "fs.start_dir = \"@/work\"\n"
#define WORK_TMPFS                                                                                 \
        "fs.mounts = [\n"                                                                          \
        "  { type = \"tmpfs\", path = \"@/work\" }, # the start directory: the run used nothing "  \
        "in it\n"                                                                                  \
        "]\n"

static char g_dir[PATH_MAX]; /* the fixture's directory, resolved; "@" in expected texts */

#define STREQ_TEXT(a, b) (strcmp((a), (b)) == 0)

static char *const untouched_text = (char *)"untouched";
#define UNTOUCHED_SIZE ((size_t)4242)

/* ---- helpers ---- */

static const char *at(const char *rel)
{
        static char bufs[16][PATH_MAX];
        static int next;
        char *b = bufs[next++ % 16];
        int n = snprintf(b, PATH_MAX, "%s/%s", g_dir, rel);

        assert_true(n > 0 && n < PATH_MAX);
        return b;
}

/* s with every '@' replaced by the fixture's directory; the caller frees it. */
static char *expand(const char *s)
{
        size_t n = 0, dir_len = strlen(g_dir);
        char *out;

        for (const char *c = s; *c; c++)
                n += *c == '@' ? dir_len : 1;
        out = malloc(n + 1);
        assert_non_null(out);
        n = 0;
        for (const char *c = s; *c; c++) {
                if (*c == '@') {
                        memcpy(out + n, g_dir, dir_len);
                        n += dir_len;
                } else {
                        out[n++] = *c;
                }
        }
        out[n] = '\0';
        return out;
}

static void make_dir(const char *rel)
{
        assert_int_equal(mkdir(at(rel), 0755), 0);
}

static void make_file(const char *rel, const char *content)
{
        int fd = open(at(rel), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
        close(fd);
}

static void add(trace_log_t *log, const char *rel_or_abs, unsigned uses, bool is_dir,
                const char *first)
{
        const char *path = rel_or_abs[0] == '/' ? rel_or_abs : at(rel_or_abs);
        int r = trace_log_add(log, path, uses, is_dir, first);

        if (r < 0)
                fail_msg("trace_log_add('%s') failed: %d", path, r);
}

static char *const test_argv[] = {(char *)"prog", (char *)"arg1", NULL};
static char *const test_envp[] = {(char *)"HOME=/home/u", (char *)"PATH=/usr/bin:/bin", NULL};

/* The program of most tests: @/bin/prog run as "prog arg1" in @/work. */
static trace_program_t program(void)
{
        static char entrypoint[PATH_MAX], cwd[PATH_MAX];

        snprintf(entrypoint, sizeof(entrypoint), "%s", at("bin/prog"));
        snprintf(cwd, sizeof(cwd), "%s", at("work"));
        return (trace_program_t){
                .entrypoint = entrypoint,
                .argv = test_argv,
                .argc = 2,
                .envp = test_envp,
                .cwd = cwd,
        };
}

static char *generate(const trace_log_t *log, const trace_program_t *prog, const trace_options_t *o)
{
        char err[1024] = "stale", *text = NULL;
        size_t size = 0;
        int r = trace_generate(log, prog, o, &text, &size, err, sizeof(err));

        if (r < 0)
                fail_msg("trace_generate failed: %d: %s", r, err);
        assert_string_equal(err, "");
        assert_non_null(text);
        assert_int_equal(strlen(text), size);
        return text;
}

/* Expects trace_generate() to fail with want_r and want_message (with '@' expanded), and to
 * leave its outputs alone. */
static void generate_fails(const trace_log_t *log, const trace_program_t *prog,
                           const trace_options_t *o, int want_r, const char *want_message)
{
        char err[1024] = "stale", *text = untouched_text;
        char *want = expand(want_message);
        size_t size = UNTOUCHED_SIZE;

        assert_int_equal(trace_generate(log, prog, o, &text, &size, err, sizeof(err)), want_r);
        assert_string_equal(err, want);
        assert_ptr_equal(text, untouched_text);
        assert_int_equal(size, UNTOUCHED_SIZE);
        free(want);
}

static void assert_text(const char *text, const char *want_template)
{
        char *want = expand(want_template);

        if (!STREQ_TEXT(text, want))
                fail_msg("got:\n%s\nwant:\n%s", text, want);
        free(want);
}

static manifest_t *parse(const char *text, manifest_format_t format)
{
        manifest_options_t opts = {.format = format, .cwd = "/nonexistent-cwd"};
        manifest_error_t e = {0};
        manifest_t *m = NULL;
        int r = manifest_parse("test.manifest", text, strlen(text), &opts, &e, &m);

        if (r < 0)
                fail_msg("the generated manifest does not parse: %u:%u: %s\n%s", e.line, e.col,
                         e.message, text);
        return m;
}

static const manifest_file_t *find_file(const manifest_file_t *files, size_t count,
                                        const char *host_path)
{
        for (size_t i = 0; i < count; i++)
                if (strcmp(files[i].host_path, host_path) == 0)
                        return &files[i];
        return NULL;
}

static void assert_trusted(const manifest_t *m, const char *path, const char *sha_hex)
{
        const manifest_file_t *f = find_file(m->trusted_files, m->trusted_file_count, path);
        char hex[2 * MANIFEST_SHA256_SIZE + 1];

        if (!f)
                fail_msg("'%s' is not a trusted file", path);
        if (!sha_hex) {
                assert_true(f->is_dir);
                assert_false(f->has_sha256);
                return;
        }
        assert_false(f->is_dir);
        assert_true(f->has_sha256);
        for (size_t i = 0; i < MANIFEST_SHA256_SIZE; i++)
                snprintf(hex + 2 * i, 3, "%02x", f->sha256[i]);
        assert_string_equal(hex, sha_hex);
}

static size_t count_lines(const char *s)
{
        size_t n = 0;

        for (; *s; s++)
                n += *s == '\n';
        return n;
}

/* ---- fixture ---- */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st;
        (void)flag;
        (void)ftw;
        return remove(path);
}

static int setup(void **state)
{
        const char *base = getenv("TRACE_TEST_DIR");
        char tmpl[PATH_MAX], resolved[PATH_MAX];

        (void)state;
        /* the generator leaves /tmp to the runtime: a build below /tmp tests in /var/tmp */
        if (!base || !*base || !realpath(base, resolved) || strncmp(resolved, "/tmp/", 5) == 0)
                base = "/var/tmp";
        snprintf(tmpl, sizeof(tmpl), "%s/lamina-trace-test-XXXXXX", base);
        assert_non_null(mkdtemp(tmpl));
        /* Resolved, so that the paths have no symlink in them. */
        assert_non_null(realpath(tmpl, g_dir));
        if (strncmp(g_dir, "/tmp/", 5) == 0)
                fail_msg("the test directory '%s' is below /tmp", g_dir);
        make_dir("bin");
        make_dir("lib");
        make_dir("work");
        make_file("bin/prog", "abc");
        make_file("lib/a.so", "a");
        make_file("lib/b.so", "b");
        make_file("work/in.txt", "");
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        nftw(g_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        return 0;
}

/* ---- the log ---- */

static void test_log(void **state)
{
        trace_log_t log = {0};
        const trace_entry_t *e;

        (void)state;
        assert_int_equal(trace_log_add(&log, "/a/b", TRACE_STAT, false, "1 (sh)"), 0);
        assert_int_equal(trace_log_add(&log, "/a/b", TRACE_READ, true, "2 (cat)"), 0);
        assert_int_equal(trace_log_add(&log, "/", TRACE_STAT, true, NULL), 0);
        assert_int_equal(log.count, 2);
        e = &log.entries[0];
        assert_string_equal(e->path, "/a/b");
        assert_int_equal(e->uses, TRACE_STAT | TRACE_READ);
        assert_true(e->is_dir);
        assert_string_equal(e->first, "1 (sh)");
        assert_null(log.entries[1].first);

        /* refused: not absolute, not normalised, no use, unknown uses */
        assert_int_equal(trace_log_add(&log, "a/b", TRACE_READ, false, NULL), -EINVAL);
        assert_int_equal(trace_log_add(&log, "", TRACE_READ, false, NULL), -EINVAL);
        assert_int_equal(trace_log_add(&log, "/a/", TRACE_READ, false, NULL), -EINVAL);
        assert_int_equal(trace_log_add(&log, "/a//b", TRACE_READ, false, NULL), -EINVAL);
        assert_int_equal(trace_log_add(&log, "/a/./b", TRACE_READ, false, NULL), -EINVAL);
        assert_int_equal(trace_log_add(&log, "/a/..", TRACE_READ, false, NULL), -EINVAL);
        assert_int_equal(trace_log_add(&log, "/a", 0, false, NULL), -EINVAL);
        assert_int_equal(trace_log_add(&log, "/a", 1u << 5, false, NULL), -EINVAL);
        assert_int_equal(trace_log_add(&log, NULL, TRACE_READ, false, NULL), -EINVAL);
        assert_int_equal(log.count, 2);

        /* many paths: the index grows and still finds each one */
        for (int i = 0; i < 5000; i++) {
                char path[64];

                snprintf(path, sizeof(path), "/many/%d", i);
                assert_int_equal(trace_log_add(&log, path, TRACE_READ, false, NULL), 0);
        }
        for (int i = 0; i < 5000; i += 7) {
                char path[64];

                snprintf(path, sizeof(path), "/many/%d", i);
                assert_int_equal(trace_log_add(&log, path, TRACE_EXEC, false, "x"), 0);
        }
        assert_int_equal(log.count, 5002);
        assert_int_equal(log.entries[2 + 700].uses, TRACE_READ | TRACE_EXEC);
        assert_null(log.entries[2 + 700].first);
        trace_log_done(&log);
        assert_int_equal(log.count, 0);
        assert_null(log.entries);
        trace_log_done(&log); /* twice is fine */
}

/* ---- the manifest ---- */

static const char toml_basic[] = TOML_HEAD
        "\n"
        "sgx.trusted_files = [\n"
        "  { uri = \"file:@/bin/prog\", sha256 = \"" SHA_ABC "\" }, # 1 (prog arg1)\n"
        "  { uri = \"file:@/lib/a.so\", sha256 = \"" SHA_A "\" }, # 1 (prog arg1)\n"
        "  { uri = \"file:@/work/in.txt\", sha256 = \"" SHA_EMPTY "\" }, # 2 (cat in.txt < prog "
        "arg1)\n"
        "]\n";

/* The run of toml_basic, with the runtime's places the manifest must leave out. */
static void basic_log(trace_log_t *log)
{
        add(log, "bin/prog", TRACE_EXEC | TRACE_READ, false, "1 (prog arg1)");
        add(log, "lib/a.so", TRACE_READ, false, "1 (prog arg1)");
        add(log, "work/in.txt", TRACE_READ | TRACE_STAT, false, "2 (cat in.txt < prog arg1)");
        add(log, "/proc/self/maps", TRACE_READ, false, "1 (prog arg1)");
        add(log, "/sys/devices/system/cpu/online", TRACE_READ, false, "1 (prog arg1)");
        add(log, "/dev/null", TRACE_READ | TRACE_WRITE, false, "1 (prog arg1)");
        add(log, "/dev/shm/sem.x", TRACE_CREATE | TRACE_WRITE, false, "1 (prog arg1)");
        add(log, "/tmp/scratch", TRACE_CREATE | TRACE_WRITE | TRACE_READ, false, "2 (cat)");
        add(log, "/tmp", TRACE_STAT, true, "2 (cat)");
}

static void test_toml(void **state)
{
        trace_log_t log = {0};
        trace_program_t prog = program();
        trace_options_t o = {.format = MANIFEST_FORMAT_TOML};
        char *text, *again;
        manifest_t *m;

        (void)state;
        basic_log(&log);
        text = generate(&log, &prog, &o);
        assert_text(text, toml_basic);
        /* AUTO is TOML; the same log gives the same text */
        o.format = MANIFEST_FORMAT_AUTO;
        again = generate(&log, &prog, &o);
        assert_string_equal(again, text);
        free(again);

        m = parse(text, MANIFEST_FORMAT_AUTO);
        assert_int_equal(m->format, MANIFEST_FORMAT_TOML);
        assert_string_equal(m->entrypoint, at("bin/prog"));
        assert_int_equal(m->argv_count, 2);
        assert_string_equal(m->argv[0], "prog");
        assert_string_equal(m->argv[1], "arg1");
        assert_false(m->use_cmdline_argv);
        assert_int_equal(m->env_count, 2);
        assert_string_equal(m->env[0].name, "HOME");
        assert_string_equal(m->env[0].value, "/home/u");
        assert_string_equal(m->env[1].name, "PATH");
        assert_string_equal(m->env[1].value, "/usr/bin:/bin");
        assert_string_equal(m->root_host_path, "/");
        assert_string_equal(m->start_dir, at("work"));
        assert_int_equal(m->mount_count, 0);
        assert_int_equal(m->trusted_file_count, 3);
        assert_trusted(m, at("bin/prog"), SHA_ABC);
        assert_trusted(m, at("lib/a.so"), SHA_A);
        assert_trusted(m, at("work/in.txt"), SHA_EMPTY);
        /* nothing written outside /tmp and /dev: no allowed files, no creation */
        assert_int_equal(m->allowed_file_count, 0);
        assert_false(m->allow_file_creation);
        manifest_free(m);
        free(text);
        trace_log_done(&log);
}

static const char legacy_basic[] =
        "# lamina trace: prog arg1 (in @/work)\n"
        "loader.exec = \"file:@/bin/prog\"\n"
        "loader.execname = \"prog\"\n"
        "loader.insecure__use_cmdline_argv = 1\n"
        "# Graphene's language has no loader.argv: give the arguments after the manifest: arg1\n"
        "loader.env.HOME = \"/home/u\"\n"
        "loader.env.PATH = \"/usr/bin:/bin\"\n"
        "fs.root.uri = \"file:/\"\n"
        "fs.start_dir = \"@/work\"\n"
        "\n"
        "sgx.trusted_files.NAME_bin_prog = \"file:@/bin/prog\" # 1 (prog arg1)\n"
        "sgx.trusted_checksum.NAME_bin_prog = \"" SHA_ABC "\"\n"
        "sgx.trusted_files.NAME_lib_a_so = \"file:@/lib/a.so\" # 1 (prog arg1)\n"
        "sgx.trusted_checksum.NAME_lib_a_so = \"" SHA_A "\"\n"
        "sgx.trusted_files.NAME_work_in_txt = \"file:@/work/in.txt\" # 2 (cat in.txt < prog "
        "arg1)\n"
        "sgx.trusted_checksum.NAME_work_in_txt = \"" SHA_EMPTY "\"\n";

/* Graphene's NAME of the fixture's directory: what the generator makes of it. */
static const char *legacy_dir_name(void)
{
        static char name[PATH_MAX];
        size_t n = 0;

        for (const char *c = g_dir; *c; c++) {
                char ch = *c;
                if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                      (ch >= '0' && ch <= '9') || ch == '-'))
                        ch = '_';
                if (ch == '_' && (n == 0 || name[n - 1] == '_'))
                        continue;
                name[n++] = ch;
        }
        name[n] = '\0';
        return name;
}

/* text with "NAME" replaced by legacy_dir_name(), then '@' expanded. */
static char *expand_legacy(const char *text)
{
        const char *name = legacy_dir_name();
        char *named = malloc(strlen(text) * (strlen(name) + 1) + 1), *out = named;

        assert_non_null(named);
        for (const char *c = text; *c;) {
                if (strncmp(c, "NAME", 4) == 0) {
                        out = stpcpy(out, name);
                        c += 4;
                } else {
                        *out++ = *c++;
                }
        }
        *out = '\0';
        out = expand(named);
        free(named);
        return out;
}

static void test_legacy(void **state)
{
        trace_log_t log = {0};
        trace_program_t prog = program();
        trace_options_t o = {.format = MANIFEST_FORMAT_LEGACY};
        char *text, *want;
        manifest_t *m;

        (void)state;
        basic_log(&log);
        text = generate(&log, &prog, &o);
        want = expand_legacy(legacy_basic);
        if (!STREQ_TEXT(text, want))
                fail_msg("got:\n%s\nwant:\n%s", text, want);

        /* read back with the language detected from the content */
        m = parse(text, MANIFEST_FORMAT_AUTO);
        assert_int_equal(m->format, MANIFEST_FORMAT_LEGACY);
        assert_string_equal(m->entrypoint, at("bin/prog"));
        assert_null(m->argv);
        assert_true(m->use_cmdline_argv);
        assert_string_equal(m->argv0_override, "prog");
        assert_int_equal(m->env_count, 2);
        assert_string_equal(m->env[1].name, "PATH");
        assert_string_equal(m->env[1].value, "/usr/bin:/bin");
        assert_string_equal(m->root_host_path, "/");
        assert_string_equal(m->start_dir, at("work"));
        assert_int_equal(m->trusted_file_count, 3);
        assert_trusted(m, at("bin/prog"), SHA_ABC);
        assert_trusted(m, at("lib/a.so"), SHA_A);
        assert_trusted(m, at("work/in.txt"), SHA_EMPTY);
        assert_int_equal(m->allowed_file_count, 0);
        manifest_free(m);
        free(want);
        free(text);

        /* one argument, argv[0] the program itself: nothing to say about arguments */
        prog.argv = (char *const[]){(char *)prog.entrypoint, NULL};
        prog.argc = 1;
        text = generate(&log, &prog, &o);
        assert_null(strstr(text, "loader.execname"));
        assert_null(strstr(text, "cmdline"));
        m = parse(text, MANIFEST_FORMAT_AUTO);
        assert_false(m->use_cmdline_argv);
        assert_null(m->argv0_override);
        manifest_free(m);
        free(text);

        /* Graphene cannot say: no argv at all, a line break, an environment name with a dot */
        prog.argc = 0;
        generate_fails(&log, &prog, &o, -EINVAL,
                       "the program was started without arguments, not even argv[0], which "
                       "Graphene's language cannot say: use TOML");
        prog = program();
        prog.envp = (char *const[]){(char *)"X=a\nb", NULL};
        generate_fails(&log, &prog, &o, -EINVAL,
                       "the value of environment variable 'X' cannot be written in "
                       "Graphene's language (a line break, or a '\"' with a '#', a blank at an "
                       "end, or a '[' or '{' first): use TOML");
        prog.envp = (char *const[]){(char *)"A.B=1", NULL};
        generate_fails(&log, &prog, &o, -EINVAL,
                       "environment variable 'A.B' cannot be named in Graphene's language (only "
                       "letters, digits, '_' and '-'): use TOML");
        /* a '"' goes bare when it may, and reads back as it was */
        prog.envp = (char *const[]){(char *)"Q=say \"hi\"", (char *)"R=#\"", NULL};
        generate_fails(&log, &prog, &o, -EINVAL,
                       "the value of environment variable 'R' cannot be written in Graphene's "
                       "language (a line break, or a '\"' with a '#', a blank at an end, or a "
                       "'[' or '{' first): use TOML");
        prog.envp = (char *const[]){(char *)"Q=say \"hi\"", (char *)"J={\"a\"}", NULL};
        generate_fails(&log, &prog, &o, -EINVAL,
                       "the value of environment variable 'J' cannot be written in "
                       "Graphene's language (a line break, or a '\"' with a '#', a blank at an "
                       "end, or a '[' or '{' first): use TOML");
        prog.envp = (char *const[]){(char *)"Q=say \"hi\"", (char *)"H=a#b", NULL};
        text = generate(&log, &prog, &o);
        m = parse(text, MANIFEST_FORMAT_AUTO);
        assert_int_equal(m->env_count, 2);
        assert_string_equal(m->env[0].value, "say \"hi\"");
        assert_string_equal(m->env[1].value, "a#b");
        manifest_free(m);
        free(text);
        trace_log_done(&log);
}

/* What the TOML writer must escape reads back as it was: paths with quotes, backslashes and
 * control characters, environment names that need quoting, values with line breaks. */
static void test_toml_escapes(void **state)
{
        static const char odd[] = "work/q\"b\\s\tt\x7f \xc3\xa9";
        trace_log_t log = {0};
        trace_program_t prog = program();
        trace_options_t o = {.format = MANIFEST_FORMAT_TOML};
        char *text;
        manifest_t *m;

        (void)state;
        make_file(odd, "b");
        add(&log, "bin/prog", TRACE_EXEC, false, "1 (prog)");
        add(&log, odd, TRACE_READ, false, "1 (prog)");
        prog.argv = (char *const[]){(char *)"pr\"og", (char *)"a\\b\nc", NULL};
        prog.envp = (char *const[]){(char *)"A.B=x", (char *)"C D=line\nbreak",
                                    (char *)"A.B=second, ignored", (char *)"E==", NULL};
        text = generate(&log, &prog, &o);
        assert_non_null(strstr(text, "loader.env.\"A.B\" = \"x\"\n"));
        assert_non_null(strstr(text, "loader.env.\"C D\" = \"line\\nbreak\"\n"));
        assert_non_null(strstr(text, "loader.argv = [\"pr\\\"og\", \"a\\\\b\\nc\"]\n"));
        assert_non_null(strstr(text, "/work/q\\\"b\\\\s\\tt\\u007F \xc3\xa9\""));
        m = parse(text, MANIFEST_FORMAT_AUTO);
        assert_string_equal(m->argv[0], "pr\"og");
        assert_string_equal(m->argv[1], "a\\b\nc");
        assert_int_equal(m->env_count, 3);
        assert_string_equal(m->env[0].name, "A.B");
        assert_string_equal(m->env[0].value, "x");
        assert_string_equal(m->env[1].name, "C D");
        assert_string_equal(m->env[1].value, "line\nbreak");
        assert_string_equal(m->env[2].name, "E");
        assert_string_equal(m->env[2].value, "=");
        assert_trusted(m, at(odd), SHA_B);
        manifest_free(m);
        free(text);

        /* the same file in Graphene's language: bare, since it has a '"' and no '#' */
        o.format = MANIFEST_FORMAT_LEGACY;
        prog = program();
        text = generate(&log, &prog, &o);
        m = parse(text, MANIFEST_FORMAT_AUTO);
        assert_trusted(m, at(odd), SHA_B);
        manifest_free(m);
        free(text);
        trace_log_done(&log);
}

/* A process's name cannot end a comment or break the manifest: control characters and bytes
 * that are not UTF-8 become '?', and long names are cut. */
static void test_comment_sanitised(void **state)
{
        char long_first[600];
        trace_log_t log = {0};
        trace_program_t prog = program();
        trace_options_t o = {.format = MANIFEST_FORMAT_TOML};
        char *text, *want;
        manifest_t *m;

        (void)state;
        memset(long_first, 'x', sizeof(long_first) - 1);
        long_first[sizeof(long_first) - 1] = '\0';
        add(&log, "bin/prog", TRACE_EXEC, false, "3 (evil\n# injected\r\x01\x7f \xff \xc3\xa9)");
        add(&log, "lib/a.so", TRACE_READ, false, long_first);
        add(&log, "work/in.txt", TRACE_READ, false, "1 (prog)");
        prog.argv = (char *const[]){(char *)"prog\nsgx.debug = true", NULL};
        prog.argc = 1;
        text = generate(&log, &prog, &o);
        want = expand("  { uri = \"file:@/bin/prog\", sha256 = \"" SHA_ABC
                      "\" }, # 3 (evil?# injected??? ? \xc3\xa9)\n");
        assert_non_null(strstr(text, want));
        assert_non_null(strstr(text, "# lamina trace: prog?sgx.debug = true (in "));
        free(want);
        /* 200 bytes of the name, then "..." */
        want = malloc(300);
        assert_non_null(want);
        snprintf(want, 300, "\" }, # %.200s...\n", long_first);
        assert_non_null(strstr(text, want));
        free(want);
        /* header, entrypoint, argv, env (2), root, start_dir, blank, [, 3 files, ] */
        assert_int_equal(count_lines(text), 13);
        m = parse(text, MANIFEST_FORMAT_AUTO);
        assert_false(m->debug);
        assert_string_equal(m->argv[0], "prog\nsgx.debug = true");
        manifest_free(m);
        free(text);
        trace_log_done(&log);
}

/* A path that is not UTF-8 cannot be named in a manifest: refused, in both languages, with
 * the path in the message. So is an argument or environment entry. */
static void test_not_utf8(void **state)
{
        trace_log_t log = {0};
        trace_program_t prog = program();
        trace_options_t o = {.format = MANIFEST_FORMAT_TOML};

        (void)state;
        make_file("lib/bad\xff.so", "a");
        add(&log, "bin/prog", TRACE_EXEC, false, "1 (prog)");
        add(&log, "lib/bad\xff.so", TRACE_READ, false, "1 (prog)");
        generate_fails(&log, &prog, &o, -EINVAL,
                       "path '@/lib/bad\\xff.so' is not valid UTF-8: a manifest cannot hold it");
        o.format = MANIFEST_FORMAT_LEGACY;
        generate_fails(&log, &prog, &o, -EINVAL,
                       "path '@/lib/bad\\xff.so' is not valid UTF-8: a manifest cannot hold it");
        trace_log_done(&log);

        log = (trace_log_t){0};
        o.format = MANIFEST_FORMAT_TOML;
        add(&log, "bin/prog", TRACE_EXEC, false, "1 (prog)");
        prog.argv = (char *const[]){(char *)"prog", (char *)"\xc3", NULL};
        generate_fails(&log, &prog, &o, -EINVAL,
                       "argument 1 '\\xc3' is not valid UTF-8: a manifest cannot hold it");
        prog = program();
        prog.envp = (char *const[]){(char *)"LANG=\xe9t\xe9", NULL};
        generate_fails(&log, &prog, &o, -EINVAL,
                       "the value of environment variable 'LANG' is not valid UTF-8: a "
                       "manifest cannot hold it");
        prog.envp = (char *const[]){(char *)"NOVALUE", NULL};
        generate_fails(&log, &prog, &o, -EINVAL,
                       "environment entry 'NOVALUE' is not NAME=VALUE: a manifest cannot give it");
        prog.envp = (char *const[]){(char *)"=x", NULL};
        generate_fails(&log, &prog, &o, -EINVAL,
                       "environment entry '=x' is not NAME=VALUE: a manifest cannot give it");
        trace_log_done(&log);
}

/* A used file that is gone cannot be hashed: refused, naming it and its process. */
static void test_vanished(void **state)
{
        trace_log_t log = {0};
        trace_program_t prog = program();
        trace_options_t o = {.format = MANIFEST_FORMAT_TOML};

        (void)state;
        add(&log, "bin/prog", TRACE_EXEC, false, "1 (prog)");
        add(&log, "lib/gone.so", TRACE_READ, false, "4 (cat gone.so)");
        generate_fails(&log, &prog, &o, -ENOENT,
                       "cannot hash '@/lib/gone.so', used by 4 (cat gone.so): No such file or "
                       "directory");
        trace_log_done(&log);

        /* the program itself, though not in the log */
        log = (trace_log_t){0};
        assert_int_equal(unlink(at("bin/prog")), 0);
        add(&log, "lib/a.so", TRACE_READ, false, "1 (prog)");
        generate_fails(&log, &prog, &o, -ENOENT,
                       "cannot hash '@/bin/prog', used by the program: No such file or directory");
        trace_log_done(&log);
}

/* Written and created files, the runtime's places, the excluded path. */
static void test_write_create(void **state)
{
        trace_log_t log = {0};
        trace_program_t prog = program();
        trace_options_t o = {.format = MANIFEST_FORMAT_TOML, .exclude = at("work/out.manifest")};
        char *text;
        manifest_t *m;

        (void)state;
        make_dir("out");
        make_dir("made");
        make_dir("made/sub");
        make_file("out/log.txt", "x");
        make_file("made/config", "a");
        make_file("work/out.manifest", "old");
        add(&log, "bin/prog", TRACE_EXEC, false, "1 (prog)");
        add(&log, "out/log.txt", TRACE_WRITE | TRACE_READ, false, "1 (prog)");
        /* made by the run: its directory is allowed, and what is below is covered by it */
        add(&log, "made/sub", TRACE_CREATE, true, "2 (mkdir sub)");
        add(&log, "made/sub/file", TRACE_CREATE | TRACE_WRITE, false, "3 (touch)");
        add(&log, "made/config", TRACE_READ, false, "1 (prog)");
        /* written, and gone since: it will have to be made again */
        add(&log, "lib/gone.tmp", TRACE_WRITE, false, "1 (prog)");
        /* the output manifest, whatever the run did with it */
        add(&log, "work/out.manifest", TRACE_READ | TRACE_WRITE, false, "1 (prog)");
        /* the runtime's */
        add(&log, "/tmp/x", TRACE_CREATE | TRACE_WRITE, false, "1 (prog)");
        add(&log, "/tmp/found", TRACE_READ, false, "5 (cat /tmp/found)");
        add(&log, "/dev/shm/old", TRACE_WRITE, false, "1 (prog)");
        add(&log, "/dev/shm/new", TRACE_CREATE, false, "1 (prog)");
        add(&log, "/proc/1/status", TRACE_READ, false, "1 (prog)");
        text = generate(&log, &prog, &o);
        assert_text(text, TOML_HEAD WORK_TMPFS
                    "\n"
                    "sgx.trusted_files = [\n"
                    "  { uri = \"file:@/bin/prog\", sha256 = \"" SHA_ABC "\" }, # 1 (prog)\n"
                    "]\n"
                    "sgx.allowed_files = [\n"
                    "  \"file:@/lib/\", # 1 (prog)\n"
                    "  \"file:@/made/\", # 2 (mkdir sub)\n"
                    "  \"file:@/out/log.txt\", # 1 (prog)\n"
                    "]\n"
                    "sgx.allow_file_creation = true\n"
                    "\n"
                    "# Used by the run, but not given by this manifest:\n"
                    "# \"/dev/shm/old\": below /dev/shm, where lamina run gives an empty tmpfs "
                    "# 1 (prog)\n"
                    "# \"/tmp/found\": below /tmp, where lamina run gives an empty tmpfs # 5 "
                    "(cat /tmp/found)\n");
        m = parse(text, MANIFEST_FORMAT_AUTO);
        assert_int_equal(m->allowed_file_count, 3);
        assert_true(m->allowed_files[0].is_dir);
        assert_string_equal(m->allowed_files[0].host_path, at("lib"));
        assert_true(m->allow_file_creation);
        assert_int_equal(m->mount_count, 1);
        assert_int_equal(m->mounts[0].type, MANIFEST_MOUNT_TMPFS);
        assert_string_equal(m->mounts[0].path, at("work"));
        manifest_free(m);
        free(text);

        /* the same in Graphene's language */
        o.format = MANIFEST_FORMAT_LEGACY;
        text = generate(&log, &prog, &o);
        assert_non_null(strstr(text, "fs.mount.empty1.type = \"tmpfs\"\n"));
        assert_non_null(strstr(text, "sgx.allow_file_creation = 1\n"));
        m = parse(text, MANIFEST_FORMAT_AUTO);
        assert_int_equal(m->format, MANIFEST_FORMAT_LEGACY);
        assert_int_equal(m->allowed_file_count, 3);
        assert_true(find_file(m->allowed_files, 3, at("made"))->is_dir);
        assert_false(find_file(m->allowed_files, 3, at("out/log.txt"))->is_dir);
        assert_true(m->allow_file_creation);
        assert_int_equal(m->mount_count, 1);
        assert_int_equal(m->mounts[0].type, MANIFEST_MOUNT_TMPFS);
        assert_string_equal(m->mounts[0].path, at("work"));
        assert_int_equal(m->trusted_file_count, 1);
        assert_trusted(m, at("bin/prog"), SHA_ABC);
        manifest_free(m);
        free(text);
        o.format = MANIFEST_FORMAT_TOML;
        trace_log_done(&log);

        /* a file made directly in "/" */
        log = (trace_log_t){0};
        add(&log, "/rootfile", TRACE_CREATE, false, "6 (touch /rootfile)");
        generate_fails(&log, &prog, &o, -EINVAL,
                       "the run created '/rootfile' (6 (touch /rootfile)) directly in '/': a "
                       "manifest could allow that only by allowing the whole host");
        trace_log_done(&log);

        /* a run that starts in /tmp, or whose program is there, cannot start under lamina */
        log = (trace_log_t){0};
        prog.cwd = "/tmp/build";
        generate_fails(&log, &prog, &o, -EINVAL,
                       "the run started in '/tmp/build', below /tmp, which lamina run replaces "
                       "with its own: trace it from another directory");
        prog = program();
        prog.entrypoint = "/tmp/a.out";
        generate_fails(&log, &prog, &o, -EINVAL,
                       "the program '/tmp/a.out' is below /tmp, which lamina run replaces with "
                       "its own: it could not start");
        prog.entrypoint = "bin/prog";
        generate_fails(&log, &prog, &o, -EINVAL,
                       "the program must be an absolute path, not 'bin/prog'");
        prog = program();
        prog.cwd = "work";
        generate_fails(&log, &prog, &o, -EINVAL,
                       "the working directory must be an absolute path, not 'work'");
        trace_log_done(&log);
}

/* A directory used whole gets an entry beside its files; one that is not, or that holds the
 * excluded path, does not. An empty directory the run looked at gets one. */
static void test_whole_dirs(void **state)
{
        trace_log_t log = {0};
        trace_program_t prog = program();
        trace_options_t o = {.format = MANIFEST_FORMAT_TOML};
        char *text;
        manifest_t *m;

        (void)state;
        make_dir("pkg");
        make_dir("pkg/sub");
        make_dir("pkg/empty");
        make_file("pkg/m1.py", "a");
        make_file("pkg/sub/m2.py", "b");
        assert_int_equal(symlink("m1.py", at("pkg/link.py")), 0);
        make_dir("void");
        make_dir("part");
        make_file("part/used", "a");
        make_file("part/unused", "b");
        add(&log, "bin/prog", TRACE_EXEC, false, "1 (prog)");
        add(&log, "pkg", TRACE_STAT | TRACE_READ, true, "1 (prog)");
        add(&log, "pkg/sub", TRACE_STAT, true, "1 (prog)");
        add(&log, "pkg/m1.py", TRACE_READ, false, "1 (prog)");
        add(&log, "pkg/sub/m2.py", TRACE_READ, false, "7 (python3)");
        add(&log, "void", TRACE_STAT, true, "8 (ls void)");
        add(&log, "part", TRACE_STAT, true, "1 (prog)");
        add(&log, "part/used", TRACE_READ, false, "1 (prog)");
        add(&log, "work", TRACE_STAT, true, "1 (prog)");
        text = generate(&log, &prog, &o);
        assert_text(text, TOML_HEAD WORK_TMPFS
                    "\n"
                    "sgx.trusted_files = [\n"
                    "  { uri = \"file:@/bin/prog\", sha256 = \"" SHA_ABC "\" }, # 1 (prog)\n"
                    "  { uri = \"file:@/part/used\", sha256 = \"" SHA_A "\" }, # 1 (prog)\n"
                    "  \"file:@/pkg/\", # 1 (prog)\n"
                    "  { uri = \"file:@/pkg/m1.py\", sha256 = \"" SHA_A "\" }, # 1 (prog)\n"
                    "  { uri = \"file:@/pkg/sub/m2.py\", sha256 = \"" SHA_B "\" }, # 7 "
                    "(python3)\n"
                    "  \"file:@/void/\", # 8 (ls void)\n"
                    "]\n");
        m = parse(text, MANIFEST_FORMAT_AUTO);
        assert_int_equal(m->trusted_file_count, 6);
        assert_trusted(m, at("pkg"), NULL);
        assert_trusted(m, at("void"), NULL);
        assert_trusted(m, at("pkg/sub/m2.py"), SHA_B);
        manifest_free(m);
        free(text);

        /* one more file below pkg, never used: pkg is not listed whole any more */
        make_file("pkg/sub/new.py", "");
        text = generate(&log, &prog, &o);
        {
                char *dir_entry = expand("\"file:@/pkg/\"");
                assert_null(strstr(text, dir_entry));
                assert_null(strstr(text, "/pkg/sub/\""));
                free(dir_entry);
        }
        free(text);
        assert_int_equal(unlink(at("pkg/sub/new.py")), 0);

        /* the output manifest would be written into pkg: not listed whole */
        o.exclude = at("pkg/x.manifest");
        text = generate(&log, &prog, &o);
        {
                char *dir_entry = expand("\"file:@/pkg/\"");
                assert_null(strstr(text, dir_entry));
                free(dir_entry);
        }
        free(text);
        trace_log_done(&log);
}

/* A directory the run looked at, with nothing listed in it, exists in the view as an empty
 * tmpfs (Python stats lib-dynload); of nested ones only the innermost is mounted. */
static void test_used_dirs_exist(void **state)
{
        trace_log_t log = {0};
        trace_program_t prog = program();
        trace_options_t o = {.format = MANIFEST_FORMAT_TOML};
        char *text;
        manifest_t *m;

        (void)state;
        make_dir("pylib");
        make_dir("pylib/dynload");
        make_file("pylib/dynload/unused.so", "x");
        make_file("pylib/unused.py", "y");
        make_file("work/app.py", "a");
        add(&log, "bin/prog", TRACE_EXEC, false, "1 (prog)");
        add(&log, "work/app.py", TRACE_READ, false, "1 (prog)");
        add(&log, "pylib", TRACE_STAT, true, "1 (prog)");
        add(&log, "pylib/dynload", TRACE_STAT | TRACE_READ, true, "2 (prog)");
        text = generate(&log, &prog, &o);
        assert_non_null(strstr(text, "fs.mounts = [\n"
                                     "  { type = \"tmpfs\", path = \""));
        m = parse(text, MANIFEST_FORMAT_AUTO);
        assert_int_equal(m->mount_count, 1);
        assert_int_equal(m->mounts[0].type, MANIFEST_MOUNT_TMPFS);
        assert_string_equal(m->mounts[0].path, at("pylib/dynload"));
        assert_int_equal(m->trusted_file_count, 2); /* the program and app.py: nothing unused */
        manifest_free(m);
        free(text);
        trace_log_done(&log);
}

/* --dirs: every trusted file's directory, beside the files, but not "/", not one that holds
 * an allowed path or the excluded path, and not one inside another. */
static void test_dirs_option(void **state)
{
        trace_log_t log = {0};
        trace_program_t prog = program();
        trace_options_t o = {.format = MANIFEST_FORMAT_TOML, .dirs = true};
        char *text;
        manifest_t *m;

        (void)state;
        make_dir("lib/sub");
        make_file("lib/sub/c.so", "abc");
        make_dir("data");
        make_file("data/in", "a");
        make_file("data/out", "b");
        add(&log, "bin/prog", TRACE_EXEC, false, "1 (prog)");
        add(&log, "lib/sub/c.so", TRACE_READ, false, "2 (prog)");
        add(&log, "lib/a.so", TRACE_READ, false, "1 (prog)");
        add(&log, "data/in", TRACE_READ, false, "1 (prog)");
        add(&log, "data/out", TRACE_WRITE, false, "1 (prog)");
        add(&log, "work/in.txt", TRACE_READ, false, "1 (prog)");
        o.exclude = at("work/x.manifest");
        text = generate(&log, &prog, &o);
        assert_text(text, TOML_HEAD
                    "\n"
                    "sgx.trusted_files = [\n"
                    "  \"file:@/bin/\", # 1 (prog)\n"
                    "  { uri = \"file:@/bin/prog\", sha256 = \"" SHA_ABC "\" }, # 1 (prog)\n"
                    "  { uri = \"file:@/data/in\", sha256 = \"" SHA_A "\" }, # 1 (prog)\n"
                    "  \"file:@/lib/\", # 1 (prog)\n"
                    "  { uri = \"file:@/lib/a.so\", sha256 = \"" SHA_A "\" }, # 1 (prog)\n"
                    "  { uri = \"file:@/lib/sub/c.so\", sha256 = \"" SHA_ABC "\" }, # 2 (prog)\n"
                    "  { uri = \"file:@/work/in.txt\", sha256 = \"" SHA_EMPTY "\" }, # 1 (prog)\n"
                    "]\n"
                    "sgx.allowed_files = [\n"
                    "  \"file:@/data/out\", # 1 (prog)\n"
                    "]\n");
        m = parse(text, MANIFEST_FORMAT_AUTO);
        assert_trusted(m, at("lib"), NULL);
        assert_trusted(m, at("lib/sub/c.so"), SHA_ABC);
        manifest_free(m);
        free(text);

        /* without --dirs, none of them */
        o.dirs = false;
        text = generate(&log, &prog, &o);
        assert_null(strstr(text, "/\","));
        free(text);
        trace_log_done(&log);
}

/* Bad options are refused before anything is read. */
static void test_bad_options(void **state)
{
        trace_log_t log = {0};
        trace_program_t prog = program();
        trace_options_t o = {.format = MANIFEST_FORMAT_TOML};
        trace_var_t vars[] = {{"ok", "/usr"}, {NULL, NULL}};

        (void)state;
        add(&log, "bin/prog", TRACE_EXEC, false, "1 (prog)");
        o.vars = vars;
        o.var_count = 2;
        vars[1] = (trace_var_t){"1bad", "/usr/lib"};
        generate_fails(&log, &prog, &o, -EINVAL,
                       "template variable '1bad' is not a name such as python.stdlib");
        vars[1] = (trace_var_t){"a..b", "/usr/lib"};
        generate_fails(&log, &prog, &o, -EINVAL,
                       "template variable 'a..b' is not a name such as python.stdlib");
        vars[1] = (trace_var_t){"root", "/"};
        generate_fails(&log, &prog, &o, -EINVAL,
                       "template variable 'root' is '/': it must be an absolute, normalised path "
                       "other than '/', without quotes, backslashes or control characters");
        vars[1] = (trace_var_t){"rel", "usr/lib"};
        generate_fails(&log, &prog, &o, -EINVAL,
                       "template variable 'rel' is 'usr/lib': it must be an absolute, normalised "
                       "path other than '/', without quotes, backslashes or control characters");
        vars[1] = (trace_var_t){"q", "/a\"b"};
        generate_fails(&log, &prog, &o, -EINVAL,
                       "template variable 'q' is '/a\"b': it must be an absolute, normalised "
                       "path other than '/', without quotes, backslashes or control characters");
        o.var_count = 0;
        o.format = (manifest_format_t)42;
        generate_fails(&log, &prog, &o, -EINVAL, "unknown manifest format 42");
        trace_log_done(&log);
}

/* ---- templates ---- */

typedef struct vars_ud {
        const trace_var_t *vars;
        size_t count;
} vars_ud_t;

static int lookup(const char *name, size_t name_size, void *userdata, const char **ret_value)
{
        const vars_ud_t *v = userdata;

        for (size_t i = 0; i < v->count; i++)
                if (strlen(v->vars[i].name) == name_size &&
                    memcmp(v->vars[i].name, name, name_size) == 0) {
                        *ret_value = v->vars[i].value;
                        return 0;
                }
        return -ENOENT;
}

static void roundtrip(manifest_format_t format, const trace_log_t *log, const trace_program_t *prog,
                      const trace_var_t *vars, size_t count, const char *want_in_template)
{
        trace_options_t plain = {.format = format}, tpl = plain;
        vars_ud_t ud = {vars, count};
        manifest_error_t e = {0};
        char *want = generate(log, prog, &plain), *template, *rendered = NULL;
        char *needle = expand(want_in_template);
        size_t rendered_size = 0;
        int r;

        tpl.vars = vars;
        tpl.var_count = count;
        template = generate(log, prog, &tpl);
        if (!strstr(template, needle))
                fail_msg("'%s' is not in the template:\n%s", needle, template);
        r = render_template(template, strlen(template), lookup, &ud, &e, &rendered, &rendered_size);
        if (r < 0)
                fail_msg("the template does not render: %d %u:%u %s\n%s", r, e.line, e.col,
                         e.message, template);
        if (!STREQ_TEXT(rendered, want))
                fail_msg("rendered:\n%s\nwant:\n%s\ntemplate:\n%s", rendered, want, template);
        assert_int_equal(rendered_size, strlen(want));
        free(needle);
        free(want);
        free(template);
        free(rendered);
}

/* With variables, the text is a template that renders into the manifest without them: the
 * longest value wins, component-wise, and text that looks like the renderer's syntax (in
 * paths, arguments, comments) renders as itself. */
static void test_template(void **state)
{
        trace_log_t log = {0};
        trace_program_t prog = program();
        char stdlib[PATH_MAX], base[PATH_MAX], prefix[PATH_MAX], work[PATH_MAX];
        trace_var_t vars[3];

        (void)state;
        snprintf(stdlib, sizeof(stdlib), "%s", at("lib"));
        snprintf(base, sizeof(base), "%s", g_dir);
        snprintf(prefix, sizeof(prefix), "%s", at("wor")); /* a prefix, not a component */
        vars[0] = (trace_var_t){"base", base};
        vars[1] = (trace_var_t){"python.stdlib", stdlib};
        vars[2] = (trace_var_t){"wo", prefix};
        make_file("lib/{{x}}$(y){$(z){%w{#v", "b");
        add(&log, "bin/prog", TRACE_EXEC, false, "1 (sh -c {{ evil }} $(rm) {{{ }})");
        add(&log, "lib/a.so", TRACE_READ, false, "2 ${{x}}{$(y)");
        add(&log, "lib/{{x}}$(y){$(z){%w{#v", TRACE_READ, false, "{");
        add(&log, "work/in.txt", TRACE_READ, false, "$");
        prog.argv = (char *const[]){(char *)"prog", (char *)"{{ a }}", (char *)"$(b)", NULL};
        prog.envp = (char *const[]){(char *)"T={%x%}", NULL};
        roundtrip(MANIFEST_FORMAT_TOML, &log, &prog, vars, 3,
                  "{ uri = \"file:{{ python.stdlib }}/a.so\", sha256 =");
        roundtrip(MANIFEST_FORMAT_TOML, &log, &prog, vars, 3,
                  "libos.entrypoint = \"{{ base }}/bin/prog\"");
        roundtrip(MANIFEST_FORMAT_TOML, &log, &prog, vars, 3, "fs.start_dir = \"{{ base }}/work\"");
        prog.argc = 1;
        prog.argv = (char *const[]){(char *)"{{ a }}$(b)", NULL};
        prog.envp = (char *const[]){(char *)"T={%x%}", NULL};
        roundtrip(MANIFEST_FORMAT_LEGACY, &log, &prog, vars, 3,
                  "= \"file:{{ python.stdlib }}/a.so\" # 2 ");
        roundtrip(MANIFEST_FORMAT_LEGACY, &log, &prog, vars, 3,
                  "loader.exec = \"file:{{ base }}/bin/prog\"");
        /* the value whole: the start directory is one */
        snprintf(work, sizeof(work), "%s", at("work"));
        vars[1] = (trace_var_t){"work", work};
        roundtrip(MANIFEST_FORMAT_TOML, &log, &prog, vars, 2, "fs.start_dir = \"{{ work }}\"");
        trace_log_done(&log);
}

/* ---- trace_against ---- */

static char *against(const trace_log_t *log, const trace_program_t *prog, const char *manifest,
                     const trace_options_t *o, size_t *ret_size)
{
        char *text = expand(manifest), err[1024] = "stale", *out = NULL;
        manifest_t *m = parse(text, MANIFEST_FORMAT_AUTO);
        int r = trace_against(log, prog, m, o, &out, ret_size, err, sizeof(err));

        if (r < 0)
                fail_msg("trace_against failed: %d: %s", r, err);
        assert_string_equal(err, "");
        assert_non_null(out);
        assert_int_equal(strlen(out), *ret_size);
        manifest_free(m);
        free(text);
        return out;
}

static void test_against(void **state)
{
        trace_log_t log = {0};
        trace_program_t prog = program();
        trace_options_t o = {.format = MANIFEST_FORMAT_TOML};
        char *out;
        size_t size = 99;

        (void)state;
        make_dir("py");
        make_file("py/one.py", "a");
        make_file("py/two.py", "b");
        make_file("py/three.py", "");
        add(&log, "bin/prog", TRACE_EXEC, false, "1 (prog)");
        add(&log, "lib/a.so", TRACE_READ, false, "1 (prog)");
        add(&log, "work/in.txt", TRACE_READ, false, "3 (python3 x.py)");
        add(&log, "/proc/self/maps", TRACE_READ, false, "1 (prog)");

        /* one missing, one unused: exactly those two */
        out = against(&log, &prog,
                      "libos.entrypoint = \"@/bin/prog\"\n"
                      "sgx.trusted_files = [\"file:@/bin/prog\", \"file:@/lib/a.so\", "
                      "\"file:@/lib/b.so\"]\n",
                      &o, &size);
        assert_text(out, "# needed by the run, not in test.manifest:\n"
                         "sgx.trusted_files = [\"file:@/work/in.txt\"] # 3 (python3 x.py)\n"
                         "# in test.manifest, never used by the run:\n"
                         "# sgx.trusted_files: \"file:@/lib/b.so\"\n");
        free(out);

        /* they agree: nothing at all (a directory entry used whole covers what is below it,
         * an allowed file may be read) */
        out = against(&log, &prog,
                      "libos.entrypoint = \"@/bin/prog\"\n"
                      "sgx.trusted_files = [\"file:@/bin/prog\", \"file:@/work/\"]\n"
                      "sgx.allowed_files = [\"file:@/lib/a.so\"]\n",
                      &o, &size);
        assert_string_equal(out, "");
        assert_int_equal(size, 0);
        free(out);
        trace_log_done(&log);

        /* written where the manifest trusts; created where it does not allow; a directory
         * entry used in part; creation allowed and never used, from another manifest */
        log = (trace_log_t){0};
        add(&log, "bin/prog", TRACE_EXEC, false, "1 (prog)");
        add(&log, "lib/a.so", TRACE_WRITE, false, "1 (prog)");
        add(&log, "work/new.txt", TRACE_CREATE, false, "4 (sh)");
        add(&log, "py/one.py", TRACE_READ, false, "1 (prog)");
        out = against(&log, &prog,
                      "libos.entrypoint = \"@/bin/prog\"\n"
                      "sgx.trusted_files = [\"file:@/bin/prog\", \"file:@/lib/a.so\", "
                      "\"file:@/py/\"]\n",
                      &o, &size);
        assert_text(out,
                    "# needed by the run, not in test.manifest:\n"
                    "sgx.allowed_files = [\"file:@/lib/a.so\"] # 1 (prog); written, but in "
                    "sgx.trusted_files (line 2): move it\n"
                    "sgx.allowed_files = [\"file:@/work/\"] # 4 (sh)\n"
                    "sgx.allow_file_creation = true # to make files in its allowed directories\n"
                    "# in test.manifest, partly used by the run:\n"
                    "# sgx.trusted_files: \"file:@/py/\" # 1 of 3 files used\n");
        free(out);
        trace_log_done(&log);

        log = (trace_log_t){0};
        add(&log, "bin/prog", TRACE_EXEC, false, "1 (prog)");
        add(&log, "work/in.txt", TRACE_READ, false, "1 (prog)");
        out = against(&log, &prog,
                      "libos.entrypoint = \"@/bin/prog\"\n"
                      "sgx.trusted_files = [\"file:@/bin/prog\", \"file:@/work/in.txt\"]\n"
                      "sgx.allowed_files = [\"file:@/py/\"]\n"
                      "sgx.allow_file_creation = true\n",
                      &o, &size);
        assert_text(out, "# in test.manifest, never used by the run:\n"
                         "# sgx.allowed_files: \"file:@/py/\"\n"
                         "# sgx.allow_file_creation = true\n");
        free(out);

        /* a needed path that cannot be written: refused, outputs untouched */
        make_file("lib/bad\xff", "a");
        add(&log, "lib/bad\xff", TRACE_READ, false, "1 (prog)");
        {
                char *text = expand("libos.entrypoint = \"@/bin/prog\"\n"), err[1024] = "";
                char *want =
                        expand("'@/lib/bad\\xff' is not valid UTF-8: a manifest cannot hold it");
                manifest_t *m = parse(text, MANIFEST_FORMAT_TOML);

                out = untouched_text;
                size = UNTOUCHED_SIZE;
                assert_int_equal(trace_against(&log, &prog, m, &o, &out, &size, err, sizeof(err)),
                                 -EINVAL);
                assert_string_equal(err, want);
                assert_ptr_equal(out, untouched_text);
                assert_int_equal(size, UNTOUCHED_SIZE);
                manifest_free(m);
                free(want);
                free(text);
        }
        trace_log_done(&log);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_log),
                cmocka_unit_test_setup_teardown(test_toml, setup, teardown),
                cmocka_unit_test_setup_teardown(test_legacy, setup, teardown),
                cmocka_unit_test_setup_teardown(test_toml_escapes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_comment_sanitised, setup, teardown),
                cmocka_unit_test_setup_teardown(test_not_utf8, setup, teardown),
                cmocka_unit_test_setup_teardown(test_vanished, setup, teardown),
                cmocka_unit_test_setup_teardown(test_write_create, setup, teardown),
                cmocka_unit_test_setup_teardown(test_whole_dirs, setup, teardown),
                cmocka_unit_test_setup_teardown(test_used_dirs_exist, setup, teardown),
                cmocka_unit_test_setup_teardown(test_dirs_option, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_options, setup, teardown),
                cmocka_unit_test_setup_teardown(test_template, setup, teardown),
                cmocka_unit_test_setup_teardown(test_against, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
