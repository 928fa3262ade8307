#include "st_redis.h"

#include <errno.h>
#include <hiredis.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "st_ares.h"
#include "st_loop.h"
#include "st_sio.h"
#include "st_tls.h"

enum conn_state { S_IDLE, S_RESOLVING, S_CONNECTING, S_HANDSHAKE, S_HELLO, S_UP };
enum reported { R_NONE, R_UP, R_DOWN };

struct pending {
    st_redis_cb cb;
    void *arg;
};

struct st_redis {
    struct st_loop *loop;
    struct st_redis_url url;
    struct st_redis_opts o;
    char *tls_name;
    enum conn_state state;
    enum reported reported;
    struct st_sio sio;
    struct st_io io;
    struct st_timer timer; /* connect timeout, or the wait before reconnecting */
    struct st_defer reaper;
    struct st_defer again;    /* TLS holds decrypted bytes no EPOLLIN will announce */
    struct st_ares *dns;      /* a named host: its resolver, made on the first connection */
    struct st_defer resolved; /* the resolver answered: connect (outside c-ares) */
    int dns_status;
    struct st_sockaddr peer; /* the address connected to */
    char peer_text[330];     /* "host" or "name (address)", for messages */
    struct st_redis_parser *parser;
    char *out;
    size_t out_off, out_len, out_cap;
    struct pending *q; /* ring of callbacks, one per command in flight */
    size_t q_head, q_len, q_cap;
    bool subscribed, freed, started;
    int busy;          /* callbacks running: free waits */
    uint64_t gen;      /* bumped when a connection ends */
    uint32_t backoff;  /* next wait, ms */
    uint32_t failures; /* attempts failed since the last connection up */
    struct st_redis_stats stats;
    char why[200];
};

