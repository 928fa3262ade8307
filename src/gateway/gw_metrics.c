#include "gw_metrics.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "gw_conn.h"
#include "gw_flow.h"
#include "gw_pool.h"
#include "gw_server.h"
#include "ns_stack.h"
#include "st_log.h"
#include "st_mhttp.h"

enum { CS_WAITING, CS_CONNECTING, CS_REGISTERING, CS_REGISTERED, CS_DRAINING, CS_N };
static const char *const conn_states[CS_N] = {"waiting", "connecting", "registering", "registered",
                                              "draining"};

static int conn_state(const struct gw_conn *c, bool retired)
{
    if (retired || c->drained)
        return CS_DRAINING;
    if (!c->active)
        return CS_WAITING; /* backing off before the next dial */
    if (c->registered)
        return CS_REGISTERED;
    return c->h2.established ? CS_REGISTERING : CS_CONNECTING;
}

#define ROWS_MAX 64

struct conn_row {
    const char *edge;
    bool reach;
    size_t n[CS_N];
};

/* The row of (edge, role), added when new; NULL when the table is full. */
static struct conn_row *row_of(struct conn_row *rows, size_t *n, const char *edge, bool reach)
{
    for (size_t i = 0; i < *n; i++)
        if (rows[i].reach == reach && strcmp(rows[i].edge, edge) == 0)
            return &rows[i];
    if (*n == ROWS_MAX)
        return NULL;
    rows[*n] = (struct conn_row){.edge = edge, .reach = reach};
    return &rows[(*n)++];
}

static void count_conn(struct conn_row *rows, size_t *n, const struct gw_conn *c, bool retired)
{
    struct conn_row *r = row_of(rows, n, c->edge, c->reach);
    if (r)
        r->n[conn_state(c, retired)]++;
}

static void tunnel_conns(struct gw_server *gw, struct st_mbuf *b)
{
    static const char name[] = "subtunnel_tunnel_connections";
    struct conn_row rows[ROWS_MAX];
    size_t n = 0;
    for (size_t i = 0; i < gw->n_conns; i++)
        count_conn(rows, &n, gw->conns[i], false);
    for (const struct gw_conn *c = gw->retired; c; c = c->next_retired)
        count_conn(rows, &n, c, true);
    st_metrics_family(b, name, ST_MGAUGE,
                      "Connections to the edges, by edge address, role (tunnel: serves the edge's "
                      "streams; reach: carries this site's flows) and state.");
    for (size_t i = 0; i < n; i++)
        for (int s = 0; s < CS_N; s++)
            st_metrics_u64(b, name,
                           (const char *[]){"edge", rows[i].edge, "role",
                                            rows[i].reach ? "reach" : "tunnel", "state",
                                            conn_states[s], NULL},
                           rows[i].n[s]);
}

static void registrations(struct gw_server *gw, struct st_mbuf *b)
{
    st_metrics_one(b, "subtunnel_registrations_total", ST_MCOUNTER,
                   "Tunnel connections an edge registered (REGISTERED received).",
                   gw->registrations);
    st_metrics_family(b, "subtunnel_registration_failures_total", ST_MCOUNTER,
                      "Registrations an edge refused (by the cause of its ERROR) or that never "
                      "got an answer because the connection failed first (connection_failed).");
    for (int r = 0; r < ST_REG_N; r++)
        if (r != ST_REG_TIMEOUT)
            st_metrics_u64(b, "subtunnel_registration_failures_total",
                           (const char *[]){"reason", st_reg_reason_names[r], NULL},
                           gw->reg_failures[r]);
    st_metrics_one(b, "subtunnel_reconnects_total", ST_MCOUNTER,
                   "Connections to an edge dialled again after a failure, loss or refusal.",
                   gw->reconnects);
}

static void flows(struct gw_server *gw, struct st_mbuf *b)
{
    size_t live[ST_KIND_N] = {0};
    for (size_t i = 0; i < gw->n_conns; i++)
        for (const struct gw_flow *f = gw->conns[i]->flows; f; f = f->next)
            live[f->web ? ST_KIND_HTTP : ST_KIND_TCP] += !f->dgram;
    for (const struct gw_conn *c = gw->retired; c; c = c->next_retired)
        for (const struct gw_flow *f = c->flows; f; f = f->next)
            live[f->web ? ST_KIND_HTTP : ST_KIND_TCP] += !f->dgram;
    live[ST_KIND_UDP] = gw->dgram.udp_live;
    live[ST_KIND_ICMP] = gw->dgram.icmp_live;
    const uint64_t opened[ST_KIND_N] = {gw->flows_opened, gw->dgram.udp_opened,
                                        gw->dgram.icmp_opened, gw->web_requests};
    st_metrics_family(b, "subtunnel_flows_opened_total", ST_MCOUNTER,
                      "Flows started toward the private side (and reach flows toward the edge), "
                      "and ingress requests, by kind.");
    for (int k = 0; k < ST_KIND_N; k++)
        st_metrics_u64(b, "subtunnel_flows_opened_total",
                       (const char *[]){"kind", st_flow_kind_names[k], NULL}, opened[k]);
    st_metrics_family(b, "subtunnel_flows_refused_total", ST_MCOUNTER,
                      "Flows the gateway answered with an error, by kind and reason (RFC 9209 "
                      "error type).");
    for (int k = 0; k < ST_KIND_N; k++)
        for (int r = 0; r < ST_REASON_N; r++)
            st_metrics_u64(
                b, "subtunnel_flows_refused_total",
                (const char *[]){"kind", st_flow_kind_names[k], "reason", st_reason_names[r], NULL},
                gw->flows_refused[k][r]);
    st_metrics_family(b, "subtunnel_flows_active", ST_MGAUGE, "Flows open now, by kind.");
    for (int k = 0; k < ST_KIND_N; k++)
        st_metrics_u64(b, "subtunnel_flows_active",
                       (const char *[]){"kind", st_flow_kind_names[k], NULL}, live[k]);
}

