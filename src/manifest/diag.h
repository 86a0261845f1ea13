/* Diagnostics for bad input. The manifest readers, the model and the template renderer never
 * print: where the input is at fault they fill a manifest_error_t with the place and a message,
 * and the CLI prints it as "FILE:LINE:COL: message". Lines and columns count from 1; columns
 * count bytes. A line of 0 means the message is about the whole input. */
#pragma once

#include <stdarg.h>
#include <stddef.h>

#include "shared/macro.h"

#define MANIFEST_MESSAGE_MAX 512

typedef struct manifest_error {
        const char *file; /* borrowed from the caller: the input's name for messages */
        unsigned line;
        unsigned col;
        char message[MANIFEST_MESSAGE_MAX];
} manifest_error_t;

/* Fills e (which may be NULL) and returns -EINVAL, so that a reader can write
 * `return diag_error(e, line, col, "...")`. */
int diag_error(manifest_error_t *e, unsigned line, unsigned col, const char *fmt, ...)
        _printf_(4, 5);
int diag_verror(manifest_error_t *e, unsigned line, unsigned col, const char *fmt, va_list ap)
        _printf_(4, 0);

/* Writes "FILE:LINE:COL: message" (or "FILE: message" without a place) into buf, truncating. */
void diag_format(const manifest_error_t *e, char *buf, size_t size);

/* Writes s (size bytes, may hold NULs or bytes that are not printable) into buf in the form a
 * message quotes user input: printable ASCII as is, everything else as \xHH, cut at max_chars
 * with "..." appended. Always NUL-terminates. Returns buf. */
char *diag_quote(const char *s, size_t size, size_t max_chars, char *buf, size_t buf_size);
