#include "st_quota.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

void st_quota_addr_key(uint8_t key[ST_QUOTA_KEY], int family, const uint8_t *addr)
{
    memset(key, 0, ST_QUOTA_KEY);
    key[0] = family == AF_INET6 ? 6 : 4;
    memcpy(key + 1, addr, family == AF_INET6 ? 16 : 4);
}

static size_t hash(const struct st_quota *q, const uint8_t key[ST_QUOTA_KEY])
{
    uint64_t h = 1469598103934665603ull ^ q->seed; /* FNV-1a, then a 64-bit finaliser */
    for (int i = 0; i < ST_QUOTA_KEY; i++)
        h = (h ^ key[i]) * 1099511628211ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return (size_t)h & (q->cap - 1);
}

/* The slot holding key, or the empty slot where it would go. */
static struct st_quota_slot *find(const struct st_quota *q, const uint8_t key[ST_QUOTA_KEY])
{
    size_t mask = q->cap - 1;
    for (size_t i = hash(q, key);; i = (i + 1) & mask)
        if (q->slots[i].key[0] == 0 || memcmp(q->slots[i].key, key, ST_QUOTA_KEY) == 0)
            return &q->slots[i];
}

static int grow(struct st_quota *q)
{
    size_t cap = q->cap ? q->cap * 2 : 64;
    struct st_quota_slot *old = q->slots, *v = calloc(cap, sizeof(*v));
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

void st_quota_init(struct st_quota *q, uint64_t seed)
{
    memset(q, 0, sizeof(*q));
    q->seed = seed;
}

void st_quota_fini(struct st_quota *q)
{
    free(q->slots);
    memset(q, 0, sizeof(*q));
}

int st_quota_take(struct st_quota *q, const uint8_t key[ST_QUOTA_KEY], uint32_t limit)
{
    if ((q->used + 1) * 2 > q->cap && grow(q) < 0)
        return -ENOMEM;
    struct st_quota_slot *s = find(q, key);
    if (s->key[0] && s->count >= limit)
        return -EDQUOT;
    if (!s->key[0]) {
        if (!limit)
            return -EDQUOT;
        memcpy(s->key, key, ST_QUOTA_KEY);
        s->count = 0;
        q->used++;
    }
    s->count++;
    return 0;
}

/* Empties slot i and moves later entries of its probe run back into the gap. */
static void remove_at(struct st_quota *q, size_t i)
{
    size_t mask = q->cap - 1;
    q->slots[i].key[0] = 0;
    for (size_t j = (i + 1) & mask; q->slots[j].key[0]; j = (j + 1) & mask) {
        size_t home = hash(q, q->slots[j].key);
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

void st_quota_give(struct st_quota *q, const uint8_t key[ST_QUOTA_KEY])
{
    if (!q->cap)
        return;
    struct st_quota_slot *s = find(q, key);
    if (!s->key[0])
        return;
    if (--s->count == 0)
        remove_at(q, (size_t)(s - q->slots));
}

uint32_t st_quota_count(const struct st_quota *q, const uint8_t key[ST_QUOTA_KEY])
{
    if (!q->cap)
        return 0;
    const struct st_quota_slot *s = find(q, key);
    return s->key[0] ? s->count : 0;
}
