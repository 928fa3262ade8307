#include "edge_listen.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "edge_access.h"
#include "edge_ah2.h"
#include "edge_hs.h"
#include "edge_server.h"
#include "edge_vconn.h"
#include "st_log.h"
#include "st_sock.h"

#define ACCEPT_BATCH 64

static const char *const lis_what[EDGE_LIS_KINDS] = {
    [EDGE_LIS_TUNNEL] = "tunnel",
    [EDGE_LIS_ACCESS] = "access",
    [EDGE_LIS_ACCESS_TLS] = "access (TLS, HTTP/2 and HTTP/1.1)",
    [EDGE_LIS_HTTP] = "visitor (HTTP/1.1)",
    [EDGE_LIS_HTTPS] = "visitor (TLS, HTTP/2 and HTTP/1.1)",
    [EDGE_LIS_RELAY] = "relay (fleet edges, TLS with client certificates)",
    [EDGE_LIS_ACCESS6] = "access",
};

/* Hands an admitted connection to the module that serves its listener. */
static void adopt(struct edge_server *srv, enum edge_lis kind, int fd, const char *peer)
{
    switch (kind) {
    case EDGE_LIS_TUNNEL:
        edge_hs_start(srv, fd, peer);
        break;
    case EDGE_LIS_ACCESS:
    case EDGE_LIS_ACCESS6:
        edge_access_start(srv, fd, peer);
        break;
    case EDGE_LIS_ACCESS_TLS:
        edge_access_start_tls(srv, fd, peer);
        break;
    case EDGE_LIS_HTTP:
    case EDGE_LIS_HTTPS:
        edge_vconn_start(srv, fd, peer, kind == EDGE_LIS_HTTPS);
        break;
    case EDGE_LIS_RELAY:
        edge_hs_start_relay(srv, fd, peer);
        break;
    default:
        edge_listen_closed(srv, fd);
        close(fd);
    }
}

/* A refused connection: reset at once, nothing read or written (no TIME_WAIT here). */
static void reset_close(int fd)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(fd);
}

static void refusal(struct edge_listener *l, int verdict, const char *peer,
                    const struct st_sockaddr *a)
{
    struct edge_server *srv = l->srv;
    const struct edge_config *cfg = &srv->cfg;
    srv->conns_refused++;
    if (verdict == EDGE_CONN_OVER_TOTAL)
        edge_refusal(srv, EDGE_REFUSE_LIMIT,
                     "%s: connection from %s refused: %zu connections open (max-connections)",
                     l->name, peer, srv->conns.total);
    else if (verdict == EDGE_CONN_OVER_LISTENER)
        edge_refusal(srv, EDGE_REFUSE_LIMIT,
                     "%s: connection from %s refused: %zu connections open on this listener "
                     "(listener-max-connections)",
                     l->name, peer, srv->conns.per_lis[l->kind]);
    else if (verdict == EDGE_CONN_OVER_CLIENT)
        edge_refusal(srv, EDGE_REFUSE_LIMIT,
                     "%s: connection from %s refused: %u connections open from this address "
                     "(max-connections-per-client %d)",
                     l->name, peer, edge_conns_from(&srv->conns, a),
                     cfg->max_connections_per_client);
    else
        st_warn("%s: connection from %s refused: %s", l->name, peer, strerror(-verdict));
}

/* Past max-unauthenticated: the oldest connection still in its startup phase goes. Its
 * owner sees the shutdown as the peer's end on its next read and closes it. */
static void evict_unauth(struct edge_server *srv)
{
    uint64_t since;
    enum edge_lis kind;
    size_t cap = (size_t)srv->cfg.max_unauthenticated;
    for (int fd; (fd = edge_conns_evict(&srv->conns, cap, &since, &kind)) >= 0;) {
        srv->conns_evicted++;
        edge_refusal(srv, EDGE_REFUSE_LIMIT,
                     "over %zu connections not authenticated yet (max-unauthenticated): closing "
                     "the oldest (%s listener, open %llu ms)",
                     cap, lis_what[kind], (unsigned long long)(st_loop_now(&srv->loop) - since));
        shutdown(fd, SHUT_RDWR);
    }
}

static bool admit(struct edge_listener *l, int fd, const struct st_sockaddr *a, const char *peer)
{
    struct edge_server *srv = l->srv;
    const struct edge_config *cfg = &srv->cfg;
    if (edge_conns_counted(&srv->conns, fd)) {
        st_warn("%s: fd %d was still counted as a connection (a close missed "
                "edge_listen_closed): released",
                l->name, fd);
        edge_conns_release(&srv->conns, fd);
    }
    struct edge_conn_caps caps = {.total = (uint32_t)cfg->max_connections,
                                  .listener = (uint32_t)cfg->listener_max_connections,
                                  .per_client = (uint32_t)cfg->max_connections_per_client};
    int v = edge_conns_admit(&srv->conns, fd, l->kind, a, &caps, st_loop_now(&srv->loop));
    if (v == EDGE_CONN_ADMITTED) {
        st_debug("%s: connection from %s (%zu open, %zu unauthenticated)", l->name, peer,
                 srv->conns.total, srv->conns.unauth);
        evict_unauth(srv);
        return true;
    }
    refusal(l, v, peer, a);
    reset_close(fd);
    return false;
}

