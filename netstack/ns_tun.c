#include "ns_tun.h"

#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <linux/virtio_net.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#ifndef TUN_F_USO4 /* linux/if_tun.h before 6.2 */
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif

static int tun_open(const char *name, char ifname[IFNAMSIZ], short flags)
{
    struct ifreq ifr;
    int fd, err;

    fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = flags;
    if (name)
        strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        err = -errno;
        close(fd);
        return err;
    }
    memcpy(ifname, ifr.ifr_name, IFNAMSIZ);
    ifname[IFNAMSIZ - 1] = '\0';
    return fd;
}

int ns_tun_open(const char *name, char ifname[IFNAMSIZ], bool *offload)
{
    int fd, hdr = (int)sizeof(struct virtio_net_hdr);

    if (!*offload)
        return tun_open(name, ifname, IFF_TUN | IFF_NO_PI);
    fd = tun_open(name, ifname, IFF_TUN | IFF_NO_PI | IFF_VNET_HDR);
    if (fd == -EINVAL || fd == -EOPNOTSUPP) { /* kernel without vnet headers on TUN */
        *offload = false;
        return tun_open(name, ifname, IFF_TUN | IFF_NO_PI);
    }
    if (fd < 0)
        return fd;
    /* Header size and offloads: without TUNSETOFFLOAD the kernel still takes our GSO
     * writes but cuts what it hands us to the MTU; that only costs speed. */
    if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
        close(fd);
        *offload = false;
        return tun_open(name, ifname, IFF_TUN | IFF_NO_PI);
    }
    /* UDP segmentation offload (kernels from 6.2): UDP GRO on the way may hand us super-packets
     * of one flow's datagrams (ns_netif splits them); older kernels refuse the flags */
    if (ioctl(fd, TUNSETOFFLOAD,
              (unsigned long)(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_USO4 | TUN_F_USO6)) < 0)
        (void)ioctl(fd, TUNSETOFFLOAD, (unsigned long)(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6));
    return fd;
}

#define NL_BUF 32768 /* a dump may come in skbs up to 32 KiB; a shorter read truncates */

/* Sends nlh (flags set by the caller) and reads replies through cb until the kernel's ack
 * or NLMSG_DONE; returns 0 or -errno from the kernel, the socket or cb. */
static int nl_run(struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
    char *buf = malloc(NL_BUF);
    struct mnl_socket *nl;
    unsigned int portid;
    ssize_t n;
    int ret;

    if (!buf)
        return -ENOMEM;
    nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
    if (!nl) {
        ret = -errno;
        goto out_free;
    }
    if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
        ret = -errno;
        goto out_close;
    }
    portid = mnl_socket_get_portid(nl);
    nlh->nlmsg_seq = (unsigned int)time(NULL);
    if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
        ret = -errno;
        goto out_close;
    }
    do {
        n = mnl_socket_recvfrom(nl, buf, NL_BUF);
        if (n < 0) {
            ret = -errno;
            goto out_close;
        }
        ret = mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, portid, cb, data);
    } while (ret > MNL_CB_STOP);
    ret = ret < 0 ? -errno : 0;
out_close:
    mnl_socket_close(nl);
out_free:
    free(buf);
    return ret;
}

/* Sends one request with NLM_F_ACK and waits for its ack; returns 0 or -errno from it. */
static int nl_transact(struct nlmsghdr *nlh)
{
    nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
    return nl_run(nlh, NULL, NULL);
}

static int link_index(const char *ifname)
{
    unsigned int idx = if_nametoindex(ifname);

    return idx ? (int)idx : -ENODEV;
}

static struct nlmsghdr *link_msg(char *buf, int ifindex)
{
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    struct ifinfomsg *ifi;

    nlh->nlmsg_type = RTM_NEWLINK;
    ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = ifindex;
    return nlh;
}

