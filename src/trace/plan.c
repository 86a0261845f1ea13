/* What a traced run's manifest lists, decided once for trace_generate() and trace_against().
 * The manifest sets fs.root.uri = "file:/", so every host file appears at its own path, and
 * fs.start_dir to the run's directory. Then, path by path (as the processes named them; the
 * store follows the symlinks met on the way and pins the hash on the file reached):
 *   - /proc, /sys, /dev and /tmp, and everything below, are the runtime's, never listed. A
 *     path below /tmp or /dev/shm that the run used but did not make is named in a closing
 *     comment: lamina run gives an empty tmpfs there, so the program will not find it. A run
 *     that starts below one of them, or whose program is there, is refused: it cannot start;
 *   - the exclude path (the output manifest), and anything below it, is never listed;
 *   - a path the run made (TRACE_CREATE), or wrote and that is gone now: its directory is an
 *     allowed directory, and sgx.allow_file_creation is set, since the runtime lets a program
 *     make files only below such directories and only with that key. A file made directly in
 *     "/" is refused: allowing it would bind the whole host read-write;
 *   - an existing file the run wrote: an allowed file;
 *   - an allowed path at or below an allowed directory is left out (the directory has it);
 *   - any other regular file the run read, executed or looked at: a trusted file with the
 *     sha256 it has now (a file that is gone is an error naming it). Also the program itself,
 *     should the log lack it. Not when an allowed directory holds it (the host's file is bound
 *     there, so a hash would promise what the view does not do);
 *   - other kinds of files (fifos, sockets, devices outside /dev, dangling symlinks) that the
 *     run only read are named in the closing comment: a manifest can trust only regular files;
 *   - directory entries ("file:DIR/", every file below DIR, trusted on first use since a
 *     directory entry has no hash) are only ever added to the per-file entries, never put in
 *     their place, so every file the run used stays pinned by its hash. A directory the run
 *     used as such (stat, opendir) gets one when every regular file below it, on the host now,
 *     is a trusted file of the manifest: then it grants no file the run did not use, and the
 *     view also has its empty subdirectories and its symlinks, as the program saw them (an
 *     empty directory the program looked at exists in the view). With --dirs, the directory
 *     of every trusted file gets one too: that grants the files beside it, as the user asked.
 *     Never for "/", for a directory that holds the exclude path or an allowed path (written
 *     files are not trusted), or below another directory entry;
 *   - the start directory, and every directory the run used as such (Python looks for
 *     lib-dynload with stat), must exist in the view: when nothing at or below one is listed,
 *     it is a tmpfs mount, empty, rather than a directory entry granting files the run never
 *     used; of nested ones, only the innermost (the tree makes its parents). A directory the
 *     program lists shows only what is listed in it: the files the run used (or, with --dirs,
 *     all of them).
 * Lists are sorted by path (strcmp), so the same log gives the same manifest. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "trace/trace-internal.h"

/* The runtime's own places: never listed. */
static const char *const runtime_dirs[] = {"/proc", "/sys", "/dev", "/tmp"};
/* Where the runtime gives an empty tmpfs: what the run found there, it will not find. */
static const char *const tmpfs_dirs[] = {"/tmp", "/dev/shm"};

static const char *runtime_dir_of(const char *path)
{
        for (size_t i = 0; i < ELEMENTSOF(runtime_dirs); i++)
                if (path_under(path, runtime_dirs[i]))
                        return runtime_dirs[i];
        return NULL;
}

static const char *tmpfs_dir_of(const char *path)
{
        for (size_t i = 0; i < ELEMENTSOF(tmpfs_dirs); i++)
                if (path_under(path, tmpfs_dirs[i]))
                        return tmpfs_dirs[i];
        return NULL;
}

static void items_done(items_t *l)
{
        for (size_t i = 0; i < l->count; i++)
                free(l->items[i].path);
        free(l->items);
        *l = (items_t){0};
}

