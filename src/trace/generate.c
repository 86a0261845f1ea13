/* The manifest text of a traced run (trace_generate()), from the plan (plan.c): Gramine's TOML
 * or Graphene's key = value, each listed file with a comment naming the process that used it
 * first, and with --template, {{ NAME }} where a path starts with a variable's value.
 *
 * Everything the manifest holds is checked to be something the reader gives back as it was:
 * text that is not valid UTF-8 (neither language can hold it) and, in Graphene's language,
 * values it cannot quote (a line break; a '"' with a '#', blanks at an end, or a leading '[' or
 * '{') are refused with the path or variable named, rather than written broken. Comments are
 * made one line of valid UTF-8 ('?' for what is not), so a process's name cannot end one.
 *
 * Graphene's language has no loader.argv: there the arguments after argv[0] come from the
 * command line (loader.insecure__use_cmdline_argv), as with Graphene's pal_loader, and a
 * comment says which to give. argv[0] is loader.execname.
 *
 * A template is written as the manifest with a mark (a NUL byte and the variable's number)
 * where a variable goes; a last pass turns marks into {{ NAME }} and makes the rest of the
 * text render as itself: a '{' before '{', '%', '#' or '$' becomes {{ "{" }}, a '$' before '('
 * becomes {{ "$" }}, which render.c reads as literals. The variables' values hold nothing that
 * needs escaping in either language, so a path escaped whole and escaped after its prefix are
 * the same text: the template renders into the manifest written without variables. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "shared/strset.h"
#include "trace/trace-internal.h"

/* Longest process description in a comment, in bytes. */
#define FIRST_MAX 200
/* Longest argv in the header comment, in bytes. */
#define HEADER_MAX 1000
/* The longest variable name render.c looks up. */
#define VAR_NAME_MAX 256

typedef struct out {
        strbuf_t b;
        const trace_options_t *o;
        const plan_t *p;
        bool legacy;
        int r; /* the first failure; err says what */
        char *err;
        size_t err_size;
        strset_t trusted_names, allowed_names; /* Graphene's NAMEs in use */
} out_t;

static void out_done(out_t *out)
{
        strbuf_free(&out->b);
        strset_done(&out->trusted_names);
        strset_done(&out->allowed_names);
}

static void out_fail(out_t *out, int r, const char *fmt, ...) _printf_(3, 4);
static void out_fail(out_t *out, int r, const char *fmt, ...)
{
        char message[1024];
        va_list ap;

        if (out->r)
                return;
        va_start(ap, fmt);
        vsnprintf(message, sizeof(message), fmt, ap);
        va_end(ap);
        out->r = err_fail(out->err, out->err_size, r, "%s", message);
}

/* The variable whose value is the longest component-wise prefix of path (the first of equal
 * ones), with the rest of the path in *ret_rest; -1 when none. */
static int var_for(const trace_options_t *o, const char *path, const char **ret_rest)
{
        size_t best_len = 0;
        int best = -1;

        for (size_t i = 0; i < o->var_count; i++) {
                size_t len = strlen(o->vars[i].value);

                if (len > best_len && path_under(path, o->vars[i].value)) {
                        best = (int)i;
                        best_len = len;
                }
        }
        *ret_rest = path + best_len;
        return best;
}

/* A path inside a quoted value: prefix ("file:" or ""), the path with its variable, suffix. In
 * TOML escaped; in Graphene's language as it is (the caller checked that it may be). */
static void put_path_text(out_t *out, const char *prefix, const char *path, const char *suffix)
{
        const char *rest = path;
        int var = var_for(out->o, path, &rest);

        strbuf_puts(&out->b, prefix);
        if (var >= 0) {
                char mark[2] = {'\0', (char)(var + 1)};
                strbuf_add(&out->b, mark, 2);
        }
        if (out->legacy)
                strbuf_puts(&out->b, rest);
        else
                sb_toml_escape(&out->b, rest);
        strbuf_puts(&out->b, suffix);
}

