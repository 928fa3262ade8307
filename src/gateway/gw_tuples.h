#ifndef SUBTUNNEL_GW_TUPLES_H
#define SUBTUNNEL_GW_TUPLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The 4-tuples (local address and port, remote address and port; IPv4, network order for
 * addresses, host order for ports) of the TCP connections the expose side opened with
 * ns_tcp_connect_from, which skips lwIP's own clash check: this table keeps them unique in
 * O(1) per flow where lwIP walks every pcb. A hash table with chaining and a random seed
 * (client ports are chosen by strangers), grown as it fills. */

struct gw_tuple {
    uint32_t lip, rip;
    uint16_t lport, rport;
    struct gw_tuple *next; /* chain */
};

struct gw_tuples {
    struct gw_tuple **slots;
    size_t mask, n;
    uint64_t seed;
};

void gw_tuples_init(struct gw_tuples *t);
void gw_tuples_fini(struct gw_tuples *t);
bool gw_tuples_has(const struct gw_tuples *t, uint32_t lip, uint16_t lport, uint32_t rip,
                   uint16_t rport);
/* Adds e (its fields set, not in the table). Returns 0, or -1 without memory. */
int gw_tuples_add(struct gw_tuples *t, struct gw_tuple *e);
/* Removes e, which must be in the table. */
void gw_tuples_del(struct gw_tuples *t, struct gw_tuple *e);

/* A free local port in [lo, hi] for (lip -> rip:rport), tried at random up to `tries`
 * times; 0 when none was found. */
uint16_t gw_tuples_pick_port(const struct gw_tuples *t, uint32_t lip, uint32_t rip, uint16_t rport,
                             uint16_t lo, uint16_t hi, int tries);

#endif /* SUBTUNNEL_GW_TUPLES_H */