/* Appends an item for path (copied). */
static int items_add(items_t *l, const char *path, const char *first, bool dir, const char *why)
{
        char *copy = strdup(path);

        if (!copy)
                return -ENOMEM;
        if (l->count == l->capacity) {
                size_t capacity = l->capacity ? 2 * l->capacity : 32;
                item_t *grown = realloc(l->items, capacity * sizeof(*grown));

                if (!grown) {
                        free(copy);
                        return -ENOMEM;
                }
                l->items = grown;
                l->capacity = capacity;
        }
        l->items[l->count++] = (item_t){.path = copy, .first = first, .dir = dir, .why = why};
        return 0;
}

/* By path, then in the order added, so that the first of a path is the one added first. */
static int item_cmp(const void *a, const void *b)
{
        const item_t *x = a, *y = b;
        int c = strcmp(x->path, y->path);

        return c != 0 ? c : x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Sorts by path and keeps the first added of each path: the log is walked in path order, so
 * that is the first process of the path that sorts first. */
static void items_sort_unique(items_t *l)
{
        size_t n = 0;

        if (l->count == 0)
                return; /* items may be NULL, which qsort may not get */
        for (size_t i = 0; i < l->count; i++)
                l->items[i].seq = i;
        qsort(l->items, l->count, sizeof(*l->items), item_cmp);
        for (size_t i = 0; i < l->count; i++) {
                if (n > 0 && STREQ(l->items[n - 1].path, l->items[i].path)) {
                        free(l->items[i].path);
                        continue;
                }
                l->items[n++] = l->items[i];
        }
        l->count = n;
}

/* The paths of l, in its order (borrowed). */
static int items_paths(const items_t *l, bool dirs_only, const char ***ret, size_t *ret_count)
{
        const char **v = malloc((l->count + 1) * sizeof(*v));
        size_t n = 0;

        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < l->count; i++)
                if (!dirs_only || l->items[i].dir)
                        v[n++] = l->items[i].path;
        *ret = v;
        *ret_count = n;
        return 0;
}

/* Removes the items that match drop(item, userdata). Every item is asked before any is freed,
 * so drop may look at paths of l itself (through an array of borrowed pointers). */
static int items_filter(items_t *l, bool (*drop)(const item_t *it, void *userdata), void *userdata)
{
        _cleanup_free_ bool *dropped = calloc(l->count + 1, sizeof(*dropped));
        size_t n = 0;

        if (!dropped)
                return -ENOMEM;
        for (size_t i = 0; i < l->count; i++)
                dropped[i] = drop(&l->items[i], userdata);
        for (size_t i = 0; i < l->count; i++) {
                if (dropped[i]) {
                        free(l->items[i].path);
                        continue;
                }
                l->items[n++] = l->items[i];
        }
        l->count = n;
        return 0;
}

typedef struct strv_ref {
        const char *const *v;
        size_t n;
} strv_ref_t;

/* An item strictly below a directory of the list (the list's own entries stay). */
static bool below_a_dir(const item_t *it, void *userdata)
{
        const strv_ref_t *dirs = userdata;
        _cleanup_free_ char *parent = NULL;

        if (STREQ(it->path, "/"))
                return false;
        parent = trace_path_parent(it->path);
        return parent && trace_strv_has_ancestor(dirs->v, dirs->n, parent);
}

/* An item at or below a directory of the list. */
static bool at_or_below_a_dir(const item_t *it, void *userdata)
{
        const strv_ref_t *dirs = userdata;

        return trace_strv_has_ancestor(dirs->v, dirs->n, it->path);
}

static int entry_cmp(const void *a, const void *b)
{
        const trace_entry_t *const *x = a, *const *y = b;

        return strcmp((*x)->path, (*y)->path);
}

/* ---- whole directories ---- */

typedef struct whole {
        const char *const *trusted; /* the regular trusted files, sorted */
        size_t count;
} whole_t;

static int require_trusted(const char *path, void *userdata)
{
        const whole_t *w = userdata;

        return trace_strv_has(w->trusted, w->count, path) ? 0 : 1;
}

/* Whether every regular file below dir is a trusted file. The walk stops at the first that is
 * not; since every one it passes is in the list, it meets at most that many files, and a
 * bound on the names it may meet (directories and symlinks between them) keeps a tree of
 * empty directories from making it long. */
static bool used_whole(const char *dir, const char *const *trusted, size_t count)
{
        whole_t w = {trusted, count};
        size_t below = trace_strv_count_below(trusted, count, dir);

        return trace_walk_files(dir, 4 * below + 1024, require_trusted, &w) == 0;
}

