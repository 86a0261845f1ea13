/* From a spec to a plan: every entry's host path is resolved component by component as the
 * kernel would, recording each symlink met; directory entries are walked through file
 * descriptors, never through concatenated paths; and everything the tree must hold is put
 * under its view path, where two entries that want different things are caught. Nothing is
 * hashed or written here. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shared/macro.h"
#include "store/store-internal.h"

int report_fail(vstore_report_t *report, int r, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(report->message, sizeof(report->message), fmt, ap);
        va_end(ap);
        /* One line, whatever bytes the paths hold. */
        for (char *c = report->message; *c; c++)
                if ((unsigned char)*c < 0x20 || *c == 0x7f)
                        *c = '?';
        return r;
}

const char *entry_name(const vstore_file_t *f)
{
        return f->entry ? f->entry : f->host_path;
}

static void file_rec_free(file_rec_t *f)
{
        if (!f)
                return;
        free(f->host_path);
        free(f);
}

static void node_free(node_t *n)
{
        if (!n)
                return;
        free(n->view_path);
        free(n);
}

int plan_init(plan_t *p, const vstore_spec_t *spec, vstore_report_t *report)
{
        *p = (plan_t){.spec = spec, .report = report, .root_fd = -1};
        p->root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (p->root_fd < 0)
                return -errno;
        return 0;
}

void plan_done(plan_t *p)
{
        for (size_t i = 0; i < p->files.count; i++)
                file_rec_free(p->files.items[i]);
        for (size_t i = 0; i < p->dirs.count; i++) {
                dir_rec_t *d = p->dirs.items[i];
                free(d->host_path);
                free(d);
        }
        for (size_t i = 0; i < p->links.count; i++) {
                link_rec_t *l = p->links.items[i];
                free(l->host_path);
                free(l->target);
                free(l);
        }
        for (size_t i = 0; i < p->nodes.count; i++)
                node_free(p->nodes.items[i]);
        ptrvec_done(&p->files);
        ptrvec_done(&p->dirs);
        ptrvec_done(&p->links);
        ptrvec_done(&p->nodes);
        strmap_done(&p->file_map);
        strmap_done(&p->dir_map);
        strmap_done(&p->link_map);
        strmap_done(&p->node_map);
        free(p->pending);
        if (p->root_fd >= 0)
                close(p->root_fd);
        p->root_fd = -1;
}

/* A view path is absolute and normalised: the tree is made from it component by component,
 * so "..", "." or empty components would mean something else there than in the view. */
static bool view_path_valid(const char *v)
{
        size_t size = strlen(v);

        if (v[0] != '/' || size >= PATH_MAX)
                return false;
        if (size == 1)
                return true;
        for (const char *s = v + 1;;) {
                const char *e = strchrnul(s, '/');
                size_t n = (size_t)(e - s);

                if (n == 0 || n > NAME_MAX || (n == 1 && s[0] == '.') ||
                    (n == 2 && s[0] == '.' && s[1] == '.'))
                        return false;
                if (!*e)
                        return true;
                s = e + 1;
        }
}

static int view_of(plan_t *p, const char *host_path, const char *entry, char **ret)
{
        char buf[PATH_MAX];
        int r;

        r = p->spec->view_of(host_path, buf, sizeof(buf), p->spec->view_userdata);
        if (r < 0)
                return report_fail(p->report, r, "%s: '%s' has no place in the view: %s", entry,
                                   host_path, strerrordesc_np(-r));
        if (memchr(buf, '\0', sizeof(buf)) == NULL || !view_path_valid(buf))
                return report_fail(p->report, -EINVAL,
                                   "%s: '%s' is shown at '%.*s', not a normalised absolute path",
                                   entry, host_path, (int)strnlen(buf, 256), buf);
        *ret = strdup(buf);
        return *ret ? 0 : -ENOMEM;
}

