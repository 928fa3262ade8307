#ifndef SUBTUNNEL_ST_IPV6_H
#define SUBTUNNEL_ST_IPV6_H

/* IPv6 and ICMPv6 packet helpers, the IPv6 side of st_ipv4: ICMPv6 echo carried through a
 * MASQUE connect-ip tunnel (RFC 9484 scoped to next header 58), ICMPv6 errors parsed and
 * synthesized (RFC 4443). Pure functions over buffers. Extension headers (hop-by-hop,
 * routing, fragment, destination options, AH) are skipped to find the upper layer.
 * Functions taking a bare "uint8_t *pkt" expect a packet st_ipv6_parse accepted. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ST_IPV6_HLEN 40      /* fixed header */
#define ST_IPV6_MIN_MTU 1280 /* RFC 8200 5 */
#define ST_IPV6_MAX_EXT 8    /* extension headers followed at most */
#define ST_IPPROTO_ICMPV6 58
#define ST_IPPROTO_NONE 59
#define ST_ICMP6_UNREACH 1
#define ST_ICMP6_TOO_BIG 2
#define ST_ICMP6_TIME_EXCEEDED 3
#define ST_ICMP6_PARAM_PROBLEM 4
#define ST_ICMP6_ECHO 128
#define ST_ICMP6_ECHO_REPLY 129
/* destination unreachable codes (RFC 4443 3.1) */
#define ST_ICMP6_NO_ROUTE 0
#define ST_ICMP6_ADMIN 1
#define ST_ICMP6_ADDR_UNREACH 3
#define ST_ICMP6_PORT_UNREACH 4
#define ST_ICMP6_ERROR_MAX 1280 /* RFC 4443 2.4 (c): an error packet stays within the min MTU */

struct st_ipv6_info {
    uint8_t src[16], dst[16];
    uint8_t proto, hlim; /* proto: the upper layer after the extension headers */
    size_t hlen, total;  /* 40 + extension headers; 40 + the payload length field */
    const uint8_t *l4;   /* pkt + hlen: points into the parsed buffer */
    size_t l4_len;       /* upper-layer bytes present (total - hlen for st_ipv6_parse) */
    bool frag;           /* a fragment: a fragment header with an offset or the M flag */
    bool first;          /* no fragment header, or one with offset 0 */
};

/* Parses the IPv6 packet at pkt[0..len); bytes past 40 + payload length are ignored. Returns
 * 0; -EBADMSG unless version 6, 40 + payload length <= len, payload length > 0 (no
 * jumbograms) and the extension headers (at most ST_IPV6_MAX_EXT) lie inside the payload;
 * -EPROTO for a fragment (offset != 0 or more fragments), out is then filled all the same. */
int st_ipv6_parse(const uint8_t *pkt, size_t len, struct st_ipv6_info *out);

/* Sets the source / destination address of a parsed packet. IPv6 has no header checksum;
 * transport checksums covering the pseudo-header are not updated (st_icmp6_fix_csum). */
void st_ipv6_set_src(uint8_t *pkt, const uint8_t src[16]);
void st_ipv6_set_dst(uint8_t *pkt, const uint8_t dst[16]);
/* Decrements the hop limit of a parsed packet; returns the new one (>= 1), or -ETIMEDOUT with
 * pkt untouched if it was <= 1 (the packet must not be forwarded). */
int st_ipv6_dec_hlim(uint8_t *pkt);

/* Recomputes the ICMPv6 checksum (RFC 4443 2.3, over the pseudo-header with pkt's current
 * addresses) of ip (from st_ipv6_parse of pkt, ip->proto 58, ip->l4_len >= 4). A routing
 * header's final destination is not looked for: use it on packets without one. */
void st_icmp6_fix_csum(uint8_t *pkt, const struct st_ipv6_info *ip);
/* true when the ICMPv6 checksum of ip (parsed from pkt) is correct. */
bool st_icmp6_csum_ok(const uint8_t *pkt, const struct st_ipv6_info *ip);

struct st_icmp6_echo {
    uint8_t type;     /* ST_ICMP6_ECHO or ST_ICMP6_ECHO_REPLY */
    uint16_t id, seq; /* host byte order */
};

/* The echo request/reply in a parsed packet: next header 58, type 128 or 129, code 0, at
 * least 8 bytes. Returns 0 or -EBADMSG. The checksum is not checked. */
int st_icmp6_echo_parse(const struct st_ipv6_info *ip, struct st_icmp6_echo *e);
/* The original packet inside an ICMPv6 error (types 1-4) of a parsed packet: fills *type,
 * *code, *param (the MTU of a packet too big, the pointer of a parameter problem) and *inner
 * from the quoted header, which may be cut short (inner->total is its payload length field +
 * 40, inner->l4_len the upper-layer bytes present). Returns 0; -ENOENT when ip is not an
 * ICMPv6 error; -EBADMSG for a message under 8 bytes or a quote that is not IPv6 or whose
 * extension headers are cut. */
int st_icmp6_error_parse(const struct st_ipv6_info *ip, struct st_ipv6_info *inner, uint8_t *type,
                         uint8_t *code, uint32_t *param);

/* Builds into out a whole IPv6 ICMPv6 error (type 1-4 with code and param: the MTU for
 * type 2, the pointer for type 4, else 0) from `from` to the source of orig, quoting as much
 * of orig as fits in ST_ICMP6_ERROR_MAX and cap, with hop limit hlim. Returns the packet
 * length; -EBADMSG if orig is not an IPv6 packet; -EINVAL when RFC 4443 2.4 (e) forbids an
 * answer (orig is an ICMPv6 error or carries no ICMPv6 type, comes from ::, ::1 or a
 * multicast address, goes to a multicast address (but for packet too big and parameter
 * problem code 2), from is ::, ::1 or multicast) or type is not 1-4; -ENOSPC when cap
 * cannot hold 48 bytes + orig's IPv6 header and 8 more bytes. out must not overlap orig. */
int st_icmp6_error(uint8_t *out, size_t cap, const uint8_t *orig, size_t orig_len,
                   const uint8_t from[16], uint8_t type, uint8_t code, uint32_t param,
                   uint8_t hlim);

#endif