/* ---- the plan ---- */

void trace_plan_done(plan_t *p)
{
        free(p->entrypoint);
        free(p->cwd);
        free(p->exclude);
        items_done(&p->trusted);
        items_done(&p->allowed);
        items_done(&p->left_out);
        items_done(&p->tmpfs);
        free(p->sorted);
        free(p->sorted_paths);
        *p = (plan_t){0};
}

static int check_program(plan_t *p, const trace_program_t *prog, const trace_options_t *o,
                         char *err, size_t err_size)
{
        char q[TRACE_QUOTE_SIZE];
        const char *dir;

        if (!prog->entrypoint || prog->entrypoint[0] != '/')
                return err_fail(
                        err, err_size, -EINVAL, "the program must be an absolute path, not '%s'",
                        trace_quote(prog->entrypoint ? prog->entrypoint : "", q, sizeof(q)));
        if (!prog->cwd || prog->cwd[0] != '/')
                return err_fail(err, err_size, -EINVAL,
                                "the working directory must be an absolute path, not '%s'",
                                trace_quote(prog->cwd ? prog->cwd : "", q, sizeof(q)));
        if (prog->argc > 0 && !prog->argv)
                return err_fail(err, err_size, -EINVAL, "argc is %zu, but argv is NULL",
                                prog->argc);
        p->entrypoint = path_normalize(prog->entrypoint);
        p->cwd = path_normalize(prog->cwd);
        if (!p->entrypoint || !p->cwd)
                return -ENOMEM;
        if (o->exclude) {
                _cleanup_free_ char *joined = NULL;

                if (o->exclude[0] != '/' && asprintf(&joined, "%s/%s", p->cwd, o->exclude) < 0)
                        return -ENOMEM;
                p->exclude = path_normalize(joined ? joined : o->exclude);
                if (!p->exclude)
                        return -ENOMEM;
        }
        dir = runtime_dir_of(p->cwd);
        if (dir)
                return err_fail(err, err_size, -EINVAL,
                                "the run started in '%s', below %s, which lamina run replaces "
                                "with its own: trace it from another directory",
                                trace_quote(p->cwd, q, sizeof(q)), dir);
        dir = runtime_dir_of(p->entrypoint);
        if (dir)
                return err_fail(err, err_size, -EINVAL,
                                "the program '%s' is below %s, which lamina run replaces with "
                                "its own: it could not start",
                                trace_quote(p->entrypoint, q, sizeof(q)), dir);
        if (p->exclude && path_under(p->entrypoint, p->exclude))
                return err_fail(err, err_size, -EINVAL,
                                "the program '%s' is the path excluded from the manifest",
                                trace_quote(p->entrypoint, q, sizeof(q)));
        return 0;
}

/* The log's entries sorted by path, and the program's own when the log lacks it: a tracer
 * may see the program only once it runs, after its exec. */
static int sort_entries(plan_t *p, const trace_log_t *log)
{
        size_t n = 0;

        p->sorted = malloc((log->count + 1) * sizeof(*p->sorted));
        p->sorted_paths = malloc((log->count + 1) * sizeof(*p->sorted_paths));
        if (!p->sorted || !p->sorted_paths)
                return -ENOMEM;
        for (size_t i = 0; i < log->count; i++)
                p->sorted[n++] = &log->entries[i];
        if (!trace_log_find(log, p->entrypoint)) {
                p->program = (trace_entry_t){
                        .path = p->entrypoint,
                        .uses = TRACE_EXEC,
                        .first = (char *)"the program",
                };
                p->sorted[n++] = &p->program;
        }
        qsort(p->sorted, n, sizeof(*p->sorted), entry_cmp);
        for (size_t i = 0; i < n; i++)
                p->sorted_paths[i] = p->sorted[i]->path;
        p->sorted_count = n;
        return 0;
}

