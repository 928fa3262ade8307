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
/* Opens d's lwIP UDP pcb from local:lport to remote:rport. 0 or -1. */
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
/* Resets d's stream with code (when it is still open). */
void gw_dgram_reset(struct gw_dgram *d, uint32_t code);
/* lwIP receive callback of a flow's UDP pcb. */
void gw_dgram_udp_recv(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr,
                       u16_t port);

#endif
