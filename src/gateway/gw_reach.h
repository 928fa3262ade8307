#ifndef SUBTUNNEL_GW_REACH_H
#define SUBTUNNEL_GW_REACH_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "st_addr.h"

/* The reach role: the kernel routes the CIDRs the edge allows (ROUTES capsule) into the
 * TUN, lwIP accepts TCP to any address and port there, and each accepted connection
 * becomes a CONNECT on a reach connection (gw_flow_accept).
 *
 * IPv4 and IPv6 alike. The routes are not trusted: each is checked (gw_reach_check) against
 * the host's own networks, the edges the gateway dials, its expose routes and special ranges
 * before it enters the main table, and is never installed over an existing route
 * (ns_tun_add_route).
 * The installed set follows the union of the sets last received on each tunnel connection
 * the gateway still has (gw_reach_sync): a CIDR no connection lists any more is withdrawn. */

#define GW_REACH_MAX_ROUTES 64
#define GW_REACH_MIN_PREFIX 8   /* shorter IPv4 routes (but /0) are refused as too broad */
#define GW_REACH_MIN_PREFIX6 16 /* the same for IPv6 */
#define GW_REACH_MAX_LOCAL 256  /* host addresses looked at (more: nothing is installed) */

struct gw_server;

/* The ROUTES last received on one tunnel connection (kept while it reconnects). */
struct gw_reach_offer {
    struct st_cidr routes[GW_REACH_MAX_ROUTES];
    size_t n;
    bool set; /* a ROUTES arrived on this connection */
};

/* An address configured on one of the host's interfaces. */
struct gw_reach_local {
    struct st_cidr net;    /* address/prefix with the host bits cleared */
    uint8_t addr[16];      /* the address itself (IPv4 in addr[0..4)) */
    char ifname[IFNAMSIZ]; /* its interface */
};

/* What a route is checked against. Arrays may be NULL when their count is 0. */
struct gw_reach_guard {
    const struct gw_reach_local *local; /* the host's addresses (TUN and loopback included) */
    size_t n_local;
    const struct st_cidr *edges; /* edge addresses the gateway dials (/32 or /128) */
    size_t n_edges;
    const struct st_cidr *own; /* this gateway's expose.routes */
    size_t n_own;
};

enum gw_reach_verdict {
    GW_REACH_OK = 0,
    GW_REACH_FAMILY,  /* neither IPv4 nor IPv6 */
    GW_REACH_DEFAULT, /* 0.0.0.0/0 or ::/0 */
    GW_REACH_BROAD,   /* prefix shorter than GW_REACH_MIN_PREFIX (GW_REACH_MIN_PREFIX6) */
    GW_REACH_SPECIAL, /* overlaps 0/8, loopback, link-local, multicast, reserved/broadcast,
                         ::/8 (unspecified, loopback, IPv4-mapped), fe80::/10, ff00::/8 */
    GW_REACH_EDGE,    /* contains an edge address: the tunnel itself would loop */
    GW_REACH_LOCAL,   /* overlaps a network of the host's interfaces */
    GW_REACH_OWN,     /* overlaps this gateway's expose.routes: flows would come back */
};

/* Starts the any-address, any-port lwIP listener. 0 or -ENOMEM. */
int gw_reach_init(struct gw_server *gw);

/* Decides whether route may be routed into the TUN. Pure. Two prefixes overlap when one
 * contains the other. On refusal *which (if not NULL) is the index of the special range
 * (gw_reach_special), edge, local address or own route that was hit, or the shortest prefix
 * allowed (GW_REACH_BROAD). */
enum gw_reach_verdict gw_reach_check(const struct st_cidr *route, const struct gw_reach_guard *g,
                                     size_t *which);
/* Writes why a route was refused ("overlaps 198.51.100.1/24 on lan0, a network of this
 * host") into buf (always terminated). 0 or -ENOSPC (truncated). */
int gw_reach_explain(enum gw_reach_verdict v, const struct gw_reach_guard *g, size_t which,
                     char *buf, size_t len);
/* The ranges GW_REACH_SPECIAL refers to, and their count in *n. */
const struct st_cidr *gw_reach_special(size_t *n);
/* Adds the entries of add[0..n_add) missing from set[0..n) (same family, address and
 * prefix), in order, while n < max. Returns the new count; *dropped (if not NULL) gets
 * how many did not fit. */
size_t gw_reach_merge(struct st_cidr *set, size_t n, size_t max, const struct st_cidr *add,
                      size_t n_add, size_t *dropped);
/* Fills a host address from an IPv4 address and prefix (host bits cleared in net). */
void gw_reach_local_set(struct gw_reach_local *l, struct in_addr addr, int prefix,
                        const char *ifname);
/* The same from an IPv6 address and prefix. */
void gw_reach_local_set6(struct gw_reach_local *l, const struct in6_addr *addr, int prefix,
                         const char *ifname);

/* Records the ROUTES just received on one tunnel connection in *offer, then syncs. */
void gw_reach_routes(struct gw_server *gw, struct gw_reach_offer *offer,
                     const struct st_cidr *routes, size_t n);
/* Makes the installed routes match the union of every connection's offer that passes
 * gw_reach_check against the host's current addresses and edges: withdraws what is no
 * longer wanted (or now refused), installs what is new (never replacing a route), and
 * warns once per refused CIDR while it stays offered. No-op without reach. */
void gw_reach_sync(struct gw_server *gw);
/* True when an IPv4 address lies in an installed reach route: replies to it come back
 * through the TUN, so expose may open connections from it (source preservation). */
bool gw_reach_covers(const struct gw_server *gw, const uint8_t addr[4]);
/* The same for an IPv6 address. */
bool gw_reach_covers6(const struct gw_server *gw, const uint8_t addr[16]);

#endif
