/* The sandbox: a program run in fresh namespaces, in a view built from a verified tree.
 *
 * Use:
 *   1) fill a sandbox_config_t: the tree's root (mounted read-only as "/"), the setup list (the
 *      policy compiles it from the manifest: binds, tmpfs, /proc, /dev), the program, its
 *      argv, environment and working directory;
 *   2) sandbox_run() runs it to the end and fills a sandbox_result_t.
 *
 * sandbox_run() makes new mount, pid and ipc namespaces (and a user namespace when lamina is
 * not root, mapping the caller's ids to themselves). A small init, pid 1 of the new pid
 * namespace, executes the setup list, pivots into the view, drops capabilities, and starts the
 * program as its child, which loads the seccomp filter (filter.h) and Landlock's limits on
 * file creation before it becomes the program; init forwards SIGINT,
 * SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 sent to lamina, reaps every process, and when
 * the program ends, ends the rest of the namespace and reports the program's wait status.
 * Nothing is left behind: the namespaces die with init, and init dies with lamina. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "explain/explain.h"
#include "sandbox/filter.h"

typedef enum sandbox_op_type {
        SANDBOX_OP_BIND,  /* the host path source, at target */
        SANDBOX_OP_TMPFS, /* a fresh tmpfs at target */
        SANDBOX_OP_PROC,  /* the new pid namespace's /proc at target (kernel knobs read-only) */
        SANDBOX_OP_DEV,   /* a minimal /dev at target: null, zero, full, random, urandom, tty */
} sandbox_op_type_t;

enum {
        SANDBOX_RDONLY = 1 << 0,
        SANDBOX_NOEXEC = 1 << 1,
        SANDBOX_CREATE = 1 << 2, /* new files may be made below target; nowhere else */
};

typedef struct sandbox_op {
        sandbox_op_type_t type;
        const char *source; /* SANDBOX_OP_BIND: host path */
        const char *target; /* absolute path in the view; its mount point exists in the tree */
        unsigned flags;     /* SANDBOX_RDONLY, SANDBOX_NOEXEC */
} sandbox_op_t;

typedef struct sandbox_config {
        const char *root; /* host directory shown as "/", read-only */
        bool host_root;   /* lamina trace: root is only where a tmpfs is mounted to hold the
                             view; "/" shows the host's whole "/", read-only, submounts too */
        const sandbox_op_t *ops;
        size_t op_count;
        const char *exec_path; /* the program, as a path in the view */
        char *const *argv;
        char *const *envp;
        const char *cwd;         /* in the view */
        unsigned long fds_limit; /* RLIMIT_NOFILE for the program; 0 leaves it */
        long uid, gid;           /* the program's ids (loader.uid, loader.gid); -1 leaves them */
        bool creation_must_be_limited; /* a directory is bound without SANDBOX_CREATE: refuse
                                          to run where Landlock cannot enforce that */
        sandbox_filter_options_t filter;
        bool explain; /* report denials while the program runs (explain.h) */
        bool trace;   /* and every file syscall */
        int log_fd;   /* where those reports go */
        /* decides every exec (child manifests) through a listener that sees only execs; may be
         * NULL */
        explain_exec_fn exec_check;
        void *exec_userdata;
        /* records every path the program uses (explain.h); may be NULL */
        explain_record_fn record;
        void *record_userdata;
} sandbox_config_t;

typedef enum sandbox_outcome {
        SANDBOX_RAN,          /* status holds the program's wait status */
        SANDBOX_SETUP_FAILED, /* the sandbox could not be made: message says why */
        SANDBOX_EXEC_FAILED,  /* the program could not be started: error and message */
} sandbox_outcome_t;

typedef struct sandbox_result {
        sandbox_outcome_t outcome;
        int status;         /* SANDBOX_RAN: as waitpid() gives it */
        int error;          /* SANDBOX_EXEC_FAILED: the errno of execve() */
        char message[1024]; /* not SANDBOX_RAN: one line, without "lamina: " */
} sandbox_result_t;

/* Runs c to its end (see above). Returns 0 when the outcome is in *ret (whatever it is), or a
 * negative errno when lamina itself failed before anything started (ret->message says what). */
int sandbox_run(const sandbox_config_t *c, sandbox_result_t *ret);
