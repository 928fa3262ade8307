#include "edge_ah2.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "edge_flow.h"
#include "edge_relay.h"
#include "edge_server.h"
#include "edge_tconn.h"
#include "edge_web.h"
#include "st_addr.h"
#include "st_http.h"
#include "st_log.h"

#define CLOSE_MS 2000 /* after an idle connection's GOAWAY, the close does not wait longer */

#define NV(n, v)                                                                                   \
    {                                                                                              \
        (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NO_COPY_NAME     \
    }

void edge_ah2_unlink(struct edge_ah2 *a, struct edge_flow *f)
{
    if (f->ah_prev)
        f->ah_prev->ah_next = f->ah_next;
    else
        a->flows = f->ah_next;
    if (f->ah_next)
        f->ah_next->ah_prev = f->ah_prev;
    f->ah_next = f->ah_prev = NULL;
}

static void unlink_web(struct edge_ah2 *a, struct edge_web *w)
{
    if (w->ah_prev)
        w->ah_prev->ah_next = w->ah_next;
    else
        a->webs = w->ah_next;
    if (w->ah_next)
        w->ah_next->ah_prev = w->ah_prev;
    w->ah_next = w->ah_prev = NULL;
}

/* The connection leaves its startup phase: it no longer counts as unauthenticated
 * (max-unauthenticated). */
static void startup_done(struct edge_ah2 *a)
{
    if (a->started)
        return;
    a->started = true;
    edge_listen_authed(a->srv, a->h2.io.fd);
}

static int begin_web(nghttp2_session *s, struct edge_ah2 *a, int32_t sid)
{
    struct edge_web *w = edge_web_new(a->srv, a->client);
    if (!w)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    w->h2 = true;
    w->ah = a;
    w->asid = sid;
    w->ah_next = a->webs;
    if (a->webs)
        a->webs->ah_prev = w;
    a->webs = w;
    nghttp2_session_set_stream_user_data(s, sid, w);
    return 0;
}

static int begin_flow(nghttp2_session *s, struct edge_ah2 *a, int32_t sid)
{
    struct edge_flow *f = edge_flow_new_h2(a->srv, a, sid);
    if (!f)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    f->ah_next = a->flows;
    if (a->flows)
        a->flows->ah_prev = f;
    a->flows = f;
    nghttp2_session_set_stream_user_data(s, sid, f);
    return 0;
}

/* A stream's object is an edge_web or an edge_flow: both start with their kind. */
static bool is_web(const void *u)
{
    return u && *(const int *)u == EDGE_STREAM_WEB;
}

#define PEND_MAX 5 /* :method :scheme :authority :path :protocol */

struct edge_ah2_pend {
    int32_t sid;
    size_t n;
    char *field[PEND_MAX]; /* "name\0value\0" */
    size_t nlen[PEND_MAX], vlen[PEND_MAX];
};

static void pend_free(struct edge_ah2 *a)
{
    for (size_t i = 0; a->pend && i < a->pend->n; i++)
        free(a->pend->field[i]);
    free(a->pend);
    a->pend = NULL;
}

static int pend_keep(struct edge_ah2 *a, const uint8_t *name, size_t nlen, const uint8_t *value,
                     size_t vlen)
{
    struct edge_ah2_pend *p = a->pend;
    char *b = p->n < PEND_MAX ? malloc(nlen + vlen + 2) : NULL;
    if (!b)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* the stream is reset */
    memcpy(b, name, nlen);
    b[nlen] = 0;
    memcpy(b + nlen + 1, value, vlen);
    b[nlen + 1 + vlen] = 0;
    p->field[p->n] = b;
    p->nlen[p->n] = nlen;
    p->vlen[p->n++] = vlen;
    return 0;
}

static const char *pend_value(const struct edge_ah2_pend *p, const char *name)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->field[i], name) == 0)
            return p->field[i] + p->nlen[i] + 1;
    return NULL;
}

static void header_to(void *u, const uint8_t *name, size_t nlen, const uint8_t *value, size_t vlen)
{
    if (is_web(u))
        edge_web_h2_header(u, name, nlen, value, vlen);
    else
        edge_flow_h2_header(u, name, nlen, value, vlen);
}

/* A relay stream's request is known enough: a visitor request or a flow, given the fields held
 * so far. 0 or NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE (out of memory). */
