/* gw_dgram: connect-udp / connect-ip flows of the gateway. A socketpair stands in for the TUN
 * (sv[1] is the private side), lwIP runs for real, and the HTTP/2 stream is either absent
 * (f->conn = NULL: responses, resets and the up queue are no-ops) or "wired": a fake gw_conn
 * whose h2.session is a real in-memory nghttp2 session paired with a peer session that plays
 * the edge (never established, so st_h2conn_kick does nothing; pump() moves the bytes).
 *
 * Set ST_TEST_LOG=debug to run with the gateway's debug logging (exercises its messages). */
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
    int64_t rst; /* RST_STREAM error code received, -1: none */
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

static struct rec *rec_of(struct pair *p, int32_t sid)
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

static void copy_str(char *dst, size_t cap, const uint8_t *v, size_t n)
{
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, v, n);
    dst[n] = 0;
}

static bool name_is(const uint8_t *name, size_t len, const char *want)
{
    return len == strlen(want) && memcmp(name, want, len) == 0;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
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

static int on_data(nghttp2_session *s, uint8_t flags, int32_t sid, const uint8_t *data, size_t len,
                   void *ud)
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

static int on_frame(nghttp2_session *s, const nghttp2_frame *frame, void *ud)
{
    (void)s;
    if (frame->hd.stream_id == 0)
        return 0;
    struct rec *r = rec_of(ud, frame->hd.stream_id);
    if ((frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
        r->end_stream = true;
    if (frame->hd.type == NGHTTP2_RST_STREAM)
        r->rst = frame->rst_stream.error_code;
    return 0;
}

static ssize_t deferred_read(nghttp2_session *s, int32_t sid, uint8_t *buf, size_t len,
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
static void pump(struct pair *p)
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
static void pair_init(struct pair *p, bool gw_server)
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

static void pair_fini(struct pair *p)
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
static struct gw_conn *conn_slots[1];

#define MAX_FLOWS 64
static struct gw_flow *flows[MAX_FLOWS]; /* released in teardown */
static size_t n_flows;

static uint8_t rbuf[70000];

static void track(struct gw_flow *f)
{
    for (size_t i = 0; i < n_flows; i++)
        if (flows[i] == f)
            return;
    ck_assert_uint_lt(n_flows, MAX_FLOWS);
    flows[n_flows++] = f;
}

static void a4(uint8_t out[4], const char *s)
{
    ck_assert_int_eq(inet_pton(AF_INET, s, out), 1);
}

static void on_stop_defer(struct st_defer *d)
{
    st_loop_stop(d->data);
}

/* Runs the loop once: the deferred callbacks queued so far (flow releases). */
static void run_deferred(void)
{
    struct st_defer stop;
    st_defer_init(&stop, on_stop_defer, &gw.loop);
    st_defer_queue(&gw.loop, &stop);
    gw.loop.stop = false;
    ck_assert_int_eq(st_loop_run(&gw.loop), 0);
}

static void on_stop_timer(struct st_timer *t)
{
    st_loop_stop(t->loop);
}

/* Runs the loop (timers, deferred callbacks) for ms milliseconds. */
static void run_loop_ms(uint64_t ms)
{
    struct st_timer t;
    st_timer_init(&t, &gw.loop, on_stop_timer, NULL);
    st_timer_start(&t, ms);
    gw.loop.stop = false;
    ck_assert_int_eq(st_loop_run(&gw.loop), 0);
    st_timer_stop(&t);
}

/* What the gateway does when a connection dies, then the deferred release. */
static void release(struct gw_flow *f)
{
    for (size_t i = 0; i < n_flows; i++)
        if (flows[i] == f) {
            flows[i] = flows[--n_flows];
            break;
        }
    gw_flow_on_conn_lost(f);
    run_deferred();
}

static void setup(void)
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
    gw.cfg.edge_name = edge_name;
    snprintf(gw.cfg.tunnel_id, sizeof(gw.cfg.tunnel_id), "tid");
    snprintf(gw.cfg.secret, sizeof(gw.cfg.secret), "s3cret");
    gw.vips = gw_vip_pool_new(&gw.cfg.virtual_pool, 2);
    ck_assert_ptr_nonnull(gw.vips);

    pair_init(&ex, true);
    conn = calloc(1, sizeof(*conn));
    ck_assert_ptr_nonnull(conn);
    conn->gw = &gw;
    conn->h2.session = ex.gw_side;
    rconn = NULL;
}

static void teardown(void)
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
    ns_netif_fini(&gw.nif);
    close(sv[0]);
    close(sv[1]);
    st_loop_fini(&gw.loop);
}

/* ---------------------------------------------------------------- packets and capsules */

static uint32_t rng_state = 12345;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + i * 31);
}

/* A DATAGRAM capsule (type 0) with context id ctx around p[0..n). */
static size_t put_dgram(uint8_t *out, uint64_t ctx, const uint8_t *p, size_t n)
{
    size_t cl = st_varint_len(ctx);
    int h = st_capsule_encode_header(out, 16, ST_CAP_DATAGRAM, cl + n);
    ck_assert_int_gt(h, 0);
    ck_assert_int_eq(st_varint_encode(out + h, cl, ctx), (int)cl);
    memcpy(out + (size_t)h + cl, p, n);
    return (size_t)h + cl + n;
}

static size_t put_capsule(uint8_t *out, uint64_t type, const uint8_t *v, size_t n)
{
    int h = st_capsule_encode_header(out, 16, type, n);
    ck_assert_int_gt(h, 0);
    if (n)
        memcpy(out + h, v, n);
    return (size_t)h + n;
}

static void set_csum(uint8_t *at, const void *over, size_t len)
{
    at[0] = at[1] = 0;
    uint16_t c = st_ipv4_csum(over, len);
    memcpy(at, &c, 2);
}

/* IPv4 + ICMP echo (type 8 or 0), n payload bytes, both checksums right. */
static size_t echo_pkt(uint8_t *b, const char *src, const char *dst, uint8_t type, uint16_t id,
                       uint16_t seq, size_t n, uint8_t ttl)
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

static bool udp_csum_ok(const uint8_t *pkt, size_t len)
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

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* The next packet on the TUN: a well-formed IPv4/UDP packet, checksums right. */
static void expect_udp(struct udp4 *u)
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
static size_t expect_ip(uint8_t *b, size_t cap, struct st_ipv4_info *ip)
{
    ssize_t n = recv(sv[1], b, cap, MSG_DONTWAIT);
    ck_assert_int_ge(n, 20);
    ck_assert_int_eq(st_ipv4_parse(b, (size_t)n, ip), 0);
    ck_assert_uint_eq(ip->total, (size_t)n);
    ck_assert_uint_eq(st_ipv4_csum(b, ip->hlen), 0);
    return (size_t)n;
}

static void expect_nothing(void)
{
    uint8_t b[64];
    ck_assert_int_lt(recv(sv[1], b, sizeof(b), MSG_DONTWAIT), 0);
}

static bool addr_is(const uint8_t *a, const char *s)
{
    uint8_t w[4];
    a4(w, s);
    return memcmp(a, w, 4) == 0;
}

/* The DATAGRAM capsule at b[*off..n): its IP packet (context id 0). */
static void next_dgram(const uint8_t *b, size_t n, size_t *off, const uint8_t **pkt, size_t *len)
{
    struct st_capsule cap;
    int r = st_capsule_parse(b + *off, n - *off, 70000, &cap);
    ck_assert_int_gt(r, 0);
    ck_assert_uint_eq(cap.type, ST_CAP_DATAGRAM);
    ck_assert_int_eq(st_masque_ip_packet(cap.value, cap.len, pkt, len), 1);
    *off += (size_t)r;
}

