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
#include "st_token.h"

#define HEAD_MAX 8192

struct access_req {
    struct edge_server *srv;
    struct st_io io;
    struct st_timer timer;
    struct st_defer done;
    http_parser parser;
    uint8_t buf[HEAD_MAX];
    size_t len, parsed; /* bytes received, bytes handed to http-parser */
    char client[64];
    struct edge_ahead head;
    bool head_done, closing;
};

static void req_done(struct st_defer *d)
{
    free(d->data);
}

static void req_close(struct access_req *r, bool close_fd)
{
    if (r->closing)
        return;
    r->closing = true;
    st_io_stop(&r->io);
    st_timer_stop(&r->timer);
    if (close_fd) {
        edge_listen_closed(r->srv, r->io.fd);
        close(r->io.fd);
    }
    st_defer_queue(&r->srv->loop, &r->done);
}

static void reply_close(struct access_req *r, const char *status, const char *extra)
{
    char buf[512];
    int n =
        snprintf(buf, sizeof(buf),
                 "HTTP/1.1 %s\r\n%scontent-length: 0\r\nconnection: close\r\n\r\n", status, extra);
    if (send(r->io.fd, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
        st_debug("access %s: reply: %s", r->client, strerror(errno));
    shutdown(r->io.fd, SHUT_WR);
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
    if (edge_auth_header(&srv->cfg, r->head.auth, r->head.auth_len, st_wall_seconds(), &id, &why) <
        0) {
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
    edge_flow_start(srv, fd, masque, r->head.target, r->client, &id, r->buf + head_len,
                    r->len - head_len);
}

static void req_io(struct st_io *io, uint32_t events)
{
    (void)events;
    struct access_req *r = io->data;
    ssize_t n = recv(io->fd, r->buf + r->len, sizeof(r->buf) - r->len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        req_close(r, true);
        return;
    }
    r->len += (size_t)n;
    if (r->parsed == 0) {
        int h2 = edge_ahead_preface(r->buf, r->len);
        if (h2 == -EAGAIN)
            return; /* "P" or "PR" so far: HTTP/2 or not is decided by the next bytes */
        if (h2 == 1) {
            /* HTTP/2 with prior knowledge (h2c): hand the socket and the preface over. */
            int fd = io->fd;
            req_close(r, false);
            edge_ah2_start(r->srv, fd, NULL, r->client, r->buf, r->len, false);
            return;
        }
    }
    size_t before = r->parsed;
    n = (ssize_t)(r->len - before);
    r->parsed = r->len;
    size_t used =
        http_parser_execute(&r->parser, &parser_settings, (const char *)r->buf + before, (size_t)n);
    if (r->head_done) {
        handle_head(r, before + used);
        return;
    }
    if (HTTP_PARSER_ERRNO(&r->parser) != HPE_OK || used != (size_t)n) {
        reply_close(r, "400 Bad Request", "");
        return;
    }
    if (r->len == sizeof(r->buf))
        reply_close(r, "431 Request Header Fields Too Large", "");
}

static void req_timeout(struct st_timer *t)
{
    struct access_req *r = t->data;
    reply_close(r, "408 Request Timeout", "");
}

void edge_access_start(struct edge_server *srv, int fd, const char *peer)
{
    struct access_req *r = calloc(1, sizeof(*r));
    if (!r) {
        edge_listen_closed(srv, fd);
        close(fd);
        return;
    }
    r->srv = srv;
    snprintf(r->client, sizeof(r->client), "%s", peer);
    http_parser_init(&r->parser, HTTP_REQUEST);
    r->parser.data = r;
    st_io_init(&r->io, &srv->loop, fd, req_io, r);
    st_timer_init(&r->timer, &srv->loop, req_timeout, r);
    st_defer_init(&r->done, req_done, r);
    st_io_set(&r->io, EPOLLIN);
    st_timer_start(&r->timer, (uint64_t)srv->cfg.request_timeout_ms);
}
