#include "gw_conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gw_dgram.h"
#include "gw_flow.h"
#include "gw_pool.h"
#include "gw_reach.h"
#include "gw_server.h"
#include "gw_web.h"
#include "st_capsule.h"
#include "st_ctrl.h"
#include "st_http.h"
#include "st_log.h"
#include "st_sock.h"
#include "st_tls.h"

#define CONN_WINDOW (64 * 1024 * 1024)

#define NV(n, v)                                                                                   \
    {                                                                                              \
        (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NO_COPY_NAME     \
    }

static void dial(struct st_timer *t);

static void schedule_retry(struct gw_conn *c)
{
    if (c->stopped || c->gw->drain.draining)
        return;
    /* Refusals count in a row: any other failure ends the run (normal backoff again). */
    if (!c->refused_now)
        c->refusals = 0;
    c->refused_now = false;
    uint32_t r = 0;
    if (getrandom(&r, sizeof(r), 0) != sizeof(r))
        r = (uint32_t)rand();
    uint64_t wait = c->refusals && !c->retry_after_ms
                        ? gw_edges_refused_backoff_ms(c->refusals, r)
                        : gw_edges_backoff_ms(c->attempts, c->retry_after_ms, r);
    c->retry_after_ms = 0;
    c->attempts++;
    c->gw->reconnects++;
    st_info("edge connection %u: reconnecting in %llu ms", c->index, (unsigned long long)wait);
    st_timer_start(&c->retry, wait);
}

static void send_ctrl(struct gw_conn *c, const uint8_t *p, size_t n)
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
    struct gw_conn *c = ud;
    return st_ctrlstream_read(&c->ctrl, buf, len, flags);
}

static void send_register(struct gw_conn *c)
{
    const struct gw_config *cfg = &c->gw->cfg;
    struct st_ctrl_register *m = calloc(1, sizeof(*m));
    uint8_t *buf = malloc(16384);
    if (!m || !buf)
        goto out;
    snprintf(m->token, sizeof(m->token), "%s:%s", cfg->tunnel_id, cfg->secret);
    m->conn_index = c->index;
    m->prev_attempts = c->attempts;
    snprintf(m->version, sizeof(m->version), "subtunnel-gateway/%s", ST_VERSION);
    for (size_t i = 0; i < cfg->n_routes && i < ST_CTRL_MAX_ROUTES; i++)
        m->routes[m->n_routes++] = cfg->routes[i];
    /* The host names of the ingress rules, each once: the edge sends their visitors here. */
    for (size_t i = 0; i < cfg->ingress.n_rules && m->n_hostnames < ST_CTRL_MAX_HOSTNAMES; i++) {
        const char *h = cfg->ingress.rules[i].hostname;
        bool dup = false;
        for (size_t j = 0; h && j < m->n_hostnames; j++)
            dup |= strcmp(m->hostnames[j], h) == 0;
        if (h && !dup)
            snprintf(m->hostnames[m->n_hostnames++], sizeof(m->hostnames[0]), "%s", h);
    }
    int n = st_ctrl_encode_register(m, buf, 16384);
    if (n > 0)
        send_ctrl(c, buf, (size_t)n);
    else
        st_h2conn_fail(&c->h2, "cannot encode REGISTER");
out:
    free(m);
    free(buf);
}

/* An ERROR refused the registration. Every cause is retried: one the edge says to retry
 * after its retry-after, any other slowly (an edge reload or restart may heal it); the
 * refusal is logged as an error once per cause, then as info. */
static void refused(struct gw_conn *c, const struct st_ctrl_error *e)
{
    bool same = c->refusals && strcmp(c->refusal, e->cause) == 0;
    c->refusals++;
    c->refused_now = true;
    c->gw->reg_failures[st_reg_reason_of(e->cause)]++;
    if (e->retry)
        c->retry_after_ms = (uint64_t)e->retry_after_s * 1000;
    if (same)
        st_info("edge connection %u: still refused by %s: %s (%u times in a row)", c->index,
                c->edge, e->cause, c->refusals);
    else
        st_err("edge connection %u: registration refused by %s: %s (retrying)", c->index, c->edge,
               e->cause);
    snprintf(c->refusal, sizeof(c->refusal), "%s", e->cause);
}

