/* The manifest model: one typed, immutable description of what a program may see and do,
 * whichever language its manifest is written in (Gramine's TOML or Graphene's key = value).
 *
 * Use:
 *   1) manifest_load() a file, or manifest_parse() text already in memory: the text is read
 *      (toml.h or legacy.h), every key is checked against the model's schema, values are
 *      typed, file: URIs are resolved against opts->cwd, and defaults are filled in;
 *   2) read the fields of the manifest_t, which never change after loading; show
 *      m->warnings (legacy keys that were ignored, keys without effect here) on stderr;
 *   3) manifest_free().
 * Nothing runs and nothing is printed here: bad input gives -EINVAL and a manifest_error_t
 * ("FILE:LINE:COL: message"). Defaults and meanings are Gramine's; see docs/manifest.md. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "manifest/diag.h"

/* Manifest files larger than this are refused (-E2BIG). */
#define MANIFEST_SIZE_MAX (64u * 1024 * 1024)

typedef enum manifest_format {
        MANIFEST_FORMAT_AUTO,   /* decide from the content (manifest_detect_format) */
        MANIFEST_FORMAT_TOML,   /* Gramine: TOML 1.0 */
        MANIFEST_FORMAT_LEGACY, /* Graphene: a.b.c = value per line */
} manifest_format_t;

typedef enum manifest_log_level {
        MANIFEST_LOG_NONE,
        MANIFEST_LOG_ERROR,
        MANIFEST_LOG_WARNING,
        MANIFEST_LOG_DEBUG,
        MANIFEST_LOG_TRACE,
        MANIFEST_LOG_ALL,
} manifest_log_level_t;

typedef enum manifest_mount_type {
        MANIFEST_MOUNT_CHROOT,
        MANIFEST_MOUNT_TMPFS,
        MANIFEST_MOUNT_ENCRYPTED,
} manifest_mount_type_t;

typedef enum manifest_file_check_policy {
        MANIFEST_CHECK_STRICT,
        MANIFEST_CHECK_ALLOW_ALL_BUT_LOG,
} manifest_file_check_policy_t;

typedef enum manifest_signer_kind {
        MANIFEST_SIGNER_HEX, /* the signer's identity, 64 hex digits */
        MANIFEST_SIGNER_SIG, /* file:X.sig: the signer of that signature */
        MANIFEST_SIGNER_KEY, /* file:key.pem: the owner of that RSA key */
} manifest_signer_kind_t;

#define MANIFEST_SHA256_SIZE 32

typedef struct manifest_env {
        char *name;
        char *value;      /* NULL when passthrough */
        bool passthrough; /* take the value from lamina's own environment */
} manifest_env_t;

typedef struct manifest_mount {
        manifest_mount_type_t type;
        char *path;      /* absolute, inside the view */
        char *uri;       /* as written; NULL for tmpfs */
        char *host_path; /* uri resolved to an absolute, normalised host path; NULL for tmpfs */
        char *key_name;  /* encrypted mounts only */
        unsigned line;   /* where the entry is in the manifest */
} manifest_mount_t;

typedef struct manifest_file {
        char *name;      /* Graphene's identifier (sgx.trusted_files.NAME), or NULL */
        char *uri;       /* as written */
        char *host_path; /* absolute, normalised, without a trailing slash (but "/") */
        bool is_dir;     /* the URI ended in "/": the whole tree below it */
        bool has_sha256;
        uint8_t sha256[MANIFEST_SHA256_SIZE];
        unsigned line;
} manifest_file_t;

typedef struct manifest_child {
        char *name; /* Graphene's identifier, or NULL */
        char *uri;  /* as written: file:X.sig */
        char *host_path;
        bool has_mrenclave;
        uint8_t mrenclave[MANIFEST_SHA256_SIZE];
        unsigned line;
} manifest_child_t;

typedef struct manifest_signer {
        char *name; /* Graphene's identifier, or NULL */
        manifest_signer_kind_t kind;
        char *value;                            /* as written */
        char *host_path;                        /* SIG and KEY only */
        uint8_t mrsigner[MANIFEST_SHA256_SIZE]; /* HEX only */
        unsigned line;
} manifest_signer_t;

typedef struct manifest_id {
        bool set;
        uint32_t id;
} manifest_id_t;

typedef struct manifest_warning {
        unsigned line, col;
        char message[MANIFEST_MESSAGE_MAX];
} manifest_warning_t;

