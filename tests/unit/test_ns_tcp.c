/* lwIP's TCP as our patches leave it, and the netstack's own TCP helpers, over the
 * socketpair TUN of ns_harness.h: ns_tcp_connect_from and port picking, the unacked tail
 * (patch 0005), an abort's RST (0006), doubly linked pcb lists (0007), ns_rand's pool. */
#include "ns_harness.h"

#include "lwip/timeouts.h"

/* ns_tcp_connect_from: the given source port without tcp_bind's clash walk; two
 * connections may share a local address and port toward different destinations, and each
 * gets its own SYN-ACK. */
START_TEST(test_connect_from_fast)
{
    struct tcp_pcb *a = tcp_new(), *b = tcp_new(), *c = tcp_new();
    ip_addr_t local, r1, r2;
    int connected = 0;
    struct pkt k;
    struct seg s1, s2;

    ip_addr_set_ip4_u32_val(local, addr("198.51.100.20"));
    ip_addr_set_ip4_u32_val(r1, addr("203.0.113.10"));
    ip_addr_set_ip4_u32_val(r2, addr("203.0.113.11"));
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_nonnull(c);
    tcp_arg(a, &connected);
    tcp_arg(b, &connected);
    ck_assert_int_eq(ns_tcp_connect_from(a, &local, 40404, &r1, 80, on_connected), ERR_OK);
    s1 = expect_pkt();
    ck_assert_int_eq(ns_tcp_connect_from(b, &local, 40404, &r2, 80, on_connected), ERR_OK);
    s2 = expect_pkt();
    ck_assert_uint_eq(s1.src, addr("198.51.100.20"));
    ck_assert_uint_eq(s1.sport, 40404);
    ck_assert_uint_eq(s1.dst, addr("203.0.113.10"));
    ck_assert_uint_eq(s1.flags, F_SYN);
    ck_assert_uint_eq(s2.sport, 40404);
    ck_assert_uint_eq(s2.dst, addr("203.0.113.11"));
    /* the 4-tuple of an active connection: refused, c left fresh */
    ck_assert_int_eq(ns_tcp_connect_from(c, &local, 40404, &r1, 80, on_connected), ERR_USE);
    ck_assert_uint_eq(c->local_port, 0);
    ck_assert(ns_tcp_tuple_active(&local, 40404, &r1, 80));
    ck_assert(!ns_tcp_tuple_active(&local, 40404, &r1, 81));
    /* port picking: the preferred port while it is free, else a free ephemeral one */
    ck_assert_uint_eq(ns_tcp_pick_port(&local, 40404, &r1, 81, 8), 40404);
    for (int i = 0; i < 100; i++) {
        u16_t p = ns_tcp_pick_port(&local, 40404, &r1, 80, 8);
        ck_assert_uint_ge(p, NS_EPHEMERAL_LO);
        ck_assert(!ns_tcp_tuple_active(&local, p, &r1, 80));
    }
    ck_assert_uint_eq(ns_tcp_pick_port(&local, 40404, &r1, 80, 0), 0);
    /* a pcb already connecting, or no port: refused */
    ck_assert_int_eq(ns_tcp_connect_from(a, &local, 40405, &r1, 81, on_connected), ERR_VAL);
    ck_assert_int_eq(ns_tcp_connect_from(c, &local, 0, &r1, 81, on_connected), ERR_VAL);

    tcp_pkt(&k, "203.0.113.11", 80, "198.51.100.20", 40404, 9000, s2.seq + 1, F_SYN | F_ACK);
    inject(&k);
    ck_assert_int_eq(connected, 1);
    ck_assert_int_eq(b->state, ESTABLISHED);
    ck_assert_int_eq(a->state, SYN_SENT);
    ck_assert_uint_eq(expect_pkt().ack, 9001);
    tcp_pkt(&k, "203.0.113.10", 80, "198.51.100.20", 40404, 5000, s1.seq + 1, F_SYN | F_ACK);
    inject(&k);
    ck_assert_int_eq(connected, 2);
    ck_assert_int_eq(a->state, ESTABLISHED);
    ck_assert_uint_eq(expect_pkt().ack, 5001);
    tcp_abort(a);
    tcp_abort(b);
    tcp_abort(c);
    expect_pkt(); /* the RSTs */
    expect_pkt();
}
END_TEST

