/* ns_netif + the lwIP accept-any patch, over a socketpair standing in for the TUN fd. */
#include "st_check.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/virtio_net.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "lwip/ip.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"
#include "lwip/udp.h"
#include "ns_netif.h"
#include "ns_stack.h"

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_ACK 0x10

struct pkt {
    uint8_t b[1600];
    size_t len;
};

/* Parsed view of a packet read back from lwIP. */
struct seg {
    uint32_t src, dst; /* network order */
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags, proto;
};

static int sv[2];
static struct ns_netif nif;

static uint32_t addr(const char *s)
{
    struct in_addr a;

    ck_assert_int_eq(inet_pton(AF_INET, s, &a), 1);
    return a.s_addr;
}

static uint32_t sum16(const void *data, size_t len, uint32_t sum)
{
    const uint8_t *p = data;

    for (; len > 1; p += 2, len -= 2)
        sum += (uint32_t)p[0] << 8 | p[1];
    if (len)
        sum += (uint32_t)p[0] << 8;
    return sum;
}

static uint16_t fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* Transport checksum over the IPv4 pseudo header; 0 when a received packet is valid. */
static uint16_t l4_csum(const uint8_t *ip, size_t l4len)
{
    uint8_t ph[12];

    memcpy(ph, ip + 12, 8);
    ph[8] = 0;
    ph[9] = ip[9];
    ph[10] = (uint8_t)(l4len >> 8);
    ph[11] = (uint8_t)l4len;
    return fold(sum16(ip + 20, l4len, sum16(ph, sizeof(ph), 0)));
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static void ip_hdr(struct pkt *k, uint8_t proto, uint32_t src, uint32_t dst, size_t l4len)
{
    uint8_t *ip = k->b;

    memset(ip, 0, 20);
    ip[0] = 0x45;
    put16(ip + 2, (uint16_t)(20 + l4len));
    ip[8] = 64;
    ip[9] = proto;
    memcpy(ip + 12, &src, 4);
    memcpy(ip + 16, &dst, 4);
    put16(ip + 10, fold(sum16(ip, 20, 0)));
    k->len = 20 + l4len;
}

/* A TCP segment carrying n bytes of data (n <= 1400). */
static void tcp_data_pkt(struct pkt *k, const char *src, uint16_t sport, const char *dst,
                         uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
                         const void *data, size_t n)
{
    uint8_t *t = k->b + 20;

    ck_assert_uint_le(n, 1400);
    ip_hdr(k, IP_PROTO_TCP, addr(src), addr(dst), 20 + n);
    memset(t, 0, 20);
    put16(t, sport);
    put16(t + 2, dport);
    put32(t + 4, seq);
    put32(t + 8, ack);
    t[12] = 5 << 4;
    t[13] = flags;
    put16(t + 14, 65535);
    if (n)
        memcpy(t + 20, data, n);
    put16(t + 16, l4_csum(k->b, 20 + n));
}

static void tcp_pkt(struct pkt *k, const char *src, uint16_t sport, const char *dst, uint16_t dport,
                    uint32_t seq, uint32_t ack, uint8_t flags)
{
    tcp_data_pkt(k, src, sport, dst, dport, seq, ack, flags, NULL, 0);
}

static void udp_pkt(struct pkt *k, const char *src, uint16_t sport, const char *dst, uint16_t dport,
                    const char *data)
{
    size_t n = strlen(data);
    uint8_t *u = k->b + 20;

    ip_hdr(k, IP_PROTO_UDP, addr(src), addr(dst), 8 + n);
    put16(u, sport);
    put16(u + 2, dport);
    put16(u + 4, (uint16_t)(8 + n));
    put16(u + 6, 0);
    memcpy(u + 8, data, n);
    put16(u + 6, l4_csum(k->b, 8 + n));
}

/* Sends one packet (after a virtio_net_hdr when the netif is in vnet mode). */
static void send_vnet(const struct virtio_net_hdr *vh, const void *b, size_t len)
{
    struct virtio_net_hdr zero = {0};
    struct iovec iov[2] = {{(void *)(vh ? vh : &zero), sizeof(zero)}, {(void *)b, len}};
    ssize_t want = (ssize_t)len + (nif.vnet ? (ssize_t)sizeof(zero) : 0);

    ck_assert_int_eq(writev(sv[1], nif.vnet ? iov : iov + 1, nif.vnet ? 2 : 1), want);
}

/* Receives one packet lwIP wrote; in vnet mode its header goes to *vh (zeroed otherwise). */
static ssize_t recv_vnet(struct virtio_net_hdr *vh, void *b, size_t cap)
{
    struct iovec iov[2] = {{vh, sizeof(*vh)}, {b, cap}};
    ssize_t n;

    memset(vh, 0, sizeof(*vh));
    n = readv(sv[1], nif.vnet ? iov : iov + 1, nif.vnet ? 2 : 1);
    if (n > 0 && nif.vnet) {
        ck_assert_int_ge(n, (ssize_t)sizeof(*vh));
        n -= (ssize_t)sizeof(*vh);
    }
    return n;
}

/* Does what the kernel does for VIRTIO_NET_HDR_F_NEEDS_CSUM: sums from csum_start to the end
 * (the field holds the pseudo-header sum) and stores the complement at csum_offset. A TCP
 * packet from lwIP in vnet mode must carry exactly such a partial checksum. */
static void complete_csum(const struct virtio_net_hdr *vh, uint8_t *b, size_t n)
{
    size_t at = (size_t)vh->csum_start + vh->csum_offset;

    if (!nif.vnet || b[9] != IP_PROTO_TCP) {
        ck_assert_int_eq(vh->flags, 0);
        return;
    }
    ck_assert_int_eq(vh->flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
    ck_assert_int_eq(vh->csum_start, 20);
    ck_assert_int_eq(vh->csum_offset, 16);
    ck_assert_uint_le(at + 2, n);
    put16(b + at, fold(sum16(b + vh->csum_start, n - vh->csum_start, 0)));
}

/* Sends one packet into lwIP and lets it process it. */
static void inject(const struct pkt *k)
{
    send_vnet(NULL, k->b, k->len);
    ck_assert_int_eq(ns_netif_read(&nif, 8), 1);
}

/* Reads the next packet lwIP wrote (a plain one: no GSO; full checksums once a partial one
 * is completed), checks its checksums and parses it. */
static struct seg expect_pkt(void)
{
    uint8_t b[1600];
    struct seg s;
    struct virtio_net_hdr vh;
    ssize_t n;

    ns_netif_flush(&nif);
    n = recv_vnet(&vh, b, sizeof(b));
    ck_assert_int_eq(vh.gso_type, VIRTIO_NET_HDR_GSO_NONE);
    ck_assert_int_ge(n, 40);
    complete_csum(&vh, b, (size_t)n);
    ck_assert_int_eq(b[0], 0x45);
    ck_assert_int_eq(get16(b + 2), n);
    ck_assert_uint_eq(fold(sum16(b, 20, 0)), 0);
    ck_assert_uint_eq(l4_csum(b, (size_t)n - 20), 0);
    memset(&s, 0, sizeof(s));
    s.proto = b[9];
    memcpy(&s.src, b + 12, 4);
    memcpy(&s.dst, b + 16, 4);
    s.sport = get16(b + 20);
    s.dport = get16(b + 22);
    if (s.proto == IP_PROTO_TCP) {
        s.seq = get32(b + 24);
        s.ack = get32(b + 28);
        s.flags = b[33];
    }
    return s;
}

static void expect_no_pkt(void)
{
    uint8_t b[1600];

    ns_netif_flush(&nif);
    ck_assert_int_lt(recv(sv[1], b, sizeof(b), MSG_DONTWAIT), 0);
}

static void setup(void)
{
    struct in_addr a = {.s_addr = addr("100.64.0.2")};

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
    ck_assert_int_eq(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
    ck_assert_int_eq(ns_stack_init(), 0);
    ck_assert_int_eq(ns_netif_init(&nif, sv[0], a, 10, 1500), 0);
}

static void setup_vnet(void)
{
    setup();
    ck_assert_int_eq(ns_netif_set_vnet(&nif, true), 0);
}

static void teardown(void)
{
    ns_netif_fini(&nif);
    close(sv[0]);
    close(sv[1]);
}

struct accept_rec {
    int calls;
    struct tcp_pcb *pcb;
};

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
    struct accept_rec *r = arg;

    ck_assert_int_eq(err, ERR_OK);
    r->calls++;
    r->pcb = pcb;
    return ERR_OK;
}

static struct tcp_pcb *listener(const ip_addr_t *ip, u16_t port, struct accept_rec *r)
{
    struct tcp_pcb *pcb = tcp_new(), *lpcb;

    ck_assert_ptr_nonnull(pcb);
    if (ip)
        ck_assert_int_eq(tcp_bind(pcb, ip, port), ERR_OK);
    lpcb = tcp_listen(pcb);
    ck_assert_ptr_nonnull(lpcb);
    tcp_arg(lpcb, r);
    tcp_accept(lpcb, on_accept);
    return lpcb;
}

/* Client 192.0.2.1:sport opens a connection to dst:dport through lwIP's listener. */
static void handshake(const char *dst, uint16_t dport, uint16_t sport, struct accept_rec *r)
{
    struct pkt k;
    struct seg s;

    tcp_pkt(&k, "192.0.2.1", sport, dst, dport, 1000, 0, F_SYN);
    inject(&k);
    s = expect_pkt();
    ck_assert_uint_eq(s.src, addr(dst));
    ck_assert_uint_eq(s.dst, addr("192.0.2.1"));
    ck_assert_uint_eq(s.sport, dport);
    ck_assert_uint_eq(s.dport, sport);
    ck_assert_uint_eq(s.flags, F_SYN | F_ACK);
    ck_assert_uint_eq(s.ack, 1001);
    ck_assert_int_eq(r->calls, 0);

    tcp_pkt(&k, "192.0.2.1", sport, dst, dport, 1001, s.seq + 1, F_ACK);
    inject(&k);
    ck_assert_int_eq(r->calls, 1);
    ck_assert_ptr_nonnull(r->pcb);
    ck_assert_uint_eq(ip4_addr_get_u32(ip_2_ip4(&r->pcb->local_ip)), addr(dst));
    ck_assert_uint_eq(r->pcb->local_port, dport);
    ck_assert_uint_eq(r->pcb->remote_port, sport);
    ck_assert_int_eq(r->pcb->state, ESTABLISHED);
}

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

static err_t on_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
    (void)pcb;
    ck_assert_int_eq(err, ERR_OK);
    (*(int *)arg)++;
    return ERR_OK;
}

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

static Suite *ns_netif_suite(void)
{
    Suite *s = suite_create("ns_netif");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_listen_any_destination);
    tcase_add_test(tc, test_listen_any_port);
    tcase_add_test(tc, test_no_listener_rst);
    tcase_add_test(tc, test_connect_from_foreign_source);
    tcase_add_test(tc, test_unacked_tail);
    tcase_add_test(tc, test_abort_rst_acks);
    tcase_add_test(tc, test_rand_pool);
    tcase_add_test(tc, test_pcb_list_links);
    tcase_add_test(tc, test_connect_from_fast);
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
    tcase_add_test(tc, test_vnet_partial_csum_completed);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_check_run(ns_netif_suite());
}
