#include "edge_vconn.h"

#include <errno.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "edge_ah2.h"
#include "edge_server.h"
#include "edge_vhead.h"
#include "edge_web.h"
#include "st_http.h"
#include "st_log.h"
#include "st_sio.h"
#include "st_tls.h"

#define RBUF 16384
#define WBUF 20480 /* a response head: up to 16 KiB of fields plus framing */
#define ROUNDS 16
#define LINGER_MS 2000           /* after an answer, input is drained this long at most */
#define LINGER_MAX (1024 * 1024) /* ... and this much */

struct edge_vconn {
    struct edge_server *srv;
    struct edge_vconn *next, *prev; /* srv->vconns */
    struct st_sio sio;
    struct st_io io;
    struct st_timer timer;
    struct st_defer done, read_d;
    bool tls, closed;
    char client[64], client_ip[64];
    http_parser parser;
    struct edge_vhead *head; /* the request head while it is parsed */
    struct edge_web *w;      /* the request being served */
    char ws_key[64];
    bool msg_done, upgraded, keep_alive, chunked, resp_started, resp_done, eof_in, draining;
    bool in_head;   /* a request head has begun and is not complete */
    bool interim;   /* "100 Continue" in wbuf (Expect: 100-continue is answered here) */
    bool lingering; /* answered, write side shut: discarding input until EOF or timeout */
    size_t discarded;
    size_t rlen, wlen, woff;
    uint8_t rbuf[RBUF];
    uint8_t *wbuf; /* WBUF + 32 bytes from the first answer on (need_wbuf) */
    /* TLS with client-ca: the verified client certificate's names (NULL without one). Not
     * used for authorization yet. */
    struct st_tls_names *names;
};

static void flush(struct edge_vconn *vc);
static void process(struct edge_vconn *vc);

static void on_done(struct st_defer *d)
{
    struct edge_vconn *vc = d->data;
    free(vc->head);
    free(vc->wbuf);
    free(vc->names);
    free(vc);
}

static void vc_close(struct edge_vconn *vc, bool rst)
{
    if (vc->closed)
        return;
    vc->closed = true;
    st_io_stop(&vc->io);
    st_timer_stop(&vc->timer);
    st_defer_cancel(&vc->srv->loop, &vc->read_d);
    if (vc->w) {
        struct edge_web *w = vc->w;
        vc->w = NULL;
        edge_web_access_gone(w, false);
    }
    if (vc->sio.fd >= 0) /* -1 once handed to edge_ah2 */
        edge_listen_closed(vc->srv, vc->sio.fd);
    st_sio_close(&vc->sio, rst);
    if (vc->prev)
        vc->prev->next = vc->next;
    else
        vc->srv->vconns = vc->next;
    if (vc->next)
        vc->next->prev = vc->prev;
    vc->srv->n_vconns--;
    st_defer_queue(&vc->srv->loop, &vc->done);
}

/* Input after the answer is read and dropped until the visitor closes: closing with unread
 * input would send a RST that can destroy the answer before the visitor reads it. */
static void linger_read(struct edge_vconn *vc)
{
    for (int i = 0; i < ROUNDS * 4; i++) {
        ssize_t n = st_sio_read(&vc->sio, vc->rbuf, RBUF);
        if (n == -EAGAIN)
            return;
        if (n <= 0 || (vc->discarded += (size_t)n) > LINGER_MAX) {
            vc_close(vc, n > 0);
            return;
        }
    }
    st_defer_queue(&vc->srv->loop, &vc->read_d);
}

static void linger(struct edge_vconn *vc)
{
    if (vc->eof_in) {
        vc_close(vc, false);
        return;
    }
    vc->lingering = true;
    if (vc->sio.ssl)
        SSL_shutdown(vc->sio.ssl); /* close_notify; best effort, never blocks */
    shutdown(vc->sio.fd, SHUT_WR);
    st_timer_start(&vc->timer, LINGER_MS);
    st_io_set(&vc->io, EPOLLIN);
    linger_read(vc);
}

