/* Unit tests of the explain listener (src/explain): the real kernel, no mocks. Each test makes a
 * temporary directory on the host, H, holding files that only the host has, and a child that
 * builds a tiny view in a private mount namespace (and a user namespace, when the tests do not
 * run as root): a fresh tmpfs at H/view with a few files, a noexec tmpfs at /tmp and a
 * read-only noexec /data in it, all made read-only, then chroot into it. The view has an empty
 * H directory in its /tmp, so that files can be created there, but none of H's files. The
 * child sets no_new_privs, loads explain's filter, hands the listener to the test over a
 * socketpair, waits for a go byte, and makes its calls; the test serves them with
 * explain_start() writing to a pipe, and compares the lines exactly. The child exits with 0,
 * or with the number of the first call whose result was not what the kernel gives without a
 * listener: the listener must answer CONTINUE, whatever it finds. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "explain/explain.h"

static const explain_filter_options_t all_files = {.files = true};
#include "shared/macro.h"

#define TIMEOUT_MS 20000

/* What the host has and the view does not: name, mode (0: a directory), what it holds. */
static const struct {
        const char *name;
        mode_t mode;
        const char *content;
} host_files[] = {
        {"f-open", 0644, "x"},
        {"f-openat", 0644, "x"},
        {"f-openat2", 0644, "x"},
        {"dir", 0, NULL},
        {"dir/f-creat", 0644, "x"},
        {"f-execve", 0755, "x"},
        {"f-execveat", 0755, "x"},
        {"f-stat", 0644, "x"},
        {"f-lstat", 0644, "x"},
        {"f-newfstatat", 0644, "x"},
        {"f-statx", 0644, "x"},
        {"f-access", 0644, "x"},
        {"f-faccessat", 0644, "x"},
        {"f-faccessat2", 0644, "x"},
        {"f-readlink", 0644, "x"},
        {"f-readlinkat", 0644, "x"},
        {"mod.py", 0644, "import os\n"},
        {"libz.so.1", 0644, "x"},
        {"tool", 0755, "#!/bin/sh\n"},
        {"plugin", 0644, "\177ELF"},
        {"data-x", 0755, "x"}, /* an execute bit on data: still data */
        {"q\"uo\\te\nd", 0644, "x"},
        {"bad\377name", 0644, "x"},
        {"f-rel", 0644, "x"},
        {"f-at", 0644, "x"},
        {"interp", 0755, "x"},
        {"ld.so", 0755, "x"},
        {"python3.11", 0755, "x"},
        {"f-cross", 0644, "x"},
        {"f-created", 0644, "x"},
        {"f-thread", 0644, "x"},
        {"f-child", 0644, "x"},
        {"f-late", 0644, "x"},
};

typedef struct fixture {
        char host[64]; /* H: /tmp/explain-test-XXXXXX */
        char view[96]; /* H/view, the view's mount point */
        char chain[512];
} fixture_t;

/* A scenario runs in the child, inside the view, after the go byte. It returns 0, or the
 * number of the call that went wrong. sock is the child's end of the socketpair. */
typedef int (*scenario_fn)(const fixture_t *f, int sock);

/* --- helpers for both sides -------------------------------------------------------------- */

static int send_fds(int sock, const int *fds, size_t count)
{
        char byte = 'F';
        struct iovec iov = {&byte, 1};
        union {
                char buf[CMSG_SPACE(sizeof(int) * 4)];
                struct cmsghdr align;
        } u;
        struct msghdr msg = {.msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = u.buf,
                             .msg_controllen = CMSG_SPACE(sizeof(int) * count)};
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

        memset(u.buf, 0, sizeof(u.buf));
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * count);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * count);
        return sendmsg(sock, &msg, 0) == 1 ? 0 : -errno;
}

static int recv_fds(int sock, int *fds, size_t count)
{
        char byte;
        struct iovec iov = {&byte, 1};
        union {
                char buf[CMSG_SPACE(sizeof(int) * 4)];
                struct cmsghdr align;
        } u;
        struct msghdr msg = {.msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = u.buf,
                             .msg_controllen = CMSG_SPACE(sizeof(int) * count)};
        struct pollfd p = {.fd = sock, .events = POLLIN};
        struct cmsghdr *c;

        if (poll(&p, 1, TIMEOUT_MS) != 1)
                return -ETIMEDOUT;
        if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1)
                return -EIO;
        c = CMSG_FIRSTHDR(&msg);
        if (!c || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int) * count))
                return -EIO;
        memcpy(fds, CMSG_DATA(c), sizeof(int) * count);
        return 0;
}

static int write_file(const char *path, const void *data, size_t size, mode_t mode)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

        if (fd < 0)
                return -errno;
        if (write(fd, data, size) != (ssize_t)size || fchmod(fd, mode) < 0) {
                close(fd);
                return -EIO;
        }
        close(fd);
        return 0;
}

static int write_string(const char *path, const char *s)
{
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        ssize_t n;

        if (fd < 0)
                return -errno;
        n = write(fd, s, strlen(s));
        close(fd);
        return n == (ssize_t)strlen(s) ? 0 : -EIO;
}

