#include "edge_config.h"
#include "edge_config_int.h"

#include "edge_fcache.h"
#include "st_config.h"
#include "st_log.h"
#include "st_redis.h"
#include "st_tls.h"
#include "st_token.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const top_keys[] = {
    "log-level",
    "location",
    "tunnel-listen",
    "access-listen",
    "access-listen6",
    "access-tls-listen",
    "http-listen",
    "https-listen",
    "https-certs",
    "cert",
    "key",
    "client-ca",
    "tunnels",
    "access-tokens",
    "users",
    "access-policy",
    "audit-log",
    "jwt",
    "grace-period",
    "heartbeat-interval",
    "heartbeat-count",
    "send-timeout",
    "flow-idle-timeout",
    "idle-timeout",
    "request-timeout",
    "visitor-max-streams",
    "tunnel-max-requests",
    "log-refusals",
    "log-format",
    "metrics-listen",
    "user",
    "group",
    "max-connections",
    "listener-max-connections",
    "max-connections-per-client",
    "max-unauthenticated",
    "tunnel-max-flows",
    "user-max-flows",
    "registry",
    "edge-id",
    "relay-listen",
    "relay-ca",
    "relay-cert",
    "relay-key",
    "relay-idle-timeout",
    NULL,
};
static const char *const tunnel_keys[] = {"id",        "secret-sha256", "routes",
                                          "hostnames", "may-reach",     NULL};
static const char *const cert_keys[] = {"cert", "key", NULL};

static int get_hash(struct st_cfg *c, const struct st_cfg_node *n, uint8_t out[32])
{
    const char *s = NULL;
    int rc = st_cfg_string(c, n, &s);

    if (rc == 0 && st_hex_decode32(s, out) < 0)
        return st_cfg_fail(c, n->line, "'%s' must be 64 hex digits (a SHA-256)", n->path);
    return rc;
}

/* secret-sha256: one hash, or a list of one or two (old and new while rotating). */
static int get_secrets(struct st_cfg *c, const struct st_cfg_node *v, struct edge_tunnel_conf *t)
{
    if (v->kind != ST_CFG_SEQ)
        return t->n_secrets = 1, get_hash(c, v, t->secret_sha256[0]);
    if (v->n_children < 1 || v->n_children > EDGE_TUNNEL_SECRETS)
        return st_cfg_fail(c, v->line, "'%s' lists one or two hashes (two while rotating)",
                           v->path);
    for (size_t i = 0; i < v->n_children; i++) {
        int rc = get_hash(c, v->children[i], t->secret_sha256[i]);
        if (rc < 0)
            return rc;
        if (i && st_hash_equal(t->secret_sha256[0], t->secret_sha256[1]))
            return st_cfg_fail(c, v->children[i]->line, "'%s' lists the same hash twice", v->path);
        t->n_secrets++;
    }
    return 0;
}

bool edge_tunnel_has_secret(const struct edge_tunnel_conf *t, const uint8_t h[32])
{
    bool ok = false;
    for (size_t i = 0; i < t->n_secrets; i++)
        ok |= st_hash_equal(h, t->secret_sha256[i]);
    return ok;
}

bool edge_tunnel_secret_ok(const struct edge_tunnel_conf *t, const char *secret, uint8_t used[32])
{
    uint8_t h[32];
    st_sha256(secret, strlen(secret), h);
    if (!edge_tunnel_has_secret(t, h))
        return false;
    if (used)
        memcpy(used, h, 32);
    return true;
}

static int get_routes(struct st_cfg *c, const struct st_cfg_node *n, struct edge_tunnel_conf *t)
{
    int rc = st_cfg_seq(c, n, 1);

    if (rc < 0)
        return rc;
    t->routes = calloc(n->n_children, sizeof(*t->routes));
    if (!t->routes)
        return -ENOMEM;
    for (size_t i = 0; i < n->n_children; i++) {
        rc = st_cfg_cidr(c, n->children[i], &t->routes[i]);
        if (rc < 0)
            return rc;
        t->n_routes++;
    }
    return 0;
}

static const char *const host_keys[] = {"name", "users", "groups", NULL};

