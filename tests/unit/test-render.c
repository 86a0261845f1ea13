/* Unit tests for the template renderer (render.h): a table of templates and what they render
 * to, a table of every syntax error with its exact message, line and column, and the errno
 * paths (lookup errors, size limits). Every failing call also checks that the outputs are
 * untouched. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "manifest/render.h"

#define OUTPUT_MAX (64u * 1024 * 1024) /* what render.h documents */

typedef struct lookup_state {
        unsigned calls;
        const char *big; /* the value of BIG, when a test sets one */
} lookup_state_t;

static const struct {
        const char *name;
        const char *value;
} vars[] = {
        {"A", "alpha"},
        {"B", "beta"},
        {"_u", "underscore"},
        {"a_1.b_2", "dotted"},
        {"entrypoint", "/usr/bin/python3"},
        {"python.stdlib", "/usr/lib/python3.11"},
        {"env.HOME", "/home/user"},
        {"arch_libdir", "/lib/x86_64-linux-gnu"},
        {"PYTHONEXEC", "/usr/bin/python3.11"},
        {"GRAPHENEDIR", "/opt/graphene"},
        {"EMPTY", ""},
        {"JINJA", "{{ A }}"},
        {"MAKE", "$(A)"},
        {"JINJA_BAD", "{% if %}{{"},
};

static int lookup(const char *name, size_t name_size, void *userdata, const char **ret_value)
{
        lookup_state_t *state = userdata;

        state->calls++;
        if (name_size == 5 && memcmp(name, "nomem", 5) == 0)
                return -ENOMEM;
        if (name_size == 5 && memcmp(name, "eperm", 5) == 0)
                return -EPERM;
        if (name_size == 6 && memcmp(name, "einval", 6) == 0)
                return -EINVAL;
        if (state->big && name_size == 3 && memcmp(name, "BIG", 3) == 0) {
                *ret_value = state->big;
                return 0;
        }
        /* Any name of only 'n's is defined, so that the length limit can be tested exactly. */
        if (name_size > 0 && name[0] == 'n') {
                size_t n = 0;

                while (n < name_size && name[n] == 'n')
                        n++;
                if (n == name_size) {
                        *ret_value = "N";
                        return 0;
                }
        }
        for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
                if (strlen(vars[i].name) == name_size &&
                    memcmp(vars[i].name, name, name_size) == 0) {
                        *ret_value = vars[i].value;
                        return 0;
                }
        return -ENOENT;
}

static char sentinel_text[] = "untouched";
#define SENTINEL_SIZE ((size_t)4242)

/* Renders size bytes of text; expects failure with want_r and untouched outputs. */
static void expect_errno(const char *text, size_t size, lookup_state_t *state, int want_r,
                         manifest_error_t *e)
{
        char *out = sentinel_text;
        size_t out_size = SENTINEL_SIZE;
        lookup_state_t local = {0};

        assert_int_equal(
                render_template(text, size, lookup, state ? state : &local, e, &out, &out_size),
                want_r);
        assert_ptr_equal(out, sentinel_text);
        assert_int_equal(out_size, SENTINEL_SIZE);
}

static void expect_render(const char *text, size_t size, const char *want, size_t want_size)
{
        manifest_error_t e = {.line = 99, .col = 99, .message = "untouched"};
        lookup_state_t state = {0};
        char *out = NULL;
        size_t out_size = 0;
        int r;

        r = render_template(text, size, lookup, &state, &e, &out, &out_size);
        if (r < 0)
                fail_msg("rendering '%s' failed: %d %u:%u: %s", text, r, e.line, e.col, e.message);
        assert_non_null(out);
        if (out_size != want_size || memcmp(out, want, want_size) != 0)
                fail_msg("'%s' rendered to '%s' (%zu bytes), want '%s'", text, out, out_size, want);
        assert_int_equal(out[out_size], '\0');
        /* e is only written on failure */
        assert_string_equal(e.message, "untouched");
        assert_int_equal(e.line, 99);
        free(out);
}

