/* A real redis-server for the unit suites (test_redis.c, test_edge_fleet.c): started on
 * 127.0.0.1 with a kernel-chosen free port, no persistence, a password; killed and started
 * again on the same port by the tests that need an outage. Suites skip (with the reason
 * printed) when redis-server is not installed. Also: running a loop until a condition. */
#ifndef SUBTUNNEL_TEST_REDIS_FIXTURE_H
#define SUBTUNNEL_TEST_REDIS_FIXTURE_H

#include "st_check.h"
#include "st_loop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REDIS_SERVER "/usr/bin/redis-server"
#define REDIS_PASS "fixture-secret"
#define REDIS_READY_MS 5000

struct redis_srv {
    pid_t pid;
    int port;
    char dir[64];
    const char *tls_cert, *tls_key; /* set: TLS only (--tls-port), port 0 for plain */
};

static inline uint64_t fx_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Why redis tests cannot run ("" when they can). */
static inline const char *redis_missing(void)
{
    return access(REDIS_SERVER, X_OK) == 0 ? "" : REDIS_SERVER " is not installed";
}

static inline int fx_free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* True when 127.0.0.1:port accepts a TCP connection (blocking, 200 ms at most). */
static inline bool fx_port_open(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    bool ok = false;
    if (fd < 0)
        return false;
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
        ok = true;
    else if (errno == EINPROGRESS) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int err = 0;
        socklen_t l = sizeof(err);
        ok = poll(&p, 1, 200) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) == 0 &&
             err == 0;
    }
    close(fd);
    return ok;
}

static inline void fx_exec_redis(const struct redis_srv *s)
{
    char port[16], *argv[32];
    int n = 0;
    snprintf(port, sizeof(port), "%d", s->port);
    argv[n++] = (char *)REDIS_SERVER;
    argv[n++] = (char *)"--bind";
    argv[n++] = (char *)"127.0.0.1";
    argv[n++] = (char *)"--port";
    argv[n++] = s->tls_cert ? (char *)"0" : port;
    if (s->tls_cert) {
        argv[n++] = (char *)"--tls-port";
        argv[n++] = port;
        argv[n++] = (char *)"--tls-cert-file";
        argv[n++] = (char *)s->tls_cert;
        argv[n++] = (char *)"--tls-key-file";
        argv[n++] = (char *)s->tls_key;
        argv[n++] = (char *)"--tls-auth-clients";
        argv[n++] = (char *)"no";
    }
    const char *rest[] = {"--save",      "",   "--appendonly", "no",   "--requirepass", REDIS_PASS,
                          "--daemonize", "no", "--dir",        s->dir, "--loglevel",    "warning"};
    for (size_t i = 0; i < sizeof(rest) / sizeof(rest[0]); i++)
        argv[n++] = (char *)rest[i];
    argv[n] = NULL;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int null = open("/dev/null", 1);
    if (null >= 0) {
        dup2(null, 1);
        dup2(null, 2);
    }
    execv(REDIS_SERVER, argv);
    _exit(127);
}

/* Starts redis-server on s->port (a free one when 0) and waits until it accepts
 * connections. 0, or -1 with the reason in why. */
static inline int redis_start(struct redis_srv *s, char *why, size_t len)
{
    int status;
    if (!s->port)
        s->port = fx_free_port();
    if (!s->dir[0]) {
        snprintf(s->dir, sizeof(s->dir), "/tmp/st-redis-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(s->dir));
    }
    s->pid = fork();
    ck_assert_int_ge(s->pid, 0);
    if (s->pid == 0)
        fx_exec_redis(s);
    for (uint64_t end = fx_now_ms() + REDIS_READY_MS; fx_now_ms() < end;) {
        if (fx_port_open(s->port))
            return 0;
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            snprintf(why, len, "redis-server exited with status %d",
                     WIFEXITED(status) ? WEXITSTATUS(status) : -1);
            s->pid = -1;
            return -1;
        }
        poll(NULL, 0, 10); /* waiting for a child process to listen: nothing to wait on */
    }
    snprintf(why, len, "redis-server did not listen on port %d in %d ms", s->port, REDIS_READY_MS);
    return -1;
}

/* Kills it (SIGKILL: an edge's registry dying without a word) and reaps it. A test case
 * runs in a forked child of the process that started the server: it cannot reap it, so it
 * waits until the port is closed (bounded). */
static inline void redis_kill(struct redis_srv *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        if (waitpid(s->pid, NULL, 0) < 0)
            for (uint64_t end = fx_now_ms() + 2000; fx_port_open(s->port) && fx_now_ms() < end;)
                poll(NULL, 0, 5);
    }
    s->pid = -1;
}

static inline void redis_stop(struct redis_srv *s)
{
    redis_kill(s);
    if (s->dir[0])
        rmdir(s->dir);
    s->dir[0] = 0;
}

/* ---- running a loop until something happened ---- */

struct fx_run {
    struct st_loop *loop;
    bool (*done)(void *arg);
    void *arg;
    struct st_timer guard;
    struct st_defer kick;
    bool timed_out;
};

static inline void fx_kick(struct st_defer *d)
{
    (void)d;
}

static inline void fx_idle(void *data)
{
    struct fx_run *r = data;
    if (r->done(r->arg)) {
        st_loop_stop(r->loop);
        st_defer_queue(r->loop, &r->kick); /* the loop waits once more: make it not block */
    }
}

static inline void fx_guard(struct st_timer *t)
{
    struct fx_run *r = t->data;
    r->timed_out = true;
    st_loop_stop(r->loop);
}

/* Runs loop until done(arg) holds (checked before every wait) or limit_ms passed; returns
 * done(arg). */
static inline bool fx_run_until(struct st_loop *loop, bool (*done)(void *), void *arg,
                                uint64_t limit_ms)
{
    struct fx_run r = {.loop = loop, .done = done, .arg = arg};
    if (done(arg))
        return true;
    st_timer_init(&r.guard, loop, fx_guard, &r);
    st_defer_init(&r.kick, fx_kick, &r);
    st_timer_start(&r.guard, limit_ms);
    loop->idle_cb = fx_idle;
    loop->idle_data = &r;
    loop->stop = false;
    st_loop_run(loop);
    loop->stop = false;
    loop->idle_cb = NULL;
    st_timer_stop(&r.guard);
    st_defer_cancel(loop, &r.kick);
    return done(arg);
}

/* The suite's redis-server (srv_up/srv_down as its fixture); a test that needs it starts
 * with NEED_REDIS(), which prints why and returns when there is none. */
static struct redis_srv srv = {.pid = -1};
static char srv_why[160];

static inline void srv_up(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (!redis_missing()[0] && redis_start(&srv, srv_why, sizeof(srv_why)) < 0)
        srv.pid = -1;
}

static inline void srv_down(void)
{
    redis_stop(&srv);
}

#define NEED_REDIS()                                                                               \
    do {                                                                                           \
        if (srv.pid <= 0) {                                                                        \
            printf("skipped %s: %s\n", __func__, redis_missing()[0] ? redis_missing() : srv_why);  \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#endif
