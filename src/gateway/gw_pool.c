#include "gw_pool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_conn.h"
#include "gw_dns.h"
#include "gw_guard.h"
#include "gw_origin.h"
#include "gw_server.h"
#include "gw_svc.h"
#include "st_log.h"

#define POOL_TICK_MS 500
#define RETIRE_WAIT_MS 10000  /* a replaced connection drains at the latest after this */
#define RETIRE_LINGER_MS 1000 /* and closes once idle this long after its UNREGISTER */
#define RESOLVE_GAP_MS 2000   /* connection failures re-resolve at most this often */
#define RESOLVE_RETRY_MS 5000 /* after a failed resolution */
#define REFRESH_MIN_MS 2000   /* TTL-driven re-resolution is clamped to this range */
#define REFRESH_MAX_MS 300000
#define SRV_PREFIX "_subtunnel._tcp."
#define PROBE_INTERVAL_MS 300000 /* the edges' round trips are measured again this often */

static void log_stats(struct gw_server *gw);

static bool same_addr(const struct st_sockaddr *a, const struct st_sockaddr *b)
{
    return a->len == b->len && memcmp(&a->ss, &b->ss, a->len) == 0;
}

static void retire(struct gw_server *gw, struct gw_conn *c, bool wait)
{
    gw_conn_stop(c);
    c->retire_deadline = st_loop_now(&gw->loop) + (wait ? RETIRE_WAIT_MS : 0);
    c->next_retired = gw->retired;
    gw->retired = c;
    if (!wait)
        gw_conn_drain(c);
}

/* A current connection of the same role and edge that no new slot has taken yet: a
 * registered one first, then one that is (re)connecting; never a stopped one. */
static struct gw_conn *claim(struct gw_conn **old, size_t n_old, bool reach,
                             const struct gw_edge_target *t)
{
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < n_old; i++) {
            struct gw_conn *c = old[i];
            if (c && !c->stopped && c->reach == reach && (pass || c->registered) &&
                same_addr(&c->target.addr, &t->addr)) {
                old[i] = NULL;
                return c;
            }
        }
    }
    return NULL;
}

/* A current connection of the same role and edge is registered. */
static bool replacement_up(const struct gw_server *gw, const struct gw_conn *old)
{
    for (size_t i = 0; i < gw->n_conns; i++) {
        const struct gw_conn *c = gw->conns[i];
        if (c->registered && c->reach == old->reach &&
            same_addr(&c->target.addr, &old->target.addr))
            return true;
    }
    return false;
}

/* A connection created by this rebuild (not yet registered) dials the same edge. */
static bool replaced(struct gw_conn **conns, size_t n, const struct gw_conn *old)
{
    for (size_t i = 0; i < n; i++)
        if (!conns[i]->registered && conns[i]->reach == old->reach &&
            same_addr(&conns[i]->target.addr, &old->target.addr))
            return true;
    return false;
}

/* Builds the slots for gw->targets; keeps matching connections unless `fresh`. */
static void rebuild(struct gw_server *gw, bool fresh)
{
    size_t n = gw->n_active, ha = (size_t)gw->cfg.ha_connections;
    size_t n_reach = gw->cfg.reach ? (size_t)gw->cfg.reach_connections : 0;
    size_t *slot = calloc(n > ha ? n : ha, sizeof(*slot));
    struct gw_edge_target *sub = calloc(n ? n : 1, sizeof(*sub)); /* the edges dialled */
    for (size_t i = 0; sub && i < n; i++)
        sub[i] = gw->targets[gw->active[i]];
    size_t n_tunnel = slot && sub ? gw_edges_assign(sub, n, (unsigned)ha, slot) : 0;
    size_t total = n ? n_tunnel + n_reach : 0;
    struct gw_conn **conns = calloc(total ? total : 1, sizeof(*conns));
    if (!slot || !conns || !sub) {
        st_err("edge connections: out of memory; keeping the current ones");
        free(slot);
        free(conns);
        free(sub);
        return;
    }
    size_t k = 0;
    for (size_t i = 0; i < total; i++) {
        bool reach = i >= n_tunnel;
        const struct gw_edge_target *t = &sub[reach ? (i - n_tunnel) % n : slot[i]];
        struct gw_conn *c = fresh ? NULL : claim(gw->conns, gw->n_conns, reach, t);
        if (c)
            c->index = (unsigned)k;
        else
            c = gw_conn_new(gw, (unsigned)k, reach, t); /* NULL on ENOMEM: slot left out */
        if (c)
            conns[k++] = c;
    }
    for (size_t i = 0; i < gw->n_conns; i++)
        if (gw->conns[i])
            retire(gw, gw->conns[i], replaced(conns, k, gw->conns[i]));
    free(gw->conns);
    gw->conns = conns;
    gw->n_conns = k;
    free(slot);
    free(sub);
}

