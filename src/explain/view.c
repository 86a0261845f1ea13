/* What a path is, as one process of the sandbox sees it and as the host has it: the verdict
 * behind each report line. The view is looked at through /proc/TID/root with openat2's
 * RESOLVE_IN_ROOT, so that the kernel resolves symlinks and ".." as it does for the target,
 * inside the target's root; only O_PATH fds are opened there, except to read the first bytes of
 * a file about to be executed (its "#!" line or ELF program headers), to name an interpreter
 * that the view lacks. The host is looked at with stat(2), in lamina's own mount namespace. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "explain/explain-internal.h"

/* Linux follows at most 40 symlinks in one lookup; a chain in the view longer than this is
 * not worth naming by hand. */
#define SYMLINK_HOPS 8

/* A "#!" line may name a script, whose own "#!" names another: Linux stops at 4 levels. */
#define INTERPRETER_LEVELS 4

/* The bytes of a file that Linux reads to find a "#!" line (BINPRM_BUF_SIZE). */
#define SHEBANG_SIZE 256

/* Appends the components of s to the normalised absolute path out[0..*n): "." and empty
 * components vanish, ".." takes the last one away (and stays at "/"). Lexical, so a ".."
 * after a symlink can differ from what the kernel does; it only names paths in messages and
 * on the host, never in the view. */
static int add_components(char *out, size_t *n, size_t size, const char *s)
{
        while (*s) {
                const char *end = strchrnul(s, '/');
                size_t len = (size_t)(end - s);

                if (len == 0 || (len == 1 && s[0] == '.')) {
                        /* nothing */
                } else if (len == 2 && s[0] == '.' && s[1] == '.') {
                        while (*n > 0 && out[*n - 1] != '/')
                                (*n)--;
                        if (*n > 0)
                                (*n)--;
                } else {
                        if (*n + 1 + len + 1 > size)
                                return -ENAMETOOLONG;
                        out[(*n)++] = '/';
                        memcpy(out + *n, s, len);
                        *n += len;
                }
                s = *end ? end + 1 : end;
        }
        return 0;
}

/* out = base joined with path (path alone when absolute), normalised. base is absolute. */
static int normalize(const char *base, const char *path, char *out, size_t size)
{
        size_t n = 0;
        int r = 0;

        if (path[0] != '/')
                r = add_components(out, &n, size, base);
        if (r >= 0)
                r = add_components(out, &n, size, path);
        if (r < 0)
                return r;
        if (n == 0)
                out[n++] = '/';
        out[n] = '\0';
        return 0;
}

static void dirname_of(const char *path, char *out, size_t size)
{
        const char *slash = strrchr(path, '/');
        size_t n = slash && slash != path ? (size_t)(slash - path) : 1;

        snprintf(out, size, "%.*s", (int)n, path);
}

static int view_open(int rootfd, const char *path, int flags)
{
        struct open_how how = {
                .flags = (uint64_t)(flags | O_CLOEXEC),
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        long fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));

        return fd < 0 ? -errno : (int)fd;
}

static int read_link(int dirfd, const char *name, char *buf, size_t size)
{
        ssize_t n = readlinkat(dirfd, name, buf, size);

        if (n < 0)
                return -errno;
        if ((size_t)n >= size)
                return -ENAMETOOLONG;
        buf[n] = '\0';
        return 0;
}

/* Where a magic link of the target (/proc/TID/cwd, /proc/TID/fd/N) points, as a path in its
 * view. lamina reads the link from outside, and the kernel writes it from the target's mount
 * namespace root, which is the view after pivot_root but the host's root after a chroot; so
 * the path of the target's root, read the same way, is taken off the front. */
static int link_in_view(int procfd, const char *name, char *out, size_t size)
{
        char root[PATH_MAX], link[PATH_MAX];
        static const char deleted[] = " (deleted)";
        size_t n, rn;
        int r;

        r = read_link(procfd, name, link, sizeof(link));
        if (r >= 0)
                r = read_link(procfd, "root", root, sizeof(root));
        if (r < 0)
                return r;
        if (link[0] != '/')
                return -ENOTDIR; /* a socket, pipe or anonymous inode */
        n = strlen(link);
        if (n >= sizeof(deleted) && STREQ(link + n - (sizeof(deleted) - 1), deleted))
                return -ENOENT;
        if (STREQ(root, "/"))
                rn = 0;
        else if (path_under(link, root))
                rn = strlen(root);
        else
                return -EXDEV;
        if (link[rn] == '\0')
                return snprintf(out, size, "/") < (int)size ? 0 : -ENAMETOOLONG;
        return snprintf(out, size, "%s", link + rn) < (int)size ? 0 : -ENAMETOOLONG;
}

