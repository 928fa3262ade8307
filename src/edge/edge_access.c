#include "edge_access.h"

#include <errno.h>
#include <http_parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "edge_ah2.h"
#include "edge_ahead.h"
#include "edge_auth.h"
#include "edge_authz.h"
#include "edge_flow.h"
#include "edge_server.h"
#include "st_addr.h"
#include "st_log.h"
#include "st_sio.h"
#include "st_tls.h"
#include "st_token.h"

#define HEAD_MAX 8192

struct access_req {
    struct edge_server *srv;
    struct st_io io;
    struct st_sio sio; /* plain (access-listen) or TLS (access-tls-listen), on io.fd */
    struct st_timer timer;
    struct st_defer done;
    http_parser parser;
    uint8_t buf[HEAD_MAX];
    size_t len, parsed; /* bytes received, bytes handed to http-parser */
    char client[64];
    struct edge_ahead head;
    bool head_done, closing;
    /* TLS with client-ca: the verified client certificate's names; NULL without one.
     * Not used for authorization yet. */
    struct st_tls_names *names;
};

static void req_done(struct st_defer *d)
{
    struct access_req *r = d->data;
    free(r->names);
    free(r);
}

/* Ends the request's watch on the connection; close_fd: closes it too (else it was handed
 * over: r->sio gave up its fd and SSL). */
static void req_close(struct access_req *r, bool close_fd)
{
    if (r->closing)
        return;
    r->closing = true;
    st_io_stop(&r->io);
    st_timer_stop(&r->timer);
    if (close_fd) {
        edge_listen_closed(r->srv, r->io.fd);
        st_sio_close(&r->sio, false);
    }
    st_defer_queue(&r->srv->loop, &r->done);
}

static void reply_close(struct access_req *r, const char *status, const char *extra)
{
    char buf[512];
    int n =
        snprintf(buf, sizeof(buf),
                 "HTTP/1.1 %s\r\n%scontent-length: 0\r\nconnection: close\r\n\r\n", status, extra);
    ssize_t w = st_sio_write(&r->sio, buf, (size_t)n); /* one try: the socket is fresh */
    if (w < 0)
        st_debug("access %s: reply: %s", r->client, w == -EAGAIN ? "socket full" : r->sio.why);
    st_sio_shutdown(&r->sio);
    req_close(r, true);
}

/* A callback's -E2BIG stops http-parser: the request is answered 400. */
static int on_url(http_parser *p, const char *at, size_t len)
{
    return edge_ahead_url(&((struct access_req *)p->data)->head, at, len) < 0;
}

static int on_field(http_parser *p, const char *at, size_t len)
{
    return edge_ahead_field(&((struct access_req *)p->data)->head, at, len) < 0;
}

static int on_value(http_parser *p, const char *at, size_t len)
{
    return edge_ahead_value(&((struct access_req *)p->data)->head, at, len) < 0;
}

static int on_headers_complete(http_parser *p)
{
    struct access_req *r = p->data;
    r->head_done = true;
    return 0;
}

static const http_parser_settings parser_settings = {
    .on_url = on_url,
    .on_header_field = on_field,
    .on_header_value = on_value,
    .on_headers_complete = on_headers_complete,
};

/* A MASQUE upgrade over HTTP/1.1: GET <template path> with Upgrade: connect-udp (or
 * connect-ip) and Connection: Upgrade. NULL for anything else. */
static const char *masque_upgrade(struct access_req *r)
{
    if (r->parser.method != HTTP_GET || !r->parser.upgrade)
        return NULL;
    if (strcasecmp(r->head.upgrade, "connect-udp") == 0)
        return "connect-udp";
    if (strcasecmp(r->head.upgrade, "connect-ip") == 0)
        return "connect-ip";
    return NULL;
}

static void handle_head(struct access_req *r, size_t head_len)
{
    struct edge_server *srv = r->srv;
    const char *masque = masque_upgrade(r);
    if (r->parser.method != HTTP_CONNECT && !masque) {
        reply_close(r, "405 Method Not Allowed", "allow: CONNECT\r\n");
        return;
    }
    struct edge_ident id;
    const char *why = "missing";
    if (edge_auth_request(&srv->cfg, r->head.auth, r->head.auth_len, r->names, st_wall_seconds(),
                          &id, &why) < 0) {
        srv->auth_failures++;
        edge_authz_audit_refused(srv, r->client, masque ? masque : "tcp", r->head.target, why);
        edge_refusal(srv, EDGE_REFUSE_AUTH, "access %s: CONNECT %s: proxy authentication %s",
                     r->client, r->head.target, why);
        reply_close(r, "407 Proxy Authentication Required",
                    "proxy-authenticate: Basic realm=\"subtunnel\"\r\n");
        return;
    }
    if (srv->drain.draining) {
        reply_close(
            r, "503 Service Unavailable",
            "proxy-status: subtunnel; error=proxy_internal_error; details=\"draining\"\r\n");
        return;
    }
    int fd = r->io.fd;
    req_close(r, false);
    edge_listen_authed(srv, fd); /* a valid credential */
    edge_flow_start(srv, &r->sio, masque, r->head.target, r->client, &id, r->buf + head_len,
                    r->len - head_len);
}

/* Bytes at r->buf[parsed..len) arrived: true when more are needed (else the request was
 * answered or handed over). */
