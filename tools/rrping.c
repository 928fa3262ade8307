/* st-rrping: TCP request/response round-trip times for scripts/bench.sh (latency mode).
 *
 *   st-rrping serve ADDR PORT
 *       listens on ADDR:PORT; echoes every byte of every connection (one thread per
 *       connection) until the peer closes.
 *   st-rrping ping ADDR PORT [--count N] [--interval-ms I]
 *       one connection (TCP_NODELAY), N round trips (default 1000) of 1 byte each way, one
 *       every I ms (default 10); prints "rr N/N p50 A ms p99 B ms max C ms" (N answered).
 * Exit status 0 when all N round trips completed; a round trip waits at most 5 s.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int addr_of(const char *host, const char *port, struct sockaddr_in *sa)
{
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)atoi(port));
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static void nodelay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void *echo_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        if (write(fd, buf, (size_t)n) != n)
            break;
    close(fd);
    return NULL;
}

static int serve(const struct sockaddr_in *sa)
{
    int one = 1, lfd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(lfd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 || listen(lfd, 64) < 0) {
        perror("st-rrping: bind/listen");
        return 1;
    }
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        pthread_t t;
        if (fd < 0)
            continue;
        nodelay(fd);
        if (pthread_create(&t, NULL, echo_conn, (void *)(intptr_t)fd) != 0)
            close(fd);
        else
            pthread_detach(t);
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* One round trip: 1 byte out, 1 byte back within 5 s; the time in ns, or 0 on failure. */
static uint64_t round_trip(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    uint64_t t0 = now_ns();
    char c = 'x';
    if (write(fd, &c, 1) != 1 || poll(&p, 1, 5000) != 1 || read(fd, &c, 1) != 1)
        return 0;
    return now_ns() - t0;
}

static double pct_ms(const uint64_t *v, int n, double q)
{
    int i = (int)(q * (n - 1) + 0.5);
    return (double)v[i] / 1e6;
}

static int ping(const struct sockaddr_in *sa, int count, int interval_ms)
{
    uint64_t *rtt = calloc((size_t)count, sizeof(*rtt));
    int fd = socket(AF_INET, SOCK_STREAM, 0), n = 0;
    if (!rtt || connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
        perror("st-rrping: connect");
        return 1;
    }
    nodelay(fd);
    for (int i = 0; i < count; i++) {
        uint64_t t = round_trip(fd);
        if (!t)
            break;
        rtt[n++] = t;
        usleep((useconds_t)interval_ms * 1000);
    }
    close(fd);
    if (n == 0) {
        printf("rr 0/%d\n", count);
        return 1;
    }
    qsort(rtt, (size_t)n, sizeof(*rtt), cmp_u64);
    printf("rr %d/%d p50 %.3f ms p99 %.3f ms max %.3f ms\n", n, count, pct_ms(rtt, n, 0.5),
           pct_ms(rtt, n, 0.99), (double)rtt[n - 1] / 1e6);
    free(rtt);
    return n == count ? 0 : 1;
}

int main(int argc, char **argv)
{
    struct sockaddr_in sa;
    int count = 1000, interval = 10;
    if (argc < 4 || addr_of(argv[2], argv[3], &sa) < 0) {
        fprintf(stderr, "usage: st-rrping serve|ping ADDR PORT [--count N] [--interval-ms I]\n");
        return 2;
    }
    for (int i = 4; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--count") == 0)
            count = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--interval-ms") == 0)
            interval = atoi(argv[i + 1]);
    }
    if (count < 1)
        count = 1;
    if (strcmp(argv[1], "serve") == 0)
        return serve(&sa);
    return ping(&sa, count, interval);
}
