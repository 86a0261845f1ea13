/* The TOML 1.0 reader (see toml.h): one pass of recursive descent over the input, building the
 * tree as it goes. The input is never copied or NUL-terminated: every read is checked against
 * the end. The tree's flags (TREE_FLAG_*) carry the state that TOML's table rules need: which
 * tables were named by a header, created on the way to a deeper header, created by dotted keys,
 * or written as literals. Nesting (tables and arrays, however they are made) is capped at
 * TOML_DEPTH_MAX levels, so that recursion here, in tree_free() and in every reader of the tree
 * stays shallow. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest/toml.h"
#include "shared/macro.h"

/* The deepest a table or array may sit below the root (which is at depth 0). */
#define TOML_DEPTH_MAX 128

/* How many characters of a key or value a message quotes. */
#define QUOTE_MAX 60

typedef struct pos {
        unsigned line, col;
} pos_t;

typedef struct buf {
        char *data; /* NUL-terminated once anything was reserved */
        size_t size, capacity;
} buf_t;

typedef struct key_part {
        size_t offset, size; /* the part's bytes in toml_key_t.buf */
        pos_t pos;
} key_part_t;

/* A key as written, dotted parts decoded into one buffer. */
typedef struct toml_key {
        buf_t buf;
        key_part_t *parts;
        size_t count, capacity;
} toml_key_t;

typedef struct parser {
        const char *p, *end;
        const char *line_start;
        unsigned line;
        manifest_error_t *e;
        tree_value_t *root;
        tree_value_t *table;  /* where the key/value pairs of the current section go */
        unsigned table_depth; /* its depth below the root */
} parser_t;

#define fail(P, at, ...) diag_error((P)->e, (at).line, (at).col, __VA_ARGS__)

static void buf_done(buf_t *b)
{
        free(b->data);
}

static void key_done(toml_key_t *k)
{
        buf_done(&k->buf);
        free(k->parts);
}

static int buf_reserve(buf_t *b, size_t extra)
{
        size_t need = b->size + extra + 1, capacity;
        char *data;

        if (need <= b->capacity)
                return 0;
        capacity = MAX(MAX(b->capacity * 2, need), (size_t)32);
        data = realloc(b->data, capacity);
        if (!data)
                return -ENOMEM;
        b->data = data;
        b->capacity = capacity;
        b->data[b->size] = '\0';
        return 0;
}

static int buf_put(buf_t *b, const char *s, size_t size)
{
        int r = buf_reserve(b, size);

        if (r < 0)
                return r;
        memcpy(b->data + b->size, s, size);
        b->size += size;
        b->data[b->size] = '\0';
        return 0;
}

static bool is_digit(int c)
{
        return c >= '0' && c <= '9';
}

