/* The policy: a manifest compiled into what the store and the sandbox execute, checked before
 * anything is created.
 *
 * Use:
 *   1) policy_compile() a loaded manifest with lamina's command-line arguments and
 *      environment: it computes the manifest's measurement, the verified tree's spec (trusted
 *      files, mount points, the host-to-view mapping) and the sandbox's setup list (binds of
 *      allowed files, tmpfs, /proc, /dev), argv, environment and working directory;
 *   2) hand policy_store_spec() to vstore_prepare(), then policy_sandbox_config() with the
 *      tree's root to sandbox_run();
 *   3) policy_free().
 * Errors about the manifest's content come back as -EINVAL, -ENOENT, -EPERM or -EOPNOTSUPP
 * with a manifest_error_t naming the entry. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "manifest/diag.h"
#include "manifest/manifest.h"
#include "sandbox/sandbox.h"
#include "store/store.h"

typedef struct policy policy_t;

/* Compiles manifests[0], the main manifest, with the child manifests it may start after it
 * (their trusted and allowed files join the view; manifest_count is 1 without children; the
 * array must outlive the policy). args (count elements) are the program's arguments from
 * lamina's command line; environ is lamina's environment (for passthrough and
 * insecure__use_host_env). Errors:
 * -EPERM when args are given and the manifest does not allow them, -ENOENT when an allowed
 * host path does not exist, -EOPNOTSUPP for encrypted mounts, -EINVAL for a view that cannot
 * be built (a file under a tmpfs mount), -ENOMEM. e names the entry. */
int policy_compile(const manifest_t *const *manifests, size_t manifest_count, char *const *args,
                   size_t count, char *const *environ, manifest_error_t *e, policy_t **ret);

policy_t *policy_free(policy_t *p);

static inline void policy_freep(policy_t **p)
{
        policy_free(*p);
}

/* The verified tree that the manifest needs. Valid as long as p (and the manifest) are. */
const vstore_spec_t *policy_store_spec(const policy_t *p);

/* The sandbox that runs the program in the tree at root. Valid as long as p is. */
const sandbox_config_t *policy_sandbox_config(policy_t *p, const char *root);

/* The measurement of the manifest, in hex: the SHA-256 of its resolved model. */
const char *policy_measurement(const policy_t *p);

/* True when the manifest lets unverified files in (allowed files): lamina says so once. */
bool policy_insecure(const policy_t *p);