static int pend_decide(nghttp2_session *s, struct edge_ah2 *a)
{
    struct edge_ah2_pend *p = a->pend;
    bool visit = edge_relay_is_visit(pend_value(p, ":method"), pend_value(p, ":protocol"));
    int rv = visit ? begin_web(s, a, p->sid) : begin_flow(s, a, p->sid);
    void *u = rv == 0 ? nghttp2_session_get_stream_user_data(s, p->sid) : NULL;
    if (visit && u) {
        struct edge_web *w = u;
        w->relayed = true;
        snprintf(w->relay_edge, sizeof(w->relay_edge), "%.63s", a->names ? a->names->cn : "?");
    }
    for (size_t i = 0; u && i < p->n; i++)
        header_to(u, (const uint8_t *)p->field[i], p->nlen[i],
                  (const uint8_t *)p->field[i] + p->nlen[i] + 1, p->vlen[i]);
    pend_free(a);
    return rv;
}

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *fr, void *ud)
{
    struct edge_ah2 *a = ud;
    if (fr->hd.type != NGHTTP2_HEADERS || fr->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    a->got_request = true;
    if (a->visitor) {
        startup_done(a); /* a visitor's first request */
        return begin_web(s, a, fr->hd.stream_id);
    }
    if (a->relay) {
        pend_free(a);
        if (!(a->pend = calloc(1, sizeof(*a->pend))))
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        a->pend->sid = fr->hd.stream_id;
        return 0;
    }
    return begin_flow(s, a, fr->hd.stream_id);
}

static int on_header(nghttp2_session *s, const nghttp2_frame *fr, const uint8_t *name, size_t nlen,
                     const uint8_t *value, size_t vlen, uint8_t flags, void *ud)
{
    (void)flags;
    struct edge_ah2 *a = ud;
    if (fr->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    if (a->pend && a->pend->sid == fr->hd.stream_id) {
        if (nlen && name[0] == ':') /* pseudo-fields come first (nghttp2 checks) */
            return pend_keep(a, name, nlen, value, vlen);
        int rv = pend_decide(s, a);
        if (rv < 0)
            return rv;
    }
    void *u = nghttp2_session_get_stream_user_data(s, fr->hd.stream_id);
    if (u)
        header_to(u, name, nlen, value, vlen);
    return 0;
}

/* A reach connection that has not authenticated gets nghttp2's default rapid-reset
 * allowance; past it the session ends (ENHANCE_YOUR_CALM), as nghttp2 would end it. */
static int count_reset(struct edge_ah2 *a)
{
    if (!a->reach || a->authed || edge_limits_reset_ok(&a->resets, st_loop_now(&a->srv->loop)))
        return 0;
    edge_refusal(a->srv, EDGE_REFUSE_LIMIT,
                 "reach %s: too many stream resets before authentication: closing", a->client);
    nghttp2_session_terminate_session(a->h2.session, NGHTTP2_ENHANCE_YOUR_CALM);
    return 0;
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *fr, void *ud)
{
    struct edge_ah2 *a = ud;
    if (a->reach && !a->started && fr->hd.type == NGHTTP2_SETTINGS &&
        !(fr->hd.flags & NGHTTP2_FLAG_ACK)) {
        /* A gateway's preface and SETTINGS: its token comes with its first flow, which
         * may be hours away, so this ends the startup phase. */
        st_timer_stop(&a->idle_timer);
        startup_done(a);
    }
    if (fr->hd.stream_id == 0)
        return 0;
    if (fr->hd.type == NGHTTP2_RST_STREAM)
        return count_reset(a);
    if (a->pend && a->pend->sid == fr->hd.stream_id && pend_decide(s, a) < 0) {
        nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, fr->hd.stream_id, NGHTTP2_INTERNAL_ERROR);
        return 0;
    }
    void *u = nghttp2_session_get_stream_user_data(s, fr->hd.stream_id);
    if (is_web(u)) {
        bool end = fr->hd.flags & NGHTTP2_FLAG_END_STREAM;
        if (fr->hd.type == NGHTTP2_HEADERS && fr->headers.cat == NGHTTP2_HCAT_REQUEST)
            edge_web_h2_request(u, end);
        else if (end && (fr->hd.type == NGHTTP2_HEADERS || fr->hd.type == NGHTTP2_DATA))
            edge_web_up_eof(u);
        return 0;
    }
    struct edge_flow *f = u;
    if (!f)
        return 0;
    if (fr->hd.type == NGHTTP2_HEADERS && fr->headers.cat == NGHTTP2_HCAT_REQUEST)
        edge_flow_h2_request(f, a->client);
    if ((fr->hd.type == NGHTTP2_HEADERS || fr->hd.type == NGHTTP2_DATA) &&
        (fr->hd.flags & NGHTTP2_FLAG_END_STREAM))
        edge_flow_h2_eof(f);
    return 0;
}

static int on_data(nghttp2_session *s, uint8_t flags, int32_t sid, const uint8_t *p, size_t n,
                   void *ud)
{
    (void)flags;
    struct edge_ah2 *a = ud;
    void *u = nghttp2_session_get_stream_user_data(s, sid);
    if (a->relay)
        a->srv->relay_stats.bytes[EDGE_RELAY_HOLDER][EDGE_RELAY_TO_HOLDER] += n;
    st_h2rx_queued(&a->h2.rx, s, n); /* first: the tunnel may take the bytes at once */
    int rv = !u ? -1 : is_web(u) ? edge_web_up(u, p, n) : edge_flow_h2_data(u, p, n);
    if (rv < 0) {
        st_h2rx_taken(&a->h2.rx, s, sid, NULL, 0, 0, n);
        nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, sid, NGHTTP2_CANCEL);
    }
    return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t sid, uint32_t code, void *ud)
{
    struct edge_ah2 *a = ud;
    void *u = nghttp2_session_get_stream_user_data(s, sid);
    a->quiet_since = st_loop_now(&a->srv->loop);
    if (a->pend && a->pend->sid == sid)
        pend_free(a);
    if (is_web(u)) {
        struct edge_web *w = u;
        if (w->up.len) /* never taken by the tunnel now */
            st_h2rx_dropped(&a->h2.rx, s, w->up.len);
        unlink_web(a, w);
        edge_web_access_gone(w, code == NGHTTP2_NO_ERROR);
    } else if (u) {
        edge_ah2_unlink(a, u);
        edge_flow_h2_close(u, code);
    }
    return 0;
}

