/* The trace module's small tools (see trace-internal.h): error lines, lexical path handling,
 * sorted string arrays, the text buffer with TOML escaping, and the walk of a host directory
 * that decides whether a directory was used whole. Nothing here knows about manifests' rules. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manifest/manifest.h"
#include "shared/utf8.h"
#include "trace/trace-internal.h"

/* ---- errors ---- */

const char *trace_quote(const char *s, char *buf, size_t size)
{
        size_t n = 0, len = strlen(s), chars = 0;

        for (size_t i = 0; i < len && n + 8 < size;) {
                size_t seq = utf8_sequence_size(s + i, len - i);
                unsigned char c = (unsigned char)s[i];

                if (++chars > 200) {
                        memcpy(buf + n, "...", 3);
                        n += 3;
                        break;
                }
                if (seq > 1) {
                        memcpy(buf + n, s + i, seq);
                        n += seq;
                        i += seq;
                } else if (seq == 1 && c >= 0x20 && c != 0x7f) {
                        buf[n++] = (char)c;
                        i++;
                } else {
                        n += (size_t)snprintf(buf + n, size - n, "\\x%02x", c);
                        i++;
                }
        }
        buf[n] = '\0';
        return buf;
}

/* ---- paths ---- */

bool trace_path_is_normalised(const char *path)
{
        size_t len = strlen(path);

        if (path[0] != '/' || len >= PATH_MAX)
                return false;
        if (len == 1)
                return true;
        if (path[len - 1] == '/')
                return false;
        for (const char *s = path; *s;) {
                const char *end;

                s++; /* the '/' */
                end = strchrnul(s, '/');
                if (end == s || (end - s == 1 && s[0] == '.') ||
                    (end - s == 2 && s[0] == '.' && s[1] == '.'))
                        return false;
                s = end;
        }
        return true;
}

char *trace_path_parent(const char *path)
{
        const char *slash = strrchr(path, '/');

        if (!slash || slash == path)
                return strdup("/");
        return strndup(path, (size_t)(slash - path));
}

/* ---- sorted arrays of strings ---- */

