/* A toml-test decoder for lamina's TOML reader: reads a document on stdin and writes the tagged
 * JSON of toml-test on stdout (every scalar as {"type": T, "value": "..."}, tables as objects,
 * arrays as arrays), exiting 0; a document the reader refuses prints "<stdin>:LINE:COL: message"
 * on stderr and exits 1. Anything else that goes wrong (reading stdin, memory) exits 2, so that
 * a test can tell a refusal from a failure. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest/diag.h"
#include "manifest/toml.h"
#include "shared/macro.h"

enum {
        EXIT_PARSED = 0,
        EXIT_REFUSED = 1,
        EXIT_FAILED = 2,
};

static void json_string(FILE *out, const char *s, size_t size)
{
        fputc('"', out);
        for (size_t i = 0; i < size; i++) {
                unsigned char c = (unsigned char)s[i];
                switch (c) {
                case '"':
                        fputs("\\\"", out);
                        break;
                case '\\':
                        fputs("\\\\", out);
                        break;
                case '\n':
                        fputs("\\n", out);
                        break;
                case '\t':
                        fputs("\\t", out);
                        break;
                case '\r':
                        fputs("\\r", out);
                        break;
                case '\b':
                        fputs("\\b", out);
                        break;
                case '\f':
                        fputs("\\f", out);
                        break;
                default:
                        /* The reader lets only well-formed UTF-8 through, so bytes from 0x80 on
                         * are copied as they are. */
                        if (c < 0x20 || c == 0x7f)
                                fprintf(out, "\\u%04x", c);
                        else
                                fputc(c, out);
                }
        }
        fputc('"', out);
}

/* The shortest "%.*g" form that reads back as the same double. */
static void format_float(double d, char *buf, size_t size)
{
        if (isnan(d)) {
                snprintf(buf, size, "nan");
                return;
        }
        if (isinf(d)) {
                snprintf(buf, size, "%s", d < 0 ? "-inf" : "inf");
                return;
        }
        for (int precision = 1; precision <= 17; precision++) {
                snprintf(buf, size, "%.*g", precision, d);
                if (strtod(buf, NULL) == d)
                        return;
        }
}

static void format_datetime(const tree_value_t *v, char *buf, size_t size)
{
        const tree_datetime_t *dt = &v->datetime;
        size_t n = 0;

        if (v->type != TREE_TIME_LOCAL)
                n += (size_t)snprintf(buf + n, size - n, "%04d-%02d-%02d", dt->year, dt->month,
                                      dt->day);
        if (v->type == TREE_DATE_LOCAL)
                return;
        if (v->type != TREE_TIME_LOCAL)
                buf[n++] = 'T';
        n += (size_t)snprintf(buf + n, size - n, "%02d:%02d:%02d", dt->hour, dt->minute,
                              dt->second);
        if (dt->frac_digits > 0) {
                uint32_t frac = dt->nanosecond;
                for (int i = dt->frac_digits; i < 9; i++)
                        frac /= 10;
                n += (size_t)snprintf(buf + n, size - n, ".%0*" PRIu32, dt->frac_digits, frac);
        }
        if (v->type != TREE_DATETIME)
                return;
        if (dt->offset_z)
                snprintf(buf + n, size - n, "Z");
        else
                snprintf(buf + n, size - n, "%c%02d:%02d", dt->offset_minutes < 0 ? '-' : '+',
                         abs(dt->offset_minutes) / 60, abs(dt->offset_minutes) % 60);
}

static void tagged(FILE *out, const char *type, const char *value)
{
        fprintf(out, "{\"type\": \"%s\", \"value\": ", type);
        json_string(out, value, strlen(value));
        fputc('}', out);
}

static void json_value(FILE *out, const tree_value_t *v)
{
        char buf[128];

        switch (v->type) {
        case TREE_TABLE:
                fputc('{', out);
                for (size_t i = 0; i < v->table.count; i++) {
                        const tree_entry_t *e = &v->table.entries[i];
                        if (i > 0)
                                fputs(", ", out);
                        json_string(out, e->key, e->key_size);
                        fputs(": ", out);
                        json_value(out, e->value);
                }
                fputc('}', out);
                break;
        case TREE_ARRAY:
                fputc('[', out);
                for (size_t i = 0; i < v->array.count; i++) {
                        if (i > 0)
                                fputs(", ", out);
                        json_value(out, v->array.items[i]);
                }
                fputc(']', out);
                break;
        case TREE_STRING:
                fputs("{\"type\": \"string\", \"value\": ", out);
                json_string(out, v->string.data, v->string.size);
                fputc('}', out);
                break;
        case TREE_INTEGER:
                snprintf(buf, sizeof(buf), "%" PRId64, v->integer);
                tagged(out, "integer", buf);
                break;
        case TREE_FLOAT:
                format_float(v->floating, buf, sizeof(buf));
                tagged(out, "float", buf);
                break;
        case TREE_BOOL:
                tagged(out, "bool", v->boolean ? "true" : "false");
                break;
        case TREE_DATETIME:
        case TREE_DATETIME_LOCAL:
        case TREE_DATE_LOCAL:
        case TREE_TIME_LOCAL:
                format_datetime(v, buf, sizeof(buf));
                tagged(out,
                       v->type == TREE_DATETIME         ? "datetime"
                       : v->type == TREE_DATETIME_LOCAL ? "datetime-local"
                       : v->type == TREE_DATE_LOCAL     ? "date-local"
                                                        : "time-local",
                       buf);
                break;
        }
}

/* Reads all of stdin, up to one byte more than the reader accepts (so that it can say so). */
static int read_stdin(char **ret_data, size_t *ret_size)
{
        _cleanup_free_ char *data = NULL;
        size_t size = 0, capacity = 0;

        for (;;) {
                if (size == capacity) {
                        char *grown;
                        capacity = capacity ? capacity * 2 : 65536;
                        grown = realloc(data, capacity);
                        if (!grown)
                                return -ENOMEM;
                        data = grown;
                }
                size_t n = fread(data + size, 1, MIN(capacity, (size_t)TOML_SIZE_MAX + 1) - size,
                                 stdin);
                size += n;
                if (n == 0 || size > TOML_SIZE_MAX)
                        break;
        }
        if (ferror(stdin))
                return -EIO;
        *ret_data = TAKE_PTR(data);
        *ret_size = size;
        return 0;
}

int main(void)
{
        _cleanup_free_ char *text = NULL;
        manifest_error_t e = {.file = "<stdin>"};
        tree_value_t *root = NULL;
        char message[MANIFEST_MESSAGE_MAX + 256];
        size_t size;
        int r;

        r = read_stdin(&text, &size);
        if (r < 0) {
                fprintf(stderr, "toml-decode: cannot read stdin: %s\n", strerror(-r));
                return EXIT_FAILED;
        }
        r = toml_parse(text, size, &e, &root);
        if (r == -EINVAL || r == -E2BIG) {
                diag_format(&e, message, sizeof(message));
                fprintf(stderr, "%s\n", message);
                return EXIT_REFUSED;
        }
        if (r < 0) {
                fprintf(stderr, "toml-decode: %s\n", strerror(-r));
                return EXIT_FAILED;
        }
        json_value(stdout, root);
        fputc('\n', stdout);
        tree_free(root);
        if (fflush(stdout) != 0 || ferror(stdout)) {
                fprintf(stderr, "toml-decode: cannot write stdout\n");
                return EXIT_FAILED;
        }
        return EXIT_PARSED;
}
