#ifndef SUBTUNNEL_GW_PROBE_H
#define SUBTUNNEL_GW_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "gw_edges.h"
#include "st_loop.h"

/* Round-trip probes of edge targets (edge-count, docs/configuration.md): a non-blocking TCP
 * connect to each, timed from connect() to its completion and closed at once, before any byte
 * is sent (an edge logs such a connection at debug level only). A round makes GW_PROBE_TRIES
 * tries GW_PROBE_GAP_MS apart over at most GW_PROBE_MAX targets, each connect given
 * GW_PROBE_TIMEOUT_MS, and reports each target's fastest (a busy moment of either end does not
 * count). */

#define GW_PROBE_MAX 16
#define GW_PROBE_TRIES 3
#define GW_PROBE_GAP_MS 100
#define GW_PROBE_TIMEOUT_MS 2000

/* A target's outcome: its fastest connect in microseconds, 0 when every try failed. */
typedef void (*gw_probe_result_cb)(void *arg, const struct st_sockaddr *addr, uint32_t rtt_us);
/* The round ended (after every result). */
typedef void (*gw_probe_done_cb)(void *arg);

struct gw_probe_one {
    struct st_io io; /* io.fd < 0: no connect open */
    struct st_sockaddr addr;
    uint64_t started_us;
    uint32_t best_us; /* 0: no try succeeded yet */
    struct gw_probes *ps;
};

struct gw_probes {
    struct st_loop *loop;
    struct gw_probe_one one[GW_PROBE_MAX];
    size_t n;              /* targets of the running round; 0: none runs */
    size_t pending;        /* connects of the current try still open */
    unsigned tries;        /* tries finished */
    struct st_timer timer; /* a try's timeout, the gap to the next */
    gw_probe_result_cb result;
    gw_probe_done_cb done;
    void *arg;
};

void gw_probes_init(struct gw_probes *ps, struct st_loop *loop, gw_probe_result_cb result,
                    gw_probe_done_cb done, void *arg);
/* Starts a round over t[0..min(n, GW_PROBE_MAX)); a round still running is abandoned first
 * (without callbacks). Results and done arrive from the loop, never from this call. */
void gw_probes_start(struct gw_probes *ps, const struct gw_edge_target *t, size_t n);
/* Ends a running round without callbacks. */
void gw_probes_stop(struct gw_probes *ps);

#endif
