/* Hashing and content-addressed objects. Each file is read once: a chunk is read from the host,
 * hashed, and written to a temporary file in the store, which then gets its hash as its name;
 * so the bytes that were hashed are the bytes that the tree holds, whatever the host file does
 * meanwhile. A small pool of threads, one per online core, shares the files; the calling thread
 * only reports progress. (Copying first and hashing the copy through mmap, or reading into an
 * mmap of the copy, measured slower on ext4 and tmpfs: bench/hash.sh.) */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "shared/io.h"
#include "shared/macro.h"
#include "store/store-internal.h"

/* Big reads amortise the syscalls; 1 MiB measured as fast as 128-256 KiB on this kind of
 * machine (bench/hash.sh) and halves the syscalls for big files. */
#define CHUNK_SIZE (1024 * 1024)
/* vstore_hash_files() only hashes: a chunk that stays in the core's L2 cache while SHA-256 reads
 * it back (mmap was slower: 10,000 mappings cost more in page tables than the copy). */
#define HASH_CHUNK_SIZE (256 * 1024)
#define MAX_THREADS     64
#define READ_RETRIES    3

void vstore_sha256(const void *data, size_t size, uint8_t out[VSTORE_SHA256_SIZE])
{
        SHA256_CTX ctx;

        /* not SHA256(): in OpenSSL 3 that one goes through EVP and its provider loading */
        SHA256_Init(&ctx);
        SHA256_Update(&ctx, data, size);
        SHA256_Final(out, &ctx);
}

void vstore_hex(const uint8_t hash[VSTORE_SHA256_SIZE], char out[2 * VSTORE_SHA256_SIZE + 1])
{
        static const char digits[] = "0123456789abcdef";

        for (size_t i = 0; i < VSTORE_SHA256_SIZE; i++) {
                out[2 * i] = digits[hash[i] >> 4];
                out[2 * i + 1] = digits[hash[i] & 15];
        }
        out[2 * VSTORE_SHA256_SIZE] = '\0';
}

/* Opens the resolved host path (which has no symlink in it) without following any, and checks
 * that it is the inode that resolution found: a path swapped meanwhile is refused. */
