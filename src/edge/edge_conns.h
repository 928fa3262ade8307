#ifndef SUBTUNNEL_EDGE_CONNS_H
#define SUBTUNNEL_EDGE_CONNS_H

/* The connections the edge accepted, counted for its caps: in all, per listener, per client
 * address, and those still in their startup phase ("unauthenticated", oldest first). Indexed
 * by fd: a connection keeps its fd when one module hands it to another (access request to
 * flow, handshake to tunnel connection...), so the entry follows it for free. Pure: no
 * sockets, no clock; edge_listen applies the verdicts. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "st_addr.h"
#include "st_quota.h"

enum edge_lis {
    EDGE_LIS_TUNNEL,     /* tunnel-listen */
    EDGE_LIS_ACCESS,     /* access-listen */
    EDGE_LIS_ACCESS_TLS, /* access-tls-listen */
    EDGE_LIS_HTTP,       /* http-listen */
    EDGE_LIS_HTTPS,      /* https-listen */
    EDGE_LIS_RELAY,      /* relay-listen: other edges of the fleet */
    EDGE_LIS_ACCESS6,    /* access-listen6: a second access listener (an IPv6 address) */
    EDGE_LIS_KINDS
};

struct edge_conn_caps {
    uint32_t total;      /* max-connections */
    uint32_t listener;   /* listener-max-connections */
    uint32_t per_client; /* max-connections-per-client */
};

/* What edge_conns_admit decided. */
enum edge_conn_verdict {
    EDGE_CONN_ADMITTED = 0,
    EDGE_CONN_OVER_TOTAL,    /* max-connections open on all listeners */
    EDGE_CONN_OVER_LISTENER, /* listener-max-connections open on this listener */
    EDGE_CONN_OVER_CLIENT,   /* max-connections-per-client open from this address */
};

struct edge_conn_ent {
    uint8_t key[ST_QUOTA_KEY]; /* client key (edge_conns_client_key) */
    bool used, unauth;
    uint8_t lis;       /* enum edge_lis */
    int prev, next;    /* unauthenticated list (fds; -1 ends it) */
    uint64_t since_ms; /* when admitted (the caller's clock) */
};

struct edge_conns {
    struct edge_conn_ent *ents; /* by fd, grown on demand */
    size_t n_ents;
    struct st_quota clients; /* open connections per client key */
    size_t total, unauth, per_lis[EDGE_LIS_KINDS];
    int head, tail; /* unauthenticated, oldest first */
};

void edge_conns_init(struct edge_conns *c, uint64_t seed);
void edge_conns_fini(struct edge_conns *c);
/* The key a peer is counted under: its IPv4 address (also when it comes IPv4-mapped on an
 * IPv6 socket), or the /64 of an IPv6 address (one subscriber's prefix, as a single IPv4
 * address is one subscriber's NAT). Loopback is counted like any address. */
void edge_conns_client_key(uint8_t key[ST_QUOTA_KEY], const struct st_sockaddr *peer);
/* Counts connection fd, accepted on listener lis from peer at now_ms, unless one of caps
 * forbids it; an admitted connection starts unauthenticated (newest in the list). Returns
 * EDGE_CONN_ADMITTED, the cap that refused it (nothing counted), -EINVAL when fd is counted
 * already (a close that skipped edge_conns_release), or -ENOMEM. */
int edge_conns_admit(struct edge_conns *c, int fd, enum edge_lis lis,
                     const struct st_sockaddr *peer, const struct edge_conn_caps *caps,
                     uint64_t now_ms);
/* fd left its startup phase (see docs/configuration.md, max-unauthenticated). No-op when fd
 * is not counted or already out of the list. */
void edge_conns_authed(struct edge_conns *c, int fd);
/* fd is about to be closed: forgets it. No-op when fd is not counted. */
void edge_conns_release(struct edge_conns *c, int fd);
/* With more than cap connections unauthenticated: takes the oldest out of the list (it stays
 * counted until released) and returns its fd, for the caller to close; *since_ms (may be
 * NULL) is when it was admitted, *lis its listener. -1 when within cap. */
int edge_conns_evict(struct edge_conns *c, size_t cap, uint64_t *since_ms, enum edge_lis *lis);
/* Open connections from peer's client key. */
uint32_t edge_conns_from(const struct edge_conns *c, const struct st_sockaddr *peer);
/* True when fd is counted. */
bool edge_conns_counted(const struct edge_conns *c, int fd);
/* True when fd is counted and still unauthenticated. */
bool edge_conns_is_unauth(const struct edge_conns *c, int fd);

#endif
