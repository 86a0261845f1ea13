/* The words of explain's report lines: a string builder, paths quoted so that they can be
 * pasted into a TOML manifest, and "who": a process's pid as its sandbox sees it and the argv
 * of it and its parents, read from /proc. A line must stay one line and readable whatever a
 * program puts in its argv, so control characters and broken UTF-8 there become '?', and each
 * argument and each process is cut short. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "explain/explain-internal.h"
#include "shared/io.h"
#include "shared/utf8.h"

#define ARG_SHOWN_MAX     40   /* bytes of one argument shown */
#define PROCESS_SHOWN_MAX 160  /* bytes of one process's argv shown */
#define CHAIN_MAX         8    /* processes shown */
#define CMDLINE_READ_MAX  4096 /* bytes of /proc/PID/cmdline read */

void strbuf_add_quoted(strbuf_t *b, const char *s)
{
        size_t len = strlen(s);

        for (size_t i = 0; i < len;) {
                unsigned char c = (unsigned char)s[i];
                size_t n;

                switch (c) {
                case '"':
                        strbuf_add(b, "\\\"", 2);
                        break;
                case '\\':
                        strbuf_add(b, "\\\\", 2);
                        break;
                case '\t':
                        strbuf_add(b, "\\t", 2);
                        break;
                case '\n':
                        strbuf_add(b, "\\n", 2);
                        break;
                case '\r':
                        strbuf_add(b, "\\r", 2);
                        break;
                default:
                        if (c < 0x20 || c == 0x7f) {
                                strbuf_addf(b, "\\u%04x", c);
                                break;
                        }
                        n = utf8_sequence_size(s + i, len - i);
                        if (n == 0) {
                                strbuf_addf(b, "\\x%02x", c);
                                break;
                        }
                        strbuf_add(b, s + i, n);
                        i += n;
                        continue;
                }
                i++;
        }
}

/* Reads a small /proc file below dirfd into buf, NUL-terminated. Returns its size or -errno. */
static ssize_t read_proc(int dirfd, const char *name, char *buf, size_t size)
{
        _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        ssize_t done;

        if (fd < 0)
                return -errno;
        done = read_full(fd, buf, size - 1);
        if (done >= 0)
                buf[done] = '\0';
        return done;
}

/* The value of "Key:\t..." in /proc/PID/status, or NULL. */
static const char *status_field(const char *status, const char *key)
{
        size_t n = strlen(key);

        for (const char *line = status; line && *line;) {
                if (strncmp(line, key, n) == 0 && line[n] == ':')
                        return line + n + 1;
                line = strchr(line, '\n');
                if (line)
                        line++;
        }
        return NULL;
}

typedef struct status_info {
        pid_t ns_pid; /* in its own pid namespace (the last of NStgid), or -1 */
        pid_t ppid;   /* as lamina sees it, or 0 */
        char name[64];
} status_info_t;

static void read_status(int procfd, status_info_t *ret)
{
        char status[4096];
        const char *v;

        *ret = (status_info_t){.ns_pid = -1};
        if (read_proc(procfd, "status", status, sizeof(status)) < 0)
                return;
        v = status_field(status, "Name");
        if (v) {
                v += strspn(v, " \t");
                snprintf(ret->name, sizeof(ret->name), "%.*s", (int)strcspn(v, "\n"), v);
        }
        v = status_field(status, "PPid");
        if (v)
                ret->ppid = (pid_t)strtol(v, NULL, 10);
        /* a thread's notification names the thread: the process is NStgid, not NSpid */
        v = status_field(status, "NStgid");
        if (!v)
                v = status_field(status, "Tgid");
        if (v) {
                const char *end = v + strcspn(v, "\n"), *last = v;
                for (const char *p = v; p < end; p++)
                        if ((*p == '\t' || *p == ' ') && p + 1 < end && p[1] != '\t' && p[1] != ' ')
                                last = p + 1;
                ret->ns_pid = (pid_t)strtol(last, NULL, 10);
        }
}

/* Adds at most max bytes of s (size bytes) with control characters and broken UTF-8 as '?';
 * returns the bytes of s consumed, never cutting a UTF-8 sequence. */
static size_t add_sanitized(strbuf_t *b, const char *s, size_t size, size_t max)
{
        size_t i = 0;

        while (i < size && i < max) {
                unsigned char c = (unsigned char)s[i];
                size_t n = utf8_sequence_size(s + i, size - i);

                if (c < 0x20 || c == 0x7f || n == 0) {
                        strbuf_add(b, "?", 1);
                        i++;
                        continue;
                }
                if (i + n > max)
                        break;
                strbuf_add(b, s + i, n);
                i += n;
        }
        return i;
}

/* "python3 scripts/x.py": the argv, each argument and the whole cut short with "...";
 * "[name]" for a process without one (a zombie, or one that cleared it). */
static void add_argv(strbuf_t *b, int procfd, const char *name)
{
        char cmdline[CMDLINE_READ_MAX + 1];
        ssize_t size = read_proc(procfd, "cmdline", cmdline, sizeof(cmdline));
        size_t shown = 0;

        while (size > 0 && cmdline[size - 1] == '\0')
                size--;
        if (size <= 0) {
                strbuf_addf(b, "[%s]", name[0] ? name : "?");
                return;
        }
        for (const char *arg = cmdline; arg < cmdline + size;) {
                size_t len = strnlen(arg, (size_t)(cmdline + size - arg));
                size_t room = PROCESS_SHOWN_MAX - shown, used;

                if (arg != cmdline) {
                        if (room <= 1) {
                                strbuf_add(b, "...", 3);
                                return;
                        }
                        strbuf_add(b, " ", 1);
                        shown++;
                        room--;
                }
                used = add_sanitized(b, arg, len, MIN(room, (size_t)ARG_SHOWN_MAX));
                shown += used;
                if (used < len) {
                        strbuf_add(b, "...", 3);
                        if (shown >= PROCESS_SHOWN_MAX)
                                return;
                }
                arg += len + 1;
        }
}

void process_describe(int proc_fd, int procfd, pid_t stop_pid, strbuf_t *b)
{
        pid_t self = getpid();
        status_info_t info;

        read_status(procfd, &info);
        if (info.ns_pid > 0)
                strbuf_addf(b, "%d (", (int)info.ns_pid);
        else
                strbuf_add(b, "? (", 3);
        add_argv(b, procfd, info.name);
        for (int shown = 1;; shown++) {
                _cleanup_close_ int fd = -1;
                char name[32];
                pid_t pid = info.ppid;

                if (pid <= 1 || pid == stop_pid || pid == self)
                        break;
                if (shown == CHAIN_MAX) {
                        strbuf_add(b, " < ...", 6);
                        break;
                }
                snprintf(name, sizeof(name), "%d", (int)pid);
                fd = openat(proc_fd, name, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0)
                        break;
                read_status(fd, &info);
                strbuf_add(b, " < ", 3);
                add_argv(b, fd, info.name);
        }
        strbuf_add(b, ")", 1);
}