static int open_host_file(const file_rec_t *f)
{
        struct open_how how = {
                .flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY,
                .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        _cleanup_close_ int fd =
                (int)syscall(SYS_openat2, AT_FDCWD, f->host_path, &how, sizeof(how));

        if (fd < 0 && (errno == ENOSYS || errno == E2BIG))
                fd = open(f->host_path, (int)how.flags);
        if (fd < 0)
                return errno == ELOOP ? -EAGAIN : -errno;
        return TAKE_FD(fd);
}

static bool same_identity(const struct stat *a, const struct stat *b)
{
        return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
               timespec_ns(&a->st_mtim) == timespec_ns(&b->st_mtim) &&
               timespec_ns(&a->st_ctim) == timespec_ns(&b->st_ctim);
}

static int write_all(int fd, const uint8_t *buf, size_t size)
{
        while (size > 0) {
                ssize_t n = write(fd, buf, size);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                buf += n;
                size -= (size_t)n;
        }
        return 0;
}

typedef struct pool {
        vstore_t *store;
        file_rec_t **files;
        size_t count;
        atomic_size_t next;
        atomic_uint_fast64_t done_bytes;
        atomic_bool stop;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        size_t running;
        size_t failed; /* the lowest index of a file that failed, under lock; count if none */
} pool_t;

/* One attempt at copying and hashing f into a temporary object; on success *ret_st is the
 * host file's identity before reading, and *ret_changed says whether it differed after. */
static int copy_once(pool_t *pool, file_rec_t *f, SHA256_CTX *ctx, uint8_t *buf, int out_fd,
                     struct stat *ret_st, bool *ret_changed)
{
        _cleanup_close_ int in_fd = -1;
        struct stat before, after;
        uint64_t copied = 0;
        int r;

        in_fd = open_host_file(f);
        if (in_fd < 0) {
                f->error_what = "open";
                return in_fd;
        }
        if (fstat(in_fd, &before) < 0) {
                f->error_what = "fstat";
                return -errno;
        }
        if (!S_ISREG(before.st_mode) || before.st_dev != f->dev || before.st_ino != f->ino) {
                f->error_what = "open";
                return -EAGAIN;
        }
        /* Only big files gain from a wider readahead; small ones would pay a syscall. */
        if (before.st_size > 8 * CHUNK_SIZE)
                (void)posix_fadvise(in_fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        SHA256_Init(ctx);
        for (;;) {
                ssize_t n = read_full(in_fd, buf, CHUNK_SIZE);

                if (n < 0) {
                        f->error_what = "read";
                        return (int)n;
                }
                if (n == 0)
                        break;
                SHA256_Update(ctx, buf, (size_t)n);
                r = write_all(out_fd, buf, (size_t)n);
                if (r < 0) {
                        f->error_what = "write to the store";
                        return r;
                }
                copied += (uint64_t)n;
                atomic_fetch_add_explicit(&pool->done_bytes, (uint64_t)n, memory_order_relaxed);
                if (atomic_load_explicit(&pool->stop, memory_order_relaxed))
                        return -ECANCELED;
                if (n < CHUNK_SIZE) /* the end: read_full() stops only there */
                        break;
        }
        SHA256_Final(f->sha256, ctx);
        if (fstat(in_fd, &after) < 0) {
                f->error_what = "fstat";
                return -errno;
        }
        *ret_st = before;
        *ret_changed = !same_identity(&before, &after) || copied != (uint64_t)before.st_size;
        return 0;
}

/* A temporary object: unnamed (O_TMPFILE) where the file system can, so that creating it takes
 * no lock on objects/ (both threads would queue there) and a crash leaves nothing behind;
 * otherwise a named .tmp-* file, which vstore_gc() removes if a build dies. */
static int tmp_create(vstore_t *s, char tmp[64])
{
        int fd;

        tmp[0] = '\0';
        if (s->tmpfile_link != TMPFILE_NONE) {
                fd = openat(s->objects_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0400);
                return fd < 0 ? -errno : fd;
        }
        snprintf(tmp, 64, TMP_PREFIX "%d-%ju", (int)getpid(),
                 (uintmax_t)atomic_fetch_add(&s->tmp_counter, 1));
        fd = openat(s->objects_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0400);
        return fd < 0 ? -errno : fd;
}

static void tmp_discard(vstore_t *s, const char *tmp)
{
        if (tmp[0])
                (void)unlinkat(s->objects_fd, tmp, 0);
}

/* Gives the temporary object its name; an object that exists already has these very bytes, so
 * it is kept and the copy dropped. */
static int tmp_publish(vstore_t *s, int fd, const char *tmp, const char *name)
{
        if (tmp[0]) {
                if (renameat2(s->objects_fd, tmp, s->objects_fd, name, RENAME_NOREPLACE) == 0)
                        return 0;
                int r = -errno;
                (void)unlinkat(s->objects_fd, tmp, 0);
                return r == -EEXIST ? 0 : r;
        }
        return tmpfile_link(s->tmpfile_link, fd, s->objects_fd, name);
}

int tmpfile_link(int how, int fd, int dirfd, const char *name)
{
        char proc[64];
        int r;

        if (how == TMPFILE_EMPTY_PATH)
                r = linkat(fd, "", dirfd, name, AT_EMPTY_PATH);
        else {
                snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
                r = linkat(AT_FDCWD, proc, dirfd, name, AT_SYMLINK_FOLLOW);
        }
        return r == 0 || errno == EEXIST ? 0 : -errno;
}

static int make_fanout_dir(vstore_t *s, const uint8_t sha[VSTORE_SHA256_SIZE], const char *name)
{
        uint64_t bit = UINT64_C(1) << (sha[0] & 63);
        atomic_uint_fast64_t *word = &s->fanout_made[sha[0] >> 6];
        char dir[3] = {name[0], name[1], '\0'};

        if (atomic_load_explicit(word, memory_order_relaxed) & bit)
                return 0;
        if (mkdirat(s->objects_fd, dir, 0700) < 0 && errno != EEXIST)
                return -errno;
        atomic_fetch_or(word, bit);
        return 0;
}

/* Copies and hashes one file into objects/; a file that changes while it is read is read
 * again, so that what the tree holds is one state of the file, not a mix of two. */
static int ingest(pool_t *pool, file_rec_t *f, SHA256_CTX *ctx, uint8_t *buf)
{
        vstore_t *s = pool->store;
        char tmp[64], name[OBJECT_NAME_MAX];
        _cleanup_close_ int out_fd = -1;
        struct stat st;
        bool changed = true;
        int r;

        for (int attempt = 0; changed && attempt < READ_RETRIES; attempt++) {
                if (out_fd >= 0) {
                        close(out_fd);
                        tmp_discard(s, tmp);
                }
                out_fd = tmp_create(s, tmp);
                if (out_fd < 0) {
                        f->error_what = "create in the store";
                        return out_fd;
                }
                r = copy_once(pool, f, ctx, buf, out_fd, &st, &changed);
                if (r < 0) {
                        tmp_discard(s, tmp);
                        return r;
                }
        }
        if (changed) {
                tmp_discard(s, tmp);
                f->error_what = "read (it kept changing)";
                return -EAGAIN;
        }
        f->exec = (st.st_mode & 0111) != 0;
        f->size = (uint64_t)st.st_size;
        f->mtime_ns = timespec_ns(&st.st_mtim);
        f->ctime_ns = timespec_ns(&st.st_ctim);
        object_name(f->sha256, f->exec, f->mtime_ns, name);
        if (fchmod(out_fd, f->exec ? 0555 : 0444) < 0) {
                r = -errno;
                f->error_what = "chmod in the store";
        } else if (futimens(out_fd, (struct timespec[]){st.st_mtim, st.st_mtim}) < 0) {
                r = -errno;
                f->error_what = "set the mtime in the store";
        } else {
                r = make_fanout_dir(s, f->sha256, name);
                f->error_what = "mkdir in the store";
        }
        if (r >= 0) {
                r = tmp_publish(s, out_fd, tmp, name);
                if (r == -ENOENT) {
                        /* A gc (of another process) removed objects/XX when it was empty. */
                        atomic_fetch_and(&s->fanout_made[f->sha256[0] >> 6],
                                         ~(UINT64_C(1) << (f->sha256[0] & 63)));
                        r = make_fanout_dir(s, f->sha256, name);
                        if (r >= 0)
                                r = tmp_publish(s, out_fd, tmp, name);
                }
                f->error_what = "link in the store";
        } else
                tmp_discard(s, tmp);
        if (r < 0)
                return r;
        f->error_what = NULL;
        f->have_hash = true;
        f->hashed = true;
        return 0;
}

static void *worker(void *userdata)
{
        pool_t *pool = userdata;
        SHA256_CTX sha, *ctx = &sha;
        _cleanup_free_ uint8_t *buf = malloc(CHUNK_SIZE);
        size_t failed = SIZE_MAX;

        for (;;) {
                size_t i = atomic_fetch_add(&pool->next, 1);

                if (i >= pool->count || atomic_load(&pool->stop))
                        break;
                file_rec_t *f = pool->files[i];
                int r = ctx && buf ? ingest(pool, f, ctx, buf) : -ENOMEM;
                if (r < 0 && r != -ECANCELED) {
                        f->error = r;
                        failed = i;
                        atomic_store(&pool->stop, true);
                        break;
                }
        }
        pthread_mutex_lock(&pool->lock);
        /* Report the failure with the lowest index, so that the message is the same whichever
         * thread got there first. */
        if (failed < pool->failed)
                pool->failed = failed;
        pool->running--;
        pthread_cond_signal(&pool->cond);
        pthread_mutex_unlock(&pool->lock);
        return NULL;
}

static size_t thread_count(size_t jobs)
{
        long n = sysconf(_SC_NPROCESSORS_ONLN);

        if (n < 1)
                n = 1;
        if (n > MAX_THREADS)
                n = MAX_THREADS;
        return MIN((size_t)n, jobs);
}

/* Which way of making temporary objects works here: tried on a throwaway object before the
 * first build of an open store (not at every open: a run that reuses its tree writes nothing),
 * so that a build never finds out halfway. */
static int probe_tmpfile(int objects_fd)
{
        static const int ways[] = {TMPFILE_EMPTY_PATH, TMPFILE_PROC};
        char name[64];

        snprintf(name, sizeof(name), TMP_PREFIX "probe-%d", (int)getpid());
        for (size_t i = 0; i < ELEMENTSOF(ways); i++) {
                _cleanup_close_ int fd =
                        openat(objects_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0400);
                if (fd < 0)
                        return TMPFILE_NONE;
                (void)unlinkat(objects_fd, name, 0);
                if (tmpfile_link(ways[i], fd, objects_fd, name) == 0) {
                        (void)unlinkat(objects_fd, name, 0);
                        return ways[i];
                }
        }
        return TMPFILE_NONE;
}

int hash_files(vstore_t *s, file_rec_t **files, size_t count, const vstore_spec_t *spec,
               file_rec_t **ret_failed)
{
        pool_t pool = {.store = s, .files = files, .count = count, .failed = count};
        pthread_t threads[MAX_THREADS];
        size_t n = thread_count(count), started = 0;
        uint64_t total = 0;
        bool reported = false;
        int r = 0;

        if (count == 0)
                return 0;
        if (s->tmpfile_link == TMPFILE_UNKNOWN)
                s->tmpfile_link = probe_tmpfile(s->objects_fd);
        for (size_t i = 0; i < count; i++)
                total += files[i]->size;
        pthread_condattr_t attr;
        pthread_mutex_init(&pool.lock, NULL);
        /* The deadlines below are on the monotonic clock; a condition variable waits on the
         * realtime clock unless told otherwise, and would then never wait at all. */
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&pool.cond, &attr);
        pthread_condattr_destroy(&attr);
        pthread_mutex_lock(&pool.lock);
        for (; started < n; started++) {
                int k = pthread_create(&threads[started], NULL, worker, &pool);
                if (k != 0) {
                        if (started == 0)
                                r = -k;
                        break;
                }
                pool.running++;
        }
        /* The calling thread only reports progress: callbacks then come from one thread, the
         * one that called vstore_prepare(). */
        struct timespec next;
        clock_gettime(CLOCK_MONOTONIC, &next);
        while (pool.running > 0) {
                next.tv_sec += 1;
                int k = 0;
                while (pool.running > 0 && k != ETIMEDOUT)
                        k = pthread_cond_timedwait(&pool.cond, &pool.lock, &next);
                if (pool.running > 0 && spec->progress) {
                        uint64_t done = atomic_load(&pool.done_bytes);
                        pthread_mutex_unlock(&pool.lock);
                        spec->progress(MIN(done, total), total, spec->progress_userdata);
                        reported = true;
                        pthread_mutex_lock(&pool.lock);
                }
        }
        pthread_mutex_unlock(&pool.lock);
        for (size_t i = 0; i < started; i++)
                pthread_join(threads[i], NULL);
        pthread_cond_destroy(&pool.cond);
        pthread_mutex_destroy(&pool.lock);
        if (r < 0)
                return r;
        if (pool.failed < count) {
                *ret_failed = files[pool.failed];
                return files[pool.failed]->error;
        }
        /* A last call at 100%, so that a progress line that was started can be finished. */
        if (reported)
                spec->progress(total, total, spec->progress_userdata);
        return 0;
}

int copy_object_at(vstore_t *s, const char *object, int dirfd, const char *name, mode_t mode)
{
        _cleanup_close_ int in_fd = -1, out_fd = -1;
        _cleanup_free_ uint8_t *buf = NULL;
        int r;

        in_fd = openat(s->objects_fd, object, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (in_fd < 0)
                return -errno;
        out_fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0400);
        if (out_fd < 0)
                return -errno;
        buf = malloc(CHUNK_SIZE);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n = read_full(in_fd, buf, CHUNK_SIZE);

                if (n < 0)
                        return (int)n;
                if (n == 0)
                        break;
                r = write_all(out_fd, buf, (size_t)n);
                if (r < 0)
                        return r;
                if (n < CHUNK_SIZE)
                        break;
        }
        if (fchmod(out_fd, mode) < 0)
                return -errno;
        {
                struct stat st;
                if (fstat(in_fd, &st) < 0 ||
                    futimens(out_fd, (struct timespec[]){st.st_mtim, st.st_mtim}) < 0)
                        return -errno;
        }
        return 0;
}

