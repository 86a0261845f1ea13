/* The store's entry points: opening a store, preparing a tree (the fast check of an existing
 * tree, or the plan, hashing and building of a new one, swapped into place atomically), garbage
 * collection and listing. Locks: a shared flock on the store's "lock" while preparing and an
 * exclusive one while collecting garbage (so gc never removes an object that a build has made
 * but not yet linked), and an exclusive flock on trees/<key>.lock while preparing that key. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shared/macro.h"
#include "store/store-internal.h"

#define LOCK_NAME    "lock"
#define OBJECTS_NAME "objects"
#define TREES_NAME   "trees"

static int open_subdir(int dirfd, const char *name)
{
        if (mkdirat(dirfd, name, 0700) < 0 && errno != EEXIST)
                return -errno;
        int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

int vstore_open(const char *dir, vstore_t **ret)
{
        _cleanup_(vstore_freep) vstore_t *s = NULL;
        struct stat st;
        int fd;

        if (!dir || !*dir || !ret)
                return -EINVAL;
        if (strlen(dir) >= PATH_MAX)
                return -ENAMETOOLONG;
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->dir_fd = s->objects_fd = s->trees_fd = -1;
        s->path = strdup(dir);
        if (!s->path)
                return -ENOMEM;
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return -errno;
        s->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->dir_fd < 0)
                return -errno;
        /* Checked on the directory opened, so a rename in between changes nothing. */
        if (fstat(s->dir_fd, &st) < 0)
                return -errno;
        if (st.st_uid != geteuid() || (st.st_mode & 022) != 0)
                return -EPERM;
        s->objects_fd = open_subdir(s->dir_fd, OBJECTS_NAME);
        if (s->objects_fd < 0)
                return s->objects_fd;
        s->trees_fd = open_subdir(s->dir_fd, TREES_NAME);
        if (s->trees_fd < 0)
                return s->trees_fd;
        fd = openat(s->dir_fd, LOCK_NAME, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        close(fd);
        s->tmpfile_link = TMPFILE_UNKNOWN;
        *ret = TAKE_PTR(s);
        return 0;
}

vstore_t *vstore_free(vstore_t *s)
{
        if (!s)
                return NULL;
        if (s->dir_fd >= 0)
                close(s->dir_fd);
        if (s->objects_fd >= 0)
                close(s->objects_fd);
        if (s->trees_fd >= 0)
                close(s->trees_fd);
        free(s->path);
        free(s);
        return NULL;
}

/* Each call opens the lock file anew: flock belongs to the open file description, so two
 * threads sharing one would share one lock. */
static int lock_at(int dirfd, const char *name, int how)
{
        _cleanup_close_ int fd =
                openat(dirfd, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

        if (fd < 0)
                return -errno;
        while (flock(fd, how) < 0)
                if (errno != EINTR)
                        return -errno;
        return TAKE_FD(fd);
}

/* A key names a directory in trees/: one plain component, no dot first (those are ours). */
static bool key_valid(const char *key)
{
        size_t n = key ? strlen(key) : 0;

        if (n == 0 || n > MAX_KEY || key[0] == '.')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-",
                            key[i]))
                        return false;
        return true;
}

static void digest_str(SHA256_CTX *ctx, const char *s)
{
        s = s ? s : "";
        SHA256_Update(ctx, s, strlen(s) + 1);
}

/* What the spec asks for, hashed: a tree whose meta was made for another spec (another label,
 * pin, view or warn_only) is rebuilt, reusing the hashes of unchanged files. */
static int spec_digest(const vstore_spec_t *spec, uint8_t out[VSTORE_SHA256_SIZE])
{
        SHA256_CTX sha, *ctx = &sha;
        char view[PATH_MAX];

        SHA256_Init(ctx);
        digest_str(ctx, "lamina-store-spec 1");
        digest_str(ctx, spec->label);
        for (size_t i = 0; i < spec->file_count; i++) {
                const vstore_file_t *f = &spec->files[i];
                uint8_t flags[2] = {f->is_dir, f->sha256 != NULL};

                digest_str(ctx, f->host_path);
                SHA256_Update(ctx, flags, sizeof(flags));
                if (f->sha256)
                        SHA256_Update(ctx, f->sha256, VSTORE_SHA256_SIZE);
                if (spec->view_of(f->host_path, view, sizeof(view), spec->view_userdata) < 0)
                        snprintf(view, sizeof(view), "!");
                view[sizeof(view) - 1] = '\0';
                digest_str(ctx, view);
        }
        digest_str(ctx, "mount_dirs");
        for (size_t i = 0; i < spec->mount_dir_count; i++)
                digest_str(ctx, spec->mount_dirs[i]);
        digest_str(ctx, "mount_files");
        for (size_t i = 0; i < spec->mount_file_count; i++)
                digest_str(ctx, spec->mount_files[i]);
        digest_str(ctx, spec->warn_only ? "warn_only" : "strict");
        SHA256_Final(out, ctx);
        return 0;
}

