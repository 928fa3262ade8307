/* TUN device creation and its rtnetlink configuration (libmnl; never shells out to ip). */
#ifndef SUBTUNNEL_NS_TUN_H
#define SUBTUNNEL_NS_TUN_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nlmsghdr;

/* Opens /dev/net/tun as an IFF_TUN|IFF_NO_PI device named `name` (NULL or "" lets the
 * kernel pick tunN), non-blocking and close-on-exec. Copies the actual name to `ifname`.
 * With *offload set, asks for IFF_VNET_HDR with checksum and TCP segmentation offload for
 * both families (TUNSETOFFLOAD TUN_F_CSUM|TUN_F_TSO4|TUN_F_TSO6); *offload is cleared when the
 * kernel refuses vnet headers and the device is opened without them. Returns the fd (caller closes
 * it) or -errno (-ENOENT without /dev/net/tun, -EPERM without CAP_NET_ADMIN). */
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

/* Turns IPv6 address autoconfiguration off on ifname (IFLA_INET6_ADDR_GEN_MODE none): the
 * TUN gets no link-local address, so the kernel sends no DAD probes or router solicitations
 * into it. Call before ns_tun_set_up. Returns 0, -ENODEV, or -errno (-EAFNOSUPPORT when the
 * kernel runs without IPv6). */
int ns_tun_no_autoconf6(const char *ifname);

/* rtm_protocol of the routes ns_tun_add_route installs (`ip route show proto 83`): tells
 * them apart from the administrator's (static, 4) and the kernel's (2). */
#define NS_TUN_RTPROT 83

/* Builds, in buf (MNL_SOCKET_BUFFER_SIZE bytes), the RTM_NEWROUTE (add: NLM_F_CREATE |
 * NLM_F_EXCL) or RTM_DELROUTE message for the main-table route net/prefix (family AF_INET or
 * AF_INET6, net 4 or 16 bytes, host bits cleared in the message) out of interface ifindex
 * with the given metric and protocol NS_TUN_RTPROT; link scope for IPv4. Pure: sends
 * nothing, flags NLM_F_REQUEST|NLM_F_ACK are added on sending. NULL for an unknown family or
 * a prefix outside 0..32 (0..128). */
struct nlmsghdr *ns_tun_route_msg(void *buf, bool add, int family, const void *net, int prefix,
                                  int ifindex, unsigned metric);

/* Adds the route of ns_tun_route_msg via ifname. Never replaces a route: -EEXIST when the
 * table already holds net/prefix with this metric (another route for the same prefix with
 * another metric is left alone and coexists). Returns 0, -EINVAL (family, prefix), -ENODEV,
 * or -errno. */
int ns_tun_add_route(const char *ifname, int family, const void *net, int prefix, unsigned metric);

/* Deletes the route ns_tun_add_route installed with the same arguments (RTM_DELROUTE matching
 * interface, metric and NS_TUN_RTPROT, so no other route is touched). Returns 0, -ESRCH if it
 * is gone already, -EINVAL, -ENODEV, or -errno. */
int ns_tun_del_route(const char *ifname, int family, const void *net, int prefix, unsigned metric);

/* An address configured on one of the host's interfaces (RTM_GETADDR). */
struct ns_tun_addr {
    int family;       /* AF_INET or AF_INET6 */
    uint8_t addr[16]; /* IFA_LOCAL, or IFA_ADDRESS: the peer of a point-to-point link; network
                         byte order, IPv4 in addr[0..4) */
    int prefix;
    char ifname[IFNAMSIZ]; /* "?" when the interface vanished meanwhile */
};

/* Lists the IPv4 and IPv6 addresses of every interface of the network namespace (loopback,
 * the TUN, link-local and point-to-point peers included) into out[0..max). Returns the
 * count, -ENOBUFS when there are more than max, or -errno. Blocks for one netlink dump. */
int ns_tun_list_addr(struct ns_tun_addr *out, size_t max);

#endif /* SUBTUNNEL_NS_TUN_H */
