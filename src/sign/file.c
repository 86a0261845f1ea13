/* The sign module's small helpers: one-line error messages, reads that stop at a size limit,
 * and writes that put a whole file in place or nothing. A key is written to a temporary file
 * that is fsync'd and then linked to its name without replacing anything, so that a crash or a
 * full disk never leaves half a key where the key belongs, and two runs of gen-key cannot
 * overwrite each other's key. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shared/io.h"
#include "sign/sign-internal.h"

int sign_read_fd(int fd, uint8_t *buf, size_t buf_size, size_t *ret_size)
{
        ssize_t n = read_full(fd, buf, buf_size);

        if (n < 0)
                return (int)n;
        *ret_size = (size_t)n;
        return 0;
}

int sign_mkdir_parents(const char *path)
{
        _cleanup_free_ char *copy = strdup(path);

        if (!copy)
                return -ENOMEM;
        /* Each prefix that ends before a "/"; EEXIST comes before any permission or read-only
         * error in the kernel, so directories that exist cost nothing. */
        for (char *p = copy + 1; (p = strchr(p, '/')); p++) {
                *p = '\0';
                if (mkdir(copy, 0700) < 0 && errno != EEXIST)
                        return -errno;
                *p = '/';
        }
        return 0;
}

/* The directory to open and the name in it. A path that names a directory by its last
 * component cannot name a file that we create. */
static int split_path(const char *path, char **ret_dir, const char **ret_name)
{
        const char *slash = strrchr(path, '/');
        const char *name = slash ? slash + 1 : path;
        char *dir;

        if (path[0] == '\0')
                return -ENOENT;
        if (name[0] == '\0' || STREQ(name, ".") || STREQ(name, ".."))
                return -EISDIR;
        if (strlen(name) > NAME_MAX)
                return -ENAMETOOLONG;
        if (!slash)
                dir = strdup(".");
        else if (slash == path)
                dir = strdup("/");
        else
                dir = strndup(path, (size_t)(slash - path));
        if (!dir)
                return -ENOMEM;
        *ret_dir = dir;
        *ret_name = name;
        return 0;
}

static int write_all(int fd, const uint8_t *data, size_t size)
{
        while (size > 0) {
                ssize_t n = write(fd, data, size);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                data += n;
                size -= (size_t)n;
        }
        return 0;
}

/* Gives the temporary file its name. Without replace, renameat2(RENAME_NOREPLACE) fails with
 * EEXIST as link() does; file systems that do not know the flag (EINVAL) get link() and
 * unlink(), which is as atomic for whoever looks at the name. */
static int publish(int dir_fd, const char *tmp, const char *name, bool replace)
{
        if (replace)
                return renameat(dir_fd, tmp, dir_fd, name) < 0 ? -errno : 0;
        if (renameat2(dir_fd, tmp, dir_fd, name, RENAME_NOREPLACE) == 0)
                return 0;
        if (errno != EINVAL)
                return -errno;
        if (linkat(dir_fd, tmp, dir_fd, name, 0) < 0)
                return -errno;
        (void)unlinkat(dir_fd, tmp, 0);
        return 0;
}

int sign_write_file(const char *path, const void *data, size_t size, mode_t mode, bool replace)
{
        static atomic_uint counter;
        _cleanup_free_ char *dir = NULL;
        _cleanup_close_ int dir_fd = -1, fd = -1;
        const char *name;
        char tmp[NAME_MAX + 1];
        int r;

        r = split_path(path, &dir, &name);
        if (r < 0)
                return r;
        dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return -errno;
        for (int attempt = 0; fd < 0; attempt++) {
                /* Named after the file it becomes, so that one left by a crash explains itself;
                 * O_EXCL makes a clash with another writer's name a retry, not a shared file. */
                snprintf(tmp, sizeof(tmp), ".%.200s.%d-%u.tmp", name, (int)getpid(),
                         atomic_fetch_add(&counter, 1));
                fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                            mode);
                if (fd < 0 && (errno != EEXIST || attempt >= 100))
                        return -errno;
        }
        /* The umask must not decide a key's or a signature's mode. */
        r = fchmod(fd, mode) < 0 ? -errno : 0;
        if (r == 0)
                r = write_all(fd, data, size);
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (r == 0)
                r = publish(dir_fd, tmp, name, replace);
        if (r < 0) {
                (void)unlinkat(dir_fd, tmp, 0);
                return r;
        }
        /* The name is in place; a failure to make it durable cannot be undone by reporting it,
         * and a retry would find the file. */
        (void)fsync(dir_fd);
        return 0;
}

void sign_secret_done(sign_secret_t *s)
{
        if (s->data) {
                explicit_bzero(s->data, s->size);
                free(s->data);
        }
        *s = (sign_secret_t){0};
}
