#ifndef SUBTUNNEL_ST_DRAIN_H
#define SUBTUNNEL_ST_DRAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "st_loop.h"

/* Graceful shutdown shared by both daemons. The first SIGTERM/SIGINT calls start() (stop
 * taking new work), then busy() is polled until it returns 0 or the grace period ends,
 * and the loop stops; a second signal stops it at once. SIGHUP calls reload() (ignored
 * while draining); SIGUSR1 calls stats() when it is set. */

#define ST_DRAIN_GRACE_MS 30000 /* default grace-period: open work may finish within it */
#define ST_DRAIN_CHECK_MS 100   /* how often a draining daemon checks for idleness */

struct st_drain {
    struct st_loop *loop;
    struct st_timer timer;
    uint64_t deadline;
    bool draining;
    uint64_t grace_ms;                    /* grace-period; 0 exits as soon as start() ran */
    void (*start)(void *data, int signo); /* logs why and stops new work */
    size_t (*busy)(void *data);           /* work left; 0 ends the drain */
    void (*reload)(void *data);           /* SIGHUP: re-read the configuration */
    void (*stats)(void *data);            /* SIGUSR1: log counters (optional) */
    const char *idle_msg;                 /* logged when busy() reaches 0 */
    const char *busy_what;                /* e.g. "flows open" */
    void *data;
};

/* Blocks SIGTERM, SIGINT and SIGHUP and routes them to d through the loop's signalfd.
 * d's callbacks and messages must be set. 0 or -errno. */
int st_drain_install(struct st_drain *d, struct st_loop *loop);

#endif