static bool can_read(const struct edge_vconn *vc)
{
    if (vc->closed || vc->eof_in || vc->rlen == RBUF || !vc->sio.handshake_done)
        return !vc->closed && !vc->sio.handshake_done;
    if (!vc->w)
        return !vc->draining || vc->rlen == 0 ? !vc->draining : false;
    if (vc->upgraded || !vc->msg_done)
        return st_bq_room(&vc->w->up) > 0;
    return false; /* the request is in: the next one waits for the response */
}

/* The request is in and its response pending or streaming: input is not read, but a
 * visitor that goes away must still be noticed (else an idle response waits forever). */
static bool watching_hangup(const struct edge_vconn *vc)
{
    return vc->w && vc->msg_done && !vc->upgraded && vc->sio.handshake_done;
}

static void update_events(struct edge_vconn *vc)
{
    if (vc->closed || vc->lingering)
        return;
    /* Body bytes still queued count as pending output: flush() stops after a bounded number
     * of writes, and with the socket still writable nothing else would call it again. */
    bool body = vc->w && vc->resp_started && !vc->resp_done && (vc->w->down.len || vc->w->down_eof);
    uint32_t ev = st_sio_events(&vc->sio, can_read(vc), vc->woff < vc->wlen || body);
    st_io_set(&vc->io, ev | (watching_hangup(vc) ? EPOLLRDHUP : 0));
}

/* ---------------------------------------------------------------- request head */

static int on_begin(http_parser *p)
{
    struct edge_vconn *vc = p->data;
    if (!vc->head && !(vc->head = malloc(sizeof(*vc->head))))
        return -1;
    edge_vhead_reset(vc->head);
    vc->in_head = true;
    st_timer_start(&vc->timer, (uint64_t)vc->srv->cfg.request_timeout_ms);
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    edge_vhead_url(((struct edge_vconn *)p->data)->head, at, len);
    return 0;
}

static int on_field(http_parser *p, const char *at, size_t len)
{
    edge_vhead_field(((struct edge_vconn *)p->data)->head, at, len);
    return 0;
}

static int on_value(http_parser *p, const char *at, size_t len)
{
    edge_vhead_value(((struct edge_vconn *)p->data)->head, at, len);
    return 0;
}

/* The output buffer, allocated when there is a first answer to write: a connection that
 * never completes a request costs no output buffer. False when memory is short. */
static bool need_wbuf(struct edge_vconn *vc)
{
    return vc->wbuf || (vc->wbuf = malloc(WBUF + 32)) != NULL;
}

static void local_error(struct edge_vconn *vc, int status, const char *ps)
{
    struct edge_web *w = edge_web_new(vc->srv, vc->client_ip);
    if (!w) {
        vc_close(vc, true);
        return;
    }
    vc->w = w;
    w->vc = vc;
    vc->keep_alive = false;
    edge_web_local(w, status, ps);
}

