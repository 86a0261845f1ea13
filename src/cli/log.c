/* lamina's stderr messages (see log.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "cli/log.h"

log_level_t g_log_level = LOG_WARNING;

void log_at(log_level_t level, const char *file, int line, const char *func, const char *fmt, ...)
{
        int saved = errno; /* so that %m in fmt names the caller's error */
        va_list ap;

        if ((level < LOG_NONE ? LOG_ERROR : level) > g_log_level)
                return;
        fputs("lamina: ", stderr);
        if (level >= LOG_DEBUG)
                fprintf(stderr, "%s:%d %s: ", file, line, func);
        else if (level == LOG_WARNING || level == LOG_NOTICE)
                fputs("warning: ", stderr);
        va_start(ap, fmt);
        errno = saved;
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        errno = saved;
}

void log_input_error(const manifest_error_t *e)
{
        char buf[MANIFEST_MESSAGE_MAX + 4096 + 64];

        diag_format(e, buf, sizeof(buf));
        fprintf(stderr, "%s\n", buf);
}

void log_manifest_warnings(const manifest_t *m)
{
        if (g_log_level < LOG_WARNING)
                return;
        for (size_t i = 0; i < m->warning_count; i++)
                fprintf(stderr, "%s:%u:%u: warning: %s\n", m->path, m->warnings[i].line,
                        m->warnings[i].col, m->warnings[i].message);
}
