#ifndef SUBTUNNEL_EDGE_RELAY_H
#define SUBTUNNEL_EDGE_RELAY_H

/* The relay between edges (issue 22, docs/fleet.md): an edge with no registered connection of
 * a flow's tunnel opens the flow on an edge that has one (a holder in the fleet cache), over
 * a pooled HTTP/2 connection to that edge's relay-listen, TLS 1.3 both ways verified against
 * relay-ca (the holder's certificate must name its edge id). That connection is an edge_tconn
 * with `relay` set: the flow code uses the same stream calls as on a gateway's connection.
 * The request is the CONNECT (or, for a visitor of a host name, the request) the tunnel would
 * have received plus the user's identity (subtunnel-identity, never the credential) or the
 * sending site's tunnel (subtunnel-relay-tunnel); the holder checks the policy again and never
 * relays further. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#define EDGE_RELAY_IDENT_HDR "subtunnel-identity"
#define EDGE_RELAY_TUNNEL_HDR "subtunnel-relay-tunnel"
#define EDGE_RELAY_IDENT_MAX 512
/* A holder whose relay connection failed is passed over for this long (or until its
 * registry record changes instance). */
#define EDGE_RELAY_BACKOFF_MS 10000
#define EDGE_RELAY_PEERS_MAX 8 /* holders looked at per flow */

/* Relay counters of an edge (edge_server's relay_stats; subtunnel_relay_* metrics). The
 * entry edge relays a flow, the holder receives it. */
enum edge_relay_side { EDGE_RELAY_ENTRY, EDGE_RELAY_HOLDER, EDGE_RELAY_SIDES };
enum edge_relay_dir { EDGE_RELAY_TO_HOLDER, EDGE_RELAY_TO_ENTRY, EDGE_RELAY_DIRS };
struct edge_relay_stats {
    uint64_t dials, dial_failures;                     /* failed: before TLS was up */
    uint64_t flows[EDGE_RELAY_SIDES];                  /* streams opened */
    uint64_t bytes[EDGE_RELAY_SIDES][EDGE_RELAY_DIRS]; /* DATA payload */
};

struct edge_server;
struct edge_flow;
struct edge_tunnel;
struct edge_tconn;
struct edge_ident;
struct edge_config;

/* ---- identity codec (pure) ---- */

/* "alice token <64 hex: credential hash> <expires> <own groups> <legacy 0|1> g1,g2" into buf:
 * the length, or -ENOSPC. */
int edge_relay_ident_encode(const struct edge_ident *id, char *buf, size_t len);
/* The reverse into *id (zeroed first). 0 or -EBADMSG. The caller rechecks the identity
 * against its own configuration (edge_auth_recheck) before trusting the groups. */
int edge_relay_ident_decode(const char *s, size_t len, struct edge_ident *id);
/* A relayed identity field as a holder takes it (CONNECT flows and visitor requests alike):
 * decoded into *id and checked again against cfg at wall time now (edge_auth_recheck). true,
 * or false with *why set (never NULL). */
bool edge_relay_ident_accept(const struct edge_config *cfg, const char *s, size_t len, int64_t now,
                             struct edge_ident *id, const char **why);

/* ---- choosing a holder (pure) ---- */

/* What a holder of the wanted tunnel offers a new flow. */
enum edge_relay_cand {
    EDGE_RELAY_SKIP,   /* no relay address, failed lately (EDGE_RELAY_BACKOFF_MS), or draining */
    EDGE_RELAY_DIAL,   /* usable: a relay connection is dialed for the flow */
    EDGE_RELAY_POOLED, /* a pooled relay connection to it takes new streams */
};
/* The holders to try for a flow, in order: those with a pooled connection first, then those to
 * dial, each group in turns from index start (round robin). cand[i] is holder i's
 * edge_relay_cand; order gets up to n indexes into cand. Returns how many. */
size_t edge_relay_next_order(const uint8_t *cand, size_t n, size_t start, size_t *order);
/* A relayed flow's stream closed before any answer: true when the flow goes to the next
 * holder. That is when nothing of it was sent (sent: bytes or the end of the request went
 * out) and either its connection never finished its handshake (conn_up false) or the holder
 * refused the stream unprocessed (code REFUSED_STREAM: it drains, or its GOAWAY came first),
 * while fewer than EDGE_RELAY_PEERS_MAX holders were tried (tries counts this one). */
bool edge_relay_next_holder(bool conn_up, uint32_t code, bool sent, unsigned tries);

/* A relayed stream's request is a visitor's (hostname ingress: any method but CONNECT, or the
 * extended CONNECT of a WebSocket) rather than a CONNECT flow's. method, protocol: NULL when
 * absent. */
bool edge_relay_is_visit(const char *method, const char *protocol);
/* The source tunnel's id of a site-to-site flow (subtunnel-relay-tunnel) into id (cap bytes,
 * NUL-terminated): 0, or -EBADMSG when it is no tunnel id (empty, over 63 characters or
 * cap - 1, not [A-Za-z0-9_.-]), never a cut of it. */
int edge_relay_tunnel_decode(const char *s, size_t len, char *id, size_t cap);

/* ---- the pool (client side) ---- */

struct edge_relay;

/* The relay of srv's configuration (relay-ca, relay-cert, relay-key; registry): NULL without
 * a log when not configured, NULL with a log when the TLS context cannot be built. */
struct edge_relay *edge_relay_new(struct edge_server *srv);
/* Closes every relay connection (their flows end) and frees; NULL-safe. */
void edge_relay_free(struct edge_relay *r);
/* Tunnel t has no registered connection here: the relay connection to an edge holding it
 * (pooled, or dialed now: streams opened on it wait for its handshake), for the caller to
 * open f's stream on as on a tunnel connection. NULL when r is NULL, f was relayed to us
 * (one hop, never more), or no holder is usable (none cached, or all failed lately). */
struct edge_tconn *edge_relay_pick(struct edge_relay *r, const struct edge_flow *f,
                                   const struct edge_tunnel *t);
/* The same for a request that did not come through a relay (the caller checks: one hop). */
struct edge_tconn *edge_relay_pick_tunnel(struct edge_relay *r, const struct edge_tunnel *t);
/* Relay connection c is closing (edge_tconn's closed): out of the pool; a connection that
 * never came up marks its holder failed (EDGE_RELAY_BACKOFF_MS). */
void edge_relay_closed(struct edge_relay *r, struct edge_tconn *c, const char *why);
/* Drain: GOAWAY on every relay connection (their flows finish); no new relay connection is
 * dialed from now on. NULL-safe. */
void edge_relay_shutdown(struct edge_relay *r);
/* Relay connection c received GOAWAY (the holder drains): out of the pool, its flows finish,
 * and its holder is passed over until it restarts (EDGE_RELAY_BACKOFF_MS at least). */
void edge_relay_goaway(struct edge_relay *r, struct edge_tconn *c);

/* ---- the listener (server side) ---- */

/* The relay listener's TLS context: relay-cert/relay-key, ALPN h2, a client certificate
 * verified against relay-ca required. NULL with the reason in err. */
SSL_CTX *edge_relay_server_ctx(const char *ca, const char *cert, const char *key, char *err,
                               size_t errlen);

#endif
