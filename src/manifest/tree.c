/* The document tree (see tree.h): ownership, tables indexed by hash, arrays. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "manifest/tree.h"
#include "shared/macro.h"

/* Below this many entries a linear scan beats hashing. */
#define TABLE_INDEX_MIN 8

tree_value_t *tree_new(tree_type_t type, unsigned line, unsigned col)
{
        tree_value_t *v = calloc(1, sizeof(*v));

        if (!v)
                return NULL;
        v->type = type;
        v->line = line;
        v->col = col;
        return v;
}

tree_value_t *tree_new_string(const char *data, size_t size, unsigned line, unsigned col)
{
        tree_value_t *v = tree_new(TREE_STRING, line, col);

        if (!v)
                return NULL;
        v->string.data = malloc(size + 1);
        if (!v->string.data)
                return tree_free(v);
        if (size > 0)
                memcpy(v->string.data, data, size);
        v->string.data[size] = '\0';
        v->string.size = size;
        return v;
}

tree_value_t *tree_free(tree_value_t *v)
{
        if (!v)
                return NULL;
        switch (v->type) {
        case TREE_STRING:
                free(v->string.data);
                break;
        case TREE_ARRAY:
                for (size_t i = 0; i < v->array.count; i++)
                        tree_free(v->array.items[i]);
                free(v->array.items);
                break;
        case TREE_TABLE:
                for (size_t i = 0; i < v->table.count; i++) {
                        free(v->table.entries[i].key);
                        tree_free(v->table.entries[i].value);
                }
                free(v->table.entries);
                free(v->table.index);
                break;
        default:
                break;
        }
        free(v->label);
        free(v);
        return NULL;
}

/* FNV-1a, then murmur3's finaliser: FNV alone leaves the low bits (the ones a power-of-two
 * table uses) poorly mixed for keys that differ in a few digits, such as f1.py, f2.py, ... */
static uint32_t key_hash(const char *key, size_t size)
{
        uint32_t h = 2166136261u;

        for (size_t i = 0; i < size; i++) {
                h ^= (unsigned char)key[i];
                h *= 16777619u;
        }
        h ^= h >> 16;
        h *= 0x85ebca6bu;
        h ^= h >> 13;
        h *= 0xc2b2ae35u;
        h ^= h >> 16;
        return h;
}

static bool entry_is(const tree_entry_t *e, const char *key, size_t size)
{
        return e->key_size == size && memcmp(e->key, key, size) == 0;
}

static void index_insert(tree_value_t *t, size_t entry)
{
        const tree_entry_t *e = &t->table.entries[entry];
        size_t mask = t->table.index_size - 1;

        for (size_t slot = e->hash & mask;; slot = (slot + 1) & mask) {
                if (t->table.index[slot] == 0) {
                        t->table.index[slot] = (uint32_t)(entry + 1);
                        return;
                }
        }
}

/* Keeps the index at most half full, so that probes stay short. */
static int index_grow(tree_value_t *t, size_t count)
{
        size_t size = t->table.index_size ? t->table.index_size : 32;
        uint32_t *index;

        if (count < TABLE_INDEX_MIN || count * 2 <= t->table.index_size)
                return 0;
        while (count * 2 > size)
                size *= 2;
        index = calloc(size, sizeof(*index));
        if (!index)
                return -ENOMEM;
        free(t->table.index);
        t->table.index = index;
        t->table.index_size = size;
        for (size_t i = 0; i < t->table.count; i++)
                index_insert(t, i);
        return 0;
}

static const tree_entry_t *find_hashed(const tree_value_t *t, const char *key, size_t size,
                                       uint32_t hash)
{
        size_t mask = t->table.index_size - 1;

        if (t->table.index_size == 0) {
                for (size_t i = 0; i < t->table.count; i++)
                        if (entry_is(&t->table.entries[i], key, size))
                                return &t->table.entries[i];
                return NULL;
        }
        for (size_t slot = hash & mask;; slot = (slot + 1) & mask) {
                uint32_t n = t->table.index[slot];
                const tree_entry_t *e;

                if (n == 0)
                        return NULL;
                e = &t->table.entries[n - 1];
                if (e->hash == hash && entry_is(e, key, size))
                        return e;
        }
}

const tree_entry_t *tree_table_find(const tree_value_t *t, const char *key, size_t size)
{
        if (!t || t->type != TREE_TABLE)
                return NULL;
        return find_hashed(t, key, size, key_hash(key, size));
}

tree_value_t *tree_table_get(const tree_value_t *t, const char *key)
{
        const tree_entry_t *e = tree_table_find(t, key, strlen(key));

        return e ? e->value : NULL;
}

int tree_table_add(tree_value_t *t, const char *key, size_t size, unsigned line, unsigned col,
                   tree_value_t *value)
{
        uint32_t hash = key_hash(key, size);
        tree_entry_t *e;
        int r;

        if (find_hashed(t, key, size, hash))
                return -EEXIST;
        if (t->table.count == t->table.capacity) {
                size_t capacity = t->table.capacity ? t->table.capacity * 2 : 4;
                tree_entry_t *entries = realloc(t->table.entries, capacity * sizeof(*entries));
                if (!entries)
                        return -ENOMEM;
                t->table.entries = entries;
                t->table.capacity = capacity;
        }
        r = index_grow(t, t->table.count + 1);
        if (r < 0)
                return r;
        e = &t->table.entries[t->table.count];
        e->key = malloc(size + 1);
        if (!e->key)
                return -ENOMEM;
        memcpy(e->key, key, size);
        e->key[size] = '\0';
        e->key_size = size;
        e->hash = hash;
        e->line = line;
        e->col = col;
        e->value = value;
        t->table.count++;
        if (t->table.index_size > 0)
                index_insert(t, t->table.count - 1);
        return 0;
}

int tree_array_push(tree_value_t *a, tree_value_t *value)
{
        if (a->array.count == a->array.capacity) {
                size_t capacity = a->array.capacity ? a->array.capacity * 2 : 4;
                tree_value_t **items = realloc(a->array.items, capacity * sizeof(*items));
                if (!items)
                        return -ENOMEM;
                a->array.items = items;
                a->array.capacity = capacity;
        }
        a->array.items[a->array.count++] = value;
        return 0;
}

const char *tree_type_name(tree_type_t type)
{
        static const char *const names[] = {
                [TREE_TABLE] = "table",
                [TREE_ARRAY] = "array",
                [TREE_STRING] = "string",
                [TREE_INTEGER] = "integer",
                [TREE_FLOAT] = "float",
                [TREE_BOOL] = "boolean",
                [TREE_DATETIME] = "offset date-time",
                [TREE_DATETIME_LOCAL] = "local date-time",
                [TREE_DATE_LOCAL] = "local date",
                [TREE_TIME_LOCAL] = "local time",
        };

        return (unsigned)type < ELEMENTSOF(names) ? names[type] : "value";
}