/* vstore_hash_files(): a pool of its own, simpler than the one above, since nothing is copied,
 * retried or recorded: each worker takes the next file, reads it in big chunks and hashes. */
typedef struct hash_pool {
        const char *const *paths;
        uint8_t (*hashes)[VSTORE_SHA256_SIZE];
        size_t count;
        atomic_size_t next;
        atomic_bool stop;
        pthread_mutex_t lock;
        size_t failed; /* lowest failed index, under lock; count if none */
        int error;
} hash_pool_t;

static int hash_one(const char *path, uint8_t *buf, uint8_t out[VSTORE_SHA256_SIZE])
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        struct stat st;
        SHA256_CTX ctx;

        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EINVAL;
        SHA256_Init(&ctx);
        for (;;) {
                ssize_t n = read_full(fd, buf, HASH_CHUNK_SIZE);

                if (n < 0)
                        return (int)n;
                if (n == 0)
                        break;
                SHA256_Update(&ctx, buf, (size_t)n);
                if (n < HASH_CHUNK_SIZE)
                        break;
        }
        SHA256_Final(out, &ctx);
        return 0;
}

static void *hash_worker(void *userdata)
{
        hash_pool_t *pool = userdata;
        _cleanup_free_ uint8_t *buf = malloc(HASH_CHUNK_SIZE);

        for (;;) {
                size_t i = atomic_fetch_add(&pool->next, 1);
                int r;

                if (i >= pool->count || atomic_load(&pool->stop))
                        break;
                r = buf ? hash_one(pool->paths[i], buf, pool->hashes[i]) : -ENOMEM;
                if (r < 0) {
                        pthread_mutex_lock(&pool->lock);
                        if (i < pool->failed) {
                                pool->failed = i;
                                pool->error = r;
                        }
                        pthread_mutex_unlock(&pool->lock);
                        atomic_store(&pool->stop, true);
                        break;
                }
        }
        return NULL;
}

int vstore_hash_files(const char *const *paths, size_t count, uint8_t (*hashes)[32],
                      size_t *ret_failed)
{
        hash_pool_t pool = {.paths = paths, .hashes = hashes, .count = count, .failed = count};
        pthread_t threads[MAX_THREADS];
        size_t n = thread_count(count), started = 0;

        if (count == 0)
                return 0;
        pthread_mutex_init(&pool.lock, NULL);
        /* the calling thread is one of the workers */
        for (; started + 1 < n; started++)
                if (pthread_create(&threads[started], NULL, hash_worker, &pool) != 0)
                        break;
        hash_worker(&pool);
        for (size_t i = 0; i < started; i++)
                pthread_join(threads[i], NULL);
        pthread_mutex_destroy(&pool.lock);
        if (pool.failed < count) {
                if (ret_failed)
                        *ret_failed = pool.failed;
                return pool.error;
        }
        return 0;
}
