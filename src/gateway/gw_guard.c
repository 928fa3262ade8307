#include "gw_guard.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gw_server.h"
#include "st_log.h"

/* ---- pure decision logic ---- */

#define V4(a, b, c, d, p)                                                                          \
    {                                                                                              \
        .family = AF_INET, .addr = {a, b, c, d}, .prefix = p                                       \
    }

/* Most specific first: 255.255.255.255 is named before the 240.0.0.0/4 holding it. */
static const struct st_cidr fixed[] = {
    V4(255, 255, 255, 255, 32), V4(0, 0, 0, 0, 8),   V4(127, 0, 0, 0, 8),
    V4(169, 254, 0, 0, 16),     V4(224, 0, 0, 0, 4), V4(240, 0, 0, 0, 4),
};
static const char *const fixed_names[] = {
    "broadcast", "\"this network\" (0.0.0.0/8)", "loopback", "link-local/metadata",
    "multicast", "reserved (240.0.0.0/4)",
};
static const struct st_cidr link_local = V4(169, 254, 0, 0, 16);

#define V6(p, ...)                                                                                 \
    {                                                                                              \
        .family = AF_INET6, .addr = {__VA_ARGS__}, .prefix = p                                     \
    }

static const struct st_cidr fixed6[] = {
    V6(128, 0),         V6(128, [15] = 1), V6(96, [10] = 0xff, [11] = 0xff),
    V6(10, 0xfe, 0x80), V6(8, 0xff),
};
static const char *const fixed6_names[] = {
    "unspecified (::)", "loopback", "IPv4-mapped (::ffff:0:0/96)", "link-local", "multicast",
};

int gw_guard_set_allow(struct gw_guard *g, const struct st_cidr *allow, size_t n,
                       bool link_local_ok)
{
    size_t total = n + (link_local_ok ? 1 : 0);
    struct st_cidr *a = total ? calloc(total, sizeof(*a)) : NULL;

    if (total && !a)
        return -ENOMEM;
    if (n)
        memcpy(a, allow, n * sizeof(*a));
    if (link_local_ok)
        a[n] = link_local;
    free(g->allow);
    g->allow = a;
    g->n_allow = total;
    return 0;
}

/* A copy of n elements of size bytes at src into a new array *out (NULL for none). 0 or
 * -ENOMEM (*out untouched). */
static int copy_array(const void *src, size_t n, size_t size, void **out)
{
    void *a = n ? calloc(n, size) : NULL;

    if (n && !a)
        return -ENOMEM;
    if (n)
        memcpy(a, src, n * size);
    *out = a;
    return 0;
}

int gw_guard_set_host(struct gw_guard *g, const uint32_t *addrs, size_t n)
{
    void *h;

    if (copy_array(addrs, n, sizeof(*addrs), &h) < 0)
        return -ENOMEM;
    free(g->host);
    g->host = h;
    g->n_host = n;
    return 0;
}

static bool allowed(const struct gw_guard *g, int family, const uint8_t *addr)
{
    for (size_t i = 0; i < g->n_allow; i++)
        if (st_cidr_contains(&g->allow[i], family, addr))
            return true;
    return false;
}

int gw_guard_set_host6(struct gw_guard *g, const uint8_t (*addrs)[16], size_t n)
{
    void *h;

    if (copy_array(addrs, n, sizeof(*addrs), &h) < 0)
        return -ENOMEM;
    free(g->host6);
    g->host6 = h;
    g->n_host6 = n;
    return 0;
}

static const char *check6(const struct gw_guard *g, const uint8_t *addr)
{
    if (allowed(g, AF_INET6, addr))
        return NULL;
    for (size_t i = 0; i < sizeof(fixed6) / sizeof(fixed6[0]); i++)
        if (st_cidr_contains(&fixed6[i], AF_INET6, addr))
            return fixed6_names[i];
    for (size_t i = 0; i < g->n_host6; i++)
        if (memcmp(g->host6[i], addr, 16) == 0)
            return "an address of this host";
    return NULL;
}