/* netstack patch 0005: the pcb's unacked_tail is the unacked queue's last segment (NULL
 * when it is empty) through sends, partial and full ACKs, a fast retransmit and an RTO. */
static void drain(void)
{
    uint8_t b[1600];

    ns_netif_flush(&nif);
    for (int i = 0; i < 1000 && recv(sv[1], b, sizeof(b), MSG_DONTWAIT) > 0; i++)
        ;
}

static int check_tail(const struct tcp_pcb *pcb)
{
    const struct tcp_seg *s = pcb->unacked;
    int n = s != NULL;

    for (; s && s->next; s = s->next)
        n++;
    ck_assert_ptr_eq(pcb->unacked_tail, s);
    return n;
}

static void ack(uint32_t ackno)
{
    struct pkt k;

    tcp_pkt(&k, "192.0.2.1", 40003, "198.51.100.10", 80, 1001, ackno, F_ACK);
    inject(&k);
    drain();
}

START_TEST(test_unacked_tail)
{
    static uint8_t data[8 * 536];
    struct accept_rec r = {0};
    struct tcp_pcb *l = listener(IP4_ADDR_ANY, 80, &r), *pcb;
    uint32_t seq0;

    handshake("198.51.100.10", 80, 40003, &r);
    pcb = r.pcb;
    seq0 = pcb->snd_nxt;
    ck_assert_int_eq(check_tail(pcb), 0);
    ck_assert_int_eq(tcp_write(pcb, data, 4 * 536, TCP_WRITE_FLAG_COPY), ERR_OK);
    ck_assert_int_eq(tcp_output(pcb), ERR_OK);
    drain();
    ck_assert_int_eq(check_tail(pcb), 4);
    ack(seq0 + 2 * 536); /* the head goes, the tail stays */
    ck_assert_int_eq(check_tail(pcb), 2);
    ck_assert_int_eq(tcp_write(pcb, data, sizeof(data), TCP_WRITE_FLAG_COPY), ERR_OK);
    ck_assert_int_eq(tcp_output(pcb), ERR_OK);
    drain();
    ck_assert_int_ge(check_tail(pcb), 3);
    /* three duplicate ACKs: fast retransmit moves the head to unsent and sends it again,
     * back into the middle of the queue */
    for (int i = 0; i < 3; i++)
        ack(seq0 + 2 * 536);
    ck_assert(pcb->flags & TF_INFR);
    ck_assert_int_ge(check_tail(pcb), 3);
    for (int i = 0; i < 20 && (pcb->unacked || pcb->unsent); i++) {
        ack(pcb->snd_nxt); /* all that was sent; lwIP sends more */
        check_tail(pcb);
    }
    ck_assert_int_eq(check_tail(pcb), 0);
    ck_assert_ptr_null(pcb->unsent);
    ck_assert_int_eq(tcp_write(pcb, data, 4 * 536, TCP_WRITE_FLAG_COPY), ERR_OK);
    ck_assert_int_eq(tcp_output(pcb), ERR_OK);
    drain();
    ck_assert_int_ge(check_tail(pcb), 2);
    tcp_rexmit_rto(pcb); /* all of unacked back to unsent (empty), then resent */
    drain();
    ck_assert_int_ge(check_tail(pcb), 1);
    ack(pcb->snd_nxt);
    ck_assert_int_eq(check_tail(pcb), 0);
    tcp_abort(pcb);
    tcp_close(l);
}
END_TEST

/* Aborting a connection with a delayed ACK pending sends only the RST, which acknowledges
 * the data (patch 0006); lwIP used to send the ACK first. */
