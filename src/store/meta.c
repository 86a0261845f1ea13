/* The meta file of a tree: what the fast check needs to tell, with lstat and readlink only,
 * that the host still holds what was verified, plus the label and counts that vstore_list()
 * shows. A line-based text format, versioned by its first line; fields are separated by one
 * space, and a path (which may hold any byte but NUL) is written with every byte outside
 * '!'..'~', and '\', as \xHH. A file that does not end with "end" is not a meta file.
 *
 *   lamina-store-meta 1
 *   label <label>
 *   built <seconds since the epoch>
 *   spec <sha256 of the spec, hex>
 *   count <files> <tofu> <bytes> <skipped>
 *   F <dev> <ino> <size> <mtime ns> <ctime ns> <sha256> <p|t><x|-><m|-> <host path>
 *   D <dev> <ino> <mtime ns> <ctime ns> <host path>
 *   L <host path> <target>
 *   M <expected sha256> <actual sha256> <host path> <entry>
 *   end
 *
 * F: a verified file (p: pinned by the manifest, t: trusted on first use; x: executable; m: its
 * pinned hash did not match and warn_only took it anyway). D: a directory that a directory
 * entry expanded. L: a symlink met. M: a mismatch that warn_only let through, reported again
 * on every run. The last-used time is the file's mtime (vstore_prepare touches it). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "shared/macro.h"
#include "store/store-internal.h"

#define META_MAGIC    "lamina-store-meta 1"
#define MAX_LINE_SIZE (8 * 4 * PATH_MAX)
#define MAX_FIELDS    10

static void put_escaped(FILE *f, const char *s)
{
        static const char digits[] = "0123456789abcdef";

        for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
                if (*c > ' ' && *c < 0x7f && *c != '\\')
                        putc_unlocked(*c, f);
                else {
                        putc_unlocked('\\', f);
                        putc_unlocked('x', f);
                        putc_unlocked(digits[*c >> 4], f);
                        putc_unlocked(digits[*c & 15], f);
                }
        }
}

static int hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

/* In place; -EBADMSG on a malformed escape or an escaped NUL. */
static int unescape(char *s)
{
        char *out = s;

        for (; *s; s++) {
                if (*s != '\\') {
                        *out++ = *s;
                        continue;
                }
                int hi = s[1] == 'x' ? hexval(s[2]) : -1, lo = hi < 0 ? -1 : hexval(s[3]);
                if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                        return -EBADMSG;
                *out++ = (char)(hi << 4 | lo);
                s += 3;
        }
        *out = '\0';
        return 0;
}

