/* A set of strings (open addressing on FNV-1a), for the modules that must remember names or
 * paths they have met: the explain listener's reported denials and recorded uses, and the
 * trace generator's environment and Graphene entry names. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef struct strset {
        char **slots;
        size_t capacity; /* a power of two, or 0 */
        size_t count;
        size_t max; /* 0: no limit */
} strset_t;

static inline size_t strset_hash(const char *s)
{
        size_t h = (size_t)14695981039346656037ULL;

        for (; *s; s++)
                h = (h ^ (unsigned char)*s) * (size_t)1099511628211ULL;
        return h;
}

static inline bool strset_has(const strset_t *s, const char *key)
{
        if (s->capacity == 0)
                return false;
        for (size_t i = strset_hash(key) & (s->capacity - 1); s->slots[i];
             i = (i + 1) & (s->capacity - 1))
                if (strcmp(s->slots[i], key) == 0)
                        return true;
        return false;
}

/* Adds a copy of key. Returns 1 when key is new (and now in the set), 0 when it was there,
 * -ENOSPC when the set holds max keys already, -ENOMEM. */
static inline int strset_add(strset_t *s, const char *key)
{
        size_t i;

        if (strset_has(s, key))
                return 0;
        if (s->max && s->count >= s->max)
                return -ENOSPC;
        if ((s->count + 1) * 2 > s->capacity) {
                size_t capacity = s->capacity ? 2 * s->capacity : 64;
                char **slots = calloc(capacity, sizeof(*slots));

                if (!slots)
                        return -ENOMEM;
                for (size_t j = 0; j < s->capacity; j++) {
                        if (!s->slots[j])
                                continue;
                        for (i = strset_hash(s->slots[j]) & (capacity - 1); slots[i];
                             i = (i + 1) & (capacity - 1))
                                ;
                        slots[i] = s->slots[j];
                }
                free(s->slots);
                s->slots = slots;
                s->capacity = capacity;
        }
        for (i = strset_hash(key) & (s->capacity - 1); s->slots[i]; i = (i + 1) & (s->capacity - 1))
                ;
        s->slots[i] = strdup(key);
        if (!s->slots[i])
                return -ENOMEM;
        s->count++;
        return 1;
}

static inline void strset_done(strset_t *s)
{
        for (size_t i = 0; i < s->capacity; i++)
                free(s->slots[i]);
        free(s->slots);
        *s = (strset_t){0};
}