/* what names the text ("path '/x'", "the value of environment variable 'X'"). */
static bool need_utf8(out_t *out, const char *s, const char *what)
{
        if (text_is_utf8(s))
                return true;
        out_fail(out, -EINVAL, "%s is not valid UTF-8: a manifest cannot hold it", what);
        return false;
}

/* How Graphene's language can hold value: 1 in double quotes (kept verbatim), 0 bare (the
 * reader trims blanks and cuts at '#'), -1 not at all. */
static int legacy_quoting(const char *value)
{
        size_t len = strlen(value);

        if (strchr(value, '\n'))
                return -1;
        if (!strchr(value, '"'))
                return 1;
        /* bare: a '"' first would open a quote, '[' or '{' first would read as TOML */
        if (len == 0 || strchr(value, '#') || strchr(value, '\r') || strchr(" \t\"[{", value[0]) ||
            value[len - 1] == ' ' || value[len - 1] == '\t')
                return -1;
        return 0;
}

/* A value that holds a path (with a variable, maybe) or, with path NULL, plain text. Messages
 * name it as what, followed by the text quoted unless what names it well enough already. */
static void put_value(out_t *out, const char *prefix, const char *path, const char *suffix,
                      const char *text, const char *what, bool quote)
{
        _cleanup_free_ char *whole = NULL;
        const char *s = path ? path : text;
        char q[TRACE_QUOTE_SIZE], named[TRACE_QUOTE_SIZE + 128];
        int quoting = 1;

        if (quote)
                snprintf(named, sizeof(named), "%s '%s'", what, trace_quote(s, q, sizeof(q)));
        else
                snprintf(named, sizeof(named), "%s", what);
        if (!need_utf8(out, s, named))
                return;
        if (out->legacy) {
                if (asprintf(&whole, "%s%s%s", prefix, s, suffix) < 0) {
                        out_fail(out, -ENOMEM, "out of memory");
                        return;
                }
                quoting = legacy_quoting(whole);
                if (quoting < 0) {
                        out_fail(out, -EINVAL,
                                 "%s cannot be written in Graphene's language (a line break, or a "
                                 "'\"' with a '#', a blank at an end, or a '[' or '{' first): use "
                                 "TOML",
                                 named);
                        return;
                }
        }
        if (quoting)
                strbuf_puts(&out->b, "\"");
        if (path)
                put_path_text(out, prefix, path, suffix);
        else if (out->legacy)
                strbuf_puts(&out->b, text);
        else
                sb_toml_escape(&out->b, text);
        if (quoting)
                strbuf_puts(&out->b, "\"");
}

static void put_first(out_t *out, const char *first)
{
        if (!first)
                return;
        strbuf_puts(&out->b, " # ");
        sb_comment_text(&out->b, first, FIRST_MAX);
}

static void put_header(out_t *out, const trace_program_t *prog)
{
        strbuf_t args = {0};

        for (size_t i = 0; i < prog->argc; i++) {
                if (i > 0)
                        strbuf_puts(&args, " ");
                strbuf_puts(&args, prog->argv[i] ? prog->argv[i] : "");
        }
        strbuf_puts(&out->b, "# lamina trace: ");
        sb_comment_text(&out->b, args.data ? args.data : "", HEADER_MAX);
        strbuf_puts(&out->b, " (in ");
        sb_comment_text(&out->b, out->p->cwd, HEADER_MAX);
        strbuf_puts(&out->b, ")\n");
        if (args.error && !out->r)
                out->r = args.error;
        strbuf_free(&args);
}

/* A name for the environment in TOML: bare when it may be, else quoted. */
static void put_env_key(out_t *out, const char *name)
{
        bool bare = name[0] != '\0';

        for (const char *c = name; *c; c++)
                bare = bare && ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
                                (*c >= '0' && *c <= '9') || *c == '_' || *c == '-');
        if (bare)
                strbuf_puts(&out->b, name);
        else
                sb_toml_string(&out->b, name);
}

static bool is_legacy_name(const char *name)
{
        if (!*name)
                return false;
        for (const char *c = name; *c; c++)
                if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
                      (*c >= '0' && *c <= '9') || *c == '_' || *c == '-'))
                        return false;
        return true;
}

