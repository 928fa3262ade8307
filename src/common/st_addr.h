#ifndef SUBTUNNEL_ST_ADDR_H
#define SUBTUNNEL_ST_ADDR_H

/* IPv4/IPv6 addresses, CIDR prefixes and numeric socket addresses. Pure functions;
 * no name resolution anywhere. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct st_cidr {
    int family;       /* AF_INET or AF_INET6 */
    uint8_t addr[16]; /* network byte order, host bits zeroed; IPv4 uses addr[0..4) */
    uint8_t prefix;
};

struct st_sockaddr {
    struct sockaddr_storage ss;
    socklen_t len;
};

/* "198.51.100.0/24", "2001:db8::/32"; a bare address means /32 or /128.
 * Returns 0, or -EINVAL for bad syntax, a bad prefix or host bits set. */
int st_cidr_parse(const char *s, struct st_cidr *out);
/* Writes "addr/prefix" into buf; 0 or -ENOSPC (-EINVAL for an unknown family). */
int st_cidr_format(const struct st_cidr *c, char *buf, size_t len);
/* True if addr (4 or 16 bytes by family) lies within c; false on family mismatch. */
bool st_cidr_contains(const struct st_cidr *c, int family, const uint8_t *addr);
/* True if inner lies within outer (same family, inner prefix >= outer prefix). */
bool st_cidr_covers(const struct st_cidr *outer, const struct st_cidr *inner);
/* True if a and b share an address (one covers the other); false across families. */
bool st_cidr_overlaps(const struct st_cidr *a, const struct st_cidr *b);

/* "192.0.2.1:7844", "[2001:db8::1]:7844", "*:7844" / ":7844" (any IPv4). Numeric only,
 * port 0..65535. 0 or -EINVAL. */
int st_sockaddr_parse(const char *s, struct st_sockaddr *out);
/* DNS host name: labels of letters, digits and '-' (1-63 each, 253 in all), with an
 * optional leading "*." when `wildcard`. */
bool st_hostname_valid(const char *s, bool wildcard);
/* Port of an AF_INET/AF_INET6 address (host order); 0 for other families. */
uint16_t st_sockaddr_port(const struct st_sockaddr *a);
/* Fills out from a family (AF_INET: 4 address bytes, else IPv6: 16), address and port. */
void st_sockaddr_from(struct st_sockaddr *out, int family, const uint8_t *addr, uint16_t port);
/* Writes "ip:port" / "[ip6]:port" into buf; 0, -ENOSPC or -EINVAL (unknown family). */
int st_sockaddr_format(const struct st_sockaddr *a, char *buf, size_t len);
/* True for 127.0.0.0/8 and ::1 (and ::ffff:127.x). */
bool st_sockaddr_is_loopback(const struct st_sockaddr *a);
/* True when a and b could not both be bound: same port, and equal addresses or one of them
 * the wildcard of its family (or of IPv6, which takes IPv4 too unless v6only). */
bool st_sockaddr_clash(const struct st_sockaddr *a, const struct st_sockaddr *b);
/* Splits an authority "host:port" / "[v6]:port" (s need not be NUL-terminated) into a
 * numeric address (AF_INET/AF_INET6, addr 16 bytes, IPv4 in addr[0..4), rest zero) + port;
 * -EINVAL if the host is not a literal IP or the port is not 1..65535. */
int st_authority_parse(const char *s, size_t len, int *family, uint8_t addr[16], uint16_t *port);
/* Same for a subtunnel-client value, where port 0 (ICMP: no port) is allowed. */
int st_client_parse(const char *s, size_t len, int *family, uint8_t addr[16], uint16_t *port);

#endif