/* A hostnames entry in its long form: {name, users, groups}; *h becomes the name's node. */
static int get_host_acl(struct st_cfg *c, const struct st_cfg_node **h, struct edge_host_acl *acl)
{
    const struct st_cfg_node *n = *h, *v;
    int rc;
    if ((rc = st_cfg_check_keys(c, n, host_keys)) < 0 || (rc = st_cfg_require(c, n, "name", h)) < 0)
        return rc;
    if ((v = st_cfg_get(n, "users")) &&
        (rc = st_cfg_strlist(c, v, EDGE_USER_NAME_MAX, &acl->users, &acl->n_users)) < 0)
        return rc;
    if ((v = st_cfg_get(n, "groups")) &&
        (rc = st_cfg_strlist(c, v, EDGE_GROUP_NAME_MAX, &acl->groups, &acl->n_groups)) < 0)
        return rc;
    if (!acl->n_users && !acl->n_groups)
        return st_cfg_fail(c, n->line,
                           "'%s': a host name entry with a mapping needs users or groups (a "
                           "public name is written as a plain string)",
                           n->path);
    return 0;
}

static int get_hostnames(struct st_cfg *c, const struct st_cfg_node *n, struct edge_tunnel_conf *t)
{
    int rc = st_cfg_seq(c, n, 0);

    if (rc < 0)
        return rc;
    t->hostnames = calloc(n->n_children + 1, sizeof(*t->hostnames));
    t->host_acls = calloc(n->n_children + 1, sizeof(*t->host_acls));
    if (!t->hostnames || !t->host_acls)
        return -ENOMEM;
    for (size_t i = 0; i < n->n_children; i++) {
        const struct st_cfg_node *h = n->children[i];
        if (h->kind == ST_CFG_MAP && (rc = get_host_acl(c, &h, &t->host_acls[i])) < 0)
            return rc;
        rc = st_cfg_strdup(c, h, &t->hostnames[i]);
        if (rc < 0)
            return rc;
        t->n_hostnames++;
        if (!st_hostname_valid(h->scalar, true))
            return st_cfg_fail(c, h->line, "'%s': invalid hostname '%s'", h->path, h->scalar);
        for (char *p = t->hostnames[i]; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        for (size_t k = 0; k < i; k++) /* one entry per name: a second would never apply */
            if (strcmp(t->hostnames[k], t->hostnames[i]) == 0)
                return st_cfg_fail(c, h->line, "'%s': host name '%s' is listed twice", h->path,
                                   t->hostnames[i]);
    }
    return 0;
}

/* may-reach: tunnel ids (all of their routes) and CIDRs this tunnel's sites may reach. */
static int get_may_reach(struct st_cfg *c, const struct st_cfg_node *n, struct edge_tunnel_conf *t)
{
    int rc = st_cfg_seq(c, n, 0);

    if (rc < 0)
        return rc;
    t->may_reach_ids = calloc(n->n_children + 1, sizeof(*t->may_reach_ids));
    t->may_reach_cidrs = calloc(n->n_children + 1, sizeof(*t->may_reach_cidrs));
    if (!t->may_reach_ids || !t->may_reach_cidrs)
        return -ENOMEM;
    for (size_t i = 0; i < n->n_children; i++) {
        const struct st_cfg_node *e = n->children[i];
        const char *s;
        if ((rc = st_cfg_string(c, e, &s)) < 0)
            return rc;
        struct st_cidr probe;
        if (strchr(s, '/') || st_cidr_parse(s, &probe) == 0) { /* a bare address is a /32 */
            rc = st_cfg_cidr(c, e, &t->may_reach_cidrs[t->n_may_reach_cidrs]);
            if (rc < 0)
                return rc;
            t->n_may_reach_cidrs++;
        } else {
            if (!st_token_id_valid(s))
                return st_cfg_fail(c, e->line, "'%s': '%s' is neither a tunnel id nor a CIDR",
                                   e->path, s);
            rc = st_cfg_strdup(c, e, &t->may_reach_ids[t->n_may_reach_ids]);
            if (rc < 0)
                return rc;
            t->n_may_reach_ids++;
        }
    }
    return 0;
}

/* Every tunnel id named in a may-reach list must exist. */
static int check_may_reach(struct st_cfg *c, const struct st_cfg_node *list,
                           const struct edge_config *cfg)
{
    for (size_t i = 0; i < cfg->n_tunnels; i++) {
        const struct edge_tunnel_conf *t = &cfg->tunnels[i];
        for (size_t k = 0; k < t->n_may_reach_ids; k++) {
            bool found = false;
            for (size_t j = 0; j < cfg->n_tunnels; j++)
                found |= strcmp(cfg->tunnels[j].id, t->may_reach_ids[k]) == 0;
            if (!found)
                return st_cfg_fail(c, st_cfg_get(list->children[i], "may-reach")->line,
                                   "tunnel '%s': may-reach names unknown tunnel '%s'", t->id,
                                   t->may_reach_ids[k]);
        }
    }
    return 0;
}

static int get_tunnel(struct st_cfg *c, const struct st_cfg_node *n, struct edge_tunnel_conf *t)
{
    const struct st_cfg_node *v;
    int rc;

    if ((rc = st_cfg_map(c, n)) < 0 || (rc = st_cfg_check_keys(c, n, tunnel_keys)) < 0)
        return rc;
    if ((rc = st_cfg_require(c, n, "id", &v)) < 0 || (rc = st_cfg_strdup(c, v, &t->id)) < 0)
        return rc;
    if (!st_token_id_valid(t->id))
        return st_cfg_fail(c, v->line, "'%s': tunnel id '%s' must be 1-63 of [A-Za-z0-9_.-]",
                           v->path, t->id);
    if ((rc = st_cfg_require(c, n, "secret-sha256", &v)) < 0 || (rc = get_secrets(c, v, t)) < 0)
        return rc;
    if ((rc = st_cfg_require(c, n, "routes", &v)) < 0 || (rc = get_routes(c, v, t)) < 0)
        return rc;
    v = st_cfg_get(n, "hostnames");
    if (v && (rc = get_hostnames(c, v, t)) < 0)
        return rc;
    v = st_cfg_get(n, "may-reach");
    return v ? get_may_reach(c, v, t) : 0;
}

static int route_clash(struct st_cfg *c, const struct st_cfg_node *route,
                       const struct st_cidr *mine, const struct st_cidr *other, const char *owner)
{
    char txt[64];
    st_cidr_format(other, txt, sizeof(txt));
    if (mine->prefix == other->prefix)
        return st_cfg_fail(c, route->line, "route '%s' already belongs to tunnel '%s'",
                           route->scalar, owner);
    return st_cfg_fail(c, route->line, "route '%s' overlaps route '%s' of tunnel '%s'",
                       route->scalar, txt, owner);
}

/* Rejects a tunnel id already used by an earlier tunnel, and a route that equals, holds or
 * lies inside a route of an earlier tunnel: an address belongs to one tunnel only, so no
 * tenant can take another's traffic by announcing a longer prefix. */
static int check_tunnel_unique(struct st_cfg *c, const struct st_cfg_node *n,
                               const struct edge_config *cfg, size_t k)
{
    const struct edge_tunnel_conf *t = &cfg->tunnels[k];
    const struct st_cfg_node *routes = st_cfg_get(n, "routes");

    for (size_t i = 0; i < k; i++) {
        const struct edge_tunnel_conf *o = &cfg->tunnels[i];
        if (strcmp(o->id, t->id) == 0)
            return st_cfg_fail(c, st_cfg_get(n, "id")->line, "duplicate tunnel id '%s'", t->id);
        for (size_t r = 0; r < t->n_routes; r++)
            for (size_t q = 0; q < o->n_routes; q++)
                if (st_cidr_overlaps(&o->routes[q], &t->routes[r]))
                    return route_clash(c, routes->children[r], &t->routes[r], &o->routes[q], o->id);
        /* A name belongs to one tunnel, so no gateway can claim another's visitors. */
        for (size_t h = 0; h < t->n_hostnames; h++)
            for (size_t q = 0; q < o->n_hostnames; q++)
                if (strcmp(o->hostnames[q], t->hostnames[h]) == 0)
                    return st_cfg_fail(c, st_cfg_get(n, "hostnames")->children[h]->line,
                                       "hostname '%s' already belongs to tunnel '%s'",
                                       t->hostnames[h], o->id);
    }
    return 0;
}

static int get_tunnels(struct st_cfg *c, const struct st_cfg_node *n, struct edge_config *cfg)
{
    int rc = st_cfg_seq(c, n, 1);

    if (rc < 0)
        return rc;
    cfg->tunnels = calloc(n->n_children, sizeof(*cfg->tunnels));
    if (!cfg->tunnels)
        return -ENOMEM;
    for (size_t i = 0; i < n->n_children; i++) {
        cfg->n_tunnels++;
        rc = get_tunnel(c, n->children[i], &cfg->tunnels[i]);
        if (rc == 0)
            rc = check_tunnel_unique(c, n->children[i], cfg, i);
        if (rc < 0)
            return rc;
    }
    return check_may_reach(c, n, cfg);
}

static int set_defaults(struct edge_config *cfg)
{
    cfg->log_level = ST_LOG_INFO;
    cfg->grace_period_ms = 30000;
    cfg->send_timeout_ms = 60000;
    cfg->flow_idle_timeout_ms = 3600000;
    cfg->heartbeat_interval_ms = 5000;
    cfg->heartbeat_count = 5;
    cfg->idle_timeout_ms = 60000;
    cfg->relay_idle_timeout_ms = 60000;
    cfg->request_timeout_ms = 10000;
    cfg->visitor_max_streams = 100;
    cfg->tunnel_max_requests = 1000;
    cfg->log_refusals = 10;
    cfg->max_connections = 10000;
    cfg->listener_max_connections = 0; /* 4/5 of max-connections unless given */
    cfg->max_connections_per_client = 256;
    cfg->max_unauthenticated = 1024;
    cfg->tunnel_max_flows = 32768;
    cfg->user_max_flows = 4096;
    st_sockaddr_parse("0.0.0.0:7844", &cfg->tunnel_listen);
    /* Tokens cross the access listener: cleartext stays on loopback, TLS faces the network. */
    st_sockaddr_parse("127.0.0.1:8080", &cfg->access_listen);
    cfg->has_access = true;
    st_sockaddr_parse("0.0.0.0:8443", &cfg->access_tls_listen);
    cfg->has_access_tls = true;
    cfg->location = strdup("edge");
    return cfg->location ? 0 : -ENOMEM;
}

/* One address of a listener key's list: numeric, with a port. */
static int listen_addr(struct st_cfg *c, const struct st_cfg_node *v, struct st_sockaddr *out)
{
    int rc = st_cfg_sockaddr(c, v, out);
    if (rc == 0 && st_sockaddr_port(out) == 0)
        return st_cfg_fail(c, v->line, "'%s': '%s' needs a port", v->path, v->scalar);
    return rc;
}

/* A listener key given as a list: 1..EDGE_LISTEN_ADDRS addresses, the first into out. */
static int listen_list(struct st_cfg *c, const struct st_cfg_node *v, struct st_sockaddr *out,
                       struct edge_listen_more *more)
{
    int rc = st_cfg_seq(c, v, 1);
    if (rc < 0)
        return rc;
    if (!more)
        return st_cfg_fail(c, v->line,
                           "'%s' takes one address, not a list (\"[::]:PORT\" listens on IPv6 "
                           "and IPv4)",
                           v->path);
    if (v->n_children > EDGE_LISTEN_ADDRS)
        return st_cfg_fail(c, v->line, "'%s' lists %zu addresses, at most %d", v->path,
                           v->n_children, EDGE_LISTEN_ADDRS);
    more->n = 0;
    for (size_t i = 0; i < v->n_children && rc == 0; i++)
        rc = listen_addr(c, v->children[i], i ? &more->a[more->n++] : out);
    return rc;
}

/* An optional listener key: an address, a list of them (when more is not NULL), or "off"
 * (*on false). Absent: unchanged. */
static int get_listener(struct st_cfg *c, const struct st_cfg_node *root, const char *key,
                        struct st_sockaddr *out, bool *on, struct edge_listen_more *more)
{
    const struct st_cfg_node *v = st_cfg_get(root, key);
    if (!v)
        return 0;
    if (on && v->kind == ST_CFG_SCALAR && strcmp(v->scalar, "off") == 0) {
        *on = false;
        return 0;
    }
    int rc = v->kind == ST_CFG_SEQ ? listen_list(c, v, out, more) : st_cfg_sockaddr(c, v, out);
    if (on)
        *on = rc == 0;
    return rc;
}

struct lis_addr {
    const char *key;
    const struct st_sockaddr *a;
};

/* The addresses of an enabled listener key into l[*n...]. */
static void add_lis(struct lis_addr *l, size_t *n, const char *key, bool on,
                    const struct st_sockaddr *first, const struct edge_listen_more *more)
{
    if (!on)
        return;
    l[(*n)++] = (struct lis_addr){key, first};
    for (size_t i = 0; more && i < more->n; i++)
        l[(*n)++] = (struct lis_addr){key, &more->a[i]};
}

/* Two enabled listeners on the same port whose addresses are equal or one is the wildcard
 * (a dual-stack "[::]" against any IPv4 address too) would fail at start with EADDRINUSE:
 * say so now, with both keys. */
static int check_listener_clash(struct st_cfg *c, const struct st_cfg_node *root,
                                const struct edge_config *cfg)
{
    struct lis_addr l[8 * EDGE_LISTEN_ADDRS];
    size_t n = 0;

    add_lis(l, &n, "tunnel-listen", true, &cfg->tunnel_listen, &cfg->tunnel_more);
    add_lis(l, &n, "access-listen", cfg->has_access, &cfg->access_listen, &cfg->access_more);
    add_lis(l, &n, "access-listen6", cfg->has_access6, &cfg->access_listen6, NULL);
    add_lis(l, &n, "access-tls-listen", cfg->has_access_tls, &cfg->access_tls_listen,
            &cfg->access_tls_more);
    add_lis(l, &n, "http-listen", cfg->has_http, &cfg->http_listen, &cfg->http_more);
    add_lis(l, &n, "https-listen", cfg->has_https, &cfg->https_listen, &cfg->https_more);
    add_lis(l, &n, "metrics-listen", cfg->has_metrics, &cfg->metrics_listen, NULL);
    add_lis(l, &n, "relay-listen", cfg->has_relay, &cfg->relay_listen, NULL);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            if (!st_sockaddr_clash(l[i].a, l[j].a))
                continue;
            size_t k = st_cfg_get(root, l[j].key) ? j : i, o = k == j ? i : j;
            const struct st_cfg_node *v = st_cfg_get(root, l[k].key);
            char a[80], b[80];
            st_sockaddr_format(l[k].a, a, sizeof(a));
            st_sockaddr_format(l[o].a, b, sizeof(b));
            bool dual = l[k].a->ss.ss_family != l[o].a->ss.ss_family;
            return st_cfg_fail(c, v ? v->line : 1, "'%s' %s clashes with '%s' %s (same port%s)",
                               l[k].key, a, l[o].key, b,
                               dual ? "; \"[::]\" listens on IPv4 too" : "");
        }
    return 0;
}

