/* ns_netif + the lwIP accept-any patch, over a socketpair standing in for the TUN fd
 * (ns_harness.h); vnet offloads (GSO receive, coalesced sends, partial checksums). */
#include "ns_harness.h"

START_TEST(test_listen_any_destination)
{
    struct accept_rec r = {0};
    struct tcp_pcb *lpcb = listener(IP4_ADDR_ANY, 8000, &r);

    handshake("198.51.100.10", 8000, 40000, &r);
    tcp_abort(r.pcb);
    tcp_close(lpcb);
}
END_TEST

START_TEST(test_listen_any_port)
{
    struct accept_rec any = {0}, exact = {0};
    struct tcp_pcb *lany = listener(NULL, 0, &any);
    struct tcp_pcb *l8000 = listener(IP4_ADDR_ANY, 8000, &exact);

    ip_set_option(lany, SOF_ANYPORT);
    handshake("198.51.100.11", 31337, 40001, &any);
    /* A listener on the exact port still wins over the any-port one. */
    handshake("203.0.113.10", 8000, 40002, &exact);
    ck_assert_int_eq(any.calls, 1);
    tcp_abort(any.pcb);
    tcp_abort(exact.pcb);
    tcp_close(lany);
    tcp_close(l8000);
}
END_TEST

START_TEST(test_no_listener_rst)
{
    struct pkt k;
    struct seg s;

    tcp_pkt(&k, "192.0.2.1", 40003, "198.51.100.10", 9999, 1000, 0, F_SYN);
    inject(&k);
    s = expect_pkt();
    ck_assert_uint_eq(s.flags & F_RST, F_RST);
    ck_assert_uint_eq(s.src, addr("198.51.100.10"));
}
END_TEST

START_TEST(test_connect_from_foreign_source)
{
    struct tcp_pcb *pcb = tcp_new();
    ip_addr_t local, remote;
    int connected = 0;
    struct pkt k;
    struct seg s;

    ip_addr_set_ip4_u32_val(local, addr("100.64.0.7"));
    ip_addr_set_ip4_u32_val(remote, addr("198.51.100.10"));
    ck_assert_ptr_nonnull(pcb);
    ck_assert_int_eq(tcp_bind(pcb, &local, 0), ERR_OK);
    tcp_arg(pcb, &connected);
    ck_assert_int_eq(tcp_connect(pcb, &remote, 22, on_connected), ERR_OK);

    s = expect_pkt();
    ck_assert_uint_eq(s.src, addr("100.64.0.7"));
    ck_assert_uint_eq(s.dst, addr("198.51.100.10"));
    ck_assert_uint_eq(s.dport, 22);
    ck_assert_uint_eq(s.sport, pcb->local_port);
    ck_assert_uint_eq(s.flags, F_SYN);

    tcp_pkt(&k, "198.51.100.10", 22, "100.64.0.7", s.sport, 7000, s.seq + 1, F_SYN | F_ACK);
    inject(&k);
    ck_assert_int_eq(connected, 1);
    ck_assert_int_eq(pcb->state, ESTABLISHED);
    s = expect_pkt(); /* the final ACK of the handshake */
    ck_assert_uint_eq(s.flags, F_ACK);
    ck_assert_uint_eq(s.ack, 7001);
    ck_assert_uint_eq(s.src, addr("100.64.0.7"));
    tcp_abort(pcb);
}
END_TEST

struct udp_rec {
    int calls;
    uint32_t src, dst;
    uint16_t sport, dport, len;
    char data[16];
};

static void on_udp(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *src,
                   u16_t sport)
{
    struct udp_rec *r = arg;

    (void)pcb;
    r->calls++;
    r->src = ip4_addr_get_u32(ip_2_ip4(src));
    r->sport = sport;
    r->dst = ip4_addr_get_u32(ip4_current_dest_addr());
    r->len = p->tot_len;
    pbuf_copy_partial(p, r->data, sizeof(r->data) - 1, 0);
    /* The UDP header (destination port) sits just before the payload. */
    ck_assert_int_eq(pbuf_add_header(p, 8), 0);
    r->dport = get16((uint8_t *)p->payload + 2);
    pbuf_free(p);
}

