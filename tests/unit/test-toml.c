/* Unit tests of the TOML reader (src/manifest/toml.c): every refusal with its errno, message,
 * line and column, and the trees of valid documents: types, values, the places of keys and
 * values, and the flags that the table rules rest on. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "manifest/toml.h"
#include "shared/macro.h"

/* What *ret_root holds before a call that must fail, so that a test can see it untouched. */
static tree_value_t sentinel;

static tree_value_t *parse_ok(const char *text, size_t size)
{
        manifest_error_t e = {};
        tree_value_t *root = NULL;
        int r = toml_parse(text, size, &e, &root);

        if (r < 0)
                fail_msg("unexpected error %d at %u:%u: %s", r, e.line, e.col, e.message);
        assert_non_null(root);
        assert_int_equal(root->type, TREE_TABLE);
        return root;
}

#define PARSE_OK(text) parse_ok((text), sizeof(text) - 1)

static tree_value_t *get(const tree_value_t *t, const char *key, tree_type_t type)
{
        tree_value_t *v = tree_table_get(t, key);

        if (!v)
                fail_msg("no key '%s'", key);
        assert_int_equal(v->type, type);
        return v;
}

static const tree_entry_t *entry(const tree_value_t *t, const char *key)
{
        const tree_entry_t *e = tree_table_find(t, key, strlen(key));

        if (!e)
                fail_msg("no key '%s'", key);
        return e;
}

/* ---- refusals ---- */

typedef struct error_case {
        const char *input;
        size_t size; /* 0: strlen(input) */
        const char *message;
        unsigned line, col;
} error_case_t;

#define E(in, msg, l, c)                                                                           \
        {                                                                                          \
                in, 0, msg, l, c                                                                   \
        }
/* For inputs that hold NUL bytes. */
#define EN(in, msg, l, c)                                                                          \
        {                                                                                          \
                in, sizeof(in) - 1, msg, l, c                                                      \
        }