static int on_ctrl_capsule(void *arg, const struct st_capsule *cap)
{
    struct gw_conn *c = arg;
    if (cap->type == ST_CAP_REGISTERED) {
        struct st_ctrl_registered ok;
        if (st_ctrl_decode_registered(cap->value, cap->len, &ok) < 0) {
            st_h2conn_fail(&c->h2, "malformed REGISTERED");
            return 1;
        }
        c->registered = true;
        c->attempts = 0;
        c->refusals = 0;
        c->gw->registrations++;
        snprintf(c->conn_id, sizeof(c->conn_id), "%s", ok.conn_id);
        st_info("edge connection %u: registered: connection %s at %s (%s)", c->index, ok.conn_id,
                ok.location, c->edge);
        if (!ok.fleet)
            gw_pool_edge_alone(c->gw, c);
        gw_pool_on_registered(c->gw, c);
    } else if (cap->type == ST_CAP_ROUTES) {
        struct st_ctrl_routes *m = malloc(sizeof(*m));
        if (!m || st_ctrl_decode_routes(cap->value, cap->len, m) < 0) {
            free(m);
            st_h2conn_fail(&c->h2, "malformed ROUTES");
            return 1;
        }
        gw_reach_routes(c->gw, &c->reach_offer, m->routes, m->n_routes);
        free(m);
    } else if (cap->type == ST_CAP_ERROR) {
        struct st_ctrl_error e;
        if (st_ctrl_decode_error(cap->value, cap->len, &e) < 0) {
            st_h2conn_fail(&c->h2, "malformed ERROR");
            return 1;
        }
        refused(c, &e);
        st_h2conn_fail(&c->h2, "registration refused: %s", e.cause);
    }
    return c->h2.dead;
}

static void on_ctrl_data(struct gw_conn *c, const uint8_t *p, size_t n)
{
    int rv = st_ctrlstream_feed(&c->ctrl, p, n, on_ctrl_capsule, c);
    if (rv < 0) {
        st_warn("edge connection %u: %s control capsule from %s", c->index,
                rv == -EMSGSIZE ? "oversized" : "malformed", c->edge);
        st_h2conn_goaway(&c->h2, NGHTTP2_PROTOCOL_ERROR);
    }
}

void gw_conn_attach(struct gw_conn *c, struct gw_flow *f)
{
    f->prev = NULL;
    f->next = c->flows;
    if (c->flows)
        c->flows->prev = f;
    c->flows = f;
    c->n_flows++;
}

