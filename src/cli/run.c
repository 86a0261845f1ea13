/* `lamina run` (and lamina started as pal_loader): load the manifest, compile it, make sure its
 * verified tree is ready, run the program in the sandbox, and exit as the program did. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/log.h"
#include "manifest/manifest.h"
#include "policy/policy.h"
#include "sandbox/sandbox.h"
#include "store/store.h"

extern char **environ;

/* The store: --store, else $XDG_CACHE_HOME/lamina, ~/.cache/lamina, or /var/cache/lamina for
 * root. */
int store_dir(const char *option, char **ret)
{
        const char *cache = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
        int r;

        if (option)
                r = asprintf(ret, "%s", option);
        else if (geteuid() == 0)
                r = asprintf(ret, "/var/cache/lamina");
        else if (cache && cache[0] == '/')
                r = asprintf(ret, "%s/lamina", cache);
        else if (home && home[0] == '/')
                r = asprintf(ret, "%s/.cache/lamina", home);
        else {
                log_error("no place for the store: set XDG_CACHE_HOME or HOME, or pass --store");
                return -ENOENT;
        }
        if (r < 0)
                return -ENOMEM;
        if (!option && geteuid() != 0) {
                /* the parent of a default store may be missing on a fresh account */
                char *slash = strrchr(*ret, '/');
                *slash = '\0';
                mkdir(*ret, 0700);
                *slash = '/';
        }
        return 0;
}

/* MANIFEST may be an executable whose <exe>.manifest is next to it, as Graphene allowed. */
static int find_manifest(const char *arg, char **ret)
{
        size_t n = strlen(arg);
        char *candidate = NULL;

        if ((n < 9 || strcmp(arg + n - 9, ".manifest") != 0) &&
            asprintf(&candidate, "%s.manifest", arg) >= 0 && access(candidate, F_OK) == 0) {
                *ret = candidate;
                return 0;
        }
        free(candidate);
        *ret = strdup(arg);
        return *ret ? 0 : -ENOMEM;
}

static log_level_t level_of(manifest_log_level_t l)
{
        switch (l) {
        case MANIFEST_LOG_NONE:
                return LOG_NONE;
        case MANIFEST_LOG_ERROR:
                return LOG_ERROR;
        case MANIFEST_LOG_WARNING:
                return LOG_WARNING;
        case MANIFEST_LOG_DEBUG:
                return LOG_DEBUG;
        default:
                return LOG_TRACE;
        }
}

typedef struct progress {
        bool shown;
} progress_t;

static void show_progress(uint64_t done, uint64_t total, void *userdata)
{
        progress_t *p = userdata;

        if (g_log_level < LOG_ERROR)
                return;
        fprintf(stderr, "\rlamina: verifying trusted files: %llu of %llu MiB",
                (unsigned long long)(done >> 20), (unsigned long long)(total >> 20));
        p->shown = true;
}

static int prepare_tree(const char *store_option, const vstore_spec_t *spec, char **ret_root)
{
        _cleanup_free_ char *dir = NULL;
        vstore_t *store = NULL;
        vstore_report_t report = {0};
        progress_t progress = {0};
        vstore_spec_t s = *spec;
        char hexbuf[2][2 * VSTORE_SHA256_SIZE + 1];
        int r;

        r = store_dir(store_option, &dir);
        if (r < 0)
                return LAMINA_EXIT_SETUP;
        r = vstore_open(dir, &store);
        if (r < 0) {
                errno = -r;
                if (r == -EPERM)
                        log_error("cannot use the store '%s': it must belong to you and be "
                                  "writable by no one else (chmod 0700)",
                                  dir);
                else
                        log_error("cannot open the store '%s': %m", dir);
                return LAMINA_EXIT_SETUP;
        }
        s.progress = show_progress;
        s.progress_userdata = &progress;
        r = vstore_prepare(store, &s, &report, ret_root);
        vstore_free(store);
        if (progress.shown)
                fputc('\n', stderr);
        if (r == -EBADMSG || report.mismatch_count > 0) {
                vstore_hex(report.mismatch.expected, hexbuf[0]);
                vstore_hex(report.mismatch.actual, hexbuf[1]);
                if (r == -EBADMSG) {
                        log_error("'%s' does not match its hash: the manifest entry %s expects "
                                  "sha256 %s, the file has %s",
                                  report.mismatch.host_path, report.mismatch.entry, hexbuf[0],
                                  hexbuf[1]);
                        return LAMINA_EXIT_DENIED;
                }
                log_notice("%zu trusted file(s) do not match their hash "
                           "(sgx.file_check_policy = \"allow_all_but_log\"); the first: '%s' "
                           "(%s) expects %s, has %s",
                           report.mismatch_count, report.mismatch.host_path, report.mismatch.entry,
                           hexbuf[0], hexbuf[1]);
        }
        if (r < 0) {
                errno = -r;
                if (report.message[0])
                        log_error("%s", report.message);
                else
                        log_error("cannot prepare the verified tree: %m");
                return LAMINA_EXIT_SETUP;
        }
        if (report.built && report.tofu > 0)
                log_notice("%zu trusted file(s) have no sha256 in the manifest: their hashes "
                           "were taken now and pinned for this manifest",
                           report.tofu);
        log_debug("verified tree %s: %s, %zu files, %zu hashed (%llu bytes)", spec->key,
                  report.built ? "built" : "reused", report.files, report.hashed,
                  (unsigned long long)report.hashed_bytes);
        return 0;
}