static bool is_host(const struct gw_guard *g, const uint8_t *addr)
{
    uint32_t a;

    memcpy(&a, addr, 4);
    for (size_t i = 0; i < g->n_host; i++)
        if (g->host[i] == a)
            return true;
    return false;
}

const char *gw_guard_check(const struct gw_guard *g, int family, const uint8_t *addr)
{
    if (family == AF_INET6)
        return check6(g, addr);
    if (family != AF_INET)
        return "neither IPv4 nor IPv6";
    if (allowed(g, AF_INET, addr))
        return NULL;
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        if (st_cidr_contains(&fixed[i], AF_INET, addr))
            return fixed_names[i];
    return is_host(g, addr) ? "an address of this host" : NULL;
}

bool gw_guard_blocked(const struct gw_guard *g, int family, const uint8_t *addr)
{
    return gw_guard_check(g, family, addr) != NULL;
}

void gw_guard_fini(struct gw_guard *g)
{
    free(g->allow);
    free(g->host);
    free(g->host6);
    memset(g, 0, sizeof(*g));
}

/* ---- the host's addresses ----
 *
 * Why a netlink subscription and not only a timer: an address that DHCP or a hotplugged
 * interface adds is guarded from the event on, not up to a polling period later, and an
 * idle host costs nothing. The event's content is not parsed: any change re-reads the whole
 * set with getifaddrs() (a few interfaces, one dump), which also recovers from an overrun
 * (ENOBUFS) of the socket. */

/* The host's addresses (local ends; a point-to-point peer is another host). */
struct host_set {
    uint32_t *v4;
    uint8_t (*v6)[16];
    size_t n4, n6;
};

static void host_set_free(struct host_set *h)
{
    free(h->v4);
    free(h->v6);
}

