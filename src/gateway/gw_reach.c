#include "gw_reach.h"

#include <arpa/inet.h>
#include <errno.h>
#include <lwip/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_conn.h"
#include "gw_dgram.h"
#include "gw_flow.h"
#include "gw_server.h"
#include "ns_tun.h"
#include "st_log.h"

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
    struct gw_server *gw = arg;
    if (err != ERR_OK || !pcb)
        return ERR_VAL;
    return gw_flow_accept(gw, pcb) < 0 ? ERR_ABRT : ERR_OK;
}

int gw_reach_init(struct gw_server *gw)
{
    struct tcp_pcb *pcb = tcp_new_ip_type(IPADDR_TYPE_ANY); /* IPv4 and IPv6 */
    if (!pcb)
        return -ENOMEM;
    ip_set_option(pcb, SOF_ANYPORT); /* netstack patch: accept SYNs to any address and port */
    struct tcp_pcb *l = tcp_listen(pcb);
    if (!l) {
        tcp_abort(pcb);
        return -ENOMEM;
    }
    tcp_arg(l, gw);
    tcp_accept(l, on_accept);
    gw->reach_listener = l;
    return gw_dgram_reach_init(gw);
}

/* ---- pure decision logic ---- */

#define V4(a, b, c, d, p)                                                                          \
    {                                                                                              \
        .family = AF_INET, .addr = {a, b, c, d}, .prefix = p                                       \
    }

#define V6(a0, a1, p)                                                                              \
    {                                                                                              \
        .family = AF_INET6, .addr = {a0, a1}, .prefix = p                                          \
    }

static const struct st_cidr special[] = {
    V4(0, 0, 0, 0, 8),   V4(127, 0, 0, 0, 8), V4(169, 254, 0, 0, 16), V4(224, 0, 0, 0, 4),
    V4(240, 0, 0, 0, 4), V6(0, 0, 8),         V6(0xfe, 0x80, 10),     V6(0xff, 0, 8),
};
static const char *const special_names[] = {
    "\"this network\"",
    "loopback",
    "link-local",
    "multicast",
    "reserved and broadcast",
    "unspecified, loopback and IPv4-mapped",
    "IPv6 link-local",
    "IPv6 multicast",
};

const struct st_cidr *gw_reach_special(size_t *n)
{
    *n = sizeof(special) / sizeof(special[0]);
    return special;
}

static bool overlap(const struct st_cidr *a, const struct st_cidr *b)
{
    return st_cidr_covers(a, b) || st_cidr_covers(b, a);
}

static bool same(const struct st_cidr *a, const struct st_cidr *b)
{
    return a->family == b->family && a->prefix == b->prefix &&
           memcmp(a->addr, b->addr, a->family == AF_INET ? 4 : 16) == 0;
}

static enum gw_reach_verdict refuse(enum gw_reach_verdict v, size_t i, size_t *which)
{
    if (which)
        *which = i;
    return v;
}

static enum gw_reach_verdict check_hosts(const struct st_cidr *r, const struct gw_reach_guard *g,
                                         size_t *which)
{
    for (size_t i = 0; i < g->n_edges; i++)
        if (st_cidr_contains(r, g->edges[i].family, g->edges[i].addr))
            return refuse(GW_REACH_EDGE, i, which);
    for (size_t i = 0; i < g->n_local; i++)
        if (overlap(r, &g->local[i].net))
            return refuse(GW_REACH_LOCAL, i, which);
    for (size_t i = 0; i < g->n_own; i++)
        if (overlap(r, &g->own[i]))
            return refuse(GW_REACH_OWN, i, which);
    return GW_REACH_OK;
}

enum gw_reach_verdict gw_reach_check(const struct st_cidr *r, const struct gw_reach_guard *g,
                                     size_t *which)
{
    if (r->family != AF_INET && r->family != AF_INET6)
        return refuse(GW_REACH_FAMILY, 0, which);
    if (r->prefix == 0)
        return refuse(GW_REACH_DEFAULT, 0, which);
    size_t floor = r->family == AF_INET ? GW_REACH_MIN_PREFIX : GW_REACH_MIN_PREFIX6;
    if (r->prefix < floor)
        return refuse(GW_REACH_BROAD, floor, which);
    for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++)
        if (overlap(r, &special[i]))
            return refuse(GW_REACH_SPECIAL, i, which);
    return check_hosts(r, g, which);
}

static void fmt_addr(int family, const void *addr, char *buf, size_t len)
{
    if (!inet_ntop(family, addr, buf, (socklen_t)len))
        snprintf(buf, len, "?");
}

