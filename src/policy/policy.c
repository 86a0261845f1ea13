/* The manifest compiled into the store's spec and the sandbox's setup list (see policy.h).
 *
 * The view is: the verified tree as "/", read-only; the manifest's tmpfs mounts; a tmpfs at
 * /tmp unless the manifest mounts one; /proc and a minimal /dev with its own /dev/shm; and the
 * allowed host paths bound read-write at the place the view shows them. chroot mounts do not
 * bind anything: they only say where host files appear (manifest_view_path), and what appears
 * is what the manifest trusts or allows, as under Gramine's SGX checks. A manifest without
 * allowed files is secure: then every tmpfs is noexec too, and only verified code can run. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "manifest/emit.h"
#include "manifest/tree.h"
#include "policy/policy.h"
#include "shared/macro.h"
#include "shared/path.h"

/* A growing array of owned strings, NULL-terminated when it is used as argv or envp. */
typedef struct strv {
        char **items;
        size_t count, capacity;
} strv_t;

static int strv_push(strv_t *v, char *s)
{
        if (!s)
                return -ENOMEM;
        if (v->count + 2 > v->capacity) {
                size_t capacity = v->capacity ? 2 * v->capacity : 8;
                char **items = realloc(v->items, capacity * sizeof(*items));
                if (!items) {
                        free(s);
                        return -ENOMEM;
                }
                v->items = items;
                v->capacity = capacity;
        }
        v->items[v->count++] = s;
        v->items[v->count] = NULL;
        return 0;
}

static void strv_done(strv_t *v)
{
        for (size_t i = 0; i < v->count; i++)
                free(v->items[i]);
        free(v->items);
        *v = (strv_t){0};
}

struct policy {
        const manifest_t *m;                /* the main manifest */
        const manifest_t *const *manifests; /* it, then the child manifests it may start */
        size_t manifest_count;
        char measurement[2 * VSTORE_SHA256_SIZE + 1];
        bool insecure;
        bool creation_must_be_limited;

        vstore_file_t *files;
        size_t file_count;
        strv_t entries; /* the files' entry texts */
        strv_t mount_dirs, mount_files;
        vstore_spec_t spec;

        sandbox_op_t *ops;
        size_t op_count;
        strv_t op_strings; /* sources and targets of ops */
        strv_t argv, envp;
        sandbox_config_t config;
};

policy_t *policy_free(policy_t *p)
{
        if (!p)
                return NULL;
        free(p->files);
        strv_done(&p->entries);
        strv_done(&p->mount_dirs);
        strv_done(&p->mount_files);
        free(p->ops);
        strv_done(&p->op_strings);
        strv_done(&p->argv);
        strv_done(&p->envp);
        free(p);
        return NULL;
}

static int view_of(const char *host_path, char *buf, size_t size, void *userdata)
{
        return manifest_view_path(userdata, host_path, buf, size);
}

/* The measurement: SHA-256 of the resolved model as TOML, which holds every value that
 * decides what the program sees, after a tag for the tree format. */
static int measure(policy_t *p)
{
        static const char tag[] = "lamina-tree-v1\n";
        char *text = NULL;
        size_t size = 0;
        uint8_t hash[VSTORE_SHA256_SIZE];
        FILE *f;
        int r = 0;

        f = open_memstream(&text, &size);
        if (!f)
                return -ENOMEM;
        fputs(tag, f);
        /* the child manifests' files are in the same tree: they are part of what it is */
        for (size_t i = 0; i < p->manifest_count && r >= 0; i++) {
                tree_value_t *t = manifest_to_tree(p->manifests[i]);
                r = t ? tree_write_toml(t, f) : -ENOMEM;
                tree_free(t);
        }
        if (fclose(f) != 0 || r < 0) {
                free(text);
                return -ENOMEM;
        }
        vstore_sha256(text, size, hash);
        vstore_hex(hash, p->measurement);
        free(text);
        return 0;
}

static int add_op(policy_t *p, sandbox_op_type_t type, const char *source, const char *target,
                  unsigned flags)
{
        sandbox_op_t *ops = realloc(p->ops, (p->op_count + 1) * sizeof(*ops));
        int r;

        if (!ops)
                return -ENOMEM;
        p->ops = ops;
        ops[p->op_count] = (sandbox_op_t){.type = type, .flags = flags};
        if (source) {
                r = strv_push(&p->op_strings, strdup(source));
                if (r < 0)
                        return r;
                ops[p->op_count].source = p->op_strings.items[p->op_strings.count - 1];
        }
        r = strv_push(&p->op_strings, strdup(target));
        if (r < 0)
                return r;
        ops[p->op_count].target = p->op_strings.items[p->op_strings.count - 1];
        p->op_count++;
        return 0;
}

