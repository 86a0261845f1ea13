/* Unit tests of the sandbox's seccomp filter (src/sandbox/filter.c), as a table: a syscall,
 * with or without sys.disallow_subprocesses, and the errno it must give under the filter (0:
 * allowed). Each case runs in a child that loads the filter, tries the call once and exits
 * with its errno, as bubblewrap's try-syscall does; the parent checks the exit code. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <linux/sched.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "sandbox/filter.h"

/* Returns the errno of one call (0 on success); a child made by a call exits at once. */
typedef int (*try_fn)(void);

static int result(long r)
{
        return r < 0 ? errno : 0;
}

static int try_mount(void)
{
        return result(mount("none", "/tmp", "tmpfs", 0, NULL));
}

static int try_umount(void)
{
        return result(umount2("/nonexistent", 0));
}

static int try_unshare_ns(void)
{
        return result(unshare(CLONE_NEWNS));
}

static int try_unshare_user(void)
{
        return result(unshare(CLONE_NEWUSER));
}

static int try_unshare_files(void)
{
        return result(unshare(CLONE_FILES));
}

static int try_clone_newpid(void)
{
        long r = syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, 0, 0, 0, 0);

        if (r == 0)
                _exit(0);
        if (r > 0)
                waitpid((pid_t)r, NULL, 0);
        return result(r);
}

static int try_clone3(void)
{
        struct clone_args args = {.exit_signal = SIGCHLD};
        long r = syscall(SYS_clone3, &args, sizeof(args));

        if (r == 0)
                _exit(0);
        return result(r);
}

static int try_fork(void)
{
        pid_t pid = fork();

        if (pid == 0)
                _exit(0);
        if (pid > 0)
                waitpid(pid, NULL, 0);
        return result(pid);
}

static void *thread_main(void *arg)
{
        return arg;
}

static int try_thread(void)
{
        pthread_t t;
        int r = pthread_create(&t, NULL, thread_main, NULL);

        if (r == 0)
                pthread_join(t, NULL);
        return r;
}

static int try_ptrace(void)
{
        return result(ptrace(PTRACE_TRACEME, 0, NULL, NULL));
}

static int try_chroot(void)
{
        return result(chroot("/"));
}

static int try_pivot_root(void)
{
        return result(syscall(SYS_pivot_root, "/", "/"));
}

static int try_open_tree(void)
{
        return result(syscall(SYS_open_tree, AT_FDCWD, "/", 0));
}

static int try_fsopen(void)
{
        return result(syscall(SYS_fsopen, "tmpfs", 0));
}

static int try_bpf(void)
{
        return result(syscall(SYS_bpf, 0, NULL, 0));
}

static int try_keyctl(void)
{
        return result(syscall(SYS_keyctl, 0, 0, 0, 0, 0));
}

static int try_userfaultfd(void)
{
        return result(syscall(SYS_userfaultfd, 0));
}

static int try_io_uring(void)
{
        return result(syscall(SYS_io_uring_setup, 1, NULL));
}

static int try_open_by_handle(void)
{
        return result(syscall(SYS_open_by_handle_at, AT_FDCWD, NULL, 0));
}

static int try_setns(void)
{
        return result(setns(-1, 0));
}

static int try_getpid(void)
{
        return result(getpid());
}

static int try_open(void)
{
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

        if (fd >= 0)
                close(fd);
        return result(fd);
}

static const struct filter_case {
        const char *name;
        try_fn fn;
        bool no_subprocesses;
        int expected;
} cases[] = {
        {"mount", try_mount, false, EPERM},
        {"umount2", try_umount, false, EPERM},
        {"unshare(CLONE_NEWNS)", try_unshare_ns, false, EPERM},
        {"unshare(CLONE_NEWUSER)", try_unshare_user, false, EPERM},
        {"unshare(CLONE_FILES)", try_unshare_files, false, 0},
        {"clone(CLONE_NEWPID)", try_clone_newpid, false, EPERM},
        {"clone3", try_clone3, false, ENOSYS},
        {"fork", try_fork, false, 0},
        {"pthread_create", try_thread, false, 0},
        {"ptrace", try_ptrace, false, EPERM},
        {"chroot", try_chroot, false, EPERM},
        {"pivot_root", try_pivot_root, false, EPERM},
        {"open_tree", try_open_tree, false, EPERM},
        {"fsopen", try_fsopen, false, EPERM},
        {"bpf", try_bpf, false, EPERM},
        {"keyctl", try_keyctl, false, EPERM},
        {"userfaultfd", try_userfaultfd, false, EPERM},
        {"io_uring_setup", try_io_uring, false, ENOSYS},
        {"open_by_handle_at", try_open_by_handle, false, EPERM},
        {"setns", try_setns, false, EPERM},
        {"getpid", try_getpid, false, 0},
        {"open", try_open, false, 0},
        {"fork, subprocesses disallowed", try_fork, true, EPERM},
        {"pthread_create, subprocesses disallowed", try_thread, true, 0},
        {"clone(CLONE_NEWPID), subprocesses disallowed", try_clone_newpid, true, EPERM},
};

static void test_filter(void **state)
{
        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                const struct filter_case *c = &cases[i];
                sandbox_filter_options_t opts = {.disallow_subprocesses = c->no_subprocesses};
                int status;
                pid_t pid = fork();

                assert_true(pid >= 0);
                if (pid == 0) {
                        int r = sandbox_filter_load(&opts);
                        if (r < 0)
                                _exit(200);
                        _exit(c->fn());
                }
                assert_int_equal(waitpid(pid, &status, 0), pid);
                if (!WIFEXITED(status) || WEXITSTATUS(status) != c->expected)
                        fail_msg("%s: wanted errno %d, got %s %d", c->name, c->expected,
                                 WIFEXITED(status) ? "exit" : "signal",
                                 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        }
}

/* A syscall through another ABI (i386's int 0x80, x32's numbers) would dodge the rules,
 * which name native numbers: the process is killed instead. */
static void test_other_abis_are_killed(void **state)
{
        (void)state;
#if defined(__x86_64__)
        for (int abi = 0; abi < 2; abi++) {
                int status;
                pid_t pid = fork();

                assert_true(pid >= 0);
                if (pid == 0) {
                        sandbox_filter_options_t opts = {0};
                        long ret;

                        if (sandbox_filter_load(&opts) < 0)
                                _exit(200);
                        if (abi == 0) /* i386 getpid */
                                __asm__ volatile("int $0x80" : "=a"(ret) : "a"(20) : "memory");
                        else /* x32 getpid */
                                ret = syscall(0x40000000 | SYS_getpid);
                        _exit(ret >= 0 ? 0 : 1);
                }
                assert_int_equal(waitpid(pid, &status, 0), pid);
                assert_true(WIFSIGNALED(status));
                assert_int_equal(WTERMSIG(status), SIGSYS);
        }
#endif
}

/* The filter is inherited and cannot be lifted: no_new_privs is set. */
static void test_no_new_privs(void **state)
{
        (void)state;
        int status;
        pid_t pid = fork();

        assert_true(pid >= 0);
        if (pid == 0) {
                sandbox_filter_options_t opts = {0};
                if (sandbox_filter_load(&opts) < 0)
                        _exit(200);
                _exit(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_filter),
                cmocka_unit_test(test_other_abis_are_killed),
                cmocka_unit_test(test_no_new_privs),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