/* How many edges to dial: edge-count out of a fleet, every edge of one that works alone. */
static size_t dial_count(const struct gw_server *gw)
{
    return gw->edges_alone ? gw->n_targets : (size_t)gw->cfg.edge_count;
}

static bool choosing(const struct gw_server *gw)
{
    return gw->n_targets > dial_count(gw);
}

/* Chooses the edges to dial (gw_edges_select) into gw->active; true if they changed. */
static bool choose(struct gw_server *gw)
{
    size_t n = gw->n_targets, *pick = calloc(n ? n : 1, sizeof(*pick));
    if (!pick)
        return false; /* out of memory: the current choice stays */
    size_t m = gw_edges_select(gw->targets, gw->tstate, n, (unsigned)dial_count(gw),
                               st_loop_now(&gw->loop), pick);
    bool same = m == gw->n_active && (!m || memcmp(pick, gw->active, m * sizeof(*pick)) == 0);
    free(gw->active);
    gw->active = pick;
    gw->n_active = m;
    for (size_t i = 0; i < n; i++)
        gw->tstate[i].chosen = false;
    for (size_t i = 0; i < m; i++)
        gw->tstate[pick[i]].chosen = true;
    if (!same && choosing(gw)) {
        char list[512] = "";
        size_t off = 0;
        for (size_t i = 0; i < m && off < sizeof(list) - 100; i++) {
            const struct gw_edge_target *t = &gw->targets[pick[i]];
            char a[64];
            st_sockaddr_format(&t->addr, a, sizeof(a));
            char rtt[48] = "round trip not measured";
            if (gw->tstate[pick[i]].rtt_us)
                snprintf(rtt, sizeof(rtt), "round trip %.2f ms",
                         gw->tstate[pick[i]].rtt_us / 1000.0);
            off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s (%s, priority %u)",
                                    i ? ", " : "", a, rtt, t->priority);
        }
        st_info("edges chosen: %zu of %zu (edge-count %d): %s", m, n, gw->cfg.edge_count, list);
    }
    return !same;
}

static void reselect(struct st_defer *d)
{
    struct gw_server *gw = d->data;
    if (!gw->drain.draining && choose(gw))
        rebuild(gw, false);
}

static size_t target_of(const struct gw_server *gw, const struct st_sockaddr *a)
{
    for (size_t i = 0; i < gw->n_targets; i++)
        if (same_addr(&gw->targets[i].addr, a))
            return i;
    return SIZE_MAX;
}

static void on_probe(void *arg, const struct st_sockaddr *addr, uint32_t rtt_us)
{
    struct gw_server *gw = arg;
    size_t i = target_of(gw, addr);
    if (i == SIZE_MAX)
        return; /* no longer a target */
    gw->tstate[i].rtt_us = rtt_us;
    if (!rtt_us) { /* cannot connect: passed over for a while (the failure count stays) */
        char a[64];
        st_sockaddr_format(addr, a, sizeof(a));
        st_warn("edge %s: round-trip probe failed: passed over for %d s", a,
                GW_EDGES_DOWN_FIRST_MS / 1000);
        gw->tstate[i].down_until = st_loop_now(&gw->loop) + GW_EDGES_DOWN_FIRST_MS;
    }
}

