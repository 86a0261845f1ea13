/* The explain listener (see explain.h): a libseccomp filter that notifies the file syscalls a
 * program uses to reach paths, and a thread that serves the notifications. For each one it
 * reads the path from the target's memory, asks view.c what the view and the host have there,
 * builds the report line while the target still waits (its argv chain may be gone a moment
 * later), answers CONTINUE, and only then writes the line, so that a slow log never holds the
 * program. Whatever goes wrong while serving one notification costs at most that one line:
 * the answer is always CONTINUE, and the loop runs until explain_stop(), because a listener
 * that stops answering would leave the program hanging in its next open. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "explain/explain-internal.h"
#include "explain/explain.h"
#include "shared/strset.h"

/* Distinct denials remembered (and so reported) in one run; a program that hits more is
 * probing, and its first lines say what matters. */
#define SEEN_MAX 4096

/* Bytes of a path read at first; what follows is read to the end of its page, then page by
 * page. */
#define STRING_FIRST_READ 256

/* Notifications served after explain_stop() was asked for. */
#define DRAIN_MAX 1024

typedef enum flags_kind {
        FLAGS_NONE,
        FLAGS_OPEN,     /* open(2) flags: O_NOFOLLOW, O_CREAT, O_EXCL */
        FLAGS_AT,       /* AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH */
        FLAGS_OPEN_HOW, /* a struct open_how in the target's memory */
} flags_kind_t;

typedef struct syscall_spec {
        const char *name;
        explain_verb_t verb;
        int dirfd_arg; /* -1: relative paths start at the cwd */
        int path_arg;
        int flags_arg; /* -1: none */
        flags_kind_t flags_kind;
        bool nofollow; /* lstat, readlink: the last symlink is what is asked about */
        bool create;   /* creat */
} syscall_spec_t;

/* Only these: each notification costs a round trip through lamina (20-40 us). */
static const syscall_spec_t specs[] = {
        {"open", VERB_OPEN, -1, 0, 1, FLAGS_OPEN, false, false},
        {"openat", VERB_OPEN, 0, 1, 2, FLAGS_OPEN, false, false},
        {"openat2", VERB_OPEN, 0, 1, 2, FLAGS_OPEN_HOW, false, false},
        {"creat", VERB_OPEN, -1, 0, -1, FLAGS_NONE, false, true},
        {"execve", VERB_EXEC, -1, 0, -1, FLAGS_NONE, false, false},
        {"execveat", VERB_EXEC, 0, 1, 4, FLAGS_AT, false, false},
        {"stat", VERB_STAT, -1, 0, -1, FLAGS_NONE, false, false},
        {"lstat", VERB_STAT, -1, 0, -1, FLAGS_NONE, true, false},
        {"newfstatat", VERB_STAT, 0, 1, 3, FLAGS_AT, false, false},
        {"statx", VERB_STAT, 0, 1, 2, FLAGS_AT, false, false},
        {"access", VERB_ACCESS, -1, 0, -1, FLAGS_NONE, false, false},
        {"faccessat", VERB_ACCESS, 0, 1, -1, FLAGS_NONE, false, false},
        {"faccessat2", VERB_ACCESS, 0, 1, 3, FLAGS_AT, false, false},
        {"readlink", VERB_READLINK, -1, 0, -1, FLAGS_NONE, true, false},
        {"readlinkat", VERB_READLINK, 0, 1, -1, FLAGS_NONE, true, false},
};

/* The calls that make a process, when the manifest forbids that. */
static const char *const process_calls[] = {"fork", "vfork", "clone"};

static const char *const verbs[] = {
        [VERB_OPEN] = "open",     [VERB_EXEC] = "exec",         [VERB_STAT] = "stat",
        [VERB_ACCESS] = "access", [VERB_READLINK] = "readlink",
};