static void describe(const node_t *n, char *buf, size_t size)
{
        switch (n->kind) {
        case NODE_DIR:
                snprintf(buf, size, "%s",
                         n->implicit ? "a directory (for what lies below it)" : "a directory");
                break;
        case NODE_FILE:
                snprintf(buf, size, "the file '%s'", n->file->host_path);
                break;
        case NODE_SYMLINK:
                snprintf(buf, size, "a symlink to '%s'", n->target);
                break;
        case NODE_EMPTY_FILE:
                snprintf(buf, size, "an empty file");
                break;
        }
}

static void who(const char *entry, char *buf, size_t size)
{
        if (entry)
                snprintf(buf, size, "'%s'", entry);
        else
                snprintf(buf, size, "a mount point");
}

static int conflict(plan_t *p, const node_t *a, const node_t *b)
{
        char who_a[256], who_b[256], what_a[512], what_b[512];

        who(a->entry, who_a, sizeof(who_a));
        who(b->entry, who_b, sizeof(who_b));
        describe(a, what_a, sizeof(what_a));
        describe(b, what_b, sizeof(what_b));
        return report_fail(p->report, -EEXIST, "view path '%s': %s wants %s, %s wants %s",
                           a->view_path, who_a, what_a, who_b, what_b);
}

static int pending_push(plan_t *p, node_t *node, file_rec_t *other, const char *other_entry)
{
        if (p->pending_count == p->pending_cap) {
                size_t cap = p->pending_cap ? p->pending_cap * 2 : 8;
                pending_conflict_t *a = reallocarray(p->pending, cap, sizeof(*a));

                if (!a)
                        return -ENOMEM;
                p->pending = a;
                p->pending_cap = cap;
        }
        p->pending[p->pending_count++] = (pending_conflict_t){node, other, other_entry};
        return 0;
}

/* Is what n wants the same as what the existing node wants? */
static int merge(plan_t *p, node_t *old, const node_t *n)
{
        if (old->kind != n->kind)
                return conflict(p, old, n);
        switch (n->kind) {
        case NODE_DIR:
                if (old->implicit && !n->implicit) {
                        old->implicit = false;
                        old->entry = n->entry;
                }
                return 0;
        case NODE_SYMLINK:
                return STREQ(old->target, n->target) ? 0 : conflict(p, old, n);
        case NODE_FILE:
                if (old->file == n->file)
                        return 0;
                return pending_push(p, old, n->file, n->entry);
        case NODE_EMPTY_FILE:
                return 0;
        }
        return 0;
}

/* Takes n: once pushed, plan_done() frees it whatever happens next. */
static int insert(plan_t *p, node_t *n)
{
        int r = ptrvec_push(&p->nodes, n);

        if (r < 0) {
                node_free(n);
                return r;
        }
        return strmap_put(&p->node_map, n->view_path, n);
}

/* Puts what the node wants at its view path, and directories at every parent. Takes n. */
static int add_node(plan_t *p, node_t *n)
{
        node_t *old;
        int r;

        if (STREQ(n->view_path, "/")) {
                char who_n[256], what_n[512];

                if (n->kind == NODE_DIR) {
                        node_free(n);
                        return 0;
                }
                who(n->entry, who_n, sizeof(who_n));
                describe(n, what_n, sizeof(what_n));
                node_free(n);
                return report_fail(p->report, -EEXIST,
                                   "view path '/': %s wants %s, but it is the tree's root", who_n,
                                   what_n);
        }
        old = strmap_get(&p->node_map, n->view_path);
        if (old) {
                r = merge(p, old, n);
                node_free(n);
                return r;
        }
        /* Parents, deepest first: one that exists as a directory has its own parents made. */
        for (size_t end = strlen(n->view_path); end > 0;) {
                _cleanup_free_ char *parent = NULL;
                node_t *d;

                while (n->view_path[--end] != '/')
                        ;
                if (end == 0)
                        break;
                parent = strndup(n->view_path, end);
                if (!parent) {
                        node_free(n);
                        return -ENOMEM;
                }
                d = strmap_get(&p->node_map, parent);
                if (d) {
                        if (d->kind == NODE_DIR)
                                break;
                        node_t want = {.view_path = parent,
                                       .kind = NODE_DIR,
                                       .implicit = true,
                                       .entry = n->entry};
                        r = conflict(p, d, &want);
                        node_free(n);
                        return r;
                }
                d = calloc(1, sizeof(*d));
                if (!d) {
                        node_free(n);
                        return -ENOMEM;
                }
                *d = (node_t){.view_path = TAKE_PTR(parent),
                              .kind = NODE_DIR,
                              .implicit = true,
                              .entry = n->entry};
                r = insert(p, d);
                if (r < 0) {
                        node_free(n);
                        return r;
                }
        }
        return insert(p, n);
}

