#ifndef SUBTUNNEL_GW_METRICS_H
#define SUBTUNNEL_GW_METRICS_H

/* The gateway's metrics-listen: its counters and gauges as Prometheus text (GET /metrics,
 * every metric documented in docs/operations.md) and its readiness (GET /ready). */

#include <stdbool.h>
#include <stddef.h>

#include "st_metrics.h"

struct gw_server;

/* Writes every gateway metric into b. */
void gw_metrics_write(struct gw_server *gw, struct st_mbuf *b);
/* Ready: not draining and at least one tunnel connection registered. why gets a one-line
 * reason ("no tunnel connection registered (0 of 4)..."). */
bool gw_metrics_ready(struct gw_server *gw, char *why, size_t len);
/* Opens metrics-listen when it is set. 0, or -1 (logged). */
int gw_metrics_start(struct gw_server *gw);
void gw_metrics_stop(struct gw_server *gw);

#endif
