#ifndef SUBTUNNEL_ST_MASQUE_H
#define SUBTUNNEL_ST_MASQUE_H

/* MASQUE UDP (RFC 9298, connect-udp) and IP (RFC 9484, connect-ip): the request paths of the
 * default URI templates "/.well-known/masque/udp/{target_host}/{target_port}/" and
 * "/.well-known/masque/ip/{target}/{ipproto}/", and UDP payloads or IP packets carried as HTTP
 * Datagrams in DATAGRAM capsules (RFC 9297: capsule type 0, then context id 0, then the
 * payload; the same wire format for both). Pure functions; groundwork for UDP and ICMP through
 * the tunnel (issue 6), not wired yet. */

#include <stddef.h>
#include <stdint.h>

#define ST_MASQUE_UDP_PREFIX "/.well-known/masque/udp/"
#define ST_MASQUE_UDP_MAX 65527 /* largest UDP payload (65535 - 8 byte header) */
#define ST_MASQUE_IP_PREFIX "/.well-known/masque/ip/"
#define ST_MASQUE_IP_MAX 65535 /* largest IPv4 packet (total length field) */

/* Parses a connect-udp :path. target_host must be an IP literal: IPv6 with its colons
 * percent-encoded as %3A (RFC 9298 2), also taken with raw colons or in brackets (raw or
 * %5B/%5D) as some clients send it; the trailing '/' is required, a query is refused.
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

/* Parses a connect-ip :path, as strict as st_masque_udp_path_parse. target is an IP literal,
 * an IP prefix (literal, percent-encoded '/', length: "198.51.100.0%2F24", host bits zero) or
 * "*" (any host: *family 0, addr zeroed, *prefix 0); *prefix is 32/128 without a length.
 * ipproto is a decimal 0..255 or "*" (*ipproto -1); "%2A" counts as "*" in both. Returns 0;
 * -EINVAL for anything malformed (also a prefix length over 32/128 or with host bits set, a
 * DNS name with a prefix length, proto over 255); -EAFNOSUPPORT for a DNS name. */
int st_masque_ip_path_parse(const char *path, size_t len, int *family, uint8_t addr[16],
                            int *prefix, int *ipproto);
/* Writes the connect-ip :path for one address (family AF_INET/AF_INET6) or any host (family 0,
 * addr unused) and ipproto 0..255 or -1 for "*" into out (NUL-terminated). Returns its length,
 * -ENOSPC or -EINVAL (unknown family, ipproto out of range). */
int st_masque_ip_path(char *out, size_t cap, int family, const uint8_t *addr, int ipproto);

/* One IP packet as a whole DATAGRAM capsule (context id 0): st_masque_udp_capsule with a limit
 * of ST_MASQUE_IP_MAX. Returns its length, -ENOSPC or -EMSGSIZE. The packet is not checked. */
int st_masque_ip_capsule(uint8_t *out, size_t cap, const uint8_t *pkt, size_t len);
/* The IP packet inside a DATAGRAM capsule's value: st_masque_udp_payload with a limit of
 * ST_MASQUE_IP_MAX (1, 0 for another context id, -EBADMSG, -EMSGSIZE). Not parsed. */
int st_masque_ip_packet(const uint8_t *value, size_t len, const uint8_t **pkt, size_t *plen);

/* The target of a MASQUE request as subtunnel serves it: :protocol "connect-udp" with its
 * path, or "connect-ip" scoped to one address and ICMP (protocol 1 for an IPv4 address, 58
 * for an IPv6 one; *port set to 0).
 * 0, -EINVAL (bad path), -EAFNOSUPPORT (DNS name), -EPROTONOSUPPORT (connect-ip for a
 * prefix, '*' or another protocol, or an unknown :protocol). */
int st_masque_target(const char *protocol, const char *path, size_t len, int *family,
                     uint8_t addr[16], uint16_t *port);
/* proxy-status values for the refusals above (RFC 9209) */
#define ST_MASQUE_PS_BAD_PATH "subtunnel; error=http_request_error; details=\"bad MASQUE path\""
#define ST_MASQUE_PS_SCOPE                                                                         \
    "subtunnel; error=http_request_error; "                                                        \
    "details=\"connect-ip is served for one address and ICMP only\""

#endif
