/* Unit tests of the verified store (src/store/): trees built from real files in a temporary
 * "host" directory, with an identity view and one that shows host prefixes elsewhere; reuse
 * without hashing, edits, pinned hashes, directory entries, conflicts, every error with its
 * exact errno and message, garbage collection and listing. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/store.h"

typedef struct fixture {
        char dir[256];  /* everything below here is removed afterwards */
        char host[512]; /* the "host" files */
        char store[512];
        vstore_t *s;
        /* The prefix view: host prefixes shown at view prefixes, anything else as it is. */
        char host_prefix[2][512];
        const char *view_prefix[2];
        size_t prefix_count;
} fixture_t;

static int identity_view(const char *host_path, char *buf, size_t size, void *userdata)
{
        (void)userdata;
        if (strlen(host_path) >= size)
                return -ENAMETOOLONG;
        strcpy(buf, host_path);
        return 0;
}

static int prefix_view(const char *host_path, char *buf, size_t size, void *userdata)
{
        const fixture_t *fx = userdata;

        for (size_t i = 0; i < fx->prefix_count; i++) {
                size_t n = strlen(fx->host_prefix[i]);

                if (strncmp(host_path, fx->host_prefix[i], n) == 0 &&
                    (host_path[n] == '/' || host_path[n] == '\0')) {
                        int k = snprintf(buf, size, "%s%s", fx->view_prefix[i], host_path + n);
                        return k < 0 || (size_t)k >= size ? -ENAMETOOLONG : 0;
                }
        }
        return identity_view(host_path, buf, size, NULL);
}

/* ---- helpers ---- */

static const char *hpath(const fixture_t *fx, const char *rel)
{
        static char bufs[8][PATH_MAX];
        static int next;
        char *b = bufs[next++ % 8];

        snprintf(b, PATH_MAX, "%s/%s", fx->host, rel);
        return b;
}

/* The path, in the tree, of a host path shown by the identity view. */
static const char *tpath(const fixture_t *fx, const char *root, const char *rel)
{
        static char bufs[8][PATH_MAX];
        static int next;
        char *b = bufs[next++ % 8];

        snprintf(b, PATH_MAX, "%s%s/%s", root, fx->host, rel);
        return b;
}

static void write_file(const char *path, const char *content, mode_t mode)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
        assert_int_equal(fchmod(fd, mode), 0);
        close(fd);
}

static void host_file(const fixture_t *fx, const char *rel, const char *content, mode_t mode)
{
        write_file(hpath(fx, rel), content, mode);
}

static void host_dir(const fixture_t *fx, const char *rel)
{
        assert_int_equal(mkdir(hpath(fx, rel), 0755), 0);
}

static void host_link(const fixture_t *fx, const char *rel, const char *target)
{
        assert_int_equal(symlink(target, hpath(fx, rel)), 0);
}

static char *read_all(const char *path)
{
        static char buf[4096];
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n;

        if (fd < 0)
                return NULL;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        assert_true(n >= 0);
        buf[n] = '\0';
        return buf;
}

static const char *link_target(const char *path)
{
        static char buf[PATH_MAX];
        ssize_t n = readlink(path, buf, sizeof(buf) - 1);

        if (n < 0)
                return NULL;
        buf[n] = '\0';
        return buf;
}

static void sha(const char *content, uint8_t out[VSTORE_SHA256_SIZE])
{
        vstore_sha256(content, strlen(content), out);
}

/* The object holding content: objects/XX/<sha256>-<mtime>[.x]. The mtime comes from the
 * host file, so the test looks for the one object with that hash and exec bit. When there is
 * none, a path that does not exist. */
static const char *object_path(const fixture_t *fx, const char *content, bool exec)
{
        static char buf[PATH_MAX];
        uint8_t h[VSTORE_SHA256_SIZE];
        char hex[2 * VSTORE_SHA256_SIZE + 1], dir[PATH_MAX - 512];
        DIR *d;
        struct dirent *de;

        sha(content, h);
        vstore_hex(h, hex);
        snprintf(dir, sizeof(dir), "%s/objects/%.2s", fx->store, hex);
        snprintf(buf, sizeof(buf), "%s/%s-missing", dir, hex);
        d = opendir(dir);
        while (d && (de = readdir(d))) {
                size_t n = strlen(de->d_name);
                bool x = n > 2 && strcmp(de->d_name + n - 2, ".x") == 0;
                if (strncmp(de->d_name, hex, 2 * VSTORE_SHA256_SIZE) == 0 &&
                    de->d_name[2 * VSTORE_SHA256_SIZE] == '-' && x == exec)
                        snprintf(buf, sizeof(buf), "%s/%s", dir, de->d_name);
        }
        if (d)
                closedir(d);
        return buf;
}

static vstore_spec_t spec_of(fixture_t *fx, const char *key, const vstore_file_t *files,
                             size_t count)
{
        return (vstore_spec_t){.key = key,
                               .label = key,
                               .files = files,
                               .file_count = count,
                               .view_of = fx->prefix_count ? prefix_view : identity_view,
                               .view_userdata = fx};
}

/* Prepares, expecting success; returns the root (static storage). */
static const char *prepare_ok(fixture_t *fx, const vstore_spec_t *spec, vstore_report_t *rep)
{
        static char root_buf[PATH_MAX];
        char *root = NULL;
        int r = vstore_prepare(fx->s, spec, rep, &root);

        if (r < 0)
                fail_msg("vstore_prepare: %d (%s): %s", r, strerror(-r), rep->message);
        assert_non_null(root);
        snprintf(root_buf, sizeof(root_buf), "%s", root);
        free(root);
        return root_buf;
}

static char *const untouched = (char *)0x1;

/* Prepares, expecting error r and message; *ret_root must stay untouched. */
static void prepare_fails(fixture_t *fx, const vstore_spec_t *spec, vstore_report_t *rep, int r,
                          const char *message)
{
        char *root = untouched;

        assert_int_equal(vstore_prepare(fx->s, spec, rep, &root), r);
        assert_ptr_equal(root, untouched);
        if (message)
                assert_string_equal(rep->message, message);
}

static void assert_mode(const char *path, mode_t type, mode_t mode)
{
        struct stat st;

        if (lstat(path, &st) < 0)
                fail_msg("lstat '%s': %s", path, strerror(errno));
        assert_int_equal(st.st_mode & S_IFMT, type);
        if (type != S_IFLNK)
                assert_int_equal(st.st_mode & 07777, mode);
}