struct explain {
        explain_options_t opts;
        int notify_fd;
        int stop_fd;
        int proc_fd; /* lamina's /proc */
        uint32_t arch;
        int nrs[ELEMENTSOF(specs)];
        int process_nrs[ELEMENTSOF(process_calls)];
        size_t page_size;
        bool use_proc_mem; /* process_vm_readv is refused here (a container's seccomp policy) */
        bool seen_full_said;
        struct seccomp_notif *req;
        struct seccomp_notif_resp *resp;
        size_t req_size;
        size_t resp_size;
        strset_t seen;     /* the (verb, path) pairs already reported */
        strset_t recorded; /* the (use, path) pairs already given to opts.record */
        strbuf_t line;
        char path[PATH_MAX];
        verdict_t verdict;
        pthread_t thread;
};

static void ctxp(scmp_filter_ctx *ctx)
{
        if (*ctx)
                seccomp_release(*ctx);
}

int explain_filter_load(const explain_filter_options_t *opts, int *ret_fd)
{
        bool deny_subprocesses = opts->deny_subprocesses;
        _cleanup_(ctxp) scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
        int r, fd;

        if (!ctx)
                return -ENOMEM;
        /* errors as the kernel gave them, not libseccomp's catch-all -ECANCELED; no_new_privs is
         * the caller's decision (explain.h), and other architectures' calls are the sandbox
         * filter's business */
        r = seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1);
        if (r >= 0)
                r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
        if (r >= 0)
                r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ALLOW);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(specs); i++) {
                const syscall_spec_t *s = &specs[i];
                int nr = seccomp_syscall_resolve_name(s->name);

                if (nr == __NR_SCMP_ERROR)
                        continue; /* not on this architecture: nothing to watch */
                if (!opts->files && !(opts->execs && s->verb == VERB_EXEC))
                        continue;
                if (s->flags_kind == FLAGS_AT && s->verb != VERB_EXEC) {
                        /* fstat() is newfstatat(fd, "", AT_EMPTY_PATH): no path, no cost */
                        struct scmp_arg_cmp arg = {(unsigned)s->flags_arg, SCMP_CMP_MASKED_EQ,
                                                   AT_EMPTY_PATH, 0};
                        r = seccomp_rule_add_array(ctx, SCMP_ACT_NOTIFY, nr, 1, &arg);
                } else {
                        r = seccomp_rule_add_array(ctx, SCMP_ACT_NOTIFY, nr, 0, NULL);
                }
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; deny_subprocesses && i < ELEMENTSOF(process_calls); i++) {
                /* threads are fine: a clone without CLONE_THREAD is a new process */
                struct scmp_arg_cmp arg = SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0);
                int nr = seccomp_syscall_resolve_name(process_calls[i]);

                if (nr == __NR_SCMP_ERROR)
                        continue;
                r = seccomp_rule_add_array(ctx, SCMP_ACT_NOTIFY, nr,
                                           STREQ(process_calls[i], "clone") ? 1 : 0, &arg);
                if (r < 0)
                        return r;
        }
        r = seccomp_load(ctx);
        if (r < 0)
                return r;
        fd = seccomp_notify_fd(ctx);
        if (fd < 0)
                return fd;
        *ret_fd = fd;
        return 0;
}

/* One notification's target, while it is served. */
typedef struct target {
        pid_t pid;  /* the thread, as lamina sees it */
        int procfd; /* /proc/pid, checked to be the notification's */
        int memfd;  /* /proc/pid/mem, opened when needed */
} target_t;

/* Reads up to size bytes at addr of the target, never across a page boundary. Returns the
 * bytes read, or -errno. */
static ssize_t read_chunk(explain_t *e, target_t *t, uint64_t addr, void *buf, size_t size)
{
        ssize_t n;

        if (!e->use_proc_mem) {
                struct iovec local = {buf, size};
                struct iovec remote = {(void *)(uintptr_t)addr, size};

                n = process_vm_readv(t->pid, &local, 1, &remote, 1, 0);
                if (n >= 0)
                        return n;
                if (errno != EPERM && errno != ENOSYS)
                        return -errno;
                /* a container's seccomp policy may refuse process_vm_readv: the same memory,
                 * under the same ptrace check, is at /proc/PID/mem */
                e->use_proc_mem = true;
        }
        if (t->memfd < 0) {
                t->memfd = openat(t->procfd, "mem", O_RDONLY | O_CLOEXEC);
                if (t->memfd < 0)
                        return -errno;
        }
        n = pread(t->memfd, buf, size, (off_t)addr);
        return n < 0 ? -errno : n;
}

