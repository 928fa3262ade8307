#include "edge_registry.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "st_h2conn.h"

static struct edge_tunnel *lookup(struct edge_registry *r, const char *id)
{
    for (size_t i = 0; i < r->n_tunnels; i++)
        if (strcmp(r->tunnels[i]->id, id) == 0)
            return r->tunnels[i];
    return NULL;
}

int edge_registry_reconfigure(struct edge_registry *r, const struct edge_config *cfg)
{
    size_t added = 0;
    for (size_t i = 0; i < cfg->n_tunnels; i++)
        added += !lookup(r, cfg->tunnels[i].id);
    struct edge_tunnel **v = realloc(r->tunnels, (r->n_tunnels + added + 1) * sizeof(*v));
    if (!v)
        return -ENOMEM;
    r->tunnels = v;
    struct edge_tunnel **fresh = calloc(added + 1, sizeof(*fresh));
    for (size_t i = 0; fresh && i < added; i++)
        if (!(fresh[i] = calloc(1, sizeof(**fresh)))) {
            while (i--)
                free(fresh[i]);
            free(fresh);
            fresh = NULL;
        }
    if (!fresh)
        return -ENOMEM;
    for (size_t i = 0; i < r->n_tunnels; i++)
        r->tunnels[i]->conf = NULL;
    for (size_t i = 0, k = 0; i < cfg->n_tunnels; i++) {
        struct edge_tunnel *t = lookup(r, cfg->tunnels[i].id);
        if (!t) {
            t = fresh[k++];
            snprintf(t->id, sizeof(t->id), "%s", cfg->tunnels[i].id);
            r->tunnels[r->n_tunnels++] = t;
        }
        t->conf = &cfg->tunnels[i];
    }
    free(fresh);
    return 0;
}

int edge_registry_init(struct edge_registry *r, const struct edge_config *cfg)
{
    memset(r, 0, sizeof(*r));
    r->routes = edge_route_new();
    if (!r->routes)
        return -ENOMEM;
    if (edge_registry_reconfigure(r, cfg) < 0) {
        edge_route_free(r->routes);
        return -ENOMEM;
    }
    return 0;
}

static void conn_free(struct edge_tunnel_conn *tc)
{
    free(tc->routes);
    for (size_t i = 0; i < tc->n_hostnames; i++)
        free(tc->hostnames[i]);
    free(tc->hostnames);
}

void edge_registry_fini(struct edge_registry *r)
{
    for (size_t i = 0; i < r->n_tunnels; i++) {
        for (size_t j = 0; j < r->tunnels[i]->n_conns; j++)
            conn_free(&r->tunnels[i]->conns[j]);
        free(r->tunnels[i]->conns);
        free(r->tunnels[i]);
    }
    free(r->tunnels);
    edge_route_free(r->routes);
    memset(r, 0, sizeof(*r));
}

struct edge_tunnel *edge_registry_find(struct edge_registry *r, const char *id)
{
    struct edge_tunnel *t = lookup(r, id);
    return t && t->conf ? t : NULL;
}

static bool route_allowed(const struct edge_tunnel_conf *conf, const struct st_cidr *c)
{
    for (size_t i = 0; i < conf->n_routes; i++)
        if (st_cidr_covers(&conf->routes[i], c))
            return true;
    return false;
}

/* The tunnel's table entries: the union of what its registered connections announced. */
static void rebuild_routes(struct edge_registry *r, struct edge_tunnel *t)
{
    edge_route_remove_owner(r->routes, t);
    for (size_t i = 0; i < t->n_conns; i++)
        for (size_t j = 0; j < t->conns[i].n_routes; j++)
            edge_route_add(r->routes, &t->conns[i].routes[j], t); /* same owner: cannot clash */
}

int edge_registry_attach(struct edge_registry *r, struct edge_tunnel *t, struct edge_tconn *c,
                         const struct st_cidr *routes, size_t n_routes, const struct st_cidr **bad)
{
    for (size_t i = 0; i < n_routes; i++) {
        if (!route_allowed(t->conf, &routes[i])) {
            *bad = &routes[i];
            return -EPERM;
        }
    }
    for (size_t i = 0; i < n_routes; i++) {
        int rv = edge_route_add(r->routes, &routes[i], t);
        if (rv < 0) {
            *bad = &routes[i];
            rebuild_routes(r, t);
            return rv;
        }
    }
    struct st_cidr *copy = malloc((n_routes ? n_routes : 1) * sizeof(*copy));
    if (copy && t->n_conns == t->cap_conns) {
        size_t cap = t->cap_conns ? t->cap_conns * 2 : 4;
        struct edge_tunnel_conn *v = realloc(t->conns, cap * sizeof(*v));
        if (v) {
            t->conns = v;
            t->cap_conns = cap;
        }
    }
    if (!copy || t->n_conns == t->cap_conns) {
        free(copy);
        rebuild_routes(r, t);
        return -ENOMEM;
    }
    memcpy(copy, routes, n_routes * sizeof(*copy));
    t->conns[t->n_conns++] = (struct edge_tunnel_conn){c, copy, n_routes, NULL, 0};
    return 0;
}

