#include "gw_quota.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static void make_key(uint8_t key[17], int family, const uint8_t *addr)
{
    memset(key, 0, 17);
    key[0] = family == AF_INET6 ? 6 : 4;
    memcpy(key + 1, addr, family == AF_INET6 ? 16 : 4);
}

static size_t hash(const uint8_t key[17], size_t mask)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (int i = 0; i < 17; i++)
        h = (h ^ key[i]) * 1099511628211ull;
    return (size_t)(h ^ (h >> 32)) & mask;
}

/* The slot holding key, or the empty slot where it would go. */
static struct gw_quota_slot *find(const struct gw_quota *q, const uint8_t key[17])
{
    size_t mask = q->cap - 1;
    for (size_t i = hash(key, mask);; i = (i + 1) & mask)
        if (q->slots[i].key[0] == 0 || memcmp(q->slots[i].key, key, 17) == 0)
            return &q->slots[i];
}

static int grow(struct gw_quota *q)
{
    size_t cap = q->cap ? q->cap * 2 : 64;
    struct gw_quota_slot *old = q->slots, *v = calloc(cap, sizeof(*v));
    if (!v)
        return -ENOMEM;
    size_t old_cap = q->cap;
    q->slots = v;
    q->cap = cap;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].key[0])
            *find(q, old[i].key) = old[i];
    free(old);
    return 0;
}

void gw_quota_init(struct gw_quota *q)
{
    memset(q, 0, sizeof(*q));
}

void gw_quota_fini(struct gw_quota *q)
{
    free(q->slots);
    memset(q, 0, sizeof(*q));
}

int gw_quota_take(struct gw_quota *q, int family, const uint8_t *addr, uint32_t limit)
{
    uint8_t key[17];
    make_key(key, family, addr);
    if ((q->used + 1) * 2 > q->cap && grow(q) < 0)
        return -ENOMEM;
    struct gw_quota_slot *s = find(q, key);
    if (s->key[0] && s->count >= limit)
        return -EDQUOT;
    if (!s->key[0]) {
        if (!limit)
            return -EDQUOT;
        memcpy(s->key, key, 17);
        s->count = 0;
        q->used++;
    }
    s->count++;
    return 0;
}

/* Empties slot i and moves later entries of its probe run back into the gap. */
static void remove_at(struct gw_quota *q, size_t i)
{
    size_t mask = q->cap - 1;
    q->slots[i].key[0] = 0;
    for (size_t j = (i + 1) & mask; q->slots[j].key[0]; j = (j + 1) & mask) {
        size_t home = hash(q->slots[j].key, mask);
        /* j's entry may move to i when its home is not in the cyclic range (i, j] */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (stays)
            continue;
        q->slots[i] = q->slots[j];
        q->slots[j].key[0] = 0;
        i = j;
    }
    q->used--;
}

void gw_quota_give(struct gw_quota *q, int family, const uint8_t *addr)
{
    uint8_t key[17];
    if (!q->cap)
        return;
    make_key(key, family, addr);
    struct gw_quota_slot *s = find(q, key);
    if (!s->key[0])
        return;
    if (--s->count == 0)
        remove_at(q, (size_t)(s - q->slots));
}

uint32_t gw_quota_count(const struct gw_quota *q, int family, const uint8_t *addr)
{
    uint8_t key[17];
    if (!q->cap)
        return 0;
    make_key(key, family, addr);
    const struct gw_quota_slot *s = find(q, key);
    return s->key[0] ? s->count : 0;
}
