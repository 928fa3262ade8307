#ifndef SUBTUNNEL_GW_GUARD_H
#define SUBTUNNEL_GW_GUARD_H

/* The gateway guard (defence in depth, always on in the expose role): a flow the edge asks
 * for (TCP CONNECT, connect-udp, connect-ip) never goes to an address of the gateway's own
 * host, "this network" (0.0.0.0/8), loopback (127.0.0.0/8), link-local (169.254.0.0/16,
 * where cloud metadata services live), multicast (224.0.0.0/4), reserved (240.0.0.0/4) or
 * broadcast (255.255.255.255), even inside expose.routes, unless expose.allow-local (or
 * allow-link-local for 169.254.0.0/16) lists it. Such flows get 403 with proxy-status
 * `destination_ip_prohibited; details="local address"`. Ingress services (the operator's
 * own choice) and reach flows (toward the edge) are not guarded. docs/security.md says why.
 *
 * The host's addresses follow the kernel: re-read when an RTMGRP_IPV4_IFADDR event arrives
 * on a netlink socket, and on reload. IPv6 destinations: the host's IPv6 addresses
 * (RTMGRP_IPV6_IFADDR), ::, ::1, ::ffff:0:0/96, fe80::/10 and ff00::/8, unless
 * expose.allow-local lists them as well. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "st_addr.h"

#define GW_GUARD_LOG_PER_SEC 10 /* refusal lines per second; then one summary */
#define GW_GUARD_PROXY_STATUS                                                                      \
    "subtunnel; error=destination_ip_prohibited; details=\"local address\""

struct gw_server;

/* The decision data. Owns its arrays; a zeroed struct is a valid, empty guard (the fixed
 * ranges are still refused). */
struct gw_guard {
    struct st_cidr *allow; /* expose.allow-local, plus 169.254.0.0/16 with allow-link-local */
    size_t n_allow;
    uint32_t *host; /* IPv4 addresses of the host's interfaces (network byte order) */
    size_t n_host;
    uint8_t (*host6)[16]; /* IPv6 addresses of the host's interfaces */
    size_t n_host6;
};

/* Replaces the allow list with a copy of allow[0..n) (IPv4 and IPv6 entries),
 * adding 169.254.0.0/16 when link_local is set. 0, or -ENOMEM (the old list stays). */
int gw_guard_set_allow(struct gw_guard *g, const struct st_cidr *allow, size_t n, bool link_local);
/* Replaces the host's address set with a copy of addrs[0..n) (network byte order). 0, or
 * -ENOMEM (the old set stays). */
int gw_guard_set_host(struct gw_guard *g, const uint32_t *addrs, size_t n);
/* The same for the host's IPv6 addresses. */
int gw_guard_set_host6(struct gw_guard *g, const uint8_t (*addrs)[16], size_t n);
/* Why the guard refuses a flow to addr (4 bytes for AF_INET, 16 for AF_INET6), e.g.
 * "loopback" or "an address of this host", or NULL when it may go. Pure. IPv6: the
 * unspecified address, ::1, IPv4-mapped, link-local (fe80::/10), multicast (ff00::/8) and
 * the host's addresses, unless the allow list covers addr. Another family: refused. */
const char *gw_guard_check(const struct gw_guard *g, int family, const uint8_t *addr);
/* gw_guard_check(...) != NULL. */
bool gw_guard_blocked(const struct gw_guard *g, int family, const uint8_t *addr);
/* Frees the arrays and zeroes g; accepts a zeroed g. */
void gw_guard_fini(struct gw_guard *g);

/* Expose role only: applies gw->cfg's allow list, reads the host's addresses and subscribes
 * to address changes. 0, or -errno when the addresses cannot be read (logged: the gateway
 * must not start unguarded). Without a netlink socket it re-reads every GW_GUARD_POLL_MS. */
#define GW_GUARD_POLL_MS 30000
int gw_guard_start(struct gw_server *gw);
/* SIGHUP: applies the reloaded gw->cfg's allow list and re-reads the host's addresses
 * (a failure is logged and keeps the previous set). No-op before gw_guard_start. */
void gw_guard_reload(struct gw_server *gw);
/* Logs, counts and returns why gw refuses the flow CLIENT -> AUTHORITY to addr (kind names
 * the flow in the line: "flow", "udp flow", "icmp flow"), or returns NULL. The line is
 * rate-limited (GW_GUARD_LOG_PER_SEC). */
const char *gw_guard_refuse(struct gw_server *gw, int kind, int family, const uint8_t *addr,
                            const char *client, const char *authority);
/* Writes a due "suppressed N lines" summary (from the gateway's periodic timer). */
void gw_guard_flush_log(struct gw_server *gw);
void gw_guard_stop(struct gw_server *gw);

#endif