static const error_case_t error_cases[] = {
        /* end of lines, unexpected characters */
        E("a = 1 2", "expected end of line after value, found '2'", 1, 7),
        E("a = 1 # ok\nb = 2 x", "expected end of line after value, found 'x'", 2, 7),
        E("[a] b = 1", "expected end of line after table header, found 'b'", 1, 5),
        E("a = 1\r",
          "expected end of line after value, found a carriage return without a line feed", 1, 6),
        EN("a = 1\0", "expected end of line after value, found control character 0x00", 1, 6),
        E("= 1", "expected a key, found '='", 1, 1),
        E("\xc3\xa9 = 1", "expected a key, found U+00E9", 1, 1),
        E("\xe3\x80\x80"
          "a = 1",
          "expected a key, found U+3000", 1, 1),
        E("\x0b = 1", "expected a key, found control character 0x0b", 1, 1),
        E("\xef\xbb\xbf\xef\xbb\xbf"
          "a = 1",
          "expected a key, found U+FEFF", 1, 1),
        E("a\n", "expected '=' after key, found end of line", 1, 2),
        E("a", "expected '=' after key, found end of file", 1, 2),
        E("a b = 1", "expected '=' after key, found 'b'", 1, 3),
        E("a.\n= 1", "expected a key, found end of line", 1, 3),
        E("a..b = 1", "expected a key, found '.'", 1, 3),
        E(".a = 1", "expected a key, found '.'", 1, 1),
        E("a = 1\n  b", "expected '=' after key, found end of file", 2, 4),

        /* UTF-8, anywhere */
        E("\xff = 1", "invalid UTF-8 byte 0xff", 1, 1),
        E("a = 1\n\xc3\x28 = 2", "invalid UTF-8 byte 0xc3", 2, 1),
        E("# \xe2\x82", "invalid UTF-8 byte 0xe2", 1, 3),
        E("a = 1 # \xed\xa0\x80", "invalid UTF-8 byte 0xed", 1, 9), /* surrogate */
        E("# \xc0\xaf", "invalid UTF-8 byte 0xc0", 1, 3),           /* overlong */
        E("# \xf4\x90\x80\x80", "invalid UTF-8 byte 0xf4", 1, 3),   /* above U+10FFFF */
        E("a = \"\xc3\"", "invalid UTF-8 byte 0xc3", 1, 6),
        E("a = '\xff'", "invalid UTF-8 byte 0xff", 1, 6),
        E("a = \"\"\"\n\xfe\"\"\"", "invalid UTF-8 byte 0xfe", 2, 1),
        E("a = '''\n\x80'''", "invalid UTF-8 byte 0x80", 2, 1),
        E("a = [1, \xc3]", "invalid UTF-8 byte 0xc3", 1, 9),
        E("a = \"\\\xc3\"", "invalid escape: '\\' followed by invalid UTF-8 byte 0xc3 in string", 1,
          6),

        /* control characters */
        E("# a\x01"
          "b",
          "control character 0x01 is not allowed in a comment", 1, 4),
        E("# a\x7f", "control character 0x7f is not allowed in a comment", 1, 4),
        E("# a\rb", "carriage return without a line feed in a comment", 1, 4),
        E("a = \"x\x01\"", "control character 0x01 is not allowed in a string", 1, 7),
        E("a = 'x\x7f'", "control character 0x7f is not allowed in a string", 1, 7),
        E("a = \"\"\"x\x1f\"\"\"", "control character 0x1f is not allowed in a string", 1, 9),
        EN("a = '''x\0'''", "control character 0x00 is not allowed in a string", 1, 9),
        E("a = \"x\ry\"", "carriage return without a line feed in a string", 1, 7),
        E("a = '''x\ry'''", "carriage return without a line feed in a string", 1, 9),

        /* strings */
        E("a = \"abc", "unterminated string", 1, 5),
        E("a = \"abc\nb = 1", "unterminated string", 1, 5),
        E("a = 'abc", "unterminated string", 1, 5),
        E("a = 'abc\n'", "unterminated string", 1, 5),
        E("a = \"\"\"abc\n", "unterminated multi-line string", 1, 5),
        E("a = '''abc''", "unterminated multi-line string", 1, 5),
        E("a = \"\\", "unterminated string", 1, 5),
        E("a = \"\"\"\\", "unterminated multi-line string", 1, 5),
        E("a = \"a\\qb\"", "invalid escape '\\q' in string", 1, 7),
        E("a = \"\\x41\"", "invalid escape '\\x' in string", 1, 6),
        E("a = \"\\e\"", "invalid escape '\\e' in string", 1, 6),
        E("a = \"\"\"\\/\"\"\"", "invalid escape '\\/' in string", 1, 8),
        E("a = \"\\ \"", "invalid escape '\\ ' in string", 1, 6),
        E("a = \"\\\tx\"", "invalid escape: '\\' followed by a tab in string", 1, 6),
        E("a = \"\\\xc3\xa9\"", "invalid escape: '\\' followed by U+00E9 in string", 1, 6),
        E("a = \"\\\n\"", "a line-ending backslash is only allowed in multi-line strings", 1, 6),
        E("a = \"\"\"\\  x\"\"\"", "expected end of line after line-ending backslash, found 'x'", 1,
          11),
        E("a = \"\\u12\"", "invalid unicode escape '\\u12\"' (\\u needs 4 hex digits)", 1, 6),
        E("a = \"\\u12G4\"", "invalid unicode escape '\\u12G' (\\u needs 4 hex digits)", 1, 6),
        E("a = \"\\u12", "invalid unicode escape '\\u12' (\\u needs 4 hex digits)", 1, 6),
        E("a = \"\\U0000004\"", "invalid unicode escape '\\U0000004\"' (\\U needs 8 hex digits)", 1,
          6),
        E("a = \"\\uD800\"", "invalid unicode escape '\\uD800' (not a Unicode scalar value)", 1, 6),
        E("a = \"\\udfff\"", "invalid unicode escape '\\udfff' (not a Unicode scalar value)", 1, 6),
        E("a = \"\\U00110000\"",
          "invalid unicode escape '\\U00110000' (not a Unicode scalar value)", 1, 6),
        E("a = \"\"\"a\"\"\"\"\"\"", "expected end of line after value, found '\"'", 1, 14),
        E("a = '''a''''''", "expected end of line after value, found '''", 1, 14),
        E("a = \"a\" \"b\"", "expected end of line after value, found '\"'", 1, 9),
        E("\"\"\"k\"\"\" = 1", "a multi-line string cannot be a key", 1, 1),
        E("'''k''' = 1", "a multi-line string cannot be a key", 1, 1),
        E("\"k\nx\" = 1", "unterminated string", 1, 1),
        E("a = hello", "invalid value 'hello'", 1, 5),

        /* duplicate keys and dotted keys */
        E("a = 1\na = 2", "duplicate key 'a' (first defined at line 1)", 2, 1),
        E("a = 1\n\"a\" = 2", "duplicate key 'a' (first defined at line 1)", 2, 1),
        E("a.b.c = 1\na.b.c = 2", "duplicate key 'a.b.c' (first defined at line 1)", 2, 5),
        E("a.b = 1\na = 2", "duplicate key 'a' (first defined at line 1)", 2, 1),
        E("\"a b\" = 1\n'a b' = 2", "duplicate key '\"a b\"' (first defined at line 1)", 2, 1),
        E("\"a\\\"b\" = 1\n'a\"b' = 2", "duplicate key '\"a\\\"b\"' (first defined at line 1)", 2,
          1),
        E("\"\\u0001\" = 1\n\"\\u0001\" = 2", "duplicate key '\"\\x01\"' (first defined at line 1)",
          2, 1),
        E("\"\" = 1\n'' = 2", "duplicate key '\"\"' (first defined at line 1)", 2, 1),
        /* long keys are cut at 60 characters */
        E("a.\"0123456789012345678901234567890123456789012345678901234567890123\" = 1\n"
          "a.'0123456789012345678901234567890123456789012345678901234567890123' = 2",
          "duplicate key 'a.01234567890123456789012345678901234567890123456789012345678...' "
          "(first defined at line 1)",
          2, 3),
        E("k012345678901234567890123456789012345678901234567890123456789 = 1\n"
          "k012345678901234567890123456789012345678901234567890123456789 = 2",
          "duplicate key 'k01234567890123456789012345678901234567890123456789012345678...' "
          "(first defined at line 1)",
          2, 1),
        E("k01234567890123456789012345678901234567890123456789012345678 = 1\n"
          "k01234567890123456789012345678901234567890123456789012345678 = 2",
          "duplicate key 'k01234567890123456789012345678901234567890123456789012345678' "
          "(first defined at line 1)",
          2, 1),
        E("[t]\nx = 1\n\n  x = 2", "duplicate key 'x' (first defined at line 2)", 4, 3),
        E("a = 1\na.b = 2", "'a' is an integer (defined at line 1), not a table", 2, 1),
        E("a = 'x'\na.b = 2", "'a' is a string (defined at line 1), not a table", 2, 1),
        E("a = 1.5\na.b = 2", "'a' is a float (defined at line 1), not a table", 2, 1),
        E("a = true\na.b = 2", "'a' is a boolean (defined at line 1), not a table", 2, 1),
        E("a = 1979-05-27T00:00:00Z\na.b = 2",
          "'a' is an offset date-time (defined at line 1), not a table", 2, 1),
        E("a = 1979-05-27T00:00:00\na.b = 2",
          "'a' is a local date-time (defined at line 1), not a table", 2, 1),
        E("a = 1979-05-27\na.b = 2", "'a' is a local date (defined at line 1), not a table", 2, 1),
        E("a = 00:00:00\na.b = 2", "'a' is a local time (defined at line 1), not a table", 2, 1),
        E("a = [1]\na.b = 1", "'a' is an array (defined at line 1), not a table", 2, 1),
        E("[[t.a]]\n[t]\na.b = 1", "'a' is an array of tables (defined at line 1), not a table", 3,
          1),
        E("a = {x = 1}\na.y = 2", "inline table 'a' (defined at line 1) cannot be extended", 2, 1),
        E("a = {x = {}}\na.x.y = 2", "inline table 'a' (defined at line 1) cannot be extended", 2,
          1),
        E("[a.b]\n[a]\nb.c = 1",
          "table 'b' has its own header at line 1; dotted keys cannot add to it", 3, 1),
        E("[a.b.c]\n\n[a]\nb.c.d = 1",
          "table 'b.c' has its own header at line 1; dotted keys cannot add to it", 4, 3),
        E("[a.b.c]\n[a]\nb.d = 1\n[a.b]",
          "table 'a.b' is already defined (first defined at line 1)", 4, 4),

        /* table headers */
        E("[a", "expected ']' after table name, found end of file", 1, 3),
        E("[a}", "expected ']' after table name, found '}'", 1, 3),
        E("[a\n]", "expected ']' after table name, found end of line", 1, 3),
        E("[a.]", "expected a key, found ']'", 1, 4),
        E("[]", "expected a key, found ']'", 1, 2),
        E("[ ]", "expected a key, found ']'", 1, 3),
        E("[[a]", "expected ']]' after array of tables name, found end of file", 1, 5),
        E("[[a] ]", "expected ']]' after array of tables name, found ' '", 1, 5),
        E("[[a", "expected ']]' after array of tables name, found end of file", 1, 4),
        E("[[]]", "expected a key, found ']'", 1, 3),
        E("[a]\n[a]", "table 'a' is already defined (first defined at line 1)", 2, 2),
        E("[a]\nx = 1\n[b]\n[ a ]", "table 'a' is already defined (first defined at line 1)", 4, 3),
        E("[a.b]\n[a]\n[a]", "table 'a' is already defined (first defined at line 1)", 3, 2),
        E("a.b = 1\n[a]", "table 'a' is already defined (first defined at line 1)", 2, 2),
        E("[x]\na.b = 1\n[x.a]", "table 'x.a' is already defined (first defined at line 2)", 3, 4),
        E("a = {}\n[a]", "table 'a' is already defined (first defined at line 1)", 2, 2),
        E("a = 1\n[a]", "'a' is an integer (defined at line 1), not a table", 2, 2),
        E("a = 1\n[a.b]", "'a' is an integer (defined at line 1), not a table", 2, 2),
        E("a = [1]\n[a.b]", "'a' is an array (defined at line 1), not a table", 2, 2),
        E("a = [{}]\n[a]", "'a' is an array (defined at line 1), not a table", 2, 2),
        E("[[a]]\n[a]", "'a' is an array of tables (defined at line 1), not a table", 2, 2),
        E("a = {}\n[a.b]", "inline table 'a' (defined at line 1) cannot be extended", 2, 2),
        E("[t]\na = {}\n[t.a.b]", "inline table 't.a' (defined at line 2) cannot be extended", 3,
          4),
        E("[a]\n[[a]]", "'a' is a table (defined at line 1), not an array of tables", 2, 3),
        E("[a.b]\n[[a]]", "'a' is a table (defined at line 1), not an array of tables", 2, 3),
        E("a = [1]\n[[a]]", "'a' is an array (defined at line 1), not an array of tables", 2, 3),
        E("a = []\n[[a]]", "'a' is an array (defined at line 1), not an array of tables", 2, 3),
        E("a = 1\n[[a]]", "'a' is an integer (defined at line 1), not an array of tables", 2, 3),
        E("a = {}\n[[a]]", "'a' is an inline table (defined at line 1), not an array of tables", 2,
          3),
        E("a = {}\n[[a.b]]", "inline table 'a' (defined at line 1) cannot be extended", 2, 3),
        E("[[a]]\n[[a.b]]\n[a.b]", "'a.b' is an array of tables (defined at line 2), not a table",
          3, 4),

        /* values */
        E("a = ", "expected a value, found end of file", 1, 5),
        E("a =\n1", "expected a value, found end of line", 1, 4),
        E("a = # c", "expected a value, found '#'", 1, 5),
        E("a = @", "expected a value, found '@'", 1, 5),
        E("a = ,", "expected a value, found ','", 1, 5),
        E("a = b = 1", "invalid value 'b'", 1, 5),
        E("a = tru", "invalid value 'tru'", 1, 5),
        E("a = truex", "invalid value 'truex'", 1, 5),
        E("a = True", "invalid value 'True'", 1, 5),
        E("a = Inf", "invalid value 'Inf'", 1, 5),

        /* integers and floats */
        E("a = 01", "leading zeros are not allowed in '01'", 1, 5),
        E("a = -01", "leading zeros are not allowed in '-01'", 1, 6),
        E("a = 0_1", "leading zeros are not allowed in '0_1'", 1, 5),
        E("a = 00.5", "leading zeros are not allowed in '00.5'", 1, 5),
        E("a = +03e2", "leading zeros are not allowed in '+03e2'", 1, 6),
        E("a = 1__2", "'_' must be between digits in '1__2'", 1, 6),
        E("a = 1_", "'_' must be between digits in '1_'", 1, 6),
        E("a = 1.5_", "'_' must be between digits in '1.5_'", 1, 8),
        E("a = 1e5_", "'_' must be between digits in '1e5_'", 1, 8),
        E("a = 1_.5", "'_' must be between digits in '1_.5'", 1, 6),
        E("a = 1._5", "'_' must be between digits in '1._5'", 1, 7),
        E("a = 1e_5", "'_' must be between digits in '1e_5'", 1, 7),
        E("a = 0x_1", "'_' must be between digits in '0x_1'", 1, 7),
        E("a = 0b1_", "'_' must be between digits in '0b1_'", 1, 8),
        E("a = _1", "invalid value '_1'", 1, 5),
        E("a = 1.", "invalid number '1.'", 1, 7),
        E("a = 1.e5", "invalid number '1.e5'", 1, 7),
        E("a = .5", "invalid number '.5'", 1, 5),
        E("a = -.5", "invalid number '-.5'", 1, 6),
        E("a = +", "invalid number '+'", 1, 6),
        E("a = 1e", "invalid number '1e'", 1, 7),
        E("a = 1e+", "invalid number '1e+'", 1, 8),
        E("a = 1e5.0", "invalid number '1e5.0'", 1, 8),
        E("a = 1.2.3", "invalid number '1.2.3'", 1, 8),
        E("a = 12a", "invalid number '12a'", 1, 7),
        E("a = --1", "invalid number '--1'", 1, 6),
        E("a = infinity", "invalid number 'infinity'", 1, 5),
        E("a = +na", "invalid number '+na'", 1, 6),
        E("a = 0x", "invalid number '0x'", 1, 7),
        E("a = 0xg", "invalid number '0xg'", 1, 7),
        E("a = 0b102", "invalid number '0b102'", 1, 9),
        E("a = 0o8", "invalid number '0o8'", 1, 7),
        E("a = 0X1", "invalid number '0X1'", 1, 6),
        E("a = 0x1.5", "invalid number '0x1.5'", 1, 8),
        E("a = +0x1", "a sign is not allowed on '+0x1'", 1, 5),
        E("a = -0b1", "a sign is not allowed on '-0b1'", 1, 5),
        E("a = -0o7", "a sign is not allowed on '-0o7'", 1, 5),
        E("a = 9223372036854775808", "integer '9223372036854775808' is out of range", 1, 5),
        E("a = -9223372036854775809", "integer '-9223372036854775809' is out of range", 1, 5),
        E("a = 99999999999999999999", "integer '99999999999999999999' is out of range", 1, 5),
        E("a = 0x8000000000000000", "integer '0x8000000000000000' is out of range", 1, 5),
        E("a = 0o1000000000000000000000", "integer '0o1000000000000000000000' is out of range", 1,
          5),
        E("a = 0b1000000000000000000000000000000000000000000000000000000000000000",
          "integer '0b1000000000000000000000000000000000000000000000000000000000...' is out of range",
          1, 5),
        E("a = 1e309", "float '1e309' is out of range", 1, 5),
        E("a = -1_0e308", "float '-1_0e308' is out of range", 1, 5),

        /* date-times */
        E("a = 2021-13-01", "month '13' is out of range in '2021-13-01'", 1, 10),
        E("a = 2021-00-01", "month '00' is out of range in '2021-00-01'", 1, 10),
        E("a = 2021-02-29", "day '29' is out of range in '2021-02-29'", 1, 13),
        E("a = 1900-02-29", "day '29' is out of range in '1900-02-29'", 1, 13),
        E("a = 2020-02-30", "day '30' is out of range in '2020-02-30'", 1, 13),
        E("a = 2021-04-31", "day '31' is out of range in '2021-04-31'", 1, 13),
        E("a = 2021-01-32", "day '32' is out of range in '2021-01-32'", 1, 13),
        E("a = 2021-01-00", "day '00' is out of range in '2021-01-00'", 1, 13),
        E("a = 24:00:00", "hour '24' is out of range in '24:00:00'", 1, 5),
        E("a = 23:60:00", "minute '60' is out of range in '23:60:00'", 1, 8),
        E("a = 23:59:61", "second '61' is out of range in '23:59:61'", 1, 11),
        E("a = 2021-01-01 24:00:00", "hour '24' is out of range in '2021-01-01 24:00:00'", 1, 16),
        E("a = 2021-01-01T00:00:00+24:00",
          "offset hour '24' is out of range in '2021-01-01T00:00:00+24:00'", 1, 25),
        E("a = 2021-01-01T00:00:00-00:60",
          "offset minute '60' is out of range in '2021-01-01T00:00:00-00:60'", 1, 28),
        E("a = 202-01-01", "invalid date-time '202-01-01'", 1, 8),
        E("a = 20211-01-01", "invalid date-time '20211-01-01'", 1, 9),
        E("a = 2021-1-01", "invalid date-time '2021-1-01'", 1, 11),
        E("a = 2021-01-1", "invalid date-time '2021-01-1'", 1, 14),
        E("a = 2021-01/01", "invalid date-time '2021-01'", 1, 12),
        E("a = 2021-01-01T", "invalid date-time '2021-01-01T'", 1, 16),
        E("a = 2021-01-01Tx", "invalid date-time '2021-01-01Tx'", 1, 16),
        E("a = 2021-01-01T1:00:00", "invalid date-time '2021-01-01T1:00:00'", 1, 17),
        E("a = 2021-01-01T01:00", "invalid date-time '2021-01-01T01:00'", 1, 21),
        E("a = 2021-01-01 01:00", "invalid date-time '2021-01-01 01:00'", 1, 21),
        E("a = 01:00", "invalid date-time '01:00'", 1, 10),
        E("a = 1:00:00", "invalid date-time '1:00:00'", 1, 6),
        E("a = 01:0:00", "invalid date-time '01:0:00'", 1, 9),
        E("a = 01:00:0", "invalid date-time '01:00:0'", 1, 12),
        E("a = 2021-01-01T00:00:00+01:0", "invalid date-time '2021-01-01T00:00:00+01:0'", 1, 29),
        E("a = 01:00:00.", "invalid date-time '01:00:00.'", 1, 14),
        E("a = 01:00:00Z", "invalid date-time '01:00:00Z'", 1, 13),
        E("a = 01:00:00+01:00", "invalid date-time '01:00:00+01:00'", 1, 13),
        E("a = 2021-01-01T00:00:00+01", "invalid date-time '2021-01-01T00:00:00+01'", 1, 27),
        E("a = 2021-01-01T00:00:00+0100", "invalid date-time '2021-01-01T00:00:00+0100'", 1, 27),
        E("a = 2021-01-01T00:00:00+1:00", "invalid date-time '2021-01-01T00:00:00+1:00'", 1, 26),
        E("a = 2021-01-01x", "invalid date-time '2021-01-01x'", 1, 15),
        E("a = 2021-01-01 00:00:00x", "invalid date-time '2021-01-01 00:00:00x'", 1, 24),
        E("a = 2021-01-01T00:00:00Zx", "invalid date-time '2021-01-01T00:00:00Zx'", 1, 25),
        E("a = 2021-01-01 x", "expected end of line after value, found 'x'", 1, 16),
        E("a = 1:2", "invalid date-time '1:2'", 1, 6),

        /* arrays */
        E("a = [1, 2", "unterminated array", 1, 5),
        E("a = [", "unterminated array", 1, 5),
        E("a = [\n1,\n2", "unterminated array", 1, 5),
        E("a = [1 # c\n", "unterminated array", 1, 5),
        E("a = [1, 2 3]", "expected ',' or ']' after array element, found '3'", 1, 11),
        E("a = [1\x01]", "expected ',' or ']' after array element, found control character 0x01", 1,
          7),
        E("a = [1,,2]", "expected a value, found ','", 1, 8),
        E("a = [,]", "expected a value, found ','", 1, 6),
        E("a = [1 # \x01\n]", "control character 0x01 is not allowed in a comment", 1, 10),
        E("a = [ # \x01\n1]", "control character 0x01 is not allowed in a comment", 1, 9),
        E("a = [1,\n  b = 2]", "invalid value 'b'", 2, 3),

        /* inline tables */
        E("a = {", "unterminated inline table", 1, 5),
        E("a = {b = 1", "unterminated inline table", 1, 5),
        E("a = {b = 1,", "unterminated inline table", 1, 5),
        E("a = {\nb = 1}", "newlines are not allowed in an inline table", 1, 6),
        E("a = {b = 1\n}", "newlines are not allowed in an inline table", 1, 11),
        E("a = {b = 1,\nc = 2}", "newlines are not allowed in an inline table", 1, 12),
        E("a = {b = 1,}", "a trailing comma is not allowed in an inline table", 1, 11),
        E("a = {b = 1 c = 2}", "expected ',' or '}' in inline table, found 'c'", 1, 12),
        E("a = {b = 1 # c\n}", "expected ',' or '}' in inline table, found '#'", 1, 12),
        E("a = {,}", "expected a key, found ','", 1, 6),
        E("a = {b}", "expected '=' after key, found '}'", 1, 7),
        E("a = {b = 1, b = 2}", "duplicate key 'b' (first defined at line 1)", 1, 13),
        E("a = {b = 1, b.c = 2}", "'b' is an integer (defined at line 1), not a table", 1, 13),
        E("a = {b = {}, b.c = 2}", "inline table 'b' (defined at line 1) cannot be extended", 1,
          14),
        E("a = {b.c = 1, b = 2}", "duplicate key 'b' (first defined at line 1)", 1, 15),
        E("a = {b = [], b.c = 1}", "'b' is an array (defined at line 1), not a table", 1, 14),
};

