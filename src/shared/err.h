/* One-line error messages for the library modules that do not print (sign, trace): a failing
 * function fills the caller's buffer and returns its -errno in one statement. */
#pragma once

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "shared/macro.h"

/* Makes err "" (err may be NULL or err_size 0: then nothing). */
static inline void err_clear(char *err, size_t err_size)
{
        if (err && err_size > 0)
                err[0] = '\0';
}

/* Writes the message into err, one line whatever bytes the paths in it hold (control
 * characters become '?'), and returns r. */
static inline _printf_(4, 5) int err_fail(char *err, size_t err_size, int r, const char *fmt, ...)
{
        va_list ap;

        if (!err || err_size == 0)
                return r;
        va_start(ap, fmt);
        vsnprintf(err, err_size, fmt, ap);
        va_end(ap);
        for (char *c = err; *c; c++)
                if ((unsigned char)*c < 0x20 || *c == 0x7f)
                        *c = '?';
        return r;
}
