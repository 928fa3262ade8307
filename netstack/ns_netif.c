#include "ns_netif.h"

#include <errno.h>
#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "lwip/inet_chksum.h"
#include "lwip/ip.h"
#include "lwip/pbuf.h"
#include "ns_rxbatch.h"
#include "ns_stack.h"

#define NS_NETIF_MAX_IOV 64
#define NS_NETIF_RX_MAX 65535  /* largest packet a vnet TUN hands over (a GSO super-packet) */
#define NS_NETIF_RX_COPY 32768 /* received packets up to this size are copied to a fitting pbuf */
#define NS_GSO_MAX 65535       /* IPv4 total length limit of a coalesced packet */
#ifndef VIRTIO_NET_HDR_GSO_UDP_L4 /* linux/virtio_net.h before 6.2; kernels from 6.2 take it */
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#endif
#define NS_GSO_SEGS 64 /* datagrams in one UDP GSO packet (UDP_MAX_SEGMENTS) */

#define TCP_F_FIN 0x01
#define TCP_F_SYN 0x02
#define TCP_F_RST 0x04
#define TCP_F_PSH 0x08
#define TCP_F_ACK 0x10

/* TCP segments lwIP sends in one burst for one connection, coalesced into one IPv4 or IPv6
 * packet that the kernel segments again (TSO through IFF_VNET_HDR); likewise UDP datagrams of one
 * flow (USO: VIRTIO_NET_HDR_GSO_UDP_L4, one write for a DATA frame's worth of datagrams). */
struct ns_gso {
    uint8_t pkt[NS_GSO_MAX];
    size_t len;        /* bytes in pkt; 0: nothing pending */
    size_t hlen;       /* IP + TCP (or UDP) header bytes */
    size_t iphl;       /* TCP: 20 (IPv4) or 40 (IPv6) of them */
    uint16_t mss;      /* payload of the first segment: every segment but the last has it */
    uint32_t next_seq; /* TCP: sequence number the next appended segment must start at */
    unsigned segs;
    bool closed; /* the last segment was short: nothing more may follow */
    bool udp;    /* datagrams, not TCP segments */
    bool no_uso; /* the kernel refused a UDP GSO write: datagrams go one by one */
};

static inline uint16_t rd16(const uint8_t *b)
{
    return (uint16_t)(b[0] << 8 | b[1]);
}

static inline uint32_t rd32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static inline void wr16(uint8_t *b, uint16_t v)
{
    b[0] = (uint8_t)(v >> 8);
    b[1] = (uint8_t)v;
}

/* Writes iov[1..cnt-1], after the virtio header vh (zeroes when NULL) in vnet mode. */
static ssize_t write_iov(struct ns_netif *nif, struct iovec *iov, int cnt,
                         const struct virtio_net_hdr *vh)
{
    static const struct virtio_net_hdr none;

    if (!nif->vnet)
        return writev(nif->fd, iov + 1, cnt - 1);
    iov[0].iov_base = (void *)(vh ? vh : &none);
    iov[0].iov_len = sizeof(*vh);
    return writev(nif->fd, iov, cnt);
}

/* The transport checksum field (at `at` past the IP header) of IPv4 packet b (IP header ihl
 * bytes, tot bytes in all, protocol proto) gets the pseudo-header sum, not complemented, and
 * vh asks the kernel to finish it (CHECKSUM_PARTIAL): a veth peer never computes it at all,
 * a real device does it in hardware. */
/* Sums the pseudo-header's addresses b[from..to) onto sum, folds it into the checksum field at
 * `at` past the transport header at hlen, and asks the kernel to finish it. */
static void set_partial(uint8_t *b, size_t from, size_t to, uint32_t sum, size_t hlen, size_t at,
                        struct virtio_net_hdr *vh)
{
    for (size_t i = from; i < to; i += 2)
        sum += rd16(b + i);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    wr16(b + hlen + at, (uint16_t)sum);
    vh->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    vh->csum_start = (uint16_t)hlen;
    vh->csum_offset = (uint16_t)at;
}