static void test_errors(void **state)
{
        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(error_cases); i++) {
                const error_case_t *c = &error_cases[i];
                size_t size = c->size ? c->size : strlen(c->input);
                manifest_error_t e = {};
                tree_value_t *root = &sentinel;
                int r = toml_parse(c->input, size, &e, &root);

                if (r != -EINVAL || strcmp(e.message, c->message) != 0 || e.line != c->line ||
                    e.col != c->col)
                        fail_msg("case %zu (%s):\n  expected %d %u:%u: %s\n  got      %d %u:%u: %s",
                                 i, c->input, -EINVAL, c->line, c->col, c->message, r, e.line,
                                 e.col, e.message);
                assert_ptr_equal(root, &sentinel);
                /* Without an error struct the result is the same. */
                assert_int_equal(toml_parse(c->input, size, NULL, &root), -EINVAL);
                assert_ptr_equal(root, &sentinel);
        }
}

static char *repeat(const char *prefix, const char *unit, size_t count, const char *suffix)
{
        size_t unit_size = strlen(unit), size = strlen(prefix) + unit_size * count + strlen(suffix);
        char *s = malloc(size + 1), *p = s;

        assert_non_null(s);
        p = stpcpy(p, prefix);
        for (size_t i = 0; i < count; i++)
                p = stpcpy(p, unit);
        strcpy(p, suffix);
        return s;
}

