/* What the trace module's .c files share and nobody else sees: the plan (which paths a manifest
 * lists, and how, decided once for trace_generate() and trace_against() alike), path helpers,
 * sorted string arrays, a growing text buffer, and one-line error messages. trace.h is the
 * module's only public face. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shared/err.h"
#include "shared/macro.h"
#include "shared/path.h"
#include "shared/strbuf.h"
#include "store/store.h"
#include "trace/trace.h"

/* ---- errors (and shared/err.h) ---- */

/* path (or any user text) as a message quotes it: printable ASCII as is, other bytes \xHH, cut
 * with "..." after 200 characters. Returns buf. */
const char *trace_quote(const char *s, char *buf, size_t size);
#define TRACE_QUOTE_SIZE 1024

/* ---- paths ---- */

/* Absolute, no "//", "." or ".." component, no trailing '/' (but "/"), shorter than PATH_MAX. */
bool trace_path_is_normalised(const char *path);
/* The directory that holds path ("/" for "/x"); NULL when out of memory. */
char *trace_path_parent(const char *path);

/* ---- sorted arrays of strings (strcmp order) ---- */

/* The first index whose string is not less than key. */
size_t trace_strv_lower(const char *const *v, size_t n, const char *key);
bool trace_strv_has(const char *const *v, size_t n, const char *key);
/* Whether some string of v is strictly below dir, component-wise. */
bool trace_strv_any_below(const char *const *v, size_t n, const char *dir);
/* How many strings of v are strictly below dir, component-wise. */
size_t trace_strv_count_below(const char *const *v, size_t n, const char *dir);
/* Whether path, or a directory above it, is in v. */
bool trace_strv_has_ancestor(const char *const *v, size_t n, const char *path);
int trace_strv_cmp(const void *a, const void *b);

/* ---- the walk of a host directory ---- */

/* Calls fn(path, userdata) for every regular file below dir (dir itself followed if it is a
 * symlink, nothing below it followed), with path = dir + "/" + the names on the way. fn returns
 * 0 to go on, 1 to stop. Returns 0 when the walk ended, 1 when fn stopped it, -E2BIG when it
 * met more than max_nodes names, or the errno of a directory that could not be read. */
int trace_walk_files(const char *dir, size_t max_nodes, int (*fn)(const char *path, void *userdata),
                     void *userdata);

/* ---- the plan ---- */

typedef struct item {
        char *path;        /* host path, owned */
        const char *first; /* the first process that used it, borrowed from the log; or NULL */
        bool dir;          /* a directory entry, written "file:PATH/" */
        uint8_t sha256[VSTORE_SHA256_SIZE]; /* regular trusted files, when hashed */
        const char *why;                    /* left-out items: why (a static string) */
        size_t seq;                         /* the order it was added in, for a stable sort */
} item_t;

typedef struct items {
        item_t *items;
        size_t count, capacity;
} items_t;

typedef struct plan {
        char *entrypoint, *cwd, *exclude; /* normalised; exclude may be NULL */
        items_t trusted;  /* regular files (hashed) and directory entries, by path */
        items_t allowed;  /* files and directories (where the run creates files), by path */
        items_t left_out; /* used, but not given: below /tmp, not a regular file; by path */
        bool create;      /* sgx.allow_file_creation: some allowed directory is for creation */
        items_t tmpfs;    /* directories that must exist, empty: tmpfs mounts, by path */

        /* every entry of the log, and the program if the log lacks it, sorted by path */
        const trace_entry_t **sorted;
        const char **sorted_paths;
        size_t sorted_count;
        trace_entry_t program; /* the program's own entry, when the log has none */
} plan_t;

/* Decides what the manifest lists (the rules are at the top of plan.c), and with hash, hashes
 * the regular trusted files. Errors as trace_generate()'s, with err filled. */
int trace_plan_build(plan_t *p, const trace_log_t *log, const trace_program_t *prog,
                     const trace_options_t *o, bool hash, char *err, size_t err_size);
void trace_plan_done(plan_t *p);

/* The log entry for path (absolute, normalised), or NULL. */
const trace_entry_t *trace_log_find(const trace_log_t *log, const char *path);

/* ---- text ---- */

/* s as the inside of a TOML basic string: '"', '\\' and control characters escaped; s must be
 * valid UTF-8. */
void sb_toml_escape(strbuf_t *b, const char *s);
/* s as a TOML basic string, quotes included; s must be valid UTF-8. */
void sb_toml_string(strbuf_t *b, const char *s);
/* s inside a comment: one line, valid UTF-8 (other bytes and control characters become '?'),
 * cut with "..." after max bytes. */
void sb_comment_text(strbuf_t *b, const char *s, size_t max);
/* Hands out the text (never NULL on success) and its size, or returns the error: -E2BIG past
 * MANIFEST_SIZE_MAX, as no manifest reader would take it. */
int sb_take(strbuf_t *b, char **ret_text, size_t *ret_size);

/* Whether s is valid UTF-8 (and so can be written in a manifest). */
bool text_is_utf8(const char *s);