static void l4_partial(uint8_t *b, size_t ihl, size_t tot, uint8_t proto, size_t at,
                       struct virtio_net_hdr *vh)
{
    set_partial(b, 12, 20, proto + (uint32_t)(tot - ihl), ihl, at, vh);
}

/* The same for an IPv6 TCP packet without extension headers (TCP at 40): the pseudo header
 * holds both addresses (b[8..40)), the upper-layer length and the next header. */
static void tcp6_partial(uint8_t *b, size_t tot, struct virtio_net_hdr *vh)
{
    uint32_t len = (uint32_t)(tot - 40);

    set_partial(b, 8, 40, IP_PROTO_TCP + (len >> 16) + (len & 0xffff), 40, 16, vh);
}

/* An IPv6 TCP packet (no extension header) whose TCP header lies in the first pbuf. */
static bool is_tcp6(const struct pbuf *p)
{
    const uint8_t *b = p->payload;

    return p->len >= 60 && (b[0] >> 4) == 6 && b[6] == IP_PROTO_TCP;
}

/* lwIP leaves TCP checksums to the kernel in vnet mode (ns_netif_set_vnet). */
static void tcp_partial(uint8_t *b, size_t ihl, size_t tot, struct virtio_net_hdr *vh)
{
    l4_partial(b, ihl, tot, IP_PROTO_TCP, 16, vh);
}

/* An IPv4 TCP packet whose TCP header starts in the first pbuf: its IP header length. */
static size_t tcp_ihl(const struct pbuf *p)
{
    const uint8_t *b = p->payload;
    size_t ihl;

    if (p->len < 20 || (b[0] >> 4) != 4 || b[9] != IP_PROTO_TCP || (b[6] & 0x3f) != 0 || b[7] != 0)
        return 0;
    ihl = (size_t)(b[0] & 0x0f) * 4;
    return ihl >= 20 && p->len >= ihl + 20 && p->tot_len >= ihl + 20 ? ihl : 0;
}

/* The payload per segment for an IPv6 TCP packet to dst with hlen header bytes and mss
 * payload bytes per segment: mss, or less when dst reported a smaller path MTU (counted). */
static uint16_t pmtu_size(struct ns_netif *nif, const uint8_t *dst, size_t hlen, uint16_t mss)
{
    unsigned mtu = nif->pmtu.n ? ns_pmtu_get(&nif->pmtu, dst, sys_now()) : 0;

    if (!mtu || hlen + mss <= mtu || hlen + 8 > mtu)
        return mss;
    nif->tx_pmtu++;
    return (uint16_t)(mtu - hlen);
}

/* An IPv6 TCP segment lwIP did not coalesce (vh partial already) longer than the path MTU
 * its destination reported: the kernel cuts it (GSO), the last piece keeping FIN/PSH. */
static void pmtu_cut(struct ns_netif *nif, const struct pbuf *p, struct virtio_net_hdr *vh)
{
    const uint8_t *b = p->payload;
    size_t hlen = 40 + (size_t)(b[52] >> 4) * 4;
    uint16_t size;

    if (hlen >= p->tot_len || p->tot_len - hlen > 0xffff)
        return;
    size = pmtu_size(nif, b + 24, hlen, (uint16_t)(p->tot_len - hlen));
    if (size == p->tot_len - hlen)
        return;
    vh->gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
    vh->hdr_len = (uint16_t)hlen;
    vh->gso_size = size;
}

static ssize_t write_chain(struct ns_netif *nif, struct pbuf *p)
{
    struct virtio_net_hdr vh = {0};
    size_t ihl = nif->vnet ? tcp_ihl(p) : 0;
    struct iovec iov[NS_NETIF_MAX_IOV + 1];
    struct pbuf *q, *flat;
    ssize_t n;
    int cnt = 1, err;

    if (ihl)
        tcp_partial(p->payload, ihl, p->tot_len, &vh);
    else if (nif->vnet && is_tcp6(p)) { /* lwIP leaves the checksum to the kernel here too */
        tcp6_partial(p->payload, p->tot_len, &vh);
        pmtu_cut(nif, p, &vh);
    }
    for (q = p; q && cnt <= NS_NETIF_MAX_IOV; q = q->next) {
        iov[cnt].iov_base = q->payload;
        iov[cnt].iov_len = q->len;
        cnt++;
    }
    if (!q)
        return write_iov(nif, iov, cnt, &vh);
    /* Unusually long chain: flatten it once rather than truncate. */
    flat = pbuf_clone(PBUF_RAW, PBUF_RAM, p);
    if (!flat) {
        errno = ENOBUFS;
        return -1;
    }
    iov[1].iov_base = flat->payload;
    iov[1].iov_len = flat->len;
    n = write_iov(nif, iov, 2, &vh);
    err = errno;
    pbuf_free(flat);
    errno = err;
    return n;
}