static void on_probes_done(void *arg)
{
    struct gw_server *gw = arg;
    char list[512] = "";
    size_t off = 0;
    for (size_t i = 0; i < gw->n_targets && off < sizeof(list) - 80; i++) {
        char a[64];
        st_sockaddr_format(&gw->targets[i].addr, a, sizeof(a));
        if (gw->tstate[i].rtt_us)
            off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s %.2f ms", i ? ", " : "",
                                    a, gw->tstate[i].rtt_us / 1000.0);
        else
            off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s %s", i ? ", " : "", a,
                                    i < GW_PROBE_MAX ? "failed" : "not probed");
    }
    st_info("edge round trips: %s", list);
    st_defer_queue(&gw->loop, &gw->reselect);
}

static void probe(struct gw_server *gw)
{
    gw->next_probe = st_loop_now(&gw->loop) + PROBE_INTERVAL_MS;
    if (choosing(gw) && !gw->drain.draining)
        gw_probes_start(&gw->probes, gw->targets, gw->n_targets);
}

static bool same_targets(const struct gw_server *gw, const struct gw_edge_target *t, size_t n)
{
    if (n != gw->n_targets)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!same_addr(&t[i].addr, &gw->targets[i].addr) ||
            t[i].priority != gw->targets[i].priority || t[i].weight != gw->targets[i].weight)
            return false;
    return true;
}

static void set_targets(struct gw_server *gw, const struct gw_edge_target *t, size_t n, bool fresh)
{
    struct gw_edge_target *copy = calloc(n ? n : 1, sizeof(*copy));
    if (!copy) {
        st_err("edge list: out of memory; keeping the current one");
        return;
    }
    memcpy(copy, t, n * sizeof(*t));
    n = gw_edges_sort(copy, n);
    struct gw_edge_state *state = calloc(n ? n : 1, sizeof(*state));
    if (!state) {
        st_err("edge list: out of memory; keeping the current one");
        free(copy);
        return;
    }
    for (size_t i = 0; i < n; i++) { /* what was learned of an edge stays with its address */
        size_t old = target_of(gw, &copy[i].addr);
        if (old != SIZE_MAX)
            state[i] = gw->tstate[old];
    }
    free(gw->targets);
    free(gw->tstate);
    gw->targets = copy;
    gw->tstate = state;
    gw->n_targets = n;
    char list[512] = "";
    size_t off = 0;
    for (size_t i = 0; i < n && off < sizeof(list) - 80; i++) {
        char a[64];
        st_sockaddr_format(&copy[i].addr, a, sizeof(a));
        off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s (%s, priority %u weight %u)",
                                i ? ", " : "", a, copy[i].name, copy[i].priority, copy[i].weight);
    }
    st_info("edges: %zu: %s", n, list);
    choose(gw);
    rebuild(gw, fresh);
    log_stats(gw);
    probe(gw);         /* the new list's round trips (when there is a choice) */
    gw_reach_sync(gw); /* a reach route containing a new edge address goes now */
}

static void resolve(struct gw_server *gw);

static void on_dns(void *arg, int status, const struct gw_edge_target *t, size_t n, uint32_t ttl_s,
                   const char *err)
{
    struct gw_server *gw = arg;
    uint64_t now = st_loop_now(&gw->loop);
    if (gw->drain.draining)
        return;
    if (status < 0 || n == 0) {
        st_warn("edge discovery: %s; %s", err ? err : "no edge",
                gw->n_targets ? "keeping the known edges" : "no edge to connect to yet");
        gw->next_resolve = now + RESOLVE_RETRY_MS;
        return;
    }
    uint64_t refresh = (uint64_t)ttl_s * 1000;
    refresh = refresh < REFRESH_MIN_MS ? REFRESH_MIN_MS : refresh;
    gw->next_resolve = now + (refresh > REFRESH_MAX_MS ? REFRESH_MAX_MS : refresh);
    if (!same_targets(gw, t, n)) /* gw_dns delivers them sorted and without duplicates */
        set_targets(gw, t, n, false);
}

