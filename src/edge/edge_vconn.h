#ifndef SUBTUNNEL_EDGE_VCONN_H
#define SUBTUNNEL_EDGE_VCONN_H

/* An HTTP/1.1 visitor connection (hostname ingress) on the edge's http-listen (plain) or
 * https-listen (TLS; ALPN h2 hands the connection to edge_ah2 in visitor mode): requests
 * parsed with http-parser one at a time (keep-alive; a pipelined request waits until the
 * response before it is read), each sent on the tunnel as an edge_web; the response goes
 * back with Content-Length or chunked framing. A WebSocket upgrade turns the connection
 * into a byte relay. Timeouts: 10 s for a request head, 60 s idle between requests. */

#include <stdbool.h>

struct edge_server;
struct edge_vconn;

/* Takes over a connection accepted on a visitor listener (fd owned; tls: https-listen). */
void edge_vconn_start(struct edge_server *srv, int fd, const char *peer, bool tls);
/* Drain: idle connections close now, busy ones after their current response. */
void edge_vconn_drain(struct edge_server *srv);

/* Called by edge_web for the connection's current request. */
void edge_vconn_respond(struct edge_vconn *vc); /* the response head is there */
void edge_vconn_wake(struct edge_vconn *vc);    /* more body, or its end */
void edge_vconn_up_room(struct edge_vconn *vc); /* the tunnel took request bytes */
void edge_vconn_abort(struct edge_vconn *vc);   /* the response was cut off: reset */

/* The verified client certificate's names of vc's TLS connection, or NULL. */
const struct st_tls_names *edge_vconn_names(const struct edge_vconn *vc);

#endif
