#ifndef SUBTUNNEL_GW_REACH_H
#define SUBTUNNEL_GW_REACH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "st_addr.h"

/* The reach role: the kernel routes the CIDRs the edge allows (ROUTES capsule) into the
 * TUN, lwIP accepts TCP to any address and port there, and each accepted connection
 * becomes a CONNECT on a reach connection (gw_flow_accept). */

#define GW_REACH_MAX_ROUTES 64

struct gw_server;

/* Starts the any-address, any-port lwIP listener. 0 or -ENOMEM. */
int gw_reach_init(struct gw_server *gw);
/* Installs kernel routes into the TUN for the reachable CIDRs (IPv4; others are logged
 * and skipped). Routes already installed are kept. */
void gw_reach_routes(struct gw_server *gw, const struct st_cidr *routes, size_t n);
/* True when an IPv4 address lies in an installed reach route: replies to it come back
 * through the TUN, so expose may open connections from it (source preservation). */
bool gw_reach_covers(const struct gw_server *gw, const uint8_t addr[4]);

#endif
