/* lamina's own messages on stderr. Library modules never print; the CLI logs, one statement per
 * message, at one of these levels. Messages about input print as "FILE:LINE:COL: message" (see
 * log_input_error); everything else as "lamina: message". debug and trace messages carry the
 * source place, as Gramine's log_debug does. */
#pragma once

#include "manifest/diag.h"
#include "manifest/manifest.h"
#include "shared/macro.h"

typedef enum log_level {
        LOG_NONE,
        LOG_STATUS = -2, /* levels for messages, not settings: shown from LOG_ERROR up, */
        LOG_NOTICE = -1, /* the notice as a warning, the status as it is */
        LOG_ERROR = 1,
        LOG_WARNING,
        LOG_INFO,
        LOG_DEBUG,
        LOG_TRACE,
} log_level_t;

extern log_level_t g_log_level;

void log_at(log_level_t level, const char *file, int line, const char *func, const char *fmt, ...)
        _printf_(5, 6);

#define log_error(...) log_at(LOG_ERROR, __FILE__, __LINE__, __func__, __VA_ARGS__)
/* A warning that matters as much as an error (an insecure manifest, files trusted on first
 * use): shown unless the log level is none, with "warning:". */
#define log_notice(...) log_at(LOG_NOTICE, __FILE__, __LINE__, __func__, __VA_ARGS__)
/* What lamina is doing that a user must know (SGX mode): shown unless the level is none. */
#define log_status(...)  log_at(LOG_STATUS, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define log_warning(...) log_at(LOG_WARNING, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define log_info(...)    log_at(LOG_INFO, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define log_debug(...)   log_at(LOG_DEBUG, __FILE__, __LINE__, __func__, __VA_ARGS__)

/* Logs "message" at error level and returns r, so that a command can
 * `return log_error_errno(r, "...: %m")`-style report and fail in one line. */
#define log_error_errno(r, ...)                                                                    \
        ({                                                                                         \
                errno = -(r);                                                                      \
                log_error(__VA_ARGS__);                                                            \
                (r);                                                                               \
        })

/* Prints a manifest_error_t as "FILE:LINE:COL: message" (always, whatever the level). */
void log_input_error(const manifest_error_t *e);

/* Prints a manifest's warnings as "FILE:LINE:COL: warning: message" at warning level. */
void log_manifest_warnings(const manifest_t *m);
