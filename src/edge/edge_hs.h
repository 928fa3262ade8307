#ifndef SUBTUNNEL_EDGE_HS_H
#define SUBTUNNEL_EDGE_HS_H

/* TLS handshakes on the tunnel port, dispatched by ALPN once done:
 *   "h2"               a gateway's tunnel connection (edge is the HTTP/2 client),
 *   "subtunnel-reach"  a gateway's reach connection (edge is the HTTP/2 server and
 *                      authenticates CONNECT streams with the tunnel token). */

#define EDGE_ALPN_REACH "subtunnel-reach"

struct edge_server;

/* Accepts pending connections on the tunnel listener fd. */
void edge_hs_accept(struct edge_server *srv, int lfd);

#endif