static void fail_conn(struct st_redis *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- output and the callback ring ---- */

static int q_push(struct st_redis *r, st_redis_cb cb, void *arg)
{
    if (r->q_len == r->q_cap) {
        size_t cap = r->q_cap ? r->q_cap * 2 : 16;
        struct pending *q = malloc(cap * sizeof(*q));
        if (!q)
            return -ENOMEM;
        for (size_t i = 0; i < r->q_len; i++)
            q[i] = r->q[(r->q_head + i) % r->q_cap];
        free(r->q);
        r->q = q;
        r->q_cap = cap;
        r->q_head = 0;
    }
    r->q[(r->q_head + r->q_len++) % r->q_cap] = (struct pending){cb, arg};
    return 0;
}

static struct pending q_pop(struct st_redis *r)
{
    struct pending p = r->q[r->q_head];
    r->q_head = (r->q_head + 1) % r->q_cap;
    r->q_len--;
    return p;
}

static int out_reserve(struct st_redis *r, size_t n)
{
    if (r->out_off && r->out_off == r->out_len)
        r->out_off = r->out_len = 0;
    if (r->out_len + n <= r->out_cap)
        return 0;
    if (r->out_off) { /* TLS accepts a moved buffer (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER) */
        memmove(r->out, r->out + r->out_off, r->out_len - r->out_off);
        r->out_len -= r->out_off;
        r->out_off = 0;
    }
    size_t cap = r->out_cap ? r->out_cap : 4096;
    while (cap < r->out_len + n)
        cap *= 2;
    if (cap == r->out_cap)
        return 0;
    char *p = realloc(r->out, cap);
    if (!p)
        return -ENOMEM;
    r->out = p;
    r->out_cap = cap;
    return 0;
}

static void update_events(struct st_redis *r)
{
    if (r->state < S_HANDSHAKE)
        return;
    uint32_t ev = st_sio_events(&r->sio, true, r->out_len > r->out_off);
    if (st_io_set(&r->io, ev) < 0)
        fail_conn(r, "epoll: %s", strerror(errno));
}

/* Encodes and queues a command without the state and cap checks of st_redis_command. */
static int enqueue(struct st_redis *r, bool track, st_redis_cb cb, void *arg, int argc,
                   const char **argv, const size_t *argvlen)
{
    size_t lens[16], *lp = (size_t *)argvlen, *heap = NULL;
    char *cmd = NULL;
    if (!argvlen) {
        lp = argc <= 16 ? lens : (heap = malloc((size_t)argc * sizeof(*lp)));
        if (!lp)
            return -ENOMEM;
        for (int i = 0; i < argc; i++)
            lp[i] = strlen(argv[i]);
    }
    int n = redisFormatCommandArgv(&cmd, argc, argv, lp);
    free(heap);
    if (n < 0)
        return -ENOMEM;
    size_t len = (size_t)n;
    int rc = r->out_len - r->out_off + len > r->o.max_out ? -ENOBUFS : out_reserve(r, len);
    if (rc == 0 && track)
        rc = q_push(r, cb, arg);
    if (rc == 0) {
        memcpy(r->out + r->out_len, cmd, len);
        r->out_len += len;
        r->stats.sent++;
        update_events(r);
    }
    redisFreeCommand(cmd);
    return rc;
}

int st_redis_command(struct st_redis *r, st_redis_cb cb, void *arg, int argc, const char **argv,
                     const size_t *argvlen)
{
    if (argc < 1 || !argv)
        return -EINVAL;
    if (r->state != S_UP) {
        r->stats.refused++;
        return -ENOTCONN;
    }
    if (r->q_len >= r->o.max_inflight) {
        r->stats.refused++;
        return -ENOBUFS;
    }
    int rc = enqueue(r, true, cb, arg, argc, argv, argvlen);
    if (rc == -ENOBUFS)
        r->stats.refused++;
    return rc;
}

int st_redis_subscribe(struct st_redis *r, const char *channel)
{
    if (r->state != S_UP) {
        r->stats.refused++;
        return -ENOTCONN;
    }
    const char *argv[] = {"SUBSCRIBE", channel};
    int rc = enqueue(r, false, NULL, NULL, 2, argv, NULL);
    if (rc == 0)
        r->subscribed = true;
    else if (rc == -ENOBUFS)
        r->stats.refused++;
    return rc;
}

/* ---- connection lifecycle ---- */

static void report(struct st_redis *r, enum reported now)
{
    if (r->reported == now || !r->o.state_cb)
        return;
    r->reported = now;
    r->busy++;
    r->o.state_cb(r, now == R_UP, r->why, r->o.data);
    r->busy--;
}

static void close_conn(struct st_redis *r)
{
    if (r->state == S_RESOLVING) {
        r->state = S_IDLE; /* what the cancel calls back is ignored */
        ares_cancel(st_ares_channel(r->dns));
        st_ares_kick(r->dns);
    }
    st_defer_cancel(r->loop, &r->resolved);
    st_io_stop(&r->io);
    if (r->state >= S_HANDSHAKE)
        st_sio_close(&r->sio, false);
    else if (r->state == S_CONNECTING)
        close(r->io.fd);
    r->io.fd = -1;
    r->state = S_IDLE;
    r->subscribed = false;
    r->out_off = r->out_len = 0;
    st_redis_parser_free(r->parser);
    r->parser = NULL;
    st_timer_stop(&r->timer);
    st_defer_cancel(r->loop, &r->again);
    r->gen++;
}

/* Calls every pending callback with NULL (they may queue commands: refused, not connected). */
static void fail_pending(struct st_redis *r)
{
    r->busy++;
    while (r->q_len) {
        struct pending p = q_pop(r);
        if (p.cb)
            p.cb(r, NULL, p.arg);
    }
    r->busy--;
}

static void fail_conn(struct st_redis *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->why, sizeof(r->why), fmt, ap);
    va_end(ap);
    r->stats.errors++;
    r->failures += r->state != S_UP;
    close_conn(r);
    if (!r->freed)
        st_timer_start(&r->timer, r->backoff);
    r->backoff = r->backoff * 2 > r->o.backoff_max_ms ? r->o.backoff_max_ms : r->backoff * 2;
    fail_pending(r);
    if (!r->freed)
        report(r, R_DOWN);
}

void st_redis_drop(struct st_redis *r, const char *why)
{
    if (r->state != S_IDLE)
        fail_conn(r, "%s", why);
}