static void resolve(struct gw_server *gw)
{
    char name[300];
    if (!gw->dns || gw_dns_busy(gw->dns) || gw->drain.draining)
        return;
    snprintf(name, sizeof(name), SRV_PREFIX "%s", gw->cfg.edge_srv);
    gw->last_resolve = st_loop_now(&gw->loop);
    gw->next_resolve = gw->last_resolve + RESOLVE_RETRY_MS; /* until the answer says more */
    st_debug("edge discovery: resolving %s", name);
    if (gw_dns_resolve(gw->dns, name, on_dns, gw) < 0)
        st_warn("edge discovery: cannot start resolving %s", name);
}

static bool reapable(struct gw_server *gw, const struct gw_conn *c)
{
    return c->drained && st_loop_now(&gw->loop) >= c->drained_at + RETIRE_LINGER_MS &&
           gw_conn_idle((struct gw_conn *)c);
}

/* Frees idle retired connections. Deferred: an fd or timer callback must not free
 * objects that may own events later in the same epoll batch. */
static void reap(struct st_defer *d)
{
    struct gw_server *gw = d->data;
    bool offers = false;
    for (struct gw_conn **p = &gw->retired; *p;) {
        struct gw_conn *c = *p;
        if (reapable(gw, c)) {
            *p = c->next_retired;
            st_debug("edge connection to %s retired", c->edge);
            offers |= c->reach_offer.set;
            gw_conn_free(c);
            continue;
        }
        p = &c->next_retired;
    }
    if (offers) /* their ROUTES no longer count */
        gw_reach_sync(gw);
}

/* A registered connection that has used up most of its stream ids (one per flow, never
 * reused) is replaced by a new one to the same edge before it runs out; it drains like any
 * replaced connection once the new one has registered. */
static void renew_spent(struct gw_server *gw)
{
    for (size_t i = 0; i < gw->n_conns; i++) {
        struct gw_conn *c = gw->conns[i];
        if (!c->registered || st_h2conn_ids_used(&c->h2) < ST_H2CONN_IDS_RENEW)
            continue;
        struct gw_conn *n = gw_conn_new(gw, c->index, c->reach, &c->target);
        if (!n)
            continue; /* out of memory: the next tick tries again */
        st_info("edge connection %u to %s: %u of 2^31 stream ids used: replacing it", c->index,
                c->edge, st_h2conn_ids_used(&c->h2));
        gw->conns[i] = n;
        retire(gw, c, true);
    }
}

static void on_tick(struct st_timer *tm)
{
    struct gw_server *gw = tm->data;
    uint64_t now = st_loop_now(&gw->loop);
    renew_spent(gw);
    for (struct gw_conn *c = gw->retired; c; c = c->next_retired) {
        if (!c->drained && now >= c->retire_deadline) {
            /* Keep a registered connection while its replacement is refused or down. */
            if (!c->registered || replacement_up(gw, c)) {
                gw_conn_drain(c);
            } else if (!c->kept) {
                c->kept = true;
                st_warn("edge connection to %s: no replacement registered after %d s; keeping "
                        "the old connection until one does",
                        c->edge, RETIRE_WAIT_MS / 1000);
            }
        }
        if (reapable(gw, c))
            st_defer_queue(&gw->loop, &gw->reap);
    }
    if (gw->dns && now >= gw->next_resolve)
        resolve(gw);
    if (now >= gw->next_probe)
        probe(gw);
    st_log_limit_flush(&gw->ingress_log, ST_LOG_WARN, st_log_now_ms()); /* gw_web's refusals */
    gw_guard_flush_log(gw);
    st_timer_start(tm, POOL_TICK_MS);
}