static int on_headers_complete(http_parser *p)
{
    struct edge_vconn *vc = p->data;
    struct edge_vhead *h = vc->head;
    vc->in_head = false;
    st_timer_stop(&vc->timer);
    edge_listen_authed(vc->srv, vc->sio.fd); /* a first complete request head */
    vc->keep_alive = http_should_keep_alive(p) && !vc->draining;
    int status = edge_vhead_finish(h);
    if (status) {
        local_error(vc, status, "subtunnel; error=http_request_error");
        return 0;
    }
    vc->ws_key[0] = 0;
    bool expect = false;
    for (size_t i = 0; i < h->n_fields; i++) {
        const struct st_http_field *f = &h->fields[i];
        if (f->nlen == 17 && strncasecmp(f->name, "sec-websocket-key", 17) == 0)
            snprintf(vc->ws_key, sizeof(vc->ws_key), "%.*s", (int)f->vlen, f->value);
        expect |= f->nlen == 6 && strncasecmp(f->name, "expect", 6) == 0 && f->vlen == 12 &&
                  strncasecmp(f->value, "100-continue", 12) == 0;
    }
    struct edge_web *w = edge_web_new(vc->srv, vc->client_ip);
    if (!w)
        return -1;
    vc->w = w;
    w->vc = vc;
    struct edge_visit_req req = {.method = http_method_str(p->method),
                                 .target = h->target,
                                 .fields = h->fields,
                                 .n_fields = h->n_fields,
                                 .client_ip = vc->client_ip,
                                 .tls = vc->tls,
                                 .via = vc->srv->cfg.location};
    bool body =
        (p->flags & F_CHUNKED) || (p->content_length > 0 && p->content_length != ULLONG_MAX);
    if (p->upgrade && !(p->flags & F_CHUNKED) && p->content_length == ULLONG_MAX)
        body = true; /* a WebSocket's bytes follow (anything else is refused below) */
    edge_web_send(w, &req, body);
    if (expect && body && p->http_minor >= 1 && !w->local && !vc->resp_started &&
        vc->woff == vc->wlen && need_wbuf(vc)) {
        /* Expect: 100-continue is answered here, so the visitor sends its body at once */
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        memcpy(vc->wbuf, cont, sizeof(cont) - 1);
        vc->wlen = sizeof(cont) - 1;
        vc->woff = 0;
        vc->interim = true;
        flush(vc);
    }
    if (p->upgrade && !w->websocket) {
        vc->keep_alive = false; /* an upgrade we do not relay: answer, then close */
        if (!w->local)
            edge_web_up_eof(w);
    }
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    struct edge_vconn *vc = p->data;
    return vc->w && edge_web_up(vc->w, (const uint8_t *)at, len) < 0 ? -1 : 0;
}