static void hello_reply(struct st_redis *r, const struct st_redis_reply *reply, void *arg)
{
    const char *what = arg;
    if (!reply)
        return;
    if (reply->type == ST_REDIS_ERROR) {
        fail_conn(r, "%s refused: %.120s", what, reply->str);
        return;
    }
    if (strcmp(what, "PING") != 0)
        return;
    r->state = S_UP;
    r->failures = 0;
    r->backoff = r->o.backoff_min_ms;
    r->stats.connects++;
    r->why[0] = 0;
    st_timer_stop(&r->timer);
    report(r, R_UP);
}

/* AUTH, SELECT and a PING, pipelined: the PING's answer means the connection is usable. */
static int hello(struct st_redis *r)
{
    char db[16];
    int rc = 0;
    r->state = S_HELLO;
    if (!(r->parser = st_redis_parser_new()))
        return -ENOMEM;
    if (r->url.password) {
        const char *a[] = {"AUTH", r->url.user ? r->url.user : r->url.password, r->url.password};
        rc = enqueue(r, true, hello_reply, "AUTH", r->url.user ? 3 : 2, a, NULL);
    }
    if (rc == 0 && r->url.db > 0) {
        snprintf(db, sizeof(db), "%d", r->url.db);
        const char *a[] = {"SELECT", db};
        rc = enqueue(r, true, hello_reply, "SELECT", 2, a, NULL);
    }
    const char *ping[] = {"PING"};
    return rc < 0 ? rc : enqueue(r, true, hello_reply, "PING", 1, ping, NULL);
}

static int start_tls(struct st_redis *r, int fd)
{
    SSL *ssl = SSL_new(r->o.tls_ctx);
    if (!ssl)
        return -ENOMEM;
    st_sio_init(&r->sio, fd, ssl);
    SSL_set_connect_state(ssl);
    if (r->tls_name) {
        SSL_set_tlsext_host_name(ssl, r->tls_name);
        SSL_set1_host(ssl, r->tls_name);
    } else if (r->url.named) { /* no server-name: the name of the URL */
        SSL_set_tlsext_host_name(ssl, r->url.host);
        SSL_set1_host(ssl, r->url.host);
    } else {
        char ip[64];
        bool v6 = r->url.host[0] == '[';
        snprintf(ip, sizeof(ip), "%.*s", (int)strlen(r->url.host) - 2 * v6, r->url.host + v6);
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), ip);
    }
    r->state = S_HANDSHAKE;
    return 0;
}

static void handshake(struct st_redis *r)
{
    int h = st_sio_handshake(&r->sio);
    if (h < 0) {
        if (r->sio.cert_refused)
            fail_conn(r, "TLS handshake with %s: server certificate refused: %s", r->peer_text,
                      X509_verify_cert_error_string(SSL_get_verify_result(r->sio.ssl)));
        else
            fail_conn(r, "%s", r->sio.why);
        return;
    }
    int rc = h ? hello(r) : 0;
    if (rc < 0)
        fail_conn(r, "setting up the connection: %s", strerror(-rc));
    else
        update_events(r);
}

static void connected(struct st_redis *r)
{
    int err = 0, rc;
    socklen_t len = sizeof(err);
    int fd = r->io.fd;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err) {
        fail_conn(r, "connect to %s: %s", r->peer_text, strerror(err));
        return;
    }
    if (r->url.tls) {
        if ((rc = start_tls(r, fd)) == 0) {
            handshake(r); /* the client speaks first */
            return;
        }
    } else {
        st_sio_init(&r->sio, fd, NULL);
        r->state = S_HANDSHAKE;
        rc = hello(r);
    }
    if (rc < 0)
        fail_conn(r, "setting up the connection: %s", strerror(-rc));
    else
        update_events(r);
}

static bool is_push(const struct st_redis_reply *m)
{
    static const char *const kinds[] = {"message",    "pmessage",    "subscribe",
                                        "psubscribe", "unsubscribe", "punsubscribe"};
    const char *k = st_redis_elem_str(m, 0, NULL);
    for (size_t i = 0; k && i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strcmp(k, kinds[i]) == 0)
            return true;
    return false;
}

