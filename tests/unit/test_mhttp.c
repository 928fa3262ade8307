/* The metrics listener's request handling: whole and split heads, methods, paths, limits,
 * and the responses it writes. */
#include "st_mhttp.h"

#include "st_check.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Feeds req in pieces of `step` bytes (0: whole); returns the status (0: incomplete). */
static int feed(const char *req, size_t step, enum st_mhttp_target *t)
{
    struct st_mhttp_req r;
    st_mhttp_req_init(&r);
    size_t len = strlen(req);
    if (!step)
        step = len;
    for (size_t off = 0; off < len; off += step) {
        size_t n = len - off < step ? len - off : step;
        int status = st_mhttp_req_feed(&r, req + off, n, t);
        if (status)
            return status;
    }
    return 0;
}

START_TEST(test_targets)
{
    enum st_mhttp_target t;
    ck_assert_int_eq(feed("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 0, &t), 200);
    ck_assert_int_eq(t, ST_MHTTP_METRICS);
    ck_assert_int_eq(feed("GET /healthz HTTP/1.1\r\n\r\n", 0, &t), 200);
    ck_assert_int_eq(t, ST_MHTTP_HEALTHZ);
    ck_assert_int_eq(feed("GET /ready HTTP/1.0\r\n\r\n", 0, &t), 200);
    ck_assert_int_eq(t, ST_MHTTP_READY);
    ck_assert_int_eq(feed("GET /metrics?name[]=x HTTP/1.1\r\n\r\n", 0, &t), 200);
    ck_assert_int_eq(t, ST_MHTTP_METRICS);
}
END_TEST

START_TEST(test_any_cut)
{
    static const char req[] = "GET /ready HTTP/1.1\r\nHost: 192.0.2.10:9100\r\n"
                              "User-Agent: curl\r\nAccept: */*\r\n\r\n";
    for (size_t step = 1; step < sizeof(req); step++) {
        enum st_mhttp_target t = ST_MHTTP_NONE;
        ck_assert_int_eq(feed(req, step, &t), 200);
        ck_assert_int_eq(t, ST_MHTTP_READY);
    }
}
END_TEST

START_TEST(test_incomplete)
{
    enum st_mhttp_target t;
    ck_assert_int_eq(feed("GET /metrics HTTP/1.1\r\nHost: x\r\n", 0, &t), 0);
    ck_assert_int_eq(feed("GET /metr", 3, &t), 0);
}
END_TEST

START_TEST(test_methods_and_paths)
{
    enum st_mhttp_target t;
    ck_assert_int_eq(feed("POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nx=1", 0, &t), 405);
    ck_assert_int_eq(feed("HEAD /metrics HTTP/1.1\r\n\r\n", 0, &t), 405);
    ck_assert_int_eq(feed("DELETE /ready HTTP/1.1\r\n\r\n", 0, &t), 405);
    ck_assert_int_eq(feed("GET / HTTP/1.1\r\n\r\n", 0, &t), 404);
    ck_assert_int_eq(feed("GET /metricsX HTTP/1.1\r\n\r\n", 0, &t), 404);
    ck_assert_int_eq(feed("GET /metrics/ HTTP/1.1\r\n\r\n", 0, &t), 404);
    ck_assert_int_eq(t, ST_MHTTP_NONE);
    char longpath[300] = "GET /metrics";
    memset(longpath + 12, 'a', 200);
    strcpy(longpath + 212, " HTTP/1.1\r\n\r\n");
    ck_assert_int_eq(feed(longpath, 7, &t), 404);
}
END_TEST

START_TEST(test_limits_and_garbage)
{
    enum st_mhttp_target t;
    char big[ST_MHTTP_HEAD_MAX + 200];
    strcpy(big, "GET /metrics HTTP/1.1\r\nX-Big: ");
    size_t n = strlen(big);
    memset(big + n, 'a', sizeof(big) - n - 5);
    strcpy(big + sizeof(big) - 5, "\r\n\r\n");
    ck_assert_int_eq(feed(big, 0, &t), 431);
    ck_assert_int_eq(feed(big, 100, &t), 431);
    ck_assert_int_eq(feed("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 0, &t), 400);
    ck_assert_int_eq(feed("GET /metrics HTTP/1.1\r\nBad Header\r\n\r\n", 0, &t), 400);
}
END_TEST

START_TEST(test_response)
{
    struct st_mbuf b;
    st_mbuf_init(&b, 4096);
    st_mhttp_response(&b, 503, "text/plain; charset=utf-8", "not ready: x\n", 13);
    ck_assert_str_eq(b.p, "HTTP/1.1 503 Service Unavailable\r\n"
                          "Content-Type: text/plain; charset=utf-8\r\n"
                          "Content-Length: 13\r\n"
                          "Cache-Control: no-store\r\nConnection: close\r\n\r\n"
                          "not ready: x\n");
    st_mbuf_fini(&b);
    st_mbuf_init(&b, 4096);
    st_mhttp_response(&b, 405, "text/plain", "", 0);
    ck_assert_ptr_nonnull(strstr(b.p, "\r\nAllow: GET\r\n"));
    st_mbuf_fini(&b);
}
END_TEST

/* ---- the server on a loopback port ---- */

static int metrics_calls;

static void fake_metrics(void *data, struct st_mbuf *out)
{
    (void)data;
    metrics_calls++;
    st_metrics_family(out, "m_total", ST_MCOUNTER, "A counter.");
    st_metrics_u64(out, "m_total", NULL, 42);
}

static bool fake_ready(void *data, char *why, size_t len)
{
    snprintf(why, len, "%s", (const char *)data);
    return strcmp((const char *)data, "fine") == 0;
}

static const struct st_mhttp_ops fake_ops = {.metrics = fake_metrics, .ready = fake_ready};

static void on_stop(struct st_timer *t)
{
    st_loop_stop(t->loop);
}

/* Runs the loop for ms milliseconds. */
static void spin(struct st_loop *loop, uint64_t ms)
{
    struct st_timer t;
    st_timer_init(&t, loop, on_stop, NULL);
    st_timer_start(&t, ms);
    loop->stop = false;
    ck_assert_int_eq(st_loop_run(loop), 0);
}

static int dial(const struct sockaddr_in *a)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(connect(fd, (const struct sockaddr *)a, sizeof(*a)), 0);
    return fd;
}

/* Everything the server sent until it closed (at most cap - 1 bytes, NUL-terminated). */
static size_t slurp(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (n < cap - 1 && poll(&p, 1, 1000) == 1) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    return n;
}

START_TEST(test_server)
{
    struct st_loop loop;
    ck_assert_int_eq(st_loop_init(&loop), 0);
    struct st_sockaddr addr;
    ck_assert_int_eq(st_sockaddr_parse("127.0.0.1:0", &addr), 0);
    int err = 0;
    char state[16] = "starting";
    struct st_mhttp *m = st_mhttp_new(&loop, &addr, &fake_ops, state, &err);
    ck_assert_msg(m != NULL, "listen: %d", err);
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    ck_assert_int_eq(getsockname(m->lis.fd, (struct sockaddr *)&a, &alen), 0);

    /* more connections than the cap: the ones past it are closed at once */
    int fds[ST_MHTTP_MAX_CONNS + 4];
    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
        fds[i] = dial(&a);
    spin(&loop, 50);
    ck_assert_uint_eq(m->n_conns, ST_MHTTP_MAX_CONNS);
    char buf[4096];
    for (size_t i = ST_MHTTP_MAX_CONNS; i < sizeof(fds) / sizeof(fds[0]); i++)
        ck_assert_uint_eq(slurp(fds[i], buf, sizeof(buf)), 0);
    /* requests on the accepted ones: metrics, health, readiness, refusals */
    static const char *const reqs[] = {
        "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", "GET /healthz HTTP/1.1\r\n\r\n",
        "GET /ready HTTP/1.1\r\n\r\n", "POST /metrics HTTP/1.1\r\nContent-Length: 2\r\n\r\nab",
        "GET /x HTTP/1.1\r\n\r\n"};
    for (size_t i = 0; i < 5; i++)
        ck_assert_int_eq(write(fds[i], reqs[i], strlen(reqs[i])), (ssize_t)strlen(reqs[i]));
    for (size_t i = 0; i < 5; i++)
        shutdown(fds[i], SHUT_WR);
    spin(&loop, 100);
    static const char *const want[] = {"HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4",
                                       "HTTP/1.1 200 OK", "HTTP/1.1 503 Service Unavailable",
                                       "HTTP/1.1 405 Method Not Allowed", "HTTP/1.1 404 Not Found"};
    for (size_t i = 0; i < 5; i++) {
        slurp(fds[i], buf, sizeof(buf));
        ck_assert_msg(strncmp(buf, want[i], strlen(want[i])) == 0, "%zu: %s", i, buf);
    }
    ck_assert_int_eq(metrics_calls, 1);
    ck_assert_ptr_nonnull(strstr(buf, "\r\n\r\n404 Not Found\n"));
    slurp(fds[0], buf, sizeof(buf)); /* already read: nothing more */
    /* the readiness answer follows the daemon's state */
    snprintf(state, sizeof(state), "fine");
    int r = dial(&a);
    ck_assert_int_eq(write(r, reqs[2], strlen(reqs[2])), (ssize_t)strlen(reqs[2]));
    spin(&loop, 50);
    slurp(r, buf, sizeof(buf));
    ck_assert_ptr_nonnull(strstr(buf, "HTTP/1.1 200 OK\r\n"));
    ck_assert_ptr_nonnull(strstr(buf, "\r\n\r\nready: fine\n"));
    close(r);
    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
        close(fds[i]);
    spin(&loop, 20);
    /* connections still open (silent ones) are closed and freed with the server */
    st_mhttp_free(m);
    st_loop_fini(&loop);
}
END_TEST

static Suite *mhttp_suite(void)
{
    Suite *s = suite_create("mhttp");
    TCase *tc = tcase_create("request");
    tcase_add_test(tc, test_targets);
    tcase_add_test(tc, test_any_cut);
    tcase_add_test(tc, test_incomplete);
    tcase_add_test(tc, test_methods_and_paths);
    tcase_add_test(tc, test_limits_and_garbage);
    tcase_add_test(tc, test_response);
    suite_add_tcase(s, tc);
    TCase *srv = tcase_create("server");
    tcase_add_test(srv, test_server);
    suite_add_tcase(s, srv);
    return s;
}

int main(void)
{
    return st_check_run(mhttp_suite());
}