static int on_message_complete(http_parser *p)
{
    struct edge_vconn *vc = p->data;
    vc->msg_done = true;
    if (vc->w && !p->upgrade)
        edge_web_up_eof(vc->w);
    http_parser_pause(p, 1); /* the next request waits for this response */
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_begin,
    .on_url = on_url,
    .on_header_field = on_field,
    .on_header_value = on_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

static void consume_input(struct edge_vconn *vc, size_t n)
{
    memmove(vc->rbuf, vc->rbuf + n, vc->rlen - n);
    vc->rlen -= n;
}

/* Parses buffered bytes as far as the current request allows. */
static void process(struct edge_vconn *vc)
{
    for (int i = 0; i < ROUNDS && !vc->closed && vc->rlen; i++) {
        if (vc->upgraded) {
            size_t n = st_bq_room(&vc->w->up);
            n = n < vc->rlen ? n : vc->rlen;
            if (!n || edge_web_up(vc->w, vc->rbuf, n) < 0)
                return;
            consume_input(vc, n);
            continue;
        }
        if (vc->msg_done)
            return;
        size_t n = vc->rlen;
        if (vc->w && st_bq_room(&vc->w->up) < n) /* body bytes <= parsed bytes */
            n = st_bq_room(&vc->w->up);
        if (!n)
            return;
        size_t used = http_parser_execute(&vc->parser, &settings, (const char *)vc->rbuf, n);
        enum http_errno e = HTTP_PARSER_ERRNO(&vc->parser);
        if (vc->closed)
            return;
        consume_input(vc, used);
        if (e == HPE_PAUSED || vc->parser.upgrade)
            continue; /* bytes after an upgrade wait until the origin switched (respond) */
        if (e != HPE_OK) {
            edge_refusal(vc->srv, EDGE_REFUSE_REQUEST, "visitor %s: bad request: %s", vc->client,
                         http_errno_description(e));
            if (vc->w || vc->resp_started) { /* broken body mid-request */
                vc_close(vc, true);
                return;
            }
            local_error(vc, 400, "subtunnel; error=http_request_error");
            return;
        }
    }
}

static void read_input(struct edge_vconn *vc)
{
    for (int i = 0; i < ROUNDS && can_read(vc) && vc->sio.handshake_done; i++) {
        ssize_t n = st_sio_read(&vc->sio, vc->rbuf + vc->rlen, RBUF - vc->rlen);
        if (n == -EAGAIN)
            break;
        if (n < 0) {
            st_debug("visitor %s: %s", vc->client, vc->sio.why);
            vc_close(vc, true);
            return;
        }
        if (n == 0) {
            vc->eof_in = true;
            break;
        }
        vc->rlen += (size_t)n;
        process(vc);
        if (vc->closed)
            return;
        if (i == ROUNDS - 1) /* more may wait (TLS keeps decrypted bytes): come back */
            st_defer_queue(&vc->srv->loop, &vc->read_d);
    }
    if (vc->eof_in && !vc->closed) {
        if (vc->upgraded) {
            if (vc->rlen == 0 && vc->w && !vc->w->up_eof)
                edge_web_up_eof(vc->w);
        } else if (!vc->w) {
            vc_close(vc, false); /* between requests, or a head cut short */
            return;
        } else if (!vc->msg_done) {
            st_debug("visitor %s: closed mid-request", vc->client);
            vc_close(vc, true);
            return;
        }
    }
    update_events(vc);
}

static void on_read_defer(struct st_defer *d)
{
    struct edge_vconn *vc = d->data;
    if (vc->lingering) {
        linger_read(vc);
        return;
    }
    process(vc);
    if (!vc->closed)
        read_input(vc);
}

/* ---------------------------------------------------------------- response */

static int local_head(char *out, size_t cap, struct edge_web *w)
{
    char extra[600] = ""; /* the challenge of a 401, the target of a 308 (edge_authz.c) */
    if (w->status == 401)
        snprintf(extra, sizeof(extra), "WWW-Authenticate: %s\r\n", EDGE_WEB_CHALLENGE);
    else if (w->status == 308)
        snprintf(extra, sizeof(extra), "Location: https://%s%s\r\n", w->host, w->req_path);
    return snprintf(out, cap,
                    "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                    "Content-Length: %zu\r\n%s%s%s%sConnection: close\r\n\r\n",
                    w->status, st_http_reason(w->status), w->down.len,
                    w->proxy_status[0] ? "Proxy-Status: " : "", w->proxy_status,
                    w->proxy_status[0] ? "\r\n" : "", extra);
}

void edge_vconn_respond(struct edge_vconn *vc)
{
    struct edge_web *w = vc->w;
    if (!w || vc->resp_started || vc->closed)
        return;
    if (!need_wbuf(vc)) {
        vc_close(vc, true);
        return;
    }
    /* the rest of a "100 Continue" still going out stays in front */
    size_t at = vc->woff < vc->wlen ? vc->wlen - vc->woff : 0;
    memmove(vc->wbuf, vc->wbuf + vc->woff, at);
    vc->woff = 0;
    vc->wlen = at;
    vc->interim = false;
    char *out = (char *)vc->wbuf + at;
    size_t cap = WBUF - at;
    int n;
    if (w->local) {
        vc->keep_alive = false;
        vc->chunked = false;
        n = local_head(out, cap, w);
    } else {
        char accept[29];
        bool ws_ok = w->websocket && w->status >= 200 && w->status < 300 && vc->ws_key[0];
        if (ws_ok)
            st_http_ws_accept(vc->ws_key, strlen(vc->ws_key), accept);
        if (w->websocket)
            vc->keep_alive = false;
        n = edge_visit_response_head(w->status, w->fields, w->n_fields, w->head_request,
                                     vc->keep_alive && !vc->draining, ws_ok ? accept : NULL, out,
                                     cap, &vc->chunked);
        if (n < 0) {
            st_info("visitor %s: host %s: response head not fit to forward", vc->client, w->host);
            w->responded = false; /* let the edge answer instead */
            edge_web_local(w, 502, "subtunnel; error=http_protocol_error");
            return;
        }
        if (ws_ok)
            vc->upgraded = true;
    }
    vc->resp_started = true;
    vc->wlen = at + (size_t)n;
    vc->woff = 0;
    flush(vc);
    if (vc->upgraded)
        process(vc);
}

/* The exchange is over: next request (keep-alive) or close. */
static void exchange_done(struct edge_vconn *vc)
{
    struct edge_web *w = vc->w;
    vc->w = NULL;
    bool reuse = vc->keep_alive && vc->msg_done && !vc->upgraded && !vc->draining && !vc->eof_in &&
                 !w->local;
    edge_web_access_gone(w, vc->msg_done);
    if (!reuse) {
        linger(vc);
        return;
    }
    vc->msg_done = vc->resp_started = vc->resp_done = vc->chunked = false;
    vc->wlen = vc->woff = 0;
    http_parser_pause(&vc->parser, 0);
    st_timer_start(&vc->timer, (uint64_t)vc->srv->cfg.idle_timeout_ms);
    st_defer_queue(&vc->srv->loop, &vc->read_d); /* a pipelined request may be buffered */
}

/* Fills wbuf with the next piece of body (framed) when it is empty. */
static void refill(struct edge_vconn *vc)
{
    struct edge_web *w = vc->w;
    vc->wlen = vc->woff = 0;
    if (w->down.len) {
        const uint8_t *p;
        size_t n = st_bq_peek(&w->down, 0, &p);
        n = n < WBUF - 16 ? n : WBUF - 16;
        size_t at = 0;
        if (vc->chunked)
            at = (size_t)snprintf((char *)vc->wbuf, 16, "%zx\r\n", n);
        memcpy(vc->wbuf + at, p, n);
        vc->wlen = at + n;
        if (vc->chunked) {
            memcpy(vc->wbuf + vc->wlen, "\r\n", 2);
            vc->wlen += 2;
        }
        st_bq_consume(&w->down, n);
        edge_web_delivered(w, n);
    } else if (w->down_eof && !vc->resp_done) {
        vc->resp_done = true;
        if (vc->chunked) {
            memcpy(vc->wbuf, "0\r\n\r\n", 5);
            vc->wlen = 5;
        }
    }
}

static void flush(struct edge_vconn *vc)
{
    for (int i = 0; i < ROUNDS * 4 && !vc->closed && vc->w && (vc->resp_started || vc->interim);
         i++) {
        if (vc->woff == vc->wlen) {
            if (vc->interim) { /* the 100 Continue is out */
                vc->interim = false;
                vc->wlen = vc->woff = 0;
            }
            if (vc->resp_done || !vc->resp_started)
                break;
            refill(vc);
            if (vc->wlen == 0)
                continue; /* the end without a last chunk; loop once more to finish */
        }
        ssize_t k = st_sio_write(&vc->sio, vc->wbuf + vc->woff, vc->wlen - vc->woff);
        if (k == -EAGAIN)
            break;
        if (k < 0) {
            st_debug("visitor %s: %s", vc->client, vc->sio.why);
            vc_close(vc, true);
            return;
        }
        vc->woff += (size_t)k;
    }
    if (vc->closed)
        return;
    if (vc->w && vc->resp_done && vc->woff == vc->wlen) {
        exchange_done(vc);
        return;
    }
    update_events(vc);
}

void edge_vconn_wake(struct edge_vconn *vc)
{
    flush(vc);
}

void edge_vconn_up_room(struct edge_vconn *vc)
{
    st_defer_queue(&vc->srv->loop, &vc->read_d);
}

void edge_vconn_abort(struct edge_vconn *vc)
{
    vc_close(vc, true);
}

/* ---------------------------------------------------------------- connection */

static void client_names(struct edge_vconn *vc)
{
    char names[512];
    if ((vc->names = st_tls_peer_names(vc->sio.ssl)))
        st_debug("visitor %s: client certificate: %s", vc->client,
                 st_tls_names_format(vc->names, names, sizeof(names)));
}

static void vc_io(struct st_io *io, uint32_t events)
{
    struct edge_vconn *vc = io->data;
    if (vc->lingering) {
        linger_read(vc);
        return;
    }
    if (!vc->sio.handshake_done) {
        int rv = st_sio_handshake(&vc->sio);
        if (rv < 0) {
            if (vc->sio.cert_refused)
                edge_refusal(vc->srv, EDGE_REFUSE_CONN, "visitor %s: %s", vc->client, vc->sio.why);
            else
                st_debug("visitor %s: %s", vc->client, vc->sio.why);
            vc_close(vc, true);
            return;
        }
        if (rv == 0) {
            update_events(vc);
            return;
        }
        char alpn[16];
        st_sio_alpn(&vc->sio, alpn, sizeof(alpn));
        if (strcmp(alpn, "h2") == 0) { /* HTTP/2: hand the connection to edge_ah2 */
            int fd = vc->sio.fd;
            SSL *ssl = vc->sio.ssl;
            st_io_stop(&vc->io); /* before edge_ah2 registers the same fd */
            vc->sio.fd = -1;
            vc->sio.ssl = NULL;
            edge_ah2_start_visitor(vc->srv, fd, ssl, vc->client_ip);
            vc_close(vc, false);
            return;
        }
        client_names(vc);
        st_timer_start(&vc->timer, (uint64_t)vc->srv->cfg.request_timeout_ms);
    }
    if (watching_hangup(vc) && (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
        st_debug("visitor %s: gone before the response ended", vc->client);
        vc_close(vc, true); /* resets the tunnel stream too */
        return;
    }
    if (events & (EPOLLOUT | EPOLLIN))
        flush(vc);
    if (!vc->closed && (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLOUT)))
        read_input(vc);
}

static void on_timeout(struct st_timer *t)
{
    struct edge_vconn *vc = t->data;
    if (vc->in_head && !vc->w && !vc->lingering)
        local_error(vc, 408, NULL); /* a request head started but never finished */
    else
        vc_close(vc, false); /* idle, or lingering over */
}

/* "ip" of "ip:port" or "[v6]:port" */
static void ip_of(const char *peer, char *out, size_t cap)
{
    const char *colon = strrchr(peer, ':');
    size_t n = colon ? (size_t)(colon - peer) : strlen(peer);
    if (n >= 2 && peer[0] == '[' && peer[n - 1] == ']')
        peer++, n -= 2;
    snprintf(out, cap, "%.*s", (int)n, peer);
}

void edge_vconn_start(struct edge_server *srv, int fd, const char *peer, bool tls)
{
    struct edge_vconn *vc = calloc(1, sizeof(*vc));
    SSL *ssl = tls && vc ? SSL_new(srv->https_ctx) : NULL;
    if (!vc || (tls && !ssl)) {
        free(vc);
        edge_listen_closed(srv, fd);
        close(fd);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    vc->srv = srv;
    vc->tls = tls;
    snprintf(vc->client, sizeof(vc->client), "%s", peer);
    ip_of(peer, vc->client_ip, sizeof(vc->client_ip));
    st_sio_init(&vc->sio, fd, ssl);
    http_parser_init(&vc->parser, HTTP_REQUEST);
    vc->parser.data = vc;
    st_io_init(&vc->io, &srv->loop, fd, vc_io, vc);
    st_timer_init(&vc->timer, &srv->loop, on_timeout, vc);
    st_defer_init(&vc->done, on_done, vc);
    st_defer_init(&vc->read_d, on_read_defer, vc);
    vc->next = srv->vconns;
    if (vc->next)
        vc->next->prev = vc;
    srv->vconns = vc;
    srv->n_vconns++;
    st_timer_start(&vc->timer, (uint64_t)srv->cfg.request_timeout_ms);
    update_events(vc);
}

void edge_vconn_drain(struct edge_server *srv)
{
    struct edge_vconn *vc = srv->vconns;
    while (vc) {
        struct edge_vconn *next = vc->next;
        vc->draining = true;
        if (!vc->w && vc->rlen == 0)
            vc_close(vc, false);
        vc = next;
    }
}

const struct st_tls_names *edge_vconn_names(const struct edge_vconn *vc)
{
    return vc->names;
}
