#include "gw_vip.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define INITIAL_BUCKETS 64

struct vip_entry {
    int family;
    uint8_t client[16];
    uint32_t vip; /* host order */
    unsigned refs;
    struct vip_entry *by_client_next, *by_vip_next;
    struct vip_entry *free_next;
};

struct gw_vip_pool {
    int family; /* AF_INET, or AF_INET6: base[0..12) + the 32-bit host part */
    uint8_t base[16];
    uint32_t first, last; /* host order, inclusive range handed out */
    uint32_t next_unused; /* cursor; > last when every address was used once */
    bool cursor_done;
    struct vip_entry **by_client, **by_vip; /* chained hash tables, in-use entries */
    size_t mask;                            /* buckets - 1 */
    size_t in_use;
    struct vip_entry *free_head, *free_tail; /* released entries, oldest first */
    uint64_t seed;
};

static size_t hash_bytes(uint64_t seed, const uint8_t *b, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ seed;

    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL;
    return (size_t)(h ^ (h >> 32));
}

static size_t client_hash(const struct gw_vip_pool *p, int family, const uint8_t *addr)
{
    return hash_bytes(p->seed + (uint64_t)family, addr, family == AF_INET ? 4 : 16) & p->mask;
}

static size_t vip_hash(const struct gw_vip_pool *p, uint32_t vip)
{
    return (size_t)((vip * 0x9e3779b1u) >> 7) & p->mask;
}

/* The last 32 bits of the pool's network in host order, and its size (0 means 2^32). */
static int pool_range(const struct st_cidr *pool, uint32_t *net, uint32_t *size)
{
    int hostbits = pool->family == AF_INET ? 32 - pool->prefix : 128 - pool->prefix;

    if (pool->family == AF_INET ? pool->prefix > 30
                                : pool->family != AF_INET6 || hostbits > 32 || hostbits < 2)
        return -EINVAL;
    *size = hostbits == 32 ? 0 : (uint32_t)1 << hostbits;
    memcpy(net, pool->addr + (pool->family == AF_INET ? 0 : 12), 4);
    *net = ntohl(*net);
    return 0;
}

struct gw_vip_pool *gw_vip_pool_new(const struct st_cidr *pool, unsigned reserved)
{
    struct gw_vip_pool *p;
    uint32_t net, size;

    if (pool_range(pool, &net, &size) < 0)
        return NULL;
    if ((uint64_t)reserved + 3 > (size ? size : 1ULL << 32))
        return NULL;
    p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->family = pool->family;
    memcpy(p->base, pool->addr, 16);
    p->first = net + 1 + reserved;
    p->last = net + (size - 2);
    p->next_unused = p->first;
    p->mask = INITIAL_BUCKETS - 1;
    p->by_client = calloc(INITIAL_BUCKETS, sizeof(*p->by_client));
    p->by_vip = calloc(INITIAL_BUCKETS, sizeof(*p->by_vip));
    if (!p->by_client || !p->by_vip) {
        gw_vip_pool_free(p);
        return NULL;
    }
    if (getrandom(&p->seed, sizeof(p->seed), GRND_NONBLOCK) != sizeof(p->seed))
        p->seed = (uint64_t)(uintptr_t)p;
    return p;
}

static void free_chain(struct vip_entry *e, bool by_client)
{
    while (e) {
        struct vip_entry *next = by_client ? e->by_client_next : e->free_next;
        free(e);
        e = next;
    }
}

void gw_vip_pool_free(struct gw_vip_pool *p)
{
    if (!p)
        return;
    for (size_t i = 0; p->by_client && i <= p->mask; i++)
        free_chain(p->by_client[i], true);
    free_chain(p->free_head, false);
    free(p->by_client);
    free(p->by_vip);
    free(p);
}

static void insert(struct gw_vip_pool *p, struct vip_entry *e)
{
    size_t hc = client_hash(p, e->family, e->client), hv = vip_hash(p, e->vip);

    e->by_client_next = p->by_client[hc];
    p->by_client[hc] = e;
    e->by_vip_next = p->by_vip[hv];
    p->by_vip[hv] = e;
}

/* Doubles both tables once there are more entries than buckets; failure just keeps them. */
static void maybe_grow(struct gw_vip_pool *p)
{
    size_t n = (p->mask + 1) * 2;
    struct vip_entry **bc, **bv, **oc = p->by_client, *e, *next;
    size_t omask = p->mask;

    if (p->in_use <= p->mask + 1)
        return;
    bc = calloc(n, sizeof(*bc));
    bv = calloc(n, sizeof(*bv));
    if (!bc || !bv) {
        free(bc);
        free(bv);
        return;
    }
    free(p->by_vip);
    p->by_client = bc;
    p->by_vip = bv;
    p->mask = n - 1;
    for (size_t i = 0; i <= omask; i++)
        for (e = oc[i]; e; e = next) {
            next = e->by_client_next;
            insert(p, e);
        }
    free(oc);
}