START_TEST(test_abort_rst_acks)
{
    struct accept_rec r = {0};
    struct tcp_pcb *l = listener(IP4_ADDR_ANY, 80, &r), *pcb;
    struct pkt k;
    struct seg s;

    handshake("198.51.100.10", 80, 40004, &r);
    pcb = r.pcb;
    tcp_data_pkt(&k, "192.0.2.1", 40004, "198.51.100.10", 80, 1001, pcb->snd_nxt, F_ACK, "hello",
                 5);
    inject(&k);
    expect_no_pkt(); /* the ACK is delayed */
    ck_assert(pcb->flags & TF_ACK_DELAY);
    tcp_abort(pcb);
    s = expect_pkt();
    ck_assert_uint_eq(s.flags, F_RST | F_ACK);
    ck_assert_uint_eq(s.ack, 1006);
    ck_assert_uint_eq(s.dport, 40004);
    expect_no_pkt();
    tcp_close(l);
}
END_TEST

/* Walks a pcb list checking the prev links (patch 0007); returns its length. */
static int check_links(struct tcp_pcb *head)
{
    int n = 0;

    if (head)
        ck_assert_ptr_null(head->prev);
    for (struct tcp_pcb *p = head; p && n < 10000; p = p->next, n++)
        if (p->next)
            ck_assert_ptr_eq(p->next->prev, p);
    return n;
}

/* 40 connections ended in a mixed order (the newest = head, the oldest = tail, the
 * middle; by abort and by the peer's RST): the active list stays linked both ways,
 * shrinks by one each time, and ends empty. */
START_TEST(test_pcb_list_links)
{
    enum { N = 40 };
    static const int order[] = {39, 0, 20, 38, 1, 21, 19, 2, 37, 22};
    struct accept_rec r = {0};
    struct tcp_pcb *l = listener(IP4_ADDR_ANY, 80, &r), *pcbs[N];
    int live = N, base = check_links(tcp_active_pcbs);
    struct pkt k;

    for (int i = 0; i < N; i++) {
        r.calls = 0;
        handshake("198.51.100.10", 80, (uint16_t)(41000 + i), &r);
        pcbs[i] = r.pcb;
    }
    ck_assert_int_eq(check_links(tcp_active_pcbs), base + N);
    for (size_t j = 0; j < sizeof(order) / sizeof(order[0]); j++) {
        int i = order[j];
        if (j % 2) {
            tcp_abort(pcbs[i]);
            drain();
        } else {
            tcp_pkt(&k, "192.0.2.1", (uint16_t)(41000 + i), "198.51.100.10", 80, 1001,
                    pcbs[i]->snd_nxt, F_RST | F_ACK);
            inject(&k);
        }
        pcbs[i] = NULL;
        ck_assert_int_eq(check_links(tcp_active_pcbs), base + --live);
    }
    for (int i = 0; i < N; i++)
        if (pcbs[i]) {
            tcp_abort(pcbs[i]);
            ck_assert_int_eq(check_links(tcp_active_pcbs), base + --live);
        }
    ck_assert_int_eq(live, 0);
    drain();
    tcp_close(l);
}
END_TEST

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* ns_rand hands out a pool of 64 values per getrandom: across several refills the values
 * stay distinct (a stuck pool or a refill that repeats would not) and use all 32 bits. */
START_TEST(test_rand_pool)
{
    enum { N = 1000 };
    static uint32_t v[N];
    uint32_t any = 0;
    int dups = 0;

    for (int i = 0; i < N; i++) {
        v[i] = ns_rand();
        any |= v[i];
    }
    qsort(v, N, sizeof(v[0]), cmp_u32);
    for (int i = 1; i < N; i++)
        dups += v[i] == v[i - 1];
    ck_assert_int_le(dups, 1); /* 1000 draws of 32 bits: a repeat has p ~ 1e-4 */
    ck_assert_uint_eq(any >> 28, 0xf);
}
END_TEST