/* Our own argv as explain shows a process: arguments joined by spaces, each cut at 40 bytes. */
static void own_chain(char *out, size_t size)
{
        char cmdline[4096];
        int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
        ssize_t n = read(fd, cmdline, sizeof(cmdline) - 1);
        size_t used = 0;

        close(fd);
        out[0] = '\0';
        for (ssize_t i = 0; i < n;) {
                const char *arg = cmdline + i;
                size_t len = strlen(arg);
                used += (size_t)snprintf(out + used, size - used, "%s%.*s%s", i ? " " : "",
                                         (int)MIN(len, 40), arg, len > 40 ? "..." : "");
                i += (ssize_t)len + 1;
        }
}

/* --- the child's side --------------------------------------------------------------------- */

/* A 64-bit ELF executable that asks for interp as its loader, and has nothing else. */
static int write_elf(const char *path, const char *interp)
{
        struct elf_file {
                Elf64_Ehdr eh;
                Elf64_Phdr ph;
                char interp[256];
        } elf = {0};

        memcpy(elf.eh.e_ident, ELFMAG, SELFMAG);
        elf.eh.e_ident[EI_CLASS] = ELFCLASS64;
        elf.eh.e_ident[EI_DATA] = ELFDATA2LSB;
        elf.eh.e_ident[EI_VERSION] = EV_CURRENT;
        elf.eh.e_type = ET_EXEC;
#if defined(__x86_64__)
        elf.eh.e_machine = EM_X86_64;
#elif defined(__aarch64__)
        elf.eh.e_machine = EM_AARCH64;
#else
        return -EOPNOTSUPP;
#endif
        elf.eh.e_version = EV_CURRENT;
        elf.eh.e_phoff = offsetof(struct elf_file, ph);
        elf.eh.e_ehsize = sizeof(elf.eh);
        elf.eh.e_phentsize = sizeof(elf.ph);
        elf.eh.e_phnum = 1;
        elf.ph.p_type = PT_INTERP;
        elf.ph.p_offset = offsetof(struct elf_file, interp);
        elf.ph.p_filesz = strlen(interp) + 1;
        elf.ph.p_flags = PF_R;
        snprintf(elf.interp, sizeof(elf.interp), "%s", interp);
        return write_file(path, &elf, sizeof(elf), 0755);
}

static int mount_tmpfs(const char *path, unsigned long flags)
{
        return mount("tmpfs", path, "tmpfs", flags | MS_NOSUID | MS_NODEV, "mode=0755") < 0 ? -errno
                                                                                            : 0;
}

/* The child's view, as described at the top. Returns 0 or the step that failed (100+). */
static int enter_view(const fixture_t *f)
{
        char path[256], interp[256];

        if (geteuid() != 0) {
                char map[64];
                uid_t uid = getuid();
                gid_t gid = getgid();

                if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
                        return 100;
                snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
                if (write_string("/proc/self/setgroups", "deny") < 0 ||
                    write_string("/proc/self/gid_map", map) < 0)
                        return 101;
                snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
                if (write_string("/proc/self/uid_map", map) < 0)
                        return 102;
        } else if (unshare(CLONE_NEWNS) < 0) {
                return 103;
        }
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 || mount_tmpfs(f->view, 0) < 0)
                return 104;

        snprintf(path, sizeof(path), "%s/data.txt", f->view);
        if (write_file(path, "data\n", 5, 0644) < 0)
                return 105;
        snprintf(path, sizeof(path), "%s/plain", f->view);
        if (write_file(path, "", 0, 0644) < 0)
                return 106;
        snprintf(path, sizeof(path), "%s/script.sh", f->view);
        snprintf(interp, sizeof(interp), "#!%s/interp\n", f->host);
        if (write_file(path, interp, strlen(interp), 0755) < 0)
                return 107;
        snprintf(path, sizeof(path), "%s/elf", f->view);
        snprintf(interp, sizeof(interp), "%s/ld.so", f->host);
        if (write_elf(path, interp) < 0)
                return 108;
        snprintf(path, sizeof(path), "%s/python3", f->view);
        snprintf(interp, sizeof(interp), "%s/python3.11", f->host);
        if (symlink(interp, path) < 0)
                return 109;
        snprintf(path, sizeof(path), "%s/sub", f->view);
        if (mkdir(path, 0755) < 0)
                return 110;
        snprintf(path, sizeof(path), "%s/data", f->view);
        if (mkdir(path, 0755) < 0 || mount_tmpfs(path, MS_NOEXEC) < 0)
                return 111;
        snprintf(path, sizeof(path), "%s/data/tool.sh", f->view);
        if (write_file(path, "", 0, 0755) < 0)
                return 112;
        snprintf(path, sizeof(path), "%s/data", f->view);
        if (mount(NULL, path, NULL, MS_REMOUNT | MS_RDONLY | MS_NOEXEC | MS_NOSUID | MS_NODEV,
                  "mode=0755") < 0)
                return 113;
        snprintf(path, sizeof(path), "%s/tmp", f->view);
        if (mkdir(path, 01777) < 0 || mount_tmpfs(path, MS_NOEXEC) < 0)
                return 114;
        if (mount(NULL, f->view, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, "mode=0755") <
            0)
                return 115;
        if (chroot(f->view) < 0 || chdir("/") < 0)
                return 116;
        /* run-time files: a "program" in /tmp, and H, empty, to create files in */
        if (write_file("/tmp/run", "", 0, 0755) < 0 || mkdir(f->host, 0755) < 0)
                return 117;
        return 0;
}

