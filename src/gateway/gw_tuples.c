#include "gw_tuples.h"

#include <stdlib.h>

#include "ns_stack.h"

#define INITIAL_SLOTS 1024

static size_t hash(const struct gw_tuples *t, uint32_t lip, uint16_t lport, uint32_t rip,
                   uint16_t rport)
{
    uint64_t h = ((uint64_t)lip << 32 | rip) ^ t->seed;
    h *= 0x9e3779b97f4a7c15ull;
    h ^= ((uint64_t)lport << 16 | rport) * 0xc2b2ae3d27d4eb4full;
    h ^= h >> 29;
    return (size_t)h & t->mask;
}

static bool same(const struct gw_tuple *e, uint32_t lip, uint16_t lport, uint32_t rip,
                 uint16_t rport)
{
    return e->lip == lip && e->lport == lport && e->rip == rip && e->rport == rport;
}

void gw_tuples_init(struct gw_tuples *t)
{
    *t = (struct gw_tuples){.seed = (uint64_t)ns_rand() << 32 | ns_rand()};
}

void gw_tuples_fini(struct gw_tuples *t)
{
    free(t->slots);
    t->slots = NULL;
    t->mask = t->n = 0;
}

bool gw_tuples_has(const struct gw_tuples *t, uint32_t lip, uint16_t lport, uint32_t rip,
                   uint16_t rport)
{
    if (!t->slots)
        return false;
    for (const struct gw_tuple *e = t->slots[hash(t, lip, lport, rip, rport)]; e; e = e->next)
        if (same(e, lip, lport, rip, rport))
            return true;
    return false;
}

/* Doubles the slots (or makes the first ones); the table is unchanged without memory. */
static int grow(struct gw_tuples *t)
{
    size_t cap = t->slots ? (t->mask + 1) * 2 : INITIAL_SLOTS;
    struct gw_tuple **slots = calloc(cap, sizeof(*slots));
    if (!slots)
        return -1;
    struct gw_tuples old = *t;
    t->slots = slots;
    t->mask = cap - 1;
    for (size_t i = 0; old.slots && i <= old.mask; i++) {
        struct gw_tuple *e = old.slots[i], *next;
        for (; e; e = next) {
            next = e->next;
            size_t h = hash(t, e->lip, e->lport, e->rip, e->rport);
            e->next = t->slots[h];
            t->slots[h] = e;
        }
    }
    free(old.slots);
    return 0;
}

int gw_tuples_add(struct gw_tuples *t, struct gw_tuple *e)
{
    if ((!t->slots || t->n > t->mask) && grow(t) < 0 && !t->slots)
        return -1; /* a full table without memory to grow still takes entries (longer chains) */
    size_t h = hash(t, e->lip, e->lport, e->rip, e->rport);
    e->next = t->slots[h];
    t->slots[h] = e;
    t->n++;
    return 0;
}

void gw_tuples_del(struct gw_tuples *t, struct gw_tuple *e)
{
    struct gw_tuple **pp = &t->slots[hash(t, e->lip, e->lport, e->rip, e->rport)];
    while (*pp && *pp != e)
        pp = &(*pp)->next;
    if (*pp) {
        *pp = e->next;
        t->n--;
    }
    e->next = NULL;
}

uint16_t gw_tuples_pick_port(const struct gw_tuples *t, uint32_t lip, uint32_t rip, uint16_t rport,
                             uint16_t lo, uint16_t hi, int tries)
{
    if (lo == 0 || hi < lo)
        return 0;
    for (int i = 0; i < tries; i++) {
        uint16_t port = (uint16_t)(lo + ns_rand() % ((uint32_t)hi - lo + 1));
        if (!gw_tuples_has(t, lip, port, rip, rport))
            return port;
    }
    return 0;
}