/* prefix, then open count times, middle, close count times. */
static char *nest(const char *prefix, const char *open, const char *middle, const char *close,
                  size_t count)
{
        _cleanup_free_ char *head = repeat(prefix, open, count, middle);

        return repeat(head, close, count, "");
}

static void expect_error(const char *text, const char *message, unsigned line, unsigned col)
{
        manifest_error_t e = {};
        tree_value_t *root = &sentinel;

        assert_int_equal(toml_parse(text, strlen(text), &e, &root), -EINVAL);
        assert_string_equal(e.message, message);
        assert_int_equal(e.line, line);
        assert_int_equal(e.col, col);
        assert_ptr_equal(root, &sentinel);
}

static void expect_ok(const char *text)
{
        tree_free(parse_ok(text, strlen(text)));
}

/* Tables and arrays nest at most 128 levels below the root, however they are made. */
static void test_depth(void **state)
{
        _cleanup_free_ char *arrays_ok = NULL, *arrays_deep = NULL, *inline_ok = NULL,
                            *inline_deep = NULL, *key_ok = NULL, *key_deep = NULL,
                            *header_ok = NULL, *header_deep = NULL, *aot_deep = NULL,
                            *header_parts = NULL, *mixed_deep = NULL;
        (void)state;

        arrays_ok = nest("a = ", "[", "", "]", 128);
        expect_ok(arrays_ok);

        arrays_deep = repeat("a = ", "[", 129, "");
        expect_error(arrays_deep, "too deeply nested (more than 128 levels)", 1, 4 + 129);

        inline_ok = nest("a = ", "{b = ", "{}", "}", 127);
        expect_ok(inline_ok);

        inline_deep = repeat("a = ", "{b = ", 128, "{}");
        expect_error(inline_deep, "too deeply nested (more than 128 levels)", 1, 4 + 128 * 5 + 1);

        /* 127 dotted tables and an array at depth 128 */
        key_ok = repeat("", "k.", 127, "k = [1]");
        expect_ok(key_ok);
        key_deep = repeat("", "k.", 128, "k = 1");
        expect_error(key_deep, "too deeply nested (more than 128 levels)", 1, 1 + 128 * 2);

        /* a header's table at depth 128 holds scalars, but no array */
        header_ok = repeat("[", "k.", 127, "k]\nx = 1");
        expect_ok(header_ok);
        header_deep = repeat("[", "k.", 127, "k]\nx = [1]");
        expect_error(header_deep, "too deeply nested (more than 128 levels)", 2, 5);
        header_parts = repeat("[x]\ny = 1\n[", "k.", 128, "k]");
        expect_error(header_parts, "too deeply nested (more than 128 levels)", 3, 2 + 128 * 2);

        /* [[k...k]]: the array sits at 128, its tables would sit at 129 */
        aot_deep = repeat("[[", "k.", 127, "k]]");
        expect_error(aot_deep, "too deeply nested (more than 128 levels)", 1, 3 + 127 * 2);

        /* Dotted keys count from the depth of their table: here 10, so their 119th part
         * would make a table at 129. */
        mixed_deep = repeat("[k.k.k.k.k.k.k.k.k.k]\n", "k.", 119, "k = 1");
        expect_error(mixed_deep, "too deeply nested (more than 128 levels)", 2, 1 + 118 * 2);
}

/* -E2BIG is decided by the size alone, before a byte is read: a mapping of zero pages of
 * TOML_SIZE_MAX + 1 bytes costs no memory, and its first byte (NUL) shows that a size of
 * exactly TOML_SIZE_MAX is read. */
