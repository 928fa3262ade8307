/* st-flowgen: TCP flow load for scripts/bench.sh (flow setup rate, idle flows).
 *
 *   st-flowgen serve ADDR PORT [NPORTS]
 *       listens on ADDR:PORT..PORT+NPORTS-1; every accepted connection gets one byte ('!')
 *       at once and is kept until the peer closes. Prints "ready" once listening.
 *   st-flowgen churn ADDR PORT [NPORTS] --count N [--parallel P] [--timeout-ms T]
 *       opens N connections, at most P at a time, round-robin over the ports; each one is
 *       set up when the server's byte arrived (end to end through any tunnel, not just the
 *       local handshake), then closed with a reset (SO_LINGER 0: no TIME_WAIT, so ports
 *       never run out). Prints "flows K/N rate R/s p50 A ms p99 B ms" (K set up).
 *   st-flowgen hold ADDR PORT [NPORTS] --count N [--parallel P] [--timeout-ms T]
 *       the same, but keeps every connection open; prints "held K/N rate ... " and then
 *       holds them until stdin closes or SIGTERM.
 * Exit status 0 when all N were set up. Bounded: a connection not set up within T ms
 * (default 10000) fails; the whole run stops after N * T / P + 30 s.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PORTS 64
#define EVENTS 1024

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* As many descriptors as allowed: 2^20 as root (CAP_SYS_RESOURCE), else the hard limit. */
static void raise_nofile(void)
{
    struct rlimit r = {.rlim_cur = 1 << 20, .rlim_max = 1 << 20};
    if (setrlimit(RLIMIT_NOFILE, &r) == 0 || getrlimit(RLIMIT_NOFILE, &r) < 0)
        return;
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
}

static void usage(void)
{
    fprintf(stderr, "usage: st-flowgen serve ADDR PORT [NPORTS]\n"
                    "       st-flowgen churn|hold ADDR PORT [NPORTS] --count N [--parallel P] "
                    "[--timeout-ms T]\n");
    exit(2);
}

static long number(const char *s, long min, long max, const char *what)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max) {
        fprintf(stderr, "st-flowgen: %s: '%s' is not a number in %ld..%ld\n", what, s, min, max);
        exit(2);
    }
    return v;
}