static bool take_input(struct access_req *r)
{
    if (r->parsed == 0 && !r->sio.ssl) {
        int h2 = edge_ahead_preface(r->buf, r->len);
        if (h2 == -EAGAIN)
            return true; /* "P" or "PR" so far: HTTP/2 or not is decided by the next bytes */
        if (h2 == 1) {
            /* HTTP/2 with prior knowledge (h2c): hand the socket and the preface over. */
            req_close(r, false);
            edge_ah2_start(r->srv, r->io.fd, NULL, r->client, r->buf, r->len, false);
            return false;
        }
    }
    size_t before = r->parsed, n = r->len - before;
    r->parsed = r->len;
    size_t used =
        http_parser_execute(&r->parser, &parser_settings, (const char *)r->buf + before, n);
    if (r->head_done) {
        handle_head(r, before + used);
        return false;
    }
    if (HTTP_PARSER_ERRNO(&r->parser) != HPE_OK || used != n) {
        reply_close(r, "400 Bad Request", "");
        return false;
    }
    if (r->len == sizeof(r->buf)) {
        reply_close(r, "431 Request Header Fields Too Large", "");
        return false;
    }
    return true;
}

/* TLS: the handshake went through. ALPN h2 goes to edge_ah2; http/1.1 or none stays here.
 * True when the connection stays. */
static bool tls_ready(struct access_req *r)
{
    char alpn[16];
    st_sio_alpn(&r->sio, alpn, sizeof(alpn));
    if (strcmp(alpn, "h2") == 0) {
        SSL *ssl = r->sio.ssl;
        r->sio.ssl = NULL;
        req_close(r, false);
        edge_ah2_start(r->srv, r->io.fd, ssl, r->client, NULL, 0, false);
        return false;
    }
    r->names = st_tls_peer_names(r->sio.ssl);
    if (r->names) {
        char names[512];
        st_debug("access %s: client certificate: %s", r->client,
                 st_tls_names_format(r->names, names, sizeof(names)));
    }
    st_timer_start(&r->timer, (uint64_t)r->srv->cfg.request_timeout_ms);
    return true;
}

static bool handshake(struct access_req *r)
{
    int rv = st_sio_handshake(&r->sio);
    if (rv > 0)
        return tls_ready(r);
    if (rv == 0) {
        st_io_set(&r->io, st_sio_events(&r->sio, true, false));
        return false;
    }
    if (r->sio.cert_refused)
        edge_refusal(r->srv, EDGE_REFUSE_CONN, "access %s: %s", r->client, r->sio.why);
    else
        st_debug("access %s: %s", r->client, r->sio.why);
    req_close(r, true);
    return false;
}

static void req_io(struct st_io *io, uint32_t events)
{
    (void)events;
    struct access_req *r = io->data;
    if (!r->sio.handshake_done && !handshake(r))
        return;
    /* Until -EAGAIN: TLS may hold decrypted bytes no EPOLLIN announces. Every round adds
     * at least a byte to buf (or ends the request), so HEAD_MAX rounds bound it. */
    for (int i = 0; i < HEAD_MAX && !r->closing; i++) {
        ssize_t n = st_sio_read(&r->sio, r->buf + r->len, sizeof(r->buf) - r->len);
        if (n == -EAGAIN) {
            st_io_set(&r->io, st_sio_events(&r->sio, true, false));
            return;
        }
        if (n <= 0) {
            if (n < 0)
                st_debug("access %s: %s", r->client, r->sio.why);
            req_close(r, true);
            return;
        }
        r->len += (size_t)n;
        if (!take_input(r))
            return;
    }
}

static void req_timeout(struct st_timer *t)
{
    struct access_req *r = t->data;
    if (r->sio.handshake_done) {
        reply_close(r, "408 Request Timeout", "");
        return;
    }
    st_debug("access %s: TLS handshake not finished within %d s", r->client,
             r->srv->cfg.request_timeout_ms / 1000);
    req_close(r, true);
}

static void start(struct edge_server *srv, int fd, SSL *ssl, const char *peer)
{
    struct access_req *r = calloc(1, sizeof(*r));
    if (!r) {
        SSL_free(ssl);
        edge_listen_closed(srv, fd);
        close(fd);
        return;
    }
    r->srv = srv;
    snprintf(r->client, sizeof(r->client), "%s", peer);
    st_sio_init(&r->sio, fd, ssl);
    http_parser_init(&r->parser, HTTP_REQUEST);
    r->parser.data = r;
    st_io_init(&r->io, &srv->loop, fd, req_io, r);
    st_timer_init(&r->timer, &srv->loop, req_timeout, r);
    st_defer_init(&r->done, req_done, r);
    st_io_set(&r->io, st_sio_events(&r->sio, true, false));
    st_timer_start(&r->timer, (uint64_t)srv->cfg.request_timeout_ms);
}

void edge_access_start(struct edge_server *srv, int fd, const char *peer)
{
    start(srv, fd, NULL, peer);
}

void edge_access_start_tls(struct edge_server *srv, int fd, const char *peer)
{
    SSL *ssl = SSL_new(srv->access_ctx);
    if (!ssl) {
        st_warn("access %s: TLS: out of memory", peer);
        edge_listen_closed(srv, fd);
        close(fd);
        return;
    }
    start(srv, fd, ssl, peer);
}