int gw_reach_explain(enum gw_reach_verdict v, const struct gw_reach_guard *g, size_t which,
                     char *buf, size_t len)
{
    char a[64] = "?";
    int n;

    switch (v) {
    case GW_REACH_OK:
        n = snprintf(buf, len, "allowed");
        break;
    case GW_REACH_FAMILY:
        n = snprintf(buf, len, "neither IPv4 nor IPv6");
        break;
    case GW_REACH_DEFAULT:
        n = snprintf(buf, len, "a default route would take all of this host's traffic");
        break;
    case GW_REACH_BROAD:
        n = snprintf(buf, len, "shorter than /%zu", which);
        break;
    case GW_REACH_SPECIAL:
        st_cidr_format(&special[which], a, sizeof(a));
        n = snprintf(buf, len, "overlaps %s (%s)", a, special_names[which]);
        break;
    case GW_REACH_EDGE:
        fmt_addr(g->edges[which].family, g->edges[which].addr, a, sizeof(a));
        n = snprintf(buf, len, "contains the edge address %s this gateway dials", a);
        break;
    case GW_REACH_LOCAL:
        fmt_addr(g->local[which].net.family, g->local[which].addr, a, sizeof(a));
        n = snprintf(buf, len, "overlaps %s/%u on %s, a network of this host", a,
                     g->local[which].net.prefix, g->local[which].ifname);
        break;
    case GW_REACH_OWN:
        st_cidr_format(&g->own[which], a, sizeof(a));
        n = snprintf(buf, len, "overlaps %s of this gateway's expose.routes", a);
        break;
    default:
        n = snprintf(buf, len, "refused");
    }
    return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

size_t gw_reach_merge(struct st_cidr *set, size_t n, size_t max, const struct st_cidr *add,
                      size_t n_add, size_t *dropped)
{
    size_t lost = 0;

    for (size_t i = 0; i < n_add; i++) {
        bool dup = false;
        for (size_t j = 0; j < n && !dup; j++)
            dup = same(&set[j], &add[i]);
        if (dup)
            continue;
        if (n < max)
            set[n++] = add[i];
        else
            lost++;
    }
    if (dropped)
        *dropped = lost;
    return n;
}

static void local_set(struct gw_reach_local *l, int family, const void *addr, int prefix,
                      const char *ifname)
{
    size_t len = family == AF_INET ? 4 : 16;
    int max = (int)len * 8;

    memset(l, 0, sizeof(*l));
    l->net.family = family;
    l->net.prefix = (uint8_t)(prefix < 0 ? 0 : prefix > max ? max : prefix);
    memcpy(l->addr, addr, len);
    for (size_t i = 0; i < len; i++) {
        int keep = l->net.prefix - (int)i * 8;
        l->net.addr[i] = l->addr[i] & (keep >= 8 ? 0xff : keep <= 0 ? 0 : 0xff << (8 - keep));
    }
    snprintf(l->ifname, sizeof(l->ifname), "%s", ifname);
}

void gw_reach_local_set(struct gw_reach_local *l, struct in_addr addr, int prefix,
                        const char *ifname)
{
    local_set(l, AF_INET, &addr, prefix, ifname);
}

void gw_reach_local_set6(struct gw_reach_local *l, const struct in6_addr *addr, int prefix,
                         const char *ifname)
{
    local_set(l, AF_INET6, addr, prefix, ifname);
}

/* ---- the kernel's table ---- */

/* The union of the offers of every tunnel connection the gateway holds: current slots
 * and retired ones still draining. A lost connection keeps its offer until it registers
 * again, so an outage does not send the CIDRs to the default route. */
static size_t wanted(const struct gw_server *gw, struct st_cidr *out, size_t *dropped)
{
    size_t n = 0, lost = 0, d;

    for (size_t i = 0; i < gw->n_conns; i++) {
        const struct gw_reach_offer *o = &gw->conns[i]->reach_offer;
        if (o->set) {
            n = gw_reach_merge(out, n, GW_REACH_MAX_ROUTES, o->routes, o->n, &d);
            lost += d;
        }
    }
    for (const struct gw_conn *c = gw->retired; c; c = c->next_retired)
        if (c->reach_offer.set) {
            n = gw_reach_merge(out, n, GW_REACH_MAX_ROUTES, c->reach_offer.routes, c->reach_offer.n,
                               &d);
            lost += d;
        }
    *dropped = lost;
    return n;
}

static void add_edge(struct st_cidr *e, size_t *n, size_t max, const struct st_sockaddr *a)
{
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&a->ss;
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)&a->ss;

    if ((a->ss.ss_family != AF_INET && a->ss.ss_family != AF_INET6) || *n == max)
        return;
    e[*n] = (struct st_cidr){.family = a->ss.ss_family};
    if (a->ss.ss_family == AF_INET) {
        memcpy(e[*n].addr, &s4->sin_addr, 4);
        e[*n].prefix = 32;
    } else {
        memcpy(e[*n].addr, &s6->sin6_addr, 16);
        e[*n].prefix = 128;
    }
    (*n)++;
}

