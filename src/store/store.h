/* The verified store: content-addressed copies of trusted files, and verified trees built from
 * them. A verified tree is a directory holding, at the paths the program will see, hard links
 * to objects whose SHA-256 was checked while they were copied, the symlinks met on the way, and
 * empty directories and files where the sandbox mounts things. The sandbox mounts a tree
 * read-only as the program's root, so the program only ever sees bytes that were verified.
 *
 * Use:
 *   1) vstore_open() the store directory (made 0700 if missing; refused if others may write
 *      it or it is not ours);
 *   2) vstore_prepare() a spec: returns the tree for spec->key, building it the first time
 *      (hashing on all cores), and later only checking, from each host file's identity
 *      (device, inode, size, mtime, ctime), that nothing changed since it was verified. A
 *      changed file without a pinned hash is hashed again and the tree refreshed; a changed
 *      file whose pinned hash no longer matches is refused (-EBADMSG, report filled);
 *   3) vstore_gc() removes objects no tree uses, vstore_list() lists the trees;
 *   4) vstore_free().
 * Nothing here prints: problems come back as negative errno values plus the report.
 *
 * The store directory holds objects/XX/<sha256>[.x] (content-addressed copies, 0444, or 0555
 * for ".x": a hard link shares its inode's mode, so the exec bit is part of an object's name),
 * and trees/<key>/{root,meta} (meta.c describes the meta format). Several processes may use one
 * store: preparing one key is serialised by a lock, and gc waits until no one prepares. One
 * vstore_t may be used by several threads at once.
 *
 * What a tree holds, for each entry of the spec:
 *   - a file entry is resolved on the host as the kernel would (at most 40 symlinks: -ELOOP);
 *     every symlink met is reproduced at view_of(its host path) with its target string as it
 *     is (absolute targets are not rewritten through view_of), and the regular file finally
 *     reached is put at view_of(its resolved host path). A pinned hash applies to that file;
 *   - a directory entry is resolved the same way, then everything below it is put in the tree:
 *     regular files (verified), subdirectories, and symlinks copied as they are, not followed.
 *     Sockets, fifos and devices below it are left out and counted (report->skipped): they
 *     hold no code and no bytes to verify, and the sandbox shows its own /dev;
 *   - directories are 0755, and made for every parent of a view path; mount points are empty
 *     directories and empty 0644 files.
 * Two entries may want the same thing at one view path: the same host file, or two host files
 * with the same bytes and exec bit, or two symlinks with one target, or directories. Anything
 * else there is -EEXIST, and report->message names both entries. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define VSTORE_SHA256_SIZE 32
#define VSTORE_MESSAGE_MAX 1024

typedef struct vstore vstore_t;

/* Maps an absolute host path to the absolute path where the view shows it (the manifest's
 * mounts and root decide). Writes into buf (size bytes); returns 0, or -ENAMETOOLONG. It is
 * asked about every file, directory and symlink that goes in the tree, symlinks met on the way
 * included; any error fails vstore_prepare() with that error, and a result that is not a
 * normalised absolute path (no "//", ".", ".." or trailing "/") fails it with -EINVAL. */
typedef int (*vstore_view_fn)(const char *host_path, char *buf, size_t size, void *userdata);

/* Called about once a second while hashing takes long: bytes done and bytes in all. The first
 * call comes after a second; if there was one, a last call says done == total. Always from
 * the thread that called vstore_prepare(). */
typedef void (*vstore_progress_fn)(uint64_t done, uint64_t total, void *userdata);

typedef struct vstore_file {
        const char *host_path; /* absolute host path, as the manifest names it */
        bool is_dir;           /* a directory entry: every file below it */
        const uint8_t *sha256; /* the pinned hash (VSTORE_SHA256_SIZE bytes), or NULL */
        const char *entry;     /* the manifest entry, for messages: "app.manifest:12: file:/a" */
} vstore_file_t;

typedef struct vstore_spec {
        const char *key;   /* names the tree: the manifest's measurement, in hex */
        const char *label; /* what the tree is for, shown by vstore_list(): the manifest path */
        const vstore_file_t *files;
        size_t file_count;
        const char *const *mount_dirs; /* view paths of empty directories to make (mount points) */
        size_t mount_dir_count;
        const char *const *mount_files; /* view paths of empty files to make (file mount points) */
        size_t mount_file_count;
        vstore_view_fn view_of;
        void *view_userdata;
        bool warn_only; /* sgx.file_check_policy = allow_all_but_log: report mismatches, go on */
        vstore_progress_fn progress; /* may be NULL */
        void *progress_userdata;
} vstore_spec_t;