/* loader.env: every NAME=VALUE in the order given; a name given twice keeps its first value,
 * the one getenv() returns. */
static void put_env(out_t *out, const trace_program_t *prog)
{
        strset_t seen = {0};
        char q[TRACE_QUOTE_SIZE];

        for (size_t i = 0; prog->envp && prog->envp[i] && !out->r; i++) {
                const char *entry = prog->envp[i], *eq = strchr(entry, '=');
                _cleanup_free_ char *name = NULL;

                if (!eq || eq == entry) {
                        out_fail(out, -EINVAL,
                                 "environment entry '%s' is not NAME=VALUE: a manifest cannot "
                                 "give it",
                                 trace_quote(entry, q, sizeof(q)));
                        break;
                }
                name = strndup(entry, (size_t)(eq - entry));
                if (!name) {
                        out_fail(out, -ENOMEM, "out of memory");
                        break;
                }
                if (strset_has(&seen, name))
                        continue;
                if (strset_add(&seen, name) < 0) {
                        out_fail(out, -ENOMEM, "out of memory");
                        break;
                }
                {
                        char named[TRACE_QUOTE_SIZE + 32];

                        snprintf(named, sizeof(named), "environment variable '%s'",
                                 trace_quote(name, q, sizeof(q)));
                        if (!need_utf8(out, name, named))
                                break;
                }
                if (out->legacy && !is_legacy_name(name)) {
                        out_fail(out, -EINVAL,
                                 "environment variable '%s' cannot be named in Graphene's "
                                 "language (only letters, digits, '_' and '-'): use TOML",
                                 trace_quote(name, q, sizeof(q)));
                        break;
                }
                strbuf_puts(&out->b, "loader.env.");
                put_env_key(out, name);
                strbuf_puts(&out->b, " = ");
                {
                        char what[TRACE_QUOTE_SIZE + 64];

                        /* the name says which value, better than the value itself */
                        snprintf(what, sizeof(what), "the value of environment variable '%s'",
                                 trace_quote(name, q, sizeof(q)));
                        put_value(out, "", NULL, "", eq + 1, what, false);
                }
                strbuf_puts(&out->b, "\n");
        }
        strset_done(&seen);
}

