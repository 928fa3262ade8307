#ifndef SUBTUNNEL_GW_EDGES_H
#define SUBTUNNEL_GW_EDGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "st_addr.h"

/* Edge targets (from SRV discovery or the static list in the config) and the spread of the
 * gateway's connection slots over them. Pure functions: no sockets, no allocation. */

/* Extra slots are shared by at most this many targets (the first of the lowest priority). */
#define GW_EDGES_MAX_GROUP 256

struct gw_edge_target {
    struct st_sockaddr addr;   /* resolved address + port */
    uint16_t priority, weight; /* SRV fields; static list: 0 and 1 */
    char name[256];            /* SRV target host name or the literal from the config */
};

/* Sorts t in place: priority ascending, weight descending, name (strcmp), then address
 * (family, address bytes, port, IPv6 scope). Then removes targets whose address (family,
 * address, port, scope) equals that of an earlier one, so the best-ranked copy stays.
 * Returns the new count (<= n). */
size_t gw_edges_sort(struct gw_edge_target *t, size_t n);

/* Distributes n_slots = max(ha, n) connection slots over the sorted targets t[0..n) and
 * writes slot_target[i] = index into t for every slot i in [0, n_slots); the caller
 * provides max(ha, n) entries. Returns n_slots, 0 when n == 0.
 *
 * Rule: slots 0..n-1 are one per target in target order (edges share nothing, so every
 * edge must hold a registration). The remaining ha - n slots go only to the group of
 * targets with the lowest priority value (t[0].priority, a prefix of t after sorting),
 * picked by smooth weighted round robin over their weights: each pick adds each target's
 * weight to its counter, takes the highest counter (ties: lowest index) and subtracts the
 * group's total weight from the winner's. Zero-weight targets get no extra slot unless every
 * weight in the group is 0, in which case all count as 1. Over a whole cycle (total weight
 * picks) each target gets exactly its weight; e.g. weights 3:1, ha 8: extras 0,0,1,0,0,0
 * (5:1), 6:2 in total. Targets of higher priority values get exactly one slot. */
size_t gw_edges_assign(const struct gw_edge_target *t, size_t n, unsigned ha, size_t *slot_target);

/* What the gateway learned of an edge beyond DNS (kept per address across re-resolutions). */
struct gw_edge_state {
    uint32_t rtt_us;     /* TCP connect time of the last probe; 0: not measured */
    uint64_t down_until; /* loop ms: failed lately (connections or probe), passed over until then */
    unsigned fails;      /* times marked down since it last registered (the wait doubles) */
    bool chosen;         /* in the current selection: its RTT counts a quarter lower */
};

#define GW_EDGES_DOWN_FIRST_MS 30000 /* an edge that failed is passed over this long */
#define GW_EDGES_DOWN_MAX_MS 300000  /* doubling per failure up to this */

/* Picks min(count, n) of the sorted targets t[0..n) (st[i] describes t[i]) for the gateway to
 * dial and writes their indices, ascending, to chosen. Rank, best first: not down (down_until
 * <= now) before down; priority ascending; measured RTT before unmeasured, then by whole
 * milliseconds of RTT (a chosen target's counted 25 % lower, so a move needs a clear gain);
 * weight descending; then the sort order. The addresses of one SRV target (its A and AAAA
 * records: the same name) are one edge: a second address of an edge already picked comes
 * only after every edge that is not down has one. Returns the count written. */
size_t gw_edges_select(const struct gw_edge_target *t, const struct gw_edge_state *st, size_t n,
                       unsigned count, uint64_t now, size_t *chosen);
/* How long an edge marked down for the `fails`-th time (>= 1) is passed over. */
uint64_t gw_edges_down_ms(unsigned fails);

#define GW_EDGES_BACKOFF_MAX_EXP 5 /* waits < 2^5 s = 32 s */

/* Wait in ms before redialing an edge after `attempts` closes since the last REGISTERED,
 * from the random value rnd: uniform in [0, 2^min(attempts, 5) s). When the edge's ERROR
 * asked for retry_after_ms (> 0), that plus rnd mod 1000 ms of jitter instead. */
uint64_t gw_edges_backoff_ms(unsigned attempts, uint64_t retry_after_ms, uint32_t rnd);

#define GW_EDGES_REFUSED_FIRST_MS 5000 /* first retry after a refused registration */
#define GW_EDGES_REFUSED_MAX_MS 300000 /* refused again and again: at most every 5 min */
/* Wait in ms before asking again an edge that refused registration `refusals` (>= 1) times in
 * a row (a cause that can heal: an edge reload adds the tunnel or the route, a restart ends
 * the drain): 5 s doubling to a ceiling of 300 s, plus rnd mod 20 % of it as jitter. */
uint64_t gw_edges_refused_backoff_ms(unsigned refusals, uint32_t rnd);

#endif
