#ifndef SUBTUNNEL_ST_LOG_H
#define SUBTUNNEL_ST_LOG_H

#include <stdbool.h>
#include <stdint.h>

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

/* Line format (log-format): text ("time ident level: msg") or JSON, one object per line:
 * {"time":"<RFC 3339 UTC, ms>","level":"info","component":"<ident>","msg":"..."}. */
enum st_log_format { ST_LOG_TEXT = 0, ST_LOG_JSON };
/* Parses "text" or "json"; returns the format or -1. */
int st_log_parse_format(const char *name);
void st_log_set_format(int format);
/* Writes one JSON line (no newline) into buf (jansson encodes it; bytes of msg that are not
 * valid UTF-8 become '?'). Returns its length, or -1 when it does not fit or memory ran out. */
/* "2026-12-05T23:40:53.123Z" (UTC, milliseconds) into buf. */
void st_log_rfc3339(char *buf, size_t len, const struct timespec *ts);
/* Copies in to out (cap > 5 bytes, NUL-terminated, truncated at a character boundary) with
 * every byte that is not part of valid UTF-8 replaced by '?' (jansson takes only UTF-8). */
void st_log_utf8_clean(const char *in, char *out, size_t cap);
int st_log_json(char *buf, size_t len, const struct timespec *ts, const char *ident, int level,
                const char *msg);

/* Writes a line's prefix, "2026-12-05T17:18:19.123Z ident level: " (RFC 3339, UTC, ms), into
 * buf (len > 0); returns its length (truncated to len - 1). */
int st_log_prefix(char *buf, size_t len, const struct timespec *ts, const char *ident, int level);
void st_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Rate-limited logging for lines a remote peer can trigger at will (refusals, timeouts):
 * at most `per_sec` lines per one-second window per limiter (one limiter per kind of line);
 * lines past that are counted, and the first call once the window is over (or
 * st_log_limit_flush) logs one "<kind>: suppressed N similar lines" summary. The owner keeps
 * the limiter (no global state); nothing to free. */
struct st_log_limit {
    const char *kind;    /* names the lines in the summary (not copied) */
    unsigned per_sec;    /* lines allowed per window */
    unsigned used;       /* lines logged in the current window */
    uint64_t window_ms;  /* start of the current window (monotonic ms) */
    uint64_t suppressed; /* lines dropped since the last summary */
    int worst;           /* the most severe level among them (ST_LOG_DEBUG: none yet) */
};

void st_log_limit_init(struct st_log_limit *l, const char *kind, unsigned per_sec);
/* Pure: may a line be logged at now_ms? Counts it as logged or as suppressed. */
bool st_log_limit_allow(struct st_log_limit *l, uint64_t now_ms);
/* Pure: once the window of suppressed lines is over, returns how many were suppressed and
 * resets the count (the caller logs the summary); else 0. */
uint64_t st_log_limit_due(struct st_log_limit *l, uint64_t now_ms);
/* Logs the summary at `level`, or at the level of the most severe line it stands for (so
 * that a summary of warnings shows wherever they would), when one is due (call it from a periodic
 * timer too, so the summary appears even when no further line comes). */
void st_log_limit_flush(struct st_log_limit *l, int level, uint64_t now_ms);
/* st_log through limiter l (the clock is CLOCK_MONOTONIC): a due summary first, then the
 * line when the window has room. Lines above the process's level are not counted. */
void st_log_limited(struct st_log_limit *l, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* CLOCK_MONOTONIC in milliseconds (the limiters' clock). */
uint64_t st_log_now_ms(void);

#define st_err(...) st_log(ST_LOG_ERROR, __VA_ARGS__)
#define st_warn(...) st_log(ST_LOG_WARN, __VA_ARGS__)
#define st_info(...) st_log(ST_LOG_INFO, __VA_ARGS__)
#define st_debug(...)                                                                              \
    do {                                                                                           \
        if (st_log_get_level() >= ST_LOG_DEBUG)                                                    \
            st_log(ST_LOG_DEBUG, __VA_ARGS__);                                                     \
    } while (0)

#endif