/* Reads size bytes at addr, page by page. Returns the bytes read (fewer where the memory
 * ends), or -errno when none could be. */
static ssize_t read_memory(explain_t *e, target_t *t, uint64_t addr, void *buf, size_t size)
{
        size_t done = 0;

        while (done < size) {
                uint64_t at = addr + done;
                size_t chunk = MIN(e->page_size - (size_t)(at % e->page_size), size - done);
                ssize_t n = read_chunk(e, t, at, (char *)buf + done, chunk);

                if (n <= 0)
                        return done > 0 ? (ssize_t)done : n < 0 ? n : -EFAULT;
                done += (size_t)n;
                if ((size_t)n < chunk)
                        break;
        }
        return (ssize_t)done;
}

/* Reads the NUL-terminated string at addr into buf (size bytes), page by page, so that a
 * string that ends just before memory the target cannot read is still read whole. Returns its
 * length, -EFAULT when it runs into such memory, -ENAMETOOLONG past size. */
static ssize_t read_string(explain_t *e, target_t *t, uint64_t addr, char *buf, size_t size)
{
        size_t done = 0;

        while (done < size) {
                uint64_t at = addr + done;
                size_t chunk = MIN(e->page_size - (size_t)(at % e->page_size), size - done);
                ssize_t n;
                char *nul;

                /* most paths are short: copy a whole page only when one is this long */
                if (done == 0)
                        chunk = MIN(chunk, (size_t)STRING_FIRST_READ);
                n = read_chunk(e, t, at, buf + done, chunk);

                if (n < 0)
                        return n == -ESRCH ? n : -EFAULT;
                nul = memchr(buf + done, '\0', (size_t)n);
                if (nul)
                        return nul - buf;
                if ((size_t)n < chunk)
                        return -EFAULT;
                done += (size_t)n;
        }
        return -ENAMETOOLONG;
}

static const syscall_spec_t *spec_of(const explain_t *e, int nr)
{
        for (size_t i = 0; i < ELEMENTSOF(specs); i++)
                if (e->nrs[i] == nr)
                        return &specs[i];
        return NULL;
}

/* Decodes what the call asks, from its registers and, for openat2, its struct open_how. */
static void decode(explain_t *e, target_t *t, const syscall_spec_t *s, const __u64 *args,
                   request_t *q)
{
        uint64_t flags = s->flags_arg >= 0 ? args[s->flags_arg] : 0;

        *q = (request_t){
                .verb = s->verb,
                .path = e->path,
                .dirfd = s->dirfd_arg >= 0 ? (int)(int32_t)args[s->dirfd_arg] : AT_FDCWD,
                .follow = !s->nofollow,
                .create = s->create,
                .write = s->create,
        };
        switch (s->flags_kind) {
        case FLAGS_OPEN_HOW: {
                struct open_how how = {0};
                size_t size = MIN((size_t)args[3], sizeof(how));

                if (read_memory(e, t, args[2], &how, size) != (ssize_t)size)
                        break;
                flags = how.flags;
                q->in_root = how.resolve & RESOLVE_IN_ROOT;
        }
                /* fall through */
        case FLAGS_OPEN:
                if ((flags & O_NOFOLLOW) || ((flags & O_CREAT) && (flags & O_EXCL)))
                        q->follow = false;
                if ((flags & O_CREAT) || (flags & __O_TMPFILE) == __O_TMPFILE)
                        q->create = true;
                if ((flags & O_ACCMODE) != O_RDONLY)
                        q->write = true;
                break;
        case FLAGS_AT:
                if (flags & AT_SYMLINK_NOFOLLOW)
                        q->follow = false;
                if ((flags & AT_EMPTY_PATH) && e->path[0] == '\0')
                        q->fd_only = true;
                break;
        case FLAGS_NONE:
                break;
        }
}