int meta_write(int fd_in, const plan_t *p, const uint8_t spec_digest[VSTORE_SHA256_SIZE])
{
        _cleanup_close_ int fd = fd_in;
        _cleanup_fclose_ FILE *f = NULL;
        char hex[2 * VSTORE_SHA256_SIZE + 1], hex2[2 * VSTORE_SHA256_SIZE + 1];
        uint64_t tofu = 0, bytes = 0;

        f = fdopen(fd, "w");
        if (!f)
                return -errno;
        TAKE_FD(fd);
        for (size_t i = 0; i < p->files.count; i++) {
                const file_rec_t *r = p->files.items[i];
                tofu += !r->pinned;
                bytes += r->size;
        }
        vstore_hex(spec_digest, hex);
        fprintf(f, META_MAGIC "\nlabel ");
        put_escaped(f, p->spec->label ? p->spec->label : "");
        fprintf(f, "\nbuilt %jd\nspec %s\ncount %zu %ju %ju %zu\n", (intmax_t)time(NULL), hex,
                p->files.count, (uintmax_t)tofu, (uintmax_t)bytes, p->skipped);
        for (size_t i = 0; i < p->files.count; i++) {
                const file_rec_t *r = p->files.items[i];

                vstore_hex(r->sha256, hex);
                fprintf(f, "F %ju %ju %ju %jd %jd %s %c%c%c ", (uintmax_t)r->dev, (uintmax_t)r->ino,
                        (uintmax_t)r->size, (intmax_t)r->mtime_ns, (intmax_t)r->ctime_ns, hex,
                        r->pinned ? 'p' : 't', r->exec ? 'x' : '-', r->mismatch ? 'm' : '-');
                put_escaped(f, r->host_path);
                putc_unlocked('\n', f);
        }
        for (size_t i = 0; i < p->dirs.count; i++) {
                const dir_rec_t *d = p->dirs.items[i];

                fprintf(f, "D %ju %ju %jd %jd ", (uintmax_t)d->dev, (uintmax_t)d->ino,
                        (intmax_t)d->mtime_ns, (intmax_t)d->ctime_ns);
                put_escaped(f, d->host_path);
                putc_unlocked('\n', f);
        }
        for (size_t i = 0; i < p->links.count; i++) {
                const link_rec_t *l = p->links.items[i];

                fputs("L ", f);
                put_escaped(f, l->host_path);
                putc_unlocked(' ', f);
                put_escaped(f, l->target);
                putc_unlocked('\n', f);
        }
        for (size_t i = 0; i < p->files.count; i++) {
                const file_rec_t *r = p->files.items[i];

                if (!r->mismatch)
                        continue;
                vstore_hex(r->pin, hex);
                vstore_hex(r->sha256, hex2);
                fprintf(f, "M %s %s ", hex, hex2);
                put_escaped(f, r->host_path);
                putc_unlocked(' ', f);
                put_escaped(f, entry_name(r->pin_entry));
                putc_unlocked('\n', f);
        }
        fputs("end\n", f);
        if (fflush(f) != 0 || ferror(f))
                return errno > 0 ? -errno : -EIO;
        return 0;
}

meta_t *meta_free(meta_t *m)
{
        if (!m)
                return NULL;
        free(m->label);
        for (size_t i = 0; i < m->file_count; i++)
                free(m->file_recs[i].host_path);
        for (size_t i = 0; i < m->dir_count; i++)
                free(m->dirs[i].host_path);
        for (size_t i = 0; i < m->link_count; i++) {
                free(m->links[i].host_path);
                free(m->links[i].target);
        }
        for (size_t i = 0; i < m->mismatch_count; i++) {
                free(m->mismatches[i].host_path);
                free(m->mismatches[i].entry);
        }
        free(m->file_recs);
        free(m->dirs);
        free(m->links);
        free(m->mismatches);
        strmap_done(&m->file_map);
        free(m);
        return NULL;
}

/* Splits line at single spaces into at most max fields; the last takes the rest of the line. */
static size_t split(char *line, char **fields, size_t max)
{
        size_t n = 0;

        fields[n++] = line;
        for (char *c = line; *c && n < max; c++)
                if (*c == ' ') {
                        *c = '\0';
                        fields[n++] = c + 1;
                }
        return n;
}

static int parse_u64(const char *s, uint64_t *ret)
{
        char *end;

        if (*s < '0' || *s > '9')
                return -EBADMSG;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno != 0 || *end != '\0')
                return -EBADMSG;
        *ret = v;
        return 0;
}

static int parse_i64(const char *s, int64_t *ret)
{
        char *end;

        if (*s == '\0')
                return -EBADMSG;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (errno != 0 || *end != '\0')
                return -EBADMSG;
        *ret = v;
        return 0;
}

