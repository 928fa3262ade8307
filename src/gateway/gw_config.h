#ifndef SUBTUNNEL_GW_CONFIG_H
#define SUBTUNNEL_GW_CONFIG_H

/* subtunnel-gateway configuration file (YAML); see docs/configuration.md. */

#include "gw_ingress.h"
#include "st_addr.h"

#include <stdbool.h>
#include <stddef.h>

/* Metric of the reach routes in the main table: above the 0 of `ip route add`, so an
 * administrator's route for the same prefix keeps precedence. */
#define GW_REACH_ROUTE_METRIC 200
/* virtual-pool6 default: a documentation prefix (RFC 3849) for the lab; a real deployment
 * sets its own ULA or GUA /96 (docs/configuration.md). */
#define GW_VIRTUAL_POOL6_DEFAULT "2001:db8:64::/96"

struct gw_config {
    int log_level;             /* log-level: error|warn|info|debug (default info) */
    struct st_sockaddr *edges; /* edges: list of "ip:port"; exactly one of edges/edge-srv */
    size_t n_edges;
    char *edge_srv;                /* edge-srv: domain; edges from _subtunnel._tcp.<domain> */
    struct st_sockaddr *resolvers; /* resolvers: DNS servers "ip:port"; none: resolv.conf */
    size_t n_resolvers;
    int grace_period_ms;      /* grace-period: seconds, default 30, 0..3600 */
    int udp_idle_timeout_ms;  /* udp-idle-timeout: seconds, default 210, 1..86400 */
    int dgram_per_client;     /* datagram-flows-per-client: live UDP+ICMP flows of one user */
    int dgram_per_host;       /* datagram-flows-per-host: ... to one destination host */
    int icmp_idle_timeout_ms; /* icmp-idle-timeout: seconds, default 30, 1..3600 */
    int dns_idle_timeout_ms;  /* dns-idle-timeout: UDP to port 53, default 15, 1..86400 */
    char *edge_name;          /* edge-name: TLS name to verify (required) */
    char *ca_file;            /* ca-file: required readable file */
    char tunnel_id[64];       /* from token: "id:secret" or token-file: path */
    char secret[256];
    int ha_connections;        /* ha-connections: default 4, 1..16 */
    int edge_count;            /* edge-count: fleet edges dialled, default 2, 1..16 */
    int heartbeat_interval_ms; /* heartbeat-interval: seconds, default 5, 1..300 */
    int heartbeat_count;       /* heartbeat-count: default 5, 1..100 */
    bool expose;               /* true if an expose: section is present */
    struct st_cidr *routes;    /* expose.routes: list of CIDRs (>=1 when expose present) */
    size_t n_routes;
    int connect_timeout_ms;      /* expose.connect-timeout: seconds, default 10, 1..300 */
    bool allow_link_local;       /* expose.allow-link-local: default false (169.254.0.0/16) */
    struct st_cidr *allow_local; /* expose.allow-local: IPv4 CIDRs the guard lets through */
    size_t n_allow_local;
    bool reach;                   /* true if a reach: section is present */
    int reach_connections;        /* reach.connections: default 2, 1..16 */
    int reach_route_metric;       /* reach.route-metric: default 200, 0..2147483647 */
    char tun_name[16];            /* tun.name: default "st0", <= 15 chars */
    int tun_mtu;                  /* tun.mtu: default 1500, 576..9000 */
    bool tun_offload;             /* tun.offload: vnet headers, TSO both ways; default true */
    bool tun_batch;               /* tun.batch-reads: io_uring, 16 reads per call; default true */
    struct st_cidr virtual_pool;  /* virtual-pool: IPv4 CIDR, default 100.64.0.0/10, prefix <= 29 */
    struct st_cidr virtual_pool6; /* virtual-pool6: IPv6 CIDR /96../120, GW_VIRTUAL_POOL6_DEFAULT */
    struct gw_ingress ingress;    /* ingress: hostname rules (n_rules 0: none) */
    int log_format;               /* log-format: text|json (default text) */
    bool has_metrics;             /* metrics-listen: default off */
    struct st_sockaddr metrics_listen; /* Prometheus text, /healthz, /ready (plain HTTP/1.1) */
    char *user, *group; /* user:, group: switch to them once TUN and routes are up; NULL: stay */
};

/* Loads and validates path into *cfg (overwritten; release with gw_config_fini). On failure
 * returns a negative errno, leaves *cfg zeroed and writes "FILE:LINE: reason" into err. */
int gw_config_load(const char *path, struct gw_config *cfg, char *err, size_t errlen);
/* Same from text[0..len); name is used in messages. token-file and ca-file are read/checked. */
int gw_config_parse(const char *text, size_t len, const char *name, struct gw_config *cfg,
                    char *err, size_t errlen);
/* Frees everything cfg owns, wipes the secret and zeroes cfg; accepts a zeroed cfg. */
void gw_config_fini(struct gw_config *cfg);

#endif
