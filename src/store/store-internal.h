/* What the store's .c files share and nobody else sees: the store handle, the plan that
 * vstore_prepare() builds from a spec (the host files, directories and symlinks it met, and
 * the nodes of the tree keyed by view path), the meta file's records, and small helpers (a
 * string map, growable arrays, the hashing pool). store.h is the module's only public face. */
#pragma once

#include <limits.h>
/* SHA-256 through OpenSSL's low-level functions: the same assembly as EVP's (SHA-NI where the
 * CPU has it), without EVP's provider and configuration loading, which costs every lamina run
 * about 2 ms before it hashes a byte. */
#define OPENSSL_API_COMPAT 10101
#include <openssl/sha.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "shared/macro.h"
#include "store/store.h"

#define META_NAME       "meta"
#define ROOT_NAME       "root"
#define NEW_PREFIX      ".new-"
#define TMP_PREFIX      ".tmp-"
#define MAX_SYMLINKS    40  /* the kernel's limit, so a path resolves here as it does there */
#define MAX_DEPTH       256 /* nesting of directory entries; each level holds one fd */
#define MAX_FILES       (16u * 1024 * 1024)
#define MAX_KEY         200
#define OBJECT_NAME_MAX (3 + 2 * VSTORE_SHA256_SIZE + 40)

struct vstore {
        char *path;
        int dir_fd;
        int objects_fd;
        int trees_fd;
        int lock_fd; /* flock: shared while preparing, exclusive while collecting garbage */
        /* Fetched once: OpenSSL 3 looks the algorithm up (under a lock) on every implicit use. */
        atomic_uint_fast64_t tmp_counter;
        int tmpfile_link; /* how temporary objects are made and named: see TMPFILE_* */
        atomic_uint_fast64_t fanout_made[4]; /* objects/XX made, one bit per XX */
};

/* Temporary objects: O_TMPFILE, named by linkat(AT_EMPTY_PATH) (which older kernels allow only
 * with CAP_DAC_READ_SEARCH) or through /proc/self/fd; else named files renamed into place. */
enum {
        TMPFILE_UNKNOWN = -1, /* not tried yet: the first build tries (see hash_files) */
        TMPFILE_NONE,
        TMPFILE_EMPTY_PATH,
        TMPFILE_PROC,
};
int tmpfile_link(int how, int fd, int dirfd, const char *name);

/* ---- small containers (util.c) ---- */

typedef struct ptrvec {
        void **items;
        size_t count;
        size_t cap;
} ptrvec_t;

int ptrvec_push(ptrvec_t *v, void *item);
void ptrvec_done(ptrvec_t *v);

/* Open addressing; the keys belong to the values, the map only points at them. */
typedef struct strmap {
        const char **keys;
        void **values;
        size_t count;
        size_t cap;
} strmap_t;

void *strmap_get(const strmap_t *m, const char *key);
int strmap_put(strmap_t *m, const char *key, void *value);
void strmap_done(strmap_t *m);

int64_t timespec_ns(const struct timespec *ts);
/* "dir" + "/" + "name" with "/" as the root; -ENAMETOOLONG past PATH_MAX. */
int path_join(const char *dir, const char *name, char **ret);
/* Removes name below dirfd, recursively, without following symlinks. */
int rm_rf_at(int dirfd, const char *name);
/* Makes a directory with a random name prefix+6 chars below dirfd, mode 0700. */
int mkdtemp_at(int dirfd, const char *prefix, char ret_name[static 32]);
/* "ab/abcdef...-SECONDS.NANOSECONDS[.x]" */
void object_name(const uint8_t sha[VSTORE_SHA256_SIZE], bool exec, int64_t mtime_ns,
                 char out[OBJECT_NAME_MAX]);
int hex_parse(const char *hex, uint8_t out[VSTORE_SHA256_SIZE]);

/* ---- the plan (plan.c) ---- */

typedef struct file_rec {
        char *host_path;                /* resolved: no symlink in any component */
        const vstore_file_t *entry;     /* the first entry that reached it */
        const vstore_file_t *pin_entry; /* the entry that pinned it, when pinned */
        dev_t dev;
        ino_t ino;
        uint64_t size;
        int64_t mtime_ns;
        int64_t ctime_ns;
        bool exec;
        bool pinned;
        uint8_t pin[VSTORE_SHA256_SIZE];
        bool have_hash; /* sha256 known: hashed this time, or taken from the old meta */
        bool hashed;    /* hashed this time */
        bool mismatch;  /* pinned, and the bytes differ (accepted only with warn_only) */
        uint8_t sha256[VSTORE_SHA256_SIZE];
        int error; /* from a hashing worker, with what failed */
        const char *error_what;
} file_rec_t;

