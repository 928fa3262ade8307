#ifndef SUBTUNNEL_EDGE_FLEET_H
#define SUBTUNNEL_EDGE_FLEET_H

/* The edge fleet's shared registry in Redis (docs/fleet.md): publishes which tunnels this
 * edge holds registered connections of (with their routes and host names) under a lease it
 * refreshes every heartbeat, and keeps a cache of what the other edges hold, filled by a load
 * (SCAN) on every (re)connection and kept current by pub/sub. While Redis is unreachable the
 * cache is served as it is (nothing expires) and local changes wait to be published. */

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edge_fcache.h"
#include "st_metrics.h"
#include "st_redis.h"

struct st_loop;
struct edge_tunnel;

struct edge_fleet_opts {
    const char *edge_id;                     /* required, edge_fleet_id_valid */
    const char *relay;                       /* advertised relay address; NULL or "": none */
    const struct st_redis_url *url;          /* copied */
    SSL_CTX *tls_ctx;                        /* rediss (st_redis_tls_ctx); referenced */
    const char *tls_name;                    /* rediss: name to verify; NULL: the address */
    uint32_t lease_ms;                       /* key lease; default 25000 */
    uint32_t refresh_ms;                     /* refresh and "alive" period; default lease / 5 */
    const char *prefix;                      /* key and channel prefix; default "st:" */
    uint32_t backoff_min_ms, backoff_max_ms; /* reconnection; default 100, 5000 */
};

struct edge_fleet_stats {
    uint64_t messages, bad_messages; /* fleet channel messages received, refused */
    uint64_t resyncs, loads;         /* edges reloaded, full loads */
    uint64_t publish_failed;         /* changes not published (refused, error reply) */
};

struct edge_fleet;

/* A fleet member on loop (nothing happens until edge_fleet_start). NULL with a log on a bad
 * option or ENOMEM. */
struct edge_fleet *edge_fleet_new(struct st_loop *loop, const struct edge_fleet_opts *o);
struct edge_config;
/* The fleet member a configuration asks for (registry.url, ca, server-name, edge-id,
 * relay-listen; lease heartbeat-interval x heartbeat-count, refreshed every
 * heartbeat-interval), started. NULL with a log when the TLS context cannot be built or
 * memory is short; cfg without a registry: NULL without a log. */
struct edge_fleet *edge_fleet_from_config(struct st_loop *loop, const struct edge_config *cfg);
/* Withdraws this edge's state (best effort, when connected), closes and frees; NULL-safe. */
void edge_fleet_free(struct edge_fleet *f);
/* Connects (both connections) and keeps reconnecting. 0. */
int edge_fleet_start(struct edge_fleet *f);
/* Graceful stop (drain): deletes this edge's keys and tells the others ("gone") when
 * connected; publishes nothing afterwards. The loop must run for the commands to go out.
 * Without it the others forget this edge when its lease lapses. NULL-safe. */
void edge_fleet_withdraw(struct edge_fleet *f);

/* ---- this edge's state ---- */

/* Tunnel id holds conns (> 0) registered connections here with these routes and host names:
 * published now (or when Redis is back). 0, -EINVAL, -ENOMEM. */
int edge_fleet_set(struct edge_fleet *f, const char *tunnel, const struct st_cidr *routes,
                   size_t n_routes, const char *const *hostnames, size_t n_hostnames,
                   uint32_t conns);
/* Tunnel id holds no registered connection here any more. 0 (also when it held none). */
int edge_fleet_unset(struct edge_fleet *f, const char *tunnel);
/* edge_fleet_set or _unset from a registry tunnel's current connections (the union of the
 * routes and host names they registered). NULL-safe on f. */
void edge_fleet_sync(struct edge_fleet *f, const struct edge_tunnel *t);

/* ---- the others ---- */

/* Both connections up, subscribed and the cache loaded since the last connection. */
bool edge_fleet_up(const struct edge_fleet *f);
/* The cache (lookups: edge_fcache_holders, _by_addr, _by_host); valid until the loop runs. */
const struct edge_fcache *edge_fleet_cache(const struct edge_fleet *f);
const struct edge_fleet_stats *edge_fleet_stats(const struct edge_fleet *f);
/* subtunnel_registry_* metrics (docs/operations.md). */
void edge_fleet_metrics(const struct edge_fleet *f, struct st_mbuf *b);

#endif
