#include "gw_config.h"

#include "st_config.h"
#include "st_log.h"
#include "st_token.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_FILE_MAX 1024

static const char *const top_keys[] = {
    "log-level",
    "edges",
    "edge-name",
    "ca-file",
    "token",
    "token-file",
    "ha-connections",
    "edge-count",
    "heartbeat-interval",
    "heartbeat-count",
    "expose",
    "reach",
    "tun",
    "virtual-pool",
    "virtual-pool6",
    "edge-srv",
    "resolvers",
    "grace-period",
    "ingress",
    "udp-idle-timeout",
    "icmp-idle-timeout",
    "dns-idle-timeout",
    "datagram-flows-per-client",
    "datagram-flows-per-host",
    "log-format",
    "metrics-listen",
    "user",
    "group",
    NULL,
};
static const char *const expose_keys[] = {"routes", "connect-timeout", "allow-link-local",
                                          "allow-local", NULL};
static const char *const tun_keys[] = {"name", "mtu", "offload", "batch-reads", NULL};
static const char *const reach_keys[] = {"connections", "route-metric", NULL};

static const char token_rules[] =
    "'<tunnel-id>:<secret>' (id: 1-63 of [A-Za-z0-9_.-]; secret: at least 16 printable "
    "characters without spaces)";

static bool sockaddr_is_any(const struct st_sockaddr *a)
{
    static const struct in6_addr any6 = IN6ADDR_ANY_INIT;

    if (a->ss.ss_family == AF_INET)
        return ((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr == htonl(INADDR_ANY);
    return memcmp(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr, &any6, sizeof(any6)) == 0;
}

/* A list of concrete "ip:port" addresses (edges, resolvers). */
static int get_addrs(struct st_cfg *c, const struct st_cfg_node *n, struct st_sockaddr **out,
                     size_t *count)
{
    int rc = st_cfg_seq(c, n, 1);

    if (rc < 0)
        return rc;
    *out = calloc(n->n_children, sizeof(**out));
    if (!*out)
        return -ENOMEM;
    for (size_t i = 0; i < n->n_children; i++) {
        const struct st_cfg_node *e = n->children[i];
        struct st_sockaddr *a = &(*out)[i];
        if ((rc = st_cfg_sockaddr(c, e, a)) < 0)
            return rc;
        if (sockaddr_is_any(a) || st_sockaddr_port(a) == 0)
            return st_cfg_fail(c, e->line, "'%s': '%s' needs a concrete address and a port",
                               e->path, e->scalar);
        (*count)++;
    }
    return 0;
}

static bool valid_domain(const char *s)
{
    size_t n = strlen(s), label = 0;

    if (n == 0 || n > 240 || s[0] == '.' || s[0] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '.') {
            if (label == 0)
                return false;
            label = 0;
        } else if (isalnum(ch) || ch == '-' || ch == '_') {
            if (++label > 63)
                return false;
        } else {
            return false;
        }
    }
    return true;
}

/* Where the edges are: a static list (edges) or DNS SRV (edge-srv, resolvers). */
static int get_edges(struct st_cfg *c, const struct st_cfg_node *root, struct gw_config *cfg)
{
    const struct st_cfg_node *list = st_cfg_get(root, "edges");
    const struct st_cfg_node *srv = st_cfg_get(root, "edge-srv");
    const struct st_cfg_node *res = st_cfg_get(root, "resolvers");
    int rc;

    if (list && srv)
        return st_cfg_fail(c, srv->key_line > list->key_line ? srv->key_line : list->key_line,
                           "'edges' and 'edge-srv' are mutually exclusive");
    if (list)
        return get_addrs(c, list, &cfg->edges, &cfg->n_edges);
    if (!srv)
        return st_cfg_fail(c, root->line, "missing required key 'edges' (or 'edge-srv')");
    if ((rc = st_cfg_strdup(c, srv, &cfg->edge_srv)) < 0)
        return rc;
    if (!valid_domain(cfg->edge_srv))
        return st_cfg_fail(c, srv->line,
                           "'%s': '%s' is not a DNS domain (letters, digits, '-', '_', dots)",
                           srv->path, cfg->edge_srv);
    return res ? get_addrs(c, res, &cfg->resolvers, &cfg->n_resolvers) : 0;
}

static int set_token(struct st_cfg *c, const struct st_cfg_node *n, const char *token,
                     struct gw_config *cfg)
{
    if (st_token_split(token, cfg->tunnel_id, sizeof(cfg->tunnel_id), cfg->secret,
                       sizeof(cfg->secret)) == 0)
        return 0;
    return st_cfg_fail(c, n->line, "'%s' must be %s", n->path, token_rules);
}

static int read_token_file(struct st_cfg *c, const struct st_cfg_node *n, struct gw_config *cfg)
{
    char buf[TOKEN_FILE_MAX + 1];
    const char *path = NULL;
    int rc = st_cfg_secret_file(c, n, buf, sizeof(buf), &path);

    if (rc < 0)
        return rc;
    rc = st_token_split(buf, cfg->tunnel_id, sizeof(cfg->tunnel_id), cfg->secret,
                        sizeof(cfg->secret));
    explicit_bzero(buf, sizeof(buf));
    if (rc < 0)
        return st_cfg_fail(c, n->line, "'%s': file '%s' must hold %s", n->path, path, token_rules);
    return 0;
}

static int get_token(struct st_cfg *c, const struct st_cfg_node *root, struct gw_config *cfg)
{
    const struct st_cfg_node *tok = st_cfg_get(root, "token");
    const struct st_cfg_node *file = st_cfg_get(root, "token-file");
    const char *s = NULL;
    int rc;

    if (tok && file) {
        int line = tok->key_line > file->key_line ? tok->key_line : file->key_line;
        return st_cfg_fail(c, line, "'token' and 'token-file' are mutually exclusive");
    }
    if (file)
        return read_token_file(c, file, cfg);
    if (!tok)
        return st_cfg_fail(c, root->line, "missing required key 'token' (or 'token-file')");
    if ((rc = st_cfg_string(c, tok, &s)) < 0)
        return rc;
    return set_token(c, tok, s, cfg);
}

/* expose.allow-local: the guard's exceptions (gw_guard.h), IPv4 and IPv6 CIDRs; may be
 * empty. */
static int get_allow_local(struct st_cfg *c, const struct st_cfg_node *v, struct gw_config *cfg)
{
    int rc;

    if ((rc = st_cfg_seq(c, v, 0)) < 0)
        return rc;
    cfg->allow_local = calloc(v->n_children ? v->n_children : 1, sizeof(*cfg->allow_local));
    if (!cfg->allow_local)
        return -ENOMEM;
    for (size_t i = 0; i < v->n_children; i++, cfg->n_allow_local++) {
        const struct st_cfg_node *e = v->children[i];
        if ((rc = st_cfg_cidr(c, e, &cfg->allow_local[i])) < 0)
            return rc;
    }
    return 0;
}

static int get_expose(struct st_cfg *c, const struct st_cfg_node *n, struct gw_config *cfg)
{
    const struct st_cfg_node *v;
    int rc;

    if ((rc = st_cfg_map(c, n)) < 0 || (rc = st_cfg_check_keys(c, n, expose_keys)) < 0)
        return rc;
    cfg->expose = true;
    if ((rc = st_cfg_require(c, n, "routes", &v)) < 0 || (rc = st_cfg_seq(c, v, 1)) < 0)
        return rc;
    cfg->routes = calloc(v->n_children, sizeof(*cfg->routes));
    if (!cfg->routes)
        return -ENOMEM;
    for (size_t i = 0; i < v->n_children; i++, cfg->n_routes++)
        if ((rc = st_cfg_cidr(c, v->children[i], &cfg->routes[i])) < 0)
            return rc;
    if ((rc = st_cfg_opt_int(c, n, "connect-timeout", 1, 300, 1000, &cfg->connect_timeout_ms)) < 0)
        return rc;
    if ((v = st_cfg_get(n, "allow-local")) && (rc = get_allow_local(c, v, cfg)) < 0)
        return rc;
    v = st_cfg_get(n, "allow-link-local");
    return v ? st_cfg_bool(c, v, &cfg->allow_link_local) : 0;
}

/* reach: capture traffic to the CIDRs the edge allows and send it through the edge. */
static int get_reach(struct st_cfg *c, const struct st_cfg_node *n, struct gw_config *cfg)
{
    int rc;

    if ((rc = st_cfg_map(c, n)) < 0 || (rc = st_cfg_check_keys(c, n, reach_keys)) < 0)
        return rc;
    cfg->reach = true;
    if ((rc = st_cfg_opt_int(c, n, "connections", 1, 16, 1, &cfg->reach_connections)) < 0)
        return rc;
    return st_cfg_opt_int(c, n, "route-metric", 0, INT_MAX, 1, &cfg->reach_route_metric);
}

static int get_tun(struct st_cfg *c, const struct st_cfg_node *n, struct gw_config *cfg)
{
    const struct st_cfg_node *v;
    const char *name;
    int rc;

    if ((rc = st_cfg_map(c, n)) < 0 || (rc = st_cfg_check_keys(c, n, tun_keys)) < 0)
        return rc;
    if ((v = st_cfg_get(n, "name"))) {
        if ((rc = st_cfg_string(c, v, &name)) < 0)
            return rc;
        if (strlen(name) >= sizeof(cfg->tun_name) || strpbrk(name, "/: \t") ||
            strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
            return st_cfg_fail(c, v->line,
                               "'%s': '%s' is not a valid interface name (1-15 "
                               "characters, no '/', ':' or spaces)",
                               v->path, name);
        strcpy(cfg->tun_name, name);
    }
    if ((v = st_cfg_get(n, "offload")) && (rc = st_cfg_bool(c, v, &cfg->tun_offload)) < 0)
        return rc;
    if ((v = st_cfg_get(n, "batch-reads")) && (rc = st_cfg_bool(c, v, &cfg->tun_batch)) < 0)
        return rc;
    return st_cfg_opt_int(c, n, "mtu", 576, 9000, 1, &cfg->tun_mtu);
}

static int get_pool(struct st_cfg *c, const struct st_cfg_node *n, struct gw_config *cfg)
{
    int rc = st_cfg_cidr(c, n, &cfg->virtual_pool);

    if (rc < 0)
        return rc;
    if (cfg->virtual_pool.family != AF_INET || cfg->virtual_pool.prefix > 29)
        return st_cfg_fail(c, n->line, "'%s' must be an IPv4 CIDR with a prefix of at most /29",
                           n->path);
    return 0;
}

static int get_pool6(struct st_cfg *c, const struct st_cfg_node *n, struct gw_config *cfg)
{
    int rc = st_cfg_cidr(c, n, &cfg->virtual_pool6);

    if (rc < 0)
        return rc;
    if (cfg->virtual_pool6.family != AF_INET6 || cfg->virtual_pool6.prefix < 96 ||
        cfg->virtual_pool6.prefix > 120)
        return st_cfg_fail(c, n->line, "'%s' must be an IPv6 CIDR with a prefix of /96 to /120",
                           n->path);
    return 0;
}

static void set_defaults(struct gw_config *cfg)
{
    cfg->log_level = ST_LOG_INFO;
    cfg->ha_connections = 4;
    cfg->edge_count = 2;
    cfg->heartbeat_interval_ms = 5000;
    cfg->heartbeat_count = 5;
    cfg->grace_period_ms = 30000;
    cfg->udp_idle_timeout_ms = 210000;
    cfg->dgram_per_client = 16384;
    cfg->dgram_per_host = 32768;
    cfg->icmp_idle_timeout_ms = 30000;
    cfg->dns_idle_timeout_ms = 15000;
    cfg->reach_connections = 2;
    cfg->reach_route_metric = GW_REACH_ROUTE_METRIC;
    cfg->connect_timeout_ms = 10000;
    strcpy(cfg->tun_name, "st0");
    cfg->tun_mtu = 1500;
    cfg->tun_offload = true;
    cfg->tun_batch = true;
    st_cidr_parse("100.64.0.0/10", &cfg->virtual_pool);
    st_cidr_parse(GW_VIRTUAL_POOL6_DEFAULT, &cfg->virtual_pool6);
}

static int get_tls(struct st_cfg *c, const struct st_cfg_node *root, struct gw_config *cfg)
{
    const struct st_cfg_node *v;
    const char *path = NULL;
    int rc;

    if ((rc = st_cfg_require(c, root, "edge-name", &v)) < 0 ||
        (rc = st_cfg_strdup(c, v, &cfg->edge_name)) < 0)
        return rc;
    if ((rc = st_cfg_require(c, root, "ca-file", &v)) < 0 ||
        (rc = st_cfg_readable_file(c, v, &path)) < 0)
        return rc;
    cfg->ca_file = strdup(path);
    return cfg->ca_file ? 0 : -ENOMEM;
}

static int from_tree(struct st_cfg *c, struct gw_config *cfg)
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
    if ((v = st_cfg_get(root, "metrics-listen")) &&
        (rc = st_cfg_listener(c, v, &cfg->metrics_listen, &cfg->has_metrics)) < 0)
        return rc;
    if ((rc = st_cfg_user(c, root, &cfg->user, &cfg->group)) < 0)
        return rc;
    if ((v = st_cfg_get(root, "resolvers")) && !st_cfg_get(root, "edge-srv"))
        return st_cfg_fail(c, v->key_line, "'resolvers' is only used with 'edge-srv'");
    if ((rc = get_edges(c, root, cfg)) < 0 || (rc = get_tls(c, root, cfg)) < 0 ||
        (rc = get_token(c, root, cfg)) < 0)
        return rc;
    if ((rc = st_cfg_opt_int(c, root, "ha-connections", 1, 16, 1, &cfg->ha_connections)) < 0 ||
        (rc = st_cfg_opt_int(c, root, "edge-count", 1, 16, 1, &cfg->edge_count)) < 0 ||
        (rc = st_cfg_opt_int(c, root, "heartbeat-interval", 1, 300, 1000,
                             &cfg->heartbeat_interval_ms)) < 0 ||
        (rc = st_cfg_opt_int(c, root, "heartbeat-count", 1, 100, 1, &cfg->heartbeat_count)) < 0 ||
        (rc = st_cfg_opt_int(c, root, "grace-period", 0, 3600, 1000, &cfg->grace_period_ms)) < 0 ||
        (rc = st_cfg_opt_int(c, root, "udp-idle-timeout", 1, 86400, 1000,
                             &cfg->udp_idle_timeout_ms)) < 0 ||
        (rc = st_cfg_opt_int(c, root, "icmp-idle-timeout", 1, 3600, 1000,
                             &cfg->icmp_idle_timeout_ms)) < 0 ||
        (rc = st_cfg_opt_int(c, root, "dns-idle-timeout", 1, 86400, 1000,
                             &cfg->dns_idle_timeout_ms)) < 0 ||
        (rc = st_cfg_opt_int(c, root, "datagram-flows-per-client", 1, 65536, 1,
                             &cfg->dgram_per_client)) < 0 ||
        (rc = st_cfg_opt_int(c, root, "datagram-flows-per-host", 1, 65536, 1,
                             &cfg->dgram_per_host)) < 0)
        return rc;
    if ((v = st_cfg_get(root, "expose")) && (rc = get_expose(c, v, cfg)) < 0)
        return rc;
    if ((v = st_cfg_get(root, "reach")) && (rc = get_reach(c, v, cfg)) < 0)
        return rc;
    if ((v = st_cfg_get(root, "tun")) && (rc = get_tun(c, v, cfg)) < 0)
        return rc;
    if ((v = st_cfg_get(root, "virtual-pool6")) && (rc = get_pool6(c, v, cfg)) < 0)
        return rc;
    if ((v = st_cfg_get(root, "virtual-pool")) && (rc = get_pool(c, v, cfg)) < 0)
        return rc;
    if ((v = st_cfg_get(root, "ingress")) && (rc = gw_ingress_parse(c, v, &cfg->ingress)) < 0)
        return rc;
    return 0;
}

static int build(struct st_cfg *c, void *out)
{
    set_defaults(out);
    return from_tree(c, out);
}

static void fini(void *out)
{
    gw_config_fini(out);
}

static const struct st_cfg_type gw_config_type = {sizeof(struct gw_config), build, fini};

int gw_config_parse(const char *text, size_t len, const char *name, struct gw_config *cfg,
                    char *err, size_t errlen)
{
    return st_cfg_parse_typed(&gw_config_type, text, len, name, cfg, err, errlen);
}

int gw_config_load(const char *path, struct gw_config *cfg, char *err, size_t errlen)
{
    return st_cfg_load_typed(&gw_config_type, path, cfg, err, errlen);
}

void gw_config_fini(struct gw_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->edges);
    free(cfg->edge_srv);
    free(cfg->resolvers);
    free(cfg->edge_name);
    free(cfg->ca_file);
    free(cfg->routes);
    free(cfg->allow_local);
    gw_ingress_fini(&cfg->ingress);
    free(cfg->user);
    free(cfg->group);
    explicit_bzero(cfg, sizeof(*cfg));
}