static ssize_t down_read(nghttp2_session *s, int32_t sid, uint8_t *buf, size_t len, uint32_t *flags,
                         nghttp2_data_source *src, void *ud)
{
    (void)s;
    (void)sid;
    (void)ud;
    return edge_flow_read_down(src->ptr, buf, len, flags);
}

void edge_ah2_respond(struct edge_ah2 *a, int32_t sid, int status, const char *proxy_status,
                      struct edge_flow *body)
{
    char st[4];
    snprintf(st, sizeof(st), "%d", status);
    if (body) {
        nghttp2_nv nva[] = {NV(":status", st), NV("capsule-protocol", "?1")};
        nghttp2_data_provider dp = {.source.ptr = body, .read_callback = down_read};
        nghttp2_submit_response(a->h2.session, sid, nva, body->masque ? 2 : 1, &dp);
    } else if (status == 407) {
        nghttp2_nv nva[] = {NV(":status", st), NV("proxy-status", proxy_status),
                            NV("proxy-authenticate", "Basic realm=\"subtunnel\"")};
        nghttp2_submit_response(a->h2.session, sid, nva, 3, NULL);
    } else {
        nghttp2_nv nva[] = {NV(":status", st), NV("proxy-status", proxy_status)};
        nghttp2_submit_response(a->h2.session, sid, nva, 2, NULL);
    }
    st_h2conn_kick(&a->h2);
}

static ssize_t web_down_read(nghttp2_session *s, int32_t sid, uint8_t *buf, size_t len,
                             uint32_t *flags, nghttp2_data_source *src, void *ud)
{
    (void)s;
    (void)sid;
    (void)ud;
    return edge_web_read_down(src->ptr, buf, len, flags);
}