/* A flow for a request (CONNECT + protocol, client "ip:port"), started. wired: the edge
 * really opened the stream (ex) and sees the answer; else f->conn is NULL. */
static struct gw_flow *open_flow(const char *protocol, const char *path, const char *client,
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

static bool vip_ok(const struct gw_flow *f)
{
    uint32_t v = ntohl(f->vip.s_addr);
    return f->has_vip &&
           st_cidr_contains(&gw.cfg.virtual_pool, AF_INET, (const uint8_t *)&f->vip) &&
           v > 0x64400002 /* not the network, TUN or lwIP address */ && v < 0x647fffff;
}

/* ---------------------------------------------------------------- tests */

/* 1. One DATAGRAM capsule -> one UDP packet from the flow's virtual IP. */
START_TEST(test_udp_expose)
{
    struct gw_flow *f = open_flow("connect-udp", UDP_PATH, CLIENT, false);
    struct gw_dgram *d = f->dgram;
    ck_assert_ptr_nonnull(d);
    ck_assert(f->connected);
    ck_assert_ptr_nonnull(d->pcb);
    ck_assert(vip_ok(f));
    ck_assert_str_eq(f->authority, "198.51.100.53:53");
    ck_assert_uint_eq(gw.dgram.udp_live, 1);
    ck_assert_uint_eq(gw.dgram.udp_opened, 1);
    ck_assert_uint_eq(gw.dgram.icmp_live, 0);

    static uint8_t payload[1400], cap[1500];
    for (size_t i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)rnd();
    size_t n = put_dgram(cap, 0, payload, sizeof(payload));
    uint64_t tx = gw.dgram.tx, drops = gw.dgram.drops;
    ck_assert_int_eq(gw_dgram_on_data(d, cap, n), 0);

    struct udp4 u;
    expect_udp(&u);
    ck_assert(memcmp(u.src, &f->vip.s_addr, 4) == 0);
    ck_assert(addr_is(u.dst, "198.51.100.53"));
    ck_assert_uint_eq(u.dport, 53);
    ck_assert_uint_eq(u.sport, 4000); /* the client's port is kept when free */
    ck_assert_uint_eq(u.ttl, 64);
    ck_assert_uint_eq(u.len, sizeof(payload));
    ck_assert(memcmp(u.data, payload, sizeof(payload)) == 0);
    ck_assert_uint_eq(get16(rbuf + 2), 28 + sizeof(payload));
    expect_nothing();
    ck_assert_uint_eq(gw.dgram.tx, tx + 1);
    ck_assert_uint_eq(gw.dgram.drops, drops);
    ck_assert_ptr_null(d->in);
    ck_assert_uint_eq(gw.dgram.queued_bytes, 0);
}
END_TEST

/* 1b. Datagrams over the MTU leave in fragments; over the IPv4 maximum they are dropped.
 * (The socketpair queues about 10 packets: sizes stay below that many fragments.) */
START_TEST(test_udp_large)
{
    static uint8_t payload[65508], cap[65600], whole[65600];
    static const size_t sizes[] = {1472, 1473, 3000, 14000};
    struct gw_flow *f = open_flow("connect-udp", UDP_PATH, CLIENT, false);
    for (size_t i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)rnd();
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        size_t size = sizes[k], got = 0, frags = 0;
        bool last = false;
        ck_assert_int_eq(gw_dgram_on_data(f->dgram, cap, put_dgram(cap, 0, payload, size)), 0);
        memset(whole, 0, 28 + size);
        for (;;) {
            struct st_ipv4_info ip;
            ssize_t n = recv(sv[1], rbuf, sizeof(rbuf), MSG_DONTWAIT);
            if (n < 0)
                break;
            ck_assert_int_le(n, 1500);
            st_ipv4_parse(rbuf, (size_t)n, &ip); /* -EPROTO for fragments, filled all the same */
            ck_assert_uint_eq(ip.total, (size_t)n);
            ck_assert(st_ipv4_csum_ok(rbuf));
            ck_assert_uint_eq(ip.proto, ST_IPPROTO_UDP);
            ck_assert(memcmp(ip.src, &f->vip.s_addr, 4) == 0);
            ck_assert(addr_is(ip.dst, "198.51.100.53"));
            uint16_t fo = get16(rbuf + 6);
            size_t off = (size_t)(fo & 0x1fff) * 8, len = (size_t)n - 20;
            ck_assert_uint_le(off + len, 8 + size);
            memcpy(whole + 20 + off, rbuf + 20, len);
            got += len;
            frags++;
            if (!(fo & 0x2000)) {
                ck_assert_uint_eq(off + len, 8 + size);
                last = true;
            }
        }
        ck_assert(last);
        ck_assert_uint_eq(got, 8 + size);
        ck_assert_uint_eq(frags, (8 + size + 1479) / 1480);
        memcpy(whole + 12, &f->vip.s_addr, 4);
        a4(whole + 16, "198.51.100.53");
        ck_assert_uint_eq(get16(whole + 22), 53);
        ck_assert_uint_eq(get16(whole + 24), 8 + size);
        ck_assert(udp_csum_ok(whole, 28 + size));
        ck_assert(memcmp(whole + 28, payload, size) == 0);
    }
    ck_assert_uint_eq(gw.dgram.tx, 4);

    /* 65508 bytes cannot be one IPv4 datagram: dropped, counted */
    uint64_t drops = gw.dgram.drops;
    ck_assert_int_eq(gw_dgram_on_data(f->dgram, cap, put_dgram(cap, 0, payload, 65508)), 0);
    ck_assert_uint_eq(gw.dgram.drops, drops + 1);
    ck_assert_uint_eq(gw.dgram.tx, 4);
    expect_nothing();
    ck_assert_uint_eq(gw.dgram.queued_bytes, 0);
}
END_TEST

/* 2. Three capsules (one empty datagram) split at every point and byte by byte. */
static const size_t split_sizes[3] = {100, 0, 300};
static uint8_t split_stream[512];
static size_t split_len;

static void split_build(void)
{
    uint8_t p[300];
    split_len = 0;
    for (int i = 0; i < 3; i++) {
        fill(p, split_sizes[i], (uint8_t)(i * 50 + 1));
        split_len += put_dgram(split_stream + split_len, 0, p, split_sizes[i]);
    }
}

static void split_expect(const struct gw_flow *f)
{
    uint8_t p[300];
    for (int i = 0; i < 3; i++) {
        struct udp4 u;
        expect_udp(&u);
        fill(p, split_sizes[i], (uint8_t)(i * 50 + 1));
        ck_assert_uint_eq(u.len, split_sizes[i]);
        ck_assert(memcmp(u.data, p, u.len) == 0);
        ck_assert(memcmp(u.src, &f->vip.s_addr, 4) == 0);
        ck_assert(addr_is(u.dst, "198.51.100.53"));
    }
    expect_nothing();
    ck_assert_ptr_null(f->dgram->in);
    ck_assert_uint_eq(f->dgram->in_len, 0);
    ck_assert_uint_eq(gw.dgram.queued_bytes, 0);
}

