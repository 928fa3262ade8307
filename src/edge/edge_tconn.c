#include "edge_tconn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "edge_fleet.h"
#include "edge_flow.h"
#include "edge_relay.h"
#include "edge_server.h"
#include "edge_visit.h"
#include "edge_web.h"
#include "st_addr.h"
#include "st_capsule.h"
#include "st_ctrl.h"
#include "st_http.h"
#include "st_log.h"
#include "st_token.h"

#define CONN_WINDOW (64 * 1024 * 1024)

#define NV(n, v)                                                                                   \
    {                                                                                              \
        (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NO_COPY_NAME     \
    }

static void send_ctrl(struct edge_tconn *c, const uint8_t *p, size_t n)
{
    if (st_ctrlstream_send(&c->ctrl, c->h2.session, p, n) < 0)
        st_h2conn_fail(&c->h2, "control stream output overflow");
    st_h2conn_kick(&c->h2);
}

static ssize_t ctrl_read(nghttp2_session *s, int32_t sid, uint8_t *buf, size_t len, uint32_t *flags,
                         nghttp2_data_source *src, void *ud)
{
    (void)s;
    (void)sid;
    (void)src;
    struct edge_tconn *c = ud;
    return st_ctrlstream_read(&c->ctrl, buf, len, flags);
}

static void refuse(struct edge_tconn *c, const char *cause, bool retry)
{
    struct st_ctrl_error e = {.retry = retry, .retry_after_s = retry ? 5 : 0};
    snprintf(e.cause, sizeof(e.cause), "%s", cause);
    uint8_t buf[512];
    int n = st_ctrl_encode_error(&e, buf, sizeof(buf));
    if (n > 0)
        send_ctrl(c, buf, (size_t)n);
    /* End the control stream after the ERROR and announce GOAWAY; the ERROR capsule is
     * still delivered (a terminate would drop it). The gateway closes on receipt. */
    c->ctrl.closing = true;
    nghttp2_session_resume_data(c->h2.session, c->ctrl.sid);
    nghttp2_submit_goaway(c->h2.session, NGHTTP2_FLAG_NONE, 0, NGHTTP2_NO_ERROR, NULL, 0);
    st_h2conn_kick(&c->h2);
}

/* Tells the gateway which CIDRs its site may reach through the edge (reach role). */
static void send_reachable(struct edge_tconn *c)
{
    struct st_ctrl_routes *m = calloc(1, sizeof(*m));
    uint8_t *buf = malloc(4096);
    if (m && buf) {
        m->n_routes =
            edge_registry_reachable(&c->srv->reg, c->tunnel, m->routes, ST_CTRL_MAX_ROUTES);
        int n = st_ctrl_encode_routes(m, buf, 4096);
        if (n > 0)
            send_ctrl(c, buf, (size_t)n);
    }
    free(m);
    free(buf);
}

static void on_register(struct edge_tconn *c, const uint8_t *v, size_t len)
{
    struct st_ctrl_register *m = calloc(1, sizeof(*m));
    char id[64], secret[256], why[200];
    if (!m) {
        st_h2conn_fail(&c->h2, "out of memory");
        return;
    }
    int rv = st_ctrl_decode_register(v, len, m);
    if (rv < 0) {
        c->srv->reg_failures[ST_REG_MALFORMED]++;
        st_log_limited(&c->srv->limits.log[EDGE_REFUSE_REQUEST], ST_LOG_WARN,
                       "tunnel connection %s: registration refused: malformed REGISTER: %s",
                       c->peer, st_ctrl_strerror(rv));
        refuse(c, "malformed REGISTER", false);
        goto out;
    }
    if (c->registered) {
        c->srv->reg_failures[ST_REG_ALREADY]++;
        refuse(c, "already registered", false);
        goto out;
    }
    struct edge_tunnel *t = NULL;
    if (st_token_split(m->token, id, sizeof(id), secret, sizeof(secret)) == 0)
        t = edge_registry_find(&c->srv->reg, id);
    if (!t || !edge_tunnel_secret_ok(t->conf, secret, c->secret_used)) {
        c->srv->reg_failures[ST_REG_INVALID_TOKEN]++;
        st_log_limited(&c->srv->limits.log[EDGE_REFUSE_AUTH], ST_LOG_WARN,
                       "tunnel connection %s: registration refused: invalid token", c->peer);
        refuse(c, "invalid token", false);
        goto out;
    }
    const struct st_cidr *bad = NULL;
    rv = edge_registry_attach(&c->srv->reg, t, c, m->routes, m->n_routes, &bad);
    if (rv < 0) {
        char cidr[64] = "?";
        if (bad)
            st_cidr_format(bad, cidr, sizeof(cidr));
        snprintf(why, sizeof(why), "route %s %s", cidr,
                 rv == -EPERM    ? "is not allowed for this tunnel"
                 : rv == -EEXIST ? "is owned by another tunnel"
                                 : "could not be added");
        c->srv->reg_failures[rv == -EPERM    ? ST_REG_ROUTE_NOT_ALLOWED
                             : rv == -EEXIST ? ST_REG_ROUTE_OWNED
                                             : ST_REG_OTHER]++;
        st_warn("tunnel %s: connection %s: registration refused: %s", t->id, c->peer, why);
        refuse(c, why, rv == -ENOMEM); /* memory may come back: retry-after */
        goto out;
    }
    const char *bad_name = NULL;
    rv = edge_registry_hostnames(t, c, m->hostnames, m->n_hostnames, &bad_name);
    if (rv < 0) {
        edge_registry_detach(&c->srv->reg, t, c);
        snprintf(why, sizeof(why), "hostname %.150s %s", bad_name ? bad_name : "?",
                 rv == -EPERM ? "is not allowed for this tunnel" : "could not be added");
        c->srv->reg_failures[rv == -EPERM ? ST_REG_HOSTNAME_NOT_ALLOWED : ST_REG_OTHER]++;
        st_warn("tunnel %s: connection %s: registration refused: %s", t->id, c->peer, why);
        refuse(c, why, rv == -ENOMEM);
        goto out;
    }
    c->tunnel = t;
    c->registered = true;
    if (c->setting_up) {
        c->setting_up = false;
        edge_listen_setup_done(c->srv, true);
    }
    t->registrations++;
    edge_fleet_sync(c->srv->fleet, t);
    edge_listen_authed(c->srv, c->h2.io.fd); /* a gateway with a valid token */
    st_h2conn_bulk_reads(&c->h2);
    st_timer_stop(&c->reg_timer);
    struct st_ctrl_registered ok = {0};
    snprintf(ok.conn_id, sizeof(ok.conn_id), "%.40s-%llu", t->id, (unsigned long long)c->id);
    snprintf(ok.location, sizeof(ok.location), "%s", c->srv->cfg.location);
    ok.fleet = c->srv->cfg.has_registry; /* the gateway may then dial only edge-count edges */
    uint8_t buf[256];
    int n = st_ctrl_encode_registered(&ok, buf, sizeof(buf));
    if (n > 0)
        send_ctrl(c, buf, (size_t)n);
    send_reachable(c);
    st_info("tunnel %s: connection %llu registered (peer %s, index %llu, %zu routes, %zu "
            "hostnames)",
            t->id, (unsigned long long)c->id, c->peer, (unsigned long long)m->conn_index,
            m->n_routes, m->n_hostnames);
out:
    free(m);
}

static int on_ctrl_capsule(void *arg, const struct st_capsule *cap)
{
    struct edge_tconn *c = arg;
    if (cap->type == ST_CAP_REGISTER) {
        on_register(c, cap->value, cap->len);
    } else if (cap->type == ST_CAP_UNREGISTER && c->registered) {
        st_info("tunnel %s: connection %llu unregistered (draining)", c->tunnel->id,
                (unsigned long long)c->id);
        edge_registry_detach(&c->srv->reg, c->tunnel, c);
        edge_fleet_sync(c->srv->fleet, c->tunnel);
        c->registered = false;
    }
    /* Unknown capsule types are ignored (RFC 9297 3.2). */
    return c->h2.dead;
}

static void on_ctrl_data(struct edge_tconn *c, const uint8_t *p, size_t n)
{
    int rv = st_ctrlstream_feed(&c->ctrl, p, n, on_ctrl_capsule, c);
    if (rv < 0) {
        st_warn("tunnel connection %s: %s control capsule", c->peer,
                rv == -EMSGSIZE ? "oversized" : "malformed");
        st_h2conn_goaway(&c->h2, NGHTTP2_PROTOCOL_ERROR);
    }
}

static void open_ctrl(struct edge_tconn *c)
{
    nghttp2_nv nva[] = {NV(":method", "CONNECT"), NV(":protocol", "subtunnel-control"),
                        NV(":scheme", "https"), NV(":path", "/"), NV(":authority", "subtunnel")};
    nghttp2_data_provider dp = {.read_callback = ctrl_read};
    int32_t sid = nghttp2_submit_request(c->h2.session, NULL, nva, 5, &dp, NULL);
    if (sid < 0) {
        st_h2conn_fail(&c->h2, "control stream: %s", nghttp2_strerror(sid));
        return;
    }
    c->ctrl.sid = sid;
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *fr, void *ud)
{
    struct edge_tconn *c = ud;
    int32_t sid = fr->hd.stream_id;
    st_h2conn_frame_recv(&c->h2, fr);
    if (fr->hd.type == NGHTTP2_GOAWAY && c->relay)
        edge_relay_goaway(c->srv->relay, c);
    if (fr->hd.type == NGHTTP2_SETTINGS && !(fr->hd.flags & NGHTTP2_FLAG_ACK) && !c->ctrl.sid &&
        !c->relay) {
        open_ctrl(c);
        return 0;
    }
    if (sid == 0 || sid == c->ctrl.sid)
        return 0;
    void *u = nghttp2_session_get_stream_user_data(s, sid);
    if (!u)
        return 0;
    if (*(int *)u == EDGE_STREAM_WEB) {
        struct edge_web *w = u;
        if (fr->hd.type == NGHTTP2_HEADERS && fr->headers.cat == NGHTTP2_HCAT_RESPONSE)
            edge_web_on_response(w);
        if ((fr->hd.type == NGHTTP2_HEADERS || fr->hd.type == NGHTTP2_DATA) &&
            (fr->hd.flags & NGHTTP2_FLAG_END_STREAM))
            edge_web_on_tunnel_eof(w);
        return 0;
    }
    struct edge_flow *f = u;
    if (fr->hd.type == NGHTTP2_HEADERS && fr->headers.cat == NGHTTP2_HCAT_RESPONSE)
        edge_flow_on_response(f);
    if ((fr->hd.type == NGHTTP2_HEADERS || fr->hd.type == NGHTTP2_DATA) &&
        (fr->hd.flags & NGHTTP2_FLAG_END_STREAM))
        edge_flow_on_tunnel_eof(f);
    return 0;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *fr, const uint8_t *name, size_t nlen,
                     const uint8_t *value, size_t vlen, uint8_t flags, void *ud)
{
    (void)flags;
    struct edge_tconn *c = ud;
    int32_t sid = fr->hd.stream_id;
    if (sid == c->ctrl.sid) {
        if (nlen == 7 && memcmp(name, ":status", 7) == 0 &&
            st_http_status((const char *)value, vlen) != 200) {
            st_warn("tunnel connection %s: control stream refused (status %.*s)", c->peer,
                    (int)vlen, value);
            st_h2conn_goaway(&c->h2, NGHTTP2_REFUSED_STREAM);
        }
        return 0;
    }
    void *u = nghttp2_session_get_stream_user_data(s, sid);
    if (u && *(int *)u == EDGE_STREAM_WEB) {
        edge_web_on_header(u, name, nlen, value, vlen);
        return 0;
    }
    struct edge_flow *f = u;
    if (!f || f->responded)
        return 0;
    if (nlen == 7 && memcmp(name, ":status", 7) == 0) {
        f->status = st_http_status((const char *)value, vlen);
        if (f->status < 0)
            st_warn("tunnel connection %s: stream %d: malformed :status \"%.*s\": answering 502",
                    c->peer, sid, (int)(vlen < 16 ? vlen : 16), (const char *)value);
    } else if (nlen == 12 && memcmp(name, "proxy-status", 12) == 0) {
        snprintf(f->proxy_status, sizeof(f->proxy_status), "%.*s", (int)vlen, value);
    }
    return 0;
}

static int on_data(nghttp2_session *s, uint8_t flags, int32_t sid, const uint8_t *p, size_t n,
                   void *ud)
{
    (void)flags;
    struct edge_tconn *c = ud;
    if (sid == c->ctrl.sid) {
        nghttp2_session_consume(s, sid, n);
        on_ctrl_data(c, p, n);
        return 0;
    }
    void *u = nghttp2_session_get_stream_user_data(s, sid);
    if (c->tunnel)
        c->tunnel->bytes[ST_DIR_TO_EDGE] += n;
    else if (c->relay)
        c->srv->relay_stats.bytes[EDGE_RELAY_ENTRY][EDGE_RELAY_TO_ENTRY] += n;
    st_h2rx_queued(&c->h2.rx, s, n); /* first: the reader may take the bytes at once */
    int rv = !u                             ? -1
             : *(int *)u == EDGE_STREAM_WEB ? edge_web_on_tunnel_data(u, p, n)
                                            : edge_flow_on_tunnel_data(u, p, n);
    if (rv < 0) {
        st_h2rx_taken(&c->h2.rx, s, sid, NULL, 0, 0, n);
        nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, sid, NGHTTP2_INTERNAL_ERROR);
    }
    return 0;
}

