/* lamina's subcommands and exit codes. Each command parses its own options and returns an exit
 * code from this list; a program's own exit code, once lamina runs programs, passes through
 * untouched. Keep `lamina --help` (main.c) in step with this enum. */
#pragma once

typedef enum lamina_exit {
        LAMINA_EXIT_OK = 0,
        LAMINA_EXIT_INVALID = 1, /* the input (manifest, template) has an error; nothing done */
        LAMINA_EXIT_USAGE = 2,   /* the command line is wrong */
        LAMINA_EXIT_FAILED = 3,  /* lamina could not do it (I/O error, out of memory, ...) */
} lamina_exit_t;

int cmd_check(int argc, char **argv);
int cmd_manifest(int argc, char **argv);

/* Parses "toml", "legacy" or "auto" for --format; -EINVAL otherwise. */
int parse_format_option(const char *s);