/* Counts one written packet or one failed write; false when the failure is not congestion. */
static bool count_write(struct ns_netif *nif, ssize_t n)
{
    if (n >= 0) {
        nif->tx_packets++;
        return true;
    }
    nif->tx_drops++;
    /* A full TUN queue is congestion: drop, TCP retransmits. */
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS || errno == EINTR;
}

/* The partial UDP checksum (pseudo-header sum) of IPv4 UDP packet b of tot bytes, asked of
 * the kernel through vh: for a GSO packet it redoes it per datagram. */
static void udp_partial(uint8_t *b, size_t tot, struct virtio_net_hdr *vh)
{
    wr16(b + 24, (uint16_t)(tot - 20));
    l4_partial(b, 20, tot, IP_PROTO_UDP, 6, vh);
}

/* The IPv4 header (20 bytes) of a packet now tot bytes long: length and checksum redone. */
static void ip_fix(uint8_t *b, size_t tot)
{
    u16_t c;

    wr16(b + 2, (uint16_t)tot);
    b[10] = b[11] = 0;
    c = inet_chksum(b, 20);
    memcpy(b + 10, &c, 2);
}

/* Writes the coalesced datagrams one by one (a kernel without USO on TUN): each one is the
 * first one's headers with its length and checksums redone. */
static void udp_split(struct ns_netif *nif, struct ns_gso *g)
{
    uint8_t *b = g->pkt, hdr[28];
    size_t off;

    memcpy(hdr, b, sizeof(hdr));
    for (off = g->hlen; off < g->len; off += g->mss) {
        size_t n = g->len - off < g->mss ? g->len - off : g->mss;
        struct virtio_net_hdr vh = {0};
        struct iovec iov[3] = {{0}, {hdr, sizeof(hdr)}, {b + off, n}};

        ip_fix(hdr, sizeof(hdr) + n);
        udp_partial(hdr, sizeof(hdr) + n, &vh);
        count_write(nif, write_iov(nif, iov, 3, &vh));
    }
}

/* Writes the pending UDP packet: as lwIP built it when it is one datagram, else with the
 * IPv4 length and checksum redone and a UDP_L4 GSO header asking the kernel to cut it. */
static void flush_udp(struct ns_netif *nif, struct ns_gso *g)
{
    struct virtio_net_hdr vh = {0};
    struct iovec iov[2] = {{0}, {g->pkt, g->len}};

    if (g->segs > 1) {
        ip_fix(g->pkt, g->len);
        udp_partial(g->pkt, g->len, &vh);
        vh.gso_type = VIRTIO_NET_HDR_GSO_UDP_L4;
        vh.hdr_len = (uint16_t)g->hlen;
        vh.gso_size = g->mss;
        ssize_t n = write_iov(nif, iov, 2, &vh);
        if (n < 0 && errno == EINVAL) {
            g->no_uso = true; /* not for this kernel: from now on, one write each */
            udp_split(nif, g);
            return;
        }
        nif->tx_gso += n >= 0;
        if (n >= 0)
            nif->tx_packets += g->segs;
        else
            nif->tx_drops += g->segs;
        return;
    }
    count_write(nif, write_iov(nif, iov, 2, &vh));
}

/* Writes the pending coalesced packet with a partial TCP checksum; when it holds several
 * segments (or one larger than an IPv6 path MTU), with the IP length (and IPv4 checksum)
 * redone and a GSO header asking the kernel to cut it at `mss` (or what the path takes). */
