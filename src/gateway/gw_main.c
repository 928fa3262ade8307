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
#include "gw_server.h"
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
    int n = ns_netif_read(&gw->nif, TUN_READ_BUDGET);
    if (n < 0)
        st_warn("TUN %s read: %s", gw->ifname, strerror(-n));
    else if (n == TUN_READ_BUDGET)
        st_loop_now(&gw->loop); /* more pending: level-triggered epoll calls us again */
}

static void on_lwip_tick(struct st_timer *t)
{
    ns_stack_poll_timers();
    st_timer_start(t, LWIP_TICK_MS);
}

static size_t busy_conns(void *data)
{
    struct gw_server *gw = data;
    size_t busy = 0;
    for (size_t i = 0; i < gw->n_conns; i++)
        busy += !gw_conn_idle(gw->conns[i]);
    return busy;
}

/* First SIGTERM: unregister everywhere; open flows go on. */
static void drain_start(void *data, int signo)
{
    struct gw_server *gw = data;
    st_info("signal %d: unregistering; open flows may finish within %d s (signal again to exit "
            "now)",
            signo, ST_DRAIN_GRACE_MS / 1000);
    for (size_t i = 0; i < gw->n_conns; i++)
        gw_conn_drain(gw->conns[i]);
}

static int setup_tun(struct gw_server *gw)
{
    const struct gw_config *cfg = &gw->cfg;
    uint32_t base;
    memcpy(&base, cfg->virtual_pool.addr, 4);
    gw->tun_addr.s_addr = htonl(ntohl(base) + 1);
    gw->stack_addr.s_addr = htonl(ntohl(base) + 2);
    int fd = ns_tun_open(cfg->tun_name, gw->ifname);
    if (fd < 0) {
        st_err("TUN %s: %s (the gateway needs CAP_NET_ADMIN)", cfg->tun_name, strerror(-fd));
        return -1;
    }
    int rv;
    if ((rv = ns_tun_set_mtu(gw->ifname, cfg->tun_mtu)) < 0 ||
        (rv = ns_tun_add_addr4(gw->ifname, gw->tun_addr, cfg->virtual_pool.prefix)) < 0 ||
        (rv = ns_tun_set_up(gw->ifname)) < 0) {
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
    st_io_init(&gw->tun_io, &gw->loop, fd, on_tun, gw);
    st_io_set(&gw->tun_io, EPOLLIN);
    st_timer_init(&gw->lwip_timer, &gw->loop, on_lwip_tick, gw);
    st_timer_start(&gw->lwip_timer, LWIP_TICK_MS);
    char pool[64];
    st_cidr_format(&cfg->virtual_pool, pool, sizeof(pool));
    st_info("TUN %s up (mtu %d), virtual pool %s", gw->ifname, cfg->tun_mtu, pool);
    return 0;
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
    gw->vips = gw_vip_pool_new(&gw->cfg.virtual_pool, 2);
    if (!gw->vips) {
        st_err("virtual pool: invalid or out of memory");
        return 1;
    }
    gw->drain = (struct st_drain){.start = drain_start,
                                  .busy = busy_conns,
                                  .idle_msg = "drained: every edge connection is idle",
                                  .busy_what = "busy edge connections",
                                  .data = gw};
    st_drain_install(&gw->drain, &gw->loop);
    signal(SIGPIPE, SIG_IGN);
    if ((gw->cfg.expose || gw->cfg.reach) && setup_tun(gw) < 0)
        return 1;
    if (gw->cfg.reach && gw_reach_init(gw) < 0) {
        st_err("reach: cannot start the lwIP listener");
        return 1;
    }
    size_t tunnels = (size_t)gw->cfg.ha_connections;
    gw->n_conns = tunnels + (gw->cfg.reach ? (size_t)gw->cfg.reach_connections : 0);
    gw->conns = calloc(gw->n_conns, sizeof(*gw->conns));
    for (size_t i = 0; gw->conns && i < gw->n_conns; i++)
        gw->conns[i] = gw_conn_new(gw, (unsigned)i, i >= tunnels);
    int rv = st_loop_run(&gw->loop);
    st_info("stopped (%llu flows opened, %llu refused)", (unsigned long long)gw->flows_opened,
            (unsigned long long)gw->flows_refused);
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
    rc = st_cli_log_level(&cli, gw.cfg.log_level);
    if (rc == 0 && cli.check)
        printf("%s: configuration OK (tunnel %s, %zu edges, %zu exposed routes)\n", cli.config,
               gw.cfg.tunnel_id, gw.cfg.n_edges, gw.cfg.n_routes);
    else if (rc == 0)
        rc = run(&gw);
    gw_config_fini(&gw.cfg);
    return rc;
}
