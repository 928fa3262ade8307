/* lwIP 2.1.3 options for subtunnel: NO_SYS, raw API, one event-loop thread,
 * 2 MiB windows with window scaling, pools from malloc. See netstack/README.md. */
#ifndef SUBTUNNEL_LWIPOPTS_H
#define SUBTUNNEL_LWIPOPTS_H

/* System: no OS layer, the gateway's event loop drives lwIP. */
#define NO_SYS 1
#define SYS_LIGHTWEIGHT_PROT 0
#define LWIP_TIMERS 1
#define LWIP_NETCONN 0
#define LWIP_SOCKET 0
#define LWIP_CALLBACK_API 1

/* Memory: everything from libc malloc; MEMP_NUM_* below are only nominal limits. */
#define MEM_LIBC_MALLOC 1
#define MEMP_MEM_MALLOC 1
#define MEM_ALIGNMENT 8
#define MEMP_NUM_TCP_PCB 65535
#define MEMP_NUM_TCP_PCB_LISTEN 16
#define MEMP_NUM_UDP_PCB 4096

/* Protocols */
#define LWIP_IPV4 1
#define LWIP_IPV6 1
#define LWIP_IPV6_MLD 0
#define LWIP_IPV6_AUTOCONFIG 0
#define LWIP_IPV6_DHCP6 0
#define LWIP_IPV6_SEND_ROUTER_SOLICIT 0
#define LWIP_ND6_QUEUEING 0
/* no router advertisements on a TUN: lwIP's IPv6 MTU is then netif->mtu itself. With RA
 * updates on, netif->mtu6 is copied from mtu inside netif_add, before ns_netif_init sets
 * the TUN's MTU, and stayed 0: IPv6 was never fragmented (a reply larger than the TUN MTU
 * left whole and died at the next hop) and TCP announced TCP_MSS instead of MTU - 60 */
#define LWIP_ND6_ALLOW_RA_UPDATES 0
#define LWIP_IPV6_FRAG 1
#define LWIP_IPV6_REASS 1
/* 64-bit pointers: the reassembly helper does not fit the 8-byte fragment header, so lwIP
 * copies the header aside (its ip6_reass_tmr asserts this on the first tick otherwise) */
#define IPV6_FRAG_COPYHEADER 1
#define LWIP_TCP 1
#define LWIP_UDP 1
#define LWIP_ICMP 1
#define LWIP_RAW 0
#define LWIP_ARP 0
#define LWIP_ETHERNET 0
#define LWIP_DHCP 0
#define LWIP_AUTOIP 0
#define LWIP_IGMP 0
#define LWIP_DNS 0
#define LWIP_SINGLE_NETIF 0
#define LWIP_NETIF_STATUS_CALLBACK 0
#define LWIP_NETIF_LINK_CALLBACK 0
#define IP_FORWARD 0
/* SOF_REUSEADDR on UDP pcbs: several datagram flows share a local address and port
 * (reach: one pcb per client bound to the same destination) and are told apart by their
 * connected remote end. TCP pcbs never set the option. */
#define SO_REUSE 1
/* IP fragments (UDP datagrams above the MTU): lwIP's defaults (10 pbufs, 5 datagrams
 * reassembling at once) drop a burst of 8 KB datagrams. Bounded: 4 MiB at most. */
#define IP_REASSEMBLY 1
#define IP_FRAG 1
#define IP_REASS_MAX_PBUFS 2048
#define MEMP_NUM_REASSDATA 256

/* TCP: MSS for a 1500-byte TUN MTU, 2 MiB receive window (scale 5: 0xffff << 5 is 32 bytes
 * short of 2 MiB) and 2 MiB send buffer: at 1.5 Gbit/s, 1 MiB lasted 5 ms, less than the
 * loop from the edge through the gateway to the host and back under load (measured: +20 %
 * single-flow throughput; 4 MiB gained nothing more). */
#define TCP_MSS 1460
#define LWIP_WND_SCALE 1
#define TCP_RCV_SCALE 5
#define TCP_WND (2 * 1024 * 1024 - 64)
#define TCP_SND_BUF (2 * 1024 * 1024)
#define TCP_SND_QUEUELEN (4 * TCP_SND_BUF / TCP_MSS)
/* TCP_SNDLOWAT is a u16_t and must stay 4 * MSS below 0xffff (init.c check). */
#define TCP_SNDLOWAT (16 * TCP_MSS)
/* Window updates on their own only when a quarter of the window reopened (lwIP's default,
 * 4 MSS, sent an extra ACK per 6 KB consumed); ACKs for data carry the window anyway. */
#define TCP_WND_UPDATE_THRESHOLD (TCP_WND / 4)
#define TCP_LISTEN_BACKLOG 0
#define LWIP_TCP_KEEPALIVE 1
#define TCP_QUEUE_OOSEQ 1

/* Checksums: TUN traffic comes from the local kernel, do not re-verify it. */
#define CHECKSUM_CHECK_IP 0
#define CHECKSUM_CHECK_TCP 0
#define CHECKSUM_CHECK_UDP 0
#define CHECKSUM_CHECK_ICMP 0
#define CHECKSUM_GEN_IP 1
#define CHECKSUM_GEN_TCP 1
#define CHECKSUM_GEN_UDP 1
#define CHECKSUM_GEN_ICMP 1
/* per-netif control: a vnet TUN leaves TCP checksums to the kernel (ns_netif.c) */
#define LWIP_CHECKSUM_CTRL_PER_NETIF 1

/* Randomness (arch/cc.h declares ns_rand): ephemeral ports and TCP initial sequence numbers. */
#define LWIP_RAND() ns_rand()
#define LWIP_HOOK_TCP_ISN(local_ip, local_port, remote_ip, remote_port) ns_rand()

/* Statistics for the gateway's metrics (ns_stack_mem, ns_stack_pools): lwIP's heap use
 * (MEM_STATS: every mem_malloc carries 8 bytes more to remember its size) and objects in
 * use per pool (MEMP_STATS); the per-protocol packet counters stay off. */
#define LWIP_STATS 1
#define LWIP_STATS_LARGE 1
#define LWIP_STATS_DISPLAY 0
#define MEM_STATS 1
#define MEMP_STATS 1
#define LINK_STATS 0
#define IP_STATS 0
#define IPFRAG_STATS 0
#define ICMP_STATS 0
#define UDP_STATS 0
#define TCP_STATS 0
#define SYS_STATS 0
/* Define LWIP_DEBUG (e.g. -DLWIP_DEBUG) and set *_DEBUG to LWIP_DBG_ON to trace lwIP. */

#endif /* SUBTUNNEL_LWIPOPTS_H */
