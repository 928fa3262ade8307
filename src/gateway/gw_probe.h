#ifndef SUBTUNNEL_GW_PROBE_H
#define SUBTUNNEL_GW_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "gw_edges.h"
#include "st_loop.h"

/* Round-trip probes of edge targets (edge-count, docs/configuration.md): a non-blocking TCP
 * connect to each, timed from connect() to its completion and closed at once, before any byte
 * is sent (an edge counts such a connection at debug level only). One round at a time, of at
 * most GW_PROBE_MAX targets, each given GW_PROBE_TIMEOUT_MS. */

#define GW_PROBE_MAX 16
#define GW_PROBE_TIMEOUT_MS 2000

/* One probe's outcome: rtt_us > 0, or 0 when the connect failed or timed out. */
typedef void (*gw_probe_result_cb)(void *arg, const struct st_sockaddr *addr, uint32_t rtt_us);
/* The round ended (every probe answered or timed out). */
typedef void (*gw_probe_done_cb)(void *arg);

struct gw_probe_one {
    struct st_io io; /* io.fd < 0: idle */
    struct st_sockaddr addr;
    uint64_t started_us;
    struct gw_probes *ps;
};

struct gw_probes {
    struct st_loop *loop;
    struct gw_probe_one one[GW_PROBE_MAX];
    size_t pending;
    struct st_timer timeout;
    gw_probe_result_cb result;
    gw_probe_done_cb done;
    void *arg;
};

void gw_probes_init(struct gw_probes *ps, struct st_loop *loop, gw_probe_result_cb result,
                    gw_probe_done_cb done, void *arg);
/* Starts a round over t[0..min(n, GW_PROBE_MAX)); a round still running is abandoned first
 * (without callbacks). Results arrive from the loop, never from this call; done follows them
 * (at once, from the loop, when no probe could start). */
void gw_probes_start(struct gw_probes *ps, const struct gw_edge_target *t, size_t n);
/* True while a round runs. */
bool gw_probes_busy(const struct gw_probes *ps);
/* Closes the probes of a running round without callbacks. */
void gw_probes_stop(struct gw_probes *ps);

#endif