static void test_too_big(void **state)
{
        size_t size = (size_t)TOML_SIZE_MAX + 1;
        manifest_error_t e = {};
        tree_value_t *root = &sentinel;
        char *text;
        (void)state;

        text = mmap(NULL, size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        assert_true(text != MAP_FAILED);
        assert_int_equal(toml_parse(text, size, &e, &root), -E2BIG);
        assert_string_equal(e.message, "input is larger than 64 MiB");
        assert_int_equal(e.line, 0);
        assert_ptr_equal(root, &sentinel);
        assert_int_equal(toml_parse(text, size, NULL, &root), -E2BIG);
        assert_int_equal(toml_parse(text, size - 1, &e, &root), -EINVAL);
        assert_string_equal(e.message, "expected a key, found control character 0x00");
        assert_int_equal(e.line, 1);
        assert_int_equal(e.col, 1);
        assert_ptr_equal(root, &sentinel);
        assert_int_equal(munmap(text, size), 0);

        /* No text at all is only fine for an empty document. */
        assert_int_equal(toml_parse(NULL, 1, &e, &root), -EINVAL);
        assert_string_equal(e.message, "no text to read (size 1)");
        assert_int_equal(e.line, 0);
        assert_ptr_equal(root, &sentinel);
}

/* ---- valid documents ---- */

static void test_empty(void **state)
{
        static const char *const empties[] = {"",    " \t",          "\n\n",        "\r\n",
                                              "# c", "# c\r\n# d\n", "\xef\xbb\xbf"};
        (void)state;

        for (size_t i = 0; i < ELEMENTSOF(empties); i++) {
                _cleanup_(tree_freep) tree_value_t *root = parse_ok(empties[i], strlen(empties[i]));
                assert_int_equal(root->table.count, 0);
                assert_int_equal(root->line, 1);
                assert_int_equal(root->col, 1);
                assert_int_equal(root->flags, 0);
        }
        _cleanup_(tree_freep) tree_value_t *root = parse_ok(NULL, 0);
        assert_int_equal(root->table.count, 0);
}

static void test_strings(void **state)
{
        _cleanup_(tree_freep) tree_value_t *root =
                PARSE_OK("basic = \"a\\b\\t\\n\\f\\r\\\"\\\\z\"\n"
                         "unicode = \"\\u00e9\\U0001F600\\u0000end\"\n"
                         "literal = 'C:\\path\\\"x\"'\n"
                         "ml = \"\"\"\nline1\r\nline2\\\n     \t\r\n   more \\\"\"\"\"\"\"\n"
                         "ml_quotes = \"\"\"\"\"a\"\"\"\"\"\n"
                         "ml_lit = '''\n'quoted' ''' \n"
                         "ml_lit2 = '''x\n\ty'''''\n"
                         "empty = \"\"\n"
                         "empty_ml = \"\"\"\"\"\"\n"
                         "euro = \"\\u20AC\\u07ff\"\n"
                         "tab = \"a\tb\"\n"
                         "utf8 = \"\xce\xbb \xf0\x9f\x98\x80\"\n"
                         "bom_inside = '\xef\xbb\xbf'\n");
        tree_value_t *v;
        (void)state;

        v = get(root, "basic", TREE_STRING);
        assert_int_equal(v->string.size, 9);
        assert_memory_equal(v->string.data, "a\b\t\n\f\r\"\\z", 10);
        v = get(root, "unicode", TREE_STRING);
        assert_int_equal(v->string.size, 2 + 4 + 1 + 3);
        assert_memory_equal(v->string.data, "\xc3\xa9\xf0\x9f\x98\x80\0end", 11);
        assert_string_equal(get(root, "literal", TREE_STRING)->string.data, "C:\\path\\\"x\"");
        /* The first newline is dropped, CRLF becomes LF, a line-ending backslash eats all
         * whitespace up to the next text, and up to two quotes may precede the closing ones. */
        assert_string_equal(get(root, "ml", TREE_STRING)->string.data, "line1\nline2more \"\"\"");
        assert_string_equal(get(root, "ml_quotes", TREE_STRING)->string.data, "\"\"a\"\"");
        assert_string_equal(get(root, "ml_lit", TREE_STRING)->string.data, "'quoted' ");
        assert_string_equal(get(root, "ml_lit2", TREE_STRING)->string.data, "x\n\ty''");
        v = get(root, "empty", TREE_STRING);
        assert_int_equal(v->string.size, 0);
        assert_non_null(v->string.data);
        assert_string_equal(v->string.data, "");
        assert_int_equal(get(root, "empty_ml", TREE_STRING)->string.size, 0);
        assert_string_equal(get(root, "euro", TREE_STRING)->string.data, "\xe2\x82\xac\xdf\xbf");
        assert_string_equal(get(root, "tab", TREE_STRING)->string.data, "a\tb");
        assert_string_equal(get(root, "utf8", TREE_STRING)->string.data,
                            "\xce\xbb \xf0\x9f\x98\x80");
        assert_string_equal(get(root, "bom_inside", TREE_STRING)->string.data, "\xef\xbb\xbf");
}

static void test_keys(void **state)
{
        _cleanup_(tree_freep) tree_value_t *root = PARSE_OK("bare_key-1 = 1\n"
                                                            "1234 = 2\n"
                                                            "\"quoted \\u0000 key\" = 3\n"
                                                            "'lit.eral' = 4\n"
                                                            "\"\" = 5\n"
                                                            "a . \"b\" .\t'c' = 6\n"
                                                            "3.14 = 7\n"
                                                            "true = 8\n"
                                                            "inf = 9\n");
        const tree_entry_t *e;
        tree_value_t *v;
        (void)state;

        assert_int_equal(root->table.count, 9);
        assert_int_equal(get(root, "bare_key-1", TREE_INTEGER)->integer, 1);
        assert_int_equal(get(root, "1234", TREE_INTEGER)->integer, 2);
        e = tree_table_find(root, "quoted \0 key", 12);
        assert_non_null(e);
        assert_int_equal(e->key_size, 12);
        assert_int_equal(e->value->integer, 3);
        assert_int_equal(get(root, "lit.eral", TREE_INTEGER)->integer, 4);
        e = entry(root, "");
        assert_int_equal(e->key_size, 0);
        assert_int_equal(e->value->integer, 5);
        v = get(get(get(root, "a", TREE_TABLE), "b", TREE_TABLE), "c", TREE_INTEGER);
        assert_int_equal(v->integer, 6);
        assert_int_equal(get(get(root, "3", TREE_TABLE), "14", TREE_INTEGER)->integer, 7);
        assert_int_equal(get(root, "true", TREE_INTEGER)->integer, 8);
        assert_int_equal(get(root, "inf", TREE_INTEGER)->integer, 9);
        /* input order */
        assert_string_equal(root->table.entries[0].key, "bare_key-1");
        assert_string_equal(root->table.entries[5].key, "a");
        assert_string_equal(root->table.entries[8].key, "inf");
}

static void test_numbers(void **state)
{
        _cleanup_(tree_freep) tree_value_t *root = PARSE_OK("i1 = +99\n"
                                                            "i2 = -17\n"
                                                            "i3 = 0\n"
                                                            "i4 = -0\n"
                                                            "i5 = 1_000_000\n"
                                                            "i6 = 9223372036854775807\n"
                                                            "i7 = -9223372036854775808\n"
                                                            "h1 = 0xDEAD_beef\n"
                                                            "h2 = 0x7FFFFFFFFFFFFFFF\n"
                                                            "h3 = 0x0000000000000000000001\n"
                                                            "o1 = 0o755\n"
                                                            "b1 = 0b1101_0110\n"
                                                            "f1 = +1.0\n"
                                                            "f2 = 3.1415\n"
                                                            "f3 = -0.01\n"
                                                            "f4 = 5e+22\n"
                                                            "f5 = 1e06\n"
                                                            "f6 = -2E-2\n"
                                                            "f7 = 6.626e-34\n"
                                                            "f8 = 224_617.445_991\n"
                                                            "f9 = -0.0\n"
                                                            "f10 = 1e-400\n"
                                                            "inf1 = inf\n"
                                                            "inf2 = +inf\n"
                                                            "inf3 = -inf\n"
                                                            "nan1 = nan\n"
                                                            "nan2 = -nan\n"
                                                            "b_t = true\n"
                                                            "b_f = false\n");
        (void)state;

        assert_int_equal(get(root, "i1", TREE_INTEGER)->integer, 99);
        assert_int_equal(get(root, "i2", TREE_INTEGER)->integer, -17);
        assert_int_equal(get(root, "i3", TREE_INTEGER)->integer, 0);
        assert_int_equal(get(root, "i4", TREE_INTEGER)->integer, 0);
        assert_int_equal(get(root, "i5", TREE_INTEGER)->integer, 1000000);
        assert_true(get(root, "i6", TREE_INTEGER)->integer == INT64_MAX);
        assert_true(get(root, "i7", TREE_INTEGER)->integer == INT64_MIN);
        assert_true(get(root, "h1", TREE_INTEGER)->integer == 0xdeadbeef);
        assert_true(get(root, "h2", TREE_INTEGER)->integer == INT64_MAX);
        assert_int_equal(get(root, "h3", TREE_INTEGER)->integer, 1);
        assert_int_equal(get(root, "o1", TREE_INTEGER)->integer, 0755);
        assert_int_equal(get(root, "b1", TREE_INTEGER)->integer, 0xd6);
        assert_true(get(root, "f1", TREE_FLOAT)->floating == 1.0);
        assert_true(get(root, "f2", TREE_FLOAT)->floating == 3.1415);
        assert_true(get(root, "f3", TREE_FLOAT)->floating == -0.01);
        assert_true(get(root, "f4", TREE_FLOAT)->floating == 5e22);
        assert_true(get(root, "f5", TREE_FLOAT)->floating == 1e6);
        assert_true(get(root, "f6", TREE_FLOAT)->floating == -2e-2);
        assert_true(get(root, "f7", TREE_FLOAT)->floating == 6.626e-34);
        assert_true(get(root, "f8", TREE_FLOAT)->floating == 224617.445991);
        assert_true(get(root, "f9", TREE_FLOAT)->floating == 0.0);
        assert_true(signbit(get(root, "f9", TREE_FLOAT)->floating));
        assert_true(get(root, "f10", TREE_FLOAT)->floating == 0.0);
        assert_true(isinf(get(root, "inf1", TREE_FLOAT)->floating));
        assert_true(get(root, "inf2", TREE_FLOAT)->floating > 0);
        assert_true(get(root, "inf3", TREE_FLOAT)->floating < 0 &&
                    isinf(get(root, "inf3", TREE_FLOAT)->floating));
        assert_true(isnan(get(root, "nan1", TREE_FLOAT)->floating));
        assert_true(isnan(get(root, "nan2", TREE_FLOAT)->floating));
        assert_true(get(root, "b_t", TREE_BOOL)->boolean);
        assert_false(get(root, "b_f", TREE_BOOL)->boolean);
}

static void test_datetimes(void **state)
{
        _cleanup_(tree_freep) tree_value_t *root =
                PARSE_OK("odt1 = 1979-05-27T07:32:00Z\n"
                         "odt2 = 1979-05-27t00:32:00.999999-07:30\n"
                         "odt3 = 1979-05-27 00:32:00.5+05:45\n"
                         "odt4 = 2000-02-29T23:59:60z\n"
                         "ldt = 1979-05-27T00:32:00.1234567891\n"
                         "ld = 0000-01-01\n"
                         "ld2 = 1979-05-27 # comment\n"
                         "lt = 00:32:00.012\n"
                         "arr = [1979-05-27 07:32:00,07:32:00]\n");
        const tree_datetime_t *dt;
        tree_value_t *arr;
        (void)state;

        dt = &get(root, "odt1", TREE_DATETIME)->datetime;
        assert_int_equal(dt->year, 1979);
        assert_int_equal(dt->month, 5);
        assert_int_equal(dt->day, 27);
        assert_int_equal(dt->hour, 7);
        assert_int_equal(dt->minute, 32);
        assert_int_equal(dt->second, 0);
        assert_int_equal(dt->frac_digits, 0);
        assert_int_equal(dt->nanosecond, 0);
        assert_true(dt->offset_z);
        assert_int_equal(dt->offset_minutes, 0);

        dt = &get(root, "odt2", TREE_DATETIME)->datetime;
        assert_int_equal(dt->hour, 0);
        assert_int_equal(dt->nanosecond, 999999000);
        assert_int_equal(dt->frac_digits, 6);
        assert_false(dt->offset_z);
        assert_int_equal(dt->offset_minutes, -(7 * 60 + 30));

        dt = &get(root, "odt3", TREE_DATETIME)->datetime;
        assert_int_equal(dt->nanosecond, 500000000);
        assert_int_equal(dt->frac_digits, 1);
        assert_int_equal(dt->offset_minutes, 5 * 60 + 45);

        dt = &get(root, "odt4", TREE_DATETIME)->datetime;
        assert_int_equal(dt->day, 29);
        assert_int_equal(dt->second, 60);
        assert_true(dt->offset_z);

        /* Digits beyond nanoseconds are dropped. */
        dt = &get(root, "ldt", TREE_DATETIME_LOCAL)->datetime;
        assert_int_equal(dt->nanosecond, 123456789);
        assert_int_equal(dt->frac_digits, 9);

        dt = &get(root, "ld", TREE_DATE_LOCAL)->datetime;
        assert_int_equal(dt->year, 0);
        assert_int_equal(dt->month, 1);
        assert_int_equal(dt->day, 1);
        assert_int_equal(get(root, "ld2", TREE_DATE_LOCAL)->datetime.day, 27);

        dt = &get(root, "lt", TREE_TIME_LOCAL)->datetime;
        assert_int_equal(dt->minute, 32);
        assert_int_equal(dt->nanosecond, 12000000);
        assert_int_equal(dt->frac_digits, 3);

        arr = get(root, "arr", TREE_ARRAY);
        assert_int_equal(arr->array.count, 2);
        assert_int_equal(arr->array.items[0]->type, TREE_DATETIME_LOCAL);
        assert_int_equal(arr->array.items[1]->type, TREE_TIME_LOCAL);
}

static void test_arrays(void **state)
{
        _cleanup_(tree_freep) tree_value_t *root =
                PARSE_OK("empty = []\n"
                         "empty2 = [ # c\n ]\n"
                         "mixed = [1, 'a', 2.5, [true], {x = 1},]\n"
                         "multi = [\n"
                         "  1, # one\n"
                         "\n"
                         "  2 # two\n"
                         "  ,3\n"
                         "]\n");
        tree_value_t *v;
        (void)state;

        assert_int_equal(get(root, "empty", TREE_ARRAY)->array.count, 0);
        assert_int_equal(get(root, "empty2", TREE_ARRAY)->array.count, 0);
        v = get(root, "mixed", TREE_ARRAY);
        assert_int_equal(v->array.count, 5);
        assert_int_equal(v->array.items[0]->type, TREE_INTEGER);
        assert_int_equal(v->array.items[1]->type, TREE_STRING);
        assert_int_equal(v->array.items[2]->type, TREE_FLOAT);
        assert_int_equal(v->array.items[3]->type, TREE_ARRAY);
        assert_int_equal(v->array.items[3]->flags, TREE_FLAG_INLINE);
        assert_int_equal(v->array.items[4]->type, TREE_TABLE);
        assert_int_equal(v->array.items[4]->flags, TREE_FLAG_INLINE);
        v = get(root, "multi", TREE_ARRAY);
        assert_int_equal(v->array.count, 3);
        assert_int_equal(v->array.items[2]->integer, 3);
        assert_int_equal(v->array.items[2]->line, 9);
        assert_int_equal(v->array.items[2]->col, 4);
}

/* The places of keys and values: 1-based, in bytes, counted after a BOM, across CRLF and
 * multi-line strings. */
static void test_positions(void **state)
{
        _cleanup_(tree_freep) tree_value_t *root = PARSE_OK("\xef\xbb\xbf"
                                                            "a = 1\r\n"
                                                            "\tb.c = \"\"\"x\n"
                                                            "y\"\"\"\n"
                                                            "  d =   [ 1,\n"
                                                            "     {e = 'f'} ]\n"
                                                            "\n"
                                                            "[t.u]\n"
                                                            "[[arr]]\n"
                                                            "  [arr.sub]\n"
                                                            "g = [\"\xce\xbb\", 2]\n");
        const tree_entry_t *e;
        tree_value_t *v, *elem;
        (void)state;

        e = entry(root, "a");
        assert_int_equal(e->line, 1);
        assert_int_equal(e->col, 1);
        assert_int_equal(e->value->line, 1);
        assert_int_equal(e->value->col, 5);

        /* a table made by a dotted key starts where its key does */
        e = entry(root, "b");
        assert_int_equal(e->line, 2);
        assert_int_equal(e->col, 2);
        assert_int_equal(e->value->line, 2);
        assert_int_equal(e->value->col, 2);
        e = entry(e->value, "c");
        assert_int_equal(e->line, 2);
        assert_int_equal(e->col, 4);
        assert_int_equal(e->value->line, 2);
        assert_int_equal(e->value->col, 8);

        e = entry(root, "d");
        assert_int_equal(e->line, 4);
        assert_int_equal(e->col, 3);
        v = e->value;
        assert_int_equal(v->line, 4);
        assert_int_equal(v->col, 9);
        assert_int_equal(v->array.items[0]->line, 4);
        assert_int_equal(v->array.items[0]->col, 11);
        v = v->array.items[1];
        assert_int_equal(v->line, 5);
        assert_int_equal(v->col, 6);
        e = entry(v, "e");
        assert_int_equal(e->line, 5);
        assert_int_equal(e->col, 7);
        assert_int_equal(e->value->line, 5);
        assert_int_equal(e->value->col, 11);

        /* [t.u]: t is made on the way, at its key; u is the header's table, at the '[' */
        e = entry(root, "t");
        assert_int_equal(e->line, 7);
        assert_int_equal(e->col, 2);
        assert_int_equal(e->value->line, 7);
        assert_int_equal(e->value->col, 2);
        e = entry(e->value, "u");
        assert_int_equal(e->line, 7);
        assert_int_equal(e->col, 4);
        assert_int_equal(e->value->line, 7);
        assert_int_equal(e->value->col, 1);

        e = entry(root, "arr");
        assert_int_equal(e->line, 8);
        assert_int_equal(e->col, 3);
        assert_int_equal(e->value->line, 8);
        assert_int_equal(e->value->col, 1);
        elem = e->value->array.items[0];
        assert_int_equal(elem->line, 8);
        assert_int_equal(elem->col, 1);
        e = entry(elem, "sub");
        assert_int_equal(e->line, 9);
        assert_int_equal(e->col, 8);
        assert_int_equal(e->value->line, 9);
        assert_int_equal(e->value->col, 3);

        /* columns count bytes: the 2 comes after a two-byte character */
        e = entry(e->value, "g");
        assert_int_equal(e->line, 10);
        assert_int_equal(e->value->array.items[0]->col, 6);
        assert_int_equal(e->value->array.items[1]->col, 12);
}

/* A table defined later by its own header takes the header's place. */
static void test_position_of_defined_table(void **state)
{
        _cleanup_(tree_freep) tree_value_t *root = PARSE_OK("[a.b]\n"
                                                            "\n"
                                                            " [a]\n");
        const tree_entry_t *e = entry(root, "a");
        (void)state;

        assert_int_equal(e->line, 1);
        assert_int_equal(e->col, 2);
        assert_int_equal(e->value->line, 3);
        assert_int_equal(e->value->col, 2);
}

static void test_flags(void **state)
{
        _cleanup_(tree_freep) tree_value_t *root = PARSE_OK("x.y = 1\n"
                                                            "[a.b.c]\n"
                                                            "[a]\n"
                                                            "b.d = 1\n"
                                                            "i = {j.k = 1}\n"
                                                            "s = [1]\n"
                                                            "[[aot]]\n"
                                                            "[[aot]]\n"
                                                            "[aot.sub]\n"
                                                            "[p.q.r]\n");
        tree_value_t *a, *b, *aot, *p;
        (void)state;

        assert_int_equal(root->flags, 0);
        assert_int_equal(get(root, "x", TREE_TABLE)->flags, TREE_FLAG_DOTTED);
        assert_int_equal(get(get(root, "x", TREE_TABLE), "y", TREE_INTEGER)->flags, 0);

        a = get(root, "a", TREE_TABLE);
        assert_int_equal(a->flags, TREE_FLAG_DEFINED);
        /* made on the way to [a.b.c], then extended by the dotted key b.d */
        b = get(a, "b", TREE_TABLE);
        assert_int_equal(b->flags, TREE_FLAG_DOTTED);
        assert_int_equal(get(b, "c", TREE_TABLE)->flags, TREE_FLAG_DEFINED);
        assert_int_equal(get(b, "d", TREE_INTEGER)->integer, 1);

        /* only the literal is marked; what it holds is reached only through it */
        assert_int_equal(get(a, "i", TREE_TABLE)->flags, TREE_FLAG_INLINE);
        assert_int_equal(get(get(a, "i", TREE_TABLE), "j", TREE_TABLE)->flags, TREE_FLAG_DOTTED);
        assert_int_equal(get(a, "s", TREE_ARRAY)->flags, TREE_FLAG_INLINE);

        aot = get(root, "aot", TREE_ARRAY);
        assert_int_equal(aot->flags, TREE_FLAG_AOT);
        assert_int_equal(aot->array.count, 2);
        assert_int_equal(aot->array.items[0]->flags, TREE_FLAG_DEFINED);
        assert_int_equal(aot->array.items[0]->table.count, 0);
        assert_int_equal(aot->array.items[1]->flags, TREE_FLAG_DEFINED);
        assert_int_equal(get(aot->array.items[1], "sub", TREE_TABLE)->flags, TREE_FLAG_DEFINED);

        p = get(root, "p", TREE_TABLE);
        assert_int_equal(p->flags, TREE_FLAG_IMPLICIT);
        assert_int_equal(get(p, "q", TREE_TABLE)->flags, TREE_FLAG_IMPLICIT);
        assert_int_equal(get(get(p, "q", TREE_TABLE), "r", TREE_TABLE)->flags, TREE_FLAG_DEFINED);
}

/* What TOML allows around tables: sub-tables of dotted tables, [a] after [a.b], [x.y] into the
 * last table of an array of tables, dotted keys through tables made on the way to a header. */
static void test_table_rules(void **state)
{
        static const char *const valid[] = {
                "[fruit]\napple.color = 'red'\napple.taste.sweet = true\n[fruit.apple.texture]\n",
                "[a.b.c]\n[a]\nx = 1\n",
                "[a.b.c]\n[a]\nb.d = 1\n",
                "[[a]]\n[a.b]\nx = 1\n[[a]]\n[a.b]\nx = 2\n",
                "[a]\n[[a.b]]\n[a.b.c]\n[[a.b]]\n[a.b.c]\n",
                "a = {b.c = 1, b.d = 2}\n",
                "[a]\nb.c = 1\n[a.b.d]\n",
                "[a]\nb.c = 1\n[[a.b.e]]\n",
                "\"\" = 1\n[x.\"\"]\n",
                "a.\"\".b = 1\n",
        };
        (void)state;

        for (size_t i = 0; i < ELEMENTSOF(valid); i++)
                expect_ok(valid[i]);

        _cleanup_(tree_freep) tree_value_t *root = PARSE_OK("[[a]]\nn = 1\n[a.b]\nx = 1\n"
                                                            "[[a]]\nn = 2\n[a.b]\nx = 2\n");
        tree_value_t *a = get(root, "a", TREE_ARRAY);
        assert_int_equal(a->array.count, 2);
        for (size_t i = 0; i < 2; i++) {
                assert_int_equal(get(a->array.items[i], "n", TREE_INTEGER)->integer, (int)i + 1);
                assert_int_equal(
                        get(get(a->array.items[i], "b", TREE_TABLE), "x", TREE_INTEGER)->integer,
                        (int)i + 1);
        }
}

#define LARGE 10000

static void test_large_array(void **state)
{
        _cleanup_free_ char *text = repeat("a = [\n", "  \"some string\",\n", LARGE, "]\n");
        _cleanup_(tree_freep) tree_value_t *root = parse_ok(text, strlen(text));
        tree_value_t *a = get(root, "a", TREE_ARRAY);
        (void)state;

        assert_int_equal(a->array.count, LARGE);
        for (size_t i = 0; i < LARGE; i++) {
                assert_int_equal(a->array.items[i]->type, TREE_STRING);
                assert_int_equal(a->array.items[i]->line, i + 2);
        }
}

static void test_large_table(void **state)
{
        _cleanup_free_ char *text = malloc(LARGE * 32);
        size_t n = 0;
        (void)state;

        assert_non_null(text);
        for (size_t i = 0; i < LARGE; i++)
                n += (size_t)sprintf(text + n, "key%zu = %zu\n", i, i);
        _cleanup_(tree_freep) tree_value_t *root = parse_ok(text, n);
        assert_int_equal(root->table.count, LARGE);
        for (size_t i = 0; i < LARGE; i++) {
                char key[32];
                snprintf(key, sizeof(key), "key%zu", i);
                const tree_entry_t *e = entry(root, key);
                assert_int_equal(e->value->integer, i);
                assert_int_equal(e->line, i + 1);
                assert_ptr_equal(e, &root->table.entries[i]);
        }
        assert_null(tree_table_get(root, "key10000"));

        /* a duplicate is found through the index too */
        n += (size_t)sprintf(text + n, "key%d = 0\n", LARGE / 2);
        manifest_error_t e = {};
        tree_value_t *dup = &sentinel;
        assert_int_equal(toml_parse(text, n, &e, &dup), -EINVAL);
        assert_string_equal(e.message, "duplicate key 'key5000' (first defined at line 5001)");
        assert_int_equal(e.line, LARGE + 1);
        assert_ptr_equal(dup, &sentinel);
}

static void test_large_tables(void **state)
{
        _cleanup_free_ char *headers = malloc(LARGE * 32), *aot = NULL;
        size_t n = 0;
        (void)state;

        assert_non_null(headers);
        for (size_t i = 0; i < LARGE; i++)
                n += (size_t)sprintf(headers + n, "[t.s%zu]\nx = %zu\n", i, i);
        _cleanup_(tree_freep) tree_value_t *root = parse_ok(headers, n);
        assert_int_equal(get(root, "t", TREE_TABLE)->table.count, LARGE);

        aot = repeat("", "[[a]]\nx = 1\n", LARGE, "");
        _cleanup_(tree_freep) tree_value_t *root2 = parse_ok(aot, strlen(aot));
        assert_int_equal(get(root2, "a", TREE_ARRAY)->array.count, LARGE);
}

/* ---- allocation failures ----
 *
 * The test binary replaces malloc(), calloc(), realloc() and free() with wrappers that forward
 * to the next definition (libc's, or the sanitizer's), count the blocks alive, and can make the
 * n-th allocation from now fail. Every run that fails an allocation must return -ENOMEM, leave
 * *ret_root alone and free all it took. dlsym() may itself allocate while the wrappers are being
 * resolved; a small static arena serves it then. */

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);
static bool g_resolving;
static _Alignas(16) char g_arena[16384];
static size_t g_arena_used;
static long g_fail_in = -1; /* allocations that succeed before one fails; -1: none fails */
static bool g_failed;       /* an allocation was made to fail */
static long g_live;         /* blocks allocated through the wrappers and not freed */

