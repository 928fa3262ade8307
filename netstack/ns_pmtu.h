/* Path MTU toward the IPv6 destinations of lwIP's TCP segments, learned from the ICMPv6
 * Packet Too Big messages that come back through the TUN. lwIP 2.1.3 does not react to
 * them (it keeps one MSS per pcb, chosen at the handshake); ns_netif instead writes a TCP
 * segment larger than its destination's path MTU with a GSO header, and the kernel cuts it
 * into segments that fit (docs/ipv6.md, "Path MTU"). Pure: no I/O, the caller passes time. */
#ifndef SUBTUNNEL_NS_PMTU_H
#define SUBTUNNEL_NS_PMTU_H

#include <stddef.h>
#include <stdint.h>

#define NS_PMTU_SLOTS 32                  /* destinations remembered; the oldest makes room */
#define NS_PMTU_TTL_MS (10u * 60u * 1000) /* RFC 8201 5.3: try the larger MTU after 10 min */
#define NS_PMTU_MIN6 1280                 /* RFC 8200: no path is smaller (RFC 8201 4) */

struct ns_pmtu_entry {
    uint8_t dst[16];
    uint16_t mtu;
    uint32_t at_ms; /* when it was learned */
};

struct ns_pmtu {
    struct ns_pmtu_entry e[NS_PMTU_SLOTS];
    size_t n;
};

/* If pkt[0..len) is an ICMPv6 Packet Too Big (IPv6 header then ICMPv6, no extension header)
 * quoting the start of a TCP segment (IPv6, no extension header), records its MTU for the
 * quoted segment's destination: raised to NS_PMTU_MIN6, never above a live entry's lower
 * value. Returns the path MTU now recorded for that destination, 0 when pkt is anything
 * else. */
unsigned ns_pmtu_learn(struct ns_pmtu *t, const uint8_t *pkt, size_t len, uint32_t now_ms);

/* The path MTU recorded for dst (16 bytes) and not older than NS_PMTU_TTL_MS; 0 when none. */
unsigned ns_pmtu_get(const struct ns_pmtu *t, const uint8_t *dst, uint32_t now_ms);

#endif /* SUBTUNNEL_NS_PMTU_H */
