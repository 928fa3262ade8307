/* gw_dgram to IPv6 targets on the expose side: connect-udp from a virtual-pool6 address
 * (replies and ICMPv6 errors back), connect-ip ICMPv6 echo (readdressed, checksums fixed,
 * packet too big for what the TUN cannot take). The harness (gw_dgram_harness.h) describes
 * the fixture; this suite adds an IPv6 route and virtual-pool6. */
#include "gw_dgram_harness.h"
#include "st_ipv6.h"

#define TARGET6 "2001:db8:51::10"
#define CLIENT6 "2001:db8:113::10"

static struct st_cidr routes6[2];

static void setup6(void)
{
    setup();
    routes6[0] = routes[0];
    ck_assert_int_eq(st_cidr_parse("2001:db8:51::/64", &routes6[1]), 0);
    gw.cfg.routes = routes6;
    gw.cfg.n_routes = 2;
    gw.cfg.tun_mtu = 1500;
    ck_assert_int_eq(st_cidr_parse("2001:db8:64::/96", &gw.cfg.virtual_pool6), 0);
    gw.vips6 = gw_vip_pool_new(&gw.cfg.virtual_pool6, 2);
    ck_assert_ptr_nonnull(gw.vips6);
}

static void teardown6(void)
{
    teardown();
    ck_assert_uint_eq(gw_vip_in_use(gw.vips6), 0);
    gw_vip_pool_free(gw.vips6);
}

static void a6(uint8_t out[16], const char *s)
{
    ck_assert_int_eq(inet_pton(AF_INET6, s, out), 1);
}

/* The packet the gateway wrote to the TUN, parsed. */
static size_t expect_ip6(uint8_t *b, size_t cap, struct st_ipv6_info *ip)
{
    ssize_t n = recv(sv[1], b, cap, MSG_DONTWAIT);
    ck_assert_int_ge(n, 40);
    ck_assert_int_eq(st_ipv6_parse(b, (size_t)n, ip), 0);
    ck_assert_uint_eq(ip->total, (size_t)n);
    return (size_t)n;
}

/* An IPv6 UDP packet with its (mandatory) checksum. */
static size_t udp6_pkt(uint8_t *b, const uint8_t *src, uint16_t sport, const uint8_t *dst,
                       uint16_t dport, const uint8_t *data, size_t n)
{
    memset(b, 0, 48);
    b[0] = 0x60;
    b[4] = (uint8_t)((8 + n) >> 8);
    b[5] = (uint8_t)(8 + n);
    b[6] = 17;
    b[7] = 64;
    memcpy(b + 8, src, 16);
    memcpy(b + 24, dst, 16);
    b[40] = (uint8_t)(sport >> 8);
    b[41] = (uint8_t)sport;
    b[42] = (uint8_t)(dport >> 8);
    b[43] = (uint8_t)dport;
    b[44] = b[4];
    b[45] = b[5];
    memcpy(b + 48, data, n);
    uint64_t acc = st_csum_add(b + 8, 32, 8 + n + 17);
    uint16_t c = st_csum_fold(st_csum_add(b + 40, 8 + n, acc));
    memcpy(b + 46, &c, 2);
    return 48 + n;
}

/* An ICMPv6 echo of type from src to dst carrying n bytes, checksummed. */
static size_t echo6_pkt(uint8_t *b, const uint8_t *src, const uint8_t *dst, uint8_t type, size_t n)
{
    memset(b, 0, 48);
    b[0] = 0x60;
    b[4] = (uint8_t)((8 + n) >> 8);
    b[5] = (uint8_t)(8 + n);
    b[6] = ST_IPPROTO_ICMPV6;
    b[7] = 64;
    memcpy(b + 8, src, 16);
    memcpy(b + 24, dst, 16);
    b[40] = type;
    b[44] = 0x12;
    b[47] = 1;
    fill(b + 48, n, 7);
    struct st_ipv6_info ip;
    ck_assert_int_eq(st_ipv6_parse(b, 48 + n, &ip), 0);
    st_icmp6_fix_csum(b, &ip);
    return 48 + n;
}

