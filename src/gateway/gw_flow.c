#include "gw_flow.h"

#include <arpa/inet.h>
#include <errno.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_conn.h"
#include "gw_dgram.h"
#include "gw_guard.h"
#include "gw_server.h"
#include "gw_web.h"
#include "ns_stack.h"
#include "st_addr.h"
#include "st_log.h"

#define LINGER_MS 30000 /* how long a cleanly closed stream waits for lwIP to drain */

#define UNSENT_MAX (64 * 1024) /* bytes queued in lwIP beyond what it has sent */
#define PORT_TRIES 64          /* random local ports tried per expose connection */

#define NV(n, v)                                                                                   \
    {                                                                                              \
        (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NO_COPY_NAME     \
    }

static void detach_pcb(struct gw_flow *f)
{
    tcp_arg(f->pcb, NULL);
    tcp_recv(f->pcb, NULL);
    tcp_sent(f->pcb, NULL);
    tcp_err(f->pcb, NULL);
    tcp_poll(f->pcb, NULL, 0);
}

static void abort_pcb(struct gw_flow *f)
{
    if (!f->pcb)
        return;
    detach_pcb(f);
    tcp_abort(f->pcb);
    f->pcb = NULL;
    f->inflight = 0;
}

static void on_release(struct st_defer *d)
{
    struct gw_flow *f = d->data;
    st_timer_stop(&f->timer);
    st_defer_cancel(&f->gw->loop, &f->output);
    if (f->pcb) {
        detach_pcb(f);
        if (f->inflight || tcp_close(f->pcb) != ERR_OK)
            tcp_abort(f->pcb); /* lwIP must keep no reference into `down` */
        f->pcb = NULL;
    }
    ns_pbufq_clear(&f->up);
    st_bq_fini(&f->down);
    if (f->has_vip)
        gw_vip_release(f->gw->vips, f->vip);
    if (f->has_vip6)
        gw_vip_release6(f->gw->vips6, &f->vip6);
    gw_web_free(f->web);
    gw_dgram_free(f->dgram);
    free(f);
}

void gw_flow_maybe_release(struct gw_flow *f)
{
    if (f->finishing || !f->stream_closed)
        return;
    if (f->pcb && f->down.len) {
        if (!st_timer_active(&f->timer))
            st_timer_start(&f->timer, LINGER_MS);
        return;
    }
    f->finishing = true;
    st_defer_queue(&f->gw->loop, &f->release);
}

static void kick(struct gw_flow *f)
{
    if (f->conn)
        st_h2conn_kick(&f->conn->h2);
}

void gw_flow_resume_up(struct gw_flow *f)
{
    if (f->provider_deferred && f->conn && !f->stream_closed) {
        f->provider_deferred = false;
        nghttp2_session_resume_data(f->conn->h2.session, f->sid);
        kick(f);
    }
}

static void reset_stream(struct gw_flow *f, uint32_t code)
{
    if (f->conn && !f->stream_closed) {
        nghttp2_submit_rst_stream(f->conn->h2.session, NGHTTP2_FLAG_NONE, f->sid, code);
        kick(f);
    }
}

static ssize_t provider_read(nghttp2_session *s, int32_t sid, uint8_t *buf, size_t len,
                             uint32_t *flags, nghttp2_data_source *src, void *ud)
{
    (void)s;
    (void)sid;
    (void)ud;
    struct gw_flow *f = src->ptr;
    return gw_flow_read_up(f, buf, len, flags, f->conn && st_h2conn_zero_copy(&f->conn->h2));
}

void gw_flow_respond(struct gw_flow *f, int status, const char *proxy_status)
{
    if (f->responded || !f->conn || f->stream_closed)
        return;
    f->responded = true;
    char st[4];
    snprintf(st, sizeof(st), "%d", status);
    nghttp2_session *s = f->conn->h2.session;
    if (status == 200) {
        nghttp2_nv nva[] = {NV(":status", st), NV("capsule-protocol", "?1")};
        nghttp2_data_provider dp = {.source.ptr = f, .read_callback = provider_read};
        nghttp2_submit_response(s, f->sid, nva, f->dgram ? 2 : 1, &dp);
    } else {
        nghttp2_nv nva[] = {NV(":status", st), NV("proxy-status", proxy_status)};
        nghttp2_submit_response(s, f->sid, nva, 2, NULL);
        enum st_flow_kind k = f->web ? ST_KIND_HTTP : st_flow_kind_of(f->protocol);
        f->gw->flows_refused[k][st_reason_of(proxy_status, status)]++;
    }
    kick(f);
}

/* Sends what push_down queued in lwIP, once per loop round: the DATA frames of one TLS read
 * go out as full segments (one GSO packet on a vnet TUN) instead of each frame's bytes
 * ending in a short segment that closes the packet being coalesced. */
static void on_output(struct st_defer *d)
{
    struct gw_flow *f = d->data;
    if (f->pcb)
        tcp_output(f->pcb);
}

/* Hands queued bytes to lwIP. Returns -1 if it had to abort the pcb (lwIP callbacks
 * must then return ERR_ABRT), else 0. */
static int push_down(struct gw_flow *f)
{
    if (!f->pcb || !f->connected)
        return 0;
    while (f->inflight < f->down.len) {
        size_t room = tcp_sndbuf(f->pcb);
        /* lwIP walks its queue of unsent segments on every tcp_write: keep it short; the
         * ACK that lets it drain calls us again (on_tcp_sent) */
        if (room == 0 || f->pcb->snd_lbb - f->pcb->snd_nxt >= UNSENT_MAX)
            break;
        const uint8_t *p;
        size_t n = st_bq_peek(&f->down, f->inflight, &p);
        if (n > room)
            n = room;
        if (n > 0xffff)
            n = 0xffff;
        u8_t more = f->inflight + n < f->down.len ? TCP_WRITE_FLAG_MORE : 0;
        err_t e = tcp_write(f->pcb, p, (u16_t)n, more); /* no COPY: bytes stay in `down` */
        if (e == ERR_MEM)
            break;
        if (e != ERR_OK) {
            st_debug("flow %s: tcp_write: %d", f->authority, e);
            abort_pcb(f);
            reset_stream(f, NGHTTP2_CONNECT_ERROR);
            return -1;
        }
        f->inflight += n;
    }
    st_defer_queue(&f->gw->loop, &f->output);
    if (f->down_eof && f->inflight == f->down.len && !f->fin_sent) {
        tcp_shutdown(f->pcb, 0, 1);
        f->fin_sent = true;
    }
    return 0;
}

static err_t on_tcp_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    (void)pcb;
    (void)err;
    struct gw_flow *f = arg;
    if (!p) {
        f->up_eof = true;
    } else {
        ns_pbufq_push(&f->up, p);
    }
    gw_flow_resume_up(f);
    return ERR_OK;
}