void edge_ah2_respond_web(struct edge_ah2 *a, int32_t sid, struct edge_web *w)
{
    nghttp2_nv *nva = calloc(w->n_fields + 4, sizeof(*nva));
    if (!nva) {
        edge_ah2_reset(a, sid, NGHTTP2_INTERNAL_ERROR);
        return;
    }
    char st[4], cl[24];
    snprintf(st, sizeof(st), "%d", w->status);
    size_t n = 0;
    nva[n++] = (nghttp2_nv)NV(":status", st);
    const struct st_http_field *conn = NULL;
    for (size_t i = 0; i < w->n_fields; i++)
        if (w->fields[i].nlen == 10 && memcmp(w->fields[i].name, "connection", 10) == 0)
            conn = &w->fields[i];
    for (size_t i = 0; i < w->n_fields; i++) {
        const struct st_http_field *f = &w->fields[i];
        if (!st_http_hop_by_hop(f->name, f->nlen, conn ? conn->value : NULL, conn ? conn->vlen : 0))
            nva[n++] = (nghttp2_nv){(uint8_t *)f->name, (uint8_t *)f->value, f->nlen, f->vlen,
                                    NGHTTP2_NV_FLAG_NONE};
    }
    if (w->local) {
        snprintf(cl, sizeof(cl), "%zu", w->down.len);
        nva[n++] = (nghttp2_nv)NV("content-length", cl);
        if (w->proxy_status[0])
            nva[n++] = (nghttp2_nv)NV("proxy-status", w->proxy_status);
        if (w->status == 401)
            nva[n++] = (nghttp2_nv)NV("www-authenticate", EDGE_WEB_CHALLENGE);
    }
    nghttp2_data_provider dp = {.source.ptr = w, .read_callback = web_down_read};
    nghttp2_submit_response(a->h2.session, sid, nva, n, &dp);
    free(nva);
    st_h2conn_kick(&a->h2);
}

void edge_ah2_resume(struct edge_ah2 *a, int32_t sid)
{
    nghttp2_session_resume_data(a->h2.session, sid);
    st_h2conn_kick(&a->h2);
}

void edge_ah2_consume(struct edge_ah2 *a, int32_t sid, size_t n)
{
    st_h2rx_taken(&a->h2.rx, a->h2.session, sid, NULL, 0, 0, n);
    st_h2conn_kick(&a->h2);
}

void edge_ah2_reset(struct edge_ah2 *a, int32_t sid, uint32_t code)
{
    nghttp2_submit_rst_stream(a->h2.session, NGHTTP2_FLAG_NONE, sid, code);
    st_h2conn_kick(&a->h2);
}

static bool has_streams(const struct edge_ah2 *a)
{
    return a->flows || a->webs;
}

/* GOAWAY(NO_ERROR); the connection closes once it is sent, or after CLOSE_MS regardless. */
static void close_idle(struct edge_ah2 *a)
{
    a->closing = true;
    st_h2conn_goaway(&a->h2, NGHTTP2_NO_ERROR);
    st_timer_start(&a->idle_timer, CLOSE_MS);
}

/* request-timeout until the first request, then idle-timeout without open streams. Control
 * frames (PING, SETTINGS, WINDOW_UPDATE) keep no connection open. */
static void on_idle_timer(struct st_timer *t)
{
    struct edge_ah2 *a = t->data;
    const struct edge_config *cfg = &a->srv->cfg;
    if (a->h2.dead)
        return;
    if (a->reach) { /* armed only until the peer's SETTINGS */
        edge_refusal(a->srv, EDGE_REFUSE_CONN,
                     "reach %s: no HTTP/2 preface and SETTINGS within %d s: closing", a->client,
                     cfg->request_timeout_ms / 1000);
        st_h2conn_fail(&a->h2, "no HTTP/2 SETTINGS within %d s", cfg->request_timeout_ms / 1000);
        return;
    }
    if (a->closing) { /* the GOAWAY did not get out (a peer that does not read) */
        st_h2conn_fail(&a->h2, "closed after GOAWAY");
        return;
    }
    if (!a->got_request) {
        edge_refusal(a->srv, EDGE_REFUSE_CONN, "%s %s: no HTTP/2 request within %d s: closing",
                     a->visitor ? "visitor" : "access", a->client, cfg->request_timeout_ms / 1000);
        close_idle(a);
        return;
    }
    uint64_t now = st_loop_now(&a->srv->loop), idle = (uint64_t)cfg->idle_timeout_ms;
    if (!has_streams(a) && now - a->quiet_since >= idle) {
        st_debug("%s %s: idle for %d s: closing", a->visitor ? "visitor" : "access", a->client,
                 cfg->idle_timeout_ms / 1000);
        close_idle(a);
        return;
    }
    st_timer_start(t, has_streams(a) ? idle : idle - (now - a->quiet_since));
}