static int serve(struct in_addr addr, int port, int nports)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    int lfd[MAX_PORTS];
    for (int i = 0; i < nports; i++) {
        struct sockaddr_in sa = {
            .sin_family = AF_INET, .sin_addr = addr, .sin_port = htons((uint16_t)(port + i))};
        int one = 1;
        lfd[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (lfd[i] < 0 || setsockopt(lfd[i], SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
            bind(lfd[i], (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd[i], 65535) < 0) {
            fprintf(stderr, "st-flowgen: listen %s:%d: %s\n", inet_ntoa(addr), port + i,
                    strerror(errno));
            return 1;
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, lfd[i], &ev);
    }
    printf("ready\n");
    fflush(stdout);
    struct epoll_event evs[EVENTS];
    while (!stop) {
        int n = epoll_wait(ep, evs, EVENTS, 500);
        for (int i = 0; i < n; i++) {
            uint64_t tag = evs[i].data.u64;
            if (tag < MAX_PORTS) {
                for (int k = 0; k < 256; k++) {
                    int fd = accept4(lfd[tag], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (fd < 0)
                        break;
                    (void)!send(fd, "!", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
                    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP,
                                             .data.u64 = (uint64_t)fd + MAX_PORTS};
                    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
                        close(fd);
                }
                continue;
            }
            int fd = (int)(tag - MAX_PORTS);
            char buf[4096];
            ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
                close(fd); /* also leaves the epoll set */
        }
    }
    return 0;
}

struct flow {
    int fd;
    uint64_t start_us;
};

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int run_client(bool hold, struct in_addr addr, int port, int nports, long count,
                      long parallel, long timeout_ms)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    /* In flight: a ring of at most `parallel` flows, oldest first (timeouts). The slot
     * index rides in epoll data; done flows get fd -1 and are skipped at the head. */
    struct flow *ring = calloc((size_t)parallel, sizeof(*ring));
    uint32_t *lat_us = calloc((size_t)count, sizeof(*lat_us));
    int *held = hold ? calloc((size_t)count, sizeof(*held)) : NULL;
    if (!ring || !lat_us || (hold && !held)) {
        fprintf(stderr, "st-flowgen: out of memory\n");
        return 1;
    }
    long started = 0, done = 0, ok = 0, failed = 0, head = 0, live = 0;
    uint64_t t0 = now_us();
    uint64_t deadline = t0 + (uint64_t)(count * timeout_ms / parallel + 30000) * 1000u;
    struct epoll_event evs[EVENTS];
    struct linger lin = {.l_onoff = 1, .l_linger = 0};
    int errs_shown = 0;
    while (done < count && !stop && now_us() < deadline) {
        while (started < count && live < parallel) {
            long slot = (head + live) % parallel;
            struct sockaddr_in sa = {.sin_family = AF_INET,
                                     .sin_addr = addr,
                                     .sin_port = htons((uint16_t)(port + started % nports))};
            int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            ring[slot].start_us = now_us();
            ring[slot].fd = fd;
            started++;
            live++;
            if (fd < 0 ||
                (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS)) {
                if (errs_shown++ < 3)
                    fprintf(stderr, "st-flowgen: connect: %s\n", strerror(errno));
                if (fd >= 0)
                    close(fd);
                ring[slot].fd = -1;
                failed++;
                done++;
                continue;
            }
            struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u64 = (uint64_t)slot};
            epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
        }
        int n = epoll_wait(ep, evs, EVENTS, 100);
        uint64_t t = now_us();
        for (int i = 0; i < n; i++) {
            struct flow *f = &ring[evs[i].data.u64];
            if (f->fd < 0)
                continue;
            char c;
            ssize_t r = recv(f->fd, &c, 1, MSG_DONTWAIT);
            if (r < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (r == 1) {
                lat_us[ok++] = (uint32_t)(t - f->start_us);
                epoll_ctl(ep, EPOLL_CTL_DEL, f->fd, NULL);
                if (hold) {
                    held[ok - 1] = f->fd;
                } else {
                    setsockopt(f->fd, SOL_SOCKET, SO_LINGER, &lin, sizeof(lin));
                    close(f->fd);
                }
            } else {
                if (errs_shown++ < 3)
                    fprintf(stderr, "st-flowgen: flow failed: %s\n",
                            r == 0 ? "closed before the server's byte" : strerror(errno));
                failed++;
                close(f->fd);
            }
            f->fd = -1;
            done++;
        }
        /* Retire finished flows at the head; fail the ones past their time. */
        while (live > 0) {
            struct flow *f = &ring[head];
            if (f->fd >= 0 && t - f->start_us < (uint64_t)timeout_ms * 1000u)
                break;
            if (f->fd >= 0) {
                if (errs_shown++ < 3)
                    fprintf(stderr, "st-flowgen: flow not set up within %ld ms\n", timeout_ms);
                close(f->fd);
                f->fd = -1;
                failed++;
                done++;
            }
            head = (head + 1) % parallel;
            live--;
        }
    }
    double secs = (double)(now_us() - t0) / 1e6;
    qsort(lat_us, (size_t)ok, sizeof(*lat_us), cmp_u32);
    double p50 = ok ? lat_us[(ok - 1) / 2] / 1000.0 : 0;
    double p99 = ok ? lat_us[ok * 99 / 100 > 0 ? ok * 99 / 100 - 1 : 0] / 1000.0 : 0;
    printf("%s %ld/%ld rate %.0f/s p50 %.1f ms p99 %.1f ms\n", hold ? "held" : "flows", ok, count,
           secs > 0 ? (double)ok / secs : 0, p50, p99);
    fflush(stdout);
    if (hold) {
        /* Keep them until stdin closes or a signal; bounded by the caller's timeout. */
        struct pollfd p = {.fd = 0, .events = POLLIN};
        char buf[256];
        while (!stop) {
            if (poll(&p, 1, 500) > 0 && read(0, buf, sizeof(buf)) <= 0)
                break;
        }
        for (long i = 0; i < ok; i++)
            close(held[i]);
    }
    free(ring);
    free(lat_us);
    free(held);
    return ok == count ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 4)
        usage();
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    raise_nofile();
    struct in_addr addr;
    if (inet_pton(AF_INET, argv[2], &addr) != 1) {
        fprintf(stderr, "st-flowgen: '%s' is not an IPv4 address\n", argv[2]);
        return 2;
    }
    int port = (int)number(argv[3], 1, 65535, "port");
    int nports = 1, i = 4;
    if (i < argc && argv[i][0] != '-')
        nports = (int)number(argv[i++], 1, MAX_PORTS, "number of ports");
    if (port + nports - 1 > 65535)
        usage();
    if (strcmp(argv[1], "serve") == 0)
        return i == argc ? serve(addr, port, nports) : (usage(), 2);
    bool hold = strcmp(argv[1], "hold") == 0;
    if (!hold && strcmp(argv[1], "churn") != 0)
        usage();
    long count = 0, parallel = 100, timeout_ms = 10000;
    for (; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--count") == 0)
            count = number(argv[i + 1], 1, 10000000, "--count");
        else if (strcmp(argv[i], "--parallel") == 0)
            parallel = number(argv[i + 1], 1, 1000000, "--parallel");
        else if (strcmp(argv[i], "--timeout-ms") == 0)
            timeout_ms = number(argv[i + 1], 1, 600000, "--timeout-ms");
        else
            usage();
    }
    if (i != argc || count == 0)
        usage();
    if (parallel > count)
        parallel = count;
    return run_client(hold, addr, port, nports, count, parallel, timeout_ms);
}
