#include "st_metrics.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

void st_mbuf_init(struct st_mbuf *b, size_t max)
{
    memset(b, 0, sizeof(*b));
    b->max = max;
}

void st_mbuf_fini(struct st_mbuf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

/* Room for n more bytes and a NUL; false (and full) when past max or out of memory. */
static bool reserve(struct st_mbuf *b, size_t n)
{
    if (b->full)
        return false;
    if (b->len + n + 1 > b->max) {
        b->full = true;
        return false;
    }
    if (b->len + n + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n + 1)
        cap *= 2;
    if (cap > b->max)
        cap = b->max;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->full = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

void st_mbuf_put(struct st_mbuf *b, const char *s, size_t n)
{
    if (!reserve(b, n))
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void st_mbuf_printf(struct st_mbuf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(tmp)) {
        st_mbuf_put(b, tmp, (size_t)n);
        return;
    }
    if (!reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* ---- writers ---- */

static const char *const type_names[] = {"counter", "gauge", "histogram"};

void st_metrics_family(struct st_mbuf *b, const char *name, enum st_mtype type, const char *help)
{
    st_mbuf_printf(b, "# HELP %s ", name);
    for (const char *p = help; *p; p++) {
        if (*p == '\\')
            st_mbuf_put(b, "\\\\", 2);
        else if (*p == '\n')
            st_mbuf_put(b, "\\n", 2);
        else
            st_mbuf_put(b, p, 1);
    }
    st_mbuf_printf(b, "\n# TYPE %s %s\n", name, type_names[type]);
}

void st_metrics_escape(struct st_mbuf *b, const char *v)
{
    for (const char *p = v; *p; p++) {
        if (*p == '\\')
            st_mbuf_put(b, "\\\\", 2);
        else if (*p == '"')
            st_mbuf_put(b, "\\\"", 2);
        else if (*p == '\n')
            st_mbuf_put(b, "\\n", 2);
        else
            st_mbuf_put(b, p, 1);
    }
}

/* name{k="v",...,extra_k="extra_v"} with a trailing space. */
static void series(struct st_mbuf *b, const char *name, const char *const *labels,
                   const char *extra_k, const char *extra_v)
{
    st_mbuf_put(b, name, strlen(name));
    bool any = (labels && labels[0]) || extra_k;
    if (any)
        st_mbuf_put(b, "{", 1);
    bool first = true;
    for (size_t i = 0; labels && labels[i] && labels[i + 1]; i += 2) {
        st_mbuf_printf(b, "%s%s=\"", first ? "" : ",", labels[i]);
        st_metrics_escape(b, labels[i + 1]);
        st_mbuf_put(b, "\"", 1);
        first = false;
    }
    if (extra_k) {
        st_mbuf_printf(b, "%s%s=\"", first ? "" : ",", extra_k);
        st_metrics_escape(b, extra_v);
        st_mbuf_put(b, "\"", 1);
    }
    st_mbuf_put(b, any ? "} " : " ", any ? 2 : 1);
}

void st_metrics_u64(struct st_mbuf *b, const char *name, const char *const *labels, uint64_t v)
{
    series(b, name, labels, NULL, NULL);
    st_mbuf_printf(b, "%llu\n", (unsigned long long)v);
}

void st_metrics_one(struct st_mbuf *b, const char *name, enum st_mtype type, const char *help,
                    uint64_t v)
{
    st_metrics_family(b, name, type, help);
    st_metrics_u64(b, name, NULL, v);
}

void st_metrics_f64(struct st_mbuf *b, const char *name, const char *const *labels, double v)
{
    series(b, name, labels, NULL, NULL);
    st_mbuf_printf(b, "%.15g\n", v);
}

/* ---- histograms ---- */

const double st_metrics_rtt_bounds[ST_METRICS_RTT_N] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

void st_hist_init(struct st_hist *h, const double *bounds, size_t n)
{
    memset(h, 0, sizeof(*h));
    h->bounds = bounds;
    h->n = n > ST_HIST_MAX ? ST_HIST_MAX : n;
}

void st_hist_observe(struct st_hist *h, double v)
{
    size_t i = 0;
    while (i < h->n && v > h->bounds[i])
        i++;
    h->counts[i]++;
    h->count++;
    h->sum += v;
}

void st_metrics_hist(struct st_mbuf *b, const char *name, const char *const *labels,
                     const struct st_hist *h)
{
    char bucket[128], le[32];
    snprintf(bucket, sizeof(bucket), "%s_bucket", name);
    uint64_t cum = 0;
    for (size_t i = 0; i <= h->n; i++) {
        cum += h->counts[i];
        if (i < h->n)
            snprintf(le, sizeof(le), "%g", h->bounds[i]);
        else
            snprintf(le, sizeof(le), "+Inf");
        series(b, bucket, labels, "le", le);
        st_mbuf_printf(b, "%llu\n", (unsigned long long)cum);
    }
    char n2[128];
    snprintf(n2, sizeof(n2), "%s_sum", name);
    st_metrics_f64(b, n2, labels, h->sum);
    snprintf(n2, sizeof(n2), "%s_count", name);
    st_metrics_u64(b, n2, labels, h->count);
}

/* ---- label sets ---- */

const char *const st_flow_kind_names[ST_KIND_N] = {"tcp", "udp", "icmp", "http"};

enum st_flow_kind st_flow_kind_of(const char *protocol)
{
    if (protocol && strcmp(protocol, "connect-udp") == 0)
        return ST_KIND_UDP;
    if (protocol && strcmp(protocol, "connect-ip") == 0)
        return ST_KIND_ICMP;
    return ST_KIND_TCP;
}

const char *const st_reason_names[ST_REASON_N] = {
    "destination_not_found",     "destination_unavailable",
    "destination_ip_prohibited", "destination_ip_unroutable",
    "connection_refused",        "connection_terminated",
    "connection_timeout",        "connection_limit_reached",
    "http_request_error",        "http_request_denied",
    "http_protocol_error",       "http_response_header_section_size",
    "proxy_internal_error",      "other"};

enum st_reason st_reason_of(const char *ps, int status)
{
    const char *e = ps ? strstr(ps, "error=") : NULL;
    if (e) {
        e += 6;
        size_t n = strcspn(e, "; ,\t");
        for (int i = 0; i < ST_REASON_OTHER; i++)
            if (strlen(st_reason_names[i]) == n && memcmp(st_reason_names[i], e, n) == 0)
                return (enum st_reason)i;
        return ST_REASON_OTHER;
    }
    return status == 404 ? ST_REASON_DEST_NOT_FOUND : ST_REASON_OTHER;
}

const char *const st_class_names[ST_CLASS_N] = {"1xx", "2xx", "3xx", "4xx", "5xx", "none"};

enum st_class st_class_of(int status)
{
    if (status < 100 || status > 599)
        return ST_CLASS_NONE;
    return (enum st_class)(status / 100 - 1);
}

const char *const st_reg_reason_names[ST_REG_N] = {
    "malformed",         "invalid_token",     "already_registered",
    "route_not_allowed", "route_owned",       "hostname_not_allowed",
    "timeout",           "connection_failed", "other"};

enum st_reg_reason st_reg_reason_of(const char *cause)
{
    if (strstr(cause, "invalid token"))
        return ST_REG_INVALID_TOKEN;
    if (strstr(cause, "malformed"))
        return ST_REG_MALFORMED;
    if (strstr(cause, "already registered"))
        return ST_REG_ALREADY;
    if (strncmp(cause, "route ", 6) == 0 && strstr(cause, "owned by another tunnel"))
        return ST_REG_ROUTE_OWNED;
    if (strncmp(cause, "route ", 6) == 0 && strstr(cause, "not allowed"))
        return ST_REG_ROUTE_NOT_ALLOWED;
    if (strncmp(cause, "hostname ", 9) == 0 && strstr(cause, "not allowed"))
        return ST_REG_HOSTNAME_NOT_ALLOWED;
    return ST_REG_OTHER;
}

const char *const st_dir_names[ST_DIR_N] = {"to_edge", "to_gateway"};

/* ---- shared families ---- */

void st_metrics_build_info(struct st_mbuf *b, const char *daemon)
{
    st_metrics_family(b, "subtunnel_build_info", ST_MGAUGE,
                      "Always 1; the labels name the daemon and its version.");
    st_metrics_u64(b, "subtunnel_build_info",
                   (const char *[]){"daemon", daemon, "version", ST_VERSION, NULL}, 1);
}

static long count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the directory's own fd */
}

/* Seconds since the epoch at which the process started: /proc/self/stat's starttime (clock
 * ticks after boot) plus /proc/stat's btime. */
static double start_time(void)
{
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "r");
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    unsigned long long ticks = 0, btime = 0;
    /* after "pid (comm)": state is field 3, starttime field 22 */
    for (int field = 2; p && field < 22; field++)
        p = strchr(p + 1, ' ');
    if (!p || sscanf(p + 1, "%llu", &ticks) != 1)
        return -1;
    f = fopen("/proc/stat", "r");
    while (f && fgets(buf, sizeof(buf), f))
        if (sscanf(buf, "btime %llu", &btime) == 1)
            break;
    if (f)
        fclose(f);
    long hz = sysconf(_SC_CLK_TCK);
    return btime && hz > 0 ? (double)btime + (double)ticks / (double)hz : -1;
}

static void gauge(struct st_mbuf *b, const char *name, const char *help, double v)
{
    if (v < 0)
        return;
    st_metrics_family(b, name, ST_MGAUGE, help);
    st_metrics_f64(b, name, NULL, v);
}

void st_metrics_process(struct st_mbuf *b)
{
    long pages = 0, rss = 0, page = sysconf(_SC_PAGESIZE);
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f || fscanf(f, "%ld %ld", &pages, &rss) != 2)
        pages = rss = -1;
    if (f)
        fclose(f);
    struct rlimit rl;
    double max_fds = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (double)rl.rlim_cur : -1;
    gauge(b, "process_open_fds", "Open file descriptors.", (double)count_fds());
    gauge(b, "process_max_fds", "Limit of open file descriptors (RLIMIT_NOFILE).", max_fds);
    gauge(b, "process_resident_memory_bytes", "Resident set size in bytes.",
          rss < 0 ? -1 : (double)rss * (double)page);
    gauge(b, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
          pages < 0 ? -1 : (double)pages * (double)page);
    gauge(b, "process_start_time_seconds", "Start time of the process since the epoch, seconds.",
          start_time());
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                     (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
        st_metrics_family(b, "process_cpu_seconds_total", ST_MCOUNTER,
                          "User and system CPU time spent, seconds.");
        st_metrics_f64(b, "process_cpu_seconds_total", NULL, cpu);
    }
}

void st_h2_hbstats_init(struct st_h2_hbstats *s)
{
    memset(s, 0, sizeof(*s));
    st_hist_init(&s->rtt, st_metrics_rtt_bounds, ST_METRICS_RTT_N);
}

void st_metrics_heartbeats(struct st_mbuf *b, const struct st_h2_hbstats *s)
{
    st_metrics_family(b, "subtunnel_heartbeat_rtt_seconds", ST_MHISTOGRAM,
                      "Round trip of heartbeat PINGs on tunnel connections (sent only on quiet "
                      "connections), seconds.");
    st_metrics_hist(b, "subtunnel_heartbeat_rtt_seconds", NULL, &s->rtt);
    st_metrics_family(b, "subtunnel_heartbeat_misses_total", ST_MCOUNTER,
                      "Heartbeat PINGs not answered by the next heartbeat tick.");
    st_metrics_u64(b, "subtunnel_heartbeat_misses_total", NULL, s->misses);
    st_metrics_family(b, "subtunnel_heartbeat_timeouts_total", ST_MCOUNTER,
                      "Tunnel connections declared dead after heartbeat-count missed heartbeats.");
    st_metrics_u64(b, "subtunnel_heartbeat_timeouts_total", NULL, s->timeouts);
}
