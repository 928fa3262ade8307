#include "st_log.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int log_level = ST_LOG_INFO;
static int log_format = ST_LOG_TEXT;
static const char *log_ident = "subtunnel";
static const char *const level_names[] = {"error", "warn", "info", "debug"};

int st_log_parse_level(const char *name)
{
    for (int i = 0; i <= ST_LOG_DEBUG; i++)
        if (strcmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

void st_log_set_level(int level)
{
    log_level = level;
}

int st_log_get_level(void)
{
    return log_level;
}

void st_log_set_ident(const char *ident)
{
    log_ident = ident;
}

int st_log_parse_format(const char *name)
{
    if (strcmp(name, "text") == 0)
        return ST_LOG_TEXT;
    return strcmp(name, "json") == 0 ? ST_LOG_JSON : -1;
}

void st_log_set_format(int format)
{
    log_format = format;
}

/* Length of the valid UTF-8 sequence at s (RFC 3629: no overlong forms, no surrogates,
 * nothing above U+10FFFF), or 0. */
static size_t utf8_seq(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    size_t n = s[0] >= 0xc2 && s[0] <= 0xdf   ? 2
               : s[0] >= 0xe0 && s[0] <= 0xef ? 3
               : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4
                                              : 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
        (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
        return 0;
    return n;
}

void st_log_utf8_clean(const char *in, char *out, size_t cap)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t o = 0;
    while (*s && o + 5 < cap) {
        size_t n = utf8_seq(s);
        if (n == 0) {
            out[o++] = '?';
            s++;
            continue;
        }
        memcpy(out + o, s, n);
        o += n;
        s += n;
    }
    out[o] = '\0';
}

void st_log_rfc3339(char *buf, size_t len, const struct timespec *ts)
{
    struct tm tm;
    gmtime_r(&ts->tv_sec, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts->tv_nsec / 1000000);
}

int st_log_json(char *buf, size_t len, const struct timespec *ts, const char *ident, int level,
                const char *msg)
{
    char t[64], clean[1100];
    st_log_rfc3339(t, sizeof(t), ts);
    st_log_utf8_clean(msg, clean, sizeof(clean));
    json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "time", t, "level", level_names[level],
                          "component", ident, "msg", clean);
    if (!o)
        return -1;
    size_t n = json_dumpb(o, buf, len, JSON_COMPACT);
    json_decref(o);
    if (n == 0 || n >= len)
        return -1;
    buf[n] = '\0';
    return (int)n;
}

int st_log_prefix(char *buf, size_t len, const struct timespec *ts, const char *ident, int level)
{
    char t[64];
    st_log_rfc3339(t, sizeof(t), ts);
    int n = snprintf(buf, len, "%s %s %s: ", t, ident, level_names[level]);
    return n < 0 ? 0 : (size_t)n >= len ? (int)len - 1 : n;
}

void st_log(int level, const char *fmt, ...)
{
    if (level > log_level)
        return;
    char line[1024];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int n =
        log_format == ST_LOG_JSON ? 0 : st_log_prefix(line, sizeof(line), &ts, log_ident, level);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    if (log_format != ST_LOG_JSON) {
        fprintf(stderr, "%s\n", line);
        return;
    }
    char json[8192];
    if (st_log_json(json, sizeof(json), &ts, log_ident, level, line) > 0) {
        fprintf(stderr, "%s\n", json);
        return;
    }
    st_log_rfc3339(json, sizeof(json), &ts); /* out of memory: a line that is still JSON */
    fprintf(stderr, "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":\"log line lost\"}\n", json,
            level_names[level]);
}

void st_log_limit_init(struct st_log_limit *l, const char *kind, unsigned per_sec)
{
    memset(l, 0, sizeof(*l));
    l->kind = kind;
    l->per_sec = per_sec;
    l->worst = ST_LOG_DEBUG;
}

static bool window_over(const struct st_log_limit *l, uint64_t now_ms)
{
    return now_ms - l->window_ms >= 1000;
}

bool st_log_limit_allow(struct st_log_limit *l, uint64_t now_ms)
{
    if (l->used == 0 || window_over(l, now_ms)) {
        l->window_ms = now_ms;
        l->used = 0;
    }
    if (l->used < l->per_sec) {
        l->used++;
        return true;
    }
    l->suppressed++;
    return false;
}

uint64_t st_log_limit_due(struct st_log_limit *l, uint64_t now_ms)
{
    if (!l->suppressed || !window_over(l, now_ms))
        return 0;
    uint64_t n = l->suppressed;
    l->suppressed = 0;
    return n;
}

void st_log_limit_flush(struct st_log_limit *l, int level, uint64_t now_ms)
{
    uint64_t n = st_log_limit_due(l, now_ms);
    if (!n)
        return;
    if (l->worst < level)
        level = l->worst;
    l->worst = ST_LOG_DEBUG;
    st_log(level, "%s: suppressed %llu similar lines", l->kind, (unsigned long long)n);
}

uint64_t st_log_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void st_log_limited(struct st_log_limit *l, int level, const char *fmt, ...)
{
    if (level > st_log_get_level())
        return;
    uint64_t now = st_log_now_ms();
    st_log_limit_flush(l, level, now);
    if (!st_log_limit_allow(l, now)) {
        if (level < l->worst)
            l->worst = level;
        return;
    }
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    st_log(level, "%s", msg);
}
