/* TUN device creation and its rtnetlink configuration (libmnl; never shells out to ip). */
#ifndef SUBTUNNEL_NS_TUN_H
#define SUBTUNNEL_NS_TUN_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>

/* Opens /dev/net/tun as an IFF_TUN|IFF_NO_PI device named `name` (NULL or "" lets the
 * kernel pick tunN), non-blocking and close-on-exec. Copies the actual name to `ifname`.
 * With *offload set, asks for IFF_VNET_HDR with checksum and TCPv4 segmentation offload
 * (TUNSETOFFLOAD TUN_F_CSUM|TUN_F_TSO4); *offload is cleared when the kernel refuses vnet
 * headers and the device is opened without them. Returns the fd (caller closes it) or
 * -errno (-ENOENT without /dev/net/tun, -EPERM without CAP_NET_ADMIN). */
int ns_tun_open(const char *name, char ifname[IFNAMSIZ], bool *offload);

#define NS_TUN_TXQLEN 8192 /* packets the kernel may queue toward the gateway */

/* Sets the link MTU and the queue length NS_TUN_TXQLEN (RTM_NEWLINK). Returns 0, -ENODEV
 * for an unknown ifname or -errno from the kernel ack. */
int ns_tun_set_mtu(const char *ifname, int mtu);

/* Brings the link up (RTM_NEWLINK, IFF_UP). Returns 0 or -errno. */
int ns_tun_set_up(const char *ifname);

/* Adds (or replaces) the IPv4 address addr/prefix on ifname (RTM_NEWADDR); idempotent.
 * Returns 0, -EINVAL for prefix outside 0..32, or -errno. */
int ns_tun_add_addr4(const char *ifname, struct in_addr addr, int prefix);

/* Adds (or replaces) a main-table link-scope route net/prefix via ifname (RTM_NEWROUTE,
 * NLM_F_CREATE|NLM_F_REPLACE); idempotent. Host bits of net are cleared.
 * Returns 0, -EINVAL for prefix outside 0..32, or -errno. */
int ns_tun_add_route4(const char *ifname, struct in_addr net, int prefix);

#endif /* SUBTUNNEL_NS_TUN_H */
