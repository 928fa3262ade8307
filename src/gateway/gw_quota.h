#ifndef SUBTUNNEL_GW_QUOTA_H
#define SUBTUNNEL_GW_QUOTA_H

#include <stddef.h>
#include <stdint.h>

#include "st_quota.h"

/* Live flows counted per address (IPv4 or IPv6), each address capped: so one user, or one
 * destination host, cannot take a whole budget that all share (a st_quota keyed by
 * address). */

struct gw_quota {
    struct st_quota tab;
};

void gw_quota_init(struct gw_quota *q);
void gw_quota_fini(struct gw_quota *q);
/* Counts one more flow for addr (4 or 16 bytes by family) unless it already has `limit`:
 * 0, -EDQUOT (at the limit; nothing counted), -ENOMEM. */
int gw_quota_take(struct gw_quota *q, int family, const uint8_t *addr, uint32_t limit);
/* One flow of addr ended (it must have been counted). */
void gw_quota_give(struct gw_quota *q, int family, const uint8_t *addr);
/* Live flows counted for addr. */
uint32_t gw_quota_count(const struct gw_quota *q, int family, const uint8_t *addr);

#endif