/* Sorts one entry into allowed, trusted, the directory candidates or left out. */
static int classify(plan_t *p, const trace_entry_t *e, bool hash, items_t *candidates, char *err,
                    size_t err_size)
{
        char q[TRACE_QUOTE_SIZE], q2[TRACE_QUOTE_SIZE];
        const char *dir;
        struct stat st;

        if (runtime_dir_of(e->path)) {
                dir = tmpfs_dir_of(e->path);
                if (dir && !STREQ(e->path, dir) && !(e->uses & TRACE_CREATE))
                        return items_add(&p->left_out, e->path, e->first, e->is_dir,
                                         STREQ(dir, "/tmp")
                                                 ? "below /tmp, where lamina run gives an "
                                                   "empty tmpfs"
                                                 : "below /dev/shm, where lamina run gives an "
                                                   "empty tmpfs");
                return 0;
        }
        if (p->exclude && path_under(e->path, p->exclude))
                return 0;

        if (e->uses & (TRACE_WRITE | TRACE_CREATE)) {
                _cleanup_free_ char *parent = NULL;

                /* a file written and gone must be made again: that is creation */
                if (!(e->uses & TRACE_CREATE) && lstat(e->path, &st) == 0)
                        return items_add(&p->allowed, e->path, e->first, false, NULL);
                parent = trace_path_parent(e->path);
                if (!parent)
                        return -ENOMEM;
                if (STREQ(parent, "/"))
                        return err_fail(err, err_size, -EINVAL,
                                        "the run created '%s' (%s) directly in '/': a manifest "
                                        "could allow that only by allowing the whole host",
                                        trace_quote(e->path, q, sizeof(q)),
                                        trace_quote(e->first ? e->first : "?", q2, sizeof(q2)));
                return items_add(&p->allowed, parent, e->first, true, NULL);
        }

        if (stat(e->path, &st) < 0) {
                int r = -errno;

                if (e->is_dir)
                        return 0; /* nothing to hash: a directory gone is simply not listed */
                if (lstat(e->path, &st) == 0 && S_ISLNK(st.st_mode))
                        return items_add(&p->left_out, e->path, e->first, false,
                                         "a symlink that leads nowhere");
                if (!hash) /* trace_against(): used, so needed, whatever the host has now */
                        return items_add(&p->trusted, e->path, e->first, false, NULL);
                return err_fail(err, err_size, r, "cannot hash '%s', used by %s: %s",
                                trace_quote(e->path, q, sizeof(q)),
                                trace_quote(e->first ? e->first : "?", q2, sizeof(q2)),
                                strerror(-r));
        }
        if (S_ISDIR(st.st_mode))
                return items_add(candidates, e->path, e->first, true, NULL);
        if (S_ISREG(st.st_mode))
                return items_add(&p->trusted, e->path, e->first, false, NULL);
        return items_add(&p->left_out, e->path, e->first, false,
                         "not a regular file, which is all a manifest can trust");
}

typedef struct dir_rules {
        const plan_t *p;
        const char *const *allowed; /* every allowed path, sorted */
        size_t allowed_count;
} dir_rules_t;

/* A directory that may not be a directory entry (see the top of this file). */
static bool not_a_dir_entry(const item_t *it, void *userdata)
{
        const dir_rules_t *d = userdata;

        return STREQ(it->path, "/") || (d->p->exclude && path_under(d->p->exclude, it->path)) ||
               trace_strv_has(d->allowed, d->allowed_count, it->path) ||
               trace_strv_any_below(d->allowed, d->allowed_count, it->path);
}

static bool not_chosen(const item_t *it, _unused_ void *userdata)
{
        return !it->why;
}

/* The directory entries: candidates used whole, and with --dirs every trusted file's
 * directory. They join p->trusted; files keep their own entries. */