/* An argument for the comment that lists them: shell-quoted when it must be. */
static void put_shell_word(strbuf_t *b, const char *s)
{
        bool plain = *s != '\0';

        for (const char *c = s; *c; c++)
                plain = plain && (strchr("_./=:,+-@%", *c) || (*c >= 'A' && *c <= 'Z') ||
                                  (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9'));
        if (plain) {
                sb_comment_text(b, s, HEADER_MAX);
                return;
        }
        strbuf_puts(b, "'");
        for (const char *c = s;;) {
                const char *quote = strchrnul(c, '\'');
                _cleanup_free_ char *part = strndup(c, (size_t)(quote - c));

                if (!part) {
                        b->error = b->error ? b->error : -ENOMEM;
                        return;
                }
                sb_comment_text(b, part, HEADER_MAX);
                if (!*quote)
                        break;
                strbuf_puts(b, "'\\''");
                c = quote + 1;
        }
        strbuf_puts(b, "'");
}

static void put_program(out_t *out, const trace_program_t *prog)
{
        const plan_t *p = out->p;

        if (!out->legacy) {
                strbuf_puts(&out->b, "libos.entrypoint = ");
                put_value(out, "", p->entrypoint, "", NULL, "the program", true);
                strbuf_puts(&out->b, "\nloader.argv = [");
                for (size_t i = 0; i < prog->argc && !out->r; i++) {
                        char what[64];

                        snprintf(what, sizeof(what), "argument %zu", i);
                        strbuf_puts(&out->b, i ? ", " : "");
                        put_value(out, "", NULL, "", prog->argv[i] ? prog->argv[i] : "", what,
                                  true);
                }
                strbuf_puts(&out->b, "]\n");
                return;
        }
        if (prog->argc == 0) {
                out_fail(out, -EINVAL,
                         "the program was started without arguments, not even argv[0], which "
                         "Graphene's language cannot say: use TOML");
                return;
        }
        strbuf_puts(&out->b, "loader.exec = ");
        put_value(out, "file:", p->entrypoint, "", NULL, "the program", true);
        strbuf_puts(&out->b, "\n");
        if (!prog->argv[0] || !STREQ(prog->argv[0], p->entrypoint)) {
                strbuf_puts(&out->b, "loader.execname = ");
                put_value(out, "", NULL, "", prog->argv[0] ? prog->argv[0] : "", "argument 0",
                          true);
                strbuf_puts(&out->b, "\n");
        }
        if (prog->argc > 1) {
                strbuf_puts(&out->b, "loader.insecure__use_cmdline_argv = 1\n# Graphene's language "
                                     "has no loader.argv: give the arguments after the manifest:");
                for (size_t i = 1; i < prog->argc; i++) {
                        strbuf_puts(&out->b, " ");
                        put_shell_word(&out->b, prog->argv[i] ? prog->argv[i] : "");
                }
                strbuf_puts(&out->b, "\n");
        }
}

static void put_fs(out_t *out)
{
        const plan_t *p = out->p;

        strbuf_puts(&out->b, "fs.root.uri = \"file:/\"\n");
        strbuf_puts(&out->b, "fs.start_dir = ");
        put_value(out, "", p->cwd, "", NULL, "the working directory", true);
        strbuf_puts(&out->b, "\n");
        if (p->tmpfs.count == 0)
                return;
        /* the view must have these directories, and the run used nothing in them */
        if (!out->legacy)
                strbuf_puts(&out->b, "fs.mounts = [\n");
        for (size_t i = 0; i < p->tmpfs.count; i++) {
                const item_t *it = &p->tmpfs.items[i];

                if (out->legacy) {
                        strbuf_addf(&out->b, "fs.mount.empty%zu.type = \"tmpfs\"\n", i + 1);
                        strbuf_addf(&out->b, "fs.mount.empty%zu.path = ", i + 1);
                } else {
                        strbuf_puts(&out->b, "  { type = \"tmpfs\", path = ");
                }
                put_value(out, "", it->path, "", NULL, "a directory", true);
                strbuf_puts(&out->b, out->legacy ? "" : " },");
                if (STREQ(it->path, p->cwd))
                        strbuf_puts(&out->b, " # the start directory: the run used nothing in it");
                else
                        put_first(out, it->first);
                strbuf_puts(&out->b, "\n");
        }
        if (!out->legacy)
                strbuf_puts(&out->b, "]\n");
}

/* Graphene's NAME for path: its letters, digits, '_' and '-', the rest '_', made unique. */
static int legacy_name(strset_t *names, const char *path, char **ret)
{
        _cleanup_free_ char *base = NULL;
        char *name = NULL;
        size_t n = 0;
        int r;

        base = malloc(strlen(path) + 8);
        if (!base)
                return -ENOMEM;
        for (const char *c = path; *c; c++) {
                char ch = *c;

                if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                      (ch >= '0' && ch <= '9') || ch == '-'))
                        ch = '_';
                if (ch == '_' && (n == 0 || base[n - 1] == '_'))
                        continue;
                base[n++] = ch;
        }
        while (n > 0 && base[n - 1] == '_')
                n--;
        if (n == 0)
                memcpy(base, "root", (n = 4));
        base[n] = '\0';
        for (unsigned k = 1; !name || strset_has(names, name); k++) {
                free(name);
                if (k == 1)
                        name = strdup(base);
                else if (asprintf(&name, "%s_%u", base, k) < 0)
                        name = NULL;
                if (!name)
                        return -ENOMEM;
        }
        r = strset_add(names, name);
        if (r < 0) {
                free(name);
                return r;
        }
        *ret = name;
        return 0;
}