static void pause_listener(struct edge_listener *l, int err)
{
    struct edge_server *srv = l->srv;
    st_io_stop(&l->io);
    l->paused = true;
    if (!l->short_logged) {
        l->short_logged = true;
        l->backoff_ms = EDGE_LISTEN_BACKOFF_MIN_MS;
        l->paused_since = st_loop_now(&srv->loop);
        srv->accept_pauses++;
        st_warn("accept: %s: pausing listener %s (%zu connections open); retrying every %d-%d "
                "ms and whenever a connection closes",
                strerror(-err), l->name, srv->conns.total, EDGE_LISTEN_BACKOFF_MIN_MS,
                EDGE_LISTEN_BACKOFF_MAX_MS);
    } else if (l->backoff_ms < EDGE_LISTEN_BACKOFF_MAX_MS) {
        l->backoff_ms = l->backoff_ms * 2 < EDGE_LISTEN_BACKOFF_MAX_MS ? l->backoff_ms * 2
                                                                       : EDGE_LISTEN_BACKOFF_MAX_MS;
    }
    st_timer_start(&l->retry, l->backoff_ms);
}

static void resume_listener(struct edge_listener *l)
{
    if ((!l->paused && !l->held) || l->io.fd < 0)
        return;
    l->paused = l->held = false; /* a held listener holds again if still full (hold) */
    st_timer_stop(&l->retry);
    if (st_io_set(&l->io, EPOLLIN) < 0)
        pause_listener(l, -ENOMEM); /* epoll itself is short: try again later */
}

static void on_retry(struct st_timer *t)
{
    resume_listener(t->data);
}

/* accept() errors that concern one pending connection only: the next may be fine. */
static bool transient(int err)
{
    return err == -ECONNABORTED || err == -EINTR || err == -EPROTO || err == -EPERM ||
           err == -ENETDOWN || err == -ENOPROTOOPT || err == -EHOSTDOWN || err == -ENONET ||
           err == -EHOSTUNREACH || err == -EOPNOTSUPP || err == -ENETUNREACH;
}

/* The shortage episode is over once the listener accepted again and caught up with its
 * backlog (or accepted a whole batch): "resumed", once. */
static void end_episode(struct edge_listener *l)
{
    l->short_logged = false;
    l->accepted = 0;
    st_info("listener %s: resumed accepting after %llu ms", l->name,
            (unsigned long long)(st_loop_now(&l->srv->loop) - l->paused_since));
}

/* The tunnel listener with EDGE_TUNNEL_SETUPS_MAX connections setting up: leave epoll until
 * one finishes (edge_listen_setup_done). True when held. */
static bool hold(struct edge_listener *l)
{
    struct edge_server *srv = l->srv;
    uint64_t now = st_loop_now(&srv->loop);
    if (l->kind != EDGE_LIS_TUNNEL || srv->tunnel_setups < EDGE_TUNNEL_SETUPS_MAX ||
        now - srv->setup_progress_ms > EDGE_TUNNEL_HOLD_STALL_MS)
        return false;
    st_io_stop(&l->io); /* also when a shortage's retry resumed it meanwhile */
    st_timer_start(&l->retry, EDGE_TUNNEL_HOLD_STALL_MS); /* look again if none registers */
    if (!l->held) {
        l->held = true;
        srv->tunnel_holds++;
        edge_refusal(srv, EDGE_REFUSE_LIMIT,
                     "%s: %zu tunnel connections setting up: accepting more as they finish",
                     l->name, srv->tunnel_setups);
    }
    return true;
}

static void on_accept(struct st_io *io, uint32_t ev)
{
    (void)ev;
    struct edge_listener *l = io->data;
    for (int i = 0; i < ACCEPT_BATCH && l->io.fd >= 0 && !l->paused && !hold(l); i++) {
        struct st_sockaddr a;
        char peer[64];
        int fd = st_sock_accept(l->io.fd, &a, peer, sizeof(peer));
        if (fd == -EAGAIN) {
            if (l->short_logged && l->accepted)
                end_episode(l);
            return;
        }
        if (fd < 0 && transient(fd))
            continue;
        if (fd < 0) { /* EMFILE, ENFILE, ENOBUFS, ENOMEM, or worse: never spin on it */
            pause_listener(l, fd);
            return;
        }
        if (l->short_logged && ++l->accepted >= ACCEPT_BATCH)
            end_episode(l);
        if (admit(l, fd, &a, peer))
            adopt(l->srv, l->kind, fd, peer);
    }
}

