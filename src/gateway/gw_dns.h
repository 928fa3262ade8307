#ifndef SUBTUNNEL_GW_DNS_H
#define SUBTUNNEL_GW_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gw_edges.h"
#include "st_addr.h"
#include "st_loop.h"

/* Asynchronous edge discovery over DNS with c-ares on the st_loop (st_ares): one SRV query, then
 * A and AAAA (ares_getaddrinfo, no search domains) for each SRV target. One resolution at
 * a time per gw_dns. */

#define GW_DNS_MAX_TARGETS 16      /* SRV records beyond these (in sorted order) are ignored */
#define GW_DNS_MAX_ADDRS 4         /* addresses kept per SRV target */
#define GW_DNS_TIMEOUT_MS 5000     /* whole resolution, SRV and addresses */
#define GW_DNS_TRY_TIMEOUT_MS 1000 /* first try per server; c-ares doubles it per round */
#define GW_DNS_TRIES 2

struct gw_dns;

/* Result: status 0 with n >= 1 targets (sorted by gw_edges_sort, one per address; targets
 * that did not resolve are left out), or a negative errno with n == 0 and err a readable
 * reason naming the query ("_subtunnel._tcp.lab.test: no SRV records (NXDOMAIN)"):
 * -ENOENT NXDOMAIN (also when the only SRV target is "."), -ENODATA no SRV records,
 * -ETIMEDOUT no answer in time, -ECONNREFUSED server refused or unreachable, -EBADMSG
 * malformed reply, -ENOMEM, -EIO other failures (SERVFAIL...); when no target resolved,
 * the error of the first target (in SRV order).
 * ttl_s is the smallest TTL of the answer records used (SRV answer section, parsed by
 * hand, and each address and CNAME), at least 1; on errors it is 1.
 * Runs from a deferred callback, never inside gw_dns_resolve. t and err are valid until
 * the callback returns or calls gw_dns_free; it may call gw_dns_resolve or gw_dns_free. */
typedef void (*gw_dns_cb)(void *arg, int status, const struct gw_edge_target *t, size_t n,
                          uint32_t ttl_s, const char *err);

/* servers: DNS servers (ip:port; port 0 means 53) to use instead of /etc/resolv.conf;
 * n_servers 0 = system configuration. Returns NULL with err set on failure. */
struct gw_dns *gw_dns_new(struct st_loop *loop, const struct st_sockaddr *servers, size_t n_servers,
                          char *err, size_t errlen);
/* Starts resolving srv_name (e.g. "_subtunnel._tcp.lab.test"); cb is called exactly once
 * unless gw_dns_free comes first. Returns 0, -EBUSY while a resolution is running (until
 * its callback has started), -EINVAL for an empty or over-long name. */
int gw_dns_resolve(struct gw_dns *d, const char *srv_name, gw_dns_cb cb, void *arg);
/* Smallest TTL over the answer section of the DNS reply buf[0..len) (c-ares does not return
 * SRV TTLs), TTLs over 2^31-1 counted as 0 (RFC 2181 8), UINT32_MAX for no answers. Pure.
 * Returns 0, or -EBADMSG for a truncated header, name or record. */
int gw_dns_answer_ttl(const unsigned char *buf, int len, uint32_t *ttl);
/* True from gw_dns_resolve until the callback is called. */
bool gw_dns_busy(const struct gw_dns *d);
/* Cancels any resolution (its callback is not called) and frees. Accepts NULL. Safe from
 * any callback: the result callback (results are only delivered from a deferred
 * callback, never from inside c-ares), other deferred callbacks, outside st_loop_run, and
 * fd, timer or signal callbacks of the loop's current batch (st_loop_dispatching), where
 * the loop may still hold an event for one of its sockets: it then stops everything at
 * once, and the sockets' watchers (st_ares) are released right after the batch, in the same
 * loop iteration. */
void gw_dns_free(struct gw_dns *d);

#endif
