#ifndef SUBTUNNEL_EDGE_SERVER_H
#define SUBTUNNEL_EDGE_SERVER_H

#include <openssl/ssl.h>
#include <stdbool.h>

#include "edge_audit.h"
#include "edge_config.h"
#include "edge_conns.h"
#include "edge_limits.h"
#include "edge_listen.h"
#include "edge_registry.h"
#include "edge_relay.h"
#include "st_drain.h"
#include "st_loop.h"
#include "st_metrics.h"
#include "st_notify.h"
#include "st_priv.h"
#include "st_quota.h"

/* The edge process: one loop, its listeners and the tunnel registry. */

struct edge_tconn;
struct edge_flow;
struct edge_ah2;
struct edge_vconn;
struct st_cli;
struct st_mhttp;
struct edge_fleet;
struct edge_relay;

#define EDGE_EXPIRY_CHECK_MS 60000

struct edge_server {
    struct st_loop loop;
    struct edge_config cfg;
    const struct st_cli *cli; /* --config path and --log-level override (reload) */
    SSL_CTX *tunnel_ctx;
    SSL_CTX *access_ctx;
    struct edge_listener lis[EDGE_LIS_SLOTS]; /* edge_listen.c */
    struct edge_conns conns;                  /* accepted connections, for the caps */
    struct st_quota users; /* flows with a tunnel stream per access token (user-max-flows) */
    SSL_CTX *https_ctx;    /* visitor TLS: default certificate */
    SSL_CTX **https_alt;   /* https-certs by SNI */
    size_t n_https_alt;
    struct edge_vconn *vconns; /* HTTP/1.1 visitor connections */
    size_t n_vconns, live_webs;
    struct edge_registry reg;
    struct edge_tconn *tconns; /* every tunnel connection, registered or not */
    struct edge_ah2 *ah2s;     /* every HTTP/2 access and reach connection */
    uint64_t next_conn_id, next_flow_id;
    struct edge_audit audit;   /* audit-log; off when audit.path is NULL */
    struct st_timer expiry;    /* closes flows whose credential expired */
    struct st_drain drain;     /* drain.draining: SIGTERM seen, no new work */
    struct edge_limits limits; /* rate-limited refusal logs */
    struct edge_flow *flows;   /* every live flow (edge_flow.c) */
    size_t live_flows;         /* edge_flow objects alive (access side or tunnel side open) */
    /* counters (edge_metrics.c exports them) */
    uint64_t flows_opened[ST_KIND_N];               /* streams opened on a tunnel, by kind */
    uint64_t flows_refused[ST_KIND_N][ST_REASON_N]; /* answered with an error, by reason */
    uint64_t flows_stalled, flows_idle, auth_failures, visits;
    uint64_t policy_denied, flows_revoked;
    uint64_t visits_by_class[ST_CLASS_N]; /* visitor requests by their answer, once ended */
    uint64_t reg_failures[ST_REG_N];      /* registrations refused, by reason */
    struct st_h2_hbstats hb;              /* heartbeats of tunnel connections */
    struct st_mhttp *mhttp;               /* metrics-listen; NULL when off */
    struct edge_fleet *fleet;             /* registry: the fleet's Redis; NULL when off */
    struct edge_relay *relay;             /* relaying flows to other edges; NULL when off */
    struct edge_relay_stats relay_stats;  /* both sides of the relay (edge_metrics.c) */
    SSL_CTX *relay_ctx;                   /* relay-listen's TLS (client certificate required) */
    struct st_notify notify;              /* systemd readiness and watchdog (edge_svc.c) */
    struct st_priv priv;                  /* user:/group: to switch to (edge_svc.c) */
    uint64_t conns_refused, conns_evicted, accept_pauses; /* edge_listen.c */
    size_t tunnel_setups;       /* tunnel connections in TLS handshake or not registered yet */
    uint64_t setup_progress_ms; /* loop time of the last one that registered */
    uint64_t tunnel_holds;      /* times the tunnel listener waited for setups to finish */
    uint64_t hs_round;          /* edge_hs.c: the loop round its step count is for */
    unsigned hs_steps;          /* TLS handshake steps taken in that round */
};

#endif