static void add_suggestion(strbuf_t *b, bool trusted, const char *path, bool dir)
{
        strbuf_addf(b, "%s: sgx.%s_files = [\"file:", trusted ? "trust it with" : "allow with",
                    trusted ? "trusted" : "allowed");
        strbuf_add_quoted(b, path);
        if (dir && !STREQ(path, "/"))
                strbuf_add(b, "/", 1);
        strbuf_add(b, "\"]", 2);
}

/* Whether the path as written says nothing more than the resolved one (but a trailing '/'). */
static bool same_path(const char *written, const char *resolved)
{
        size_t n = strlen(resolved);

        if (strncmp(written, resolved, n) != 0)
                return false;
        return written[n + strspn(written + n, "/")] == '\0';
}

static void add_reason(strbuf_t *b, const request_t *q, const verdict_t *v)
{
        switch (v->kind) {
        case KIND_IN_VIEW:
                strbuf_addf(b, "in the view");
                break;
        case KIND_NEITHER:
                strbuf_addf(b, "in neither the view nor the host");
                break;
        case KIND_KERNEL:
                strbuf_addf(b, "under /proc or /dev, which the sandbox makes");
                break;
        case KIND_CREATED:
                strbuf_addf(b, "not in the view, where its directory is writable");
                break;
        case KIND_OUTSIDE:
                strbuf_addf(b, "its directory is outside the view");
                break;
        case KIND_UNKNOWN:
                errno = v->error;
                strbuf_addf(b, "cannot look at the view: %m");
                break;
        case KIND_MISSING:
                strbuf_addf(b, "not in the manifest; ");
                add_suggestion(b, v->code || q->verb == VERB_EXEC, v->subject, v->is_dir);
                break;
        case KIND_NOEXEC:
                strbuf_addf(b, "the view refuses to execute it (only verified files run); ");
                add_suggestion(b, true, v->target, false);
                break;
        case KIND_NOEXEC_RUNTIME:
                strbuf_addf(b, "the view refuses to execute it: files written at run time never "
                               "run, only verified files do");
                break;
        case KIND_NOT_EXECUTABLE:
                strbuf_addf(b,
                            "the view refuses to execute it: it is not executable (mode %04o); "
                            "make it executable on the host, then ",
                            (unsigned)v->mode);
                add_suggestion(b, true, v->target, false);
                break;
        case KIND_INTERP_MISSING:
                strbuf_addf(b, "its interpreter \"");
                strbuf_add_quoted(b, v->subject);
                strbuf_addf(b, "\" is not in the manifest; ");
                add_suggestion(b, true, v->subject, false);
                break;
        }
}

/* "PREFIX pid N (chain) VERB "path" (resolved): reason\n" */
static void build_line(explain_t *e, const char *prefix, int procfd, const request_t *q,
                       const verdict_t *v)
{
        strbuf_t *b = &e->line;
        const char *written = q->fd_only ? v->target : q->path;

        strbuf_addf(b, "%s pid ", prefix);
        process_describe(e->proc_fd, procfd, e->opts.init_pid, b);
        strbuf_addf(b, " %s \"", verbs[q->verb]);
        strbuf_add_quoted(b, written);
        strbuf_add(b, "\"", 1);
        if (v->kind == KIND_MISSING && v->via_symlink) {
                strbuf_add(b, " (-> ", 5);
                strbuf_add_quoted(b, v->subject);
                strbuf_add(b, ")", 1);
        } else if (v->target[0] && !same_path(written, v->target)) {
                strbuf_add(b, " (", 2);
                strbuf_add_quoted(b, v->target);
                strbuf_add(b, ")", 1);
        }
        strbuf_add(b, ": ", 2);
        add_reason(b, q, v);
        strbuf_add(b, "\n", 1);
}

/* Whether this (verb, path) is to be reported now: the first time only. */
static bool first_time(explain_t *e, const request_t *q, const verdict_t *v)
{
        _cleanup_free_ char *key = NULL;
        int r;

        if (asprintf(&key, "%d%s", (int)q->verb, v->target) < 0)
                return false;
        r = strset_add(&e->seen, key);
        if (r == -ENOSPC && !e->seen_full_said) {
                e->seen_full_said = true;
                strbuf_addf(&e->line,
                            "lamina: more than %d different denials; no more are reported\n",
                            SEEN_MAX);
        }
        return r > 0;
}