void ns_netif_flush(struct ns_netif *nif)
{
    struct ns_gso *g = nif->gso;
    struct virtio_net_hdr vh = {0};
    struct iovec iov[2];
    uint16_t size;
    uint8_t *b;

    if (!g || !g->len)
        return;
    if (g->udp) {
        flush_udp(nif, g);
        g->len = 0;
        return;
    }
    b = g->pkt;
    size = g->iphl == 40 ? pmtu_size(nif, b + 24, g->hlen, g->mss) : g->mss;
    if (g->segs > 1 || size < g->mss) {
        if (g->iphl == 20)
            ip_fix(b, g->len);
        else
            wr16(b + 4, (uint16_t)(g->len - 40));
        vh.gso_type = g->iphl == 20 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6;
        vh.hdr_len = (uint16_t)g->hlen;
        vh.gso_size = size;
        nif->tx_gso += g->segs > 1;
    }
    if (g->iphl == 20)
        tcp_partial(b, 20, g->len, &vh);
    else
        tcp6_partial(b, g->len, &vh);
    iov[0].iov_base = &vh;
    iov[0].iov_len = sizeof(vh);
    iov[1].iov_base = b;
    iov[1].iov_len = g->len;
    count_write(nif, writev(nif->fd, iov, 2));
    g->len = 0;
}

/* The IP header length of a plain TCP packet lwIP built: 20 for IPv4 (no options, not a
 * fragment), 40 for IPv6 (no extension header); 0 for anything else. */
static size_t tcp_iphl(const uint8_t *b, size_t n)
{
    if (n >= 40 && b[0] == 0x45 && b[9] == IP_PROTO_TCP && rd16(b + 2) == n && (b[6] & 0x3f) == 0 &&
        b[7] == 0)
        return 20;
    if (n >= 60 && (b[0] >> 4) == 6 && b[6] == IP_PROTO_TCP && rd16(b + 4) + 40u == n)
        return 40;
    return 0;
}

/* Length of the TCP payload of a plain TCP data segment lwIP built (tcp_iphl, only ACK/PSH
 * flags), its IP header length in *iphl; 0 when the packet cannot be coalesced. */
static size_t gso_payload(const uint8_t *b, size_t n, size_t *iphl)
{
    size_t ih = tcp_iphl(b, n), thl;

    if (!ih)
        return 0;
    thl = (size_t)(b[ih + 12] >> 4) * 4;
    if (thl < 20 || ih + thl >= n || (b[ih + 13] & ~(TCP_F_ACK | TCP_F_PSH)) != 0)
        return 0;
    *iphl = ih;
    return n - ih - thl;
}

/* Length of the UDP payload of a plain IPv4 UDP datagram lwIP built (20-byte IP header, not a
 * fragment), or 0 when it cannot be coalesced. */
static size_t udp_payload(const uint8_t *b, size_t n)
{
    if (n <= 28 || b[0] != 0x45 || b[9] != IP_PROTO_UDP || rd16(b + 2) != n || (b[6] & 0x3f) != 0 ||
        b[7] != 0 || rd16(b + 24) != n - 20)
        return 0;
    return n - 28;
}

/* Whether datagram b (payload len) continues the pending one: same addresses, ports, TTL
 * and TOS, no longer than the first one, none shorter before it. */
static bool udp_continues(const struct ns_gso *g, const uint8_t *b, size_t len)
{
    const uint8_t *h = g->pkt;

    return g->len && g->udp && !g->closed && len <= g->mss && g->len + len <= NS_GSO_MAX &&
           g->segs < NS_GSO_SEGS && b[1] == h[1] && b[8] == h[8] && memcmp(b + 12, h + 12, 12) == 0;
}

/* Whether segment b (payload len, IP header ih) continues the pending packet: same family,
 * addresses, ports, ACK, window, TTL (hop limit), TOS (traffic class, flow label) and
 * options, next in sequence, no longer than the first one. */
