/* ns_netif with IPv6 in vnet mode: lwIP's IPv6 TCP segments coalesced into one TCPV6 GSO
 * packet, cut to a path MTU learned from an ICMPv6 Packet Too Big, and partial checksums
 * the kernel left in IPv6 UDP packets completed. Segments are handed to the netif's
 * output_ip6 as lwIP would (ns_harness.h: a socketpair stands in for the TUN). */
#include "ns_harness.h"

#define SRC6 "2001:db8:113::10"
#define DST6 "2001:db8:51::10"

/* An IPv6 TCP segment (ACK|flags, 20-byte header) of len payload bytes at seq. */
static struct pbuf *seg6(uint32_t seq, size_t len, uint8_t flags)
{
    struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)(60 + len), PBUF_RAM);
    uint8_t *b = p->payload;

    memset(b, 0, 60 + len);
    b[0] = 0x60;
    put16(b + 4, (uint16_t)(20 + len));
    b[6] = IP_PROTO_TCP;
    b[7] = 64;
    inet_pton(AF_INET6, SRC6, b + 8);
    inet_pton(AF_INET6, DST6, b + 24);
    tcp_hdr(b + 40, 8000, 40000, seq, 777, (uint8_t)(F_ACK | flags));
    for (size_t i = 0; i < len; i++)
        b[60 + i] = (uint8_t)(seq + i);
    return p;
}

static void out6(struct pbuf *p)
{
    ck_assert_int_eq(nif.netif.output_ip6(&nif.netif, p, NULL), ERR_OK);
    pbuf_free(p);
}

/* The pseudo-header sum (not complemented) a partial TCP checksum field must hold. */
static uint16_t pseudo6(const uint8_t *b, size_t n)
{
    uint8_t ph[40] = {0};

    memcpy(ph, b + 8, 32);
    put32(ph + 32, (uint32_t)(n - 40));
    ph[39] = IP_PROTO_TCP;
    return (uint16_t)~fold(sum16(ph, sizeof(ph), 0));
}

START_TEST(test_coalesce6)
{
    static uint8_t b[8000];
    struct virtio_net_hdr vh;
    ssize_t n;

    out6(seg6(1000, 1000, 0));
    out6(seg6(2000, 1000, 0));
    out6(seg6(3000, 500, 0x08)); /* PSH, short: the last one */
    ck_assert_int_lt(recv(sv[1], b, sizeof(b), MSG_DONTWAIT), 0);
    ns_netif_flush(&nif);
    n = recv_vnet(&vh, b, sizeof(b));
    ck_assert_int_eq(n, 60 + 2500);
    ck_assert_uint_eq(nif.tx_gso, 1);
    ck_assert_int_eq(vh.gso_type, VIRTIO_NET_HDR_GSO_TCPV6);
    ck_assert_int_eq(vh.gso_size, 1000);
    ck_assert_int_eq(vh.hdr_len, 60);
    ck_assert_int_eq(vh.csum_start, 40);
    ck_assert_int_eq(vh.csum_offset, 16);
    ck_assert_uint_eq(get16(b + 4), 20 + 2500);
    ck_assert_uint_eq(get32(b + 44), 1000);
    ck_assert_uint_eq(b[53] & 0x08, 0x08);
    ck_assert_uint_eq(get16(b + 56), pseudo6(b, (size_t)n));
    for (size_t i = 0; i < 2500; i++)
        ck_assert_uint_eq(b[60 + i], (uint8_t)(1000 + i));
    /* out of sequence: not joined */
    out6(seg6(10000, 1000, 0));
    out6(seg6(20000, 1000, 0));
    ns_netif_flush(&nif);
    ck_assert_int_eq(recv_vnet(&vh, b, sizeof(b)), 1060);
    ck_assert_int_eq(vh.gso_type, VIRTIO_NET_HDR_GSO_NONE);
    ck_assert_int_eq(recv_vnet(&vh, b, sizeof(b)), 1060);
    expect_no_pkt();
}
END_TEST

