#ifndef SUBTUNNEL_ST_LOG_H
#define SUBTUNNEL_ST_LOG_H

/* Logging to stderr with levels. One global level per process, set at start-up
 * and on SIGHUP; nothing else in the process is global. */

#include <stddef.h>
#include <time.h>

enum st_log_level { ST_LOG_ERROR = 0, ST_LOG_WARN, ST_LOG_INFO, ST_LOG_DEBUG };

/* Parses "error", "warn", "info", "debug"; returns the level or -1. */
int st_log_parse_level(const char *name);
void st_log_set_level(int level);
int st_log_get_level(void);
/* Sets the program name printed in every line (not copied). */
void st_log_set_ident(const char *ident);

/* Writes a line's prefix, "2026-12-05T17:18:19.123Z ident level: " (RFC 3339, UTC, ms), into
 * buf (len > 0); returns its length (truncated to len - 1). */
int st_log_prefix(char *buf, size_t len, const struct timespec *ts, const char *ident, int level);
void st_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define st_err(...) st_log(ST_LOG_ERROR, __VA_ARGS__)
#define st_warn(...) st_log(ST_LOG_WARN, __VA_ARGS__)
#define st_info(...) st_log(ST_LOG_INFO, __VA_ARGS__)
#define st_debug(...)                                                                              \
    do {                                                                                           \
        if (st_log_get_level() >= ST_LOG_DEBUG)                                                    \
            st_log(ST_LOG_DEBUG, __VA_ARGS__);                                                     \
    } while (0)

#endif
