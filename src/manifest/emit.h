/* Writers for document trees: TOML (what `lamina check` prints, a manifest lamina can read
 * back) and JSON (`lamina check --json`). Strings are written with the escapes both languages
 * share; bytes that are not valid UTF-8 are written as U+FFFD so the output always parses. */
#pragma once

#include <stdio.h>

#include "manifest/tree.h"

/* Writes a root table as TOML: one `dotted.key = value` line per value, arrays of tables as
 * inline tables, one element per line. Returns 0, or -EIO when the stream failed. */
int tree_write_toml(const tree_value_t *root, FILE *f);

/* Writes any value as indented JSON (datetimes as RFC 3339 strings). Returns 0 or -EIO. */
int tree_write_json(const tree_value_t *v, FILE *f);

/* Writes s (size bytes) as a double-quoted string with JSON/TOML escapes. */
void emit_quoted(const char *s, size_t size, FILE *f);