static bool gso_continues(const struct ns_gso *g, const uint8_t *b, size_t len, size_t ih)
{
    const uint8_t *h = g->pkt;
    bool same_ip = ih == 20 ? b[1] == h[1] && b[8] == h[8] && memcmp(b + 12, h + 12, 12) == 0
                            : memcmp(b, h, 4) == 0 && b[7] == h[7] && memcmp(b + 8, h + 8, 36) == 0;

    return g->len && !g->udp && !g->closed && ih == g->iphl && len <= g->mss &&
           g->len + len <= NS_GSO_MAX && (size_t)(b[ih + 12] >> 4) * 4 + ih == g->hlen &&
           rd32(b + ih + 4) == g->next_seq && same_ip && memcmp(b + ih + 8, h + ih + 8, 4) == 0 &&
           memcmp(b + ih + 14, h + ih + 14, 2) == 0 &&
           memcmp(b + ih + 20, h + ih + 20, g->hlen - ih - 20) == 0;
}

/* Copies packet p (payload len) into the pending packet, starting it when start is set. */
static void gso_add(struct ns_gso *g, struct pbuf *p, const uint8_t *b, size_t len, bool start,
                    size_t ih)
{
    size_t hlen = p->tot_len - len;
    bool udp = ih == 0;

    if (start) {
        pbuf_copy_partial(p, g->pkt, p->tot_len, 0);
        g->len = p->tot_len;
        g->hlen = hlen;
        g->mss = (uint16_t)len;
        g->segs = 1;
        g->closed = false;
        g->udp = udp;
        g->iphl = ih;
    } else {
        pbuf_copy_partial(p, g->pkt + g->len, (u16_t)len, (u16_t)hlen);
        g->len += len;
        g->segs++;
        if (!udp)
            g->pkt[ih + 13] |= b[ih + 13] & TCP_F_PSH;
        g->closed = len < g->mss;
    }
    if (!udp)
        g->next_seq = rd32(b + ih + 4) + (uint32_t)len;
}

#define NS_HDR_PEEK 100 /* IPv6 + TCP with options: what coalescing looks at */

/* Coalesces packet p from lwIP (either family) into the pending one or writes it. */
static err_t output(struct ns_netif *nif, struct pbuf *p)
{
    struct ns_gso *g = nif->gso;
    uint8_t hdr[NS_HDR_PEEK];
    size_t len, ih = 0;

    if (g && p->tot_len > 28) {
        const uint8_t *b = p->len >= NS_HDR_PEEK || p->len == p->tot_len ? p->payload : hdr;
        bool udp;

        if (b == hdr)
            pbuf_copy_partial(p, hdr, (u16_t)LWIP_MIN(p->tot_len, sizeof(hdr)), 0);
        udp = b[0] == 0x45 && b[9] == IP_PROTO_UDP && !g->no_uso;
        len = udp ? udp_payload(b, p->tot_len) : gso_payload(b, p->tot_len, &ih);
        if (len && (udp ? udp_continues(g, b, len) : gso_continues(g, b, len, ih))) {
            gso_add(g, p, b, len, false, ih);
            return ERR_OK;
        }
        ns_netif_flush(nif);
        if (len) {
            gso_add(g, p, b, len, true, ih);
            return ERR_OK;
        }
    }
    return count_write(nif, write_chain(nif, p)) ? ERR_OK : ERR_IF;
}

static err_t tun_output(struct netif *netif, struct pbuf *p, const ip4_addr_t *next_hop)
{
    (void)next_hop;
    return output(netif->state, p);
}

static err_t tun_output_ip6(struct netif *netif, struct pbuf *p, const ip6_addr_t *next_hop)
{
    (void)next_hop;
    return output(netif->state, p);
}

static err_t tun_netif_init(struct netif *netif)
{
    netif->name[0] = 't';
    netif->name[1] = 'u';
    netif->output = tun_output;
    netif->output_ip6 = tun_output_ip6;
    netif->flags |= NETIF_FLAG_ACCEPT_ANY | NETIF_FLAG_LINK_UP;
    return ERR_OK;
}

