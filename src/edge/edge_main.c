/* subtunnel-edge: public meeting point for gateways (tunnels) and users (access proxy). */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "edge_access.h"
#include "edge_ah2.h"
#include "edge_fleet.h"
#include "edge_flow.h"
#include "edge_hs.h"
#include "edge_metrics.h"
#include "edge_relay.h"
#include "edge_server.h"
#include "edge_svc.h"
#include "edge_tconn.h"
#include "edge_vconn.h"
#include "edge_web.h"
#include "st_cli.h"
#include "st_drain.h"
#include "st_log.h"
#include "st_sock.h"
#include "st_tls.h"

/* Access TLS and visitor HTTPS: HTTP/2 preferred, HTTP/1.1 (or no ALPN) served too. */
static const unsigned char web_alpn[] = "\x02h2\x08http/1.1";
static const unsigned char tunnel_alpn[] = "\x02h2\x0f" EDGE_ALPN_REACH;

static size_t live_flows(void *data)
{
    const struct edge_server *srv = data;
    return srv->live_flows + srv->live_webs;
}

/* First SIGTERM: no new connections or flows; open flows go on. */
static void drain_start(void *data, int signo)
{
    struct edge_server *srv = data;
    st_info("signal %d: draining: no new connections or flows; open flows may finish within %d s "
            "(signal again to exit now)",
            signo, srv->cfg.grace_period_ms / 1000);
    st_notify_stopping(&srv->notify);
    edge_fleet_withdraw(srv->fleet);
    edge_listen_close_all(srv);
    /* relay connections both ways: the holders' flows finish, no new ones come or go */
    edge_relay_shutdown(srv->relay);
    for (struct edge_ah2 *a = srv->ah2s; a; a = a->next)
        edge_ah2_goaway(a);
    edge_vconn_drain(srv);
}

static const struct edge_tunnel_conf *find_conf(const struct edge_config *cfg, const char *id)
{
    for (size_t i = 0; i < cfg->n_tunnels; i++)
        if (strcmp(cfg->tunnels[i].id, id) == 0)
            return &cfg->tunnels[i];
    return NULL;
}

/* Marks the registered connections the new configuration no longer admits. */
static void mark_evictions(struct edge_server *srv, const struct edge_config *next)
{
    for (struct edge_tconn *c = srv->tconns; c; c = c->next) {
        c->evict[0] = '\0';
        if (!c->registered)
            continue;
        const struct edge_tunnel_conf *n = find_conf(next, c->tunnel->id);
        const struct st_cidr *bad = NULL;
        char cidr[64] = "?";
        if (!n) {
            snprintf(c->evict, sizeof(c->evict), "tunnel removed from the edge configuration");
        } else if (!edge_tunnel_has_secret(n, c->secret_used)) {
            snprintf(c->evict, sizeof(c->evict), "tunnel secret changed");
        } else if (!edge_registry_conn_allowed(c->tunnel, c, n, &bad)) {
            st_cidr_format(bad, cidr, sizeof(cidr));
            snprintf(c->evict, sizeof(c->evict), "route %s is no longer allowed for this tunnel",
                     cidr);
        }
    }
}

static bool same_more(const struct edge_listen_more *a, const struct edge_listen_more *b)
{
    return a->n == b->n && memcmp(a->a, b->a, a->n * sizeof(a->a[0])) == 0;
}

static bool same_listeners(const struct edge_config *a, const struct edge_config *b)
{
    return same_more(&a->tunnel_more, &b->tunnel_more) &&
           same_more(&a->access_more, &b->access_more) &&
           same_more(&a->access_tls_more, &b->access_tls_more) &&
           same_more(&a->http_more, &b->http_more) && same_more(&a->https_more, &b->https_more) &&
           memcmp(&a->tunnel_listen, &b->tunnel_listen, sizeof(a->tunnel_listen)) == 0 &&
           a->has_access == b->has_access &&
           memcmp(&a->access_listen, &b->access_listen, sizeof(a->access_listen)) == 0 &&
           a->has_access6 == b->has_access6 &&
           memcmp(&a->access_listen6, &b->access_listen6, sizeof(a->access_listen6)) == 0 &&
           a->has_access_tls == b->has_access_tls &&
           memcmp(&a->access_tls_listen, &b->access_tls_listen, sizeof(a->access_tls_listen)) ==
               0 &&
           a->has_http == b->has_http && a->has_https == b->has_https &&
           memcmp(&a->http_listen, &b->http_listen, sizeof(a->http_listen)) == 0 &&
           memcmp(&a->https_listen, &b->https_listen, sizeof(a->https_listen)) == 0;
}