START_TEST(test_udp_any_destination)
{
    struct udp_pcb *u53 = udp_new(), *uany = udp_new();
    struct udp_rec r53 = {0}, rany = {0};
    struct pkt k;

    ck_assert_ptr_nonnull(u53);
    ck_assert_ptr_nonnull(uany);
    ck_assert_int_eq(udp_bind(u53, IP4_ADDR_ANY, 53), ERR_OK);
    udp_recv(u53, on_udp, &r53);
    ck_assert_int_eq(udp_bind(uany, IP4_ADDR_ANY, 0), ERR_OK);
    ip_set_option(uany, SOF_ANYPORT);
    udp_recv(uany, on_udp, &rany);

    udp_pkt(&k, "192.0.2.1", 5353, "203.0.113.5", 53, "hello");
    inject(&k);
    ck_assert_int_eq(r53.calls, 1);
    ck_assert_int_eq(rany.calls, 0);
    ck_assert_uint_eq(r53.src, addr("192.0.2.1"));
    ck_assert_uint_eq(r53.sport, 5353);
    ck_assert_uint_eq(r53.dst, addr("203.0.113.5"));
    ck_assert_uint_eq(r53.dport, 53);
    ck_assert_uint_eq(r53.len, 5);
    ck_assert_str_eq(r53.data, "hello");

    udp_pkt(&k, "192.0.2.1", 5354, "203.0.113.6", 4444, "any");
    inject(&k);
    ck_assert_int_eq(rany.calls, 1);
    ck_assert_uint_eq(rany.dst, addr("203.0.113.6"));
    ck_assert_uint_eq(rany.dport, 4444);
    ck_assert_str_eq(rany.data, "any");
    expect_no_pkt();
    udp_remove(u53);
    udp_remove(uany);
}
END_TEST

START_TEST(test_read_counters)
{
    struct pkt k;

    ck_assert_int_eq(ns_netif_read(&nif, 8), 0); /* EAGAIN */
    udp_pkt(&k, "192.0.2.1", 5353, "203.0.113.5", 53, "x");
    ck_assert_int_eq(send(sv[1], k.b, k.len, 0), (ssize_t)k.len);
    ck_assert_int_eq(send(sv[1], k.b, k.len, 0), (ssize_t)k.len);
    ck_assert_int_eq(ns_netif_read(&nif, 1), 1);
    ck_assert_int_eq(ns_netif_read(&nif, 8), 1);
    ck_assert_uint_eq(nif.rx_packets, 2);
    /* No pcb on port 53 and not the netif address: dropped silently (no ICMP). */
    expect_no_pkt();
    ck_assert_uint_eq(nif.tx_packets, 0);
}
END_TEST

/* Payload byte i of a test stream. */
static uint8_t pattern(size_t i)
{
    return (uint8_t)(i * 7 + (i >> 8));
}

struct recv_rec {
    uint8_t data[40000];
    size_t len;
    int calls;
};

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    struct recv_rec *r = arg;

    ck_assert_int_eq(err, ERR_OK);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_le(r->len + p->tot_len, sizeof(r->data));
    pbuf_copy_partial(p, r->data + r->len, p->tot_len, 0);
    r->len += p->tot_len;
    r->calls++;
    tcp_recved(pcb, p->tot_len);
    pbuf_free(p);
    return ERR_OK;
}

/* The kernel hands over a 30000-byte TCP super-packet (GSO, partial checksum): lwIP takes
 * it as one segment, delivers every byte and acknowledges all of it. */
