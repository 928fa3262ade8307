/* subtunnel-edge: public meeting point for gateways (tunnels) and users (access proxy). */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "edge_access.h"
#include "edge_ah2.h"
#include "edge_hs.h"
#include "edge_server.h"
#include "edge_tconn.h"
#include "st_cli.h"
#include "st_drain.h"
#include "st_log.h"
#include "st_sock.h"
#include "st_tls.h"

static const unsigned char h2_alpn[] = "\x02h2";
static const unsigned char tunnel_alpn[] = "\x02h2\x0f" EDGE_ALPN_REACH;

static void on_tunnel_lis(struct st_io *io, uint32_t ev)
{
    (void)ev;
    edge_hs_accept(io->data, io->fd);
}

static void on_access_lis(struct st_io *io, uint32_t ev)
{
    (void)ev;
    edge_access_accept(io->data, io->fd);
}

static void on_access_tls_lis(struct st_io *io, uint32_t ev)
{
    (void)ev;
    edge_ah2_accept_tls(io->data, io->fd);
}

static size_t live_flows(void *data)
{
    return ((struct edge_server *)data)->live_flows;
}

/* First SIGTERM: no new connections or flows; open flows go on. */
static void drain_start(void *data, int signo)
{
    struct edge_server *srv = data;
    st_info("signal %d: draining: no new connections or flows; open flows may finish within %d s "
            "(signal again to exit now)",
            signo, ST_DRAIN_GRACE_MS / 1000);
    struct st_io *lis[] = {&srv->tunnel_lis, &srv->access_lis, &srv->access_tls_lis};
    for (size_t i = 0; i < 3; i++) {
        if (lis[i]->events) {
            st_io_stop(lis[i]);
            close(lis[i]->fd);
            lis[i]->fd = -1;
        }
    }
    for (struct edge_ah2 *a = srv->ah2s; a; a = a->next)
        edge_ah2_goaway(a);
}

static int open_listener(struct edge_server *srv, struct st_io *io, const struct st_sockaddr *a,
                         st_io_cb cb, const char *what)
{
    char name[80];
    st_sockaddr_format(a, name, sizeof(name));
    int fd = st_sock_listen(a);
    if (fd < 0) {
        st_err("%s listener %s: %s", what, name, strerror(-fd));
        return fd;
    }
    st_io_init(io, &srv->loop, fd, cb, srv);
    st_io_set(io, EPOLLIN);
    st_info("%s listening on %s", what, name);
    return 0;
}

static int run(struct edge_server *srv)
{
    char err[300];
    srv->tunnel_ctx =
        st_tls_server_ctx(srv->cfg.cert_file, srv->cfg.key_file, tunnel_alpn, err, sizeof(err));
    if (srv->tunnel_ctx && srv->cfg.has_access_tls)
        srv->access_ctx =
            st_tls_server_ctx(srv->cfg.cert_file, srv->cfg.key_file, h2_alpn, err, sizeof(err));
    if (!srv->tunnel_ctx || (srv->cfg.has_access_tls && !srv->access_ctx)) {
        st_err("TLS: %s", err);
        return 1;
    }
    if (edge_registry_init(&srv->reg, &srv->cfg) < 0 || st_loop_init(&srv->loop) < 0) {
        st_err("start-up: out of memory or no epoll");
        return 1;
    }
    srv->drain = (struct st_drain){.start = drain_start,
                                   .busy = live_flows,
                                   .idle_msg = "drained: no flow left",
                                   .busy_what = "flows open",
                                   .data = srv};
    st_drain_install(&srv->drain, &srv->loop);
    signal(SIGPIPE, SIG_IGN);
    if (open_listener(srv, &srv->tunnel_lis, &srv->cfg.tunnel_listen, on_tunnel_lis, "tunnel") ||
        open_listener(srv, &srv->access_lis, &srv->cfg.access_listen, on_access_lis, "access"))
        return 1;
    if (srv->cfg.has_access_tls &&
        open_listener(srv, &srv->access_tls_lis, &srv->cfg.access_tls_listen, on_access_tls_lis,
                      "access (TLS, HTTP/2)"))
        return 1;
    int rv = st_loop_run(&srv->loop);
    st_info("stopped (%llu flows opened, %llu refused, %llu auth failures)",
            (unsigned long long)srv->flows_opened, (unsigned long long)srv->flows_refused,
            (unsigned long long)srv->auth_failures);
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
    rc = st_cli_log_level(&cli, srv.cfg.log_level);
    if (rc == 0 && cli.check)
        printf("%s: configuration OK (%zu tunnels, %zu access tokens)\n", cli.config,
               srv.cfg.n_tunnels, srv.cfg.n_tokens);
    else if (rc == 0)
        rc = run(&srv);
    edge_config_fini(&srv.cfg);
    return rc;
}