/* The one capsule queued on d: its type and value. */
static void queued_capsule(struct gw_dgram *d, uint8_t *buf, size_t cap, struct st_capsule *c)
{
    size_t n = st_bq_copy(&d->up, buf, cap);
    ck_assert_uint_gt(n, 0);
    ck_assert_int_eq(st_capsule_parse(buf, n, 70000, c), (int)n);
}

START_TEST(test_udp6_expose)
{
    static uint8_t cap[2048], pkt[2048], sent[2048], payload[600];
    struct gw_flow *f = open_flow(
        "connect-udp", "/.well-known/masque/udp/2001%3Adb8%3A51%3A%3A10/53/", CLIENT, true);
    struct gw_dgram *d = f->dgram;
    struct rec *r = rec_of(&ex, f->sid);
    uint8_t target[16];
    a6(target, TARGET6);
    ck_assert_int_eq(r->status, 200);
    ck_assert(f->connected && f->has_vip6);
    ck_assert_int_eq(d->family, AF_INET6);
    ck_assert_str_eq(f->authority, "[2001:db8:51::10]:53");

    fill(payload, sizeof(payload), 3);
    size_t cn = put_dgram(cap, 0, payload, sizeof(payload));
    ck_assert_int_eq(dgram_data(d, cap, cn), 0);
    struct st_ipv6_info ip;
    size_t sn = expect_ip6(sent, sizeof(sent), &ip);
    ck_assert_uint_eq(ip.proto, 17);
    ck_assert(memcmp(ip.src, f->vip6.s6_addr, 16) == 0);
    ck_assert(memcmp(ip.dst, target, 16) == 0);
    ck_assert_uint_eq(get16(ip.l4 + 2), 53);
    ck_assert_uint_eq(ip.l4_len, 8 + sizeof(payload));
    ck_assert(memcmp(ip.l4 + 8, payload, sizeof(payload)) == 0);
    uint16_t sport = get16(ip.l4);

    /* the answer comes back as a DATAGRAM capsule */
    size_t n = udp6_pkt(pkt, target, 53, f->vip6.s6_addr, sport, payload, 100);
    ck_assert_int_eq(send(sv[1], pkt, n, 0), (ssize_t)n);
    ck_assert_int_eq(ns_netif_read(&gw.nif, 4), 1);
    struct st_capsule c;
    queued_capsule(d, cap, sizeof(cap), &c);
    ck_assert_uint_eq(c.type, ST_CAP_DATAGRAM);
    ck_assert_uint_eq(c.len, 1 + 100);
    ck_assert(memcmp(c.value + 1, payload, 100) == 0);
    pump(&ex);

    /* the target's port unreachable: an ICMP error capsule with the packet as it came */
    n = (size_t)st_icmp6_error(pkt, sizeof(pkt), sent, sn, target, ST_ICMP6_UNREACH,
                               ST_ICMP6_PORT_UNREACH, 0, 64);
    ck_assert_int_eq(gw_dgram_icmp_hook(&gw, pkt, n), 1);
    queued_capsule(d, cap, sizeof(cap), &c);
    ck_assert_uint_eq(c.type, ST_CAP_ICMP_ERROR);
    ck_assert_uint_eq(c.len, n);
    ck_assert(memcmp(c.value, pkt, n) == 0);
    pump(&ex);
    /* an error about someone else's datagram is not ours */
    sent[41] ^= 1;
    n = (size_t)st_icmp6_error(pkt, sizeof(pkt), sent, sn, target, 1, 4, 0, 64);
    ck_assert_int_eq(gw_dgram_icmp_hook(&gw, pkt, n), 0);
}
END_TEST

