/* Harness for the netstack suites (test_ns_netif.c, test_ns_tcp.c): a socketpair stands in
 * for the TUN fd (sv[0] is lwIP's side, sv[1] the test's), packets are built and parsed by
 * hand, and lwIP runs for real. */
#ifndef SUBTUNNEL_TEST_NS_HARNESS_H
#define SUBTUNNEL_TEST_NS_HARNESS_H

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

static inline uint32_t addr(const char *s)
{
    struct in_addr a;

    ck_assert_int_eq(inet_pton(AF_INET, s, &a), 1);
    return a.s_addr;
}

static inline uint32_t sum16(const void *data, size_t len, uint32_t sum)
{
    const uint8_t *p = data;

    for (; len > 1; p += 2, len -= 2)
        sum += (uint32_t)p[0] << 8 | p[1];
    if (len)
        sum += (uint32_t)p[0] << 8;
    return sum;
}

static inline uint16_t fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* Transport checksum over the IPv4 pseudo header; 0 when a received packet is valid. */
static inline uint16_t l4_csum(const uint8_t *ip, size_t l4len)
{
    uint8_t ph[12];

    memcpy(ph, ip + 12, 8);
    ph[8] = 0;
    ph[9] = ip[9];
    ph[10] = (uint8_t)(l4len >> 8);
    ph[11] = (uint8_t)l4len;
    return fold(sum16(ip + 20, l4len, sum16(ph, sizeof(ph), 0)));
}

static inline void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

static inline uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get32(const uint8_t *p)
{
    return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static inline void ip_hdr(struct pkt *k, uint8_t proto, uint32_t src, uint32_t dst, size_t l4len)
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

/* A TCP header without options (checksum 0) at t. */
static inline void tcp_hdr(uint8_t *t, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
                           uint8_t flags)
{
    memset(t, 0, 20);
    put16(t, sport);
    put16(t + 2, dport);
    put32(t + 4, seq);
    put32(t + 8, ack);
    t[12] = 5 << 4;
    t[13] = flags;
    put16(t + 14, 65535);
}

/* A TCP segment carrying n bytes of data (n <= 1400). */
static inline void tcp_data_pkt(struct pkt *k, const char *src, uint16_t sport, const char *dst,
                                uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
                                const void *data, size_t n)
{
    uint8_t *t = k->b + 20;

    ck_assert_uint_le(n, 1400);
    ip_hdr(k, IP_PROTO_TCP, addr(src), addr(dst), 20 + n);
    tcp_hdr(t, sport, dport, seq, ack, flags);
    if (n)
        memcpy(t + 20, data, n);
    put16(t + 16, l4_csum(k->b, 20 + n));
}

static inline void tcp_pkt(struct pkt *k, const char *src, uint16_t sport, const char *dst,
                           uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags)
{
    tcp_data_pkt(k, src, sport, dst, dport, seq, ack, flags, NULL, 0);
}

static inline void udp_pkt(struct pkt *k, const char *src, uint16_t sport, const char *dst,
                           uint16_t dport, const char *data)
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
static inline void send_vnet(const struct virtio_net_hdr *vh, const void *b, size_t len)
{
    struct virtio_net_hdr zero = {0};
    struct iovec iov[2] = {{(void *)(vh ? vh : &zero), sizeof(zero)}, {(void *)b, len}};
    ssize_t want = (ssize_t)len + (nif.vnet ? (ssize_t)sizeof(zero) : 0);

    ck_assert_int_eq(writev(sv[1], nif.vnet ? iov : iov + 1, nif.vnet ? 2 : 1), want);
}

/* Receives one packet lwIP wrote; in vnet mode its header goes to *vh (zeroed otherwise). */
static inline ssize_t recv_vnet(struct virtio_net_hdr *vh, void *b, size_t cap)
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
static inline void complete_csum(const struct virtio_net_hdr *vh, uint8_t *b, size_t n)
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
static inline void inject(const struct pkt *k)
{
    send_vnet(NULL, k->b, k->len);
    ck_assert_int_eq(ns_netif_read(&nif, 8), 1);
}

/* Reads the next packet lwIP wrote (a plain one: no GSO; full checksums once a partial one
 * is completed), checks its checksums and parses it. */
static inline struct seg expect_pkt(void)
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

static inline void expect_no_pkt(void)
{
    uint8_t b[1600];

    ns_netif_flush(&nif);
    ck_assert_int_lt(recv(sv[1], b, sizeof(b), MSG_DONTWAIT), 0);
}

static inline void setup(void)
{
    struct in_addr a = {.s_addr = addr("100.64.0.2")};

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
    ck_assert_int_eq(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
    ck_assert_int_eq(ns_stack_init(), 0);
    ck_assert_int_eq(ns_netif_init(&nif, sv[0], a, 10, 1500), 0);
}

static inline void setup_vnet(void)
{
    setup();
    ck_assert_int_eq(ns_netif_set_vnet(&nif, true), 0);
}

static inline void teardown(void)
{
    ns_netif_fini(&nif);
    close(sv[0]);
    close(sv[1]);
}

struct accept_rec {
    int calls;
    struct tcp_pcb *pcb;
};

static inline err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
    struct accept_rec *r = arg;

    ck_assert_int_eq(err, ERR_OK);
    r->calls++;
    r->pcb = pcb;
    return ERR_OK;
}

static inline struct tcp_pcb *listener(const ip_addr_t *ip, u16_t port, struct accept_rec *r)
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
static inline void handshake(const char *dst, uint16_t dport, uint16_t sport, struct accept_rec *r)
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

static inline err_t on_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
    (void)pcb;
    ck_assert_int_eq(err, ERR_OK);
    (*(int *)arg)++;
    return ERR_OK;
}

#endif
