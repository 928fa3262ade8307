#include "st_mhttp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "st_http.h"
#include "st_log.h"
#include "st_sock.h"

#define DRAIN_MS 1000 /* after the response: read what the client still sends, then close */
#define ACCEPT_BUDGET 64
#define PAUSE_MS 1000 /* a listener short of descriptors rests this long */

/* ---- request parsing ---- */

static int on_url(http_parser *p, const char *at, size_t len)
{
    struct st_mhttp_req *r = p->data;
    if (r->plen + len >= sizeof(r->path)) {
        r->path_long = true;
        return 0;
    }
    memcpy(r->path + r->plen, at, len);
    r->plen += len;
    r->path[r->plen] = '\0';
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    struct st_mhttp_req *r = p->data;
    r->done = true;
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings settings = {.on_url = on_url,
                                              .on_headers_complete = on_headers_complete};

void st_mhttp_req_init(struct st_mhttp_req *r)
{
    memset(r, 0, sizeof(*r));
    http_parser_init(&r->parser, HTTP_REQUEST);
    r->parser.data = r;
}

static int route(struct st_mhttp_req *r, enum st_mhttp_target *target)
{
    if (r->parser.method != HTTP_GET)
        return 405;
    size_t n = strcspn(r->path, "?#");
    static const struct {
        const char *path;
        enum st_mhttp_target t;
    } paths[] = {
        {"/metrics", ST_MHTTP_METRICS}, {"/healthz", ST_MHTTP_HEALTHZ}, {"/ready", ST_MHTTP_READY}};
    for (size_t i = 0; !r->path_long && i < sizeof(paths) / sizeof(paths[0]); i++) {
        if (strlen(paths[i].path) == n && memcmp(paths[i].path, r->path, n) == 0) {
            *target = paths[i].t;
            return 200;
        }
    }
    return 404;
}

int st_mhttp_req_feed(struct st_mhttp_req *r, const char *p, size_t n, enum st_mhttp_target *target)
{
    *target = ST_MHTTP_NONE;
    if (r->done)
        return route(r, target);
    size_t room = ST_MHTTP_HEAD_MAX - r->seen, take = n < room ? n : room;
    http_parser_execute(&r->parser, &settings, p, take);
    r->seen += take;
    enum http_errno e = HTTP_PARSER_ERRNO(&r->parser);
    if (r->done)
        return route(r, target);
    if (e != HPE_OK)
        return e == HPE_HEADER_OVERFLOW ? 431 : 400;
    return r->seen >= ST_MHTTP_HEAD_MAX ? 431 : 0;
}

void st_mhttp_response(struct st_mbuf *out, int status, const char *ctype, const char *body,
                       size_t len)
{
    st_mbuf_printf(out,
                   "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
                   "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
                   status, st_http_reason(status), ctype, len,
                   status == 405 ? "Allow: GET\r\n" : "");
    st_mbuf_put(out, body, len);
}

/* ---- server ---- */

struct st_mhttp_conn {
    struct st_mhttp *m;
    struct st_mhttp_conn *next, *prev;
    struct st_io io;
    struct st_timer timer;
    struct st_defer free_defer;
    struct st_mhttp_req req;
    struct st_mbuf out;
    size_t sent;
    bool answered, closed;
};

static const char text_plain[] = "text/plain; charset=utf-8";
static const char metrics_type[] = "text/plain; version=0.0.4; charset=utf-8";

static void unlink_conn(struct st_mhttp_conn **head, struct st_mhttp_conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        *head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->next = c->prev = NULL;
}

static void on_free(struct st_defer *d)
{
    struct st_mhttp_conn *c = d->data;
    unlink_conn(&c->m->closing, c);
    st_mbuf_fini(&c->out);
    free(c);
}

/* Closes the socket at once; the memory goes after the current batch (its st_io may still
 * have an event in it). */
static void conn_close(struct st_mhttp_conn *c)
{
    if (c->closed)
        return;
    c->closed = true;
    struct st_mhttp *m = c->m;
    st_io_stop(&c->io);
    close(c->io.fd);
    c->io.fd = -1;
    st_timer_stop(&c->timer);
    unlink_conn(&m->conns, c);
    m->n_conns--;
    c->next = m->closing; /* until the deferred free (or st_mhttp_free) */
    if (m->closing)
        m->closing->prev = c;
    m->closing = c;
    st_defer_queue(m->loop, &c->free_defer);
}

static void on_timeout(struct st_timer *t)
{
    conn_close(t->data);
}

/* Sends what is left of the response; once all of it went, stops writing and waits for
 * the client's end (reading and dropping what it still sends) for DRAIN_MS. */
static void write_out(struct st_mhttp_conn *c)
{
    while (c->sent < c->out.len) {
        ssize_t w = send(c->io.fd, c->out.p + c->sent, c->out.len - c->sent, MSG_NOSIGNAL);
        if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
            st_io_set(&c->io, EPOLLOUT);
            return;
        }
        if (w <= 0) {
            conn_close(c);
            return;
        }
        c->sent += (size_t)w;
    }
    shutdown(c->io.fd, SHUT_WR);
    st_io_set(&c->io, EPOLLIN);
    st_timer_start(&c->timer, DRAIN_MS);
}