static const struct {
        const char *text;
        const char *want;
} render_cases[] = {
        {"", ""},
        {"plain text\n", "plain text\n"},
        {"{{ entrypoint }}", "/usr/bin/python3"},
        {"{{entrypoint}}", "/usr/bin/python3"},
        {"{{\tentrypoint \t}}", "/usr/bin/python3"},
        {"{{\n  entrypoint\r\n}}", "/usr/bin/python3"},
        {"$(PYTHONEXEC)", "/usr/bin/python3.11"},
        /* at the start, in the middle, at the end, several per line, adjacent */
        {"{{ A }} x", "alpha x"},
        {"x {{ A }}", "x alpha"},
        {"x{{A}}y{{ B }}z", "xalphaybetaz"},
        {"{{ A }}{{ B }}", "alphabeta"},
        {"$(A)$(B)", "alphabeta"},
        {"{{ A }}$(B){{ A }}", "alphabetaalpha"},
        {"x$(A)y$(B)z", "xalphaybetaz"},
        /* names */
        {"{{ _u }} {{ a_1.b_2 }} {{ env.HOME }} {{ python.stdlib }}",
         "underscore dotted /home/user /usr/lib/python3.11"},
        {"$(_u)", "underscore"},
        {"[{{ EMPTY }}]", "[]"},
        /* literals */
        {"{{ \"{{\" }}", "{{"},
        {"{{ '}}' }}", "}}"},
        {"{{'$(A)'}}", "$(A)"},
        {"{{ \"\" }}", ""},
        {"{{ \"{% x %}\" }}", "{% x %}"},
        {"{{ \"it's\" }}{{ 'say \"hi\"' }}", "it'ssay \"hi\""},
        {"{{ \"two\nlines\" }}", "two\nlines"},
        /* values are not rendered again */
        {"{{ JINJA }}", "{{ A }}"},
        {"$(MAKE)", "$(A)"},
        {"$(JINJA_BAD)", "{% if %}{{"},
        /* text that only looks like the syntax is copied */
        {"}}", "}}"},
        {"a } b }} c }", "a } b }} c }"},
        {"{ {A} }", "{ {A} }"},
        {"{", "{"},
        {"x {", "x {"},
        {"$", "$"},
        {"x $", "x $"},
        {"$ (A) ${A} $A $$", "$ (A) ${A} $A $$"},
        {"$$(A)", "$alpha"},
        {"${{ A }}", "$alpha"},
        {"%} #}", "%} #}"},
        /* CRLF line ends are text like any other */
        {"a = \"{{ A }}\"\r\nb = \"$(B)\"\r\n", "a = \"alpha\"\r\nb = \"beta\"\r\n"},
        /* invalid UTF-8 is passed through */
        {"\377\376{{ A }}\303", "\377\376alpha\303"},
        {"{{ '\xc3\x28' }}", "\xc3\x28"},
        /* Gramine-style */
        {"libos.entrypoint = \"{{ entrypoint }}\"\n", "libos.entrypoint = \"/usr/bin/python3\"\n"},
        {"sgx.trusted_files = [\n  \"file:{{ python.stdlib }}/\",\n]\n",
         "sgx.trusted_files = [\n  \"file:/usr/lib/python3.11/\",\n]\n"},
        {"loader.env.LD_LIBRARY_PATH = \"/lib:{{ arch_libdir }}:/usr/{{ arch_libdir }}\"",
         "loader.env.LD_LIBRARY_PATH = \"/lib:/lib/x86_64-linux-gnu:/usr//lib/x86_64-linux-gnu\""},
        /* Graphene-style */
        {"loader.exec = file:$(PYTHONEXEC)\n", "loader.exec = file:/usr/bin/python3.11\n"},
        {"sgx.trusted_files.ld = file:$(GRAPHENEDIR)/Runtime/ld-linux-x86-64.so.2\n",
         "sgx.trusted_files.ld = file:/opt/graphene/Runtime/ld-linux-x86-64.so.2\n"},
};

static void test_render_table(void **unused)
{
        (void)unused;
        for (size_t i = 0; i < sizeof(render_cases) / sizeof(render_cases[0]); i++)
                expect_render(render_cases[i].text, strlen(render_cases[i].text),
                              render_cases[i].want, strlen(render_cases[i].want));
}