static int child_main(const fixture_t *f, int sock, scenario_fn scenario)
{
        char go;
        int r, fd;

        r = enter_view(f);
        if (r != 0)
                return r;
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return 120;
        r = explain_filter_load(&all_files, &fd);
        if (r < 0)
                return 121;
        /* nothing that opens, stats or execs until the test serves the listener */
        if (send_fds(sock, &fd, 1) < 0)
                return 122;
        close(fd);
        if (read(sock, &go, 1) != 1)
                return 123;
        return scenario(f, sock);
}

/* --- the test's side ---------------------------------------------------------------------- */

static int setup(void **state)
{
        fixture_t *f = calloc(1, sizeof(*f));
        char path[256];

        assert_non_null(f);
        snprintf(f->host, sizeof(f->host), "/tmp/explain-test-XXXXXX");
        assert_non_null(mkdtemp(f->host));
        assert_int_equal(chmod(f->host, 0755), 0);
        snprintf(f->view, sizeof(f->view), "%s/view", f->host);
        assert_int_equal(mkdir(f->view, 0755), 0);
        for (size_t i = 0; i < sizeof(host_files) / sizeof(host_files[0]); i++) {
                snprintf(path, sizeof(path), "%s/%s", f->host, host_files[i].name);
                if (host_files[i].mode == 0)
                        assert_int_equal(mkdir(path, 0755), 0);
                else
                        assert_int_equal(write_file(path, host_files[i].content,
                                                    strlen(host_files[i].content),
                                                    host_files[i].mode),
                                         0);
        }
        own_chain(f->chain, sizeof(f->chain));
        *state = f;
        return 0;
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
        (void)st;
        (void)type;
        (void)ftw;
        return remove(path) < 0 ? -1 : 0;
}

/* The process group of the test's child, which teardown ends whatever happened. */
static pid_t g_child_group;

/* Forks a child of the test in a process group of its own, which dies with the test: a test
 * that fails half-way must not leave a process waiting for a listener that is gone, or for a
 * byte that never comes. */
static pid_t fork_child(void)
{
        pid_t pid = fork();

        if (pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                setpgid(0, 0);
        } else if (pid > 0) {
                setpgid(pid, pid);
                g_child_group = pid;
        }
        return pid;
}

static int teardown(void **state)
{
        fixture_t *f = *state;

        if (g_child_group > 0) {
                kill(-g_child_group, SIGKILL);
                g_child_group = 0;
        }
        /* the test's children, and their children (the test is their subreaper) */
        while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
                ;
        nftw(f->host, remove_one, 16, FTW_DEPTH | FTW_PHYS);
        free(f);
        return 0;
}

static int count_fds(void)
{
        int n = 0;

        for (int fd = 0; fd < 1024; fd++)
                if (fcntl(fd, F_GETFD) >= 0)
                        n++;
        return n;
}

/* Waits for pid, at most TIMEOUT_MS; kills it when it takes longer. Returns its status. */
static int wait_child(pid_t pid)
{
        int status = 0;

        for (int waited = 0; waited < TIMEOUT_MS; waited += 10) {
                pid_t r = waitpid(pid, &status, WNOHANG);
                if (r == pid)
                        return status;
                usleep(10000);
        }
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        fail_msg("pid %d did not end", (int)pid);
        return status;
}

static char *read_all(int fd)
{
        size_t size = 0, capacity = 4096;
        char *s = malloc(capacity);
        ssize_t n;

        assert_non_null(s);
        while ((n = read(fd, s + size, capacity - size - 1)) > 0) {
                size += (size_t)n;
                if (capacity - size < 2) {
                        capacity *= 2;
                        s = realloc(s, capacity);
                        assert_non_null(s);
                }
        }
        s[size] = '\0';
        return s;
}

/* Replaces {H}, {C}, {P} and {G} in template. */
static char *expand(const fixture_t *f, const char *template, pid_t p, pid_t g)
{
        size_t capacity = strlen(template) * 4 + 4096, size = 0;
        char *out = malloc(capacity);

        assert_non_null(out);
        for (const char *s = template; *s;) {
                char num[16];
                const char *with = NULL;
                if (s[0] == '{' && s[1] && s[2] == '}') {
                        switch (s[1]) {
                        case 'H':
                                with = f->host;
                                break;
                        case 'C':
                                with = f->chain;
                                break;
                        case 'P':
                        case 'G':
                                snprintf(num, sizeof(num), "%d", (int)(s[1] == 'P' ? p : g));
                                with = num;
                                break;
                        }
                }
                if (with) {
                        size_t n = strlen(with);
                        if (size + n + 1 > capacity) {
                                capacity = (size + n + 1) * 2;
                                out = realloc(out, capacity);
                                assert_non_null(out);
                        }
                        memcpy(out + size, with, n);
                        size += n;
                        s += 3;
                        continue;
                }
                if (size + 2 > capacity) {
                        capacity *= 2;
                        out = realloc(out, capacity);
                        assert_non_null(out);
                }
                out[size++] = *s++;
        }
        out[size] = '\0';
        return out;
}

typedef struct run {
        pid_t pid;
        pid_t other; /* a pid the child sent after its calls, or 0 */
        int status;
        char *output;
} run_t;

/* Runs scenario in a child, under a listener started with trace as given, and collects what
 * it wrote. */