/* DATA payload sent on a data stream counts toward its tunnel's bytes, or on a relay
 * connection toward the relayed bytes (metrics). */
static int on_frame_send(nghttp2_session *s, const nghttp2_frame *fr, void *ud)
{
    (void)s;
    struct edge_tconn *c = ud;
    if (fr->hd.type != NGHTTP2_DATA || fr->hd.stream_id == c->ctrl.sid)
        return 0;
    if (c->tunnel)
        c->tunnel->bytes[ST_DIR_TO_GATEWAY] += fr->hd.length;
    else if (c->relay)
        c->srv->relay_stats.bytes[EDGE_RELAY_ENTRY][EDGE_RELAY_TO_HOLDER] += fr->hd.length;
    return 0;
}

static void unlink_flow(struct edge_tconn *c, struct edge_flow *f)
{
    if (f->tc_prev)
        f->tc_prev->tc_next = f->tc_next;
    else
        c->flows = f->tc_next;
    if (f->tc_next)
        f->tc_next->tc_prev = f->tc_prev;
    f->tc_next = f->tc_prev = NULL;
    c->n_flows--;
}

static void unlink_web(struct edge_tconn *c, struct edge_web *w)
{
    if (w->tc_prev)
        w->tc_prev->tc_next = w->tc_next;
    else
        c->webs = w->tc_next;
    if (w->tc_next)
        w->tc_next->tc_prev = w->tc_prev;
    w->tc_next = w->tc_prev = NULL;
}

