/* `lamina store ls` and `lamina store gc`: look after the verified store. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/log.h"
#include "store/store.h"

static int store_ls(vstore_t *s)
{
        vstore_tree_info_t *trees = NULL;
        size_t count = 0;
        int r = vstore_list(s, &trees, &count);

        if (r < 0) {
                errno = -r;
                log_error("cannot list the store: %m");
                return LAMINA_EXIT_FAILED;
        }
        for (size_t i = 0; i < count; i++) {
                char when[32] = "-";
                time_t t = (time_t)trees[i].last_used;
                struct tm tm;

                if (t > 0 && localtime_r(&t, &tm))
                        strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
                printf("%.16s  %6zu files  %8.1f MiB  used %s  %s\n", trees[i].key, trees[i].files,
                       (double)trees[i].bytes / (1 << 20), when, trees[i].label);
        }
        free(trees);
        return LAMINA_EXIT_OK;
}

static int store_gc(vstore_t *s)
{
        uint64_t freed = 0;
        int r = vstore_gc(s, &freed);

        if (r < 0) {
                errno = -r;
                log_error("cannot clean the store: %m");
                return LAMINA_EXIT_FAILED;
        }
        printf("removed %d unused object(s), %.1f MiB\n", r, (double)freed / (1 << 20));
        return LAMINA_EXIT_OK;
}

int cmd_store(int argc, char **argv)
{
        static const struct option options[] = {
                {"store", required_argument, NULL, 's'},
                {},
        };
        _cleanup_free_ char *dir = NULL;
        const char *option = NULL;
        vstore_t *s = NULL;
        int c, r;

        while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
                if (c != 's')
                        return LAMINA_EXIT_USAGE;
                option = optarg;
        }
        if (argc - optind != 1 ||
            (strcmp(argv[optind], "ls") != 0 && strcmp(argv[optind], "gc") != 0)) {
                log_error("usage: lamina store ls|gc [--store DIR]");
                return LAMINA_EXIT_USAGE;
        }
        if (store_dir(option, &dir) < 0)
                return LAMINA_EXIT_FAILED;
        r = vstore_open(dir, &s);
        if (r < 0) {
                errno = -r;
                log_error("cannot open the store '%s': %m", dir);
                return LAMINA_EXIT_FAILED;
        }
        r = strcmp(argv[optind], "ls") == 0 ? store_ls(s) : store_gc(s);
        vstore_free(s);
        return r;
}
