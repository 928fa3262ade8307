#ifndef SUBTUNNEL_EDGE_LIMITS_H
#define SUBTUNNEL_EDGE_LIMITS_H

/* What the edge grants peers that have not authenticated yet: the HTTP/2 SETTINGS of each
 * kind of access-side connection (a reach connection gets small ones until a stream shows a
 * valid tunnel token), a rapid-reset guard for that time, and rate-limited logging of the
 * refusals an anonymous peer can cause at will. */

#include <nghttp2/nghttp2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "st_log.h"
#include "st_loop.h"

struct edge_config;

/* Kinds of refusal lines, each limited to `log-refusals` lines per second on its own. */
enum edge_refusal_kind {
    EDGE_REFUSE_AUTH,    /* bad or missing access token, tunnel token */
    EDGE_REFUSE_REQUEST, /* malformed requests, unknown host names, unroutable targets */
    EDGE_REFUSE_CONN,    /* handshakes that fail or time out, idle connections closed */
    EDGE_REFUSE_LIMIT,   /* a cap reached (streams, requests per tunnel) */
    EDGE_REFUSE_POLICY,  /* access-policy said no */
    EDGE_REFUSE_KINDS
};

struct edge_limits {
    struct st_log_limit log[EDGE_REFUSE_KINDS];
    struct st_timer flush_timer; /* logs pending "suppressed" summaries every second */
};

/* Sets the limiters up from cfg (log-refusals) and starts the summary timer. */
void edge_limits_init(struct edge_limits *l, struct st_loop *loop, const struct edge_config *cfg);
/* Reload: applies a new log-refusals. */
void edge_limits_reconfigure(struct edge_limits *l, const struct edge_config *cfg);
void edge_limits_fini(struct edge_limits *l);

/* Logs a refusal line at info level through the limiter of its kind. */
#define edge_refusal(srv, kind, ...)                                                               \
    st_log_limited(&(srv)->limits.log[(kind)], ST_LOG_INFO, __VA_ARGS__)

/* HTTP/2 connections on the access side, as edge_ah2 serves them. */
enum edge_h2_role {
    EDGE_H2_ACCESS,       /* a user's CONNECT proxy connection (h2c or h2 over TLS) */
    EDGE_H2_VISITOR,      /* a web visitor's connection (hostname ingress over h2) */
    EDGE_H2_REACH_ANON,   /* a gateway's reach connection before any valid tunnel token */
    EDGE_H2_REACH_AUTHED, /* ... after one */
};

#define EDGE_H2_SETTINGS_MAX 4
#define EDGE_AH2_MAX_STREAMS 1000    /* per user (access) connection */
#define EDGE_REACH_MAX_STREAMS 65536 /* per authenticated reach connection */
#define EDGE_REACH_ANON_STREAMS 100  /* per reach connection before its token checked out */
#define EDGE_REACH_ANON_WINDOW 65535 /* stream and connection windows before that */
#define EDGE_AH2_CONN_WINDOW (64 * 1024 * 1024) /* connection window otherwise */

/* Pure: the SETTINGS edge_ah2 sends for role (iv holds EDGE_H2_SETTINGS_MAX entries);
 * returns how many were written. *conn_window: the connection-level receive window. */
size_t edge_limits_h2_settings(enum edge_h2_role role, const struct edge_config *cfg,
                               nghttp2_settings_entry *iv, int32_t *conn_window);

/* nghttp2's default rapid-reset allowance (a burst of 1000 RST_STREAM, then 33 per second),
 * applied by the edge to reach connections until they authenticate: their sessions are
 * created with the relaxed allowance that an authenticated gateway needs. */
#define EDGE_RESET_BURST 1000
#define EDGE_RESET_RATE 33
struct edge_reset_guard {
    uint64_t last_ms;
    uint32_t tokens; /* resets still allowed; a fresh guard (zeroed) starts full */
    bool started;
};
/* Pure: counts one RST_STREAM from the peer at now_ms; false when over the allowance. */
bool edge_limits_reset_ok(struct edge_reset_guard *g, uint64_t now_ms);

/* Pure: may a tunnel with `live` visitor requests open one more (cap: tunnel-max-requests)? */
static inline bool edge_limits_tunnel_room(size_t live, int cap)
{
    return live < (size_t)cap;
}

#endif
