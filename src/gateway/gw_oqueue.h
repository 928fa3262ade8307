#ifndef SUBTUNNEL_GW_OQUEUE_H
#define SUBTUNNEL_GW_OQUEUE_H

/* Admission of ingress requests to their origin connections, per origin (address, port and
 * TLS identity: a "group"). A group counts the connections being opened (gw_origin.h says
 * until when), the open ones and the idle ones among them, and keeps a FIFO of requests
 * waiting for a connection. A request takes an idle connection, else opens one while fewer
 * than max-connecting are being opened, else waits (at most max-queued per group). A group
 * whose waiters may go on is "woken" once; the owner serves the woken groups on its loop. A
 * group is "strict" for a while after one of its new connections stalled (see
 * gw_oqueue_stalled). Pure bookkeeping (no lwIP, no clock of its own, no logging): gw_origin
 * acts on what it says. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GW_OQUEUE_KEY_MAX 300 /* TLS identity ("" plain; see gw_origin.c tls_key) */

struct gw_ogroup;
struct gw_origin;

/* A request's place in a queue, embedded in the request; zeroed: not queued. */
struct gw_owaiter {
    struct gw_owaiter *next, *prev;
    struct gw_ogroup *group; /* the queue it waits in; NULL when not queued */
};

struct gw_ogroup {
    struct gw_ogroup *next, *prev; /* every group of the set */
    struct gw_ogroup *wake_next;   /* woken groups, in order */
    bool woken;
    unsigned pins;    /* a woken group is served while pinned: not freed under its server */
    int family;       /* AF_INET or AF_INET6 */
    uint8_t addr[16]; /* network order; IPv4 in addr[0..4), the rest zero */
    uint16_t port;
    char key[GW_OQUEUE_KEY_MAX];
    size_t connecting;           /* being opened */
    size_t open;                 /* opened and not closed yet: busy or idle */
    size_t idle;                 /* of the open ones, waiting in the pool (idle_head) */
    struct gw_origin *idle_head; /* the pool itself: kept by gw_origin, never read here */
    struct gw_owaiter *head, *tail;
    size_t waiting;
    uint64_t strict_until; /* loop ms; 0: not strict */
};

struct gw_oqueue {
    struct gw_ogroup *groups;
    struct gw_ogroup *wake_head, *wake_tail;
    size_t n_groups, n_woken, waiting; /* waiting: over all groups */
};

enum gw_oqueue_act {
    GW_OQUEUE_WAIT,    /* wait in the queue */
    GW_OQUEUE_IDLE,    /* take an idle connection */
    GW_OQUEUE_CONNECT, /* open a new connection */
};

void gw_oqueue_init(struct gw_oqueue *q);
/* Frees every group; waiters still queued are only unlinked (exit). */
void gw_oqueue_fini(struct gw_oqueue *q);
/* The group of (family, addr (16 bytes, IPv4 in the first 4, rest zero), port, key); made (counts
 * zero) when missing and `create`. NULL: none (or out of memory). A group lives while it counts a
 * connection or a waiter, is woken, pinned or strict (a strict period is forgotten at the group's
 * next use after its end): callers hand it back with gw_oqueue_release after a change that may
 * empty it. */
struct gw_ogroup *gw_oqueue_group(struct gw_oqueue *q, int family, const uint8_t addr[16],
                                  uint16_t port, const char *key, bool create);
/* Frees g if nothing holds it any more (see gw_oqueue_group). */
void gw_oqueue_release(struct gw_oqueue *q, struct gw_ogroup *g);

/* What a request for g may do now. A new request (head false) waits behind any request
 * already waiting; the head of the queue (head true) is not held back by itself. Idle
 * connections are offered only when reuse is allowed. */
enum gw_oqueue_act gw_oqueue_admit(const struct gw_ogroup *g, bool head, bool reuse,
                                   size_t max_connecting);
/* Queues w at the tail; -ENOSPC when `max` requests wait already (max 0: no queue). With
 * `front` it goes to the head whatever the limit: a request that waited already and must
 * open a connection again. */
int gw_oqueue_push(struct gw_oqueue *q, struct gw_ogroup *g, struct gw_owaiter *w, size_t max,
                   bool front);
/* Takes the first waiter of g off the queue (NULL when none). The group is not released. */
struct gw_owaiter *gw_oqueue_pop(struct gw_oqueue *q, struct gw_ogroup *g);
/* Takes w off its queue (nothing when it is not queued) and releases its group. */
void gw_oqueue_remove(struct gw_oqueue *q, struct gw_owaiter *w);
static inline bool gw_oqueue_queued(const struct gw_owaiter *w)
{
    return w->group != NULL;
}

/* Connection counts. A slot for a new connection freed (opened, or closed while being
 * opened) or a connection parked idle wakes the group when requests wait. */
void gw_oqueue_opening(struct gw_ogroup *g);
void gw_oqueue_opened(struct gw_oqueue *q, struct gw_ogroup *g);
/* A connection of g closed: `open` says it was counted open (else: being opened). Releases
 * g. */
void gw_oqueue_closed(struct gw_oqueue *q, struct gw_ogroup *g, bool open);
/* An open connection of g parked idle / taken out of the pool (reused or closed). */
void gw_oqueue_parked(struct gw_oqueue *q, struct gw_ogroup *g);
void gw_oqueue_unparked(struct gw_ogroup *g);

/* A new connection of g was not taken by the origin in time: most likely the origin's
 * listen queue is full because it accepts connections more slowly than they are opened.
 * Until `until` (loop ms) g is strict. True when it was not strict at `now`. */
bool gw_oqueue_stalled(struct gw_ogroup *g, uint64_t now, uint64_t until);
/* Whether g is strict at `now` (forgets a period that ended). */
bool gw_oqueue_strict(struct gw_ogroup *g, uint64_t now);

/* Marks g to be served (once until it is taken by gw_oqueue_next_woken). */
void gw_oqueue_wake(struct gw_oqueue *q, struct gw_ogroup *g);
/* The first woken group, pinned (NULL when none): serve it, then gw_oqueue_unpin. */
struct gw_ogroup *gw_oqueue_next_woken(struct gw_oqueue *q);
/* Groups woken now (an upper bound for one round: groups served may wake others again). */
size_t gw_oqueue_woken(const struct gw_oqueue *q);
void gw_oqueue_unpin(struct gw_oqueue *q, struct gw_ogroup *g);

#endif
