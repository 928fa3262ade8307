/* subtunnel-gateway: dials edges and serves their streams into the private subnet. */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "gw_conn.h"
#include "gw_flow.h"
#include "gw_guard.h"
#include "gw_metrics.h"
#include "gw_origin.h"
#include "gw_pool.h"
#include "gw_server.h"
#include "gw_svc.h"
#include "ns_stack.h"
#include "ns_tun.h"
#include "st_cli.h"
#include "st_drain.h"
#include "st_log.h"
#include "st_tls.h"

#define LWIP_TICK_MS 100
#define TUN_READ_BUDGET 256

static void on_tun(struct st_io *io, uint32_t ev)
{
    (void)ev;
    struct gw_server *gw = io->data;
    bool batched = gw->nif.batch;
    int n = ns_netif_read(&gw->nif, TUN_READ_BUDGET);
    if (batched && !gw->nif.batch)
        st_warn("TUN %s: batched reads turned off: %s; one read per packet", gw->ifname,
                strerror(gw->nif.batch_err));
    if (n < 0)
        st_warn("TUN %s read: %s", gw->ifname, strerror(-n));
    else if (n == TUN_READ_BUDGET)
        st_loop_now(&gw->loop); /* more pending: level-triggered epoll calls us again */
}

/* Before the loop sleeps: write the TCP segments lwIP produced in this round as GSO packets. */
static void flush_tun(void *data)
{
    struct gw_server *gw = data;
    ns_netif_flush(&gw->nif);
}

static void on_lwip_tick(struct st_timer *t)
{
    ns_stack_poll_timers();
    st_timer_start(t, LWIP_TICK_MS);
}

static size_t busy_conns(void *data)
{
    return gw_pool_busy(data);
}

/* First SIGTERM: unregister everywhere; open flows go on. */
static void drain_start(void *data, int signo)
{
    struct gw_server *gw = data;
    st_info("signal %d: unregistering; open flows may finish within %d s (signal again to exit "
            "now)",
            signo, gw->cfg.grace_period_ms / 1000);
    st_notify_stopping(&gw->notify);
    gw_pool_drain(gw);
}

static bool same_routes(const struct gw_config *a, const struct gw_config *b)
{
    return a->n_routes == b->n_routes &&
           (a->n_routes == 0 ||
            memcmp(a->routes, b->routes, a->n_routes * sizeof(*a->routes)) == 0);
}

static bool same_addrs(const struct st_sockaddr *a, size_t na, const struct st_sockaddr *b,
                       size_t nb)
{
    return na == nb && (na == 0 || memcmp(a, b, na * sizeof(*a)) == 0);
}

static bool str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* The ingress host names (sent in REGISTER) are the same, in the same order. */
static bool same_hostnames(const struct gw_config *a, const struct gw_config *b)
{
    if (a->ingress.n_rules != b->ingress.n_rules)
        return false;
    for (size_t i = 0; i < a->ingress.n_rules; i++)
        if (!str_eq(a->ingress.rules[i].hostname, b->ingress.rules[i].hostname))
            return false;
    return true;
}

/* Settings that only a restart applies: keep the running values, say so. */
static void keep_restart_only(const struct gw_config *cur, struct gw_config *next)
{
    if (strcmp(cur->tun_name, next->tun_name) != 0 || cur->tun_mtu != next->tun_mtu ||
        memcmp(&cur->virtual_pool, &next->virtual_pool, sizeof(cur->virtual_pool)) != 0 ||
        memcmp(&cur->virtual_pool6, &next->virtual_pool6, sizeof(cur->virtual_pool6)) != 0 ||
        cur->expose != next->expose || cur->reach != next->reach) {
        st_warn("SIGHUP: tun, virtual-pool(6) and adding or removing expose/reach need a restart; "
                "keeping the running values");
        strcpy(next->tun_name, cur->tun_name);
        next->tun_mtu = cur->tun_mtu;
        next->virtual_pool = cur->virtual_pool;
        next->virtual_pool6 = cur->virtual_pool6;
        if (cur->expose != next->expose) {
            next->expose = cur->expose;
            next->n_routes = 0; /* expose added: its routes wait for the restart */
        }
        next->reach = cur->reach;
    }
    if (cur->has_metrics != next->has_metrics ||
        (cur->has_metrics &&
         memcmp(&cur->metrics_listen, &next->metrics_listen, sizeof(cur->metrics_listen)) != 0)) {
        st_warn("SIGHUP: metrics-listen needs a restart; keeping the running one");
        next->has_metrics = cur->has_metrics;
        next->metrics_listen = cur->metrics_listen;
    }
    if (cur->reach_route_metric != next->reach_route_metric) {
        st_warn("SIGHUP: reach.route-metric needs a restart; keeping %d", cur->reach_route_metric);
        next->reach_route_metric = cur->reach_route_metric;
    }
}