static int on_stream_close(nghttp2_session *s, int32_t sid, uint32_t code, void *ud)
{
    struct edge_tconn *c = ud;
    if (sid == c->ctrl.sid) {
        st_h2conn_fail(&c->h2, "control stream closed");
        return 0;
    }
    void *u = nghttp2_session_get_stream_user_data(s, sid);
    if (u && *(int *)u == EDGE_STREAM_WEB) {
        unlink_web(c, u);
        edge_web_on_tunnel_close(u, code);
    } else if (u) {
        unlink_flow(c, u);
        edge_flow_on_tunnel_close(u, code);
    }
    return 0;
}

static ssize_t flow_read(nghttp2_session *s, int32_t sid, uint8_t *buf, size_t len, uint32_t *flags,
                         nghttp2_data_source *src, void *ud)
{
    (void)s;
    (void)sid;
    if (*(int *)src->ptr == EDGE_STREAM_WEB)
        return edge_web_read_up(src->ptr, buf, len, flags);
    struct edge_tconn *c = ud;
    return edge_flow_read_up(src->ptr, buf, len, flags, st_h2conn_zero_copy(&c->h2));
}

/* A flow's zero-copy DATA frame (edge_flow_read_up): sealed straight from its queue. */
static int send_data(nghttp2_session *s, nghttp2_frame *fr, const uint8_t *hd, size_t len,
                     nghttp2_data_source *src, void *ud)
{
    (void)s;
    struct edge_tconn *c = ud;
    /* only flows answer NO_COPY (edge_flow_read_up); a web source here is a bug */
    uint8_t *p = *(int *)src->ptr == EDGE_STREAM_FLOW ? edge_flow_up_frame(src->ptr, len) : NULL;
    if (!p) {
        st_warn("tunnel connection %s: stream %d: zero-copy payload missing", c->peer,
                fr->hd.stream_id);
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* resets this stream only */
    }
    int rv = st_h2conn_send_frame(&c->h2, fr, hd, p, len);
    if (rv == 0 || rv == NGHTTP2_ERR_PAUSE)
        edge_flow_up_sent(src->ptr, len);
    return rv;
}

