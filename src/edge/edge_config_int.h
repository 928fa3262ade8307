#ifndef SUBTUNNEL_EDGE_CONFIG_INT_H
#define SUBTUNNEL_EDGE_CONFIG_INT_H

/* Parts of the edge configuration's parser kept in their own files (edge_config.c calls). */

#include "edge_config.h"
#include "st_config.h"

/* registry, edge-id, relay-listen's companions relay-ca, relay-cert, relay-key (the fleet,
 * docs/fleet.md), after the listeners. 0, or an st_cfg error (-EINVAL, -ENOMEM). */
int edge_config_fleet(struct st_cfg *c, const struct st_cfg_node *root, struct edge_config *cfg);

/* The readable file named by map's key `key` (required), copied into *out. 0 or an st_cfg
 * error. */
int edge_config_file_of(struct st_cfg *c, const struct st_cfg_node *map, const char *key,
                        char **out);

#endif