/* SIGHUP: re-read the file. Token, routes, ingress host names, edge-name or CA changes (or
 * connections an edge refused) replace every edge connection (new ones register before the old ones
 * drain); edge list changes move only the affected connections; the rest applies to new
 * flows and connections. */
static void reload_config(struct gw_server *gw)
{
    struct gw_config next, *cur = &gw->cfg;
    char err[512];
    if (gw_config_load(gw->cli->config, &next, err, sizeof(err)) < 0) {
        st_err("SIGHUP: reload failed, keeping the running configuration: %s", err);
        return;
    }
    SSL_CTX *tls = st_tls_client_ctx(next.ca_file, err, sizeof(err));
    if (!tls) {
        st_err("SIGHUP: reload failed, keeping the running configuration: TLS: %s", err);
        gw_config_fini(&next);
        return;
    }
    keep_restart_only(cur, &next);
    gw_svc_keep_user(cur, &next);
    bool identity = gw_pool_refused(gw) || strcmp(cur->tunnel_id, next.tunnel_id) != 0 ||
                    strcmp(cur->secret, next.secret) != 0 || !same_routes(cur, &next) ||
                    !same_hostnames(cur, &next) || strcmp(cur->edge_name, next.edge_name) != 0 ||
                    strcmp(cur->ca_file, next.ca_file) != 0;
    bool edges = !same_addrs(cur->edges, cur->n_edges, next.edges, next.n_edges) ||
                 !str_eq(cur->edge_srv, next.edge_srv) ||
                 !same_addrs(cur->resolvers, cur->n_resolvers, next.resolvers, next.n_resolvers) ||
                 cur->ha_connections != next.ha_connections || cur->edge_count != next.edge_count ||
                 cur->reach_connections != next.reach_connections;
    st_log_set_format(next.log_format);
    st_cli_log_level(gw->cli, next.log_level);
    gw_config_fini(cur);
    *cur = next;
    SSL_CTX_free(gw->tls);
    gw->tls = tls;
    gw->drain.grace_ms = (uint64_t)cur->grace_period_ms;
    st_info("SIGHUP: configuration reloaded (%s)", identity ? "identity changed: replacing edge "
                                                              "connections"
                                                   : edges  ? "edge list changed"
                                                            : "no connection change");
    if (edges)
        gw_pool_reconfigure(gw, identity);
    else if (identity)
        gw_pool_replace_all(gw);
    gw_reach_sync(gw); /* edges and expose.routes may have changed what is refused */
    /* expose.allow-local and allow-link-local apply to new flows */
    gw_guard_reload(gw);
}

/* SIGHUP, told to the service manager (RELOADING=1, then READY=1 whatever the outcome). */
static void reload(void *data)
{
    struct gw_server *gw = data;
    st_notify_reloading(&gw->notify);
    reload_config(gw);
    st_notify_reloaded(&gw->notify);
}

/* No link-local address, DAD or router solicitations on the TUN: lwIP has no use for them.
 * Only a failure other than "no IPv6 in this kernel" stops the gateway. */
static int no_autoconf6(const char *ifname)
{
    int rv = ns_tun_no_autoconf6(ifname);

    if (rv == -EAFNOSUPPORT || rv == -EOPNOTSUPP) {
        st_warn("TUN %s: IPv6 autoconfiguration left on: %s", ifname, strerror(-rv));
        return 0;
    }
    return rv;
}