typedef struct vstore_mismatch {
        char host_path[4096];
        char entry[VSTORE_MESSAGE_MAX];
        uint8_t expected[VSTORE_SHA256_SIZE];
        uint8_t actual[VSTORE_SHA256_SIZE];
} vstore_mismatch_t;

typedef struct vstore_report {
        bool built;    /* the tree was made or refreshed this time */
        size_t hashed; /* files hashed this time */
        uint64_t hashed_bytes;
        size_t tofu;    /* files without a pinned hash, pinned when this tree was made */
        size_t files;   /* regular files in the tree (distinct host files verified) */
        size_t skipped; /* sockets, fifos and devices inside directory entries: left out */
        /* -EBADMSG: the first mismatch; every mismatch is counted. With warn_only the call
         * succeeds, and the mismatches it let through are reported again on every later call,
         * from the meta, without hashing */
        size_t mismatch_count;
        vstore_mismatch_t mismatch;
        /* any failure about one file or path: what and where, one line ("" on success) */
        char message[VSTORE_MESSAGE_MAX];
} vstore_report_t;

typedef struct vstore_tree_info {
        char key[256];
        char label[4096];
        size_t files;
        uint64_t bytes;
        int64_t last_used; /* seconds since the epoch: the last vstore_prepare() of it */
} vstore_tree_info_t;

/* Opens (making it when missing) the store at dir. Errors: -EPERM when dir is not owned by the
 * caller or others may write it (e.g. mode 0777), the errno of mkdir/open otherwise. */
int vstore_open(const char *dir, vstore_t **ret);

vstore_t *vstore_free(vstore_t *s);
static inline void vstore_freep(vstore_t **s)
{
        vstore_free(*s);
}

/* Makes sure the tree for spec exists and matches the host (see the top of this file). On
 * success returns 0 and the tree's root directory, "<dir>/trees/<key>/root" with dir as given
 * to vstore_open(), in *ret_root (the caller frees it). report may be NULL; it is cleared
 * first. When the tree is reused, report->files, tofu and skipped describe it.
 * Errors, with report->message saying which path and entry: -EBADMSG (a pinned hash does not
 * match: report->mismatch), -ENOENT, -EACCES, -ELOOP, -ENAMETOOLONG, -ENOTDIR (a directory
 * entry that is not one), -EISDIR (a file entry that is a directory), -EINVAL (a file entry
 * that is not a regular file, a bad key, view path or mount point, a directory entry with a
 * pinned hash), -E2BIG (more than 16M entries), -EEXIST (two entries want different things at
 * one view path, or pin different hashes for one file), -EAGAIN (a file kept changing while
 * it was read: run again), or the errno of writing the store. On failure nothing in the store
 * changes but unused objects, which vstore_gc() removes. */
int vstore_prepare(vstore_t *s, const vstore_spec_t *spec, vstore_report_t *report,
                   char **ret_root);

/* Removes objects that no tree uses (an object with one link left) and leftovers of
 * interrupted builds; waits while another process prepares a tree. Returns the number of
 * objects removed, or a negative errno; *ret_bytes_freed (may be NULL) their bytes. */
int vstore_gc(vstore_t *s, uint64_t *ret_bytes_freed);

/* Fills *ret (malloc'd array, the caller frees it) with the store's trees, sorted by key. A
 * tree whose meta cannot be read is left out (its next vstore_prepare() builds it anew). */
int vstore_list(vstore_t *s, vstore_tree_info_t **ret, size_t *ret_count);

/* Hashes the files at paths (absolute; symlinks followed; regular files only) on all online
 * cores, without copying them: for `lamina sign`, which records hashes and builds no tree.
 * Fills hashes[i] for paths[i]. Errors: the errno of the file that failed first (lowest
 * index), whose index is then in *ret_failed; -EINVAL for what is not a regular file. */
int vstore_hash_files(const char *const *paths, size_t count, uint8_t (*hashes)[32],
                      size_t *ret_failed);

/* SHA-256 of size bytes, for callers that hash in memory (the measurement). */
void vstore_sha256(const void *data, size_t size, uint8_t out[VSTORE_SHA256_SIZE]);

/* Lowercase hex of a hash, NUL-terminated (2 * VSTORE_SHA256_SIZE + 1 bytes). */
void vstore_hex(const uint8_t hash[VSTORE_SHA256_SIZE], char out[2 * VSTORE_SHA256_SIZE + 1]);