/* One reply: a push, or the answer to the oldest command in flight. */
static void deliver(struct st_redis *r, struct st_redis_reply *m)
{
    if (m->type == ST_REDIS_ERROR)
        r->stats.errors++;
    if (r->subscribed && is_push(m)) {
        if (r->o.push_cb)
            r->o.push_cb(r, m, r->o.data);
        return;
    }
    if (!r->q_len) {
        fail_conn(r, "bad reply: an answer to no command (type %d)", (int)m->type);
        return;
    }
    struct pending p = q_pop(r);
    if (p.cb)
        p.cb(r, m, p.arg);
}

/* Parses and delivers what was read; stops when the connection ended meanwhile. */
static void dispatch(struct st_redis *r)
{
    uint64_t gen = r->gen;
    char why[160];
    while (r->gen == gen && !r->freed) {
        struct st_redis_reply *m;
        int rc = st_redis_parser_next(r->parser, &m, why, sizeof(why));
        if (rc < 0) {
            fail_conn(r, "%s", why);
            return;
        }
        if (rc == 0)
            return;
        deliver(r, m);
        st_redis_reply_free(m);
    }
}

/* Reads what the socket holds (at most 64 reads a call). -1 when the connection ended. */
static int do_read(struct st_redis *r)
{
    char buf[16384];
    uint64_t gen = r->gen;
    int i;
    for (i = 0; i < 64 && r->gen == gen && !r->freed; i++) {
        ssize_t n = st_sio_read(&r->sio, buf, sizeof(buf));
        if (n == -EAGAIN)
            return 0;
        if (n <= 0) {
            fail_conn(r, "connection to %s %s", r->peer_text,
                      n == 0 ? "closed by the server" : r->sio.why);
            return -1;
        }
        if (st_redis_parser_feed(r->parser, buf, (size_t)n) < 0) {
            fail_conn(r, "bad reply: more than %u bytes without a complete reply",
                      ST_REDIS_MAX_PENDING);
            return -1;
        }
        dispatch(r);
    }
    if (r->gen != gen || r->freed)
        return -1;
    if (i == 64 && st_sio_pending(&r->sio)) /* fair to the other fds: go on next round */
        st_defer_queue(r->loop, &r->again);
    return 0;
}

static int do_write(struct st_redis *r)
{
    while (r->out_off < r->out_len) {
        ssize_t n = st_sio_write(&r->sio, r->out + r->out_off, r->out_len - r->out_off);
        if (n == -EAGAIN)
            return 0;
        if (n < 0) {
            fail_conn(r, "writing to %s: %s", r->peer_text,
                      n == -EPIPE ? "connection closed" : r->sio.why);
            return -1;
        }
        r->out_off += (size_t)n;
    }
    r->out_off = r->out_len = 0;
    return 0;
}

static void on_io(struct st_io *io, uint32_t events)
{
    struct st_redis *r = io->data;
    (void)events;
    r->busy++;
    if (r->state == S_CONNECTING)
        connected(r);
    else if (r->state == S_HANDSHAKE)
        handshake(r);
    else if (do_read(r) == 0 && do_write(r) == 0)
        update_events(r);
    r->busy--;
    if (r->freed && !r->busy)
        st_defer_queue(r->loop, &r->reaper);
}

static void read_again(struct st_defer *d)
{
    struct st_redis *r = d->data;
    if (r->state == S_UP || r->state == S_HELLO)
        on_io(&r->io, EPOLLIN);
}

static void connect_addr(struct st_redis *r)
{
    const struct sockaddr *sa = (const struct sockaddr *)&r->peer.ss;
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fail_conn(r, "socket: %s", strerror(errno));
        return;
    }
    st_io_init(&r->io, r->loop, fd, on_io, r);
    r->state = S_CONNECTING;
    st_timer_start(&r->timer, r->o.connect_timeout_ms);
    if (connect(fd, sa, r->peer.len) < 0 && errno != EINPROGRESS) {
        fail_conn(r, "connect to %s: %s", r->peer_text, strerror(errno));
        return;
    }
    if (st_io_set(&r->io, EPOLLOUT) < 0)
        fail_conn(r, "epoll: %s", strerror(errno));
}