/* A Packet Too Big (MTU 1280) for DST6 read from the TUN. */
static void read_ptb(void)
{
    uint8_t b[40 + 8 + 60];

    memset(b, 0, sizeof(b));
    b[0] = 0x60;
    put16(b + 4, 8 + 60);
    b[6] = 58;
    b[7] = 64;
    inet_pton(AF_INET6, "2001:db8:2::10", b + 8);
    inet_pton(AF_INET6, SRC6, b + 24);
    b[40] = 2;
    put32(b + 44, 1280);
    struct pbuf *q = seg6(0, 0, 0);
    memcpy(b + 48, q->payload, 60);
    pbuf_free(q);
    send_vnet(NULL, b, sizeof(b));
    ck_assert_int_eq(ns_netif_read(&nif, 4), 1);
}

START_TEST(test_pmtu_cut)
{
    static uint8_t b[8000];
    struct virtio_net_hdr vh;

    read_ptb();
    ck_assert_uint_eq(nif.rx_ptb, 1);
    /* two full 1440-byte segments: one GSO packet cut at 1280 - 60 */
    out6(seg6(1000, 1440, 0));
    out6(seg6(2440, 1440, 0));
    ns_netif_flush(&nif);
    ck_assert_int_eq(recv_vnet(&vh, b, sizeof(b)), 60 + 2880);
    ck_assert_int_eq(vh.gso_type, VIRTIO_NET_HDR_GSO_TCPV6);
    ck_assert_int_eq(vh.gso_size, 1220);
    /* a lone one too, and one with FIN that is never coalesced */
    out6(seg6(5000, 1440, 0));
    ns_netif_flush(&nif);
    ck_assert_int_eq(recv_vnet(&vh, b, sizeof(b)), 1500);
    ck_assert_int_eq(vh.gso_type, VIRTIO_NET_HDR_GSO_TCPV6);
    ck_assert_int_eq(vh.gso_size, 1220);
    ck_assert_uint_eq(get16(b + 4), 1460);
    out6(seg6(6440, 1440, F_FIN));
    ck_assert_int_eq(recv_vnet(&vh, b, sizeof(b)), 1500);
    ck_assert_int_eq(vh.gso_type, VIRTIO_NET_HDR_GSO_TCPV6);
    ck_assert_int_eq(vh.gso_size, 1220);
    ck_assert_uint_eq(get16(b + 56), pseudo6(b, 1500));
    ck_assert_uint_eq(nif.tx_pmtu, 3);
    /* what fits is left alone */
    out6(seg6(7880, 1000, F_FIN));
    ck_assert_int_eq(recv_vnet(&vh, b, sizeof(b)), 1060);
    ck_assert_int_eq(vh.gso_type, VIRTIO_NET_HDR_GSO_NONE);
    expect_no_pkt();
}
END_TEST

/* The kernel hands over an IPv6 UDP packet with a partial checksum (pseudo-header sum in the
 * field): lwIP's UDP receives it complete. */
static uint8_t got[64];
static size_t got_len;
static uint16_t got_csum;

static void on_udp(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *a, u16_t port)
{
    (void)arg, (void)pcb, (void)a, (void)port;
    got_len = pbuf_copy_partial(p, got, sizeof(got), 0);
    /* p->payload is the UDP payload: the header lies 8 bytes before it */
    pbuf_header(p, 8);
    got_csum = get16((uint8_t *)p->payload + 6);
    pbuf_free(p);
}

