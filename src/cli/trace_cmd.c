/* lamina trace: runs a program once in a read-only view of the host, records every file each
 * of its processes used (the explain listener, in record mode), and writes the manifest that
 * runs the same program under lamina run (src/trace), or compares the run with a manifest
 * (--against). The program may write only to its working directory, /tmp and /dev/shm (both
 * fresh tmpfs, as under lamina run). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/log.h"
#include "cli/python.h"
#include "explain/explain.h"
#include "sandbox/sandbox.h"
#include "shared/macro.h"
#include "shared/path.h"
#include "trace/trace.h"

extern char **environ;

_Static_assert((int)EXPLAIN_USE_READ == (int)TRACE_READ &&
                       (int)EXPLAIN_USE_EXEC == (int)TRACE_EXEC &&
                       (int)EXPLAIN_USE_WRITE == (int)TRACE_WRITE &&
                       (int)EXPLAIN_USE_CREATE == (int)TRACE_CREATE &&
                       (int)EXPLAIN_USE_STAT == (int)TRACE_STAT,
               "explain's uses are trace's");

static const char *const use_names[] = {"read", "exec", "write", "create", "stat"};

typedef struct recorder {
        trace_log_t log;
        FILE *log_file; /* --log: one line a new (use, path) */
        int error;      /* the first failure to record; the run goes on */
} recorder_t;

static void recorder_done(recorder_t *rec)
{
        if (rec->log_file)
                fclose(rec->log_file);
        trace_log_done(&rec->log);
}

/* On the listener's thread, while the caller waits; the main thread reads the log only after
 * the sandbox has ended and the listener has stopped. */
static void record(const char *path, unsigned use, bool is_dir, const char *process, void *userdata)
{
        recorder_t *rec = userdata;
        int r = trace_log_add(&rec->log, path, use, is_dir, process);

        if (r < 0 && rec->error == 0)
                rec->error = r;
        if (rec->log_file)
                for (size_t i = 0; i < ELEMENTSOF(use_names); i++)
                        if (use == 1u << i)
                                fprintf(rec->log_file, "%s %s%s %s\n", use_names[i], path,
                                        is_dir ? "/" : "", process);
}

/* PROGRAM as execvp() would find it, absolute; symlinks are kept (lamina run follows them). */
static int find_program(const char *name, const char *cwd, char **ret)
{
        const char *path = getenv("PATH");
        char *found = NULL;

        if (strchr(name, '/')) {
                if (name[0] == '/')
                        found = strdup(name);
                else if (asprintf(&found, "%s/%s", STREQ(cwd, "/") ? "" : cwd, name) < 0)
                        found = NULL;
                if (!found)
                        return -ENOMEM;
                if (access(found, X_OK) < 0) {
                        int r = -errno;
                        free(found);
                        return r;
                }
                *ret = found;
                return 0;
        }
        if (!path)
                path = "/usr/local/bin:/usr/bin:/bin";
        for (const char *p = path; *p;) {
                size_t n = strcspn(p, ":");
                struct stat st;

                if (n > 0 && p[0] == '/') {
                        if (asprintf(&found, "%.*s/%s", (int)n, p, name) < 0)
                                return -ENOMEM;
                        if (stat(found, &st) == 0 && S_ISREG(st.st_mode) &&
                            access(found, X_OK) == 0) {
                                *ret = found;
                                return 0;
                        }
                        free(found);
                        found = NULL;
                }
                p += n;
                if (*p == ':')
                        p++;
        }
        return -ENOENT;
}

/* The view: the host read-only; fresh /proc, /dev, /dev/shm and /tmp as lamina run makes
 * them; the working directory writable. */
