/* The template renderer (see render.h): one pass over the input that copies text through and
 * replaces {{ NAME }}, {{ "literal" }} and $(NAME) as it meets them. Values are copied into the
 * output and never looked at again, so a value that contains '{{' or '$(' stays as it is. Lines
 * and columns are only computed when there is an error to report, by counting from the start
 * once, which keeps the whole render linear in the input and the output. */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "manifest/render.h"
#include "shared/macro.h"

/* Longest name, in bytes, that is looked up. */
#define RENDER_NAME_MAX 256
/* Largest output: the most the manifest readers accept (TOML_SIZE_MAX, MANIFEST_SIZE_MAX), so that
 * a template that refers to a long value many times cannot make us allocate without bound. */
#define RENDER_OUTPUT_MAX (64u * 1024 * 1024)
/* How many characters of the input an error message quotes. */
#define QUOTE_MAX 64

typedef struct render {
        const char *text;
        size_t size;
        render_lookup_fn lookup;
        void *userdata;
        manifest_error_t *e;
        char *out; /* always room for the terminating NUL */
        size_t out_size, out_capacity;
} render_t;

static void render_done(render_t *r)
{
        free(r->out);
}

static bool is_name_start(char c)
{
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool is_name_char(char c)
{
        return is_name_start(c) || (c >= '0' && c <= '9');
}

/* Whitespace Jinja allows around an expression, which may span lines. */
static bool is_space(char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t skip_space(const render_t *r, size_t i)
{
        while (i < r->size && is_space(r->text[i]))
                i++;
        return i;
}

static bool is_at(const render_t *r, size_t i, char a, char b)
{
        return i + 1 < r->size && r->text[i] == a && r->text[i + 1] == b;
}

/* Fills r->e for the construct at offset and returns -EINVAL. */
_printf_(3, 4) static int render_error(const render_t *r, size_t offset, const char *fmt, ...)
{
        unsigned line = 1;
        size_t line_start = 0;
        va_list ap;

        /* The input is at most RENDER_SIZE_MAX bytes, so line and column fit an unsigned. */
        for (size_t i = 0; i < offset; i++)
                if (r->text[i] == '\n') {
                        line++;
                        line_start = i + 1;
                }
        va_start(ap, fmt);
        diag_verror(r->e, line, (unsigned)(offset - line_start + 1), fmt, ap);
        va_end(ap);
        return -EINVAL;
}

static int append(render_t *r, const char *s, size_t n)
{
        if (n == 0)
                return 0;
        if (n > RENDER_OUTPUT_MAX - r->out_size)
                return -E2BIG;
        /* Both terms are at most RENDER_OUTPUT_MAX, so nothing here can overflow. */
        if (r->out_size + n + 1 > r->out_capacity) {
                size_t capacity = r->out_capacity;
                char *grown;

                while (capacity < r->out_size + n + 1)
                        capacity *= 2;
                capacity = MIN(capacity, (size_t)RENDER_OUTPUT_MAX + 1);
                grown = realloc(r->out, capacity);
                if (!grown)
                        return -ENOMEM;
                r->out = grown;
                r->out_capacity = capacity;
        }
        memcpy(r->out + r->out_size, s, n);
        r->out_size += n;
        return 0;
}

/* Appends the value of name, for the construct that starts at offset. */
static int substitute(render_t *r, size_t offset, const char *name, size_t name_size)
{
        const char *value = NULL;
        char quoted[RENDER_NAME_MAX + 4];
        int k;

        if (name_size > RENDER_NAME_MAX)
                return render_error(r, offset, "name '%s' is longer than %d bytes",
                                    diag_quote(name, name_size, 32, quoted, sizeof(quoted)),
                                    RENDER_NAME_MAX);
        k = r->lookup(name, name_size, r->userdata, &value);
        if (k == -ENOENT)
                return render_error(
                        r, offset, "undefined name '%s'",
                        diag_quote(name, name_size, RENDER_NAME_MAX, quoted, sizeof(quoted)));
        if (k < 0)
                return k;
        assert(value); /* a lookup that succeeds hands out a value */
        return append(r, value, strlen(value));
}

/* A name inside {{ }}: identifiers joined by single dots, as Jinja reads attribute access. */
static bool is_dotted_name(const char *s, size_t size)
{
        bool segment_start = true;

        for (size_t i = 0; i < size; i++) {
                if (segment_start && !is_name_start(s[i]))
                        return false;
                segment_start = s[i] == '.';
        }
        return !segment_start;
}

static bool all_name_chars(const char *s, size_t size)
{
        for (size_t i = 0; i < size; i++)
                if (!is_name_char(s[i]) && s[i] != '.')
                        return false;
        return true;
}

/* Renders the {{ ... }} whose '{{' is at start; *ret_end is the offset after its '}}'. */
static int render_braces(render_t *r, size_t start, size_t *ret_end)
{
        size_t i = skip_space(r, start + 2), from = i, end, b;
        char quoted[QUOTE_MAX * 4 + 4];
        int k;

        if (i < r->size && (r->text[i] == '"' || r->text[i] == '\'')) {
                size_t close = i + 1, after;

                while (close < r->size && r->text[close] != r->text[i] && r->text[close] != '\\')
                        close++;
                if (close >= r->size)
                        return render_error(r, start, "unterminated string literal in '{{'");
                /* Jinja would read escapes the way Python does; copying them verbatim would
                 * silently render something else. */
                if (r->text[close] == '\\')
                        return render_error(
                                r, start, "escape sequences in string literals are not supported");
                after = skip_space(r, close + 1);
                if (is_at(r, after, '}', '}')) {
                        k = append(r, r->text + i + 1, close - i - 1);
                        if (k < 0)
                                return k;
                        *ret_end = after + 2;
                        return 0;
                }
                /* Something follows the literal: look for the end past it, so that a '}}' inside
                 * the literal does not cut the expression short in the message. */
                from = close + 1;
        }

        for (end = from; end < r->size && !is_at(r, end, '}', '}'); end++)
                ;
        if (end >= r->size)
                return render_error(r, start, "unterminated '{{'");
        for (b = end; b > i && is_space(r->text[b - 1]); b--)
                ;
        if (b == i)
                return render_error(r, start, "empty expression in '{{ }}'");
        if (!all_name_chars(r->text + i, b - i))
                return render_error(
                        r, start,
                        "unsupported template expression '%s': only names and string literals are rendered",
                        diag_quote(r->text + i, b - i, QUOTE_MAX, quoted, sizeof(quoted)));
        if (!is_dotted_name(r->text + i, b - i))
                return render_error(
                        r, start, "invalid name '%s'",
                        diag_quote(r->text + i, b - i, QUOTE_MAX, quoted, sizeof(quoted)));
        k = substitute(r, start, r->text + i, b - i);
        if (k < 0)
                return k;
        *ret_end = end + 2;
        return 0;
}

/* Renders the $(NAME) whose '$(' is at start; *ret_end is the offset after its ')'. */
static int render_dollar(render_t *r, size_t start, size_t *ret_end)
{
        size_t i = start + 2, end = i;
        char quoted[QUOTE_MAX * 4 + 4];
        int k;

        if (i >= r->size || !is_name_start(r->text[i]))
                return render_error(r, start, "expected a name after '$('");
        while (end < r->size && is_name_char(r->text[end]))
                end++;
        if (end >= r->size || r->text[end] != ')')
                return render_error(
                        r, start, "expected ')' after '$(%s'",
                        diag_quote(r->text + i, end - i, QUOTE_MAX, quoted, sizeof(quoted)));
        k = substitute(r, start, r->text + i, end - i);
        if (k < 0)
                return k;
        *ret_end = end + 1;
        return 0;
}

int render_template(const char *text, size_t size, render_lookup_fn lookup, void *userdata,
                    manifest_error_t *e, char **ret_text, size_t *ret_size)
{
        _cleanup_(render_done) render_t r = {
                .text = text,
                .size = size,
                .lookup = lookup,
                .userdata = userdata,
                .e = e,
        };
        const char *nul;
        size_t copied = 0, i = 0;
        int k;

        assert(text || size == 0);
        assert(lookup);
        assert(ret_text);
        assert(ret_size);

        if (size > RENDER_SIZE_MAX)
                return -E2BIG;
        /* The output is a C string: a NUL would cut it short without anyone noticing. */
        nul = size > 0 ? memchr(text, '\0', size) : NULL;
        if (nul)
                return render_error(&r, (size_t)(nul - text), "NUL byte in template");

        /* Most templates grow a little; append() doubles from here when they grow more. */
        r.out_capacity = MIN(size + size / 4 + 64, (size_t)RENDER_OUTPUT_MAX + 1);
        r.out = malloc(r.out_capacity);
        if (!r.out)
                return -ENOMEM;

        while (i < size) {
                size_t end = 0;

                if (!is_at(&r, i, '{', '{') && !is_at(&r, i, '{', '%') && !is_at(&r, i, '{', '#') &&
                    !is_at(&r, i, '$', '(')) {
                        i++;
                        continue;
                }
                k = append(&r, text + copied, i - copied);
                if (k < 0)
                        return k;
                if (text[i] == '$')
                        k = render_dollar(&r, i, &end);
                else if (text[i + 1] == '{')
                        k = render_braces(&r, i, &end);
                else if (text[i + 1] == '%')
                        k = render_error(&r, i, "Jinja statements ('{%%') are not supported");
                else
                        k = render_error(&r, i, "Jinja comments ('{#') are not supported");
                if (k < 0)
                        return k;
                i = copied = end;
        }
        if (copied < size) { /* text may be NULL when size is 0 */
                k = append(&r, text + copied, size - copied);
                if (k < 0)
                        return k;
        }
        r.out[r.out_size] = '\0';

        *ret_text = TAKE_PTR(r.out);
        *ret_size = r.out_size;
        return 0;
}
