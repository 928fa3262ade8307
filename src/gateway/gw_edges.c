#include "gw_edges.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Comparable form of an address: family, 16 address bytes, port, scope, all big-endian.
 * Never compares sockaddr padding (sin_zero) or the stored length. */
#define KEY_LEN 24

static void addr_key(const struct st_sockaddr *a, uint8_t key[KEY_LEN])
{
    memset(key, 0, KEY_LEN);
    if (a->ss.ss_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)&a->ss;
        key[1] = AF_INET;
        memcpy(key + 2, &s->sin_addr, 4);
        memcpy(key + 18, &s->sin_port, 2);
    } else if (a->ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)&a->ss;
        uint32_t scope = htonl(s->sin6_scope_id);
        key[1] = AF_INET6;
        memcpy(key + 2, &s->sin6_addr, 16);
        memcpy(key + 18, &s->sin6_port, 2);
        memcpy(key + 20, &scope, 4);
    } else {
        key[0] = 0xff; /* unknown families sort last and never match a real address */
        key[1] = (uint8_t)a->ss.ss_family;
    }
}

static int addr_cmp(const struct st_sockaddr *a, const struct st_sockaddr *b)
{
    uint8_t ka[KEY_LEN], kb[KEY_LEN];

    addr_key(a, ka);
    addr_key(b, kb);
    return memcmp(ka, kb, KEY_LEN);
}

static int target_cmp(const void *pa, const void *pb)
{
    const struct gw_edge_target *a = pa, *b = pb;

    if (a->priority != b->priority)
        return a->priority < b->priority ? -1 : 1;
    if (a->weight != b->weight)
        return a->weight > b->weight ? -1 : 1;
    int c = strncmp(a->name, b->name, sizeof(a->name));
    if (c)
        return c;
    return addr_cmp(&a->addr, &b->addr);
}

static bool seen_before(const struct gw_edge_target *t, size_t kept, const struct st_sockaddr *a)
{
    for (size_t i = 0; i < kept; i++)
        if (addr_cmp(&t[i].addr, a) == 0)
            return true;
    return false;
}

size_t gw_edges_sort(struct gw_edge_target *t, size_t n)
{
    size_t kept = 0;

    if (n == 0)
        return 0;
    qsort(t, n, sizeof(*t), target_cmp);
    for (size_t i = 0; i < n; i++) {
        if (seen_before(t, kept, &t[i].addr))
            continue;
        if (kept != i)
            t[kept] = t[i];
        kept++;
    }
    return kept;
}

/* Smooth weighted round robin over t[0..g): one pick per extra slot. */
static void assign_extras(const struct gw_edge_target *t, size_t g, size_t extra, size_t *out)
{
    int64_t cur[GW_EDGES_MAX_GROUP], total = 0;
    bool all_zero = true;

    for (size_t i = 0; i < g; i++) {
        cur[i] = 0;
        total += t[i].weight;
        if (t[i].weight)
            all_zero = false;
    }
    if (all_zero)
        total = (int64_t)g;
    for (size_t k = 0; k < extra; k++) {
        size_t best = 0;
        for (size_t i = 0; i < g; i++) {
            cur[i] += all_zero ? 1 : t[i].weight;
            if (cur[i] > cur[best])
                best = i;
        }
        cur[best] -= total;
        out[k] = best;
    }
}

size_t gw_edges_assign(const struct gw_edge_target *t, size_t n, unsigned ha, size_t *slot_target)
{
    size_t g = 1;

    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        slot_target[i] = i;
    if (ha <= n)
        return n;
    while (g < n && g < GW_EDGES_MAX_GROUP && t[g].priority == t[0].priority)
        g++;
    assign_extras(t, g, ha - n, slot_target + n);
    return ha;
}

