#include "edge_hs.h"

#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "edge_ah2.h"
#include "edge_server.h"
#include "edge_tconn.h"
#include "st_h2conn.h"
#include "st_log.h"
#include "st_tls.h"

struct edge_hs {
    struct edge_server *srv;
    struct st_io io;
    SSL *ssl;
    struct st_timer timer;
    struct st_defer done;
    char peer[64];
    bool relay; /* on the relay listener */
};

static void hs_free(struct st_defer *d)
{
    free(d->data);
}

/* Ends the handshake object; the fd and SSL go to the new owner or are closed. */
static void hs_end(struct edge_hs *h, bool close_fd)
{
    st_io_stop(&h->io);
    st_timer_stop(&h->timer);
    if (close_fd) {
        edge_listen_setup_done(h->srv, false);
        SSL_free(h->ssl);
        edge_listen_closed(h->srv, h->io.fd);
        close(h->io.fd);
    }
    st_defer_queue(&h->srv->loop, &h->done);
}

static void dispatch(struct edge_hs *h)
{
    const unsigned char *p = NULL;
    unsigned int n = 0;
    SSL_get0_alpn_selected(h->ssl, &p, &n);
    int fd = h->io.fd;
    if (h->relay && n == 2 && memcmp(p, "h2", 2) == 0) {
        hs_end(h, false);
        edge_listen_setup_done(h->srv, true); /* an edge of the fleet: identities per stream */
        edge_ah2_start_relay(h->srv, fd, h->ssl, h->peer);
    } else if (h->relay) {
        edge_refusal(h->srv, EDGE_REFUSE_CONN, "relay port %s: no ALPN h2", h->peer);
        hs_end(h, true);
    } else if (n == 2 && memcmp(p, "h2", 2) == 0) {
        hs_end(h, false);
        edge_tconn_adopt(h->srv, fd, h->ssl, h->peer);
    } else if (n == strlen(EDGE_ALPN_REACH) && memcmp(p, EDGE_ALPN_REACH, n) == 0) {
        hs_end(h, false);
        edge_listen_setup_done(h->srv, true); /* a reach connection: its tokens come per stream */
        edge_ah2_start(h->srv, fd, h->ssl, h->peer, NULL, 0, true);
    } else {
        edge_refusal(h->srv, EDGE_REFUSE_CONN, "tunnel port %s: no usable ALPN protocol", h->peer);
        hs_end(h, true);
    }
}

/* A handshake step may cost the loop a millisecond (key exchange, signature): at most
 * EDGE_HS_STEPS of them per round of the loop, so that users' requests are served between
 * batches of a reconnect storm. True when this round's are used up (the level-triggered fd
 * is reported again next round). */
static bool hs_rationed(struct edge_server *srv)
{
    uint64_t round = st_loop_round(&srv->loop);
    if (srv->hs_round != round) {
        srv->hs_round = round;
        srv->hs_steps = 0;
    }
    return srv->hs_steps++ >= EDGE_HS_STEPS;
}

static void hs_io(struct st_io *io, uint32_t ev)
{
    (void)ev;
    struct edge_hs *h = io->data;
    if (hs_rationed(h->srv))
        return;
    ERR_clear_error();
    int r = SSL_do_handshake(h->ssl);
    if (r == 1) {
        dispatch(h);
        return;
    }
    int e = SSL_get_error(h->ssl, r);
    if (e == SSL_ERROR_WANT_READ) {
        st_io_set(io, EPOLLIN);
    } else if (e == SSL_ERROR_WANT_WRITE) {
        st_io_set(io, EPOLLIN | EPOLLOUT);
    } else if (BIO_number_read(SSL_get_rbio(h->ssl)) == 0) {
        /* closed before a byte: a gateway's round-trip probe (edge-count) or a health check */
        st_debug("%s port %s: closed before the TLS handshake", h->relay ? "relay" : "tunnel",
                 h->peer);
        hs_end(h, true);
    } else {
        char buf[200];
        edge_refusal(h->srv, EDGE_REFUSE_CONN, "%s port %s: TLS handshake: %s",
                     h->relay ? "relay" : "tunnel", h->peer, st_tls_errstr(buf, sizeof(buf)));
        hs_end(h, true);
    }
}

static void hs_timeout(struct st_timer *t)
{
    struct edge_hs *h = t->data;
    edge_refusal(h->srv, EDGE_REFUSE_CONN, "tunnel port %s: TLS handshake not finished within %d s",
                 h->peer, ST_H2CONN_SETUP_MS / 1000);
    hs_end(h, true);
}

static void start(struct edge_server *srv, int fd, const char *peer, bool relay)
{
    struct edge_hs *h = calloc(1, sizeof(*h));
    SSL *ssl = SSL_new(relay ? srv->relay_ctx : srv->tunnel_ctx);
    if (!h || !ssl) {
        st_err("tunnel listener: out of memory");
        free(h);
        SSL_free(ssl);
        edge_listen_closed(srv, fd);
        close(fd);
        return;
    }
    h->srv = srv;
    h->ssl = ssl;
    h->relay = relay;
    edge_listen_setup_begin(srv); /* relay handshakes too: edge_listen_setup_done ends them */
    snprintf(h->peer, sizeof(h->peer), "%s", peer);
    SSL_set_fd(ssl, fd);
    SSL_set_accept_state(ssl);
    st_io_init(&h->io, &srv->loop, fd, hs_io, h);
    st_timer_init(&h->timer, &srv->loop, hs_timeout, h);
    st_defer_init(&h->done, hs_free, h);
    st_io_set(&h->io, EPOLLIN);
    st_timer_start(&h->timer, ST_H2CONN_SETUP_MS);
}

void edge_hs_start(struct edge_server *srv, int fd, const char *peer)
{
    start(srv, fd, peer, false);
}

void edge_hs_start_relay(struct edge_server *srv, int fd, const char *peer)
{
    start(srv, fd, peer, true);
}