/* The edge addresses: the current targets and those of every connection. Returns the count
 * or -ENOMEM. */
static int edge_addrs(const struct gw_server *gw, struct st_cidr **out)
{
    size_t max = gw->n_targets + gw->n_conns, n = 0;

    for (const struct gw_conn *c = gw->retired; c; c = c->next_retired)
        max++;
    *out = calloc(max ? max : 1, sizeof(**out));
    if (!*out)
        return -ENOMEM;
    for (size_t i = 0; i < gw->n_targets; i++)
        add_edge(*out, &n, max, &gw->targets[i].addr);
    for (size_t i = 0; i < gw->n_conns; i++)
        add_edge(*out, &n, max, &gw->conns[i]->target.addr);
    for (const struct gw_conn *c = gw->retired; c; c = c->next_retired)
        add_edge(*out, &n, max, &c->target.addr);
    return (int)n;
}

/* The host's addresses; -errno when they cannot be read (then nothing changes). */
static int local_addrs(struct gw_reach_local *out)
{
    struct ns_tun_addr *a = calloc(GW_REACH_MAX_LOCAL, sizeof(*a));
    int n;

    if (!a)
        return -ENOMEM;
    n = ns_tun_list_addr(a, GW_REACH_MAX_LOCAL);
    for (int i = 0; i < n; i++)
        local_set(&out[i], a[i].family, a[i].addr, a[i].prefix, a[i].ifname);
    free(a);
    return n;
}

static bool in_set(const struct st_cidr *set, size_t n, const struct st_cidr *c)
{
    for (size_t i = 0; i < n; i++)
        if (same(&set[i], c))
            return true;
    return false;
}

struct sync {
    struct gw_server *gw;
    struct gw_reach_guard guard;
    struct st_cidr *edges;                  /* owned: guard.edges */
    struct st_cidr ok[GW_REACH_MAX_ROUTES]; /* wanted and allowed */
    size_t n_ok;
    struct st_cidr warned[GW_REACH_MAX_ROUTES]; /* refused in this pass */
    size_t n_warned;
};

/* Logs a refusal unless the previous pass did already; remembers it for the next. */
static void refused(struct sync *s, const struct st_cidr *c, const char *why)
{
    struct gw_server *gw = s->gw;
    char txt[64];

    if (!in_set(gw->reach_warned, gw->n_reach_warned, c)) {
        st_cidr_format(c, txt, sizeof(txt));
        st_warn("reach: route %s refused: %s", txt, why);
    }
    if (s->n_warned < GW_REACH_MAX_ROUTES)
        s->warned[s->n_warned++] = *c;
}

static void withdraw_unwanted(struct sync *s)
{
    struct gw_server *gw = s->gw;
    char txt[64];

    for (size_t i = 0; i < gw->n_reach_routes;) {
        struct st_cidr *r = &gw->reach_routes[i];
        if (in_set(s->ok, s->n_ok, r)) {
            i++;
            continue;
        }
        st_cidr_format(r, txt, sizeof(txt));
        int rv = ns_tun_del_route(gw->ifname, r->family, r->addr, r->prefix,
                                  (unsigned)gw->cfg.reach_route_metric);
        if (rv < 0 && rv != -ESRCH) {
            st_err("reach: withdrawing %s from %s: %s (will retry)", txt, gw->ifname,
                   strerror(-rv));
            i++;
            continue;
        }
        st_info("reach: %s withdrawn from %s%s", txt, gw->ifname,
                rv == -ESRCH ? " (it was gone already)" : "");
        *r = gw->reach_routes[--gw->n_reach_routes];
    }
}