START_TEST(test_udp_split)
{
    struct gw_flow *f = open_flow("connect-udp", UDP_PATH, CLIENT, false);
    struct gw_dgram *d = f->dgram;
    split_build();
    uint64_t tx = gw.dgram.tx;
    size_t rounds = 0;

    for (size_t i = 0; i < split_len; i++)
        ck_assert_int_eq(gw_dgram_on_data(d, split_stream + i, 1), 0);
    split_expect(f);
    rounds++;
    for (size_t k = 1; k < split_len; k++) {
        ck_assert_int_eq(gw_dgram_on_data(d, split_stream, k), 0);
        /* whatever is pending is accounted for while it waits */
        ck_assert_uint_eq(gw.dgram.queued_bytes, d->in_cap);
        ck_assert_int_eq(gw_dgram_on_data(d, split_stream + k, split_len - k), 0);
        split_expect(f);
        rounds++;
    }
    for (int r = 0; r < 200; r++) { /* three random cuts */
        size_t c[4] = {0, 0, 0, split_len};
        c[1] = rnd() % split_len;
        c[2] = c[1] + rnd() % (split_len - c[1]);
        for (int j = 0; j < 3; j++)
            ck_assert_int_eq(gw_dgram_on_data(d, split_stream + c[j], c[j + 1] - c[j]), 0);
        split_expect(f);
        rounds++;
    }
    ck_assert_uint_eq(gw.dgram.tx, tx + 3 * rounds);
}
END_TEST

/* 3. Unknown capsule types are skipped, other context ids dropped silently. */
START_TEST(test_unknown_capsules)
{
    struct gw_flow *f = open_flow("connect-udp", UDP_PATH, CLIENT, false);
    struct gw_dgram *d = f->dgram;
    static uint8_t s[180000];
    static uint8_t big[100000];
    size_t n = 0;
    const uint8_t five[5] = {1, 2, 3, 4, 5};
    fill(big, sizeof(big), 9);
    n += put_capsule(s + n, 0x2a, five, 5);
    n += put_dgram(s + n, 0, (const uint8_t *)"one", 3);
    n += put_capsule(s + n, 0x53540099, five, 3); /* 8-byte type varint */
    n += put_dgram(s + n, 1, (const uint8_t *)"nope", 4);
    n += put_capsule(s + n, 0x3fff, NULL, 0);
    n += put_capsule(s + n, ST_CAP_REGISTER, big, 60000); /* large, within the datagram limit */
    n += put_capsule(s + n, 0x2b, big, sizeof(big));      /* over it: skipped as it streams by */
    n += put_dgram(s + n, 0x4000, (const uint8_t *)"nope2", 5); /* 4-byte context id */
    n += put_dgram(s + n, 0, (const uint8_t *)"two", 3);

    for (int pass = 0; pass < 3; pass++) {
        uint64_t tx = gw.dgram.tx, drops = gw.dgram.drops;
        if (pass == 0) {
            ck_assert_int_eq(gw_dgram_on_data(d, s, n), 0);
        } else if (pass == 1) {
            for (size_t i = 0; i < n; i++)
                ck_assert_int_eq(gw_dgram_on_data(d, s + i, 1), 0);
        } else {
            for (size_t i = 0; i < n; i += 1000)
                ck_assert_int_eq(gw_dgram_on_data(d, s + i, n - i < 1000 ? n - i : 1000), 0);
        }
        struct udp4 u;
        expect_udp(&u);
        ck_assert_uint_eq(u.len, 3);
        ck_assert(memcmp(u.data, "one", 3) == 0);
        ck_assert_msg(d->skip == 0 && gw.dgram.drops == drops, "pass %d: skip %llu drops +%llu",
                      pass, (unsigned long long)d->skip,
                      (unsigned long long)(gw.dgram.drops - drops));
        expect_udp(&u);
        ck_assert_uint_eq(u.len, 3);
        ck_assert(memcmp(u.data, "two", 3) == 0);
        expect_nothing();
        ck_assert_uint_eq(gw.dgram.tx, tx + 2);
        ck_assert_uint_eq(gw.dgram.drops, drops);
        ck_assert_ptr_null(d->in);
        ck_assert_uint_eq(gw.dgram.queued_bytes, 0);
    }
}
END_TEST

/* 4. Malformed capsules: counted, buffers freed, the stream reset (wired: the edge sees it). */
START_TEST(test_malformed)
{
    struct gw_flow *f = open_flow("connect-udp", UDP_PATH, CLIENT, false);
    struct gw_dgram *d = f->dgram;
    uint8_t b[64];
    uint64_t drops = gw.dgram.drops, q0 = gw.dgram.queued_bytes;

    /* a length over the limit (100000), whole header at once */
    b[0] = 0x00;
    ck_assert_int_eq(st_varint_encode(b + 1, 8, 100000), 4);
    memset(b + 5, 0, 20);
    ck_assert_int_eq(gw_dgram_on_data(d, b, 25), 0);
    ck_assert_uint_eq(gw.dgram.drops, drops + 1);
    ck_assert_ptr_null(d->in);
    ck_assert_uint_eq(gw.dgram.queued_bytes, q0);
    expect_nothing();

    /* ... with a partial capsule buffered first */
    ck_assert_int_eq(gw_dgram_on_data(d, b, 1), 0);
    ck_assert_ptr_nonnull(d->in);
    ck_assert_uint_eq(gw.dgram.queued_bytes, q0 + d->in_cap);
    ck_assert_int_eq(gw_dgram_on_data(d, b + 1, 2), 0);
    ck_assert_ptr_nonnull(d->in);
    ck_assert_int_eq(gw_dgram_on_data(d, b + 3, 2), 0);
    ck_assert_uint_eq(gw.dgram.drops, drops + 2);
    ck_assert_ptr_null(d->in);
    ck_assert_uint_eq(d->in_len, 0);
    ck_assert_uint_eq(d->in_cap, 0);
    ck_assert_uint_eq(gw.dgram.queued_bytes, q0);

    /* an 8-byte length varint far beyond anything */
    b[0] = 0x00;
    ck_assert_int_eq(st_varint_encode(b + 1, 8, (uint64_t)1 << 40), 8);
    for (int i = 0; i < 9; i++)
        ck_assert_int_eq(gw_dgram_on_data(d, b + i, 1), 0);
    ck_assert_uint_eq(gw.dgram.drops, drops + 3);
    ck_assert_ptr_null(d->in);
    ck_assert_uint_eq(gw.dgram.queued_bytes, q0);

    /* DATAGRAM without a context id; with a truncated one; then a good one in the same
     * read, which goes with the reset stream */
    size_t n = put_capsule(b, ST_CAP_DATAGRAM, NULL, 0);
    ck_assert_int_eq(gw_dgram_on_data(d, b, n), 0);
    ck_assert_uint_eq(gw.dgram.drops, drops + 4);
    n = put_capsule(b, ST_CAP_DATAGRAM, (const uint8_t[]){0x40}, 1);
    n += put_dgram(b + n, 0, (const uint8_t *)"late", 4);
    ck_assert_int_eq(gw_dgram_on_data(d, b, n), 0);
    ck_assert_uint_eq(gw.dgram.drops, drops + 5);
    expect_nothing();
    ck_assert_uint_eq(gw.dgram.tx, 0);
    ck_assert_uint_eq(gw.dgram.queued_bytes, q0);

    /* wired: the edge gets RST_STREAM(PROTOCOL_ERROR) */
    struct gw_flow *w = open_flow("connect-udp", UDP_PATH, CLIENT, true);
    struct rec *r = rec_of(&ex, w->sid);
    ck_assert_int_eq(r->status, 200);
    ck_assert_int_eq(gw_dgram_on_data(w->dgram, b, 1), 0); /* a partial one first */
    ck_assert_ptr_nonnull(w->dgram->in);
    b[0] = 0x00;
    ck_assert_int_eq(st_varint_encode(b + 1, 8, 100000), 4);
    ck_assert_int_eq(gw_dgram_on_data(w->dgram, b + 1, 4), 0);
    ck_assert_ptr_null(w->dgram->in);
    pump(&ex);
    ck_assert_int_eq(r->rst, NGHTTP2_PROTOCOL_ERROR);
    ck_assert_uint_eq(gw.dgram.queued_bytes, q0);
}
END_TEST

/* 5. Paths and policy: refused with the right status, nothing opened. */
struct refusal {
    const char *protocol, *path;
    int status;
    const char *why;
};