static void unlink_flow(struct gw_conn *c, struct gw_flow *f)
{
    if (f->prev)
        f->prev->next = f->next;
    else
        c->flows = f->next;
    if (f->next)
        f->next->prev = f->prev;
    f->next = f->prev = NULL;
    c->n_flows--;
}

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *fr, void *ud)
{
    struct gw_conn *c = ud;
    if (fr->hd.type != NGHTTP2_HEADERS || fr->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    struct gw_flow *f = gw_flow_new(c, fr->hd.stream_id);
    if (!f)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    gw_conn_attach(c, f);
    nghttp2_session_set_stream_user_data(s, fr->hd.stream_id, f);
    return 0;
}

static void copy_hdr(char *dst, size_t cap, const uint8_t *v, size_t len)
{
    snprintf(dst, cap, "%.*s", (int)len, (const char *)v);
}

static int on_header(nghttp2_session *s, const nghttp2_frame *fr, const uint8_t *name, size_t nlen,
                     const uint8_t *value, size_t vlen, uint8_t flags, void *ud)
{
    (void)flags;
    (void)ud;
    struct gw_flow *f = nghttp2_session_get_stream_user_data(s, fr->hd.stream_id);
    if (f && fr->headers.cat == NGHTTP2_HCAT_RESPONSE && nlen == 7 &&
        memcmp(name, ":status", 7) == 0) {
        f->status = st_http_status((const char *)value, vlen);
        if (f->status < 0) /* gw_flow_on_response then resets the stream and the client */
            st_warn("reach: %s -> %s: malformed :status \"%.*s\" from the edge", f->client,
                    f->authority, (int)(vlen < 16 ? vlen : 16), (const char *)value);
        return 0;
    }
    if (!f || f->started)
        return 0;
    gw_web_header(f, name, nlen, value, vlen);
    if (nlen == 7 && memcmp(name, ":method", 7) == 0)
        copy_hdr(f->method, sizeof(f->method), value, vlen);
    else if (nlen == 9 && memcmp(name, ":protocol", 9) == 0)
        copy_hdr(f->protocol, sizeof(f->protocol), value, vlen);
    else if (nlen == 10 && memcmp(name, ":authority", 10) == 0)
        copy_hdr(f->authority, sizeof(f->authority), value, vlen);
    else if (nlen == 16 && memcmp(name, "subtunnel-client", 16) == 0)
        copy_hdr(f->client, sizeof(f->client), value, vlen);
    return 0;
}

static void open_control(struct gw_conn *c, struct gw_flow *f)
{
    int32_t sid = f->sid;
    /* The control stream is not a flow: drop the placeholder. */
    unlink_flow(c, f);
    nghttp2_session_set_stream_user_data(c->h2.session, sid, NULL);
    gw_flow_on_conn_lost(f);
    if (c->ctrl.sid) {
        nghttp2_submit_rst_stream(c->h2.session, NGHTTP2_FLAG_NONE, sid, NGHTTP2_REFUSED_STREAM);
        return;
    }
    c->ctrl.sid = sid;
    nghttp2_nv nva[] = {NV(":status", "200")};
    nghttp2_data_provider dp = {.read_callback = ctrl_read};
    nghttp2_submit_response(c->h2.session, sid, nva, 1, &dp);
    send_register(c);
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *fr, void *ud)
{
    struct gw_conn *c = ud;
    int32_t sid = fr->hd.stream_id;
    st_h2conn_frame_recv(&c->h2, fr);
    if (sid == 0 || sid == c->ctrl.sid)
        return 0;
    struct gw_flow *f = nghttp2_session_get_stream_user_data(s, sid);
    if (!f)
        return 0;
    if (fr->hd.type == NGHTTP2_HEADERS && fr->headers.cat == NGHTTP2_HCAT_RESPONSE)
        gw_flow_on_response(f);
    if (fr->hd.type == NGHTTP2_HEADERS && fr->headers.cat == NGHTTP2_HCAT_REQUEST) {
        bool end = fr->hd.flags & NGHTTP2_FLAG_END_STREAM;
        if (strcmp(f->protocol, "subtunnel-control") == 0)
            open_control(c, f);
        else if (gw_web_wanted(f))
            gw_web_start(f, end);
        else if (gw_dgram_wanted(f)) {
            gw_dgram_start(f, gw_web_path(f->web));
            gw_web_free(f->web);
            f->web = NULL;
        } else {
            gw_web_free(f->web); /* a :path came, but this is no ingress request */
            f->web = NULL;
            gw_flow_start(f);
        }
        if (end && !f->stream_closed)
            gw_flow_on_eof(f);
        return 0;
    }
    if ((fr->hd.type == NGHTTP2_DATA || fr->hd.type == NGHTTP2_HEADERS) &&
        (fr->hd.flags & NGHTTP2_FLAG_END_STREAM))
        gw_flow_on_eof(f);
    return 0;
}

static int on_data(nghttp2_session *s, uint8_t flags, int32_t sid, const uint8_t *p, size_t n,
                   void *ud)
{
    (void)flags;
    struct gw_conn *c = ud;
    if (sid == c->ctrl.sid) {
        nghttp2_session_consume(s, sid, n);
        on_ctrl_data(c, p, n);
        return 0;
    }
    struct gw_flow *f = nghttp2_session_get_stream_user_data(s, sid);
    c->gw->tunnel_bytes[ST_DIR_TO_GATEWAY] += n;
    st_h2rx_queued(&c->h2.rx, s, n); /* first: the flow may take the bytes at once */
    if (!f || gw_flow_on_data(f, p, n) < 0) {
        st_h2rx_taken(&c->h2.rx, s, sid, NULL, 0, 0, n);
        nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, sid, NGHTTP2_FLOW_CONTROL_ERROR);
    }
    return 0;
}

/* DATA payload sent on a data stream (metrics). */
static int on_frame_send(nghttp2_session *s, const nghttp2_frame *fr, void *ud)
{
    (void)s;
    struct gw_conn *c = ud;
    if (fr->hd.type == NGHTTP2_DATA && fr->hd.stream_id != c->ctrl.sid)
        c->gw->tunnel_bytes[ST_DIR_TO_EDGE] += fr->hd.length;
    return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t sid, uint32_t code, void *ud)
{
    struct gw_conn *c = ud;
    if (sid == c->ctrl.sid) {
        st_h2conn_fail(&c->h2, "control stream closed by the edge");
        return 0;
    }
    struct gw_flow *f = nghttp2_session_get_stream_user_data(s, sid);
    if (f) {
        unlink_flow(c, f);
        gw_flow_on_close(f, code);
    }
    return 0;
}

