/* `lamina check`: read and validate a manifest, print the resolved model. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"
#include "cli/log.h"
#include "manifest/emit.h"
#include "manifest/manifest.h"
#include "manifest/tree.h"

int cmd_check(int argc, char **argv)
{
        static const struct option options[] = {
                {"format", required_argument, NULL, 'f'},
                {"json", no_argument, NULL, 'j'},
                {"quiet", no_argument, NULL, 'q'},
                {},
        };
        _cleanup_(manifest_freep) manifest_t *m = NULL;
        manifest_options_t opts = {.format = MANIFEST_FORMAT_AUTO};
        manifest_error_t e = {0};
        tree_value_t *tree;
        bool json = false, quiet = false;
        int c, r;

        while ((c = getopt_long(argc, argv, "f:jq", options, NULL)) != -1) {
                switch (c) {
                case 'f':
                        if (parse_format_option(optarg, &opts.format) < 0)
                                return LAMINA_EXIT_USAGE;
                        break;
                case 'j':
                        json = true;
                        break;
                case 'q':
                        quiet = true;
                        break;
                default:
                        return LAMINA_EXIT_USAGE;
                }
        }
        if (json && quiet) {
                log_error("--json and --quiet conflict: choose one");
                return LAMINA_EXIT_USAGE;
        }
        if (argc - optind != 1) {
                log_error("usage: lamina check [--format toml|legacy] [--json|--quiet] MANIFEST");
                return LAMINA_EXIT_USAGE;
        }

        r = manifest_load(argv[optind], &opts, &e, &m);
        if (r < 0 && e.message[0]) {
                /* the input is at fault: bad content, or a file that cannot be read */
                log_input_error(&e);
                return LAMINA_EXIT_INVALID;
        }
        if (r < 0) {
                errno = -r;
                log_error("cannot load '%s': %m", argv[optind]);
                return LAMINA_EXIT_FAILED;
        }
        log_manifest_warnings(m);
        if (quiet)
                return LAMINA_EXIT_OK;

        tree = manifest_to_tree(m);
        if (!tree) {
                log_error("out of memory");
                return LAMINA_EXIT_FAILED;
        }
        if (!json)
                printf("# %s (%s), resolved by lamina %s\n", m->path,
                       manifest_format_name(m->format), LAMINA_VERSION);
        r = json ? tree_write_json(tree, stdout) : tree_write_toml(tree, stdout);
        tree_free(tree);
        if (r < 0 || fflush(stdout) != 0) {
                log_error("cannot write the model: %m");
                return LAMINA_EXIT_FAILED;
        }
        return LAMINA_EXIT_OK;
}