static const struct refusal refusals[] = {
    {"connect-udp", "/.well-known/masque/udp/198.51.100.53/0/", 400, "bad MASQUE path"},
    {"connect-udp", "/.well-known/masque/udp/resolver.example/53/", 400, "bad MASQUE path"},
    {"connect-udp", "/.well-known/masque/udp/198.51.100.53/53", 400, "bad MASQUE path"},
    {"connect-udp", "/.well-known/masque/udp/198.51.100.53/53/?x=1", 400, "bad MASQUE path"},
    {"connect-udp", "/.well-known/masque/udp/2001%3Adb8%3A%3A1/53/", 400, "bad MASQUE path"},
    {"connect-udp", NULL, 400, "bad MASQUE path"},
    {"connect-udp", "/.well-known/masque/udp/203.0.113.9/53/", 403, "destination_ip_prohibited"},
    {"connect-udp", "/.well-known/masque/udp/100.64.0.2/53/", 403, "destination_ip_prohibited"},
    {"connect-ip", "/.well-known/masque/ip/198.51.100.10/17/", 501, "ICMP only"},
    {"connect-ip", "/.well-known/masque/ip/198.51.100.0%2F24/1/", 501, "ICMP only"},
    {"connect-ip", "/.well-known/masque/ip/*/1/", 501, "ICMP only"},
    {"connect-ip", "/.well-known/masque/ip/198.51.100.10/*/", 501, "ICMP only"},
    {"connect-ip", "/.well-known/masque/ip/203.0.113.9/1/", 403, "destination_ip_prohibited"},
    {"connect-ip", "/.well-known/masque/udp/198.51.100.10/1/", 400, "bad MASQUE path"},
};

START_TEST(test_refused)
{
    static uint8_t cap[64];
    size_t cn = put_dgram(cap, 0, (const uint8_t *)"x", 1);
    for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
        const struct refusal *t = &refusals[i];
        for (int wired = 0; wired < 2; wired++) {
            uint64_t refused = gw.flows_refused;
            const char *path = t->path ? t->path : "(null)";
            struct gw_flow *f = open_flow(t->protocol, t->path, CLIENT, wired);
            ck_assert_msg(!f->connected, "%s", path);
            ck_assert_ptr_nonnull(f->dgram);
            ck_assert_ptr_null(f->dgram->pcb);
            ck_assert(!f->has_vip);
            ck_assert_uint_eq(gw_vip_in_use(gw.vips), 0);
            if (wired) {
                struct rec *r = rec_of(&ex, f->sid);
                ck_assert_msg(r->status == t->status, "%s: status %d", path, r->status);
                ck_assert_msg(strstr(r->proxy_status, t->why) != NULL, "%s: %s", path,
                              r->proxy_status);
                ck_assert(r->end_stream);
                ck_assert(f->responded);
                ck_assert_uint_eq(gw.flows_refused, refused + 1);
            } else {
                ck_assert(!f->responded); /* gw_flow_respond: no connection, nothing to do */
            }
            /* the body of a refused stream goes nowhere */
            ck_assert_int_eq(gw_dgram_on_data(f->dgram, cap, cn), 0);
            expect_nothing();
            ck_assert_uint_eq(gw.dgram.tx, 0);
        }
    }
    ck_assert_uint_eq(gw.dgram.udp_opened + gw.dgram.icmp_opened,
                      2 * sizeof(refusals) / sizeof(refusals[0]));

    /* and the ones that are served answer 200 with capsule-protocol, stream open */
    struct gw_flow *u = open_flow("connect-udp", UDP_PATH, CLIENT, true);
    struct gw_flow *i = open_flow("connect-ip", IP_PATH, CLIENT, true);
    for (int k = 0; k < 2; k++) {
        struct rec *r = rec_of(&ex, (k ? i : u)->sid);
        ck_assert_int_eq(r->status, 200);
        ck_assert(r->capsule_protocol);
        ck_assert(!r->end_stream);
        ck_assert_int_eq(r->rst, -1);
    }
    /* one client, one virtual IP */
    ck_assert(vip_ok(u));
    ck_assert_uint_eq(u->vip.s_addr, i->vip.s_addr);
    ck_assert_uint_eq(gw_vip_in_use(gw.vips), 1);
}
END_TEST

/* 5b. Out of virtual IPs, out of flows: 503. */
START_TEST(test_limits)
{
    struct st_cidr small;
    char client[32];
    ck_assert_int_eq(st_cidr_parse("100.64.0.0/29", &small), 0);
    gw_vip_pool_free(gw.vips);
    gw.vips = gw_vip_pool_new(&small, 2); /* .3 to .6 */
    ck_assert_ptr_nonnull(gw.vips);
    for (int k = 1; k <= 4; k++) {
        snprintf(client, sizeof(client), "203.0.113.%d:5000", k);
        struct gw_flow *f = open_flow("connect-udp", UDP_PATH, client, true);
        ck_assert(f->connected);
        ck_assert_uint_eq(ntohl(f->vip.s_addr), 0x64400002u + (uint32_t)k);
    }
    struct gw_flow *f = open_flow("connect-udp", UDP_PATH, "203.0.113.5:5000", true);
    struct rec *r = rec_of(&ex, f->sid);
    ck_assert_int_eq(r->status, 503);
    ck_assert_ptr_nonnull(strstr(r->proxy_status, "connection_limit_reached"));
    ck_assert(!f->connected);
    ck_assert_ptr_null(f->dgram->pcb);

    /* GW_DGRAM_MAX_FLOWS live flows: refused before any state is made */
    uint64_t live = gw.dgram.udp_live;
    gw.dgram.udp_live = GW_DGRAM_MAX_FLOWS;
    f = open_flow("connect-ip", IP_PATH, "203.0.113.1:0", true);
    gw.dgram.udp_live = live;
    r = rec_of(&ex, f->sid);
    ck_assert_int_eq(r->status, 503);
    ck_assert_ptr_null(f->dgram);
    ck_assert_uint_eq(gw.dgram.icmp_opened, 0);
    uint8_t x[8] = {0};
    ck_assert_int_eq(gw_flow_on_data(f, x, sizeof(x)), 0); /* dropped as a refused stream */
    expect_nothing();
}
END_TEST