static int setup_tun(struct gw_server *gw)
{
    const struct gw_config *cfg = &gw->cfg;
    uint32_t base;
    memcpy(&base, cfg->virtual_pool.addr, 4);
    gw->tun_addr.s_addr = htonl(ntohl(base) + 1);
    gw->stack_addr.s_addr = htonl(ntohl(base) + 2);
    bool offload = cfg->tun_offload;
    int fd = ns_tun_open(cfg->tun_name, gw->ifname, &offload);
    if (fd < 0) {
        st_err("TUN %s: %s (the gateway needs CAP_NET_ADMIN)", cfg->tun_name, strerror(-fd));
        return -1;
    }
    memcpy(gw->tun_addr6.s6_addr, cfg->virtual_pool6.addr, 16);
    gw->tun_addr6.s6_addr[15] |= 1;
    int rv;
    if ((rv = ns_tun_set_mtu(gw->ifname, cfg->tun_mtu)) < 0 ||
        (rv = ns_tun_add_addr4(gw->ifname, gw->tun_addr, cfg->virtual_pool.prefix)) < 0 ||
        (rv = ns_tun_add_addr6(gw->ifname, &gw->tun_addr6, cfg->virtual_pool6.prefix)) < 0 ||
        (rv = no_autoconf6(gw->ifname)) < 0 || (rv = ns_tun_set_up(gw->ifname)) < 0) {
        st_err("TUN %s: configuring: %s", gw->ifname, strerror(-rv));
        close(fd);
        return -1;
    }
    ns_stack_init();
    if ((rv = ns_netif_init(&gw->nif, fd, gw->stack_addr, cfg->virtual_pool.prefix, cfg->tun_mtu)) <
        0) {
        st_err("lwIP netif: %s", strerror(-rv));
        close(fd);
        return -1;
    }
    if (offload && (rv = ns_netif_set_vnet(&gw->nif, true)) < 0) {
        st_err("lwIP netif: %s", strerror(-rv));
        ns_netif_fini(&gw->nif);
        close(fd);
        return -1;
    }
    if (cfg->tun_offload && !offload)
        st_warn("TUN %s: the kernel refused IFF_VNET_HDR; running without offloads", gw->ifname);
    if (cfg->tun_batch && (rv = ns_netif_batch_reads(&gw->nif)) < 0)
        st_warn("TUN %s: batched reads unavailable (io_uring: %s); one read per packet", gw->ifname,
                strerror(-rv));
    gw->loop.idle_cb = flush_tun;
    gw->loop.idle_data = gw;
    gw->nif.icmp_hook = gw_dgram_icmp_hook;
    gw->nif.icmp_arg = gw;
    st_io_init(&gw->tun_io, &gw->loop, fd, on_tun, gw);
    st_io_set(&gw->tun_io, EPOLLIN);
    st_timer_init(&gw->lwip_timer, &gw->loop, on_lwip_tick, gw);
    st_timer_start(&gw->lwip_timer, LWIP_TICK_MS);
    char pool[64], pool6[64];
    st_cidr_format(&cfg->virtual_pool, pool, sizeof(pool));
    st_cidr_format(&cfg->virtual_pool6, pool6, sizeof(pool6));
    st_info("TUN %s up (mtu %d, offload %s, batched reads %s), virtual pool %s and %s", gw->ifname,
            cfg->tun_mtu, offload ? "on" : "off", gw->nif.batch ? "on" : "off", pool, pool6);
    return 0;
}

static long rss_kb(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return -1;
    if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
        rss = -1;
    fclose(f);
    return rss < 0 ? -1 : rss * (sysconf(_SC_PAGESIZE) / 1024);
}

/* SIGUSR1: one line of counters (tests and operators read it from the log). */
static void log_stats(void *data)
{
    struct gw_server *gw = data;
    const struct gw_dgram_stats *d = &gw->dgram;
    size_t live = 0;
    for (size_t i = 0; i < gw->n_conns; i++)
        for (struct gw_flow *f = gw->conns[i]->flows; f; f = f->next)
            live += !f->dgram;
    uint64_t refused = 0;
    for (int r = 0; r < ST_REASON_N; r++)
        refused += gw->flows_refused[ST_KIND_TCP][r];
    st_info("stats: tcp_live=%zu tcp_opened=%llu tcp_refused=%llu udp_live=%llu udp_opened=%llu "
            "icmp_live=%llu icmp_opened=%llu dgram_out=%llu dgram_in=%llu dgram_dropped=%llu "
            "dgram_expired=%llu dgram_refused=%llu dgram_queued=%llu vips=%zu tun_rx=%llu "
            "tun_tx=%llu tun_rx_gso=%llu tun_tx_gso=%llu tun_rx_drops=%llu tun_tx_drops=%llu "
            "tun_rx_ptb=%llu tun_tx_pmtu=%llu tun_rx_batches=%llu "
            "tunnel_zc_bytes=%llu web_requests=%llu origin_live=%zu origin_opened=%llu "
            "origin_idle=%zu origin_waiting=%zu origin_waited=%llu origin_queue_full=%llu "
            "origin_retries=%llu origin_stalls=%llu rss_kb=%ld dgram_frames=%llu",
            live, (unsigned long long)gw->flows_opened, (unsigned long long)refused,
            (unsigned long long)d->udp_live, (unsigned long long)d->udp_opened,
            (unsigned long long)d->icmp_live, (unsigned long long)d->icmp_opened,
            (unsigned long long)d->tx, (unsigned long long)d->rx, (unsigned long long)d->drops,
            (unsigned long long)d->expired, (unsigned long long)d->refused,
            (unsigned long long)d->queued_bytes, gw_vip_in_use(gw->vips),
            (unsigned long long)gw->nif.rx_packets, (unsigned long long)gw->nif.tx_packets,
            (unsigned long long)gw->nif.rx_gso, (unsigned long long)gw->nif.tx_gso,
            (unsigned long long)gw->nif.rx_drops, (unsigned long long)gw->nif.tx_drops,
            (unsigned long long)gw->nif.rx_ptb, (unsigned long long)gw->nif.tx_pmtu,
            (unsigned long long)gw->nif.rx_batches, (unsigned long long)gw->zc_bytes,
            (unsigned long long)gw->web_requests, gw->origin_conns,
            (unsigned long long)gw->origin_opened, gw->n_origin_idle, gw->origins.waiting,
            (unsigned long long)gw->origin_waited, (unsigned long long)gw->origin_queue_full,
            (unsigned long long)gw->origin_retries, (unsigned long long)gw->origin_stalls, rss_kb(),
            (unsigned long long)d->frames);
}

