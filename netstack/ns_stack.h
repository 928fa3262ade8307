/* lwIP lifecycle for a single-threaded event loop (NO_SYS=1). */
#ifndef SUBTUNNEL_NS_STACK_H
#define SUBTUNNEL_NS_STACK_H

#include <stdbool.h>
#include <stddef.h>
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

/* 32 random bits from getrandom(2), drawn 64 values at a time (random(3) if it fails);
 * lwIP ports and ISNs. */
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

/* Whether an active (not TIME_WAIT) connection has this 4-tuple: O(1) through netstack
 * patch 0004's index. */
bool ns_tcp_tuple_active(const ip_addr_t *local, u16_t lport, const ip_addr_t *remote, u16_t rport);

/* lwIP's heap (every mem_malloc: pbufs, and pool objects, which come from malloc too):
 * bytes in use, the most ever in use, failed allocations (lwipopts.h: MEM_STATS). */
void ns_stack_mem(size_t *used, size_t *max, uint64_t *err);
/* Objects in use per lwIP pool (MEMP_STATS): name ("TCP_PCB", "UDP_PCB", "PBUF_POOL",
 * "TCP_SEG"...), in use now, failed allocations. */
struct ns_pool_stat {
    const char *name;
    size_t used;
    uint64_t err;
};
/* Fills up to max entries; returns how many (0 before ns_stack_init). */
size_t ns_stack_pools(struct ns_pool_stat *out, size_t max);

/* lwIP's ephemeral range (IANA's dynamic ports). */
#define NS_EPHEMERAL_LO 49152u
#define NS_EPHEMERAL_HI 65535u

/* A local port for a connection local -> remote:rport that no active connection holds:
 * `prefer` if it is free (0: none), else one drawn at random from the ephemeral range, up
 * to `tries` draws. Ports are chosen per destination, so the 16k range limits connections
 * to one remote address and port, not all of them. Returns 0 if every draw was taken. */
u16_t ns_tcp_pick_port(const ip_addr_t *local, u16_t prefer, const ip_addr_t *remote, u16_t rport,
                       int tries);

#endif /* SUBTUNNEL_NS_STACK_H */
