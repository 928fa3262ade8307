/* Harness for the gw_dgram suites (test_gw_dgram_udp.c, test_gw_dgram_icmp.c):
 * connect-udp / connect-ip flows of the gateway. A socketpair stands in for the TUN
 * (sv[1] is the private side), lwIP runs for real, and the HTTP/2 stream is either absent
 * (f->conn = NULL: responses, resets and the up queue are no-ops) or "wired": a fake gw_conn
 * whose h2.session is a real in-memory nghttp2 session paired with a peer session that plays
 * the edge (never established, so st_h2conn_kick does nothing; pump() moves the bytes).
 *
 * Set ST_TEST_LOG=debug to run with the gateway's debug logging (exercises its messages). */
#ifndef SUBTUNNEL_TEST_GW_DGRAM_HARNESS_H
#define SUBTUNNEL_TEST_GW_DGRAM_HARNESS_H

#include "st_check.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gw_conn.h"
#include "gw_dgram.h"
#include "gw_flow.h"
#include "gw_server.h"
#include "gw_vip.h"
#include "lwip/udp.h"
#include "ns_stack.h"
#include "st_capsule.h"
#include "st_ipv4.h"
#include "st_log.h"
#include "st_masque.h"
#include "st_varint.h"

#define CLIENT "203.0.113.7:4000" /* outside every route: the flow gets a virtual IP */
#define UDP_PATH "/.well-known/masque/udp/198.51.100.53/53/"
#define IP_PATH "/.well-known/masque/ip/198.51.100.10/1/"

#define NV(n, v)                                                                                   \
    {                                                                                              \
        (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE             \
    }

/* ---------------------------------------------------------------- the edge's side of h2 */

#define MAX_RECS 32

struct rec { /* one stream as the peer saw it */
    int32_t sid;
    int status;
    char proxy_status[256], protocol[32], path[160], client[80], auth[400];
    bool capsule_protocol, end_stream;
    size_t data_frames; /* DATA frames received on the stream */
    int64_t rst;        /* RST_STREAM error code received, -1: none */
    uint8_t *body;
    size_t body_len, body_cap;
};

struct pair {
    nghttp2_session *gw_side, *peer;
    struct rec recs[MAX_RECS];
    size_t n_recs;
};

static struct pair ex; /* expose: the gateway is the HTTP/2 server, the peer the edge client */
static struct pair re; /* reach: the gateway is the client, the peer the edge server */

static inline struct rec *rec_of(struct pair *p, int32_t sid)
{
    for (size_t i = 0; i < p->n_recs; i++)
        if (p->recs[i].sid == sid)
            return &p->recs[i];
    ck_assert_uint_lt(p->n_recs, MAX_RECS);
    struct rec *r = &p->recs[p->n_recs++];
    memset(r, 0, sizeof(*r));
    r->sid = sid;
    r->rst = -1;
    return r;
}

static inline void copy_str(char *dst, size_t cap, const uint8_t *v, size_t n)
{
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, v, n);
    dst[n] = 0;
}

static inline bool name_is(const uint8_t *name, size_t len, const char *want)
{
    return len == strlen(want) && memcmp(name, want, len) == 0;
}

static inline int on_header(nghttp2_session *s, const nghttp2_frame *frame, const uint8_t *name,
                            size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                            void *ud)
{
    (void)s;
    (void)flags;
    struct rec *r = rec_of(ud, frame->hd.stream_id);
    if (name_is(name, namelen, ":status")) {
        char st[8];
        copy_str(st, sizeof(st), value, valuelen);
        r->status = atoi(st);
    } else if (name_is(name, namelen, "proxy-status")) {
        copy_str(r->proxy_status, sizeof(r->proxy_status), value, valuelen);
    } else if (name_is(name, namelen, "capsule-protocol")) {
        r->capsule_protocol = valuelen == 2 && memcmp(value, "?1", 2) == 0;
    } else if (name_is(name, namelen, ":protocol")) {
        copy_str(r->protocol, sizeof(r->protocol), value, valuelen);
    } else if (name_is(name, namelen, ":path")) {
        copy_str(r->path, sizeof(r->path), value, valuelen);
    } else if (name_is(name, namelen, "subtunnel-client")) {
        copy_str(r->client, sizeof(r->client), value, valuelen);
    } else if (name_is(name, namelen, "proxy-authorization")) {
        copy_str(r->auth, sizeof(r->auth), value, valuelen);
    }
    return 0;
}

