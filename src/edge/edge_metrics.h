#ifndef SUBTUNNEL_EDGE_METRICS_H
#define SUBTUNNEL_EDGE_METRICS_H

/* The edge's metrics-listen: its counters and gauges as Prometheus text (GET /metrics, every
 * metric documented in docs/operations.md) and its readiness (GET /ready). */

#include <stdbool.h>
#include <stddef.h>

#include "st_metrics.h"

struct edge_server;

/* Writes every edge metric into b. */
void edge_metrics_write(struct edge_server *srv, struct st_mbuf *b);
/* Ready: not draining and every configured listener open. why gets a one-line reason. */
bool edge_metrics_ready(const struct edge_server *srv, char *why, size_t len);
/* Opens metrics-listen when it is set. 0, or -1 (logged). */
int edge_metrics_start(struct edge_server *srv);
/* Closes it (NULL-safe on a server without one). */
void edge_metrics_stop(struct edge_server *srv);

#endif