static bool manifest_mounts(const manifest_t *m, const char *path)
{
        for (size_t i = 0; i < m->mount_count; i++)
                if (m->mounts[i].type == MANIFEST_MOUNT_TMPFS && STREQ(m->mounts[i].path, path))
                        return true;
        return false;
}

static int compile_files(policy_t *p)
{
        size_t total = 0;

        for (size_t k = 0; k < p->manifest_count; k++)
                total += p->manifests[k]->trusted_file_count;
        p->files = calloc(total + 1, sizeof(*p->files));
        if (!p->files)
                return -ENOMEM;
        for (size_t k = 0; k < p->manifest_count; k++) {
                const manifest_t *m = p->manifests[k];

                for (size_t i = 0; i < m->trusted_file_count; i++) {
                        const manifest_file_t *f = &m->trusted_files[i];
                        char *entry = NULL;
                        int r;

                        if (asprintf(&entry, "%s:%u: %s", m->path, f->line, f->uri) < 0)
                                return -ENOMEM;
                        r = strv_push(&p->entries, entry);
                        if (r < 0)
                                return r;
                        p->files[p->file_count++] = (vstore_file_t){
                                .host_path = f->host_path,
                                .is_dir = f->is_dir,
                                .sha256 = f->has_sha256 ? f->sha256 : NULL,
                                .entry = entry,
                        };
                }
        }
        return 0;
}

static int shorter_target_first(const void *a, const void *b)
{
        size_t la = strlen(((const sandbox_op_t *)a)->target);
        size_t lb = strlen(((const sandbox_op_t *)b)->target);

        return la < lb ? -1 : la > lb;
}

static int compile_allowed(policy_t *p, const manifest_t *m, manifest_error_t *e);

/* A trusted file that the view would show in a tmpfs the sandbox mounts (/tmp, /dev/shm,
 * fs.mounts) would be hidden by it, and an allowed path below one would have no mount point:
 * refused, rather than a program that cannot find its file or a bind that fails. (An allowed
 * path at the tmpfs itself, "file:/tmp/", is bound over it, as Graphene's manifests expect.) */
static int check_not_hidden(policy_t *p, const manifest_t *m, manifest_error_t *e)
{
        const manifest_file_t *lists[] = {m->trusted_files, m->allowed_files};
        const size_t counts[] = {m->trusted_file_count, m->allowed_file_count};
        const char *const kinds[] = {"trusted file", "allowed path"};

        if (e)
                e->file = m->path;
        for (size_t l = 0; l < ELEMENTSOF(lists); l++)
                for (size_t i = 0; i < counts[l]; i++) {
                        const manifest_file_t *f = &lists[l][i];
                        char view[4096];
                        int r = manifest_view_path(m, f->host_path, view, sizeof(view));

                        if (r < 0)
                                return r;
                        for (size_t k = 0; k < p->op_count; k++) {
                                const sandbox_op_t *op = &p->ops[k];
                                if (op->type != SANDBOX_OP_TMPFS || !path_under(view, op->target) ||
                                    (l == 1 && STREQ(view, op->target)))
                                        continue;
                                diag_error(e, f->line, 1,
                                           "%s '%s' would be at '%s' in the view, where lamina "
                                           "mounts an empty tmpfs at '%s': keep it elsewhere",
                                           kinds[l], f->uri, view, op->target);
                                return -EINVAL;
                        }
                }
        return 0;
}

/* The view's mount points (made in the tree) and the setup list, in the order init runs it:
 * file systems first, then the allowed host paths, shortest view path first so that a bind
 * inside another lands on top of it. */