/* 6. ICMP echo through connect-ip: out from the virtual IP, replies and errors back. */
START_TEST(test_icmp_expose)
{
    static uint8_t pkt[2048], sent[2048], cap[2048], out[2048];
    struct gw_flow *f = open_flow("connect-ip", IP_PATH, CLIENT, true);
    struct gw_dgram *d = f->dgram;
    struct rec *r = rec_of(&ex, f->sid);
    struct st_ipv4_info ip;
    char vip[INET_ADDRSTRLEN];
    ck_assert(f->connected);
    ck_assert_ptr_null(d->pcb);
    ck_assert(vip_ok(f));
    ck_assert_uint_eq(gw.dgram.icmp_live, 1);
    ck_assert_ptr_eq(gw.icmp_flows, d);
    ck_assert_int_eq(r->status, 200);
    inet_ntop(AF_INET, &f->vip, vip, sizeof(vip));

    /* the client's echo request leaves from the virtual IP, ICMP untouched */
    size_t n = echo_pkt(pkt, "203.0.113.7", "198.51.100.10", ST_ICMP_ECHO, 0x1234, 7, 56, 64);
    size_t cn = put_dgram(cap, 0, pkt, n);
    ck_assert_int_eq(gw_dgram_on_data(d, cap, cn), 0);
    size_t sn = expect_ip(sent, sizeof(sent), &ip);
    ck_assert_uint_eq(sn, n);
    ck_assert(memcmp(ip.src, &f->vip.s_addr, 4) == 0);
    ck_assert(addr_is(ip.dst, "198.51.100.10"));
    ck_assert_uint_eq(ip.ttl, 64);
    ck_assert(memcmp(sent + 20, pkt + 20, n - 20) == 0);
    ck_assert(st_icmp_csum_ok(sent));
    ck_assert_uint_eq(gw.dgram.tx, 1);
    expect_nothing();

    /* not an echo request to the target: dropped */
    uint64_t drops = gw.dgram.drops;
    const char *other_dst[] = {"198.51.100.11", "198.51.100.10"};
    for (int k = 0; k < 2; k++) {
        n = echo_pkt(pkt, "203.0.113.7", other_dst[k], k ? ST_ICMP_ECHO_REPLY : ST_ICMP_ECHO, 1, 1,
                     8, 64);
        cn = put_dgram(cap, 0, pkt, n);
        ck_assert_int_eq(gw_dgram_on_data(d, cap, cn), 0);
    }
    n = echo_pkt(pkt, "203.0.113.7", "198.51.100.10", ST_ICMP_ECHO, 1, 1, 8, 64);
    pkt[9] = ST_IPPROTO_UDP; /* UDP */
    set_csum(pkt + 10, pkt, 20);
    cn = put_dgram(cap, 0, pkt, n);
    ck_assert_int_eq(gw_dgram_on_data(d, cap, cn), 0);
    n = echo_pkt(pkt, "203.0.113.7", "198.51.100.10", ST_ICMP_ECHO, 1, 1, 8, 64);
    pkt[6] = 0x20; /* a fragment (MF) */
    set_csum(pkt + 10, pkt, 20);
    cn = put_dgram(cap, 0, pkt, n);
    ck_assert_int_eq(gw_dgram_on_data(d, cap, cn), 0);
    cn = put_dgram(cap, 0, (const uint8_t *)"\x45\x00\x00", 3); /* not a packet */
    ck_assert_int_eq(gw_dgram_on_data(d, cap, cn), 0);
    expect_nothing();
    ck_assert_uint_eq(gw.dgram.drops, drops + 5);
    ck_assert_uint_eq(gw.dgram.tx, 1);

    /* the target's echo reply comes back to the client's own address */
    n = echo_pkt(pkt, "198.51.100.10", vip, ST_ICMP_ECHO_REPLY, 0x1234, 7, 56, 64);
    memcpy(out, pkt, n);
    ck_assert_int_eq(gw_dgram_icmp_hook(&gw, pkt, n), 1);
    ck_assert_uint_eq(gw.dgram.rx, 1);
    size_t qn = d->up.len;
    ck_assert_uint_eq(gw.dgram.queued_bytes, qn);
    ck_assert_uint_le(qn, sizeof(cap));
    ck_assert_uint_eq(st_bq_copy(&d->up, cap, sizeof(cap)), qn);
    size_t off = 0, pn;
    const uint8_t *p;
    next_dgram(cap, qn, &off, &p, &pn);
    ck_assert_uint_eq(off, qn);
    ck_assert_uint_eq(pn, n);
    ck_assert_int_eq(st_ipv4_parse(p, pn, &ip), 0);
    ck_assert(addr_is(ip.dst, "203.0.113.7"));
    ck_assert(addr_is(ip.src, "198.51.100.10"));
    ck_assert_uint_eq(ip.ttl, 63);
    ck_assert(st_ipv4_csum_ok(p));
    ck_assert(memcmp(p + 20, out + 20, n - 20) == 0);
    /* ... and reaches the edge as the stream's DATA */
    pump(&ex);
    ck_assert_uint_eq(d->up.len, 0);
    ck_assert_uint_eq(gw.dgram.queued_bytes, 0);
    ck_assert_uint_eq(r->body_len, qn);
    ck_assert(memcmp(r->body, cap, qn) == 0);

    /* a router's destination unreachable about the request as sent */
    uint8_t from[4];
    a4(from, "198.51.100.1");
    int en = st_icmp_unreach(pkt, sizeof(pkt), sent, sn, from, 3, 1, 64);
    ck_assert_int_gt(en, 0);
    ck_assert_int_eq(gw_dgram_icmp_hook(&gw, pkt, (size_t)en), 1);
    pump(&ex);
    off = qn;
    next_dgram(r->body, r->body_len, &off, &p, &pn);
    ck_assert_uint_eq(off, r->body_len);
    ck_assert_uint_eq(pn, (size_t)en);
    ck_assert_int_eq(st_ipv4_parse(p, pn, &ip), 0);
    ck_assert(addr_is(ip.dst, "203.0.113.7"));
    ck_assert(addr_is(ip.src, "198.51.100.1"));
    ck_assert_uint_eq(ip.ttl, 63);
    ck_assert(st_ipv4_csum_ok(p));
    ck_assert(st_icmp_csum_ok(p));
    struct st_ipv4_info in;
    uint8_t type, code;
    ck_assert_int_eq(st_icmp_error_parse(&ip, &in, &type, &code), 0);
    ck_assert_uint_eq(type, 3);
    ck_assert_uint_eq(code, 1);
    ck_assert(addr_is(in.src, "203.0.113.7"));
    ck_assert(addr_is(in.dst, "198.51.100.10"));
    ck_assert_uint_eq(st_ipv4_csum(p + 28, 20), 0); /* the quoted header's own checksum */
    ck_assert(memcmp(p + 48, sent + 20, 8) == 0);   /* the quoted echo header */

    /* from the bastion's TUN address (in the pool): reported from the target instead */
    uint8_t tun[4];
    memcpy(tun, &gw.tun_addr.s_addr, 4);
    en = st_icmp_unreach(pkt, sizeof(pkt), sent, sn, tun, 3, 1, 64);
    ck_assert_int_eq(gw_dgram_icmp_hook(&gw, pkt, (size_t)en), 1);
    pump(&ex);
    size_t prev = off;
    next_dgram(r->body, r->body_len, &off, &p, &pn);
    ck_assert_uint_gt(off, prev);
    ck_assert_int_eq(st_ipv4_parse(p, pn, &ip), 0);
    ck_assert(addr_is(ip.src, "198.51.100.10"));
    ck_assert(addr_is(ip.dst, "203.0.113.7"));
    ck_assert(st_ipv4_csum_ok(p));
    ck_assert(st_icmp_csum_ok(p));

    /* not ours: lwIP gets them */
    uint64_t rx = gw.dgram.rx;
    n = echo_pkt(pkt, "198.51.100.99", vip, ST_ICMP_ECHO_REPLY, 0x1234, 7, 56, 64);
    ck_assert_int_eq(gw_dgram_icmp_hook(&gw, pkt, n), 0);
    n = echo_pkt(pkt, "198.51.100.10", "100.64.9.9", ST_ICMP_ECHO_REPLY, 0x1234, 7, 56, 64);
    ck_assert_int_eq(gw_dgram_icmp_hook(&gw, pkt, n), 0);
    n = echo_pkt(pkt, "198.51.100.10", vip, ST_ICMP_ECHO, 0x1234, 7, 56, 64);
    ck_assert_int_eq(gw_dgram_icmp_hook(&gw, pkt, n), 0); /* reach is off */
    ck_assert_int_eq(gw_dgram_icmp_hook(&gw, pkt, 10), 0);
    ck_assert_uint_eq(gw.dgram.rx, rx);

    /* a reply with TTL 1 dies here */
    drops = gw.dgram.drops;
    n = echo_pkt(pkt, "198.51.100.10", vip, ST_ICMP_ECHO_REPLY, 0x1234, 8, 56, 1);
    ck_assert_int_eq(gw_dgram_icmp_hook(&gw, pkt, n), 1);
    ck_assert_uint_eq(gw.dgram.drops, drops + 1);
    ck_assert_uint_eq(d->up.len, 0);

    /* the same reply through the TUN, as the kernel would hand it over */
    n = echo_pkt(pkt, "198.51.100.10", vip, ST_ICMP_ECHO_REPLY, 0x1234, 9, 56, 64);
    ck_assert_int_eq(send(sv[1], pkt, n, 0), (ssize_t)n);
    ck_assert_int_eq(ns_netif_read(&gw.nif, 8), 1);
    ck_assert_uint_eq(gw.dgram.rx, rx + 1);
    expect_nothing(); /* lwIP did not see it */
    pump(&ex);
    ck_assert_uint_eq(gw.dgram.queued_bytes, 0);
}
END_TEST