int ns_netif_init(struct ns_netif *nif, int fd, struct in_addr addr, int prefix, int mtu)
{
    ip4_addr_t ip, mask, gw;

    if (fd < 0 || prefix < 0 || prefix > 32 || mtu < 576 || mtu > 65535)
        return -EINVAL;
    ns_stack_init();
    *nif = (struct ns_netif){.fd = fd};
    ip.addr = addr.s_addr;
    mask.addr = htonl(prefix ? ~0u << (32 - prefix) : 0);
    ip4_addr_set_zero(&gw);
    if (!netif_add(&nif->netif, &ip, &mask, &gw, nif, tun_netif_init, ip_input))
        return -ENOMEM;
    nif->netif.mtu = (u16_t)mtu;
    netif_set_default(&nif->netif);
    netif_set_link_up(&nif->netif);
    netif_set_up(&nif->netif);
    return 0;
}

/* Unfragmented IPv4 ICMP (fragments go to lwIP, which reassembles or drops them), or IPv6
 * ICMPv6 right after the fixed header (with extension headers: lwIP's). */
static bool is_icmp(const uint8_t *b, size_t n)
{
    if (n >= 40 && (b[0] >> 4) == 6)
        return b[6] == 58;
    return n >= 20 && (b[0] >> 4) == 4 && b[9] == 1 && (b[6] & 0x3f) == 0 && b[7] == 0;
}

int ns_netif_send(struct ns_netif *nif, const uint8_t *pkt, size_t len)
{
    struct iovec iov[2] = {{0}, {.iov_base = (void *)pkt, .iov_len = len}};

    ns_netif_flush(nif);
    if (write_iov(nif, iov, 2, NULL) < 0) {
        nif->tx_drops++;
        return -errno;
    }
    nif->tx_packets++;
    return 0;
}

static void rx_free(struct ns_netif *nif)
{
    for (int i = 0; i < NS_NETIF_RX_BATCH; i++) {
        if (nif->rx[i].p)
            pbuf_free(nif->rx[i].p);
        nif->rx[i].p = NULL;
    }
}

int ns_netif_set_vnet(struct ns_netif *nif, bool on)
{
    if (on && !nif->gso && !(nif->gso = calloc(1, sizeof(*nif->gso))))
        return -ENOMEM;
    if (!on) {
        ns_netif_flush(nif);
        free(nif->gso);
        nif->gso = NULL;
    }
    nif->vnet = on;
    /* vnet: TCP checksums are left partial for the kernel (tcp_partial); lwIP skips them */
    NETIF_SET_CHECKSUM_CTRL(&nif->netif, on ? NETIF_CHECKSUM_ENABLE_ALL & ~NETIF_CHECKSUM_GEN_TCP
                                            : NETIF_CHECKSUM_ENABLE_ALL);
    rx_free(nif); /* sized for the old mode */
    return 0;
}

/* Completes a checksum the kernel left partial (VIRTIO_NET_HDR_F_NEEDS_CSUM) in an IPv4 or
 * IPv6 packet: lwIP terminates TCP without checking it, but UDP, ICMP and ICMPv6 packets may
 * be relayed as they are. The field already holds the pseudo-header sum, so the sum from
 * csum_start on is the same for both families; the field's offset tells the protocol (16:
 * TCP, left alone; 6: UDP, where 0 is sent as 0xffff). */
static void finish_csum(const struct virtio_net_hdr *vh, uint8_t *b, size_t n)
{
    size_t start = vh->csum_start, at = start + vh->csum_offset;
    size_t ip_min = n && (b[0] >> 4) == 6 ? 40 : 20;
    u16_t c;

    if (!(vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || n < ip_min || vh->csum_offset == 16 ||
        start < ip_min || at + 2 > n)
        return;
    c = inet_chksum(b + start, (u16_t)(n - start));
    if (c == 0 && vh->csum_offset == 6)
        c = 0xffff;
    memcpy(b + at, &c, 2);
}

/* A UDP GSO super-packet b[0..n) the kernel handed over (TUN_F_USO4: UDP GRO on the way, e.g.
 * rx-udp-gro-forwarding on the LAN device): fed to lwIP as the datagrams it stands for, each
 * the first one's headers with its own lengths, no UDP checksum (optional over IPv4; the
 * payload is relayed, not delivered). Returns the datagrams fed, 0 when b is not IPv4 UDP. */
static int udp_gso_input(struct ns_netif *nif, const uint8_t *b, size_t n, size_t mss)
{
    size_t off;
    int count = 0;

    if (n <= 28 || b[0] != 0x45 || b[9] != IP_PROTO_UDP || mss == 0)
        return 0;
    for (off = 28; off < n; off += mss) {
        size_t seg = n - off < mss ? n - off : mss;
        struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)(28 + seg), PBUF_RAM);
        uint8_t *h;

        count++;
        if (!p) {
            nif->rx_drops++;
            continue;
        }
        h = p->payload;
        memcpy(h, b, 28);
        memcpy(h + 28, b + off, seg);
        ip_fix(h, 28 + seg);
        wr16(h + 24, (uint16_t)(8 + seg));
        h[26] = h[27] = 0;
        if (nif->netif.input(p, &nif->netif) != ERR_OK) {
            pbuf_free(p);
            nif->rx_drops++;
        }
    }
    return count;
}

