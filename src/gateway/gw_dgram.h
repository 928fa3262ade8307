#ifndef SUBTUNNEL_GW_DGRAM_H
#define SUBTUNNEL_GW_DGRAM_H

/* UDP and ICMP echo through the tunnel: a MASQUE connect-udp stream (RFC 9298) or a
 * connect-ip stream scoped to one target and protocol 1 (ICMPv6, 58, for an IPv6 target;
 * RFC 9484), both carrying HTTP
 * Datagrams in DATAGRAM capsules (RFC 9297, context id 0). A gw_dgram hangs off the
 * gw_flow that owns the stream (f->dgram) and is freed with it.
 *
 * expose: the gateway sends the client's UDP payloads from its virtual IP through an lwIP
 *   UDP pcb connected to the target; ICMP echo requests are rewritten to that source and
 *   written to the TUN as they are; replies and ICMP errors go back as capsules.
 * reach:  datagrams captured on the TUN (any-port UDP pcb, ICMP hook of the netif) open one
 *   stream per (client, target) 5-tuple on a reach connection. If the edge refuses it, the
 *   sender gets an ICMP destination unreachable instead of silence.
 *
 * Capsules wait for the HTTP/2 window in a bounded queue (GW_DGRAM_QUEUE per flow,
 * GW_DGRAM_QUEUE_TOTAL in all, GW_DGRAM_QUEUE_FAIR guaranteed to each; memory is taken
 * only as datagrams queue); beyond it
 * datagrams are dropped and counted, never blocking other flows. Stream bytes are handed to
 * lwIP (or dropped) as they arrive, so the stream window reopens at once. A flow without
 * traffic for udp-idle-timeout (icmp-idle-timeout) ends its stream. */

#include <lwip/udp.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "st_bq.h"
#include "st_loop.h"

#define GW_DGRAM_QUEUE (1024 * 1024)            /* capsule bytes waiting for a stream */
#define GW_DGRAM_QUEUE_TOTAL (64 * 1024 * 1024) /* ... for all flows together, except */
#define GW_DGRAM_QUEUE_FAIR (64 * 1024)         /* what every flow may queue regardless */
#define GW_DGRAM_MAX_FLOWS 65536                /* live UDP + ICMP flows per gateway */
#define GW_DGRAM_CLOSE_MS 5000 /* after ending: the peer must close the stream by then */

struct gw_flow;
struct gw_server;

struct gw_dgram_stats {
    uint64_t udp_live, udp_opened, icmp_live, icmp_opened, expired, refused;
    uint64_t tx, rx;       /* datagrams: into the private side / back to the stream */
    uint64_t drops;        /* queue full, lwIP or TUN refused, malformed */
    uint64_t queued_bytes; /* sum of the flows' queues now */
    uint64_t frames;       /* DATA frames that carried them toward the tunnel (rx / frames:
                            * capsules per frame; those queued together share one) */
    uint64_t freed;        /* flows freed since the heap was last trimmed */
};

#define GW_DGRAM_TRIM_EVERY 1024 /* freed flows between malloc_trim calls */

struct gw_dgram {
    struct gw_flow *f;
    struct gw_server *gw;
    bool icmp, reach, ended, closed;
    bool quota_client, quota_host; /* counted in gw->dgram_clients / dgram_hosts */
    struct udp_pcb *pcb;
    int family;                                /* AF_INET or AF_INET6: addresses below */
    uint8_t target[16], local[16], client[16]; /* client: the sender's own address */
    uint16_t tport, cport;
    struct st_timer timer;
    uint64_t last; /* loop time of the last datagram either way */
    struct st_bq up;
    uint8_t *in; /* a capsule split across DATA frames (in_cap: its size) */
    size_t in_len, in_cap;
    uint64_t skip;  /* bytes left of a large capsule of another type, skipped */
    uint8_t *first; /* reach: the first packet, for an ICMP error if the edge refuses */
    size_t first_len;
    struct gw_dgram *next, *prev; /* gw->icmp_flows */
};

/* The request headers ask for connect-udp or connect-ip (CONNECT + :protocol). */
bool gw_dgram_wanted(const struct gw_flow *f);
/* Expose: validates :path and policy, opens the private side and answers 200 (with
 * capsule-protocol) or an error status with proxy-status. */
void gw_dgram_start(struct gw_flow *f, const char *path);
/* Capsules from the stream. Returns 0 (malformed capsules reset the stream themselves). */
int gw_dgram_on_data(struct gw_dgram *d, const uint8_t *p, size_t n);
void gw_dgram_on_eof(struct gw_dgram *d);
/* The stream is gone: stop sending and receiving. */
void gw_dgram_on_close(struct gw_dgram *d);
/* Reach: the edge's answer to our request. */
void gw_dgram_on_response(struct gw_dgram *d, int status);
/* nghttp2 data source: queued capsules. */
ssize_t gw_dgram_read_up(struct gw_dgram *d, uint8_t *buf, size_t len, uint32_t *flags);
void gw_dgram_free(struct gw_dgram *d);
/* Reach: the any-port UDP pcb that captures datagrams to reach routes. 0 or -ENOMEM. */
int gw_dgram_reach_init(struct gw_server *gw);
/* ns_netif ICMP hook (arg: the gw_server): echo requests to reach routes, replies and
 * errors for expose flows, IPv4 ICMP or IPv6 ICMPv6. 1 when taken. */
int gw_dgram_icmp_hook(void *arg, uint8_t *pkt, size_t len);

#endif
