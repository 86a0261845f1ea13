/* trace_against(): a traced run compared with an existing manifest, by host path, with the
 * generator's rules (plan.c) and no hashing. The text, one line per path, sorted by path in
 * each section, a section only when it has lines, nothing at all when they agree:
 *
 *   # needed by the run, not in M:
 *   sgx.trusted_files = ["file:/etc/hosts"] # 3 (python3 x.py)
 *   sgx.allowed_files = ["file:/home/u/out.txt"] # 3 (sh)
 *   sgx.allow_file_creation = true # to make files in its allowed directories
 *   # in M, never used by the run:
 *   # sgx.trusted_files: "file:/usr/lib/x.so"
 *   # in M, partly used by the run:
 *   # sgx.trusted_files: "file:/usr/lib/python3.11/" # 212 of 1043 files used
 *
 * What covers what: a file the run read is covered by m's trusted or allowed entry for it, or
 * by a directory entry above it (trusted or allowed: an allowed file may be read too); a file
 * the run wrote only by an allowed one; a directory it made files in only by an allowed
 * directory at or above it, and sgx.allow_file_creation. A directory the generator would list
 * whole is covered when m shows it at all: an entry at, above or below it. A file m trusts
 * that the run wrote is needed as allowed, and the line says where m trusts it, since a path
 * cannot be both.
 *
 * An entry of m is used when the run used its path, or, for a directory entry, a path at or
 * below it, whatever the use (a file read through an allowed entry uses it). A trusted
 * directory entry that the run used in part is not "never used", and not silently fine
 * either: it grants files the run did not need, on first use and without a hash, so it gets a
 * section of its own with the count of files it holds on the host now and of those the run
 * used, for the user to decide whether to narrow it. Allowed directories are not counted:
 * they are there to let the program make files, which no run uses up. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "trace/trace-internal.h"

/* Walking a partly used directory to count its files stops after this many names. */
#define COUNT_NODES_MAX (1024u * 1024)

typedef struct line {
        char *path; /* the sort key */
        char *text; /* the whole line, with its newline */
} line_t;

typedef struct lines {
        line_t *items;
        size_t count, capacity;
} lines_t;

static void lines_done(lines_t *l)
{
        for (size_t i = 0; i < l->count; i++) {
                free(l->items[i].path);
                free(l->items[i].text);
        }
        free(l->items);
        *l = (lines_t){0};
}

static int line_cmp(const void *a, const void *b)
{
        const line_t *x = a, *y = b;

        return strcmp(x->path, y->path);
}

static void lines_sort(lines_t *l)
{
        if (l->count > 0) /* items may be NULL, which qsort may not get */
                qsort(l->items, l->count, sizeof(*l->items), line_cmp);
}

/* Appends a line; takes text (a finished strbuf), even on failure. */
static int lines_add(lines_t *l, const char *path, strbuf_t *text)
{
        char *copy = NULL;
        int r = text->error;

        if (r == 0 && l->count == l->capacity) {
                size_t capacity = l->capacity ? 2 * l->capacity : 16;
                line_t *grown = realloc(l->items, capacity * sizeof(*grown));

                if (grown) {
                        l->items = grown;
                        l->capacity = capacity;
                } else {
                        r = -ENOMEM;
                }
        }
        if (r == 0 && !(copy = strdup(path)))
                r = -ENOMEM;
        if (r == 0)
                l->items[l->count++] = (line_t){.path = copy, .text = TAKE_PTR(text->data)};
        strbuf_free(text);
        return r;
}

typedef struct ctx {
        const plan_t *p;
        const manifest_t *m;
        char *err;
        size_t err_size;
        /* m's host paths, sorted */
        const char **trusted_files, **trusted_dirs, **allowed_files, **allowed_dirs, **all;
        size_t trusted_file_count, trusted_dir_count, allowed_file_count, allowed_dir_count,
                all_count;
        lines_t needed, unused, partly;
} ctx_t;

static void ctx_done(ctx_t *c)
{
        free(c->trusted_files);
        free(c->trusted_dirs);
        free(c->allowed_files);
        free(c->allowed_dirs);
        free(c->all);
        lines_done(&c->needed);
        lines_done(&c->unused);
        lines_done(&c->partly);
}