static const struct {
        const char *text;
        const char *message;
        unsigned line, col;
} error_cases[] = {
        /* unterminated */
        {"{{", "unterminated '{{'", 1, 1},
        {"{{ A", "unterminated '{{'", 1, 1},
        {"{{ A }", "unterminated '{{'", 1, 1},
        {"{{ A } }", "unterminated '{{'", 1, 1},
        {"ok\n  x {{ A\n\n", "unterminated '{{'", 2, 5},
        {"{{ \"abc }}", "unterminated string literal in '{{'", 1, 1},
        {"{{ 'abc\" }}", "unterminated string literal in '{{'", 1, 1},
        {"{{ \"x\" ", "unterminated '{{'", 1, 1},
        /* empty */
        {"{{}}", "empty expression in '{{ }}'", 1, 1},
        {"a {{ }}", "empty expression in '{{ }}'", 1, 3},
        {"{{ \r\n\t }}", "empty expression in '{{ }}'", 1, 1},
        /* invalid names */
        {"{{ 1abc }}", "invalid name '1abc'", 1, 1},
        {"{{ a..b }}", "invalid name 'a..b'", 1, 1},
        {"{{ a. }}", "invalid name 'a.'", 1, 1},
        {"{{ .a }}", "invalid name '.a'", 1, 1},
        {"{{ a.1 }}", "invalid name 'a.1'", 1, 1},
        {"{{ . }}", "invalid name '.'", 1, 1},
        /* anything but a name or a literal */
        {"{{ x | y }}",
         "unsupported template expression 'x | y': only names and string literals are rendered", 1,
         1},
        {"\"{{ gramine.runtimedir() }}/\"",
         "unsupported template expression 'gramine.runtimedir()': only names and string literals are rendered",
         1, 2},
        {"{{ a b }}",
         "unsupported template expression 'a b': only names and string literals are rendered", 1,
         1},
        {"{{ a-b }}",
         "unsupported template expression 'a-b': only names and string literals are rendered", 1,
         1},
        {"{{- A -}}",
         "unsupported template expression '- A -': only names and string literals are rendered", 1,
         1},
        {"{{ \"a\" ~ A }}",
         "unsupported template expression '\"a\" ~ A': only names and string literals are rendered",
         1, 1},
        {"{{ 'a' 'b' }}",
         "unsupported template expression ''a' 'b'': only names and string literals are rendered",
         1, 1},
        {"{{ \"}}\" x }}",
         "unsupported template expression '\"}}\" x': only names and string literals are rendered",
         1, 1},
        {"{{ a {{ b }}",
         "unsupported template expression 'a {{ b': only names and string literals are rendered", 1,
         1},
        {"{{{ A }}}",
         "unsupported template expression '{ A': only names and string literals are rendered", 1,
         1},
        {"{{ A\n+ B }}",
         "unsupported template expression 'A\\x0a+ B': only names and string literals are rendered",
         1, 1},
        {"{{ \xc3\xa9 }}",
         "unsupported template expression '\\xc3\\xa9': only names and string literals are rendered",
         1, 1},
        {"{{ \"a\\nb\" }}", "escape sequences in string literals are not supported", 1, 1},
        {"{{ '\\'' }}", "escape sequences in string literals are not supported", 1, 1},
        /* other Jinja */
        {"{% if x %}", "Jinja statements ('{%') are not supported", 1, 1},
        {"a\n {%- raw -%}", "Jinja statements ('{%') are not supported", 2, 2},
        {"{# comment #}", "Jinja comments ('{#') are not supported", 1, 1},
        {"x = 1 {#", "Jinja comments ('{#') are not supported", 1, 7},
        /* $( that is not a variable */
        {"$(pwd -P)", "expected ')' after '$(pwd'", 1, 1},
        {"$( X )", "expected a name after '$('", 1, 1},
        {"$()", "expected a name after '$('", 1, 1},
        {"$(", "expected a name after '$('", 1, 1},
        {"$(1A)", "expected a name after '$('", 1, 1},
        {"x $(A", "expected ')' after '$(A'", 1, 3},
        {"$(a.b)", "expected ')' after '$(a'", 1, 1},
        {"$(A }}", "expected ')' after '$(A'", 1, 1},
        /* undefined names, at the '{{' or '$(' */
        {"{{ nope }}", "undefined name 'nope'", 1, 1},
        {"x\n\t$(NOPE)", "undefined name 'NOPE'", 2, 2},
        {"{{ env.NOPE }}", "undefined name 'env.NOPE'", 1, 1},
        {"{{ A }}\n$(B)\n{{ A }} {{ nope }}", "undefined name 'nope'", 3, 9},
        /* lines count '\n'; columns count bytes */
        {"a\r\nb {{ nope }}", "undefined name 'nope'", 2, 3},
        {"\xc3\xa9 {{ nope }}", "undefined name 'nope'", 1, 4},
        {"\n\n\n\n{{", "unterminated '{{'", 5, 1},
        /* the first error wins */
        {"{{ nope }} {%", "undefined name 'nope'", 1, 1},
        {"{% {{ nope }}", "Jinja statements ('{%') are not supported", 1, 1},
};

