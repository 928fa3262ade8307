#ifndef SUBTUNNEL_EDGE_TCONN_H
#define SUBTUNNEL_EDGE_TCONN_H

#include <stdint.h>
#include <sys/types.h>

#include "st_ctrlstream.h"
#include "st_h2conn.h"

/* One tunnel connection accepted from a gateway: TLS server, HTTP/2 *client* role.
 * Opens the control stream, handles REGISTER, then carries data streams for flows. */

struct edge_server;
struct edge_tunnel;
struct edge_flow;
struct edge_web;

/* Streams on a tunnel connection carry an edge_flow (CONNECT) or an edge_web (visitor
 * request); both start with an int holding one of these. */
enum { EDGE_STREAM_FLOW = 1, EDGE_STREAM_WEB = 2 };

#define EDGE_REGISTER_TIMEOUT_MS 10000
#define EDGE_EVICT_CLOSE_MS 5000

struct edge_tconn {
    struct edge_server *srv;
    struct st_h2conn h2;
    struct edge_tconn *next, *prev; /* srv->tconns */
    struct edge_tunnel *tunnel;     /* set once registered */
    uint64_t id;
    char peer[64];
    bool registered;
    struct st_timer reg_timer; /* REGISTER must arrive in time */
    struct st_ctrlstream ctrl;
    struct edge_flow *flows; /* flows with a stream on this connection */
    size_t n_flows;
    struct edge_web *webs;   /* visitor requests with a stream on this connection */
    uint8_t secret_used[32]; /* SHA-256 of the tunnel secret it registered with */
    char evict[160];         /* reload: why this connection must go ("": it stays) */
    bool evicted;            /* ERROR sent after registration: closed if the gateway does not */
    bool setting_up;         /* counted in srv->tunnel_setups (until registered or closed) */
    /* A relay connection (edge_relay.h): dialed by this edge to another edge's relay-listen;
     * no control stream, never registered; its streams carry the user's identity. */
    bool relay;
    bool relay_up;     /* its TLS handshake finished */
    char relay_id[64]; /* the other edge's id (its certificate must name it) */
};

/* Takes over a TLS connection whose handshake selected ALPN h2 (fd and ssl owned). */
void edge_tconn_adopt(struct edge_server *srv, int fd, SSL *ssl, const char *peer);
/* A relay connection to edge id being dialed (fd connecting, ssl a client in connect state;
 * both owned): streams may be opened on it at once, they go out once TLS is up. NULL (fd and
 * ssl released) when memory is short. */
struct edge_tconn *edge_tconn_dial(struct edge_server *srv, int fd, SSL *ssl, const char *peer,
                                   const char *id);
/* Opens a CONNECT stream for f to `authority`, carrying `client` in subtunnel-client (and on a
 * relay connection the user's identity or the sending site's tunnel). Returns the stream id or a
 * negative nghttp2 error. */
int32_t edge_tconn_open_stream(struct edge_tconn *c, struct edge_flow *f, const char *authority,
                               const char *client);
/* Opens a visitor request stream for w with the header block nv (body: a data provider
 * follows, else END_STREAM). Returns the stream id or a negative nghttp2 error. */
int32_t edge_tconn_open_web(struct edge_tconn *c, struct edge_web *w, const nghttp2_nv *nv,
                            size_t n, bool body);
/* The flow has more request data (or EOF) for stream sid. */
void edge_tconn_resume(struct edge_tconn *c, int32_t sid);
/* The flow delivered n response bytes of sid: reopen the HTTP/2 windows (w: the stream's
 * window state, which grows from EDGE_TUNNEL_WINDOW0 to EDGE_FLOW_WINDOW as its reader keeps
 * up; st_h2rx.h). */
void edge_tconn_consume(struct edge_tconn *c, int32_t sid, struct st_h2rx_stream *w, size_t n);
/* A stream went away with n response bytes queued that no reader will take. */
void edge_tconn_dropped(struct edge_tconn *c, size_t n);
/* Resets stream sid with an HTTP/2 error code. */
void edge_tconn_reset(struct edge_tconn *c, int32_t sid, uint32_t code);
/* Reload: the tunnel's configuration no longer admits c. Removes it from the registry and
 * sends ERROR{cause, no retry} and GOAWAY; the gateway closes it, or the edge does after
 * EDGE_EVICT_CLOSE_MS. */
void edge_tconn_evict(struct edge_tconn *c, const char *cause);
/* Reload: sends the ROUTES capsule again (may-reach may have changed). */
void edge_tconn_send_routes(struct edge_tconn *c);
/* Starts a graceful close: GOAWAY(NO_ERROR), no new stream; the open ones finish, then the
 * connection closes. Used for relay connections (drain, idle, replaced). */
void edge_tconn_shutdown(struct edge_tconn *c);
/* st_h2conn_pick_key of c's connection and flows (edge_registry's conn_load). */
uint64_t edge_tconn_load(struct edge_tconn *c);

#endif