static int compile_view(policy_t *p, manifest_error_t *e)
{
        const manifest_t *m = p->m;
        unsigned exec_flag = p->insecure ? 0 : SANDBOX_NOEXEC;
        size_t first_bind;
        int r;

        r = strv_push(&p->mount_dirs, strdup("/proc"));
        if (r >= 0)
                r = add_op(p, SANDBOX_OP_PROC, NULL, "/proc", 0);
        if (r >= 0)
                r = strv_push(&p->mount_dirs, strdup("/dev"));
        if (r >= 0)
                r = add_op(p, SANDBOX_OP_DEV, NULL, "/dev", 0);
        if (r >= 0 && !manifest_mounts(m, "/dev/shm"))
                r = add_op(p, SANDBOX_OP_TMPFS, NULL, "/dev/shm", exec_flag | SANDBOX_CREATE);
        if (r >= 0 && !manifest_mounts(m, "/tmp")) {
                r = strv_push(&p->mount_dirs, strdup("/tmp"));
                if (r >= 0)
                        r = add_op(p, SANDBOX_OP_TMPFS, NULL, "/tmp", exec_flag | SANDBOX_CREATE);
        }
        if (r < 0)
                return r;

        for (size_t i = 0; i < m->mount_count; i++) {
                const manifest_mount_t *mt = &m->mounts[i];

                if (mt->type == MANIFEST_MOUNT_ENCRYPTED) {
                        diag_error(e, mt->line, 1, "encrypted mounts ('%s') are not supported yet",
                                   mt->path);
                        return -EOPNOTSUPP;
                }
                if (mt->type != MANIFEST_MOUNT_TMPFS)
                        continue;
                if (!STREQ(mt->path, "/dev/shm")) {
                        r = strv_push(&p->mount_dirs, strdup(mt->path));
                        if (r < 0)
                                return r;
                }
                r = add_op(p, SANDBOX_OP_TMPFS, NULL, mt->path, exec_flag | SANDBOX_CREATE);
                if (r < 0)
                        return r;
        }

        for (size_t k = 0; k < p->manifest_count && r >= 0; k++)
                r = check_not_hidden(p, p->manifests[k], e);
        if (r < 0)
                return r;

        first_bind = p->op_count;
        for (size_t k = 0; k < p->manifest_count && r >= 0; k++)
                r = compile_allowed(p, p->manifests[k], e);
        /* a bind inside another must come after it, to land on top of it */
        if (r >= 0)
                qsort(p->ops + first_bind, p->op_count - first_bind, sizeof(*p->ops),
                      shorter_target_first);
        return r;
}

/* A host path bound twice at one place (two manifests allow it) is bound once. */
static bool bound_already(const policy_t *p, const char *view)
{
        for (size_t i = 0; i < p->op_count; i++)
                if (p->ops[i].type == SANDBOX_OP_BIND && STREQ(p->ops[i].target, view))
                        return true;
        return false;
}

/* m's allowed host paths, bound read-write where the view shows them. */
static int compile_allowed(policy_t *p, const manifest_t *m, manifest_error_t *e)
{
        int r = 0;

        if (e)
                e->file = m->path; /* a child manifest's entry is that manifest's */

        for (size_t i = 0; i < m->allowed_file_count && r >= 0; i++) {
                const manifest_file_t *f = &m->allowed_files[i];
                char view[4096];
                struct stat st;

                if (stat(f->host_path, &st) < 0) {
                        r = -errno;
                        diag_error(e, f->line, 1, "allowed path '%s' (%s): %s", f->host_path,
                                   f->uri, strerror(-r));
                        break;
                }
                r = manifest_view_path(m, f->host_path, view, sizeof(view));
                if (r < 0)
                        break;
                if (bound_already(p, view))
                        continue;
                r = strv_push(S_ISDIR(st.st_mode) ? &p->mount_dirs : &p->mount_files, strdup(view));
                /* as in Graphene: new files in an allowed directory only when allowed */
                if (S_ISDIR(st.st_mode) && !m->allow_file_creation)
                        p->creation_must_be_limited = true;
                if (r >= 0)
                        r = add_op(p, SANDBOX_OP_BIND, f->host_path, view,
                                   m->allow_file_creation ? SANDBOX_CREATE : 0);
        }
        return r;
}

static const char *env_value(char *const *environ, const char *name)
{
        size_t n = strlen(name);

        for (size_t i = 0; environ && environ[i]; i++)
                if (strncmp(environ[i], name, n) == 0 && environ[i][n] == '=')
                        return environ[i] + n + 1;
        return NULL;
}