START_TEST(test_vnet_gso_receive)
{
    static uint8_t b[20 + 20 + 30000];
    struct virtio_net_hdr vh = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
                                .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
                                .hdr_len = 40,
                                .gso_size = 1460,
                                .csum_start = 20,
                                .csum_offset = 16};
    struct accept_rec r = {0};
    struct recv_rec *rr = calloc(1, sizeof(*rr));
    struct tcp_pcb *l = listener(IP4_ADDR_ANY, 80, &r);
    struct pkt k;
    struct seg s;
    size_t i;

    handshake("198.51.100.10", 80, 40001, &r);
    tcp_arg(r.pcb, rr);
    tcp_recv(r.pcb, on_recv);
    tcp_pkt(&k, "192.0.2.1", 40001, "198.51.100.10", 80, 1001, 0, F_ACK);
    memcpy(b, k.b, 40);
    put16(b + 2, (uint16_t)sizeof(b));
    b[10] = b[11] = 0;
    put16(b + 10, fold(sum16(b, 20, 0)));
    put32(b + 28, r.pcb->snd_nxt);
    for (i = 0; i < 30000; i++)
        b[40 + i] = pattern(i);
    put16(b + 36, 0x1234); /* partial: whatever the kernel left there */
    send_vnet(&vh, b, sizeof(b));
    ck_assert_int_eq(ns_netif_read(&nif, 8), 1);
    ck_assert_uint_eq(nif.rx_gso, 1);
    ck_assert_uint_eq(rr->len, 30000);
    for (i = 0; i < 30000; i++)
        ck_assert_uint_eq(rr->data[i], pattern(i));
    tcp_ack_now(r.pcb);
    tcp_output(r.pcb);
    s = expect_pkt();
    ck_assert_uint_eq(s.ack, 1001 + 30000);
    tcp_abort(r.pcb);
    tcp_close(l);
    free(rr);
}
END_TEST

/* Three full segments lwIP sends in one burst leave as one packet with a TCPV4 GSO header
 * once flushed: IPv4 length and checksum redone, TCP checksum left partial. */