/* The k-th IPv4 or IPv6 address of ai (k modulo their number), NULL when there is none. */
static const struct ares_addrinfo_node *pick_addr(const struct ares_addrinfo *ai, uint32_t k)
{
    const struct ares_addrinfo_node *n;
    uint32_t count = 0;
    for (n = ai ? ai->nodes : NULL; n; n = n->ai_next)
        count += n->ai_family == AF_INET || n->ai_family == AF_INET6;
    if (!count)
        return NULL;
    k %= count;
    for (n = ai->nodes;; n = n->ai_next)
        if ((n->ai_family == AF_INET || n->ai_family == AF_INET6) && k-- == 0)
            return n;
}

/* c-ares' answer (maybe from inside ares_getaddrinfo): kept, acted on from a deferred
 * callback, never inside c-ares. The first address in c-ares' RFC 6724 order, the next one
 * after each failed attempt (a name with an IPv6 and an IPv4 address, one unreachable). */
static void resolved_cb(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
    struct st_redis *r = arg;
    (void)timeouts;
    if (r->state == S_RESOLVING) {
        const struct ares_addrinfo_node *n = pick_addr(ai, r->failures);
        r->dns_status = status == ARES_SUCCESS && !n ? ARES_ENODATA : status;
        if (r->dns_status == ARES_SUCCESS) {
            const struct sockaddr_in *s4 = (const struct sockaddr_in *)n->ai_addr;
            const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)n->ai_addr;
            st_sockaddr_from(&r->peer, n->ai_family,
                             n->ai_family == AF_INET ? (const uint8_t *)&s4->sin_addr
                                                     : (const uint8_t *)&s6->sin6_addr,
                             r->url.port);
        }
        st_defer_queue(r->loop, &r->resolved);
    }
    if (ai)
        ares_freeaddrinfo(ai);
}

static void on_resolved(struct st_defer *d)
{
    struct st_redis *r = d->data;
    char addr[64];
    if (r->state != S_RESOLVING)
        return;
    r->busy++;
    if (r->dns_status != ARES_SUCCESS) {
        fail_conn(r, "resolving %s: %s", r->url.host,
                  r->dns_status == ARES_ENOTFOUND ? "no such name (NXDOMAIN)"
                                                  : ares_strerror(r->dns_status));
    } else {
        st_sockaddr_format(&r->peer, addr, sizeof(addr));
        snprintf(r->peer_text, sizeof(r->peer_text), "%.255s (%.63s)", r->url.host, addr);
        connect_addr(r);
    }
    r->busy--;
    if (r->freed && !r->busy)
        st_defer_queue(r->loop, &r->reaper);
}

/* A named host is resolved again before every connection (the registry may move). */
static void connect_now(struct st_redis *r)
{
    static const struct st_ares_opts dns = {.try_timeout_ms = 1000, .tries = 2};
    char err[160];
    if (!r->url.named) {
        connect_addr(r);
        return;
    }
    if (!r->dns && !(r->dns = st_ares_new(r->loop, &dns, err, sizeof(err)))) {
        fail_conn(r, "resolving %s: %s", r->url.host, err);
        return;
    }
    r->state = S_RESOLVING;
    st_timer_start(&r->timer, r->o.connect_timeout_ms);
    struct ares_addrinfo_hints hints = {.ai_family = AF_UNSPEC};
    ares_getaddrinfo(st_ares_channel(r->dns), r->url.host, NULL, &hints, resolved_cb, r);
    st_ares_kick(r->dns);
}

static void on_timer(struct st_timer *t)
{
    struct st_redis *r = t->data;
    r->busy++;
    if (r->state == S_IDLE)
        connect_now(r);
    else if (r->state != S_UP)
        fail_conn(r, "%s %s: no answer within %u ms",
                  r->state == S_RESOLVING ? "resolving" : "connecting to",
                  r->state == S_RESOLVING ? r->url.host : r->peer_text, r->o.connect_timeout_ms);
    r->busy--;
    if (r->freed && !r->busy)
        st_defer_queue(r->loop, &r->reaper);
}

