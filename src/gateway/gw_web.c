#include "gw_web.h"
#include "gw_web_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_conn.h"
#include "gw_flow.h"
#include "gw_h1.h"
#include "gw_h1resp.h"
#include "gw_origin.h"
#include "gw_server.h"
#include "st_http.h"
#include "st_log.h"

#define OUT_HIGH (256 * 1024) /* origin bytes are parsed while fewer decoded bytes wait */
#define OUT_LIMIT (OUT_HIGH + 2 * 65536)
#define PUMP_ROUNDS 64
/* New connections one request may open: refused or reset before the origin took them
 * (an overloaded origin), within its connect deadline; the next one after a pause that
 * doubles from BACKOFF_MS up to BACKOFF_MAX_MS. */
#define CONNECTS_MAX 6
#define BACKOFF_MS 100
#define BACKOFF_MAX_MS 2000

#define NV(n, v)                                                                                   \
    {                                                                                              \
        (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NO_COPY_NAME     \
    }

static void pump(struct gw_web *w);
static void push(struct gw_web *w);

static nghttp2_session *session(const struct gw_web *w)
{
    return w->f->conn && !w->f->stream_closed ? w->f->conn->h2.session : NULL;
}

/* The origin took (or we dropped) n request body bytes: reopen the stream's window. */
static void consume(struct gw_web *w, size_t n)
{
    st_h2rx_taken(&w->f->conn->h2.rx, session(w), w->f->sid, NULL, 0, 0, n);
}

static void kick(struct gw_web *w)
{
    if (session(w))
        st_h2conn_kick(&w->f->conn->h2);
}

static void resume(struct gw_web *w)
{
    if (w->provider_deferred && session(w)) {
        w->provider_deferred = false;
        nghttp2_session_resume_data(session(w), w->f->sid);
        kick(w);
    }
}

static void reset(struct gw_web *w, uint32_t code)
{
    if (session(w)) {
        nghttp2_submit_rst_stream(session(w), NGHTTP2_FLAG_NONE, w->f->sid, code);
        kick(w);
    }
}

/* Request body bytes that will not be sent: their stream window reopens so the edge can
 * finish (they are dropped as they come from now on). */
static void discard_body(struct gw_web *w)
{
    if (w->body.len && session(w) && !w->closed) {
        consume(w, w->body.len);
        kick(w);
    }
    st_bq_fini(&w->body);
}

/* Lets go of the origin connection, or of the wait for one: kept for the next request when
 * the exchange ended cleanly (never after a WebSocket attempt), else closed; an unsent body
 * is dropped. */
static void drop_origin(struct gw_web *w, bool keep_alive)
{
    bool waited = gw_origin_waiting(&w->req) || w->backoff;
    gw_origin_cancel(w->gw, &w->req);
    w->backoff = false;
    if (!w->oc && !waited)
        return;
    if (w->oc)
        gw_origin_put(w->oc, keep_alive && !w->websocket, w->ka_conns, w->ka_timeout_ms);
    w->oc = NULL;
    discard_body(w);
}

static ssize_t read_cb(nghttp2_session *s, int32_t sid, uint8_t *buf, size_t len, uint32_t *flags,
                       nghttp2_data_source *src, void *ud)
{
    (void)s;
    (void)sid;
    (void)ud;
    struct gw_web *w = src->ptr;
    size_t n = st_bq_copy(&w->out, buf, len);
    st_bq_consume(&w->out, n);
    if (w->oc && gw_origin_readable(w->oc))
        st_defer_queue(&w->gw->loop, &w->pump_d); /* parse more outside nghttp2's callback */
    if (w->out.len == 0 && (w->resp_done || w->up_eof)) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        if (!w->body_eof) /* RFC 9113 8.1: the response is complete, stop the upload */
            st_defer_queue(&w->gw->loop, &w->rst_d);
    } else if (n == 0) {
        w->provider_deferred = true;
        return NGHTTP2_ERR_DEFERRED;
    }
    return (ssize_t)n;
}

/* A response made here (rule status, or an error before the origin answered): a short
 * text body naming the status. */