uint64_t gw_edges_backoff_ms(unsigned attempts, uint64_t retry_after_ms, uint32_t rnd)
{
    unsigned exp = attempts < GW_EDGES_BACKOFF_MAX_EXP ? attempts : GW_EDGES_BACKOFF_MAX_EXP;
    if (retry_after_ms)
        return retry_after_ms + rnd % 1000;
    return (uint64_t)rnd % (1000ULL << exp);
}

uint64_t gw_edges_refused_backoff_ms(unsigned refusals, uint32_t rnd)
{
    uint64_t wait = GW_EDGES_REFUSED_FIRST_MS;
    for (unsigned i = 1; i < refusals && wait < GW_EDGES_REFUSED_MAX_MS; i++)
        wait *= 2;
    if (wait > GW_EDGES_REFUSED_MAX_MS)
        wait = GW_EDGES_REFUSED_MAX_MS;
    return wait + rnd % (wait / 5);
}

/* Sort key of target i for gw_edges_select: smaller is better. */
struct rank {
    size_t i;
    bool down;
    uint16_t priority;
    uint64_t rtt_ms; /* UINT64_MAX: not measured */
    uint16_t weight;
};

static int rank_cmp(const void *pa, const void *pb)
{
    const struct rank *a = pa, *b = pb;
    if (a->down != b->down)
        return a->down ? 1 : -1;
    if (a->priority != b->priority)
        return a->priority < b->priority ? -1 : 1;
    if (a->rtt_ms != b->rtt_ms)
        return a->rtt_ms < b->rtt_ms ? -1 : 1;
    if (a->weight != b->weight)
        return a->weight > b->weight ? -1 : 1;
    return a->i < b->i ? -1 : a->i > b->i;
}

/* Is t[i] another address of an edge among chosen[0..k) (the same SRV target name)? */
static bool name_picked(const struct gw_edge_target *t, const size_t *chosen, size_t k, size_t i)
{
    for (size_t j = 0; j < k; j++)
        if (strcmp(t[chosen[j]].name, t[i].name) == 0)
            return true;
    return false;
}

static int index_cmp(const void *pa, const void *pb)
{
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    return a < b ? -1 : a > b;
}

size_t gw_edges_select(const struct gw_edge_target *t, const struct gw_edge_state *st, size_t n,
                       unsigned count, uint64_t now, size_t *chosen)
{
    struct rank *r = n ? calloc(n, sizeof(*r)) : NULL;
    size_t m = n < count ? n : count;
    if (!r) { /* n == 0, or out of memory: the first ones in the sort order */
        for (size_t i = 0; i < m; i++)
            chosen[i] = i;
        return m;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t rtt = st[i].rtt_us;
        if (rtt && st[i].chosen)
            rtt -= rtt / 4;
        r[i] = (struct rank){.i = i,
                             .down = st[i].down_until > now,
                             .priority = t[i].priority,
                             .rtt_ms = st[i].rtt_us ? rtt / 1000 : UINT64_MAX,
                             .weight = t[i].weight};
    }
    qsort(r, n, sizeof(*r), rank_cmp);
    size_t k = 0;
    /* first one address of each edge that is not down, then the rest in rank order */
    for (size_t j = 0; j < n && k < m; j++)
        if (!r[j].down && !name_picked(t, chosen, k, r[j].i)) {
            chosen[k++] = r[j].i;
            r[j].i = SIZE_MAX;
        }
    for (size_t j = 0; j < n && k < m; j++)
        if (r[j].i != SIZE_MAX)
            chosen[k++] = r[j].i;
    free(r);
    qsort(chosen, m, sizeof(*chosen), index_cmp);
    return m;
}

uint64_t gw_edges_down_ms(unsigned fails)
{
    uint64_t wait = GW_EDGES_DOWN_FIRST_MS;
    for (unsigned i = 1; i < fails && wait < GW_EDGES_DOWN_MAX_MS; i++)
        wait *= 2;
    return wait < GW_EDGES_DOWN_MAX_MS ? wait : GW_EDGES_DOWN_MAX_MS;
}