static err_t on_tcp_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
    (void)pcb;
    struct gw_flow *f = arg;
    st_bq_consume(&f->down, len);
    f->inflight -= len;
    if (f->conn && !f->stream_closed) {
        st_h2rx_taken(&f->conn->h2.rx, f->conn->h2.session, f->sid, NULL, 0, 0, len);
        kick(f);
    }
    if (push_down(f) < 0)
        return ERR_ABRT;
    gw_flow_maybe_release(f);
    return ERR_OK;
}

/* Every second: retry writes that failed for lack of memory (no sent callback follows). */
static err_t on_tcp_poll(void *arg, struct tcp_pcb *pcb)
{
    (void)pcb;
    return push_down(arg) < 0 ? ERR_ABRT : ERR_OK;
}

static void on_tcp_err(void *arg, err_t err)
{
    struct gw_flow *f = arg;
    f->pcb = NULL; /* lwIP freed it, with every segment referencing `down` */
    f->inflight = 0;
    st_timer_stop(&f->timer);
    if (err == ERR_CLSD && f->connected) {
        /* LAST_ACK completed: both FINs acknowledged, a clean end; `up` still drains. */
        gw_flow_maybe_release(f);
        return;
    }
    if (!f->connected) {
        if (err == ERR_RST) {
            st_info("flow %s -> %s: connection refused", f->client, f->authority);
            gw_flow_respond(f, 502, "subtunnel; error=connection_refused");
        } else {
            st_info("flow %s -> %s: connect failed (%d)", f->client, f->authority, err);
            gw_flow_respond(f, 504, "subtunnel; error=connection_timeout");
        }
    } else {
        st_debug("flow %s -> %s: reset by host (%d)", f->client, f->authority, err);
        reset_stream(f, NGHTTP2_CONNECT_ERROR);
    }
    gw_flow_maybe_release(f);
}