/* Expose only: flows the guard refused (they count in subtunnel_flows_refused_total too). */
static void guard(struct gw_server *gw, struct st_mbuf *b)
{
    if (!gw->cfg.expose)
        return;
    st_metrics_family(b, "subtunnel_guard_refused_total", ST_MCOUNTER,
                      "Flows the gateway guard refused (an address of this host, loopback, "
                      "link-local, multicast, broadcast...; not in expose.allow-local), by kind.");
    for (int k = 0; k < ST_KIND_HTTP; k++)
        st_metrics_u64(b, "subtunnel_guard_refused_total",
                       (const char *[]){"kind", st_flow_kind_names[k], NULL}, gw->guard_refused[k]);
}

static void datagrams(struct gw_server *gw, struct st_mbuf *b)
{
    st_metrics_family(b, "subtunnel_datagrams_total", ST_MCOUNTER,
                      "UDP and ICMP datagrams relayed, by direction.");
    st_metrics_u64(b, "subtunnel_datagrams_total",
                   (const char *[]){"direction", "to_private", NULL}, gw->dgram.tx);
    st_metrics_u64(b, "subtunnel_datagrams_total",
                   (const char *[]){"direction", "from_private", NULL}, gw->dgram.rx);
    st_metrics_one(b, "subtunnel_datagram_drops_total", ST_MCOUNTER,
                   "Datagrams dropped (queue full, refused by lwIP or the TUN, malformed).",
                   gw->dgram.drops);
    st_metrics_one(b, "subtunnel_datagram_frames_total", ST_MCOUNTER,
                   "DATA frames that carried datagram capsules toward the tunnel (several "
                   "capsules share a frame when they queued together).",
                   gw->dgram.frames);
}

static void tun(struct gw_server *gw, struct st_mbuf *b)
{
    if (!gw->cfg.expose && !gw->cfg.reach)
        return;
    const struct ns_netif *n = &gw->nif;
    st_metrics_family(b, "subtunnel_tun_packets_total", ST_MCOUNTER,
                      "Packets read from (rx) and written to (tx) the TUN device.");
    st_metrics_u64(b, "subtunnel_tun_packets_total", (const char *[]){"direction", "rx", NULL},
                   n->rx_packets);
    st_metrics_u64(b, "subtunnel_tun_packets_total", (const char *[]){"direction", "tx", NULL},
                   n->tx_packets);
    st_metrics_family(b, "subtunnel_tun_dropped_packets_total", ST_MCOUNTER,
                      "Packets dropped at the TUN device, by direction.");
    st_metrics_u64(b, "subtunnel_tun_dropped_packets_total",
                   (const char *[]){"direction", "rx", NULL}, n->rx_drops);
    st_metrics_u64(b, "subtunnel_tun_dropped_packets_total",
                   (const char *[]){"direction", "tx", NULL}, n->tx_drops);
    st_metrics_one(b, "subtunnel_tun_read_batches_total", ST_MCOUNTER,
                   "System calls that read a batch of packets from the TUN (tun.batch-reads).",
                   n->rx_batches);
}

