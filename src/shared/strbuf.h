/* A growing NUL-terminated string with a sticky error, for the modules that build text piece
 * by piece (the explain listener's report lines, the trace generator's manifests): after a
 * failed allocation, further writes do nothing, and the caller checks error once. */
#pragma once

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/macro.h"

typedef struct strbuf {
        char *data; /* NULL until something is added */
        size_t size, capacity;
        int error; /* 0, or -ENOMEM since a write failed */
} strbuf_t;

static inline bool strbuf_reserve(strbuf_t *b, size_t more)
{
        size_t want;
        char *p;

        if (b->error)
                return false;
        if (b->size + more + 1 <= b->capacity)
                return true;
        want = MAX(b->capacity * 2, b->size + more + 1);
        want = MAX(want, (size_t)256);
        p = realloc(b->data, want);
        if (!p) {
                b->error = -ENOMEM;
                return false;
        }
        b->data = p;
        b->capacity = want;
        return true;
}

static inline void strbuf_add(strbuf_t *b, const char *s, size_t size)
{
        if (!strbuf_reserve(b, size))
                return;
        memcpy(b->data + b->size, s, size);
        b->size += size;
        b->data[b->size] = '\0';
}

static inline void strbuf_puts(strbuf_t *b, const char *s)
{
        strbuf_add(b, s, strlen(s));
}

static inline _printf_(2, 3) void strbuf_addf(strbuf_t *b, const char *fmt, ...)
{
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        if (n < 0 || !strbuf_reserve(b, (size_t)n))
                return;
        va_start(ap, fmt);
        vsnprintf(b->data + b->size, (size_t)n + 1, fmt, ap);
        va_end(ap);
        b->size += (size_t)n;
}

/* Empties b (and clears its error), keeping its memory. */
static inline void strbuf_reset(strbuf_t *b)
{
        b->size = 0;
        b->error = 0;
        if (b->data)
                b->data[0] = '\0';
}

static inline void strbuf_free(strbuf_t *b)
{
        free(b->data);
        *b = (strbuf_t){0};
}

/* Hands out the text (never NULL: "" when nothing was added) and its size, and leaves b
 * empty; or returns b's error. */
static inline int strbuf_take(strbuf_t *b, char **ret_text, size_t *ret_size)
{
        if (b->error)
                return b->error;
        if (!b->data && !strbuf_reserve(b, 0))
                return b->error;
        if (b->size == 0)
                b->data[0] = '\0';
        *ret_text = b->data;
        *ret_size = b->size;
        *b = (strbuf_t){0};
        return 0;
}
