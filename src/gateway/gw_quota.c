#include "gw_quota.h"

void gw_quota_init(struct gw_quota *q)
{
    st_quota_init(&q->tab, 0);
}

void gw_quota_fini(struct gw_quota *q)
{
    st_quota_fini(&q->tab);
}

int gw_quota_take(struct gw_quota *q, int family, const uint8_t *addr, uint32_t limit)
{
    uint8_t key[ST_QUOTA_KEY];
    st_quota_addr_key(key, family, addr);
    return st_quota_take(&q->tab, key, limit);
}

void gw_quota_give(struct gw_quota *q, int family, const uint8_t *addr)
{
    uint8_t key[ST_QUOTA_KEY];
    st_quota_addr_key(key, family, addr);
    st_quota_give(&q->tab, key);
}

uint32_t gw_quota_count(const struct gw_quota *q, int family, const uint8_t *addr)
{
    uint8_t key[ST_QUOTA_KEY];
    st_quota_addr_key(key, family, addr);
    return st_quota_count(&q->tab, key);
}
