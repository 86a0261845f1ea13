#!/usr/bin/env bash
# How fast the store hashes and copies a first-time tree (issue: >= 80% of what `openssl speed`
# reports for SHA-256 on the same cores), and how long the check of an existing tree takes.
# A small C driver (below) prepares one tree from a directory entry of N files totalling SIZE
# bytes, into a fresh store each time; it is compiled here from src/store/*.c, so the script
# needs no build directory. Cold runs drop the page cache first (root only) so the host files
# come from disk; warm runs read them from the page cache. The store is written to the page
# cache either way (never fsync'd); the kernel writes it back to disk afterwards. Each run
# writes a new store, and all are removed at the end: ext4 makes new inodes slowly for a few
# minutes after many were deleted nearby (recently_deleted() in its inode allocator), which a
# store removed just before would charge to the next run.
# Usage: bench/hash.sh [FILES] [TOTAL_MIB] [RUNS] [WORK_DIR]   (default: 10000 1024 5 mktemp)
# WORK_DIR decides the file system of both the host files and the store.
set -euo pipefail
cd "$(dirname "$0")/.."
files=${1:-10000}
mib=${2:-1024}
runs=${3:-5}
work=${4:-}
if [ -z "$work" ]; then
        work=$(mktemp -d /var/tmp/lamina-hash-bench.XXXXXX)
        trap 'rm -rf "$work"' EXIT
else
        trap 'rm -rf "$work"/store.*' EXIT
fi
cores=$(getconf _NPROCESSORS_ONLN)

