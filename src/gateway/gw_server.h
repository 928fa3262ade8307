#ifndef SUBTUNNEL_GW_SERVER_H
#define SUBTUNNEL_GW_SERVER_H

#include <net/if.h>
#include <openssl/ssl.h>

#include "gw_config.h"
#include "gw_dgram.h"
#include "gw_edges.h"
#include "gw_guard.h"
#include "gw_oqueue.h"
#include "gw_probe.h"
#include "gw_quota.h"
#include "gw_reach.h"
#include "gw_vip.h"
#include "ns_netif.h"
#include "st_drain.h"
#include "st_log.h"
#include "st_loop.h"
#include "st_metrics.h"
#include "st_notify.h"
#include "st_priv.h"

/* The gateway process: loop, TUN + lwIP, the edge connections and the virtual IP pool. */

struct gw_conn;
struct gw_origin;

#define GW_ORIGIN_CTX_MAX 8
struct gw_origin_ctx { /* TLS client contexts for https origins (gw_origin_tls_ctx) */
    char *ca_file;
    bool verify;
    SSL_CTX *ctx;
};
struct gw_dns;
struct st_cli;
struct st_mhttp;

struct gw_server {
    struct st_loop loop;
    struct gw_config cfg;
    const struct st_cli *cli; /* --config path and --log-level override (reload) */
    SSL_CTX *tls;
    struct gw_conn **conns; /* current slots: tunnel connections, then reach connections */
    size_t n_conns;
    struct gw_conn *retired;        /* replaced connections draining (next_retired list) */
    struct gw_edge_target *targets; /* the edges, sorted (gw_edges_sort) */
    struct gw_edge_state *tstate;   /* what is known of targets[i]: RTT, failures */
    size_t n_targets;
    size_t *active;          /* indices into targets of the edges dialled (edge-count) */
    size_t n_active;         /* ascending */
    bool edges_alone;        /* an edge said it works alone: every listed edge is dialled */
    struct gw_probes probes; /* RTT probes of the targets (only when choosing among them) */
    uint64_t next_probe;
    struct st_defer reselect; /* chooses the edges again (a failure, probe results) */
    struct gw_dns *dns;       /* edge-srv discovery, NULL with a static list */
    struct st_defer reap;     /* frees idle retired connections */
    uint64_t last_resolve, next_resolve;
    struct st_timer pool_timer;
    struct gw_vip_pool *vips;
    struct gw_vip_pool *vips6; /* virtual-pool6: sources of flows to IPv6 targets */
    struct ns_netif nif;
    struct st_io tun_io;
    struct st_timer lwip_timer;
    char ifname[IFNAMSIZ];
    struct in_addr tun_addr, stack_addr;
    struct in6_addr tun_addr6; /* virtual-pool6 + 1 on the TUN (the kernel's route to the pool) */
    struct tcp_pcb *reach_listener;
    struct st_cidr reach_routes[GW_REACH_MAX_ROUTES]; /* installed in the main table */
    size_t n_reach_routes;
    struct st_cidr reach_warned[GW_REACH_MAX_ROUTES]; /* refused and logged by the last sync */
    size_t n_reach_warned;
    size_t reach_rr;
    struct st_drain drain;                          /* drain.draining: SIGTERM seen, no new work */
    uint64_t flows_opened;                          /* TCP flows (expose and reach) */
    uint64_t flows_refused[ST_KIND_N][ST_REASON_N]; /* answered with an error, by reason */
    uint64_t registrations, reconnects;             /* REGISTERED received; dials retried */
    uint64_t reg_failures[ST_REG_N];                /* registrations refused or failed */
    uint64_t tunnel_bytes[ST_DIR_N];                /* DATA payload of data streams */
    struct st_h2_hbstats hb;                        /* heartbeats of edge connections */
    struct st_mhttp *mhttp;                         /* metrics-listen; NULL when off */
    bool fd_short;     /* socket() found no descriptor left: logged once until one opens */
    uint64_t zc_bytes; /* DATA payload sealed straight from lwIP's pbufs (gw_flow_send_data) */
    /* hostname ingress (gw_web, gw_origin) */
    struct gw_oqueue origins;     /* per origin: connections being opened, pool, waiting requests */
    struct st_defer origin_serve; /* serves the requests of woken origins (gw_origin.c) */
    size_t n_origin_idle, origin_conns;
    uint64_t origin_opened, web_requests;
    uint64_t origin_waited, origin_queue_full; /* requests that waited / found the queue full */
    uint64_t origin_retries; /* connections failed before the origin took them, tried again */
    uint64_t origin_stalls;  /* origins made strict by a stalled new connection (gw_origin.h) */
    struct st_log_limit ingress_log; /* ingress refusals (queue full) */
    struct gw_origin_ctx origin_ctx[GW_ORIGIN_CTX_MAX];
    size_t n_origin_ctx;
    struct in_addr ingress_vip; /* source address of connections to origins */
    bool has_ingress_vip;
    struct in6_addr ingress_vip6; /* the same for IPv6 origins (virtual-pool6) */
    bool has_ingress_vip6;
    /* UDP and ICMP (gw_dgram) */
    struct gw_dgram_stats dgram;
    struct gw_quota dgram_clients, dgram_hosts; /* live UDP+ICMP flows per user, per target */
    struct gw_dgram *icmp_flows;
    struct udp_pcb *udp_catch; /* reach: any-port pcb */
    struct st_defer dgram_trim;
    struct st_notify notify; /* systemd readiness and watchdog (gw_svc.c) */
    struct st_priv priv;     /* user:/group: to switch to (gw_svc.c) */

    /* the guard (gw_guard.c): expose destinations never served */
    struct gw_guard guard;
    bool guard_on;                     /* gw_guard_start succeeded */
    struct st_io guard_io;             /* netlink address events (fd -1: none) */
    struct st_timer guard_timer;       /* re-reads the addresses when netlink is unavailable */
    struct st_log_limit guard_log;     /* refusal lines */
    uint64_t guard_refused[ST_KIND_N]; /* flows the guard refused, by kind */
};

#endif