static void answer(struct gw_web *w, int status, const char *proxy_status)
{
    if (w->responded || !session(w))
        return;
    w->responded = w->resp_done = true;
    st_timer_stop(&w->timer);
    st_bq_fini(&w->out);
    char text[96], st[4], cl[12];
    snprintf(text, sizeof(text), "%d %s\n", status, st_http_reason(status));
    bool bodiless = status == 204 || status == 304 || w->head_request;
    snprintf(st, sizeof(st), "%d", status);
    snprintf(cl, sizeof(cl), "%zu", bodiless ? 0 : strlen(text));
    if (!bodiless)
        st_bq_append(&w->out, text, strlen(text));
    nghttp2_nv nva[4] = {NV(":status", st), NV("content-length", cl),
                         NV("content-type", "text/plain; charset=utf-8")};
    size_t n = 3;
    if (proxy_status)
        nva[n++] = (nghttp2_nv)NV("proxy-status", proxy_status);
    nghttp2_data_provider dp = {.source.ptr = w, .read_callback = read_cb};
    nghttp2_submit_response(session(w), w->f->sid, nva, n, bodiless ? NULL : &dp);
    if (bodiless && !w->body_eof) /* complete at once: stop the upload (RFC 9113 8.1) */
        st_defer_queue(&w->gw->loop, &w->rst_d);
    kick(w);
}

/* The exchange with the origin failed: an error response if none was sent yet, else the
 * stream is reset (the visitor sees a cut-off response, never a wrong one). */
static void fail(struct gw_web *w, int status, const char *error, const char *details)
{
    drop_origin(w, false);
    st_timer_stop(&w->timer);
    if (w->responded) {
        reset(w, NGHTTP2_INTERNAL_ERROR);
        return;
    }
    char ps[200];
    snprintf(ps, sizeof(ps), "subtunnel; error=%s%s%s%s", error, details ? "; details=\"" : "",
             details ? details : "", details ? "\"" : "");
    st_info("ingress %s%s -> %s: %d %s", w->f->authority, w->path, w->service, status, error);
    answer(w, status, ps);
}

static int on_head(void *arg, int status, const struct st_http_field *f, size_t n)
{
    struct gw_web *w = arg;
    st_timer_stop(&w->timer);
    const char *conn = NULL;
    size_t clen = 0;
    for (size_t i = 0; i < n; i++)
        if (f[i].nlen == 10 && memcmp(f[i].name, "connection", 10) == 0)
            conn = f[i].value, clen = f[i].vlen;
    if (status == 101) {
        const struct st_http_field *acc = NULL;
        for (size_t i = 0; i < n; i++)
            if (f[i].nlen == 20 && memcmp(f[i].name, "sec-websocket-accept", 20) == 0)
                acc = &f[i];
        if (!w->websocket || !acc || acc->vlen != 28 || memcmp(acc->value, w->ws_accept, 28)) {
            fail(w, 502, "http_upgrade_failed", "bad WebSocket handshake from the origin");
            return -1;
        }
        w->upgraded = true;
        status = 200; /* RFC 8441 5: the extended CONNECT succeeded */
    } else if (w->websocket && status >= 200 && status < 300) {
        fail(w, 502, "http_upgrade_failed", "the origin answered without upgrading");
        return -1;
    }
    nghttp2_nv *nva = calloc(n + 1, sizeof(*nva));
    if (!nva)
        return -1;
    char st[4];
    snprintf(st, sizeof(st), "%d", status);
    size_t k = 0;
    nva[k++] = (nghttp2_nv)NV(":status", st);
    for (size_t i = 0; i < n; i++) {
        if (st_http_hop_by_hop(f[i].name, f[i].nlen, conn, clen) ||
            (w->upgraded && f[i].nlen == 20 && memcmp(f[i].name, "sec-websocket-accept", 20) == 0))
            continue;
        if (!st_http_name_valid(f[i].name, f[i].nlen, true) ||
            !st_http_value_valid(f[i].value, f[i].vlen)) {
            free(nva);
            fail(w, 502, "http_protocol_error", "invalid field in the origin's response");
            return -1;
        }
        nva[k++] = (nghttp2_nv){(uint8_t *)f[i].name, (uint8_t *)f[i].value, f[i].nlen, f[i].vlen,
                                NGHTTP2_NV_FLAG_NONE};
    }
    w->responded = true;
    if (session(w)) {
        nghttp2_data_provider dp = {.source.ptr = w, .read_callback = read_cb};
        nghttp2_submit_response(session(w), w->f->sid, nva, k, &dp);
        kick(w);
    }
    free(nva);
    return 0;
}