static int get_listeners(struct st_cfg *c, const struct st_cfg_node *root, struct edge_config *cfg)
{
    int rc = get_listener(c, root, "tunnel-listen", &cfg->tunnel_listen, NULL, &cfg->tunnel_more);
    if (rc == 0)
        rc = get_listener(c, root, "access-listen", &cfg->access_listen, &cfg->has_access,
                          &cfg->access_more);
    if (rc == 0)
        rc = get_listener(c, root, "access-listen6", &cfg->access_listen6, &cfg->has_access6, NULL);
    if (rc == 0)
        rc = get_listener(c, root, "access-tls-listen", &cfg->access_tls_listen,
                          &cfg->has_access_tls, &cfg->access_tls_more);
    if (rc == 0)
        rc = get_listener(c, root, "http-listen", &cfg->http_listen, &cfg->has_http,
                          &cfg->http_more);
    if (rc == 0)
        rc = get_listener(c, root, "https-listen", &cfg->https_listen, &cfg->has_https,
                          &cfg->https_more);
    const struct st_cfg_node *m = st_cfg_get(root, "metrics-listen");
    if (rc == 0 && m)
        rc = m->kind == ST_CFG_SEQ ? listen_list(c, m, &cfg->metrics_listen, NULL)
                                   : st_cfg_listener(c, m, &cfg->metrics_listen, &cfg->has_metrics);
    if (rc == 0 && (m = st_cfg_get(root, "relay-listen")))
        rc = m->kind == ST_CFG_SEQ ? listen_list(c, m, &cfg->relay_listen, NULL)
                                   : st_cfg_listener(c, m, &cfg->relay_listen, &cfg->has_relay);
    return rc < 0 ? rc : check_listener_clash(c, root, cfg);
}

