#ifndef SUBTUNNEL_EDGE_REGISTRY_H
#define SUBTUNNEL_EDGE_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edge_config.h"
#include "edge_route.h"
#include "st_metrics.h"

/* Tunnels known from the config, their registered connections, and the route table
 * mapping announced CIDRs to tunnels. */

struct edge_tconn;

struct edge_tunnel_conn {
    struct edge_tconn *c;
    struct st_cidr *routes; /* what this connection announced (owned) */
    size_t n_routes;
    char **hostnames; /* the host names it serves (REGISTER; owned) */
    size_t n_hostnames;
};

struct edge_tunnel {
    const struct edge_tunnel_conf *conf; /* NULL once a reload removed the tunnel */
    char id[64];
    struct edge_tunnel_conn *conns; /* registered connections */
    size_t n_conns, cap_conns;
    size_t rr;                /* round-robin cursor */
    size_t live_webs;         /* visitor requests with a stream on its connections (edge_web) */
    uint64_t registrations;   /* connections registered (metrics) */
    uint64_t bytes[ST_DIR_N]; /* DATA payload of its streams, by direction (metrics) */
    size_t live_flows;        /* flows (CONNECT, MASQUE, reach) with a stream on them (edge_flow) */
};

struct edge_registry {
    struct edge_tunnel **tunnels; /* stable objects, kept until fini (flows point at them) */
    size_t n_tunnels;
    struct edge_route_table *routes;
    /* How busy a connection is (st_h2conn_load); NULL: plain round robin (unit tests) */
    uint64_t (*conn_load)(struct edge_tconn *c);
};

/* Builds one entry per configured tunnel. 0 or -ENOMEM. */
int edge_registry_init(struct edge_registry *r, const struct edge_config *cfg);
void edge_registry_fini(struct edge_registry *r);
/* Points the tunnels at a reloaded configuration: same ids keep their objects (and
 * connections), new ids are added, missing ids get conf NULL. 0 or -ENOMEM (unchanged). */
int edge_registry_reconfigure(struct edge_registry *r, const struct edge_config *cfg);
/* Tunnel by id, NULL if unknown or removed. */
struct edge_tunnel *edge_registry_find(struct edge_registry *r, const char *id);
/* Adds a registered connection and its routes (each must be covered by the tunnel's
 * configured routes). 0, -EPERM (route not allowed; *bad set), -EEXIST (route owned by
 * another tunnel; *bad set), -ENOMEM. */
int edge_registry_attach(struct edge_registry *r, struct edge_tunnel *t, struct edge_tconn *c,
                         const struct st_cidr *routes, size_t n_routes, const struct st_cidr **bad);
/* Records the host names connection c (attached) registered. Each must be covered by the
 * tunnel's configured `hostnames` (an exact name, or inside a "*." pattern). 0, -EPERM with
 * *bad the first name not allowed (nothing recorded), -ENOMEM. */
int edge_registry_hostnames(struct edge_tunnel *t, struct edge_tconn *c, const char (*names)[254],
                            size_t n, const char **bad);
/* Picks a connection for a visitor's host: the tunnel whose configured hostnames cover host
 * (edge_registry_by_host), then round robin over its connections that registered a name
 * matching host. NULL with *t_out NULL: no tunnel serves the name; NULL with *t_out and
 * *connected false: the tunnel has no registered connection; NULL with *connected true:
 * connected, but no connection registered this name. */
struct edge_tconn *edge_registry_pick_host(struct edge_registry *r, const char *host,
                                           struct edge_tunnel **t_out, bool *connected);
/* Removes a connection; the tunnel's routes become the union of what its remaining
 * connections announced (all go with the last one). */
void edge_registry_detach(struct edge_registry *r, struct edge_tunnel *t, struct edge_tconn *c);
/* True when every route c announced lies inside one of conf's routes; else *bad is the
 * first one that does not (a reload narrowed the tunnel's routes). */
bool edge_registry_conn_allowed(const struct edge_tunnel *t, const struct edge_tconn *c,
                                const struct edge_tunnel_conf *conf, const struct st_cidr **bad);
/* The tunnel whose `hostnames` cover host (any case; no port): an exact name first, then
 * the longest matching "*." pattern (which does not cover its apex). NULL if none. */
struct edge_tunnel *edge_registry_by_host(struct edge_registry *r, const char *host);
/* The users and groups the host name entry covering host requires (the same match as
 * edge_registry_by_host), or NULL when it is public or no tunnel serves it. */
const struct edge_host_acl *edge_registry_host_acl(struct edge_registry *r, const char *host);
/* Picks a registered connection for a destination: LPM over announced routes, then round
 * robin over that tunnel's connections that announced it. NULL and *t_out NULL: no tunnel
 * is configured for it; NULL with *t_out: the one tunnel configured for it (configured
 * routes never overlap) has no registered connection that announces it. Never a tunnel
 * that neither announced nor was configured for addr. */
struct edge_tconn *edge_registry_pick(struct edge_registry *r, int family, const uint8_t *addr,
                                      struct edge_tunnel **t_out);

/* Policy between tunnels (default deny): may sites of `src` reach addr, owned by `dst`
 * (NULL: no tunnel)? True when dst is named in src's may-reach, or addr lies in one of its
 * may-reach CIDRs and belongs to another tunnel. A tunnel never reaches itself this way. */
bool edge_registry_may_reach(const struct edge_tunnel *src, const struct edge_tunnel *dst,
                             int family, const uint8_t *addr);
/* The CIDRs src's sites may reach (for the ROUTES capsule): the configured routes of the
 * tunnels it names, then its may-reach CIDRs. Returns how many were written (<= max). */
size_t edge_registry_reachable(const struct edge_registry *r, const struct edge_tunnel *src,
                               struct st_cidr *out, size_t max);

#endif
