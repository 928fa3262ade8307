/* lwIP lifecycle for a single-threaded event loop (NO_SYS=1). */
#ifndef SUBTUNNEL_NS_STACK_H
#define SUBTUNNEL_NS_STACK_H

#include <stdint.h>

#include "lwip/arch.h"

/* Initialises lwIP (lwip_init) on the first call; later calls do nothing. Returns 0. */
int ns_stack_init(void);

/* Runs expired lwIP timers (sys_check_timeouts); call from the loop at least every
 * 250 ms (TCP_TMR_INTERVAL) while lwIP has pcbs. */
void ns_stack_poll_timers(void);

/* lwIP's clock: CLOCK_MONOTONIC in milliseconds (wraps at 2^32). */
u32_t sys_now(void);

/* 32 random bits from getrandom(2) (random(3) if it fails); lwIP ports and ISNs. */
uint32_t ns_rand(void);

#endif /* SUBTUNNEL_NS_STACK_H */
