#ifndef SUBTUNNEL_EDGE_ACCESS_H
#define SUBTUNNEL_EDGE_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Access proxy listeners: HTTP/1.1 CONNECT (or a MASQUE upgrade) with an access token in
 * Proxy-Authorization (Basic with the token as password, or Bearer), in cleartext or over
 * TLS. A valid request becomes an edge_flow. */

struct edge_server;
struct edge_config;

/* Takes over a connection accepted on the access listener (fd owned; peer "ip:port"): an
 * HTTP/1.1 request head within request-timeout, or an h2c preface (handed to edge_ah2). */
void edge_access_start(struct edge_server *srv, int fd, const char *peer);
/* Takes over a connection accepted on the access TLS listener (fd owned): the TLS handshake
 * and then an HTTP/1.1 request head, each within request-timeout; ALPN h2 hands the
 * connection to edge_ah2 after the handshake. With client-ca, a client certificate that does
 * not verify fails the handshake (a refusal line); a verified one's names are kept. */
void edge_access_start_tls(struct edge_server *srv, int fd, const char *peer);

/* Checks a Proxy-Authorization value against the configured access tokens; on success the
 * token's SHA-256 goes into cred (when not NULL), so the flow can be ended if a reload
 * removes it. Pure. */
bool edge_access_authorized(const struct edge_config *cfg, const char *value, size_t len,
                            uint8_t cred[32]);
/* True when cred (a token's SHA-256) is one of cfg's access tokens. */
bool edge_access_known(const struct edge_config *cfg, const uint8_t cred[32]);

#endif