static int add_dir_entries(plan_t *p, items_t *candidates, bool dirs)
{
        _cleanup_free_ const char **files = NULL, **allowed = NULL, **kept = NULL;
        size_t file_count = 0, allowed_count, kept_count;
        dir_rules_t rules;
        int r;

        r = items_paths(&p->trusted, false, &files, &file_count);
        if (r < 0)
                return r;
        r = items_paths(&p->allowed, false, &allowed, &allowed_count);
        if (r < 0)
                return r;
        rules = (dir_rules_t){p, allowed, allowed_count};
        /* first, so that no walk is spent on them (the run may well have looked at "/") */
        r = items_filter(candidates, not_a_dir_entry, &rules);
        if (r < 0)
                return r;
        /* why marks the chosen: directories used whole, then with --dirs every file's own */
        for (size_t i = 0; i < candidates->count; i++)
                candidates->items[i].why =
                        used_whole(candidates->items[i].path, files, file_count) ? "whole" : NULL;
        if (dirs)
                for (size_t i = 0; i < file_count; i++) {
                        _cleanup_free_ char *parent = trace_path_parent(files[i]);

                        if (!parent)
                                return -ENOMEM;
                        r = items_add(candidates, parent, p->trusted.items[i].first, true, "dirs");
                        if (r < 0)
                                return r;
                }
        r = items_filter(candidates, not_chosen, NULL);
        if (r < 0)
                return r;
        items_sort_unique(candidates);
        r = items_filter(candidates, not_a_dir_entry, &rules);
        if (r < 0)
                return r;
        r = items_paths(candidates, false, &kept, &kept_count);
        if (r < 0)
                return r;
        {
                strv_ref_t ref = {kept, kept_count};
                /* a directory entry covers its whole tree: one inside another adds nothing */
                r = items_filter(candidates, below_a_dir, &ref);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < candidates->count; i++) {
                item_t *c = &candidates->items[i];

                r = items_add(&p->trusted, c->path, c->first, true, NULL);
                if (r < 0)
                        return r;
        }
        items_sort_unique(&p->trusted);
        return 0;
}

/* Whether the view has dir without a mount of its own: something listed at or below it, or a
 * directory entry (trusted or allowed) above it. */
static bool dir_shown(const plan_t *p, const char *dir)
{
        const items_t *lists[] = {&p->trusted, &p->allowed};

        if (STREQ(dir, "/"))
                return true;
        for (size_t l = 0; l < ELEMENTSOF(lists); l++)
                for (size_t i = 0; i < lists[l]->count; i++) {
                        const item_t *it = &lists[l]->items[i];
                        if (path_under(it->path, dir) || (it->dir && path_under(dir, it->path)))
                                return true;
                }
        return false;
}

/* A tmpfs with another below it: the inner one's mount point would be hidden. */
static bool holds_another(const item_t *it, void *userdata)
{
        const items_t *l = userdata;

        for (size_t i = 0; i < l->count; i++)
                if (!STREQ(l->items[i].path, it->path) && path_under(l->items[i].path, it->path))
                        return true;
        return false;
}

/* The directories that must exist and that nothing listed shows (see the top of this file). */
static int add_tmpfs(plan_t *p)
{
        struct stat st;
        int r;

        if (!dir_shown(p, p->cwd)) {
                r = items_add(&p->tmpfs, p->cwd, NULL, true, NULL);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < p->sorted_count; i++) {
                const trace_entry_t *e = p->sorted[i];

                if (!e->is_dir || runtime_dir_of(e->path) ||
                    (p->exclude && path_under(e->path, p->exclude)) || dir_shown(p, e->path) ||
                    stat(e->path, &st) < 0 || !S_ISDIR(st.st_mode))
                        continue;
                r = items_add(&p->tmpfs, e->path, e->first, true, NULL);
                if (r < 0)
                        return r;
        }
        items_sort_unique(&p->tmpfs);
        return items_filter(&p->tmpfs, holds_another, &p->tmpfs);
}

/* Two paths to one file (python3 -> python3.11, /bin/sh -> dash) are hashed once. */
typedef struct file_id {
        dev_t dev;
        ino_t ino;
        size_t at;     /* the item */
        size_t unique; /* the hash that serves it */
} file_id_t;

static int file_id_cmp(const void *a, const void *b)
{
        const file_id_t *x = a, *y = b;

        if (x->dev != y->dev)
                return x->dev < y->dev ? -1 : 1;
        if (x->ino != y->ino)
                return x->ino < y->ino ? -1 : 1;
        return 0;
}