/* An unfragmented UDP datagram (IPv4, or IPv6 with UDP as the next header): lwIP hands it to
 * a pcb whose callback copies it out and frees it (ns_netif_read lends the buffer for it). */
static bool udp_lendable(const uint8_t *b, size_t n)
{
    if (n >= 28 && b[0] >> 4 == 4)
        return b[9] == IP_PROTO_UDP && (rd16(b + 6) & 0x3fff) == 0;
    return n >= 48 && b[0] >> 4 == 6 && b[6] == IP_PROTO_UDP;
}

/* Makes rx ready for one read: a receive buffer sized for the mode (NS_NETIF_RX_MAX with vnet
 * headers, the MTU without), restored after a lend; iov gets the header and the buffer.
 * Returns the iovec count, or -ENOMEM. */
static int rx_prepare(struct ns_netif *nif, struct ns_rxbuf *rx, struct virtio_net_hdr *vh,
                      struct iovec *iov)
{
    size_t cap = nif->vnet ? NS_NETIF_RX_MAX : nif->netif.mtu;

    if (!rx->p) {
        if (!(rx->p = pbuf_alloc(PBUF_RAW, (u16_t)cap, PBUF_RAM)))
            return -ENOMEM;
        rx->base = rx->p->payload;
    }
    rx->p->payload = rx->base; /* lent last time: lwIP moved it */
    rx->p->len = rx->p->tot_len = (u16_t)cap;
    iov[0] = (struct iovec){.iov_base = vh, .iov_len = sizeof(*vh)};
    iov[1] = (struct iovec){.iov_base = rx->p->payload, .iov_len = cap};
    if (!nif->vnet) {
        iov[0] = iov[1];
        return 1;
    }
    return 2;
}

/* Takes a packet of n bytes read into rx (after its vnet header, if any): the buffer itself
 * is handed on when the packet is large, lent (with a reference of ours) for a UDP datagram,
 * and copied into a fitting pbuf otherwise (lwIP cannot shrink a malloc'd pbuf). Returns the
 * pbuf, or NULL with *err = 0 for an empty or malformed read (or a UDP super-packet fed as
 * *split datagrams), or NULL with *err = ENOMEM. */
static struct pbuf *rx_take(struct ns_netif *nif, struct ns_rxbuf *rx,
                            const struct virtio_net_hdr *vh, ssize_t n, int *err, int *split)
{
    struct pbuf *p;

    *err = 0;
    if (n >= 0 && nif->vnet)
        n = n >= (ssize_t)sizeof(*vh) ? n - (ssize_t)sizeof(*vh) : 0;
    if (n <= 0)
        return NULL;
    if (nif->vnet) {
        nif->rx_gso += vh->gso_type != VIRTIO_NET_HDR_GSO_NONE;
        if (vh->gso_type == VIRTIO_NET_HDR_GSO_UDP_L4) {
            *split = udp_gso_input(nif, rx->p->payload, (size_t)n, vh->gso_size);
            return NULL; /* *split 0: not IPv4 UDP, dropped as malformed */
        }
        finish_csum(vh, rx->p->payload, (size_t)n);
    }
    if (n > NS_NETIF_RX_COPY) {
        p = rx->p;
        rx->p = NULL;
        pbuf_realloc(p, (u16_t)n);
        return p;
    }
    if (udp_lendable(rx->p->payload, (size_t)n)) {
        p = rx->p;
        p->len = p->tot_len = (u16_t)n;
        pbuf_ref(p);
        return p;
    }
    if (!(p = pbuf_alloc(PBUF_RAW, (u16_t)n, PBUF_RAM))) {
        *err = ENOMEM;
        return NULL;
    }
    memcpy(p->payload, rx->p->payload, (size_t)n);
    return p;
}

