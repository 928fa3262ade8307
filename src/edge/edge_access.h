#ifndef SUBTUNNEL_EDGE_ACCESS_H
#define SUBTUNNEL_EDGE_ACCESS_H

/* Access proxy listener: HTTP/1.1 CONNECT with an access token in Proxy-Authorization
 * (Basic with the token as password, or Bearer). A valid request becomes an edge_flow. */

struct edge_server;

/* Takes over a connection accepted on the access listener (fd owned; peer "ip:port"): an
 * HTTP/1.1 request head within request-timeout, or an h2c preface (handed to edge_ah2). */
void edge_access_start(struct edge_server *srv, int fd, const char *peer);

#endif