/* Gives opts.record one use of path, the first time only. */
static void record_one(explain_t *e, int procfd, const char *path, unsigned use, bool is_dir)
{
        _cleanup_free_ char *key = NULL;
        strbuf_t process = {0};

        if (asprintf(&key, "%u %s", use, path) < 0 || strset_add(&e->recorded, key) <= 0)
                return;
        process_describe(e->proc_fd, procfd, e->opts.init_pid, &process);
        if (!process.error)
                e->opts.record(path, use, is_dir, process.data, e->opts.record_userdata);
        strbuf_free(&process);
}

/* What a call that the view answers shows of the paths the program uses: the file, or for an
 * exec the file and its interpreters; a file written or made where the view lets it. A probe,
 * a refusal and the kernel's own files show nothing. */
static void record(explain_t *e, int procfd, const request_t *q, const verdict_t *v)
{
        char interpreters[4][PATH_MAX];
        unsigned use;
        int count;

        if (v->kind == KIND_CREATED) {
                record_one(e, procfd, v->target, EXPLAIN_USE_CREATE, false);
                return;
        }
        if (v->kind != KIND_IN_VIEW)
                return;
        switch (q->verb) {
        case VERB_OPEN:
                if (q->write && v->read_only)
                        return; /* EROFS */
                use = q->write ? EXPLAIN_USE_WRITE : EXPLAIN_USE_READ;
                break;
        case VERB_EXEC:
                use = EXPLAIN_USE_EXEC;
                break;
        default:
                use = EXPLAIN_USE_STAT;
                break;
        }
        record_one(e, procfd, v->target, use, v->is_dir);
        if (use != EXPLAIN_USE_EXEC || v->is_dir)
                return;
        count = view_interpreters(procfd, v->target, interpreters, (int)ELEMENTSOF(interpreters));
        for (int i = 0; i < count; i++)
                record_one(e, procfd, interpreters[i], EXPLAIN_USE_EXEC, false);
}