int ns_tun_set_mtu(const char *ifname, int mtu)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct nlmsghdr *nlh;
    int idx = link_index(ifname);

    if (idx < 0)
        return idx;
    if (mtu <= 0)
        return -EINVAL;
    nlh = link_msg(buf, idx);
    mnl_attr_put_u32(nlh, IFLA_MTU, (uint32_t)mtu);
    /* The kernel queues packets for the reader here; the default 500 drops bursts (500
     * SYN-ACKs at once from origins cost a 1 s retransmission each). */
    mnl_attr_put_u32(nlh, IFLA_TXQLEN, NS_TUN_TXQLEN);
    return nl_transact(nlh);
}

int ns_tun_set_up(const char *ifname)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct nlmsghdr *nlh;
    struct ifinfomsg *ifi;
    int idx = link_index(ifname);

    if (idx < 0)
        return idx;
    nlh = link_msg(buf, idx);
    ifi = mnl_nlmsg_get_payload(nlh);
    ifi->ifi_flags = IFF_UP;
    ifi->ifi_change = IFF_UP;
    return nl_transact(nlh);
}

/* RTM_NEWADDR for addr (len bytes of family) / prefix on ifname, with ifa_flags. */
static int add_addr(const char *ifname, int family, const void *addr, size_t len, int prefix,
                    unsigned char flags)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct nlmsghdr *nlh;
    struct ifaddrmsg *ifa;
    int idx = link_index(ifname);

    if (prefix < 0 || (size_t)prefix > len * 8)
        return -EINVAL;
    if (idx < 0)
        return idx;
    nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_NEWADDR;
    nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
    ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
    ifa->ifa_family = (unsigned char)family;
    ifa->ifa_prefixlen = (unsigned char)prefix;
    ifa->ifa_flags = flags;
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    ifa->ifa_index = (unsigned int)idx;
    mnl_attr_put(nlh, IFA_LOCAL, len, addr);
    mnl_attr_put(nlh, IFA_ADDRESS, len, addr);
    return nl_transact(nlh);
}

int ns_tun_add_addr4(const char *ifname, struct in_addr addr, int prefix)
{
    return add_addr(ifname, AF_INET, &addr, sizeof(addr), prefix, 0);
}

int ns_tun_add_addr6(const char *ifname, const struct in6_addr *addr, int prefix)
{
    return add_addr(ifname, AF_INET6, addr, sizeof(*addr), prefix, IFA_F_NODAD);
}

/* Clears the host bits of a (len bytes) beyond prefix. */
static void net_mask(uint8_t *a, size_t len, int prefix)
{
    for (size_t i = 0; i < len; i++) {
        int keep = prefix - (int)i * 8;
        a[i] &= keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
    }
}

static size_t family_len(int family)
{
    return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

struct nlmsghdr *ns_tun_route_msg(void *buf, bool add, int family, const void *net, int prefix,
                                  int ifindex, unsigned metric)
{
    size_t len = family_len(family);
    uint8_t dst[16] = {0};
    struct nlmsghdr *nlh;
    struct rtmsg *rtm;

    if (!len || prefix < 0 || (size_t)prefix > len * 8)
        return NULL;
    memcpy(dst, net, len);
    net_mask(dst, len, prefix);
    nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = add ? RTM_NEWROUTE : RTM_DELROUTE;
    nlh->nlmsg_flags = add ? NLM_F_CREATE | NLM_F_EXCL : 0;
    rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
    rtm->rtm_family = (unsigned char)family;
    rtm->rtm_dst_len = (unsigned char)prefix;
    rtm->rtm_table = RT_TABLE_MAIN;
    rtm->rtm_protocol = NS_TUN_RTPROT;
    /* IPv6 routes have no scope (the kernel stores universe whatever is asked) */
    rtm->rtm_scope = family == AF_INET ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
    rtm->rtm_type = RTN_UNICAST;
    mnl_attr_put(nlh, RTA_DST, len, dst);
    mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)ifindex);
    mnl_attr_put_u32(nlh, RTA_PRIORITY, metric);
    return nlh;
}

static int route(bool add, const char *ifname, int family, const void *net, int prefix,
                 unsigned metric)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct nlmsghdr *nlh;
    size_t len = family_len(family);
    int idx;

    if (!len || prefix < 0 || (size_t)prefix > len * 8)
        return -EINVAL;
    if ((idx = link_index(ifname)) < 0)
        return idx;
    nlh = ns_tun_route_msg(buf, add, family, net, prefix, idx, metric);
    return nl_transact(nlh);
}

