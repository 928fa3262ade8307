#ifndef SUBTUNNEL_EDGE_ROUTE_H
#define SUBTUNNEL_EDGE_ROUTE_H

/* Longest-prefix-match route table, IPv4 and IPv6: prefix -> owner (opaque, not owned;
 * typically the tunnel that announced the route). A binary trie per family: add, remove and
 * lookup cost O(prefix length). */

#include "st_addr.h"

#include <stddef.h>
#include <stdint.h>

struct edge_route_table;

/* New empty table; NULL on ENOMEM. */
struct edge_route_table *edge_route_new(void);
/* Frees the table (not the owners); accepts NULL. */
void edge_route_free(struct edge_route_table *t);
/* Adds prefix -> owner (owner != NULL). Same prefix already owned by another owner -> -EEXIST;
 * same owner -> 0 (idempotent). -EINVAL for a bad family/prefix or NULL owner, -ENOMEM. */
int edge_route_add(struct edge_route_table *t, const struct st_cidr *c, void *owner);
/* Removes every route of owner; returns how many. */
int edge_route_remove_owner(struct edge_route_table *t, void *owner);
/* Longest prefix match; NULL if none. addr is 4 or 16 bytes by family. */
void *edge_route_lookup(const struct edge_route_table *t, int family, const uint8_t *addr);
/* Number of routes in the table. */
size_t edge_route_count(const struct edge_route_table *t);

#endif
