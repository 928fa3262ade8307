/* lwIP lifecycle for a single-threaded event loop (NO_SYS=1). */
#ifndef SUBTUNNEL_NS_STACK_H
#define SUBTUNNEL_NS_STACK_H

#include <stdint.h>

#include "lwip/arch.h"
#include "lwip/tcp.h"

/* Initialises lwIP (lwip_init) on the first call; later calls do nothing. Returns 0. */
int ns_stack_init(void);

/* Runs expired lwIP timers (sys_check_timeouts); call from the loop at least every
 * 250 ms (TCP_TMR_INTERVAL) while lwIP has pcbs. */
void ns_stack_poll_timers(void);

/* lwIP's clock: CLOCK_MONOTONIC in milliseconds (wraps at 2^32). */
u32_t sys_now(void);

/* 32 random bits from getrandom(2) (random(3) if it fails); lwIP ports and ISNs. */
uint32_t ns_rand(void);

/* tcp_bind(pcb, local, lport) + tcp_connect(pcb, remote, rport, cb) without tcp_bind's
 * walk over every pcb lwIP has looking for a clash on (local, lport): at tens of thousands
 * of connections that walk was most of a gateway's time. An active connection on the same
 * 4-tuple is looked up in O(1) (netstack patch 0004) and refused with ERR_USE, the pcb
 * left untouched. A TIME_WAIT pcb with the same 4-tuple may remain: lwIP looks segments
 * up among active pcbs first, so the new connection gets them. Otherwise returns
 * tcp_connect's result (ERR_VAL for a pcb that is not fresh or a zero lport). */
err_t ns_tcp_connect_from(struct tcp_pcb *pcb, const ip_addr_t *local, u16_t lport,
                          const ip_addr_t *remote, u16_t rport, tcp_connected_fn connected);

#endif /* SUBTUNNEL_NS_STACK_H */