START_TEST(test_vnet_coalesce_send)
{
    static uint8_t data[4380], b[70000];
    struct accept_rec r = {0};
    struct tcp_pcb *l = listener(IP4_ADDR_ANY, 80, &r);
    struct virtio_net_hdr vh;
    uint8_t ph[12];
    size_t i;
    ssize_t n;
    uint32_t seq0;
    const u16_t len = 4 * 536;

    handshake("198.51.100.10", 80, 40002, &r);
    for (i = 0; i < sizeof(data); i++)
        data[i] = pattern(i);
    seq0 = r.pcb->snd_nxt;
    /* No MSS option in the SYN: 536-byte segments, initial cwnd 4 of them. */
    ck_assert_uint_eq(r.pcb->mss, 536);
    ck_assert_uint_ge(r.pcb->cwnd, len);
    ck_assert_int_eq(tcp_write(r.pcb, data, len, TCP_WRITE_FLAG_COPY), ERR_OK);
    ck_assert_int_eq(tcp_output(r.pcb), ERR_OK);
    /* Nothing on the wire until the flush. */
    ck_assert_int_lt(recv(sv[1], b, sizeof(b), MSG_DONTWAIT), 0);
    ns_netif_flush(&nif);
    n = recv_vnet(&vh, b, sizeof(b));
    ck_assert_int_eq(n, 40 + (ssize_t)len);
    ck_assert_uint_eq(nif.tx_gso, 1);
    ck_assert_int_eq(vh.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
    ck_assert_int_eq(vh.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
    ck_assert_int_eq(vh.gso_size, 536);
    ck_assert_int_eq(vh.hdr_len, 40);
    ck_assert_int_eq(vh.csum_start, 20);
    ck_assert_int_eq(vh.csum_offset, 16);
    ck_assert_int_eq(get16(b + 2), n);
    ck_assert_uint_eq(fold(sum16(b, 20, 0)), 0);
    ck_assert_uint_eq(get32(b + 24), seq0);
    ck_assert_uint_eq(b[33] & (F_SYN | F_FIN | F_RST), 0);
    /* Partial checksum: the pseudo-header sum (not complemented) over the whole length. */
    memcpy(ph, b + 12, 8);
    ph[8] = 0;
    ph[9] = IP_PROTO_TCP;
    put16(ph + 10, (uint16_t)(n - 20));
    ck_assert_uint_eq(get16(b + 36), (uint16_t)~fold(sum16(ph, sizeof(ph), 0)));
    ck_assert_mem_eq(b + 40, data, len);
    complete_csum(&vh, b, (size_t)n);
    ck_assert_uint_eq(l4_csum(b, (size_t)n - 20), 0);
    expect_no_pkt();
    tcp_abort(r.pcb);
    tcp_close(l);
}
END_TEST

/* A packet that cannot join the batch (here one ns_netif_send writes) flushes it first:
 * the order on the wire is the order lwIP and the gateway produced. A lone segment leaves
 * as a plain packet (no GSO) with a partial checksum. */
START_TEST(test_vnet_flush_keeps_order)
{
    static uint8_t data[100], b[2000];
    struct accept_rec r = {0};
    struct tcp_pcb *l = listener(IP4_ADDR_ANY, 80, &r);
    struct virtio_net_hdr vh;
    struct pkt k;
    ssize_t n;

    handshake("198.51.100.10", 80, 40003, &r);
    memset(data, 'x', sizeof(data));
    ck_assert_int_eq(tcp_write(r.pcb, data, sizeof(data), TCP_WRITE_FLAG_COPY), ERR_OK);
    ck_assert_int_eq(tcp_output(r.pcb), ERR_OK);
    udp_pkt(&k, "198.51.100.10", 53, "192.0.2.1", 5353, "after");
    ck_assert_int_eq(ns_netif_send(&nif, k.b, k.len), 0);
    n = recv_vnet(&vh, b, sizeof(b));
    ck_assert_int_eq(n, 140);
    ck_assert_int_eq(vh.gso_type, VIRTIO_NET_HDR_GSO_NONE);
    complete_csum(&vh, b, (size_t)n);
    ck_assert_uint_eq(l4_csum(b, 120), 0);
    ck_assert_uint_eq(nif.tx_gso, 0);
    n = recv_vnet(&vh, b, sizeof(b));
    ck_assert_int_eq(n, (ssize_t)k.len);
    ck_assert_mem_eq(b, k.b, k.len);
    tcp_abort(r.pcb);
    tcp_close(l);
}
END_TEST

/* Sends n bytes of 'a'+i from 198.51.100.10:53 to dst:5353 through lwIP. */
static void udp_out(struct udp_pcb *u, const char *dst, size_t n, int i)
{
    struct pbuf *p = pbuf_alloc(PBUF_TRANSPORT, (u16_t)n, PBUF_RAM);
    ip_addr_t d, src;

    ck_assert_ptr_nonnull(p);
    memset(p->payload, 'a' + i, n);
    ip_addr_set_ip4_u32_val(d, addr(dst));
    ip_addr_set_ip4_u32_val(src, addr("198.51.100.10"));
    ck_assert_int_eq(udp_sendto_if_src(u, p, &d, 5353, &nif.netif, &src), ERR_OK);
    pbuf_free(p);
}

/* Datagrams of one flow sent in one batch leave as one UDP GSO packet (the kernel cuts it
 * at gso_size): three of 1000 bytes and a shorter last one; the next flow's datagram, on its
 * own, leaves as lwIP built it. */
START_TEST(test_vnet_udp_coalesce)
{
    static uint8_t b[70000];
    struct udp_pcb *u = udp_new();
    struct virtio_net_hdr vh;
    uint8_t ph[12];
    ssize_t n;

    ck_assert_ptr_nonnull(u);
    ck_assert_int_eq(udp_bind(u, IP4_ADDR_ANY, 53), ERR_OK);
    for (int i = 0; i < 3; i++)
        udp_out(u, "192.0.2.1", 1000, i);
    udp_out(u, "192.0.2.1", 500, 3);
    ck_assert_int_lt(recv(sv[1], b, sizeof(b), MSG_DONTWAIT), 0); /* batched */
    udp_out(u, "192.0.2.2", 700, 4); /* another flow: writes the batch */
    ns_netif_flush(&nif);
    n = recv_vnet(&vh, b, sizeof(b));
    ck_assert_int_eq(n, 28 + 3500);
    ck_assert_int_eq(vh.gso_type, 5 /* VIRTIO_NET_HDR_GSO_UDP_L4 */);
    ck_assert_int_eq(vh.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
    ck_assert_int_eq(vh.gso_size, 1000);
    ck_assert_int_eq(vh.hdr_len, 28);
    ck_assert_int_eq(vh.csum_start, 20);
    ck_assert_int_eq(vh.csum_offset, 6);
    ck_assert_int_eq(get16(b + 2), n);
    ck_assert_uint_eq(fold(sum16(b, 20, 0)), 0);
    ck_assert_int_eq(get16(b + 24), n - 20);
    memcpy(ph, b + 12, 8);
    ph[8] = 0;
    ph[9] = IP_PROTO_UDP;
    put16(ph + 10, (uint16_t)(n - 20));
    ck_assert_uint_eq(get16(b + 26), (uint16_t)~fold(sum16(ph, sizeof(ph), 0)));
    for (int i = 0; i < 4; i++)
        for (size_t j = 0; j < (i < 3 ? 1000u : 500u); j++)
            ck_assert_uint_eq(b[28 + (size_t)i * 1000 + j], 'a' + i);
    ck_assert_uint_eq(nif.tx_gso, 1);
    /* the other flow's datagram: plain, lwIP's full checksum */
    n = recv_vnet(&vh, b, sizeof(b));
    ck_assert_int_eq(n, 28 + 700);
    ck_assert_int_eq(vh.gso_type, VIRTIO_NET_HDR_GSO_NONE);
    ck_assert_int_eq(vh.flags, 0);
    ck_assert_uint_eq(l4_csum(b, 708), 0);
    ck_assert_uint_eq(nif.tx_packets, 5);
    expect_no_pkt();
    udp_remove(u);
}
END_TEST

struct udp_seen {
    int calls;
    uint16_t len[8];
    char first[8], last[8];
};

static void on_udp_seen(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *src,
                        u16_t sport)
{
    struct udp_seen *r = arg;

    (void)pcb;
    (void)src;
    ck_assert_uint_eq(sport, 5353);
    if (r->calls < 8) {
        r->len[r->calls] = p->tot_len;
        pbuf_copy_partial(p, &r->first[r->calls], 1, 0);
        pbuf_copy_partial(p, &r->last[r->calls], 1, (u16_t)(p->tot_len - 1));
    }
    r->calls++;
    pbuf_free(p);
}

/* A UDP GSO super-packet from the kernel (UDP GRO on the way, TUN_F_USO4) reaches lwIP as
 * the datagrams it stands for: 1200 bytes cut at 500 are three datagrams, in order. */
START_TEST(test_vnet_udp_gso_receive)
{
    struct virtio_net_hdr vh = {
        .gso_type = 5 /* VIRTIO_NET_HDR_GSO_UDP_L4 */, .hdr_len = 28, .gso_size = 500};
    struct udp_pcb *u = udp_new();
    struct udp_seen r = {0};
    static char data[1201];
    struct pkt k;

    ck_assert_ptr_nonnull(u);
    ck_assert_int_eq(udp_bind(u, IP4_ADDR_ANY, 53), ERR_OK);
    udp_recv(u, on_udp_seen, &r);
    memset(data, 'a', 500);
    memset(data + 500, 'b', 500);
    memset(data + 1000, 'c', 200);
    udp_pkt(&k, "192.0.2.1", 5353, "203.0.113.5", 53, data);
    send_vnet(&vh, k.b, k.len);
    ck_assert_int_eq(ns_netif_read(&nif, 8), 3);
    ck_assert_int_eq(r.calls, 3);
    ck_assert_uint_eq(r.len[0], 500);
    ck_assert_uint_eq(r.len[1], 500);
    ck_assert_uint_eq(r.len[2], 200);
    ck_assert(r.first[0] == 'a' && r.last[0] == 'a');
    ck_assert(r.first[1] == 'b' && r.last[1] == 'b');
    ck_assert(r.first[2] == 'c' && r.last[2] == 'c');
    ck_assert_uint_eq(nif.rx_gso, 1);
    ck_assert_uint_eq(nif.rx_packets, 3);
    /* not IPv4 UDP: dropped whole */
    vh.gso_size = 0;
    send_vnet(&vh, k.b, k.len);
    ck_assert_int_eq(ns_netif_read(&nif, 8), 0);
    ck_assert_int_eq(r.calls, 3);
    udp_remove(u);
}
END_TEST

static uint8_t hooked[256];
static size_t hooked_len;

static int icmp_hook(void *arg, uint8_t *pkt, size_t len)
{
    (void)arg;
    ck_assert_uint_le(len, sizeof(hooked));
    memcpy(hooked, pkt, len);
    hooked_len = len;
    return 1;
}

/* A checksum the kernel left partial (NEEDS_CSUM) is completed before anything else sees
 * the packet: relayed ICMP must leave with a valid checksum. */
START_TEST(test_vnet_partial_csum_completed)
{
    struct virtio_net_hdr vh = {
        .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 20, .csum_offset = 2};
    uint8_t b[20 + 8 + 32];

    memset(b, 0, sizeof(b));
    b[0] = 0x45;
    put16(b + 2, sizeof(b));
    b[8] = 64;
    b[9] = 1;
    put32(b + 12, 0xc0000201);
    put32(b + 16, 0xcb00710a);
    put16(b + 10, fold(sum16(b, 20, 0)));
    b[20] = 8; /* echo request, checksum field 0 */
    memset(b + 28, 'p', 32);
    nif.icmp_hook = icmp_hook;
    send_vnet(&vh, b, sizeof(b));
    ck_assert_int_eq(ns_netif_read(&nif, 8), 1);
    ck_assert_uint_eq(hooked_len, sizeof(b));
    ck_assert_uint_eq(fold(sum16(hooked + 20, sizeof(b) - 20, 0)), 0);
    ck_assert_uint_ne(get16(hooked + 22), 0);
}
END_TEST

struct udp_order {
    int calls;
    int seq[64];
};

static void on_udp_order(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *src,
                         u16_t sport)
{
    struct udp_order *r = arg;
    char b[8] = {0};

    (void)pcb;
    (void)src;
    (void)sport;
    pbuf_copy_partial(p, b, sizeof(b) - 1, 0);
    if (r->calls < 64)
        r->seq[r->calls] = atoi(b + 2);
    r->calls++;
    pbuf_free(p);
}

/* Sends n datagrams "n=0 ..." to port 53 (each padded to a different length). */
static void send_numbered(int from, int n)
{
    static char data[1300];
    struct pkt k;

    for (int i = from; i < from + n; i++) {
        int len = snprintf(data, sizeof(data), "n=%d ", i);
        memset(data + len, 'a' + i % 26, (size_t)(100 + i * 20));
        data[len + 100 + i * 20] = 0;
        udp_pkt(&k, "192.0.2.1", 5353, "203.0.113.5", 53, data);
        send_vnet(NULL, k.b, k.len);
    }
}

/* Batched reads (io_uring, RWF_NOWAIT): 40 datagrams waiting are read in batches of 4, 8, 16
 * and 16 (the last finds 12 and EAGAIN), every one reaches lwIP once and in order, and a
 * budget cuts a batch. Where the kernel refuses io_uring, reads go on one by one. */
START_TEST(test_batch_reads_in_order)
{
    struct udp_pcb *u = udp_new();
    struct udp_order r = {0};
    int rc = ns_netif_batch_reads(&nif);

    ck_assert_ptr_nonnull(u);
    ck_assert_int_eq(udp_bind(u, IP4_ADDR_ANY, 53), ERR_OK);
    udp_recv(u, on_udp_order, &r);
    if (rc < 0) { /* no io_uring here: the fallback must still read everything */
        fprintf(stderr, "test_batch_reads_in_order: io_uring unavailable (%s), one read each\n",
                strerror(-rc));
        ck_assert_int_eq(nif.batch_err, -rc);
        ck_assert_ptr_null(nif.batch);
    }
    send_numbered(0, 40);
    ck_assert_int_eq(ns_netif_read(&nif, 256), 40);
    ck_assert_int_eq(r.calls, 40);
    for (int i = 0; i < 40; i++)
        ck_assert_int_eq(r.seq[i], i);
    ck_assert_uint_eq(nif.rx_packets, 40);
    ck_assert_uint_eq(nif.rx_drops, 0);
    if (rc == 0) {
        ck_assert_int_eq(nif.batch_err, 0);
        ck_assert_uint_eq(nif.rx_batches, 4);
    }
    /* a budget of 10 reads: batches of 4 and 6; the rest on the next call */
    send_numbered(40, 15);
    ck_assert_int_eq(ns_netif_read(&nif, 10), 10);
    ck_assert_int_eq(ns_netif_read(&nif, 10), 5);
    ck_assert_int_eq(r.calls, 55);
    for (int i = 40; i < 55; i++)
        ck_assert_int_eq(r.seq[i], i);
    ck_assert_int_eq(ns_netif_read(&nif, 10), 0); /* EAGAIN */
    udp_remove(u);
}
END_TEST

static void setup_batch(void)
{
    setup_vnet();
    ck_assert_int_eq(ns_netif_batch_reads(&nif), 0);
}

static Suite *ns_netif_suite(void)
{
    Suite *s = suite_create("ns_netif");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_listen_any_destination);
    tcase_add_test(tc, test_listen_any_port);
    tcase_add_test(tc, test_no_listener_rst);
    tcase_add_test(tc, test_connect_from_foreign_source);
    tcase_add_test(tc, test_udp_any_destination);
    tcase_add_test(tc, test_read_counters);
    suite_add_tcase(s, tc);
    tc = tcase_create("vnet");
    tcase_add_checked_fixture(tc, setup_vnet, teardown);
    tcase_add_test(tc, test_listen_any_destination);
    tcase_add_test(tc, test_connect_from_foreign_source);
    tcase_add_test(tc, test_vnet_gso_receive);
    tcase_add_test(tc, test_vnet_coalesce_send);
    tcase_add_test(tc, test_vnet_flush_keeps_order);
    tcase_add_test(tc, test_vnet_udp_coalesce);
    tcase_add_test(tc, test_vnet_udp_gso_receive);
    tcase_add_test(tc, test_vnet_partial_csum_completed);
    tcase_add_test(tc, test_batch_reads_in_order);
    suite_add_tcase(s, tc);
    /* the same with batched reads (io_uring): every buffer a batch lends or hands on */
    tc = tcase_create("batched");
    tcase_add_checked_fixture(tc, setup_batch, teardown);
    tcase_add_test(tc, test_listen_any_destination);
    tcase_add_test(tc, test_connect_from_foreign_source);
    tcase_add_test(tc, test_read_counters);
    tcase_add_test(tc, test_vnet_gso_receive);
    tcase_add_test(tc, test_vnet_udp_gso_receive);
    tcase_add_test(tc, test_vnet_partial_csum_completed);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_check_run(ns_netif_suite());
}
