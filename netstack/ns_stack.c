#include "ns_stack.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

#include "lwip/init.h"
#include "lwip/memp.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/stats.h"
#include "lwip/sys.h"
#include "lwip/timeouts.h"

int ns_stack_init(void)
{
    static bool initialised;

    if (!initialised) {
        lwip_init();
        initialised = true;
    }
    return 0;
}

void ns_stack_mem(size_t *used, size_t *max, uint64_t *err)
{
    *used = lwip_stats.mem.used;
    *max = lwip_stats.mem.max;
    *err = lwip_stats.mem.err;
}

static const char *const pool_names[] = {
#define LWIP_MEMPOOL(name, num, size, desc) #name,
#include "lwip/priv/memp_std.h"
};

size_t ns_stack_pools(struct ns_pool_stat *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < MEMP_MAX && n < max; i++) {
        const struct stats_mem *m = lwip_stats.memp[i];
        if (!m)
            continue;
        out[n].name = pool_names[i];
        out[n].used = m->used;
        out[n].err = m->err;
        n++;
    }
    return n;
}

void ns_stack_poll_timers(void)
{
    sys_check_timeouts();
}

u32_t sys_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (u32_t)((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
}

/* One getrandom(2) per 64 values: every connection lwIP opens or accepts takes an ISN,
 * and one syscall each was ~1 % of a gateway's time setting up short flows. A value is
 * wiped from the pool when handed out. */
uint32_t ns_rand(void)
{
    static uint32_t pool[64];
    static size_t left;
    uint32_t r;

    if (left == 0) {
        if (getrandom(pool, sizeof(pool), GRND_NONBLOCK) != (ssize_t)sizeof(pool))
            return ((uint32_t)random() << 16) ^ (uint32_t)random();
        left = sizeof(pool) / sizeof(pool[0]);
    }
    r = pool[--left];
    pool[left] = 0;
    return r;
}

void ns_diag(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

bool ns_tcp_tuple_active(const ip_addr_t *local, u16_t lport, const ip_addr_t *remote, u16_t rport)
{
    struct tcp_pcb *active, *tw;
    /* netstack patch 0004's index; a TIME-WAIT pcb does not count */
    return tcp_hash_find(local, lport, remote, rport, &active, &tw) == 0 && active;
}

u16_t ns_tcp_pick_port(const ip_addr_t *local, u16_t prefer, const ip_addr_t *remote, u16_t rport,
                       int tries)
{
    if (prefer && !ns_tcp_tuple_active(local, prefer, remote, rport))
        return prefer;
    for (int i = 0; i < tries; i++) {
        u16_t port = (u16_t)(NS_EPHEMERAL_LO + ns_rand() % (NS_EPHEMERAL_HI - NS_EPHEMERAL_LO + 1));
        if (!ns_tcp_tuple_active(local, port, remote, rport))
            return port;
    }
    return 0;
}

err_t ns_tcp_connect_from(struct tcp_pcb *pcb, const ip_addr_t *local, u16_t lport,
                          const ip_addr_t *remote, u16_t rport, tcp_connected_fn connected)
{
    if (!pcb || pcb->state != CLOSED || pcb->local_port || !lport)
        return ERR_VAL;
    if (ns_tcp_tuple_active(local, lport, remote, rport))
        return ERR_USE;
    /* What tcp_bind sets, minus its clash check and its entry on the bound list (which
     * tcp_connect would take it off again anyway). */
    ip_addr_set(&pcb->local_ip, local);
    pcb->local_port = lport;
    return tcp_connect(pcb, remote, rport, connected);
}