static int index_manifest(ctx_t *c)
{
        const manifest_t *m = c->m;
        size_t n = m->trusted_file_count + m->allowed_file_count + 1;

        c->trusted_files = malloc(n * sizeof(char *));
        c->trusted_dirs = malloc(n * sizeof(char *));
        c->allowed_files = malloc(n * sizeof(char *));
        c->allowed_dirs = malloc(n * sizeof(char *));
        c->all = malloc(n * sizeof(char *));
        if (!c->trusted_files || !c->trusted_dirs || !c->allowed_files || !c->allowed_dirs ||
            !c->all)
                return -ENOMEM;
        for (size_t i = 0; i < m->trusted_file_count; i++) {
                const manifest_file_t *f = &m->trusted_files[i];

                if (f->is_dir)
                        c->trusted_dirs[c->trusted_dir_count++] = f->host_path;
                else
                        c->trusted_files[c->trusted_file_count++] = f->host_path;
                c->all[c->all_count++] = f->host_path;
        }
        for (size_t i = 0; i < m->allowed_file_count; i++) {
                const manifest_file_t *f = &m->allowed_files[i];

                if (f->is_dir)
                        c->allowed_dirs[c->allowed_dir_count++] = f->host_path;
                else
                        c->allowed_files[c->allowed_file_count++] = f->host_path;
                c->all[c->all_count++] = f->host_path;
        }
        qsort(c->trusted_files, c->trusted_file_count, sizeof(char *), trace_strv_cmp);
        qsort(c->trusted_dirs, c->trusted_dir_count, sizeof(char *), trace_strv_cmp);
        qsort(c->allowed_files, c->allowed_file_count, sizeof(char *), trace_strv_cmp);
        qsort(c->allowed_dirs, c->allowed_dir_count, sizeof(char *), trace_strv_cmp);
        qsort(c->all, c->all_count, sizeof(char *), trace_strv_cmp);
        return 0;
}

/* "file:PATH" (with a '/' for a directory) as a TOML string into b; -EINVAL when the path
 * cannot be written. */
static int put_uri(ctx_t *c, strbuf_t *b, const char *path, bool dir)
{
        char q[TRACE_QUOTE_SIZE];

        if (!text_is_utf8(path))
                return err_fail(c->err, c->err_size, -EINVAL,
                                "'%s' is not valid UTF-8: a manifest cannot hold it",
                                trace_quote(path, q, sizeof(q)));
        strbuf_puts(b, "\"file:");
        sb_toml_escape(b, path);
        strbuf_puts(b, dir && !STREQ(path, "/") ? "/\"" : "\"");
        return 0;
}

static int need(ctx_t *c, const char *key, const item_t *it, const char *note)
{
        strbuf_t b = {0};
        int r;

        strbuf_addf(&b, "%s = [", key);
        r = put_uri(c, &b, it->path, it->dir);
        if (r < 0) {
                strbuf_free(&b);
                return r;
        }
        strbuf_puts(&b, "]");
        if (it->first || note)
                strbuf_puts(&b, " #");
        if (it->first) {
                strbuf_puts(&b, " ");
                sb_comment_text(&b, it->first, 200);
        }
        if (note)
                strbuf_puts(&b, note);
        strbuf_puts(&b, "\n");
        return lines_add(&c->needed, it->path, &b);
}

static bool covers_read(const ctx_t *c, const char *path)
{
        return trace_strv_has(c->trusted_files, c->trusted_file_count, path) ||
               trace_strv_has_ancestor(c->trusted_dirs, c->trusted_dir_count, path) ||
               trace_strv_has(c->allowed_files, c->allowed_file_count, path) ||
               trace_strv_has_ancestor(c->allowed_dirs, c->allowed_dir_count, path);
}

/* Whether m's view has the directory at all. */
static bool shows_dir(const ctx_t *c, const char *dir)
{
        return trace_strv_has(c->all, c->all_count, dir) ||
               trace_strv_any_below(c->all, c->all_count, dir) ||
               trace_strv_has_ancestor(c->trusted_dirs, c->trusted_dir_count, dir) ||
               trace_strv_has_ancestor(c->allowed_dirs, c->allowed_dir_count, dir);
}

static int compare_needed(ctx_t *c)
{
        const plan_t *p = c->p;
        int r;

        for (size_t i = 0; i < p->trusted.count; i++) {
                const item_t *it = &p->trusted.items[i];
                bool covered = it->dir ? shows_dir(c, it->path) : covers_read(c, it->path);

                if (!covered) {
                        r = need(c, "sgx.trusted_files", it, NULL);
                        if (r < 0)
                                return r;
                }
        }
        for (size_t i = 0; i < p->allowed.count; i++) {
                const item_t *it = &p->allowed.items[i];
                char note[128] = "";

                if (trace_strv_has_ancestor(c->allowed_dirs, c->allowed_dir_count, it->path) ||
                    (!it->dir && trace_strv_has(c->allowed_files, c->allowed_file_count, it->path)))
                        continue;
                for (size_t j = 0; !it->dir && j < c->m->trusted_file_count; j++)
                        if (STREQ(c->m->trusted_files[j].host_path, it->path))
                                snprintf(note, sizeof(note),
                                         "; written, but in sgx.trusted_files (line %u): move it",
                                         c->m->trusted_files[j].line);
                r = need(c, "sgx.allowed_files", it, *note ? note : NULL);
                if (r < 0)
                        return r;
        }
        return 0;
}