static void trace_config(sandbox_config_t *c, sandbox_op_t ops[5], const char *cwd)
{
        ops[0] = (sandbox_op_t){.type = SANDBOX_OP_PROC, .target = "/proc"};
        ops[1] = (sandbox_op_t){.type = SANDBOX_OP_DEV, .target = "/dev"};
        ops[2] = (sandbox_op_t){
                .type = SANDBOX_OP_TMPFS, .target = "/dev/shm", .flags = SANDBOX_CREATE};
        ops[3] =
                (sandbox_op_t){.type = SANDBOX_OP_TMPFS, .target = "/tmp", .flags = SANDBOX_CREATE};
        ops[4] = (sandbox_op_t){
                .type = SANDBOX_OP_BIND, .source = cwd, .target = cwd, .flags = SANDBOX_CREATE};
        *c = (sandbox_config_t){
                /* where init mounts the tmpfs that holds the view, in its own namespace */
                .root = "/tmp", .host_root = true, .ops = ops, .op_count = 5,
                .cwd = cwd,     .uid = -1,         .gid = -1,  .log_fd = STDERR_FILENO,
        };
}

/* --template: the Python paths and the architecture's library directory, where the traced
 * program is that Python or the host has one. */
static int template_vars(const char *python, python_info_t *info, trace_var_t vars[5],
                         size_t *ret_count)
{
        size_t n = 0;
        int r = python_query(python, info);

        if (r < 0)
                return r;
        vars[n++] = (trace_var_t){"python.stdlib", info->stdlib};
        vars[n++] = (trace_var_t){"python.platstdlib", info->platstdlib};
        vars[n++] = (trace_var_t){"python.purelib", info->purelib};
        vars[n++] = (trace_var_t){"python.distlib", info->distlib};
        vars[n++] = (trace_var_t){"arch_libdir", ARCH_LIBDIR};
        *ret_count = n;
        return 0;
}

static void usage(void)
{
        log_error("usage: lamina trace [-o OUT] [--format toml|legacy] [--template] [--dirs] "
                  "[--against MANIFEST] [--log FILE] -- PROGRAM [ARGS...]");
}