static int exit_code_of(const sandbox_result_t *res)
{
        switch (res->outcome) {
        case SANDBOX_RAN:
                if (WIFEXITED(res->status))
                        return WEXITSTATUS(res->status);
                return 128 + WTERMSIG(res->status);
        case SANDBOX_EXEC_FAILED:
                log_error("%s", res->message);
                return res->error == ENOENT ? LAMINA_EXIT_NOT_FOUND : LAMINA_EXIT_DENIED;
        default:
                log_error("%s", res->message);
                return LAMINA_EXIT_SETUP;
        }
}

int cmd_run(int argc, char **argv)
{
        static const struct option options[] = {
                {"store", required_argument, NULL, 's'},
                {"log-level", required_argument, NULL, 'l'},
                {"format", required_argument, NULL, 'f'},
                {},
        };
        _cleanup_(manifest_freep) manifest_t *m = NULL;
        _cleanup_(policy_freep) policy_t *p = NULL;
        _cleanup_free_ char *path = NULL, *root = NULL;
        manifest_options_t opts = {.format = MANIFEST_FORMAT_AUTO};
        manifest_error_t e = {0};
        const char *store_option = NULL, *level_option = NULL;
        _cleanup_close_ int log_fd = -1;
        sandbox_config_t config;
        sandbox_result_t res;
        int c, r;

        /* "+": options end at the manifest; what follows is the program's */
        while ((c = getopt_long(argc, argv, "+", options, NULL)) != -1) {
                switch (c) {
                case 's':
                        store_option = optarg;
                        break;
                case 'l':
                        level_option = optarg;
                        break;
                case 'f':
                        if (parse_format_option(optarg, &opts.format) < 0)
                                return LAMINA_EXIT_USAGE;
                        break;
                default:
                        return LAMINA_EXIT_USAGE;
                }
        }
        if (optind >= argc) {
                log_error("usage: lamina run [--store DIR] [--log-level LEVEL] MANIFEST [ARGS...]");
                return LAMINA_EXIT_USAGE;
        }
        if (level_option) {
                r = parse_log_level_option(level_option);
                if (r < 0) {
                        log_error("--log-level must be one of none, error, warning, debug, "
                                  "trace, all; not '%s'",
                                  level_option);
                        return LAMINA_EXIT_USAGE;
                }
                g_log_level = level_of((manifest_log_level_t)r);
        }

        r = find_manifest(argv[optind], &path);
        if (r < 0)
                return LAMINA_EXIT_SETUP;
        r = manifest_load(path, &opts, &e, &m);
        if (r < 0) {
                if (e.message[0])
                        log_input_error(&e);
                else
                        log_error_errno(r, "cannot load '%s': %m", path);
                return LAMINA_EXIT_SETUP;
        }
        if (!level_option)
                g_log_level = level_of(m->log_level);
        log_manifest_warnings(m);

        r = policy_compile(m, argv + optind + 1, (size_t)(argc - optind - 1), environ, &e, &p);
        if (r < 0) {
                if (e.message[0])
                        log_input_error(&e);
                else
                        log_error_errno(r, "cannot compile '%s': %m", path);
                return r == -EPERM ? LAMINA_EXIT_DENIED : LAMINA_EXIT_SETUP;
        }
        if (policy_insecure(p))
                log_notice("'%s' lists allowed files (sgx.allowed_files): they are not "
                           "integrity-checked, and code in them may run",
                           path);

        r = prepare_tree(store_option, policy_store_spec(p), &root);
        if (r != 0)
                return r;

        config = *policy_sandbox_config(p, root);
        /* at warning level and above, denials are explained (a listener costs ~20 us per
         * file syscall, so not at the default level) */
        config.explain = g_log_level >= LOG_WARNING;
        config.trace = g_log_level >= LOG_TRACE;
        config.log_fd = STDERR_FILENO;
        if (config.explain && m->log_file) {
                log_fd = open(m->log_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
                if (log_fd < 0) {
                        log_error("cannot open the log file '%s': %m", m->log_file);
                        return LAMINA_EXIT_SETUP;
                }
                config.log_fd = log_fd;
        }
        r = sandbox_run(&config, &res);
        if (r < 0) {
                log_error("%s", res.message);
                return LAMINA_EXIT_SETUP;
        }
        return exit_code_of(&res);
}