/* The TLS contexts of the listeners, built together so a reload swaps them as one. */
struct tls_set {
    SSL_CTX *tunnel, *access, *https;
    SSL_CTX **alt; /* https-certs, chosen by SNI */
    size_t n_alt;
};

static void tls_free(struct tls_set *t)
{
    SSL_CTX_free(t->tunnel);
    SSL_CTX_free(t->access);
    SSL_CTX_free(t->https);
    for (size_t i = 0; i < t->n_alt; i++)
        SSL_CTX_free(t->alt[i]);
    free(t->alt);
    memset(t, 0, sizeof(*t));
}

static int load_tls(const struct edge_config *cfg, struct tls_set *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof(*t));
    if (!(t->tunnel = st_tls_server_ctx(cfg->cert_file, cfg->key_file, tunnel_alpn, err, errlen)))
        goto fail;
    if (cfg->has_access_tls &&
        (!(t->access = st_tls_server_ctx(cfg->cert_file, cfg->key_file, web_alpn, err, errlen)) ||
         (cfg->client_ca && st_tls_client_ca(t->access, cfg->client_ca, err, errlen) < 0)))
        goto fail;
    if (!cfg->has_https)
        return 0;
    if (!(t->https = st_tls_server_ctx(cfg->cert_file, cfg->key_file, web_alpn, err, errlen)) ||
        (cfg->client_ca && st_tls_client_ca(t->https, cfg->client_ca, err, errlen) < 0))
        goto fail;
    if (cfg->n_https_certs && !(t->alt = calloc(cfg->n_https_certs, sizeof(*t->alt)))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (; t->n_alt < cfg->n_https_certs; t->n_alt++) {
        const struct edge_cert *c = &cfg->https_certs[t->n_alt];
        if (!(t->alt[t->n_alt] =
                  st_tls_server_ctx(c->cert_file, c->key_file, web_alpn, err, errlen)))
            goto fail;
        /* After an SNI switch OpenSSL verifies with the chosen context's store: each needs
         * the client CAs too. */
        if (cfg->client_ca && st_tls_client_ca(t->alt[t->n_alt], cfg->client_ca, err, errlen)) {
            SSL_CTX_free(t->alt[t->n_alt]);
            goto fail;
        }
    }
    st_tls_sni(t->https, t->alt, t->n_alt);
    return 0;
fail:
    tls_free(t);
    return -1;
}

static void tls_swap(struct edge_server *srv, struct tls_set *t)
{
    struct tls_set old = {srv->tunnel_ctx, srv->access_ctx, srv->https_ctx, srv->https_alt,
                          srv->n_https_alt};
    srv->tunnel_ctx = t->tunnel;
    srv->access_ctx = t->access;
    srv->https_ctx = t->https;
    srv->https_alt = t->alt;
    srv->n_https_alt = t->n_alt;
    *t = old;
}