/* 7. The up queue: bounded per flow and, past the fair share, by the gateway's total. */
START_TEST(test_queue_bound)
{
    static uint8_t big[60000], pkt[60000];
    struct gw_flow *f = open_flow("connect-ip", IP_PATH, CLIENT, true);
    struct gw_flow *g =
        open_flow("connect-ip", "/.well-known/masque/ip/198.51.100.12/1/", CLIENT, true);
    char vip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &f->vip, vip, sizeof(vip));
    size_t n = echo_pkt(big, "198.51.100.10", vip, ST_ICMP_ECHO_REPLY, 1, 1, 60000 - 28, 64);
    size_t csize = 1 + st_varint_len(n + 1) + 1 + n;
    size_t fit = GW_DGRAM_QUEUE / csize;
    ck_assert_uint_eq(fit, 17);

    uint64_t drops = gw.dgram.drops;
    for (size_t k = 0; k < fit + 3; k++) {
        memcpy(pkt, big, n);
        ck_assert_int_eq(gw_dgram_icmp_hook(&gw, pkt, n), 1);
    }
    ck_assert_uint_eq(f->dgram->up.len, fit * csize);
    ck_assert_uint_eq(gw.dgram.rx, fit);
    ck_assert_uint_eq(gw.dgram.drops, drops + 3);
    ck_assert_uint_eq(gw.dgram.queued_bytes, fit * csize);

    /* other flows hold the gateway's total: g still gets its fair share, no more */
    gw.dgram.queued_bytes += GW_DGRAM_QUEUE_TOTAL;
    memcpy(big + 12, (const uint8_t[]){198, 51, 100, 12}, 4);
    set_csum(big + 10, big, 20);
    for (int k = 0; k < 3; k++) {
        memcpy(pkt, big, n);
        ck_assert_int_eq(gw_dgram_icmp_hook(&gw, pkt, n), 1);
    }
    gw.dgram.queued_bytes -= GW_DGRAM_QUEUE_TOTAL;
    ck_assert_uint_eq(g->dgram->up.len, csize);
    ck_assert_uint_eq(gw.dgram.drops, drops + 5);

    /* the edge reads everything, in order; then the queue takes capsules again */
    pump(&ex);
    ck_assert_uint_eq(gw.dgram.queued_bytes, 0);
    struct rec *r = rec_of(&ex, f->sid);
    ck_assert_uint_eq(r->body_len, fit * csize);
    for (size_t off = 0; off < r->body_len;) {
        const uint8_t *p;
        size_t pn;
        next_dgram(r->body, r->body_len, &off, &p, &pn);
        ck_assert_uint_eq(pn, n);
        ck_assert(addr_is(p + 16, "203.0.113.7") || addr_is(p + 16, vip));
        ck_assert(memcmp(p + 20, big + 20, n - 20) == 0);
    }
    ck_assert_uint_eq(rec_of(&ex, g->sid)->body_len, csize);
    memcpy(pkt, big, n);
    ck_assert_int_eq(gw_dgram_icmp_hook(&gw, pkt, n), 1);
    ck_assert_uint_eq(g->dgram->up.len, csize);
    pump(&ex);
    ck_assert_uint_eq(rec_of(&ex, g->sid)->body_len, 2 * csize);
    ck_assert_uint_eq(gw.dgram.queued_bytes, 0);

    /* unwired (no stream): nothing queues */
    struct gw_flow *u =
        open_flow("connect-ip", "/.well-known/masque/ip/198.51.100.13/1/", CLIENT, false);
    memcpy(big + 12, (const uint8_t[]){198, 51, 100, 13}, 4);
    set_csum(big + 10, big, 20);
    drops = gw.dgram.drops;
    memcpy(pkt, big, n);
    ck_assert_int_eq(gw_dgram_icmp_hook(&gw, pkt, n), 1);
    ck_assert_uint_eq(u->dgram->up.len, 0);
    ck_assert_uint_eq(gw.dgram.drops, drops + 1);
}
END_TEST

/* 8. Lifetime: close, release, counters and memory back to zero. */
START_TEST(test_lifetime)
{
    static uint8_t pkt[256], cap[256];
    struct gw_flow *u = open_flow("connect-udp", UDP_PATH, CLIENT, true);
    struct gw_flow *i = open_flow("connect-ip", IP_PATH, CLIENT, true);
    struct gw_flow *j =
        open_flow("connect-ip", "/.well-known/masque/ip/198.51.100.12/1/", CLIENT, false);
    char vip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &i->vip, vip, sizeof(vip));
    ck_assert_uint_eq(gw.dgram.udp_live, 1);
    ck_assert_uint_eq(gw.dgram.icmp_live, 2);
    ck_assert_uint_eq(gw_vip_in_use(gw.vips), 1);

    /* state to free: a partial capsule on u, a queued reply on i */
    size_t cn = put_dgram(cap, 0, (const uint8_t *)"hello", 5);
    ck_assert_int_eq(gw_dgram_on_data(u->dgram, cap, cn - 2), 0);
    ck_assert_ptr_nonnull(u->dgram->in);
    size_t n = echo_pkt(pkt, "198.51.100.10", vip, ST_ICMP_ECHO_REPLY, 5, 5, 40, 64);
    ck_assert_int_eq(gw_dgram_icmp_hook(&gw, pkt, n), 1);
    ck_assert_uint_gt(i->dgram->up.len, 0);
    ck_assert_uint_eq(gw.dgram.queued_bytes, u->dgram->in_cap + i->dgram->up.len);

    /* the stream of i closes: off the ICMP list, its queue dropped, idempotent */
    gw_dgram_on_close(i->dgram);
    gw_dgram_on_close(i->dgram);
    ck_assert_uint_eq(gw.dgram.icmp_live, 1);
    ck_assert_ptr_eq(gw.icmp_flows, j->dgram);
    ck_assert_ptr_null(j->dgram->prev);
    ck_assert_uint_eq(gw.dgram.queued_bytes, u->dgram->in_cap);
    n = echo_pkt(pkt, "198.51.100.10", vip, ST_ICMP_ECHO_REPLY, 5, 6, 40, 64);
    ck_assert_int_eq(gw_dgram_icmp_hook(&gw, pkt, n), 0); /* nobody's any more */
    release(i);
    ck_assert_uint_eq(gw_vip_in_use(gw.vips), 1);

    /* u: the closed flow's pcb is gone; later capsules are dropped, not sent */
    gw_dgram_on_close(u->dgram);
    ck_assert_ptr_null(u->dgram->pcb);
    ck_assert_uint_eq(gw.dgram.udp_live, 0);
    uint64_t drops = gw.dgram.drops;
    ck_assert_int_eq(gw_dgram_on_data(u->dgram, cap + cn - 2, 2), 0);
    ck_assert_uint_eq(gw.dgram.drops, drops + 1);
    expect_nothing();
    release(u);
    release(j);
    ck_assert_uint_eq(gw.dgram.udp_live, 0);
    ck_assert_uint_eq(gw.dgram.icmp_live, 0);
    ck_assert_uint_eq(gw.dgram.queued_bytes, 0);
    ck_assert_ptr_null(gw.icmp_flows);
    ck_assert_uint_eq(gw_vip_in_use(gw.vips), 0);
    ck_assert_uint_eq(gw.dgram.freed, 3);
    for (size_t k = 0; k < ex.n_recs; k++)
        ck_assert_int_eq(ex.recs[k].rst, -1);
}
END_TEST