int trace_strv_cmp(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

size_t trace_strv_lower(const char *const *v, size_t n, const char *key)
{
        size_t lo = 0, hi = n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (strcmp(v[mid], key) < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

bool trace_strv_has(const char *const *v, size_t n, const char *key)
{
        size_t i = trace_strv_lower(v, n, key);

        return i < n && STREQ(v[i], key);
}

/* The strings strictly below dir are those that start with dir + "/": one run of the sorted
 * array, from the first not less than dir + "/". */
static size_t below_start(const char *const *v, size_t n, const char *dir, size_t *ret_prefix)
{
        char key[PATH_MAX + 1];
        size_t len = strlen(dir);

        if (STREQ(dir, "/")) {
                *ret_prefix = 1;
                /* everything but "/" itself */
                return trace_strv_lower(v, n, "/") + (trace_strv_has(v, n, "/") ? 1 : 0);
        }
        if (len + 1 >= sizeof(key)) {
                *ret_prefix = 0;
                return n;
        }
        memcpy(key, dir, len);
        key[len] = '/';
        key[len + 1] = '\0';
        *ret_prefix = len + 1;
        return trace_strv_lower(v, n, key);
}

bool trace_strv_any_below(const char *const *v, size_t n, const char *dir)
{
        size_t prefix, i = below_start(v, n, dir, &prefix);

        return i < n && strncmp(v[i], dir, prefix - 1) == 0 && v[i][prefix - 1] == '/';
}

size_t trace_strv_count_below(const char *const *v, size_t n, const char *dir)
{
        size_t prefix, i = below_start(v, n, dir, &prefix), count = 0;

        for (; i < n && strncmp(v[i], dir, prefix - 1) == 0 && v[i][prefix - 1] == '/'; i++)
                count++;
        return count;
}

bool trace_strv_has_ancestor(const char *const *v, size_t n, const char *path)
{
        char buf[PATH_MAX];
        size_t len = strlen(path);

        if (len >= sizeof(buf))
                return false;
        memcpy(buf, path, len + 1);
        for (;;) {
                char *slash;

                if (trace_strv_has(v, n, buf))
                        return true;
                if (STREQ(buf, "/"))
                        return false;
                slash = strrchr(buf, '/');
                if (slash == buf)
                        slash[1] = '\0';
                else
                        *slash = '\0';
        }
}

/* ---- the walk ---- */

typedef struct walk {
        char path[PATH_MAX];
        size_t nodes, max_nodes;
        int (*fn)(const char *path, void *userdata);
        void *userdata;
} walk_t;

/* Walks the directory open at fd, whose path is w->path (len bytes). Takes fd. */
static int walk_dir(walk_t *w, int fd, size_t len, unsigned depth)
{
        DIR *d = fdopendir(fd);
        struct dirent *de;
        int r = 0;

        if (!d) {
                r = -errno;
                close(fd);
                return r;
        }
        /* PATH_MAX bounds the depth, but not the stack of open directories: keep it sane */
        if (depth > 256) {
                closedir(d);
                return -ELOOP;
        }
        while (r == 0) {
                size_t name_len;
                unsigned char type;

                errno = 0;
                de = readdir(d);
                if (!de) {
                        r = errno ? -errno : 0;
                        break;
                }
                if (STREQ(de->d_name, ".") || STREQ(de->d_name, ".."))
                        continue;
                if (++w->nodes > w->max_nodes) {
                        r = -E2BIG;
                        break;
                }
                name_len = strlen(de->d_name);
                if (len + 1 + name_len >= sizeof(w->path)) {
                        r = -ENAMETOOLONG;
                        break;
                }
                w->path[len] = '/';
                memcpy(w->path + len + 1, de->d_name, name_len + 1);
                type = de->d_type;
                if (type == DT_UNKNOWN) {
                        struct stat st;

                        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                                r = -errno;
                                break;
                        }
                        type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_LNK;
                }
                if (type == DT_REG) {
                        r = w->fn(w->path, w->userdata);
                } else if (type == DT_DIR) {
                        int sub = openat(dirfd(d), de->d_name,
                                         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sub < 0) {
                                r = -errno;
                                break;
                        }
                        r = walk_dir(w, sub, len + 1 + name_len, depth + 1);
                }
                w->path[len] = '\0';
        }
        closedir(d);
        return r;
}

int trace_walk_files(const char *dir, size_t max_nodes, int (*fn)(const char *path, void *userdata),
                     void *userdata)
{
        _cleanup_free_ walk_t *w = calloc(1, sizeof(*w));
        size_t len = strlen(dir);
        int fd;

        if (!w)
                return -ENOMEM;
        if (len >= sizeof(w->path))
                return -ENAMETOOLONG;
        /* "/" walks as "" + "/name", so that paths never start with "//" */
        if (STREQ(dir, "/"))
                len = 0;
        memcpy(w->path, dir, len);
        w->path[len] = '\0';
        w->max_nodes = max_nodes;
        w->fn = fn;
        w->userdata = userdata;
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        return walk_dir(w, fd, len, 0);
}

/* ---- text ---- */

void sb_toml_escape(strbuf_t *b, const char *s)
{
        for (const char *run = s;; s++) {
                unsigned char c = (unsigned char)*s;
                char esc[8];

                if (c != '\0' && c != '"' && c != '\\' && c >= 0x20 && c != 0x7f)
                        continue;
                strbuf_add(b, run, (size_t)(s - run));
                if (c == '\0')
                        break;
                switch (c) {
                case '"':
                        strbuf_add(b, "\\\"", 2);
                        break;
                case '\\':
                        strbuf_add(b, "\\\\", 2);
                        break;
                case '\b':
                        strbuf_add(b, "\\b", 2);
                        break;
                case '\t':
                        strbuf_add(b, "\\t", 2);
                        break;
                case '\n':
                        strbuf_add(b, "\\n", 2);
                        break;
                case '\f':
                        strbuf_add(b, "\\f", 2);
                        break;
                case '\r':
                        strbuf_add(b, "\\r", 2);
                        break;
                default:
                        snprintf(esc, sizeof(esc), "\\u%04X", c);
                        strbuf_add(b, esc, 6);
                }
                run = s + 1;
        }
}

void sb_toml_string(strbuf_t *b, const char *s)
{
        strbuf_add(b, "\"", 1);
        sb_toml_escape(b, s);
        strbuf_add(b, "\"", 1);
}

void sb_comment_text(strbuf_t *b, const char *s, size_t max)
{
        size_t len = strlen(s), done = 0;

        for (size_t i = 0; i < len;) {
                size_t seq = utf8_sequence_size(s + i, len - i);
                unsigned char c = (unsigned char)s[i];

                if (done + (seq ? seq : 1) > max) {
                        strbuf_add(b, "...", 3);
                        return;
                }
                if (seq > 1 || (seq == 1 && c >= 0x20 && c != 0x7f)) {
                        strbuf_add(b, s + i, seq);
                        i += seq;
                        done += seq;
                } else {
                        strbuf_add(b, "?", 1);
                        i++;
                        done++;
                }
        }
}

int sb_take(strbuf_t *b, char **ret_text, size_t *ret_size)
{
        if (!b->error && b->size > MANIFEST_SIZE_MAX) {
                strbuf_free(b);
                return -E2BIG;
        }
        return strbuf_take(b, ret_text, ret_size);
}

bool text_is_utf8(const char *s)
{
        size_t len = strlen(s);

        return utf8_invalid_offset(s, len) == len;
}