bool edge_config_cleartext_exposed(const struct edge_config *cfg)
{
    bool more_exposed = false;
    for (size_t i = 0; cfg->has_access && i < cfg->access_more.n; i++)
        more_exposed = more_exposed || !st_sockaddr_is_loopback(&cfg->access_more.a[i]);
    return (cfg->has_access && !st_sockaddr_is_loopback(&cfg->access_listen)) || more_exposed ||
           (cfg->has_access6 && !st_sockaddr_is_loopback(&cfg->access_listen6));
}

int edge_config_file_of(struct st_cfg *c, const struct st_cfg_node *map, const char *key,
                        char **out)
{
    const struct st_cfg_node *v;
    const char *path = NULL;
    int rc;
    if ((rc = st_cfg_require(c, map, key, &v)) < 0 || (rc = st_cfg_readable_file(c, v, &path)) < 0)
        return rc;
    return (*out = strdup(path)) ? 0 : -ENOMEM;
}

/* https-certs: [{cert, key}...]: visitor certificates chosen by SNI (default: cert/key). */
static int get_https_certs(struct st_cfg *c, const struct st_cfg_node *n, struct edge_config *cfg)
{
    int rc;
    if ((rc = st_cfg_seq(c, n, 1)) < 0)
        return rc;
    if (!(cfg->https_certs = calloc(n->n_children, sizeof(*cfg->https_certs))))
        return -ENOMEM;
    for (size_t i = 0; i < n->n_children; i++) {
        const struct st_cfg_node *e = n->children[i];
        cfg->n_https_certs++;
        if ((rc = st_cfg_map(c, e)) < 0 || (rc = st_cfg_check_keys(c, e, cert_keys)) < 0 ||
            (rc = edge_config_file_of(c, e, "cert", &cfg->https_certs[i].cert_file)) < 0 ||
            (rc = edge_config_file_of(c, e, "key", &cfg->https_certs[i].key_file)) < 0)
            return rc;
    }
    return 0;
}