static int on_body(void *arg, const char *p, size_t n)
{
    struct gw_web *w = arg;
    return st_bq_append(&w->out, p, n);
}

static void on_done(void *arg, bool keep_alive)
{
    struct gw_web *w = arg;
    w->resp_done = true;
    w->keep_alive = keep_alive;
}

static const struct gw_h1resp_cb resp_cb = {.head = on_head, .body = on_body, .done = on_done};

static void get_origin(struct gw_web *w, bool again);

/* RFC 9110 9.2.2: only a request that may be repeated is sent again, and only one without a
 * body (its bytes are gone once sent). */
static bool replayable(const struct gw_web *w)
{
    static const char *const idempotent[] = {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"};
    bool safe = false;
    for (size_t i = 0; i < sizeof(idempotent) / sizeof(idempotent[0]); i++)
        safe |= strcmp(w->f->method, idempotent[i]) == 0;
    return safe && !w->chunked && !gw_web_field(w, "content-length");
}

/* Sends the request again on another connection: from the head of the origin's queue. */
static void send_again(struct gw_web *w)
{
    w->head_off = 0;
    w->body_done = false;
    st_timer_stop(&w->timer);
    get_origin(w, true);
}

/* A reused keep-alive connection that the origin had closed meanwhile fails before any
 * response byte: a request without a body is sent again on a new connection, once, with a
 * new connect deadline. */
static bool retry(struct gw_web *w)
{
    if (!replayable(w) || !w->oc || !w->oc->reused || w->retried || w->resp_bytes || w->responded ||
        !w->body_done || w->head_off != w->head_len)
        return false;
    drop_origin(w, false);
    w->retried = true;
    w->req.fresh = true;
    w->req.deadline = st_loop_now(&w->gw->loop) + (uint64_t)w->opts.connect_timeout_ms;
    st_debug("ingress %s%s: stale keep-alive connection, retrying on a new one", w->f->authority,
             w->path);
    send_again(w);
    return true;
}

/* A new connection failed before the origin took it (gw_origin.h: "opened"): the request
 * waits for another one while its connect deadline allows, if none of its bytes went out or
 * it can be repeated (the origin acknowledged none of them). A reset answering the SYN
 * while nothing else to the origin is open means it is down, or not listening: 502 at once.
 * A connect timeout is the deadline itself. */
static bool reconnect(struct gw_web *w, int err)
{
    const struct gw_origin *o = w->oc;
    uint64_t now = st_loop_now(&w->gw->loop);
    if (err == ERR_TIMEOUT || w->connects >= CONNECTS_MAX || now >= w->req.deadline ||
        (w->head_off && !replayable(w)) || (err == ERR_RST && !o->connected && !o->others_open))
        return false;
    uint64_t pause = (uint64_t)BACKOFF_MS << (w->connects > 1 ? w->connects - 1 : 0);
    pause = pause < BACKOFF_MAX_MS ? pause : BACKOFF_MAX_MS;
    pause = pause < w->req.deadline - now ? pause : w->req.deadline - now;
    st_debug("ingress %s%s: origin connection %s before it was accepted, another in %llu ms",
             w->f->authority, w->path, err == ERR_RST ? "reset" : "lost",
             (unsigned long long)pause);
    w->gw->origin_retries++;
    w->oc = NULL; /* gw_origin closed it */
    w->head_off = 0;
    w->body_done = false;
    w->backoff = true; /* the body keeps coming into w->body meanwhile */
    st_timer_start(&w->timer, pause);
    return true;
}

static void finish_exchange(struct gw_web *w)
{
    if (!w->resp_done || !w->oc)
        return;
    /* A body the origin did not wait for leaves the connection in an unknown state; the
     * rest of it is dropped as it arrives. */
    drop_origin(w, w->keep_alive && w->body_done && !w->upgraded);
}

/* The origin connection failed at the TLS layer while the request used it. */
static void tls_failed(struct gw_web *w)
{
    struct gw_origin *o = w->oc;
    bool cert = o->tls_err == GW_ORIGIN_ERR_CERT;
    char why[160];
    snprintf(why, sizeof(why), "%s", o->tls_why);
    fail(w, 502, cert ? "tls_certificate_error" : "tls_protocol_error", why);
}

static void pump(struct gw_web *w)
{
    struct gw_origin *o = w->oc;
    const uint8_t *bytes;
    size_t n;
    for (int i = 0; o && w->out.len < OUT_HIGH && !w->resp_done && i < PUMP_ROUNDS &&
                    (n = gw_origin_peek(o, &bytes)) > 0;
         i++) {
        size_t used = n;
        const char *data = (const char *)bytes;
        if (w->upgraded) {
            st_bq_append(&w->out, data, n);
        } else {
            ssize_t k = gw_h1resp_feed(w->resp, data, n);
            if (k < 0) {
                if (!w->oc) /* a callback failed the request already */
                    return;
                if (!w->responded)
                    fail(w, 502,
                         k == -E2BIG ? "http_response_header_section_size" : "http_protocol_error",
                         w->resp->why);
                else
                    fail(w, 502, "http_protocol_error", NULL);
                return;
            }
            if (w->upgraded && (size_t)k < n)
                st_bq_append(&w->out, data + k, n - (size_t)k);
            else if (w->resp_done && (size_t)k < n)
                w->keep_alive = false; /* bytes after the response: do not reuse */
        }
        w->resp_bytes += n;
        gw_origin_consume(o, used);
    }
    if (o && o->tls_err) {
        tls_failed(w);
        return;
    }
    if (o && gw_origin_eof(o)) {
        if (w->upgraded) {
            w->up_eof = true;
            drop_origin(w, false);
        } else if (!w->resp_done) {
            if (w->resp_bytes == 0 && retry(w))
                return;
            if (gw_h1resp_eof(w->resp) < 0) {
                fail(w, 502, "http_response_incomplete", w->resp->why);
                return;
            }
        }
    }
    finish_exchange(w);
    if (w->upgraded && w->oc && (w->body.len || (w->body_eof && !w->body_done)))
        push(w); /* bytes (or the end) the visitor sent before the switch */
    resume(w);
}

static void on_pump(struct st_defer *d)
{
    pump(d->data);
}

static void on_rst(struct st_defer *d)
{
    struct gw_web *w = d->data;
    if (!w->body_eof)
        reset(w, NGHTTP2_NO_ERROR);
}

static void on_timeout(struct st_timer *t)
{
    struct gw_web *w = t->data;
    if (w->backoff) {
        w->backoff = false;
        get_origin(w, true);
        return;
    }
    if (gw_origin_waiting(&w->req)) { /* the connect deadline passed in the origin's queue */
        drop_origin(w, false);
        st_log_limited(&w->gw->ingress_log, ST_LOG_WARN,
                       "ingress %s%s -> %s: 504 connection_timeout (no origin connection free "
                       "within connect-timeout)",
                       w->f->authority, w->path, w->service);
        answer(w, 504,
               "subtunnel; error=connection_timeout; details=\"no origin connection free in "
               "time\"");
        return;
    }
    fail(w, 504, "http_response_timeout", "no response from the origin in time");
}

/* Request head, then body bytes as lwIP takes them; the stream window reopens as they go. */
static void push(struct gw_web *w)
{
    static uint8_t buf[65536];
    struct gw_origin *o = w->oc;
    if (!o || !o->connected)
        return;
    bool progress = false;
    while (w->head_off < w->head_len) {
        size_t k = gw_origin_write(o, w->head + w->head_off, w->head_len - w->head_off);
        if (!k)
            break;
        w->head_off += k;
        progress = true;
    }
    /* A WebSocket's bytes go only after the origin switched protocols: before that they
     * would be read as further requests. */
    bool body_ok = w->head_off == w->head_len && (!w->websocket || w->upgraded);
    while (body_ok && w->body.len) {
        size_t room = gw_origin_room(o), over = w->chunked ? 12 : 0;
        if (room <= over + 64)
            break;
        const uint8_t *p;
        size_t n = st_bq_peek(&w->body, 0, &p), len = n;
        if (n > room - over)
            n = len = room - over;
        if (w->chunked) {
            len = (size_t)gw_h1_chunk_header(n, (char *)buf);
            memcpy(buf + len, p, n);
            memcpy(buf + len + n, "\r\n", 2);
            len += n + 2;
            p = buf;
        }
        if (gw_origin_write(o, p, len) != len)
            break;
        progress = true;
        st_bq_consume(&w->body, n);
        if (session(w)) {
            consume(w, n);
            kick(w);
        }
    }
    if (body_ok && w->body_eof && !w->body.len && !w->body_done) {
        if (!w->chunked) {
            w->body_done = true;
            if (w->websocket)
                gw_origin_shutdown(o);
        } else if (gw_origin_write(o, "0\r\n\r\n", 5) == 5) {
            w->body_done = true;
        }
        progress |= w->body_done;
    }
    /* response-timeout: the longest wait without progress, while the request goes out
     * and then for the response head */
    if (progress && !w->responded)
        st_timer_start(&w->timer, (uint64_t)w->response_timeout_ms);
    gw_origin_flush(o);
    if (o->tls_err) {
        tls_failed(w);
        return;
    }
    finish_exchange(w);
}

void gw_web_origin_ready(struct gw_web *w)
{
    push(w);
}

void gw_web_origin_writable(struct gw_web *w)
{
    push(w);
}

void gw_web_origin_input(struct gw_web *w)
{
    pump(w);
}

void gw_web_origin_failed(struct gw_web *w, int err)
{
    /* opened: the origin took the connection (a TLS one once its handshake is done) */
    bool opened = w->oc && w->oc->opened;
    if (opened && w->resp_bytes == 0 && err != GW_ORIGIN_ERR_CERT && retry(w))
        return;
    if (err == GW_ORIGIN_ERR_TLS || err == GW_ORIGIN_ERR_CERT) {
        tls_failed(w); /* w->oc is still readable here: gw_origin frees it later */
        w->oc = NULL;
        return;
    }
    if (w->oc && !opened && reconnect(w, err))
        return;
    w->oc = NULL;
    if (w->upgraded) {
        reset(w, NGHTTP2_CONNECT_ERROR);
    } else if (w->resp_done) {
        return;
    } else if (!opened && (err == ERR_TIMEOUT || err == ERR_ABRT)) {
        fail(w, 504, "connection_timeout", NULL); /* ERR_ABRT: lwIP gave up retransmitting */
    } else if (!opened) {
        fail(w, 502, "connection_refused", NULL);
    } else {
        fail(w, 502, "connection_terminated", NULL);
    }
}

/* No connection can be made for the request (no local port, out of memory). */
static void unavailable(struct gw_web *w, const char *why)
{
    st_warn("ingress %s%s -> %s: %s", w->f->authority, w->path, w->service, why);
    fail(w, 503, "proxy_internal_error", NULL);
}

void gw_web_origin_unavailable(struct gw_web *w, const char *why)
{
    unavailable(w, why);
}

void gw_web_origin_assigned(struct gw_web *w, struct gw_origin *o)
{
    w->oc = o;
    st_timer_stop(&w->timer); /* a wait in the queue is over: o has its own connect timer */
    w->connects += !o->reused;
    st_debug("ingress %s %s%s -> %s (%s connection)", w->f->method, w->f->authority, w->path,
             w->service, o->reused ? "pooled" : "new");
    if (o->reused)
        push(w);
}

/* A connection for the request: at once, or after a wait in the origin's queue (deadline:
 * w->timer); 503 when the queue is full. */
static void get_origin(struct gw_web *w, bool again)
{
    struct gw_server *gw = w->gw;
    struct gw_origin *o;
    const char *why = NULL;
    int rc = gw_origin_get(gw, &w->req, again, &o, &why);
    if (rc == 0) {
        gw_web_origin_assigned(w, o);
    } else if (rc == GW_ORIGIN_QUEUED) {
        uint64_t now = st_loop_now(&gw->loop);
        st_timer_start(&w->timer, w->req.deadline > now ? w->req.deadline - now : 1);
    } else if (rc == -ENOSPC) {
        gw->origin_queue_full++;
        st_log_limited(&gw->ingress_log, ST_LOG_WARN,
                       "ingress %s%s -> %s: origin queue full (max-queued %d): 503",
                       w->f->authority, w->path, w->service, w->opts.max_queued);
        answer(w, 503, "subtunnel; error=connection_limit_reached; details=\"origin queue full\"");
    } else {
        unavailable(w, why);
    }
}

/* Picks the rule for the normalised target, which is what the origin is sent from now
 * on; answers 400/414/503 for a target that cannot be matched (< 0). */

/* The rule's numeric origin into opts (family, 16 address bytes, port). */
static void origin_addr(struct gw_origin_opts *o, const struct st_sockaddr *a)
{
    o->family = a->ss.ss_family;
    memset(o->addr, 0, sizeof(o->addr));
    if (o->family == AF_INET6)
        memcpy(o->addr, &((const struct sockaddr_in6 *)&a->ss)->sin6_addr, 16);
    else
        memcpy(o->addr, &((const struct sockaddr_in *)&a->ss)->sin_addr, 4);
    o->port = st_sockaddr_port(a);
}
static int match(struct gw_web *w, const struct gw_ingress_rule **rule)
{
    size_t cap = strlen(w->path) + 1;
    int rc = -ENOMEM;

    if ((w->norm = malloc(cap)))
        rc = gw_ingress_match(&w->gw->cfg.ingress, w->f->authority, w->path, w->norm, cap, rule);
    if (rc == -ENAMETOOLONG) {
        st_info("ingress %s: path longer than %d bytes: 414", w->f->authority, GW_INGRESS_PATH_MAX);
        answer(w, 414, "subtunnel; error=http_request_error; details=\"path too long\"");
    } else if (rc == -EINVAL) {
        st_info("ingress %s%.200s: malformed path: 400", w->f->authority, w->path);
        answer(w, 400, "subtunnel; error=http_request_error; details=\"malformed path\"");
    } else if (rc < 0) {
        answer(w, 503, "subtunnel; error=proxy_internal_error");
    } else {
        w->path = w->norm;
    }
    return rc;
}

void gw_web_start(struct gw_flow *f, bool end_stream)
{
    struct gw_web *w = f->web;
    struct gw_server *gw = f->gw;
    f->started = true;
    w->body_eof = end_stream;
    w->websocket = strcmp(f->method, "CONNECT") == 0;
    w->head_request = strcmp(f->method, "HEAD") == 0;
    st_bq_init(&w->body, GW_FLOW_WINDOW);
    st_bq_init(&w->out, OUT_LIMIT);
    st_timer_init(&w->timer, &gw->loop, on_timeout, w);
    st_defer_init(&w->pump_d, on_pump, w);
    st_defer_init(&w->rst_d, on_rst, w);
    w->started = true;
    gw->web_requests++;
    if (w->overflow) {
        answer(w, 431, "subtunnel; error=http_request_error; details=\"header section too large\"");
        return;
    }
    if (!w->path || !f->authority[0]) {
        answer(w, 400, "subtunnel; error=http_request_error; details=\"no :path or :authority\"");
        return;
    }
    const struct gw_ingress_rule *rule;
    if (match(w, &rule) < 0)
        return;
    if (!rule) {
        answer(w, 404, "subtunnel; error=destination_not_found; details=\"no ingress rules\"");
        return;
    }
    snprintf(w->service, sizeof(w->service), "%s", rule->service);
    if (rule->kind == GW_INGRESS_STATUS) {
        answer(w, rule->status, NULL);
        return;
    }
    if (rule->kind == GW_INGRESS_HTTPS) {
        const char *why = NULL;
        if (!(w->opts.tls = gw_origin_tls_ctx(gw, rule->ca_file, !rule->no_tls_verify, &why))) {
            st_warn("ingress %s%s -> %s: %s", f->authority, w->path, w->service, why);
            answer(w, 502, "subtunnel; error=proxy_configuration_error");
            return;
        }
        SSL_CTX_up_ref(w->opts.tls);
        snprintf(w->server_name, sizeof(w->server_name), "%s",
                 rule->server_name ? rule->server_name : "");
        snprintf(w->ca_file, sizeof(w->ca_file), "%s", rule->ca_file ? rule->ca_file : "");
        w->opts.server_name = rule->server_name ? w->server_name : NULL;
        w->opts.ca_file = w->ca_file;
        w->opts.verify = !rule->no_tls_verify;
    }
    int rv = gw_web_build_head(w, end_stream);
    if (rv < 0) {
        answer(w,
               rv == -ENOSPC   ? 431
               : rv == -EINVAL ? 400
                               : 503,
               rv == -EINVAL ? "subtunnel; error=http_request_error; details=\"invalid request\""
                             : "subtunnel; error=proxy_internal_error");
        return;
    }
    origin_addr(&w->opts, &rule->origin);
    w->opts.connect_timeout_ms = rule->connect_timeout_ms;
    w->opts.max_connecting = rule->max_connecting;
    w->opts.max_queued = rule->max_queued;
    w->response_timeout_ms = rule->response_timeout_ms;
    w->ka_conns = rule->keep_alive_conns;
    w->ka_timeout_ms = rule->keep_alive_timeout_ms;
    if (!(w->resp = malloc(sizeof(*w->resp)))) {
        answer(w, 503, "subtunnel; error=proxy_internal_error");
        return;
    }
    gw_h1resp_init(w->resp, w->head_request, &resp_cb, w);
    w->req.w = w;
    w->req.opts = &w->opts;
    w->req.deadline = st_loop_now(&gw->loop) + (uint64_t)rule->connect_timeout_ms;
    get_origin(w, false);
}

int gw_web_on_data(struct gw_web *w, const uint8_t *p, size_t n)
{
    if ((!w->oc && !gw_origin_waiting(&w->req) && !w->backoff) || w->resp_done) {
        /* answered already: drop the body, keep the windows */
        if (session(w))
            consume(w, n);
        return 0;
    }
    if (st_bq_append(&w->body, p, n) < 0)
        return -1;
    push(w);
    return 0;
}

void gw_web_on_eof(struct gw_web *w)
{
    w->body_eof = true;
    push(w);
}

void gw_web_on_close(struct gw_web *w, uint32_t code)
{
    if (session(w) && w->body.len)
        st_h2rx_dropped(&w->f->conn->h2.rx, session(w), w->body.len);
    w->closed = true; /* before drop_origin: the stream's bytes are returned just above */
    st_timer_stop(&w->timer);
    drop_origin(w, code == NGHTTP2_NO_ERROR && w->resp_done && w->body_done && w->keep_alive &&
                       !w->upgraded);
}

void gw_web_free(struct gw_web *w)
{
    if (!w)
        return;
    if (w->started) {
        st_timer_stop(&w->timer);
        st_defer_cancel(&w->gw->loop, &w->pump_d);
        st_defer_cancel(&w->gw->loop, &w->rst_d);
        drop_origin(w, false);
        st_bq_fini(&w->body);
        st_bq_fini(&w->out);
    }
    SSL_CTX_free(w->opts.tls);
    free(w->resp);
    free(w->head);
    free(w->norm);
    free(w);
}
