/* Lexical path normalisation, shared by the manifest model (file: URIs) and the trace
 * generator (paths the listener recorded). */
#pragma once

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Whether path is dir or below it, component-wise ("/a/bc" is not below "/a/b"). Both
 * absolute and normalised. */
static inline bool path_under(const char *path, const char *dir)
{
        size_t n = strlen(dir);

        if (n == 1 && dir[0] == '/')
                return path[0] == '/';
        return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

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
