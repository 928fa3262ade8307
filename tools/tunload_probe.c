/* st-tunload probe: CONNECTs through the edge's access proxy (HTTP/1.1, Basic credential) to
 * the simulated tunnels' addresses, one after another, each carrying --bytes random bytes that
 * the tunnel echoes (checked byte for byte).
 *
 *   st-tunload probe --proxy ADDR:PORT --auth USER:TOKEN [--route-base A] [--first K]
 *           [--tunnels M] [--port P] [--count N] [--interval MS] [--bytes B] [--timeout MS]
 *           [--slow MS] [--verbose]
 *
 * Probe i goes to route-base + first + (i mod M), port P (default 7). Prints one summary:
 *   probes N answered A ok O echo-ok E p50 X ms p99 Y ms max Z ms first-ok I after-first-ok
 *   K slow-or-failed L max-after-first-ok W ms
 * "answered": a status line came back (any status); times are to the status line; "after
 * first ok": the probes after the first 200, of which L were not 200 or took over --slow
 * (default 100) ms. Exit status 0 when every probe answered 200 and echoed correctly. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tunload.h"

struct probe_opts {
    const char *proxy, *auth, *route_base;
    unsigned first, tunnels, count;
    int port, interval_ms, timeout_ms, slow_ms;
    size_t bytes;
    bool verbose;
};

struct probe_result {
    int status;       /* 0: no answer */
    double answer_ms; /* to the status line */
    bool echo_ok;
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Waits for ev on fd until deadline; 1 ready, 0 timed out. */
static int wait_fd(int fd, short ev, double deadline)
{
    double left = deadline - now_ms();
    if (left <= 0)
        return 0;
    struct pollfd p = {.fd = fd, .events = ev};
    return poll(&p, 1, (int)left + 1) > 0;
}

static int connect_proxy(const struct sockaddr_in *sa, double deadline)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1, err = 0;
    socklen_t len = sizeof(err);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if ((connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 && errno != EINPROGRESS) ||
        !wait_fd(fd, POLLOUT, deadline) || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 ||
        err) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads the response head; returns its status or 0. */
static int read_head(int fd, double deadline)
{
    char head[2048];
    size_t n = 0;
    while (n < sizeof(head) - 1 && wait_fd(fd, POLLIN, deadline)) {
        ssize_t r = recv(fd, head + n, 1, 0); /* byte by byte: echoed bytes follow the head */
        if (r <= 0)
            return 0;
        n++;
        head[n] = 0;
        if (n >= 4 && memcmp(head + n - 4, "\r\n\r\n", 4) == 0) {
            int st = 0;
            return sscanf(head, "HTTP/1.%*d %d", &st) == 1 ? st : 0;
        }
    }
    return 0;
}

/* Sends b bytes and reads them back, compared as they come. */
static bool echo(int fd, const uint8_t *data, size_t b, double deadline)
{
    size_t sent = 0, got = 0;
    uint8_t buf[16384];
    bool ok = true;
    while (got < b && now_ms() < deadline) {
        struct pollfd p = {.fd = fd, .events = POLLIN | (sent < b ? POLLOUT : 0)};
        if (poll(&p, 1, 50) <= 0)
            continue;
        if ((p.revents & POLLOUT) && sent < b) {
            ssize_t w = send(fd, data + sent, b - sent, MSG_NOSIGNAL);
            if (w < 0 && errno != EAGAIN)
                return false;
            sent += w > 0 ? (size_t)w : 0;
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t r = recv(fd, buf, sizeof(buf), 0);
            if (r == 0 || (r < 0 && errno != EAGAIN))
                return false;
            if (r > 0) {
                ok &= got + (size_t)r <= b && memcmp(buf, data + got, (size_t)r) == 0;
                got += (size_t)r;
            }
        }
    }
    return ok && got == b;
}

static struct probe_result probe_one(const struct probe_opts *o, const struct sockaddr_in *sa,
                                     const char *target, const char *cred, const uint8_t *data)
{
    struct probe_result res = {0};
    double t0 = now_ms(), deadline = t0 + o->timeout_ms;
    int fd = connect_proxy(sa, deadline);
    if (fd < 0)
        return res;
    char req[1024];
    int n = snprintf(req, sizeof(req),
                     "CONNECT %s HTTP/1.1\r\nHost: %s\r\nProxy-Authorization: Basic %s\r\n\r\n",
                     target, target, cred);
    if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
        close(fd);
        return res;
    }
    res.status = read_head(fd, deadline);
    res.answer_ms = now_ms() - t0;
    if (res.status == 200)
        res.echo_ok = o->bytes == 0 || echo(fd, data, o->bytes, deadline);
    close(fd);
    return res;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static const struct option probe_long[] = {
    {"proxy", required_argument, NULL, 'x'},
    {"auth", required_argument, NULL, 'a'},
    {"route-base", required_argument, NULL, 'b'},
    {"first", required_argument, NULL, 'f'},
    {"tunnels", required_argument, NULL, 'm'},
    {"port", required_argument, NULL, 'p'},
    {"count", required_argument, NULL, 'n'},
    {"interval", required_argument, NULL, 'i'},
    {"bytes", required_argument, NULL, 'B'},
    {"timeout", required_argument, NULL, 't'},
    {"slow", required_argument, NULL, 'S'},
    {"verbose", no_argument, NULL, 'v'},
    {NULL, 0, NULL, 0},
};