static int compile_process(policy_t *p, char *const *args, size_t count, char *const *environ,
                           manifest_error_t *e)
{
        const manifest_t *m = p->m;
        int r = 0;

        if (count > 0 && !m->use_cmdline_argv) {
                diag_error(e, 0, 0,
                           "the manifest takes no arguments from the command line; to pass "
                           "them, set loader.insecure__use_cmdline_argv = true");
                return -EPERM;
        }
        if (m->argv) {
                for (size_t i = 0; i < m->argv_count && r >= 0; i++)
                        r = strv_push(&p->argv, strdup(m->argv[i]));
        } else {
                r = strv_push(&p->argv,
                              strdup(m->argv0_override ? m->argv0_override : m->entrypoint));
                for (size_t i = 0; i < count && r >= 0; i++)
                        r = strv_push(&p->argv, strdup(args[i]));
        }
        if (r < 0)
                return r;

        if (m->use_host_env)
                for (size_t i = 0; environ && environ[i] && r >= 0; i++) {
                        const char *eq = strchr(environ[i], '=');
                        bool overridden = false;
                        for (size_t j = 0; eq && j < m->env_count; j++)
                                overridden = overridden ||
                                             (strlen(m->env[j].name) == (size_t)(eq - environ[i]) &&
                                              STRNEQ(m->env[j].name, environ[i],
                                                     (size_t)(eq - environ[i])));
                        if (!overridden)
                                r = strv_push(&p->envp, strdup(environ[i]));
                }
        for (size_t i = 0; i < m->env_count && r >= 0; i++) {
                const manifest_env_t *v = &m->env[i];
                const char *value = v->passthrough ? env_value(environ, v->name) : v->value;
                char *s = NULL;

                if (!value)
                        continue; /* passed through, but lamina has no such variable */
                if (asprintf(&s, "%s=%s", v->name, value) < 0)
                        return -ENOMEM;
                r = strv_push(&p->envp, s);
        }
        return r;
}

int policy_compile(const manifest_t *const *manifests, size_t manifest_count, char *const *args,
                   size_t count, char *const *environ, manifest_error_t *e, policy_t **ret)
{
        const manifest_t *m = manifests[0];
        _cleanup_(policy_freep) policy_t *p = calloc(1, sizeof(*p));
        int r;

        if (!p)
                return -ENOMEM;
        if (e)
                e->file = m->path;
        p->m = m;
        p->manifests = manifests;
        p->manifest_count = manifest_count;
        for (size_t k = 0; k < manifest_count; k++)
                p->insecure = p->insecure || manifests[k]->allowed_file_count > 0;
        r = measure(p);
        if (r >= 0)
                r = compile_files(p);
        if (r >= 0)
                r = compile_view(p, e);
        if (r >= 0)
                r = compile_process(p, args, count, environ, e);
        if (r < 0)
                return r;
        p->spec = (vstore_spec_t){
                .key = p->measurement,
                .label = m->path,
                .files = p->files,
                .file_count = p->file_count,
                .mount_dirs = (const char *const *)p->mount_dirs.items,
                .mount_dir_count = p->mount_dirs.count,
                .mount_files = (const char *const *)p->mount_files.items,
                .mount_file_count = p->mount_files.count,
                .view_of = view_of,
                .view_userdata = (void *)m,
                .warn_only = m->file_check_policy == MANIFEST_CHECK_ALLOW_ALL_BUT_LOG,
        };
        *ret = TAKE_PTR(p);
        return 0;
}

const vstore_spec_t *policy_store_spec(const policy_t *p)
{
        return &p->spec;
}

const sandbox_config_t *policy_sandbox_config(policy_t *p, const char *root)
{
        static char *const empty[] = {NULL};

        p->config = (sandbox_config_t){
                .root = root,
                .ops = p->ops,
                .op_count = p->op_count,
                .exec_path = p->m->entrypoint,
                .argv = p->argv.items,
                .envp = p->envp.items ? p->envp.items : empty,
                .cwd = p->m->start_dir,
                .fds_limit = p->m->fds_limit,
                .uid = p->m->uid.set ? (long)p->m->uid.id : -1,
                .gid = p->m->gid.set ? (long)p->m->gid.id : -1,
                .creation_must_be_limited = p->creation_must_be_limited,
                .filter = {.disallow_subprocesses = p->m->disallow_subprocesses},
        };
        return &p->config;
}

const char *policy_measurement(const policy_t *p)
{
        return p->measurement;
}

bool policy_insecure(const policy_t *p)
{
        return p->insecure;
}
