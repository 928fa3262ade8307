#include "gw_oqueue.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gw_oqueue_init(struct gw_oqueue *q)
{
    memset(q, 0, sizeof(*q));
}

static void unlink_group(struct gw_oqueue *q, struct gw_ogroup *g)
{
    if (g->prev)
        g->prev->next = g->next;
    else
        q->groups = g->next;
    if (g->next)
        g->next->prev = g->prev;
    q->n_groups--;
}

void gw_oqueue_fini(struct gw_oqueue *q)
{
    for (struct gw_ogroup *g = q->groups, *gnext; g; g = gnext) {
        gnext = g->next;
        for (struct gw_owaiter *w = g->head, *next; w; w = next) {
            next = w->next;
            w->next = w->prev = NULL;
            w->group = NULL;
        }
        free(g);
    }
    memset(q, 0, sizeof(*q));
}

struct gw_ogroup *gw_oqueue_group(struct gw_oqueue *q, int family, const uint8_t addr[16],
                                  uint16_t port, const char *key, bool create)
{
    struct gw_ogroup *g;

    for (g = q->groups; g; g = g->next)
        if (g->family == family && memcmp(g->addr, addr, sizeof(g->addr)) == 0 && g->port == port &&
            strcmp(g->key, key) == 0)
            return g;
    if (!create || !(g = calloc(1, sizeof(*g))))
        return NULL;
    g->family = family;
    memcpy(g->addr, addr, sizeof(g->addr));
    g->port = port;
    snprintf(g->key, sizeof(g->key), "%s", key);
    g->next = q->groups;
    if (g->next)
        g->next->prev = g;
    q->groups = g;
    q->n_groups++;
    return g;
}

void gw_oqueue_release(struct gw_oqueue *q, struct gw_ogroup *g)
{
    if (!g || g->connecting || g->open || g->waiting || g->woken || g->pins || g->strict_until)
        return;
    unlink_group(q, g);
    free(g);
}

enum gw_oqueue_act gw_oqueue_admit(const struct gw_ogroup *g, bool head, bool reuse,
                                   size_t max_connecting)
{
    if (!head && g->waiting)
        return GW_OQUEUE_WAIT; /* first come, first served */
    if (reuse && g->idle)
        return GW_OQUEUE_IDLE;
    return g->connecting < max_connecting ? GW_OQUEUE_CONNECT : GW_OQUEUE_WAIT;
}

int gw_oqueue_push(struct gw_oqueue *q, struct gw_ogroup *g, struct gw_owaiter *w, size_t max,
                   bool front)
{
    if (!front && g->waiting >= max)
        return -ENOSPC;
    w->group = g;
    if (front) {
        w->prev = NULL;
        w->next = g->head;
        if (g->head)
            g->head->prev = w;
        else
            g->tail = w;
        g->head = w;
    } else {
        w->next = NULL;
        w->prev = g->tail;
        if (g->tail)
            g->tail->next = w;
        else
            g->head = w;
        g->tail = w;
    }
    g->waiting++;
    q->waiting++;
    return 0;
}

static void unlink_waiter(struct gw_oqueue *q, struct gw_owaiter *w)
{
    struct gw_ogroup *g = w->group;
    if (w->prev)
        w->prev->next = w->next;
    else
        g->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        g->tail = w->prev;
    w->next = w->prev = NULL;
    w->group = NULL;
    g->waiting--;
    q->waiting--;
}

struct gw_owaiter *gw_oqueue_pop(struct gw_oqueue *q, struct gw_ogroup *g)
{
    struct gw_owaiter *w = g->head;
    if (w)
        unlink_waiter(q, w);
    return w;
}

void gw_oqueue_remove(struct gw_oqueue *q, struct gw_owaiter *w)
{
    struct gw_ogroup *g = w->group;
    if (!g)
        return;
    unlink_waiter(q, w);
    gw_oqueue_release(q, g);
}

void gw_oqueue_opening(struct gw_ogroup *g)
{
    g->connecting++;
}

void gw_oqueue_opened(struct gw_oqueue *q, struct gw_ogroup *g)
{
    g->connecting--;
    g->open++;
    if (g->waiting)
        gw_oqueue_wake(q, g);
}

void gw_oqueue_closed(struct gw_oqueue *q, struct gw_ogroup *g, bool open)
{
    if (open) {
        g->open--;
    } else {
        g->connecting--;
        if (g->waiting)
            gw_oqueue_wake(q, g);
    }
    gw_oqueue_release(q, g);
}

void gw_oqueue_parked(struct gw_oqueue *q, struct gw_ogroup *g)
{
    g->idle++;
    if (g->waiting)
        gw_oqueue_wake(q, g);
}

void gw_oqueue_unparked(struct gw_ogroup *g)
{
    g->idle--;
}

bool gw_oqueue_stalled(struct gw_ogroup *g, uint64_t now, uint64_t until)
{
    bool was = gw_oqueue_strict(g, now);
    if (until > g->strict_until)
        g->strict_until = until;
    return !was;
}

bool gw_oqueue_strict(struct gw_ogroup *g, uint64_t now)
{
    if (g->strict_until && now >= g->strict_until)
        g->strict_until = 0;
    return g->strict_until != 0;
}

void gw_oqueue_wake(struct gw_oqueue *q, struct gw_ogroup *g)
{
    if (g->woken)
        return;
    g->woken = true;
    g->wake_next = NULL;
    if (q->wake_tail)
        q->wake_tail->wake_next = g;
    else
        q->wake_head = g;
    q->wake_tail = g;
    q->n_woken++;
}

struct gw_ogroup *gw_oqueue_next_woken(struct gw_oqueue *q)
{
    struct gw_ogroup *g = q->wake_head;
    if (!g)
        return NULL;
    q->wake_head = g->wake_next;
    if (!q->wake_head)
        q->wake_tail = NULL;
    g->wake_next = NULL;
    g->woken = false;
    g->pins++;
    q->n_woken--;
    return g;
}

size_t gw_oqueue_woken(const struct gw_oqueue *q)
{
    return q->n_woken;
}

void gw_oqueue_unpin(struct gw_oqueue *q, struct gw_ogroup *g)
{
    g->pins--;
    gw_oqueue_release(q, g);
}