static void *arena_alloc(size_t size)
{
        void *p;

        size = (size + 15) & ~(size_t)15;
        if (size > sizeof(g_arena) - g_arena_used)
                abort();
        p = g_arena + g_arena_used;
        g_arena_used += size;
        return p;
}

static bool in_arena(const void *p)
{
        return (const char *)p >= g_arena && (const char *)p < g_arena + sizeof(g_arena);
}

static bool resolve(void)
{
        if (real_free)
                return true;
        if (g_resolving)
                return false;
        g_resolving = true;
        real_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
        real_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
        real_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
        real_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
        g_resolving = false;
        if (!real_malloc || !real_calloc || !real_realloc || !real_free)
                abort();
        return true;
}

static bool inject(void)
{
        if (g_fail_in < 0)
                return false;
        if (g_fail_in-- > 0)
                return false;
        g_failed = true;
        return true;
}

void *malloc(size_t size)
{
        void *p;

        if (!resolve())
                return arena_alloc(size);
        if (inject())
                return NULL;
        p = real_malloc(size);
        if (p)
                g_live++;
        return p;
}

void *calloc(size_t count, size_t size)
{
        void *p;

        if (!resolve())
                return arena_alloc(count * size); /* the arena is zeroed, and only grows */
        if (inject())
                return NULL;
        p = real_calloc(count, size);
        if (p)
                g_live++;
        return p;
}

