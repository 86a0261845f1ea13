/* Namespaces, the view and the sandbox's init (see sandbox.h).
 *
 * Three processes take part. lamina (the caller of sandbox_run) makes a user namespace when it
 * is not root and clones init into a new pid namespace; it then only forwards signals, serves
 * the explain listener when asked to, and waits. init, pid 1 of the new pid namespace, makes its
 * own mount and ipc namespaces (so that lamina's root never moves), builds the view, pivots into
 * it, drops its privileges, and forks the program. The program inherits all of that, and so does
 * every process it starts. init and lamina talk over a socket pair: when denials are to be
 * explained, init sends the listener of its notifying filter and waits until lamina serves
 * it; at the end, init sends how things ended, in one report. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/landlock.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>

#include "explain/explain.h"
#include "sandbox/sandbox.h"
#include "shared/macro.h"

/* Signals that lamina passes on to the program when someone sends them to lamina. */
static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

/* The devices a program may use; tty only when lamina has a terminal. */
static const char *const devices[] = {"null", "zero", "full", "random", "urandom", "tty"};

/* Parts of /proc that change the kernel rather than describe the process: read-only, as
 * bubblewrap does, because uid 0 may write some of them without any capability. */
static const char *const proc_readonly[] = {"sys", "sysrq-trigger", "irq", "bus"};

typedef struct report {
        sandbox_outcome_t outcome;
        int status;
        int error;
        char message[sizeof(((sandbox_result_t *)0)->message)];
} report_t;

static void signal_set(sigset_t *set)
{
        sigemptyset(set);
        for (size_t i = 0; i < ELEMENTSOF(forwarded); i++)
                sigaddset(set, forwarded[i]);
        sigaddset(set, SIGCHLD);
}

/* Signals sent by a process (kill, sigqueue), not by the kernel: a terminal's ^C reaches the
 * whole foreground process group, the program included, and must not arrive twice. */
static bool sent_by_user(const siginfo_t *si)
{
        return si->si_code <= 0;
}

static void write_report(int fd, const report_t *r)
{
        ssize_t n;

        do
                n = send(fd, r, sizeof(*r), MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
}

static int send_fd(int sock, int fd)
{
        char byte = 'F';
        struct iovec iov = {.iov_base = &byte, .iov_len = 1};
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int))];
        } control = {0};
        struct msghdr msg = {.msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = control.buf,
                             .msg_controllen = sizeof(control.buf)};
        struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);

        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
        return sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

/* Receives one message: a report (copied to *report) or an fd (*ret_fd), whichever init sent.
 * Returns 1 for a report, 2 for an fd, 0 when init closed its end, or -errno. */
static int receive(int sock, report_t *report, int *ret_fd)
{
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int))];
        } control;
        struct iovec iov = {.iov_base = report, .iov_len = sizeof(*report)};
        struct msghdr msg = {.msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = control.buf,
                             .msg_controllen = sizeof(control.buf)};
        ssize_t n;

        do
                n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                        memcpy(ret_fd, CMSG_DATA(c), sizeof(int));
                        return 2;
                }
        if (n == 0)
                return 0;
        return n == sizeof(*report) ? 1 : -EPROTO;
}

/* In init: reports a failed set-up and ends init, and with it the namespaces. */
_noreturn_ _printf_(3, 4) static void setup_failed(int report_fd, int error, const char *fmt, ...)
{
        report_t r = {.outcome = SANDBOX_SETUP_FAILED, .error = error};
        va_list ap;

        va_start(ap, fmt);
        errno = error;
        vsnprintf(r.message, sizeof(r.message), fmt, ap);
        va_end(ap);
        write_report(report_fd, &r);
        _exit(125);
}

static char *fd_path(int fd, char buf[static 32])
{
        snprintf(buf, 32, "/proc/self/fd/%d", fd);
        return buf;
}

/* Opens path (absolute, in the view) below the view's root without following any symlink:
 * the tree holds the host's symlinks, and a mount must never land outside the view. */
