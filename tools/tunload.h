#ifndef SUBTUNNEL_TOOLS_TUNLOAD_H
#define SUBTUNNEL_TOOLS_TUNLOAD_H

/* st-tunload: many simulated gateways in one process (tools/tunload.c), their data streams
 * (tunload_flow.c), the edge configuration for them and a CONNECT prober (tunload_probe.c).
 * Not installed; used by scripts/bench.sh scale and tests/integration/test_tunload.sh. */

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>

#include "st_addr.h"
#include "st_ctrlstream.h"
#include "st_h2conn.h"
#include "st_loop.h"

#define TL_ID_FMT "load%05u"
#define TL_SECRET_HEX 48 /* characters of a simulated tunnel's secret */
#define TL_STREAM_BUF 65536
#define TL_STREAM_WINDOW 65535 /* our SETTINGS_INITIAL_WINDOW_SIZE: at most this is buffered */

struct tl_run;
struct tl_stream;

/* One simulated gateway: its own tunnel (id, secret, one /32 route) and one connection. */
struct tl_gw {
    struct tl_run *run;
    unsigned idx;
    struct st_h2conn h2;
    bool active;     /* h2 initialised */
    bool registered; /* REGISTERED received on the current connection */
    bool ever_registered, queued, refused_now;
    unsigned attempts, refusals;
    uint64_t retry_after_ms; /* from the last ERROR with retry */
    uint64_t dialed_ms;
    struct st_timer retry;
    struct st_ctrlstream ctrl;
    struct tl_gw *next_q;      /* dial queue */
    struct tl_stream *streams; /* open streams (tunload_flow.c) */
};

struct tl_opts {
    const char *edge, *ca, *name, *seed, *route_base;
    unsigned count, first;
    double rate;           /* first dials per second (reconnects follow the backoff) */
    int hb_ms, hb_count;   /* heartbeat-interval and -count, as the gateway's */
    int duration_s;        /* 0: until SIGINT/SIGTERM */
    int exit_registered_s; /* > 0: exit once all are registered and this long has passed */
    int progress_ms;
};

struct tl_storm {
    uint64_t lost_ms;  /* first registered connection lost (loop ms since start) */
    uint64_t back_ms;  /* first TLS handshake done after it (the edge answers again) */
    uint64_t all_ms;   /* all registered again; 0: not (yet) */
    uint64_t refusals; /* refusals seen during it */
};

#define TL_STORMS_MAX 16

struct tl_run {
    struct st_loop loop;
    struct tl_opts o;
    SSL_CTX *tls;
    struct st_sockaddr edge;
    uint32_t route_base; /* host order */
    struct tl_gw *gws;
    struct tl_gw *q_head, *q_tail;
    struct st_timer pace, progress, stop;
    double tokens;
    uint64_t start_ms, first_all_ms, last_pace_ms;
    unsigned n_registered, n_connected;
    bool all_registered;
    /* counters */
    uint64_t dials, tls_up, registrations, refusals, refusals_retry, conn_failures, losses;
    uint64_t retry_after_max_s, hb_timeouts, flows, flows_open, echo_bytes;
    uint64_t regs_last_tick;
    char last_refusal[128];
    struct tl_storm storms[TL_STORMS_MAX];
    unsigned n_storms;
    bool in_storm;
};

/* Derives simulated tunnel idx's secret (TL_SECRET_HEX hex characters + NUL) from seed. */
void tl_secret(const char *seed, unsigned idx, char out[TL_SECRET_HEX + 1]);
/* The /32 route of tunnel idx: base + idx (host order). */
void tl_route(uint32_t base, unsigned idx, char *buf, size_t len);
/* Parses an IPv4 address into host order; 0 or -1. */
int tl_ipv4(const char *s, uint32_t *out);

/* tunload_flow.c: creates g->h2.session (HTTP/2 server role, extended CONNECT on), serving
 * the control stream (REGISTER on its opening) and echoing every other stream's bytes. */
int tl_flow_session(struct tl_gw *g);
/* Frees g's streams once its session is gone (nghttp2_session_del reports no stream close). */
void tl_flow_release(struct tl_gw *g);
/* Called with the REGISTERED / ERROR capsules of g's control stream (tunload.c). */
void tl_gw_registered(struct tl_gw *g);
void tl_gw_refused(struct tl_gw *g, const char *cause, bool retry, uint64_t retry_after_s);
/* Encodes and queues g's REGISTER on its control stream (tunload.c). */
void tl_gw_send_register(struct tl_gw *g);

/* Subcommands. */
int tl_cmd_config(int argc, char **argv);
int tl_cmd_probe(int argc, char **argv);

#endif