void *realloc(void *old, size_t size)
{
        void *p;

        if (!resolve() || in_arena(old))
                abort();
        if (inject())
                return NULL;
        p = real_realloc(old, size);
        if (p && !old)
                g_live++;
        return p;
}

void free(void *p)
{
        if (!p || in_arena(p))
                return;
        g_live--;
        real_free(p);
}

static const char oom_document[] =
        "# every kind of node, and a table past the size of its index\n"
        "title = \"TOML \\u00e9\\U0001F600 \\n\"\n"
        "lit = 'x'\n"
        "ml = \"\"\"\nab\\\n  c\"\"\"\n"
        "mll = '''\nx'''\n"
        "nl = \"\"\"\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n"
        "\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\"\"\"\n"
        "nll = '''\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n"
        "\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n'''\n"
        "u = \"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
        "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"\n"
        "ul = '\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
        "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9'\n"
        "i = 0x1F\n"
        "f = 1_0.5e3\n"
        "b = true\n"
        "d = 1979-05-27T07:32:00Z\n"
        "a = [1, [2, 3], {x = 1, y.z = 2}, \"s\", []]\n"
        "k1.k2.\"k3\" = 1\n"
        "[t.u]\n"
        "v = 1\n"
        "[t]\n"
        "w = 2\n"
        "u2.x = 1\n"
        "[[aot]]\n"
        "x = 1\n"
        "[aot.sub]\n"
        "[[aot]]\n"
        "[many]\n"
        "k0 = 0\nk1 = 1\nk2 = 2\nk3 = 3\nk4 = 4\nk5 = 5\nk6 = 6\n"
        "k7 = 7\nk8 = 8\nk9 = 9\nk10 = 10\nk11 = 11\nk12 = 12\n"
        "k13 = 13\nk14 = 14\nk15 = 15\nk16 = 16\nk17 = 17\n";