typedef struct manifest {
        char *path; /* the manifest file as named by the caller */
        manifest_format_t format;

        /* libos, loader */
        char *entrypoint; /* absolute path inside the view */
        char **argv;      /* loader.argv, NULL-terminated; NULL when not set */
        size_t argv_count;
        bool use_cmdline_argv;
        char *argv0_override;
        manifest_env_t *env;
        size_t env_count;
        bool use_host_env;
        manifest_log_level_t log_level;
        char *log_file;
        manifest_id_t uid, gid;

        /* fs */
        char *root_uri;
        char *root_host_path;
        char *start_dir;
        manifest_mount_t *mounts;
        size_t mount_count;

        /* sgx: the policy; lamina has no enclave, but these are measured and signed */
        manifest_file_t *trusted_files;
        size_t trusted_file_count;
        manifest_file_t *allowed_files;
        size_t allowed_file_count;
        manifest_file_check_policy_t file_check_policy;
        bool allow_file_creation;
        bool debug;
        uint16_t isvprodid, isvsvn;
        uint64_t enclave_size; /* bytes */
        uint32_t max_threads;
        char *sigfile;      /* as written */
        char *sigfile_host; /* resolved */
        manifest_child_t *trusted_children;
        size_t trusted_child_count;
        manifest_signer_t *trusted_signers;
        size_t trusted_signer_count;

        /* sys */
        bool enable_sigterm_injection;
        bool disallow_subprocesses;
        uint64_t stack_size, brk_max_size; /* bytes */
        uint32_t fds_limit;

        manifest_warning_t *warnings;
        size_t warning_count;
} manifest_t;

typedef struct manifest_options {
        manifest_format_t format; /* MANIFEST_FORMAT_AUTO to detect */
        const char *cwd;          /* relative file: URIs resolve here; NULL: getcwd() */
} manifest_options_t;

/* Parses size bytes of text named name (for messages). opts may be NULL (detect, getcwd()).
 * On success returns 0 and *ret (free with manifest_free()). Errors: -EINVAL with e filled,
 * -E2BIG (over MANIFEST_SIZE_MAX), -ENOMEM, or getcwd()'s error. *ret untouched on failure. */
int manifest_parse(const char *name, const char *text, size_t size, const manifest_options_t *opts,
                   manifest_error_t *e, manifest_t **ret);

/* Reads the file at path and parses it as manifest_parse() does. Errors as there, plus the
 * open/read errno (e then says which file, without a line). */
int manifest_load(const char *path, const manifest_options_t *opts, manifest_error_t *e,
                  manifest_t **ret);

/* Frees m and everything it owns. Accepts NULL; returns NULL. */
manifest_t *manifest_free(manifest_t *m);

static inline void manifest_freep(manifest_t **m)
{
        manifest_free(*m);
}

/* Which language text is in: TOML unless it has the marks of Graphene's key = value (a legacy-
 * only key such as loader.exec or sgx.trusted_files.NAME, or a bare value TOML cannot read,
 * such as file:/usr/bin/python3), and none of TOML's ([headers], arrays, inline tables). */
manifest_format_t manifest_detect_format(const char *text, size_t size);

const char *manifest_format_name(manifest_format_t f);
const char *manifest_log_level_name(manifest_log_level_t l);
const char *manifest_mount_type_name(manifest_mount_type_t t);
const char *manifest_file_check_policy_name(manifest_file_check_policy_t p);
const char *manifest_signer_kind_name(manifest_signer_kind_t k);

/* Gramine's defaults, for the fields that have them. */
#define MANIFEST_DEFAULT_ENCLAVE_SIZE (256ull << 20)
#define MANIFEST_DEFAULT_MAX_THREADS  4
#define MANIFEST_DEFAULT_STACK_SIZE   (256ull << 10)
#define MANIFEST_DEFAULT_BRK_MAX_SIZE (256ull << 10)
#define MANIFEST_DEFAULT_FDS_LIMIT    900

/* Where the view shows a host path (absolute, normalised): under the chroot mount whose uri is
 * the longest prefix of it (mount path + the rest), else under fs.root.uri (as "/" + the rest,
 * so that a Graphene manifest's relative paths work from "/"), else at the same path (so that
 * a manifest need not mount /usr or /lib to use the host's programs). Writes buf; returns 0 or
 * -ENAMETOOLONG. */
int manifest_view_path(const manifest_t *m, const char *host_path, char *buf, size_t size);

/* The resolved model as a document tree, in the shape of a Gramine TOML manifest: every key
 * with its effective value (defaults included), every file: URI resolved to an absolute one.
 * Reading it back gives the same model. Returns NULL when out of memory. */
struct tree_value *manifest_to_tree(const manifest_t *m);

/* The same, with file: URIs as the manifest wrote them (relative ones stay relative): what a
 * signed manifest holds, so that it can be moved with the files it names. */
struct tree_value *manifest_to_tree_as(const manifest_t *m, bool as_written);