static int open_in_view(int root_fd, const char *path, int flags)
{
        struct open_how how = {
                .flags = (uint64_t)(flags | O_CLOEXEC),
                .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        const char *rel = path + strspn(path, "/");
        int fd = (int)syscall(SYS_openat2, root_fd, *rel ? rel : ".", &how, sizeof(how));

        return fd < 0 ? -errno : fd;
}

/* The mount flags that a bind keeps from its source and that a user namespace may not drop. */
static unsigned long locked_flags(int fd)
{
        static const struct {
                unsigned long st, ms;
        } map[] = {
                {ST_RDONLY, MS_RDONLY},     {ST_NOSUID, MS_NOSUID},
                {ST_NODEV, MS_NODEV},       {ST_NOEXEC, MS_NOEXEC},
                {ST_NOATIME, MS_NOATIME},   {ST_NODIRATIME, MS_NODIRATIME},
                {ST_RELATIME, MS_RELATIME},
        };
        struct statvfs sv;
        unsigned long flags = 0;

        if (fstatvfs(fd, &sv) < 0)
                return 0;
        for (size_t i = 0; i < ELEMENTSOF(map); i++)
                if (sv.f_flag & map[i].st)
                        flags |= map[i].ms;
        return flags;
}

/* Binds source (an open file) on target (in the view) and applies flags to the new mount. */
static int bind_at(int root_fd, int source_fd, const char *target, unsigned long flags)
{
        _cleanup_close_ int target_fd = -1, mounted_fd = -1;
        char from[32], to[32];

        target_fd = open_in_view(root_fd, target, O_PATH | O_NOFOLLOW);
        if (target_fd < 0)
                return target_fd;
        if (mount(fd_path(source_fd, from), fd_path(target_fd, to), NULL, MS_BIND, NULL) < 0)
                return -errno;
        /* the fd still names what is under the new mount: open the mount itself */
        mounted_fd = open_in_view(root_fd, target, O_PATH | O_NOFOLLOW);
        if (mounted_fd < 0)
                return mounted_fd;
        flags |= MS_REMOUNT | MS_BIND | locked_flags(source_fd);
        if (mount(NULL, fd_path(mounted_fd, to), NULL, flags, NULL) < 0)
                return -errno;
        return 0;
}

static int mount_fs_at(int root_fd, const char *target, const char *type, unsigned long flags,
                       const char *data)
{
        _cleanup_close_ int fd = open_in_view(root_fd, target, O_PATH | O_NOFOLLOW | O_DIRECTORY);
        char path[32];

        if (fd < 0)
                return fd;
        if (mount(type, fd_path(fd, path), type, flags, data) < 0)
                return -errno;
        return 0;
}

static int op_bind(int root_fd, const sandbox_op_t *op)
{
        _cleanup_close_ int source_fd = open(op->source, O_PATH | O_CLOEXEC);
        unsigned long flags = MS_NOSUID | MS_NODEV;

        if (source_fd < 0)
                return -errno;
        if (op->flags & SANDBOX_RDONLY)
                flags |= MS_RDONLY;
        if (op->flags & SANDBOX_NOEXEC)
                flags |= MS_NOEXEC;
        return bind_at(root_fd, source_fd, op->target, flags);
}

static int op_proc(int root_fd, const sandbox_op_t *op)
{
        int r = mount_fs_at(root_fd, op->target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);

        for (size_t i = 0; r == 0 && i < ELEMENTSOF(proc_readonly); i++) {
                _cleanup_close_ int fd = -1;
                char path[4096];

                snprintf(path, sizeof(path), "%s/%s", op->target, proc_readonly[i]);
                fd = open_in_view(root_fd, path, O_PATH | O_NOFOLLOW);
                if (fd == -ENOENT)
                        continue;
                if (fd < 0)
                        return fd;
                r = bind_at(root_fd, fd, path, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
        }
        return r;
}

static int op_dev(int root_fd, const sandbox_op_t *op)
{
        static const struct {
                const char *name, *target;
        } links[] = {
                {"fd", "/proc/self/fd"},
                {"stdin", "/proc/self/fd/0"},
                {"stdout", "/proc/self/fd/1"},
                {"stderr", "/proc/self/fd/2"},
        };
        _cleanup_close_ int dev_fd = -1;
        int r;

        r = mount_fs_at(root_fd, op->target, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755");
        if (r < 0)
                return r;
        dev_fd = open_in_view(root_fd, op->target, O_PATH | O_DIRECTORY | O_NOFOLLOW);
        if (dev_fd < 0)
                return dev_fd;
        for (size_t i = 0; i < ELEMENTSOF(devices); i++) {
                _cleanup_close_ int host_fd = -1, node_fd = -1;
                char path[4096];

                if (STREQ(devices[i], "tty")) {
                        /* a terminal only when lamina has one */
                        int probe = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
                        if (probe < 0)
                                continue;
                        close(probe);
                }
                snprintf(path, sizeof(path), "/dev/%s", devices[i]);
                host_fd = open(path, O_PATH | O_CLOEXEC);
                if (host_fd < 0)
                        return -errno;
                node_fd = openat(dev_fd, devices[i], O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0666);
                if (node_fd < 0)
                        return -errno;
                snprintf(path, sizeof(path), "%s/%s", op->target, devices[i]);
                r = bind_at(root_fd, host_fd, path, MS_NOSUID | MS_NOEXEC);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < ELEMENTSOF(links); i++)
                if (symlinkat(links[i].target, dev_fd, links[i].name) < 0)
                        return -errno;
        if (mkdirat(dev_fd, "shm", 01777) < 0)
                return -errno;
        return 0;
}

static const char *op_name(sandbox_op_type_t type)
{
        return type == SANDBOX_OP_BIND    ? "bind"
               : type == SANDBOX_OP_TMPFS ? "tmpfs"
               : type == SANDBOX_OP_PROC  ? "proc"
                                          : "dev";
}

/* Whether lamina serves a listener for this sandbox: to explain, or to decide execs. */
static bool listening(const sandbox_config_t *c)
{
        return c->explain || c->exec_check || c->record;
}

/* lamina trace's root: a tmpfs at c->root (in this mount namespace only) holds a directory
 * where the host's "/" and every mount below it are bound, then made read-only, all of them,
 * so that the view shows the host as it is and the program changes nothing but what the
 * setup list binds or mounts over it. Returns the view's root (O_PATH) or -errno. */
static int host_root(const sandbox_config_t *c, char **ret_path)
{
        struct mount_attr attr = {.attr_set =
                                          MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV};
        _cleanup_free_ char *path = NULL;
        int fd;

        if (mount("tmpfs", c->root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
                return -errno;
        if (asprintf(&path, "%s/root", c->root) < 0)
                return -ENOMEM;
        if (mkdir(path, 0755) < 0)
                return -errno;
        if (mount("/", path, NULL, MS_BIND | MS_REC, NULL) < 0)
                return -errno;
        fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) <
            0) {
                int r = -errno;
                close(fd);
                return r;
        }
        *ret_path = TAKE_PTR(path);
        return fd;
}

/* Builds the view from c and enters it; on failure reports and ends init. */
static void enter_view(const sandbox_config_t *c, int report_fd)
{
        _cleanup_close_ int root_fd = -1;
        char path[32];

        if (unshare(CLONE_NEWNS | CLONE_NEWIPC) < 0)
                setup_failed(report_fd, errno, "cannot make mount and ipc namespaces: %m");
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                setup_failed(report_fd, errno, "cannot make the mounts private: %m");
        if (c->host_root) {
                _cleanup_free_ char *path = NULL;
                root_fd = host_root(c, &path);
                if (root_fd < 0)
                        setup_failed(report_fd, -root_fd, "cannot show the host's root: %m");
        } else {
                if (mount(c->root, c->root, NULL, MS_BIND, NULL) < 0)
                        setup_failed(report_fd, errno, "cannot mount the verified tree '%s': %m",
                                     c->root);
                root_fd = open(c->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (root_fd < 0)
                        setup_failed(report_fd, errno, "cannot open the verified tree '%s': %m",
                                     c->root);
        }

        for (size_t i = 0; i < c->op_count; i++) {
                const sandbox_op_t *op = &c->ops[i];
                int r;

                switch (op->type) {
                case SANDBOX_OP_BIND:
                        r = op_bind(root_fd, op);
                        break;
                case SANDBOX_OP_TMPFS:
                        r = mount_fs_at(root_fd, op->target, "tmpfs",
                                        MS_NOSUID | MS_NODEV |
                                                (op->flags & SANDBOX_NOEXEC ? MS_NOEXEC : 0),
                                        "mode=1777");
                        break;
                case SANDBOX_OP_PROC:
                        r = op_proc(root_fd, op);
                        break;
                default:
                        r = op_dev(root_fd, op);
                        break;
                }
                if (r < 0)
                        setup_failed(report_fd, -r, "cannot mount %s%s%s at '%s': %m",
                                     op_name(op->type), op->source ? " of " : "",
                                     op->source ? op->source : "", op->target);
        }

        /* The tree was verified; it stays as it is. */
        if (mount(NULL, fd_path(root_fd, path), NULL,
                  MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | locked_flags(root_fd),
                  NULL) < 0)
                setup_failed(report_fd, errno, "cannot make the view read-only: %m");
        if (fchdir(root_fd) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 ||
            umount2(".", MNT_DETACH) < 0)
                setup_failed(report_fd, errno, "cannot enter the view: %m");
        if (chdir(c->cwd) < 0)
                setup_failed(report_fd, errno, "cannot enter the start directory '%s': %m", c->cwd);
}

/* New files only below the targets of ops marked SANDBOX_CREATE (the tmpfs mounts, and the
 * allowed directories when the manifest sets sgx.allow_file_creation): Landlock, because
 * mount flags cannot say "write, but create nothing". Returns 0, 1 when the kernel has no
 * Landlock, or -errno. */
static int limit_creation(const sandbox_config_t *c)
{
        struct landlock_ruleset_attr attr = {0};
        _cleanup_close_ int ruleset = -1;
        int abi;

        abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
        if (abi < 0)
                return errno == ENOSYS || errno == EOPNOTSUPP ? 1 : -errno;
        attr.handled_access_fs = LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR |
                                 LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |
                                 LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
                                 LANDLOCK_ACCESS_FS_MAKE_SYM;
        if (abi >= 2)
                attr.handled_access_fs |= LANDLOCK_ACCESS_FS_REFER;
        ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
        if (ruleset < 0)
                return -errno;
        for (size_t i = 0; i < c->op_count; i++) {
                struct landlock_path_beneath_attr rule = {.allowed_access = attr.handled_access_fs};
                _cleanup_close_ int fd = -1;

                if (!(c->ops[i].flags & SANDBOX_CREATE))
                        continue;
                fd = open(c->ops[i].target, O_PATH | O_CLOEXEC);
                if (fd < 0)
                        return -errno;
                rule.parent_fd = fd;
                if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0) <
                    0)
                        return -errno;
        }
        if (syscall(SYS_landlock_restrict_self, ruleset, 0) < 0)
                return -errno;
        return 0;
}

/* Root in no user namespace holds every capability: the program gets none. It keeps uid 0,
 * which the read-only view and the filter leave little to do with. */
static int drop_capabilities(void)
{
        struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3};
        struct __user_cap_data_struct data[2] = {{0}};

        for (int cap = 0; cap <= 63; cap++)
                if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
                        return -errno;
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
                return -errno;
        if (syscall(SYS_capset, &header, data) < 0)
                return -errno;
        return 0;
}

/* In the program's process, before it becomes the program: the restrictions that must not
 * bind init (the filter would refuse init's own fork under sys.disallow_subprocesses), then
 * the program. */
_noreturn_ static void run_program(const sandbox_config_t *c, int report_fd, int exec_fd)
{
        sandbox_filter_options_t filter = c->filter;
        sigset_t none;
        int error, r;

        /* with the listener, it refuses new processes itself, and says so: a refusal in this
         * filter would come first and leave it nothing to see */
        if (listening(c))
                filter.disallow_subprocesses = false;
        r = sandbox_filter_load(&filter);
        if (r < 0)
                setup_failed(report_fd, -r, "cannot load the seccomp filter: %m");
        /* after the filter: Landlock wants no_new_privs, which the filter set */
        r = limit_creation(c);
        if (r < 0)
                setup_failed(report_fd, -r, "cannot limit where files are created (Landlock): %m");
        if (r > 0 && c->creation_must_be_limited)
                setup_failed(report_fd, ENOSYS,
                             "this kernel has no Landlock, so lamina cannot keep the program from "
                             "creating files in its allowed directories; set "
                             "sgx.allow_file_creation = true, or enable Landlock (lsm=landlock)");
        if (listening(c)) {
                explain_filter_options_t watch = {
                        .files = c->explain || c->record,
                        .execs = c->exec_check != NULL,
                        .deny_subprocesses = c->filter.disallow_subprocesses,
                };
                _cleanup_close_ int notify_fd = -1;
                char ack;

                r = explain_filter_load(&watch, &notify_fd);
                if (r < 0)
                        setup_failed(report_fd, -r, "cannot load the explaining filter: %m");
                r = send_fd(report_fd, notify_fd);
                if (r < 0)
                        setup_failed(report_fd, -r, "cannot hand the listener to lamina: %m");
                /* nothing may open or exec until lamina serves the listener */
                if (recv(report_fd, &ack, 1, 0) != 1)
                        setup_failed(report_fd, EPROTO, "lamina does not serve the listener");
        }
        close(report_fd);

        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execve(c->exec_path, c->argv, c->envp);
        error = errno;
        if (write(exec_fd, &error, sizeof(error)) < 0) {
                /* nothing to do: init then reports a plain exit */
        }
        _exit(127);
}

_noreturn_ static void run_init(const sandbox_config_t *c, int report_fd)
{
        report_t report = {.outcome = SANDBOX_RAN};
        _cleanup_close_ int exec_read = -1;
        int exec_pipe[2], r, error;
        sigset_t set;
        pid_t main_pid;
        bool main_done = false;

        /* lamina's death ends init, and with it the namespaces */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        enter_view(c, report_fd);

        if (c->fds_limit > 0) {
                struct rlimit rl;
                if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
                        rl.rlim_cur = MIN(c->fds_limit, rl.rlim_max);
                        setrlimit(RLIMIT_NOFILE, &rl);
                }
        }
        if (c->gid >= 0) {
                /* as root, the supplementary groups go too; a user namespace has none to drop */
                if ((geteuid() == 0 && setgroups(0, NULL) < 0) ||
                    setresgid((gid_t)c->gid, (gid_t)c->gid, (gid_t)c->gid) < 0)
                        setup_failed(report_fd, errno,
                                     "cannot take gid %ld (loader.gid): %m; without root, only "
                                     "your own gid is there",
                                     c->gid);
        }
        if (c->uid >= 0 && setresuid((uid_t)c->uid, (uid_t)c->uid, (uid_t)c->uid) < 0)
                setup_failed(report_fd, errno,
                             "cannot take uid %ld (loader.uid): %m; without root, only your own "
                             "uid is there",
                             c->uid);
        if (geteuid() == 0) {
                r = drop_capabilities();
                if (r < 0)
                        setup_failed(report_fd, -r, "cannot drop capabilities: %m");
        }
        if (pipe2(exec_pipe, O_CLOEXEC) < 0)
                setup_failed(report_fd, errno, "cannot make a pipe: %m");
        main_pid = fork();
        if (main_pid < 0)
                setup_failed(report_fd, errno, "cannot start the program: %m");
        if (main_pid == 0) {
                close(exec_pipe[0]);
                run_program(c, report_fd, exec_pipe[1]);
        }
        close(exec_pipe[1]);
        exec_read = exec_pipe[0];

        signal_set(&set);
        while (!main_done) {
                siginfo_t si;
                int status;
                pid_t pid;

                if (sigwaitinfo(&set, &si) < 0)
                        continue;
                if (si.si_signo != SIGCHLD) {
                        if (sent_by_user(&si))
                                kill(main_pid, si.si_signo);
                        continue;
                }
                /* init inherits every orphan of the namespace: reap them all */
                while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
                        if (pid == main_pid) {
                                report.status = status;
                                main_done = true;
                        }
        }
        /* The program is over: so is everything it left running. */
        kill(-1, SIGKILL);
        while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
                ;

        if (read(exec_read, &error, sizeof(error)) == sizeof(error)) {
                report.outcome = SANDBOX_EXEC_FAILED;
                report.error = error;
                errno = error;
                snprintf(report.message, sizeof(report.message), "cannot execute '%s': %m",
                         c->exec_path);
        }
        write_report(report_fd, &report);
        _exit(0);
}