/* client-ca: optional PEM bundle verifying client certificates (access TLS, visitor HTTPS). */
static int get_client_ca(struct st_cfg *c, const struct st_cfg_node *root, struct edge_config *cfg)
{
    const struct st_cfg_node *v = st_cfg_get(root, "client-ca");
    const char *path = NULL;
    char why[400];
    int rc;
    if (!v)
        return 0;
    if ((rc = st_cfg_readable_file(c, v, &path)) < 0)
        return rc;
    if (st_tls_ca_check(path, why, sizeof(why)) < 0)
        return st_cfg_fail(c, v->line, "'client-ca': %s", why);
    return (cfg->client_ca = strdup(path)) ? 0 : -ENOMEM;
}

static int get_files(struct st_cfg *c, const struct st_cfg_node *root, struct edge_config *cfg)
{
    const struct st_cfg_node *v;
    const char *path = NULL;
    int rc;

    if ((rc = st_cfg_require(c, root, "cert", &v)) < 0 ||
        (rc = st_cfg_readable_file(c, v, &path)) < 0 || !(cfg->cert_file = strdup(path)))
        return rc < 0 ? rc : -ENOMEM;
    if ((rc = st_cfg_require(c, root, "key", &v)) < 0 ||
        (rc = st_cfg_readable_file(c, v, &path)) < 0 || !(cfg->key_file = strdup(path)))
        return rc < 0 ? rc : -ENOMEM;
    if ((v = st_cfg_get(root, "https-certs")) && (rc = get_https_certs(c, v, cfg)) < 0)
        return rc;
    return get_client_ca(c, root, cfg);
}