/* 8b. The end of the edge's side, and idle flows: the stream ends after the queue. */
START_TEST(test_end)
{
    static uint8_t pkt[256], cap[512];
    gw.cfg.dns_idle_timeout_ms = 40;
    struct gw_flow *dns = open_flow("connect-udp", UDP_PATH, CLIENT, true);
    struct gw_flow *other =
        open_flow("connect-udp", "/.well-known/masque/udp/198.51.100.53/5353/", CLIENT, true);
    struct gw_flow *i = open_flow("connect-ip", IP_PATH, CLIENT, true);
    char vip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &i->vip, vip, sizeof(vip));

    /* the edge ends i with a reply queued: the reply goes first, then END_STREAM */
    size_t n = echo_pkt(pkt, "198.51.100.10", vip, ST_ICMP_ECHO_REPLY, 5, 5, 40, 64);
    ck_assert_int_eq(gw_dgram_icmp_hook(&gw, pkt, n), 1);
    gw_flow_on_eof(i);
    ck_assert(i->dgram->ended);
    n = echo_pkt(pkt, "198.51.100.10", vip, ST_ICMP_ECHO_REPLY, 5, 6, 40, 64);
    ck_assert_int_eq(gw_dgram_icmp_hook(&gw, pkt, n), 0); /* an ended flow takes no more */
    size_t cn = put_dgram(cap, 0, pkt, n);
    ck_assert_int_eq(gw_dgram_on_data(i->dgram, cap, cn), 0);
    expect_nothing();
    pump(&ex);
    struct rec *r = rec_of(&ex, i->sid);
    ck_assert(r->end_stream);
    ck_assert_uint_eq(r->body_len, 1 + st_varint_len(1 + 68) + 1 + 68);

    /* DNS flows idle out after dns-idle-timeout, others keep udp-idle-timeout */
    uint64_t expired = gw.dgram.expired;
    run_loop_ms(120);
    ck_assert_uint_eq(gw.dgram.expired, expired + 1);
    ck_assert(dns->dgram->ended);
    ck_assert(!other->dgram->ended);
    pump(&ex);
    ck_assert(rec_of(&ex, dns->sid)->end_stream);
    ck_assert(!rec_of(&ex, other->sid)->end_stream);
    cn = put_dgram(cap, 0, (const uint8_t *)"late", 4);
    ck_assert_int_eq(gw_dgram_on_data(dns->dgram, cap, cn), 0);
    ck_assert_int_eq(gw_dgram_on_data(other->dgram, cap, cn), 0);
    struct udp4 u;
    expect_udp(&u);
    ck_assert_uint_eq(u.dport, 5353);
    expect_nothing();
}
END_TEST

/* 9. Reach: captured ICMP/UDP opens a stream on a reach connection; refusals answer ICMP. */
static void reach_on(bool with_conn)
{
    gw.cfg.reach = true;
    ck_assert_int_eq(st_cidr_parse("198.51.100.0/24", &gw.reach_routes[0]), 0);
    gw.n_reach_routes = 1;
    ck_assert_int_eq(gw_dgram_reach_init(&gw), 0);
    if (!with_conn)
        return;
    pair_init(&re, false);
    rconn = calloc(1, sizeof(*rconn));
    ck_assert_ptr_nonnull(rconn);
    rconn->gw = &gw;
    rconn->reach = rconn->active = rconn->registered = true;
    rconn->h2.session = re.gw_side;
    conn_slots[0] = rconn;
    gw.conns = conn_slots;
    gw.n_conns = 1;
}

static void expect_icmp_error(const uint8_t *from, const char *to, uint8_t type, uint8_t code,
                              const uint8_t *orig)
{
    static uint8_t b[2048];
    struct st_ipv4_info ip, in;
    uint8_t t, c;
    ck_assert_uint_le(expect_ip(b, sizeof(b), &ip), ST_ICMP_ERROR_MAX);
    ck_assert(memcmp(ip.src, from, 4) == 0);
    ck_assert(addr_is(ip.dst, to));
    ck_assert(st_icmp_csum_ok(b));
    ck_assert_int_eq(st_icmp_error_parse(&ip, &in, &t, &c), 0);
    ck_assert_uint_eq(t, type);
    ck_assert_uint_eq(c, code);
    ck_assert(memcmp(in.src, orig + 12, 4) == 0);
    ck_assert(memcmp(in.dst, orig + 16, 4) == 0);
    ck_assert(memcmp(b + 48, orig + 20, 8) == 0);
}

START_TEST(test_reach_refused)
{
    static uint8_t pkt[256];
    reach_on(false);
    uint8_t dst[4], stack[4];
    a4(dst, "198.51.100.20");
    memcpy(stack, &gw.stack_addr.s_addr, 4);

    /* no reach connection up: destination unreachable from the target */
    size_t n = echo_pkt(pkt, "192.0.2.5", "198.51.100.20", ST_ICMP_ECHO, 3, 1, 16, 64);
    ck_assert_int_eq(gw_dgram_icmp_hook(&gw, pkt, n), 1);
    ck_assert_uint_eq(gw.dgram.refused, 1);
    expect_icmp_error(dst, "192.0.2.5", 3, 1, pkt);
    expect_nothing();

    /* TTL 1: time exceeded from lwIP's address */
    n = echo_pkt(pkt, "192.0.2.5", "198.51.100.20", ST_ICMP_ECHO, 3, 2, 16, 1);
    ck_assert_int_eq(gw_dgram_icmp_hook(&gw, pkt, n), 1);
    expect_icmp_error(stack, "192.0.2.5", 11, 0, pkt);
    ck_assert_uint_eq(gw.dgram.refused, 1);

    /* UDP captured by the any-port pcb, same answer */
    n = (size_t)st_udp4_build(pkt, sizeof(pkt), (const uint8_t[]){192, 0, 2, 5}, 40000, dst, 5353,
                              (const uint8_t *)"query", 5, 64);
    ck_assert_int_eq(send(sv[1], pkt, n, 0), (ssize_t)n);
    ck_assert_int_eq(ns_netif_read(&gw.nif, 8), 1);
    ck_assert_uint_eq(gw.dgram.refused, 2);
    expect_icmp_error(dst, "192.0.2.5", 3, 1, pkt);
    expect_nothing();

    /* outside the reach routes, or draining: not ours */
    n = echo_pkt(pkt, "192.0.2.5", "203.0.113.20", ST_ICMP_ECHO, 3, 3, 16, 64);
    ck_assert_int_eq(gw_dgram_icmp_hook(&gw, pkt, n), 0);
    gw.drain.draining = true;
    n = echo_pkt(pkt, "192.0.2.5", "198.51.100.20", ST_ICMP_ECHO, 3, 4, 16, 64);
    ck_assert_int_eq(gw_dgram_icmp_hook(&gw, pkt, n), 0);
    ck_assert_uint_eq(gw.dgram.udp_live + gw.dgram.icmp_live, 0);
    ck_assert_uint_eq(gw.dgram.refused, 2);
}
END_TEST

