/* Fuzzes the TOML reader. Besides the sanitizers' findings, it checks the reader against itself:
 * every document it accepts is written back as TOML (one line per top-level key, everything
 * below as inline tables and arrays, every string and key escaped), and that text must be
 * accepted too and read back into the same tree. A reader that drops, adds or alters a byte
 * anywhere therefore aborts here. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest/toml.h"
#include "shared/macro.h"

/* Inputs beyond this only slow the fuzzer down: the reader is linear. */
#define FUZZ_SIZE_MAX (64 * 1024)

typedef struct out {
        char *data;
        size_t size, capacity;
} out_t;

static void put(out_t *o, const char *s, size_t size)
{
        if (o->size + size + 1 > o->capacity) {
                size_t capacity = MAX(o->capacity * 2, o->size + size + 1);
                char *data = realloc(o->data, capacity);
                if (!data)
                        abort();
                o->data = data;
                o->capacity = capacity;
        }
        memcpy(o->data + o->size, s, size);
        o->size += size;
        o->data[o->size] = '\0';
}

static void puts_(out_t *o, const char *s)
{
        put(o, s, strlen(s));
}

static void put_string(out_t *o, const char *s, size_t size)
{
        put(o, "\"", 1);
        for (size_t i = 0; i < size; i++) {
                unsigned char c = (unsigned char)s[i];
                char esc[12];
                if (c == '"' || c == '\\') {
                        esc[0] = '\\';
                        esc[1] = (char)c;
                        put(o, esc, 2);
                } else if (c < 0x20 || c == 0x7f) {
                        snprintf(esc, sizeof(esc), "\\u%04x", c);
                        puts_(o, esc);
                } else {
                        put(o, (const char *)&s[i], 1);
                }
        }
        put(o, "\"", 1);
}

static void put_value(out_t *o, const tree_value_t *v)
{
        char buf[64];
        const tree_datetime_t *dt = &v->datetime;

        switch (v->type) {
        case TREE_TABLE:
                puts_(o, "{");
                for (size_t i = 0; i < v->table.count; i++) {
                        puts_(o, i > 0 ? ", " : " ");
                        put_string(o, v->table.entries[i].key, v->table.entries[i].key_size);
                        puts_(o, " = ");
                        put_value(o, v->table.entries[i].value);
                }
                puts_(o, " }");
                return;
        case TREE_ARRAY:
                puts_(o, "[\n");
                for (size_t i = 0; i < v->array.count; i++) {
                        put_value(o, v->array.items[i]);
                        puts_(o, ",\n");
                }
                puts_(o, "]");
                return;
        case TREE_STRING:
                put_string(o, v->string.data, v->string.size);
                return;
        case TREE_INTEGER:
                snprintf(buf, sizeof(buf), "%lld", (long long)v->integer);
                break;
        case TREE_FLOAT:
                if (isnan(v->floating))
                        snprintf(buf, sizeof(buf), "nan");
                else if (isinf(v->floating))
                        snprintf(buf, sizeof(buf), "%sinf", v->floating < 0 ? "-" : "");
                else {
                        snprintf(buf, sizeof(buf), "%.17g", v->floating);
                        if (!strpbrk(buf, ".e"))
                                strcat(buf, ".0");
                }
                break;
        case TREE_BOOL:
                snprintf(buf, sizeof(buf), "%s", v->boolean ? "true" : "false");
                break;
        case TREE_DATETIME:
        case TREE_DATETIME_LOCAL:
        case TREE_DATE_LOCAL:
        case TREE_TIME_LOCAL:
                buf[0] = '\0';
                if (v->type != TREE_TIME_LOCAL)
                        snprintf(buf, sizeof(buf), "%04d-%02d-%02d%s", dt->year, dt->month, dt->day,
                                 v->type == TREE_DATE_LOCAL ? "" : "T");
                if (v->type != TREE_DATE_LOCAL)
                        snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
                                 "%02d:%02d:%02d.%09u", dt->hour, dt->minute, dt->second,
                                 (unsigned)dt->nanosecond);
                if (v->type == TREE_DATETIME)
                        snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%c%02d:%02d",
                                 dt->offset_minutes < 0 ? '-' : '+', abs(dt->offset_minutes) / 60,
                                 abs(dt->offset_minutes) % 60);
                break;
        }
        puts_(o, buf);
}

static bool same(const tree_value_t *a, const tree_value_t *b)
{
        const tree_datetime_t *x = &a->datetime, *y = &b->datetime;

        if (a->type != b->type)
                return false;
        switch (a->type) {
        case TREE_TABLE:
                if (a->table.count != b->table.count)
                        return false;
                for (size_t i = 0; i < a->table.count; i++) {
                        const tree_entry_t *e = &a->table.entries[i], *f = &b->table.entries[i];
                        if (e->key_size != f->key_size ||
                            memcmp(e->key, f->key, e->key_size) != 0 || !same(e->value, f->value))
                                return false;
                        if (tree_table_find(a, e->key, e->key_size) != e)
                                return false;
                }
                return true;
        case TREE_ARRAY:
                if (a->array.count != b->array.count)
                        return false;
                for (size_t i = 0; i < a->array.count; i++)
                        if (!same(a->array.items[i], b->array.items[i]))
                                return false;
                return true;
        case TREE_STRING:
                return a->string.size == b->string.size &&
                       memcmp(a->string.data, b->string.data, a->string.size) == 0 &&
                       a->string.data[a->string.size] == '\0';
        case TREE_INTEGER:
                return a->integer == b->integer;
        case TREE_FLOAT:
                if (isnan(a->floating))
                        return isnan(b->floating);
                return memcmp(&a->floating, &b->floating, sizeof(double)) == 0;
        case TREE_BOOL:
                return a->boolean == b->boolean;
        default:
                return x->year == y->year && x->month == y->month && x->day == y->day &&
                       x->hour == y->hour && x->minute == y->minute && x->second == y->second &&
                       x->nanosecond == y->nanosecond && x->offset_minutes == y->offset_minutes;
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        manifest_error_t e = {};
        tree_value_t *root = NULL, *again = NULL;
        out_t o = {};
        int r;

        if (size > FUZZ_SIZE_MAX)
                return 0;
        r = toml_parse((const char *)data, size, &e, &root);
        if (r < 0) {
                /* A refusal names a place inside the input and says something. */
                if (r != -EINVAL || e.line == 0 || e.col == 0 || e.message[0] == '\0')
                        abort();
                return 0;
        }

        for (size_t i = 0; i < root->table.count; i++) {
                put_string(&o, root->table.entries[i].key, root->table.entries[i].key_size);
                puts_(&o, " = ");
                put_value(&o, root->table.entries[i].value);
                puts_(&o, "\n");
        }
        r = toml_parse(o.data, o.size, &e, &again);
        if (r < 0 || !same(root, again)) {
                fprintf(stderr, "re-read failed (%d: %u:%u: %s):\n%s\n", r, e.line, e.col,
                        e.message, o.data ? o.data : "");
                abort();
        }
        tree_free(again);
        tree_free(root);
        free(o.data);
        return 0;
}
