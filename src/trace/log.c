/* The record of a traced run (see trace.h): one entry per path, in the order first seen, with
 * every use merged, and an index by path (open addressing on an FNV-1a hash) so that the
 * listener can add the same path thousands of times (every import of a Python module stats a
 * dozen of them) in constant time. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "trace/trace-internal.h"

static uint64_t hash_path(const char *s)
{
        uint64_t h = 0xcbf29ce484222325ull;

        for (; *s; s++) {
                h ^= (unsigned char)*s;
                h *= 0x100000001b3ull;
        }
        return h;
}

/* The slot of path in the index: where its entry is, or the free slot where it would go. */
static size_t slot_of(const trace_log_t *log, const char *path)
{
        size_t mask = log->index_capacity - 1;

        for (size_t i = (size_t)hash_path(path) & mask;; i = (i + 1) & mask) {
                size_t at = log->index[i];

                if (at == 0 || STREQ(log->entries[at - 1].path, path))
                        return i;
        }
}

const trace_entry_t *trace_log_find(const trace_log_t *log, const char *path)
{
        size_t at;

        if (log->index_capacity == 0)
                return NULL;
        at = log->index[slot_of(log, path)];
        return at ? &log->entries[at - 1] : NULL;
}

/* Keeps the index at most half full, so that probes stay short. */
static int grow_index(trace_log_t *log)
{
        size_t capacity = log->index_capacity ? 2 * log->index_capacity : 64;
        size_t *old = log->index, old_capacity = log->index_capacity;

        if ((log->count + 1) * 2 <= log->index_capacity)
                return 0;
        log->index = calloc(capacity, sizeof(*log->index));
        if (!log->index) {
                log->index = old;
                return -ENOMEM;
        }
        log->index_capacity = capacity;
        for (size_t i = 0; i < old_capacity; i++)
                if (old[i])
                        log->index[slot_of(log, log->entries[old[i] - 1].path)] = old[i];
        free(old);
        return 0;
}

int trace_log_add(trace_log_t *log, const char *path, unsigned uses, bool is_dir, const char *first)
{
        _cleanup_free_ char *path_copy = NULL, *first_copy = NULL;
        trace_entry_t *e;
        size_t slot;
        int r;

        if (!path || !trace_path_is_normalised(path) || uses == 0 || (uses & ~(unsigned)TRACE_ALL))
                return -EINVAL;
        if (log->index_capacity > 0) {
                size_t at = log->index[slot_of(log, path)];

                if (at) {
                        e = &log->entries[at - 1];
                        e->uses |= uses;
                        e->is_dir = is_dir;
                        return 0;
                }
        }
        if (log->count >= TRACE_LOG_MAX)
                return -E2BIG;
        path_copy = strdup(path);
        first_copy = first ? strdup(first) : NULL;
        if (!path_copy || (first && !first_copy))
                return -ENOMEM;
        if (log->count == log->capacity) {
                size_t capacity = log->capacity ? 2 * log->capacity : 64;
                trace_entry_t *grown = realloc(log->entries, capacity * sizeof(*grown));

                if (!grown)
                        return -ENOMEM;
                log->entries = grown;
                log->capacity = capacity;
        }
        r = grow_index(log);
        if (r < 0)
                return r;
        slot = slot_of(log, path);
        log->entries[log->count] = (trace_entry_t){
                .path = TAKE_PTR(path_copy),
                .uses = uses,
                .is_dir = is_dir,
                .first = TAKE_PTR(first_copy),
        };
        log->count++;
        log->index[slot] = log->count;
        return 0;
}

void trace_log_done(trace_log_t *log)
{
        for (size_t i = 0; i < log->count; i++) {
                free(log->entries[i].path);
                free(log->entries[i].first);
        }
        free(log->entries);
        free(log->index);
        *log = (trace_log_t){0};
}
