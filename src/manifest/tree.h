/* The document tree that both manifest readers produce and the model reads.
 *
 * Use: 1) a reader builds a tree with tree_new(), tree_table_add() and tree_array_push(); 2) the
 * model walks it with tree_table_get() and the typed fields below; 3) tree_free() frees the
 * root and everything below it.
 *
 * Every node remembers where it starts in the input (line and column, 1-based, in bytes), and
 * every table entry where its key starts, so that the model can point at the exact place of a
 * wrong value or an unknown key. A table keeps its entries in input order and indexes them by
 * hash once it grows, so that a manifest with 10,000 entries is read in linear time. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum tree_type {
        TREE_TABLE,
        TREE_ARRAY,
        TREE_STRING,
        TREE_INTEGER,
        TREE_FLOAT,
        TREE_BOOL,
        TREE_DATETIME,       /* offset date-time: date, time and offset */
        TREE_DATETIME_LOCAL, /* date and time, no offset */
        TREE_DATE_LOCAL,     /* date only */
        TREE_TIME_LOCAL,     /* time only */
} tree_type_t;

/* Flags the TOML reader needs to tell legal from illegal redefinitions; other readers leave
 * them 0. */
enum {
        TREE_FLAG_INLINE = 1 << 0,   /* inline table or array literal: closed for additions */
        TREE_FLAG_DEFINED = 1 << 1,  /* table named by a [header] or [[header]] */
        TREE_FLAG_IMPLICIT = 1 << 2, /* table created on the way to a deeper key */
        TREE_FLAG_DOTTED = 1 << 3,   /* table created by a dotted key inside a table body */
        TREE_FLAG_AOT = 1 << 4,      /* array of tables, made by [[header]] */
};

typedef struct tree_datetime {
        int year; /* 0..9999 */
        int month, day;
        int hour, minute, second;
        uint32_t nanosecond; /* fraction of the second, as far as it was written (up to 9 digits) */
        int frac_digits;     /* how many fraction digits the input had (0 = none written) */
        int offset_minutes;  /* TREE_DATETIME only: offset from UTC */
        bool offset_z;       /* TREE_DATETIME only: written as Z rather than +00:00 */
} tree_datetime_t;

typedef struct tree_value tree_value_t;

typedef struct tree_entry {
        char *key;           /* NUL-terminated; may also contain NUL bytes: use key_size */
        size_t key_size;     /* bytes, without the terminating NUL */
        unsigned line, col;  /* where the key starts */
        uint32_t hash;       /* of the key, kept so the index can grow without hashing again */
        tree_value_t *value; /* may be NULL in a table used as a set */
} tree_entry_t;

struct tree_value {
        tree_type_t type;
        unsigned line, col; /* where the value starts */
        unsigned flags;     /* TREE_FLAG_* */
        char *label; /* legacy reader: the key as written (e.g. "sgx.trusted_files.ld"), or NULL */
        union {
                struct {
                        char *data;  /* NUL-terminated; may also contain NUL bytes: use size */
                        size_t size; /* bytes, without the terminating NUL */
                } string;
                int64_t integer;
                double floating;
                bool boolean;
                tree_datetime_t datetime;
                struct {
                        tree_value_t **items;
                        size_t count;
                        size_t capacity;
                } array;
                struct {
                        tree_entry_t *entries;
                        size_t count;
                        size_t capacity;
                        uint32_t *index;   /* open addressing: entry number + 1, 0 = empty */
                        size_t index_size; /* slots, a power of two, or 0 while small */
                } table;
        };
};

/* A new empty node of that type at that place. Returns NULL when out of memory. */
tree_value_t *tree_new(tree_type_t type, unsigned line, unsigned col);

/* A new string node holding a copy of data (size bytes). Returns NULL when out of memory. */
tree_value_t *tree_new_string(const char *data, size_t size, unsigned line, unsigned col);

/* Frees v and everything below it. Accepts NULL; returns NULL. It recurses: readers cap the
 * depth of what they build (128 levels). */
tree_value_t *tree_free(tree_value_t *v);

static inline void tree_freep(tree_value_t **v)
{
        tree_free(*v);
}

/* Adds key -> value to a table. On success the table owns value (which may be NULL, for a table
 * used as a set of keys that remembers where each was seen). Errors: -EEXIST when the key is
 * already there (value is then still the caller's), -ENOMEM. */
int tree_table_add(tree_value_t *table, const char *key, size_t key_size, unsigned line,
                   unsigned col, tree_value_t *value);

/* The entry for key, or NULL. */
const tree_entry_t *tree_table_find(const tree_value_t *table, const char *key, size_t key_size);

/* The value for a NUL-terminated key, or NULL. */
tree_value_t *tree_table_get(const tree_value_t *table, const char *key);

/* Appends value to an array, which then owns it. Errors: -ENOMEM (value is still the
 * caller's). */
int tree_array_push(tree_value_t *array, tree_value_t *value);

/* The name of a type as messages use it: "table", "array", "string", "integer", "float",
 * "boolean", "offset date-time", "local date-time", "local date", "local time". */
const char *tree_type_name(tree_type_t type);