/* ---- IPv6 (dual-stack lwIP, patch 0008, the netif's output_ip6) */

/* An IPv6 packet into k: header, then the l4len bytes of l4 with the checksum at csum_at
 * (within l4) computed over the IPv6 pseudo header. */
static void ip6_pkt(struct pkt *k, uint8_t proto, const char *src, const char *dst,
                    const uint8_t *l4, size_t l4len, size_t csum_at)
{
    uint8_t *ip = k->b, *t = k->b + 40, ph[40];

    memset(ip, 0, 40);
    ip[0] = 0x60;
    put16(ip + 4, (uint16_t)l4len);
    ip[6] = proto;
    ip[7] = 64;
    ck_assert_int_eq(inet_pton(AF_INET6, src, ip + 8), 1);
    ck_assert_int_eq(inet_pton(AF_INET6, dst, ip + 24), 1);
    memcpy(t, l4, l4len);
    put16(t + csum_at, 0);
    memset(ph, 0, sizeof(ph));
    memcpy(ph, ip + 8, 32);
    put16(ph + 34, (uint16_t)l4len);
    ph[39] = proto;
    put16(t + csum_at, fold(sum16(t, l4len, sum16(ph, sizeof(ph), 0))));
    k->len = 40 + l4len;
}

/* IPv6 + a TCP segment without options or data. */
static void tcp6_pkt(struct pkt *k, const char *src, uint16_t sport, const char *dst,
                     uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags)
{
    uint8_t t[20];

    tcp_hdr(t, sport, dport, seq, ack, flags);
    ip6_pkt(k, IP_PROTO_TCP, src, dst, t, sizeof(t), 16);
}

/* Reads the next packet lwIP wrote, which must be IPv6 TCP from src to dst with a valid
 * checksum (completed when partial), and parses it. */
static struct seg expect_pkt6(const char *src, const char *dst)
{
    uint8_t b[1600], a[16], ph[40];
    struct virtio_net_hdr vh;
    struct seg s;
    ssize_t n;

