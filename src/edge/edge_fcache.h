#ifndef SUBTUNNEL_EDGE_FCACHE_H
#define SUBTUNNEL_EDGE_FCACHE_H

/* The edge fleet's cache of what the other edges hold (docs/fleet.md): per remote edge its
 * relay address, instance, change sequence, lease expiry and the tunnels it holds registered
 * connections of (routes, host names, connection count). Indexed for the lookups a flow
 * needs (holders of a tunnel, tunnel by destination address, tunnel by host name), so none
 * needs Redis. Also the JSON codecs of the registry's values and pub/sub messages. Pure: no
 * sockets, no clock (callers pass now). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edge_route.h"
#include "st_addr.h"

#define EDGE_FLEET_ID_MAX 64     /* edge and tunnel ids: 1..63 printable bytes */
#define EDGE_FLEET_ADDR_MAX 64   /* relay address "host:port" */
#define EDGE_FLEET_LIST_MAX 1024 /* routes, host names per entry */

/* One tunnel as one edge holds it. */
struct edge_fentry {
    char tunnel[EDGE_FLEET_ID_MAX];
    struct st_cidr *routes;
    size_t n_routes;
    char **hostnames;
    size_t n_hostnames;
    uint32_t conns;
};

struct edge_fedge {
    char id[EDGE_FLEET_ID_MAX];
    char relay[EDGE_FLEET_ADDR_MAX]; /* "" when it relays nothing */
    uint64_t inst, seq;              /* instance (one per process start), change sequence */
    uint64_t expires_ms;             /* lease, on the caller's clock */
    struct edge_fentry *entries;
    size_t n_entries;
    uint64_t mark; /* the load that last saw it */
};

/* A tunnel's holder: an edge and its entry (both valid until the cache changes). */
struct edge_fholder {
    const struct edge_fedge *edge;
    const struct edge_fentry *entry;
};

struct fidx;
struct fhost;

struct edge_fcache {
    char self[EDGE_FLEET_ID_MAX]; /* our own id: never cached */
    struct edge_fedge **edges;
    size_t n_edges;
    /* index, rebuilt after every change */
    struct fidx *tunnels; /* sorted by tunnel id */
    size_t n_tunnels;
    struct fhost *hosts; /* sorted by name */
    size_t n_hosts;
    struct edge_route_table *routes; /* owner: a struct fidx */
    size_t n_entries;
};

/* ---- codecs ---- */

/* True for an id of 1..63 bytes of [A-Za-z0-9._-]. */
bool edge_fleet_id_valid(const char *s);
/* {"routes":["198.51.100.0/24"],"hostnames":["app.example"],"conns":2} into *out (tunnel
 * left as is; release with edge_fentry_fini). 0, or -EBADMSG with the reason in err, -ENOMEM. */
int edge_fentry_decode(const char *json, size_t len, struct edge_fentry *out, char *err,
                       size_t errlen);
/* The JSON of an entry (heap; the caller frees it), NULL on ENOMEM. */
char *edge_fentry_encode(const struct st_cidr *routes, size_t n_routes,
                         const char *const *hostnames, size_t n_hostnames, uint32_t conns);
void edge_fentry_fini(struct edge_fentry *e);

enum edge_fmsg_kind { EDGE_FMSG_UP, EDGE_FMSG_DOWN, EDGE_FMSG_ALIVE, EDGE_FMSG_GONE };

/* A message on the fleet channel: {"ev":"up","edge":"e1","inst":7,"seq":3,"tunnel":"t",
 * "v":{entry}}, "down" (no v), "alive" {"ev","edge","inst","seq","relay"}, "gone". */
struct edge_fmsg {
    enum edge_fmsg_kind kind;
    char edge[EDGE_FLEET_ID_MAX];
    char relay[EDGE_FLEET_ADDR_MAX];
    uint64_t inst, seq;
    struct edge_fentry entry; /* up: the tunnel and its value; down: the tunnel */
};

/* Decodes into *m (release with edge_fmsg_fini). 0, -EBADMSG (err says why), -ENOMEM. */
int edge_fmsg_decode(const char *json, size_t len, struct edge_fmsg *m, char *err, size_t errlen);
void edge_fmsg_fini(struct edge_fmsg *m);
/* The JSON of a message (heap), entry_json the value of "up" (else NULL). NULL on ENOMEM. */
char *edge_fmsg_encode(enum edge_fmsg_kind kind, const char *edge, uint64_t inst, uint64_t seq,
                       const char *tunnel, const char *entry_json, const char *relay);

/* ---- cache ---- */

/* self: our edge id. 0 or -ENOMEM. */
int edge_fcache_init(struct edge_fcache *c, const char *self);
void edge_fcache_fini(struct edge_fcache *c);

/* What applying a message needs next. */
enum edge_fcache_apply { EDGE_FCACHE_OK, EDGE_FCACHE_RESYNC };
/* Applies m at now with a lease of lease_ms. A change that follows the edge's known
 * (inst, seq) by one is applied; anything else (an unknown edge, a gap, another instance)
 * returns EDGE_FCACHE_RESYNC: the caller reloads that edge (edge_fcache_replace). Messages
 * of self are ignored. m's entry is moved into the cache (m stays valid to fini). */
enum edge_fcache_apply edge_fcache_apply(struct edge_fcache *c, struct edge_fmsg *m, uint64_t now,
                                         uint64_t lease_ms);
/* Replaces everything known of edge id with entries[0..n) (moved in; the array is the
 * caller's), relay, inst and seq, expiring at expires_ms, marked with mark. 0, -ENOMEM. */
int edge_fcache_replace(struct edge_fcache *c, const char *id, const char *relay, uint64_t inst,
                        uint64_t seq, struct edge_fentry *entries, size_t n, uint64_t expires_ms,
                        uint64_t mark);
/* Forgets edge id (gone, or its registry keys lapsed). True when it was known. */
bool edge_fcache_remove(struct edge_fcache *c, const char *id);
/* Forgets the edges whose lease ended by now; returns how many. */
size_t edge_fcache_expire(struct edge_fcache *c, uint64_t now);
/* Forgets the edges a load marked `mark` did not see; returns how many. */
size_t edge_fcache_sweep(struct edge_fcache *c, uint64_t mark);
const struct edge_fedge *edge_fcache_edge(const struct edge_fcache *c, const char *id);

/* ---- lookups (no allocation) ---- */

/* The holders of tunnel (other edges), up to max into out; returns how many there are. */
size_t edge_fcache_holders(const struct edge_fcache *c, const char *tunnel,
                           struct edge_fholder *out, size_t max);
/* The tunnel whose remotely registered routes match addr best (longest prefix); NULL none. */
const char *edge_fcache_by_addr(const struct edge_fcache *c, int family, const uint8_t *addr);
/* The tunnel that registered host (any case) elsewhere: an exact name, else the longest
 * "*." pattern covering it; NULL none. */
const char *edge_fcache_by_host(const struct edge_fcache *c, const char *host);
/* Entries (edge, tunnel) cached. */
size_t edge_fcache_entries(const struct edge_fcache *c);

#endif