static void put_files_legacy(out_t *out)
{
        const plan_t *p = out->p;
        char hex[2 * VSTORE_SHA256_SIZE + 1];

        for (size_t i = 0; i < p->trusted.count && !out->r; i++) {
                const item_t *it = &p->trusted.items[i];
                _cleanup_free_ char *name = NULL;

                if (legacy_name(&out->trusted_names, it->path, &name) < 0) {
                        out_fail(out, -ENOMEM, "out of memory");
                        break;
                }
                strbuf_addf(&out->b, "sgx.trusted_files.%s = ", name);
                put_value(out, "file:", it->path, it->dir ? "/" : "", NULL, "path", true);
                put_first(out, it->first);
                strbuf_puts(&out->b, "\n");
                if (!it->dir) {
                        vstore_hex(it->sha256, hex);
                        strbuf_addf(&out->b, "sgx.trusted_checksum.%s = \"%s\"\n", name, hex);
                }
        }
        for (size_t i = 0; i < p->allowed.count && !out->r; i++) {
                const item_t *it = &p->allowed.items[i];
                _cleanup_free_ char *name = NULL;

                if (legacy_name(&out->allowed_names, it->path, &name) < 0) {
                        out_fail(out, -ENOMEM, "out of memory");
                        break;
                }
                strbuf_addf(&out->b, "sgx.allowed_files.%s = ", name);
                put_value(out, "file:", it->path, it->dir ? "/" : "", NULL, "path", true);
                put_first(out, it->first);
                strbuf_puts(&out->b, "\n");
        }
        if (p->create)
                strbuf_puts(&out->b, "sgx.allow_file_creation = 1\n");
}

static void put_files_toml(out_t *out)
{
        const plan_t *p = out->p;
        char hex[2 * VSTORE_SHA256_SIZE + 1];

        strbuf_puts(&out->b,
                    p->trusted.count ? "sgx.trusted_files = [\n" : "sgx.trusted_files = [");
        for (size_t i = 0; i < p->trusted.count && !out->r; i++) {
                const item_t *it = &p->trusted.items[i];

                if (it->dir) {
                        strbuf_puts(&out->b, "  ");
                        put_value(out, "file:", it->path, "/", NULL, "path", true);
                } else {
                        vstore_hex(it->sha256, hex);
                        strbuf_puts(&out->b, "  { uri = ");
                        put_value(out, "file:", it->path, "", NULL, "path", true);
                        strbuf_addf(&out->b, ", sha256 = \"%s\" }", hex);
                }
                strbuf_puts(&out->b, ",");
                put_first(out, it->first);
                strbuf_puts(&out->b, "\n");
        }
        strbuf_puts(&out->b, "]\n");
        if (p->allowed.count) {
                strbuf_puts(&out->b, "sgx.allowed_files = [\n");
                for (size_t i = 0; i < p->allowed.count && !out->r; i++) {
                        const item_t *it = &p->allowed.items[i];

                        strbuf_puts(&out->b, "  ");
                        put_value(out, "file:", it->path, it->dir ? "/" : "", NULL, "path", true);
                        strbuf_puts(&out->b, ",");
                        put_first(out, it->first);
                        strbuf_puts(&out->b, "\n");
                }
                strbuf_puts(&out->b, "]\n");
        }
        if (p->create)
                strbuf_puts(&out->b, "sgx.allow_file_creation = true\n");
}

static void put_left_out(out_t *out)
{
        const plan_t *p = out->p;

        if (p->left_out.count == 0)
                return;
        strbuf_puts(&out->b, "\n# Used by the run, but not given by this manifest:\n");
        for (size_t i = 0; i < p->left_out.count; i++) {
                const item_t *it = &p->left_out.items[i];

                strbuf_puts(&out->b, "# \"");
                sb_comment_text(&out->b, it->path, PATH_MAX);
                strbuf_puts(&out->b, "\": ");
                strbuf_puts(&out->b, it->why);
                put_first(out, it->first);
                strbuf_puts(&out->b, "\n");
        }
}

/* The template's last pass (see the top of this file). */
static int detemplate(const trace_options_t *o, const strbuf_t *in, strbuf_t *ret)
{
        const char *s = in->data;
        size_t n = in->size;

        for (size_t i = 0; i < n; i++) {
                char next = i + 1 < n ? (s[i + 1] == '\0' ? '{' : s[i + 1]) : '\0';

                if (s[i] == '\0') {
                        strbuf_addf(ret, "{{ %s }}", o->vars[(unsigned char)s[i + 1] - 1].name);
                        i++;
                } else if (s[i] == '{' && next && strchr("{%#$", next)) {
                        strbuf_puts(ret, "{{ \"{\" }}");
                } else if (s[i] == '$' && next == '(') {
                        strbuf_puts(ret, "{{ \"$\" }}");
                } else {
                        strbuf_add(ret, s + i, 1);
                }
        }
        return ret->error;
}

