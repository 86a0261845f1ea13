/* The template renderer: `lamina manifest` turns a manifest template into a manifest.
 *
 * Use: render_template() with a lookup callback that knows the names (-D values, env.NAME,
 * python.*, arch_libdir); free *ret_text. Two syntaxes are rendered, so that both Gramine-era
 * (Jinja) and Graphene-era (Makefile + sed) templates work unchanged:
 *   {{ NAME }}     whitespace (spaces, tabs, newlines) inside the braces optional; NAME is
 *                  identifiers [A-Za-z_][A-Za-z0-9_]* joined by single dots (env.HOME,
 *                  python.stdlib), as Jinja reads attribute access
 *   {{ "text" }}   also {{ 'text' }}: text verbatim, which is how Jinja writes a literal '{{'
 *                  (or a literal '$(', see below); a backslash in it is an error, since Jinja
 *                  would read it as an escape
 *   $(NAME)        NAME is [A-Za-z_][A-Za-z0-9_]*, no spaces
 * Values are inserted as they are and never rendered again. Everything else is copied through
 * byte for byte, invalid UTF-8 included (the manifest reader checks that): a '{' or '$' that
 * does not start one of the above, and a lone '}}', which Jinja also prints.
 *
 * Nothing else of Jinja is supported: filters, calls, operators, `{{-`, `{%` and `{#` are errors
 * that say so, rather than output that silently differs from what Gramine would render. Since
 * Graphene templates only ever used '$(' for a variable, '$(' that is not followed by NAME and ')'
 * (say `$(pwd -P)`) is an error too; a template that means the text writes {{ "$(" }}. A name the
 * callback does not know, a name longer than 256 bytes and a NUL byte are errors. Every error
 * points at the '{{', '{%', '{#' or '$(' that opens the construct (a NUL byte at itself). */
#pragma once

#include <stddef.h>

#include "manifest/diag.h"

/* Inputs larger than this are refused (-E2BIG). */
#define RENDER_SIZE_MAX (16u * 1024 * 1024)

/* Looks up name (name_size bytes, not NUL-terminated). Returns 0 and the value in *ret_value
 * (a NUL-terminated string, never NULL; borrowed: it must stay valid until render_template()
 * returns), -ENOENT when the name is not defined, or another negative errno, which
 * render_template() returns as it is. */
typedef int (*render_lookup_fn)(const char *name, size_t name_size, void *userdata,
                                const char **ret_value);

/* Renders size bytes of text in time linear in the input and output. On success returns 0,
 * *ret_text (NUL-terminated, the caller frees it) and *ret_size (bytes, without the NUL).
 * Errors: -EINVAL with e filled (bad syntax, undefined name; e may be NULL), -E2BIG (input above
 * RENDER_SIZE_MAX, or output above 64 MiB, the most the manifest readers take), -ENOMEM, or the
 * lookup's own error other than -ENOENT, returned as it is without touching e. Outputs are
 * untouched on failure. */
int render_template(const char *text, size_t size, render_lookup_fn lookup, void *userdata,
                    manifest_error_t *e, char **ret_text, size_t *ret_size);