START_TEST(test_partial_csum6)
{
    struct virtio_net_hdr vh = {
        .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 40, .csum_offset = 6};
    struct udp_pcb *u = udp_new_ip_type(IPADDR_TYPE_V6);
    uint8_t b[40 + 8 + 10], ph[40] = {0};

    ck_assert_int_eq(udp_bind(u, IP6_ADDR_ANY, 5353), ERR_OK);
    udp_recv(u, on_udp, NULL);
    memset(b, 0, sizeof(b));
    b[0] = 0x60;
    put16(b + 4, 18);
    b[6] = IP_PROTO_UDP;
    b[7] = 64;
    inet_pton(AF_INET6, SRC6, b + 8);
    inet_pton(AF_INET6, "2001:db8:64::1", b + 24);
    put16(b + 40, 4000);
    put16(b + 42, 5353);
    put16(b + 44, 18);
    memcpy(b + 48, "0123456789", 10);
    memcpy(ph, b + 8, 32);
    put32(ph + 32, 18);
    ph[39] = IP_PROTO_UDP;
    put16(b + 46, (uint16_t)~fold(sum16(ph, 40, 0))); /* what the kernel leaves there */
    send_vnet(&vh, b, sizeof(b));
    ck_assert_int_eq(ns_netif_read(&nif, 4), 1);
    ck_assert_uint_eq(got_len, 10);
    ck_assert_mem_eq(got, "0123456789", 10);
    put16(b + 46, got_csum);
    ck_assert_uint_ne(got_csum, 0);
    ck_assert_uint_eq(fold(sum16(b + 40, 18, sum16(ph, 40, 0))), 0); /* verifies */
    udp_remove(u);
}
END_TEST

/* An IPv6 UDP datagram larger than the TUN MTU leaves in fragments that fit it (lwIP's
 * IPv6 MTU is the netif's: with RA updates on it stayed 0 and the datagram left whole). */
START_TEST(test_udp6_fragments)
{
    static uint8_t b[8000];
    struct virtio_net_hdr vh;
    struct udp_pcb *u = udp_new_ip_type(IPADDR_TYPE_V6);
    struct pbuf *p = pbuf_alloc(PBUF_TRANSPORT, 3000, PBUF_RAM);
    ip_addr_t src, dst;
    size_t carried = 0;
    int frags = 0;
    ssize_t n;

    ck_assert_ptr_nonnull(u);
    ck_assert_ptr_nonnull(p);
    ip_addr_set_zero_ip6(&src);
    ip_addr_set_zero_ip6(&dst);
    inet_pton(AF_INET6, DST6, ip_2_ip6(&src)->addr);
    inet_pton(AF_INET6, SRC6, ip_2_ip6(&dst)->addr);
    ck_assert_int_eq(udp_bind(u, &src, 7), ERR_OK);
    memset(p->payload, 0x5a, 3000);
    ck_assert_int_eq(udp_sendto_if_src(u, p, &dst, 4000, &nif.netif, &src), ERR_OK);
    pbuf_free(p);
    ns_netif_flush(&nif);
    for (; frags < 3; frags++) {
        ck_assert_int_gt(recv(sv[1], b, 1, MSG_DONTWAIT | MSG_PEEK), 0);
        n = recv_vnet(&vh, b, sizeof(b));
        ck_assert_int_le(n, 1500);
        ck_assert_int_eq(b[6], 44); /* a fragment header follows the fixed one */
        ck_assert_uint_eq(get16(b + 4), (size_t)n - 40);
        carried += (size_t)n - 48;
    }
    expect_no_pkt();
    ck_assert_uint_eq(carried, 8 + 3000); /* the UDP header and the payload */
    udp_remove(u);
}
END_TEST

static Suite *ns_netif6_suite(void)
{
    Suite *s = suite_create("ns_netif6");
    TCase *tc = tcase_create("vnet6");

    tcase_add_checked_fixture(tc, setup_vnet, teardown);
    tcase_add_test(tc, test_coalesce6);
    tcase_add_test(tc, test_pmtu_cut);
    tcase_add_test(tc, test_partial_csum6);
    tcase_add_test(tc, test_udp6_fragments);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_check_run(ns_netif6_suite());
}
