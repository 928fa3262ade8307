#include "st_sock.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

int st_sock_listen(const struct st_sockaddr *addr)
{
    int fd = socket(addr->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1, zero = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    /* "[::]:port" takes IPv4 too, whatever net.ipv6.bindv6only says (the clash checks of the
     * configurations count on it) */
    if (addr->ss.ss_family == AF_INET6 &&
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    if (bind(fd, (const struct sockaddr *)&addr->ss, addr->len) < 0 || listen(fd, 1024) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

void st_sock_keepalive(int fd)
{
    int on = 1, idle = ST_SOCK_KEEPIDLE, intvl = ST_SOCK_KEEPINTVL, cnt = ST_SOCK_KEEPCNT;
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

void st_sock_unmap(struct st_sockaddr *a)
{
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&a->ss;
    uint8_t v4[4];

    if (a->ss.ss_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
        return;
    memcpy(v4, &s6->sin6_addr.s6_addr[12], 4);
    st_sockaddr_from(a, AF_INET, v4, ntohs(s6->sin6_port));
}

int st_sock_accept(int lfd, struct st_sockaddr *addr, char *peer, size_t peerlen)
{
    struct st_sockaddr a;
    a.len = sizeof(a.ss);
    int fd = accept4(lfd, (struct sockaddr *)&a.ss, &a.len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    st_sock_unmap(&a);
    if (st_sockaddr_format(&a, peer, peerlen) < 0 && peerlen)
        peer[0] = 0;
    if (addr)
        *addr = a;
    st_sock_keepalive(fd);
    return fd;
}

bool st_sock_fd_shortage(int err)
{
    return err == -EMFILE || err == -ENFILE || err == -ENOBUFS || err == -ENOMEM;
}

long long st_sock_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -errno;
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t was = rl.rlim_cur;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            rl.rlim_cur = was;
    }
    return rl.rlim_cur == RLIM_INFINITY ? (long long)1 << 62 : (long long)rl.rlim_cur;
}