    ns_netif_flush(&nif);
    n = recv_vnet(&vh, b, sizeof(b));
    ck_assert_int_ge(n, 60);
    ck_assert_int_eq(b[0] >> 4, 6);
    if (nif.vnet) { /* lwIP leaves TCP checksums to the kernel there: a partial one */
        ck_assert_int_eq(vh.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
        ck_assert_int_eq(vh.csum_start, 40);
        ck_assert_int_eq(vh.csum_offset, 16);
        put16(b + 56, fold(sum16(b + 40, (size_t)n - 40, 0)));
    }
    ck_assert_int_eq(b[6], IP_PROTO_TCP);
    ck_assert_int_eq(get16(b + 4), n - 40);
    ck_assert_int_eq(inet_pton(AF_INET6, src, a), 1);
    ck_assert_mem_eq(b + 8, a, 16);
    ck_assert_int_eq(inet_pton(AF_INET6, dst, a), 1);
    ck_assert_mem_eq(b + 24, a, 16);
    memset(ph, 0, sizeof(ph));
    memcpy(ph, b + 8, 32);
    put16(ph + 34, (uint16_t)(n - 40));
    ph[39] = IP_PROTO_TCP;
    ck_assert_uint_eq(fold(sum16(b + 40, (size_t)n - 40, sum16(ph, sizeof(ph), 0))), 0);
    memset(&s, 0, sizeof(s));
    s.proto = IP_PROTO_TCP;
    s.sport = get16(b + 40);
    s.dport = get16(b + 42);
    s.seq = get32(b + 44);
    s.ack = get32(b + 48);
    s.flags = b[53];
    return s;
}

/* An active IPv6 connection from a virtual source the netif does not own (it has no IPv6
 * address at all): the SYN leaves through output_ip6, and the SYN-ACK to the virtual source
 * is accepted (patch 0008) and completes the handshake. */
static void ipv6_connect_from(void)
{
    struct tcp_pcb *a = tcp_new_ip_type(IPADDR_TYPE_V6);
    ip_addr_t local, remote;
    int connected = 0;
    struct pkt k;
    struct seg s;

    ck_assert_ptr_nonnull(a);
    ck_assert(ipaddr_aton("2001:db8:64::2", &local));
    ck_assert(ipaddr_aton("2001:db8:51::10", &remote));
    tcp_arg(a, &connected);
    ck_assert_int_eq(ns_tcp_connect_from(a, &local, 40404, &remote, 8000, on_connected), ERR_OK);
    s = expect_pkt6("2001:db8:64::2", "2001:db8:51::10");
    ck_assert_uint_eq(s.sport, 40404);
    ck_assert_uint_eq(s.dport, 8000);
    ck_assert_uint_eq(s.flags, F_SYN);
    tcp6_pkt(&k, "2001:db8:51::10", 8000, "2001:db8:64::2", 40404, 7000, s.seq + 1, F_SYN | F_ACK);
    inject(&k);
    ck_assert_int_eq(connected, 1);
    ck_assert_int_eq(a->state, ESTABLISHED);
    s = expect_pkt6("2001:db8:64::2", "2001:db8:51::10");
    ck_assert_uint_eq(s.ack, 7001);
    ck_assert_uint_eq(s.flags, F_ACK);
    tcp_abort(a);
    s = expect_pkt6("2001:db8:64::2", "2001:db8:51::10");
    ck_assert_uint_eq(s.flags & F_RST, F_RST);
}

START_TEST(test_ipv6_connect_from)
{
    ipv6_connect_from();
}
END_TEST

/* The same over a vnet TUN (offloads on, as the gateway runs it): lwIP computes no TCP
 * checksum there, so every IPv6 segment must leave with a partial one the kernel finishes
 * (without it the SYNs reached the private host with a bad checksum). */
START_TEST(test_ipv6_connect_from_vnet)
{
    ck_assert_int_eq(ns_netif_set_vnet(&nif, true), 0);
    ipv6_connect_from();
}
END_TEST

/* patch 0008: lwIP does not answer an ICMPv6 echo request for a host behind the tunnel
 * (the netif accepts every destination but owns none of them). */
START_TEST(test_ipv6_no_foreign_echo)
{
    uint8_t echo[16] = {128, 0, 0, 0, 0x12, 0x34, 0, 1, 'p', 'i', 'n', 'g', 0, 0, 0, 0};
    struct pkt k;

    ip6_pkt(&k, 58, "2001:db8:64::2", "2001:db8:51::10", echo, sizeof(echo), 2);
    inject(&k);
    expect_no_pkt();
}
END_TEST

/* Every lwIP cyclic timer runs (a dual-stack option that lwIP checks only in a timer, such as
 * IPV6_FRAG_COPYHEADER on 64-bit, aborted the gateway a second after start). */
START_TEST(test_cyclic_timers)
{
    for (int i = 0; i < lwip_num_cyclic_timers; i++)
        lwip_cyclic_timers[i].handler();
    ck_assert_int_gt(lwip_num_cyclic_timers, 3);
}
END_TEST

static Suite *ns_tcp_suite(void)
{
    Suite *s = suite_create("ns_tcp");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_connect_from_fast);
    tcase_add_test(tc, test_unacked_tail);
    tcase_add_test(tc, test_abort_rst_acks);
    tcase_add_test(tc, test_pcb_list_links);
    tcase_add_test(tc, test_rand_pool);
    tcase_add_test(tc, test_ipv6_connect_from);
    tcase_add_test(tc, test_ipv6_connect_from_vnet);
    tcase_add_test(tc, test_ipv6_no_foreign_echo);
    tcase_add_test(tc, test_cyclic_timers);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_check_run(ns_tcp_suite());
}
