#include "edge_relay.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "edge_fleet.h"
#include "edge_flow.h"
#include "edge_registry.h"
#include "edge_server.h"
#include "edge_tconn.h"
#include "st_addr.h"
#include "st_log.h"
#include "st_sock.h"
#include "st_tls.h"

#define PEERS_MAX 64

/* One other edge, as this edge relays to it. */
struct relay_peer {
    char id[EDGE_FLEET_ID_MAX];
    char addr[EDGE_FLEET_ADDR_MAX];
    struct edge_tconn *c; /* the pooled connection, NULL when none */
    uint64_t bad_until;   /* loop ms: passed over until then (its last connection failed) */
    uint64_t bad_inst;    /* ... unless the edge restarted (another instance) */
    uint64_t last_busy;   /* loop ms: c had a stream then (relay-idle-timeout) */
};

struct edge_relay {
    struct edge_server *srv;
    SSL_CTX *ctx; /* client: relay-cert/relay-key, verifying against relay-ca */
    struct relay_peer peers[PEERS_MAX];
    size_t n_peers, rr;
    struct st_timer idle; /* runs while a connection is pooled: closes idle ones */
};

SSL_CTX *edge_relay_server_ctx(const char *ca, const char *cert, const char *key, char *err,
                               size_t errlen)
{
    static const unsigned char alpn[] = "\x02h2";
    SSL_CTX *ctx = st_tls_server_ctx(cert, key, alpn, err, errlen);
    if (!ctx)
        return NULL;
    if (st_tls_client_ca(ctx, ca, err, errlen) < 0) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    /* a peer without a fleet certificate fails the handshake */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    return ctx;
}

