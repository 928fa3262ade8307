#ifndef SUBTUNNEL_ST_MASQUE_H
#define SUBTUNNEL_ST_MASQUE_H

/* MASQUE UDP (RFC 9298, connect-udp): the request path of the default URI template
 * "/.well-known/masque/udp/{target_host}/{target_port}/" and UDP payloads carried as HTTP
 * Datagrams in DATAGRAM capsules (RFC 9297: capsule type 0, then context id 0, then the
 * payload). Pure functions; groundwork for UDP through the tunnel (issue 6), not wired yet. */

#include <stddef.h>
#include <stdint.h>

#define ST_MASQUE_UDP_PREFIX "/.well-known/masque/udp/"
#define ST_MASQUE_UDP_MAX 65527 /* largest UDP payload (65535 - 8 byte header) */

/* Parses a connect-udp :path. target_host must be an IP literal (IPv6 with its colons
 * percent-encoded as %3A, RFC 9298 2); the trailing '/' is required, a query is refused.
 * Returns 0 with *family (AF_INET/AF_INET6), addr (4 or 16 bytes) and *port; -EINVAL for
 * anything malformed (bad percent-escape, empty or extra segments, bad port, port 0);
 * -EAFNOSUPPORT for a DNS name (not resolved here). */
int st_masque_udp_path_parse(const char *path, size_t len, int *family, uint8_t addr[16],
                             uint16_t *port);
/* Writes the :path for a target into out (NUL-terminated). Returns its length, -ENOSPC or
 * -EINVAL (unknown family, port 0). */
int st_masque_udp_path(char *out, size_t cap, int family, const uint8_t *addr, uint16_t port);

/* One UDP payload as a whole DATAGRAM capsule (header, context id 0, payload) into out.
 * Returns its length, -ENOSPC or -EMSGSIZE (payload over ST_MASQUE_UDP_MAX). */
int st_masque_udp_capsule(uint8_t *out, size_t cap, const uint8_t *payload, size_t len);
/* The UDP payload inside a DATAGRAM capsule's value. Returns 1 with *payload and *plen for
 * context id 0, 0 for any other context id (RFC 9298 4: dropped silently), -EBADMSG when
 * the context id is truncated, -EMSGSIZE for a payload over ST_MASQUE_UDP_MAX. */
int st_masque_udp_payload(const uint8_t *value, size_t len, const uint8_t **payload, size_t *plen);

#endif
