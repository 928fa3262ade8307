#ifndef SUBTUNNEL_ST_IPV4_H
#define SUBTUNNEL_ST_IPV4_H

/* IPv4, ICMP and UDP packet helpers: ICMP echo carried through a MASQUE connect-ip tunnel
 * (RFC 9484 scoped to protocol 1), ICMP errors parsed and synthesized (RFC 792, RFC 1122
 * 3.2.2, RFC 1812 4.3.2), UDP packets built for injection. Pure functions over buffers.
 * Functions taking a bare "uint8_t *pkt" expect a packet st_ipv4_parse accepted. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ST_IPV4_HLEN 20   /* header without options */
#define ST_IPV4_MAX 65535 /* largest total length */
#define ST_IPPROTO_ICMP 1
#define ST_IPPROTO_UDP 17
#define ST_ICMP_ECHO_REPLY 0
#define ST_ICMP_UNREACH 3
#define ST_ICMP_ECHO 8
#define ST_ICMP_TIME_EXCEEDED 11
#define ST_ICMP_PARAM_PROBLEM 12
#define ST_ICMP_ERROR_MAX 576 /* RFC 1812 4.3.2.3: an ICMP error packet stays within 576 bytes */

/* Internet checksum (RFC 1071) over p[0..len), odd len allowed, in network byte order: store
 * it with memcpy. Over data that holds a correct checksum it returns 0. */
uint16_t st_ipv4_csum(const void *p, size_t len);
/* The same in two steps, for checksums over several pieces (pseudo-headers): the unfolded
 * sum of p[0..len) (even len but for the last piece) added to acc, then folded and
 * complemented in network byte order. */
uint64_t st_csum_add(const void *p, size_t len, uint64_t acc);
uint16_t st_csum_fold(uint64_t acc);

struct st_ipv4_info {
    uint8_t src[4], dst[4];
    uint8_t proto, ttl;
    size_t hlen, total; /* header length (IHL * 4) and the total length field */
    const uint8_t *l4;  /* pkt + hlen: points into the parsed buffer */
    size_t l4_len;      /* payload bytes present (total - hlen for st_ipv4_parse) */
};

/* Parses the IPv4 header at pkt[0..len); bytes past the total length are ignored. Returns 0;
 * -EBADMSG unless version 4, IHL >= 5, IHL*4 <= total length <= len; -EPROTO for a fragment
 * (MF set or offset != 0), out is then filled all the same. The checksum is not checked. */
int st_ipv4_parse(const uint8_t *pkt, size_t len, struct st_ipv4_info *out);
/* true when the header checksum of a parsed packet is correct. */
bool st_ipv4_csum_ok(const uint8_t *pkt);

struct st_icmp_echo {
    uint8_t type;     /* ST_ICMP_ECHO or ST_ICMP_ECHO_REPLY */
    uint16_t id, seq; /* host byte order */
};

/* The echo request/reply in a parsed packet: protocol 1, type 8 or 0, code 0, at least 8
 * bytes. Returns 0 or -EBADMSG. The ICMP checksum is not checked (st_icmp_csum_ok). */
int st_icmp_echo_parse(const struct st_ipv4_info *ip, struct st_icmp_echo *e);
/* The original datagram inside an ICMP error (types 3, 11, 12) of a parsed packet: fills
 * *type, *code and *inner from the embedded header, which may be cut short: inner->total is
 * the embedded total length field, inner->l4_len the payload bytes actually present (RFC 792
 * promises 8). Returns 0; -ENOENT when ip is not an ICMP error; -EBADMSG for an ICMP message
 * under 8 bytes or an embedded header that is not IPv4, IHL < 5, truncated or total < IHL*4.
 * Fragments are not refused here (an error may quote a first fragment). */
int st_icmp_error_parse(const struct st_ipv4_info *ip, struct st_ipv4_info *inner, uint8_t *type,
                        uint8_t *code);

/* Rewrite the source / destination address of a parsed packet and recompute the header
 * checksum. Transport checksums covering a pseudo-header (UDP, TCP) are not updated. */
void st_ipv4_set_src(uint8_t *pkt, const uint8_t src[4]);
void st_ipv4_set_dst(uint8_t *pkt, const uint8_t dst[4]);
/* Recomputes the header checksum of a parsed packet. */
void st_ipv4_fix_csum(uint8_t *pkt);
/* Decrements the TTL of a parsed packet and fixes the checksum; returns the new TTL (>= 1), or
 * -ETIMEDOUT with pkt untouched if the TTL was <= 1 (the packet must not be forwarded). */
int st_ipv4_dec_ttl(uint8_t *pkt);

/* Recomputes the ICMP checksum over the whole ICMP message (total length - IHL*4 bytes) of a
 * parsed packet, e.g. after rewriting the header quoted in an ICMP error. */
void st_icmp_fix_csum(uint8_t *pkt);
/* true when the ICMP checksum of a parsed packet is correct. */
bool st_icmp_csum_ok(const uint8_t *pkt);

/* Builds into out a whole IPv4 ICMP error (type 3, 11 or 12 with code) from `from` to the
 * source of orig, quoting the original header and as much of its payload as fits in
 * ST_ICMP_ERROR_MAX and cap (at least 8 bytes, RFC 792). TOS 0xc0 (RFC 1812 4.3.2.5), ID 0, DF
 * clear, the given TTL, the 4 bytes after the ICMP checksum zero (no pointer, no MTU). Returns
 * the packet length; -EBADMSG if orig is not an IPv4 packet; -EINVAL when RFC 1122 3.2.2
 * forbids an answer (orig is an ICMP error or an unknown ICMP type (only 0, 8, 13-18 are
 * answered), a non-first fragment, from or to a multicast/broadcast address, from 0/8 or
 * 127/8) or type is not 3/11/12; -ENOSPC when cap cannot hold header + 8 bytes. out must not
 * overlap orig. */
int st_icmp_unreach(uint8_t *out, size_t cap, const uint8_t *orig, size_t orig_len,
                    const uint8_t from[4], uint8_t type, uint8_t code, uint8_t ttl);

/* Builds into out an IPv4 + UDP packet carrying payload[0..len) with both checksums (UDP over
 * the pseudo-header; a computed 0 is sent as 0xffff). TOS 0, ID 0, DF clear. Returns the
 * packet length, -EMSGSIZE when it would exceed 65535 bytes, -ENOSPC when cap is too small.
 * payload may overlap out (e.g. already sit at out + 28). */
int st_udp4_build(uint8_t *out, size_t cap, const uint8_t src[4], uint16_t sport,
                  const uint8_t dst[4], uint16_t dport, const uint8_t *payload, size_t len,
                  uint8_t ttl);

#endif