static int run(struct gw_server *gw)
{
    char err[300];
    gw->tls = st_tls_client_ctx(gw->cfg.ca_file, err, sizeof(err));
    if (!gw->tls) {
        st_err("TLS: %s", err);
        return 1;
    }
    if (st_loop_init(&gw->loop) < 0)
        return 1;
    gw_svc_start(gw);
    gw->vips = gw_vip_pool_new(&gw->cfg.virtual_pool, 2);
    gw->vips6 = gw_vip_pool_new(&gw->cfg.virtual_pool6, 2);
    if (!gw->vips || !gw->vips6) {
        st_err("virtual pool: invalid or out of memory");
        return 1;
    }
    gw->drain = (struct st_drain){.start = drain_start,
                                  .busy = busy_conns,
                                  .idle_msg = "drained: every edge connection is idle",
                                  .busy_what = "busy edge connections",
                                  .reload = reload,
                                  .stats = log_stats,
                                  .grace_ms = (uint64_t)gw->cfg.grace_period_ms,
                                  .data = gw};
    st_drain_install(&gw->drain, &gw->loop);
    signal(SIGPIPE, SIG_IGN);
    if (gw_metrics_start(gw) < 0)
        return 1;
    if ((gw->cfg.expose || gw->cfg.reach) && setup_tun(gw) < 0)
        return 1;
    if (gw->cfg.expose && gw_guard_start(gw) < 0)
        return 1;
    if (gw->cfg.reach && gw_reach_init(gw) < 0) {
        st_err("reach: cannot start the lwIP listener");
        return 1;
    }
    gw_origin_init(gw);
    if (gw_svc_drop(gw) < 0 || gw_pool_start(gw) < 0)
        return 1;
    int rv = st_loop_run(&gw->loop);
    gw_svc_stop(gw);
    gw_guard_stop(gw);
    gw_metrics_stop(gw);
    uint64_t refused = 0;
    for (int k = 0; k < ST_KIND_N; k++)
        for (int r = 0; r < ST_REASON_N; r++)
            refused += gw->flows_refused[k][r];
    st_info("stopped (%llu flows opened, %llu refused)", (unsigned long long)gw->flows_opened,
            (unsigned long long)refused);
    return rv < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    struct st_cli cli;
    int rc = st_cli_parse(&cli, "subtunnel-gateway", argc, argv);
    if (rc >= 0)
        return rc;
    static struct gw_server gw;
    char err[512];
    if (gw_config_load(cli.config, &gw.cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "subtunnel-gateway: %s\n", err);
        return 2;
    }
    st_log_set_format(gw.cfg.log_format);
    rc = st_cli_log_level(&cli, gw.cfg.log_level);
    gw.cli = &cli;
    if (rc == 0 && gw_svc_resolve(&gw, err, sizeof(err)) < 0) {
        fprintf(stderr, "subtunnel-gateway: %s: %s\n", cli.config, err);
        rc = 2;
    }
    if (rc == 0 && cli.check && gw.cfg.edge_srv)
        printf("%s: configuration OK (tunnel %s, edges from SRV _subtunnel._tcp.%s, %zu exposed "
               "routes)\n",
               cli.config, gw.cfg.tunnel_id, gw.cfg.edge_srv, gw.cfg.n_routes);
    else if (rc == 0 && cli.check)
        printf("%s: configuration OK (tunnel %s, %zu edges, %zu exposed routes)\n", cli.config,
               gw.cfg.tunnel_id, gw.cfg.n_edges, gw.cfg.n_routes);
    else if (rc == 0) {
        st_cli_tune_malloc();
        rc = run(&gw);
    }
    gw_config_fini(&gw.cfg);
    return rc;
}