cat >"$work/driver.c" <<'C'
/* Prepares one tree from a directory entry, in a fresh store, and prints seconds and MB/s; with
 * "again", prepares it a second time (the check without hashing). "readonly" only reads and
 * hashes the files on the same number of threads, without copying: the ceiling for any design
 * that reads each byte once through read(). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"

static int identity(const char *host, char *buf, size_t size, void *u)
{
        (void)u;
        return snprintf(buf, size, "%s", host) >= (int)size ? -ENAMETOOLONG : 0;
}

static double now(void)
{
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static char **paths;
static size_t npaths;
static atomic_size_t next;

static void *reader(void *u)
{
        EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        char *buf = malloc(1 << 20);
        unsigned char out[32];
        (void)u;
        for (size_t i; (i = atomic_fetch_add(&next, 1)) < npaths;) {
                int fd = open(paths[i], O_RDONLY | O_CLOEXEC);
                ssize_t n;
                EVP_DigestInit_ex2(c, md, NULL);
                while ((n = read(fd, buf, 1 << 20)) > 0)
                        EVP_DigestUpdate(c, buf, (size_t)n);
                EVP_DigestFinal_ex(c, out, NULL);
                close(fd);
        }
        free(buf);
        EVP_MD_CTX_free(c);
        EVP_MD_free(md);
        return NULL;
}

static void list(const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        while ((de = readdir(d))) {
                char *p;
                if (de->d_name[0] == '.')
                        continue;
                if (asprintf(&p, "%s/%s", dir, de->d_name) < 0)
                        exit(1);
                if (de->d_type == DT_DIR) {
                        list(p);
                        free(p);
                } else {
                        paths = realloc(paths, (npaths + 1) * sizeof(*paths));
                        paths[npaths++] = p;
                }
        }
        closedir(d);
}

int main(int argc, char **argv)
{
        const char *mode = argv[1], *store = argv[2], *host = argv[3];
        double bytes = strtod(argv[4], NULL), t0, t1;

        if (strcmp(mode, "readonly") == 0) {
                long n = sysconf(_SC_NPROCESSORS_ONLN);
                pthread_t th[64];
                list(host);
                t0 = now();
                for (long i = 0; i < n && i < 64; i++)
                        pthread_create(&th[i], NULL, reader, NULL);
                for (long i = 0; i < n && i < 64; i++)
                        pthread_join(th[i], NULL);
                t1 = now();
                printf("%.3f %.0f\n", t1 - t0, bytes / (t1 - t0) / 1e6);
                return 0;
        }
        vstore_t *s;
        vstore_file_t f = {.host_path = host, .is_dir = true, .entry = "bench"};
        vstore_spec_t spec = {.key = "bench", .label = "bench", .files = &f, .file_count = 1,
                              .view_of = identity};
        vstore_report_t rep;
        char *root;
        int r = vstore_open(store, &s);
        if (r < 0)
                return fprintf(stderr, "vstore_open: %s\n", strerror(-r)), 1;
        t0 = now();
        r = vstore_prepare(s, &spec, &rep, &root);
        t1 = now();
        if (r < 0)
                return fprintf(stderr, "vstore_prepare: %s: %s\n", strerror(-r), rep.message), 1;
        free(root);
        if (strcmp(mode, "again") == 0) {
                t0 = now();
                r = vstore_prepare(s, &spec, &rep, &root);
                t1 = now();
                if (r < 0 || rep.hashed != 0)
                        return fprintf(stderr, "second prepare: %d %zu\n", r, rep.hashed), 1;
                free(root);
                printf("%.4f %zu\n", t1 - t0, rep.files);
        } else
                printf("%.3f %.0f %zu\n", t1 - t0, bytes / (t1 - t0) / 1e6, rep.hashed);
        vstore_free(s);
        return 0;
}
C
gcc -std=c17 -D_GNU_SOURCE -O2 -Isrc src/store/*.c "$work/driver.c" -o "$work/driver" -lcrypto -lpthread

# The host files: N files in directories of 100, random bytes (no file system compresses them).
if [ ! -d "$work/host" ]; then
        /usr/bin/python3 - "$work/host" "$files" $((mib * 1024 * 1024)) <<'PY'
import os, sys
root, n, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
size = total // n
buf = os.urandom(size + 4096)
for i in range(n):
    d = f"{root}/d{i // 100:04d}"
    if i % 100 == 0:
        os.makedirs(d, exist_ok=True)
    with open(f"{d}/f{i:06d}", "wb") as f:
        f.write(buf[i % 4096:i % 4096 + size])
PY
fi
bytes=$(( (mib * 1024 * 1024 / files) * files ))
fs=$(stat -f -c %T "$work")

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2)}'; }
settle() { sync; sleep 2; }

echo "== $files files, $mib MiB, $cores cores, file system $fs, $runs runs each (median)"
ossl=$(openssl speed -evp sha256 -multi "$cores" -bytes 1048576 -seconds 3 2>/dev/null |
       awk '/^sha256/ {sub(/k$/, "", $2); print $2 * 1000 / 1e6}')
echo "openssl speed -evp sha256 -multi $cores -bytes 1048576: ${ossl} MB/s"

for mode in readonly warm cold; do
        results=()
        for i in $(seq "$runs"); do
                store="$work/store.$mode.$i"
                settle
                if [ "$mode" = cold ]; then
                        if [ "$fs" = tmpfs ]; then echo "cold: not on tmpfs"; break; fi
                        if [ "$(id -u)" != 0 ]; then echo "cold: needs root (drop_caches)"; break; fi
                        echo 3 >/proc/sys/vm/drop_caches
                fi
                what=$([ "$mode" = readonly ] && echo readonly || echo build)
                results+=("$("$work/driver" "$what" "$store" "$work/host" "$bytes" |
                             awk '{print $2}')")
        done
        [ ${#results[@]} -eq 0 ] && continue
        mbs=$(printf '%s\n' "${results[@]}" | median)
        case $mode in
        readonly) label="read+hash only, no copy (ceiling), warm" ;;
        warm) label="first-time tree (hash+copy), host warm" ;;
        cold) label="first-time tree (hash+copy), host cold" ;;
        esac
        printf '%-48s %6.0f MB/s  %5.1f%% of openssl  (runs: %s)\n' "$label" "$mbs" \
                "$(echo "$mbs $ossl" | awk '{print 100 * $1 / $2}')" "${results[*]}"
done

results=()
for i in $(seq "$runs"); do
        settle
        results+=("$("$work/driver" again "$work/store.again.$i" "$work/host" "$bytes" |
                     awk '{print $1 * 1000}')")
done
printf '%-48s %6.1f ms  (runs: %s)\n' "check of an existing tree ($files files)" \
        "$(printf '%s\n' "${results[@]}" | median)" "${results[*]}"