static void run_scenario(const fixture_t *f, scenario_fn scenario, bool trace, run_t *ret)
{
        int sv[2], log[2], fd;
        explain_t *e = NULL;
        pid_t pid;

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        assert_int_equal(pipe2(log, O_CLOEXEC), 0);
        pid = fork_child();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(sv[0]);
                close(log[0]);
                close(log[1]);
                _exit(child_main(f, sv[1], scenario));
        }
        close(sv[1]);
        if (recv_fds(sv[0], &fd, 1) < 0) {
                int status = wait_child(pid);
                fail_msg("no listener from the child: exit %d", WEXITSTATUS(status));
        }
        explain_options_t o = {
                .report = true, .log_fd = log[1], .trace = trace, .init_pid = getpid()};
        assert_int_equal(explain_start(fd, &o, &e), 0);
        assert_int_equal(write(sv[0], "g", 1), 1);
        *ret = (run_t){.pid = pid};
        ret->status = wait_child(pid);
        if (read(sv[0], &ret->other, sizeof(ret->other)) != sizeof(ret->other))
                ret->other = 0;
        assert_null(explain_stop(e));
        close(sv[0]);
        close(log[1]);
        ret->output = read_all(log[0]);
        close(log[0]);
}

static void assert_output(const fixture_t *f, const run_t *run, const char *const *lines)
{
        size_t size = 1;
        char *template, *want;

        for (size_t i = 0; lines[i]; i++)
                size += strlen(lines[i]) + 1;
        template = calloc(1, size);
        assert_non_null(template);
        for (size_t i = 0; lines[i]; i++) {
                strcat(template, lines[i]);
                strcat(template, "\n");
        }
        want = expand(f, template, run->pid, run->other);
        if (!STREQ(run->output, want)) {
                /* cmocka cuts long messages: the whole of both, then the first difference */
                const char *w = want, *g = run->output;
                while (*w && *w == *g)
                        w++, g++;
                while (w > want && w[-1] != '\n')
                        w--, g--;
                fprintf(stderr,
                        "--- want\n%s--- got\n%s---\nfirst difference:\n want: %.*s\n  got: "
                        "%.*s\n",
                        want, run->output, (int)strcspn(w, "\n"), w, (int)strcspn(g, "\n"), g);
                fail();
        }
        free(want);
        free(template);
}

static void assert_exit(const run_t *run, int code)
{
        if (!WIFEXITED(run->status) || WEXITSTATUS(run->status) != code)
                fail_msg("the child ended with status 0x%x, not exit %d (an exit code is the "
                         "number of the call that went wrong)",
                         run->status, code);
}

/* --- the scenarios ------------------------------------------------------------------------ */

#define HOST(name) (snprintf(p, sizeof(p), "%s/%s", f->host, (name)), p)

/* Checks that a call failed with err (0: succeeded), or returns the step. */
#define EXPECT(step, call, err)                                                                    \
        do {                                                                                       \
                errno = 0;                                                                         \
                long r_ = (long)(call);                                                            \
                if ((err) == 0 ? r_ < 0 : (r_ >= 0 || errno != (err)))                             \
                        return (step);                                                             \
                if ((err) == 0 && r_ > 2)                                                          \
                        close((int)r_);                                                            \
        } while (0)

static void *thread_open(void *userdata)
{
        const char *path = userdata;
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        return (void *)(intptr_t)(fd < 0 ? errno : 0);
}

