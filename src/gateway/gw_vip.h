#ifndef SUBTUNNEL_GW_VIP_H
#define SUBTUNNEL_GW_VIP_H

/* Virtual IP pool (IPv4 virtual-pool or IPv6 virtual-pool6): gives each remote client address one
 * virtual address from a CIDR while the client has flows (reference counted). Memory grows with the
 * addresses in use, never with the pool size. */

#include "st_addr.h"

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

struct gw_vip_pool;

/* Pool over an IPv4 CIDR (prefix <= 30) or an IPv6 one (prefix /96 to /126: at most 2^32
 * addresses); the first `reserved` host addresses after the network address are never handed
 * out (TUN and lwIP addresses), nor the last (IPv4 broadcast). NULL on bad input (another
 * family or prefix, no address left to hand out) or ENOMEM. */
struct gw_vip_pool *gw_vip_pool_new(const struct st_cidr *pool, unsigned reserved);
/* Frees the pool; accepts NULL. */
void gw_vip_pool_free(struct gw_vip_pool *p);
/* The same client address (family+16 bytes) maps to the same virtual IP while it holds
 * references; acquire adds one. Returns 0 and *vip (network order), -ENOSPC when exhausted,
 * -ENOMEM. Never-used addresses go first, then released ones, least-recently released first. */
int gw_vip_acquire(struct gw_vip_pool *p, int family, const uint8_t *client_addr,
                   struct in_addr *vip);
/* The same for an IPv6 pool: *vip is a virtual IPv6 address. -EINVAL on an IPv4 pool (and
 * gw_vip_acquire returns -EINVAL on an IPv6 pool). */
int gw_vip_acquire6(struct gw_vip_pool *p, int family, const uint8_t *client_addr,
                    struct in6_addr *vip);
/* Drops one reference on vip; at zero the address returns to the pool. Unknown vip (or one of
 * the other family): ignored. */
void gw_vip_release(struct gw_vip_pool *p, struct in_addr vip);
void gw_vip_release6(struct gw_vip_pool *p, const struct in6_addr *vip);
/* Number of virtual IPs currently held by clients. */
size_t gw_vip_in_use(const struct gw_vip_pool *p);

#endif