/* TCP keepalive toward the private host: a host that vanished (powered off, cable pulled)
 * ends its flow after GW_KEEPALIVE_IDLE_MS + GW_KEEPALIVE_CNT probes instead of never. */
static void keepalive(struct tcp_pcb *pcb)
{
    ip_set_option(pcb, SOF_KEEPALIVE);
    pcb->keep_idle = GW_KEEPALIVE_IDLE_MS;
    pcb->keep_intvl = GW_KEEPALIVE_INTVL_MS;
    pcb->keep_cnt = GW_KEEPALIVE_CNT;
}

static err_t on_tcp_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
    (void)err;
    struct gw_flow *f = arg;
    f->connected = true;
    keepalive(pcb);
    st_timer_stop(&f->timer);
    gw_flow_respond(f, 200, NULL);
    return push_down(f) < 0 ? ERR_ABRT : ERR_OK;
}

static void on_timer(struct st_timer *t)
{
    struct gw_flow *f = t->data;
    if (!f->connected) {
        st_info("flow %s -> %s: connect timed out", f->client, f->authority);
        abort_pcb(f);
        gw_flow_respond(f, 504, "subtunnel; error=connection_timeout");
        return;
    }
    /* Linger expired: the host never acknowledged the tail of the data. */
    abort_pcb(f);
    gw_flow_maybe_release(f);
}

struct gw_flow *gw_flow_new(struct gw_conn *c, int32_t sid)
{
    struct gw_flow *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->gw = c->gw;
    f->conn = c;
    f->sid = sid;
    st_timer_init(&f->timer, &c->gw->loop, on_timer, f);
    st_defer_init(&f->release, on_release, f);
    st_defer_init(&f->output, on_output, f);
    st_bq_init(&f->down, GW_FLOW_WINDOW);
    return f;
}

static bool in_routes(const struct gw_config *cfg, int family, const uint8_t *addr)
{
    for (size_t i = 0; i < cfg->n_routes; i++)
        if (st_cidr_contains(&cfg->routes[i], family, addr))
            return true;
    return false;
}

/* Why the destination is refused, or NULL when it may be reached. */
const char *gw_flow_policy_refusal(struct gw_server *gw, int family, const uint8_t *addr)
{
    if (!in_routes(&gw->cfg, family, addr))
        return "not in the exposed routes";
    if (st_cidr_contains(&gw->cfg.virtual_pool, family, addr) ||
        st_cidr_contains(&gw->cfg.virtual_pool6, family, addr))
        return "address of the gateway's virtual pool";
    return NULL;
}

int gw_flow_admit(struct gw_flow *f, int family, const uint8_t *addr)
{
    static const char *const what[ST_KIND_N] = {"flow", "udp flow", "icmp flow", "flow"};
    enum st_flow_kind k = st_flow_kind_of(f->protocol);
    const char *why = gw_flow_policy_refusal(f->gw, family, addr);
    if (why) {
        st_info("%s %s -> %s: refused: %s", what[k], f->client, f->authority, why);
        gw_flow_respond(f, 403, "subtunnel; error=destination_ip_prohibited");
        return -1;
    }
    if (gw_guard_refuse(f->gw, (int)k, family, addr, f->client, f->authority)) {
        gw_flow_respond(f, 403, GW_GUARD_PROXY_STATUS);
        return -1;
    }
    return 0;
}

int gw_flow_source(struct gw_flow *f, int family, uint16_t *cport, bool *preserve)
{
    int cfam = AF_INET;
    uint8_t caddr[16] = {0};
    *cport = 0;
    if (st_client_parse(f->client, strlen(f->client), &cfam, caddr, cport) < 0)
        cfam = AF_INET;
    /* A client inside a reach route is answered through this TUN: connect from its own
     * address (source preservation); anyone else gets a virtual IP. */
    *preserve = family == cfam && (family == AF_INET ? gw_reach_covers(f->gw, caddr)
                                                     : gw_reach_covers6(f->gw, caddr));
    if (family == AF_INET6) {
        if (*preserve) {
            memcpy(f->vip6.s6_addr, caddr, 16);
            return 0;
        }
        if (gw_vip_acquire6(f->gw->vips6, cfam, caddr, &f->vip6) < 0)
            return -1;
        f->has_vip6 = true;
        return 0;
    }
    if (*preserve) {
        memcpy(&f->vip.s_addr, caddr, 4);
        return 0;
    }
    if (gw_vip_acquire(f->gw->vips, cfam, caddr, &f->vip) < 0)
        return -1;
    f->has_vip = true;
    return 0;
}