/* A reach connection: this gateway is the HTTP/2 client and opens the streams. */
static int reach_ready(struct gw_conn *c)
{
    static const struct st_h2_handlers handlers = {.header = on_header,
                                                   .frame_recv = on_frame_recv,
                                                   .data_chunk = on_data,
                                                   .stream_close = on_stream_close,
                                                   .frame_send = on_frame_send,
                                                   .send_data = gw_flow_send_data};
    static const nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, GW_FLOW_WINDOW},
        {NGHTTP2_SETTINGS_MAX_FRAME_SIZE, 65536}};
    char alpn[32];
    st_h2conn_alpn(&c->h2, alpn, sizeof(alpn));
    if (strcmp(alpn, GW_ALPN_REACH) != 0) {
        st_warn("reach connection %u: %s does not offer %s (ALPN '%s')", c->index, c->edge,
                GW_ALPN_REACH, alpn);
        return -1;
    }
    c->h2.many_resets = true; /* the edge relays every aborted flow as a reset */
    if (st_h2conn_session(&c->h2, false, &handlers, c, iv, 3, CONN_WINDOW) < 0)
        return -1;
    st_h2conn_bulk_reads(&c->h2); /* the edge we dialled, its certificate verified */
    c->registered = true;
    c->attempts = 0;
    c->h2.hb_stats = &c->gw->hb;
    st_h2conn_heartbeat(&c->h2, c->gw->cfg.heartbeat_interval_ms, c->gw->cfg.heartbeat_count);
    st_info("reach connection %u: up to %s", c->index, c->edge);
    gw_pool_on_registered(c->gw, c);
    return 0;
}

static int session_ready(struct st_h2conn *h)
{
    struct gw_conn *c = h->owner;
    static const struct st_h2_handlers handlers = {.begin_headers = on_begin_headers,
                                                   .header = on_header,
                                                   .frame_recv = on_frame_recv,
                                                   .data_chunk = on_data,
                                                   .stream_close = on_stream_close,
                                                   .frame_send = on_frame_send,
                                                   .send_data = gw_flow_send_data};
    static const nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL, 1},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, GW_FLOW_WINDOW},
        {NGHTTP2_SETTINGS_MAX_FRAME_SIZE, 65536}};
    if (c->reach)
        return reach_ready(c);
    if (!st_h2conn_is_h2(h)) {
        st_warn("edge connection %u: %s did not negotiate h2", c->index, c->edge);
        return -1;
    }
    h->many_resets = true; /* the edge relays every aborted flow as a reset */
    if (st_h2conn_session(h, true, &handlers, c, iv, 3, CONN_WINDOW) < 0)
        return -1;
    st_h2conn_bulk_reads(h); /* the edge we dialled, its certificate verified */
    h->hb_stats = &c->gw->hb;
    st_h2conn_heartbeat(h, c->gw->cfg.heartbeat_interval_ms, c->gw->cfg.heartbeat_count);
    st_debug("edge connection %u: TLS up to %s", c->index, c->edge);
    return 0;
}

static void session_closed(struct st_h2conn *h, const char *why)
{
    struct gw_conn *c = h->owner;
    if (c->registered)
        st_warn("edge connection %u (%s) lost: %s", c->index, c->conn_id, why);
    else
        st_warn("edge connection %u to %s failed: %s", c->index, c->edge, why);
    if (!c->registered && !c->reach && !c->refused_now && !c->stopped)
        c->gw->reg_failures[ST_REG_CONN_FAILED]++;
    while (c->flows) {
        struct gw_flow *f = c->flows;
        unlink_flow(c, f);
        gw_flow_on_conn_lost(f);
    }
    st_h2conn_fini(&c->h2);
    c->active = false;
    c->registered = false;
    st_ctrlstream_reset(&c->ctrl);
    schedule_retry(c);
    gw_pool_edge_failed(c->gw, c);   /* another edge, when it failed again (edge-count) */
    if (!c->stopped && !c->refusals) /* a refusal was logged; the pool's state is unchanged */
        gw_pool_on_conn_failed(c->gw);
}

static const struct st_h2conn_ops conn_ops = {.ready = session_ready, .closed = session_closed};

