/* The store's small helpers: growable arrays, a string map, path joining, recursive removal
 * without following symlinks, temporary directory names, object names and hex. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shared/macro.h"
#include "store/store-internal.h"

int ptrvec_push(ptrvec_t *v, void *item)
{
        if (v->count == v->cap) {
                size_t cap = v->cap ? v->cap * 2 : 16;
                void **items = reallocarray(v->items, cap, sizeof(*items));

                if (!items)
                        return -ENOMEM;
                v->items = items;
                v->cap = cap;
        }
        v->items[v->count++] = item;
        return 0;
}

void ptrvec_done(ptrvec_t *v)
{
        free(v->items);
        *v = (ptrvec_t){0};
}

/* FNV-1a with murmur3's finaliser, as in manifest/tree.c: paths that differ in a few trailing
 * characters must still spread over a power-of-two table. */
static size_t str_hash(const char *s)
{
        uint64_t h = 14695981039346656037ull;

        for (; *s; s++) {
                h ^= (unsigned char)*s;
                h *= 1099511628211ull;
        }
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 33;
        return (size_t)h;
}

void *strmap_get(const strmap_t *m, const char *key)
{
        if (m->cap == 0)
                return NULL;
        for (size_t i = str_hash(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
                if (!m->keys[i])
                        return NULL;
                if (STREQ(m->keys[i], key))
                        return m->values[i];
        }
}

static void strmap_insert(const char **keys, void **values, size_t cap, const char *key,
                          void *value)
{
        size_t i = str_hash(key) & (cap - 1);

        while (keys[i])
                i = (i + 1) & (cap - 1);
        keys[i] = key;
        values[i] = value;
}

int strmap_put(strmap_t *m, const char *key, void *value)
{
        /* Kept at most half full, so that probes stay short. */
        if ((m->count + 1) * 2 > m->cap) {
                size_t cap = m->cap ? m->cap * 2 : 64;
                const char **keys = calloc(cap, sizeof(*keys));
                void **values = calloc(cap, sizeof(*values));

                if (!keys || !values) {
                        free(keys);
                        free(values);
                        return -ENOMEM;
                }
                for (size_t i = 0; i < m->cap; i++)
                        if (m->keys[i])
                                strmap_insert(keys, values, cap, m->keys[i], m->values[i]);
                free(m->keys);
                free(m->values);
                m->keys = keys;
                m->values = values;
                m->cap = cap;
        }
        strmap_insert(m->keys, m->values, m->cap, key, value);
        m->count++;
        return 0;
}

void strmap_done(strmap_t *m)
{
        free(m->keys);
        free(m->values);
        *m = (strmap_t){0};
}

int64_t timespec_ns(const struct timespec *ts)
{
        return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

int path_join(const char *dir, const char *name, char **ret)
{
        size_t dir_size = STREQ(dir, "/") ? 0 : strlen(dir), name_size = strlen(name);
        char *p;

        if (dir_size + 1 + name_size >= PATH_MAX)
                return -ENAMETOOLONG;
        p = malloc(dir_size + 1 + name_size + 1);
        if (!p)
                return -ENOMEM;
        memcpy(p, dir, dir_size);
        p[dir_size] = '/';
        memcpy(p + dir_size + 1, name, name_size + 1);
        *ret = p;
        return 0;
}

static int rm_rf_children(int fd, unsigned depth)
{
        DIR *d;
        struct dirent *de;
        int r = 0;

        if (depth > PATH_MAX / 2)
                return -ELOOP;
        d = fdopendir(fd);
        if (!d) {
                r = -errno;
                close(fd);
                return r;
        }
        while ((errno = 0, de = readdir(d))) {
                if (STREQ(de->d_name, ".") || STREQ(de->d_name, ".."))
                        continue;
                if (unlinkat(dirfd(d), de->d_name, 0) == 0 || errno == ENOENT)
                        continue;
                if (errno != EISDIR) {
                        r = r ?: -errno;
                        continue;
                }
                int sub = openat(dirfd(d), de->d_name,
                                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub < 0) {
                        r = r ?: -errno;
                        continue;
                }
                int k = rm_rf_children(sub, depth + 1);
                if (k < 0)
                        r = r ?: k;
                else if (unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0)
                        r = r ?: -errno;
        }
        if (errno != 0)
                r = r ?: -errno;
        closedir(d);
        return r;
}

int rm_rf_at(int dirfd, const char *name)
{
        int fd, r;

        if (unlinkat(dirfd, name, 0) == 0)
                return 0;
        if (errno == ENOENT)
                return 0;
        if (errno != EISDIR)
                return -errno;
        fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = rm_rf_children(fd, 0);
        if (r < 0)
                return r;
        if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

int mkdtemp_at(int dirfd, const char *prefix, char ret_name[static 32])
{
        static const char chars[] = "abcdefghijklmnopqrstuvwxyz0123456789";

        for (int attempt = 0; attempt < 100; attempt++) {
                uint8_t rnd[6];
                char name[32];
                size_t n = strlen(prefix);

                if (n + sizeof(rnd) >= sizeof(name))
                        return -EINVAL;
                if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
                        return -errno;
                memcpy(name, prefix, n);
                for (size_t i = 0; i < sizeof(rnd); i++)
                        name[n + i] = chars[rnd[i] % (sizeof(chars) - 1)];
                name[n + sizeof(rnd)] = '\0';
                if (mkdirat(dirfd, name, 0700) == 0) {
                        memcpy(ret_name, name, n + sizeof(rnd) + 1);
                        return 0;
                }
                if (errno != EEXIST)
                        return -errno;
        }
        return -EEXIST;
}

void object_name(const uint8_t sha[VSTORE_SHA256_SIZE], bool exec, int64_t mtime_ns,
                 char out[OBJECT_NAME_MAX])
{
        char hex[2 * VSTORE_SHA256_SIZE + 1];
        int64_t s = mtime_ns / 1000000000, ns = mtime_ns % 1000000000;

        if (ns < 0) {
                s--;
                ns += 1000000000;
        }
        vstore_hex(sha, hex);
        /* The exec bit and the mtime are part of the inode, and so of every hard link to it:
         * both are part of the object's name, and the same bytes with another mode or mtime
         * are another object. The mtime must be the host file's: Python, make and others
         * compare it (a .pyc whose source's mtime changed is compiled again, at every start,
         * in a read-only view). */
        snprintf(out, OBJECT_NAME_MAX, "%.2s/%s-%" PRId64 ".%09" PRId64 "%s", hex, hex, s, ns,
                 exec ? ".x" : "");
}

/* A digit's value plus one, 0 for what is not a lowercase hex digit: a table, not tests,
 * because a meta file holds a hash per file and random digits defeat branch prediction. */
static const uint8_t hex_values[256] = {
        ['0'] = 1,  ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,
        ['6'] = 7,  ['7'] = 8,  ['8'] = 9,  ['9'] = 10, ['a'] = 11, ['b'] = 12,
        ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
};

int hex_parse(const char *hex, uint8_t out[VSTORE_SHA256_SIZE])
{
        const unsigned char *h = (const unsigned char *)hex;
        uint8_t tmp[VSTORE_SHA256_SIZE];

        for (size_t i = 0; i < VSTORE_SHA256_SIZE; i++) {
                /* a NUL is invalid: nothing is read past the end of a short string */
                unsigned hi = hex_values[h[2 * i]], lo;

                if (hi == 0)
                        return -EINVAL;
                lo = hex_values[h[2 * i + 1]];
                if (lo == 0)
                        return -EINVAL;
                tmp[i] = (uint8_t)((hi - 1) << 4 | (lo - 1));
        }
        if (hex[2 * VSTORE_SHA256_SIZE] != '\0')
                return -EINVAL;
        memcpy(out, tmp, sizeof(tmp));
        return 0;
}
