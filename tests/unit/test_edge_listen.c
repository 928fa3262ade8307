/* edge_listen on a real loop and loopback sockets: connections past a cap are reset at
 * once, the oldest unauthenticated ones are closed past max-unauthenticated, and a
 * listener that runs out of descriptors pauses (no busy loop) and resumes when a
 * connection closes. */
#include "edge_listen.h"

#include "edge_server.h"
#include "st_check.h"
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static struct edge_server srv;
static unsigned iterations; /* loop iterations (idle_cb), to tell a busy loop */

static void count_iteration(void *data)
{
    (void)data;
    iterations++;
}

static void stop_loop(struct st_timer *t)
{
    st_loop_stop(t->loop);
}

/* Runs the loop for ms milliseconds. */
static void run_for(uint64_t ms)
{
    struct st_timer t;
    st_timer_init(&t, &srv.loop, stop_loop, NULL);
    st_timer_start(&t, ms);
    srv.loop.stop = false;
    ck_assert_int_eq(st_loop_run(&srv.loop), 0);
    st_timer_stop(&t);
}

/* An edge with only an access listener on 127.0.0.1 (an ephemeral port, into *port). */
static void edge_up(int per_client, int unauth, uint16_t *port)
{
    memset(&srv, 0, sizeof(srv));
    ck_assert_int_eq(st_loop_init(&srv.loop), 0);
    srv.loop.idle_cb = count_iteration;
    srv.cfg.max_connections = 1000;
    srv.cfg.listener_max_connections = 1000;
    srv.cfg.max_connections_per_client = per_client;
    srv.cfg.max_unauthenticated = unauth;
    srv.cfg.request_timeout_ms = 30000;
    srv.cfg.log_refusals = 100;
    edge_limits_init(&srv.limits, &srv.loop, &srv.cfg);
    edge_conns_init(&srv.conns, 9);
    edge_listen_init(&srv);
    struct st_sockaddr a;
    ck_assert_int_eq(st_sockaddr_parse("127.0.0.1:0", &a), 0);
    ck_assert_int_eq(edge_listen_open(&srv, EDGE_LIS_ACCESS, &a), 0);
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    ck_assert_int_eq(getsockname(srv.lis[EDGE_LIS_ACCESS * EDGE_LISTEN_ADDRS].io.fd,
                                 (struct sockaddr *)&sin, &len),
                     0);
    *port = ntohs(sin.sin_port);
}

static int client(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    return fd;
}

/* What the edge did to a client's connection: 0 still open, 'F' closed (FIN), 'R' reset. */
static int state(int fd)
{
    char b;
    ssize_t n = recv(fd, &b, 1, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return 0;
    if (n == 0)
        return 'F';
    return n < 0 && errno == ECONNRESET ? 'R' : '?';
}

START_TEST(per_client_cap_resets_the_rest)
{
    uint16_t port;
    edge_up(3, 100, &port);
    int c[5];
    for (int i = 0; i < 5; i++)
        c[i] = client(port);
    run_for(200);
    ck_assert_uint_eq(srv.conns.total, 3);
    ck_assert_uint_eq(srv.conns_refused, 2);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(state(c[i]), i < 3 ? 0 : 'R');
    /* one of the three goes: room for one more */
    close(c[0]);
    run_for(100);
    ck_assert_uint_eq(srv.conns.total, 2);
    c[0] = client(port);
    run_for(100);
    ck_assert_uint_eq(srv.conns.total, 3);
    ck_assert_int_eq(state(c[0]), 0);
}
END_TEST

START_TEST(oldest_unauthenticated_closed)
{
    uint16_t port;
    edge_up(100, 2, &port);
    int c[5];
    for (int i = 0; i < 5; i++)
        c[i] = client(port);
    run_for(200);
    ck_assert_uint_eq(srv.conns_evicted, 3);
    ck_assert_uint_eq(srv.conns.total, 2); /* the owners closed the three they were told */
    ck_assert_uint_eq(srv.conns.unauth, 2);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(state(c[i]), i < 3 ? 'F' : 0);
}
END_TEST

static bool fd_free(int fd)
{
    return fcntl(fd, F_GETFD) < 0 && errno == EBADF;
}

START_TEST(descriptor_shortage_pauses)
{
    uint16_t port;
    edge_up(100, 100, &port);
    /* Room for `room` more descriptors: the first free one and the one above it, if free.
     * One more client than that waits in the backlog. */
    int lowest = dup(0);
    ck_assert_int_ge(lowest, 0);
    close(lowest);
    int room = 1 + fd_free(lowest + 1);
    int c[4];
    for (int i = 0; i < room + 1; i++)
        c[i] = client(port);
    /* the clients took descriptors too: count the free ones below the new limit again */
    struct rlimit old, rl;
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
    int top = 0, free_below = 0;
    for (int fd = 0; free_below < room; fd++)
        if (fd_free(fd)) {
            free_below++;
            top = fd;
        }
    rl = old;
    rl.rlim_cur = (rlim_t)top + 1;
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);

    iterations = 0;
    run_for(700);
    struct edge_listener *l = &srv.lis[EDGE_LIS_ACCESS * EDGE_LISTEN_ADDRS];
    ck_assert_uint_eq(srv.conns.total, (size_t)room);
    ck_assert_uint_eq(srv.accept_pauses, 1);
    ck_assert(l->paused || l->short_logged);
    /* 700 ms of retries (100, 200, 400 ms): a handful of iterations, not a spin */
    ck_assert_uint_lt(iterations, 40);

    /* a connection closes: its descriptor lets the waiting one in */
    close(c[0]);
    run_for(300);
    ck_assert_uint_eq(srv.conns.total, (size_t)room);
    ck_assert_int_eq(state(c[room]), 0);
    /* With descriptors free again (accept() fails with EMFILE while none is free, pending
     * connection or not), the next connection ends the episode: one pause in all. */
    close(c[1]);
    run_for(100);
    c[0] = client(port);
    run_for(300);
    ck_assert(!l->paused && !l->short_logged);
    ck_assert_uint_eq(srv.conns.total, (size_t)room);
    ck_assert_int_eq(state(c[0]), 0);
    ck_assert_uint_eq(srv.accept_pauses, 1);
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("edge_listen");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, per_client_cap_resets_the_rest);
    tcase_add_test(tc, oldest_unauthenticated_closed);
    tcase_add_test(tc, descriptor_shortage_pauses);
    suite_add_tcase(s, tc);
    return st_check_run(s);
}