static inline int on_data(nghttp2_session *s, uint8_t flags, int32_t sid, const uint8_t *data,
                          size_t len, void *ud)
{
    (void)s;
    (void)flags;
    struct rec *r = rec_of(ud, sid);
    if (r->body_len + len > r->body_cap) {
        size_t cap = r->body_cap ? r->body_cap : 4096;
        while (cap < r->body_len + len)
            cap *= 2;
        r->body = realloc(r->body, cap);
        ck_assert_ptr_nonnull(r->body);
        r->body_cap = cap;
    }
    memcpy(r->body + r->body_len, data, len);
    r->body_len += len;
    return 0;
}

static inline int on_frame(nghttp2_session *s, const nghttp2_frame *frame, void *ud)
{
    (void)s;
    if (frame->hd.stream_id == 0)
        return 0;
    struct rec *r = rec_of(ud, frame->hd.stream_id);
    r->data_frames += frame->hd.type == NGHTTP2_DATA;
    if ((frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
        r->end_stream = true;
    if (frame->hd.type == NGHTTP2_RST_STREAM)
        r->rst = frame->rst_stream.error_code;
    return 0;
}

static inline ssize_t deferred_read(nghttp2_session *s, int32_t sid, uint8_t *buf, size_t len,
                                    uint32_t *flags, nghttp2_data_source *src, void *ud)
{
    (void)s;
    (void)sid;
    (void)buf;
    (void)len;
    (void)flags;
    (void)src;
    (void)ud;
    return NGHTTP2_ERR_DEFERRED; /* the edge never ends its side here */
}

/* Moves bytes both ways until neither session has anything left to send. */
static inline void pump(struct pair *p)
{
    for (int i = 0; i < 100000; i++) {
        const uint8_t *b;
        ssize_t a = nghttp2_session_mem_send(p->peer, &b);
        ck_assert_int_ge(a, 0);
        if (a > 0)
            ck_assert_int_eq(nghttp2_session_mem_recv(p->gw_side, b, (size_t)a), a);
        ssize_t c = nghttp2_session_mem_send(p->gw_side, &b);
        ck_assert_int_ge(c, 0);
        if (c > 0)
            ck_assert_int_eq(nghttp2_session_mem_recv(p->peer, b, (size_t)c), c);
        if (a == 0 && c == 0)
            return;
    }
    ck_abort_msg("HTTP/2 pump does not settle");
}

/* gw_server: the gateway's session (no callbacks: what it does with frames does not matter
 * here); the peer records what it sees. */
static inline void pair_init(struct pair *p, bool gw_server)
{
    nghttp2_session_callbacks *none, *cbs;
    nghttp2_settings_entry iv = {NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL, 1};

    memset(p, 0, sizeof(*p));
    ck_assert_int_eq(nghttp2_session_callbacks_new(&none), 0);
    ck_assert_int_eq(nghttp2_session_callbacks_new(&cbs), 0);
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame);
    if (gw_server) {
        ck_assert_int_eq(nghttp2_session_server_new(&p->gw_side, none, NULL), 0);
        ck_assert_int_eq(nghttp2_session_client_new(&p->peer, cbs, p), 0);
        ck_assert_int_eq(nghttp2_submit_settings(p->gw_side, NGHTTP2_FLAG_NONE, &iv, 1), 0);
        ck_assert_int_eq(nghttp2_submit_settings(p->peer, NGHTTP2_FLAG_NONE, NULL, 0), 0);
    } else {
        ck_assert_int_eq(nghttp2_session_client_new(&p->gw_side, none, NULL), 0);
        ck_assert_int_eq(nghttp2_session_server_new(&p->peer, cbs, p), 0);
        ck_assert_int_eq(nghttp2_submit_settings(p->peer, NGHTTP2_FLAG_NONE, &iv, 1), 0);
        ck_assert_int_eq(nghttp2_submit_settings(p->gw_side, NGHTTP2_FLAG_NONE, NULL, 0), 0);
    }
    nghttp2_session_callbacks_del(none);
    nghttp2_session_callbacks_del(cbs);
    pump(p);
}

static inline void pair_fini(struct pair *p)
{
    nghttp2_session_del(p->gw_side);
    nghttp2_session_del(p->peer);
    for (size_t i = 0; i < p->n_recs; i++)
        free(p->recs[i].body);
    memset(p, 0, sizeof(*p));
}

/* ---------------------------------------------------------------- gateway fixture */

static struct gw_server gw;
static int sv[2];
static struct st_cidr routes[1];
static char edge_name[] = "edge.test";
static struct gw_conn *conn;  /* expose: gw_flow_new reads conn->gw; h2.session = ex.gw_side */
static struct gw_conn *rconn; /* reach, only where a test puts it in gw.conns */

#define MAX_FLOWS 64
static struct gw_flow *flows[MAX_FLOWS]; /* released in teardown */
static size_t n_flows;

static uint8_t rbuf[70000];

static inline void track(struct gw_flow *f)
{
    for (size_t i = 0; i < n_flows; i++)
        if (flows[i] == f)
            return;
    ck_assert_uint_lt(n_flows, MAX_FLOWS);
    flows[n_flows++] = f;
}

static inline void a4(uint8_t out[4], const char *s)
{
    ck_assert_int_eq(inet_pton(AF_INET, s, out), 1);
}

static inline void on_stop_defer(struct st_defer *d)
{
    st_loop_stop(d->data);
}

/* Runs the loop once: the deferred callbacks queued so far (flow releases). */
static inline void run_deferred(void)
{
    struct st_defer stop;
    st_defer_init(&stop, on_stop_defer, &gw.loop);
    st_defer_queue(&gw.loop, &stop);
    gw.loop.stop = false;
    ck_assert_int_eq(st_loop_run(&gw.loop), 0);
}

static inline void on_stop_timer(struct st_timer *t)
{
    st_loop_stop(t->loop);
}

/* Runs the loop (timers, deferred callbacks) for ms milliseconds. */
static inline void run_loop_ms(uint64_t ms)
{
    struct st_timer t;
    st_timer_init(&t, &gw.loop, on_stop_timer, NULL);
    st_timer_start(&t, ms);
    gw.loop.stop = false;
    ck_assert_int_eq(st_loop_run(&gw.loop), 0);
    st_timer_stop(&t);
}

/* What the gateway does when a connection dies, then the deferred release. */
static inline void release(struct gw_flow *f)
{
    for (size_t i = 0; i < n_flows; i++)
        if (flows[i] == f) {
            flows[i] = flows[--n_flows];
            break;
        }
    gw_flow_on_conn_lost(f);
    run_deferred();
}

static inline void setup(void)
{
    const char *lv = getenv("ST_TEST_LOG");
    st_log_set_level(lv && st_log_parse_level(lv) >= 0 ? st_log_parse_level(lv) : ST_LOG_ERROR);
    memset(&gw, 0, sizeof(gw));
    n_flows = 0;
    ck_assert_int_eq(st_loop_init(&gw.loop), 0);
    ck_assert_int_eq(ns_stack_init(), 0);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
    ck_assert_int_eq(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
    ck_assert_int_eq(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
    ck_assert_int_eq(inet_pton(AF_INET, "100.64.0.1", &gw.tun_addr), 1);
    ck_assert_int_eq(inet_pton(AF_INET, "100.64.0.2", &gw.stack_addr), 1);
    ck_assert_int_eq(ns_netif_init(&gw.nif, sv[0], gw.stack_addr, 10, 1500), 0);
    gw.nif.icmp_hook = gw_dgram_icmp_hook;
    gw.nif.icmp_arg = &gw;

    ck_assert_int_eq(st_cidr_parse("198.51.100.0/24", &routes[0]), 0);
    gw.cfg.expose = true;
    gw.cfg.routes = routes;
    gw.cfg.n_routes = 1;
    ck_assert_int_eq(st_cidr_parse("100.64.0.0/10", &gw.cfg.virtual_pool), 0);
    gw.cfg.udp_idle_timeout_ms = 210000;
    gw.cfg.icmp_idle_timeout_ms = 30000;
    gw.cfg.dns_idle_timeout_ms = 15000;
    gw.cfg.dgram_per_client = 8192;
    gw.cfg.dgram_per_host = 32768;
    gw.cfg.edge_name = edge_name;
    snprintf(gw.cfg.tunnel_id, sizeof(gw.cfg.tunnel_id), "tid");
    snprintf(gw.cfg.secret, sizeof(gw.cfg.secret), "s3cret");
    gw.vips = gw_vip_pool_new(&gw.cfg.virtual_pool, 2);
    ck_assert_ptr_nonnull(gw.vips);
    uint32_t host; /* the bastion's own LAN address: the guard refuses it */
    ck_assert_int_eq(inet_pton(AF_INET, "198.51.100.1", &host), 1);
    ck_assert_int_eq(gw_guard_set_host(&gw.guard, &host, 1), 0);

    pair_init(&ex, true);
    conn = calloc(1, sizeof(*conn));
    ck_assert_ptr_nonnull(conn);
    conn->gw = &gw;
    conn->h2.session = ex.gw_side;
    rconn = NULL;
}

static inline void teardown(void)
{
    /* The sessions go first: nothing calls into a flow's data source after this. */
    pair_fini(&ex);
    if (rconn)
        pair_fini(&re);
    while (n_flows)
        release(flows[n_flows - 1]);
    ck_assert_uint_eq(gw.dgram.udp_live, 0);
    ck_assert_uint_eq(gw.dgram.icmp_live, 0);
    ck_assert_uint_eq(gw.dgram.queued_bytes, 0);
    ck_assert_ptr_null(gw.icmp_flows);
    ck_assert_uint_eq(gw_vip_in_use(gw.vips), 0);
    if (gw.udp_catch)
        udp_remove(gw.udp_catch);
    free(conn);
    free(rconn);
    gw_vip_pool_free(gw.vips);
    gw_guard_fini(&gw.guard);
    gw_quota_fini(&gw.dgram_clients);
    gw_quota_fini(&gw.dgram_hosts);
    ns_netif_fini(&gw.nif);
    close(sv[0]);
    close(sv[1]);
    st_loop_fini(&gw.loop);
}

/* ---------------------------------------------------------------- packets and capsules */

static uint32_t rng_state = 12345;
static inline uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static inline void fill(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + i * 31);
}

/* A DATAGRAM capsule (type 0) with context id ctx around p[0..n). */
static inline size_t put_dgram(uint8_t *out, uint64_t ctx, const uint8_t *p, size_t n)
{
    size_t cl = st_varint_len(ctx);
    int h = st_capsule_encode_header(out, 16, ST_CAP_DATAGRAM, cl + n);
    ck_assert_int_gt(h, 0);
    ck_assert_int_eq(st_varint_encode(out + h, cl, ctx), (int)cl);
    memcpy(out + (size_t)h + cl, p, n);
    return (size_t)h + cl + n;
}

static inline size_t put_capsule(uint8_t *out, uint64_t type, const uint8_t *v, size_t n)
{
    int h = st_capsule_encode_header(out, 16, type, n);
    ck_assert_int_gt(h, 0);
    if (n)
        memcpy(out + h, v, n);
    return (size_t)h + n;
}

static inline void set_csum(uint8_t *at, const void *over, size_t len)
{
    at[0] = at[1] = 0;
    uint16_t c = st_ipv4_csum(over, len);
    memcpy(at, &c, 2);
}

/* IPv4 + ICMP echo (type 8 or 0), n payload bytes, both checksums right. */
static inline size_t echo_pkt(uint8_t *b, const char *src, const char *dst, uint8_t type,
                              uint16_t id, uint16_t seq, size_t n, uint8_t ttl)
{
    size_t total = 28 + n;
    memset(b, 0, 28);
    b[0] = 0x45;
    b[2] = (uint8_t)(total >> 8);
    b[3] = (uint8_t)total;
    b[4] = 0x4a;
    b[5] = 0x11;
    b[8] = ttl;
    b[9] = ST_IPPROTO_ICMP;
    a4(b + 12, src);
    a4(b + 16, dst);
    set_csum(b + 10, b, 20);
    uint8_t *m = b + 20;
    m[0] = type;
    m[4] = (uint8_t)(id >> 8);
    m[5] = (uint8_t)id;
    m[6] = (uint8_t)(seq >> 8);
    m[7] = (uint8_t)seq;
    fill(m + 8, n, (uint8_t)seq);
    set_csum(m + 2, m, 8 + n);
    return total;
}

static inline bool udp_csum_ok(const uint8_t *pkt, size_t len)
{
    static uint8_t tmp[12 + 65536];
    size_t l4 = len - 20;
    memcpy(tmp, pkt + 12, 8);
    tmp[8] = 0;
    tmp[9] = ST_IPPROTO_UDP;
    tmp[10] = (uint8_t)(l4 >> 8);
    tmp[11] = (uint8_t)l4;
    memcpy(tmp + 12, pkt + 20, l4);
    return st_ipv4_csum(tmp, 12 + l4) == 0;
}

struct udp4 {
    uint8_t src[4], dst[4], ttl;
    uint16_t sport, dport;
    const uint8_t *data; /* into rbuf */
    size_t len;
};

static inline uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* The next packet on the TUN: a well-formed IPv4/UDP packet, checksums right. */
static inline void expect_udp(struct udp4 *u)
{
    struct st_ipv4_info ip;
    ssize_t n = recv(sv[1], rbuf, sizeof(rbuf), MSG_DONTWAIT);
    ck_assert_int_ge(n, 28);
    ck_assert_int_eq(st_ipv4_parse(rbuf, (size_t)n, &ip), 0);
    ck_assert_uint_eq(ip.total, (size_t)n);
    ck_assert_uint_eq(ip.hlen, 20);
    ck_assert_uint_eq(ip.proto, ST_IPPROTO_UDP);
    ck_assert(st_ipv4_csum_ok(rbuf));
    ck_assert_uint_eq(get16(rbuf + 24), (size_t)n - 20);
    ck_assert(udp_csum_ok(rbuf, (size_t)n));
    memcpy(u->src, ip.src, 4);
    memcpy(u->dst, ip.dst, 4);
    u->ttl = ip.ttl;
    u->sport = get16(rbuf + 20);
    u->dport = get16(rbuf + 22);
    u->data = rbuf + 28;
    u->len = (size_t)n - 28;
}

/* The next packet on the TUN, parsed, IPv4 header checksum right; returns its length. */
static inline size_t expect_ip(uint8_t *b, size_t cap, struct st_ipv4_info *ip)
{
    ssize_t n = recv(sv[1], b, cap, MSG_DONTWAIT);
    ck_assert_int_ge(n, 20);
    ck_assert_int_eq(st_ipv4_parse(b, (size_t)n, ip), 0);
    ck_assert_uint_eq(ip->total, (size_t)n);
    ck_assert_uint_eq(st_ipv4_csum(b, ip->hlen), 0);
    return (size_t)n;
}

static inline void expect_nothing(void)
{
    uint8_t b[64];
    ck_assert_int_lt(recv(sv[1], b, sizeof(b), MSG_DONTWAIT), 0);
}

static inline bool addr_is(const uint8_t *a, const char *s)
{
    uint8_t w[4];
    a4(w, s);
    return memcmp(a, w, 4) == 0;
}

/* The DATAGRAM capsule at b[*off..n): its IP packet (context id 0). */
static inline void next_dgram(const uint8_t *b, size_t n, size_t *off, const uint8_t **pkt,
                              size_t *len)
{
    struct st_capsule cap;
    int r = st_capsule_parse(b + *off, n - *off, 70000, &cap);
    ck_assert_int_gt(r, 0);
    ck_assert_uint_eq(cap.type, ST_CAP_DATAGRAM);
    ck_assert_int_eq(st_masque_ip_packet(cap.value, cap.len, pkt, len), 1);
    *off += (size_t)r;
}

/* Stream bytes for a flow, as gw_conn's on_data hands them over: counted as queued on the
 * connection (st_h2rx) before the flow takes them. */
static inline int flow_data(struct gw_flow *f, const uint8_t *p, size_t n)
{
    if (f->conn)
        st_h2rx_queued(&f->conn->h2.rx, f->conn->h2.session, n);
    return gw_flow_on_data(f, p, n);
}

static inline int dgram_data(struct gw_dgram *d, const uint8_t *p, size_t n)
{
    return flow_data(d->f, p, n);
}

/* A flow for a request (CONNECT + protocol, client "ip:port"), started. wired: the edge
 * really opened the stream (ex) and sees the answer; else f->conn is NULL. */
static inline struct gw_flow *open_flow(const char *protocol, const char *path, const char *client,
                                        bool wired)
{
    int32_t sid = 1;
    if (wired) {
        nghttp2_nv nva[] = {NV(":method", "CONNECT"),       NV(":protocol", protocol),
                            NV(":scheme", "https"),         NV(":authority", "gw.test"),
                            NV(":path", path ? path : "/"), NV("capsule-protocol", "?1")};
        nghttp2_data_provider dp = {.read_callback = deferred_read};
        sid = nghttp2_submit_request(ex.peer, NULL, nva, sizeof(nva) / sizeof(nva[0]), &dp, NULL);
        ck_assert_int_gt(sid, 0);
        pump(&ex);
        ck_assert_ptr_nonnull(nghttp2_session_find_stream(ex.gw_side, sid));
    }
    struct gw_flow *f = gw_flow_new(conn, sid);
    ck_assert_ptr_nonnull(f);
    track(f);
    if (!wired)
        f->conn = NULL;
    snprintf(f->method, sizeof(f->method), "CONNECT");
    snprintf(f->protocol, sizeof(f->protocol), "%s", protocol);
    snprintf(f->client, sizeof(f->client), "%s", client);
    ck_assert(gw_dgram_wanted(f));
    gw_dgram_start(f, path);
    ck_assert(f->started);
    if (wired)
        pump(&ex);
    return f;
}

static inline bool vip_ok(const struct gw_flow *f)
{
    uint32_t v = ntohl(f->vip.s_addr);
    return f->has_vip &&
           st_cidr_contains(&gw.cfg.virtual_pool, AF_INET, (const uint8_t *)&f->vip) &&
           v > 0x64400002 /* not the network, TUN or lwIP address */ && v < 0x647fffff;
}

#endif