/* A connection whose stream ids are nearly used up takes no new flows (the gateway should
 * have replaced it long before: ST_H2CONN_IDS_RENEW); the flows on it finish. */
static void check_ids(struct edge_tconn *c)
{
    if (!c->registered || st_h2conn_ids_used(&c->h2) < ST_H2CONN_IDS_SPENT)
        return;
    st_warn("tunnel %s: connection %llu: its HTTP/2 stream ids are used up: no new flows on it",
            c->tunnel->id, (unsigned long long)c->id);
    edge_registry_detach(&c->srv->reg, c->tunnel, c);
    edge_fleet_sync(c->srv->fleet, c->tunnel);
    c->registered = false;
}

/* A relayed visitor request's extra fields: its address, and who it authenticated as. */
static size_t web_relay_fields(const struct edge_web *w, nghttp2_nv *nv, char *ident, size_t len)
{
    nghttp2_nv client = NV("subtunnel-client", w->client);
    nv[0] = client;
    if (!w->has_ident || edge_relay_ident_encode(&w->ident, ident, len) < 0)
        return 1;
    nghttp2_nv i = NV(EDGE_RELAY_IDENT_HDR, ident);
    nv[1] = i;
    return 2;
}

int32_t edge_tconn_open_web(struct edge_tconn *c, struct edge_web *w, const nghttp2_nv *nv,
                            size_t n, bool body)
{
    nghttp2_nv all[EDGE_VISIT_MAX_NV + 2];
    char ident[EDGE_RELAY_IDENT_MAX];
    if (c->relay && n <= EDGE_VISIT_MAX_NV) {
        memcpy(all, nv, n * sizeof(*nv));
        n += web_relay_fields(w, all + n, ident, sizeof(ident));
        nv = all;
    }
    nghttp2_data_provider dp = {.source.ptr = w, .read_callback = flow_read};
    int32_t sid = nghttp2_submit_request(c->h2.session, NULL, nv, n, body ? &dp : NULL, w);
    if (sid < 0)
        return sid;
    w->tc = c;
    w->sid = sid;
    w->tc_prev = NULL;
    w->tc_next = c->webs;
    if (c->webs)
        c->webs->tc_prev = w;
    c->webs = w;
    check_ids(c);
    st_h2conn_kick(&c->h2);
    return sid;
}

