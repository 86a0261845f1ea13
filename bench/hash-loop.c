/* The ceiling for bench/sign.sh: the least a program can do to hash N files on W cores (W
 * processes, each opening, reading in 256 KiB chunks, hashing and closing every W-th file of
 * DIR/f00000...), with nothing of lamina's around it. Prints MB/s.
 * Usage: hash-loop N W DIR TOTAL_BYTES */
#define _GNU_SOURCE
#define OPENSSL_SUPPRESS_DEPRECATED
#include <fcntl.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
        static unsigned char buf[256 * 1024];
        struct timespec start, end;
        int n, workers, failed = 0, status;

        if (argc != 5)
                return 2;
        n = atoi(argv[1]);
        workers = atoi(argv[2]);
        clock_gettime(CLOCK_MONOTONIC, &start);
        for (int w = 0; w < workers; w++) {
                if (fork() != 0)
                        continue;
                for (int i = w; i < n; i += workers) {
                        unsigned char out[SHA256_DIGEST_LENGTH];
                        char path[4096];
                        SHA256_CTX ctx;
                        ssize_t k;
                        int fd;

                        snprintf(path, sizeof(path), "%s/f%05d", argv[3], i);
                        fd = open(path, O_RDONLY | O_CLOEXEC);
                        if (fd < 0)
                                _exit(1);
                        SHA256_Init(&ctx);
                        while ((k = read(fd, buf, sizeof(buf))) > 0)
                                SHA256_Update(&ctx, buf, (size_t)k);
                        SHA256_Final(out, &ctx);
                        close(fd);
                        if (k < 0)
                                _exit(1);
                }
                _exit(0);
        }
        while (wait(&status) > 0)
                failed |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
        clock_gettime(CLOCK_MONOTONIC, &end);
        if (failed)
                return 1;
        printf("%.0f\n", atof(argv[4]) /
                                 ((double)(end.tv_sec - start.tv_sec) +
                                  (double)(end.tv_nsec - start.tv_nsec) / 1e9) /
                                 1e6);
        return 0;
}
