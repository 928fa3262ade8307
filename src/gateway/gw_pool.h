#ifndef SUBTUNNEL_GW_POOL_H
#define SUBTUNNEL_GW_POOL_H

#include <stdbool.h>
#include <stddef.h>

#include "gw_edges.h"

/* The gateway's set of edge connections. The edge targets come from the static `edges`
 * list or from DNS SRV (re-resolved when a connection fails and when the TTL expires);
 * gw_edges_select picks edge-count of them (all when there are no more, or when an edge works
 * alone) by priority, probed round trip and weight, and passes over one that fails;
 * gw_edges_assign maps the chosen ones to connection slots (each holds at least one tunnel
 * connection). A connection keeps its edge; when the target list or the gateway's
 * identity changes, replaced connections are retired: they keep serving until their
 * replacement has registered with the same edge (after RETIRE_WAIT without one, only a
 * connection that is not registered itself is let go), then send UNREGISTER + GOAWAY and
 * are freed once idle. */

struct gw_server;
struct gw_conn;

/* Starts discovery (static list or SRV) and the first connections. 0 or -errno. */
int gw_pool_start(struct gw_server *gw);
/* Replaces every connection (make-before-break), e.g. after the token or routes changed. */
void gw_pool_replace_all(struct gw_server *gw);
/* Uses a new static edge list or SRV setting from gw->cfg (after a reload); with `fresh`
 * every connection is replaced too, as by gw_pool_replace_all. */
void gw_pool_reconfigure(struct gw_server *gw, bool fresh);
/* SIGTERM: every connection, current and retiring, sends UNREGISTER + GOAWAY. */
void gw_pool_drain(struct gw_server *gw);
/* Connections that still carry flows or have data to send. */
size_t gw_pool_busy(struct gw_server *gw);
/* True if a current connection's last registration was refused (a reload then replaces
 * every connection at once, even when the file did not change, instead of waiting for the
 * refused ones' slow retry). */
bool gw_pool_refused(struct gw_server *gw);
/* Called by a tunnel connection when the edge accepted its REGISTER. */
void gw_pool_on_registered(struct gw_server *gw, struct gw_conn *c);
/* An edge said (REGISTERED without the fleet flag) that it works alone: from now on every
 * listed edge is dialled, as edges that share nothing need, whatever edge-count says. */
void gw_pool_edge_alone(struct gw_server *gw, const struct gw_conn *c);
/* Tunnel connection c closed: when the gateway chooses edge-count of more edges and c's edge
 * failed again after a loss, or refused, that edge is passed over for a while
 * (gw_edges_down_ms) and another is chosen. */
void gw_pool_edge_failed(struct gw_server *gw, const struct gw_conn *c);
/* Called when a connection failed: re-resolves SRV soon (rate limited). */
void gw_pool_on_conn_failed(struct gw_server *gw);
/* Registered tunnel connections and distinct edges they reach (for logs and tests). */
void gw_pool_stats(struct gw_server *gw, size_t *registered, size_t *edges);
void gw_pool_fini(struct gw_server *gw);

#endif