/* Timeouts and caps for peers that have not authenticated. */
static int get_limits(struct st_cfg *c, const struct st_cfg_node *root, struct edge_config *cfg)
{
    int rc;
    if ((rc = st_cfg_opt_int(c, root, "idle-timeout", 1, 3600, 1000, &cfg->idle_timeout_ms)) < 0 ||
        (rc = st_cfg_opt_int(c, root, "request-timeout", 1, 300, 1000, &cfg->request_timeout_ms)) <
            0 ||
        (rc = st_cfg_opt_int(c, root, "visitor-max-streams", 1, 1000, 1,
                             &cfg->visitor_max_streams)) < 0 ||
        (rc = st_cfg_opt_int(c, root, "tunnel-max-requests", 1, 100000, 1,
                             &cfg->tunnel_max_requests)) < 0)
        return rc;
    return st_cfg_opt_int(c, root, "log-refusals", 1, 10000, 1, &cfg->log_refusals);
}

#define CAP_MAX 1000000

/* Caps on connections (all listeners, one listener, one client address, unauthenticated)
 * and on flows (one tunnel, one access token). */
static int get_caps(struct st_cfg *c, const struct st_cfg_node *root, struct edge_config *cfg)
{
    int rc;
    if ((rc = st_cfg_opt_int(c, root, "max-connections", 1, CAP_MAX, 1, &cfg->max_connections)) <
            0 ||
        (rc = st_cfg_opt_int(c, root, "listener-max-connections", 1, CAP_MAX, 1,
                             &cfg->listener_max_connections)) < 0 ||
        (rc = st_cfg_opt_int(c, root, "max-connections-per-client", 1, CAP_MAX, 1,
                             &cfg->max_connections_per_client)) < 0 ||
        (rc = st_cfg_opt_int(c, root, "max-unauthenticated", 1, CAP_MAX, 1,
                             &cfg->max_unauthenticated)) < 0 ||
        (rc = st_cfg_opt_int(c, root, "tunnel-max-flows", 1, CAP_MAX, 1, &cfg->tunnel_max_flows)) <
            0 ||
        (rc = st_cfg_opt_int(c, root, "user-max-flows", 1, CAP_MAX, 1, &cfg->user_max_flows)) < 0)
        return rc;
    const struct st_cfg_node *v = st_cfg_get(root, "listener-max-connections");
    if (!v) /* one listener's flood leaves a fifth for the others (gateways' tunnels...) */
        cfg->listener_max_connections =
            cfg->max_connections >= 5 ? cfg->max_connections / 5 * 4 : cfg->max_connections;
    else if (cfg->listener_max_connections > cfg->max_connections)
        return st_cfg_fail(c, v->line,
                           "'listener-max-connections' is %d, above 'max-connections' (%d)",
                           cfg->listener_max_connections, cfg->max_connections);
    return 0;
}

