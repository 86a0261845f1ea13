/* What the explain module's files share: a request (one notified call, decoded), the verdict
 * on it (what the view and the host have at its path), and the string builder that report
 * lines are made with. Not part of the module's interface: see explain.h. */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "shared/macro.h"
#include "shared/path.h"
#include "shared/strbuf.h"

typedef enum explain_verb {
        VERB_OPEN,
        VERB_EXEC,
        VERB_STAT,
        VERB_ACCESS,
        VERB_READLINK,
} explain_verb_t;

/* One notified call, as the target made it. */
typedef struct request {
        explain_verb_t verb;
        const char *path; /* as written; "" with fd_only */
        int dirfd;        /* AT_FDCWD, or the target's fd for relative paths */
        bool in_root;     /* openat2's RESOLVE_IN_ROOT: dirfd is the root for this path */
        bool follow;      /* the last component's symlink is followed */
        bool create;      /* O_CREAT or creat(): a missing file may be what the call makes */
        bool write;       /* opened for writing (O_WRONLY, O_RDWR, creat()) */
        bool fd_only;     /* execveat(fd, "", AT_EMPTY_PATH): the file is dirfd itself */
} request_t;

typedef enum verdict_kind {
        KIND_IN_VIEW, /* the view has it: the kernel decides */
        KIND_NEITHER, /* in neither the view nor the host: a probe */
        KIND_KERNEL,  /* under /proc or /dev, which the sandbox makes, not the manifest */
        KIND_CREATED, /* not there, but its directory in the view is writable */
        KIND_OUTSIDE, /* the call's directory is outside the view: cannot tell */
        KIND_UNKNOWN, /* the view could not be looked at: error says why */
        /* the kinds below are reported */
        KIND_MISSING,        /* not in the view, on the host: the manifest does not name it */
        KIND_NOEXEC,         /* exec of a file on a noexec mount */
        KIND_NOEXEC_RUNTIME, /* the same, under /tmp or /dev/shm: written at run time */
        KIND_NOT_EXECUTABLE, /* exec of a file without any execute bit */
        KIND_INTERP_MISSING, /* exec of a file whose interpreter is only on the host */
} verdict_kind_t;

typedef struct verdict {
        verdict_kind_t kind;
        int error;              /* KIND_UNKNOWN: a positive errno */
        char target[PATH_MAX];  /* the path asked for, absolute in the view, normalised */
        char subject[PATH_MAX]; /* KIND_MISSING: the path that is missing (after the view's
                                   symlinks); KIND_INTERP_MISSING: the interpreter */
        bool via_symlink;       /* KIND_MISSING: subject is where a symlink in the view leads */
        bool is_dir;            /* KIND_MISSING: a directory on the host; KIND_IN_VIEW: in the
                                   view */
        bool read_only;         /* KIND_IN_VIEW: on a read-only mount of the view */
        bool code;              /* KIND_MISSING: looks like code (see view.c) */
        mode_t mode;            /* KIND_NOT_EXECUTABLE: the file's mode in the view */
} verdict_t;

static inline bool verdict_reported(verdict_kind_t kind)
{
        return kind >= KIND_MISSING;
}

/* Looks at what the target behind procfd (/proc/TID, O_PATH) has at q's path, and at the
 * host, and fills *v. Never fails: what cannot be looked at is KIND_UNKNOWN or KIND_OUTSIDE. */
void view_inspect(int procfd, const request_t *q, verdict_t *v);

/* The interpreters an exec of path (absolute in the view of the target behind procfd) goes
 * through: its "#!" or ELF interpreter, that one's, ... at most max, as the files name them
 * (normalised). Returns how many are in out. */
int view_interpreters(int procfd, const char *path, char (*out)[PATH_MAX], int max);

/* Adds s as the inside of a TOML basic string: '"', '\' and control characters escaped,
 * valid UTF-8 as is, other bytes as \xNN (which no manifest can name). */
void strbuf_add_quoted(strbuf_t *b, const char *s);

/* Adds "N (argv < parent's argv < ...)" for the process behind procfd: N as its own pid
 * namespace sees it, the argv chain up to (not including) stop_pid, lamina's own pid, or pid 1,
 * at most 8 processes. proc_fd is lamina's /proc. */
void process_describe(int proc_fd, int procfd, pid_t stop_pid, strbuf_t *b);
