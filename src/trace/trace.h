/* The manifest generator of `lamina trace`: from the record of every file a traced run used,
 * the manifest that runs the same program under `lamina run` with no edit, and the difference
 * between such a record and an existing manifest (`lamina trace --against`).
 *
 * Use:
 *   1) start with a zeroed trace_log_t (trace_log_t log = {0}) and trace_log_add() every use
 *      the listener saw; the same path again merges its uses;
 *   2) trace_generate() the manifest text, or trace_against() the difference with a loaded
 *      manifest_t; both only read the log and the host (stat, directory walks, and hashing
 *      for trace_generate()); call them as often as needed;
 *   3) trace_log_done().
 * Nothing here prints. Failures return -errno; where a file, a path or an argument is at fault,
 * err (err_size bytes, may be NULL) holds one line that names it, and is "" otherwise. Outputs
 * (ret_*) are written only on success. The rules (what is trusted, allowed, left out, when a
 * directory is listed whole) are at the top of plan.c. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "manifest/manifest.h"

/* How a process used a path; an entry holds every use seen. */
enum {
        TRACE_READ = 1 << 0,   /* opened for reading, or mapped */
        TRACE_EXEC = 1 << 1,   /* executed, or the interpreter of something executed */
        TRACE_WRITE = 1 << 2,  /* an existing file opened for writing */
        TRACE_CREATE = 1 << 3, /* made by the run (open with O_CREAT where nothing was, mkdir) */
        TRACE_STAT = 1 << 4,   /* stat/access/readlink that succeeded */
        TRACE_ALL = (1 << 5) - 1,
};

/* Logs larger than this are refused (-E2BIG): the store takes no more entries either. */
#define TRACE_LOG_MAX (16u * 1024 * 1024)

typedef struct trace_entry {
        char *path;    /* absolute, normalised (no ".", "..", "//", trailing "/"), as the process
                          named it: symlinks not resolved */
        unsigned uses; /* every TRACE_* use seen */
        bool is_dir;   /* a directory on the host, as last seen */
        char *first;   /* the process that first used it, e.g. "7 (python3 x.py < sh -c ...)";
                          NULL when unknown */
} trace_entry_t;

typedef struct trace_log {
        trace_entry_t *entries; /* in the order first seen */
        size_t count, capacity;
        size_t *index; /* open addressing by path: entry number + 1, 0 for a free slot */
        size_t index_capacity;
} trace_log_t;

/* Adds a use of path (copied); the same path again merges the uses, takes is_dir, and keeps
 * the first process. first may be NULL. Errors: -EINVAL (a path that is not absolute and
 * normalised or longer than PATH_MAX, uses 0 or outside TRACE_ALL), -E2BIG (TRACE_LOG_MAX
 * entries already), -ENOMEM. */
int trace_log_add(trace_log_t *log, const char *path, unsigned uses, bool is_dir,
                  const char *first);

/* Frees what the log holds and leaves it empty and usable. Accepts a zeroed log. */
void trace_log_done(trace_log_t *log);

typedef struct trace_program {
        const char *entrypoint; /* absolute host path of the program, after PATH lookup */
        char *const *argv;      /* as given, argv[0] included */
        size_t argc;
        char *const *envp; /* NAME=VALUE, what the program was given; NULL-terminated or NULL */
        const char *cwd;   /* absolute host path it ran in */
} trace_program_t;

/* A template variable, e.g. {"python.stdlib", "/usr/lib/python3.11"}: the name as
 * render.h reads it (identifiers joined by dots), the value an absolute path other than "/". */
typedef struct trace_var {
        const char *name;
        const char *value;
} trace_var_t;

/* At most this many template variables. */
#define TRACE_VARS_MAX 255

typedef struct trace_options {
        manifest_format_t format; /* MANIFEST_FORMAT_TOML (also for AUTO) or _LEGACY */
        bool dirs;                /* --dirs: each used file's directory as a directory entry */
        const trace_var_t *vars;  /* --template: {{ NAME }} for the longest matching value */
        size_t var_count;
        const char *exclude; /* a host path never listed (the output manifest); may be NULL */
} trace_options_t;

/* The manifest text (NUL-terminated, the caller frees it; *ret_size without the NUL). With
 * vars, a template for `lamina manifest` that renders into that manifest. Errors: -EINVAL
 * (something the manifest cannot name: a path, argument or environment entry that is not
 * valid UTF-8 or that Graphene's language cannot hold; a bad program, option or variable; a
 * run that started below /tmp; a file created directly in "/"), -ENOENT and the other errnos
 * of stat and reading (a used file that cannot be hashed now: err names it), -E2BIG (more than
 * MANIFEST_SIZE_MAX bytes), -ENOMEM. */
int trace_generate(const trace_log_t *log, const trace_program_t *prog, const trace_options_t *o,
                   char **ret_text, size_t *ret_size, char *err, size_t err_size);

/* What the run needed that m lacks, and what m grants that the run never used (or used in
 * part), as manifest lines; the exact form is at the top of against.c. Files are compared by
 * host path, with the generator's rules and without hashing; o->dirs and o->exclude apply,
 * o->format and o->vars do not (the lines are in the TOML form). When m grants exactly what
 * the run needed, *ret_text is "" and *ret_size 0. Errors as trace_generate()'s. */
int trace_against(const trace_log_t *log, const trace_program_t *prog, const manifest_t *m,
                  const trace_options_t *o, char **ret_text, size_t *ret_size, char *err,
                  size_t err_size);