static int scenario_denials(const fixture_t *f, int sock)
{
        char p[512], buf[64], *argv[] = {(char *)"x", NULL}, *envp[] = {NULL};
        struct open_how how = {.flags = O_RDONLY};
        long page = sysconf(_SC_PAGESIZE);
        struct statx stx;
        struct stat st;
        pthread_t t;
        void *res;
        pid_t g;
        char *m;
        int dfd;

        /* every syscall of the filter, on a path only the host has */
        EXPECT(1, syscall(SYS_open, HOST("f-open"), O_RDONLY), ENOENT);
        EXPECT(2, syscall(SYS_openat, AT_FDCWD, HOST("f-openat"), O_RDONLY), ENOENT);
        EXPECT(3, syscall(SYS_openat2, AT_FDCWD, HOST("f-openat2"), &how, sizeof(how)), ENOENT);
        EXPECT(4, syscall(SYS_creat, HOST("dir/f-creat"), 0644), ENOENT);
        EXPECT(5, syscall(SYS_execve, HOST("f-execve"), argv, envp), ENOENT);
        EXPECT(6, syscall(SYS_execveat, AT_FDCWD, HOST("f-execveat"), argv, envp, 0), ENOENT);
        EXPECT(7, syscall(SYS_stat, HOST("f-stat"), &st), ENOENT);
        EXPECT(8, syscall(SYS_lstat, HOST("f-lstat"), &st), ENOENT);
        EXPECT(9, syscall(SYS_newfstatat, AT_FDCWD, HOST("f-newfstatat"), &st, 0), ENOENT);
        EXPECT(10, syscall(SYS_statx, AT_FDCWD, HOST("f-statx"), 0, STATX_BASIC_STATS, &stx),
               ENOENT);
        EXPECT(11, syscall(SYS_access, HOST("f-access"), F_OK), ENOENT);
        EXPECT(12, syscall(SYS_faccessat, AT_FDCWD, HOST("f-faccessat"), F_OK), ENOENT);
        EXPECT(13, syscall(SYS_faccessat2, AT_FDCWD, HOST("f-faccessat2"), F_OK, 0), ENOENT);
        EXPECT(14, syscall(SYS_readlink, HOST("f-readlink"), buf, sizeof(buf)), ENOENT);
        EXPECT(15, syscall(SYS_readlinkat, AT_FDCWD, HOST("f-readlinkat"), buf, sizeof(buf)),
               ENOENT);

        /* once per (verb, path): a second open says nothing; stat is another verb, and lstat
         * is the same verb as stat */
        EXPECT(20, open(HOST("f-open"), O_RDONLY), ENOENT);
        EXPECT(21, syscall(SYS_newfstatat, AT_FDCWD, HOST("f-open"), &st, 0), ENOENT);
        EXPECT(22, syscall(SYS_lstat, HOST("f-open"), &st), ENOENT);

        /* trusted or allowed: Python, a library, a script, an ELF file, data with an execute
         * bit, a directory */
        EXPECT(30, open(HOST("mod.py"), O_RDONLY), ENOENT);
        EXPECT(31, open(HOST("libz.so.1"), O_RDONLY), ENOENT);
        EXPECT(32, open(HOST("tool"), O_RDONLY), ENOENT);
        EXPECT(33, open(HOST("plugin"), O_RDONLY), ENOENT);
        EXPECT(34, open(HOST("data-x"), O_RDONLY), ENOENT);
        EXPECT(35, access(HOST("dir"), R_OK), ENOENT);

        /* names that must be escaped to stay on one line, and in a TOML string */
        EXPECT(36, open(HOST("q\"uo\\te\nd"), O_RDONLY), ENOENT);
        EXPECT(37, open(HOST("bad\377name"), O_RDONLY), ENOENT);

        /* nothing to say: in neither, or in the view */
        EXPECT(40, open("/nope.txt", O_RDONLY), ENOENT);
        EXPECT(41, open("/data.txt", O_RDONLY), 0);
        EXPECT(42, open("/sub/../data.txt", O_RDONLY), 0);

        /* relative paths: to the cwd, and to a directory fd */
        EXPECT(50, chdir("/sub"), 0);
        snprintf(p, sizeof(p), "..%s/f-rel", f->host);
        EXPECT(51, open(p, O_RDONLY), ENOENT);
        dfd = open("/sub", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return 52;
        snprintf(p, sizeof(p), "..%s/f-at", f->host);
        EXPECT(53, openat(dfd, p, O_RDONLY), ENOENT);
        close(dfd);
        EXPECT(54, chdir("/"), 0);

        /* execs that the view refuses */
        EXPECT(60, execve("/plain", argv, envp), EACCES);
        EXPECT(61, execve("/tmp/run", argv, envp), EACCES);
        EXPECT(62, execve("/data/tool.sh", argv, envp), EACCES);
        EXPECT(63, execve("/script.sh", argv, envp), ENOENT);
        EXPECT(64, execve("/elf", argv, envp), ENOENT);
        EXPECT(65, execve("/python3", argv, envp), ENOENT);

        /* a path across a page boundary; one running into memory that cannot be read; NULL */
        m = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
                 0);
        if (m == MAP_FAILED)
                return 70;
        snprintf(m + page - 7, (size_t)page, "%s/f-cross", f->host);
        EXPECT(71, open(m + page - 7, O_RDONLY), ENOENT);
        memset(m, 'a', (size_t)page);
        if (mprotect(m + page, (size_t)page, PROT_NONE) < 0)
                return 72;
        EXPECT(73, syscall(SYS_openat, AT_FDCWD, m + page - 16, O_RDONLY), EFAULT);
        EXPECT(74, syscall(SYS_openat, AT_FDCWD, NULL, O_RDONLY), EFAULT);
        munmap(m, (size_t)page * 2);

        /* a file created where the view is writable */
        EXPECT(80, open(HOST("f-created"), O_WRONLY | O_CREAT | O_CLOEXEC, 0644), 0);

        /* a thread: the process's pid; a child: the chain */
        if (pthread_create(&t, NULL, thread_open, HOST("f-thread")) != 0 ||
            pthread_join(t, &res) != 0)
                return 90;
        if ((intptr_t)res != ENOENT)
                return 91;
        g = fork();
        if (g < 0)
                return 92;
        if (g == 0)
                _exit(open(HOST("f-child"), O_RDONLY) < 0 && errno == ENOENT ? 0 : 1);
        if (waitpid(g, &dfd, 0) != g || dfd != 0)
                return 93;
        if (write(sock, &g, sizeof(g)) != sizeof(g))
                return 94;
        return 0;
}

/* Expected lines: {P} the child's pid, {G} its child's, {C} our argv, {H} the host directory. */
#define DENIED   "lamina: denied: pid {P} ({C}) "
#define TRACE    "trace: pid {P} ({C}) "
#define ALLOW(p) "not in the manifest; allow with: sgx.allowed_files = [\"file:" p "\"]"
#define TRUST(p) "not in the manifest; trust it with: sgx.trusted_files = [\"file:" p "\"]"