static const char *const jwt_keys[] = {"jwks-file",    "issuer",     "audience", "user-claim",
                                       "groups-claim", "clock-skew", NULL};

/* jwt: the identity provider's keys (a local JWK Set file, loaded now) and what its tokens
 * must say. issuer and audience are required: a token the provider issued for another
 * application must not open flows here. */
static int get_jwt(struct st_cfg *c, const struct st_cfg_node *n, struct edge_config *cfg)
{
    struct edge_jwt_conf *j = &cfg->jwt;
    const struct st_cfg_node *v;
    const char *path;
    char why[256];
    int rc;
    if ((rc = st_cfg_map(c, n)) < 0 || (rc = st_cfg_check_keys(c, n, jwt_keys)) < 0)
        return rc;
    cfg->has_jwt = true;
    j->skew_s = 60;
    if ((rc = st_cfg_require(c, n, "jwks-file", &v)) < 0 ||
        (rc = st_cfg_readable_file(c, v, &path)) < 0 || !(j->jwks_file = strdup(path)))
        return rc < 0 ? rc : -ENOMEM;
    if (edge_jwks_load(path, &cfg->jwks, why, sizeof(why)) < 0)
        return st_cfg_fail(c, v->line, "'%s': %s", v->path, why);
    if ((rc = st_cfg_require(c, n, "issuer", &v)) < 0 ||
        (rc = st_cfg_strdup(c, v, &j->issuer)) < 0 ||
        (rc = st_cfg_require(c, n, "audience", &v)) < 0 ||
        (rc = st_cfg_strdup(c, v, &j->audience)) < 0)
        return rc;
    if ((v = st_cfg_get(n, "user-claim")) && (rc = st_cfg_strdup(c, v, &j->user_claim)) < 0)
        return rc;
    if ((v = st_cfg_get(n, "groups-claim")) && (rc = st_cfg_strdup(c, v, &j->groups_claim)) < 0)
        return rc;
    return st_cfg_opt_int(c, n, "clock-skew", 0, 600, 1, &j->skew_s);
}

/* users, access-tokens (users without groups), access-policy and jwt. */
static int get_access(struct st_cfg *c, const struct st_cfg_node *root, struct edge_config *cfg)
{
    int rc = edge_users_parse(c, st_cfg_get(root, "users"), st_cfg_get(root, "access-tokens"),
                              &cfg->users);
    if (rc < 0)
        return rc;
    char **ids = calloc(cfg->n_tunnels + 1, sizeof(*ids));
    if (!ids)
        return -ENOMEM;
    for (size_t i = 0; i < cfg->n_tunnels; i++)
        ids[i] = cfg->tunnels[i].id;
    rc = edge_policy_parse(c, st_cfg_get(root, "access-policy"), ids, cfg->n_tunnels, &cfg->policy);
    free(ids);
    const struct st_cfg_node *v = st_cfg_get(root, "jwt");
    return rc < 0 || !v ? rc : get_jwt(c, v, cfg);
}