/* Maps the caller's uid and gid to themselves in a new user namespace, where it then holds
 * the capabilities to build the view. */
static int enter_user_namespace(char *message, size_t size)
{
        static const char *const files[] = {"/proc/self/setgroups", "/proc/self/uid_map",
                                            "/proc/self/gid_map"};
        uid_t uid = geteuid();
        gid_t gid = getegid();
        char text[3][64];

        if (unshare(CLONE_NEWUSER) < 0) {
                int r = -errno;
                snprintf(message, size,
                         "cannot make a user namespace: %s; lamina needs unprivileged user "
                         "namespaces (sysctl kernel.unprivileged_userns_clone=1 and "
                         "user.max_user_namespaces > 0), or to run as root",
                         strerror(-r));
                return r;
        }
        /* setgroups must be denied before an unprivileged process may write gid_map */
        snprintf(text[0], sizeof(text[0]), "deny");
        snprintf(text[1], sizeof(text[1]), "%u %u 1\n", uid, uid);
        snprintf(text[2], sizeof(text[2]), "%u %u 1\n", gid, gid);
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_close_ int fd = open(files[i], O_WRONLY | O_CLOEXEC);
                if (fd < 0 || write(fd, text[i], strlen(text[i])) < 0) {
                        int r = -errno;
                        snprintf(message, size, "cannot write '%s': %s", files[i], strerror(-r));
                        return r;
                }
        }
        return 0;
}

