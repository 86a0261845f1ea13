/* Filling and formatting manifest_error_t (see diag.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "manifest/diag.h"

int diag_verror(manifest_error_t *e, unsigned line, unsigned col, const char *fmt, va_list ap)
{
        if (e) {
                e->line = line;
                e->col = col;
                vsnprintf(e->message, sizeof(e->message), fmt, ap);
        }
        return -EINVAL;
}

int diag_error(manifest_error_t *e, unsigned line, unsigned col, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        diag_verror(e, line, col, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

void diag_format(const manifest_error_t *e, char *buf, size_t size)
{
        const char *file = e->file ? e->file : "<input>";

        if (e->line > 0)
                snprintf(buf, size, "%s:%u:%u: %s", file, e->line, e->col, e->message);
        else
                snprintf(buf, size, "%s: %s", file, e->message);
}

char *diag_quote(const char *s, size_t size, size_t max_chars, char *buf, size_t buf_size)
{
        size_t n = 0;

        if (buf_size == 0)
                return buf;
        for (size_t i = 0; i < size; i++) {
                unsigned char c = (unsigned char)s[i];
                char piece[5];

                if (i == max_chars) {
                        if (n + 4 > buf_size)
                                break;
                        memcpy(buf + n, "...", 3);
                        n += 3;
                        break;
                }
                if (c >= 0x20 && c < 0x7f)
                        snprintf(piece, sizeof(piece), "%c", c);
                else
                        snprintf(piece, sizeof(piece), "\\x%02x", c);
                size_t len = strlen(piece);
                if (n + len + 1 > buf_size)
                        break;
                memcpy(buf + n, piece, len);
                n += len;
        }
        buf[n] = '\0';
        return buf;
}