/* Runs in the SIGHUP (signal fd) callback and may one day run in the resolver's own
 * result callback: gw_dns_free is safe from both (its result is not delivered after this;
 * its memory outlives the current I/O batch). */
static void retire_dns(struct gw_server *gw)
{
    gw_dns_free(gw->dns);
    gw->dns = NULL;
}

static int use_static(struct gw_server *gw, bool fresh)
{
    size_t n = gw->cfg.n_edges;
    struct gw_edge_target *t = calloc(n, sizeof(*t));
    if (!t)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        t[i].addr = gw->cfg.edges[i];
        t[i].weight = 1;
        st_sockaddr_format(&t[i].addr, t[i].name, sizeof(t[i].name));
    }
    retire_dns(gw);
    set_targets(gw, t, n, fresh);
    free(t);
    return 0;
}

static int use_srv(struct gw_server *gw)
{
    char err[256];
    struct gw_dns *dns =
        gw_dns_new(&gw->loop, gw->cfg.resolvers, gw->cfg.n_resolvers, err, sizeof(err));
    if (!dns) {
        st_err("edge discovery: %s%s", err, gw->dns ? "; keeping the previous resolver" : "");
        return -EINVAL;
    }
    retire_dns(gw);
    gw->dns = dns;
    st_info("edge discovery: DNS SRV " SRV_PREFIX "%s", gw->cfg.edge_srv);
    resolve(gw);
    return 0;
}

int gw_pool_start(struct gw_server *gw)
{
    st_timer_init(&gw->pool_timer, &gw->loop, on_tick, gw);
    st_defer_init(&gw->reap, reap, gw);
    st_defer_init(&gw->reselect, reselect, gw);
    gw_probes_init(&gw->probes, &gw->loop, on_probe, on_probes_done, gw);
    st_timer_start(&gw->pool_timer, POOL_TICK_MS);
    return gw->cfg.edge_srv ? use_srv(gw) : use_static(gw, false);
}

void gw_pool_reconfigure(struct gw_server *gw, bool fresh)
{
    if (!gw->cfg.edge_srv) {
        use_static(gw, fresh);
        return;
    }
    use_srv(gw);         /* a failure keeps the previous resolver */
    if (gw->n_targets) { /* the known edges until the answer: connection counts, identity */
        choose(gw);
        rebuild(gw, fresh);
    }
}

void gw_pool_replace_all(struct gw_server *gw)
{
    rebuild(gw, true);
}

void gw_pool_drain(struct gw_server *gw)
{
    for (size_t i = 0; i < gw->n_conns; i++)
        gw_conn_drain(gw->conns[i]);
    for (struct gw_conn *c = gw->retired; c; c = c->next_retired)
        gw_conn_drain(c);
}

size_t gw_pool_busy(struct gw_server *gw)
{
    size_t busy = 0;
    for (size_t i = 0; i < gw->n_conns; i++)
        busy += !gw_conn_idle(gw->conns[i]);
    for (struct gw_conn *c = gw->retired; c; c = c->next_retired)
        busy += !gw_conn_idle(c);
    return busy;
}

void gw_pool_stats(struct gw_server *gw, size_t *registered, size_t *edges)
{
    *registered = *edges = 0;
    for (size_t i = 0; i < gw->n_conns; i++) {
        struct gw_conn *c = gw->conns[i];
        if (c->reach || !c->registered)
            continue;
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = !gw->conns[j]->reach && gw->conns[j]->registered &&
                   same_addr(&gw->conns[j]->target.addr, &c->target.addr);
        (*registered)++;
        *edges += !seen;
    }
}

