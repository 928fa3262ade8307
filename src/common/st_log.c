#include "st_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int log_level = ST_LOG_INFO;
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

void st_log(int level, const char *fmt, ...)
{
    if (level > log_level)
        return;
    char line[1024];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof(line), "%02d:%02d:%02d.%03ld %s %s: ", tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, log_ident, level_names[level]);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", line);
}
