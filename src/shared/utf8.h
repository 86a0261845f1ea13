/* UTF-8 validation, for readers that must refuse invalid text (TOML, legacy manifests) and for
 * writers that must not emit it (JSON). */
#pragma once

#include <stddef.h>

/* The length (1-4) of the valid UTF-8 sequence at s (at most size bytes), or 0 when s does not
 * start with one: overlong forms, surrogates and code points above U+10FFFF are invalid. */
static inline size_t utf8_sequence_size(const char *str, size_t size)
{
        const unsigned char *s = (const unsigned char *)str;
        size_t n;
        unsigned cp;

        if (size == 0)
                return 0;
        if (s[0] < 0x80)
                return 1;
        if (s[0] >= 0xc2 && s[0] <= 0xdf) {
                n = 2;
                cp = s[0] & 0x1f;
        } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
                n = 3;
                cp = s[0] & 0x0f;
        } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
                n = 4;
                cp = s[0] & 0x07;
        } else {
                return 0;
        }
        if (size < n)
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return n;
}

/* The offset of the first byte that is not valid UTF-8, or size when all of it is. */
static inline size_t utf8_invalid_offset(const char *s, size_t size)
{
        size_t i = 0;

        while (i < size) {
                size_t n = utf8_sequence_size(s + i, size - i);
                if (n == 0)
                        return i;
                i += n;
        }
        return size;
}