static void test_error_table(void **unused)
{
        (void)unused;
        for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
                manifest_error_t e = {0};

                expect_errno(error_cases[i].text, strlen(error_cases[i].text), NULL, -EINVAL, &e);
                if (strcmp(e.message, error_cases[i].message) != 0 ||
                    e.line != error_cases[i].line || e.col != error_cases[i].col)
                        fail_msg("'%s': got %u:%u '%s', want %u:%u '%s'", error_cases[i].text,
                                 e.line, e.col, e.message, error_cases[i].line, error_cases[i].col,
                                 error_cases[i].message);
        }
}

static void test_error_without_e(void **unused)
{
        (void)unused;
        expect_errno("{{ nope }}", 10, NULL, -EINVAL, NULL);
        expect_errno("$(", 2, NULL, -EINVAL, NULL);
}

static void test_nul_byte(void **unused)
{
        static const struct {
                const char *text;
                size_t size;
                unsigned line, col;
        } cases[] = {
                {"\0", 1, 1, 1},
                {"ab\0cd", 5, 1, 3},
                {"a\n{{ A }}\0", 10, 2, 8},
                /* found before the syntax error that comes earlier */
                {"{{ nope }}\n\0", 12, 2, 1},
                {"{{ '\0' }}", 9, 1, 5},
        };

        (void)unused;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                manifest_error_t e = {0};

                expect_errno(cases[i].text, cases[i].size, NULL, -EINVAL, &e);
                assert_string_equal(e.message, "NUL byte in template");
                assert_int_equal(e.line, cases[i].line);
                assert_int_equal(e.col, cases[i].col);
        }
}

static void test_name_length(void **unused)
{
        char text[300 + 16];
        char name[300];
        manifest_error_t e = {0};

        (void)unused;
        /* 256 bytes is the longest name, in both syntaxes */
        memset(name, 'n', 256);
        snprintf(text, sizeof(text), "{{ %.*s }}", 256, name);
        expect_render(text, strlen(text), "N", 1);
        snprintf(text, sizeof(text), "$(%.*s)", 256, name);
        expect_render(text, strlen(text), "N", 1);

        memset(name, 'n', 257);
        snprintf(text, sizeof(text), "x {{ %.*s }}", 257, name);
        expect_errno(text, strlen(text), NULL, -EINVAL, &e);
        assert_string_equal(e.message,
                            "name 'nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn...' is longer than 256 bytes");
        assert_int_equal(e.line, 1);
        assert_int_equal(e.col, 3);

        snprintf(text, sizeof(text), "$(%.*s)", 257, name);
        expect_errno(text, strlen(text), NULL, -EINVAL, &e);
        assert_string_equal(e.message,
                            "name 'nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn...' is longer than 256 bytes");
        assert_int_equal(e.col, 1);
}

/* A long expression is cut in the message, which still fits. */
static void test_long_expression(void **unused)
{
        char text[1024];
        manifest_error_t e = {0};

        (void)unused;
        memset(text, '|', sizeof(text));
        memcpy(text, "{{ ", 3);
        memcpy(text + sizeof(text) - 3, " }}", 3);
        expect_errno(text, sizeof(text), NULL, -EINVAL, &e);
        assert_string_equal(
                e.message, "unsupported template expression "
                           "'||||||||||||||||||||||||||||||||||||||||||||||||||||||||||||||||...': "
                           "only names and string literals are rendered");
}

/* The lookup's own errors come back as they are, and e is left alone. */
static void test_lookup_errors(void **unused)
{
        static const struct {
                const char *text;
                int r;
        } cases[] = {
                {"{{ nomem }}", -ENOMEM},
                {"x $(nomem)", -ENOMEM},
                {"{{ A }} {{ eperm }}", -EPERM},
                {"$(einval)", -EINVAL},
        };

        (void)unused;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                manifest_error_t e = {.line = 7, .col = 8, .message = "untouched"};

                expect_errno(cases[i].text, strlen(cases[i].text), NULL, cases[i].r, &e);
                assert_string_equal(e.message, "untouched");
                assert_int_equal(e.line, 7);
                assert_int_equal(e.col, 8);
        }
}