/* ---- object ---- */

static void reap(struct st_defer *d)
{
    struct st_redis *r = d->data;
    st_ares_free(r->dns); /* what it calls back is ignored: the client is idle */
    st_redis_url_fini(&r->url);
    free(r->tls_name);
    free(r->out);
    free(r->q);
    SSL_CTX_free(r->o.tls_ctx);
    free(r);
}

static int copy_url(struct st_redis_url *dst, const struct st_redis_url *src)
{
    *dst = *src;
    dst->user = src->user ? strdup(src->user) : NULL;
    dst->password = src->password ? strdup(src->password) : NULL;
    if ((src->user && !dst->user) || (src->password && !dst->password)) {
        st_redis_url_fini(dst);
        return -ENOMEM;
    }
    return 0;
}

static void set_defaults(struct st_redis_opts *o)
{
    if (!o->max_out)
        o->max_out = 1u << 20;
    if (!o->max_inflight)
        o->max_inflight = 65536;
    if (!o->backoff_min_ms)
        o->backoff_min_ms = 100;
    if (!o->backoff_max_ms)
        o->backoff_max_ms = 5000;
    if (o->backoff_max_ms < o->backoff_min_ms)
        o->backoff_max_ms = o->backoff_min_ms;
    if (!o->connect_timeout_ms)
        o->connect_timeout_ms = 5000;
}

struct st_redis *st_redis_new(struct st_loop *loop, const struct st_redis_url *url,
                              const struct st_redis_opts *opts)
{
    if (url->tls && (!opts || !opts->tls_ctx))
        return NULL;
    struct st_redis *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    if (opts)
        r->o = *opts;
    set_defaults(&r->o);
    if (copy_url(&r->url, url) < 0)
        goto fail_free;
    if (r->o.tls_name && !(r->tls_name = strdup(r->o.tls_name)))
        goto fail_url;
    r->o.tls_name = NULL;
    if (r->o.tls_ctx)
        SSL_CTX_up_ref(r->o.tls_ctx);
    r->loop = loop;
    r->io.fd = -1;
    r->backoff = r->o.backoff_min_ms;
    st_timer_init(&r->timer, loop, on_timer, r);
    st_defer_init(&r->reaper, reap, r);
    st_defer_init(&r->again, read_again, r);
    st_defer_init(&r->resolved, on_resolved, r);
    r->peer = url->addr;
    snprintf(r->peer_text, sizeof(r->peer_text), "%s", url->host);
    return r;

fail_url:
    st_redis_url_fini(&r->url);
fail_free:
    free(r);
    return NULL;
}

void st_redis_free(struct st_redis *r)
{
    if (!r || r->freed)
        return;
    r->freed = true;
    if (r->state >= S_HELLO && r->out_len > r->out_off)
        do_write(r); /* best effort, never blocks: last words such as a DEL go out */
    snprintf(r->why, sizeof(r->why), "client closed");
    close_conn(r);
    fail_pending(r);
    if (r->busy || st_loop_dispatching(r->loop))
        st_defer_queue(r->loop, &r->reaper); /* the batch may still point at r->io */
    else
        reap(&r->reaper);
}

int st_redis_start(struct st_redis *r)
{
    if (!r->started) {
        r->started = true;
        connect_now(r);
    }
    return 0;
}

bool st_redis_up(const struct st_redis *r)
{
    return r->state == S_UP;
}

const struct st_redis_stats *st_redis_stats(const struct st_redis *r)
{
    return &r->stats;
}

const char *st_redis_why(const struct st_redis *r)
{
    return r->why;
}

SSL_CTX *st_redis_tls_ctx(const char *ca_file, char *err, size_t errlen)
{
    char e[256];
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        snprintf(err, errlen, "TLS context: %s", st_tls_errstr(e, sizeof(e)));
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    int ok = ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL)
                     : SSL_CTX_set_default_verify_paths(ctx);
    if (ok != 1) {
        snprintf(err, errlen, "%s: %s", ca_file ? ca_file : "default CA paths",
                 st_tls_errstr(e, sizeof(e)));
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}
