/* Signed manifests, SGX mode's checks and child manifests (see sgx.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "manifest/emit.h"
#include "manifest/tree.h"
#include "sgx/sgx.h"
#include "shared/io.h"
#include "shared/macro.h"
#include "sign/sign.h"
#include "store/store.h"

#define SIGNED_SUFFIX ".manifest.sgx"

void sgx_measure(const char *text, size_t size, uint8_t out[SGX_HASH_SIZE])
{
        vstore_sha256(text, size, out);
}

static void hex(const uint8_t h[SGX_HASH_SIZE], char out[2 * SGX_HASH_SIZE + 1])
{
        vstore_hex(h, out);
}

int sgx_read_file(const char *path, char **ret, size_t *ret_size)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

        if (fd < 0)
                return -errno;
        return read_whole(fd, MANIFEST_SIZE_MAX, ret, ret_size);
}

/* --- signing --- */

/* One trusted file of the signed manifest: an entry of the manifest, or one file of a
 * directory entry (then index > 0). */
typedef struct signed_file {
        const manifest_file_t *entry;
        unsigned index;
        char *path;
        uint8_t hash[SGX_HASH_SIZE];
} signed_file_t;

typedef struct signer {
        int error; /* set when resolving it failed */
        uint8_t id[SGX_HASH_SIZE];
} signer_t;

typedef struct signing {
        const manifest_t *m;
        manifest_error_t *e;
        signed_file_t *files;
        size_t count, capacity;
        uint8_t (*children)[SGX_HASH_SIZE];
        uint8_t (*signers)[SGX_HASH_SIZE];
} signing_t;

static void signing_done(signing_t *s)
{
        for (size_t i = 0; i < s->count; i++)
                free(s->files[i].path);
        free(s->files);
        free(s->children);
        free(s->signers);
}

static int add_file(signing_t *s, const manifest_file_t *entry, unsigned index, char *path)
{
        if (!path)
                return -ENOMEM;
        if (s->count == s->capacity) {
                size_t capacity = s->capacity ? 2 * s->capacity : 64;
                signed_file_t *files = reallocarray(s->files, capacity, sizeof(*files));
                if (!files) {
                        free(path);
                        return -ENOMEM;
                }
                s->files = files;
                s->capacity = capacity;
        }
        s->files[s->count++] = (signed_file_t){.entry = entry, .index = index, .path = path};
        return 0;
}