int cmd_trace(int argc, char **argv)
{
        static const struct option options[] = {
                {"output", required_argument, NULL, 'o'},
                {"format", required_argument, NULL, 'f'},
                {"template", no_argument, NULL, 't'},
                {"dirs", no_argument, NULL, 'd'},
                {"against", required_argument, NULL, 'a'},
                {"log", required_argument, NULL, 'l'},
                {},
        };
        trace_options_t topts = {.format = MANIFEST_FORMAT_TOML};
        const char *output = NULL, *against = NULL, *log_path = NULL;
        _cleanup_free_ char *cwd = NULL, *program = NULL, *text = NULL, *out_abs = NULL;
        _cleanup_(manifest_freep) manifest_t *m = NULL;
        _cleanup_(python_info_done) python_info_t python = {0};
        trace_var_t vars[5];
        bool template = false;
        _cleanup_(recorder_done) recorder_t rec = {0};
        sandbox_op_t ops[5];
        sandbox_config_t config;
        sandbox_result_t res;
        char err[1024] = "";
        size_t size = 0;
        int c, r, code;

        while ((c = getopt_long(argc, argv, "+o:", options, NULL)) != -1) {
                switch (c) {
                case 'o':
                        output = optarg;
                        break;
                case 'f':
                        if (parse_format_option(optarg, &topts.format) < 0)
                                return LAMINA_EXIT_USAGE;
                        break;
                case 't':
                        template = true;
                        break;
                case 'd':
                        topts.dirs = true;
                        break;
                case 'a':
                        against = optarg;
                        break;
                case 'l':
                        log_path = optarg;
                        break;
                default:
                        usage();
                        return LAMINA_EXIT_USAGE;
                }
        }
        if (optind >= argc) {
                usage();
                return LAMINA_EXIT_USAGE;
        }
        if (topts.format == MANIFEST_FORMAT_AUTO)
                topts.format = MANIFEST_FORMAT_TOML;

        cwd = getcwd(NULL, 0);
        if (!cwd) {
                log_error("cannot know the working directory: %m");
                return LAMINA_EXIT_FAILED;
        }
        /* lamina run gives the program an empty /tmp and /dev/shm: a program there could be
         * traced, but never run */
        if (path_under(cwd, "/tmp") || path_under(cwd, "/dev/shm") || path_under(cwd, "/proc") ||
            path_under(cwd, "/dev")) {
                log_error("the working directory '%s' is one that lamina run replaces (/tmp, "
                          "/dev/shm, /proc, /dev): trace from a directory elsewhere",
                          cwd);
                return LAMINA_EXIT_INVALID;
        }
        r = find_program(argv[optind], cwd, &program);
        if (r < 0) {
                errno = -r;
                log_error("cannot find the program '%s': %m", argv[optind]);
                return LAMINA_EXIT_NOT_FOUND;
        }
        if (against) {
                manifest_options_t mopts = {.format = MANIFEST_FORMAT_AUTO};
                manifest_error_t e = {0};

                r = manifest_load(against, &mopts, &e, &m);
                if (r < 0) {
                        if (e.message[0])
                                log_input_error(&e);
                        else
                                log_error_errno(r, "cannot load '%s': %m", against);
                        return LAMINA_EXIT_INVALID;
                }
        }
        if (template) {
                /* the traced Python's paths, or the host's default one */
                const char *py = strstr(program, "python") ? program : "/usr/bin/python3";
                r = template_vars(py, &python, vars, &topts.var_count);
                if (r < 0) {
                        errno = -r;
                        log_error("cannot ask '%s' for its paths (--template): %m", py);
                        return LAMINA_EXIT_FAILED;
                }
                topts.vars = vars;
        }
        if (output) {
                out_abs = output[0] == '/' ? strdup(output) : NULL;
                if (!out_abs && asprintf(&out_abs, "%s/%s", cwd, output) < 0)
                        out_abs = NULL;
                if (!out_abs)
                        return LAMINA_EXIT_FAILED;
                topts.exclude = out_abs;
        }
        if (log_path) {
                rec.log_file = fopen(log_path, "we");
                if (!rec.log_file) {
                        log_error("cannot open the log '%s': %m", log_path);
                        return LAMINA_EXIT_FAILED;
                }
                setvbuf(rec.log_file, NULL, _IOLBF, 0);
        }

        trace_config(&config, ops, cwd);
        config.exec_path = program;
        config.argv = argv + optind;
        config.envp = environ;
        config.record = record;
        config.record_userdata = &rec;
        r = sandbox_run(&config, &res);
        if (r < 0) {
                log_error("%s", res.message);
                return LAMINA_EXIT_SETUP;
        }
        code = sandbox_exit_code(&res);
        if (res.outcome != SANDBOX_RAN || rec.error < 0) {
                if (rec.error < 0)
                        log_error_errno(rec.error, "cannot record the run: %m");
                return res.outcome != SANDBOX_RAN ? code : LAMINA_EXIT_FAILED;
        }
        if (code != 0)
                log_notice("the program ended with %d: the manifest describes that run", code);

        {
                trace_program_t prog = {
                        .entrypoint = program,
                        .argv = argv + optind,
                        .argc = (size_t)(argc - optind),
                        .envp = environ,
                        .cwd = cwd,
                };
                r = m ? trace_against(&rec.log, &prog, m, &topts, &text, &size, err, sizeof(err))
                      : trace_generate(&rec.log, &prog, &topts, &text, &size, err, sizeof(err));
        }
        if (r < 0) {
                if (err[0])
                        log_error("%s", err);
                else
                        log_error_errno(r, "cannot write the manifest: %m");
                return LAMINA_EXIT_FAILED;
        }
        if (output) {
                r = write_file_atomically(output, text, size, 0644);
                if (r < 0) {
                        log_error_errno(r, "cannot write '%s': %m", output);
                        return LAMINA_EXIT_FAILED;
                }
        } else if (size > 0 && fwrite(text, 1, size, stdout) != size) {
                log_error("cannot write the output: %m");
                return LAMINA_EXIT_FAILED;
        }
        return code;
}