static int spec_valid(const vstore_spec_t *spec, vstore_report_t *report)
{
        if (!key_valid(spec->key))
                return report_fail(report, -EINVAL,
                                   "tree key '%.64s' is not 1-%d characters of [A-Za-z0-9._-] "
                                   "not starting with '.'",
                                   spec->key ? spec->key : "", MAX_KEY);
        if (!spec->view_of)
                return report_fail(report, -EINVAL, "the spec has no view_of function");
        if (spec->file_count > MAX_FILES || spec->mount_dir_count > MAX_FILES ||
            spec->mount_file_count > MAX_FILES)
                return report_fail(report, -E2BIG, "the spec has more than %u entries", MAX_FILES);
        if ((spec->file_count && !spec->files) || (spec->mount_dir_count && !spec->mount_dirs) ||
            (spec->mount_file_count && !spec->mount_files))
                return report_fail(report, -EINVAL, "the spec counts entries it does not hold");
        if (spec->label && strlen(spec->label) >= PATH_MAX)
                return report_fail(report, -EINVAL, "the label is longer than %d bytes",
                                   PATH_MAX - 1);
        for (size_t i = 0; i < spec->file_count; i++)
                if (!spec->files[i].host_path)
                        return report_fail(report, -EINVAL, "%s: no host path",
                                           spec->files[i].entry ? spec->files[i].entry
                                                                : "(no entry)");
        return 0;
}

static void report_from_meta(vstore_report_t *report, const meta_t *m)
{
        report->files = (size_t)m->files;
        report->tofu = (size_t)m->tofu;
        report->skipped = (size_t)m->skipped;
        report->mismatch_count = m->mismatch_count;
        if (m->mismatch_count > 0) {
                const meta_mismatch_t *mm = &m->mismatches[0];

                snprintf(report->mismatch.host_path, sizeof(report->mismatch.host_path), "%s",
                         mm->host_path);
                snprintf(report->mismatch.entry, sizeof(report->mismatch.entry), "%s", mm->entry);
                memcpy(report->mismatch.expected, mm->expected, VSTORE_SHA256_SIZE);
                memcpy(report->mismatch.actual, mm->actual, VSTORE_SHA256_SIZE);
        }
}