/* Feeds one read's result (bytes, or -errno) in rx to lwIP; adds the packets to *count.
 * Returns 0, -EAGAIN when the fd had nothing, or another -errno. */
static int rx_one(struct ns_netif *nif, struct ns_rxbuf *rx, const struct virtio_net_hdr *vh,
                  ssize_t res, int *count)
{
    int err, split = 0;
    struct pbuf *p;

    if (res == -EWOULDBLOCK || res == -EAGAIN)
        return -EAGAIN;
    if (res == -EINTR)
        return 0;
    if (res < 0)
        return (int)res;
    p = rx_take(nif, rx, vh, res, &err, &split);
    if (split) { /* a UDP super-packet, already fed as datagrams */
        *count += split;
        nif->rx_packets += (uint64_t)split;
        return 0;
    }
    if (!p) {
        nif->rx_drops += err == 0; /* empty or malformed: skipped */
        return -err;
    }
    (*count)++;
    nif->rx_packets++;
    if (nif->vnet && p->len == p->tot_len &&
        ns_pmtu_learn(&nif->pmtu, p->payload, p->len, sys_now())) /* lwIP sees it too */
        nif->rx_ptb++;
    if (nif->icmp_hook && is_icmp(p->payload, p->len) &&
        nif->icmp_hook(nif->icmp_arg, p->payload, p->len)) {
        pbuf_free(p);
        return 0;
    }
    if (nif->netif.input(p, &nif->netif) != ERR_OK) {
        pbuf_free(p);
        nif->rx_drops++;
    }
    if (p == rx->p && p->ref > 1) { /* lent, and kept: it is lwIP's now */
        pbuf_free(p);
        rx->p = NULL;
    }
    return 0;
}

int ns_netif_read(struct ns_netif *nif, int budget)
{
    struct virtio_net_hdr vh[NS_NETIF_RX_BATCH];
    struct iovec iov[NS_NETIF_RX_BATCH][2];
    ssize_t res[NS_NETIF_RX_BATCH];
    int count = 0, reads = 0, want = nif->rx_want ? nif->rx_want : NS_NETIF_RX_BATCH_MIN;

    while (reads < budget) {
        int i, iovcnt = 1, err = 0, n = nif->batch ? want : 1;
        bool again = false;

        if (n > budget - reads)
            n = budget - reads;
        for (i = 0; i < n; i++)
            if ((iovcnt = rx_prepare(nif, &nif->rx[i], &vh[i], iov[i])) < 0)
                return count ? count : -ENOMEM;
        if (!(n = ns_rxbatch_reads(nif, iov, iovcnt, res, n)))
            continue; /* batching refused: again with one readv */
        reads += n;
        for (i = 0; i < n; i++) {
            int rc = rx_one(nif, &nif->rx[i], &vh[i], res[i], &count);
            if (rc == -EAGAIN)
                again = true;
            else if (rc < 0 && !err)
                err = rc;
        }
        if (err)
            return count ? count : err;
        if (again)
            break;
        want = n * 2 > NS_NETIF_RX_BATCH ? NS_NETIF_RX_BATCH : n * 2; /* all had packets */
    }
    /* the next wake-up starts with a batch the size of this one's packets (4 to 16) */
    nif->rx_want = count < NS_NETIF_RX_BATCH_MIN ? NS_NETIF_RX_BATCH_MIN
                   : count > NS_NETIF_RX_BATCH   ? NS_NETIF_RX_BATCH
                                                 : count;
    return count;
}

void ns_netif_fini(struct ns_netif *nif)
{
    ns_netif_flush(nif);
    free(nif->gso);
    nif->gso = NULL;
    rx_free(nif);
    if (nif->batch)
        ns_rxbatch_close(nif->batch);
    nif->batch = NULL;
    netif_remove(&nif->netif);
}