static int add_view_node(plan_t *p, char *view_path, node_kind_t kind, file_rec_t *file,
                         const char *target, const char *entry)
{
        node_t *n = calloc(1, sizeof(*n));

        if (!n) {
                free(view_path);
                return -ENOMEM;
        }
        *n = (node_t){.view_path = view_path,
                      .kind = kind,
                      .file = file,
                      .target = target,
                      .entry = entry};
        return add_node(p, n);
}

static int fail_at(plan_t *p, int r, const vstore_file_t *f, const char *at, const char *why)
{
        if (!why)
                why = strerrordesc_np(-r);
        if (STREQ(at, f->host_path))
                return report_fail(p->report, r, "%s: '%s': %s", entry_name(f), at, why);
        return report_fail(p->report, r, "%s: '%s' -> '%s': %s", entry_name(f), f->host_path, at,
                           why);
}

/* Takes path. */
static int add_file(plan_t *p, const vstore_file_t *f, char *path, const struct stat *st)
{
        file_rec_t *rec = strmap_get(&p->file_map, path);
        char *view = NULL;
        int r;

        if (rec)
                free(path);
        else {
                rec = calloc(1, sizeof(*rec));
                if (!rec) {
                        free(path);
                        return -ENOMEM;
                }
                *rec = (file_rec_t){
                        .host_path = path,
                        .entry = f,
                        .dev = st->st_dev,
                        .ino = st->st_ino,
                        .size = (uint64_t)st->st_size,
                        .mtime_ns = timespec_ns(&st->st_mtim),
                        .ctime_ns = timespec_ns(&st->st_ctim),
                        .exec = (st->st_mode & 0111) != 0,
                };
                r = strmap_put(&p->file_map, rec->host_path, rec);
                if (r >= 0)
                        r = ptrvec_push(&p->files, rec);
                if (r < 0) {
                        file_rec_free(rec);
                        return r;
                }
        }
        if (f->sha256 && !f->is_dir) {
                if (rec->pinned && memcmp(rec->pin, f->sha256, VSTORE_SHA256_SIZE) != 0)
                        return report_fail(
                                p->report, -EEXIST, "'%s': '%s' and '%s' pin different hashes",
                                rec->host_path, entry_name(rec->pin_entry), entry_name(f));
                rec->pinned = true;
                rec->pin_entry = f;
                memcpy(rec->pin, f->sha256, VSTORE_SHA256_SIZE);
        }
        r = view_of(p, rec->host_path, entry_name(f), &view);
        if (r < 0)
                return r;
        return add_view_node(p, view, NODE_FILE, rec, NULL, entry_name(f));
}

/* Takes path. */
static int add_link(plan_t *p, const vstore_file_t *f, char *path, const char *target)
{
        link_rec_t *l = strmap_get(&p->link_map, path);
        char *view = NULL;
        int r;

        if (l)
                free(path);
        else {
                l = calloc(1, sizeof(*l));
                if (!l) {
                        free(path);
                        return -ENOMEM;
                }
                l->host_path = path;
                l->target = strdup(target);
                r = l->target ? strmap_put(&p->link_map, l->host_path, l) : -ENOMEM;
                if (r >= 0)
                        r = ptrvec_push(&p->links, l);
                if (r < 0) {
                        free(l->host_path);
                        free(l->target);
                        free(l);
                        return r;
                }
        }
        r = view_of(p, l->host_path, entry_name(f), &view);
        if (r < 0)
                return r;
        return add_view_node(p, view, NODE_SYMLINK, NULL, l->target, entry_name(f));
}

