/* The seccomp filter every process of a sandbox runs under: it denies what a program never
 * needs and what would let it out of its view (mounts, new namespaces, ptrace, kernel modules,
 * keyrings, bpf, ...), and lets everything else run natively, at full speed.
 *
 * Use: sandbox_filter_load() once, in the sandbox's init, after the view is built and before
 * the program is started; every child inherits the filter, and it cannot be removed. */
#pragma once

#include <stdbool.h>

typedef struct sandbox_filter_options {
        bool disallow_subprocesses; /* sys.disallow_subprocesses: fork and clone fail with EPERM */
} sandbox_filter_options_t;

/* Sets no_new_privs and loads the filter into the calling thread (and its future children).
 * Returns 0 or a negative errno (-ENOMEM, or what seccomp(2) said). */
int sandbox_filter_load(const sandbox_filter_options_t *opts);