START_TEST(test_echo6_expose)
{
    static uint8_t cap[4096], pkt[4096], sent[4096];
    struct gw_flow *f =
        open_flow("connect-ip", "/.well-known/masque/ip/2001%3Adb8%3A51%3A%3A10/58/", CLIENT, true);
    struct gw_dgram *d = f->dgram;
    uint8_t target[16], client[16];
    a6(target, TARGET6);
    a6(client, CLIENT6);
    ck_assert_int_eq(rec_of(&ex, f->sid)->status, 200);
    ck_assert_ptr_eq(gw.icmp_flows, d);

    /* out from the virtual address, checksum fixed for the new source */
    size_t n = echo6_pkt(pkt, client, target, ST_ICMP6_ECHO, 56);
    size_t cn = put_dgram(cap, 0, pkt, n);
    ck_assert_int_eq(dgram_data(d, cap, cn), 0);
    struct st_ipv6_info ip;
    ck_assert_uint_eq(expect_ip6(sent, sizeof(sent), &ip), n);
    ck_assert(memcmp(ip.src, f->vip6.s6_addr, 16) == 0);
    ck_assert(st_icmp6_csum_ok(sent, &ip));
    ck_assert(memcmp(sent + 44, pkt + 44, n - 44) == 0);
    /* not a request to the target (a reply, another host): dropped */
    uint64_t drops = gw.dgram.drops;
    n = echo6_pkt(pkt, client, target, ST_ICMP6_ECHO_REPLY, 8);
    cn = put_dgram(cap, 0, pkt, n);
    ck_assert_int_eq(dgram_data(d, cap, cn), 0);
    n = echo6_pkt(pkt, client, client, ST_ICMP6_ECHO, 8);
    cn = put_dgram(cap, 0, pkt, n);
    ck_assert_int_eq(dgram_data(d, cap, cn), 0);
    expect_nothing();
    ck_assert_uint_eq(gw.dgram.drops, drops + 2);

    /* the reply goes back to the client's own address, hop limit down by one */
    n = echo6_pkt(pkt, target, f->vip6.s6_addr, ST_ICMP6_ECHO_REPLY, 56);
    ck_assert_int_eq(gw_dgram_icmp_hook(&gw, pkt, n), 1);
    struct st_capsule c;
    queued_capsule(d, cap, sizeof(cap), &c);
    const uint8_t *p;
    size_t pn;
    ck_assert_int_eq(st_masque_ip_packet(c.value, c.len, &p, &pn), 1);
    ck_assert_int_eq(st_ipv6_parse(p, pn, &ip), 0);
    ck_assert(memcmp(ip.dst, client, 16) == 0);
    ck_assert_uint_eq(ip.hlim, 63);
    ck_assert(st_icmp6_csum_ok(p, &ip));
    pump(&ex);

    /* bigger than the TUN takes: packet too big from the target, MTU 1500 */
    n = echo6_pkt(pkt, client, target, ST_ICMP6_ECHO, 1600);
    cn = put_dgram(cap, 0, pkt, n);
    ck_assert_int_eq(dgram_data(d, cap, cn), 0);
    expect_nothing();
    queued_capsule(d, cap, sizeof(cap), &c);
    ck_assert_int_eq(st_masque_ip_packet(c.value, c.len, &p, &pn), 1);
    ck_assert_int_eq(st_ipv6_parse(p, pn, &ip), 0);
    ck_assert_uint_eq(pn, ST_ICMP6_ERROR_MAX);
    ck_assert(memcmp(ip.src, target, 16) == 0 && memcmp(ip.dst, client, 16) == 0);
    struct st_ipv6_info in;
    uint8_t type, code;
    uint32_t mtu;
    ck_assert_int_eq(st_icmp6_error_parse(&ip, &in, &type, &code, &mtu), 0);
    ck_assert_uint_eq(type, ST_ICMP6_TOO_BIG);
    ck_assert_uint_eq(mtu, 1500);
    ck_assert(st_icmp6_csum_ok(p, &ip));
    pump(&ex);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gw_dgram6");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup6, teardown6);
    tcase_add_test(tc, test_udp6_expose);
    tcase_add_test(tc, test_echo6_expose);
    suite_add_tcase(s, tc);
    return st_check_run(s);
}
