#ifndef SUBTUNNEL_EDGE_HS_H
#define SUBTUNNEL_EDGE_HS_H

/* TLS handshakes on the tunnel port, dispatched by ALPN once done:
 *   "h2"               a gateway's tunnel connection (edge is the HTTP/2 client),
 *   "subtunnel-reach"  a gateway's reach connection (edge is the HTTP/2 server and
 *                      authenticates CONNECT streams with the tunnel token). */

#define EDGE_ALPN_REACH "subtunnel-reach"

struct edge_server;

#define EDGE_HS_STEPS 8 /* TLS handshake steps per round of the loop */

/* Takes over a connection accepted on the tunnel listener (fd owned; peer "ip:port"): TLS
 * handshake within ST_H2CONN_SETUP_MS, then edge_tconn or edge_ah2 by ALPN. */
void edge_hs_start(struct edge_server *srv, int fd, const char *peer);
/* The same on the relay listener: TLS with a client certificate verified against relay-ca
 * (srv->relay_ctx), ALPN h2, then edge_ah2 in relay mode. */
void edge_hs_start_relay(struct edge_server *srv, int fd, const char *peer);

#endif