static int read_link_at(int dirfd, const char *name, char buf[static PATH_MAX])
{
        ssize_t n = readlinkat(dirfd, name, buf, PATH_MAX);

        if (n < 0)
                return -errno;
        if (n >= PATH_MAX)
                return -ENAMETOOLONG;
        buf[n] = '\0';
        return (int)n;
}

static int name_cmp(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static void names_free(ptrvec_t *names)
{
        for (size_t i = 0; i < names->count; i++)
                free(names->items[i]);
        ptrvec_done(names);
}

static int read_names(plan_t *p, const vstore_file_t *f, int fd, const char *path, ptrvec_t *ret)
{
        int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        DIR *d;
        struct dirent *de;
        int r = 0;

        if (dup_fd < 0)
                return fail_at(p, -errno, f, path, NULL);
        d = fdopendir(dup_fd);
        if (!d) {
                r = -errno;
                close(dup_fd);
                return fail_at(p, r, f, path, NULL);
        }
        while ((errno = 0, de = readdir(d))) {
                if (STREQ(de->d_name, ".") || STREQ(de->d_name, ".."))
                        continue;
                char *name = strdup(de->d_name);
                r = name ? ptrvec_push(ret, name) : -ENOMEM;
                if (r < 0) {
                        free(name);
                        break;
                }
        }
        if (r >= 0 && errno != 0)
                r = fail_at(p, -errno, f, path, NULL);
        closedir(d);
        if (r >= 0 && ret->count > 0)
                qsort(ret->items, ret->count, sizeof(*ret->items), name_cmp);
        return r;
}

/* Walks a directory entry below fd (open for reading; taken), whose resolved host path is
 * path (taken). Sockets, fifos and devices are skipped and counted: they hold no code and no
 * bytes to verify, and the sandbox shows its own /dev. */
static int walk(plan_t *p, const vstore_file_t *f, int fd_in, char *path_in, unsigned depth)
{
        _cleanup_close_ int fd = fd_in;
        _cleanup_free_ char *path = path_in;
        _cleanup_(names_free) ptrvec_t names = {0};
        char *view = NULL;
        struct stat st;
        dir_rec_t *d;
        int r;

        if (depth > MAX_DEPTH)
                return fail_at(p, -ELOOP, f, path, "directories nested too deep");
        if (fstat(fd, &st) < 0)
                return fail_at(p, -errno, f, path, NULL);
        if (strmap_get(&p->dir_map, path))
                return 0; /* walked already, through another entry */
        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        *d = (dir_rec_t){.host_path = TAKE_PTR(path),
                         .dev = st.st_dev,
                         .ino = st.st_ino,
                         .mtime_ns = timespec_ns(&st.st_mtim),
                         .ctime_ns = timespec_ns(&st.st_ctim)};
        r = strmap_put(&p->dir_map, d->host_path, d);
        if (r >= 0)
                r = ptrvec_push(&p->dirs, d);
        if (r < 0) {
                free(d->host_path);
                free(d);
                return r;
        }
        r = view_of(p, d->host_path, entry_name(f), &view);
        if (r < 0)
                return r;
        r = add_view_node(p, view, NODE_DIR, NULL, NULL, entry_name(f));
        if (r < 0)
                return r;
        r = read_names(p, f, fd, d->host_path, &names);
        if (r < 0)
                return r;
        for (size_t i = 0; i < names.count; i++) {
                const char *name = names.items[i];
                char *child = NULL;
                char target[PATH_MAX];

                r = path_join(d->host_path, name, &child);
                if (r == -ENAMETOOLONG)
                        return fail_at(p, r, f, d->host_path, "a name below it is too long");
                if (r < 0)
                        return r;
                if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        r = fail_at(p, -errno, f, child, NULL);
                        free(child);
                        return r;
                }
                if (S_ISREG(st.st_mode))
                        r = add_file(p, f, child, &st);
                else if (S_ISLNK(st.st_mode)) {
                        r = read_link_at(fd, name, target);
                        if (r < 0) {
                                r = fail_at(p, r, f, child, NULL);
                                free(child);
                                return r;
                        }
                        r = add_link(p, f, child, target);
                } else if (S_ISDIR(st.st_mode)) {
                        int sub = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sub < 0) {
                                r = fail_at(p, -errno, f, child, NULL);
                                free(child);
                                return r;
                        }
                        r = walk(p, f, sub, child, depth + 1);
                } else {
                        p->skipped++;
                        free(child);
                        r = 0;
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Resolves f->host_path on the host, one component at a time, as the kernel does: symlinks are
 * followed (and recorded), ".." goes to the physical parent. Returns an O_PATH fd of what was
 * reached, its resolved path (without symlinks) and its stat. */
static int resolve(plan_t *p, const vstore_file_t *f, int *ret_fd, char **ret_path,
                   struct stat *ret_st)
{
        _cleanup_free_ char *rest = strdup(f->host_path);
        _cleanup_close_ int cur_fd = -1;
        char cur[PATH_MAX] = "", at[PATH_MAX + NAME_MAX + 2], target[PATH_MAX];
        size_t cur_size = 0, pos = 0;
        unsigned links = 0;
        struct stat st;
        int r;

        if (!rest)
                return -ENOMEM;
        cur_fd = fcntl(p->root_fd, F_DUPFD_CLOEXEC, 3);
        if (cur_fd < 0)
                return -errno;
        for (;;) {
                const char *s = rest + pos, *e, *after;
                char name[NAME_MAX + 1];
                size_t n;

                while (*s == '/')
                        s++;
                if (!*s)
                        break;
                e = strchrnul(s, '/');
                n = (size_t)(e - s);
                for (after = e; *after == '/'; after++)
                        ;
                pos = (size_t)(e - rest);
                snprintf(at, sizeof(at), "%s/%.*s", cur, (int)MIN(n, (size_t)NAME_MAX), s);
                if (n > NAME_MAX || cur_size + 1 + n >= PATH_MAX)
                        return fail_at(p, -ENAMETOOLONG, f, at, NULL);
                memcpy(name, s, n);
                name[n] = '\0';
                if (STREQ(name, "."))
                        continue;
                if (STREQ(name, "..")) {
                        if (cur_size == 0)
                                continue;
                        int up = openat(cur_fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
                        if (up < 0)
                                return fail_at(p, -errno, f, at, NULL);
                        close(cur_fd);
                        cur_fd = up;
                        while (cur[--cur_size] != '/')
                                ;
                        cur[cur_size] = '\0';
                        continue;
                }
                _cleanup_close_ int fd = openat(cur_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0 || fstat(fd, &st) < 0)
                        return fail_at(p, -errno, f, at, NULL);
                if (S_ISLNK(st.st_mode)) {
                        size_t rest_size = strlen(e);
                        char *link_path, *next;

                        if (++links > MAX_SYMLINKS)
                                return fail_at(p, -ELOOP, f, at, NULL);
                        r = read_link_at(fd, "", target);
                        if (r == 0)
                                r = -ENOENT; /* as the kernel says for an empty target */
                        if (r < 0)
                                return fail_at(p, r, f, at, NULL);
                        size_t target_size = (size_t)r;
                        if (target_size + rest_size >= 4 * PATH_MAX)
                                return fail_at(p, -ENAMETOOLONG, f, at, NULL);
                        link_path = strdup(at);
                        if (!link_path)
                                return -ENOMEM;
                        r = add_link(p, f, link_path, target);
                        if (r < 0)
                                return r;
                        next = malloc(target_size + rest_size + 1);
                        if (!next)
                                return -ENOMEM;
                        memcpy(next, target, target_size);
                        memcpy(next + target_size, e, rest_size + 1);
                        free(rest);
                        rest = next;
                        pos = 0;
                        if (target[0] == '/') {
                                int root = fcntl(p->root_fd, F_DUPFD_CLOEXEC, 3);
                                if (root < 0)
                                        return -errno;
                                close(cur_fd);
                                cur_fd = root;
                                cur_size = 0;
                                cur[0] = '\0';
                        }
                        continue;
                }
                if (S_ISDIR(st.st_mode)) {
                        close(cur_fd);
                        cur_fd = TAKE_FD(fd);
                        cur[cur_size] = '/';
                        memcpy(cur + cur_size + 1, name, n + 1);
                        cur_size += 1 + n;
                        continue;
                }
                if (*e == '/')
                        return fail_at(p, -ENOTDIR, f, at, NULL);
                *ret_path = strdup(at);
                if (!*ret_path)
                        return -ENOMEM;
                *ret_fd = TAKE_FD(fd);
                *ret_st = st;
                return 0;
        }
        if (fstat(cur_fd, &st) < 0)
                return -errno;
        *ret_path = strdup(cur_size ? cur : "/");
        if (!*ret_path)
                return -ENOMEM;
        *ret_fd = TAKE_FD(cur_fd);
        *ret_st = st;
        return 0;
}

static int collect_entry(plan_t *p, const vstore_file_t *f)
{
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *path = NULL;
        struct stat st;
        int r;

        if (!f->host_path || f->host_path[0] != '/')
                return report_fail(p->report, -EINVAL, "%s: '%s' is not an absolute path",
                                   f->entry ? f->entry : "(no entry)",
                                   f->host_path ? f->host_path : "");
        if (strlen(f->host_path) >= PATH_MAX)
                return report_fail(p->report, -ENAMETOOLONG, "%s: the path is too long",
                                   entry_name(f));
        if (f->is_dir && f->sha256)
                return report_fail(p->report, -EINVAL,
                                   "%s: '%s' is a directory entry and cannot pin a hash",
                                   entry_name(f), f->host_path);
        r = resolve(p, f, &fd, &path, &st);
        if (r < 0)
                return r;
        if (f->is_dir) {
                if (!S_ISDIR(st.st_mode))
                        return fail_at(p, -ENOTDIR, f, path, NULL);
                int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dfd < 0)
                        return fail_at(p, -errno, f, path, NULL);
                return walk(p, f, dfd, TAKE_PTR(path), 0);
        }
        if (S_ISDIR(st.st_mode))
                return fail_at(p, -EISDIR, f, path, NULL);
        if (!S_ISREG(st.st_mode))
                return fail_at(p, -EINVAL, f, path, "not a regular file");
        return add_file(p, f, TAKE_PTR(path), &st);
}

static int collect_mount(plan_t *p, const char *view_path, node_kind_t kind)
{
        char *v;

        if (!view_path || !view_path_valid(view_path))
                return report_fail(p->report, -EINVAL,
                                   "mount point '%s' is not a normalised absolute path",
                                   view_path ? view_path : "");
        v = strdup(view_path);
        if (!v)
                return -ENOMEM;
        return add_view_node(p, v, kind, NULL, NULL, NULL);
}

int plan_collect(plan_t *p)
{
        const vstore_spec_t *spec = p->spec;
        int r;

        for (size_t i = 0; i < spec->file_count; i++) {
                r = collect_entry(p, &spec->files[i]);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < spec->mount_dir_count; i++) {
                r = collect_mount(p, spec->mount_dirs[i], NODE_DIR);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < spec->mount_file_count; i++) {
                r = collect_mount(p, spec->mount_files[i], NODE_EMPTY_FILE);
                if (r < 0)
                        return r;
        }
        return 0;
}

int plan_check_pending(plan_t *p)
{
        for (size_t i = 0; i < p->pending_count; i++) {
                const pending_conflict_t *c = &p->pending[i];

                if (memcmp(c->node->file->sha256, c->other->sha256, VSTORE_SHA256_SIZE) == 0 &&
                    c->node->file->exec == c->other->exec)
                        continue;
                node_t other = {.view_path = c->node->view_path,
                                .kind = NODE_FILE,
                                .file = c->other,
                                .entry = c->other_entry};
                return conflict(p, c->node, &other);
        }
        return 0;
}
