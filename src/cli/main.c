/* lamina's entry point: global options, then one subcommand. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/log.h"
#include "manifest/manifest.h"

static void help(FILE *f)
{
        fputs("Usage: lamina [--help] [--version] COMMAND [ARGS...]\n"
              "       pal_loader MANIFEST [ARGS...]   (lamina run under Graphene's name)\n"
              "\n"
              "Runs Linux programs under a Gramine/Graphene manifest.\n"
              "\n"
              "Commands:\n"
              "  run [--sgx] [--store DIR] [--log-level LEVEL] [--format toml|legacy] MANIFEST\n"
              "      [ARGS...]\n"
              "        Run the manifest's program in a sandbox whose root is the manifest's\n"
              "        verified tree. MANIFEST may also be a program whose MANIFEST.manifest\n"
              "        exists; its signed form MANIFEST.sgx is used when there is one. ARGS\n"
              "        reach the program only when the manifest sets\n"
              "        loader.insecure__use_cmdline_argv. The store defaults to\n"
              "        $XDG_CACHE_HOME/lamina (~/.cache/lamina), /var/cache/lamina for root.\n"
              "        With --sgx, or SGX=1 in the environment: SGX mode, which runs only a\n"
              "        signed manifest whose signature, measurement and hashes check out.\n"
              "  check [--format toml|legacy] [--json|--quiet] MANIFEST\n"
              "        Read and validate MANIFEST and print the resolved model: every key with\n"
              "        its effective value, file: URIs made absolute (as a TOML manifest, or\n"
              "        as JSON; nothing with --quiet). The language is detected from the\n"
              "        content unless --format.\n"
              "  manifest [-D NAME=VALUE]... TEMPLATE [OUTPUT]\n"
              "        Render a manifest template: {{ NAME }} and $(NAME) from -D,\n"
              "        {{ env.NAME }}, python.exe, python.stdlib, python.platstdlib,\n"
              "        python.purelib, python.distlib (from -D python=PATH, default\n"
              "        /usr/bin/python3) and arch_libdir. Writes OUTPUT, or stdout.\n"
              "  gen-key [PATH]\n"
              "        Make an RSA-3072 signing key (e = 3), mode 0600; default\n"
              "        $XDG_CONFIG_HOME/lamina/enclave-key.pem. Never overwrites.\n"
              "  sign --key KEY --manifest X.manifest --output X.manifest.sgx [--sig X.sig]\n"
              "       [--date YYYY-MM-DD]\n"
              "        Write the signed manifest (every trusted file with its sha256, every\n"
              "        trusted child with its measurement, every trusted signer as its\n"
              "        identity) and its signature (default X.sig).\n"
              "  sigview [--json] X.sig     Print every field of a signature.\n"
              "  measure X.manifest.sgx     Print a signed manifest's measurement.\n"
              "  trace [-o OUT] [--format toml|legacy] [--template] [--dirs]\n"
              "        [--against MANIFEST] [--log FILE] -- PROGRAM [ARGS...]\n"
              "        Run PROGRAM once in a read-only view of the host (writable: the working\n"
              "        directory, a fresh /tmp), record every file its processes use, and\n"
              "        write the manifest that runs it under lamina run (OUT, or stdout after\n"
              "        the program's output); with --against, what MANIFEST lacks and grants\n"
              "        in vain. --log FILE: each use as it happens.\n"
              "  store ls [--store DIR]     List the verified trees.\n"
              "  store gc [--store DIR]     Remove the objects no tree uses.\n"
              "\n"
              "Exit codes:\n"
              "  0  success\n"
              "  1  the input (manifest, template, key, signature) has an error; nothing done\n"
              "  2  wrong command line\n"
              "  3  lamina failed (I/O error, out of memory, ...)\n"
              "  run, trace: the program's exit code, or 128+N when signal N ended it; else\n"
              "  120  SGX mode: no signed manifest, or no .sig for it\n"
              "  121  SGX mode: a .sig that is malformed or whose signature does not verify\n"
              "  122  SGX mode: the manifest is not the one its .sig signed\n"
              "  123  SGX mode: a trusted file without a sha256\n"
              "  124  a child manifest beside it that does not load or, in SGX mode, verify\n"
              "  125  the manifest, the verified tree or the sandbox could not be made\n"
              "  126  not permitted: a hash mismatch, refused arguments, a program that\n"
              "       cannot be executed\n"
              "  127  the program is not in the view\n",
              f);
}

int parse_format_option(const char *s, manifest_format_t *ret)
{
        static const manifest_format_t formats[] = {MANIFEST_FORMAT_TOML, MANIFEST_FORMAT_LEGACY,
                                                    MANIFEST_FORMAT_AUTO};

        for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
                if (strcmp(s, manifest_format_name(formats[i])) == 0) {
                        *ret = formats[i];
                        return 0;
                }
        log_error("--format must be 'toml', 'legacy' or 'auto', not '%s'", s);
        return -EINVAL;
}

int parse_log_level_option(const char *s)
{
        static const char *const names[] = {"none", "error", "warning", "debug", "trace", "all"};

        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                if (strcmp(s, names[i]) == 0)
                        return (int)i;
        return -EINVAL;
}

int main(int argc, char **argv)
{
        static const struct option options[] = {
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, 'V'},
                {},
        };
        const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
        int c;

        /* Graphene's loader: `pal_loader MANIFEST ARGS...` is `lamina run MANIFEST ARGS...` */
        if (strcmp(name, "pal_loader") == 0)
                return cmd_run(argc, argv);

        /* "+": stop at the command; its options are its own */
        while ((c = getopt_long(argc, argv, "+hV", options, NULL)) != -1) {
                switch (c) {
                case 'h':
                        help(stdout);
                        return LAMINA_EXIT_OK;
                case 'V':
                        printf("lamina %s\n", LAMINA_VERSION);
                        return LAMINA_EXIT_OK;
                default:
                        help(stderr);
                        return LAMINA_EXIT_USAGE;
                }
        }
        if (optind >= argc) {
                help(stderr);
                return LAMINA_EXIT_USAGE;
        }
        argc -= optind;
        argv += optind;
        optind = 0; /* reset getopt for the command's own options */
        if (strcmp(argv[0], "check") == 0)
                return cmd_check(argc, argv);
        if (strcmp(argv[0], "manifest") == 0)
                return cmd_manifest(argc, argv);
        if (strcmp(argv[0], "run") == 0)
                return cmd_run(argc, argv);
        if (strcmp(argv[0], "store") == 0)
                return cmd_store(argc, argv);
        if (strcmp(argv[0], "gen-key") == 0)
                return cmd_gen_key(argc, argv);
        if (strcmp(argv[0], "sign") == 0)
                return cmd_sign(argc, argv);
        if (strcmp(argv[0], "trace") == 0)
                return cmd_trace(argc, argv);
        if (strcmp(argv[0], "sigview") == 0)
                return cmd_sigview(argc, argv);
        if (strcmp(argv[0], "measure") == 0)
                return cmd_measure(argc, argv);
        if (strcmp(argv[0], "help") == 0) {
                help(stdout);
                return LAMINA_EXIT_OK;
        }
        log_error("unknown command '%s'; see 'lamina --help'", argv[0]);
        return LAMINA_EXIT_USAGE;
}
