#include "gw_dns.h"

#include "st_check.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A real dnsmasq on 127.0.0.1:<free port>, started once per test case (unchecked fixture),
 * serving the lab.test zone below and NXDOMAIN for every other lab.test name. It forwards
 * slow.test to a UDP socket that never answers, so those address lookups stay pending. */

#define DNSMASQ "/usr/sbin/dnsmasq"
#define READY_MS 5000
#define RUN_LIMIT_MS 10000

static pid_t dnsmasq_pid = -1;
static int dnsmasq_port, silent_fd = -1, silent_port;
static char dnsmasq_error[160];

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A UDP socket on 127.0.0.1 with a kernel-chosen port; returns the fd, *port set. */
static int udp_bound(int *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* True when TCP can bind 127.0.0.1:port too (dnsmasq listens on both; a TCP connection of
 * another test, even in TIME_WAIT, may hold the number the kernel chose for UDP). */
static bool tcp_free(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

    if (fd >= 0)
        close(fd);
    return ok;
}

static int free_port(void)
{
    int port = 0;

    for (int tries = 0; tries < 50; tries++) {
        int fd = udp_bound(&port);
        bool both = tcp_free(port);
        close(fd);
        if (both)
            break;
    }
    return port;
}

/* Sends an A query for edge1.lab.test and waits up to 100 ms for any answer. */
static bool dns_answers(int port)
{
    static const unsigned char q[] = {0x12, 0x34, 0x01, 0x00, 0,   1,   0,   0, 0,   0,   0,
                                      0,    5,    'e',  'd',  'g', 'e', '1', 3, 'l', 'a', 'b',
                                      4,    't',  'e',  's',  't', 0,   0,   1, 0,   1};
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                            .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    bool ok = false;

    if (fd < 0)
        return false;
    if (sendto(fd, q, sizeof(q), 0, (struct sockaddr *)&a, sizeof(a)) == (ssize_t)sizeof(q)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        unsigned char buf[512];
        if (poll(&p, 1, 100) == 1)
            ok = recv(fd, buf, sizeof(buf), 0) >= 12 && buf[0] == 0x12 && buf[1] == 0x34;
    }
    close(fd);
    return ok;
}

static void dnsmasq_exec(int port)
{
    char port_arg[32], slow_arg[64];
    const char *argv[32];
    int n = 0, null = open("/dev/null", O_RDWR);

    snprintf(port_arg, sizeof(port_arg), "--port=%d", port);
    snprintf(slow_arg, sizeof(slow_arg), "--server=/slow.test/127.0.0.1#%d", silent_port);
    argv[n++] = DNSMASQ;
    argv[n++] = "--conf-file=/dev/null";
    argv[n++] = "--no-resolv";
    argv[n++] = "--no-hosts";
    argv[n++] = "--keep-in-foreground";
    argv[n++] = "--pid-file=";
    argv[n++] = "--log-facility=-";
    argv[n++] = port_arg;
    argv[n++] = "--listen-address=127.0.0.1";
    argv[n++] = "--bind-interfaces";
    if (geteuid() == 0) /* as root dnsmasq would switch to "nobody", which may not exist */
        argv[n++] = "--user=root";
    argv[n++] = "--local=/lab.test/";
    argv[n++] = "--local-ttl=60"; /* TTL of the SRV records */
    /* listed worst first: the result must be sorted by us */
    argv[n++] = "--srv-host=_subtunnel._tcp.lab.test,edge2.lab.test,7845,20,1";
    argv[n++] = "--srv-host=_subtunnel._tcp.lab.test,edge1.lab.test,7844,10,5";
    argv[n++] = "--srv-host=_mixed._tcp.lab.test,edge2.lab.test,7845,20,1";
    argv[n++] = "--srv-host=_mixed._tcp.lab.test,ghost.lab.test,7846,5,1";
    argv[n++] = "--srv-host=_ghosts._tcp.lab.test,ghost.lab.test,7846,5,1";
    argv[n++] = "--srv-host=_dual._tcp.lab.test,edge6.lab.test,7850,0,0";
    argv[n++] = "--srv-host=_none._tcp.lab.test";
    argv[n++] = "--srv-host=_partial._tcp.lab.test,edge1.lab.test,7844,10,5";
    argv[n++] = "--srv-host=_partial._tcp.lab.test,edge9.slow.test,7849,0,1";
    argv[n++] = slow_arg;
    argv[n++] = "--host-record=edge1.lab.test,198.18.0.1,45";
    argv[n++] = "--host-record=edge2.lab.test,198.18.0.2,300";
    argv[n++] = "--host-record=edge6.lab.test,198.18.0.6,2001:db8::6,300";
    argv[n] = NULL;
    if (null >= 0) {
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    execv(DNSMASQ, (char *const *)argv);
    _exit(127);
}

static void dnsmasq_start(void)
{
    int status;

    if (access(DNSMASQ, X_OK) != 0) {
        snprintf(dnsmasq_error, sizeof(dnsmasq_error), "%s not installed", DNSMASQ);
        return;
    }
    silent_fd = udp_bound(&silent_port);
    /* another process may take the port between free_port and the bind: dnsmasq
     * exits with status 2 when it cannot bind (UDP or TCP), then another port is tried */
    for (int attempt = 0; attempt < 5; attempt++) {
        dnsmasq_port = free_port();
        dnsmasq_pid = fork();
        ck_assert_int_ge(dnsmasq_pid, 0);
        if (dnsmasq_pid == 0)
            dnsmasq_exec(dnsmasq_port);
        for (uint64_t end = now_ms() + READY_MS; now_ms() < end;) {
            if (dns_answers(dnsmasq_port))
                return;
            if (waitpid(dnsmasq_pid, &status, WNOHANG) == dnsmasq_pid) {
                snprintf(dnsmasq_error, sizeof(dnsmasq_error), "dnsmasq exited with status %d",
                         WIFEXITED(status) ? WEXITSTATUS(status) : -1);
                dnsmasq_pid = -1;
                break;
            }
        }
        if (dnsmasq_pid < 0 && WIFEXITED(status) && WEXITSTATUS(status) == 2)
            continue; /* address in use */
        if (dnsmasq_pid > 0)
            snprintf(dnsmasq_error, sizeof(dnsmasq_error),
                     "dnsmasq did not answer on port %d in %d ms", dnsmasq_port, READY_MS);
        return;
    }
}

static void dnsmasq_stop(void)
{
    if (dnsmasq_pid > 0) {
        kill(dnsmasq_pid, SIGTERM);
        waitpid(dnsmasq_pid, NULL, 0);
    }
    dnsmasq_pid = -1;
    if (silent_fd >= 0)
        close(silent_fd);
    silent_fd = -1;
}

/* ---- driving a resolution ---- */

struct result {
    struct st_loop *loop;
    struct gw_dns *d;
    int calls, status;
    struct gw_edge_target t[8];
    size_t n;
    uint32_t ttl;
    char err[640];
    bool limit_hit;
    /* what the callback does afterwards */
    bool free_in_cb;
    const char *again; /* resolve this name from the callback */
    int again_rc;
};

static void on_result(void *arg, int status, const struct gw_edge_target *t, size_t n, uint32_t ttl,
                      const char *err)
{
    struct result *r = arg;

    r->calls++;
    r->status = status;
    ck_assert(!gw_dns_busy(r->d));
    if (r->again) {
        const char *name = r->again;
        r->again = NULL;
        r->again_rc = gw_dns_resolve(r->d, name, on_result, r);
        /* the first result stays readable after starting the next resolution */
    }
    r->n = n < 8 ? n : 8;
    memcpy(r->t, t, r->n * sizeof(*t));
    r->ttl = ttl;
    snprintf(r->err, sizeof(r->err), "%s", err);
    if (r->free_in_cb) {
        gw_dns_free(r->d);
        r->d = NULL;
    }
    st_loop_stop(r->loop);
}

static void on_limit(struct st_timer *t)
{
    struct result *r = t->data;

    r->limit_hit = true;
    st_loop_stop(t->loop);
}

/* Runs the loop until the callback stops it or limit_ms passes. */
static void run(struct result *r, uint64_t limit_ms)
{
    struct st_timer limit;

    st_timer_init(&limit, r->loop, on_limit, r);
    st_timer_start(&limit, limit_ms);
    r->loop->stop = false;
    ck_assert_int_eq(st_loop_run(r->loop), 0);
    st_timer_stop(&limit);
}

static struct gw_dns *dns_at(struct st_loop *loop, const int *ports, size_t n)
{
    struct st_sockaddr servers[4];
    char text[32], err[160] = "";
    struct gw_dns *d;

    ck_assert_uint_le(n, 4);
    for (size_t i = 0; i < n; i++) {
        snprintf(text, sizeof(text), "127.0.0.1:%d", ports[i]);
        ck_assert_int_eq(st_sockaddr_parse(text, &servers[i]), 0);
    }
    d = gw_dns_new(loop, servers, n, err, sizeof(err));
    ck_assert_msg(d != NULL, "gw_dns_new: %s", err);
    return d;
}

/* Resolves name against dnsmasq into r (loop and gw_dns owned by the caller). */
static void resolve(struct result *r, const char *name)
{
    ck_assert_int_eq(gw_dns_resolve(r->d, name, on_result, r), 0);
    ck_assert(gw_dns_busy(r->d));
    run(r, RUN_LIMIT_MS);
    ck_assert_msg(!r->limit_hit, "no callback within %d ms", RUN_LIMIT_MS);
}

static void setup_result(struct result *r, struct st_loop *loop)
{
    ck_assert_msg(dnsmasq_pid > 0, "%s", dnsmasq_error);
    memset(r, 0, sizeof(*r));
    ck_assert_int_eq(st_loop_init(loop), 0);
    r->loop = loop;
    r->d = dns_at(loop, &dnsmasq_port, 1);
}

static void teardown_result(struct result *r)
{
    struct st_loop *loop = r->loop;

    gw_dns_free(r->d);
    st_loop_fini(loop);
}

static const char *addr_of(const struct gw_edge_target *t)
{
    static char buf[64];

    ck_assert_int_eq(st_sockaddr_format(&t->addr, buf, sizeof(buf)), 0);
    return buf;
}

START_TEST(test_two_targets_sorted)
{
    struct st_loop loop;
    struct result r;

    setup_result(&r, &loop);
    resolve(&r, "_subtunnel._tcp.lab.test");
    ck_assert_int_eq(r.calls, 1);
    ck_assert_msg(r.status == 0, "status %d: %s", r.status, r.err);
    ck_assert_uint_eq(r.n, 2);
    ck_assert_str_eq(r.t[0].name, "edge1.lab.test");
    ck_assert_str_eq(addr_of(&r.t[0]), "198.18.0.1:7844");
    ck_assert_uint_eq(r.t[0].priority, 10);
    ck_assert_uint_eq(r.t[0].weight, 5);
    ck_assert_str_eq(r.t[1].name, "edge2.lab.test");
    ck_assert_str_eq(addr_of(&r.t[1]), "198.18.0.2:7845");
    ck_assert_uint_eq(r.t[1].priority, 20);
    ck_assert_uint_eq(r.t[1].weight, 1);
    ck_assert_uint_eq(r.ttl, 45); /* edge1's A record; SRV 60, edge2 300 */
    ck_assert_str_eq(r.err, "");
    teardown_result(&r);
}
END_TEST

START_TEST(test_dual_stack_target)
{
    struct st_loop loop;
    struct result r;

    setup_result(&r, &loop);
    resolve(&r, "_dual._tcp.lab.test");
    ck_assert_msg(r.status == 0, "status %d: %s", r.status, r.err);
    ck_assert_uint_eq(r.n, 2);
    ck_assert_str_eq(addr_of(&r.t[0]), "198.18.0.6:7850");
    ck_assert_str_eq(addr_of(&r.t[1]), "[2001:db8::6]:7850");
    ck_assert_str_eq(r.t[1].name, "edge6.lab.test");
    ck_assert_uint_eq(r.ttl, 60);
    teardown_result(&r);
}
END_TEST

START_TEST(test_target_without_address_skipped)
{
    struct st_loop loop;
    struct result r;

    setup_result(&r, &loop);
    resolve(&r, "_mixed._tcp.lab.test");
    ck_assert_msg(r.status == 0, "status %d: %s", r.status, r.err);
    ck_assert_uint_eq(r.n, 1);
    ck_assert_str_eq(r.t[0].name, "edge2.lab.test");
    ck_assert_str_eq(addr_of(&r.t[0]), "198.18.0.2:7845");
    ck_assert_uint_eq(r.ttl, 60); /* the SRV TTL is the smallest */

    /* the same gw_dns serves the next resolution; no target resolves there */
    resolve(&r, "_ghosts._tcp.lab.test");
    ck_assert_int_eq(r.calls, 2);
    ck_assert_int_eq(r.status, -ENOENT);
    ck_assert_uint_eq(r.n, 0);
    ck_assert_str_eq(r.err,
                     "_ghosts._tcp.lab.test: none of the 1 SRV targets resolved (ghost.lab.test: "
                     "NXDOMAIN)");
    teardown_result(&r);
}
END_TEST

START_TEST(test_target_timing_out_skipped)
{
    struct st_loop loop;
    struct result r;
    uint64_t start = now_ms();

    setup_result(&r, &loop);
    resolve(&r, "_partial._tcp.lab.test");
    ck_assert_msg(r.status == 0, "status %d: %s", r.status, r.err);
    ck_assert_uint_eq(r.n, 1);
    ck_assert_str_eq(r.t[0].name, "edge1.lab.test");
    ck_assert_uint_le(now_ms() - start, GW_DNS_TIMEOUT_MS + 1000);
    teardown_result(&r);
}
END_TEST

START_TEST(test_unknown_name)
{
    struct st_loop loop;
    struct result r;

    setup_result(&r, &loop);
    resolve(&r, "_nope._tcp.lab.test");
    ck_assert_int_eq(r.status, -ENOENT);
    ck_assert_uint_eq(r.n, 0);
    ck_assert_uint_eq(r.ttl, 1);
    ck_assert_str_eq(r.err, "_nope._tcp.lab.test: no SRV records (NXDOMAIN)");

    resolve(&r, "_none._tcp.lab.test"); /* SRV target "." */
    ck_assert_int_eq(r.status, -ENOENT);
    ck_assert_str_eq(r.err, "_none._tcp.lab.test: service not available (SRV target \".\")");

    resolve(&r, "edge1.lab.test"); /* exists, but has no SRV record */
    ck_assert_int_eq(r.status, -ENODATA);
    ck_assert_str_eq(r.err, "edge1.lab.test: no SRV records (empty answer)");
    teardown_result(&r);
}
END_TEST

START_TEST(test_busy_and_bad_input)
{
    struct st_loop loop;
    struct result r;
    char longname[300];

    setup_result(&r, &loop);
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    ck_assert_int_eq(gw_dns_resolve(r.d, "", on_result, &r), -EINVAL);
    ck_assert_int_eq(gw_dns_resolve(r.d, longname, on_result, &r), -EINVAL);
    ck_assert(!gw_dns_busy(r.d));
    ck_assert_int_eq(gw_dns_resolve(r.d, "_subtunnel._tcp.lab.test", on_result, &r), 0);
    ck_assert_int_eq(gw_dns_resolve(r.d, "_mixed._tcp.lab.test", on_result, &r), -EBUSY);
    run(&r, RUN_LIMIT_MS);
    ck_assert_int_eq(r.calls, 1);
    ck_assert_int_eq(r.status, 0);
    ck_assert(!gw_dns_busy(r.d));
    teardown_result(&r);
}
END_TEST

START_TEST(test_resolve_again_from_callback)
{
    struct st_loop loop;
    struct result r;

    setup_result(&r, &loop);
    r.again = "_mixed._tcp.lab.test";
    ck_assert_int_eq(gw_dns_resolve(r.d, "_subtunnel._tcp.lab.test", on_result, &r), 0);
    run(&r, RUN_LIMIT_MS);
    /* first callback: copied after starting the second resolution, still the first result */
    ck_assert_int_eq(r.again_rc, 0);
    ck_assert_int_eq(r.calls, 1);
    ck_assert_uint_eq(r.n, 2);
    ck_assert_str_eq(r.t[0].name, "edge1.lab.test");
    ck_assert(gw_dns_busy(r.d));
    run(&r, RUN_LIMIT_MS);
    ck_assert_int_eq(r.calls, 2);
    ck_assert_uint_eq(r.n, 1);
    ck_assert_str_eq(r.t[0].name, "edge2.lab.test");
    teardown_result(&r);
}
END_TEST

START_TEST(test_free_in_callback_and_in_flight)
{
    struct st_loop loop;
    struct result r;

    setup_result(&r, &loop);
    r.free_in_cb = true;
    ck_assert_int_eq(gw_dns_resolve(r.d, "_subtunnel._tcp.lab.test", on_result, &r), 0);
    run(&r, RUN_LIMIT_MS);
    ck_assert_int_eq(r.calls, 1);
    ck_assert_ptr_null(r.d);

    /* freed with the SRV query in flight: no callback */
    r.free_in_cb = false;
    r.d = dns_at(&loop, &dnsmasq_port, 1);
    ck_assert_int_eq(gw_dns_resolve(r.d, "_subtunnel._tcp.lab.test", on_result, &r), 0);
    gw_dns_free(r.d);
    /* freed with an address lookup in flight (edge9.slow.test never answers) */
    r.d = dns_at(&loop, &dnsmasq_port, 1);
    ck_assert_int_eq(gw_dns_resolve(r.d, "_partial._tcp.lab.test", on_result, &r), 0);
    run(&r, 300);
    ck_assert(r.limit_hit);
    ck_assert(gw_dns_busy(r.d));
    gw_dns_free(r.d);
    r.d = NULL;
    r.limit_hit = false;
    run(&r, 200);
    ck_assert(r.limit_hit);
    ck_assert_int_eq(r.calls, 1);
    teardown_result(&r);
}
END_TEST

/* Another object's fd callback (a SIGHUP reload in the gateway) frees the resolver while
 * the same epoll batch still holds the event of its answer: the loop must skip that event
 * on live memory (ASan flagged a heap-use-after-free here), and no result is delivered. */
struct freer {
    struct st_io io;
    struct gw_dns *d;
    bool ran;
};

static void on_freer(struct st_io *io, uint32_t events)
{
    struct freer *f = io->data;
    uint64_t v;

    (void)events;
    ck_assert_int_eq(read(io->fd, &v, sizeof(v)), (ssize_t)sizeof(v));
    ck_assert(st_loop_dispatching(io->loop));
    gw_dns_free(f->d);
    f->d = NULL;
    f->ran = true;
    st_io_stop(io);
}

START_TEST(test_free_from_another_fd_callback_in_batch)
{
    struct st_loop loop;
    struct result r;
    struct freer f = {0};
    struct epoll_event ev[8];
    int n = 0;

    setup_result(&r, &loop);
    int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    ck_assert_int_ge(efd, 0);
    f.d = r.d;
    st_io_init(&f.io, &loop, efd, on_freer, &f);
    ck_assert_int_eq(st_io_set(&f.io, EPOLLIN), 0);
    ck_assert_int_eq(gw_dns_resolve(r.d, "_subtunnel._tcp.lab.test", on_result, &r), 0);
    r.d = NULL; /* owned by f now */
    /* Wait (bounded, without dispatching) for dnsmasq's answer, then make the eventfd
     * readable and take one event off epoll's ready list: a level-triggered event goes back
     * to its tail, so the next batch holds the eventfd first and the answer after it. */
    for (uint64_t end = now_ms() + 3000; n < 1 && now_ms() < end;)
        n = epoll_wait(loop.epfd, ev, 8, 50);
    ck_assert_int_ge(n, 1);
    ck_assert_ptr_ne(ev[0].data.ptr, &f.io);
    ck_assert_int_eq(eventfd_write(efd, 1), 0);
    for (int i = 0; i < n; i++) /* every event seen so far goes behind the eventfd */
        ck_assert_int_eq(epoll_wait(loop.epfd, ev + 7, 1, 0), 1);
    n = epoll_wait(loop.epfd, ev, 8, 0);
    ck_assert_int_ge(n, 2);
    ck_assert_ptr_eq(ev[0].data.ptr, &f.io);
    run(&r, 300); /* the batch, then nothing: the limit timer ends the run */
    ck_assert(f.ran);
    ck_assert(r.limit_hit);
    ck_assert_int_eq(r.calls, 0);
    close(efd);
    teardown_result(&r);
}
END_TEST

/* ---- servers that do not answer (no dnsmasq) ---- */

static void unreachable(const int *ports, size_t n, int want_status, uint64_t max_ms)
{
    struct st_loop loop;
    struct result r;

    memset(&r, 0, sizeof(r));
    ck_assert_int_eq(st_loop_init(&loop), 0);
    r.loop = &loop;
    r.d = dns_at(&loop, ports, n);
    uint64_t start = now_ms();
    resolve(&r, "_subtunnel._tcp.lab.test");
    uint64_t took = now_ms() - start;
    ck_assert_int_eq(r.calls, 1);
    ck_assert_msg(r.status == want_status, "status %d: %s", r.status, r.err);
    ck_assert_uint_le(took, max_ms);
    ck_assert_uint_eq(r.n, 0);
    ck_assert_msg(strncmp(r.err, "_subtunnel._tcp.lab.test: SRV query failed: ", 44) == 0, "%s",
                  r.err);
    teardown_result(&r);
}

START_TEST(test_nothing_listens)
{
    int port = free_port();

    /* ICMP port unreachable: refused at once, every try */
    unreachable(&port, 1, -ECONNREFUSED, 1000);
}
END_TEST

START_TEST(test_silent_servers)
{
    int ports[3], fds[3];

    /* three servers that never answer: c-ares alone would try 3 x 1 s + 3 x 2 s */
    for (int i = 0; i < 3; i++)
        fds[i] = udp_bound(&ports[i]);
    uint64_t start = now_ms();
    unreachable(ports, 3, -ETIMEDOUT, GW_DNS_TIMEOUT_MS + 1000);
    ck_assert_uint_ge(now_ms() - start, GW_DNS_TIMEOUT_MS - 100);
    for (int i = 0; i < 3; i++)
        close(fds[i]);
}
END_TEST

static Suite *dns_suite(void)
{
    Suite *s = suite_create("gw_dns");
    TCase *tc = tcase_create("dnsmasq");
    TCase *tu = tcase_create("unreachable");

    tcase_add_unchecked_fixture(tc, dnsmasq_start, dnsmasq_stop);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_two_targets_sorted);
    tcase_add_test(tc, test_dual_stack_target);
    tcase_add_test(tc, test_target_without_address_skipped);
    tcase_add_test(tc, test_target_timing_out_skipped);
    tcase_add_test(tc, test_unknown_name);
    tcase_add_test(tc, test_busy_and_bad_input);
    tcase_add_test(tc, test_resolve_again_from_callback);
    tcase_add_test(tc, test_free_in_callback_and_in_flight);
    tcase_add_test(tc, test_free_from_another_fd_callback_in_batch);
    suite_add_tcase(s, tc);
    tcase_set_timeout(tu, 30);
    tcase_add_test(tu, test_nothing_listens);
    tcase_add_test(tu, test_silent_servers);
    suite_add_tcase(s, tu);
    return s;
}

int main(void)
{
    return st_check_run(dns_suite());
}
