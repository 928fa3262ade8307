/* TUN device creation and its rtnetlink configuration (libmnl; never shells out to ip). */
#ifndef SUBTUNNEL_NS_TUN_H
#define SUBTUNNEL_NS_TUN_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

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

/* Adds (or replaces) the IPv6 address addr/prefix on ifname (RTM_NEWADDR, IFA_F_NODAD: usable
 * at once; the kernel adds the connected route addr/prefix via ifname). Returns 0, -EINVAL
 * for prefix outside 0..128, or -errno. */
int ns_tun_add_addr6(const char *ifname, const struct in6_addr *addr, int prefix);

/* rtm_protocol of the routes ns_tun_add_route4 installs (`ip route show proto 83`): tells
 * them apart from the administrator's (static, 4) and the kernel's (2). */
#define NS_TUN_RTPROT 83

/* Adds a main-table link-scope route net/prefix via ifname with the given metric
 * (RTM_NEWROUTE, NLM_F_CREATE|NLM_F_EXCL, protocol NS_TUN_RTPROT). Never replaces a route:
 * -EEXIST when the table already holds net/prefix with this metric (another route for the
 * same prefix with another metric is left alone and coexists). Host bits of net are
 * cleared. Returns 0, -EINVAL for prefix outside 0..32, -ENODEV, or -errno. */
int ns_tun_add_route4(const char *ifname, struct in_addr net, int prefix, unsigned metric);

/* Deletes the route ns_tun_add_route4 installed with the same arguments (RTM_DELROUTE
 * matching interface, metric and NS_TUN_RTPROT, so no other route is touched). Returns 0,
 * -ESRCH if it is gone already, -EINVAL, -ENODEV, or -errno. */
int ns_tun_del_route4(const char *ifname, struct in_addr net, int prefix, unsigned metric);

/* An IPv4 address configured on one of the host's interfaces (RTM_GETADDR). */
struct ns_tun_addr4 {
    struct in_addr addr; /* IFA_LOCAL, or IFA_ADDRESS: the peer of a point-to-point link */
    int prefix;
    char ifname[IFNAMSIZ]; /* "?" when the interface vanished meanwhile */
};

/* Lists the IPv4 addresses of every interface of the network namespace (loopback, the
 * TUN and point-to-point peers included) into out[0..max). Returns the count, -ENOBUFS
 * when there are more than max, or -errno. Blocks for one netlink dump. */
int ns_tun_list_addr4(struct ns_tun_addr4 *out, size_t max);

#endif /* SUBTUNNEL_NS_TUN_H */