static const char *const denials[] = {
        DENIED "open \"{H}/f-open\": " ALLOW("{H}/f-open"),
        DENIED "open \"{H}/f-openat\": " ALLOW("{H}/f-openat"),
        DENIED "open \"{H}/f-openat2\": " ALLOW("{H}/f-openat2"),
        DENIED "open \"{H}/dir/f-creat\": " ALLOW("{H}/dir/f-creat"),
        DENIED "exec \"{H}/f-execve\": " TRUST("{H}/f-execve"),
        DENIED "exec \"{H}/f-execveat\": " TRUST("{H}/f-execveat"),
        DENIED "stat \"{H}/f-stat\": " ALLOW("{H}/f-stat"),
        DENIED "stat \"{H}/f-lstat\": " ALLOW("{H}/f-lstat"),
        DENIED "stat \"{H}/f-newfstatat\": " ALLOW("{H}/f-newfstatat"),
        DENIED "stat \"{H}/f-statx\": " ALLOW("{H}/f-statx"),
        DENIED "access \"{H}/f-access\": " ALLOW("{H}/f-access"),
        DENIED "access \"{H}/f-faccessat\": " ALLOW("{H}/f-faccessat"),
        DENIED "access \"{H}/f-faccessat2\": " ALLOW("{H}/f-faccessat2"),
        DENIED "readlink \"{H}/f-readlink\": " ALLOW("{H}/f-readlink"),
        DENIED "readlink \"{H}/f-readlinkat\": " ALLOW("{H}/f-readlinkat"),
        DENIED "stat \"{H}/f-open\": " ALLOW("{H}/f-open"),
        DENIED "open \"{H}/mod.py\": " TRUST("{H}/mod.py"),
        DENIED "open \"{H}/libz.so.1\": " TRUST("{H}/libz.so.1"),
        DENIED "open \"{H}/tool\": " TRUST("{H}/tool"),
        DENIED "open \"{H}/plugin\": " TRUST("{H}/plugin"),
        DENIED "open \"{H}/data-x\": " ALLOW("{H}/data-x"),
        DENIED "access \"{H}/dir\": " ALLOW("{H}/dir/"),
        DENIED "open \"{H}/q\\\"uo\\\\te\\nd\": " ALLOW("{H}/q\\\"uo\\\\te\\nd"),
        DENIED "open \"{H}/bad\\xffname\": " ALLOW("{H}/bad\\xffname"),
        DENIED "open \"..{H}/f-rel\" ({H}/f-rel): " ALLOW("{H}/f-rel"),
        DENIED "open \"..{H}/f-at\" ({H}/f-at): " ALLOW("{H}/f-at"),
        DENIED "exec \"/plain\": the view refuses to execute it: it is not executable (mode "
               "0644); make it executable on the host, then trust it with: sgx.trusted_files = "
               "[\"file:/plain\"]",
        DENIED "exec \"/tmp/run\": the view refuses to execute it: files written at run time "
               "never run, only verified files do",
        DENIED "exec \"/data/tool.sh\": the view refuses to execute it (only verified files "
               "run); trust it with: sgx.trusted_files = [\"file:/data/tool.sh\"]",
        DENIED "exec \"/script.sh\": its interpreter \"{H}/interp\" is not in the manifest; "
               "trust it with: sgx.trusted_files = [\"file:{H}/interp\"]",
        DENIED "exec \"/elf\": its interpreter \"{H}/ld.so\" is not in the manifest; trust it "
               "with: sgx.trusted_files = [\"file:{H}/ld.so\"]",
        DENIED "exec \"/python3\" (-> {H}/python3.11): " TRUST("{H}/python3.11"),
        DENIED "open \"{H}/f-cross\": " ALLOW("{H}/f-cross"),
        DENIED "open \"{H}/f-thread\": " ALLOW("{H}/f-thread"),
        "lamina: denied: pid {G} ({C} < {C}) open \"{H}/f-child\": " ALLOW("{H}/f-child"),
        NULL,
};

static void test_denials(void **state)
{
        const fixture_t *f = *state;
        int before = count_fds();
        run_t run;

        run_scenario(f, scenario_denials, false, &run);
        assert_exit(&run, 0);
        assert_output(f, &run, denials);
        free(run.output);
        assert_int_equal(count_fds(), before); /* the listener left nothing open */
}