static int probe_parse(int argc, char **argv, struct probe_opts *o)
{
    *o = (struct probe_opts){.route_base = "198.19.0.0",
                             .tunnels = 1,
                             .count = 1,
                             .port = 7,
                             .interval_ms = 100,
                             .timeout_ms = 5000,
                             .slow_ms = 100};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", probe_long, NULL)) != -1) {
        switch (c) {
        case 'x':
            o->proxy = optarg;
            break;
        case 'a':
            o->auth = optarg;
            break;
        case 'b':
            o->route_base = optarg;
            break;
        case 'f':
            o->first = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'm':
            o->tunnels = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'p':
            o->port = atoi(optarg);
            break;
        case 'n':
            o->count = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'i':
            o->interval_ms = atoi(optarg);
            break;
        case 'B':
            o->bytes = strtoul(optarg, NULL, 10);
            break;
        case 't':
            o->timeout_ms = atoi(optarg);
            break;
        case 'S':
            o->slow_ms = atoi(optarg);
            break;
        case 'v':
            o->verbose = true;
            break;
        default:
            return -1;
        }
    }
    if (!o->proxy || !o->auth || !o->tunnels || !o->count || o->bytes > (64u << 20)) {
        fprintf(stderr, "st-tunload probe: --proxy ADDR:PORT and --auth USER:TOKEN needed\n");
        return -1;
    }
    return 0;
}

int tl_cmd_probe(int argc, char **argv)
{
    struct probe_opts o;
    struct sockaddr_in sa = {.sin_family = AF_INET};
    char host[64], cred[512];
    uint32_t base;
    if (probe_parse(argc, argv, &o) < 0)
        return 2;
    const char *colon = strrchr(o.proxy, ':');
    if (!colon || (size_t)(colon - o.proxy) >= sizeof(host) || tl_ipv4(o.route_base, &base) < 0 ||
        strlen(o.auth) > 360)
        return 2;
    snprintf(host, sizeof(host), "%.*s", (int)(colon - o.proxy), o.proxy);
    sa.sin_port = htons((uint16_t)atoi(colon + 1));
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return 2;
    EVP_EncodeBlock((unsigned char *)cred, (const unsigned char *)o.auth, (int)strlen(o.auth));
    uint8_t *data = malloc(o.bytes + 1);
    double *lat = calloc(o.count, sizeof(*lat));
    if (!data || !lat)
        return 2;
    for (size_t i = 0; i < o.bytes; i += 256)
        getrandom(data + i, o.bytes - i < 256 ? o.bytes - i : 256, 0);
    unsigned answered = 0, ok = 0, echo_ok = 0, after = 0, late = 0;
    long first_ok = -1;
    double max_after = 0;
    for (unsigned i = 0; i < o.count; i++) {
        double t0 = now_ms();
        char route[32], target[48];
        tl_route(base, o.first + i % o.tunnels, route, sizeof(route));
        snprintf(target, sizeof(target), "%.*s:%d", (int)(strlen(route) - 3), route, o.port);
        struct probe_result r = probe_one(&o, &sa, target, cred, data);
        answered += r.status != 0;
        ok += r.status == 200;
        echo_ok += r.status == 200 && r.echo_ok;
        lat[i] = r.status ? r.answer_ms : o.timeout_ms;
        if (first_ok >= 0) {
            after++;
            late += r.status != 200 || r.answer_ms > o.slow_ms;
            max_after = lat[i] > max_after ? lat[i] : max_after;
        } else if (r.status == 200) {
            first_ok = i;
        }
        if (o.verbose)
            printf("probe %u %s status %d %.2f ms echo %s\n", i, target, r.status, r.answer_ms,
                   r.echo_ok ? "ok" : "bad");
        double wait = o.interval_ms - (now_ms() - t0);
        if (i + 1 < o.count && wait > 0)
            usleep((useconds_t)(wait * 1000));
    }
    qsort(lat, o.count, sizeof(*lat), cmp_double);
    printf("probes %u answered %u ok %u echo-ok %u p50 %.2f ms p99 %.2f ms max %.2f ms first-ok "
           "%ld after-first-ok %u slow-or-failed %u max-after-first-ok %.2f ms\n",
           o.count, answered, ok, echo_ok, lat[o.count / 2], lat[(o.count - 1) * 99 / 100],
           lat[o.count - 1], first_ok, after, late, max_after);
    free(data);
    free(lat);
    return ok == o.count && echo_ok == o.count ? 0 : 1;
}
