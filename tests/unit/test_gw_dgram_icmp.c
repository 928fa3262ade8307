/* gw_dgram, connect-ip (ICMP) on the expose side and the reach role (captured ICMP/UDP). The
 * harness (gw_dgram_harness.h) describes the fixture. */
#include "gw_dgram_harness.h"

static struct gw_conn *conn_slots[1]; /* reach: gw.conns while a test wires rconn */

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
    ck_assert_int_eq(dgram_data(d, cap, cn), 0);
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
        ck_assert_int_eq(dgram_data(d, cap, cn), 0);
    }
    n = echo_pkt(pkt, "203.0.113.7", "198.51.100.10", ST_ICMP_ECHO, 1, 1, 8, 64);
    pkt[9] = ST_IPPROTO_UDP; /* UDP */
    set_csum(pkt + 10, pkt, 20);
    cn = put_dgram(cap, 0, pkt, n);
    ck_assert_int_eq(dgram_data(d, cap, cn), 0);
    n = echo_pkt(pkt, "203.0.113.7", "198.51.100.10", ST_ICMP_ECHO, 1, 1, 8, 64);
    pkt[6] = 0x20; /* a fragment (MF) */
    set_csum(pkt + 10, pkt, 20);
    cn = put_dgram(cap, 0, pkt, n);
    ck_assert_int_eq(dgram_data(d, cap, cn), 0);
    cn = put_dgram(cap, 0, (const uint8_t *)"\x45\x00\x00", 3); /* not a packet */
    ck_assert_int_eq(dgram_data(d, cap, cn), 0);
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
    rconn->h2.loop = &gw.loop;
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
    ck_assert_int_eq(dgram_data(d, cap, cn), 0);
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
    ck_assert_int_eq(dgram_data(f->dgram, cap, cn), 0);
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

static Suite *gw_dgram_icmp_suite(void)
{
    Suite *s = suite_create("gw_dgram_icmp");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_icmp_expose);
    tcase_add_test(tc, test_reach_refused);
    tcase_add_test(tc, test_reach_icmp);
    tcase_add_test(tc, test_reach_udp);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_check_run(gw_dgram_icmp_suite());
}
