/* lwIP netif over a TUN-like fd: one IP packet (v4 or v6) per read/write, no packet-info header;
 * optionally with a struct virtio_net_hdr in front (IFF_VNET_HDR), which lets the kernel hand
 * over TCP super-packets of up to 64 KiB and lets us write such packets for it to cut. */
#ifndef SUBTUNNEL_NS_NETIF_H
#define SUBTUNNEL_NS_NETIF_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "lwip/netif.h"
#include "ns_pmtu.h"

/* Sees every unfragmented ICMP packet read from the fd (IPv4 ICMP, and ICMPv6 right after
 * the IPv6 header) before lwIP does; returns 1 when it
 * took the packet (lwIP never sees it), 0 to let lwIP handle it. */
typedef int (*ns_netif_icmp_hook)(void *arg, uint8_t *pkt, size_t len);

/* Batched reads: at most NS_NETIF_RX_BATCH reads per system call. The first batch of a
 * wake-up reads as many as the last wake-up found, at least NS_NETIF_RX_BATCH_MIN; batches
 * double while every read finds a packet. */
#define NS_NETIF_RX_BATCH 16
#define NS_NETIF_RX_BATCH_MIN 4

/* A receive buffer: a pbuf sized for the largest read, and its payload as allocated (a buffer
 * lent to lwIP for a UDP datagram comes back with the payload moved). */
struct ns_rxbuf {
    struct pbuf *p; /* NULL: allocated before the next read (the last one was handed on) */
    void *base;
};

struct ns_rxbatch; /* ns_rxbatch.h */

struct ns_netif {
    struct netif netif;
    int fd;    /* borrowed: ns_netif_fini does not close it */
    bool vnet; /* each packet has a struct virtio_net_hdr in front (ns_netif_set_vnet) */
    uint64_t rx_packets, tx_packets, rx_drops, tx_drops;
    uint64_t rx_gso, tx_gso;      /* super-packets read; coalesced packets written */
    uint64_t rx_ptb, tx_pmtu;     /* ICMPv6 Packet Too Big read for lwIP's TCP; TCP segments
                                     written cut to a smaller path MTU (vnet only) */
    struct ns_pmtu pmtu;          /* path MTU per IPv6 destination (ns_pmtu.h) */
    ns_netif_icmp_hook icmp_hook; /* optional */
    void *icmp_arg;
    struct ns_rxbuf rx[NS_NETIF_RX_BATCH]; /* rx[0] for one readv; all with batched reads */
    struct ns_rxbatch *batch;              /* batched reads (ns_netif_batch_reads), or NULL */
    int batch_err;       /* errno that turned batched reads off (at start or at a read), or 0 */
    uint64_t rx_batches; /* system calls that read a batch */
    int rx_want;         /* reads in the next wake-up's first batch (0: NS_NETIF_RX_BATCH_MIN) */
    struct ns_gso *gso;  /* TCP segments being coalesced (vnet only) */
};

/* Adds a netif over a TUN-like fd (one IP packet per read/write, no PI header), sets it up,
 * default, with NETIF_FLAG_ACCEPT_ANY. addr/mask are the lwIP-side address.
 * Initialises lwIP if needed (ns_stack_init). `nif` must stay at a fixed address until
 * ns_netif_fini. Returns 0, -EINVAL for a bad prefix/mtu/fd, or -ENOMEM. */
int ns_netif_init(struct ns_netif *nif, int fd, struct in_addr addr, int prefix, int mtu);

/* Switches the fd's framing: with `on`, every read and write carries a virtio_net_hdr, packets
 * read may be TCP super-packets (lwIP takes them as one segment; partial UDP/ICMP checksums
 * are completed), and consecutive TCP segments lwIP sends for one connection are coalesced
 * into one packet with a TCPV4 GSO header until ns_netif_flush. IPv6 TCP segments larger
 * than their destination's path MTU (learned from ICMPv6 Packet Too Big, ns_pmtu.h) leave
 * with a TCPV6 GSO header that cuts them to it. Returns 0 or -ENOMEM. */
int ns_netif_set_vnet(struct ns_netif *nif, bool on);

/* Reads through io_uring from now on: up to NS_NETIF_RX_BATCH packets per system call instead
 * of one `readv` each (a TUN has no recvmmsg). Every read is RWF_NOWAIT, so a batch completes
 * inside the call that submits it, with a packet or EAGAIN: no read stays pending. Returns 0,
 * or -errno (also in batch_err) where io_uring is not available (old kernel, seccomp,
 * kernel.io_uring_disabled): reads stay one readv each. A kernel whose TUN refuses RWF_NOWAIT
 * turns batching off at the first read, with batch_err set. */
int ns_netif_batch_reads(struct ns_netif *nif);

/* Writes the coalesced TCP segments still pending (vnet only; no-op otherwise). Call it
 * before the event loop sleeps: lwIP's output stays in one batch until then. */
void ns_netif_flush(struct ns_netif *nif);

/* Reads up to `budget` packets from fd (non-blocking) and feeds them to lwIP; returns
 * packets read (0 on EAGAIN) or -errno. An error after some packets returns the count;
 * the error shows on the next call. Runs lwIP callbacks synchronously. */
int ns_netif_read(struct ns_netif *nif, int budget);

/* Writes one complete IPv4 packet to the fd, bypassing lwIP (ICMP relayed as is).
 * 0, or -errno (-EAGAIN: the TUN queue is full; the packet is dropped and counted). */
int ns_netif_send(struct ns_netif *nif, const uint8_t *pkt, size_t len);

/* Removes the netif from lwIP (pcbs using it fall back to other netifs or fail). */
void ns_netif_fini(struct ns_netif *nif);

#endif /* SUBTUNNEL_NS_NETIF_H */