static bool is_alpha(int c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_bare_key_char(int c)
{
        return is_alpha(c) || is_digit(c) || c == '_' || c == '-';
}

/* Characters that may continue a bare value (number, boolean, date-time): a value that runs
 * into one of these is malformed, rather than followed by something else. */
static bool is_token_char(int c)
{
        return is_alpha(c) || is_digit(c) || c == '_' || c == '-' || c == '+' || c == '.' ||
               c == ':';
}

static int hex_value(int c)
{
        if (is_digit(c))
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Length of the well-formed UTF-8 sequence at p (1 to 4 bytes), or 0 when the bytes there are
 * not one: overlong forms, surrogates and code points above U+10FFFF are refused. */
static size_t utf8_len(const char *s, const char *end, uint32_t *ret_cp)
{
        const unsigned char *p = (const unsigned char *)s;
        size_t n;
        uint32_t cp, min;

        if (p[0] < 0x80) {
                n = 1, cp = p[0], min = 0;
        } else if ((p[0] & 0xe0) == 0xc0) {
                n = 2, cp = p[0] & 0x1f, min = 0x80;
        } else if ((p[0] & 0xf0) == 0xe0) {
                n = 3, cp = p[0] & 0x0f, min = 0x800;
        } else if ((p[0] & 0xf8) == 0xf0) {
                n = 4, cp = p[0] & 0x07, min = 0x10000;
        } else {
                return 0;
        }
        if ((size_t)(end - s) < n)
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((p[i] & 0xc0) != 0x80)
                        return 0;
                cp = cp << 6 | (p[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        if (ret_cp)
                *ret_cp = cp;
        return n;
}

static size_t utf8_encode(uint32_t cp, char out[4])
{
        if (cp < 0x80) {
                out[0] = (char)cp;
                return 1;
        }
        if (cp < 0x800) {
                out[0] = (char)(0xc0 | cp >> 6);
                out[1] = (char)(0x80 | (cp & 0x3f));
                return 2;
        }
        if (cp < 0x10000) {
                out[0] = (char)(0xe0 | cp >> 12);
                out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
                out[2] = (char)(0x80 | (cp & 0x3f));
                return 3;
        }
        out[0] = (char)(0xf0 | cp >> 18);
        out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
        out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
        out[3] = (char)(0x80 | (cp & 0x3f));
        return 4;
}

static pos_t pos_at(const parser_t *P, const char *at)
{
        return (pos_t){P->line, (unsigned)(at - P->line_start) + 1};
}

static pos_t here(const parser_t *P)
{
        return pos_at(P, P->p);
}

static bool newline_at(const parser_t *P, const char *at)
{
        return at < P->end && (*at == '\n' || (*at == '\r' && at + 1 < P->end && at[1] == '\n'));
}

static bool at_newline(const parser_t *P)
{
        return newline_at(P, P->p);
}

static void eat_newline(parser_t *P)
{
        P->p += *P->p == '\r' ? 2 : 1;
        P->line++;
        P->line_start = P->p;
}

static bool at_char(const parser_t *P, char c)
{
        return P->p < P->end && *P->p == c;
}

static void skip_ws(parser_t *P)
{
        while (P->p < P->end && (*P->p == ' ' || *P->p == '\t'))
                P->p++;
}

/* Names the character at p for "found ..." in messages. */
static const char *describe(const parser_t *P, const char *p, char *buf, size_t size)
{
        unsigned char c;
        uint32_t cp;

        if (p >= P->end)
                return "end of file";
        if (newline_at(P, p))
                return "end of line";
        c = (unsigned char)*p;
        if (c == '\t')
                return "a tab";
        if (c == '\r')
                return "a carriage return without a line feed";
        if (c < 0x20 || c == 0x7f)
                snprintf(buf, size, "control character 0x%02x", c);
        else if (c < 0x7f)
                snprintf(buf, size, "'%c'", c);
        else if (utf8_len(p, P->end, &cp) > 0)
                snprintf(buf, size, "U+%04X", (unsigned)cp);
        else
                snprintf(buf, size, "invalid UTF-8 byte 0x%02x", c);
        return buf;
}

/* The error for an unexpected character at the cursor: bytes that are not UTF-8 say so first,
 * whatever was expected there. */
static int expected(parser_t *P, const char *what)
{
        char buf[64];

        if (P->p < P->end && (unsigned char)*P->p >= 0x80 && utf8_len(P->p, P->end, NULL) == 0)
                return fail(P, here(P), "invalid UTF-8 byte 0x%02x", (unsigned char)*P->p);
        return fail(P, here(P), "expected %s, found %s", what, describe(P, P->p, buf, sizeof(buf)));
}

/* Checks the character at the cursor inside a string or a comment (newlines are the caller's):
 * returns its length in bytes, or the error. Tab and well-formed UTF-8 are allowed; other
 * control characters and DEL are not. */
static int text_char(parser_t *P, const char *where)
{
        unsigned char c = (unsigned char)*P->p;
        size_t n;

        if (c >= 0x80) {
                n = utf8_len(P->p, P->end, NULL);
                if (n == 0)
                        return fail(P, here(P), "invalid UTF-8 byte 0x%02x", c);
                return (int)n;
        }
        if (c == '\r')
                return fail(P, here(P), "carriage return without a line feed in %s", where);
        if ((c < 0x20 && c != '\t') || c == 0x7f)
                return fail(P, here(P), "control character 0x%02x is not allowed in %s", c, where);
        return 1;
}

static int skip_comment(parser_t *P)
{
        P->p++;
        while (P->p < P->end && !at_newline(P)) {
                int n = text_char(P, "a comment");
                if (n < 0)
                        return n;
                P->p += n;
        }
        return 0;
}

/* Skips whitespace, comments and newlines, as allowed between array elements. */
static int skip_blank(parser_t *P)
{
        int r;

        for (;;) {
                skip_ws(P);
                if (at_char(P, '#')) {
                        r = skip_comment(P);
                        if (r < 0)
                                return r;
                }
                if (!at_newline(P))
                        return 0;
                eat_newline(P);
        }
}

/* Writes a key (its first count parts) as TOML would, for messages: bare where possible,
 * quoted otherwise, bytes that are not printable ASCII as \xHH, cut at QUOTE_MAX characters. */
static const char *key_name(const toml_key_t *k, size_t count, char *out, size_t size)
{
        size_t n = 0, chars = 0;

#define PUT(c)                                                                                     \
        do {                                                                                       \
                if (n + 1 < size)                                                                  \
                        out[n++] = (c);                                                            \
        } while (0)

        for (size_t i = 0; i < count; i++) {
                const char *s = k->buf.data + k->parts[i].offset;
                size_t len = k->parts[i].size;
                bool bare = len > 0;

                for (size_t j = 0; j < len; j++)
                        bare = bare && is_bare_key_char((unsigned char)s[j]);
                if (i > 0)
                        PUT('.');
                if (!bare)
                        PUT('"');
                for (size_t j = 0; j < len; j++) {
                        unsigned char c = (unsigned char)s[j];
                        if (chars++ == QUOTE_MAX) {
                                for (size_t h = 0; h < 3; h++)
                                        PUT('.');
                                goto done;
                        }
                        if (c == '"' || c == '\\') {
                                PUT('\\');
                                PUT((char)c);
                        } else if (c >= 0x20 && c < 0x7f) {
                                PUT((char)c);
                        } else {
                                char hex[5];
                                snprintf(hex, sizeof(hex), "\\x%02x", c);
                                for (size_t h = 0; h < 4; h++)
                                        PUT(hex[h]);
                        }
                }
                if (!bare)
                        PUT('"');
        }
done:
#undef PUT
        out[n] = '\0';
        return out;
}

static const char *type_with_article(const tree_value_t *v)
{
        switch (v->type) {
        case TREE_TABLE:
                return v->flags & TREE_FLAG_INLINE ? "an inline table" : "a table";
        case TREE_ARRAY:
                return v->flags & TREE_FLAG_AOT ? "an array of tables" : "an array";
        case TREE_STRING:
                return "a string";
        case TREE_INTEGER:
                return "an integer";
        case TREE_FLOAT:
                return "a float";
        case TREE_BOOL:
                return "a boolean";
        case TREE_DATETIME:
                return "an offset date-time";
        case TREE_DATETIME_LOCAL:
                return "a local date-time";
        case TREE_DATE_LOCAL:
                return "a local date";
        case TREE_TIME_LOCAL:
                return "a local time";
        }
        return "a value";
}

/* ---- strings ---- */

/* Reads an escape sequence (the cursor is on the backslash) into out. In multi-line strings a
 * backslash at the end of a line swallows the newline and all whitespace after it. */
static int parse_escape(parser_t *P, bool multi, pos_t start, buf_t *out)
{
        const char *bs = P->p;
        char quoted[64], c, utf8[4];
        int digits;
        uint32_t cp = 0;

        if (P->p + 1 >= P->end)
                return fail(P, start,
                            multi ? "unterminated multi-line string" : "unterminated string");
        c = P->p[1];
        if (multi && (c == ' ' || c == '\t' || newline_at(P, P->p + 1))) {
                const char *q = P->p + 1;
                while (q < P->end && (*q == ' ' || *q == '\t'))
                        q++;
                if (!newline_at(P, q)) {
                        P->p = q;
                        return expected(P, "end of line after line-ending backslash");
                }
                P->p = q;
                for (;;) {
                        skip_ws(P);
                        if (!at_newline(P))
                                return 0;
                        eat_newline(P);
                }
        }
        switch (c) {
        case 'b':
                c = '\b';
                break;
        case 't':
                c = '\t';
                break;
        case 'n':
                c = '\n';
                break;
        case 'f':
                c = '\f';
                break;
        case 'r':
                c = '\r';
                break;
        case '"':
        case '\\':
                break;
        case 'u':
        case 'U':
                digits = c == 'u' ? 4 : 8;
                for (int i = 0; i < digits; i++) {
                        const char *h = P->p + 2 + i;
                        if (h >= P->end || hex_value((unsigned char)*h) < 0) {
                                diag_quote(bs, MIN((size_t)(P->end - bs), (size_t)i + 3), 12,
                                           quoted, sizeof(quoted));
                                return fail(P, pos_at(P, bs),
                                            "invalid unicode escape '%s' (\\%c needs %d hex "
                                            "digits)",
                                            quoted, c, digits);
                        }
                        cp = cp << 4 | (uint32_t)hex_value((unsigned char)*h);
                }
                if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
                        diag_quote(bs, (size_t)digits + 2, 12, quoted, sizeof(quoted));
                        return fail(P, pos_at(P, bs),
                                    "invalid unicode escape '%s' (not a Unicode scalar value)",
                                    quoted);
                }
                P->p += 2 + digits;
                return buf_put(out, utf8, utf8_encode(cp, utf8));
        default:
                if (newline_at(P, P->p + 1))
                        return fail(P, here(P),
                                    "a line-ending backslash is only allowed in multi-line "
                                    "strings");
                if ((unsigned char)c >= 0x20 && (unsigned char)c < 0x7f)
                        return fail(P, here(P), "invalid escape '\\%c' in string", c);
                return fail(P, here(P), "invalid escape: '\\' followed by %s in string",
                            describe(P, P->p + 1, quoted, sizeof(quoted)));
        }
        P->p += 2;
        return buf_put(out, &c, 1);
}

/* Reads the quote run at the cursor of a multi-line string delimited by q. A run of three to
 * five closes the string, the quotes beyond the three being content: returns 1 then. */
static int multi_quotes(parser_t *P, char q, buf_t *out)
{
        size_t n = 0;
        int r;

        while (P->p + n < P->end && P->p[n] == q)
                n++;
        if (n < 3) {
                r = buf_put(out, P->p, n);
                P->p += n;
                return r;
        }
        n = MIN(n - 3, (size_t)2);
        r = buf_put(out, P->p, n);
        P->p += n + 3;
        return r < 0 ? r : 1;
}

/* Copies the character at P->p of a string body into out: a newline (as LF, and only in a
 * multi-line string) or one valid UTF-8 character. Shared by both kinds of string. */
static int copy_char(parser_t *P, bool multi, pos_t start, const char *unterminated, buf_t *out)
{
        int n, r;

        if (at_newline(P)) {
                if (!multi)
                        return fail(P, start, "%s", unterminated);
                r = buf_put(out, "\n", 1);
                if (r < 0)
                        return r;
                eat_newline(P);
                return 0;
        }
        n = text_char(P, "a string");
        if (n < 0)
                return n;
        r = buf_put(out, P->p, (size_t)n);
        if (r < 0)
                return r;
        P->p += n;
        return 0;
}

/* Reads a basic ("...") or multi-line basic ("""...""") string into out. */
static int parse_basic(parser_t *P, bool multi, buf_t *out)
{
        pos_t start = here(P);
        const char *unterminated = multi ? "unterminated multi-line string" : "unterminated string";
        int r;

        P->p += multi ? 3 : 1;
        if (multi && at_newline(P))
                eat_newline(P);
        for (;;) {
                const char *run = P->p;
                while (P->p < P->end && (unsigned char)*P->p >= 0x20 &&
                       (unsigned char)*P->p < 0x7f && *P->p != '"' && *P->p != '\\')
                        P->p++;
                r = buf_put(out, run, (size_t)(P->p - run));
                if (r < 0)
                        return r;
                if (P->p >= P->end)
                        return fail(P, start, "%s", unterminated);
                if (*P->p == '"') {
                        if (!multi) {
                                P->p++;
                                return 0;
                        }
                        r = multi_quotes(P, '"', out);
                        if (r != 0)
                                return r < 0 ? r : 0;
                } else if (*P->p == '\\') {
                        r = parse_escape(P, multi, start, out);
                        if (r < 0)
                                return r;
                } else {
                        r = copy_char(P, multi, start, unterminated, out);
                        if (r < 0)
                                return r;
                }
        }
}

/* Reads a literal ('...') or multi-line literal ('''...''') string into out. */
static int parse_literal(parser_t *P, bool multi, buf_t *out)
{
        pos_t start = here(P);
        const char *unterminated = multi ? "unterminated multi-line string" : "unterminated string";
        int r;

        P->p += multi ? 3 : 1;
        if (multi && at_newline(P))
                eat_newline(P);
        for (;;) {
                const char *run = P->p;
                while (P->p < P->end && (((unsigned char)*P->p >= 0x20 &&
                                          (unsigned char)*P->p < 0x7f && *P->p != '\'') ||
                                         *P->p == '\t'))
                        P->p++;
                r = buf_put(out, run, (size_t)(P->p - run));
                if (r < 0)
                        return r;
                if (P->p >= P->end)
                        return fail(P, start, "%s", unterminated);
                if (*P->p == '\'') {
                        if (!multi) {
                                P->p++;
                                return 0;
                        }
                        r = multi_quotes(P, '\'', out);
                        if (r != 0)
                                return r < 0 ? r : 0;
                } else {
                        r = copy_char(P, multi, start, unterminated, out);
                        if (r < 0)
                                return r;
                }
        }
}

static bool at_triple(const parser_t *P, char q)
{
        return P->end - P->p >= 3 && P->p[0] == q && P->p[1] == q && P->p[2] == q;
}

static int parse_string_value(parser_t *P, tree_value_t **ret)
{
        _cleanup_(buf_done) buf_t b = {};
        pos_t start = here(P);
        char q = *P->p;
        tree_value_t *v;
        int r;

        r = q == '"' ? parse_basic(P, at_triple(P, q), &b) : parse_literal(P, at_triple(P, q), &b);
        if (r < 0)
                return r;
        r = buf_reserve(&b, 0);
        if (r < 0)
                return r;
        v = tree_new(TREE_STRING, start.line, start.col);
        if (!v)
                return -ENOMEM;
        v->string.size = b.size;
        v->string.data = TAKE_PTR(b.data);
        *ret = v;
        return 0;
}

/* ---- keys ---- */

static int parse_simple_key(parser_t *P, toml_key_t *k)
{
        size_t offset = k->buf.size;
        pos_t start = here(P);
        int r;

        if (P->p < P->end && is_bare_key_char((unsigned char)*P->p)) {
                const char *s = P->p;
                while (P->p < P->end && is_bare_key_char((unsigned char)*P->p))
                        P->p++;
                r = buf_put(&k->buf, s, (size_t)(P->p - s));
        } else if (at_char(P, '"') || at_char(P, '\'')) {
                if (at_triple(P, *P->p))
                        return fail(P, start, "a multi-line string cannot be a key");
                r = *P->p == '"' ? parse_basic(P, false, &k->buf)
                                 : parse_literal(P, false, &k->buf);
        } else {
                return expected(P, "a key");
        }
        if (r < 0)
                return r;
        if (k->count == k->capacity) {
                size_t capacity = k->capacity ? k->capacity * 2 : 4;
                key_part_t *parts = realloc(k->parts, capacity * sizeof(*parts));
                if (!parts)
                        return -ENOMEM;
                k->parts = parts;
                k->capacity = capacity;
        }
        k->parts[k->count++] = (key_part_t){offset, k->buf.size - offset, start};
        return 0;
}

/* Reads a key, dotted or not, and the whitespace after it. */
static int parse_key(parser_t *P, toml_key_t *k)
{
        int r;

        for (;;) {
                if (k->count == TOML_DEPTH_MAX)
                        return fail(P, here(P), "too deeply nested (more than %d levels)",
                                    TOML_DEPTH_MAX);
                r = parse_simple_key(P, k);
                if (r < 0)
                        return r;
                skip_ws(P);
                if (!at_char(P, '.'))
                        return 0;
                P->p++;
                skip_ws(P);
        }
}

static const char *part_data(const toml_key_t *k, size_t i)
{
        return k->buf.data + k->parts[i].offset;
}

static const tree_entry_t *find_part(const tree_value_t *t, const toml_key_t *k, size_t i)
{
        return tree_table_find(t, part_data(k, i), k->parts[i].size);
}

static int add_table(parser_t *P, tree_value_t *t, const toml_key_t *k, size_t i, unsigned depth,
                     unsigned flags, pos_t value_pos, tree_value_t **ret)
{
        _cleanup_(tree_freep) tree_value_t *sub = NULL;
        const key_part_t *kp = &k->parts[i];
        int r;

        if (depth > TOML_DEPTH_MAX)
                return fail(P, kp->pos, "too deeply nested (more than %d levels)", TOML_DEPTH_MAX);
        sub = tree_new(TREE_TABLE, value_pos.line, value_pos.col);
        if (!sub)
                return -ENOMEM;
        sub->flags = flags;
        r = tree_table_add(t, part_data(k, i), kp->size, kp->pos.line, kp->pos.col, sub);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(sub);
        return 0;
}

static int not_a(parser_t *P, const toml_key_t *k, size_t i, const tree_entry_t *ent,
                 const char *what)
{
        char name[QUOTE_MAX * 4 + 8];

        return fail(P, k->parts[i].pos, "'%s' is %s (defined at line %u), not %s",
                    key_name(k, i + 1, name, sizeof(name)), type_with_article(ent->value),
                    ent->line, what);
}

/* Walks the dotted part of a key/value pair's key (all parts but the last) down from table t at
 * depth, creating the tables that are missing. Returns the table the last part goes into. */
static int walk_dotted(parser_t *P, tree_value_t *t, unsigned depth, const toml_key_t *k,
                       tree_value_t **ret, unsigned *ret_depth)
{
        char name[QUOTE_MAX * 4 + 8];
        int r;

        for (size_t i = 0; i + 1 < k->count; i++) {
                const tree_entry_t *ent = find_part(t, k, i);
                tree_value_t *v;

                depth++;
                if (!ent) {
                        r = add_table(P, t, k, i, depth, TREE_FLAG_DOTTED, k->parts[i].pos, &t);
                        if (r < 0)
                                return r;
                        continue;
                }
                v = ent->value;
                if (v->type != TREE_TABLE)
                        return not_a(P, k, i, ent, "a table");
                if (v->flags & TREE_FLAG_INLINE)
                        return fail(P, k->parts[i].pos,
                                    "inline table '%s' (defined at line %u) cannot be extended",
                                    key_name(k, i + 1, name, sizeof(name)), ent->line);
                if (v->flags & TREE_FLAG_DEFINED)
                        return fail(P, k->parts[i].pos,
                                    "table '%s' has its own header at line %u; dotted keys "
                                    "cannot add to it",
                                    key_name(k, i + 1, name, sizeof(name)), v->line);
                /* A table made on the way to a deeper header now counts as made by dotted keys,
                 * so that a header cannot define it later. */
                if (v->flags & TREE_FLAG_IMPLICIT)
                        v->flags = (v->flags & ~(unsigned)TREE_FLAG_IMPLICIT) | TREE_FLAG_DOTTED;
                t = v;
        }
        *ret = t;
        *ret_depth = depth;
        return 0;
}

/* ---- numbers, booleans, date-times ---- */

static const char *quote_token(const char *s, const char *t, char *buf, size_t size)
{
        return diag_quote(s, (size_t)(t - s), QUOTE_MAX, buf, size);
}

static bool is_digit_in(int c, int base)
{
        switch (base) {
        case 2:
                return c == '0' || c == '1';
        case 8:
                return c >= '0' && c <= '7';
        case 16:
                return hex_value(c) >= 0;
        default:
                return is_digit(c);
        }
}

/* Skips digits of base with single underscores between them; *q is on a digit. */
static int scan_digits(parser_t *P, const char **q, const char *s, const char *t, int base)
{
        char quoted[QUOTE_MAX * 4 + 8];

        for (;;) {
                while (*q < t && is_digit_in((unsigned char)**q, base))
                        (*q)++;
                if (*q >= t || **q != '_')
                        return 0;
                if (*q + 1 >= t || !is_digit_in((unsigned char)(*q)[1], base))
                        return fail(P, pos_at(P, *q), "'_' must be between digits in '%s'",
                                    quote_token(s, t, quoted, sizeof(quoted)));
                (*q)++;
        }
}

static int invalid_number(parser_t *P, const char *at, const char *s, const char *t)
{
        char quoted[QUOTE_MAX * 4 + 8];

        if (at < t && *at == '_')
                return fail(P, pos_at(P, at), "'_' must be between digits in '%s'",
                            quote_token(s, t, quoted, sizeof(quoted)));
        return fail(P, pos_at(P, at), "invalid number '%s'",
                    quote_token(s, t, quoted, sizeof(quoted)));
}

static int out_of_range(parser_t *P, const char *s, const char *t, const char *what)
{
        char quoted[QUOTE_MAX * 4 + 8];

        return fail(P, pos_at(P, s), "%s '%s' is out of range", what,
                    quote_token(s, t, quoted, sizeof(quoted)));
}

static int parse_radix(parser_t *P, const char *s, const char *t, int64_t *ret)
{
        int base = s[1] == 'x' ? 16 : s[1] == 'o' ? 8 : 2;
        const char *q = s + 2;
        uint64_t v = 0;
        int r;

        if (q >= t || !is_digit_in((unsigned char)*q, base))
                return invalid_number(P, q, s, t);
        r = scan_digits(P, &q, s, t, base);
        if (r < 0)
                return r;
        if (q != t)
                return invalid_number(P, q, s, t);
        for (q = s + 2; q < t; q++) {
                if (*q == '_')
                        continue;
                unsigned d = (unsigned)hex_value((unsigned char)*q);
                if (v > ((uint64_t)INT64_MAX - d) / (unsigned)base)
                        return out_of_range(P, s, t, "integer");
                v = v * (unsigned)base + d;
        }
        *ret = (int64_t)v;
        return 0;
}

static int parse_number(parser_t *P, const char *s, const char *t, tree_value_t *v)
{
        char quoted[QUOTE_MAX * 4 + 8];
        const char *q = s, *digits;
        bool neg = false, is_float = false;
        int r;

        if (*q == '+' || *q == '-') {
                neg = *q == '-';
                q++;
        }
        if (t - q == 3 && (memcmp(q, "inf", 3) == 0 || memcmp(q, "nan", 3) == 0)) {
                v->type = TREE_FLOAT;
                v->floating = *q == 'i' ? INFINITY : NAN;
                if (neg)
                        v->floating = -v->floating;
                return 0;
        }
        if (q + 1 < t && q[0] == '0' && (q[1] == 'x' || q[1] == 'o' || q[1] == 'b')) {
                if (q != s)
                        return fail(P, pos_at(P, s), "a sign is not allowed on '%s'",
                                    quote_token(s, t, quoted, sizeof(quoted)));
                v->type = TREE_INTEGER;
                return parse_radix(P, s, t, &v->integer);
        }
        if (q >= t || !is_digit(*q))
                return invalid_number(P, q, s, t);
        digits = q;
        r = scan_digits(P, &q, s, t, 10);
        if (r < 0)
                return r;
        if (digits[0] == '0' && q > digits + 1)
                return fail(P, pos_at(P, digits), "leading zeros are not allowed in '%s'",
                            quote_token(s, t, quoted, sizeof(quoted)));
        if (q < t && *q == '.') {
                is_float = true;
                q++;
                if (q >= t || !is_digit(*q))
                        return invalid_number(P, q, s, t);
                r = scan_digits(P, &q, s, t, 10);
                if (r < 0)
                        return r;
        }
        if (q < t && (*q == 'e' || *q == 'E')) {
                is_float = true;
                q++;
                if (q < t && (*q == '+' || *q == '-'))
                        q++;
                if (q >= t || !is_digit(*q))
                        return invalid_number(P, q, s, t);
                r = scan_digits(P, &q, s, t, 10);
                if (r < 0)
                        return r;
        }
        if (q != t)
                return invalid_number(P, q, s, t);

        if (!is_float) {
                uint64_t n = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
                for (q = digits; q < t; q++) {
                        if (*q == '_')
                                continue;
                        unsigned d = (unsigned)(*q - '0');
                        if (n > (limit - d) / 10)
                                return out_of_range(P, s, t, "integer");
                        n = n * 10 + d;
                }
                v->type = TREE_INTEGER;
                /* -(n - 1) - 1 also reaches INT64_MIN without overflowing. */
                v->integer = neg && n > 0 ? -(int64_t)(n - 1) - 1 : (int64_t)n;
                return 0;
        }

        /* strtod() reads the C locale's '.', which lamina never changes; should a caller change
         * it, strtod() stops early and the number is refused rather than misread. */
        _cleanup_free_ char *copy = malloc((size_t)(t - s) + 1);
        char *w, *stop;
        if (!copy)
                return -ENOMEM;
        w = copy;
        for (q = s; q < t; q++)
                if (*q != '_')
                        *w++ = *q;
        *w = '\0';
        errno = 0;
        v->floating = strtod(copy, &stop);
        if (stop != w)
                return invalid_number(P, s, s, t);
        if (errno == ERANGE && isinf(v->floating))
                return out_of_range(P, s, t, "float");
        v->type = TREE_FLOAT;
        return 0;
}

static int read_fixed(const char **q, const char *end, int digits, int *ret)
{
        int v = 0;

        for (int i = 0; i < digits; i++) {
                if (*q >= end || !is_digit(**q))
                        return -1;
                v = v * 10 + (**q - '0');
                (*q)++;
        }
        *ret = v;
        return 0;
}

static bool is_leap(int year)
{
        return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
}

/* The end of a date-time as written, for messages: its bare characters, and the time after a
 * space separator. */
static const char *datetime_end(const parser_t *P, const char *s)
{
        const char *t = s;

        while (t < P->end && is_token_char((unsigned char)*t))
                t++;
        if (t - s == 10 && s[4] == '-' && t + 1 < P->end && *t == ' ' && is_digit(t[1]))
                for (t++; t < P->end && is_token_char((unsigned char)*t);)
                        t++;
        return t;
}

static int invalid_datetime(parser_t *P, const char *at, const char *s)
{
        char quoted[QUOTE_MAX * 4 + 8];

        return fail(P, pos_at(P, at), "invalid date-time '%s'",
                    quote_token(s, datetime_end(P, s), quoted, sizeof(quoted)));
}

static int datetime_range(parser_t *P, const char *at, const char *s, const char *field)
{
        char quoted[QUOTE_MAX * 4 + 8];

        return fail(P, pos_at(P, at), "%s '%.2s' is out of range in '%s'", field, at,
                    quote_token(s, datetime_end(P, s), quoted, sizeof(quoted)));
}

/* Reads a date, a time, or both (with or without an offset), as RFC 3339 writes them. The
 * cursor is on digits digits, followed by '-' (a date) or ':' (a time). */
static int parse_datetime(parser_t *P, size_t digits, tree_value_t *v)
{
        static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        const char *s = P->p, *q = s, *field;
        tree_datetime_t dt = {};
        bool has_date = false, has_time = false, has_offset = false;

        if (s[digits] == '-') {
                if (digits != 4)
                        return invalid_datetime(P, s + MIN(digits, (size_t)4), s);
                for (; q < s + 4; q++)
                        dt.year = dt.year * 10 + (*q - '0');
                q++;
                field = q;
                if (read_fixed(&q, P->end, 2, &dt.month) < 0)
                        return invalid_datetime(P, q, s);
                if (q >= P->end || *q != '-')
                        return invalid_datetime(P, q, s);
                q++;
                if (read_fixed(&q, P->end, 2, &dt.day) < 0)
                        return invalid_datetime(P, q, s);
                if (dt.month < 1 || dt.month > 12)
                        return datetime_range(P, field, s, "month");
                if (dt.day < 1 || dt.day > days[dt.month - 1] + (dt.month == 2 && is_leap(dt.year)))
                        return datetime_range(P, field + 3, s, "day");
                has_date = true;
                if (q + 1 < P->end && (*q == 'T' || *q == 't' || (*q == ' ' && is_digit(q[1]))))
                        q++;
                else if (q < P->end && (*q == 'T' || *q == 't'))
                        return invalid_datetime(P, q + 1, s);
                else
                        goto done;
        }

        if (!has_date && digits != 2)
                return invalid_datetime(P, s + MIN(digits, (size_t)2), s);
        field = q;
        if (read_fixed(&q, P->end, 2, &dt.hour) < 0 || q >= P->end || *q != ':')
                return invalid_datetime(P, q, s);
        q++;
        if (read_fixed(&q, P->end, 2, &dt.minute) < 0 || q >= P->end || *q != ':')
                return invalid_datetime(P, q, s);
        q++;
        if (read_fixed(&q, P->end, 2, &dt.second) < 0)
                return invalid_datetime(P, q, s);
        if (dt.hour > 23)
                return datetime_range(P, field, s, "hour");
        if (dt.minute > 59)
                return datetime_range(P, field + 3, s, "minute");
        if (dt.second > 60)
                return datetime_range(P, field + 6, s, "second");
        if (q < P->end && *q == '.') {
                q++;
                if (q >= P->end || !is_digit(*q))
                        return invalid_datetime(P, q, s);
                /* Digits beyond nanoseconds are read and dropped, as TOML allows. */
                for (; q < P->end && is_digit(*q); q++)
                        if (dt.frac_digits < 9) {
                                dt.nanosecond = dt.nanosecond * 10 + (uint32_t)(*q - '0');
                                dt.frac_digits++;
                        }
                for (int i = dt.frac_digits; i < 9; i++)
                        dt.nanosecond *= 10;
        }
        has_time = true;

        if (has_date && q < P->end && (*q == 'Z' || *q == 'z')) {
                dt.offset_z = true;
                has_offset = true;
                q++;
        } else if (has_date && q < P->end && (*q == '+' || *q == '-')) {
                int sign = *q == '-' ? -1 : 1, oh, om;
                q++;
                field = q;
                if (read_fixed(&q, P->end, 2, &oh) < 0 || q >= P->end || *q != ':')
                        return invalid_datetime(P, q, s);
                q++;
                if (read_fixed(&q, P->end, 2, &om) < 0)
                        return invalid_datetime(P, q, s);
                if (oh > 23)
                        return datetime_range(P, field, s, "offset hour");
                if (om > 59)
                        return datetime_range(P, field + 3, s, "offset minute");
                dt.offset_minutes = sign * (oh * 60 + om);
                has_offset = true;
        }

done:
        if (q < P->end && is_token_char((unsigned char)*q))
                return invalid_datetime(P, q, s);
        v->type = has_offset             ? TREE_DATETIME
                  : has_date && has_time ? TREE_DATETIME_LOCAL
                  : has_date             ? TREE_DATE_LOCAL
                                         : TREE_TIME_LOCAL;
        v->datetime = dt;
        P->p = q;
        return 0;
}

/* Reads a boolean, number or date-time. */
static int parse_bare_value(parser_t *P, tree_value_t **ret)
{
        char quoted[QUOTE_MAX * 4 + 8];
        _cleanup_(tree_freep) tree_value_t *v = NULL;
        const char *s = P->p, *t = s;
        pos_t start = here(P);
        size_t digits = 0;
        int r;

        while (t < P->end && is_token_char((unsigned char)*t))
                t++;
        if (t == s)
                return expected(P, "a value");
        while (s + digits < t && is_digit(s[digits]))
                digits++;
        v = tree_new(TREE_BOOL, start.line, start.col);
        if (!v)
                return -ENOMEM;
        if ((t - s == 4 && memcmp(s, "true", 4) == 0) ||
            (t - s == 5 && memcmp(s, "false", 5) == 0)) {
                v->boolean = *s == 't';
                P->p = t;
        } else if (digits > 0 && s + digits < t && (s[digits] == '-' || s[digits] == ':')) {
                r = parse_datetime(P, digits, v);
                if (r < 0)
                        return r;
        } else if (is_digit(*s) || *s == '+' || *s == '-' || *s == '.' || *s == 'i' || *s == 'n') {
                r = parse_number(P, s, t, v);
                if (r < 0)
                        return r;
                P->p = t;
        } else {
                return fail(P, start, "invalid value '%s'",
                            quote_token(s, t, quoted, sizeof(quoted)));
        }
        *ret = TAKE_PTR(v);
        return 0;
}

/* ---- arrays, inline tables, values ---- */

static int parse_keyval(parser_t *P, tree_value_t *table, unsigned depth);
static int parse_value(parser_t *P, unsigned depth, tree_value_t **ret);

static int too_deep(parser_t *P, pos_t at)
{
        return fail(P, at, "too deeply nested (more than %d levels)", TOML_DEPTH_MAX);
}

static int parse_array(parser_t *P, unsigned depth, tree_value_t **ret)
{
        _cleanup_(tree_freep) tree_value_t *a = NULL;
        pos_t start = here(P);
        int r;

        if (depth > TOML_DEPTH_MAX)
                return too_deep(P, start);
        a = tree_new(TREE_ARRAY, start.line, start.col);
        if (!a)
                return -ENOMEM;
        a->flags = TREE_FLAG_INLINE;
        P->p++;
        for (;;) {
                _cleanup_(tree_freep) tree_value_t *v = NULL;

                r = skip_blank(P);
                if (r < 0)
                        return r;
                if (P->p >= P->end)
                        return fail(P, start, "unterminated array");
                if (*P->p == ']')
                        break;
                r = parse_value(P, depth + 1, &v);
                if (r < 0)
                        return r;
                r = tree_array_push(a, v);
                if (r < 0)
                        return r;
                TAKE_PTR(v);
                r = skip_blank(P);
                if (r < 0)
                        return r;
                if (at_char(P, ','))
                        P->p++;
                else if (at_char(P, ']'))
                        break;
                else if (P->p >= P->end)
                        return fail(P, start, "unterminated array");
                else
                        return expected(P, "',' or ']' after array element");
        }
        P->p++;
        *ret = TAKE_PTR(a);
        return 0;
}

static int parse_inline_table(parser_t *P, unsigned depth, tree_value_t **ret)
{
        _cleanup_(tree_freep) tree_value_t *t = NULL;
        pos_t start = here(P);
        int r;

        if (depth > TOML_DEPTH_MAX)
                return too_deep(P, start);
        t = tree_new(TREE_TABLE, start.line, start.col);
        if (!t)
                return -ENOMEM;
        P->p++;
        skip_ws(P);
        if (at_char(P, '}')) {
                P->p++;
                t->flags = TREE_FLAG_INLINE;
                *ret = TAKE_PTR(t);
                return 0;
        }
        for (;;) {
                if (P->p >= P->end)
                        return fail(P, start, "unterminated inline table");
                if (at_newline(P))
                        return fail(P, here(P), "newlines are not allowed in an inline table");
                r = parse_keyval(P, t, depth);
                if (r < 0)
                        return r;
                skip_ws(P);
                if (at_char(P, ',')) {
                        pos_t comma = here(P);
                        P->p++;
                        skip_ws(P);
                        if (at_char(P, '}'))
                                return fail(P, comma,
                                            "a trailing comma is not allowed in an inline table");
                } else if (at_char(P, '}')) {
                        break;
                } else if (P->p >= P->end) {
                        return fail(P, start, "unterminated inline table");
                } else if (at_newline(P)) {
                        return fail(P, here(P), "newlines are not allowed in an inline table");
                } else {
                        return expected(P, "',' or '}' in inline table");
                }
        }
        P->p++;
        /* Only the literal itself is marked: the tables its dotted keys made are reached only
         * through it, and it refuses every addition. */
        t->flags = TREE_FLAG_INLINE;
        *ret = TAKE_PTR(t);
        return 0;
}

/* Reads a value whose depth, should it be an array or a table, is depth. */
static int parse_value(parser_t *P, unsigned depth, tree_value_t **ret)
{
        if (P->p >= P->end)
                return expected(P, "a value");
        switch (*P->p) {
        case '"':
        case '\'':
                return parse_string_value(P, ret);
        case '[':
                return parse_array(P, depth, ret);
        case '{':
                return parse_inline_table(P, depth, ret);
        default:
                return parse_bare_value(P, ret);
        }
}

/* Reads "key = value" into table, which is at depth. */
static int parse_keyval(parser_t *P, tree_value_t *table, unsigned depth)
{
        _cleanup_(key_done) toml_key_t k = {};
        _cleanup_(tree_freep) tree_value_t *v = NULL;
        char name[QUOTE_MAX * 4 + 8];
        const tree_entry_t *ent;
        const key_part_t *last;
        tree_value_t *parent = NULL;
        unsigned parent_depth = 0;
        int r;

        r = parse_key(P, &k);
        if (r < 0)
                return r;
        if (!at_char(P, '='))
                return expected(P, "'=' after key");
        P->p++;
        skip_ws(P);
        r = walk_dotted(P, table, depth, &k, &parent, &parent_depth);
        if (r < 0)
                return r;
        last = &k.parts[k.count - 1];
        ent = find_part(parent, &k, k.count - 1);
        if (ent)
                return fail(P, last->pos, "duplicate key '%s' (first defined at line %u)",
                            key_name(&k, k.count, name, sizeof(name)), ent->line);
        r = parse_value(P, parent_depth + 1, &v);
        if (r < 0)
                return r;
        r = tree_table_add(parent, part_data(&k, k.count - 1), last->size, last->pos.line,
                           last->pos.col, v);
        if (r < 0)
                return r;
        TAKE_PTR(v);
        return 0;
}

/* ---- headers and the document ---- */

/* Reads a [table] or [[array of tables]] header and makes its table the current one. */
static int parse_header(parser_t *P)
{
        _cleanup_(key_done) toml_key_t k = {};
        char name[QUOTE_MAX * 4 + 8];
        pos_t start = here(P);
        bool aot = P->p + 1 < P->end && P->p[1] == '[';
        tree_value_t *t = P->root, *v;
        const tree_entry_t *ent;
        unsigned depth = 0;
        size_t last;
        int r;

        P->p += aot ? 2 : 1;
        skip_ws(P);
        r = parse_key(P, &k);
        if (r < 0)
                return r;
        if (aot) {
                if (P->end - P->p < 2 || P->p[0] != ']' || P->p[1] != ']') {
                        if (at_char(P, ']'))
                                P->p++;
                        return expected(P, "']]' after array of tables name");
                }
                P->p += 2;
        } else {
                if (!at_char(P, ']'))
                        return expected(P, "']' after table name");
                P->p++;
        }

        last = k.count - 1;
        for (size_t i = 0; i < last; i++) {
                ent = find_part(t, &k, i);
                depth++;
                if (!ent) {
                        r = add_table(P, t, &k, i, depth, TREE_FLAG_IMPLICIT, k.parts[i].pos, &t);
                        if (r < 0)
                                return r;
                        continue;
                }
                v = ent->value;
                if (v->type == TREE_ARRAY && (v->flags & TREE_FLAG_AOT)) {
                        /* [a.b] after [[a]] goes into the last table of a. */
                        depth++;
                        t = v->array.items[v->array.count - 1];
                        continue;
                }
                if (v->type != TREE_TABLE)
                        return not_a(P, &k, i, ent, "a table");
                if (v->flags & TREE_FLAG_INLINE)
                        return fail(P, k.parts[i].pos,
                                    "inline table '%s' (defined at line %u) cannot be extended",
                                    key_name(&k, i + 1, name, sizeof(name)), ent->line);
                t = v;
        }

        depth++;
        ent = find_part(t, &k, last);
        if (!aot) {
                if (!ent) {
                        r = add_table(P, t, &k, last, depth, TREE_FLAG_DEFINED, start, &t);
                        if (r < 0)
                                return r;
                } else {
                        v = ent->value;
                        if (v->type != TREE_TABLE)
                                return not_a(P, &k, last, ent, "a table");
                        if (v->flags != TREE_FLAG_IMPLICIT)
                                return fail(P, k.parts[last].pos,
                                            "table '%s' is already defined (first defined at "
                                            "line %u)",
                                            key_name(&k, k.count, name, sizeof(name)), ent->line);
                        v->flags = TREE_FLAG_DEFINED;
                        v->line = start.line;
                        v->col = start.col;
                        t = v;
                }
                P->table = t;
                P->table_depth = depth;
                return 0;
        }

        _cleanup_(tree_freep) tree_value_t *elem = NULL;
        if (depth + 1 > TOML_DEPTH_MAX)
                return too_deep(P, k.parts[last].pos);
        if (!ent) {
                _cleanup_(tree_freep) tree_value_t *a = tree_new(TREE_ARRAY, start.line, start.col);
                if (!a)
                        return -ENOMEM;
                a->flags = TREE_FLAG_AOT;
                r = tree_table_add(t, part_data(&k, last), k.parts[last].size,
                                   k.parts[last].pos.line, k.parts[last].pos.col, a);
                if (r < 0)
                        return r;
                v = TAKE_PTR(a);
        } else {
                v = ent->value;
                if (v->type != TREE_ARRAY || !(v->flags & TREE_FLAG_AOT))
                        return not_a(P, &k, last, ent, "an array of tables");
        }
        elem = tree_new(TREE_TABLE, start.line, start.col);
        if (!elem)
                return -ENOMEM;
        elem->flags = TREE_FLAG_DEFINED;
        r = tree_array_push(v, elem);
        if (r < 0)
                return r;
        P->table = TAKE_PTR(elem);
        P->table_depth = depth + 1;
        return 0;
}

static int parse_document(parser_t *P)
{
        int r;

        for (;;) {
                const char *after = "end of line";

                skip_ws(P);
                if (P->p >= P->end)
                        return 0;
                if (*P->p == '[') {
                        r = parse_header(P);
                        after = "end of line after table header";
                } else if (*P->p != '#' && !at_newline(P)) {
                        r = parse_keyval(P, P->table, P->table_depth);
                        after = "end of line after value";
                } else {
                        r = 0;
                }
                if (r < 0)
                        return r;
                skip_ws(P);
                if (at_char(P, '#')) {
                        r = skip_comment(P);
                        if (r < 0)
                                return r;
                }
                if (P->p >= P->end)
                        return 0;
                if (!at_newline(P))
                        return expected(P, after);
                eat_newline(P);
        }
}

int toml_parse(const char *text, size_t size, manifest_error_t *e, tree_value_t **ret_root)
{
        _cleanup_(tree_freep) tree_value_t *root = NULL;
        parser_t P;
        int r;

        if (size > TOML_SIZE_MAX) {
                (void)diag_error(e, 0, 0, "input is larger than %u MiB", TOML_SIZE_MAX >> 20);
                return -E2BIG;
        }
        if (!text) {
                if (size > 0)
                        return diag_error(e, 0, 0, "no text to read (size %zu)", size);
                text = "";
        }
        root = tree_new(TREE_TABLE, 1, 1);
        if (!root)
                return -ENOMEM;
        P = (parser_t){
                .p = text,
                .end = text + size,
                .line_start = text,
                .line = 1,
                .e = e,
                .root = root,
                .table = root,
        };
        /* A byte order mark is allowed at the very start; columns count from after it. */
        if (size >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
                P.p = P.line_start = text + 3;
        r = parse_document(&P);
        if (r < 0)
                return r;
        *ret_root = TAKE_PTR(root);
        return 0;
}
