/* SGX's policy without SGX hardware: signed manifests (`lamina sign`), their measurement, the
 * checks of SGX mode, and which child manifests a process may start.
 *
 * Use:
 *   - signing: sgx_sign_manifest() turns a loaded manifest and its text into the text of the
 *     signed manifest (X.manifest.sgx): trusted directories expanded into files, every trusted
 *     file with its sha256, every trusted child with the measurement its .sig gives, every
 *     trusted signer as its identity; sgx_measure() of that text is what the .sig signs;
 *   - running: sgx_open() finds X.manifest.sgx and its .sig as Graphene did and, in SGX mode,
 *     checks the signature, the measurement and that every trusted file has a hash;
 *     sgx_children() then loads the signed manifests beside it, decides which of them the
 *     main one may start (by measurement, trusted child or trusted signer, transitively), and
 *     answers, for an exec, whether it leaves that trusted set.
 * Nothing here prints: failures are -errno with a message (sgx_error_t) and, for `lamina run`,
 * the exit code that failure has. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "manifest/diag.h"
#include "manifest/manifest.h"

#define SGX_HASH_SIZE 32

/* How `lamina run` ends when SGX mode refuses (documented in --help). */
enum {
        SGX_EXIT_MISSING = 120,     /* no X.manifest.sgx, or no .sig for it */
        SGX_EXIT_SIGNATURE = 121,   /* the .sig is malformed, or its signature does not verify */
        SGX_EXIT_MEASUREMENT = 122, /* the manifest is not the one the .sig signed */
        SGX_EXIT_UNHASHED = 123,    /* a trusted file has no sha256: no trust on first use */
        SGX_EXIT_CHILD = 124,       /* a child manifest beside it does not verify */
};

typedef struct sgx_error {
        int exit_code;
        char message[1024];
} sgx_error_t;

/* The measurement of a signed manifest: the SHA-256 of its bytes, exactly as `lamina sign`
 * wrote them (so `sha256sum X.manifest.sgx` prints it too). */
void sgx_measure(const char *text, size_t size, uint8_t out[SGX_HASH_SIZE]);

/* Reads a whole file (up to MANIFEST_SIZE_MAX) into *ret (NUL-terminated; free it). */
int sgx_read_file(const char *path, char **ret, size_t *ret_size);

typedef struct sgx_sign_stats {
        size_t files;   /* trusted files in the signed manifest */
        uint64_t bytes; /* hashed */
        double seconds; /* hashing */
} sgx_sign_stats_t;

/* The signed form of m, whose text (size bytes) was read from m->path. Errors: -ENOENT,
 * -EINVAL, -EBADMSG (a pinned sha256 that the file does not match, a child .sig that does not
 * verify) ... with e filled (file, line, message). */
int sgx_sign_manifest(const manifest_t *m, const char *text, size_t size, manifest_error_t *e,
                      char **ret_text, size_t *ret_size, sgx_sign_stats_t *ret_stats);

/* The .sig of a signed manifest, as Graphene named it: X.manifest.sgx -> X.sig, unless the
 * manifest sets sgx.sigfile. */
int sgx_sig_path(const char *manifest_sgx, const manifest_t *m, char **ret);

/* Whether a signed manifest is complete: every trusted file has a sha256 (no directory
 * entries, no trust on first use) and every trusted child a measurement. -EPERM with err
 * (SGX_EXIT_UNHASHED) otherwise. Needs no file. */
int sgx_check_hashed(const char *path, const manifest_t *m, sgx_error_t *err);

/* SGX mode's checks of the signed manifest at path (already loaded as m, text as read):
 * its .sig exists, parses and verifies, signs this text's measurement, and every trusted
 * file has a sha256. Fills ret_measurement and ret_signer. Errors: -errno with err. */
int sgx_verify(const char *path, const manifest_t *m, const char *text, size_t size,
               uint8_t ret_measurement[SGX_HASH_SIZE], uint8_t ret_signer[SGX_HASH_SIZE],
               sgx_error_t *err);

/* The signed manifests beside the main one, and who may start whom. */
typedef struct sgx_children sgx_children_t;

/* Loads every other *.manifest.sgx in the main manifest's directory; with verify (SGX mode),
 * checks each one's .sig like sgx_verify(). main is the loaded main manifest. Errors: -errno
 * with err (SGX_EXIT_CHILD). */
int sgx_children_load(const char *main_path, const manifest_t *main, const char *main_text,
                      size_t main_size, bool verify, sgx_children_t **ret, sgx_error_t *err);

sgx_children_t *sgx_children_free(sgx_children_t *c);

/* The manifests that the main one may reach (itself first): their trusted and allowed files
 * make up the view. */
size_t sgx_children_reachable(const sgx_children_t *c, const manifest_t ***ret);

/* Whether any child manifest exists whose exec must be watched. */
bool sgx_children_any(const sgx_children_t *c);

/* For an exec by a process running manifest index parent (0 = the main one) of a program
 * whose file name is name: the manifest index the new program runs (the parent's own when no
 * manifest is named for it), or -EACCES with a line in message naming both measurements. */
int sgx_children_exec(const sgx_children_t *c, int parent, const char *name, char *message,
                      size_t size);
