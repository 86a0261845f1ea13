/* lamina's subcommands and exit codes. Each command parses its own options and returns an exit
 * code from this list; a program's own exit code, once lamina runs programs, passes through
 * untouched. Keep `lamina --help` (main.c) in step with this enum. */
#pragma once

#include <sys/types.h>

#include "manifest/manifest.h"

typedef enum lamina_exit {
        LAMINA_EXIT_OK = 0,
        LAMINA_EXIT_INVALID = 1, /* the input (manifest, template) has an error; nothing done */
        LAMINA_EXIT_USAGE = 2,   /* the command line is wrong */
        LAMINA_EXIT_FAILED = 3,  /* lamina could not do it (I/O error, out of memory, ...) */
        /* lamina run: the program's own exit code, or 128+N when signal N ended it; else */
        LAMINA_EXIT_SETUP = 125,     /* the manifest, the tree or the sandbox could not be made */
        LAMINA_EXIT_DENIED = 126,    /* not permitted: a hash mismatch, arguments the manifest
                                        refuses, a program that cannot be executed */
        LAMINA_EXIT_NOT_FOUND = 127, /* the program is not in the view */
} lamina_exit_t;

/* {{ arch_libdir }} of templates, as Gramine's template environment has it. */
#if defined(__x86_64__)
#define ARCH_LIBDIR "/lib/x86_64-linux-gnu"
#elif defined(__aarch64__)
#define ARCH_LIBDIR "/lib/aarch64-linux-gnu"
#elif defined(__i386__)
#define ARCH_LIBDIR "/lib/i386-linux-gnu"
#else
#error "arch_libdir is not known for this architecture"
#endif

int cmd_check(int argc, char **argv);
int cmd_manifest(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_store(int argc, char **argv);
int cmd_gen_key(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_sigview(int argc, char **argv);
int cmd_measure(int argc, char **argv);
int cmd_trace(int argc, char **argv);

struct sandbox_result;
/* The exit code of a sandboxed run: the program's (128+N for signal N), or lamina's own after
 * logging why the program did not run. */
int sandbox_exit_code(const struct sandbox_result *res);

/* Writes size bytes to path through a temporary file in its directory, renamed over it: the
 * file is the old one or the whole new one, never half of it. Returns 0 or -errno. */
int write_file_atomically(const char *path, const char *text, size_t size, mode_t mode);

/* The store directory: option (--store), or the default for this user. */
int store_dir(const char *option, char **ret);

/* Parses a log level name (none, error, warning, debug, trace, all) into a
 * manifest_log_level_t; -EINVAL otherwise. */
int parse_log_level_option(const char *s);

/* Parses "toml", "legacy" or "auto" for --format into *ret; otherwise logs why and returns
 * -EINVAL. */
int parse_format_option(const char *s, manifest_format_t *ret);
