/* Lexical path normalisation, shared by the manifest model (file: URIs) and the trace
 * generator (paths the listener recorded). */
#pragma once

#include <stdlib.h>
#include <string.h>

/* Normalises an absolute path lexically: no "//", ".", ".." or trailing slash (but "/"); ".."
 * above "/" stays at "/". Returns a new string, or NULL without memory. */
static inline char *path_normalize(const char *path)
{
        size_t len = strlen(path), n = 0;
        char *out = malloc(len + 2);

        if (!out)
                return NULL;
        for (const char *s = path; *s;) {
                const char *end;
                size_t part;

                while (*s == '/')
                        s++;
                end = strchrnul(s, '/');
                part = (size_t)(end - s);
                if (part == 0 || (part == 1 && s[0] == '.')) {
                        /* nothing */
                } else if (part == 2 && s[0] == '.' && s[1] == '.') {
                        while (n > 0 && out[n - 1] != '/')
                                n--;
                        if (n > 0)
                                n--;
                } else {
                        out[n++] = '/';
                        memcpy(out + n, s, part);
                        n += part;
                }
                s = end;
        }
        if (n == 0)
                out[n++] = '/';
        out[n] = '\0';
        return out;
}
