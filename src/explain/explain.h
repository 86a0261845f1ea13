/* Denials you can act on: while a sandboxed program runs at log level warning or above, a
 * seccomp user-notification listener sees the file syscalls of every process in the sandbox
 * (open, exec, stat, ...), and for a path that the view does not have but the host does, or
 * an exec that the view refuses, writes one line saying who tried what, why it failed, and
 * the manifest line that would allow it. It answers every notification with CONTINUE: it
 * reports, it never grants, and the kernel decides as it would without it.
 *
 * Use:
 *   1) in the sandbox's init, after the view is entered and no_new_privs is set, just before
 *      the program is started: explain_filter_load() adds the notifying filter and gives its
 *      listener fd. From then on, every notified call of init or its children waits until
 *      someone serves the listener, so init must not open, stat or exec anything before
 *      step 3 has happened (sending the fd over a socket is fine: sendmsg is not notified);
 *   2) init sends that fd to lamina (outside the sandbox, in the host's mount namespace, where
 *      both the host and, through /proc/PID/root, the view can be looked at);
 *   3) lamina calls explain_start() with it, which serves notifications on a thread until
 *      explain_stop(). Call explain_stop() only when the sandbox has ended: once the listener
 *      is closed, the kernel fails every notified call of a process still running under the
 *      filter with ENOSYS. For the same reason, if explain_start() fails the program cannot
 *      run normally: end the sandbox.
 *
 * What it writes to log_fd, one write() per line:
 *   lamina: denied: pid 7 (python3 x.py < sh -c python3 x.py) open "/etc/hosts": not in the
 *           manifest; allow with: sgx.allowed_files = ["file:/etc/hosts"]
 * (on one line). The pid is the one the sandbox sees; the chain is each process's argv from
 * the caller up through its parents, up to init. A path that is in neither the view nor the
 * host is a probe (Python's search path) and says nothing. Each (verb, path) is reported once
 * per run. With trace, every notified call also gets a "trace: ..." line saying what the view
 * has there. The suggestion assumes the program sees a host file at the same path, as
 * Graphene's manifests do. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

typedef struct explain explain_t;

/* Decides an exec: 0 lets it run; -EACCES refuses it, with why in message (one line, without
 * the "lamina: denied: pid ... exec PATH: " that the listener puts before it). pid is the
 * caller as lamina sees it; path is as the caller wrote it. */
typedef int (*explain_exec_fn)(pid_t pid, const char *path, char *message, size_t size,
                               void *userdata);

/* What lamina trace records: the uses of a path that a call shows. */
enum {
        EXPLAIN_USE_READ = 1 << 0,   /* opened for reading (or mapped: an mmap needs an open) */
        EXPLAIN_USE_EXEC = 1 << 1,   /* executed, or the interpreter ("#!", ELF) of what was */
        EXPLAIN_USE_WRITE = 1 << 2,  /* an existing file opened for writing, where it may be */
        EXPLAIN_USE_CREATE = 1 << 3, /* opened to be made, where nothing was and it may be */
        EXPLAIN_USE_STAT = 1 << 4,   /* stat, access or readlink of something that is there */
};

/* Called once for each new (use, path), on the listener's thread, while the caller still
 * waits: path is absolute and normalised in the view, symlinks not resolved (the interpreter
 * of an exec: as the file names it); process is "N (argv chain)" as in report lines. */
typedef void (*explain_record_fn)(const char *path, unsigned use, bool is_dir, const char *process,
                                  void *userdata);

typedef struct explain_options {
        int log_fd;     /* where lines go: stderr, or loader.log_file */
        bool report;    /* explain denials of file syscalls (log level warning) */
        bool trace;     /* log level trace/all: every intercepted call, with what the
                           view has there */
        pid_t init_pid; /* the sandbox's init, as lamina sees it: argv chains stop there */
        explain_exec_fn exec_check; /* may be NULL */
        void *exec_userdata;
        explain_record_fn record; /* may be NULL; needs the filter's files */
        void *record_userdata;
} explain_options_t;

typedef struct explain_filter_options {
        bool files;             /* notify every file syscall (for report and trace) */
        bool execs;             /* notify execve and execveat (for exec_check) */
        bool deny_subprocesses; /* notify fork, vfork and clone of a process (refused) */
} explain_filter_options_t;

/* Loads the notifying filter into the calling process (no_new_privs must be set already; the
 * sandbox's own filter sets it). With deny_subprocesses (sys.disallow_subprocesses), fork,
 * vfork and clone without CLONE_THREAD are notified too, and the listener refuses them with
 * EPERM and a line saying why; an exec that exec_check refuses gets EACCES the same way.
 * These are the only answers that are not CONTINUE, and they refuse what the manifests
 * refuse, never grant. On success *ret_fd is the listener. Returns 0 or -errno. */
int explain_filter_load(const explain_filter_options_t *opts, int *ret_fd);

/* Starts serving notify_fd on a thread (with every signal blocked), copying *opts. On success
 * the listener belongs to the returned explain_t; on failure it stays the caller's. Returns 0,
 * -EINVAL (opts or ret NULL), -EBADF (a negative fd), -ENOMEM, or the error of making the
 * thread's fds or the thread. */
int explain_start(int notify_fd, const explain_options_t *opts, explain_t **ret);

/* Serves what is already waiting, stops the thread, closes the listener, frees e. Accepts
 * NULL; returns NULL. */
explain_t *explain_stop(explain_t *e);