static struct vip_entry *find_client(const struct gw_vip_pool *p, int family, const uint8_t *addr)
{
    size_t n = family == AF_INET ? 4 : 16;

    for (struct vip_entry *e = p->by_client[client_hash(p, family, addr)]; e; e = e->by_client_next)
        if (e->family == family && memcmp(e->client, addr, n) == 0)
            return e;
    return NULL;
}

/* A fresh entry with a never-used address, or the oldest released one. */
static struct vip_entry *take_address(struct gw_vip_pool *p)
{
    struct vip_entry *e;

    if (!p->cursor_done) {
        e = calloc(1, sizeof(*e));
        if (!e)
            return NULL;
        e->vip = p->next_unused;
        if (p->next_unused == p->last)
            p->cursor_done = true;
        else
            p->next_unused++;
        return e;
    }
    e = p->free_head;
    if (e) {
        p->free_head = e->free_next;
        if (!p->free_head)
            p->free_tail = NULL;
        e->free_next = NULL;
    }
    return e;
}

/* One more reference for client_addr; *vip is the host part (host order). */
static int acquire(struct gw_vip_pool *p, int family, const uint8_t *client_addr, uint32_t *vip)
{
    struct vip_entry *e;

    if (family != AF_INET && family != AF_INET6)
        return -EINVAL;
    e = find_client(p, family, client_addr);
    if (!e) {
        if (p->cursor_done && !p->free_head)
            return -ENOSPC;
        e = take_address(p);
        if (!e)
            return -ENOMEM;
        e->family = family;
        memset(e->client, 0, sizeof(e->client));
        memcpy(e->client, client_addr, family == AF_INET ? 4 : 16);
        e->refs = 0;
        insert(p, e);
        p->in_use++;
        maybe_grow(p);
    }
    e->refs++;
    *vip = e->vip;
    return 0;
}

int gw_vip_acquire(struct gw_vip_pool *p, int family, const uint8_t *client_addr,
                   struct in_addr *vip)
{
    uint32_t v;
    int rv = p->family == AF_INET ? acquire(p, family, client_addr, &v) : -EINVAL;

    if (rv == 0)
        vip->s_addr = htonl(v);
    return rv;
}

int gw_vip_acquire6(struct gw_vip_pool *p, int family, const uint8_t *client_addr,
                    struct in6_addr *vip)
{
    uint32_t v;
    int rv = p->family == AF_INET6 ? acquire(p, family, client_addr, &v) : -EINVAL;

    if (rv == 0) {
        memcpy(vip->s6_addr, p->base, 12);
        v = htonl(v);
        memcpy(vip->s6_addr + 12, &v, 4);
    }
    return rv;
}

static void unlink_entry(struct gw_vip_pool *p, struct vip_entry *e)
{
    struct vip_entry **pp = &p->by_client[client_hash(p, e->family, e->client)];

    while (*pp != e)
        pp = &(*pp)->by_client_next;
    *pp = e->by_client_next;
    pp = &p->by_vip[vip_hash(p, e->vip)];
    while (*pp != e)
        pp = &(*pp)->by_vip_next;
    *pp = e->by_vip_next;
}

static void release(struct gw_vip_pool *p, uint32_t v)
{
    struct vip_entry *e = p->by_vip[vip_hash(p, v)];

    while (e && e->vip != v)
        e = e->by_vip_next;
    if (!e || --e->refs > 0)
        return;
    unlink_entry(p, e);
    p->in_use--;
    if (p->free_tail)
        p->free_tail->free_next = e;
    else
        p->free_head = e;
    p->free_tail = e;
}

void gw_vip_release(struct gw_vip_pool *p, struct in_addr vip)
{
    if (p->family == AF_INET)
        release(p, ntohl(vip.s_addr));
}

void gw_vip_release6(struct gw_vip_pool *p, const struct in6_addr *vip)
{
    uint32_t v;

    if (p->family != AF_INET6 || memcmp(vip->s6_addr, p->base, 12) != 0)
        return;
    memcpy(&v, vip->s6_addr + 12, 4);
    release(p, ntohl(v));
}

size_t gw_vip_in_use(const struct gw_vip_pool *p)
{
    return p->in_use;
}