static void assert_missing(const char *path)
{
        struct stat st;

        assert_int_equal(lstat(path, &st), -1);
        assert_int_equal(errno, ENOENT);
}

static void assert_same_inode(const char *a, const char *b)
{
        struct stat sa, sb;

        assert_int_equal(lstat(a, &sa), 0);
        assert_int_equal(lstat(b, &sb), 0);
        assert_int_equal(sa.st_dev, sb.st_dev);
        assert_int_equal(sa.st_ino, sb.st_ino);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st;
        (void)flag;
        (void)ftw;
        return remove(path);
}

static int setup(void **state)
{
        fixture_t *fx = calloc(1, sizeof(*fx));
        char tmpl[] = "/tmp/lamina-store-test-XXXXXX";

        assert_non_null(fx);
        assert_non_null(mkdtemp(tmpl));
        /* Resolved, so that the identity view's paths have no symlink in them. */
        assert_non_null(realpath(tmpl, fx->dir));
        snprintf(fx->host, sizeof(fx->host), "%s/host", fx->dir);
        snprintf(fx->store, sizeof(fx->store), "%s/store", fx->dir);
        assert_int_equal(mkdir(fx->host, 0755), 0);
        assert_int_equal(vstore_open(fx->store, &fx->s), 0);
        *state = fx;
        return 0;
}

