/* The sandbox's seccomp filter (see filter.h). A deny list, not an allow list: a program runs
 * every syscall natively except those below, so that nothing it legitimately does is slowed or
 * broken. Denied calls fail with EPERM, as if lamina had no privilege for them; io_uring fails
 * with ENOSYS so that programs fall back to ordinary syscalls, and clone3 too, because its
 * flags sit in memory where a filter cannot read them: glibc then uses clone, whose flags the
 * filter checks. Other architectures' syscalls (i386 through int 0x80) kill the process,
 * because the rules are written for the native numbers. */
#include <errno.h>
#include <linux/sched.h>
#include <sched.h>
#include <seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>

#include "sandbox/filter.h"
#include "shared/macro.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* Syscalls that change what the process can see or reach beyond its view, or the kernel. */
static const char *const denied[] = {
        "mount",
        "umount2",
        "pivot_root",
        "chroot",
        "setns",
        /* the new mount API reaches the same as mount(2) */
        "fsopen",
        "fsconfig",
        "fsmount",
        "fspick",
        "move_mount",
        "open_tree",
        "mount_setattr",
        "ptrace",
        "process_vm_writev",
        "bpf",
        "perf_event_open",
        "kexec_load",
        "kexec_file_load",
        "init_module",
        "finit_module",
        "delete_module",
        "keyctl",
        "add_key",
        "request_key",
        "userfaultfd",
        "open_by_handle_at",
        "name_to_handle_at",
        "swapon",
        "swapoff",
        "reboot",
        "acct",
        "quotactl",
        "lookup_dcookie",
};

static const char *const unsupported[] = {
        "io_uring_setup",
        "io_uring_enter",
        "io_uring_register",
        "clone3",
};

static const unsigned long namespace_flags[] = {
        CLONE_NEWNS,  CLONE_NEWUTS, CLONE_NEWIPC,    CLONE_NEWUSER,
        CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP, CLONE_NEWTIME,
};

static void ctxp(scmp_filter_ctx *ctx)
{
        if (*ctx)
                seccomp_release(*ctx);
}

/* A syscall that this libseccomp or architecture does not know is not an error: there is
 * nothing to deny. */
static int rule(scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned count,
                const struct scmp_arg_cmp *args)
{
        int nr = seccomp_syscall_resolve_name(name);

        if (nr == __NR_SCMP_ERROR)
                return 0;
        return seccomp_rule_add_array(ctx, action, nr, count, args);
}

int sandbox_filter_load(const sandbox_filter_options_t *opts)
{
        _cleanup_(ctxp) scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
        int r;

        if (!ctx)
                return -ENOMEM;
        r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(denied); i++) {
                r = rule(ctx, SCMP_ACT_ERRNO(EPERM), denied[i], 0, NULL);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < ELEMENTSOF(unsupported); i++) {
                r = rule(ctx, SCMP_ACT_ERRNO(ENOSYS), unsupported[i], 0, NULL);
                if (r < 0)
                        return r;
        }
        /* A new namespace of any kind, through clone or unshare: one rule per flag, since a
         * rule can only test that masked bits equal a value. */
        for (size_t i = 0; i < ELEMENTSOF(namespace_flags); i++) {
                struct scmp_arg_cmp arg =
                        SCMP_A0(SCMP_CMP_MASKED_EQ, namespace_flags[i], namespace_flags[i]);
                r = rule(ctx, SCMP_ACT_ERRNO(EPERM), "clone", 1, &arg);
                if (r >= 0)
                        r = rule(ctx, SCMP_ACT_ERRNO(EPERM), "unshare", 1, &arg);
                if (r < 0)
                        return r;
        }
        if (opts && opts->disallow_subprocesses) {
                /* threads are fine; a clone without CLONE_THREAD is a new process */
                struct scmp_arg_cmp arg = SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0);
                r = rule(ctx, SCMP_ACT_ERRNO(EPERM), "clone", 1, &arg);
                if (r >= 0)
                        r = rule(ctx, SCMP_ACT_ERRNO(EPERM), "fork", 0, NULL);
                if (r >= 0)
                        r = rule(ctx, SCMP_ACT_ERRNO(EPERM), "vfork", 0, NULL);
                if (r < 0)
                        return r;
        }
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return -errno;
        return seccomp_load(ctx);
}