/* Looks at one notification and leaves its line, if any, in e->line. */
static void inspect(explain_t *e, const struct seccomp_notif *req)
{
        const syscall_spec_t *s = spec_of(e, req->data.nr);
        target_t t = {.pid = (pid_t)req->pid, .procfd = -1, .memfd = -1};
        verdict_t *v = &e->verdict;
        request_t q = {0};
        char name[32];
        ssize_t n;

        if (!s || req->data.arch != e->arch)
                return;
        snprintf(name, sizeof(name), "%d", (int)t.pid);
        t.procfd = openat(e->proc_fd, name, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (t.procfd < 0)
                return;
        /* from here on, procfd is the target's even if its pid is reused */
        if (seccomp_notify_id_valid(e->notify_fd, req->id) < 0)
                goto out;

        n = read_string(e, &t, req->data.args[s->path_arg], e->path, sizeof(e->path));
        if (n >= 0)
                decode(e, &t, s, req->data.args, &q);
        /* what was read was the target's only if it still waits: the pid could be another's */
        if (seccomp_notify_id_valid(e->notify_fd, req->id) < 0)
                goto out;
        if (n < 0) {
                if (e->opts.trace && n != -ESRCH) {
                        errno = (int)-n;
                        strbuf_addf(&e->line, "trace: pid ");
                        process_describe(e->proc_fd, t.procfd, e->opts.init_pid, &e->line);
                        strbuf_addf(&e->line, " %s: the path is unreadable: %m\n", verbs[s->verb]);
                }
                goto out;
        }
        if (e->path[0] == '\0' && !q.fd_only)
                goto out; /* ENOENT, and nothing to name */

        view_inspect(t.procfd, &q, v);
        if (e->opts.record)
                record(e, t.procfd, &q, v);
        if (!e->opts.report && !e->opts.trace)
                goto out;
        if (verdict_reported(v->kind) && first_time(e, &q, v))
                build_line(e, "lamina: denied:", t.procfd, &q, v);
        else if (e->opts.trace)
                build_line(e, "trace:", t.procfd, &q, v);
out:
        if (t.memfd >= 0)
                close(t.memfd);
        close(t.procfd);
}

static void write_line(int fd, const char *s, size_t size)
{
        while (size > 0) {
                ssize_t n = write(fd, s, size);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return; /* a log that cannot take it: the line is lost, not the run */
                s += n;
                size -= (size_t)n;
        }
}

/* EPERM when the notification is a new process the manifest forbids, with its line (once per
 * process) in e->line; 0 otherwise. */
static int refuse_process(explain_t *e, const struct seccomp_notif *req)
{
        const char *call = NULL;
        _cleanup_free_ char *key = NULL;
        char name[32];
        int procfd;

        for (size_t i = 0; i < ELEMENTSOF(process_calls); i++)
                if (e->process_nrs[i] == req->data.nr)
                        call = process_calls[i];
        if (!call || req->data.arch != e->arch)
                return 0;
        /* once per process: a program that retries says nothing new */
        if (asprintf(&key, "process %u", req->pid) < 0 || strset_add(&e->seen, key) <= 0)
                return EPERM;
        snprintf(name, sizeof(name), "%d", (int)req->pid);
        procfd = openat(e->proc_fd, name, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (procfd < 0)
                return EPERM;
        strbuf_addf(&e->line, "lamina: denied: pid ");
        process_describe(e->proc_fd, procfd, e->opts.init_pid, &e->line);
        strbuf_addf(&e->line, " %s: the manifest sets sys.disallow_subprocesses = true\n", call);
        close(procfd);
        return EPERM;
}

/* EACCES when the notification is an exec that exec_check refuses, with its line in e->line;
 * 0 otherwise. */
static int refuse_exec(explain_t *e, const struct seccomp_notif *req)
{
        const syscall_spec_t *s = spec_of(e, req->data.nr);
        target_t t = {.pid = (pid_t)req->pid, .procfd = -1, .memfd = -1};
        char name[32], message[1024] = "";
        int r = 0;

        if (!e->opts.exec_check || !s || s->verb != VERB_EXEC || req->data.arch != e->arch)
                return 0;
        snprintf(name, sizeof(name), "%d", (int)t.pid);
        t.procfd = openat(e->proc_fd, name, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (t.procfd < 0)
                return 0;
        if (read_string(e, &t, req->data.args[s->path_arg], e->path, sizeof(e->path)) > 0 &&
            seccomp_notify_id_valid(e->notify_fd, req->id) == 0 &&
            e->opts.exec_check(t.pid, e->path, message, sizeof(message), e->opts.exec_userdata) ==
                    -EACCES) {
                strbuf_addf(&e->line, "lamina: denied: pid ");
                process_describe(e->proc_fd, t.procfd, e->opts.init_pid, &e->line);
                strbuf_addf(&e->line, " exec \"");
                strbuf_add_quoted(&e->line, e->path);
                strbuf_addf(&e->line, "\": %s\n", message);
                r = EACCES;
        }
        if (t.memfd >= 0)
                close(t.memfd);
        close(t.procfd);
        return r;
}

static void serve_one(explain_t *e)
{
        int refused;

        memset(e->req, 0, e->req_size);
        /* fails when the target died since poll() (ENOENT): nothing to answer */
        if (seccomp_notify_receive(e->notify_fd, e->req) < 0)
                return;
        strbuf_reset(&e->line);
        refused = refuse_process(e, e->req);
        if (!refused)
                refused = refuse_exec(e, e->req);
        if (!refused && (e->opts.report || e->opts.trace || e->opts.record))
                inspect(e, e->req);

        memset(e->resp, 0, e->resp_size);
        e->resp->id = e->req->id;
        e->resp->flags = refused ? 0 : SECCOMP_USER_NOTIF_FLAG_CONTINUE;
        e->resp->error = -refused;
        /* fails when the target died meanwhile: nothing to do about it */
        (void)seccomp_notify_respond(e->notify_fd, e->resp);

        if (!e->line.error && e->line.size > 0)
                write_line(e->opts.log_fd, e->line.data, e->line.size);
}

static void *serve(void *userdata)
{
        explain_t *e = userdata;
        bool listening = true;

        for (;;) {
                struct pollfd fds[2] = {
                        {.fd = listening ? e->notify_fd : -1, .events = POLLIN},
                        {.fd = e->stop_fd, .events = POLLIN},
                };

                if (poll(fds, 2, -1) < 0) {
                        /* only ENOMEM can last; never give up, or the program hangs */
                        if (errno != EINTR)
                                nanosleep(&(struct timespec){0, 1000000}, NULL);
                        continue;
                }
                if (fds[0].revents & POLLIN)
                        serve_one(e);
                else if (fds[0].revents & (POLLHUP | POLLERR | POLLNVAL))
                        listening = false; /* no process is left under the filter */
                if (fds[1].revents & POLLIN)
                        break;
        }
        /* answer what already waits, as closing the listener would fail it with ENOSYS; a
         * bounded number, since a program still running could keep the queue full forever */
        for (int i = 0; i < DRAIN_MAX; i++) {
                struct pollfd fd = {.fd = e->notify_fd, .events = POLLIN};
                if (poll(&fd, 1, 0) <= 0 || !(fd.revents & POLLIN))
                        break;
                serve_one(e);
        }
        return NULL;
}

static explain_t *explain_free(explain_t *e)
{
        if (!e)
                return NULL;
        if (e->notify_fd >= 0)
                close(e->notify_fd);
        if (e->stop_fd >= 0)
                close(e->stop_fd);
        if (e->proc_fd >= 0)
                close(e->proc_fd);
        if (e->req || e->resp)
                seccomp_notify_free(e->req, e->resp);
        strset_done(&e->seen);
        strset_done(&e->recorded);
        strbuf_free(&e->line);
        free(e);
        return NULL;
}

static void explain_freep(explain_t **e)
{
        explain_free(*e);
}

int explain_start(int notify_fd, const explain_options_t *opts, explain_t **ret)
{
        _cleanup_(explain_freep) explain_t *e = NULL;
        struct seccomp_notif_sizes sizes;
        sigset_t all, old;
        long page;
        int r;

        if (!opts || !ret)
                return -EINVAL;
        if (notify_fd < 0 || opts->log_fd < 0)
                return -EBADF;
        e = calloc(1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        e->notify_fd = e->stop_fd = e->proc_fd = -1;
        e->opts = *opts;
        e->seen.max = SEEN_MAX;
        e->arch = seccomp_arch_native();
        page = sysconf(_SC_PAGESIZE);
        e->page_size = page > 0 ? (size_t)page : 4096;
        for (size_t i = 0; i < ELEMENTSOF(specs); i++)
                e->nrs[i] = seccomp_syscall_resolve_name(specs[i].name);
        for (size_t i = 0; i < ELEMENTSOF(process_calls); i++)
                e->process_nrs[i] = seccomp_syscall_resolve_name(process_calls[i]);

        /* also makes libseccomp look for notification support, without which it refuses to
         * receive in a process that loaded no filter */
        r = seccomp_notify_alloc(&e->req, &e->resp);
        if (r < 0)
                return r;
        /* the kernel wants a zeroed request; its size is the kernel's, not the header's */
        if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0)
                return -errno;
        e->req_size = sizes.seccomp_notif;
        e->resp_size = sizes.seccomp_notif_resp;

        e->proc_fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (e->proc_fd < 0)
                return -errno;
        e->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (e->stop_fd < 0)
                return -errno;

        /* the thread takes no signal of lamina's: they stay for lamina's own handling */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        e->notify_fd = notify_fd;
        r = pthread_create(&e->thread, NULL, serve, e);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r != 0) {
                e->notify_fd = -1; /* still the caller's */
                return -r;
        }
        *ret = TAKE_PTR(e);
        return 0;
}

explain_t *explain_stop(explain_t *e)
{
        uint64_t one = 1;

        if (!e)
                return NULL;
        while (write(e->stop_fd, &one, sizeof(one)) < 0 && errno == EINTR)
                ;
        pthread_join(e->thread, NULL);
        return explain_free(e);
}
