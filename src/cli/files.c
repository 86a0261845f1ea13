/* Files that lamina's commands write: whole or not at all. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "shared/macro.h"

/* Writes text to path through a temporary file in the same directory, so that OUTPUT is
 * either the old file or the whole new one, never half of it. */
int write_file_atomically(const char *path, const char *text, size_t size, mode_t mode)
{
        _cleanup_free_ char *tmp = NULL, *dir_copy = strdup(path);
        int fd, r = 0;

        if (!dir_copy || asprintf(&tmp, "%s/.%s.XXXXXX", dirname(dir_copy),
                                  strrchr(path, '/') ? strrchr(path, '/') + 1 : path) < 0)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        for (size_t done = 0; done < size && r == 0;) {
                ssize_t n = write(fd, text + done, size - done);
                if (n < 0 && errno != EINTR)
                        r = -errno;
                else if (n > 0)
                        done += (size_t)n;
        }
        if (r == 0 && fchmod(fd, mode) < 0)
                r = -errno;
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r == 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0)
                unlink(tmp);
        return r;
}