/* Fails each allocation of one parse in turn; returns how many runs failed one. */
static unsigned fail_each_allocation(const char *text, size_t size, bool valid)
{
        unsigned runs = 0;

        for (long n = 0;; n++) {
                manifest_error_t e = {};
                tree_value_t *root = &sentinel;
                long live = g_live;
                int r;

                g_failed = false;
                g_fail_in = n;
                r = toml_parse(text, size, &e, &root);
                g_fail_in = -1;
                if (!g_failed) {
                        assert_int_equal(r, valid ? 0 : -EINVAL);
                        if (valid)
                                tree_free(root);
                        assert_int_equal(g_live, live);
                        return runs;
                }
                runs++;
                if (valid || r != -EINVAL)
                        assert_int_equal(r, -ENOMEM);
                assert_ptr_equal(root, &sentinel);
                if (g_live != live)
                        fail_msg("failing allocation %ld leaks %ld blocks", n, g_live - live);
        }
}

static void test_out_of_memory(void **state)
{
        static const char invalid[] = "a = [1, 'x', {b = 2}]\n[t]\nc.d = \"\\u00e9\"\nc.d = 2\n";
        _cleanup_free_ char *large = repeat("a = [\n", "  \"s\",\n", 100, "]\n[t]\nx = 1\n");
        (void)state;

        assert_true(fail_each_allocation(oom_document, sizeof(oom_document) - 1, true) > 50);
        assert_true(fail_each_allocation(invalid, sizeof(invalid) - 1, false) > 5);
        assert_true(fail_each_allocation(large, strlen(large), true) > 100);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_errors),
                cmocka_unit_test(test_depth),
                cmocka_unit_test(test_too_big),
                cmocka_unit_test(test_empty),
                cmocka_unit_test(test_strings),
                cmocka_unit_test(test_keys),
                cmocka_unit_test(test_numbers),
                cmocka_unit_test(test_datetimes),
                cmocka_unit_test(test_arrays),
                cmocka_unit_test(test_positions),
                cmocka_unit_test(test_position_of_defined_table),
                cmocka_unit_test(test_flags),
                cmocka_unit_test(test_table_rules),
                cmocka_unit_test(test_large_array),
                cmocka_unit_test(test_large_table),
                cmocka_unit_test(test_large_tables),
                cmocka_unit_test(test_out_of_memory),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
