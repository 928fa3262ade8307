#ifndef SUBTUNNEL_ST_METRICS_H
#define SUBTUNNEL_ST_METRICS_H

/* Prometheus text exposition (format 0.0.4): a bounded output buffer, writers for metric
 * families, samples and histograms (label values escaped), fixed-bucket histograms, and the
 * bounded label sets both daemons share (flow kinds, refusal reasons, status classes,
 * registration failures). The daemons keep their counters in their own structs and write
 * them at scrape time (edge_metrics.c, gw_metrics.c); nothing here is global. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- output buffer ---- */

/* Text being built: grows up to `max` bytes; past that `full` is set and later writes do
 * nothing (the scrape is answered 500 rather than cut). */
struct st_mbuf {
    char *p;
    size_t len, cap, max;
    bool full;
};

void st_mbuf_init(struct st_mbuf *b, size_t max);
/* Frees the text; the buffer can be initialised again. */
void st_mbuf_fini(struct st_mbuf *b);
void st_mbuf_put(struct st_mbuf *b, const char *s, size_t n);
void st_mbuf_printf(struct st_mbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- writers ---- */

enum st_mtype { ST_MCOUNTER, ST_MGAUGE, ST_MHISTOGRAM };

/* "# HELP name help" and "# TYPE name type". Every sample of a family must follow its
 * header, before the next family starts. help is escaped (backslash, newline). */
void st_metrics_family(struct st_mbuf *b, const char *name, enum st_mtype type, const char *help);
/* One sample "name{k="v",...} value". labels: NULL, or name/value pairs ending with NULL
 * ({"kind", "tcp", NULL}); values are escaped (backslash, double quote, newline). */
void st_metrics_u64(struct st_mbuf *b, const char *name, const char *const *labels, uint64_t v);
void st_metrics_f64(struct st_mbuf *b, const char *name, const char *const *labels, double v);
/* A family of one sample without labels: st_metrics_family, then st_metrics_u64. */
void st_metrics_one(struct st_mbuf *b, const char *name, enum st_mtype type, const char *help,
                    uint64_t v);
/* A label value as the exposition format wants it inside double quotes. */
void st_metrics_escape(struct st_mbuf *b, const char *v);

/* ---- histograms ---- */

#define ST_HIST_MAX 16

/* Observations counted in fixed buckets (upper bounds in base units, increasing; +Inf is
 * implicit). Counts are per bucket; the writer makes them cumulative. */
struct st_hist {
    const double *bounds;
    size_t n;
    uint64_t counts[ST_HIST_MAX + 1]; /* [n]: above the last bound */
    uint64_t count;
    double sum;
};

/* n <= ST_HIST_MAX bounds; bounds must outlive h. */
void st_hist_init(struct st_hist *h, const double *bounds, size_t n);
void st_hist_observe(struct st_hist *h, double v);
/* name_bucket{...,le="..."} (cumulative, +Inf last), name_sum and name_count; labels as
 * st_metrics_u64 (at most 6 pairs). The family header (ST_MHISTOGRAM) comes first. */
void st_metrics_hist(struct st_mbuf *b, const char *name, const char *const *labels,
                     const struct st_hist *h);

/* Heartbeat round-trip buckets in seconds (0.5 ms .. 10 s). */
extern const double st_metrics_rtt_bounds[];
#define ST_METRICS_RTT_N 14

/* ---- bounded label sets ---- */

/* Flow kinds: CONNECT (tcp), connect-udp, connect-ip (icmp), hostname ingress (http). */
enum st_flow_kind { ST_KIND_TCP, ST_KIND_UDP, ST_KIND_ICMP, ST_KIND_HTTP, ST_KIND_N };
extern const char *const st_flow_kind_names[ST_KIND_N];
/* Kind of a CONNECT by its :protocol ("" or NULL: tcp; connect-udp; connect-ip). */
enum st_flow_kind st_flow_kind_of(const char *protocol);

/* Refusal reasons: the RFC 9209 error types our daemons answer with, and "other". */
enum st_reason {
    ST_REASON_DEST_NOT_FOUND,
    ST_REASON_DEST_UNAVAILABLE,
    ST_REASON_IP_PROHIBITED,
    ST_REASON_IP_UNROUTABLE,
    ST_REASON_CONN_REFUSED,
    ST_REASON_CONN_TERMINATED,
    ST_REASON_CONN_TIMEOUT,
    ST_REASON_CONN_LIMIT,
    ST_REASON_REQUEST_ERROR,
    ST_REASON_REQUEST_DENIED,
    ST_REASON_PROTOCOL_ERROR,
    ST_REASON_RESPONSE_HEADERS,
    ST_REASON_INTERNAL,
    ST_REASON_OTHER,
    ST_REASON_N
};
extern const char *const st_reason_names[ST_REASON_N];
/* The reason of an error answer: the "error=" parameter of its proxy-status when it is one
 * of the known types; without one, 404 is destination_not_found; else other. */
enum st_reason st_reason_of(const char *proxy_status, int status);

/* Response status classes; ST_CLASS_NONE: no response was sent. */
enum st_class {
    ST_CLASS_1XX,
    ST_CLASS_2XX,
    ST_CLASS_3XX,
    ST_CLASS_4XX,
    ST_CLASS_5XX,
    ST_CLASS_NONE,
    ST_CLASS_N
};
extern const char *const st_class_names[ST_CLASS_N];
enum st_class st_class_of(int status);

/* Why a registration failed (edge: its decision; gateway: the edge's ERROR cause, or the
 * connection failed before REGISTERED). */
enum st_reg_reason {
    ST_REG_MALFORMED,
    ST_REG_INVALID_TOKEN,
    ST_REG_ALREADY,
    ST_REG_ROUTE_NOT_ALLOWED,
    ST_REG_ROUTE_OWNED,
    ST_REG_HOSTNAME_NOT_ALLOWED,
    ST_REG_TIMEOUT,
    ST_REG_CONN_FAILED,
    ST_REG_OTHER,
    ST_REG_N
};
extern const char *const st_reg_reason_names[ST_REG_N];
/* Classifies an ERROR cause as the edge words it ("invalid token", "route X is not allowed
 * for this tunnel", ...). */
enum st_reg_reason st_reg_reason_of(const char *cause);

/* Direction of tunnel bytes: gateway -> edge, edge -> gateway. */
enum st_dir { ST_DIR_TO_EDGE, ST_DIR_TO_GATEWAY, ST_DIR_N };
extern const char *const st_dir_names[ST_DIR_N];

/* ---- shared families ---- */

/* subtunnel_build_info{daemon,version} 1. */
void st_metrics_build_info(struct st_mbuf *b, const char *daemon);
/* process_open_fds, process_max_fds, process_resident_memory_bytes,
 * process_virtual_memory_bytes, process_cpu_seconds_total, process_start_time_seconds
 * (from /proc/self; a value that cannot be read is left out). */
void st_metrics_process(struct st_mbuf *b);

/* Heartbeat statistics a daemon keeps for its tunnel connections (st_h2conn fills them). */
struct st_h2_hbstats {
    struct st_hist rtt; /* PING sent -> PING ACK, seconds */
    uint64_t misses;    /* PINGs unanswered by the next tick */
    uint64_t timeouts;  /* connections declared dead */
};
void st_h2_hbstats_init(struct st_h2_hbstats *s);
/* subtunnel_heartbeat_rtt_seconds, subtunnel_heartbeat_misses_total,
 * subtunnel_heartbeat_timeouts_total. */
void st_metrics_heartbeats(struct st_mbuf *b, const struct st_h2_hbstats *s);

#endif