int sandbox_run(const sandbox_config_t *c, sandbox_result_t *ret)
{
        _cleanup_close_ int sock = -1;
        report_t report = {.outcome = SANDBOX_SETUP_FAILED};
        explain_t *explain = NULL;
        sigset_t set, old;
        int sv[2], status = 0, r, got = 0;
        pid_t init_pid;

        *ret = (sandbox_result_t){.outcome = SANDBOX_SETUP_FAILED};
        if (geteuid() != 0) {
                r = enter_user_namespace(ret->message, sizeof(ret->message));
                if (r < 0)
                        return r;
        }
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return -errno;

        /* Blocked before the fork, so that no signal is lost between fork and sigwaitinfo. */
        signal_set(&set);
        sigprocmask(SIG_BLOCK, &set, &old);
        /* A raw clone, like fork but into a new pid namespace: unshare(CLONE_NEWPID) would
         * leave lamina unable to make threads, and the explain listener is one. */
        init_pid = (pid_t)syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, NULL, NULL, NULL, NULL);
        if (init_pid < 0) {
                r = -errno;
                sigprocmask(SIG_SETMASK, &old, NULL);
                close(sv[0]);
                close(sv[1]);
                snprintf(ret->message, sizeof(ret->message),
                         "cannot start the sandbox in a new pid namespace: %s", strerror(-r));
                return r;
        }
        if (init_pid == 0) {
                close(sv[0]);
                run_init(c, sv[1]);
        }
        close(sv[1]);
        sock = sv[0];

        if (listening(c)) {
                int notify_fd = -1;

                got = receive(sock, &report, &notify_fd);
                if (got == 2) {
                        explain_options_t opts = {
                                .log_fd = c->log_fd,
                                .report = c->explain,
                                .trace = c->trace,
                                .init_pid = init_pid,
                                .exec_check = c->exec_check,
                                .exec_userdata = c->exec_userdata,
                                .record = c->record,
                                .record_userdata = c->record_userdata,
                        };
                        r = explain_start(notify_fd, &opts, &explain);
                        if (r < 0) {
                                /* its programs would wait for an answer forever: end it */
                                close(notify_fd);
                                kill(init_pid, SIGKILL);
                                report = (report_t){.outcome = SANDBOX_SETUP_FAILED};
                                errno = -r;
                                snprintf(report.message, sizeof(report.message),
                                         "cannot serve the explain listener: %m");
                                got = 1;
                        } else if (send(sock, "1", 1, MSG_NOSIGNAL) != 1) {
                                kill(init_pid, SIGKILL);
                        }
                }
                if (got != 1)
                        got = 0;
        }

        for (;;) {
                siginfo_t si;

                if (sigwaitinfo(&set, &si) < 0)
                        continue;
                if (si.si_signo == SIGCHLD) {
                        if (waitpid(init_pid, &status, WNOHANG) == init_pid)
                                break;
                } else if (sent_by_user(&si)) {
                        kill(init_pid, si.si_signo);
                }
        }
        sigprocmask(SIG_SETMASK, &old, NULL);
        /* init is gone: nothing is left to notify the listener */
        explain_stop(explain);

        if (got != 1) {
                int fd = -1;
                got = receive(sock, &report, &fd);
                if (got == 2)
                        close(fd);
        }
        if (got != 1) {
                snprintf(ret->message, sizeof(ret->message),
                         "the sandbox's init ended without a report (%s %d)",
                         WIFSIGNALED(status) ? "signal" : "exit status",
                         WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
                return 0;
        }
        ret->outcome = report.outcome;
        ret->status = report.status;
        ret->error = report.error;
        memcpy(ret->message, report.message, sizeof(ret->message));
        ret->message[sizeof(ret->message) - 1] = '\0';
        return 0;
}
