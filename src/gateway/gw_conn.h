#ifndef SUBTUNNEL_GW_CONN_H
#define SUBTUNNEL_GW_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "gw_edges.h"
#include "gw_reach.h"
#include "st_ctrlstream.h"
#include "st_h2conn.h"

/* One outbound tunnel connection to an edge: TLS client (CA + name verified), HTTP/2
 * *server* role. Answers the edge's control stream with REGISTER and serves CONNECT
 * streams as gw_flows. Always dials the same edge target; reconnects with jittered
 * exponential backoff (an ERROR's retry-after is honoured). */

struct gw_server;
struct gw_flow;

struct gw_conn {
    struct gw_server *gw;
    struct st_h2conn h2;
    bool active; /* h2 is initialised */
    bool reach;  /* reach connection: HTTP/2 client, streams opened by this gateway */
    unsigned index;
    unsigned attempts;
    bool registered, stopped;
    bool refused_now;         /* this attempt ended in a refusal (read by the next retry) */
    unsigned refusals;        /* registrations refused in a row (retried slowly, see gw_edges) */
    char refusal[256];        /* the last refusal's cause: logged once while it stays the same */
    bool drained;             /* UNREGISTER + GOAWAY sent (or nothing left to drain) */
    uint64_t drained_at;      /* loop time of the drain */
    uint64_t retry_after_ms;  /* from the edge's ERROR: the next wait is at least this */
    uint64_t retire_deadline; /* retired: drain then (if its replacement is up) */
    bool kept;                /* retired, deadline passed, kept for want of a replacement */
    struct gw_conn *next_retired;
    struct gw_edge_target target;
    struct st_timer retry;
    struct st_ctrlstream ctrl;
    struct gw_flow *flows;
    size_t n_flows;                    /* in `flows` */
    struct gw_reach_offer reach_offer; /* last ROUTES on this connection (gw_reach_sync) */
    char edge[64];
    char conn_id[64];
};

#define GW_ALPN_REACH "subtunnel-reach"

/* Creates connection `index` to edge t (copied) and schedules its first dial: a tunnel
 * connection (HTTP/2 server, serves the edge's streams) or, with `reach`, a reach
 * connection (HTTP/2 client, carries flows captured on the TUN). NULL on ENOMEM. */
struct gw_conn *gw_conn_new(struct gw_server *gw, unsigned index, bool reach,
                            const struct gw_edge_target *t);
/* Never reconnects again; the current connection, if any, goes on. */
void gw_conn_stop(struct gw_conn *c);
/* A usable reach connection, round robin; NULL when none is up. */
struct gw_conn *gw_conn_pick_reach(struct gw_server *gw);
/* Links a flow whose stream the gateway opened on c. */
void gw_conn_attach(struct gw_conn *c, struct gw_flow *f);
void gw_conn_free(struct gw_conn *c);
/* Sends UNREGISTER and GOAWAY (drain): no new streams, open flows go on. */
void gw_conn_drain(struct gw_conn *c);
/* True once a drained connection carries no flow and has nothing left to send. */
bool gw_conn_idle(struct gw_conn *c);

#endif