static bool object_exists(vstore_t *s, const uint8_t sha[VSTORE_SHA256_SIZE], bool exec,
                          int64_t mtime_ns)
{
        char name[OBJECT_NAME_MAX];
        struct stat st;

        object_name(sha, exec, mtime_ns, name);
        return fstatat(s->objects_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

/* Opens the directory at rel (no leading '/') below root_fd, one component at a time, never
 * following a symlink. */
static int open_beneath(int root_fd, const char *rel)
{
        _cleanup_close_ int fd = fcntl(root_fd, F_DUPFD_CLOEXEC, 3);

        if (fd < 0)
                return -errno;
        for (const char *s = rel; *s;) {
                const char *e = strchrnul(s, '/');
                char name[NAME_MAX + 1];
                int next;

                if ((size_t)(e - s) > NAME_MAX)
                        return -ENAMETOOLONG;
                memcpy(name, s, (size_t)(e - s));
                name[e - s] = '\0';
                next = openat(fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (next < 0)
                        return -errno;
                close(fd);
                fd = next;
                s = *e ? e + 1 : e;
        }
        return TAKE_FD(fd);
}

static int node_cmp(const void *a, const void *b)
{
        return strcmp((*(node_t *const *)a)->view_path, (*(node_t *const *)b)->view_path);
}

static int make_node(vstore_t *s, const node_t *n, int parent_fd, const char *name,
                     const char **ret_what)
{
        char object[OBJECT_NAME_MAX];
        int fd;

        switch (n->kind) {
        case NODE_DIR:
                *ret_what = "mkdir";
                if (mkdirat(parent_fd, name, 0755) < 0)
                        return -errno;
                /* 0755 whatever the umask: the program may run as another uid in its view. */
                return fchmodat(parent_fd, name, 0755, 0) < 0 ? -errno : 0;
        case NODE_FILE:
                *ret_what = "link";
                object_name(n->file->sha256, n->file->exec, n->file->mtime_ns, object);
                if (linkat(s->objects_fd, object, parent_fd, name, 0) == 0)
                        return 0;
                /* The object has as many links as the file system allows (65000 on ext4: an
                 * empty __init__.py is in every Python tree): this tree gets its own copy. */
                if (errno != EMLINK)
                        return -errno;
                *ret_what = "copy";
                return copy_object_at(s, object, parent_fd, name, n->file->exec ? 0555 : 0444);
        case NODE_SYMLINK:
                *ret_what = "symlink";
                return symlinkat(n->target, parent_fd, name) < 0 ? -errno : 0;
        case NODE_EMPTY_FILE:
                *ret_what = "create";
                fd = openat(parent_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                            0644);
                if (fd < 0)
                        return -errno;
                int r = fchmod(fd, 0644) < 0 ? -errno : 0;
                close(fd);
                return r;
        }
        return -EINVAL;
}

/* Makes every node below dir_fd/root; parents sort before their children. */
static int build_tree(vstore_t *s, plan_t *p, int dir_fd)
{
        _cleanup_close_ int root_fd = -1, parent_fd = -1;
        _cleanup_free_ char *parent = NULL;
        int r;

        if (mkdirat(dir_fd, ROOT_NAME, 0755) < 0 || fchmodat(dir_fd, ROOT_NAME, 0755, 0) < 0)
                return report_fail(p->report, -errno, "store: cannot make a tree: %s",
                                   strerror(errno));
        root_fd = openat(dir_fd, ROOT_NAME, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (root_fd < 0)
                return -errno;
        if (p->nodes.count > 0)
                qsort(p->nodes.items, p->nodes.count, sizeof(*p->nodes.items), node_cmp);
        for (size_t i = 0; i < p->nodes.count; i++) {
                const node_t *n = p->nodes.items[i];
                const char *slash = strrchr(n->view_path, '/'), *what = "open";
                size_t size = (size_t)(slash - n->view_path);

                if (!parent || strlen(parent) != size || memcmp(parent, n->view_path, size) != 0) {
                        free(parent);
                        parent = strndup(n->view_path, size);
                        if (!parent)
                                return -ENOMEM;
                        if (parent_fd >= 0)
                                close(parent_fd);
                        parent_fd = open_beneath(root_fd, parent[0] ? parent + 1 : "");
                        if (parent_fd < 0) {
                                r = parent_fd;
                                goto fail;
                        }
                }
                r = make_node(s, n, parent_fd, slash + 1, &what);
                if (r < 0) {
                fail:
                        return report_fail(p->report, r, "store: view path '%s': %s failed: %s",
                                           n->view_path, what, strerrordesc_np(-r));
                }
        }
        return 0;
}

/* Puts the tree in dir new_name in place of trees/<key>, atomically when the file system can. */
static int swap_in(vstore_t *s, const char *new_name, const char *key)
{
        char old_name[32];
        int r;

        if (renameat2(s->trees_fd, new_name, s->trees_fd, key, RENAME_EXCHANGE) == 0) {
                (void)rm_rf_at(s->trees_fd, new_name);
                return 0;
        }
        if (errno == ENOENT) {
                if (renameat2(s->trees_fd, new_name, s->trees_fd, key, RENAME_NOREPLACE) == 0)
                        return 0;
                return -errno;
        }
        if (errno != EINVAL)
                return -errno;
        /* No RENAME_EXCHANGE here: a moment without a tree, under the key's lock. */
        r = mkdtemp_at(s->trees_fd, NEW_PREFIX, old_name);
        if (r < 0)
                return r;
        if (renameat(s->trees_fd, key, s->trees_fd, old_name) < 0 ||
            renameat(s->trees_fd, new_name, s->trees_fd, key) < 0)
                return -errno;
        (void)rm_rf_at(s->trees_fd, old_name);
        return 0;
}

static int check_pins(plan_t *p)
{
        vstore_report_t *report = p->report;
        char expected[2 * VSTORE_SHA256_SIZE + 1], actual[2 * VSTORE_SHA256_SIZE + 1];

        for (size_t i = 0; i < p->files.count; i++) {
                file_rec_t *f = p->files.items[i];

                if (!f->pinned || memcmp(f->pin, f->sha256, VSTORE_SHA256_SIZE) == 0)
                        continue;
                f->mismatch = true;
                if (report->mismatch_count++ > 0)
                        continue;
                snprintf(report->mismatch.host_path, sizeof(report->mismatch.host_path), "%s",
                         f->host_path);
                snprintf(report->mismatch.entry, sizeof(report->mismatch.entry), "%s",
                         entry_name(f->pin_entry));
                memcpy(report->mismatch.expected, f->pin, VSTORE_SHA256_SIZE);
                memcpy(report->mismatch.actual, f->sha256, VSTORE_SHA256_SIZE);
                if (!p->spec->warn_only) {
                        vstore_hex(f->pin, expected);
                        vstore_hex(f->sha256, actual);
                        report_fail(report, -EBADMSG,
                                    "%s: '%s' has SHA-256 %s, the manifest pins %s",
                                    entry_name(f->pin_entry), f->host_path, actual, expected);
                }
        }
        return report->mismatch_count > 0 && !p->spec->warn_only ? -EBADMSG : 0;
}

static int hash_failed(plan_t *p, const file_rec_t *f, int r)
{
        if (r == -EAGAIN)
                return report_fail(p->report, r,
                                   "%s: '%s' changed while it was verified; "
                                   "run again",
                                   entry_name(f->entry), f->host_path);
        return report_fail(p->report, r, "%s: '%s': %s failed: %s", entry_name(f->entry),
                           f->host_path, f->error_what ? f->error_what : "hashing",
                           strerrordesc_np(-r));
}

static int build(vstore_t *s, const vstore_spec_t *spec, vstore_report_t *report, const meta_t *old,
                 const uint8_t digest[VSTORE_SHA256_SIZE])
{
        _cleanup_(plan_done) plan_t p = {.root_fd = -1};
        _cleanup_free_ file_rec_t **todo = NULL;
        _cleanup_close_ int new_fd = -1;
        char new_name[32] = "";
        size_t todo_count = 0;
        file_rec_t *failed = NULL;
        int r;

        r = plan_init(&p, spec, report);
        if (r < 0)
                return r;
        r = plan_collect(&p);
        if (r < 0)
                return r;
        todo = calloc(p.files.count + 1, sizeof(*todo));
        if (!todo)
                return -ENOMEM;
        if (old) {
                r = meta_index((meta_t *)old); /* the index is a cache beside the record */
                if (r < 0)
                        return r;
        }
        /* Unchanged files keep the hash recorded when they were verified: only what changed is
         * read again. */
        for (size_t i = 0; i < p.files.count; i++) {
                file_rec_t *f = p.files.items[i];
                const meta_file_t *m = old ? strmap_get(&old->file_map, f->host_path) : NULL;

                if (m && m->dev == (uint64_t)f->dev && m->ino == (uint64_t)f->ino &&
                    m->size == f->size && m->mtime_ns == f->mtime_ns &&
                    m->ctime_ns == f->ctime_ns && m->exec == f->exec &&
                    object_exists(s, m->sha256, m->exec, m->mtime_ns)) {
                        memcpy(f->sha256, m->sha256, VSTORE_SHA256_SIZE);
                        f->have_hash = true;
                } else
                        todo[todo_count++] = f;
        }
        r = hash_files(s, todo, todo_count, spec, &failed);
        if (r < 0)
                return failed ? hash_failed(&p, failed, r) : r;
        for (size_t i = 0; i < todo_count; i++) {
                report->hashed++;
                report->hashed_bytes += todo[i]->size;
        }
        r = check_pins(&p);
        if (r < 0)
                return r;
        r = plan_check_pending(&p);
        if (r < 0)
                return r;

        r = mkdtemp_at(s->trees_fd, NEW_PREFIX, new_name);
        if (r < 0)
                return report_fail(report, r, "store: cannot make a tree: %s", strerrordesc_np(-r));
        new_fd = openat(s->trees_fd, new_name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (new_fd < 0)
                r = -errno;
        if (r >= 0)
                r = build_tree(s, &p, new_fd);
        if (r >= 0) {
                int fd = openat(new_fd, META_NAME,
                                O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                r = fd < 0 ? -errno : meta_write(fd, &p, digest);
                if (r < 0)
                        report_fail(report, r, "store: cannot write the tree's meta: %s",
                                    strerrordesc_np(-r));
        }
        if (r >= 0) {
                r = swap_in(s, new_name, spec->key);
                if (r < 0)
                        report_fail(report, r, "store: cannot put the tree in place: %s",
                                    strerrordesc_np(-r));
        }
        if (r < 0) {
                (void)rm_rf_at(s->trees_fd, new_name);
                return r;
        }
        report->built = true;
        report->files = p.files.count;
        report->skipped = p.skipped;
        for (size_t i = 0; i < p.files.count; i++)
                report->tofu += !((file_rec_t *)p.files.items[i])->pinned;
        return 0;
}

int vstore_prepare(vstore_t *s, const vstore_spec_t *spec, vstore_report_t *report_in,
                   char **ret_root)
{
        vstore_report_t scratch;
        vstore_report_t *report = report_in ? report_in : &scratch;
        _cleanup_close_ int store_lock = -1, key_lock = -1, meta_fd = -1;
        _cleanup_(meta_freep) meta_t *old = NULL;
        _cleanup_free_ char *root = NULL, *lock_name = NULL, *meta_name = NULL, *root_name = NULL;
        uint8_t digest[VSTORE_SHA256_SIZE];
        struct stat st;
        int r;

        memset(report, 0, sizeof(*report));
        if (!s || !spec || !ret_root)
                return -EINVAL;
        r = spec_valid(spec, report);
        if (r < 0)
                return r;
        if (asprintf(&root, "%s/" TREES_NAME "/%s/" ROOT_NAME, s->path, spec->key) < 0 ||
            asprintf(&lock_name, "%s.lock", spec->key) < 0 ||
            asprintf(&meta_name, "%s/" META_NAME, spec->key) < 0 ||
            asprintf(&root_name, "%s/" ROOT_NAME, spec->key) < 0)
                return -ENOMEM;
        r = spec_digest(spec, digest);
        if (r < 0)
                return r;

        store_lock = lock_at(s->dir_fd, LOCK_NAME, LOCK_SH);
        if (store_lock < 0)
                return report_fail(report, store_lock, "store: cannot lock '%s': %s", s->path,
                                   strerrordesc_np(-store_lock));
        key_lock = lock_at(s->trees_fd, lock_name, LOCK_EX);
        if (key_lock < 0)
                return report_fail(report, key_lock, "store: cannot lock tree '%s': %s", spec->key,
                                   strerrordesc_np(-key_lock));

        meta_fd = openat(s->trees_fd, meta_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (meta_fd >= 0 && meta_read(meta_fd, false, &old) < 0)
                old = NULL; /* unreadable, or of another version: built anew */
        if (old && memcmp(old->spec_digest, digest, sizeof(digest)) == 0 &&
            fstatat(s->trees_fd, root_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode) &&
            meta_unchanged(old)) {
                /* The last-used time, for a future gc of old trees: the meta file's mtime. */
                (void)futimens(meta_fd, NULL);
                report_from_meta(report, old);
                *ret_root = TAKE_PTR(root);
                return 0;
        }
        r = build(s, spec, report, old, digest);
        if (r < 0)
                return r;
        *ret_root = TAKE_PTR(root);
        return 0;
}

static bool has_prefix(const char *s, const char *prefix)
{
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int gc_objects_in(int dir_fd, uint64_t *bytes, int *count)
{
        DIR *d = fdopendir(dir_fd);
        struct dirent *de;
        struct stat st;
        int r = 0;

        if (!d) {
                r = -errno;
                close(dir_fd);
                return r;
        }
        while ((errno = 0, de = readdir(d))) {
                if (de->d_name[0] == '.') {
                        if (has_prefix(de->d_name, TMP_PREFIX))
                                (void)unlinkat(dirfd(d), de->d_name, 0);
                        continue;
                }
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                /* A tree links every object that it uses: one link left is the store's own. */
                if (!S_ISREG(st.st_mode) || st.st_nlink != 1)
                        continue;
                if (unlinkat(dirfd(d), de->d_name, 0) < 0) {
                        r = r ?: -errno;
                        continue;
                }
                (*count)++;
                *bytes += (uint64_t)st.st_size;
        }
        if (errno != 0)
                r = r ?: -errno;
        closedir(d);
        return r;
}

/* A fresh DIR stream over the directory dir_fd names, leaving dir_fd as it is. NULL with
 * errno set on failure. */
static DIR *opendir_at(int dir_fd)
{
        int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d;

        if (fd < 0)
                return NULL;
        d = fdopendir(fd);
        if (!d) {
                int saved = errno;
                close(fd);
                errno = saved;
        }
        return d;
}

int vstore_gc(vstore_t *s, uint64_t *ret_bytes_freed)
{
        _cleanup_close_ int lock = -1;
        uint64_t bytes = 0;
        int count = 0, r = 0;
        DIR *d;
        struct dirent *de;

        if (!s)
                return -EINVAL;
        lock = lock_at(s->dir_fd, LOCK_NAME, LOCK_EX);
        if (lock < 0)
                return lock;
        /* Empty objects/XX directories go below: made again when needed. */
        for (size_t i = 0; i < ELEMENTSOF(s->fanout_made); i++)
                atomic_store(&s->fanout_made[i], 0);

        /* Builds that were interrupted: nobody prepares now, so every .new-* is a leftover. */
        d = opendir_at(s->trees_fd);
        if (!d)
                return -errno;
        while ((errno = 0, de = readdir(d)))
                if (has_prefix(de->d_name, NEW_PREFIX)) {
                        int k = rm_rf_at(dirfd(d), de->d_name);
                        r = r ?: k;
                }
        closedir(d);

        d = opendir_at(s->objects_fd);
        if (!d)
                return -errno;
        while ((errno = 0, de = readdir(d))) {
                if (has_prefix(de->d_name, TMP_PREFIX)) {
                        (void)unlinkat(dirfd(d), de->d_name, 0);
                        continue;
                }
                if (de->d_name[0] == '.' || strlen(de->d_name) != 2)
                        continue;
                int sub = openat(dirfd(d), de->d_name,
                                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub < 0)
                        continue;
                int k = gc_objects_in(sub, &bytes, &count);
                r = r ?: k;
                (void)unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR); /* only when empty */
        }
        closedir(d);
        if (r < 0)
                return r;
        if (ret_bytes_freed)
                *ret_bytes_freed = bytes;
        return count;
}

static int info_cmp(const void *a, const void *b)
{
        return strcmp(((const vstore_tree_info_t *)a)->key, ((const vstore_tree_info_t *)b)->key);
}

int vstore_list(vstore_t *s, vstore_tree_info_t **ret, size_t *ret_count)
{
        _cleanup_free_ vstore_tree_info_t *infos = NULL;
        size_t count = 0, cap = 0;
        struct dirent *de;
        DIR *d;
        int r = 0;

        if (!s || !ret || !ret_count)
                return -EINVAL;
        d = opendir_at(s->trees_fd);
        if (!d)
                return -errno;
        while ((errno = 0, de = readdir(d))) {
                _cleanup_(meta_freep) meta_t *m = NULL;
                _cleanup_free_ char *meta_name = NULL;
                _cleanup_close_ int meta_fd = -1;
                struct stat st;

                if (!key_valid(de->d_name) || strlen(de->d_name) >= sizeof(infos->key))
                        continue;
                if (asprintf(&meta_name, "%s/" META_NAME, de->d_name) < 0) {
                        r = -ENOMEM;
                        break;
                }
                meta_fd = openat(dirfd(d), meta_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                /* A tree without a readable meta (a lock file, a tree of another version) is
                 * not listed: the next vstore_prepare() of its key builds it anew. */
                if (meta_fd < 0 || fstat(meta_fd, &st) < 0 || meta_read(meta_fd, true, &m) < 0)
                        continue;
                if (count == cap) {
                        size_t n = cap ? cap * 2 : 8;
                        vstore_tree_info_t *a = reallocarray(infos, n, sizeof(*a));
                        if (!a) {
                                r = -ENOMEM;
                                break;
                        }
                        infos = a;
                        cap = n;
                }
                vstore_tree_info_t *info = &infos[count++];
                *info = (vstore_tree_info_t){.files = (size_t)m->files,
                                             .bytes = m->bytes,
                                             .last_used = st.st_mtim.tv_sec};
                snprintf(info->key, sizeof(info->key), "%s", de->d_name);
                snprintf(info->label, sizeof(info->label), "%s", m->label);
        }
        if (r >= 0 && errno != 0)
                r = -errno;
        closedir(d);
        if (r < 0)
                return r;
        if (count > 1)
                qsort(infos, count, sizeof(*infos), info_cmp);
        *ret = TAKE_PTR(infos);
        *ret_count = count;
        return 0;
}