static int hash_trusted(plan_t *p, char *err, size_t err_size)
{
        _cleanup_free_ const char **paths = NULL;
        _cleanup_free_ file_id_t *ids = NULL;
        _cleanup_free_ uint8_t(*hashes)[VSTORE_SHA256_SIZE] = NULL;
        size_t n = 0, unique = 0, failed = 0;
        int r;

        paths = malloc((p->trusted.count + 1) * sizeof(*paths));
        ids = malloc((p->trusted.count + 1) * sizeof(*ids));
        hashes = malloc((p->trusted.count + 1) * sizeof(*hashes));
        if (!paths || !ids || !hashes)
                return -ENOMEM;
        for (size_t i = 0; i < p->trusted.count; i++) {
                struct stat st;

                if (p->trusted.items[i].dir)
                        continue;
                /* a file that cannot be looked at fails below, in vstore_hash_files() */
                if (stat(p->trusted.items[i].path, &st) < 0)
                        st = (struct stat){.st_dev = (dev_t)-1, .st_ino = (ino_t)i};
                ids[n++] = (file_id_t){.dev = st.st_dev, .ino = st.st_ino, .at = i};
        }
        if (n == 0)
                return 0;
        qsort(ids, n, sizeof(*ids), file_id_cmp);
        for (size_t i = 0; i < n; i++) {
                if (i == 0 || file_id_cmp(&ids[i - 1], &ids[i]) != 0)
                        paths[unique++] = p->trusted.items[ids[i].at].path;
                ids[i].unique = unique - 1;
        }
        r = vstore_hash_files(paths, unique, hashes, &failed);
        if (r < 0) {
                char q[TRACE_QUOTE_SIZE], q2[TRACE_QUOTE_SIZE];
                const item_t *it = NULL;

                for (size_t i = 0; i < n && !it; i++)
                        if (ids[i].unique == failed)
                                it = &p->trusted.items[ids[i].at];
                return err_fail(err, err_size, r, "cannot hash '%s', used by %s: %s",
                                trace_quote(it->path, q, sizeof(q)),
                                trace_quote(it->first ? it->first : "?", q2, sizeof(q2)),
                                r == -EINVAL ? "not a regular file any more" : strerror(-r));
        }
        for (size_t i = 0; i < n; i++)
                memcpy(p->trusted.items[ids[i].at].sha256, hashes[ids[i].unique],
                       VSTORE_SHA256_SIZE);
        return 0;
}

/* The body of trace_plan_build(), apart so that the candidates are freed on every path. */
static int build(plan_t *p, const trace_log_t *log, const trace_program_t *prog,
                 const trace_options_t *o, bool hash, items_t *candidates, char *err,
                 size_t err_size)
{
        _cleanup_free_ const char **allowed_dirs = NULL;
        size_t dir_count;
        strv_ref_t ref;
        int r;

        r = check_program(p, prog, o, err, err_size);
        if (r < 0)
                return r;
        r = sort_entries(p, log);
        if (r < 0)
                return r;
        for (size_t i = 0; i < p->sorted_count; i++) {
                r = classify(p, p->sorted[i], hash, candidates, err, err_size);
                if (r < 0)
                        return r;
        }

        items_sort_unique(&p->allowed);
        r = items_paths(&p->allowed, true, &allowed_dirs, &dir_count);
        if (r < 0)
                return r;
        ref = (strv_ref_t){allowed_dirs, dir_count};
        r = items_filter(&p->trusted, at_or_below_a_dir, &ref);
        if (r >= 0)
                r = items_filter(candidates, at_or_below_a_dir, &ref);
        /* last, since it frees what allowed_dirs names */
        if (r >= 0)
                r = items_filter(&p->allowed, below_a_dir, &ref);
        if (r < 0)
                return r;
        for (size_t i = 0; i < p->allowed.count; i++)
                p->create = p->create || p->allowed.items[i].dir;

        items_sort_unique(&p->trusted);
        r = add_dir_entries(p, candidates, o->dirs);
        if (r < 0)
                return r;
        items_sort_unique(&p->left_out);
        r = add_tmpfs(p);
        if (r < 0)
                return r;
        return hash ? hash_trusted(p, err, err_size) : 0;
}

int trace_plan_build(plan_t *p, const trace_log_t *log, const trace_program_t *prog,
                     const trace_options_t *o, bool hash, char *err, size_t err_size)
{
        items_t candidates = {0};
        int r;

        *p = (plan_t){0};
        r = build(p, log, prog, o, hash, &candidates, err, err_size);
        items_done(&candidates);
        if (r < 0)
                trace_plan_done(p);
        return r;
}