typedef struct dir_rec {
        char *host_path;
        dev_t dev;
        ino_t ino;
        int64_t mtime_ns;
        int64_t ctime_ns;
} dir_rec_t;

typedef struct link_rec {
        char *host_path;
        char *target;
} link_rec_t;

typedef enum node_kind {
        NODE_DIR,
        NODE_FILE,
        NODE_SYMLINK,
        NODE_EMPTY_FILE,
} node_kind_t;

typedef struct node {
        char *view_path;
        node_kind_t kind;
        bool implicit;      /* a directory made because something lies below it */
        file_rec_t *file;   /* NODE_FILE */
        const char *target; /* NODE_SYMLINK: the link_rec's */
        const char *entry;  /* who wants it: a manifest entry, or NULL for a mount point */
} node_t;

/* Two different host files at one view path: a conflict only if their bytes differ, which is
 * known after hashing. */
typedef struct pending_conflict {
        node_t *node;
        file_rec_t *other;
        const char *other_entry;
} pending_conflict_t;

typedef struct plan {
        const vstore_spec_t *spec;
        vstore_report_t *report;
        int root_fd; /* the host's "/" */
        ptrvec_t files;
        strmap_t file_map;
        ptrvec_t dirs;
        strmap_t dir_map;
        ptrvec_t links;
        strmap_t link_map;
        ptrvec_t nodes;
        strmap_t node_map;
        pending_conflict_t *pending;
        size_t pending_count;
        size_t pending_cap;
        size_t skipped;
} plan_t;

int plan_init(plan_t *p, const vstore_spec_t *spec, vstore_report_t *report);
void plan_done(plan_t *p);
/* Resolves every entry, walks directory entries, adds the mount points; fills the plan. */
int plan_collect(plan_t *p);
/* After hashing: file/file conflicts whose bytes differ. */
int plan_check_pending(plan_t *p);
/* Writes report->message (one line; control characters become '?') and returns r. */
int report_fail(vstore_report_t *report, int r, const char *fmt, ...) _printf_(3, 4);
const char *entry_name(const vstore_file_t *f);

/* ---- hashing (hash.c) ---- */

/* Copies every file into objects/, hashing while copying, on all online cores; fills each
 * file's sha256, identity and hashed flag. On failure returns the first error and points
 * *ret_failed at the file. */
int hash_files(vstore_t *s, file_rec_t **files, size_t count, const vstore_spec_t *spec,
               file_rec_t **ret_failed);
/* Copies an object's bytes into a new file name below dirfd (when an object has as many hard
 * links as the file system allows). */
int copy_object_at(vstore_t *s, const char *object, int dirfd, const char *name, mode_t mode);

/* ---- the meta file (meta.c) ---- */

typedef struct meta_file {
        char *host_path;
        uint64_t dev;
        uint64_t ino;
        uint64_t size;
        int64_t mtime_ns;
        int64_t ctime_ns;
        uint8_t sha256[VSTORE_SHA256_SIZE];
        bool pinned;
        bool exec;
        bool mismatch;
} meta_file_t;

typedef struct meta_mismatch {
        char *host_path;
        char *entry;
        uint8_t expected[VSTORE_SHA256_SIZE];
        uint8_t actual[VSTORE_SHA256_SIZE];
} meta_mismatch_t;

typedef struct meta {
        char *label;
        int64_t built;
        uint8_t spec_digest[VSTORE_SHA256_SIZE];
        uint64_t files;
        uint64_t tofu;
        uint64_t bytes;
        uint64_t skipped;
        meta_file_t *file_recs;
        size_t file_count;
        dir_rec_t *dirs;
        size_t dir_count;
        link_rec_t *links;
        size_t link_count;
        meta_mismatch_t *mismatches;
        size_t mismatch_count;
        strmap_t file_map; /* host path -> meta_file_t, for reuse when rebuilding: see
                              meta_index() */
} meta_t;

/* Reads a meta file; header_only stops before the records (vstore_list). -EBADMSG when it is
 * not a meta file of this version. */
int meta_read(int fd, bool header_only, meta_t **ret);
meta_t *meta_free(meta_t *m);
static inline void meta_freep(meta_t **m)
{
        meta_free(*m);
}
int meta_write(int fd, const plan_t *p, const uint8_t spec_digest[VSTORE_SHA256_SIZE]);
/* Has anything that the meta records changed on the host? lstat and readlink only. */
/* Fills m->file_map, which only a rebuild needs: the check of an unchanged tree, which runs
 * at every start, does without it. */
int meta_index(meta_t *m);
bool meta_unchanged(const meta_t *m);