/* An lwIP address from family and its 4 or 16 bytes (network order). */
static void lwip_addr(ip_addr_t *out, int family, const uint8_t *addr)
{
    if (family == AF_INET6) {
        ip_addr_set_zero_ip6(out);
        memcpy(ip_2_ip6(out)->addr, addr, 16);
        return;
    }
    ip_addr_set_zero_ip4(out);
    memcpy(&ip_2_ip4(out)->addr, addr, 4);
}

/* Connects from the client's own port (cport, when its address is preserved) if no active
 * lwIP connection has that 4-tuple, else from a random free one chosen per destination. */
static err_t connect_pcb(struct gw_flow *f, const ip_addr_t *local, const ip_addr_t *remote,
                         uint16_t rport, uint16_t cport)
{
    uint16_t lport = ns_tcp_pick_port(local, cport, remote, rport, PORT_TRIES);
    if (!lport)
        return ERR_USE;
    return ns_tcp_connect_from(f->pcb, local, lport, remote, rport, on_tcp_connected);
}

void gw_flow_start(struct gw_flow *f)
{
    struct gw_server *gw = f->gw;
    f->started = true;
    if (strcmp(f->method, "CONNECT") != 0 || f->protocol[0]) {
        gw_flow_respond(f, 501, "subtunnel; error=http_request_error; details=\"only CONNECT\"");
        return;
    }
    int family;
    uint8_t addr[16];
    uint16_t port;
    if (st_authority_parse(f->authority, strlen(f->authority), &family, addr, &port) < 0) {
        gw_flow_respond(f, 400,
                        "subtunnel; error=http_request_error; details=\"authority must be "
                        "ipv4:port or [ipv6]:port\"");
        return;
    }
    if (gw_flow_admit(f, family, addr) < 0)
        return;
    uint16_t cport;
    bool preserve;
    if (gw_flow_source(f, family, &cport, &preserve) < 0) {
        gw_flow_respond(f, 503,
                        "subtunnel; error=connection_limit_reached; details=\"virtual pool full\"");
        return;
    }
    f->pcb = tcp_new_ip_type(family == AF_INET6 ? IPADDR_TYPE_V6 : IPADDR_TYPE_V4);
    if (!f->pcb) {
        gw_flow_respond(f, 503, "subtunnel; error=proxy_internal_error");
        return;
    }
    ip_addr_t local, remote;
    lwip_addr(&local, family, family == AF_INET6 ? f->vip6.s6_addr : (uint8_t *)&f->vip.s_addr);
    lwip_addr(&remote, family, addr);
    tcp_arg(f->pcb, f);
    tcp_err(f->pcb, on_tcp_err);
    tcp_recv(f->pcb, on_tcp_recv);
    tcp_sent(f->pcb, on_tcp_sent);
    tcp_poll(f->pcb, on_tcp_poll, 2);
    tcp_nagle_disable(f->pcb);
    if (connect_pcb(f, &local, &remote, port, preserve ? cport : 0) != ERR_OK) {
        abort_pcb(f);
        gw_flow_respond(f, 503, "subtunnel; error=proxy_internal_error; details=\"no local port\"");
        return;
    }
    gw->flows_opened++;
    st_timer_start(&f->timer, (uint64_t)gw->cfg.connect_timeout_ms);
    if (st_log_get_level() >= ST_LOG_DEBUG) {
        char vip[INET6_ADDRSTRLEN];
        inet_ntop(family, family == AF_INET6 ? (void *)&f->vip6 : (void *)&f->vip, vip,
                  sizeof(vip));
        st_log(ST_LOG_DEBUG, "flow %s -> %s: connecting from %s", f->client, f->authority, vip);
    }
}