static void log_stats(struct gw_server *gw)
{
    size_t reg, edges, tunnels = 0;
    for (size_t i = 0; i < gw->n_conns; i++)
        tunnels += !gw->conns[i]->reach;
    gw_pool_stats(gw, &reg, &edges);
    st_info("tunnel connections: %zu of %zu registered, on %zu of %zu edges", reg, tunnels, edges,
            gw->n_targets);
}

bool gw_pool_refused(struct gw_server *gw)
{
    for (size_t i = 0; i < gw->n_conns; i++)
        if (gw->conns[i]->refusals)
            return true;
    return false;
}

void gw_pool_on_registered(struct gw_server *gw, struct gw_conn *c)
{
    if (c->stopped) /* a retired connection that finished its handshake late */
        return;
    gw_svc_registered(gw);
    size_t ti = target_of(gw, &c->target.addr);
    if (ti != SIZE_MAX)
        gw->tstate[ti].fails = 0, gw->tstate[ti].down_until = 0;
    for (struct gw_conn *r = gw->retired; r; r = r->next_retired)
        if (!r->drained && r->reach == c->reach && same_addr(&r->target.addr, &c->target.addr))
            gw_conn_drain(r);
    if (!c->reach)
        log_stats(gw);
}

void gw_pool_on_conn_failed(struct gw_server *gw)
{
    if (gw->drain.draining)
        return;
    log_stats(gw);
    if (gw->dns && st_loop_now(&gw->loop) >= gw->last_resolve + RESOLVE_GAP_MS)
        resolve(gw);
}

void gw_pool_edge_alone(struct gw_server *gw, const struct gw_conn *c)
{
    if (gw->edges_alone)
        return;
    gw->edges_alone = true;
    if (!choosing(gw) && gw->n_active == gw->n_targets)
        return; /* every listed edge is dialled already */
    st_warn("edge %s works alone (no registry): dialling every listed edge (%zu), not "
            "edge-count %d",
            c->edge, gw->n_targets, gw->cfg.edge_count);
    st_defer_queue(&gw->loop, &gw->reselect);
}

void gw_pool_edge_failed(struct gw_server *gw, const struct gw_conn *c)
{
    size_t i = target_of(gw, &c->target.addr);
    if (c->reach || c->stopped || gw->drain.draining || i == SIZE_MAX || !choosing(gw))
        return;
    /* the loss and one more failed dial, or a refusal (draining edge, unknown tunnel) */
    if (c->attempts < 2 && !c->refusals)
        return;
    struct gw_edge_state *st = &gw->tstate[i];
    uint64_t now = st_loop_now(&gw->loop);
    if (st->down_until > now)
        return;
    st->down_until = now + gw_edges_down_ms(++st->fails);
    st_warn("edge %s failed (%u attempts): passed over for %llu s for another edge", c->edge,
            c->attempts, (unsigned long long)((st->down_until - now) / 1000));
    st_defer_queue(&gw->loop, &gw->reselect);
}

void gw_pool_fini(struct gw_server *gw)
{
    st_timer_stop(&gw->pool_timer);
    st_defer_cancel(&gw->loop, &gw->reap);
    st_defer_cancel(&gw->loop, &gw->reselect);
    gw_probes_stop(&gw->probes);
    for (size_t i = 0; i < gw->n_conns; i++)
        gw_conn_free(gw->conns[i]);
    while (gw->retired) {
        struct gw_conn *c = gw->retired;
        gw->retired = c->next_retired;
        gw_conn_free(c);
    }
    free(gw->conns);
    gw->conns = NULL;
    gw->n_conns = 0;
    gw_dns_free(gw->dns);
    gw->dns = NULL;
    free(gw->targets);
    gw->targets = NULL;
    free(gw->tstate);
    gw->tstate = NULL;
    free(gw->active);
    gw->active = NULL;
    gw->n_targets = gw->n_active = 0;
    gw_origin_close_idle(gw);
}