void edge_registry_detach(struct edge_registry *r, struct edge_tunnel *t, struct edge_tconn *c)
{
    for (size_t i = 0; i < t->n_conns; i++) {
        if (t->conns[i].c == c) {
            conn_free(&t->conns[i]);
            t->conns[i] = t->conns[--t->n_conns];
            break;
        }
    }
    rebuild_routes(r, t);
}

bool edge_registry_conn_allowed(const struct edge_tunnel *t, const struct edge_tconn *c,
                                const struct edge_tunnel_conf *conf, const struct st_cidr **bad)
{
    for (size_t i = 0; i < t->n_conns; i++) {
        if (t->conns[i].c != c)
            continue;
        for (size_t j = 0; j < t->conns[i].n_routes; j++) {
            if (!route_allowed(conf, &t->conns[i].routes[j])) {
                *bad = &t->conns[i].routes[j];
                return false;
            }
        }
    }
    return true;
}

/* The tunnel whose configured routes hold addr (configured routes never overlap). */
static struct edge_tunnel *configured_owner(struct edge_registry *r, int family,
                                            const uint8_t *addr)
{
    for (size_t i = 0; i < r->n_tunnels; i++) {
        const struct edge_tunnel_conf *conf = r->tunnels[i]->conf;
        for (size_t j = 0; conf && j < conf->n_routes; j++)
            if (st_cidr_contains(&conf->routes[j], family, addr))
                return r->tunnels[i];
    }
    return NULL;
}

struct dest {
    int family;
    const uint8_t *addr;
};

static bool conn_announces(const struct edge_tunnel_conn *tc, const void *arg)
{
    const struct dest *d = arg;
    for (size_t i = 0; i < tc->n_routes; i++)
        if (st_cidr_contains(&tc->routes[i], d->family, d->addr))
            return true;
    return false;
}

struct pick_arg {
    struct edge_registry *r;
    struct edge_tunnel *t;
    bool (*ok)(const struct edge_tunnel_conn *, const void *);
    const void *arg;
};

static uint64_t pick_key(size_t i, void *arg)
{
    struct pick_arg *a = arg;
    struct edge_tunnel_conn *tc = &a->t->conns[i];
    if (!a->ok(tc, a->arg))
        return UINT64_MAX;
    return a->r->conn_load ? a->r->conn_load(tc->c) : 0;
}

/* The least busy of t's connections for which ok(conn, arg) holds (r->conn_load), the
 * first from the round-robin cursor among equally busy ones. */
static struct edge_tconn *pick(struct edge_registry *r, struct edge_tunnel *t,
                               bool (*ok)(const struct edge_tunnel_conn *, const void *),
                               const void *arg)
{
    if (!t)
        return NULL;
    struct pick_arg a = {r, t, ok, arg};
    size_t i = st_pick_least(t->n_conns, &t->rr, pick_key, &a);
    return i == SIZE_MAX ? NULL : t->conns[i].c;
}

struct edge_tconn *edge_registry_pick(struct edge_registry *r, int family, const uint8_t *addr,
                                      struct edge_tunnel **t_out)
{
    struct edge_tunnel *t = edge_route_lookup(r->routes, family, addr);
    if (t && t->conf) {
        *t_out = t;
        return pick(r, t, conn_announces, &(struct dest){family, addr});
    }
    /* Not announced now (or by a tunnel a reload removed or narrowed): the tunnel configured
     * for it is down or has not announced it. Never another tenant. */
    *t_out = configured_owner(r, family, addr);
    return NULL;
}

/* The tunnel whose hostnames cover host, and the index of the entry that did. */
static struct edge_tunnel *find_host(struct edge_registry *r, const char *host, size_t *idx)
{
    struct edge_tunnel *best = NULL;
    size_t best_len = 0, hl = strlen(host);