static bool same_str(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* The fleet registry's settings need a restart: the running ones move into next. */
static void keep_registry(struct edge_config *cur, struct edge_config *next)
{
    if (cur->has_registry == next->has_registry &&
        same_str(cur->registry_url, next->registry_url) &&
        same_str(cur->registry_password, next->registry_password) &&
        same_str(cur->registry_ca, next->registry_ca) &&
        same_str(cur->registry_name, next->registry_name) &&
        same_str(cur->edge_id, next->edge_id) && cur->has_relay == next->has_relay &&
        same_str(cur->relay_ca, next->relay_ca) && same_str(cur->relay_cert, next->relay_cert) &&
        same_str(cur->relay_key, next->relay_key) &&
        (!cur->has_relay ||
         !memcmp(&cur->relay_listen, &next->relay_listen, sizeof(cur->relay_listen))))
        return;
    st_warn("SIGHUP: registry, edge-id and relay-listen (and relay-ca, -cert, -key) need a "
            "restart; keeping the running ones");
    struct edge_config t = *next;
    next->has_registry = cur->has_registry;
    next->registry_url = cur->registry_url;
    next->registry_password = cur->registry_password;
    next->registry_ca = cur->registry_ca;
    next->registry_name = cur->registry_name;
    next->edge_id = cur->edge_id;
    next->has_relay = cur->has_relay;
    next->relay_listen = cur->relay_listen;
    next->relay_ca = cur->relay_ca;
    next->relay_cert = cur->relay_cert;
    next->relay_key = cur->relay_key;
    cur->registry_url = t.registry_url; /* freed with cur */
    cur->registry_password = t.registry_password;
    cur->relay_ca = t.relay_ca;
    cur->relay_cert = t.relay_cert;
    cur->relay_key = t.relay_key;
    cur->registry_ca = t.registry_ca;
    cur->registry_name = t.registry_name;
    cur->edge_id = t.edge_id;
}

/* SIGHUP: tunnels, access tokens, certificate, log level and timers from the file; the
 * listeners need a restart. Connections of removed tunnels, or whose secret or routes
 * changed, are closed; the others stay and get the new ROUTES. */
static void reload_config(struct edge_server *srv)
{
    struct edge_config next;
    struct tls_set tls;
    char err[512];
    if (edge_config_load(srv->cli->config, &next, err, sizeof(err)) < 0) {
        st_err("SIGHUP: reload failed, keeping the running configuration: %s", err);
        return;
    }
    edge_svc_keep_user(&srv->cfg, &next);
    if (!same_listeners(&srv->cfg, &next)) {
        st_warn("SIGHUP: listener addresses need a restart; keeping the running ones");
        next.tunnel_listen = srv->cfg.tunnel_listen;
        next.tunnel_more = srv->cfg.tunnel_more;
        next.access_more = srv->cfg.access_more;
        next.access_tls_more = srv->cfg.access_tls_more;
        next.http_more = srv->cfg.http_more;
        next.https_more = srv->cfg.https_more;
        next.has_access = srv->cfg.has_access;
        next.access_listen = srv->cfg.access_listen;
        next.has_access6 = srv->cfg.has_access6;
        next.access_listen6 = srv->cfg.access_listen6;
        next.has_access_tls = srv->cfg.has_access_tls;
        next.access_tls_listen = srv->cfg.access_tls_listen;
        next.has_http = srv->cfg.has_http;
        next.http_listen = srv->cfg.http_listen;
        next.has_https = srv->cfg.has_https;
        next.https_listen = srv->cfg.https_listen;
    }
    if (next.has_metrics != srv->cfg.has_metrics ||
        (next.has_metrics &&
         memcmp(&next.metrics_listen, &srv->cfg.metrics_listen, sizeof(next.metrics_listen)))) {
        st_warn("SIGHUP: metrics-listen needs a restart; keeping the running one");
        next.has_metrics = srv->cfg.has_metrics;
        next.metrics_listen = srv->cfg.metrics_listen;
    }
    keep_registry(&srv->cfg, &next);
    if (load_tls(&next, &tls, err, sizeof(err)) < 0) {
        st_err("SIGHUP: reload failed, keeping the running configuration: TLS: %s", err);
        edge_config_fini(&next);
        return;
    }
    mark_evictions(srv, &next);
    if (edge_registry_reconfigure(&srv->reg, &next) < 0) {
        st_err("SIGHUP: reload failed: out of memory; keeping the running configuration");
        tls_free(&tls);
        edge_config_fini(&next);
        return;
    }
    edge_config_fini(&srv->cfg);
    srv->cfg = next;
    tls_swap(srv, &tls);
    tls_free(&tls);
    srv->drain.grace_ms = (uint64_t)srv->cfg.grace_period_ms;
    st_log_set_format(srv->cfg.log_format);
    st_cli_log_level(srv->cli, srv->cfg.log_level);
    edge_limits_reconfigure(&srv->limits, &srv->cfg);
    edge_listen_check_fds(srv);
    if ((srv->audit.path == NULL) != (srv->cfg.audit_log == NULL) ||
        (srv->audit.path && strcmp(srv->audit.path, srv->cfg.audit_log) != 0))
        edge_audit_reopen(&srv->audit, srv->cfg.audit_log);
    size_t revoked = edge_flow_revoke(srv) + edge_web_revoke(srv, st_wall_seconds()), evicted = 0;
    for (struct edge_tconn *c = srv->tconns; c; c = c->next) {
        if (c->evict[0]) {
            edge_tconn_evict(c, c->evict);
            evicted++;
        } else {
            edge_tconn_send_routes(c);
        }
    }
    st_info("SIGHUP: configuration reloaded (%zu tunnels, %zu users, %zu access-policy rules; "
            "%zu connections closed, %zu user flows closed: credential removed or expired, or "
            "no longer allowed)",
            srv->cfg.n_tunnels, srv->cfg.users.n, srv->cfg.policy.n_rules, evicted, revoked);
}

/* SIGHUP, told to the service manager (RELOADING=1, then READY=1 whatever the outcome). */
static void reload(void *data)
{
    struct edge_server *srv = data;
    st_notify_reloading(&srv->notify);
    reload_config(srv);
    st_notify_reloaded(&srv->notify);
}

/* Credentials expire while their flows run (a user's `expires`): checked once a minute. */
static void on_expiry(struct st_timer *t)
{
    struct edge_server *srv = t->data;
    size_t n = edge_flow_revoke(srv) + edge_web_revoke(srv, st_wall_seconds());
    if (n)
        st_info("%zu user flows closed: their credential expired", n);
    st_timer_start(t, EDGE_EXPIRY_CHECK_MS);
}

/* SIGUSR1: logrotate moved the audit log away; write to a new file under the same path. */
static void reopen_audit(void *data)
{
    struct edge_server *srv = data;
    if (srv->audit.path && edge_audit_reopen(&srv->audit, srv->cfg.audit_log) == 0)
        st_info("SIGUSR1: audit-log %s reopened", srv->audit.path);
}

static uint64_t random_seed(void)
{
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
        seed = (uint64_t)rand() << 32 ^ (uint64_t)getpid();
    return seed;
}

/* relay-listen: other edges open relayed flows here (client certificates from relay-ca). */
static int start_relay(struct edge_server *srv)
{
    char err[300];
    const struct edge_config *cfg = &srv->cfg;
    if (!cfg->has_relay)
        return 0;
    srv->relay_ctx =
        edge_relay_server_ctx(cfg->relay_ca, cfg->relay_cert, cfg->relay_key, err, sizeof(err));
    if (!srv->relay_ctx) {
        st_err("relay-listen: TLS: %s", err);
        return -1;
    }
    return edge_listen_open(srv, EDGE_LIS_RELAY, &cfg->relay_listen) < 0 ? -1 : 0;
}

static int run(struct edge_server *srv)
{
    char err[300];
    struct tls_set tls;
    if (load_tls(&srv->cfg, &tls, err, sizeof(err)) < 0) {
        st_err("TLS: %s", err);
        return 1;
    }
    tls_swap(srv, &tls);
    if (edge_registry_init(&srv->reg, &srv->cfg) < 0 || st_loop_init(&srv->loop) < 0) {
        st_err("start-up: out of memory or no epoll");
        return 1;
    }
    srv->reg.conn_load = edge_tconn_load;
    if (edge_audit_open(&srv->audit, &srv->loop, srv->cfg.audit_log, err, sizeof(err)) < 0) {
        st_err("%s", err);
        return 1;
    }
    st_timer_init(&srv->expiry, &srv->loop, on_expiry, srv);
    st_timer_start(&srv->expiry, EDGE_EXPIRY_CHECK_MS);
    edge_svc_start(srv);
    srv->drain = (struct st_drain){.start = drain_start,
                                   .busy = live_flows,
                                   .idle_msg = "drained: no flow left",
                                   .busy_what = "flows open",
                                   .reload = reload,
                                   .stats = reopen_audit,
                                   .grace_ms = (uint64_t)srv->cfg.grace_period_ms,
                                   .data = srv};
    st_drain_install(&srv->drain, &srv->loop);
    edge_limits_init(&srv->limits, &srv->loop, &srv->cfg);
    edge_conns_init(&srv->conns, random_seed());
    st_quota_init(&srv->users, random_seed());
    edge_listen_init(srv);
    edge_listen_check_fds(srv);
    signal(SIGPIPE, SIG_IGN);
    if (edge_metrics_start(srv) < 0)
        return 1;
    if (edge_listen_open_all(srv, EDGE_LIS_TUNNEL, &srv->cfg.tunnel_listen, &srv->cfg.tunnel_more))
        return 1;
    if (srv->cfg.has_access &&
        edge_listen_open_all(srv, EDGE_LIS_ACCESS, &srv->cfg.access_listen, &srv->cfg.access_more))
        return 1;
    if (srv->cfg.has_access6 && edge_listen_open(srv, EDGE_LIS_ACCESS6, &srv->cfg.access_listen6))
        return 1;
    if (edge_config_cleartext_exposed(&srv->cfg))
        st_warn("access-listen is cleartext beyond loopback: access tokens cross the network "
                "unencrypted; for the internet use access-tls-listen and set access-listen to a "
                "loopback address or off");
    if (srv->cfg.has_access_tls &&
        edge_listen_open_all(srv, EDGE_LIS_ACCESS_TLS, &srv->cfg.access_tls_listen,
                             &srv->cfg.access_tls_more))
        return 1;
    if (srv->cfg.has_http &&
        edge_listen_open_all(srv, EDGE_LIS_HTTP, &srv->cfg.http_listen, &srv->cfg.http_more))
        return 1;
    if (srv->cfg.has_https &&
        edge_listen_open_all(srv, EDGE_LIS_HTTPS, &srv->cfg.https_listen, &srv->cfg.https_more))
        return 1;
    if (srv->cfg.has_registry && !(srv->fleet = edge_fleet_from_config(&srv->loop, &srv->cfg)))
        return 1;
    if (srv->cfg.relay_cert && (!(srv->relay = edge_relay_new(srv)) || start_relay(srv) < 0))
        return 1;
    if (edge_svc_ready(srv) < 0)
        return 1;
    int rv = st_loop_run(&srv->loop);
    edge_relay_free(srv->relay);
    srv->relay = NULL;
    SSL_CTX_free(srv->relay_ctx);
    edge_fleet_free(srv->fleet);
    srv->fleet = NULL;
    edge_svc_stop(srv);
    edge_metrics_stop(srv);
    edge_listen_close_all(srv);
    edge_limits_fini(&srv->limits);
    uint64_t opened = 0, refused = 0, visits_refused = 0;
    for (int k = 0; k < ST_KIND_N; k++) {
        opened += k == ST_KIND_HTTP ? 0 : srv->flows_opened[k];
        for (int r = 0; r < ST_REASON_N; r++)
            *(k == ST_KIND_HTTP ? &visits_refused : &refused) += srv->flows_refused[k][r];
    }
    st_info("stopped (%llu flows opened, %llu refused, %llu auth failures; %llu visitor "
            "requests, %llu refused; closed: %llu for a reader that stalled, %llu idle; "
            "connections: %llu refused by a cap, %llu unauthenticated closed early, %llu accept "
            "pauses)",
            (unsigned long long)opened, (unsigned long long)refused,
            (unsigned long long)srv->auth_failures, (unsigned long long)srv->visits,
            (unsigned long long)visits_refused, (unsigned long long)srv->flows_stalled,
            (unsigned long long)srv->flows_idle, (unsigned long long)srv->conns_refused,
            (unsigned long long)srv->conns_evicted, (unsigned long long)srv->accept_pauses);
    st_quota_fini(&srv->users);
    edge_conns_fini(&srv->conns);
    edge_audit_close(&srv->audit);
    return rv < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    struct st_cli cli;
    int rc = st_cli_parse(&cli, "subtunnel-edge", argc, argv);
    if (rc >= 0)
        return rc;
    static struct edge_server srv;
    char err[512];
    if (edge_config_load(cli.config, &srv.cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "subtunnel-edge: %s\n", err);
        return 2;
    }
    st_log_set_format(srv.cfg.log_format);
    rc = st_cli_log_level(&cli, srv.cfg.log_level);
    srv.cli = &cli;
    if (rc == 0 && edge_svc_resolve(&srv, err, sizeof(err)) < 0) {
        fprintf(stderr, "subtunnel-edge: %s: %s\n", cli.config, err);
        rc = 2;
    }
    if (rc == 0 && cli.check)
        printf("%s: configuration OK (%zu tunnels, %zu users, %zu access-policy rules)\n",
               cli.config, srv.cfg.n_tunnels, srv.cfg.users.n, srv.cfg.policy.n_rules);
    else if (rc == 0) {
        st_cli_tune_malloc();
        rc = run(&srv);
    }
    edge_config_fini(&srv.cfg);
    return rc;
}