/* A relayed flow's extra fields: who the user is, or which site opened it. */
static size_t relay_fields(const struct edge_flow *f, nghttp2_nv *nv, char *ident, size_t len)
{
    if (f->src_tunnel) {
        nghttp2_nv t = NV(EDGE_RELAY_TUNNEL_HDR, f->src_tunnel->id);
        *nv = t;
        return 1;
    }
    if (!f->has_ident || edge_relay_ident_encode(&f->ident, ident, len) < 0)
        return 0;
    nghttp2_nv i = NV(EDGE_RELAY_IDENT_HDR, ident);
    *nv = i;
    return 1;
}

int32_t edge_tconn_open_stream(struct edge_tconn *c, struct edge_flow *f, const char *authority,
                               const char *client)
{
    nghttp2_nv plain[] = {NV(":method", "CONNECT"), NV(":authority", authority),
                          NV("subtunnel-client", client), NV("", "")};
    /* MASQUE (connect-udp, connect-ip): the extended CONNECT goes on as it came */
    nghttp2_nv masque[] = {NV(":method", "CONNECT"),       NV(":protocol", f->protocol),
                           NV(":scheme", "https"),         NV(":authority", authority),
                           NV(":path", f->path),           NV("capsule-protocol", "?1"),
                           NV("subtunnel-client", client), NV("", "")};
    char ident[EDGE_RELAY_IDENT_MAX];
    size_t extra = 0;
    if (c->relay)
        extra = relay_fields(f, f->masque ? &masque[7] : &plain[3], ident, sizeof(ident));
    nghttp2_data_provider dp = {.source.ptr = f, .read_callback = flow_read};
    nghttp2_priority_spec pri; /* datagram streams first, here and at the gateway */
    nghttp2_priority_spec_init(&pri, 0, ST_H2_DGRAM_WEIGHT, 0);
    int32_t sid = f->masque ? nghttp2_submit_request(c->h2.session, &pri, masque, 7 + extra, &dp, f)
                            : nghttp2_submit_request(c->h2.session, NULL, plain, 3 + extra, &dp, f);
    if (sid < 0)
        return sid;
    f->tc = c;
    f->sid = sid;
    f->tc_prev = NULL;
    f->tc_next = c->flows;
    if (c->flows)
        c->flows->tc_prev = f;
    c->flows = f;
    c->n_flows++;
    check_ids(c);
    st_h2conn_kick(&c->h2);
    return sid;
}

