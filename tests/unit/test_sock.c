/* st_sock: an IPv6 wildcard listener is dual stack whatever the sysctl says, and accepted
 * IPv4 peers of it are reported as IPv4 (not ::ffff:a.b.c.d); IPv6 peers as "[addr]:port". */
#include "st_sock.h"

#include "st_check.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The port the kernel gave listener lfd. */
static uint16_t bound_port(int lfd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&ss, &len), 0);
    return ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                    : ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* Connects to "ip" (family) on port and accepts it on lfd: the peer text and address. */
static void connect_accept(int lfd, int family, const char *ip, uint16_t port, char *peer,
                           size_t cap, struct st_sockaddr *a)
{
    uint8_t addr[16] = {0};
    struct st_sockaddr to;
    struct pollfd p = {.fd = lfd, .events = POLLIN};
    ck_assert_int_eq(inet_pton(family, ip, addr), 1);
    st_sockaddr_from(&to, family, addr, port);
    int c = socket(family, SOCK_STREAM, 0);
    ck_assert_int_ge(c, 0);
    ck_assert_int_eq(connect(c, (struct sockaddr *)&to.ss, to.len), 0);
    ck_assert_int_eq(poll(&p, 1, 5000), 1);
    int fd = st_sock_accept(lfd, a, peer, cap);
    ck_assert_int_ge(fd, 0);
    close(fd);
    close(c);
}

static bool have_ipv6_loopback(void)
{
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 s = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&s, sizeof(s)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

START_TEST(test_dual_stack_wildcard)
{
    struct st_sockaddr any, a;
    char peer[64], want[64];
    if (!have_ipv6_loopback())
        return; /* no IPv6 in this sandbox: nothing to check */
    ck_assert_int_eq(st_sockaddr_parse("[::]:0", &any), 0);
    int lfd = st_sock_listen(&any);
    ck_assert_int_ge(lfd, 0);
    int v6only = -1;
    socklen_t len = sizeof(v6only);
    ck_assert_int_eq(getsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &len), 0);
    ck_assert_int_eq(v6only, 0);
    uint16_t port = bound_port(lfd);
    /* an IPv4 client: seen as IPv4 */
    connect_accept(lfd, AF_INET, "127.0.0.1", port, peer, sizeof(peer), &a);
    ck_assert_int_eq(a.ss.ss_family, AF_INET);
    ck_assert(st_sockaddr_is_loopback(&a));
    ck_assert_int_eq(strncmp(peer, "127.0.0.1:", 10), 0);
    /* an IPv6 client: bracketed */
    connect_accept(lfd, AF_INET6, "::1", port, peer, sizeof(peer), &a);
    ck_assert_int_eq(a.ss.ss_family, AF_INET6);
    snprintf(want, sizeof(want), "[::1]:%u", st_sockaddr_port(&a));
    ck_assert_str_eq(peer, want);
    close(lfd);
}
END_TEST

START_TEST(test_unmap)
{
    struct st_sockaddr a;
    char buf[64];
    ck_assert_int_eq(st_sockaddr_parse("[::ffff:198.51.100.7]:4000", &a), 0);
    st_sock_unmap(&a);
    ck_assert_int_eq(a.ss.ss_family, AF_INET);
    ck_assert_uint_eq(a.len, sizeof(struct sockaddr_in));
    st_sockaddr_format(&a, buf, sizeof(buf));
    ck_assert_str_eq(buf, "198.51.100.7:4000");
    /* real IPv6 and IPv4 addresses stay as they are */
    ck_assert_int_eq(st_sockaddr_parse("[2001:db8::ffff:c633:6407]:4000", &a), 0);
    st_sock_unmap(&a);
    st_sockaddr_format(&a, buf, sizeof(buf));
    ck_assert_str_eq(buf, "[2001:db8::ffff:c633:6407]:4000");
    ck_assert_int_eq(st_sockaddr_parse("198.51.100.7:1", &a), 0);
    st_sock_unmap(&a);
    st_sockaddr_format(&a, buf, sizeof(buf));
    ck_assert_str_eq(buf, "198.51.100.7:1");
}
END_TEST

static Suite *sock_suite(void)
{
    Suite *s = suite_create("sock");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_dual_stack_wildcard);
    tcase_add_test(tc, test_unmap);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_check_run(sock_suite());
}