static void answer(struct st_mhttp_conn *c, int status, enum st_mhttp_target t)
{
    struct st_mhttp *m = c->m;
    char line[200];
    c->answered = true;
    st_mbuf_init(&c->out, ST_MHTTP_BODY_MAX + 1024);
    if (status != 200) {
        snprintf(line, sizeof(line), "%d %s\n", status, st_http_reason(status));
        st_mhttp_response(&c->out, status, text_plain, line, strlen(line));
    } else if (t == ST_MHTTP_HEALTHZ) {
        st_mhttp_response(&c->out, 200, text_plain, "ok\n", 3);
    } else if (t == ST_MHTTP_READY) {
        char why[160] = "";
        bool ok = m->ops->ready(m->data, why, sizeof(why));
        snprintf(line, sizeof(line), "%s: %s\n", ok ? "ready" : "not ready", why);
        st_mhttp_response(&c->out, ok ? 200 : 503, text_plain, line, strlen(line));
    } else {
        struct st_mbuf body;
        st_mbuf_init(&body, ST_MHTTP_BODY_MAX);
        m->ops->metrics(m->data, &body);
        if (body.full) {
            st_warn("metrics: the text is larger than %d bytes: answering 500", ST_MHTTP_BODY_MAX);
            st_mhttp_response(&c->out, 500, text_plain, "500 metrics too large\n", 22);
        } else {
            st_mhttp_response(&c->out, 200, metrics_type, body.p ? body.p : "", body.len);
        }
        st_mbuf_fini(&body);
    }
    if (c->out.full) {
        conn_close(c);
        return;
    }
    write_out(c);
}

static void on_readable(struct st_mhttp_conn *c)
{
    char buf[2048];
    for (int i = 0; i < 8 && !c->closed; i++) {
        ssize_t n = recv(c->io.fd, buf, sizeof(buf), 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n <= 0) {
            conn_close(c); /* the client's end (or an error), before or after the answer */
            return;
        }
        if (c->answered)
            continue; /* draining */
        enum st_mhttp_target t;
        int status = st_mhttp_req_feed(&c->req, buf, (size_t)n, &t);
        if (status) {
            answer(c, status, t);
            return;
        }
    }
}

static void on_conn_io(struct st_io *io, uint32_t events)
{
    struct st_mhttp_conn *c = io->data;
    if (c->closed)
        return;
    if (c->answered && c->sent < c->out.len && (events & EPOLLOUT))
        write_out(c);
    else if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
        on_readable(c);
}

static void on_pause_over(struct st_timer *t)
{
    struct st_mhttp *m = t->data;
    st_io_set(&m->lis, EPOLLIN);
}

static void on_accept(struct st_io *io, uint32_t events)
{
    (void)events;
    struct st_mhttp *m = io->data;
    char peer[80];
    for (int i = 0; i < ACCEPT_BUDGET; i++) {
        int fd = st_sock_accept(io->fd, NULL, peer, sizeof(peer));
        if (fd < 0 && st_sock_fd_shortage(fd)) {
            /* a pending connection stays pending: without a rest, level-triggered epoll
             * would call again at once, for as long as no descriptor is free */
            st_io_set(io, 0);
            st_timer_start(&m->pause, PAUSE_MS);
        }
        if (fd < 0)
            return;
        struct st_mhttp_conn *c = m->n_conns < ST_MHTTP_MAX_CONNS ? calloc(1, sizeof(*c)) : NULL;
        if (!c) {
            close(fd); /* over the cap: the scraper retries */
            continue;
        }
        c->m = m;
        st_mhttp_req_init(&c->req);
        st_io_init(&c->io, m->loop, fd, on_conn_io, c);
        st_timer_init(&c->timer, m->loop, on_timeout, c);
        st_defer_init(&c->free_defer, on_free, c);
        c->next = m->conns;
        if (m->conns)
            m->conns->prev = c;
        m->conns = c;
        m->n_conns++;
        st_timer_start(&c->timer, ST_MHTTP_TIMEOUT_MS);
        st_io_set(&c->io, EPOLLIN);
    }
}

struct st_mhttp *st_mhttp_new(struct st_loop *loop, const struct st_sockaddr *addr,
                              const struct st_mhttp_ops *ops, void *data, int *err)
{
    struct st_mhttp *m = calloc(1, sizeof(*m));
    if (!m) {
        *err = -ENOMEM;
        return NULL;
    }
    int fd = st_sock_listen(addr);
    if (fd < 0) {
        *err = fd;
        free(m);
        return NULL;
    }
    m->loop = loop;
    m->ops = ops;
    m->data = data;
    st_io_init(&m->lis, loop, fd, on_accept, m);
    st_timer_init(&m->pause, loop, on_pause_over, m);
    int rv = st_io_set(&m->lis, EPOLLIN);
    if (rv < 0) {
        *err = rv;
        close(fd);
        free(m);
        return NULL;
    }
    return m;
}

void st_mhttp_free(struct st_mhttp *m)
{
    if (!m)
        return;
    while (m->conns)
        conn_close(m->conns);
    while (m->closing) {
        struct st_mhttp_conn *c = m->closing;
        st_defer_cancel(m->loop, &c->free_defer);
        on_free(&c->free_defer);
    }
    st_timer_stop(&m->pause);
    st_io_stop(&m->lis);
    close(m->lis.fd);
    free(m);
}

int st_mhttp_start(struct st_mhttp **out, struct st_loop *loop, const struct st_sockaddr *addr,
                   const struct st_mhttp_ops *ops, void *data)
{
    char name[80];
    int err = 0;
    st_sockaddr_format(addr, name, sizeof(name));
    *out = st_mhttp_new(loop, addr, ops, data, &err);
    if (!*out) {
        st_err("metrics listener %s: %s", name, strerror(-err));
        return -1;
    }
    st_info("metrics listening on %s (/metrics, /healthz, /ready)", name);
    return 0;
}