static int from_tree(struct st_cfg *c, struct edge_config *cfg)
{
    const struct st_cfg_node *root = c->root, *v;
    int rc;

    if (!root)
        return st_cfg_fail(c, 1, "empty configuration");
    if ((rc = st_cfg_map(c, root)) < 0 || (rc = st_cfg_check_keys(c, root, top_keys)) < 0)
        return rc;
    if ((v = st_cfg_get(root, "log-level")) && (rc = st_cfg_log_level(c, v, &cfg->log_level)) < 0)
        return rc;
    if ((v = st_cfg_get(root, "log-format")) &&
        (rc = st_cfg_log_format(c, v, &cfg->log_format)) < 0)
        return rc;
    if ((rc = st_cfg_user(c, root, &cfg->user, &cfg->group)) < 0)
        return rc;
    if ((v = st_cfg_get(root, "audit-log")) && (rc = st_cfg_strdup(c, v, &cfg->audit_log)) < 0)
        return rc;
    if ((v = st_cfg_get(root, "location"))) {
        free(cfg->location);
        cfg->location = NULL;
        if ((rc = st_cfg_strdup(c, v, &cfg->location)) < 0)
            return rc;
    }
    if ((rc = get_listeners(c, root, cfg)) < 0 || (rc = get_files(c, root, cfg)) < 0)
        return rc;
    if ((rc = st_cfg_opt_int(c, root, "grace-period", 0, 3600, 1000, &cfg->grace_period_ms)) < 0 ||
        (rc = st_cfg_opt_int(c, root, "heartbeat-interval", 1, 300, 1000,
                             &cfg->heartbeat_interval_ms)) < 0 ||
        (rc = st_cfg_opt_int(c, root, "heartbeat-count", 1, 100, 1, &cfg->heartbeat_count)) < 0 ||
        (rc = st_cfg_opt_int(c, root, "send-timeout", 1, 3600, 1000, &cfg->send_timeout_ms)) < 0 ||
        (rc = st_cfg_opt_int(c, root, "flow-idle-timeout", 0, 86400, 1000,
                             &cfg->flow_idle_timeout_ms)) < 0 ||
        (rc = get_limits(c, root, cfg)) < 0 || (rc = get_caps(c, root, cfg)) < 0)
        return rc;
    if ((rc = st_cfg_require(c, root, "tunnels", &v)) < 0 || (rc = get_tunnels(c, v, cfg)) < 0 ||
        (rc = edge_config_fleet(c, root, cfg)) < 0)
        return rc;
    return get_access(c, root, cfg);
}

/* Fills a zeroed config from a parsed tree: defaults, then what the file says. */
static int build(struct st_cfg *c, void *out)
{
    int rc = set_defaults(out);
    return rc < 0 ? rc : from_tree(c, out);
}

static void fini(void *out)
{
    edge_config_fini(out);
}

static const struct st_cfg_type edge_config_type = {sizeof(struct edge_config), build, fini};

int edge_config_parse(const char *text, size_t len, const char *name, struct edge_config *cfg,
                      char *err, size_t errlen)
{
    return st_cfg_parse_typed(&edge_config_type, text, len, name, cfg, err, errlen);
}

int edge_config_load(const char *path, struct edge_config *cfg, char *err, size_t errlen)
{
    return st_cfg_load_typed(&edge_config_type, path, cfg, err, errlen);
}

void edge_config_fini(struct edge_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->n_tunnels; i++) {
        struct edge_tunnel_conf *t = &cfg->tunnels[i];
        free(t->id);
        free(t->routes);
        for (size_t h = 0; h < t->n_hostnames; h++)
            free(t->hostnames[h]);
        for (size_t h = 0; t->host_acls && h <= t->n_hostnames; h++) {
            st_cfg_strlist_free(t->host_acls[h].users);
            st_cfg_strlist_free(t->host_acls[h].groups);
        }
        free(t->host_acls);
        free(t->hostnames);
        for (size_t h = 0; h < t->n_may_reach_ids; h++)
            free(t->may_reach_ids[h]);
        free(t->may_reach_ids);
        free(t->may_reach_cidrs);
    }
    free(cfg->tunnels);
    edge_users_fini(&cfg->users);
    edge_policy_fini(&cfg->policy);
    edge_jwks_free(cfg->jwks);
    free(cfg->jwt.jwks_file);
    free(cfg->jwt.issuer);
    free(cfg->jwt.audience);
    free(cfg->jwt.user_claim);
    free(cfg->jwt.groups_claim);
    free(cfg->location);
    free(cfg->cert_file);
    free(cfg->key_file);
    free(cfg->client_ca);
    for (size_t i = 0; i < cfg->n_https_certs; i++) {
        free(cfg->https_certs[i].cert_file);
        free(cfg->https_certs[i].key_file);
    }
    free(cfg->https_certs);
    free(cfg->user);
    free(cfg->group);
    free(cfg->audit_log);
    free(cfg->registry_url);
    if (cfg->registry_password)
        explicit_bzero(cfg->registry_password, strlen(cfg->registry_password));
    free(cfg->registry_password);
    free(cfg->registry_ca);
    free(cfg->registry_name);
    free(cfg->edge_id);
    free(cfg->relay_ca);
    free(cfg->relay_cert);
    free(cfg->relay_key);
    memset(cfg, 0, sizeof(*cfg));
}