    for (size_t i = 0; i < r->n_tunnels; i++) {
        const struct edge_tunnel_conf *conf = r->tunnels[i]->conf;
        for (size_t j = 0; conf && j < conf->n_hostnames; j++) {
            const char *p = conf->hostnames[j];
            if (strcasecmp(p, host) == 0) {
                *idx = j;
                return r->tunnels[i];
            }
            size_t sl = strlen(p) - 1; /* ".example.net" of "*.example.net" */
            if (p[0] == '*' && hl > sl && sl > best_len && strcasecmp(host + hl - sl, p + 1) == 0) {
                best = r->tunnels[i];
                best_len = sl;
                *idx = j;
            }
        }
    }
    return best;
}

struct edge_tunnel *edge_registry_by_host(struct edge_registry *r, const char *host)
{
    size_t idx;
    return find_host(r, host, &idx);
}

const struct edge_host_acl *edge_registry_host_acl(struct edge_registry *r, const char *host)
{
    size_t idx = 0;
    struct edge_tunnel *t = find_host(r, host, &idx);
    if (!t || !t->conf->host_acls)
        return NULL;
    const struct edge_host_acl *acl = &t->conf->host_acls[idx];
    return acl->n_users || acl->n_groups ? acl : NULL;
}

/* pattern (a name or "*.domain") matches name, itself a name or a "*." pattern. */
static bool host_matches(const char *pattern, const char *name)
{
    if (strcasecmp(pattern, name) == 0)
        return true;
    size_t pl = strlen(pattern), nl = strlen(name);
    return pattern[0] == '*' && nl > pl - 1 && strcasecmp(name + nl - (pl - 1), pattern + 1) == 0;
}

int edge_registry_hostnames(struct edge_tunnel *t, struct edge_tconn *c, const char (*names)[254],
                            size_t n, const char **bad)
{
    struct edge_tunnel_conn *tc = NULL;
    for (size_t i = 0; i < t->n_conns; i++)
        if (t->conns[i].c == c)
            tc = &t->conns[i];
    for (size_t i = 0; i < n; i++) {
        bool ok = false;
        for (size_t j = 0; t->conf && j < t->conf->n_hostnames && !ok; j++)
            ok = host_matches(t->conf->hostnames[j], names[i]);
        if (!ok) {
            *bad = names[i];
            return -EPERM;
        }
    }
    if (!tc || !n)
        return 0;
    if (!(tc->hostnames = calloc(n, sizeof(char *))))
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (!(tc->hostnames[i] = strdup(names[i])))
            return -ENOMEM;
        tc->n_hostnames++;
    }
    return 0;
}

static bool conn_serves(const struct edge_tunnel_conn *tc, const void *host)
{
    for (size_t i = 0; i < tc->n_hostnames; i++)
        if (host_matches(tc->hostnames[i], host))
            return true;
    return false;
}

struct edge_tconn *edge_registry_pick_host(struct edge_registry *r, const char *host,
                                           struct edge_tunnel **t_out, bool *connected)
{
    struct edge_tunnel *t = edge_registry_by_host(r, host);
    *t_out = t;
    *connected = t && t->n_conns > 0;
    return pick(r, t, conn_serves, host);
}

static bool names(const struct edge_tunnel_conf *src, const char *id)
{
    for (size_t i = 0; i < src->n_may_reach_ids; i++)
        if (strcmp(src->may_reach_ids[i], id) == 0)
            return true;
    return false;
}

bool edge_registry_may_reach(const struct edge_tunnel *src, const struct edge_tunnel *dst,
                             int family, const uint8_t *addr)
{
    if (!dst || dst == src || !src->conf || !dst->conf)
        return false;
    if (names(src->conf, dst->conf->id))
        return true;
    for (size_t i = 0; i < src->conf->n_may_reach_cidrs; i++)
        if (st_cidr_contains(&src->conf->may_reach_cidrs[i], family, addr))
            return true;
    return false;
}

size_t edge_registry_reachable(const struct edge_registry *r, const struct edge_tunnel *src,
                               struct st_cidr *out, size_t max)
{
    size_t n = 0;
    if (!src->conf)
        return 0;
    for (size_t i = 0; i < r->n_tunnels; i++) {
        const struct edge_tunnel_conf *t = r->tunnels[i]->conf;
        if (r->tunnels[i] == src || !t || !names(src->conf, t->id))
            continue;
        for (size_t j = 0; j < t->n_routes && n < max; j++)
            out[n++] = t->routes[j];
    }
    for (size_t i = 0; i < src->conf->n_may_reach_cidrs && n < max; i++)
        out[n++] = src->conf->may_reach_cidrs[i];
    return n;
}
