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
#include "sgx/sgx.h"
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

int sandbox_exit_code(const sandbox_result_t *res)
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

/* The processes of a sandbox and the manifest each runs, for the exec check of child
 * manifests: the listener's thread alone uses it. A process is known by its pid and start
 * time (a pid can be reused); one not in the list runs what its nearest listed ancestor
 * runs, and the program init started runs the main manifest. */
typedef struct exec_watch {
        const sgx_children_t *children;
        struct proc {
                pid_t pid;
                unsigned long long start;
                int manifest;
        } * procs;
        size_t count;
        pid_t lamina;
} exec_watch_t;

/* The parent and start time of pid, from /proc/PID/stat (whose comm field may hold spaces and
 * parentheses: the fields after it follow the last ')'). */
static int proc_stat(pid_t pid, pid_t *ret_ppid, unsigned long long *ret_start)
{
        char path[64], buf[1024], *p;
        _cleanup_fclose_ FILE *f = NULL;
        int ppid;
        size_t n;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        f = fopen(path, "re");
        if (!f)
                return -errno;
        n = fread(buf, 1, sizeof(buf) - 1, f);
        buf[n] = '\0';
        p = strrchr(buf, ')');
        /* state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime
         * cutime cstime priority nice num_threads itrealvalue starttime */
        if (!p || sscanf(p + 1,
                         " %*c %d %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s "
                         "%*s %*s %*s %llu",
                         &ppid, ret_start) != 2)
                return -EBADMSG;
        *ret_ppid = ppid;
        return 0;
}

static int manifest_of(exec_watch_t *w, pid_t pid)
{
        for (int depth = 0; depth < 64; depth++) {
                unsigned long long start;
                pid_t ppid, grandparent;

                if (proc_stat(pid, &ppid, &start) < 0)
                        return 0;
                for (size_t i = 0; i < w->count; i++)
                        if (w->procs[i].pid == pid && w->procs[i].start == start)
                                return w->procs[i].manifest;
                /* a child of init: the program, or an orphan, which runs what it ran */
                if (proc_stat(ppid, &grandparent, &start) < 0 || grandparent == w->lamina)
                        return 0;
                pid = ppid;
        }
        return 0;
}

static int watch_exec(pid_t pid, const char *path, char *message, size_t size, void *userdata)
{
        exec_watch_t *w = userdata;
        const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        unsigned long long start;
        pid_t ppid;
        int parent = manifest_of(w, pid), next;
        struct proc *grown;

        next = sgx_children_exec(w->children, parent, name, message, size);
        if (next < 0)
                return next;
        if (next == parent || proc_stat(pid, &ppid, &start) < 0)
                return 0;
        /* the exec may still fail; then the process goes on as before, which only matters if
         * it execs again, and then its entry is looked at again */
        for (size_t i = 0; i < w->count; i++)
                if (w->procs[i].pid == pid) {
                        w->procs[i] = (struct proc){pid, start, next};
                        return 0;
                }
        grown = reallocarray(w->procs, w->count + 1, sizeof(*grown));
        if (!grown)
                return 0;
        w->procs = grown;
        w->procs[w->count++] = (struct proc){pid, start, next};
        return 0;
}

static char *path_with_suffix(const char *path, const char *suffix)
{
        char *s = NULL;

        return asprintf(&s, "%s%s", path, suffix) < 0 ? NULL : s;
}

static bool ends_with(const char *s, const char *suffix)
{
        size_t n = strlen(s), k = strlen(suffix);

        return n >= k && STREQ(s + n - k, suffix);
}

/* The manifest to run: in SGX mode the signed one, as Graphene found it (the name given, with
 * .sgx added when missing); otherwise the one named, or its signed form when there is one,
 * whose hashes then apply too. NULL in *ret when SGX mode finds no signed manifest. */
static int choose_manifest(const char *named, bool sgx, char **ret)
{
        _cleanup_free_ char *signed_path = NULL;
        struct stat signed_st, named_st;

        signed_path = ends_with(named, ".sgx") ? strdup(named) : path_with_suffix(named, ".sgx");
        if (!signed_path)
                return -ENOMEM;
        if (stat(signed_path, &signed_st) == 0) {
                if (!sgx)
                        log_debug("using the signed manifest '%s' (and its hashes)", signed_path);
                /* an edit that was not signed again would otherwise go unseen */
                if (!ends_with(named, ".sgx") && stat(named, &named_st) == 0 &&
                    (named_st.st_mtim.tv_sec > signed_st.st_mtim.tv_sec ||
                     (named_st.st_mtim.tv_sec == signed_st.st_mtim.tv_sec &&
                      named_st.st_mtim.tv_nsec > signed_st.st_mtim.tv_nsec)))
                        log_notice("'%s' changed after '%s' was signed: running the signed one; "
                                   "sign it again to run the change",
                                   named, signed_path);
                *ret = TAKE_PTR(signed_path);
                return 0;
        }
        *ret = sgx ? NULL : strdup(named);
        return sgx || *ret ? 0 : -ENOMEM;
}

/* A signed manifest: in SGX mode, its signature, measurement and hashes are checked (and the
 * child manifests' too); in any mode, the signed manifests beside it are its possible
 * children. Returns 0 or the exit code to end with. */