static void lwip(struct st_mbuf *b)
{
    size_t used, max;
    uint64_t err;
    ns_stack_mem(&used, &max, &err);
    st_metrics_one(b, "subtunnel_lwip_memory_bytes", ST_MGAUGE,
                   "lwIP heap in use (packet buffers and pool objects), bytes.", used);
    st_metrics_one(b, "subtunnel_lwip_memory_max_bytes", ST_MGAUGE,
                   "Most lwIP heap ever in use, bytes.", max);
    st_metrics_one(b, "subtunnel_lwip_memory_errors_total", ST_MCOUNTER,
                   "lwIP heap allocations that failed.", err);
    struct ns_pool_stat pools[32];
    size_t n = ns_stack_pools(pools, 32);
    st_metrics_family(b, "subtunnel_lwip_pool_objects", ST_MGAUGE,
                      "lwIP objects in use, by pool (tcp_pcb, udp_pcb, tcp_seg, pbuf...).");
    char names[32][32];
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        for (; pools[i].name[j] && j < sizeof(names[i]) - 1; j++)
            names[i][j] = (char)tolower((unsigned char)pools[i].name[j]);
        names[i][j] = '\0';
        st_metrics_u64(b, "subtunnel_lwip_pool_objects", (const char *[]){"pool", names[i], NULL},
                       pools[i].used);
    }
    st_metrics_family(b, "subtunnel_lwip_pool_errors_total", ST_MCOUNTER,
                      "lwIP pool allocations that failed, by pool.");
    for (size_t i = 0; i < n; i++)
        st_metrics_u64(b, "subtunnel_lwip_pool_errors_total",
                       (const char *[]){"pool", names[i], NULL}, pools[i].err);
}

static void misc(struct gw_server *gw, struct st_mbuf *b)
{
    st_metrics_family(b, "subtunnel_tunnel_bytes_total", ST_MCOUNTER,
                      "DATA payload of the data streams on this gateway's edge connections, by "
                      "direction (to_edge: sent; to_gateway: received), bytes.");
    for (int d = 0; d < ST_DIR_N; d++)
        st_metrics_u64(
            b, "subtunnel_tunnel_bytes_total",
            (const char *[]){"direction", st_dir_names[d], "tunnel", gw->cfg.tunnel_id, NULL},
            gw->tunnel_bytes[d]);
    st_metrics_one(b, "subtunnel_virtual_ips_in_use", ST_MGAUGE,
                   "Virtual IPs of both pools held by remote clients now.",
                   (gw->vips ? gw_vip_in_use(gw->vips) : 0) +
                       (gw->vips6 ? gw_vip_in_use(gw->vips6) : 0));
    st_metrics_one(b, "subtunnel_origin_connections", ST_MGAUGE,
                   "Connections to ingress origins open now.", gw->origin_conns);
    st_metrics_one(b, "subtunnel_origin_connections_opened_total", ST_MCOUNTER,
                   "Connections to ingress origins opened.", gw->origin_opened);
}

void gw_metrics_write(struct gw_server *gw, struct st_mbuf *b)
{
    st_metrics_build_info(b, "gateway");
    st_metrics_one(b, "subtunnel_draining", ST_MGAUGE,
                   "1 once a SIGTERM started the graceful drain.", gw->drain.draining);
    tunnel_conns(gw, b);
    registrations(gw, b);
    st_metrics_heartbeats(b, &gw->hb);
    misc(gw, b);
    flows(gw, b);
    guard(gw, b);
    datagrams(gw, b);
    tun(gw, b);
    if (gw->cfg.expose || gw->cfg.reach)
        lwip(b);
    st_metrics_process(b);
}

/* The last refusal cause of a current connection, printable, or NULL. */
static const char *last_refusal(const struct gw_server *gw)
{
    for (size_t i = 0; i < gw->n_conns; i++)
        if (gw->conns[i]->refusals)
            return gw->conns[i]->refusal;
    return NULL;
}

bool gw_metrics_ready(struct gw_server *gw, char *why, size_t len)
{
    size_t reg, edges, tunnels = 0;
    for (size_t i = 0; i < gw->n_conns; i++)
        tunnels += !gw->conns[i]->reach;
    gw_pool_stats(gw, &reg, &edges);
    if (gw->drain.draining) {
        snprintf(why, len, "draining");
        return false;
    }
    if (reg > 0) {
        snprintf(why, len, "%zu of %zu tunnel connections registered, on %zu edges", reg, tunnels,
                 edges);
        return true;
    }
    const char *r = last_refusal(gw);
    int n = snprintf(why, len, "no tunnel connection registered (0 of %zu)%s%s", tunnels,
                     r ? "; refused: " : "", r ? r : "");
    for (int i = 0; i < n && (size_t)i < len && why[i]; i++)
        if ((unsigned char)why[i] < 0x20 || why[i] == 0x7f)
            why[i] = '?'; /* the edge's words: keep the answer one line */
    return false;
}

static void write_cb(void *data, struct st_mbuf *out)
{
    gw_metrics_write(data, out);
}

static bool ready_cb(void *data, char *why, size_t len)
{
    return gw_metrics_ready(data, why, len);
}

static const struct st_mhttp_ops ops = {.metrics = write_cb, .ready = ready_cb};

int gw_metrics_start(struct gw_server *gw)
{
    st_h2_hbstats_init(&gw->hb);
    if (!gw->cfg.has_metrics)
        return 0;
    return st_mhttp_start(&gw->mhttp, &gw->loop, &gw->cfg.metrics_listen, &ops, gw);
}

void gw_metrics_stop(struct gw_server *gw)
{
    st_mhttp_free(gw->mhttp);
    gw->mhttp = NULL;
}