/* Names that are code to a program even without an execute bit: Python's sources, bytecode
 * and .pth files (site.py runs their import lines), and shared libraries. */
static bool code_name(const char *path)
{
        static const char *const suffixes[] = {".py", ".pyc", ".pth", ".so"};
        const char *name = strrchr(path, '/');
        size_t n;

        name = name ? name + 1 : path;
        n = strlen(name);
        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                size_t s = strlen(suffixes[i]);
                if (n > s && STREQ(name + n - s, suffixes[i]))
                        return true;
        }
        return strstr(name, ".so.") != NULL;
}

/* Opens for reading the very file that pathfd (O_PATH) is, only if it is a regular file:
 * through /proc/self/fd, so that a name swapped meanwhile for a device or FIFO is never
 * opened. Returns the fd or -errno. */
static int reopen_regular(int pathfd)
{
        char name[32];
        struct stat st;
        int fd;

        if (fstat(pathfd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        snprintf(name, sizeof(name), "/proc/self/fd/%d", pathfd);
        fd = open(name, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

/* Whether a host file starts as a program does: an ELF header or a "#!" line. An execute bit
 * alone says little (data files often carry one); it decides only when the file cannot be
 * read. */
static bool code_content(const char *path, const struct stat *st)
{
        _cleanup_close_ int pathfd = open(path, O_PATH | O_CLOEXEC), fd = -1;
        char head[SELFMAG];
        ssize_t n;

        fd = pathfd >= 0 ? reopen_regular(pathfd) : -EBADF;
        if (fd < 0)
                return (st->st_mode & 0111) != 0;
        n = pread(fd, head, sizeof(head), 0);
        return (n >= 2 && head[0] == '#' && head[1] == '!') ||
               (n == SELFMAG && memcmp(head, ELFMAG, SELFMAG) == 0);
}

/* Whether the manifest should list a missing host file as trusted (code: verified, and able
 * to run) or as allowed (data): programs, Python and shared libraries, and the directories
 * that hold the system's code. */
static bool looks_like_code(const char *path, const struct stat *st)
{
        static const char *const code_dirs[] = {"/usr",    "/lib", "/lib32", "/lib64",
                                                "/libx32", "/bin", "/sbin",  "/opt"};

        if (S_ISDIR(st->st_mode)) {
                for (size_t i = 0; i < ELEMENTSOF(code_dirs); i++)
                        if (path_under(path, code_dirs[i]))
                                return true;
                return false;
        }
        if (!S_ISREG(st->st_mode))
                return false;
        return code_name(path) || code_content(path, st);
}

/* The absolute interpreter that the file behind pathfd (O_PATH) asks for: its "#!" line, or
 * its ELF PT_INTERP. Returns 1 with *out filled, 0 when it names none (or a relative one, or
 * cannot be read). */
static int interpreter_of(int pathfd, char *out, size_t size)
{
        _cleanup_close_ int fd = reopen_regular(pathfd);
        char head[SHEBANG_SIZE + 1];
        ElfW(Ehdr) eh;
        ElfW(Phdr) ph;
        ssize_t n;

        if (fd < 0)
                return 0;
        n = pread(fd, head, SHEBANG_SIZE, 0);
        if (n < 2)
                return 0;
        head[n] = '\0';
        if (head[0] == '#' && head[1] == '!') {
                char *s = head + 2, *end;
                s += strspn(s, " \t");
                end = s + strcspn(s, " \t\n");
                if (*s != '/' || (size_t)(end - s) >= size)
                        return 0;
                memcpy(out, s, (size_t)(end - s));
                out[end - s] = '\0';
                return 1;
        }
        if ((size_t)n < sizeof(eh) || memcmp(head, ELFMAG, SELFMAG) != 0)
                return 0;
        memcpy(&eh, head, sizeof(eh));
        if (eh.e_ident[EI_CLASS] != (sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32) ||
            eh.e_phentsize != sizeof(ph) || eh.e_phnum > 4096)
                return 0;
        for (unsigned i = 0; i < eh.e_phnum; i++) {
                if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) !=
                    (ssize_t)sizeof(ph))
                        return 0;
                if (ph.p_type != PT_INTERP)
                        continue;
                /* as Linux wants it: at least one byte and a NUL, within PATH_MAX */
                if (ph.p_filesz < 2 || ph.p_filesz > size ||
                    pread(fd, out, ph.p_filesz, (off_t)ph.p_offset) != (ssize_t)ph.p_filesz ||
                    out[ph.p_filesz - 1] != '\0' || out[0] != '/')
                        return 0;
                return 1;
        }
        return 0;
}

/* fd (O_PATH) is the file an exec would run. The view refuses it when it sits on a noexec
 * mount or has no execute bit; and an exec of a file that the view has can still fail with
 * ENOENT when its interpreter ("#!" or the ELF loader) is only on the host. */
static void check_exec(int rootfd, int fd, verdict_t *v)
{
        _cleanup_close_ int ifd = -1;
        char interp[PATH_MAX];
        struct statvfs sv;
        struct stat st;

        v->kind = KIND_IN_VIEW;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                return; /* a directory or device: the kernel's EACCES says enough */
        if (fstatvfs(fd, &sv) == 0 && (sv.f_flag & ST_NOEXEC)) {
                v->kind = path_under(v->target, "/tmp") || path_under(v->target, "/dev/shm")
                                  ? KIND_NOEXEC_RUNTIME
                                  : KIND_NOEXEC;
                return;
        }
        if ((st.st_mode & 0111) == 0) {
                v->kind = KIND_NOT_EXECUTABLE;
                v->mode = st.st_mode & 07777;
                return;
        }
        for (int level = 0; level < INTERPRETER_LEVELS; level++) {
                if (interpreter_of(level == 0 ? fd : ifd, interp, sizeof(interp)) <= 0)
                        return;
                if (ifd >= 0)
                        close(ifd);
                ifd = view_open(rootfd, interp, O_PATH);
                if (ifd >= 0)
                        continue;
                if ((ifd == -ENOENT || ifd == -ENOTDIR) && stat(interp, &st) == 0) {
                        v->kind = KIND_INTERP_MISSING;
                        snprintf(v->subject, sizeof(v->subject), "%s", interp);
                }
                return;
        }
}

/* The path is missing from the view. If its last component is a symlink there, follow the
 * chain by hand to the first path that is missing: that is what the manifest lacks. */
static void chase_symlinks(int rootfd, verdict_t *v)
{
        char cur[PATH_MAX], link[PATH_MAX], dir[PATH_MAX];
        struct stat st;

        snprintf(cur, sizeof(cur), "%s", v->target);
        for (int hop = 0; hop < SYMLINK_HOPS; hop++) {
                _cleanup_close_ int fd = view_open(rootfd, cur, O_PATH | O_NOFOLLOW);

                if (fd < 0 || fstat(fd, &st) < 0 || !S_ISLNK(st.st_mode) ||
                    read_link(fd, "", link, sizeof(link)) < 0)
                        break;
                dirname_of(cur, dir, sizeof(dir));
                if (normalize(dir, link, cur, sizeof(cur)) < 0)
                        break;
                v->via_symlink = true;
        }
        snprintf(v->subject, sizeof(v->subject), "%s", cur);
}

int view_interpreters(int procfd, const char *path, char (*out)[PATH_MAX], int max)
{
        _cleanup_close_ int rootfd = openat(procfd, "root", O_PATH | O_DIRECTORY | O_CLOEXEC);
        char named[PATH_MAX];
        int count = 0, fd;

        if (rootfd < 0)
                return 0;
        fd = view_open(rootfd, path, O_PATH);
        while (fd >= 0 && count < max && interpreter_of(fd, named, sizeof(named)) > 0 &&
               normalize("/", named, out[count], PATH_MAX) == 0) {
                close(fd);
                fd = view_open(rootfd, out[count++], O_PATH);
        }
        if (fd >= 0)
                close(fd);
        return count;
}

/* A file that an open may create: it will be made if its directory in the view is writable. */
static bool parent_writable(int rootfd, const char *path)
{
        char dir[PATH_MAX];
        _cleanup_close_ int fd = -1;
        struct statvfs sv;

        dirname_of(path, dir, sizeof(dir));
        fd = view_open(rootfd, dir, O_PATH | O_DIRECTORY);
        return fd >= 0 && fstatvfs(fd, &sv) == 0 && !(sv.f_flag & ST_RDONLY);
}

static void unknown(verdict_t *v, int r)
{
        v->kind = r == -EXDEV ? KIND_OUTSIDE : KIND_UNKNOWN;
        v->error = -r;
}

void view_inspect(int procfd, const request_t *q, verdict_t *v)
{
        _cleanup_close_ int rootfd = -1, fd = -1;
        char base[PATH_MAX], joined[PATH_MAX], name[32];
        struct stat st;
        int r;

        *v = (verdict_t){.kind = KIND_UNKNOWN};
        rootfd = openat(procfd, "root", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0) {
                unknown(v, -errno);
                return;
        }

        if (q->fd_only) {
                snprintf(name, sizeof(name), "fd/%d", q->dirfd);
                r = link_in_view(procfd, name, v->target, sizeof(v->target));
                if (r < 0) {
                        unknown(v, r);
                        return;
                }
                fd = openat(procfd, name, O_PATH | O_CLOEXEC);
                if (fd < 0) {
                        unknown(v, -errno);
                        return;
                }
                check_exec(rootfd, fd, v);
                return;
        }

        if (q->path[0] == '/' && !q->in_root) {
                r = snprintf(joined, sizeof(joined), "%s", q->path);
        } else {
                if (q->dirfd == AT_FDCWD)
                        snprintf(name, sizeof(name), "cwd");
                else
                        snprintf(name, sizeof(name), "fd/%d", q->dirfd);
                r = link_in_view(procfd, name, base, sizeof(base));
                if (r < 0) {
                        unknown(v, r);
                        return;
                }
                r = snprintf(joined, sizeof(joined), "%s/%s", STREQ(base, "/") ? "" : base,
                             q->path);
        }
        if (r < 0 || (size_t)r >= sizeof(joined)) {
                unknown(v, -ENAMETOOLONG);
                return;
        }
        r = normalize("/", joined, v->target, sizeof(v->target));
        if (r < 0) {
                unknown(v, r);
                return;
        }
        if (path_under(v->target, "/proc")) {
                v->kind = KIND_KERNEL;
                return;
        }

        /* the kernel's own resolution, not the normalised path: ".." after a symlink */
        fd = view_open(rootfd, joined, O_PATH | (q->follow ? 0 : O_NOFOLLOW));
        if (fd >= 0) {
                struct statvfs sv;

                if (q->verb == VERB_EXEC)
                        check_exec(rootfd, fd, v);
                else
                        v->kind = KIND_IN_VIEW;
                if (v->kind == KIND_IN_VIEW) {
                        v->is_dir = fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
                        v->read_only = fstatvfs(fd, &sv) == 0 && (sv.f_flag & ST_RDONLY);
                }
                return;
        }
        if (fd != -ENOENT && fd != -ENOTDIR) {
                unknown(v, fd);
                return;
        }
        if (path_under(v->target, "/dev")) {
                v->kind = KIND_KERNEL;
                return;
        }
        if (q->create && parent_writable(rootfd, v->target)) {
                v->kind = KIND_CREATED;
                return;
        }
        if (q->follow)
                chase_symlinks(rootfd, v);
        else
                snprintf(v->subject, sizeof(v->subject), "%s", v->target);
        if (path_under(v->subject, "/proc") || path_under(v->subject, "/dev")) {
                v->kind = KIND_KERNEL;
                return;
        }
        if (fstatat(AT_FDCWD, v->subject, &st, q->follow ? 0 : AT_SYMLINK_NOFOLLOW) < 0) {
                v->kind = KIND_NEITHER;
                return;
        }
        v->kind = KIND_MISSING;
        v->is_dir = S_ISDIR(st.st_mode);
        v->code = looks_like_code(v->subject, &st);
}