int ns_tun_add_route(const char *ifname, int family, const void *net, int prefix, unsigned metric)
{
    return route(true, ifname, family, net, prefix, metric);
}

int ns_tun_del_route(const char *ifname, int family, const void *net, int prefix, unsigned metric)
{
    return route(false, ifname, family, net, prefix, metric);
}

int ns_tun_no_autoconf6(const char *ifname)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct nlmsghdr *nlh;
    struct nlattr *spec, *inet6;
    int idx = link_index(ifname);

    if (idx < 0)
        return idx;
    nlh = link_msg(buf, idx);
    spec = mnl_attr_nest_start(nlh, IFLA_AF_SPEC);
    inet6 = mnl_attr_nest_start(nlh, AF_INET6);
    mnl_attr_put_u8(nlh, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
    mnl_attr_nest_end(nlh, inet6);
    mnl_attr_nest_end(nlh, spec);
    return nl_transact(nlh);
}

struct addr_dump {
    struct ns_tun_addr *out;
    size_t n, max;
};

static int addr_attr(const struct nlattr *a, void *data)
{
    const struct nlattr **tb = data;
    int type = mnl_attr_get_type(a);

    if (mnl_attr_type_valid(a, IFA_MAX) < 0)
        return MNL_CB_OK; /* an attribute newer than our headers */
    if ((type == IFA_LOCAL || type == IFA_ADDRESS) && mnl_attr_get_payload_len(a) != 4 &&
        mnl_attr_get_payload_len(a) != 16)
        return MNL_CB_ERROR;
    tb[type] = a;
    return MNL_CB_OK;
}

static int put_addr(struct addr_dump *d, const struct nlattr *a, const struct ifaddrmsg *ifa)
{
    size_t len = family_len(ifa->ifa_family);
    struct ns_tun_addr *o;

    if (mnl_attr_get_payload_len(a) != len)
        return MNL_CB_OK; /* not an address of the message's family */
    if (d->n == d->max) {
        errno = ENOBUFS;
        return MNL_CB_ERROR;
    }
    o = &d->out[d->n++];
    memset(o->addr, 0, sizeof(o->addr));
    o->family = ifa->ifa_family;
    memcpy(o->addr, mnl_attr_get_payload(a), len);
    o->prefix = ifa->ifa_prefixlen;
    if (!if_indextoname(ifa->ifa_index, o->ifname))
        strcpy(o->ifname, "?");
    return MNL_CB_OK;
}

static int on_addr(const struct nlmsghdr *nlh, void *data)
{
    const struct nlattr *tb[IFA_MAX + 1] = {0};
    const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
    const struct nlattr *local, *peer;
    int rv;

    if (nlh->nlmsg_type != RTM_NEWADDR ||
        (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6))
        return MNL_CB_OK;
    if (mnl_attr_parse(nlh, sizeof(*ifa), addr_attr, tb) < 0)
        return MNL_CB_ERROR;
    local = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
    peer = tb[IFA_LOCAL] ? tb[IFA_ADDRESS] : NULL;
    if (!local)
        return MNL_CB_OK;
    rv = put_addr(data, local, ifa);
    if (rv == MNL_CB_OK && peer &&
        mnl_attr_get_payload_len(peer) == mnl_attr_get_payload_len(local) &&
        memcmp(mnl_attr_get_payload(peer), mnl_attr_get_payload(local),
               mnl_attr_get_payload_len(local)) != 0)
        rv = put_addr(data, peer, ifa);
    return rv;
}

int ns_tun_list_addr(struct ns_tun_addr *out, size_t max)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct addr_dump d = {.out = out, .max = max};
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    struct ifaddrmsg *ifa;
    int rv;

    nlh->nlmsg_type = RTM_GETADDR;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
    ifa->ifa_family = AF_UNSPEC;
    rv = nl_run(nlh, on_addr, &d);
    return rv < 0 ? rv : (int)d.n;
}