static int parse_path(char *s, char **ret)
{
        if (*s == '\0' || unescape(s) < 0)
                return -EBADMSG;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

#define GROW(array, count, cap)                                                                    \
        ({                                                                                         \
                int _r = 0;                                                                        \
                if ((count) == (cap)) {                                                            \
                        size_t _cap = (cap) ? (cap)*2 : 64;                                        \
                        void *_a = reallocarray((array), _cap, sizeof(*(array)));                  \
                        if (_a) {                                                                  \
                                (array) = _a;                                                      \
                                (cap) = _cap;                                                      \
                        } else                                                                     \
                                _r = -ENOMEM;                                                      \
                }                                                                                  \
                _r;                                                                                \
        })

static int parse_record(meta_t *m, char *line, size_t caps[4])
{
        char *fv[MAX_FIELDS];
        size_t n;
        int r;

        switch (line[0]) {
        case 'F': {
                meta_file_t rec = {0};

                n = split(line, fv, 9);
                if (n != 9 || strlen(fv[7]) != 3)
                        return -EBADMSG;
                if ((r = parse_u64(fv[1], &rec.dev)) < 0 || (r = parse_u64(fv[2], &rec.ino)) < 0 ||
                    (r = parse_u64(fv[3], &rec.size)) < 0 ||
                    (r = parse_i64(fv[4], &rec.mtime_ns)) < 0 ||
                    (r = parse_i64(fv[5], &rec.ctime_ns)) < 0)
                        return r;
                if (hex_parse(fv[6], rec.sha256) < 0)
                        return -EBADMSG;
                rec.pinned = fv[7][0] == 'p';
                rec.exec = fv[7][1] == 'x';
                rec.mismatch = fv[7][2] == 'm';
                if ((r = GROW(m->file_recs, m->file_count, caps[0])) < 0)
                        return r;
                if ((r = parse_path(fv[8], &rec.host_path)) < 0)
                        return r;
                m->file_recs[m->file_count++] = rec;
                return 0;
        }
        case 'D': {
                dir_rec_t rec = {0};
                uint64_t dev, ino;

                n = split(line, fv, 6);
                if (n != 6)
                        return -EBADMSG;
                if ((r = parse_u64(fv[1], &dev)) < 0 || (r = parse_u64(fv[2], &ino)) < 0 ||
                    (r = parse_i64(fv[3], &rec.mtime_ns)) < 0 ||
                    (r = parse_i64(fv[4], &rec.ctime_ns)) < 0)
                        return r;
                rec.dev = (dev_t)dev;
                rec.ino = (ino_t)ino;
                if ((r = GROW(m->dirs, m->dir_count, caps[1])) < 0)
                        return r;
                if ((r = parse_path(fv[5], &rec.host_path)) < 0)
                        return r;
                m->dirs[m->dir_count++] = rec;
                return 0;
        }
        case 'L': {
                link_rec_t rec = {0};

                n = split(line, fv, 3);
                if (n != 3 || strchr(fv[2], ' '))
                        return -EBADMSG;
                if ((r = GROW(m->links, m->link_count, caps[2])) < 0)
                        return r;
                if ((r = parse_path(fv[1], &rec.host_path)) < 0)
                        return r;
                if ((r = parse_path(fv[2], &rec.target)) < 0) {
                        free(rec.host_path);
                        return r;
                }
                m->links[m->link_count++] = rec;
                return 0;
        }
        case 'M': {
                meta_mismatch_t rec = {0};

                n = split(line, fv, 5);
                if (n != 5 || hex_parse(fv[1], rec.expected) < 0 ||
                    hex_parse(fv[2], rec.actual) < 0 || unescape(fv[4]) < 0)
                        return -EBADMSG;
                if ((r = GROW(m->mismatches, m->mismatch_count, caps[3])) < 0)
                        return r;
                if ((r = parse_path(fv[3], &rec.host_path)) < 0)
                        return r;
                rec.entry = strdup(fv[4]);
                if (!rec.entry) {
                        free(rec.host_path);
                        return -ENOMEM;
                }
                m->mismatches[m->mismatch_count++] = rec;
                return 0;
        }
        default:
                return -EBADMSG;
        }
}

static int parse_header(meta_t *m, unsigned index, char *line)
{
        static const char *const names[] = {"label", "built", "spec", "count"};
        char *fv[MAX_FIELDS];
        size_t n = split(line, fv, 5);
        uint64_t files, tofu, bytes, skipped;

        if (!STREQ(fv[0], names[index]))
                return -EBADMSG;
        switch (index) {
        case 0:
                if (n != 2)
                        return -EBADMSG;
                /* The label is the rest of the line, so a space (escaped) cannot split it. */
                if (unescape(fv[1]) < 0)
                        return -EBADMSG;
                m->label = strdup(fv[1]);
                return m->label ? 0 : -ENOMEM;
        case 1:
                return n == 2 ? parse_i64(fv[1], &m->built) : -EBADMSG;
        case 2:
                return n == 2 && hex_parse(fv[1], m->spec_digest) >= 0 ? 0 : -EBADMSG;
        default:
                if (n != 5 || parse_u64(fv[1], &files) < 0 || parse_u64(fv[2], &tofu) < 0 ||
                    parse_u64(fv[3], &bytes) < 0 || parse_u64(fv[4], &skipped) < 0)
                        return -EBADMSG;
                m->files = files;
                m->tofu = tofu;
                m->bytes = bytes;
                m->skipped = skipped;
                return 0;
        }
}

int meta_read(int fd, bool header_only, meta_t **ret)
{
        _cleanup_(meta_freep) meta_t *m = calloc(1, sizeof(*m));
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *line = NULL;
        size_t line_cap = 0, caps[4] = {0};
        unsigned index = 0;
        bool ended = false;
        int dup_fd, r;

        if (!m)
                return -ENOMEM;
        dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (dup_fd < 0)
                return -errno;
        f = fdopen(dup_fd, "r");
        if (!f) {
                close(dup_fd);
                return -errno;
        }
        for (;;) {
                ssize_t n = getline(&line, &line_cap, f);

                if (n < 0)
                        break;
                if (n == 0 || line[n - 1] != '\n' || (size_t)n > MAX_LINE_SIZE ||
                    memchr(line, '\0', (size_t)n))
                        return -EBADMSG;
                line[n - 1] = '\0';
                if (ended)
                        return -EBADMSG;
                if (index == 0) {
                        if (!STREQ(line, META_MAGIC))
                                return -EBADMSG;
                        index++;
                        continue;
                }
                if (index <= 4) {
                        r = parse_header(m, index - 1, line);
                        if (r < 0)
                                return r;
                        index++;
                        if (index == 5 && header_only) {
                                ended = true;
                                break;
                        }
                        continue;
                }
                if (STREQ(line, "end")) {
                        ended = true;
                        continue;
                }
                r = parse_record(m, line, caps);
                if (r < 0)
                        return r;
        }
        if (ferror(f))
                return -EIO;
        if (!ended)
                return -EBADMSG;
        *ret = TAKE_PTR(m);
        return 0;
}

int meta_index(meta_t *m)
{
        if (m->file_map.count > 0)
                return 0; /* made already */
        for (size_t i = 0; i < m->file_count; i++) {
                int r = strmap_put(&m->file_map, m->file_recs[i].host_path, &m->file_recs[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

bool meta_unchanged(const meta_t *m)
{
        struct stat st;
        char target[PATH_MAX];

        /* lstat of every file: about 1 us each here. Statting relative to each directory's fd,
         * or on two threads, measured no faster (bench: 1,413 files, 1.1 ms either way). */
        for (size_t i = 0; i < m->file_count; i++) {
                const meta_file_t *r = &m->file_recs[i];

                if (lstat(r->host_path, &st) < 0 || !S_ISREG(st.st_mode) ||
                    (uint64_t)st.st_dev != r->dev || (uint64_t)st.st_ino != r->ino ||
                    (uint64_t)st.st_size != r->size || timespec_ns(&st.st_mtim) != r->mtime_ns ||
                    timespec_ns(&st.st_ctim) != r->ctime_ns ||
                    ((st.st_mode & 0111) != 0) != r->exec)
                        return false;
        }
        for (size_t i = 0; i < m->dir_count; i++) {
                const dir_rec_t *d = &m->dirs[i];

                if (lstat(d->host_path, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_dev != d->dev ||
                    st.st_ino != d->ino || timespec_ns(&st.st_mtim) != d->mtime_ns ||
                    timespec_ns(&st.st_ctim) != d->ctime_ns)
                        return false;
        }
        for (size_t i = 0; i < m->link_count; i++) {
                const link_rec_t *l = &m->links[i];
                ssize_t n = readlink(l->host_path, target, sizeof(target));

                if (n < 0 || (size_t)n >= sizeof(target) || strlen(l->target) != (size_t)n ||
                    memcmp(target, l->target, (size_t)n) != 0)
                        return false;
        }
        return true;
}