typedef struct count {
        const plan_t *p;
        size_t files, used;
} count_t;

static int count_file(const char *path, void *userdata)
{
        count_t *n = userdata;

        n->files++;
        n->used += trace_strv_has(n->p->sorted_paths, n->p->sorted_count, path);
        return 0;
}

static int compare_unused(ctx_t *c, const manifest_file_t *files, size_t count, bool trusted)
{
        const plan_t *p = c->p;
        const char *key = trusted ? "sgx.trusted_files" : "sgx.allowed_files";
        int r;

        for (size_t i = 0; i < count; i++) {
                const manifest_file_t *f = &files[i];
                bool used = trace_strv_has(p->sorted_paths, p->sorted_count, f->host_path) ||
                            (f->is_dir &&
                             trace_strv_any_below(p->sorted_paths, p->sorted_count, f->host_path));
                count_t n = {.p = p};
                strbuf_t b = {0};
                int walked = 0;

                if (used && !(trusted && f->is_dir))
                        continue;
                if (used) {
                        walked = trace_walk_files(f->host_path, COUNT_NODES_MAX, count_file, &n);
                        if ((walked < 0 && walked != -E2BIG) || n.used >= n.files)
                                continue; /* gone, unreadable, or used whole */
                }
                strbuf_addf(&b, "# %s: ", key);
                r = put_uri(c, &b, f->host_path, f->is_dir);
                if (r < 0) {
                        strbuf_free(&b);
                        return r;
                }
                if (used)
                        strbuf_addf(&b, " # %zu of %s%zu files used", n.used,
                                    walked == -E2BIG ? "more than " : "", n.files);
                strbuf_puts(&b, "\n");
                r = lines_add(used ? &c->partly : &c->unused, f->host_path, &b);
                if (r < 0)
                        return r;
        }
        return 0;
}

int trace_against(const trace_log_t *log, const trace_program_t *prog, const manifest_t *m,
                  const trace_options_t *o, char **ret_text, size_t *ret_size, char *err,
                  size_t err_size)
{
        _cleanup_(trace_plan_done) plan_t p = {0};
        _cleanup_(ctx_done) ctx_t c = {0};
        _cleanup_(strbuf_free) strbuf_t b = {0};
        const char *need_create = NULL, *unused_create = NULL;
        int r;

        err_clear(err, err_size);
        r = trace_plan_build(&p, log, prog, o, false, err, err_size);
        if (r < 0)
                return r;
        c = (ctx_t){.p = &p, .m = m, .err = err, .err_size = err_size};
        r = index_manifest(&c);
        if (r >= 0)
                r = compare_needed(&c);
        if (r >= 0)
                r = compare_unused(&c, m->trusted_files, m->trusted_file_count, true);
        if (r >= 0)
                r = compare_unused(&c, m->allowed_files, m->allowed_file_count, false);
        if (r < 0)
                return r;
        lines_sort(&c.needed);
        lines_sort(&c.unused);
        lines_sort(&c.partly);
        if (p.create && !m->allow_file_creation)
                need_create = "sgx.allow_file_creation = true # to make files in its allowed "
                              "directories\n";
        if (!p.create && m->allow_file_creation)
                unused_create = "# sgx.allow_file_creation = true\n";

        if (c.needed.count || need_create) {
                strbuf_puts(&b, "# needed by the run, not in ");
                sb_comment_text(&b, m->path, 4096);
                strbuf_puts(&b, ":\n");
                for (size_t i = 0; i < c.needed.count; i++)
                        strbuf_puts(&b, c.needed.items[i].text);
                if (need_create)
                        strbuf_puts(&b, need_create);
        }
        if (c.unused.count || unused_create) {
                strbuf_puts(&b, "# in ");
                sb_comment_text(&b, m->path, 4096);
                strbuf_puts(&b, ", never used by the run:\n");
                for (size_t i = 0; i < c.unused.count; i++)
                        strbuf_puts(&b, c.unused.items[i].text);
                if (unused_create)
                        strbuf_puts(&b, unused_create);
        }
        if (c.partly.count) {
                strbuf_puts(&b, "# in ");
                sb_comment_text(&b, m->path, 4096);
                strbuf_puts(&b, ", partly used by the run:\n");
                for (size_t i = 0; i < c.partly.count; i++)
                        strbuf_puts(&b, c.partly.items[i].text);
        }
        return sb_take(&b, ret_text, ret_size);
}