static void dial(struct st_timer *t)
{
    struct gw_conn *c = t->data;
    struct gw_server *gw = c->gw;
    const struct st_sockaddr *a = &c->target.addr;
    st_sockaddr_format(a, c->edge, sizeof(c->edge));
    int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        int err = -errno;
        if (!st_sock_fd_shortage(err))
            st_err("edge connection %u: socket: %s", c->index, strerror(-err));
        else if (!gw->fd_short) /* once until a socket opens again; the backoff goes on */
            st_warn("edge connection %u: socket: %s: retrying with the reconnect backoff", c->index,
                    strerror(-err));
        gw->fd_short = gw->fd_short || st_sock_fd_shortage(err);
        schedule_retry(c);
        return;
    }
    if (gw->fd_short) {
        gw->fd_short = false;
        st_info("edge connection %u: sockets can be opened again", c->index);
    }
    if (connect(fd, (const struct sockaddr *)&a->ss, a->len) < 0 && errno != EINPROGRESS) {
        st_warn("edge connection %u: connect %s: %s", c->index, c->edge, strerror(errno));
        c->gw->reg_failures[ST_REG_CONN_FAILED] += !c->reach;
        close(fd);
        schedule_retry(c);
        return;
    }
    SSL *ssl = SSL_new(gw->tls);
    if (!ssl) {
        close(fd);
        schedule_retry(c);
        return;
    }
    static const unsigned char reach_alpn[] = "\x0f" GW_ALPN_REACH;
    if (c->reach)
        SSL_set_alpn_protos(ssl, reach_alpn, sizeof(reach_alpn) - 1);
    SSL_set_tlsext_host_name(ssl, gw->cfg.edge_name);
    SSL_set1_host(ssl, gw->cfg.edge_name);
    st_h2conn_init(&c->h2, &gw->loop, fd, ssl, true, true, &conn_ops, c);
    c->active = true;
    st_debug("edge connection %u: dialing %s", c->index, c->edge);
}

struct gw_conn *gw_conn_new(struct gw_server *gw, unsigned index, bool reach,
                            const struct gw_edge_target *t)
{
    struct gw_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->gw = gw;
    c->index = index;
    c->reach = reach;
    c->target = *t;
    st_sockaddr_format(&t->addr, c->edge, sizeof(c->edge));
    st_timer_init(&c->retry, &gw->loop, dial, c);
    st_timer_start(&c->retry, 0);
    return c;
}

void gw_conn_free(struct gw_conn *c)
{
    if (!c)
        return;
    st_timer_stop(&c->retry);
    while (c->flows) {
        struct gw_flow *f = c->flows;
        unlink_flow(c, f);
        gw_flow_on_conn_lost(f);
    }
    if (c->active)
        st_h2conn_fini(&c->h2);
    st_ctrlstream_reset(&c->ctrl);
    free(c);
}

void gw_conn_stop(struct gw_conn *c)
{
    c->stopped = true;
    st_timer_stop(&c->retry);
}

void gw_conn_drain(struct gw_conn *c)
{
    gw_conn_stop(c);
    if (c->drained)
        return;
    c->drained = true;
    c->drained_at = st_loop_now(&c->gw->loop);
    if (!c->active || c->h2.dead)
        return;
    /* Still connecting, or a tunnel connection not registered yet: nothing to keep. */
    if (!c->h2.session || (!c->reach && !c->registered)) {
        st_h2conn_fail(&c->h2, "closed before it was registered (drained)");
        return;
    }
    if (!c->ctrl.sid)
        return;
    uint8_t buf[16];
    int n = st_ctrl_encode_unregister(buf, sizeof(buf));
    if (n > 0)
        send_ctrl(c, buf, (size_t)n);
    /* End the control stream after UNREGISTER and announce GOAWAY without terminating:
     * streams in progress finish, and the UNREGISTER is not dropped. */
    c->ctrl.closing = true;
    nghttp2_session_resume_data(c->h2.session, c->ctrl.sid);
    nghttp2_submit_goaway(c->h2.session, NGHTTP2_FLAG_NONE,
                          nghttp2_session_get_last_proc_stream_id(c->h2.session), NGHTTP2_NO_ERROR,
                          NULL, 0);
    st_h2conn_kick(&c->h2);
}

bool gw_conn_idle(struct gw_conn *c)
{
    return !c->active || c->h2.dead || !c->h2.session ||
           (!c->flows && !nghttp2_session_want_write(c->h2.session) &&
            c->h2.out_len == c->h2.out_off);
}

/* The least busy reach connection (st_h2conn_load, then fewer flows), the first from the
 * round-robin cursor among equally busy ones: a new flow does not queue behind a bulk flow
 * on another. */
static uint64_t reach_key(size_t i, void *arg)
{
    struct gw_conn *c = ((struct gw_server *)arg)->conns[i];
    if (!c->reach || !c->active || !c->registered || c->h2.dead)
        return UINT64_MAX;
    return st_h2conn_pick_key(&c->h2, c->n_flows);
}

struct gw_conn *gw_conn_pick_reach(struct gw_server *gw)
{
    if (gw->drain.draining)
        return NULL;
    size_t i = st_pick_least(gw->n_conns, &gw->reach_rr, reach_key, gw);
    return i == SIZE_MAX ? NULL : gw->conns[i];
}