static const char *role_name(const struct edge_ah2 *a)
{
    return a->relay ? "relay" : a->reach ? "reach" : a->visitor ? "visitor" : "access";
}

/* nghttp2 ends a peer that broke one of its flood rules itself (rapid reset: GOAWAY
 * INTERNAL_ERROR; too many queued SETTINGS or PING answers, or CONTINUATION frames: a fatal
 * error from mem_recv, see session_closed): logged as a refusal. DATA sent on a relay
 * connection counts as relayed bytes. */
static int on_frame_send(nghttp2_session *s, const nghttp2_frame *fr, void *ud)
{
    (void)s;
    struct edge_ah2 *a = ud;
    if (fr->hd.type == NGHTTP2_DATA && a->relay)
        a->srv->relay_stats.bytes[EDGE_RELAY_HOLDER][EDGE_RELAY_TO_ENTRY] += fr->hd.length;
    if (fr->hd.type != NGHTTP2_GOAWAY || fr->goaway.error_code == NGHTTP2_NO_ERROR ||
        a->ended_logged)
        return 0;
    a->ended_logged = true;
    edge_refusal(a->srv, EDGE_REFUSE_CONN, "%s %s: HTTP/2 GOAWAY %s sent: closing", role_name(a),
                 a->client, nghttp2_http2_strerror(fr->goaway.error_code));
    return 0;
}

static int session_ready(struct st_h2conn *h)
{
    struct edge_ah2 *a = h->owner;
    static const struct st_h2_handlers handlers = {.begin_headers = on_begin_headers,
                                                   .header = on_header,
                                                   .frame_recv = on_frame_recv,
                                                   .data_chunk = on_data,
                                                   .stream_close = on_stream_close,
                                                   .frame_send = on_frame_send};
    if (!a->reach && !st_h2conn_is_h2(h)) {
        edge_refusal(a->srv, EDGE_REFUSE_CONN,
                     "access %s: TLS without ALPN h2: only HTTP/2 is served on this port",
                     a->client);
        return -1;
    }
    if ((!a->reach || a->relay) && (a->names = st_tls_peer_names(h->ssl))) {
        char names[512];
        st_debug("%s %s: client certificate: %s", role_name(a), a->client,
                 st_tls_names_format(a->names, names, sizeof(names)));
    }
    enum edge_h2_role role = a->reach     ? EDGE_H2_REACH_ANON
                             : a->visitor ? EDGE_H2_VISITOR
                                          : EDGE_H2_ACCESS;
    nghttp2_settings_entry iv[EDGE_H2_SETTINGS_MAX];
    int32_t conn_window;
    size_t niv = edge_limits_h2_settings(role, &a->srv->cfg, iv, &conn_window);
    /* A reach stream does nothing before its tunnel token checks out: resets cost little,
     * and a site's clients may abort thousands of flows a second. Until a token checked out,
     * count_reset holds the connection to nghttp2's default allowance. */
    h->many_resets = a->reach;
    if (st_h2conn_session(h, true, &handlers, a, iv, niv, conn_window) < 0)
        return -1;
    /* A user's or visitor's own streams stalling hold only their own connection: the window
     * comes back as the tunnel takes bytes. A reach connection carries a whole site (its
     * budget is raised with its window once a token checked out). */
    if (!a->reach)
        h->rx.budget = 0;
    if (a->reach) {
        st_h2conn_heartbeat(h, a->srv->cfg.heartbeat_interval_ms, a->srv->cfg.heartbeat_count);
        st_timer_start(&a->idle_timer, (uint64_t)a->srv->cfg.request_timeout_ms);
    } else {
        a->quiet_since = st_loop_now(&a->srv->loop);
        st_timer_start(&a->idle_timer, (uint64_t)a->srv->cfg.request_timeout_ms);
    }
    if (a->relay) {
        st_info("relay %s: edge %s connected", a->client, a->names ? a->names->cn : "?");
        edge_ah2_authenticated(a);     /* its fleet certificate is its credential */
        st_timer_stop(&a->idle_timer); /* a pooled connection: kept while heartbeats answer */
    }
    if (a->early_len) {
        ssize_t n = nghttp2_session_mem_recv(h->session, a->early, a->early_len);
        free(a->early);
        a->early = NULL;
        a->early_len = 0;
        if (n < 0) {
            edge_refusal(a->srv, EDGE_REFUSE_REQUEST, "access %s: HTTP/2: %s", a->client,
                         nghttp2_strerror((int)n));
            return -1;
        }
    }
    return 0;
}