int gw_flow_on_data(struct gw_flow *f, const uint8_t *p, size_t n)
{
    if (f->dgram)
        return gw_dgram_on_data(f->dgram, p, n);
    if (f->web && f->started)
        return gw_web_on_data(f->web, p, n);
    if (!f->started || (f->responded && !f->connected)) {
        /* Refused flow: drop the body, the stream is ending; keep the windows whole. */
        if (f->conn)
            st_h2rx_taken(&f->conn->h2.rx, f->conn->h2.session, f->sid, NULL, 0, 0, n);
        return 0;
    }
    if (st_bq_append(&f->down, p, n) < 0)
        return -1;
    push_down(f);
    return 0;
}

void gw_flow_on_eof(struct gw_flow *f)
{
    if (f->dgram) {
        gw_dgram_on_eof(f->dgram);
        return;
    }
    if (f->web && f->started) {
        gw_web_on_eof(f->web);
        return;
    }
    f->down_eof = true;
    push_down(f);
}

void gw_flow_on_close(struct gw_flow *f, uint32_t code)
{
    if (f->dgram)
        gw_dgram_on_close(f->dgram);
    if (f->web && f->started)
        gw_web_on_close(f->web, code);
    /* Queued bytes will never be consumed on this stream: return their connection window. */
    if (f->conn && f->down.len)
        st_h2rx_dropped(&f->conn->h2.rx, f->conn->h2.session, f->down.len);
    f->stream_closed = true;
    f->conn = NULL;
    if (code != NGHTTP2_NO_ERROR || !f->connected)
        abort_pcb(f);
    else if (f->pcb && f->down.len)
        st_timer_start(&f->timer, LINGER_MS);
    gw_flow_maybe_release(f);
}

void gw_flow_on_conn_lost(struct gw_flow *f)
{
    if (f->dgram)
        gw_dgram_on_close(f->dgram);
    if (f->web && f->started)
        gw_web_on_close(f->web, NGHTTP2_CONNECT_ERROR);
    f->stream_closed = true;
    f->conn = NULL;
    abort_pcb(f);
    gw_flow_maybe_release(f);
}

/* n bytes of the up queue went into the tunnel: free them and reopen the TCP window. */
static void up_taken(struct gw_flow *f, size_t n)
{
    ns_pbufq_drop(&f->up, n);
    for (size_t left = n; f->pcb && left;) {
        u16_t k = left > 0xffff ? 0xffff : (u16_t)left;
        tcp_recved(f->pcb, k);
        left -= k;
    }
}

ssize_t gw_flow_read_up(struct gw_flow *f, uint8_t *buf, size_t len, uint32_t *flags,
                        bool zero_copy)
{
    if (f->dgram)
        return gw_dgram_read_up(f->dgram, buf, len, flags);
    size_t n = len < f->up.bytes ? len : f->up.bytes;
    uint8_t *p;
    /* A segment the kernel handed over whole (up to 64 KiB through the TUN's offloads) goes
     * out as one frame from its pbuf; runs of small segments are copied together. */
    size_t run = zero_copy && n ? ns_pbufq_run(&f->up, &p, ST_H2_HEADROOM) : 0;
    size_t zc = st_h2_zc_frame(run, n, flags);
    if (zc) {
        n = zc;
    } else if (n) {
        n = ns_pbufq_copy(&f->up, buf, n);
        up_taken(f, n);
    }
    if (f->up.bytes - zc == 0 && f->up_eof) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        f->up_eof_sent = true;
    } else if (n == 0) {
        f->provider_deferred = true;
        return NGHTTP2_ERR_DEFERRED;
    }
    return (ssize_t)n;
}

int gw_flow_send_data(nghttp2_session *s, nghttp2_frame *fr, const uint8_t *hd, size_t len,
                      nghttp2_data_source *src, void *ud)
{
    (void)s;
    (void)ud;
    struct gw_flow *f = src->ptr;
    uint8_t *p;
    if (!f->conn || ns_pbufq_run(&f->up, &p, ST_H2_HEADROOM) < len) {
        st_warn("stream %d: zero-copy payload missing", fr->hd.stream_id);
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* resets this stream only */
    }
    int rv = st_h2conn_send_frame(&f->conn->h2, fr, hd, p, len);
    if (rv == 0 || rv == NGHTTP2_ERR_PAUSE) {
        f->gw->zc_bytes += len;
        up_taken(f, len);
    }
    return rv;
}