static int check_signed(const char *path, const manifest_t *m, const char *text, size_t size,
                        bool sgx, sgx_children_t **ret_children)
{
        uint8_t measurement[SGX_HASH_SIZE], signer[SGX_HASH_SIZE];
        char hex_measurement[2 * SGX_HASH_SIZE + 1], hex_signer[2 * SGX_HASH_SIZE + 1];
        _cleanup_free_ char *token = NULL;
        sgx_error_t err = {0};
        int r;

        if (!ends_with(path, ".manifest.sgx"))
                return 0;
        /* Graphene's launch token came from Intel's service; lamina needs none */
        if (asprintf(&token, "%.*s.token", (int)(strlen(path) - strlen(".manifest.sgx")), path) >=
                    0 &&
            access(token, F_OK) == 0)
                log_debug("ignoring '%s': lamina needs no launch token", token);
        if (sgx) {
                r = sgx_verify(path, m, text, size, measurement, signer, &err);
                if (r < 0) {
                        log_error("%s", err.message);
                        return err.exit_code;
                }
                vstore_hex(measurement, hex_measurement);
                vstore_hex(signer, hex_signer);
                log_status("SGX mode: signed manifest verified (measurement %s, signer %s); no "
                           "hardware enclave: memory is not protected from the host",
                           hex_measurement, hex_signer);
        }
        r = sgx_children_load(path, m, text, size, sgx, ret_children, &err);
        if (r < 0) {
                if (err.message[0])
                        log_error("%s", err.message);
                else
                        log_error_errno(r, "cannot look at the manifests beside '%s': %m", path);
                return err.exit_code ? err.exit_code : LAMINA_EXIT_SETUP;
        }
        return 0;
}

int cmd_run(int argc, char **argv)
{
        static const struct option options[] = {
                {"store", required_argument, NULL, 's'},
                {"log-level", required_argument, NULL, 'l'},
                {"format", required_argument, NULL, 'f'},
                {"sgx", no_argument, NULL, 'x'},
                {},
        };
        _cleanup_(manifest_freep) manifest_t *m = NULL;
        _cleanup_(policy_freep) policy_t *p = NULL;
        _cleanup_free_ char *named = NULL, *path = NULL, *root = NULL, *text = NULL;
        _cleanup_free_ const manifest_t **manifests = NULL;
        sgx_children_t *children = NULL;
        exec_watch_t watch = {.lamina = getpid()};
        manifest_options_t opts = {.format = MANIFEST_FORMAT_AUTO};
        manifest_error_t e = {0};
        const char *store_option = NULL, *level_option = NULL, *sgx_env = getenv("SGX");
        bool sgx = sgx_env && STREQ(sgx_env, "1");
        _cleanup_close_ int log_fd = -1;
        sandbox_config_t config;
        sandbox_result_t res;
        size_t size = 0, manifest_count = 1;
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
                case 'x':
                        sgx = true;
                        break;
                default:
                        return LAMINA_EXIT_USAGE;
                }
        }
        if (optind >= argc) {
                log_error("usage: lamina run [--sgx] [--store DIR] [--log-level LEVEL] "
                          "[--format toml|legacy] MANIFEST [ARGS...]");
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

        r = find_manifest(argv[optind], &named);
        if (r >= 0)
                r = choose_manifest(named, sgx, &path);
        if (r < 0)
                return LAMINA_EXIT_SETUP;
        if (!path) {
                log_error("SGX mode needs the signed manifest '%s.sgx': make it with lamina sign",
                          named);
                return SGX_EXIT_MISSING;
        }
        r = sgx_read_file(path, &text, &size);
        if (r >= 0)
                r = manifest_parse(path, text, size, &opts, &e, &m);
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
        r = check_signed(path, m, text, size, sgx, &children);
        if (r != 0)
                return r;

        if (children) {
                const manifest_t **reachable;
                manifest_count = sgx_children_reachable(children, &reachable);
                manifests = calloc(manifest_count, sizeof(*manifests));
                if (!manifests)
                        return LAMINA_EXIT_FAILED;
                memcpy(manifests, reachable, manifest_count * sizeof(*manifests));
        }
        r = policy_compile(manifests ? manifests : (const manifest_t *const *)&m, manifest_count,
                           argv + optind + 1, (size_t)(argc - optind - 1), environ, &e, &p);
        if (r < 0) {
                if (e.message[0])
                        log_input_error(&e);
                else
                        log_error_errno(r, "cannot compile '%s': %m", path);
                sgx_children_free(children);
                return r == -EPERM ? LAMINA_EXIT_DENIED : LAMINA_EXIT_SETUP;
        }
        if (policy_insecure(p))
                log_notice("'%s' lists allowed files (sgx.allowed_files): they are not "
                           "integrity-checked, and code in them may run",
                           path);

        r = prepare_tree(store_option, policy_store_spec(p), &root);
        if (r != 0) {
                sgx_children_free(children);
                return r;
        }

        config = *policy_sandbox_config(p, root);
        /* at warning level and above, denials are explained (a listener costs ~20 us per
         * file syscall, so not at the default level) */
        config.explain = g_log_level >= LOG_WARNING;
        config.trace = g_log_level >= LOG_TRACE;
        config.log_fd = STDERR_FILENO;
        if (children && sgx_children_any(children)) {
                /* child manifests: every exec is looked at (one round trip per exec) */
                watch.children = children;
                config.exec_check = watch_exec;
                config.exec_userdata = &watch;
        }
        if ((config.explain || config.exec_check) && m->log_file) {
                log_fd = open(m->log_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
                if (log_fd < 0) {
                        log_error("cannot open the log file '%s': %m", m->log_file);
                        sgx_children_free(children);
                        return LAMINA_EXIT_SETUP;
                }
                config.log_fd = log_fd;
        }
        r = sandbox_run(&config, &res);
        free(watch.procs);
        sgx_children_free(children);
        if (r < 0) {
                log_error("%s", res.message);
                return LAMINA_EXIT_SETUP;
        }
        return sandbox_exit_code(&res);
}