void edge_ah2_authenticated(struct edge_ah2 *a)
{
    startup_done(a);
    if (!a->reach || a->authed || !a->h2.session)
        return;
    a->authed = true;
    nghttp2_settings_entry iv[EDGE_H2_SETTINGS_MAX];
    int32_t conn_window;
    size_t niv = edge_limits_h2_settings(EDGE_H2_REACH_AUTHED, &a->srv->cfg, iv, &conn_window);
    nghttp2_submit_settings(a->h2.session, NGHTTP2_FLAG_NONE, iv, niv);
    nghttp2_session_set_local_window_size(a->h2.session, NGHTTP2_FLAG_NONE, 0, conn_window);
    a->h2.rx.budget = (size_t)conn_window;
    st_h2conn_bulk_reads(&a->h2);
    st_h2conn_kick(&a->h2);
}

static void session_closed(struct st_h2conn *h, const char *why)
{
    struct edge_ah2 *a = h->owner;
    if (!a->ended_logged && strncmp(why, ST_H2CONN_PROTO_ERROR, strlen(ST_H2CONN_PROTO_ERROR)) == 0)
        edge_refusal(a->srv, EDGE_REFUSE_CONN, "%s %s: %s: closing", role_name(a), a->client, why);
    else
        st_debug("%s %s: HTTP/2 connection closed: %s", role_name(a), a->client, why);
    st_timer_stop(&a->idle_timer);
    edge_listen_closed(a->srv, a->h2.io.fd);
    while (a->flows) {
        struct edge_flow *f = a->flows;
        edge_ah2_unlink(a, f);
        edge_flow_h2_close(f, NGHTTP2_CANCEL);
    }
    while (a->webs) {
        struct edge_web *w = a->webs;
        unlink_web(a, w);
        edge_web_access_gone(w, false);
    }
    if (a->prev)
        a->prev->next = a->next;
    else
        a->srv->ah2s = a->next;
    if (a->next)
        a->next->prev = a->prev;
    pend_free(a);
    st_h2conn_fini(&a->h2);
    free(a->early);
    free(a->names);
    free(a);
}

static const struct st_h2conn_ops ah2_ops = {.ready = session_ready, .closed = session_closed};

static void start(struct edge_server *srv, int fd, SSL *ssl, const char *client,
                  const uint8_t *early, size_t early_len, bool reach, bool visitor, bool relay)
{
    struct edge_ah2 *a = calloc(1, sizeof(*a));
    if (!a || (early_len && !(a->early = malloc(early_len)))) {
        free(a);
        SSL_free(ssl);
        edge_listen_closed(srv, fd);
        close(fd);
        return;
    }
    a->srv = srv;
    a->reach = reach;
    a->visitor = visitor;
    a->relay = relay;
    snprintf(a->client, sizeof(a->client), "%s", client);
    if (early_len)
        memcpy(a->early, early, early_len);
    a->early_len = early_len;
    a->next = srv->ah2s;
    if (srv->ah2s)
        srv->ah2s->prev = a;
    srv->ah2s = a;
    st_timer_init(&a->idle_timer, &srv->loop, on_idle_timer, a);
    st_h2conn_init(&a->h2, &srv->loop, fd, ssl, false, false, &ah2_ops, a);
}

void edge_ah2_start(struct edge_server *srv, int fd, SSL *ssl, const char *client,
                    const uint8_t *early, size_t early_len, bool reach)
{
    start(srv, fd, ssl, client, early, early_len, reach, false, false);
}

void edge_ah2_start_relay(struct edge_server *srv, int fd, SSL *ssl, const char *client)
{
    start(srv, fd, ssl, client, NULL, 0, true, false, true);
}

void edge_ah2_start_visitor(struct edge_server *srv, int fd, SSL *ssl, const char *client)
{
    start(srv, fd, ssl, client, NULL, 0, false, true, false);
}

void edge_ah2_goaway(struct edge_ah2 *a)
{
    st_h2conn_shutdown(&a->h2);
}