static void install_new(struct sync *s)
{
    struct gw_server *gw = s->gw;
    char txt[64], why[128];

    for (size_t i = 0; i < s->n_ok; i++) {
        const struct st_cidr *r = &s->ok[i];
        if (in_set(gw->reach_routes, gw->n_reach_routes, r))
            continue;
        if (gw->n_reach_routes == GW_REACH_MAX_ROUTES) { /* withdrawals failing meanwhile */
            snprintf(why, sizeof(why), "%d routes are installed already", GW_REACH_MAX_ROUTES);
            refused(s, r, why);
            continue;
        }
        unsigned metric = (unsigned)gw->cfg.reach_route_metric;
        int rv = ns_tun_add_route(gw->ifname, r->family, r->addr, r->prefix, metric);
        if (rv == -EEXIST) {
            snprintf(why, sizeof(why), "the main table has it already with metric %u", metric);
            refused(s, r, why);
            continue;
        }
        if (rv < 0) {
            snprintf(why, sizeof(why), "adding it via %s: %s", gw->ifname, strerror(-rv));
            refused(s, r, why);
            continue;
        }
        gw->reach_routes[gw->n_reach_routes++] = *r;
        st_cidr_format(r, txt, sizeof(txt));
        st_info("reach: %s routed into %s (metric %u)", txt, gw->ifname, metric);
    }
}

/* Splits the wanted CIDRs into s->ok and logged refusals. */
static void decide(struct sync *s, const struct st_cidr *want, size_t n)
{
    char why[160];
    size_t which;

    for (size_t i = 0; i < n; i++) {
        enum gw_reach_verdict v = gw_reach_check(&want[i], &s->guard, &which);
        if (v == GW_REACH_OK) {
            s->ok[s->n_ok++] = want[i];
            continue;
        }
        gw_reach_explain(v, &s->guard, which, why, sizeof(why));
        refused(s, &want[i], why);
    }
}

/* The host's addresses and the edges into s->guard; 0 or -errno (logged). */
static int load_guard(struct sync *s, struct gw_reach_local *local)
{
    int n_local = local_addrs(local), n_edges;

    if (n_local < 0) {
        st_err("reach: cannot read the host's addresses (%s): routes left as they are",
               strerror(-n_local));
        return n_local;
    }
    if ((n_edges = edge_addrs(s->gw, &s->edges)) < 0) {
        st_err("reach: out of memory: routes left as they are");
        return n_edges;
    }
    s->guard = (struct gw_reach_guard){.local = local,
                                       .n_local = (size_t)n_local,
                                       .edges = s->edges,
                                       .n_edges = (size_t)n_edges,
                                       .own = s->gw->cfg.routes,
                                       .n_own = s->gw->cfg.n_routes};
    return 0;
}

void gw_reach_sync(struct gw_server *gw)
{
    struct st_cidr want[GW_REACH_MAX_ROUTES];
    struct gw_reach_local *local = NULL;
    struct sync *s = NULL;
    size_t n, dropped;

    if (!gw->cfg.reach)
        return;
    n = wanted(gw, want, &dropped);
    if (dropped)
        st_warn("reach: %zu routes skipped: more than %d in all", dropped, GW_REACH_MAX_ROUTES);
    s = calloc(1, sizeof(*s));
    local = calloc(GW_REACH_MAX_LOCAL, sizeof(*local));
    if (!s || !local) {
        st_err("reach: out of memory: routes left as they are");
        goto out_free;
    }
    s->gw = gw;
    if (load_guard(s, local) < 0)
        goto out_free;
    decide(s, want, n);
    withdraw_unwanted(s);
    install_new(s);
    memcpy(gw->reach_warned, s->warned, s->n_warned * sizeof(s->warned[0]));
    gw->n_reach_warned = s->n_warned;
out_free:
    if (s)
        free(s->edges);
    free(local);
    free(s);
}

void gw_reach_routes(struct gw_server *gw, struct gw_reach_offer *offer,
                     const struct st_cidr *routes, size_t n)
{
    offer->n = n < GW_REACH_MAX_ROUTES ? n : GW_REACH_MAX_ROUTES;
    memcpy(offer->routes, routes, offer->n * sizeof(routes[0]));
    offer->set = true;
    gw_reach_sync(gw);
}

static bool covers(const struct gw_server *gw, int family, const uint8_t *addr)
{
    for (size_t i = 0; i < gw->n_reach_routes; i++)
        if (st_cidr_contains(&gw->reach_routes[i], family, addr))
            return true;
    return false;
}

bool gw_reach_covers(const struct gw_server *gw, const uint8_t addr[4])
{
    return covers(gw, AF_INET, addr);
}

bool gw_reach_covers6(const struct gw_server *gw, const uint8_t addr[16])
{
    return covers(gw, AF_INET6, addr);
}