static int scenario_trace(const fixture_t *f, int sock)
{
        char p[512], *argv[] = {(char *)"x", NULL}, *envp[] = {NULL};
        struct stat st;
        int fd;

        (void)sock;
        fd = open("/plain", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return 1;
        EXPECT(2, fstat(fd, &st), 0); /* AT_EMPTY_PATH: not even seen */
        EXPECT(3, syscall(SYS_execveat, fd, "", argv, envp, AT_EMPTY_PATH), EACCES);
        close(fd);
        EXPECT(4, open("/nope.txt", O_RDONLY), ENOENT);
        EXPECT(5, open("/proc/self/status", O_RDONLY), ENOENT);
        EXPECT(6, open(HOST("f-open"), O_RDONLY), ENOENT);
        EXPECT(7, open(HOST("f-open"), O_RDONLY), ENOENT);
        EXPECT(8, syscall(SYS_openat, AT_FDCWD, NULL, O_RDONLY), EFAULT);
        EXPECT(9, open(HOST("f-created"), O_WRONLY | O_CREAT | O_CLOEXEC, 0644), 0);
        EXPECT(10, open("", O_RDONLY), ENOENT); /* nothing to name: no line */
        return 0;
}

static const char *const traced[] = {
        TRACE "open \"/plain\": in the view",
        DENIED "exec \"/plain\": the view refuses to execute it: it is not executable (mode "
               "0644); make it executable on the host, then trust it with: sgx.trusted_files = "
               "[\"file:/plain\"]",
        TRACE "open \"/nope.txt\": in neither the view nor the host",
        TRACE "open \"/proc/self/status\": under /proc or /dev, which the sandbox makes",
        DENIED "open \"{H}/f-open\": " ALLOW("{H}/f-open"),
        TRACE "open \"{H}/f-open\": " ALLOW("{H}/f-open"),
        TRACE "open: the path is unreadable: Bad address",
        TRACE "open \"{H}/f-created\": not in the view, where its directory is writable",
        NULL,
};

static void test_trace(void **state)
{
        const fixture_t *f = *state;
        int before = count_fds();
        run_t run;

        run_scenario(f, scenario_trace, true, &run);
        assert_exit(&run, 0);
        assert_output(f, &run, traced);
        free(run.output);
        assert_int_equal(count_fds(), before);
}

/* --- the listener's life ------------------------------------------------------------------ */

static int scenario_after_stop(const fixture_t *f, int sock)
{
        char p[512];

        (void)sock;
        /* the listener is gone: the kernel fails notified calls (explain.h) */
        EXPECT(1, open(HOST("f-open"), O_RDONLY), ENOSYS);
        return 0;
}

/* explain_stop() with nothing pending: prompt, silent, and nothing left open. */
static void test_stop_idle(void **state)
{
        const fixture_t *f = *state;
        int sv[2], log[2], fd, before = count_fds();
        explain_t *e = NULL;
        char *output;
        pid_t pid;

        assert_null(explain_stop(NULL));
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        assert_int_equal(pipe2(log, O_CLOEXEC), 0);
        pid = fork_child();
        assert_true(pid >= 0);
        if (pid == 0)
                _exit(child_main(f, sv[1], scenario_after_stop));
        close(sv[1]);
        assert_int_equal(recv_fds(sv[0], &fd, 1), 0);
        explain_options_t o = {.report = true, .log_fd = log[1], .init_pid = getpid()};
        assert_int_equal(explain_start(fd, &o, &e), 0);
        assert_int_equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
        assert_null(explain_stop(e));
        assert_int_equal(fcntl(fd, F_GETFD), -1); /* closed */
        assert_int_equal(write(sv[0], "g", 1), 1);
        run_t run = {.pid = pid, .status = wait_child(pid)};
        assert_exit(&run, 0);
        close(sv[0]);
        close(log[1]);
        output = read_all(log[0]);
        close(log[0]);
        assert_string_equal(output, "");
        free(output);
        assert_int_equal(count_fds(), before);
}

static const char *const late[] = {
        "lamina: denied: pid {P} ({C}) open \"{H}/f-late\": " ALLOW("{H}/f-late"),
        NULL,
};

/* The child's part of the dying tests: a second process, B, forked before the first one
 * blocks, which waits for a byte on fd and then makes one call that is reported. */
static pid_t fork_witness(const fixture_t *f, int fd, int close_fd, int close_fd2)
{
        char p[512], go;
        pid_t b = fork();

        if (b != 0)
                return b;
        if (close_fd >= 0)
                close(close_fd);
        if (close_fd2 >= 0)
                close(close_fd2);
        if (read(fd, &go, 1) != 1)
                _exit(1);
        _exit(open(HOST("f-late"), O_RDONLY) < 0 && errno == ENOENT ? 0 : 2);
}

static int scenario_blocked(const fixture_t *f, int sock)
{
        char p[512];
        pid_t b = fork_witness(f, sock, -1, -1);

        if (b < 0 || write(sock, &b, sizeof(b)) != sizeof(b))
                return 1;
        /* no listener yet: this waits until the test kills us */
        open(HOST("mod.py"), O_RDONLY);
        return 2;
}

static void wait_pending(int notify_fd)
{
        struct pollfd p = {.fd = notify_fd, .events = POLLIN};

        assert_int_equal(poll(&p, 1, TIMEOUT_MS), 1);
        assert_true(p.revents & POLLIN);
}

/* A target killed while its notification waits, before the listener took it: the listener
 * goes on serving the others. */
static void test_target_dies_pending(void **state)
{
        const fixture_t *f = *state;
        int sv[2], log[2], fd, status;
        explain_t *e = NULL;
        pid_t a, b;
        run_t run;

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        assert_int_equal(pipe2(log, O_CLOEXEC), 0);
        a = fork_child();
        assert_true(a >= 0);
        if (a == 0) {
                char go;
                int r = enter_view(f), nfd;
                if (r == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
                    explain_filter_load(&all_files, &nfd) == 0 && send_fds(sv[1], &nfd, 1) == 0) {
                        close(nfd);
                        if (read(sv[1], &go, 1) == 1)
                                _exit(scenario_blocked(f, sv[1]));
                }
                _exit(r ? r : 99);
        }
        close(sv[1]);
        assert_int_equal(recv_fds(sv[0], &fd, 1), 0);
        assert_int_equal(write(sv[0], "g", 1), 1);
        assert_int_equal(read(sv[0], &b, sizeof(b)), sizeof(b));
        wait_pending(fd);
        kill(a, SIGKILL);
        status = wait_child(a);
        assert_true(WIFSIGNALED(status));

        explain_options_t o = {.report = true, .log_fd = log[1], .init_pid = getpid()};
        assert_int_equal(explain_start(fd, &o, &e), 0);
        assert_int_equal(write(sv[0], "g", 1), 1); /* B, now the test's child (subreaper) */
        run = (run_t){.pid = b, .status = wait_child(b)};
        assert_exit(&run, 0);
        assert_null(explain_stop(e));
        close(sv[0]);
        close(log[1]);
        run.output = read_all(log[0]);
        close(log[0]);
        assert_output(f, &run, late);
        free(run.output);
}

/* A target killed while the listener serves it: the listener is made to wait inside its read
 * of the path, which lies on a page that a userfaultfd of the target holds back; the test
 * kills the target there. The notification is then stale: the listener must say nothing of it
 * and go on. */
static void test_target_dies_in_service(void **state)
{
        const fixture_t *f = *state;
        int sv[2], log[2], fds[2], status;
        explain_t *e = NULL;
        pid_t a, b;
        run_t run;

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        assert_int_equal(pipe2(log, O_CLOEXEC), 0);
        a = fork_child();
        assert_true(a >= 0);
        if (a == 0) {
                struct uffdio_api api = {.api = UFFD_API};
                struct uffdio_register reg = {.mode = UFFDIO_REGISTER_MODE_MISSING};
                long page = sysconf(_SC_PAGESIZE);
                int r = enter_view(f), uffd, nfd;
                char *m;
                pid_t w;

                if (r)
                        _exit(r);
                /* poll() on a userfaultfd wants O_NONBLOCK (it says POLLERR otherwise) */
                uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
                if (uffd < 0)
                        _exit(77); /* not allowed here: skip */
                m = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                         -1, 0);
                reg.range.start = (uintptr_t)m;
                reg.range.len = (size_t)page;
                if (m == MAP_FAILED || ioctl(uffd, UFFDIO_API, &api) < 0 ||
                    ioctl(uffd, UFFDIO_REGISTER, &reg) < 0)
                        _exit(98);
                if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
                    explain_filter_load(&all_files, &nfd) < 0)
                        _exit(97);
                /* the witness must not hold the userfaultfd (it would never be released) nor
                 * the listener (which would outlive the test's) */
                w = fork_witness(f, sv[1], uffd, nfd);
                if (w < 0)
                        _exit(97);
                fds[0] = nfd;
                fds[1] = uffd;
                if (send_fds(sv[1], fds, 2) < 0 || write(sv[1], &w, sizeof(w)) != sizeof(w))
                        _exit(96);
                close(nfd);
                /* the path is on the page nobody will fill */
                syscall(SYS_openat, AT_FDCWD, m, O_RDONLY);
                _exit(95);
        }
        close(sv[1]);
        if (recv_fds(sv[0], fds, 2) < 0) {
                status = wait_child(a);
                if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
                        close(sv[0]);
                        close(log[0]);
                        close(log[1]);
                        skip();
                }
                fail_msg("no listener from the child: status 0x%x", status);
        }
        assert_int_equal(read(sv[0], &b, sizeof(b)), sizeof(b));

        explain_options_t o = {.report = true, .log_fd = log[1], .init_pid = getpid()};
        assert_int_equal(explain_start(fds[0], &o, &e), 0);
        /* the listener's read of the path faults on the held page */
        wait_pending(fds[1]);
        close(fds[1]);
        kill(a, SIGKILL);
        status = wait_child(a);
        assert_true(WIFSIGNALED(status));

        assert_int_equal(write(sv[0], "g", 1), 1);
        run = (run_t){.pid = b, .status = wait_child(b)};
        assert_exit(&run, 0);
        assert_null(explain_stop(e));
        close(sv[0]);
        close(log[1]);
        run.output = read_all(log[0]);
        close(log[0]);
        assert_output(f, &run, late);
        free(run.output);
}