void edge_tconn_resume(struct edge_tconn *c, int32_t sid)
{
    nghttp2_session_resume_data(c->h2.session, sid);
    st_h2conn_kick(&c->h2);
}

void edge_tconn_consume(struct edge_tconn *c, int32_t sid, struct st_h2rx_stream *w, size_t n)
{
    st_h2rx_taken(&c->h2.rx, c->h2.session, sid, w, EDGE_TUNNEL_WINDOW0, EDGE_FLOW_WINDOW, n);
    st_h2conn_kick(&c->h2);
}

void edge_tconn_dropped(struct edge_tconn *c, size_t n)
{
    st_h2rx_dropped(&c->h2.rx, c->h2.session, n);
    st_h2conn_kick(&c->h2);
}

void edge_tconn_reset(struct edge_tconn *c, int32_t sid, uint32_t code)
{
    nghttp2_submit_rst_stream(c->h2.session, NGHTTP2_FLAG_NONE, sid, code);
    st_h2conn_kick(&c->h2);
}

static int make_session(struct edge_tconn *c)
{
    static const struct st_h2_handlers handlers = {.header = on_header,
                                                   .frame_recv = on_frame_recv,
                                                   .data_chunk = on_data,
                                                   .stream_close = on_stream_close,
                                                   .frame_send = on_frame_send,
                                                   .send_data = send_data};
    static const nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, EDGE_TUNNEL_WINDOW0},
        {NGHTTP2_SETTINGS_MAX_FRAME_SIZE, 65536}};
    c->h2.many_resets = true; /* a registered gateway (or an edge): its clients' aborted flows */
    return st_h2conn_session(&c->h2, false, &handlers, c, iv, 3, CONN_WINDOW);
}

static int session_ready(struct st_h2conn *h)
{
    struct edge_tconn *c = h->owner;
    if (!st_h2conn_is_h2(h)) {
        st_warn("%s connection %s: ALPN is not h2", c->relay ? "relay" : "tunnel", c->peer);
        return -1;
    }
    h->hb_stats = &c->srv->hb;
    st_h2conn_heartbeat(h, c->srv->cfg.heartbeat_interval_ms, c->srv->cfg.heartbeat_count);
    if (c->relay) { /* the session exists since the dial; the peer proved to be edge relay_id */
        c->relay_up = true;
        st_h2conn_bulk_reads(h);
        st_info("relay: connected to edge %s at %s", c->relay_id, c->peer);
        return 0;
    }
    if (make_session(c) < 0)
        return -1;
    st_timer_start(&c->reg_timer, EDGE_REGISTER_TIMEOUT_MS);
    st_debug("tunnel connection %s: TLS up", c->peer);
    return 0;
}

