/* A strict TOML 1.0 reader: text in, document tree (tree.h) out.
 *
 * Use: toml_parse() the whole input; walk *ret_root; tree_free() it. Everything TOML 1.0 allows
 * is read (tables, dotted keys, inline tables, arrays of tables, all string forms and escapes,
 * integers in every base, floats with inf and nan, booleans, offset and local date-times, dates
 * and times); everything it forbids is refused with the place and a message: duplicate keys,
 * redefined tables, bad escapes, invalid UTF-8, control characters, and so on. */
#pragma once

#include <stddef.h>

#include "manifest/diag.h"
#include "manifest/tree.h"

/* Inputs larger than this are refused (-E2BIG): a manifest is never that big. */
#define TOML_SIZE_MAX (64u * 1024 * 1024)

/* Parses size bytes of text (no NUL terminator needed). On success returns 0 and a TREE_TABLE
 * in *ret_root, which the caller frees with tree_free(). Errors: -EINVAL with e filled (line,
 * column, message; e may be NULL), -E2BIG, -ENOMEM. *ret_root is untouched on failure. */
int toml_parse(const char *text, size_t size, manifest_error_t *e, tree_value_t **ret_root);