START_TEST(test_reach_icmp)
{
    static uint8_t pkt[2048], cap[4096], orig[2048];
    reach_on(true);
    uint8_t dst[4];
    a4(dst, "198.51.100.20");

    /* over 576 bytes: the copy kept for an ICMP error is cut to 576 */
    size_t n = echo_pkt(pkt, "192.0.2.5", "198.51.100.20", ST_ICMP_ECHO, 3, 1, 1000, 64);
    memcpy(orig, pkt, n);
    ck_assert_int_eq(gw_dgram_icmp_hook(&gw, pkt, n), 1);
    ck_assert_uint_eq(gw.dgram.icmp_live, 1);
    struct gw_dgram *d = gw.icmp_flows;
    ck_assert_ptr_nonnull(d);
    ck_assert(d->reach);
    struct gw_flow *f = d->f;
    track(f);
    ck_assert_ptr_eq(rconn->flows, f);
    ck_assert_str_eq(f->authority, "198.51.100.20:0");
    n = echo_pkt(pkt, "192.0.2.5", "198.51.100.20", ST_ICMP_ECHO, 3, 2, 16, 64);
    ck_assert_int_eq(gw_dgram_icmp_hook(&gw, pkt, n), 1); /* the same flow */
    ck_assert_uint_eq(gw.dgram.icmp_opened, 1);
    pump(&re);
    ck_assert_uint_eq(re.n_recs, 1);
    struct rec *r = &re.recs[0];
    ck_assert_str_eq(r->protocol, "connect-ip");
    ck_assert_str_eq(r->path, "/.well-known/masque/ip/198.51.100.20/1/");
    ck_assert_str_eq(r->client, "192.0.2.5:0");
    ck_assert_str_eq(r->auth, "Bearer tid:s3cret");
    size_t off = 0, pn;
    const uint8_t *p;
    for (int k = 1; k <= 2; k++) {
        struct st_ipv4_info ip;
        next_dgram(r->body, r->body_len, &off, &p, &pn);
        ck_assert_int_eq(st_ipv4_parse(p, pn, &ip), 0);
        ck_assert(addr_is(ip.src, "192.0.2.5"));
        ck_assert(addr_is(ip.dst, "198.51.100.20"));
        ck_assert_uint_eq(ip.ttl, 63);
        ck_assert(st_ipv4_csum_ok(p));
        ck_assert_uint_eq(get16(p + 26), k);
        ck_assert_uint_eq(pn, k == 1 ? 1028 : 44);
    }
    ck_assert_uint_eq(off, r->body_len);

    /* the edge's capsules: the target's reply goes to the client as is, nothing else */
    n = echo_pkt(pkt, "198.51.100.20", "192.0.2.5", ST_ICMP_ECHO_REPLY, 3, 1, 16, 60);
    size_t cn = put_dgram(cap, 0, pkt, n);
    n = echo_pkt(pkt, "198.51.100.21", "192.0.2.5", ST_ICMP_ECHO_REPLY, 3, 1, 16, 60);
    cn += put_dgram(cap + cn, 0, pkt, n);
    n = echo_pkt(pkt, "198.51.100.20", "192.0.2.5", ST_ICMP_ECHO, 3, 1, 16, 60);
    cn += put_dgram(cap + cn, 0, pkt, n);
    uint64_t drops = gw.dgram.drops;
    ck_assert_int_eq(gw_dgram_on_data(d, cap, cn), 0);
    struct st_ipv4_info ip;
    uint8_t got[256];
    expect_ip(got, sizeof(got), &ip);
    ck_assert(addr_is(ip.src, "198.51.100.20"));
    ck_assert(addr_is(ip.dst, "192.0.2.5"));
    ck_assert_uint_eq(ip.ttl, 60);
    expect_nothing();
    ck_assert_uint_eq(gw.dgram.drops, drops + 2);

    /* the edge refuses (403): the client hears "administratively prohibited" about its
     * first packet, the stream is cancelled */
    f->status = 403;
    gw_flow_on_response(f);
    expect_icmp_error(dst, "192.0.2.5", 3, 13, orig);
    expect_nothing();
    pump(&re);
    ck_assert_int_eq(r->rst, NGHTTP2_CANCEL);
    ck_assert_uint_eq(gw.dgram.refused, 1);
}
END_TEST

START_TEST(test_reach_udp)
{
    static uint8_t pkt[256], cap[256];
    reach_on(true);
    uint8_t dst[4], cli[4];
    a4(dst, "198.51.100.20");
    a4(cli, "192.0.2.5");

    size_t n = (size_t)st_udp4_build(pkt, sizeof(pkt), cli, 40000, dst, 5353,
                                     (const uint8_t *)"query", 5, 64);
    ck_assert_int_eq(send(sv[1], pkt, n, 0), (ssize_t)n);
    ck_assert_int_eq(ns_netif_read(&gw.nif, 8), 1);
    ck_assert_uint_eq(gw.dgram.udp_live, 1);
    struct gw_flow *f = rconn->flows;
    ck_assert_ptr_nonnull(f);
    track(f);
    ck_assert_ptr_nonnull(f->dgram->pcb);
    /* the second datagram of the 5-tuple finds the flow's own pcb */
    n = (size_t)st_udp4_build(pkt, sizeof(pkt), cli, 40000, dst, 5353, (const uint8_t *)"again", 5,
                              64);
    ck_assert_int_eq(send(sv[1], pkt, n, 0), (ssize_t)n);
    ck_assert_int_eq(ns_netif_read(&gw.nif, 8), 1);
    ck_assert_uint_eq(gw.dgram.udp_opened, 1);
    pump(&re);
    ck_assert_uint_eq(re.n_recs, 1);
    struct rec *r = &re.recs[0];
    ck_assert_str_eq(r->protocol, "connect-udp");
    ck_assert_str_eq(r->path, "/.well-known/masque/udp/198.51.100.20/5353/");
    ck_assert_str_eq(r->client, "192.0.2.5:40000");
    uint8_t want[64];
    size_t wn = put_dgram(want, 0, (const uint8_t *)"query", 5);
    wn += put_dgram(want + wn, 0, (const uint8_t *)"again", 5);
    ck_assert_uint_eq(r->body_len, wn);
    ck_assert(memcmp(r->body, want, wn) == 0);

    /* the answer from the edge leaves from the target's address and port */
    size_t cn = put_dgram(cap, 0, (const uint8_t *)"answer", 6);
    ck_assert_int_eq(gw_dgram_on_data(f->dgram, cap, cn), 0);
    struct udp4 u;
    expect_udp(&u);
    ck_assert(memcmp(u.src, dst, 4) == 0);
    ck_assert(memcmp(u.dst, cli, 4) == 0);
    ck_assert_uint_eq(u.sport, 5353);
    ck_assert_uint_eq(u.dport, 40000);
    ck_assert_uint_eq(u.len, 6);
    ck_assert(memcmp(u.data, "answer", 6) == 0);
    expect_nothing();

    /* accepted: the copy of the first packet is let go; a later refusal cannot happen */
    ck_assert_ptr_nonnull(f->dgram->first);
    f->status = 200;
    gw_flow_on_response(f);
    ck_assert_ptr_null(f->dgram->first);
    expect_nothing();
}
END_TEST

static Suite *gw_dgram_suite(void)
{
    Suite *s = suite_create("gw_dgram");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_udp_expose);
    tcase_add_test(tc, test_udp_large);
    tcase_add_test(tc, test_udp_split);
    tcase_add_test(tc, test_unknown_capsules);
    tcase_add_test(tc, test_malformed);
    tcase_add_test(tc, test_refused);
    tcase_add_test(tc, test_limits);
    tcase_add_test(tc, test_icmp_expose);
    tcase_add_test(tc, test_queue_bound);
    tcase_add_test(tc, test_lifetime);
    tcase_add_test(tc, test_end);
    tcase_add_test(tc, test_reach_refused);
    tcase_add_test(tc, test_reach_icmp);
    tcase_add_test(tc, test_reach_udp);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_check_run(gw_dgram_suite());
}