static SSL_CTX *client_ctx(const struct edge_config *cfg)
{
    char err[300], buf[200];
    SSL_CTX *ctx = st_tls_client_ctx(cfg->relay_ca, err, sizeof(err));
    if (!ctx) {
        st_err("relay: relay-ca: %s", err);
        return NULL;
    }
    ERR_clear_error();
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->relay_cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, cfg->relay_key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        st_err("relay: relay-cert %s / relay-key %s: %s", cfg->relay_cert, cfg->relay_key,
               st_tls_errstr(buf, sizeof(buf)));
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/* The pooled connection of p takes no new flow: GOAWAY, its flows finish, then it closes. */
static void retire(struct relay_peer *p, const char *why)
{
    st_info("relay: connection to edge %s at %s: %s: GOAWAY (%zu flows finish on it)", p->id,
            p->addr, why, p->c->n_flows);
    edge_tconn_shutdown(p->c);
    p->c = NULL;
}

/* A check of the pooled connections every quarter of relay-idle-timeout (0.25..5 s). */
static uint64_t idle_tick(const struct edge_relay *r)
{
    uint64_t t = (uint64_t)r->srv->cfg.relay_idle_timeout_ms / 4;
    return t < 250 ? 250 : t > 5000 ? 5000 : t;
}

static void on_idle(struct st_timer *t)
{
    struct edge_relay *r = t->data;
    uint64_t now = st_loop_now(&r->srv->loop);
    bool pooled = false;
    for (size_t i = 0; i < r->n_peers; i++) {
        struct relay_peer *p = &r->peers[i];
        if (!p->c)
            continue;
        if (p->c->n_flows || p->c->webs)
            p->last_busy = now;
        else if (now - p->last_busy >= (uint64_t)r->srv->cfg.relay_idle_timeout_ms)
            retire(p, "idle for relay-idle-timeout");
        pooled |= p->c != NULL;
    }
    if (pooled)
        st_timer_start(t, idle_tick(r));
}

struct edge_relay *edge_relay_new(struct edge_server *srv)
{
    if (!srv->cfg.relay_cert || !srv->fleet)
        return NULL;
    struct edge_relay *r = calloc(1, sizeof(*r));
    if (!r) {
        st_err("relay: out of memory");
        return NULL;
    }
    r->srv = srv;
    st_timer_init(&r->idle, &srv->loop, on_idle, r);
    if (!(r->ctx = client_ctx(&srv->cfg))) {
        free(r);
        return NULL;
    }
    return r;
}

void edge_relay_free(struct edge_relay *r)
{
    if (!r)
        return;
    st_timer_stop(&r->idle);
    SSL_CTX_free(r->ctx);
    free(r);
}

void edge_relay_shutdown(struct edge_relay *r)
{
    for (size_t i = 0; r && i < r->n_peers; i++)
        if (r->peers[i].c)
            retire(&r->peers[i], "draining");
    if (r)
        st_timer_stop(&r->idle);
}

static struct relay_peer *peer_of(struct edge_relay *r, const char *id, bool add)
{
    for (size_t i = 0; i < r->n_peers; i++)
        if (strcmp(r->peers[i].id, id) == 0)
            return &r->peers[i];
    if (!add)
        return NULL;
    if (r->n_peers == PEERS_MAX) { /* reuse a slot without a connection */
        for (size_t i = 0; i < r->n_peers; i++)
            if (!r->peers[i].c) {
                memset(&r->peers[i], 0, sizeof(r->peers[i]));
                snprintf(r->peers[i].id, sizeof(r->peers[i].id), "%s", id);
                return &r->peers[i];
            }
        return NULL;
    }
    struct relay_peer *p = &r->peers[r->n_peers++];
    memset(p, 0, sizeof(*p));
    snprintf(p->id, sizeof(p->id), "%s", id);
    return p;
}

/* The pool entry holding connection c, or NULL (c was retired). */
static struct relay_peer *find(struct edge_relay *r, const struct edge_tconn *c)
{
    for (size_t i = 0; r && i < r->n_peers; i++)
        if (r->peers[i].c == c)
            return &r->peers[i];
    return NULL;
}

/* p's last connection failed, or it drains: passed over for a while, unless it restarts. */
static void pass_over(struct edge_relay *r, struct relay_peer *p)
{
    const struct edge_fedge *e =
        r->srv->fleet ? edge_fcache_edge(edge_fleet_cache(r->srv->fleet), p->id) : NULL;
    p->bad_until = st_loop_now(&r->srv->loop) + EDGE_RELAY_BACKOFF_MS;
    p->bad_inst = e ? e->inst : 0;
}

/* A TCP connection to addr ("ip:port") under way, TLS verifying that the peer is edge id. */
static struct edge_tconn *dial(struct edge_relay *r, struct relay_peer *p)
{
    struct st_sockaddr sa;
    if (st_sockaddr_parse(p->addr, &sa) < 0) {
        st_warn("relay: edge %s: bad relay address '%s'", p->id, p->addr);
        return NULL;
    }
    int fd = socket(sa.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        st_warn("relay: edge %s: socket: %s", p->id, strerror(errno));
        return NULL;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    st_sock_keepalive(fd);
    if (connect(fd, (const struct sockaddr *)&sa.ss, sa.len) < 0 && errno != EINPROGRESS) {
        st_warn("relay: edge %s at %s: connect: %s", p->id, p->addr, strerror(errno));
        close(fd);
        return NULL;
    }
    SSL *ssl = SSL_new(r->ctx);
    if (!ssl || SSL_set_fd(ssl, fd) != 1 || SSL_set1_host(ssl, p->id) != 1 ||
        SSL_set_tlsext_host_name(ssl, p->id) != 1) {
        st_warn("relay: edge %s: out of memory", p->id);
        SSL_free(ssl);
        close(fd);
        return NULL;
    }
    SSL_set_connect_state(ssl);
    struct edge_tconn *c = edge_tconn_dial(r->srv, fd, ssl, p->addr, p->id);
    if (c)
        st_info("relay: connecting to edge %s at %s", p->id, p->addr);
    return c;
}

/* A holder is usable unless its last connection failed lately (and it did not restart). */
static bool usable(const struct relay_peer *p, const struct edge_fedge *e, uint64_t now)
{
    return !p || p->c || now >= p->bad_until || e->inst != p->bad_inst;
}

/* Holder e for a new flow: its pooled connection, one to dial, or none (edge_relay_cand). */
static uint8_t candidate(struct edge_relay *r, const struct edge_fedge *e, uint64_t now)
{
    if (!e->relay[0])
        return EDGE_RELAY_SKIP;
    struct relay_peer *p = peer_of(r, e->id, false);
    if (p && p->c && strcmp(p->addr, e->relay) == 0 &&
        nghttp2_session_check_request_allowed(p->c->h2.session))
        return EDGE_RELAY_POOLED;
    return usable(p, e, now) ? EDGE_RELAY_DIAL : EDGE_RELAY_SKIP;
}

struct edge_tconn *edge_relay_pick(struct edge_relay *r, const struct edge_flow *f,
                                   const struct edge_tunnel *t)
{
    return f->relayed ? NULL : edge_relay_pick_tunnel(r, t);
}

struct edge_tconn *edge_relay_pick_tunnel(struct edge_relay *r, const struct edge_tunnel *t)
{
    if (!r || !r->srv->fleet || r->srv->drain.draining)
        return NULL;
    struct edge_fholder h[EDGE_RELAY_PEERS_MAX];
    size_t n = edge_fcache_holders(edge_fleet_cache(r->srv->fleet), t->id, h, EDGE_RELAY_PEERS_MAX);
    n = n < EDGE_RELAY_PEERS_MAX ? n : EDGE_RELAY_PEERS_MAX;
    uint64_t now = st_loop_now(&r->srv->loop);
    uint8_t cand[EDGE_RELAY_PEERS_MAX];
    size_t order[EDGE_RELAY_PEERS_MAX];
    for (size_t k = 0; k < n; k++)
        cand[k] = candidate(r, h[k].edge, now);
    size_t m = edge_relay_next_order(cand, n, r->rr++, order);
    for (size_t j = 0; j < m; j++) {
        const struct edge_fedge *e = h[order[j]].edge;
        struct relay_peer *p = peer_of(r, e->id, true);
        if (!p) /* the pool is full */
            continue;
        if (cand[order[j]] == EDGE_RELAY_POOLED)
            return p->c;
        if (p->c) /* the edge moved (or took no more streams) */
            retire(p, "replaced");
        snprintf(p->addr, sizeof(p->addr), "%s", e->relay);
        r->srv->relay_stats.dials++;
        if ((p->c = dial(r, p))) {
            p->last_busy = now;
            if (!st_timer_active(&r->idle))
                st_timer_start(&r->idle, idle_tick(r));
            return p->c;
        }
        r->srv->relay_stats.dial_failures++;
        pass_over(r, p);
    }
    return NULL;
}

void edge_relay_closed(struct edge_relay *r, struct edge_tconn *c, const char *why)
{
    struct relay_peer *p = find(r, c);
    if (p)
        p->c = NULL;
    if (c->relay_up) {
        st_info("relay: connection to edge %s at %s closed: %s", c->relay_id, c->peer, why);
        return;
    }
    c->srv->relay_stats.dial_failures++;
    if (p)
        pass_over(r, p);
    st_warn("relay: edge %s at %s: %s: passed over for %d s", c->relay_id, c->peer, why,
            EDGE_RELAY_BACKOFF_MS / 1000);
}

void edge_relay_goaway(struct edge_relay *r, struct edge_tconn *c)
{
    struct relay_peer *p = find(r, c);
    if (!p)
        return;
    p->c = NULL;
    pass_over(r, p);
    st_info("relay: edge %s at %s sent GOAWAY (draining?): %zu flows finish on that connection, "
            "new ones go to other holders",
            p->id, p->addr, c->n_flows);
}
