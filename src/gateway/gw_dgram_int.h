#ifndef SUBTUNNEL_GW_DGRAM_INT_H
#define SUBTUNNEL_GW_DGRAM_INT_H

/* Shared by gw_dgram.c (streams, capsules, the expose role) and gw_dgram_tun.c (reach flows
 * and the ICMP hook); not for other modules. */

#include <lwip/udp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gw_dgram.h"
#include "st_ipv4.h"

#define GW_DGRAM_PKT_MAX 65535

/* One packet being taken apart or built (the loop is single-threaded). */
extern uint8_t gw_dgram_scratch[GW_DGRAM_PKT_MAX];

/* A flow's datagram state, hung off f (f->dgram) and counted; NULL when out of memory. */
struct gw_dgram *gw_dgram_new(struct gw_flow *f, bool icmp, bool reach);
/* How long d may stay without a datagram (udp-, dns- or icmp-idle-timeout). */
uint64_t gw_dgram_idle_ms(const struct gw_dgram *d);
/* a (4 bytes) as dotted text in buf (INET_ADDRSTRLEN); returns buf. */
const char *gw_dgram_ip4(const uint8_t *a, char *buf);
/* addr:port of family as "198.51.100.7:53" or "[2001:db8::7]:53" in buf (64 bytes). */
const char *gw_dgram_hostport(int family, const uint8_t *addr, uint16_t port, char *buf);
/* An lwIP address of family (AF_INET, AF_INET6) from its 4 or 16 bytes. */
void gw_dgram_lwip_addr(ip_addr_t *out, int family, const uint8_t *addr);
/* Opens d's lwIP UDP pcb (d->family) from local:lport to remote:rport. 0 or -1. */
int gw_dgram_open_pcb(struct gw_dgram *d, const uint8_t *local, uint16_t lport,
                      const uint8_t *remote, uint16_t rport);
/* Queues one DATAGRAM capsule (context id 0) of p[0..n), or of the pbuf chain pb when p is
 * NULL; false (dropped and counted) when the queue is full. */
bool gw_dgram_queue_capsule(struct gw_dgram *d, struct pbuf *pb, const uint8_t *p, size_t n);
/* The same for a capsule of any type. */
bool gw_dgram_queue_typed(struct gw_dgram *d, uint64_t type, struct pbuf *pb, const uint8_t *p,
                          size_t n);
/* Counts d against the per-user / per-host caps: NULL, or why it is refused. */
const char *gw_dgram_quota_take(struct gw_dgram *d, bool per_client);
/* Rewrites an ICMP error about one of our flows' packets back to that flow's addresses. */
void gw_dgram_readdress_error(struct gw_server *gw, uint8_t *pkt, const struct st_ipv4_info *ip,
                              uint8_t *quote, const uint8_t *client, const uint8_t *target);
/* The live ICMP flow of the role (reach: by client address, expose: by local address) and
 * family to target, or NULL. */
struct gw_dgram *gw_dgram_find_icmp(struct gw_server *gw, bool reach, int family, const uint8_t *a,
                                    const uint8_t *target);
/* Reach: a new flow for pkt[0..len) (a whole IPv4 or IPv6 packet of family) from
 * client:cport to target:tport. NULL when refused (the sender got an ICMP error). */
struct gw_dgram *gw_dgram_reach_open(struct gw_server *gw, bool icmp, int family,
                                     const uint8_t *pkt, size_t len, const uint8_t *client,
                                     uint16_t cport, const uint8_t *target, uint16_t tport);

/* Expose: an ICMP error pkt[0..len) quoting a datagram src -> dst (family) whose UDP header
 * starts at udp (4 bytes present) that one of our UDP flows sent goes back on its stream as
 * an ST_CAP_ICMP_ERROR capsule (the reach gateway rewrites and delivers it). 1 when taken. */
int gw_dgram_udp_error(const uint8_t *pkt, size_t len, int family, const uint8_t *src,
                       const uint8_t *dst, const uint8_t *udp);

/* gw_dgram6.c: the IPv6 side. */
/* The address lwIP stands for on the TUN in IPv6: virtual-pool6's ::2. */
void gw_dgram6_stack_addr(const struct gw_server *gw, uint8_t out[16]);
/* ICMPv6 destination unreachable (code) about pkt to its sender, from its destination. */
void gw_dgram6_unreachable(struct gw_server *gw, const uint8_t *pkt, size_t len, uint8_t code);
/* A packet entering the tunnel with hop limit <= 1: ICMPv6 time exceeded sent, true. */
bool gw_dgram6_expired(struct gw_server *gw, const uint8_t *pkt, size_t len);
/* An ICMPv6 packet from d's connect-ip stream: checked, readdressed (expose) and sent. */
void gw_dgram6_send_icmp(struct gw_dgram *d, const uint8_t *p, size_t n);
/* Reach: an ICMPv6 error capsule about d's UDP datagrams, restored and sent to the client. */
void gw_dgram6_relay_udp_error(struct gw_dgram *d, const uint8_t *p, size_t n);
/* The ICMP hook for an IPv6 packet: 1 when taken. */
int gw_dgram6_icmp_hook(struct gw_server *gw, uint8_t *pkt, size_t len);

/* Resets d's stream with code (when it is still open). */
void gw_dgram_reset(struct gw_dgram *d, uint32_t code);
/* lwIP receive callback of a flow's UDP pcb. */
void gw_dgram_udp_recv(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr,
                       u16_t port);

#endif
