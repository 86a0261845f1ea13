/* The reader for Graphene's manifest language: `a.b.c = value` per line, `#` comments (also
 * after a value), double quotes keeping a value verbatim, booleans as 1/0.
 *
 * Use: legacy_parse() the text; hand the tree to the model like a TOML document; tree_free().
 * Graphene's keys are translated to the model's (Gramine's) on the way: loader.exec becomes
 * libos.entrypoint, sgx.trusted_files.NAME an entry of sgx.trusted_files (with the sha256 of
 * sgx.trusted_checksum.NAME), fs.mount.NAME.* an entry of fs.mounts, and so on. Each
 * translated value keeps its key as written in tree_value_t.label, so that messages name what
 * the user wrote. Every value is a string (TREE_STRING): the model types it. Keys that Graphene
 * accepted but lamina has no use for are dropped with a warning, through warn(). */
#pragma once

#include <stddef.h>

#include "manifest/diag.h"
#include "manifest/tree.h"

typedef void (*legacy_warn_fn)(unsigned line, unsigned col, const char *message, void *userdata);

/* Parses size bytes. On success returns 0 and a TREE_TABLE in *ret_root (the caller frees it).
 * warn may be NULL. Errors: -EINVAL with e filled, -E2BIG (over MANIFEST_SIZE_MAX bytes),
 * -ENOMEM. *ret_root is untouched on failure. */
int legacy_parse(const char *text, size_t size, legacy_warn_fn warn, void *userdata,
                 manifest_error_t *e, tree_value_t **ret_root);

/* Fills names with up to max keys of Graphene's language (loader.exec, sgx.thread_num,
 * sgx.trusted_checksum, ...), for "did you mean" hints; returns how many. */
size_t legacy_key_names(const char **names, size_t max);

/* True when key (size bytes) is one that only Graphene's language has (loader.exec,
 * sgx.trusted_files.NAME, fs.mount.NAME.type, ...). */
bool legacy_is_legacy_key(const char *key, size_t size);