static bool is_var_name(const char *s)
{
        bool start = true;
        size_t len = strlen(s);

        if (len == 0 || len > VAR_NAME_MAX)
                return false;
        for (; *s; s++) {
                char c = *s;
                bool letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';

                if (start && !letter)
                        return false;
                if (!start && !letter && !(c >= '0' && c <= '9') && c != '.')
                        return false;
                start = c == '.';
        }
        return !start;
}

static int check_vars(const trace_options_t *o, char *err, size_t err_size)
{
        char q[TRACE_QUOTE_SIZE], q2[TRACE_QUOTE_SIZE];

        if (o->var_count > TRACE_VARS_MAX)
                return err_fail(err, err_size, -EINVAL, "more than %d template variables",
                                TRACE_VARS_MAX);
        if (o->var_count > 0 && !o->vars)
                return err_fail(err, err_size, -EINVAL, "var_count is %zu, but vars is NULL",
                                o->var_count);
        for (size_t i = 0; i < o->var_count; i++) {
                const trace_var_t *v = &o->vars[i];
                bool plain = v->value && text_is_utf8(v->value);

                if (!v->name || !is_var_name(v->name))
                        return err_fail(err, err_size, -EINVAL,
                                        "template variable '%s' is not a name such as "
                                        "python.stdlib",
                                        trace_quote(v->name ? v->name : "", q, sizeof(q)));
                for (const char *c = v->value; plain && *c; c++)
                        plain = (unsigned char)*c >= 0x20 && *c != 0x7f && *c != '"' && *c != '\\';
                if (!plain || !trace_path_is_normalised(v->value) || STREQ(v->value, "/"))
                        return err_fail(err, err_size, -EINVAL,
                                        "template variable '%s' is '%s': it must be an "
                                        "absolute, normalised path other than '/', without "
                                        "quotes, backslashes or control characters",
                                        v->name,
                                        trace_quote(v->value ? v->value : "", q2, sizeof(q2)));
        }
        return 0;
}

int trace_generate(const trace_log_t *log, const trace_program_t *prog, const trace_options_t *o,
                   char **ret_text, size_t *ret_size, char *err, size_t err_size)
{
        _cleanup_(trace_plan_done) plan_t p = {0};
        _cleanup_(out_done) out_t out = {0};
        _cleanup_(strbuf_free) strbuf_t final = {0};
        int r;

        err_clear(err, err_size);
        if (o->format != MANIFEST_FORMAT_AUTO && o->format != MANIFEST_FORMAT_TOML &&
            o->format != MANIFEST_FORMAT_LEGACY)
                return err_fail(err, err_size, -EINVAL, "unknown manifest format %d",
                                (int)o->format);
        r = check_vars(o, err, err_size);
        if (r < 0)
                return r;
        r = trace_plan_build(&p, log, prog, o, true, err, err_size);
        if (r < 0)
                return r;
        out = (out_t){
                .o = o,
                .p = &p,
                .legacy = o->format == MANIFEST_FORMAT_LEGACY,
                .err = err,
                .err_size = err_size,
        };
        put_header(&out, prog);
        put_program(&out, prog);
        put_env(&out, prog);
        put_fs(&out);
        strbuf_puts(&out.b, "\n");
        if (out.legacy)
                put_files_legacy(&out);
        else
                put_files_toml(&out);
        put_left_out(&out);
        if (out.r)
                return out.r;
        if (out.b.error)
                return out.b.error;
        if (o->var_count == 0)
                return sb_take(&out.b, ret_text, ret_size);
        r = detemplate(o, &out.b, &final);
        if (r < 0)
                return r;
        return sb_take(&final, ret_text, ret_size);
}