/* Reads the host's IPv4 and IPv6 addresses into h (freed with host_set_free). 0 or -errno. */
static int read_host(struct host_set *h)
{
    struct ifaddrs *ifs, *i;
    size_t max = 1;

    memset(h, 0, sizeof(*h));
    if (getifaddrs(&ifs) < 0)
        return -errno;
    for (i = ifs; i; i = i->ifa_next)
        max += i->ifa_addr != NULL;
    h->v4 = calloc(max, sizeof(*h->v4));
    h->v6 = calloc(max, sizeof(*h->v6));
    if (!h->v4 || !h->v6) {
        freeifaddrs(ifs);
        host_set_free(h);
        return -ENOMEM;
    }
    for (i = ifs; i; i = i->ifa_next) {
        if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET)
            h->v4[h->n4++] = ((const struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr;
        else if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET6)
            memcpy(h->v6[h->n6++], &((const struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, 16);
    }
    freeifaddrs(ifs);
    return 0;
}

static int refresh(struct gw_server *gw)
{
    struct host_set h;
    int rv = read_host(&h);

    if (rv == 0) {
        if (gw_guard_set_host(&gw->guard, h.v4, h.n4) < 0 ||
            gw_guard_set_host6(&gw->guard, (const uint8_t(*)[16])h.v6, h.n6) < 0)
            rv = -ENOMEM;
        else
            st_debug("guard: %zu IPv4 and %zu IPv6 addresses of this host", h.n4, h.n6);
        host_set_free(&h);
    }
    return rv;
}

static void refresh_logged(struct gw_server *gw, const char *when)
{
    int rv = refresh(gw);

    if (rv < 0)
        st_warn("guard: %s: cannot read this host's addresses (%s); keeping the %zu known", when,
                strerror(-rv), gw->guard.n_host);
}

static void on_netlink(struct st_io *io, uint32_t ev)
{
    struct gw_server *gw = io->data;
    char buf[8192];

    (void)ev;
    for (int i = 0; i < 64; i++) { /* more left: level-triggered epoll calls again */
        ssize_t n = recv(io->fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n < 0 && errno != ENOBUFS && errno != EINTR) {
            st_warn("guard: netlink: %s; re-reading addresses every %d s instead", strerror(errno),
                    GW_GUARD_POLL_MS / 1000);
            st_io_stop(io);
            close(io->fd);
            io->fd = -1;
            st_timer_start(&gw->guard_timer, GW_GUARD_POLL_MS);
            break;
        }
    }
    refresh_logged(gw, "address change");
}

static void on_poll(struct st_timer *t)
{
    struct gw_server *gw = t->data;

    refresh_logged(gw, "periodic re-read");
    st_timer_start(t, GW_GUARD_POLL_MS);
}

/* A netlink socket told about IPv4 and IPv6 address changes, or -errno. */
static int subscribe(void)
{
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK,
                             .nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR};
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);

    if (fd < 0)
        return -errno;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

static int apply_allow(struct gw_server *gw)
{
    const struct gw_config *cfg = &gw->cfg;

    return gw_guard_set_allow(&gw->guard, cfg->allow_local, cfg->n_allow_local,
                              cfg->allow_link_local);
}

int gw_guard_start(struct gw_server *gw)
{
    int rv, fd;

    st_timer_init(&gw->guard_timer, &gw->loop, on_poll, gw);
    st_io_init(&gw->guard_io, &gw->loop, -1, on_netlink, gw);
    fd = subscribe(); /* before the first read: no address added in between is missed */
    if ((rv = apply_allow(gw)) < 0 || (rv = refresh(gw)) < 0) {
        st_err("guard: cannot read this host's addresses: %s", strerror(-rv));
        if (fd >= 0)
            close(fd);
        gw_guard_fini(&gw->guard);
        return rv;
    }
    gw->guard_on = true;
    if (fd < 0) {
        st_warn("guard: netlink address events: %s; re-reading addresses every %d s", strerror(-fd),
                GW_GUARD_POLL_MS / 1000);
        st_timer_start(&gw->guard_timer, GW_GUARD_POLL_MS);
    } else {
        gw->guard_io.fd = fd;
        st_io_set(&gw->guard_io, EPOLLIN);
    }
    st_info("guard: refusing flows to this host's %zu addresses and to special ranges (%zu "
            "allow-local exceptions)",
            gw->guard.n_host + gw->guard.n_host6, gw->guard.n_allow);
    return 0;
}

void gw_guard_reload(struct gw_server *gw)
{
    if (!gw->guard_on)
        return;
    if (apply_allow(gw) < 0)
        st_err("SIGHUP: guard: out of memory: keeping the previous allow-local list");
    refresh_logged(gw, "SIGHUP");
}

const char *gw_guard_refuse(struct gw_server *gw, int kind, int family, const uint8_t *addr,
                            const char *client, const char *authority)
{
    static const char *const what[ST_KIND_N] = {"flow", "udp flow", "icmp flow", "flow"};
    const char *why = gw_guard_check(&gw->guard, family, addr);

    if (!why)
        return NULL;
    if (kind < 0 || kind >= ST_KIND_N)
        kind = ST_KIND_TCP;
    if (!gw->guard_log.kind) /* the first refusal (the guard also works unstarted) */
        st_log_limit_init(&gw->guard_log, "guard refusals", GW_GUARD_LOG_PER_SEC);
    gw->guard_refused[kind]++;
    st_log_limited(&gw->guard_log, ST_LOG_INFO,
                   "%s %s -> %s: refused by the guard: %s (not in expose.allow-local)", what[kind],
                   client, authority, why);
    return why;
}

void gw_guard_flush_log(struct gw_server *gw)
{
    if (gw->guard_log.kind)
        st_log_limit_flush(&gw->guard_log, ST_LOG_INFO, st_log_now_ms());
}

void gw_guard_stop(struct gw_server *gw)
{
    if (gw->guard_on) {
        st_timer_stop(&gw->guard_timer);
        if (gw->guard_io.fd >= 0) {
            st_io_stop(&gw->guard_io);
            close(gw->guard_io.fd);
            gw->guard_io.fd = -1;
        }
        gw->guard_on = false;
    }
    gw_guard_fini(&gw->guard);
}