static void session_closed(struct st_h2conn *h, const char *why)
{
    struct edge_tconn *c = h->owner;
    struct edge_server *srv = c->srv;
    if (c->relay) {
        edge_relay_closed(srv->relay, c, why);
    } else if (c->registered) {
        st_info("tunnel %s: connection %llu closed: %s", c->tunnel->id, (unsigned long long)c->id,
                why);
        edge_registry_detach(&srv->reg, c->tunnel, c);
        edge_fleet_sync(srv->fleet, c->tunnel);
    } else {
        edge_refusal(srv, EDGE_REFUSE_CONN, "tunnel connection %s closed: %s", c->peer, why);
    }
    while (c->flows) {
        struct edge_flow *f = c->flows;
        unlink_flow(c, f);
        edge_flow_on_tunnel_close(f, NGHTTP2_CONNECT_ERROR);
    }
    while (c->webs) {
        struct edge_web *w = c->webs;
        unlink_web(c, w);
        edge_web_on_tunnel_close(w, NGHTTP2_CONNECT_ERROR);
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->tconns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    st_timer_stop(&c->reg_timer);
    if (c->setting_up)
        edge_listen_setup_done(srv, false);
    if (!c->relay) /* accepted: counted by the listener */
        edge_listen_closed(srv, c->h2.io.fd);
    st_h2conn_fini(&c->h2);
    st_ctrlstream_reset(&c->ctrl);
    free(c);
}

static void on_reg_timeout(struct st_timer *t)
{
    struct edge_tconn *c = t->data;
    if (c->evicted) {
        st_h2conn_fail(&c->h2, "still open %d s after its ERROR", EDGE_EVICT_CLOSE_MS / 1000);
    } else if (!c->registered) {
        c->srv->reg_failures[ST_REG_TIMEOUT]++;
        st_h2conn_fail(&c->h2, "no registration within %d s", EDGE_REGISTER_TIMEOUT_MS / 1000);
    }
}

static const struct st_h2conn_ops tconn_ops = {.ready = session_ready, .closed = session_closed};

void edge_tconn_adopt(struct edge_server *srv, int fd, SSL *ssl, const char *peer)
{
    struct edge_tconn *c = calloc(1, sizeof(*c));
    if (!c) {
        st_err("tunnel listener: out of memory");
        SSL_free(ssl);
        edge_listen_setup_done(srv, false);
        edge_listen_closed(srv, fd);
        close(fd);
        return;
    }
    c->srv = srv;
    c->id = ++srv->next_conn_id;
    c->setting_up = true; /* edge_hs counted it */
    st_timer_init(&c->reg_timer, &srv->loop, on_reg_timeout, c);
    snprintf(c->peer, sizeof(c->peer), "%s", peer);
    st_h2conn_init(&c->h2, &srv->loop, fd, ssl, false, false, &tconn_ops, c);
    c->next = srv->tconns;
    if (srv->tconns)
        srv->tconns->prev = c;
    srv->tconns = c;
    st_debug("tunnel connection %s accepted", c->peer);
}

struct edge_tconn *edge_tconn_dial(struct edge_server *srv, int fd, SSL *ssl, const char *peer,
                                   const char *id)
{
    struct edge_tconn *c = calloc(1, sizeof(*c));
    if (!c) {
        SSL_free(ssl);
        close(fd);
        return NULL;
    }
    c->srv = srv;
    c->id = ++srv->next_conn_id;
    c->relay = true;
    st_timer_init(&c->reg_timer, &srv->loop, on_reg_timeout, c);
    snprintf(c->peer, sizeof(c->peer), "%s", peer);
    snprintf(c->relay_id, sizeof(c->relay_id), "%s", id);
    st_h2conn_init(&c->h2, &srv->loop, fd, ssl, true, true, &tconn_ops, c);
    c->next = srv->tconns;
    if (srv->tconns)
        srv->tconns->prev = c;
    srv->tconns = c;
    if (make_session(c) < 0) { /* closed (deferred) like any failed connection */
        st_h2conn_fail(&c->h2, "out of memory");
        return NULL;
    }
    return c;
}

void edge_tconn_evict(struct edge_tconn *c, const char *cause)
{
    if (!c->registered || c->h2.dead)
        return;
    st_warn("tunnel %s: connection %llu: %s: closing it", c->tunnel->id, (unsigned long long)c->id,
            cause);
    edge_registry_detach(&c->srv->reg, c->tunnel, c);
    edge_fleet_sync(c->srv->fleet, c->tunnel);
    c->registered = false;
    c->evicted = true;
    refuse(c, cause, false);
    st_timer_start(&c->reg_timer, EDGE_EVICT_CLOSE_MS);
}

void edge_tconn_send_routes(struct edge_tconn *c)
{
    if (c->registered && !c->h2.dead)
        send_reachable(c);
}

void edge_tconn_shutdown(struct edge_tconn *c)
{
    st_h2conn_shutdown(&c->h2); /* not st_h2conn_goaway: its streams go on */
}

uint64_t edge_tconn_load(struct edge_tconn *c)
{
    return st_h2conn_pick_key(&c->h2, c->n_flows);
}