void edge_listen_init(struct edge_server *srv)
{
    for (int k = 0; k < EDGE_LIS_SLOTS; k++) {
        struct edge_listener *l = &srv->lis[k];
        memset(l, 0, sizeof(*l));
        l->srv = srv;
        l->kind = (enum edge_lis)(k / EDGE_LISTEN_ADDRS);
        st_io_init(&l->io, &srv->loop, -1, on_accept, l);
        st_timer_init(&l->retry, &srv->loop, on_retry, l);
    }
}

int edge_listen_open(struct edge_server *srv, enum edge_lis kind, const struct st_sockaddr *a)
{
    struct edge_listener *l = &srv->lis[kind * EDGE_LISTEN_ADDRS];
    char addr[80];
    st_sockaddr_format(a, addr, sizeof(addr));
    for (int i = 0; l->io.fd >= 0; i++, l++)
        if (i + 1 == EDGE_LISTEN_ADDRS) {
            st_err("%s listener %s: over %d addresses", lis_what[kind], addr, EDGE_LISTEN_ADDRS);
            return -ENOSPC;
        }
    snprintf(l->name, sizeof(l->name), "%s %s", lis_what[kind], addr);
    int fd = st_sock_listen(a);
    if (fd < 0) {
        st_err("%s listener %s: %s", lis_what[kind], addr, strerror(-fd));
        return fd;
    }
    st_io_init(&l->io, &srv->loop, fd, on_accept, l);
    int rv = st_io_set(&l->io, EPOLLIN);
    if (rv < 0) {
        st_err("%s listener %s: epoll: %s", lis_what[kind], addr, strerror(-rv));
        close(fd);
        l->io.fd = -1;
        return rv;
    }
    if (kind == EDGE_LIS_TUNNEL) /* a restarted edge: the storm counts as progressing */
        srv->setup_progress_ms = st_loop_now(&srv->loop);
    st_info("%s listening on %s", lis_what[kind], addr);
    return 0;
}

int edge_listen_open_all(struct edge_server *srv, enum edge_lis kind,
                         const struct st_sockaddr *first, const struct edge_listen_more *more)
{
    int rc = edge_listen_open(srv, kind, first);
    for (size_t i = 0; rc == 0 && more && i < more->n; i++)
        rc = edge_listen_open(srv, kind, &more->a[i]);
    return rc;
}

size_t edge_listen_kind_open(const struct edge_server *srv, enum edge_lis kind, bool *paused)
{
    const struct edge_listener *l = &srv->lis[kind * EDGE_LISTEN_ADDRS];
    size_t open = 0;
    *paused = false;
    for (int i = 0; i < EDGE_LISTEN_ADDRS; i++, l++) {
        open += l->io.fd >= 0;
        *paused = *paused || (l->io.fd >= 0 && l->paused);
    }
    return open;
}

void edge_listen_close_all(struct edge_server *srv)
{
    for (int k = 0; k < EDGE_LIS_SLOTS; k++) {
        struct edge_listener *l = &srv->lis[k];
        st_timer_stop(&l->retry);
        if (l->io.fd < 0)
            continue;
        st_io_stop(&l->io);
        close(l->io.fd);
        l->io.fd = -1;
        l->paused = false;
    }
}

void edge_listen_setup_begin(struct edge_server *srv)
{
    srv->tunnel_setups++;
}

void edge_listen_setup_done(struct edge_server *srv, bool ok)
{
    struct edge_listener *l = &srv->lis[EDGE_LIS_TUNNEL * EDGE_LISTEN_ADDRS];
    if (srv->tunnel_setups)
        srv->tunnel_setups--;
    if (ok)
        srv->setup_progress_ms = st_loop_now(&srv->loop);
    for (int i = 0; i < EDGE_LISTEN_ADDRS; i++, l++)
        if (l->held && !l->paused && srv->tunnel_setups < EDGE_TUNNEL_SETUPS_MAX)
            resume_listener(l);
}

void edge_listen_authed(struct edge_server *srv, int fd)
{
    edge_conns_authed(&srv->conns, fd);
}

void edge_listen_closed(struct edge_server *srv, int fd)
{
    edge_conns_release(&srv->conns, fd);
    for (int k = 0; k < EDGE_LIS_SLOTS; k++)
        resume_listener(&srv->lis[k]);
}

void edge_listen_check_fds(struct edge_server *srv)
{
    long long lim = st_sock_raise_nofile();
    long long need = (long long)srv->cfg.max_connections + EDGE_FD_RESERVE;
    if (lim < 0)
        st_warn("open files limit (RLIMIT_NOFILE): %s", strerror((int)-lim));
    else if (lim < need)
        st_warn("open files limit (RLIMIT_NOFILE) is %lld, below max-connections (%d) + %d: "
                "accept() will run out of descriptors first (the listeners then pause until "
                "connections close); raise the hard limit (systemd: LimitNOFILE=) or lower "
                "max-connections",
                lim, srv->cfg.max_connections, EDGE_FD_RESERVE);
    else
        st_debug("open files limit (RLIMIT_NOFILE): %lld", lim);
}