/* "198.51.100.10:22" or "[2001:db8:51::10]:22" */
static void format_ep(char *buf, size_t len, const ip_addr_t *ip, u16_t port)
{
    char a[INET6_ADDRSTRLEN];
    if (IP_IS_V6(ip)) {
        inet_ntop(AF_INET6, ip_2_ip6(ip)->addr, a, sizeof(a));
        snprintf(buf, len, "[%s]:%u", a, port);
        return;
    }
    inet_ntop(AF_INET, &ip_2_ip4(ip)->addr, a, sizeof(a));
    snprintf(buf, len, "%s:%u", a, port);
}

int32_t gw_flow_submit(struct gw_conn *c, struct gw_flow *f, const nghttp2_nv *nva, size_t n)
{
    nghttp2_nv all[8];
    char auth[400];
    if (n + 1 > sizeof(all) / sizeof(all[0]))
        return NGHTTP2_ERR_INVALID_ARGUMENT;
    memcpy(all, nva, n * sizeof(*nva));
    snprintf(auth, sizeof(auth), "Bearer %s:%s", f->gw->cfg.tunnel_id, f->gw->cfg.secret);
    all[n] = (nghttp2_nv)NV("proxy-authorization", auth);
    all[n].flags |= NGHTTP2_NV_FLAG_NO_INDEX; /* keep the secret out of the HPACK table */
    nghttp2_data_provider dp = {.source.ptr = f, .read_callback = provider_read};
    nghttp2_priority_spec pri; /* datagram streams first, here and at the edge (st_h2conn.h) */
    nghttp2_priority_spec_init(&pri, 0, ST_H2_DGRAM_WEIGHT, 0);
    int32_t sid = nghttp2_submit_request(c->h2.session, f->dgram ? &pri : NULL, all, n + 1, &dp, f);
    if (sid < 0)
        return sid;
    f->sid = sid;
    gw_conn_attach(c, f);
    st_h2conn_kick(&c->h2);
    return sid;
}

int gw_flow_accept(struct gw_server *gw, struct tcp_pcb *pcb)
{
    char dst[64], src[64];
    format_ep(dst, sizeof(dst), &pcb->local_ip, pcb->local_port);
    format_ep(src, sizeof(src), &pcb->remote_ip, pcb->remote_port);
    struct gw_conn *c = gw_conn_pick_reach(gw);
    struct gw_flow *f = c ? gw_flow_new(c, 0) : NULL;
    if (!f) {
        st_info("reach: %s -> %s: %s", src, dst, c ? "out of memory" : "no reach connection up");
        tcp_abort(pcb);
        return -1;
    }
    f->inbound = f->started = f->connected = true;
    f->pcb = pcb;
    snprintf(f->authority, sizeof(f->authority), "%s", dst);
    snprintf(f->client, sizeof(f->client), "%s", src);
    nghttp2_nv nva[] = {NV(":method", "CONNECT"), NV(":authority", f->authority),
                        NV("subtunnel-client", f->client)};
    int32_t sid = gw_flow_submit(c, f, nva, 3);
    if (sid < 0) {
        st_info("reach: %s -> %s: cannot open a stream: %s", src, dst, nghttp2_strerror(sid));
        f->pcb = NULL;
        st_bq_fini(&f->down);
        free(f);
        tcp_abort(pcb);
        return -1;
    }
    tcp_arg(pcb, f);
    tcp_err(pcb, on_tcp_err);
    tcp_recv(pcb, on_tcp_recv);
    tcp_sent(pcb, on_tcp_sent);
    tcp_poll(pcb, on_tcp_poll, 2);
    tcp_nagle_disable(pcb);
    keepalive(pcb);
    gw->flows_opened++;
    kick(f);
    st_debug("reach: %s -> %s: stream %d", src, dst, sid);
    return 0;
}

void gw_flow_on_response(struct gw_flow *f)
{
    if (!f->inbound || f->responded)
        return;
    f->responded = true;
    if (f->dgram) {
        gw_dgram_on_response(f->dgram, f->status);
        return;
    }
    if (f->status >= 200 && f->status < 300)
        return;
    if (f->status < 0) /* malformed :status, logged by gw_conn */
        st_info("reach: %s -> %s: no valid answer from the edge: resetting the client", f->client,
                f->authority);
    else
        st_info("reach: %s -> %s: refused by the edge (%d): resetting the client", f->client,
                f->authority, f->status);
    abort_pcb(f);
    reset_stream(f, NGHTTP2_CANCEL);
}
