/* Replays fuzz corpora without libFuzzer: every file named on the command line, or found in a
 * directory named there, is passed once to LLVMFuzzerTestOneInput. A crash or sanitizer report
 * fails the test, so every input a fuzzer once found stays a regression test. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
        FILE *f = fopen(path, "rbe");
        uint8_t *data = NULL;
        size_t size = 0, capacity = 0;

        if (!f) {
                fprintf(stderr, "fuzz-main: cannot open '%s': %s\n", path, strerror(errno));
                return -1;
        }
        for (;;) {
                if (size == capacity) {
                        capacity = capacity ? capacity * 2 : 4096;
                        uint8_t *grown = realloc(data, capacity);
                        if (!grown) {
                                fclose(f);
                                free(data);
                                return -1;
                        }
                        data = grown;
                }
                size_t n = fread(data + size, 1, capacity - size, f);
                if (n == 0)
                        break;
                size += n;
        }
        fclose(f);
        LLVMFuzzerTestOneInput(data, size);
        free(data);
        return 0;
}

static int replay(const char *path, unsigned *count)
{
        struct stat st;
        struct dirent **names;
        int n, r = 0;

        if (stat(path, &st) < 0) {
                fprintf(stderr, "fuzz-main: cannot stat '%s': %s\n", path, strerror(errno));
                return -1;
        }
        if (!S_ISDIR(st.st_mode)) {
                (*count)++;
                return replay_file(path);
        }
        n = scandir(path, &names, NULL, alphasort);
        if (n < 0) {
                fprintf(stderr, "fuzz-main: cannot list '%s': %s\n", path, strerror(errno));
                return -1;
        }
        for (int i = 0; i < n; i++) {
                char child[4096];
                if (names[i]->d_name[0] != '.' && r == 0) {
                        snprintf(child, sizeof(child), "%s/%s", path, names[i]->d_name);
                        r = replay(child, count);
                }
                free(names[i]);
        }
        free(names);
        return r;
}

int main(int argc, char **argv)
{
        unsigned count = 0;

        if (argc < 2) {
                fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
                return 2;
        }
        for (int i = 1; i < argc; i++)
                if (replay(argv[i], &count) < 0)
                        return 1;
        if (count == 0) {
                fprintf(stderr, "fuzz-main: no corpus files found\n");
                return 1;
        }
        printf("replayed %u inputs\n", count);
        return 0;
}
