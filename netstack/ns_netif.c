#include "ns_netif.h"

#include <errno.h>
#include <stdbool.h>
#include <sys/uio.h>
#include <unistd.h>

#include "lwip/ip.h"
#include "lwip/pbuf.h"
#include "ns_stack.h"

#define NS_NETIF_MAX_IOV 64

static ssize_t write_chain(int fd, struct pbuf *p)
{
    struct iovec iov[NS_NETIF_MAX_IOV];
    struct pbuf *q, *flat;
    ssize_t n;
    int cnt = 0, err;

    for (q = p; q && cnt < NS_NETIF_MAX_IOV; q = q->next) {
        iov[cnt].iov_base = q->payload;
        iov[cnt].iov_len = q->len;
        cnt++;
    }
    if (!q)
        return writev(fd, iov, cnt);
    /* Unusually long chain: flatten it once rather than truncate. */
    flat = pbuf_clone(PBUF_RAW, PBUF_RAM, p);
    if (!flat) {
        errno = ENOBUFS;
        return -1;
    }
    n = write(fd, flat->payload, flat->len);
    err = errno;
    pbuf_free(flat);
    errno = err;
    return n;
}

static err_t tun_output(struct netif *netif, struct pbuf *p, const ip4_addr_t *next_hop)
{
    struct ns_netif *nif = netif->state;

    (void)next_hop;
    if (write_chain(nif->fd, p) < 0) {
        nif->tx_drops++;
        /* A full TUN queue is congestion: drop, TCP retransmits. */
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS || errno == EINTR)
            return ERR_OK;
        return ERR_IF;
    }
    nif->tx_packets++;
    return ERR_OK;
}

static err_t tun_netif_init(struct netif *netif)
{
    netif->name[0] = 't';
    netif->name[1] = 'u';
    netif->output = tun_output;
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

/* Unfragmented IPv4 ICMP (fragments go to lwIP, which reassembles or drops them). */
static bool is_icmp(const uint8_t *b, size_t n)
{
    return n >= 20 && (b[0] >> 4) == 4 && b[9] == 1 && (b[6] & 0x3f) == 0 && b[7] == 0;
}

int ns_netif_send(struct ns_netif *nif, const uint8_t *pkt, size_t len)
{
    if (write(nif->fd, pkt, len) < 0) {
        nif->tx_drops++;
        return -errno;
    }
    nif->tx_packets++;
    return 0;
}

int ns_netif_read(struct ns_netif *nif, int budget)
{
    u16_t mtu = nif->netif.mtu;
    struct pbuf *p;
    ssize_t n;
    int i, count = 0;

    for (i = 0; i < budget; i++) {
        p = pbuf_alloc(PBUF_RAW, mtu, PBUF_RAM);
        if (!p)
            return count ? count : -ENOMEM;
        n = read(nif->fd, p->payload, mtu);
        if (n <= 0) {
            int err = n < 0 ? errno : 0;

            pbuf_free(p);
            if (err == EAGAIN || err == EWOULDBLOCK)
                break;
            if (err == 0 || err == EINTR) { /* empty datagram or signal: skip */
                nif->rx_drops += err == 0;
                continue;
            }
            return count ? count : -err;
        }
        pbuf_realloc(p, (u16_t)n);
        count++;
        nif->rx_packets++;
        if (nif->icmp_hook && is_icmp(p->payload, (size_t)n) &&
            nif->icmp_hook(nif->icmp_arg, p->payload, (size_t)n)) {
            pbuf_free(p);
            continue;
        }
        if (nif->netif.input(p, &nif->netif) != ERR_OK) {
            pbuf_free(p);
            nif->rx_drops++;
        }
    }
    return count;
}

void ns_netif_fini(struct ns_netif *nif)
{
    netif_remove(&nif->netif);
}
