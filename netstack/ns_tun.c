#include "ns_tun.h"

#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <linux/virtio_net.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

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
    (void)ioctl(fd, TUNSETOFFLOAD, (unsigned long)(TUN_F_CSUM | TUN_F_TSO4));
    return fd;
}

/* Sends one request with NLM_F_ACK and waits for its ack; returns 0 or -errno from it. */
static int nl_transact(struct nlmsghdr *nlh)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct mnl_socket *nl;
    unsigned int portid;
    ssize_t n;
    int ret;

    nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
    if (!nl)
        return -errno;
    if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
        ret = -errno;
        goto out_close;
    }
    portid = mnl_socket_get_portid(nl);
    nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
    nlh->nlmsg_seq = (unsigned int)time(NULL);
    if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
        ret = -errno;
        goto out_close;
    }
    do {
        n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
        if (n < 0) {
            ret = -errno;
            goto out_close;
        }
        ret = mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, portid, NULL, NULL);
    } while (ret > MNL_CB_STOP);
    ret = ret < 0 ? -errno : 0;
out_close:
    mnl_socket_close(nl);
    return ret;
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

int ns_tun_add_addr4(const char *ifname, struct in_addr addr, int prefix)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct nlmsghdr *nlh;
    struct ifaddrmsg *ifa;
    int idx = link_index(ifname);

    if (prefix < 0 || prefix > 32)
        return -EINVAL;
    if (idx < 0)
        return idx;
    nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_NEWADDR;
    nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
    ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
    ifa->ifa_family = AF_INET;
    ifa->ifa_prefixlen = (unsigned char)prefix;
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    ifa->ifa_index = (unsigned int)idx;
    mnl_attr_put(nlh, IFA_LOCAL, sizeof(addr), &addr);
    mnl_attr_put(nlh, IFA_ADDRESS, sizeof(addr), &addr);
    return nl_transact(nlh);
}

int ns_tun_add_route4(const char *ifname, struct in_addr net, int prefix)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct nlmsghdr *nlh;
    struct rtmsg *rtm;
    int idx = link_index(ifname);

    if (prefix < 0 || prefix > 32)
        return -EINVAL;
    if (idx < 0)
        return idx;
    if (prefix < 32)
        net.s_addr &= htonl(prefix ? ~0u << (32 - prefix) : 0);
    nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_NEWROUTE;
    nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
    rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
    rtm->rtm_family = AF_INET;
    rtm->rtm_dst_len = (unsigned char)prefix;
    rtm->rtm_table = RT_TABLE_MAIN;
    rtm->rtm_protocol = RTPROT_STATIC;
    rtm->rtm_scope = RT_SCOPE_LINK;
    rtm->rtm_type = RTN_UNICAST;
    mnl_attr_put(nlh, RTA_DST, sizeof(net), &net);
    mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)idx);
    return nl_transact(nlh);
}