/* Each name is looked up once per use, literals never, and the name handed over is exact. */
static void test_lookup_calls(void **unused)
{
        lookup_state_t state = {0};
        char *out = NULL;
        size_t out_size = 0;

        (void)unused;
        const char *text = "{{ 'A' }} {{ A }}$(A) {{ a_1.b_2 }}";
        assert_int_equal(render_template(text, strlen(text), lookup, &state, NULL, &out, &out_size),
                         0);
        assert_string_equal(out, "A alphaalpha dotted");
        assert_int_equal(state.calls, 3);
        free(out);

        /* a name that ends where the buffer ends, with no NUL after it */
        state.calls = 0;
        char buf[4] = {'$', '(', 'A', ')'};
        assert_int_equal(render_template(buf, sizeof(buf), lookup, &state, NULL, &out, &out_size),
                         0);
        assert_string_equal(out, "alpha");
        assert_int_equal(out_size, 5);
        assert_int_equal(state.calls, 1);
        free(out);
}

static void test_empty_input(void **unused)
{
        lookup_state_t state = {0};
        char *out = NULL;
        size_t out_size = 1;

        (void)unused;
        assert_int_equal(render_template(NULL, 0, lookup, &state, NULL, &out, &out_size), 0);
        assert_non_null(out);
        assert_string_equal(out, "");
        assert_int_equal(out_size, 0);
        free(out);
}

static void test_input_size(void **unused)
{
        char *text = malloc(RENDER_SIZE_MAX + 1);
        lookup_state_t state = {0};
        manifest_error_t e = {.message = "untouched"};
        char *out = NULL;
        size_t out_size = 0;

        (void)unused;
        assert_non_null(text);
        memset(text, 'a', RENDER_SIZE_MAX + 1);
        memcpy(text + RENDER_SIZE_MAX - 7, "$(A)", 4);

        expect_errno(text, RENDER_SIZE_MAX + 1, NULL, -E2BIG, &e);
        assert_string_equal(e.message, "untouched");

        assert_int_equal(
                render_template(text, RENDER_SIZE_MAX, lookup, &state, NULL, &out, &out_size), 0);
        assert_int_equal(out_size, RENDER_SIZE_MAX + 1);
        assert_memory_equal(out + RENDER_SIZE_MAX - 7, "alphaaaa", 8);
        assert_int_equal(out[out_size], '\0');
        free(out);
        free(text);
}

/* The output may grow to 64 MiB and no further, however the values are made. */
static void test_output_size(void **unused)
{
        const size_t value_size = 1024 * 1024;
        char *big = malloc(value_size + 1);
        char text[65 * 6 + 1] = "";
        lookup_state_t state = {0};
        manifest_error_t e = {.message = "untouched"};
        char *out = NULL;
        size_t out_size = 0;

        (void)unused;
        assert_non_null(big);
        memset(big, 'v', value_size);
        big[value_size] = '\0';
        state.big = big;

        for (int i = 0; i < 64; i++)
                strcat(text, "$(BIG)");
        assert_int_equal(render_template(text, strlen(text), lookup, &state, NULL, &out, &out_size),
                         0);
        assert_int_equal(out_size, OUTPUT_MAX);
        assert_int_equal(out[out_size], '\0');
        free(out);

        strcat(text, "$(BIG)");
        expect_errno(text, strlen(text), &state, -E2BIG, &e);
        assert_string_equal(e.message, "untouched");

        /* one byte of text past the limit is one byte too many as well */
        text[64 * 6] = '\0';
        strcat(text, "x");
        expect_errno(text, strlen(text), &state, -E2BIG, &e);
        free(big);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_render_table),    cmocka_unit_test(test_error_table),
                cmocka_unit_test(test_error_without_e), cmocka_unit_test(test_nul_byte),
                cmocka_unit_test(test_name_length),     cmocka_unit_test(test_long_expression),
                cmocka_unit_test(test_lookup_errors),   cmocka_unit_test(test_lookup_calls),
                cmocka_unit_test(test_empty_input),     cmocka_unit_test(test_input_size),
                cmocka_unit_test(test_output_size),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