static int name_cmp(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds every file below dir (fd open on it, path its host path) in name order: regular files,
 * and symlinks that lead to one (hashed as what they lead to, which the view then holds). */
static int expand_dir(signing_t *s, const manifest_file_t *entry, int fd, const char *path,
                      unsigned *index)
{
        DIR *d;
        struct dirent *de;
        char **names = NULL;
        size_t count = 0, capacity = 0;
        int r = 0, dup = fcntl(fd, F_DUPFD_CLOEXEC, 3);

        if (dup < 0)
                return -errno;
        d = fdopendir(dup);
        if (!d) {
                close(dup);
                return -errno;
        }
        while ((de = readdir(d))) {
                if (STREQ(de->d_name, ".") || STREQ(de->d_name, ".."))
                        continue;
                if (count == capacity) {
                        capacity = capacity ? 2 * capacity : 32;
                        char **grown = reallocarray(names, capacity, sizeof(*names));
                        if (!grown) {
                                r = -ENOMEM;
                                break;
                        }
                        names = grown;
                }
                names[count] = strdup(de->d_name);
                if (!names[count]) {
                        r = -ENOMEM;
                        break;
                }
                count++;
        }
        closedir(d);
        if (r >= 0)
                qsort(names, count, sizeof(*names), name_cmp);
        for (size_t i = 0; i < count && r >= 0; i++) {
                struct stat st;
                char *child = NULL;

                if (fstatat(fd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        r = -errno;
                        break;
                }
                if (asprintf(&child, "%s/%s", STREQ(path, "/") ? "" : path, names[i]) < 0) {
                        r = -ENOMEM;
                        break;
                }
                if (S_ISDIR(st.st_mode)) {
                        int sub = openat(fd, names[i],
                                         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        r = sub < 0 ? -errno : expand_dir(s, entry, sub, child, index);
                        if (sub >= 0)
                                close(sub);
                        free(child);
                } else if (S_ISREG(st.st_mode) ||
                           (S_ISLNK(st.st_mode) && fstatat(fd, names[i], &st, 0) == 0 &&
                            S_ISREG(st.st_mode))) {
                        r = add_file(s, entry, ++*index, child);
                } else {
                        free(child); /* a dangling link, a socket: nothing to hash */
                }
        }
        for (size_t i = 0; i < count; i++)
                free(names[i]);
        free(names);
        return r;
}

static int collect_files(signing_t *s)
{
        const manifest_t *m = s->m;

        for (size_t i = 0; i < m->trusted_file_count; i++) {
                const manifest_file_t *f = &m->trusted_files[i];
                int r;

                if (f->is_dir) {
                        _cleanup_close_ int fd =
                                open(f->host_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        unsigned index = 0;

                        if (fd < 0) {
                                r = -errno;
                                diag_error(s->e, f->line, 1, "trusted directory '%s' (%s): %s",
                                           f->host_path, f->uri, strerror(-r));
                                return r;
                        }
                        r = expand_dir(s, f, fd, f->host_path, &index);
                } else {
                        r = add_file(s, f, 0, strdup(f->host_path));
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

static int hash_files(signing_t *s, sgx_sign_stats_t *stats)
{
        _cleanup_free_ const char **paths = calloc(s->count + 1, sizeof(*paths));
        _cleanup_free_ uint8_t(*hashes)[SGX_HASH_SIZE] = calloc(s->count + 1, SGX_HASH_SIZE);
        struct timespec a, b;
        size_t failed = 0;
        int r;

        if (!paths || !hashes)
                return -ENOMEM;
        for (size_t i = 0; i < s->count; i++) {
                struct stat st;
                paths[i] = s->files[i].path;
                if (stat(paths[i], &st) == 0)
                        stats->bytes += (uint64_t)st.st_size;
        }
        clock_gettime(CLOCK_MONOTONIC, &a);
        r = vstore_hash_files(paths, s->count, hashes, &failed);
        clock_gettime(CLOCK_MONOTONIC, &b);
        stats->seconds = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
        stats->files = s->count;
        if (r < 0) {
                const signed_file_t *f = &s->files[failed];
                diag_error(s->e, f->entry->line, 1, "trusted file '%s' (%s): %s", f->path,
                           f->entry->uri, r == -EINVAL ? "not a regular file" : strerror(-r));
                return r;
        }
        for (size_t i = 0; i < s->count; i++) {
                signed_file_t *f = &s->files[i];
                char want[2 * SGX_HASH_SIZE + 1], have[2 * SGX_HASH_SIZE + 1];

                memcpy(f->hash, hashes[i], SGX_HASH_SIZE);
                if (!f->entry->has_sha256 || memcmp(f->hash, f->entry->sha256, SGX_HASH_SIZE) == 0)
                        continue;
                hex(f->entry->sha256, want);
                hex(f->hash, have);
                diag_error(s->e, f->entry->line, 1,
                           "'%s' does not match its sha256 in the manifest: expected %s, the "
                           "file has %s",
                           f->path, want, have);
                return -EBADMSG;
        }
        return 0;
}

/* Each trusted child's measurement, from its .sig, whose signature must verify. */
static int resolve_children(signing_t *s)
{
        const manifest_t *m = s->m;

        s->children = calloc(m->trusted_child_count + 1, SGX_HASH_SIZE);
        if (!s->children)
                return -ENOMEM;
        for (size_t i = 0; i < m->trusted_child_count; i++) {
                const manifest_child_t *c = &m->trusted_children[i];
                char err[512] = "", want[2 * SGX_HASH_SIZE + 1], have[2 * SGX_HASH_SIZE + 1];
                sign_sig_t sig;
                int r = sign_sig_read(c->host_path, &sig, err, sizeof(err));

                if (r >= 0 && sign_sig_verify(&sig) < 0) {
                        r = -EBADMSG;
                        snprintf(err, sizeof(err), "its signature does not verify");
                }
                if (r < 0) {
                        diag_error(s->e, c->line, 1, "trusted child '%s': %s", c->uri,
                                   err[0] ? err : strerror(-r));
                        return r;
                }
                if (c->has_mrenclave && memcmp(c->mrenclave, sig.measurement, SGX_HASH_SIZE)) {
                        hex(c->mrenclave, want);
                        hex(sig.measurement, have);
                        diag_error(s->e, c->line, 1,
                                   "trusted child '%s' signs measurement %s, but the manifest "
                                   "pins %s",
                                   c->uri, have, want);
                        return -EBADMSG;
                }
                memcpy(s->children[i], sig.measurement, SGX_HASH_SIZE);
        }
        return 0;
}

/* A trusted signer's identity: written as hex, or the signer of a .sig, or a key's. */
static int signer_identity(const manifest_signer_t *sg, uint8_t out[SGX_HASH_SIZE], char *err,
                           size_t size)
{
        sign_sig_t sig;
        int r;

        switch (sg->kind) {
        case MANIFEST_SIGNER_HEX:
                memcpy(out, sg->mrsigner, SGX_HASH_SIZE);
                return 0;
        case MANIFEST_SIGNER_SIG:
                r = sign_sig_read(sg->host_path, &sig, err, size);
                if (r >= 0 && sign_sig_verify(&sig) < 0) {
                        snprintf(err, size, "its signature does not verify");
                        r = -EBADMSG;
                }
                if (r >= 0)
                        memcpy(out, sig.signer, SGX_HASH_SIZE);
                return r;
        default:
                return sign_key_identity(sg->host_path, out, err, size);
        }
}

static int resolve_signers(signing_t *s)
{
        const manifest_t *m = s->m;

        s->signers = calloc(m->trusted_signer_count + 1, SGX_HASH_SIZE);
        if (!s->signers)
                return -ENOMEM;
        for (size_t i = 0; i < m->trusted_signer_count; i++) {
                const manifest_signer_t *sg = &m->trusted_signers[i];
                char err[512] = "";
                int r = signer_identity(sg, s->signers[i], err, sizeof(err));

                if (r < 0) {
                        diag_error(s->e, sg->line, 1, "trusted signer '%s': %s", sg->value,
                                   err[0] ? err : strerror(-r));
                        return r;
                }
        }
        return 0;
}

static const char header[] =
        "# Signed manifest made by lamina sign from '%s': do not edit it, sign the manifest\n"
        "# again. Every trusted file has its sha256, every trusted child its measurement,\n"
        "# every trusted signer its identity. Its measurement is its SHA-256.\n";

/* A trusted file's URI in the signed manifest: the entry's, or for a file of a directory
 * entry, the directory's URI as written and the file's path below it. */
static int signed_uri(const signed_file_t *f, char **ret)
{
        const char *below;

        if (f->index == 0)
                return asprintf(ret, "%s", f->entry->uri) < 0 ? -ENOMEM : 0;
        below = f->path + strlen(f->entry->host_path);
        below += *below == '/';
        return asprintf(ret, "%s%s%s", f->entry->uri,
                        f->entry->uri[strlen(f->entry->uri) - 1] == '/' ? "" : "/", below) < 0
                       ? -ENOMEM
                       : 0;
}

/* TOML: the model, URIs as written, with the lists made explicit. */
static int write_toml(signing_t *s, FILE *f)
{
        const manifest_t *m = s->m;
        tree_value_t *root = manifest_to_tree_as(m, true), *sgx, *list;
        char buf[2 * SGX_HASH_SIZE + 1];
        int r = -ENOMEM;

        if (!root)
                return -ENOMEM;
        sgx = tree_table_get(root, "sgx");
        list = sgx ? tree_table_get(sgx, "trusted_files") : NULL;
        if (!list)
                goto out;
        /* the lists are rebuilt in place: free the items, keep the arrays */
        for (size_t i = 0; i < list->array.count; i++)
                tree_free(list->array.items[i]);
        list->array.count = 0;
        for (size_t i = 0; i < s->count; i++) {
                tree_value_t *item = tree_new(TREE_TABLE, 0, 0), *uri, *sha;
                char *u = NULL;

                if (!item || signed_uri(&s->files[i], &u) < 0) {
                        tree_free(item);
                        goto out;
                }
                hex(s->files[i].hash, buf);
                uri = tree_new_string(u, strlen(u), 0, 0);
                sha = tree_new_string(buf, strlen(buf), 0, 0);
                free(u);
                if (!uri || tree_table_add(item, "uri", 3, 0, 0, uri) < 0 || !sha ||
                    tree_table_add(item, "sha256", 6, 0, 0, sha) < 0 ||
                    tree_array_push(list, item) < 0) {
                        tree_free(sha);
                        tree_free(item);
                        goto out;
                }
        }
        list = tree_table_get(sgx, "trusted_children");
        for (size_t i = 0; list && i < list->array.count; i++) {
                tree_value_t *item = list->array.items[i], *t;

                if (item->type == TREE_STRING) {
                        /* "file:X.sig" becomes { uri = "file:X.sig", mrenclave = "..." } */
                        t = tree_new(TREE_TABLE, 0, 0);
                        if (!t || tree_table_add(t, "uri", 3, 0, 0, item) < 0) {
                                tree_free(t);
                                goto out;
                        }
                        list->array.items[i] = item = t;
                }
                if (!tree_table_get(item, "mrenclave")) {
                        hex(s->children[i], buf);
                        t = tree_new_string(buf, strlen(buf), 0, 0);
                        if (!t || tree_table_add(item, "mrenclave", 9, 0, 0, t) < 0) {
                                tree_free(t);
                                goto out;
                        }
                }
        }
        list = tree_table_get(sgx, "trusted_signers");
        for (size_t i = 0; list && i < list->array.count; i++) {
                tree_value_t *t;

                hex(s->signers[i], buf);
                t = tree_new_string(buf, strlen(buf), 0, 0);
                if (!t)
                        goto out;
                tree_free(list->array.items[i]);
                list->array.items[i] = t;
        }
        r = tree_write_toml(root, f);
out:
        tree_free(root);
        return r;
}

static bool is_dir_entry_line(const manifest_t *m, unsigned line)
{
        for (size_t i = 0; i < m->trusted_file_count; i++)
                if (m->trusted_files[i].is_dir && m->trusted_files[i].line == line)
                        return true;
        return false;
}

static bool is_signer_line(const manifest_t *m, unsigned line)
{
        for (size_t i = 0; i < m->trusted_signer_count; i++)
                if (m->trusted_signers[i].kind != MANIFEST_SIGNER_HEX &&
                    m->trusted_signers[i].line == line)
                        return true;
        return false;
}

static bool is_replaced_line(const manifest_t *m, unsigned line)
{
        return is_dir_entry_line(m, line) || is_signer_line(m, line);
}

/* Graphene's language: the text as written, the lines that the signed lists replace commented
 * out, and the checksums, measurements and identities added after it, as Graphene's signer
 * added sgx.trusted_checksum lines. */
static int write_legacy(signing_t *s, const char *text, size_t size, FILE *f)
{
        const manifest_t *m = s->m;
        char buf[2 * SGX_HASH_SIZE + 1];
        unsigned line = 1;

        for (size_t start = 0; start < size; line++) {
                const char *nl = memchr(text + start, '\n', size - start);
                size_t end = nl ? (size_t)(nl - text) + 1 : size;

                if (is_replaced_line(m, line))
                        fputs("# replaced by lamina sign: ", f);
                fwrite(text + start, 1, end - start, f);
                if (!nl)
                        fputc('\n', f);
                start = end;
        }
        fputs("\n# lamina sign\n", f);
        for (size_t i = 0; i < s->count; i++) {
                const signed_file_t *sf = &s->files[i];

                hex(sf->hash, buf);
                if (sf->index > 0) {
                        _cleanup_free_ char *u = NULL;
                        if (signed_uri(sf, &u) < 0)
                                return -ENOMEM;
                        fprintf(f, "sgx.trusted_files.%s.%04u = \"%s\"\n", sf->entry->name,
                                sf->index, u);
                        fprintf(f, "sgx.trusted_checksum.%s.%04u = %s\n", sf->entry->name,
                                sf->index, buf);
                } else if (!sf->entry->has_sha256) {
                        fprintf(f, "sgx.trusted_checksum.%s = %s\n", sf->entry->name, buf);
                }
        }
        for (size_t i = 0; i < m->trusted_child_count; i++) {
                if (m->trusted_children[i].has_mrenclave)
                        continue;
                hex(s->children[i], buf);
                fprintf(f, "sgx.trusted_mrenclave.%s = %s\n", m->trusted_children[i].name, buf);
        }
        for (size_t i = 0; i < m->trusted_signer_count; i++) {
                if (m->trusted_signers[i].kind == MANIFEST_SIGNER_HEX)
                        continue;
                hex(s->signers[i], buf);
                fprintf(f, "sgx.trusted_signers.%s = %s\n", m->trusted_signers[i].name, buf);
        }
        return ferror(f) ? -EIO : 0;
}

int sgx_sign_manifest(const manifest_t *m, const char *text, size_t size, manifest_error_t *e,
                      char **ret_text, size_t *ret_size, sgx_sign_stats_t *ret_stats)
{
        _cleanup_(signing_done) signing_t s = {.m = m, .e = e};
        sgx_sign_stats_t stats = {0};
        char *out = NULL;
        size_t out_size = 0;
        FILE *f;
        int r;

        if (e)
                e->file = m->path;
        r = collect_files(&s);
        if (r >= 0)
                r = hash_files(&s, &stats);
        if (r >= 0)
                r = resolve_children(&s);
        if (r >= 0)
                r = resolve_signers(&s);
        if (r < 0)
                return r;
        f = open_memstream(&out, &out_size);
        if (!f)
                return -ENOMEM;
        fprintf(f, header, m->path);
        r = m->format == MANIFEST_FORMAT_LEGACY ? write_legacy(&s, text, size, f)
                                                : write_toml(&s, f);
        if (fclose(f) != 0 && r >= 0)
                r = -EIO;
        if (r < 0) {
                free(out);
                return r;
        }
        *ret_text = out;
        *ret_size = out_size;
        if (ret_stats)
                *ret_stats = stats;
        return 0;
}

/* --- SGX mode --- */

int sgx_sig_path(const char *manifest_sgx, const manifest_t *m, char **ret)
{
        size_t n = strlen(manifest_sgx), k = strlen(SIGNED_SUFFIX);
        int r;

        if (m && m->sigfile_host)
                r = asprintf(ret, "%s", m->sigfile_host);
        else if (n > k && STREQ(manifest_sgx + n - k, SIGNED_SUFFIX))
                r = asprintf(ret, "%.*s.sig", (int)(n - k), manifest_sgx);
        else
                r = asprintf(ret, "%s.sig", manifest_sgx);
        return r < 0 ? -ENOMEM : 0;
}

_printf_(3, 4) static int fail(sgx_error_t *err, int exit_code, const char *fmt, ...)
{
        va_list ap;

        err->exit_code = exit_code;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
        return -EPERM;
}

/* The checks shared by the main manifest and its children: the .sig reads, verifies and
 * signs this text. */
static int check_signature(const char *path, const manifest_t *m, const char *text, size_t size,
                           int missing_code, sign_sig_t *ret_sig, sgx_error_t *err)
{
        _cleanup_free_ char *sig_path = NULL;
        uint8_t measurement[SGX_HASH_SIZE];
        char detail[512] = "", want[2 * SGX_HASH_SIZE + 1], have[2 * SGX_HASH_SIZE + 1];
        int r;

        if (sgx_sig_path(path, m, &sig_path) < 0)
                return -ENOMEM;
        r = sign_sig_read(sig_path, ret_sig, detail, sizeof(detail));
        if (r == -ENOENT)
                return fail(err, missing_code,
                            "'%s' has no signature '%s': sign it with lamina sign", path, sig_path);
        if (r < 0)
                return fail(err, SGX_EXIT_SIGNATURE, "'%s' is not a valid signature: %s", sig_path,
                            detail[0] ? detail : strerror(-r));
        if (sign_sig_verify(ret_sig) < 0)
                return fail(err, SGX_EXIT_SIGNATURE,
                            "'%s': the signature does not verify against the key it names",
                            sig_path);
        sgx_measure(text, size, measurement);
        if (memcmp(measurement, ret_sig->measurement, SGX_HASH_SIZE) != 0) {
                hex(measurement, have);
                hex(ret_sig->measurement, want);
                return fail(err, SGX_EXIT_MEASUREMENT,
                            "'%s' is not the manifest that '%s' signed: its measurement is %s, "
                            "the signature's %s",
                            path, sig_path, have, want);
        }
        return 0;
}

int sgx_check_hashed(const char *path, const manifest_t *m, sgx_error_t *err)
{
        for (size_t i = 0; i < m->trusted_file_count; i++) {
                const manifest_file_t *f = &m->trusted_files[i];
                if (!f->is_dir && f->has_sha256)
                        continue;
                return fail(err, SGX_EXIT_UNHASHED,
                            "%s:%u: trusted %s '%s' has no sha256: SGX mode trusts nothing on "
                            "first use; sign the manifest with lamina sign",
                            path, f->line, f->is_dir ? "directory" : "file", f->uri);
        }
        for (size_t i = 0; i < m->trusted_child_count; i++) {
                const manifest_child_t *c = &m->trusted_children[i];
                if (c->has_mrenclave)
                        continue;
                return fail(err, SGX_EXIT_UNHASHED,
                            "%s:%u: trusted child '%s' has no measurement: sign the manifest "
                            "with lamina sign",
                            path, c->line, c->uri);
        }
        return 0;
}

int sgx_verify(const char *path, const manifest_t *m, const char *text, size_t size,
               uint8_t ret_measurement[SGX_HASH_SIZE], uint8_t ret_signer[SGX_HASH_SIZE],
               sgx_error_t *err)
{
        sign_sig_t sig;
        int r = check_signature(path, m, text, size, SGX_EXIT_MISSING, &sig, err);

        if (r < 0)
                return r;
        r = sgx_check_hashed(path, m, err);
        if (r < 0)
                return r;
        memcpy(ret_measurement, sig.measurement, SGX_HASH_SIZE);
        memcpy(ret_signer, sig.signer, SGX_HASH_SIZE);
        return 0;
}

/* --- children --- */

typedef struct child {
        char *name; /* the program's file name: X of X.manifest.sgx */
        char *path;
        manifest_t *owned; /* NULL for the main manifest, which is the caller's */
        const manifest_t *m;
        uint8_t measurement[SGX_HASH_SIZE];
        bool has_signer;
        uint8_t signer[SGX_HASH_SIZE];
        uint8_t (*signers)[SGX_HASH_SIZE]; /* the identities it trusts */
        size_t signer_count;
        bool reachable;
} child_t;

struct sgx_children {
        child_t *items;
        size_t count;
        bool *trust; /* trust[parent * count + child] */
        const manifest_t **reachable;
        size_t reachable_count;
};

sgx_children_t *sgx_children_free(sgx_children_t *c)
{
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->count; i++) {
                free(c->items[i].name);
                free(c->items[i].path);
                free(c->items[i].signers);
                manifest_free(c->items[i].owned);
        }
        free(c->items);
        free(c->trust);
        free(c->reachable);
        free(c);
        return NULL;
}

static void childrenp(sgx_children_t **c)
{
        sgx_children_free(*c);
}

static char *name_of(const char *path)
{
        const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        size_t n = strlen(base), k = strlen(SIGNED_SUFFIX);

        return n > k && STREQ(base + n - k, SIGNED_SUFFIX) ? strndup(base, n - k) : strdup(base);
}

static int load_child(child_t *c, const char *path, bool verify, sgx_error_t *err)
{
        _cleanup_free_ char *text = NULL;
        manifest_options_t opts = {.format = MANIFEST_FORMAT_AUTO};
        manifest_error_t e = {0};
        char message[MANIFEST_MESSAGE_MAX + 512];
        sign_sig_t sig;
        size_t size;
        int r;

        c->path = strdup(path);
        c->name = name_of(path);
        if (!c->path || !c->name)
                return -ENOMEM;
        r = sgx_read_file(path, &text, &size);
        if (r < 0)
                return fail(err, SGX_EXIT_CHILD, "cannot read the child manifest '%s': %s", path,
                            strerror(-r));
        r = manifest_parse(path, text, size, &opts, &e, &c->owned);
        if (r < 0) {
                diag_format(&e, message, sizeof(message));
                return fail(err, SGX_EXIT_CHILD, "the child manifest %s", message);
        }
        c->m = c->owned;
        sgx_measure(text, size, c->measurement);
        if (verify) {
                r = check_signature(path, c->m, text, size, SGX_EXIT_CHILD, &sig, err);
                if (r < 0) {
                        err->exit_code = SGX_EXIT_CHILD; /* whatever failed, a child did */
                        return r;
                }
                c->has_signer = true;
                memcpy(c->signer, sig.signer, SGX_HASH_SIZE);
        } else {
                /* outside SGX mode a signer is still known from a .sig that verifies */
                _cleanup_free_ char *sig_path = NULL;
                char detail[256];
                if (sgx_sig_path(path, c->m, &sig_path) == 0 &&
                    sign_sig_read(sig_path, &sig, detail, sizeof(detail)) == 0 &&
                    sign_sig_verify(&sig) == 0) {
                        c->has_signer = true;
                        memcpy(c->signer, sig.signer, SGX_HASH_SIZE);
                }
        }
        return 0;
}

static int load_signers(child_t *c, sgx_error_t *err)
{
        const manifest_t *m = c->m;

        c->signers = calloc(m->trusted_signer_count + 1, SGX_HASH_SIZE);
        if (!c->signers)
                return -ENOMEM;
        for (size_t i = 0; i < m->trusted_signer_count; i++) {
                char detail[512] = "";
                int r = signer_identity(&m->trusted_signers[i], c->signers[i], detail,
                                        sizeof(detail));
                if (r < 0)
                        return fail(err, SGX_EXIT_CHILD, "%s:%u: trusted signer '%s': %s", c->path,
                                    m->trusted_signers[i].line, m->trusted_signers[i].value,
                                    detail[0] ? detail : strerror(-r));
        }
        c->signer_count = m->trusted_signer_count;
        return 0;
}

/* Whether a process running p may start c: the same measurement, c among p's trusted
 * children, or c's signer among p's trusted signers. */
static bool trusts(const child_t *p, const child_t *c)
{
        if (memcmp(p->measurement, c->measurement, SGX_HASH_SIZE) == 0)
                return true;
        for (size_t i = 0; i < p->m->trusted_child_count; i++) {
                const manifest_child_t *t = &p->m->trusted_children[i];
                if (t->has_mrenclave && memcmp(t->mrenclave, c->measurement, SGX_HASH_SIZE) == 0)
                        return true;
        }
        for (size_t i = 0; c->has_signer && i < p->signer_count; i++)
                if (memcmp(p->signers[i], c->signer, SGX_HASH_SIZE) == 0)
                        return true;
        return false;
}

static int signed_cmp(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int sgx_children_load(const char *main_path, const manifest_t *main, const char *main_text,
                      size_t main_size, bool verify, sgx_children_t **ret, sgx_error_t *err)
{
        _cleanup_(childrenp) sgx_children_t *c = calloc(1, sizeof(*c));
        _cleanup_free_ char *copy = strdup(main_path);
        char **paths = NULL;
        size_t path_count = 0;
        DIR *d;
        struct dirent *de;
        const char *dir;
        int r = 0;

        if (!c || !copy)
                return -ENOMEM;
        dir = dirname(copy);
        d = opendir(dir);
        if (!d)
                return -errno;
        while ((de = readdir(d)) && r >= 0) {
                size_t n = strlen(de->d_name), k = strlen(SIGNED_SUFFIX);
                char *p = NULL, **grown;

                if (n <= k || !STREQ(de->d_name + n - k, SIGNED_SUFFIX))
                        continue;
                if (asprintf(&p, "%s/%s", dir, de->d_name) < 0 ||
                    !(grown = reallocarray(paths, path_count + 1, sizeof(*paths)))) {
                        free(p);
                        r = -ENOMEM;
                        break;
                }
                paths = grown;
                paths[path_count++] = p;
        }
        closedir(d);
        if (r >= 0)
                qsort(paths, path_count, sizeof(*paths), signed_cmp);

        c->items = calloc(path_count + 1, sizeof(*c->items));
        if (r >= 0 && !c->items)
                r = -ENOMEM;
        if (r >= 0) {
                /* the main manifest first */
                child_t *m = &c->items[c->count++];
                m->m = main;
                m->path = strdup(main_path);
                m->name = name_of(main_path);
                sgx_measure(main_text, main_size, m->measurement);
                if (!m->path || !m->name)
                        r = -ENOMEM;
        }
        for (size_t i = 0; i < path_count && r >= 0; i++) {
                struct stat a, b;
                /* the main manifest itself, by identity rather than by name */
                if (stat(paths[i], &a) == 0 && stat(main_path, &b) == 0 && a.st_dev == b.st_dev &&
                    a.st_ino == b.st_ino)
                        continue;
                r = load_child(&c->items[c->count++], paths[i], verify, err);
        }
        for (size_t i = 0; i < path_count; i++)
                free(paths[i]);
        free(paths);
        for (size_t i = 0; i < c->count && r >= 0; i++)
                r = load_signers(&c->items[i], err);
        if (r < 0)
                return r;

        c->trust = calloc(c->count * c->count, sizeof(bool));
        c->reachable = calloc(c->count, sizeof(*c->reachable));
        if (!c->trust || !c->reachable)
                return -ENOMEM;
        for (size_t p = 0; p < c->count; p++)
                for (size_t k = 0; k < c->count; k++)
                        c->trust[p * c->count + k] = trusts(&c->items[p], &c->items[k]);
        /* the trusted set: what the main manifest reaches, trust by trust */
        c->items[0].reachable = true;
        for (bool grew = true; grew;) {
                grew = false;
                for (size_t p = 0; p < c->count; p++)
                        for (size_t k = 0; c->items[p].reachable && k < c->count; k++)
                                if (!c->items[k].reachable && c->trust[p * c->count + k])
                                        c->items[k].reachable = grew = true;
        }
        for (size_t i = 0; i < c->count; i++)
                if (c->items[i].reachable)
                        c->reachable[c->reachable_count++] = c->items[i].m;
        *ret = TAKE_PTR(c);
        return 0;
}

size_t sgx_children_reachable(const sgx_children_t *c, const manifest_t ***ret)
{
        *ret = c->reachable;
        return c->reachable_count;
}

bool sgx_children_any(const sgx_children_t *c)
{
        return c->count > 1;
}

int sgx_children_exec(const sgx_children_t *c, int parent, const char *name, char *message,
                      size_t size)
{
        const child_t *p = &c->items[parent];
        char have[2 * SGX_HASH_SIZE + 1], want[2 * SGX_HASH_SIZE + 1];

        for (size_t k = 0; k < c->count; k++) {
                const child_t *ch = &c->items[k];

                if (!STREQ(ch->name, name))
                        continue;
                if (c->trust[(size_t)parent * c->count + k])
                        return (int)k;
                hex(ch->measurement, have);
                hex(p->measurement, want);
                snprintf(message, size,
                         "its manifest '%s' (measurement %s) is not trusted by '%s' "
                         "(measurement %s): neither the same measurement, nor a trusted child, "
                         "nor a trusted signer",
                         ch->path, have, p->path, want);
                return -EACCES;
        }
        return parent;
}
