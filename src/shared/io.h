/* Reading that survives short reads and EINTR, shared by every module that reads a whole file or
 * a whole chunk: the store's hashing, /proc files, signatures and signed manifests. */
#pragma once

#include <errno.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

/* Reads until size bytes are in buf or the file ends. Returns the bytes read (less than size
 * only at the end of the file) or -errno. */
static inline ssize_t read_full(int fd, void *buf, size_t size)
{
        size_t done = 0;

        while (done < size) {
                ssize_t n = read(fd, (char *)buf + done, size - done);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                done += (size_t)n;
        }
        return (ssize_t)done;
}

/* Reads the rest of the file into a NUL-terminated buffer of its own (never NULL on success).
 * Returns 0, -E2BIG when the file holds max bytes or more, or -errno. */
static inline int read_whole(int fd, size_t max, char **ret, size_t *ret_size)
{
        char *text = NULL;
        size_t size = 0, capacity = 0;

        for (;;) {
                ssize_t n;

                if (size == capacity) {
                        char *grown;
                        if (capacity >= max) {
                                free(text);
                                return -E2BIG;
                        }
                        capacity = capacity ? 2 * capacity : 64 * 1024;
                        if (capacity > max)
                                capacity = max;
                        grown = realloc(text, capacity + 1);
                        if (!grown) {
                                free(text);
                                return -ENOMEM;
                        }
                        text = grown;
                }
                n = read_full(fd, text + size, capacity - size);
                if (n < 0) {
                        free(text);
                        return (int)n;
                }
                size += (size_t)n;
                if (size < capacity)
                        break;
        }
        text[size] = '\0';
        *ret = text;
        *ret_size = size;
        return 0;
}