/* --- errors ------------------------------------------------------------------------------- */

static void test_start_errors(void **state)
{
        explain_options_t o = {.report = true, .log_fd = STDERR_FILENO};
        explain_t *e = (explain_t *)0x1;
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

        (void)state;
        assert_int_equal(explain_start(-1, &o, &e), -EBADF);
        assert_ptr_equal(e, (explain_t *)0x1);
        assert_int_equal(explain_start(fd, NULL, &e), -EINVAL);
        assert_int_equal(explain_start(fd, &o, NULL), -EINVAL);
        o.log_fd = -1;
        assert_int_equal(explain_start(fd, &o, &e), -EBADF);
        assert_ptr_equal(e, (explain_t *)0x1);
        /* on failure the fd stays the caller's */
        assert_int_equal(fcntl(fd, F_GETFD) >= 0, 1);
        close(fd);
}

/* Without no_new_privs and without CAP_SYS_ADMIN, the kernel refuses a filter. */
static void test_filter_needs_no_new_privs(void **state)
{
        pid_t pid;

        (void)state;
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
                struct __user_cap_data_struct d[2] = {{0}};
                int fd = -7, r;

                /* no capabilities at all, whoever runs the tests */
                if (syscall(SYS_capset, &h, d) < 0)
                        _exit(1);
                r = explain_filter_load(&all_files, &fd);
                _exit(r == -EACCES && fd == -7 ? 0 : 2);
        }
        run_t run = {.pid = pid, .status = wait_child(pid)};
        assert_exit(&run, 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_start_errors),
                cmocka_unit_test(test_filter_needs_no_new_privs),
                cmocka_unit_test_setup_teardown(test_denials, setup, teardown),
                cmocka_unit_test_setup_teardown(test_trace, setup, teardown),
                cmocka_unit_test_setup_teardown(test_stop_idle, setup, teardown),
                cmocka_unit_test_setup_teardown(test_target_dies_pending, setup, teardown),
                cmocka_unit_test_setup_teardown(test_target_dies_in_service, setup, teardown),
        };

        /* a scenario's grandchildren outlive their parent: the test reaps them */
        prctl(PR_SET_CHILD_SUBREAPER, 1);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