static int teardown(void **state)
{
        fixture_t *fx = *state;

        vstore_free(fx->s);
        nftw(fx->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        free(fx);
        return 0;
}

/* ---- tests ---- */

static void test_sha256_hex(void **state)
{
        uint8_t h[VSTORE_SHA256_SIZE];
        char hex[2 * VSTORE_SHA256_SIZE + 1];

        (void)state;
        vstore_sha256("abc", 3, h);
        vstore_hex(h, hex);
        assert_string_equal(hex,
                            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        vstore_sha256("", 0, h);
        vstore_hex(h, hex);
        assert_string_equal(hex,
                            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_build(void **state)
{
        fixture_t *fx = *state;
        vstore_report_t rep;
        const char *mount_dirs[] = {"/proc", "/tmp/x"};
        const char *mount_files[] = {"/etc/resolv.conf"};
        char abs_target[PATH_MAX];

        host_dir(fx, "bin");
        host_dir(fx, "lib");
        host_dir(fx, "real");
        host_file(fx, "bin/tool", "#!/bin/sh\necho tool\n", 0750);
        host_file(fx, "lib/data.txt", "data\n", 0600);
        host_file(fx, "real/libz.so.1.2", "libz\n", 0755);
        /* A chain: relative, then absolute, then relative again, through a symlinked dir. */
        host_link(fx, "lib/libz.so", "libz.so.1");
        snprintf(abs_target, sizeof(abs_target), "%s/linkdir/libz.so.1.2", fx->host);
        host_link(fx, "lib/libz.so.1", abs_target);
        host_link(fx, "linkdir", "real");

        vstore_file_t files[] = {
                {.host_path = hpath(fx, "bin/tool"), .entry = "t:1: tool"},
                {.host_path = hpath(fx, "lib/data.txt"), .entry = "t:2: data"},
                {.host_path = hpath(fx, "lib/libz.so"), .entry = "t:3: libz"},
        };
        vstore_spec_t spec = spec_of(fx, "k1", files, 3);
        spec.mount_dirs = mount_dirs;
        spec.mount_dir_count = 2;
        spec.mount_files = mount_files;
        spec.mount_file_count = 1;
        const char *root = prepare_ok(fx, &spec, &rep);
        char want_root[PATH_MAX];

        snprintf(want_root, sizeof(want_root), "%s/trees/k1/root", fx->store);
        assert_string_equal(root, want_root);
        assert_true(rep.built);
        assert_int_equal(rep.hashed, 3);
        assert_int_equal(rep.hashed_bytes, 20 + 5 + 5);
        assert_int_equal(rep.files, 3);
        assert_int_equal(rep.tofu, 3);
        assert_int_equal(rep.mismatch_count, 0);
        assert_string_equal(rep.message, "");

        /* Verified files: hard links to their objects, 0555 with an exec bit, else 0444. */
        assert_string_equal(read_all(tpath(fx, root, "bin/tool")), "#!/bin/sh\necho tool\n");
        assert_mode(tpath(fx, root, "bin/tool"), S_IFREG, 0555);
        assert_same_inode(tpath(fx, root, "bin/tool"),
                          object_path(fx, "#!/bin/sh\necho tool\n", true));
        assert_string_equal(read_all(tpath(fx, root, "lib/data.txt")), "data\n");
        assert_mode(tpath(fx, root, "lib/data.txt"), S_IFREG, 0444);
        assert_same_inode(tpath(fx, root, "lib/data.txt"), object_path(fx, "data\n", false));
        assert_mode(object_path(fx, "data\n", false), S_IFREG, 0444);
        struct stat st, host_st;
        assert_int_equal(stat(object_path(fx, "data\n", false), &st), 0);
        assert_int_equal(st.st_nlink, 2);
        /* The host file's mtime, to the nanosecond: Python trusts a .pyc by its source's. */
        assert_int_equal(stat(hpath(fx, "lib/data.txt"), &host_st), 0);
        assert_int_equal(st.st_mtim.tv_sec, host_st.st_mtim.tv_sec);
        assert_int_equal(st.st_mtim.tv_nsec, host_st.st_mtim.tv_nsec);

        /* The chain, reproduced link by link, and the file at its resolved path. */
        assert_string_equal(link_target(tpath(fx, root, "lib/libz.so")), "libz.so.1");
        assert_string_equal(link_target(tpath(fx, root, "lib/libz.so.1")), abs_target);
        assert_string_equal(link_target(tpath(fx, root, "linkdir")), "real");
        assert_string_equal(read_all(tpath(fx, root, "real/libz.so.1.2")), "libz\n");
        assert_mode(tpath(fx, root, "real/libz.so.1.2"), S_IFREG, 0555);

        /* Directories 0755; mount points empty. */
        assert_mode(tpath(fx, root, "lib"), S_IFDIR, 0755);
        assert_mode(root, S_IFDIR, 0755);
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/proc", root);
        assert_mode(p, S_IFDIR, 0755);
        snprintf(p, sizeof(p), "%s/tmp/x", root);
        assert_mode(p, S_IFDIR, 0755);
        snprintf(p, sizeof(p), "%s/etc/resolv.conf", root);
        assert_mode(p, S_IFREG, 0644);
        assert_string_equal(read_all(p), "");

        /* Nothing else: the host's other files are not there. */
        snprintf(p, sizeof(p), "%s/etc/passwd", root);
        assert_missing(p);
}

static void test_reuse_without_hashing(void **state)
{
        fixture_t *fx = *state;
        vstore_report_t rep;

        host_file(fx, "a", "aaa", 0644);
        host_file(fx, "b", "bbb", 0644);
        vstore_file_t files[] = {
                {.host_path = hpath(fx, "a"), .entry = "t:1: a"},
                {.host_path = hpath(fx, "b"), .entry = "t:2: b"},
        };
        vstore_spec_t spec = spec_of(fx, "k1", files, 2);
        char first[PATH_MAX];

        snprintf(first, sizeof(first), "%s", prepare_ok(fx, &spec, &rep));
        assert_true(rep.built);
        assert_int_equal(rep.hashed, 2);
        const char *root = prepare_ok(fx, &spec, &rep);
        assert_string_equal(root, first);
        assert_false(rep.built);
        assert_int_equal(rep.hashed, 0);
        assert_int_equal(rep.hashed_bytes, 0);
        assert_int_equal(rep.files, 2);
        assert_int_equal(rep.tofu, 2);
        assert_string_equal(read_all(tpath(fx, root, "a")), "aaa");
}

static void test_edited_unpinned(void **state)
{
        fixture_t *fx = *state;
        vstore_report_t rep;

        host_file(fx, "script.py", "print(1)\n", 0644);
        host_file(fx, "other.py", "print(2)\n", 0644);
        vstore_file_t files[] = {
                {.host_path = hpath(fx, "script.py"), .entry = "t:1: script"},
                {.host_path = hpath(fx, "other.py"), .entry = "t:2: other"},
        };
        vstore_spec_t spec = spec_of(fx, "k1", files, 2);

        prepare_ok(fx, &spec, &rep);
        host_file(fx, "script.py", "print('edited')\n", 0644);
        const char *root = prepare_ok(fx, &spec, &rep);
        assert_true(rep.built);
        assert_int_equal(rep.hashed, 1);
        assert_int_equal(rep.hashed_bytes, 16);
        assert_string_equal(read_all(tpath(fx, root, "script.py")), "print('edited')\n");
        assert_string_equal(read_all(tpath(fx, root, "other.py")), "print(2)\n");
        /* And the new state is what the next run finds. */
        prepare_ok(fx, &spec, &rep);
        assert_false(rep.built);
        assert_int_equal(rep.hashed, 0);
}

static void test_pinned_mismatch(void **state)
{
        fixture_t *fx = *state;
        vstore_report_t rep;
        uint8_t pin[VSTORE_SHA256_SIZE], actual[VSTORE_SHA256_SIZE];
        char pin_hex[65], actual_hex[65], msg[2048], meta[PATH_MAX], meta_before[4096];

        host_file(fx, "lib.so", "good", 0644);
        sha("good", pin);
        vstore_file_t files[] = {
                {.host_path = hpath(fx, "lib.so"), .sha256 = pin, .entry = "t:7: lib"},
        };
        vstore_spec_t spec = spec_of(fx, "k1", files, 1);
        const char *root = prepare_ok(fx, &spec, &rep);
        assert_int_equal(rep.tofu, 0);
        snprintf(meta, sizeof(meta), "%s/trees/k1/meta", fx->store);
        snprintf(meta_before, sizeof(meta_before), "%s", read_all(meta));

        host_file(fx, "lib.so", "evil!", 0644);
        sha("evil!", actual);
        vstore_hex(pin, pin_hex);
        vstore_hex(actual, actual_hex);
        snprintf(msg, sizeof(msg), "t:7: lib: '%s' has SHA-256 %s, the manifest pins %s",
                 hpath(fx, "lib.so"), actual_hex, pin_hex);
        prepare_fails(fx, &spec, &rep, -EBADMSG, msg);
        assert_false(rep.built);
        assert_int_equal(rep.hashed, 1);
        assert_int_equal(rep.mismatch_count, 1);
        assert_string_equal(rep.mismatch.host_path, hpath(fx, "lib.so"));
        assert_string_equal(rep.mismatch.entry, "t:7: lib");
        assert_memory_equal(rep.mismatch.expected, pin, VSTORE_SHA256_SIZE);
        assert_memory_equal(rep.mismatch.actual, actual, VSTORE_SHA256_SIZE);
        /* Nothing changed: the old tree, with the verified bytes, and its meta. */
        assert_string_equal(read_all(tpath(fx, root, "lib.so")), "good");
        assert_string_equal(read_all(meta), meta_before);

        /* A wrong pin the first time: no tree at all. */
        vstore_spec_t spec2 = spec_of(fx, "k2", files, 1);
        prepare_fails(fx, &spec2, &rep, -EBADMSG, msg);
        char k2[PATH_MAX];
        snprintf(k2, sizeof(k2), "%s/trees/k2", fx->store);
        assert_missing(k2);
}

static void test_warn_only(void **state)
{
        fixture_t *fx = *state;
        vstore_report_t rep;
        uint8_t pin[VSTORE_SHA256_SIZE], actual[VSTORE_SHA256_SIZE];

        host_file(fx, "a", "actual a", 0644);
        host_file(fx, "b", "actual b", 0644);
        sha("what the manifest says", pin);
        vstore_file_t files[] = {
                {.host_path = hpath(fx, "a"), .sha256 = pin, .entry = "t:1: a"},
                {.host_path = hpath(fx, "b"), .sha256 = pin, .entry = "t:2: b"},
        };
        vstore_spec_t spec = spec_of(fx, "k1", files, 2);
        spec.warn_only = true;
        const char *root = prepare_ok(fx, &spec, &rep);
        sha("actual a", actual);
        assert_true(rep.built);
        assert_int_equal(rep.mismatch_count, 2);
        assert_string_equal(rep.mismatch.host_path, hpath(fx, "a"));
        assert_string_equal(rep.mismatch.entry, "t:1: a");
        assert_memory_equal(rep.mismatch.expected, pin, VSTORE_SHA256_SIZE);
        assert_memory_equal(rep.mismatch.actual, actual, VSTORE_SHA256_SIZE);
        assert_string_equal(read_all(tpath(fx, root, "a")), "actual a");

        /* Reported again on the next run, without hashing. */
        memset(&rep, 0xff, sizeof(rep));
        prepare_ok(fx, &spec, &rep);
        assert_false(rep.built);
        assert_int_equal(rep.hashed, 0);
        assert_int_equal(rep.mismatch_count, 2);
        assert_string_equal(rep.mismatch.host_path, hpath(fx, "a"));
        assert_string_equal(rep.mismatch.entry, "t:1: a");
        assert_memory_equal(rep.mismatch.expected, pin, VSTORE_SHA256_SIZE);
        assert_memory_equal(rep.mismatch.actual, actual, VSTORE_SHA256_SIZE);

        /* The same tree without warn_only: refused, though no file changed. */
        spec.warn_only = false;
        prepare_fails(fx, &spec, &rep, -EBADMSG, NULL);
        assert_int_equal(rep.hashed, 0);
        assert_int_equal(rep.mismatch_count, 2);
}

static void test_dir_entry(void **state)
{
        fixture_t *fx = *state;
        vstore_report_t rep;

        host_dir(fx, "pkg");
        host_dir(fx, "pkg/sub");
        host_file(fx, "pkg/__init__.py", "", 0644);
        host_file(fx, "pkg/run", "#!/bin/sh\n", 0755);
        host_file(fx, "pkg/sub/mod.py", "x = 1\n", 0644);
        host_link(fx, "pkg/passwd", "/etc/passwd");
        host_link(fx, "pkg/dangling", "nowhere");
        assert_int_equal(mkfifo(hpath(fx, "pkg/fifo"), 0644), 0);
        /* Reached through a symlink, like a file entry. */
        host_link(fx, "pkglink", "pkg");
        vstore_file_t files[] = {
                {.host_path = hpath(fx, "pkglink"), .is_dir = true, .entry = "t:1: pkg"},
        };
        vstore_spec_t spec = spec_of(fx, "k1", files, 1);
        const char *root = prepare_ok(fx, &spec, &rep);

        assert_int_equal(rep.hashed, 3);
        assert_int_equal(rep.files, 3);
        assert_int_equal(rep.skipped, 1);
        assert_string_equal(link_target(tpath(fx, root, "pkglink")), "pkg");
        assert_mode(tpath(fx, root, "pkg"), S_IFDIR, 0755);
        assert_mode(tpath(fx, root, "pkg/sub"), S_IFDIR, 0755);
        assert_string_equal(read_all(tpath(fx, root, "pkg/__init__.py")), "");
        assert_mode(tpath(fx, root, "pkg/run"), S_IFREG, 0555);
        assert_string_equal(read_all(tpath(fx, root, "pkg/sub/mod.py")), "x = 1\n");
        /* Symlinks inside are copied, not followed. */
        assert_string_equal(link_target(tpath(fx, root, "pkg/passwd")), "/etc/passwd");
        assert_string_equal(link_target(tpath(fx, root, "pkg/dangling")), "nowhere");
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/etc/passwd", root);
        assert_missing(p);
        assert_missing(tpath(fx, root, "pkg/fifo"));

        /* A file added below: noticed, and only it is hashed. */
        host_file(fx, "pkg/sub/new.py", "y = 2\n", 0644);
        root = prepare_ok(fx, &spec, &rep);
        assert_true(rep.built);
        assert_int_equal(rep.hashed, 1);
        assert_int_equal(rep.files, 4);
        assert_string_equal(read_all(tpath(fx, root, "pkg/sub/new.py")), "y = 2\n");

        /* A file removed: gone from the tree. */
        assert_int_equal(unlink(hpath(fx, "pkg/sub/mod.py")), 0);
        root = prepare_ok(fx, &spec, &rep);
        assert_true(rep.built);
        assert_int_equal(rep.hashed, 0);
        assert_int_equal(rep.files, 3);
        assert_missing(tpath(fx, root, "pkg/sub/mod.py"));

        /* A symlink retargeted: noticed. */
        assert_int_equal(unlink(hpath(fx, "pkg/dangling")), 0);
        host_link(fx, "pkg/dangling", "elsewhere");
        root = prepare_ok(fx, &spec, &rep);
        assert_true(rep.built);
        assert_string_equal(link_target(tpath(fx, root, "pkg/dangling")), "elsewhere");

        prepare_ok(fx, &spec, &rep);
        assert_false(rep.built);
}

static void test_odd_names(void **state)
{
        fixture_t *fx = *state;
        vstore_report_t rep;

        host_dir(fx, "d");
        host_file(fx, "d/with space", "1", 0644);
        host_file(fx, "d/new\nline", "2", 0644);
        host_file(fx, "d/back\\slash", "3", 0644);
        host_file(fx, "d/\x01\xff", "4", 0644);
        host_link(fx, "d/l", "tar get\n\\x41");
        vstore_file_t files[] = {
                {.host_path = hpath(fx, "d"), .is_dir = true, .entry = "t:1: d"},
        };
        vstore_spec_t spec = spec_of(fx, "k1", files, 1);
        spec.label = "a label\nwith\\odd bytes";
        const char *root = prepare_ok(fx, &spec, &rep);
        assert_int_equal(rep.hashed, 4);
        assert_string_equal(read_all(tpath(fx, root, "d/new\nline")), "2");
        assert_string_equal(read_all(tpath(fx, root, "d/\x01\xff")), "4");
        assert_string_equal(link_target(tpath(fx, root, "d/l")), "tar get\n\\x41");

        /* The meta read back says the same: nothing to do. */
        prepare_ok(fx, &spec, &rep);
        assert_false(rep.built);
        assert_int_equal(rep.hashed, 0);

        vstore_tree_info_t *infos = NULL;
        size_t count = 0;
        assert_int_equal(vstore_list(fx->s, &infos, &count), 0);
        assert_int_equal(count, 1);
        assert_string_equal(infos[0].label, "a label\nwith\\odd bytes");
        free(infos);
}

static void test_prefix_view(void **state)
{
        fixture_t *fx = *state;
        vstore_report_t rep;

        host_dir(fx, "app");
        host_dir(fx, "app/lib");
        host_file(fx, "app/run.sh", "#!/bin/sh\n", 0755);
        host_file(fx, "app/lib/x.py", "x\n", 0644);
        host_link(fx, "app/lib/y.py", "x.py");
        host_file(fx, "elsewhere", "e\n", 0644);
        snprintf(fx->host_prefix[0], sizeof(fx->host_prefix[0]), "%s", hpath(fx, "app"));
        fx->view_prefix[0] = "/opt/app";
        fx->prefix_count = 1;
        vstore_file_t files[] = {
                {.host_path = hpath(fx, "app"), .is_dir = true, .entry = "t:1: app"},
                {.host_path = hpath(fx, "elsewhere"), .entry = "t:2: elsewhere"},
        };
        vstore_spec_t spec = spec_of(fx, "k1", files, 2);
        const char *root = prepare_ok(fx, &spec, &rep);
        char p[PATH_MAX];

        snprintf(p, sizeof(p), "%s/opt/app/run.sh", root);
        assert_mode(p, S_IFREG, 0555);
        snprintf(p, sizeof(p), "%s/opt/app/lib/x.py", root);
        assert_string_equal(read_all(p), "x\n");
        snprintf(p, sizeof(p), "%s/opt/app/lib/y.py", root);
        assert_string_equal(link_target(p), "x.py");
        assert_string_equal(read_all(p), "x\n");
        snprintf(p, sizeof(p), "%s/opt", root);
        assert_mode(p, S_IFDIR, 0755);
        assert_string_equal(read_all(tpath(fx, root, "elsewhere")), "e\n");
        assert_missing(tpath(fx, root, "app"));
}

static void test_conflicts(void **state)
{
        fixture_t *fx = *state;
        vstore_report_t rep;
        char msg[2048];

        host_dir(fx, "x");
        host_dir(fx, "y");
        host_dir(fx, "x/s");
        host_dir(fx, "y/s");
        host_file(fx, "x/f", "f in x", 0644);
        host_link(fx, "y/f", "f.real");
        host_file(fx, "y/f.real", "f in y", 0644);
        host_file(fx, "x/g", "one", 0644);
        host_file(fx, "y/g", "two", 0644);
        host_file(fx, "x/same", "same", 0644);
        host_file(fx, "y/same", "same", 0644);
        host_link(fx, "x/s/l", "t1");
        host_link(fx, "y/s/l", "t2");
        snprintf(fx->host_prefix[0], sizeof(fx->host_prefix[0]), "%s", hpath(fx, "x"));
        fx->view_prefix[0] = "/app";
        snprintf(fx->host_prefix[1], sizeof(fx->host_prefix[1]), "%s", hpath(fx, "y"));
        fx->view_prefix[1] = "/app";
        fx->prefix_count = 2;

        /* A file and a symlink. */
        vstore_file_t f_vs_link[] = {
                {.host_path = hpath(fx, "x/f"), .entry = "t:1: x/f"},
                {.host_path = hpath(fx, "y/f"), .entry = "t:2: y/f"},
        };
        vstore_spec_t spec = spec_of(fx, "k1", f_vs_link, 2);
        snprintf(msg, sizeof(msg),
                 "view path '/app/f': 't:1: x/f' wants the file '%s', 't:2: y/f' wants a "
                 "symlink to 'f.real'",
                 hpath(fx, "x/f"));
        prepare_fails(fx, &spec, &rep, -EEXIST, msg);

        /* Two contents. */
        vstore_file_t two_contents[] = {
                {.host_path = hpath(fx, "x/g"), .entry = "t:1: x/g"},
                {.host_path = hpath(fx, "y/g"), .entry = "t:2: y/g"},
        };
        spec = spec_of(fx, "k1", two_contents, 2);
        snprintf(msg, sizeof(msg),
                 "view path '/app/g': 't:1: x/g' wants the file '%s', 't:2: y/g' wants the "
                 "file '%s'",
                 hpath(fx, "x/g"), hpath(fx, "y/g"));
        prepare_fails(fx, &spec, &rep, -EEXIST, msg);

        /* A symlink with two targets. */
        vstore_file_t two_targets[] = {
                {.host_path = hpath(fx, "x/s"), .is_dir = true, .entry = "t:1: x/s"},
                {.host_path = hpath(fx, "y/s"), .is_dir = true, .entry = "t:2: y/s"},
        };
        spec = spec_of(fx, "k1", two_targets, 2);
        prepare_fails(fx, &spec, &rep, -EEXIST,
                      "view path '/app/s/l': 't:1: x/s' wants a symlink to 't1', 't:2: y/s' "
                      "wants a symlink to 't2'");

        /* A mount point on a file, and one below a file. */
        const char *mount_on[] = {"/app/g"}, *mount_below[] = {"/app/g/sub"};
        spec = spec_of(fx, "k1", two_contents, 1);
        spec.mount_dirs = mount_on;
        spec.mount_dir_count = 1;
        snprintf(msg, sizeof(msg),
                 "view path '/app/g': 't:1: x/g' wants the file '%s', a mount point wants a "
                 "directory",
                 hpath(fx, "x/g"));
        prepare_fails(fx, &spec, &rep, -EEXIST, msg);
        spec.mount_dirs = mount_below;
        snprintf(msg, sizeof(msg),
                 "view path '/app/g': 't:1: x/g' wants the file '%s', a mount point wants a "
                 "directory (for what lies below it)",
                 hpath(fx, "x/g"));
        prepare_fails(fx, &spec, &rep, -EEXIST, msg);

        /* The same bytes twice, and the same file through two entries: fine. */
        vstore_file_t same[] = {
                {.host_path = hpath(fx, "x/same"), .entry = "t:1: x/same"},
                {.host_path = hpath(fx, "y/same"), .entry = "t:2: y/same"},
                {.host_path = hpath(fx, "y/f"), .entry = "t:3: y/f"},
                {.host_path = hpath(fx, "y/f.real"), .entry = "t:4: y/f.real"},
        };
        spec = spec_of(fx, "k1", same, 4);
        const char *root = prepare_ok(fx, &spec, &rep);
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/app/same", root);
        assert_string_equal(read_all(p), "same");
        assert_int_equal(rep.files, 3);

        /* Two pins for one file. */
        uint8_t pin1[VSTORE_SHA256_SIZE], pin2[VSTORE_SHA256_SIZE];
        sha("one", pin1);
        sha("two", pin2);
        vstore_file_t two_pins[] = {
                {.host_path = hpath(fx, "x/g"), .sha256 = pin1, .entry = "t:1: g"},
                {.host_path = hpath(fx, "x/g"), .sha256 = pin2, .entry = "t:2: g again"},
        };
        spec = spec_of(fx, "k1", two_pins, 2);
        snprintf(msg, sizeof(msg), "'%s': 't:1: g' and 't:2: g again' pin different hashes",
                 hpath(fx, "x/g"));
        prepare_fails(fx, &spec, &rep, -EEXIST, msg);
}

static void test_eloop(void **state)
{
        fixture_t *fx = *state;
        vstore_report_t rep;
        char msg[2048];

        host_link(fx, "loop1", "loop2");
        host_link(fx, "loop2", "loop1");
        vstore_file_t files[] = {{.host_path = hpath(fx, "loop1"), .entry = "t:4: loop"}};
        vstore_spec_t spec = spec_of(fx, "k1", files, 1);
        snprintf(msg, sizeof(msg), "t:4: loop: '%s': Too many levels of symbolic links",
                 hpath(fx, "loop1"));
        prepare_fails(fx, &spec, &rep, -ELOOP, msg);

        /* 40 links are fine, as for the kernel; 41 are not. */
        host_file(fx, "end", "end", 0644);
        for (int i = 0; i < 41; i++) {
                char name[32], target[32];
                snprintf(name, sizeof(name), "c%d", i);
                snprintf(target, sizeof(target), i == 40 ? "end" : "c%d", i + 1);
                host_link(fx, name, target);
        }
        vstore_file_t ok[] = {{.host_path = hpath(fx, "c1"), .entry = "t:5: c1"}};
        spec = spec_of(fx, "k1", ok, 1);
        prepare_ok(fx, &spec, &rep);
        vstore_file_t too_many[] = {{.host_path = hpath(fx, "c0"), .entry = "t:6: c0"}};
        spec = spec_of(fx, "k2", too_many, 1);
        snprintf(msg, sizeof(msg), "t:6: c0: '%s' -> '%s': Too many levels of symbolic links",
                 hpath(fx, "c0"), hpath(fx, "c40"));
        prepare_fails(fx, &spec, &rep, -ELOOP, msg);
}

static void test_missing(void **state)
{
        fixture_t *fx = *state;
        vstore_report_t rep;
        char msg[2048];

        vstore_file_t files[] = {{.host_path = hpath(fx, "nothere"), .entry = "t:3: nothere"}};
        vstore_spec_t spec = spec_of(fx, "k1", files, 1);
        snprintf(msg, sizeof(msg), "t:3: nothere: '%s': No such file or directory",
                 hpath(fx, "nothere"));
        prepare_fails(fx, &spec, &rep, -ENOENT, msg);

        host_link(fx, "dangling", "gone");
        vstore_file_t dangling[] = {{.host_path = hpath(fx, "dangling"), .entry = "t:4: d"}};
        spec = spec_of(fx, "k1", dangling, 1);
        snprintf(msg, sizeof(msg), "t:4: d: '%s' -> '%s': No such file or directory",
                 hpath(fx, "dangling"), hpath(fx, "gone"));
        prepare_fails(fx, &spec, &rep, -ENOENT, msg);

        /* A file that disappears after the tree was built. */
        host_file(fx, "later", "x", 0644);
        vstore_file_t later[] = {{.host_path = hpath(fx, "later"), .entry = "t:5: later"}};
        spec = spec_of(fx, "k1", later, 1);
        const char *root = prepare_ok(fx, &spec, &rep);
        char kept[PATH_MAX];
        snprintf(kept, sizeof(kept), "%s", tpath(fx, root, "later"));
        assert_int_equal(unlink(hpath(fx, "later")), 0);
        snprintf(msg, sizeof(msg), "t:5: later: '%s': No such file or directory",
                 hpath(fx, "later"));
        prepare_fails(fx, &spec, &rep, -ENOENT, msg);
        assert_string_equal(read_all(kept), "x");

        /* A directory entry that disappears. */
        host_dir(fx, "dir");
        vstore_file_t dir[] = {{.host_path = hpath(fx, "dir"), .is_dir = true, .entry = "t:6"}};
        spec = spec_of(fx, "k2", dir, 1);
        prepare_ok(fx, &spec, &rep);
        assert_int_equal(rmdir(hpath(fx, "dir")), 0);
        snprintf(msg, sizeof(msg), "t:6: '%s': No such file or directory", hpath(fx, "dir"));
        prepare_fails(fx, &spec, &rep, -ENOENT, msg);
}

static void test_wrong_types(void **state)
{
        fixture_t *fx = *state;
        vstore_report_t rep;
        char msg[2048];

        host_dir(fx, "d");
        host_file(fx, "f", "f", 0644);
        assert_int_equal(mkfifo(hpath(fx, "fifo"), 0644), 0);
        vstore_file_t dir_as_file[] = {{.host_path = hpath(fx, "d"), .entry = "t:1"}};
        vstore_spec_t spec = spec_of(fx, "k1", dir_as_file, 1);
        snprintf(msg, sizeof(msg), "t:1: '%s': Is a directory", hpath(fx, "d"));
        prepare_fails(fx, &spec, &rep, -EISDIR, msg);

        vstore_file_t fifo[] = {{.host_path = hpath(fx, "fifo"), .entry = "t:2"}};
        spec = spec_of(fx, "k1", fifo, 1);
        snprintf(msg, sizeof(msg), "t:2: '%s': not a regular file", hpath(fx, "fifo"));
        prepare_fails(fx, &spec, &rep, -EINVAL, msg);

        vstore_file_t file_as_dir[] = {
                {.host_path = hpath(fx, "f"), .is_dir = true, .entry = "t:3"}};
        spec = spec_of(fx, "k1", file_as_dir, 1);
        snprintf(msg, sizeof(msg), "t:3: '%s': Not a directory", hpath(fx, "f"));
        prepare_fails(fx, &spec, &rep, -ENOTDIR, msg);

        char through_file[1024];
        snprintf(through_file, sizeof(through_file), "%s/x", hpath(fx, "f"));
        vstore_file_t below_file[] = {{.host_path = through_file, .entry = "t:4"}};
        spec = spec_of(fx, "k1", below_file, 1);
        snprintf(msg, sizeof(msg), "t:4: '%s' -> '%s': Not a directory", through_file,
                 hpath(fx, "f"));
        prepare_fails(fx, &spec, &rep, -ENOTDIR, msg);

        vstore_file_t relative[] = {{.host_path = "relative/path", .entry = "t:5"}};
        spec = spec_of(fx, "k1", relative, 1);
        prepare_fails(fx, &spec, &rep, -EINVAL, "t:5: 'relative/path' is not an absolute path");

        uint8_t pin[VSTORE_SHA256_SIZE] = {0};
        vstore_file_t pinned_dir[] = {
                {.host_path = hpath(fx, "d"), .is_dir = true, .sha256 = pin, .entry = "t:6"}};
        spec = spec_of(fx, "k1", pinned_dir, 1);
        snprintf(msg, sizeof(msg), "t:6: '%s' is a directory entry and cannot pin a hash",
                 hpath(fx, "d"));
        prepare_fails(fx, &spec, &rep, -EINVAL, msg);
}

static int bad_view(const char *host_path, char *buf, size_t size, void *userdata)
{
        (void)host_path;
        (void)userdata;
        snprintf(buf, size, "/a/../b");
        return 0;
}

static void test_bad_input(void **state)
{
        fixture_t *fx = *state;
        vstore_report_t rep;
        char msg[2048];

        host_file(fx, "f", "f", 0644);
        vstore_file_t files[] = {{.host_path = hpath(fx, "f"), .entry = "t:1"}};
        vstore_spec_t spec = spec_of(fx, "../escape", files, 1);
        prepare_fails(fx, &spec, &rep, -EINVAL,
                      "tree key '../escape' is not 1-200 characters of [A-Za-z0-9._-] not "
                      "starting with '.'");
        spec.key = "";
        prepare_fails(fx, &spec, &rep, -EINVAL, NULL);
        spec.key = ".new-abcdef";
        prepare_fails(fx, &spec, &rep, -EINVAL, NULL);

        spec = spec_of(fx, "k1", files, 1);
        spec.view_of = bad_view;
        snprintf(msg, sizeof(msg),
                 "t:1: '%s' is shown at '/a/../b', not a normalised absolute path", hpath(fx, "f"));
        prepare_fails(fx, &spec, &rep, -EINVAL, msg);

        const char *bad_mount[] = {"relative"};
        spec = spec_of(fx, "k1", files, 1);
        spec.mount_dirs = bad_mount;
        spec.mount_dir_count = 1;
        prepare_fails(fx, &spec, &rep, -EINVAL,
                      "mount point 'relative' is not a normalised absolute path");

        char *root = untouched;
        assert_int_equal(vstore_prepare(fx->s, NULL, &rep, &root), -EINVAL);
        assert_ptr_equal(root, untouched);
}

static void test_store_permissions(void **state)
{
        fixture_t *fx = *state;
        char dir[PATH_MAX];
        vstore_t *s = (vstore_t *)0x1;

        snprintf(dir, sizeof(dir), "%s/open", fx->dir);
        assert_int_equal(mkdir(dir, 0700), 0);
        assert_int_equal(chmod(dir, 0777), 0);
        assert_int_equal(vstore_open(dir, &s), -EPERM);
        assert_ptr_equal(s, (vstore_t *)0x1);
        assert_int_equal(chmod(dir, 0770), 0);
        assert_int_equal(vstore_open(dir, &s), -EPERM);
        /* Readable by others is fine; only writable is not. */
        assert_int_equal(chmod(dir, 0755), 0);
        assert_int_equal(vstore_open(dir, &s), 0);
        vstore_free(s);

        /* Made 0700 when missing. */
        struct stat st;
        snprintf(dir, sizeof(dir), "%s/fresh", fx->dir);
        s = NULL;
        assert_int_equal(vstore_open(dir, &s), 0);
        assert_int_equal(stat(dir, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0700);
        vstore_free(s);

        snprintf(dir, sizeof(dir), "%s/no/such/parent", fx->dir);
        assert_int_equal(vstore_open(dir, &s), -ENOENT);
}

static void test_gc(void **state)
{
        fixture_t *fx = *state;
        vstore_report_t rep;
        uint64_t freed = 12345;
        char p[PATH_MAX];

        host_file(fx, "a", "A1", 0644);
        host_file(fx, "b", "BB", 0644);
        host_file(fx, "c", "CCC", 0755);
        vstore_file_t one[] = {
                {.host_path = hpath(fx, "a"), .entry = "t:1: a"},
                {.host_path = hpath(fx, "b"), .entry = "t:2: b"},
        };
        vstore_file_t two[] = {
                {.host_path = hpath(fx, "b"), .entry = "t:1: b"},
                {.host_path = hpath(fx, "c"), .entry = "t:2: c"},
        };
        vstore_spec_t spec1 = spec_of(fx, "k1", one, 2), spec2 = spec_of(fx, "k2", two, 2);
        prepare_ok(fx, &spec1, &rep);
        prepare_ok(fx, &spec2, &rep);
        assert_int_equal(vstore_gc(fx->s, &freed), 0);
        assert_int_equal(freed, 0);

        /* A1 is replaced by A22 in k1: only the A1 object is left unused. */
        host_file(fx, "a", "A22", 0644);
        prepare_ok(fx, &spec1, &rep);
        /* Leftovers of an interrupted build. */
        snprintf(p, sizeof(p), "%s/trees/.new-abcdef", fx->store);
        assert_int_equal(mkdir(p, 0700), 0);
        snprintf(p, sizeof(p), "%s/trees/.new-abcdef/root", fx->store);
        assert_int_equal(mkdir(p, 0755), 0);
        snprintf(p, sizeof(p), "%s/objects/.tmp-1-2", fx->store);
        write_file(p, "partial", 0400);

        assert_int_equal(vstore_gc(fx->s, &freed), 1);
        assert_int_equal(freed, 2);
        assert_missing(object_path(fx, "A1", false));
        assert_mode(object_path(fx, "A22", false), S_IFREG, 0444);
        assert_mode(object_path(fx, "BB", false), S_IFREG, 0444);
        assert_mode(object_path(fx, "CCC", true), S_IFREG, 0555);
        assert_missing(p);
        snprintf(p, sizeof(p), "%s/trees/.new-abcdef", fx->store);
        assert_missing(p);
        assert_int_equal(vstore_gc(fx->s, NULL), 0);

        /* The trees still work, without hashing. */
        prepare_ok(fx, &spec1, &rep);
        assert_false(rep.built);
        prepare_ok(fx, &spec2, &rep);
        assert_false(rep.built);
}

static void test_list(void **state)
{
        fixture_t *fx = *state;
        vstore_report_t rep;
        vstore_tree_info_t *infos = (vstore_tree_info_t *)0x1;
        size_t count = 99;

        assert_int_equal(vstore_list(fx->s, &infos, &count), 0);
        assert_int_equal(count, 0);
        free(infos);

        host_file(fx, "a", "aaaa", 0644);
        host_file(fx, "b", "bb", 0644);
        vstore_file_t files[] = {
                {.host_path = hpath(fx, "a"), .entry = "t:1: a"},
                {.host_path = hpath(fx, "b"), .entry = "t:2: b"},
        };
        vstore_spec_t spec = spec_of(fx, "zz", files, 2);
        spec.label = "/apps/two.manifest";
        prepare_ok(fx, &spec, &rep);
        spec = spec_of(fx, "aa", files, 1);
        spec.label = "/apps/one.manifest";
        prepare_ok(fx, &spec, &rep);

        time_t now = time(NULL);
        assert_int_equal(vstore_list(fx->s, &infos, &count), 0);
        assert_int_equal(count, 2);
        assert_string_equal(infos[0].key, "aa");
        assert_string_equal(infos[0].label, "/apps/one.manifest");
        assert_int_equal(infos[0].files, 1);
        assert_int_equal(infos[0].bytes, 4);
        assert_string_equal(infos[1].key, "zz");
        assert_string_equal(infos[1].label, "/apps/two.manifest");
        assert_int_equal(infos[1].files, 2);
        assert_int_equal(infos[1].bytes, 6);
        assert_true(infos[1].last_used <= now && infos[1].last_used >= now - 60);
        free(infos);
}

static void test_last_used(void **state)
{
        fixture_t *fx = *state;
        vstore_report_t rep;
        struct timespec old[2] = {{.tv_sec = 1000000000}, {.tv_sec = 1000000000}};
        char meta[PATH_MAX];
        struct stat st;

        host_file(fx, "a", "a", 0644);
        vstore_file_t files[] = {{.host_path = hpath(fx, "a"), .entry = "t:1: a"}};
        vstore_spec_t spec = spec_of(fx, "k1", files, 1);
        prepare_ok(fx, &spec, &rep);
        snprintf(meta, sizeof(meta), "%s/trees/k1/meta", fx->store);
        assert_int_equal(utimensat(AT_FDCWD, meta, old, 0), 0);
        prepare_ok(fx, &spec, &rep);
        assert_false(rep.built);
        assert_int_equal(stat(meta, &st), 0);
        assert_true(st.st_mtim.tv_sec >= time(NULL) - 60);
}

static void count_calls(uint64_t done, uint64_t total, void *userdata)
{
        size_t *calls = userdata;

        assert_true(done <= total);
        (*calls)++;
}

/* Progress comes about once a second: hashing a few small files is over long before. */
static void test_progress_quiet(void **state)
{
        fixture_t *fx = *state;
        vstore_report_t rep;
        size_t calls = 0;

        host_dir(fx, "d");
        for (int i = 0; i < 64; i++) {
                char name[32];
                snprintf(name, sizeof(name), "d/f%d", i);
                host_file(fx, name, name, 0644);
        }
        vstore_file_t files[] = {{.host_path = hpath(fx, "d"), .is_dir = true, .entry = "t:1"}};
        vstore_spec_t spec = spec_of(fx, "k1", files, 1);
        spec.progress = count_calls;
        spec.progress_userdata = &calls;
        prepare_ok(fx, &spec, &rep);
        assert_int_equal(rep.hashed, 64);
        assert_int_equal(calls, 0);
}

typedef struct racer {
        fixture_t *fx;
        const vstore_spec_t *spec;
        vstore_report_t report;
        int r;
} racer_t;

static void *race(void *userdata)
{
        racer_t *racer = userdata;
        char *root = NULL;

        racer->r = vstore_prepare(racer->fx->s, racer->spec, &racer->report, &root);
        free(root);
        return NULL;
}

/* Two preparations of one key at once: one builds, the other waits and reuses its tree. */
static void test_concurrent_prepare(void **state)
{
        fixture_t *fx = *state;
        pthread_t threads[2];
        racer_t racers[2];

        host_dir(fx, "d");
        for (int i = 0; i < 200; i++) {
                char name[32];
                snprintf(name, sizeof(name), "d/f%d", i);
                host_file(fx, name, name, 0644);
        }
        vstore_file_t files[] = {{.host_path = hpath(fx, "d"), .is_dir = true, .entry = "t:1"}};
        vstore_spec_t spec = spec_of(fx, "k1", files, 1);
        for (int i = 0; i < 2; i++) {
                racers[i] = (racer_t){.fx = fx, .spec = &spec};
                assert_int_equal(pthread_create(&threads[i], NULL, race, &racers[i]), 0);
        }
        for (int i = 0; i < 2; i++)
                pthread_join(threads[i], NULL);
        assert_int_equal(racers[0].r, 0);
        assert_int_equal(racers[1].r, 0);
        assert_int_equal(racers[0].report.built + racers[1].report.built, 1);
        assert_int_equal(racers[0].report.hashed + racers[1].report.hashed, 200);
        assert_int_equal(racers[0].report.files, 200);
        assert_int_equal(racers[1].report.files, 200);
}

static void test_corrupt_meta(void **state)
{
        fixture_t *fx = *state;
        vstore_report_t rep;
        char meta[PATH_MAX];

        host_file(fx, "a", "a", 0644);
        vstore_file_t files[] = {{.host_path = hpath(fx, "a"), .entry = "t:1: a"}};
        vstore_spec_t spec = spec_of(fx, "k1", files, 1);
        prepare_ok(fx, &spec, &rep);
        snprintf(meta, sizeof(meta), "%s/trees/k1/meta", fx->store);
        assert_int_equal(truncate(meta, 40), 0);
        /* Not trusted: built again, from the objects that are there. */
        const char *root = prepare_ok(fx, &spec, &rep);
        assert_true(rep.built);
        assert_int_equal(rep.hashed, 1);
        assert_string_equal(read_all(tpath(fx, root, "a")), "a");
        prepare_ok(fx, &spec, &rep);
        assert_false(rep.built);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sha256_hex),
                cmocka_unit_test_setup_teardown(test_build, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reuse_without_hashing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_edited_unpinned, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pinned_mismatch, setup, teardown),
                cmocka_unit_test_setup_teardown(test_warn_only, setup, teardown),
                cmocka_unit_test_setup_teardown(test_dir_entry, setup, teardown),
                cmocka_unit_test_setup_teardown(test_odd_names, setup, teardown),
                cmocka_unit_test_setup_teardown(test_prefix_view, setup, teardown),
                cmocka_unit_test_setup_teardown(test_conflicts, setup, teardown),
                cmocka_unit_test_setup_teardown(test_eloop, setup, teardown),
                cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_wrong_types, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
                cmocka_unit_test_setup_teardown(test_store_permissions, setup, teardown),
                cmocka_unit_test_setup_teardown(test_gc, setup, teardown),
                cmocka_unit_test_setup_teardown(test_list, setup, teardown),
                cmocka_unit_test_setup_teardown(test_last_used, setup, teardown),
                cmocka_unit_test_setup_teardown(test_corrupt_meta, setup, teardown),
                cmocka_unit_test_setup_teardown(test_progress_quiet, setup, teardown),
                cmocka_unit_test_setup_teardown(test_concurrent_prepare, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
