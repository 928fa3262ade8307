#ifndef SUBTUNNEL_EDGE_ACCESS_H
#define SUBTUNNEL_EDGE_ACCESS_H

/* Access proxy listeners: HTTP/1.1 CONNECT (or a MASQUE upgrade) with a credential in
 * Proxy-Authorization (Basic with the token as password, or Bearer: an access token or a
 * signed token), or a client certificate, in cleartext or over TLS. A valid request becomes
 * an edge_flow. */

struct edge_server;

/* Takes over a connection accepted on the access listener (fd owned; peer "ip:port"): an
 * HTTP/1.1 request head within request-timeout, or an h2c preface (handed to edge_ah2). */
void edge_access_start(struct edge_server *srv, int fd, const char *peer);
/* Takes over a connection accepted on the access TLS listener (fd owned): the TLS handshake
 * and then an HTTP/1.1 request head, each within request-timeout; ALPN h2 hands the
 * connection to edge_ah2 after the handshake. With client-ca, a client certificate that does
 * not verify fails the handshake (a refusal line); a verified one's names are kept. */
void edge_access_start_tls(struct edge_server *srv, int fd, const char *peer);

#endif
